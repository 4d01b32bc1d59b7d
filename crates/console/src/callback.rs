//! The click-to-call page (two-way callback API): settings with the signer
//! URL as the default and safe choice, the call box, progress from the
//! status relay, end call, and the recording.

use crate::kit::{Reduce, Reduced};
use crate::signin::{load_config, CallbackConfig};
use crate::Held;
use agent_console::transport::{self, wall_clock_ms, FetchClient};
use agent_console_core::callback::click_to_call::{
    notified, relay_reply, relay_request, ClickToCallAction as A, ClickToCallState, Phase,
};
use agent_console_core::{AnySigner, CallbackSession, Error, HttpClient, SecretSigner, UrlSigner};
use agent_console_wire::callback::{
    AppId, AppSecret, CallIdentifier, CallRequest, CallbackApi, HangupReason,
};
use agent_console_words::Message;
use agent_console_words::{pick, Lang};
use gloo_timers::callback::Interval;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

/// How often the status relay is asked while a call is under way.
const RELAY_POLL_MS: u32 = 1_000;

impl Reduce for ClickToCallState {
    type Action = A;
    fn next(self, action: A) -> Self {
        self.reduce(action)
    }
}

/// How the console signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    SignerUrl,
    Secret,
    /// Behind the gateway: it signs and checks the caller is the agent's number.
    Gateway,
}

type Session = Rc<CallbackSession<FetchClient, AnySigner<FetchClient>>>;

fn open(cfg: &CallbackConfig, mode: Mode, secret: &str) -> Result<Session, Error> {
    let api =
        CallbackApi::new(&transport::resolve_url(&cfg.base_url), &transport::resolve_url(&cfg.record_url))?;
    // Behind the gateway the account id is the gateway's: the one here only
    // fills the session's slot (nothing is signed with it).
    let app_id = match mode {
        Mode::Gateway => AppId::parse(if cfg.app_id.trim().is_empty() { "0" } else { &cfg.app_id })?,
        _ => AppId::parse(&cfg.app_id)?,
    };
    let signer = match mode {
        Mode::Gateway => AnySigner::Gateway,
        Mode::SignerUrl => AnySigner::Url(UrlSigner::new(
            "signerUrl",
            &transport::resolve_url(&cfg.signer_url),
            FetchClient,
        )?),
        Mode::Secret => AnySigner::Secret(SecretSigner::new(app_id.clone(), AppSecret::parse(secret)?)),
    };
    Ok(Rc::new(CallbackSession::new(api, app_id, FetchClient, signer, Rc::new(transport::wall_now))))
}

/// Asks the status relay about `id`.
async fn poll_relay(status_url: &str, id: &CallIdentifier) -> A {
    let req = relay_request(&transport::resolve_url(status_url), id);
    relay_reply(id, FetchClient.send(req).await.ok().as_ref())
}

fn reason_words(lang: Lang, r: Option<&HangupReason>) -> String {
    match r {
        Some(r) => {
            let (zh, en) = agent_console_words::callback::hangup_reason_words(r);
            pick(lang, zh, en).to_string()
        }
        None => pick(lang, "已结束", "Ended").to_string(),
    }
}

fn input(
    id: &'static str,
    label: &str,
    value: &str,
    kind: &'static str,
    oninput: Callback<InputEvent>,
) -> Html {
    html! {
        <label for={id}>{ label }
            <input id={id} type={kind} value={value.to_string()} {oninput} autocomplete="off" />
        </label>
    }
}

#[derive(Properties, PartialEq)]
pub struct ClickToCallProps {
    pub lang: Lang,
    /// Behind the gateway: the signed-in agent (the gateway signs, and the
    /// status comes from its event stream).
    #[prop_or_default]
    pub profile: Option<Rc<agent_console_core::gateway::Profile>>,
}

