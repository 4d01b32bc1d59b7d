//! The signed-in desk: agent bar, dial pad, current call, extension status.

use crate::kit::Reduced;
use crate::Session;
use agent_console::transport::wall_clock_ms;
use agent_console_core::pbx::desk::{format_duration, DeskAction, DeskState, Notice};
use agent_console_wire::de::Skipped;
use agent_console_wire::pbx::{Dial, EndpointFilter, Hangup, Page};
use agent_console_words::Message;
use agent_console_words::{text, Lang, Text};
use gloo_timers::callback::Interval;
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

/// How often the status panel refreshes.
const STATUS_REFRESH_MS: u32 = 2_000;

#[derive(Properties, PartialEq)]
pub struct NoticeProps {
    pub desk: UseReducerHandle<Reduced<DeskState>>,
}

/// The message on top: errors in the current language, with a dismiss button.
#[function_component(NoticeBar)]
pub fn notice_bar(props: &NoticeProps) -> Html {
    let lang = props.desk.lang;
    let Some(notice) = props.desk.notice.as_ref() else { return html! {} };
    let (class, msg) = match notice {
        Notice::Error(e) => ("notice error", e.message(lang)),
        Notice::CallEnded => ("notice info", text(lang, Text::CallEnded).to_string()),
    };
    let dismiss = {
        let d = props.desk.dispatcher();
        Callback::from(move |_| d.dispatch(DeskAction::DismissNotice))
    };
    html! {
        <div id="notice" class={class} role="alert">
            <span>{ msg }</span>
            <button class="link" onclick={dismiss}>{ text(lang, Text::Dismiss) }</button>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct DeskProps {
    pub desk: UseReducerHandle<Reduced<DeskState>>,
    pub session: Session,
    pub on_sign_out: Callback<()>,
    /// The desk tab is shown (its PBX area polls only then).
    #[prop_or(true)]
    pub visible: bool,
}

#[function_component(Desk)]
pub fn desk(props: &DeskProps) -> Html {
    let lang = props.desk.lang;
    let ext = props.desk.extension.as_ref().map(|e| e.to_string()).unwrap_or_default();
    let sign_out = props.on_sign_out.reform(|_: MouseEvent| ());
    html! {
        <main class="desk">
            <section id="agent-bar" class="card agent-bar">
                <span>{ text(lang, Text::SignedInAs) }{ if lang == Lang::Zh { "：" } else { ": " } }<strong id="agent-extension">{ ext }</strong></span>
                <button id="signout" class="link" onclick={sign_out}>{ text(lang, Text::SignOut) }</button>
            </section>
            if let Some(ext) = props.desk.extension.clone() {
                <crate::pbx::agent::AgentArea desk={props.desk.clone()} session={props.session.clone()} extension={ext} visible={props.visible} />
            }
            <div class="columns">
                <div>
                    <DialPad desk={props.desk.clone()} session={props.session.clone()} />
                    <CurrentCall desk={props.desk.clone()} session={props.session.clone()} />
                </div>
                <EndpointPanel desk={props.desk.clone()} session={props.session.clone()} />
            </div>
        </main>
    }
}

#[derive(Properties, PartialEq)]
pub struct PanelProps {
    pub desk: UseReducerHandle<Reduced<DeskState>>,
    pub session: Session,
}

const PAD_KEYS: [&str; 12] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

#[function_component(DialPad)]
fn dial_pad(props: &PanelProps) -> Html {
    let number = use_state(String::new);
    let in_flight = use_mut_ref(|| false);
    let lang = props.desk.lang;
    let oninput = {
        let number = number.clone();
        Callback::from(move |e: InputEvent| number.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let call = {
        let number = number.clone();
        let desk = props.desk.clone();
        let session = props.session.clone();
        let in_flight = in_flight.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(ext) = desk.extension.clone() else { return };
            // Checked before any request: a bad number never leaves the page.
            let d = match Dial::parse(ext.as_str(), &number, None) {
                Ok(d) => d,
                Err(err) => return desk.dispatch(DeskAction::Refused(err.into())),
            };
            // One call per click, however fast the clicks come.
            if std::mem::replace(&mut *in_flight.borrow_mut(), true) {
                return;
            }
            desk.dispatch(DeskAction::DialStarted);
            let (desk, session, in_flight) = (desk.dispatcher(), session.clone(), in_flight.clone());
            spawn_local(async move {
                match session.dial(&d).await {
                    Ok(r) => desk.dispatch(DeskAction::Dialled {
                        uniqueid: r.uniqueid,
                        dest: d.dest.to_string(),
                        now_ms: wall_clock_ms(),
                    }),
                    Err(err) => desk.dispatch(DeskAction::DialFailed(err)),
                }
                *in_flight.borrow_mut() = false;
            });
        })
    };
    let keys = PAD_KEYS.iter().map(|k| {
        let number = number.clone();
        let k = *k;
        let onclick = Callback::from(move |_| number.set(format!("{}{k}", *number)));
        html! { <button type="button" class="key" data-key={k} {onclick}>{ k }</button> }
    });
    let busy = props.desk.pending.dial;
    let has_call = props.desk.call.is_some();
    html! {
        <form id="dialpad" class="card dialpad" onsubmit={call}>
            <h2>{ text(lang, Text::DialPad) }</h2>
            <label for="dial-number">{ text(lang, Text::Number) }
                <input id="dial-number" type="tel" inputmode="tel" value={(*number).clone()} {oninput} autocomplete="off" />
            </label>
            <div class="keys">{ for keys }</div>
            <button id="call" type="submit" class="primary" disabled={busy || has_call}>
                { text(lang, if busy { Text::Calling } else { Text::Call }) }
            </button>
        </form>
    }
}

#[function_component(CurrentCall)]
fn current_call(props: &PanelProps) -> Html {
    let lang = props.desk.lang;
    let now = use_state(wall_clock_ms);
    let in_flight = use_mut_ref(|| false);
    let active = props.desk.call.is_some();
    {
        // Tick once a second while there is a call; the Interval is dropped
        // (cancelled) when the call ends or the panel goes away.
        let now = now.clone();
        use_effect_with(active, move |active| {
            let timer = active.then(|| Interval::new(1_000, move || now.set(wall_clock_ms())));
            move || drop(timer)
        });
    }
    let hangup = {
        let desk = props.desk.clone();
        let session = props.session.clone();
        let in_flight = in_flight.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(ext) = desk.extension.clone() else { return };
            if std::mem::replace(&mut *in_flight.borrow_mut(), true) {
                return;
            }
            let h = match Hangup::parse(ext.as_str()) {
                Ok(h) => h,
                Err(err) => {
                    *in_flight.borrow_mut() = false;
                    return desk.dispatch(DeskAction::Refused(err.into()));
                }
            };
            desk.dispatch(DeskAction::HangupStarted);
            let (desk, session, in_flight) = (desk.dispatcher(), session.clone(), in_flight.clone());
            spawn_local(async move {
                match session.hangup(&h).await {
                    Ok(()) => desk.dispatch(DeskAction::HungUp),
                    Err(err) => desk.dispatch(DeskAction::HangupFailed(err)),
                }
                *in_flight.borrow_mut() = false;
            });
        })
    };
    let body = match &props.desk.call {
        None => html! { <p class="muted">{ text(lang, Text::NoCall) }</p> },
        Some(c) => {
            let secs = props.desk.call_seconds((*now).max(c.started_at_ms)).unwrap_or(0);
            // The status feed tells "extension busy", not ringing vs answered.
            let phase = if c.seen_busy { Text::InProgress } else { Text::Dialling };
            let busy = props.desk.pending.hangup;
            html! {
                <>
                    <p class="call-line">
                        <strong id="call-dest">{ &c.dest }</strong>
                        <span id="call-phase" class="badge">{ text(lang, phase) }</span>
                        <span id="call-timer" class="timer">{ format_duration(secs) }</span>
                    </p>
                    <p class="muted small" id="call-uniqueid">{ c.uniqueid.to_string() }</p>
                    <button id="hangup" class="danger" onclick={hangup} disabled={busy}>
                        { text(lang, if busy { Text::HangingUp } else { Text::HangUp }) }
                    </button>
                </>
            }
        }
    };
    html! {
        <section id="current-call" class="card call" data-active={active.to_string()}>
            <h2>{ text(lang, Text::CurrentCall) }</h2>
            { body }
        </section>
    }
}

