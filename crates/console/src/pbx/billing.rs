//! The live billing list: CDRs as the billing websocket pushes them, with
//! every gap filled from `cdr/list` by the core's feed. The subscription
//! lives while the console is signed in, shown or not, so no row is missed.

use crate::Session;
use agent_console::transport::billing::BillingDriver;
use agent_console::transport::wall_clock_ms;
use agent_console_core::gateway::GatewayEvent;
use agent_console_core::pbx::billing::{BillingEvent, BillingView, FeedState, DEFAULT_HISTORY};
use agent_console_core::pbx::desk::format_duration;
use agent_console_wire::pbx::Extension;
use agent_console_words::pbx::cdr::disposition_words;
use agent_console_words::Message;
use agent_console_words::{pick, Lang};
use std::rc::Rc;
use yew::prelude::*;

/// Rows the list shows (the newest).
const KEEP: usize = 200;

#[derive(Properties, PartialEq)]
pub struct BillingProps {
    pub lang: Lang,
    pub session: Option<Session>,
    #[prop_or_default]
    pub extension: Option<Extension>,
    #[prop_or(true)]
    pub visible: bool,
}

#[derive(Clone, PartialEq)]
struct ViewState(BillingView);

impl Reducible for ViewState {
    type Action = BillingEvent;
    fn reduce(self: Rc<Self>, ev: BillingEvent) -> Rc<Self> {
        let mut v = self.0.clone();
        v.apply(ev);
        Rc::new(ViewState(v))
    }
}

fn state_words(lang: Lang, s: FeedState) -> &'static str {
    match s {
        FeedState::Connecting => pick(lang, "连接中…", "Connecting…"),
        FeedState::Filling => pick(lang, "补齐断线期间的话单…", "Filling the gap from the CDR list…"),
        FeedState::Live => pick(lang, "实时", "Live"),
        FeedState::Waiting(_) => pick(lang, "已断开，稍后自动重连", "Disconnected; reconnecting shortly"),
        FeedState::Stopped => pick(lang, "已停止", "Stopped"),
    }
}

/// The live billing list.
#[function_component(BillingList)]
pub fn billing_list(props: &BillingProps) -> Html {
    let lang = props.lang;
    let view = use_reducer(|| ViewState(BillingView::new(KEEP)));
    {
        let view = view.clone();
        use_effect_with(props.session.clone(), move |session| {
            // Behind the gateway the push is the gateway's (one socket for
            // every console): its rows come on the event stream, live.
            let relayed = session.as_ref().filter(|s| s.profile.is_some()).and_then(|_| {
                let dispatch = view.dispatcher();
                dispatch.dispatch(BillingEvent::State(FeedState::Live));
                crate::gateway::EventFeed::open(&["billing_cdr"], move |e| {
                    if let GatewayEvent::BillingCdr(row) = e {
                        dispatch.dispatch(BillingEvent::Records(vec![*row]));
                    }
                })
            });
            let driver = session.as_ref().filter(|s| s.profile.is_none()).map(|s| {
                let dispatch = view.dispatcher();
                let floor_ms = wall_clock_ms() as i64 - DEFAULT_HISTORY.0 as i64;
                BillingDriver::subscribe(s.pbx.clone(), s.push_url.to_string(), floor_ms, move |ev| {
                    dispatch.dispatch(ev)
                })
            });
            // RAII: the socket and timer go when the session changes or the list unmounts.
            move || drop((driver, relayed))
        });
    }
    let v = &view.0;
    if props.session.is_none() {
        return html! {
            <section id="billing-list" class="billing" data-state="stopped">
                <h3>{ pick(lang, "实时话单", "Live billing") }</h3>
                <p class="empty">{ pick(lang, "登录后显示实时话单。", "Sign in to see live billing records.") }</p>
            </section>
        };
    }
    let mine = props.extension.as_ref().map(|e| e.as_str().to_string());
    html! {
        <section id="billing-list" class="billing" data-state={v.state.as_str()} data-received={v.received.to_string()}>
            <h3>{ pick(lang, "实时话单", "Live billing") }</h3>
            <p class="billing-state">
                <span class={classes!("dot", v.state.as_str())}></span>
                { state_words(lang, v.state) }
                { " · " }
                { format!("{} {}", v.received, pick(lang, "条", "rows")) }
            </p>
            if let Some(e) = &v.trouble {
                <p class="notice warn" data-code={e.code()}>
                    { e.message(lang) }
                    { pick(lang, "（自动重试中，话单不会丢失）", " (retrying by itself; no record is lost)") }
                </p>
            }
            if v.rows.is_empty() {
                <p class="empty">{ pick(lang, "最近一小时还没有话单；通话结束后会出现在这里。", "No records in the last hour yet; calls appear here as they end.") }</p>
            } else {
                <ol id="billing-rows">
                    { for v.rows.iter().map(|r| {
                        let own = mine.as_deref().is_some_and(|m| r.src == m || r.dst == m);
                        html! {
                            <li key={r.key().to_string()} class={classes!(own.then_some("mine"))}
                                data-uniqueid={r.uniqueid.clone()} data-id={r.id.map(|i| i.to_string()).unwrap_or_default()}>
                                <span class="time">{ &r.calldate }</span>
                                <span class="who">{ format!("{} → {}", r.src, r.dst) }</span>
                                <span class="dur">{ format_duration(r.billsec) }</span>
                                <span class="disp">{ disposition_words(&r.disposition, lang) }</span>
                            </li>
                        }
                    }) }
                </ol>
            }
        </section>
    }
}
