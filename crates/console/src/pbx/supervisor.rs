//! The supervisor page: the PBX's queues (and config.json's) with their
//! agents and waiting callers (answer one with a redirect), picking up a ringing extension,
//! barging / monitoring / whispering a call, and the trunks. State goes
//! through [`agent_console_core::pbx::supervisor`]'s reducer.

use crate::kit::{endpoint_words, error_line, skipped_line, use_now, use_poll, Busy};
use crate::kit::{Reduce, Reduced};
use crate::signin::load_config;
use crate::Session;
use agent_console::transport::wall_clock_ms;
use agent_console_core::pbx::agent_desk::{queue_list, reported_queues};
use agent_console_core::pbx::desk::format_duration;
use agent_console_core::pbx::supervisor::{SupervisorAction as A, SupervisorView};
use agent_console_wire::de::Skipped;
use agent_console_wire::pbx::{
    AgentFilter, AgentState, EndpointFilter, Extension, Page, QueueNumber, Target, TargetAction, TrunkFilter,
};
use agent_console_words::pbx::action_words;
use agent_console_words::Message;
use agent_console_words::{pick, Lang};
use std::rc::Rc;
use web_sys::HtmlSelectElement;
use yew::platform::spawn_local;
use yew::prelude::*;

impl Reduce for SupervisorView {
    type Action = A;
    fn next(self, action: A) -> Self {
        self.reduce(action)
    }
}

/// How often the page refreshes while shown.
const REFRESH_MS: u32 = 3_000;

#[derive(Properties, PartialEq)]
pub struct SupervisorProps {
    pub lang: Lang,
    pub session: Option<Session>,
    pub extension: Option<Extension>,
    pub visible: bool,
}

fn agent_class(s: &AgentState) -> &'static str {
    match s {
        AgentState::Ready => "state idle",
        AgentState::LoggedOut => "state off",
        AgentState::Ringing => "state ring",
        s if s.is_paused() => "state pause",
        _ => "state busy",
    }
}