/// The click-to-call page.
#[function_component(ClickToCall)]
pub fn click_to_call(props: &ClickToCallProps) -> Html {
    let lang = props.lang;
    let cfg = use_state(CallbackConfig::default);
    let mode = use_state(|| Mode::SignerUrl);
    let secret = use_state(String::new);
    let customer = use_state(String::new);
    let state = use_reducer(|| Reduced(ClickToCallState::default()));
    let in_flight = use_mut_ref(|| false);
    let end_in_flight = use_mut_ref(|| false);
    // One session per settings, so its clock-offset estimate is kept.
    let held = use_state(|| Held::<CallbackSession<FetchClient, AnySigner<FetchClient>>>(None));
    {
        let (cfg, mode) = (cfg.clone(), mode.clone());
        use_effect_with(props.profile.clone(), move |profile| {
            let profile = profile.clone();
            spawn_local(async move {
                let mut c = load_config().await.callback;
                if let Some(p) = &profile {
                    // The gateway refuses any other caller.
                    c.agent_number = p.callback_number.clone();
                    mode.set(Mode::Gateway);
                }
                cfg.set(c);
            });
        });
    }
    // Behind the gateway: the status notification arrives on its stream,
    // open for as long as the agent is signed in.
    {
        let dispatch = state.dispatcher();
        use_effect_with(props.profile.is_some(), move |behind| {
            let feed = behind.then(|| {
                crate::gateway::EventFeed::open(&["callback_status"], move |e| {
                    // The reducer ignores another call's end.
                    if let agent_console_core::gateway::GatewayEvent::CallbackStatus(n) = e {
                        if let Some(a) = notified(n) {
                            dispatch.dispatch(a);
                        }
                    }
                })
            });
            move || drop(feed)
        });
    }
    {
        let held = held.clone();
        // Only what the session is made of: typing a phone number keeps it
        // (and its clock-offset estimate).
        let key = (cfg.base_url.clone(), cfg.record_url.clone(), cfg.app_id.clone(), cfg.signer_url.clone());
        let cfg = (*cfg).clone();
        use_effect_with((key, *mode, (*secret).clone()), move |(_, m, s)| {
            held.set(Held(Some(open(&cfg, *m, s))));
        });
    }
    let set_cfg = |f: fn(&mut CallbackConfig, String)| {
        let cfg = cfg.clone();
        Callback::from(move |e: InputEvent| {
            let mut c = (*cfg).clone();
            f(&mut c, e.target_unchecked_into::<HtmlInputElement>().value());
            cfg.set(c);
        })
    };
    let set_text = |h: &UseStateHandle<String>| {
        let h = h.clone();
        Callback::from(move |e: InputEvent| h.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let set_mode = |m: Mode| {
        let mode = mode.clone();
        Callback::from(move |_: Event| mode.set(m))
    };

    // Progress: poll the relay while the call is not over.
    let live = state.call.as_ref().filter(|c| c.phase != Phase::Ended).map(|c| c.id.clone());
    {
        let dispatch = state.dispatcher();
        let status_url = cfg.status_url.clone();
        use_effect_with(live.clone(), move |live| {
            let timer = live.clone().filter(|_| !status_url.trim().is_empty()).map(|id| {
                let busy = Rc::new(std::cell::Cell::new(false));
                Interval::new(RELAY_POLL_MS, move || {
                    if busy.replace(true) {
                        return;
                    }
                    let (dispatch, url, id, busy) =
                        (dispatch.clone(), status_url.clone(), id.clone(), busy.clone());
                    spawn_local(async move {
                        dispatch.dispatch(poll_relay(&url, &id).await);
                        busy.set(false);
                    });
                })
            });
            move || drop(timer)
        });
    }

    let session = held.session();
    let settings_error = match &held.0 {
        Some(Err(e)) if !cfg.app_id.is_empty() => Some(e.message(lang)),
        _ => None,
    };

    let on_call = {
        let (state, session, in_flight, cfg, customer) =
            (state.clone(), session.clone(), in_flight.clone(), cfg.clone(), customer.clone());
        let (mode, secret) = (*mode, (*secret).clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if state.busy() || std::mem::replace(&mut *in_flight.borrow_mut(), true) {
                return;
            }
            let checked = (|| -> Result<(Session, CallRequest), Error> {
                let s = match &session {
                    Some(s) => s.clone(),
                    None => open(&cfg, mode, &secret)?,
                };
                Ok((s, CallRequest::parse(&cfg.agent_number, &customer, None)?))
            })();
            let (s, r) = match checked {
                Ok(v) => v,
                Err(err) => {
                    *in_flight.borrow_mut() = false;
                    return state.dispatch(A::Refused(err));
                }
            };
            state.dispatch(A::CallStarted);
            let (dispatch, in_flight) = (state.dispatcher(), in_flight.clone());
            spawn_local(async move {
                match s.call(&r).await {
                    Ok(c) => dispatch.dispatch(A::Called {
                        id: c.callidentifier,
                        caller: r.caller.as_str().to_string(),
                        callee: r.callee.as_str().to_string(),
                        now_ms: wall_clock_ms(),
                    }),
                    Err(e) => dispatch.dispatch(A::CallFailed(e)),
                }
                *in_flight.borrow_mut() = false;
            });
        })
    };
    let on_end = {
        let (state, session, end_in_flight) = (state.clone(), session.clone(), end_in_flight.clone());
        Callback::from(move |_: MouseEvent| {
            let (Some(s), Some(c)) = (session.clone(), state.call.clone()) else { return };
            // One endCall per click burst, whatever the last render showed.
            if c.end_sent || std::mem::replace(&mut *end_in_flight.borrow_mut(), true) {
                return;
            }
            state.dispatch(A::EndStarted);
            let (dispatch, end_in_flight) = (state.dispatcher(), end_in_flight.clone());
            spawn_local(async move {
                match s.end_call(&c.id).await {
                    Ok(()) => dispatch.dispatch(A::EndDone(c.id)),
                    Err(e) => dispatch.dispatch(A::EndFailed(e)),
                }
                *end_in_flight.borrow_mut() = false;
            });
        })
    };
    let on_play = {
        let (state, session) = (state.clone(), session.clone());
        Callback::from(move |_: MouseEvent| {
            let (Some(s), Some(c)) = (session.clone(), state.call.clone()) else { return };
            if state.pending.recording {
                return;
            }
            state.dispatch(A::RecordingStarted);
            let dispatch = state.dispatcher();
            spawn_local(async move {
                match s.recording(&c.id).await {
                    Ok(r) => dispatch.dispatch(A::Recording { id: c.id, url: r.file_url }),
                    Err(e) => dispatch.dispatch(A::RecordingFailed(e)),
                }
            });
        })
    };
    let dismiss = {
        let d = state.dispatcher();
        Callback::from(move |_: MouseEvent| d.dispatch(A::DismissError))
    };

    let progress = state.call.as_ref().map(|c| {
        let phase_text = match c.phase {
            Phase::Placed => pick(lang, "已发起，等待平台回呼您的电话…", "Placed: the platform is about to ring your phone…"),
            Phase::CallerRinging => pick(lang, "正在呼叫您的电话，请接听", "Ringing your phone: please answer"),
            Phase::CalleeRinging => pick(lang, "您已接听，正在呼叫客户…", "You answered: ringing the customer…"),
            Phase::Talking => pick(lang, "通话中", "Talking"),
            Phase::Ended => pick(lang, "通话已结束", "The call has ended"),
        };
        let phase_key = match c.phase {
            Phase::Placed => "placed",
            Phase::CallerRinging => "caller_ringing",
            Phase::CalleeRinging => "callee_ringing",
            Phase::Talking => "talking",
            Phase::Ended => "ended",
        };
        let ended = c.ended.as_ref().map(|e| {
            let dur = e.duration_secs.map(|d| format!(" · {}", agent_console_core::pbx::desk::format_duration(d))).unwrap_or_default();
            html! { <p id="cb-reason" data-reason={e.reason.as_ref().map(|r| r.as_wire().to_string()).unwrap_or_default()}>{ reason_words(lang, e.reason.as_ref()) }{ dur }</p> }
        });
        let can_play = c.ended.as_ref().is_some_and(|e| e.recorded);
        html! {
            <div id="cb-call" data-phase={phase_key}>
                <p class="call-line">
                    <span>{ &c.caller }{ " → " }<strong>{ &c.callee }</strong></span>
                    <span id="cb-progress" class="badge">{ phase_text }</span>
                </p>
                <p class="muted small" id="cb-callid">{ c.id.to_string() }</p>
                { for ended }
                if state.relay_trouble {
                    <p class="error small">{ pick(lang, "暂时无法获取通话状态，正在重试…", "Cannot read the call status right now; retrying…") }</p>
                }
                if c.phase != Phase::Ended {
                    <button id="cb-end" class="danger" onclick={on_end} disabled={state.pending.end || c.end_sent}>
                        { pick(lang, "结束通话", "End call") }
                    </button>
                }
                if can_play && c.recording_url.is_none() {
                    <button id="cb-play" onclick={on_play} disabled={state.pending.recording}>
                        { if state.pending.recording { pick(lang, "正在获取录音…", "Fetching the recording…") } else { pick(lang, "播放录音", "Play recording") } }
                    </button>
                }
                // Checked when decoded; checked again at the player, the one rule for every `src`.
                if let Some(url) = c.recording_url.clone().filter(|u| agent_console_wire::http::check_web_link(u).is_ok()) {
                    <audio id="cb-audio" controls=true autoplay=true src={url}></audio>
                }
                if c.phase == Phase::Ended && !can_play {
                    <p class="muted small">{ pick(lang, "本次通话没有录音", "This call has no recording") }</p>
                }
            </div>
        }
    });
    let error = state.error.as_ref().map(|e| {
        html! {
            <div id="cb-error" class="notice error" role="alert" data-code={e.code()}>
                <span>{ e.message(lang) }</span>
                <button class="link" onclick={dismiss.clone()}>{ pick(lang, "关闭", "Dismiss") }</button>
            </div>
        }
    });
    let calling = state.pending.call;
    html! {
        <main id="click-to-call" class="columns">
            if *mode == Mode::Gateway {
                <section class="card">
                    <h2>{ pick(lang, "回呼设置", "Callback settings") }</h2>
                    <p id="cb-gateway" class="muted small">{ pick(lang, "由网关签名并接收通话状态，本页不保存任何密钥。", "The gateway signs and receives the call status: no secret is held in this page.") }</p>
                </section>
            } else {
            <section class="card">
                <h2>{ pick(lang, "回呼设置", "Callback settings") }</h2>
                { input("cb-base-url", pick(lang, "接口地址", "API base URL"), &cfg.base_url, "text", set_cfg(|c, v| c.base_url = v)) }
                { input("cb-record-url", pick(lang, "录音接口地址（可空）", "Recording API URL (optional)"), &cfg.record_url, "text", set_cfg(|c, v| c.record_url = v)) }
                { input("cb-app-id", "APPID", &cfg.app_id, "text", set_cfg(|c, v| c.app_id = v)) }
                <fieldset class="mode">
                    <legend>{ pick(lang, "签名方式", "How requests are signed") }</legend>
                    <label class="inline"><input type="radio" id="cb-mode-signer" name="cb-mode" checked={*mode == Mode::SignerUrl} onchange={set_mode(Mode::SignerUrl)} />
                        { pick(lang, "签名服务（推荐：密钥留在您的服务器上）", "Signer URL (recommended: the secret stays on your server)") }</label>
                    <label class="inline"><input type="radio" id="cb-mode-secret" name="cb-mode" checked={*mode == Mode::Secret} onchange={set_mode(Mode::Secret)} />
                        { pick(lang, "在本页签名（仅限可信环境）", "Sign in this page (trusted machines only)") }</label>
                </fieldset>
                if *mode == Mode::SignerUrl {
                    { input("cb-signer-url", pick(lang, "签名服务地址", "Signer URL"), &cfg.signer_url, "text", set_cfg(|c, v| c.signer_url = v)) }
                } else {
                    { input("cb-secret", "APPSECRET", &secret, "password", set_text(&secret)) }
                    <p class="muted small">{ pick(lang, "密钥只保存在本页内存中，关闭页面即清除，不会写入浏览器存储。", "The secret is kept in this page's memory only and never written to browser storage.") }</p>
                }
                { input("cb-status-url", pick(lang, "状态转发地址", "Status relay URL"), &cfg.status_url, "text", set_cfg(|c, v| c.status_url = v)) }
                if let Some(msg) = settings_error {
                    <p id="cb-settings-error" class="error small">{ msg }</p>
                }
            </section>
            }
            <section class="card">
                <h2>{ pick(lang, "双向回呼", "Click to call") }</h2>
                { for error }
                <form id="cb-form" onsubmit={on_call}>
                    { input("cb-caller", pick(lang, "我的电话（先呼叫）", "My phone (rung first)"), &cfg.agent_number, "tel", set_cfg(|c, v| c.agent_number = v)) }
                    { input("cb-callee", pick(lang, "客户电话", "Customer's number"), &customer, "tel", set_text(&customer)) }
                    <button id="cb-call-btn" type="submit" class="primary" disabled={calling || state.busy()}>
                        { if calling { pick(lang, "正在发起…", "Placing…") } else { pick(lang, "发起回呼", "Call") } }
                    </button>
                </form>
                { for progress }
            </section>
        </main>
    }
}
