//! The signed-in desk's PBX area: the queue bar (sign in/out of a queue,
//! ready and the pause reasons, status with a ticking duration), the call
//! controls that apply to the extension's current call, and the parked
//! calls. State goes through [`agent_console_core::pbx::agent_desk`]'s reducer.

use crate::kit::{error_line, skipped_line, use_now, use_poll, Busy};
use crate::kit::{Reduce, Reduced};
use crate::signin::load_config;
use crate::Session;
use agent_console::transport::wall_clock_ms;
use agent_console_core::pbx::agent_desk::{
    applicable, pick_queue, AgentAction as A, AgentDesk, Area, CallOp, CallPhase,
};
use agent_console_core::pbx::desk::{format_duration, DeskAction, DeskState};
use agent_console_core::Error;
use agent_console_wire::de::Skipped;
use agent_console_wire::pbx::{
    AgentFilter, AgentLogin, AgentPause, AppDest, EndpointFilter, Extension, ExtensionAction, Hangup, Page,
    PauseReason, QueueNumber, Target, TargetAction, Transfer,
};
use agent_console_wire::{InvalidInput, Problem};
use agent_console_words::pbx::pause_reason_words;
use agent_console_words::Message;
use agent_console_words::{pick, Lang};
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::platform::spawn_local;
use yew::prelude::*;

impl Reduce for AgentDesk {
    type Action = A;
    fn next(self, action: A) -> Self {
        self.reduce(action)
    }
}

/// How often status and parked calls refresh while the desk is shown.
const REFRESH_MS: u32 = 2_500;
/// Every this many refreshes (and on the first) the desk also asks for every
/// agent's status, to learn the PBX's queues (a queue this extension has
/// never joined is only in that answer).
const ROSTER_EVERY: u32 = 12;

/// The IVR offered by default for "transfer to IVR" (the seed's example).
const DEFAULT_IVR: &str = "aa_1001315";

#[derive(Properties, PartialEq)]
pub struct AgentAreaProps {
    pub desk: UseReducerHandle<Reduced<DeskState>>,
    pub session: Session,
    pub extension: Extension,
    pub visible: bool,
}