/// The supervisor page.
#[function_component(Supervisor)]
pub fn supervisor(props: &SupervisorProps) -> Html {
    let lang = props.lang;
    let state = use_reducer(|| Reduced(SupervisorView::default()));
    let busy = use_state(Busy::default);
    let chosen = use_state(|| None::<String>);
    // Rows that could not be read: (waiting callers, agents/extensions/trunks).
    let skipped = use_state_eq(|| (Skipped::default(), Skipped::default()));
    {
        // A new sign-in (or a sign-out) starts from nothing.
        let d = state.dispatcher();
        use_effect_with(props.session.clone(), move |_| d.dispatch(A::Reset));
    }
    let refresh: Rc<dyn Fn()> = {
        let (d, session, busy) = (state.dispatcher(), props.session.clone(), (*busy).clone());
        let skipped_state = skipped.clone();
        // The queues of this render: used when the PBX does not answer the roster.
        let known = state.queue_list();
        Rc::new(move || {
            let Some(session) = session.clone() else { return };
            let Some(guard) = busy.start("refresh") else { return };
            let d = d.clone();
            let skipped_state = skipped_state.clone();
            let known = known.clone();
            spawn_local(async move {
                let _guard = guard;
                let seen = std::cell::RefCell::new((Skipped::default(), Skipped::default()));
                let seen = &seen;
                let page = Page { page: 1, page_size: 100 };
                // Which queues: the PBX's (every agent's status, keyed by
                // queue) and config.json's.
                let configured = load_config().await.queues;
                d.dispatch(A::Configured(configured.clone()));
                let list = match session.agent_status(&AgentFilter::default()).await {
                    Ok(r) => {
                        let list =
                            queue_list(reported_queues(&r.data), configured.iter().map(String::as_str));
                        d.dispatch(A::Roster(r.data));
                        list
                    }
                    Err(_) => {
                        queue_list(known.iter().map(String::as_str), configured.iter().map(String::as_str))
                    }
                };
                let mut numbers = Vec::new();
                for q in &list {
                    match QueueNumber::parse("queue", q) {
                        Ok(n) => numbers.push(n),
                        Err(e) => d.dispatch(A::QueueFailed { queue: q.clone(), error: e.into() }),
                    }
                }
                let queues = numbers.into_iter().map(|q| {
                    let (session, d) = (session.clone(), d.clone());
                    async move {
                        let (agents, waiting) =
                            futures::join!(session.queue_status(&q), session.waiting_callers(page, &q));
                        match (agents, waiting) {
                            (Ok(agents), Ok(w)) => {
                                if let Ok(mut s) = seen.try_borrow_mut() {
                                    s.0.merge(&w.skipped);
                                    s.1.merge(&agents.skipped);
                                }
                                d.dispatch(A::Queue {
                                    queue: q.to_string(),
                                    agents: agents.data,
                                    waiting: w.data,
                                    waiting_total: w.total,
                                    now_ms: wall_clock_ms(),
                                })
                            }
                            (Err(error), _) | (_, Err(error)) => {
                                d.dispatch(A::QueueFailed { queue: q.to_string(), error })
                            }
                        }
                    }
                });
                let endpoints = async {
                    if let Ok(r) = session.endpoint_status(&EndpointFilter { page, endpoint: None }).await {
                        if let Ok(mut s) = seen.try_borrow_mut() {
                            s.1.merge(&r.skipped);
                        }
                        d.dispatch(A::Endpoints(r.data));
                    }
                };
                let trunks = async {
                    match TrunkFilter::new(page, None) {
                        Ok(f) => match session.trunk_status(&f).await {
                            Ok(r) => {
                                if let Ok(mut s) = seen.try_borrow_mut() {
                                    s.1.merge(&r.skipped);
                                }
                                d.dispatch(A::Trunks(r.data))
                            }
                            Err(e) => d.dispatch(A::TrunksFailed(e)),
                        },
                        Err(e) => d.dispatch(A::TrunksFailed(e.into())),
                    }
                };
                futures::join!(futures::future::join_all(queues), endpoints, trunks);
                let seen = seen.take();
                if *skipped_state != seen {
                    skipped_state.set(seen);
                }
            });
        })
    };
    use_poll(props.visible && props.session.is_some(), REFRESH_MS, refresh.clone());
    let now = use_now(props.visible && props.session.is_some());

    let (Some(session), Some(ext)) = (props.session.clone(), props.extension.clone()) else {
        return html! {
            <main id="supervisor">
                <section class="card"><h2>{ pick(lang, "班长席", "Supervisor") }</h2>
                    <p id="sup-signed-out" class="muted">{ pick(lang, "请先在“坐席”页登录分机，再使用班长席。", "Sign in on the Desk tab first to use the supervisor page.") }</p>
                </section>
            </main>
        };
    };
    let own = ext.to_string();
    let act = {
        let (state, busy, refresh) = (state.clone(), (*busy).clone(), refresh.clone());
        let (session, own) = (session.clone(), own.clone());
        Rc::new(move |action: TargetAction, dest: String| {
            let t = match Target::parse(&own, &dest) {
                Ok(t) => t,
                Err(e) => return state.dispatch(A::Refused(e.into())),
            };
            let Some(guard) = busy.start("act") else { return };
            state.dispatch(A::Started(action, dest));
            let (d, session, refresh) = (state.dispatcher(), session.clone(), refresh.clone());
            spawn_local(async move {
                let r = session.target_action(action, &t).await;
                drop(guard);
                match r {
                    Ok(()) => {
                        d.dispatch(A::Done);
                        refresh();
                    }
                    Err(e) => d.dispatch(A::Failed(e)),
                }
            });
        })
    };
    let pending = state.pending.is_some();
    let targets = state.targets(&own);
    let target = (*chosen).clone().filter(|c| targets.contains(c)).or_else(|| state.default_target(&own));
    let ringing = state.ringing();
    let talking = state.talking();
    let on_target = {
        let chosen = chosen.clone();
        Callback::from(move |e: Event| {
            chosen.set(Some(e.target_unchecked_into::<HtmlSelectElement>().value()))
        })
    };
    let target_button = |action: TargetAction, id: &'static str| {
        let (act, target) = (act.clone(), target.clone());
        let disabled = pending || target.is_none();
        let (zh, en) = action_words(action);
        let label = match &state.pending {
            Some((a, _)) if *a == action => pick(lang, "处理中…", "Working…"),
            _ => pick(lang, zh, en),
        };
        let onclick = Callback::from(move |_: MouseEvent| {
            if let Some(t) = target.clone() {
                act(action, t);
            }
        });
        html! { <button id={id} type="button" {onclick} {disabled}>{ label }</button> }
    };
    let state_of = |e: &str| -> String {
        let ep = state.endpoints.iter().find(|r| r.endpoint == e).map(|r| endpoint_words(&r.state, lang).1);
        let mark = if ringing.iter().any(|r| r == e) {
            pick(lang, "（振铃）", " (ringing)")
        } else if talking.iter().any(|r| r == e) {
            pick(lang, "（通话中）", " (in a call)")
        } else {
            ""
        };
        format!("{e} {}{mark}", ep.unwrap_or_default())
    };
    let options = targets.iter().map(|t| {
        html! { <option value={t.clone()} selected={target.as_deref() == Some(t.as_str())}>{ state_of(t) }</option> }
    });
    let done = state.done.as_ref().map(|(a, dest)| {
        let (zh, en) = action_words(*a);
        let d = state.dispatcher();
        html! {
            <div id="sup-done" class="notice info" data-action={a.name()} data-dest={dest.clone()}>
                <span>{ pick(lang, "已", "Done: ") }{ pick(lang, zh, en) }{ " " }{ dest }</span>
                <button class="link" onclick={Callback::from(move |_| d.dispatch(A::Dismiss))}>{ pick(lang, "关闭", "Dismiss") }</button>
            </div>
        }
    });
    let dismiss = {
        let d = state.dispatcher();
        Callback::from(move |_| d.dispatch(A::Dismiss))
    };
    let queue_cards = state.queue_list().into_iter().map(|q| {
        let view = state.queues.get(&q);
        let agents = view.map(|v| v.agents.as_slice()).unwrap_or_default();
        let rows = agents.iter().map(|a| {
            let code = a.status.code().map(|c| c.to_string()).unwrap_or_default();
            let word = if lang == Lang::Zh { a.status.zh() } else { a.status.en() };
            html! {
                <tr data-ext={a.extension.clone()} data-status={code}>
                    <td>{ &a.extension }</td>
                    <td class="muted">{ &a.agentid }</td>
                    <td><span class={agent_class(&a.status)}>{ word }</span></td>
                    <td class="num">{ format_duration(state.agent_secs(&q, a, now)) }</td>
                    <td class="num" title={pick(lang, "当前 / 累计", "now / total")}>{ format!("{} / {}", a.calls_current, a.calls_total) }</td>
                    <td class="muted">{ &a.current }</td>
                </tr>
            }
        });
        let error = view.and_then(|v| v.error.as_ref()).map(|e| html! { <p class="error small">{ e.message(lang) }</p> });
        html! {
            <section id={format!("sup-queue-{q}")} class="card" data-queue={q.clone()}>
                <h2>{ pick(lang, "队列 ", "Queue ") }{ q.clone() }
                    <span class="muted small">{ format!(" · {} {}", view.map_or(0, |v| v.waiting_total), pick(lang, "人等待", "waiting")) }</span></h2>
                { for error }
                if view.is_none_or(|v| !v.loaded) {
                    <p class="muted small">{ pick(lang, "加载中…", "Loading…") }</p>
                } else if agents.is_empty() {
                    <p class="muted small">{ pick(lang, "该队列没有签入的坐席。", "No agent is signed in to this queue.") }</p>
                } else {
                    <table id={format!("sup-agents-{q}")} class="small">
                        <thead><tr>
                            <th>{ pick(lang, "分机", "Ext") }</th><th>{ pick(lang, "工号", "Agent") }</th><th>{ pick(lang, "状态", "Status") }</th>
                            <th>{ pick(lang, "持续", "For") }</th><th>{ pick(lang, "通话", "Calls") }</th><th>{ pick(lang, "当前号码", "With") }</th>
                        </tr></thead>
                        <tbody>{ for rows }</tbody>
                    </table>
                }
            </section>
        }
    });
    let waiting: Vec<Html> = state
        .waiting()
        .into_iter()
        .map(|(q, w)| {
            let dest = w.callerid.clone();
            let onclick = {
                let (act, dest) = (act.clone(), dest.clone());
                Callback::from(move |_: MouseEvent| act(TargetAction::Redirect, dest.clone()))
            };
            let this_pending = matches!(&state.pending, Some((TargetAction::Redirect, d)) if *d == dest);
            html! {
                <li data-queue={q.clone()} data-caller={dest.clone()} data-position={w.serial_no.to_string()}>
                    <span class="badge">{ format!("{q} #{}", w.serial_no) }</span>
                    <strong class="sup-caller">{ &w.callerid }</strong>
                    <span class="timer">{ format_duration(state.wait_secs(&q, w, now)) }</span>
                    <button class="sup-redirect primary" type="button" {onclick} disabled={pending}>
                        { if this_pending { pick(lang, "接听中…", "Answering…") } else { pick(lang, "接到本分机", "Answer here") } }</button>
                </li>
            }
        })
        .collect();
    let any_loaded = state.queues.values().any(|v| v.loaded);
    let trunk_rows = state.trunks.iter().map(|t| {
        let (cls, word) = endpoint_words(&t.state, lang);
        html! {
            <tr data-trunk={t.endpoint.clone()}>
                <td>{ &t.endpoint }</td><td><span class={cls}>{ word }</span></td>
                <td class="muted">{ &t.channels }</td>
                <td class="muted">{ if t.server_ip.is_empty() { String::new() } else { format!("{}:{}", t.server_ip, t.server_port) } }</td>
            </tr>
        }
    });
    html! {
        <main id="supervisor">
            <section class="card">
                <h2>{ pick(lang, "班长操作", "Supervisor actions") }<span class="muted small">{ pick(lang, "（以本分机 ", " (as extension ") }{ own.clone() }{ pick(lang, " 执行）", ")") }</span></h2>
                { error_line("sup-error", lang, state.error.as_ref(), dismiss) }
                { for done }
                <div class="row">
                    <label for="sup-target">{ pick(lang, "目标分机", "Target extension") }
                        <select id="sup-target" onchange={on_target} disabled={targets.is_empty()}>{ for options }</select></label>
                    { target_button(TargetAction::Pickup, "sup-pickup") }
                    { target_button(TargetAction::Barge, "sup-barge") }
                    { target_button(TargetAction::Monitor, "sup-monitor") }
                    { target_button(TargetAction::Whisper, "sup-whisper") }
                </div>
                <p class="muted small">{ pick(lang,
                    "代接：接听目标分机正在振铃的来电；强插：加入通话，双方都能听到；监听：只听不说；督导：只有该坐席能听到你。",
                    "Pick up: answer the call ringing at the target. Barge: join the call, heard by both. Monitor: listen only. Whisper: only the agent hears you.") }</p>
            </section>
            <section id="sup-waiting" class="card">
                <h2>{ pick(lang, "等待中的来电", "Waiting callers") }</h2>
                if !any_loaded {
                    <p class="muted small">{ pick(lang, "加载中…", "Loading…") }</p>
                } else if waiting.is_empty() {
                    <p id="sup-wait-empty" class="muted small">{ pick(lang, "当前没有排队等待的来电。", "Nobody is waiting in the queues.") }</p>
                }
                <ul id="sup-wait-list" class="plain-list">{ for waiting }</ul>
                { skipped_line("sup-wait-skipped", lang, &skipped.0) }
            </section>
            <div class="columns two">{ for queue_cards }</div>
            { skipped_line("sup-skipped", lang, &skipped.1) }
            <section id="sup-trunks" class="card">
                <h2>{ pick(lang, "中继状态", "Trunks") }</h2>
                if let Some(e) = &state.trunks_error { <p class="error small">{ e.message(lang) }</p> }
                if !state.trunks_loaded {
                    <p class="muted small">{ pick(lang, "加载中…", "Loading…") }</p>
                } else if state.trunks.is_empty() {
                    <p class="muted small">{ pick(lang, "没有中继。", "No trunks.") }</p>
                } else {
                    <table class="small">
                        <thead><tr><th>{ pick(lang, "中继", "Trunk") }</th><th>{ pick(lang, "状态", "State") }</th>
                            <th>{ pick(lang, "通道", "Channels") }</th><th>{ pick(lang, "对端地址", "Peer") }</th></tr></thead>
                        <tbody>{ for trunk_rows }</tbody>
                    </table>
                }
            </section>
        </main>
    }
}