#[function_component(EndpointPanel)]
fn endpoint_panel(props: &PanelProps) -> Html {
    let lang = props.desk.lang;
    // Rows the PBX sent that could not be read (a quiet line under the table).
    let skipped = use_state_eq(Skipped::default);
    {
        let desk = props.desk.dispatcher();
        let session = props.session.clone();
        let skipped = skipped.clone();
        use_effect_with(session, move |session| {
            let refresh = {
                let (desk, session) = (desk.clone(), session.clone());
                // Skip a tick while the previous refresh is still out.
                let busy = std::rc::Rc::new(std::cell::Cell::new(false));
                move || {
                    if busy.replace(true) {
                        return;
                    }
                    let (desk, session, busy) = (desk.clone(), session.clone(), busy.clone());
                    let skipped = skipped.clone();
                    spawn_local(async move {
                        let filter =
                            EndpointFilter { page: Page { page: 1, page_size: 100 }, endpoint: None };
                        match session.endpoint_status(&filter).await {
                            Ok(r) => {
                                skipped.set(r.skipped);
                                desk.dispatch(DeskAction::Endpoints { rows: r.data, now_ms: wall_clock_ms() })
                            }
                            Err(e) => desk.dispatch(DeskAction::EndpointsFailed(e)),
                        }
                        busy.set(false);
                    });
                }
            };
            refresh();
            // RAII: dropping the Interval in the cleanup cancels it.
            let timer = Interval::new(STATUS_REFRESH_MS, refresh);
            move || drop(timer)
        });
    }
    let rows = props.desk.endpoints.iter().map(|r| {
        let (cls, label) = crate::kit::endpoint_words(&r.state, lang);
        html! {
            <tr data-endpoint={r.endpoint.clone()}>
                <td>{ &r.endpoint }</td>
                <td><span class={cls}>{ label }</span></td>
                <td class="muted">{ &r.channels }</td>
            </tr>
        }
    });
    let error =
        props.desk.endpoints_error.as_ref().map(|e| html! { <p class="error small">{ e.message(lang) }</p> });
    html! {
        <section id="endpoints" class="card endpoints">
            <h2>{ text(lang, Text::Endpoints) }</h2>
            { for error }
            if props.desk.endpoints.is_empty() {
                <p class="muted">{ text(lang, if props.desk.endpoints_error.is_some() { Text::NoEndpoints } else { Text::Refreshing }) }</p>
            } else {
                <table><tbody>{ for rows }</tbody></table>
            }
            { crate::kit::skipped_line("endpoints-skipped", lang, &skipped) }
        </section>
    }
}