/// The queue bar, call controls and parked calls of the signed-in desk.
#[function_component(AgentArea)]
pub fn agent_area(props: &AgentAreaProps) -> Html {
    let state = use_reducer(|| Reduced(AgentDesk::default()));
    let lang = props.desk.lang;
    let busy = use_state(Busy::default);
    // Rows of the status and parked lists that could not be read (quiet lines).
    let skipped = use_state_eq(|| (Skipped::default(), Skipped::default()));
    let refreshes = use_mut_ref(|| 0u32);
    {
        let d = state.dispatcher();
        use_effect_with((), move |_| {
            spawn_local(async move { d.dispatch(A::Configured(load_config().await.queues)) });
        });
    }
    // Refreshes the agent status, the endpoint state and the parked list.
    let refresh: Rc<dyn Fn()> = {
        let (d, session, ext) = (state.dispatcher(), props.session.clone(), props.extension.clone());
        let (busy, skipped) = ((*busy).clone(), skipped.clone());
        Rc::new(move || {
            let Some(guard) = busy.start("refresh") else { return };
            let (d, session, ext, skipped) = (d.clone(), session.clone(), ext.clone(), skipped.clone());
            let roster_now = {
                let mut n = refreshes.borrow_mut();
                *n = n.wrapping_add(1);
                *n % ROSTER_EVERY == 1
            };
            spawn_local(async move {
                let _guard = guard;
                if roster_now {
                    // A failure here only delays learning new queues; the
                    // status line reports an unreachable PBX.
                    if let Ok(rows) = session.agent_status(&AgentFilter::default()).await {
                        d.dispatch(A::Roster(rows.data));
                    }
                }
                let asked_ms = wall_clock_ms();
                let agent_filter = AgentFilter { extension: Some(ext.clone()), ..Default::default() };
                let endpoint_filter =
                    EndpointFilter { page: Page { page: 1, page_size: 10 }, endpoint: Some(ext.clone()) };
                let agents = session.agent_status(&agent_filter);
                let endpoint = session.endpoint_status(&endpoint_filter);
                let parked = session.parked_calls(None);
                let (agents, endpoint, parked) = futures::join!(agents, endpoint, parked);
                let (mut status_skipped, mut parked_skipped) = (*skipped).clone();
                match (agents, endpoint) {
                    (Ok(rows), Ok(ep)) => {
                        status_skipped = rows.skipped.clone();
                        status_skipped.merge(&ep.skipped);
                        let endpoint =
                            ep.data.into_iter().find(|r| r.endpoint == ext.as_str()).map(|r| r.state);
                        let rows = rows.data.into_iter().filter(|r| r.extension == ext.as_str()).collect();
                        d.dispatch(A::Status { rows, endpoint, asked_ms, now_ms: wall_clock_ms() });
                    }
                    (Err(e), _) | (_, Err(e)) => d.dispatch(A::StatusFailed(e)),
                }
                match parked {
                    Ok(list) => {
                        parked_skipped = list.skipped;
                        d.dispatch(A::Parked(list.data))
                    }
                    Err(e) => d.dispatch(A::ParkedFailed(e)),
                }
                if *skipped != (status_skipped.clone(), parked_skipped.clone()) {
                    skipped.set((status_skipped, parked_skipped));
                }
            });
        })
    };
    use_poll(props.visible, REFRESH_MS, refresh.clone());
    let now = use_now(props.visible && (!state.rows.is_empty() || !state.parked.is_empty()));
    html! {
        <div id="agent-area">
            <QueueBar state={state.clone()} session={props.session.clone()} extension={props.extension.clone()}
                lang={lang} busy={(*busy).clone()} refresh={Refresher(refresh.clone())} now={now} skipped={skipped.0.clone()} />
            <div class="columns two">
                <CallControls state={state.clone()} desk={Some(props.desk.clone())} session={props.session.clone()}
                    extension={props.extension.clone()} lang={lang} busy={(*busy).clone()} refresh={Refresher(refresh.clone())} />
                <ParkedList state={state.clone()} session={props.session.clone()} extension={props.extension.clone()}
                    lang={lang} busy={(*busy).clone()} refresh={Refresher(refresh)} now={now} skipped={skipped.1.clone()} />
            </div>
        </div>
    }
}

/// A refresh function as a prop (always equal: it only refreshes).
#[derive(Clone)]
pub struct Refresher(Rc<dyn Fn()>);

impl PartialEq for Refresher {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl PartialEq for Busy {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[derive(Properties, PartialEq)]
pub struct PartProps {
    pub state: UseReducerHandle<Reduced<AgentDesk>>,
    pub session: Session,
    pub extension: Extension,
    pub lang: Lang,
    pub busy: Busy,
    pub refresh: Refresher,
    #[prop_or_default]
    pub now: u64,
    /// The desk, told when a hang-up ends a call dialled from the pad.
    #[prop_or_default]
    pub desk: Option<UseReducerHandle<Reduced<DeskState>>>,
    /// Rows of this part's list that could not be read.
    #[prop_or_default]
    pub skipped: Skipped,
}

fn dismiss(state: &UseReducerHandle<Reduced<AgentDesk>>, area: Area) -> Callback<MouseEvent> {
    let d = state.dispatcher();
    Callback::from(move |_| d.dispatch(A::Dismiss(area)))
}

/// Runs a PBX request under the in-flight key `key`: `started` is
/// dispatched first, then `done` or `failed` with the result, and the
/// status is refreshed after a success.
#[allow(clippy::too_many_arguments)]
fn run<F>(
    busy: &Busy,
    key: &str,
    state: &UseReducerHandle<Reduced<AgentDesk>>,
    refresh: &Refresher,
    started: A,
    done: impl FnOnce() -> A + 'static,
    failed: impl FnOnce(Error) -> A + 'static,
    request: F,
) where
    F: std::future::Future<Output = Result<(), Error>> + 'static,
{
    let Some(guard) = busy.start(key) else { return };
    let d = state.dispatcher();
    d.dispatch(started);
    let refresh = refresh.0.clone();
    spawn_local(async move {
        let r = request.await;
        drop(guard);
        match r {
            Ok(()) => {
                d.dispatch(done());
                refresh();
            }
            Err(e) => d.dispatch(failed(e)),
        }
    });
}

#[function_component(QueueBar)]
fn queue_bar(props: &PartProps) -> Html {
    let lang = props.lang;
    let agent_id = use_state(String::new);
    // The queue chosen; until one is, the first the PBX or config.json names.
    let chosen = use_state(String::new);
    let penalty = use_state(|| "0".to_string());
    let login_paused = use_state(|| PauseReason::Ready);
    let reason = use_state(String::new);
    {
        let agent_id = agent_id.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                let c = load_config().await;
                if agent_id.is_empty() {
                    agent_id.set(c.agent_id);
                }
            });
        });
    }
    let st = &props.state;
    let ext = props.extension.to_string();
    let queues = st.queues();
    let queue = pick_queue(&queues, &chosen).unwrap_or_default();
    let login = {
        let (st, busy, refresh) = (st.clone(), props.busy.clone(), props.refresh.clone());
        let (agent_id, queue, penalty, session, ext) =
            (agent_id.clone(), queue.clone(), penalty.clone(), props.session.clone(), ext.clone());
        let paused = *login_paused;
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let p = match penalty.trim().parse::<i64>() {
                Ok(p) => p,
                Err(_) => {
                    let err = InvalidInput::new(
                        "penalty",
                        Problem::OutOfRange { min: 0, max: 99 },
                        penalty.as_str(),
                    );
                    return st.dispatch(A::Refused(Area::Agent, err.into()));
                }
            };
            let l = match AgentLogin::parse(&agent_id, &ext, &queue, p, i64::from(paused.code())) {
                Ok(l) => l,
                Err(err) => return st.dispatch(A::Refused(Area::Agent, err.into())),
            };
            let session = session.clone();
            run(
                &busy,
                "agent",
                &st,
                &refresh,
                A::LoginStarted,
                || A::LoginDone,
                A::AgentFailed,
                async move { session.agent_login(&l).await },
            );
        })
    };
    // One queue, or every queue (`all`).
    let logout = |all: bool| {
        let (st, busy, refresh) = (st.clone(), props.busy.clone(), props.refresh.clone());
        let (queue, session, ext) = (queue.clone(), props.session.clone(), props.extension.clone());
        Callback::from(move |_: MouseEvent| {
            let q = match agent_console_wire::pbx::QueueTarget::parse(if all { "all" } else { &queue }) {
                Ok(q) => q,
                Err(err) => return st.dispatch(A::Refused(Area::Agent, err.into())),
            };
            let (session, ext) = (session.clone(), ext.clone());
            run(
                &busy,
                "agent",
                &st,
                &refresh,
                A::LogoutStarted,
                || A::LogoutDone,
                A::AgentFailed,
                async move { session.agent_logout(&ext, &q).await },
            );
        })
    };
    let pause = |code: PauseReason| {
        let (st, busy, refresh) = (st.clone(), props.busy.clone(), props.refresh.clone());
        let (queue, session, ext, reason) =
            (queue.clone(), props.session.clone(), ext.clone(), reason.clone());
        Callback::from(move |_: MouseEvent| {
            // The reason typed, if any; none is sent otherwise.
            let p = match AgentPause::parse(&ext, i64::from(code.code()), &queue, Some(reason.as_str())) {
                Ok(p) => p,
                Err(err) => return st.dispatch(A::Refused(Area::Agent, err.into())),
            };
            let (session, reason) = (session.clone(), reason.clone());
            run(
                &busy,
                "agent",
                &st,
                &refresh,
                A::PauseStarted(code),
                move || {
                    // The reason went with this change, not the next.
                    reason.set(String::new());
                    A::PauseDone
                },
                A::AgentFailed,
                async move { session.agent_pause(&p).await },
            );
        })
    };
    let on_agent = {
        let agent_id = agent_id.clone();
        Callback::from(move |e: InputEvent| {
            agent_id.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_penalty = {
        let penalty = penalty.clone();
        Callback::from(move |e: InputEvent| {
            penalty.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_queue = {
        let chosen = chosen.clone();
        Callback::from(move |e: Event| chosen.set(e.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    let on_login_paused = {
        let login_paused = login_paused.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(r) = v.parse::<i64>().ok().and_then(PauseReason::from_code) {
                login_paused.set(r);
            }
        })
    };
    let on_reason = {
        let reason = reason.clone();
        Callback::from(move |e: InputEvent| reason.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let pending = &st.pending;
    let any_pending = pending.login || pending.logout || pending.pause.is_some();
    let row = st.row(&queue).cloned();
    let signed_in = row.is_some();
    let current = row.as_ref().and_then(|r| r.status.code());
    let pause_buttons = PauseReason::ALL.iter().map(|r| {
        let id = if *r == PauseReason::Ready { "agent-ready".to_string() } else { format!("agent-pause-{}", r.code()) };
        let is_current = current == Some(i64::from(r.code()));
        let label = if pending.pause == Some(*r) { pick(lang, "设置中…", "Setting…") } else { reason_label(*r, lang) };
        html! {
            <button id={id} type="button" class={classes!(is_current.then_some("current"))} data-code={r.code().to_string()}
                onclick={pause(*r)} disabled={any_pending || is_current}>{ label }</button>
        }
    });
    let status_rows = st.rows.iter().filter(|r| r.status != agent_console_wire::pbx::AgentState::LoggedOut).map(|r| {
        let code = r.status.code().map(|c| c.to_string()).unwrap_or_default();
        let word = if lang == Lang::Zh { r.status.zh() } else { r.status.en() };
        html! {
            <li data-queue={r.queue.clone()} data-status={code}>
                <span class="muted">{ pick(lang, "队列 ", "Queue ") }{ &r.queue }</span>
                <span class="agent-status-word state">{ word }</span>
                <span class="agent-status-duration timer">{ format_duration(st.status_secs(r, props.now)) }</span>
            </li>
        }
    });
    let status_error = st
        .status_error
        .as_ref()
        .map(|e| html! { <p id="agent-status-error" class="error small">{ e.message(lang) }</p> });
    html! {
        <section id="agent-queue" class="card agent-queue" data-signed-in={signed_in.to_string()}>
            <h2>{ pick(lang, "队列签入", "Queue sign-in") }</h2>
            { error_line("agent-error", lang, st.agent_error.as_ref(), dismiss(st, Area::Agent)) }
            <form id="agent-login-form" class="row" onsubmit={login}>
                <label for="agent-id">{ pick(lang, "工号", "Agent id") }
                    <input id="agent-id" value={(*agent_id).clone()} oninput={on_agent} autocomplete="off" /></label>
                <label>{ pick(lang, "分机", "Extension") }<input id="agent-ext" value={ext.clone()} readonly=true /></label>
                <label for="agent-queue-select">{ pick(lang, "队列", "Queue") }
                    <select id="agent-queue-select" onchange={on_queue} disabled={queues.is_empty()}>
                        { for queues.iter().map(|q| html! { <option value={q.clone()} selected={*q == queue}>{ q }</option> }) }
                    </select></label>
                <label for="agent-penalty">{ pick(lang, "技能值（0-99）", "Penalty (0-99)") }
                    <input id="agent-penalty" type="number" min="0" max="99" value={(*penalty).clone()} oninput={on_penalty} /></label>
                <label for="agent-login-paused">{ pick(lang, "签入后状态", "Start as") }
                    <select id="agent-login-paused" onchange={on_login_paused}>
                        { for PauseReason::ALL.iter().map(|r| html! {
                            <option value={r.code().to_string()} selected={*r == *login_paused}>{ reason_label(*r, lang) }</option>
                        }) }
                    </select></label>
                <div class="actions">
                    <button id="agent-login" type="submit" class="primary" disabled={any_pending || signed_in || queues.is_empty()}>
                        { if pending.login { pick(lang, "签入中…", "Signing in…") } else { pick(lang, "签入队列", "Sign in to queue") } }</button>
                    <button id="agent-logout" type="button" onclick={logout(false)} disabled={any_pending || !signed_in}>
                        { if pending.logout { pick(lang, "签出中…", "Signing out…") } else { pick(lang, "签出", "Sign out of queue") } }</button>
                    <button id="agent-logout-all" type="button" onclick={logout(true)} disabled={any_pending || !st.signed_in_any()}>
                        { pick(lang, "签出全部队列", "Sign out of all queues") }</button>
                </div>
            </form>
            if st.status_loaded && queues.is_empty() {
                <p id="agent-queues-none" class="muted small">{ pick(lang, "PBX 未报告任何队列；可在 config.json 的 queues 中列出。", "The PBX reports no queue; list them under queues in config.json.") }</p>
            }
            if signed_in {
                <div class="row">
                    <label for="agent-pause-reason">{ pick(lang, "原因（可不填）", "Reason (optional)") }
                        <input id="agent-pause-reason" value={(*reason).clone()} oninput={on_reason} maxlength="64" autocomplete="off" /></label>
                </div>
                <div id="agent-pause" class="row">{ for pause_buttons }</div>
            } else {
                <p class="muted small">{ pick(lang, "签入队列后才能接听队列来电、设置就绪或暂休。", "Sign in to a queue to take its calls and set ready or a break.") }</p>
            }
            { for status_error }
            <ul id="agent-status" class="agent-status">
                { for status_rows }
            </ul>
            { skipped_line("agent-status-skipped", lang, &props.skipped) }
            if st.status_loaded && st.rows.iter().all(|r| r.status == agent_console_wire::pbx::AgentState::LoggedOut) {
                <p id="agent-status-none" class="muted small">{ pick(lang, "未签入任何队列。", "Not signed in to any queue.") }</p>
            }
        </section>
    }
}

#[function_component(CallControls)]
fn call_controls(props: &PartProps) -> Html {
    let lang = props.lang;
    let number = use_state(String::new);
    let ivr = use_state(|| DEFAULT_IVR.to_string());
    let chosen = use_state(String::new);
    let st = &props.state;
    let queues = st.queues();
    let queue = pick_queue(&queues, &chosen).unwrap_or_default();
    let phase = st.phase();
    let ops = applicable(phase);
    let ext = props.extension.clone();
    let action = |op: CallOp| {
        let (st, busy, refresh, session, ext) =
            (st.clone(), props.busy.clone(), props.refresh.clone(), props.session.clone(), ext.clone());
        let (number, ivr, queue) = (number.clone(), ivr.clone(), queue.clone());
        let desk = props.desk.as_ref().map(|d| d.dispatcher());
        Callback::from(move |_: MouseEvent| {
            let e = ext.as_str();
            enum Req {
                Ext(ExtensionAction),
                Transfer(Transfer),
                Hangup(Hangup),
            }
            let req = match op {
                CallOp::Hold => Ok(Req::Ext(ExtensionAction::Hold)),
                CallOp::Unhold => Ok(Req::Ext(ExtensionAction::Unhold)),
                CallOp::Park => Ok(Req::Ext(ExtensionAction::Park)),
                CallOp::CancelAttended => Ok(Req::Ext(ExtensionAction::CancelAttendedTransfer)),
                CallOp::TransferBlind => Transfer::parse("blind", e, &number).map(Req::Transfer),
                CallOp::TransferAttended => Transfer::parse("attended", e, &number).map(Req::Transfer),
                CallOp::TransferIvr => {
                    AppDest::ivr(&ivr).and_then(|d| Transfer::parse("app", e, d.as_str())).map(Req::Transfer)
                }
                CallOp::TransferQueue => QueueNumber::parse("queue", &queue)
                    .and_then(|q| Transfer::parse("app", e, AppDest::queue(&q).as_str()))
                    .map(Req::Transfer),
                CallOp::Hangup => Hangup::parse(e).map(Req::Hangup),
            };
            let req = match req {
                Ok(r) => r,
                Err(err) => return st.dispatch(A::Refused(Area::Call, err.into())),
            };
            let (session, ext, desk) = (session.clone(), ext.clone(), desk.clone());
            run(
                &busy,
                "call",
                &st,
                &refresh,
                A::CallStarted(op),
                move || A::CallDone { op, now_ms: wall_clock_ms() },
                A::CallFailed,
                async move {
                    match req {
                        Req::Ext(a) => session.extension_action(a, &ext).await,
                        Req::Transfer(t) => session.transfer(&t).await,
                        Req::Hangup(h) => {
                            session.hangup(&h).await?;
                            // A call dialled from the pad ends too.
                            if let Some(desk) = desk {
                                desk.dispatch(DeskAction::HungUp);
                            }
                            Ok(())
                        }
                    }
                },
            );
        })
    };
    let busy_now = st.call_busy();
    let button = |op: CallOp| {
        let (zh, en) = agent_console_words::pbx::call_op_words(op);
        let label = if op == CallOp::Hangup && phase == CallPhase::Consulting {
            pick(lang, "挂断并完成转接", "Hang up to complete")
        } else if st.pending.call == Some(op) {
            pick(lang, "处理中…", "Working…")
        } else {
            pick(lang, zh, en)
        };
        let cls = match op {
            CallOp::Hangup => "danger",
            _ => "",
        };
        html! { <button id={op_id(op)} type="button" class={cls} onclick={action(op)} disabled={busy_now}>{ label }</button> }
    };
    let has = |op: CallOp| ops.contains(&op);
    let on_number = {
        let number = number.clone();
        Callback::from(move |e: InputEvent| number.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_ivr = {
        let ivr = ivr.clone();
        Callback::from(move |e: InputEvent| ivr.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_queue = {
        let chosen = chosen.clone();
        Callback::from(move |e: Event| chosen.set(e.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    let (phase_key, phase_words) = match phase {
        CallPhase::Idle => ("idle", pick(lang, "无通话", "No call")),
        CallPhase::Ringing => {
            ("ringing", pick(lang, "振铃中：请在话机上接听", "Ringing: answer on the desk phone"))
        }
        CallPhase::Talking => ("talking", pick(lang, "通话中", "In a call")),
        CallPhase::Held => ("held", pick(lang, "通话保持中", "On hold")),
        CallPhase::Consulting => ("consulting", pick(lang, "咨询转接中", "Consulting (attended transfer)")),
    };
    let peer = st.rows.iter().map(|r| r.current.trim()).find(|c| !c.is_empty()).map(str::to_string);
    let done = st.last_done.map(|op| {
        let (zh, en) = agent_console_words::pbx::call_op_words(op);
        html! { <p id="cc-done" class="muted small" data-op={op_id(op)}>{ pick(lang, "已完成：", "Done: ") }{ pick(lang, zh, en) }</p> }
    });
    html! {
        <section id="call-controls" class="card call-controls" data-phase={phase_key}>
            <h2>{ pick(lang, "通话控制", "Call controls") }</h2>
            { error_line("cc-error", lang, st.call_error.as_ref(), dismiss(st, Area::Call)) }
            <p class="call-line">
                <span id="cc-phase" class="badge">{ phase_words }</span>
                if let Some(p) = peer { <strong id="cc-peer">{ p }</strong> }
            </p>
            { for done }
            if ops.is_empty() {
                <p class="muted small">{ pick(lang, "有通话时，这里显示可用的操作。", "The actions for a call show here when there is one.") }</p>
            }
            <div class="row">
                if has(CallOp::Hold) { { button(CallOp::Hold) } }
                if has(CallOp::Unhold) { { button(CallOp::Unhold) } }
                if has(CallOp::Park) { { button(CallOp::Park) } }
                if has(CallOp::CancelAttended) { { button(CallOp::CancelAttended) } }
                if has(CallOp::Hangup) { { button(CallOp::Hangup) } }
            </div>
            if has(CallOp::TransferBlind) {
                <div class="row">
                    <label for="cc-transfer-number">{ pick(lang, "转接号码", "Transfer to") }
                        <input id="cc-transfer-number" type="tel" value={(*number).clone()} oninput={on_number} autocomplete="off" placeholder="8002" /></label>
                    { button(CallOp::TransferBlind) }
                    { button(CallOp::TransferAttended) }
                </div>
            }
            if has(CallOp::TransferIvr) {
                <div class="row">
                    <label for="cc-ivr">{ pick(lang, "IVR 名称", "IVR name") }
                        <input id="cc-ivr" value={(*ivr).clone()} oninput={on_ivr} autocomplete="off" /></label>
                    { button(CallOp::TransferIvr) }
                    <label for="cc-queue">{ pick(lang, "队列", "Queue") }
                        <select id="cc-queue" onchange={on_queue}>
                            { for queues.iter().map(|q| html! { <option value={q.clone()} selected={*q == queue}>{ q }</option> }) }
                        </select></label>
                    { button(CallOp::TransferQueue) }
                </div>
            }
        </section>
    }
}

#[function_component(ParkedList)]
fn parked_list(props: &PartProps) -> Html {
    let lang = props.lang;
    let st = &props.state;
    let elapsed = props.now.saturating_sub(st.rows_at_ms.max(1)) / 1000;
    let items = st.parked.iter().map(|p| {
        let space = p.parking_space.clone();
        let unpark = {
            let (st, busy, refresh, session, ext) = (
                st.clone(),
                props.busy.clone(),
                props.refresh.clone(),
                props.session.clone(),
                props.extension.clone(),
            );
            let space = space.clone();
            Callback::from(move |_: MouseEvent| {
                let t = match Target::parse(ext.as_str(), &space) {
                    Ok(t) => t,
                    Err(err) => return st.dispatch(A::Refused(Area::Parked, err.into())),
                };
                let session = session.clone();
                run(
                    &busy,
                    "call",
                    &st,
                    &refresh,
                    A::UnparkStarted(space.clone()),
                    || A::UnparkDone { now_ms: wall_clock_ms() },
                    A::UnparkFailed,
                    async move { session.target_action(TargetAction::Unpark, &t).await },
                );
            })
        };
        let who = if p.parkee_caller_id_num.is_empty() { p.parkee_channel.clone() } else { p.parkee_caller_id_num.clone() };
        let pending = st.pending.unpark.as_deref() == Some(space.as_str());
        // Parked time ticks from the last report (the same refresh as the status).
        let secs = p.parking_duration.saturating_add(if st.rows_at_ms > 0 { elapsed } else { 0 });
        html! {
            <li data-space={space.clone()} data-caller={p.parkee_caller_id_num.clone()}>
                <span class="badge">{ pick(lang, "车位 ", "Space ") }{ &space }</span>
                <strong>{ who }</strong>
                <span class="muted small">{ pick(lang, "驻留人 ", "by ") }{ &p.parkee_connected_line_num }</span>
                <span class="timer">{ format_duration(secs) }</span>
                <button class="unpark" type="button" onclick={unpark} disabled={st.call_busy()}>
                    { if pending { pick(lang, "接回中…", "Taking back…") } else { pick(lang, "接回到本分机", "Take back here") } }</button>
            </li>
        }
    });
    html! {
        <section id="parked" class="card parked">
            <h2>{ pick(lang, "驻留通话", "Parked calls") }</h2>
            { error_line("parked-error", lang, st.parked_error.as_ref(), dismiss(st, Area::Parked)) }
            if !st.parked_loaded {
                <p class="muted small">{ pick(lang, "加载中…", "Loading…") }</p>
            } else if st.parked.is_empty() {
                <p id="parked-empty" class="muted small">{ pick(lang, "没有驻留的通话。通话中点“驻留”可把对方放入车位。", "No parked calls. Press Park in a call to put the other party in a space.") }</p>
            }
            <ul id="parked-list" class="plain-list">{ for items }</ul>
            { skipped_line("parked-skipped", lang, &props.skipped) }
        </section>
    }
}

/// The stable DOM id of a call-control button (`#cc-hold`): the click-throughs use it.
fn op_id(op: CallOp) -> &'static str {
    match op {
        CallOp::Hold => "cc-hold",
        CallOp::Unhold => "cc-unhold",
        CallOp::TransferBlind => "cc-transfer-blind",
        CallOp::TransferAttended => "cc-transfer-attended",
        CallOp::CancelAttended => "cc-cancel-attended",
        CallOp::TransferIvr => "cc-transfer-ivr",
        CallOp::TransferQueue => "cc-transfer-queue",
        CallOp::Park => "cc-park",
        CallOp::Hangup => "cc-hangup",
    }
}

/// A break reason's words in `lang`.
fn reason_label(r: PauseReason, lang: Lang) -> &'static str {
    let (zh, en) = pause_reason_words(r);
    pick(lang, zh, en)
}
