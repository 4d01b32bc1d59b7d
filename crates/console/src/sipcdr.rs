//! The SIP call-records page: filters, paging, and "sync new records".

use crate::kit::{Reduce, Reduced};
use crate::signin::load_config;
use crate::Held;
use agent_console::transport::{self, wall_clock_ms, FetchClient};
use agent_console_core::sipcdr::call_records::{CallRecordsAction as A, CallRecordsState, Filter};
use agent_console_core::SipCdrSession;
use agent_console_wire::time::CstDateTime;
use agent_console_words::Message;
use agent_console_words::{pick, Lang};
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::platform::spawn_local;
use yew::prelude::*;

impl Reduce for CallRecordsState {
    type Action = A;
    fn next(self, action: A) -> Self {
        self.reduce(action)
    }
}

/// The last three days in Beijing time: 00:00:00 two days ago to 23:59:59 today.
fn default_window() -> (String, String) {
    let now = wall_clock_ms() as i64;
    let day = 86_400_000;
    // Midnight in UTC+8 of the current day.
    let midnight = (now + 8 * 3_600_000).div_euclid(day) * day - 8 * 3_600_000;
    (
        CstDateTime::from_epoch_ms(midnight - 2 * day).to_string(),
        CstDateTime::from_epoch_ms(midnight + day - 1000).to_string(),
    )
}

#[derive(Properties, PartialEq)]
pub struct RecordsProps {
    pub lang: Lang,
    /// Behind the gateway: it holds the token and answers from its store.
    #[prop_or_default]
    pub behind_gateway: bool,
}

/// The SIP call-records page.
#[function_component(CallRecords)]
pub fn call_records(props: &RecordsProps) -> Html {
    let lang = props.lang;
    let state = use_reducer(|| {
        let (s, e) = default_window();
        Reduced(CallRecordsState::new(&s, &e))
    });
    // The session lives as long as the page: it remembers what the sync handed over.
    let held = use_state(|| Held::<SipCdrSession<FetchClient>>(None));
    {
        let held = held.clone();
        use_effect_with(props.behind_gateway, move |behind| {
            let behind = *behind;
            spawn_local(async move {
                let c = load_config().await.sipcdr;
                // The form's token field is required by the seed; the gateway
                // drops whatever is sent there and keeps the real one.
                let token = if behind { "gateway".to_string() } else { c.token };
                let s = transport::open_sipcdr(&c.api_url, &token).map(Rc::new);
                held.set(Held(Some(s)));
            });
        });
    }
    let session = held.session();

    let load = {
        let (state, session) = (state.clone(), session.clone());
        Callback::from(move |page: u32| {
            let Some(s) = session.clone() else { return };
            if state.loading {
                return;
            }
            let mut input = state.filters.clone();
            input.currentpage = page.to_string();
            let q = match input.check() {
                Ok(q) => q,
                Err(e) => return state.dispatch(A::Refused(e.into())),
            };
            state.dispatch(A::LoadStarted(page));
            let d = state.dispatcher();
            spawn_local(async move {
                match s.bills(&q).await {
                    Ok(p) => d.dispatch(A::Loaded(p)),
                    Err(e) => d.dispatch(A::LoadFailed(e)),
                }
            });
        })
    };
    let sync = {
        let (state, session) = (state.clone(), session.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(s) = session.clone() else { return };
            if state.syncing {
                return;
            }
            let mut input = state.filters.clone();
            input.itemsperpage = "200".into();
            let q = match input.check_sync() {
                Ok(q) => q,
                Err(e) => return state.dispatch(A::Refused(e.into())),
            };
            state.dispatch(A::SyncStarted);
            let d = state.dispatcher();
            spawn_local(async move {
                match s.sync(q).await {
                    Ok(b) => d.dispatch(A::Synced(b)),
                    Err(e) => d.dispatch(A::SyncFailed(e)),
                }
            });
        })
    };
    let on_search = {
        let load = load.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            load.emit(1);
        })
    };
    let text_filter = |f: Filter| {
        let d = state.dispatcher();
        Callback::from(move |e: InputEvent| {
            d.dispatch(A::SetFilter(f, e.target_unchecked_into::<HtmlInputElement>().value()))
        })
    };
    let select_filter = |f: Filter| {
        let d = state.dispatcher();
        Callback::from(move |e: Event| {
            d.dispatch(A::SetFilter(f, e.target_unchecked_into::<HtmlSelectElement>().value()))
        })
    };
    let select = |id: &'static str,
                  label: &str,
                  f: Filter,
                  current: &str,
                  options: &[(&'static str, &str)]| {
        html! {
            <label for={id}>{ label }
                <select id={id} onchange={select_filter(f)}>
                    { for options.iter().map(|(v, t)| html! { <option value={*v} selected={current == *v}>{ *t }</option> }) }
                </select>
            </label>
        }
    };
    let f = &state.filters;
    let current_page: u32 = f.currentpage.parse().unwrap_or(1);
    let pages = state.page_count();
    let rows = state.page.iter().flat_map(|p| p.bills.iter()).map(|b| {
        html! {
            <tr data-bill={b.id.to_string()}>
                <td>{ b.id }</td><td>{ &b.starttime }</td><td>{ &b.extnumber }</td><td>{ &b.destnumber }</td>
                <td>{ &b.direction }</td><td>{ b.callmethod }</td>
                <td>{ b.answertime.as_deref().unwrap_or("—") }</td>
                <td class="num">{ agent_console_core::pbx::desk::format_duration(b.billsec) }</td>
            </tr>
        }
    });
    let synced = state.synced.iter().take(20).map(|b| {
        html! { <li data-synced={b.id.to_string()}>{ format!("#{} {} {} → {}", b.id, b.starttime, b.extnumber, b.destnumber) }</li> }
    });
    let error = state.error.as_ref().map(|e| {
        let d = state.dispatcher();
        html! {
            <div id="cdr-error" class="notice error" role="alert" data-code={e.code()}>
                <span>{ e.message(lang) }</span>
                <button class="link" onclick={Callback::from(move |_| d.dispatch(A::DismissError))}>{ pick(lang, "关闭", "Dismiss") }</button>
            </div>
        }
    });
    let prev = {
        let load = load.clone();
        Callback::from(move |_: MouseEvent| load.emit(current_page.saturating_sub(1).max(1)))
    };
    let next = {
        let load = load.clone();
        Callback::from(move |_: MouseEvent| load.emit(current_page.saturating_add(1)))
    };
    let config_error = match &held.0 {
        Some(Err(e)) => Some(html! { <p class="error small">{ e.message(lang) }</p> }),
        _ => None,
    };
    html! {
        <main id="call-records">
            <section class="card">
                <h2>{ pick(lang, "通话记录（SIP 话单）", "Call records (SIP)") }</h2>
                { for config_error }
                { for error }
                <form id="cdr-filters" class="filters" onsubmit={on_search}>
                    <label for="cdr-start">{ pick(lang, "开始时间", "From") }
                        <input id="cdr-start" value={f.starttime.clone()} oninput={text_filter(Filter::Starttime)} placeholder="2024-01-31 08:00:00" /></label>
                    <label for="cdr-end">{ pick(lang, "结束时间", "To") }
                        <input id="cdr-end" value={f.endtime.clone()} oninput={text_filter(Filter::Endtime)} placeholder="2024-01-31 18:00:00" /></label>
                    { select("cdr-direction", pick(lang, "方向", "Direction"), Filter::Direction, &f.direction,
                        &[("3", pick(lang, "全部", "All")), ("1", pick(lang, "呼入", "Inbound")), ("2", pick(lang, "呼出", "Outbound"))]) }
                    { select("cdr-method", pick(lang, "呼叫方式", "Method"), Filter::Callmethod, &f.callmethod,
                        &[("0", pick(lang, "不限", "Any")), ("1", pick(lang, "分机互拨", "Ext to ext")), ("2", pick(lang, "分机直拨", "Manual")),
                          ("3", pick(lang, "API 呼叫", "API")), ("4", pick(lang, "API 双呼", "API two-way")), ("5", pick(lang, "预测式外呼", "Predictive")), ("6", pick(lang, "IVR/群呼", "IVR/group"))]) }
                    { select("cdr-syncflag", pick(lang, "记录范围", "Records"), Filter::Syncflag, &f.syncflag,
                        &[("3", pick(lang, "全部", "All")), ("2", pick(lang, "已同步", "Already synced"))]) }
                    <label for="cdr-ext">{ pick(lang, "分机（逗号分隔）", "Extensions (comma-separated)") }
                        <input id="cdr-ext" value={f.extnumber.clone()} oninput={text_filter(Filter::Extnumber)} /></label>
                    <label for="cdr-dest">{ pick(lang, "目标号码", "Number") }
                        <input id="cdr-dest" value={f.destnumber.clone()} oninput={text_filter(Filter::Destnumber)} /></label>
                    <label for="cdr-per-page">{ pick(lang, "每页条数（1-1000）", "Per page (1-1000)") }
                        <input id="cdr-per-page" value={f.itemsperpage.clone()} oninput={text_filter(Filter::Itemsperpage)} /></label>
                    <div class="actions">
                        <button id="cdr-search" type="submit" class="primary" disabled={state.loading || session.is_none()}>
                            { if state.loading { pick(lang, "查询中…", "Loading…") } else { pick(lang, "查询", "Search") } }</button>
                        <button id="cdr-sync" type="button" onclick={sync} disabled={state.syncing || session.is_none()}>
                            { if state.syncing { pick(lang, "同步中…", "Syncing…") } else { pick(lang, "同步新记录", "Sync new records") } }</button>
                    </div>
                </form>
                if let Some(n) = state.last_sync {
                    <p id="cdr-sync-result" data-count={n.to_string()}>{
                        if lang == Lang::Zh { format!("同步完成：新到 {n} 条记录") } else { format!("Sync done: {n} new records") }
                    }</p>
                }
                { crate::kit::skipped_line("cdr-sync-skipped", lang, &state.sync_skipped) }
                if !state.synced.is_empty() {
                    <ul id="cdr-synced" class="small">{ for synced }</ul>
                }
            </section>
            <section class="card">
                if let Some(p) = &state.page {
                    <p id="cdr-total" class="muted small" data-total={p.totalitems.to_string()}>{
                        if lang == Lang::Zh { format!("共 {} 条，第 {} / {} 页", p.totalitems, current_page, pages) }
                        else { format!("{} records, page {} of {}", p.totalitems, current_page, pages) }
                    }</p>
                    if p.bills.is_empty() {
                        <p id="cdr-empty" class="muted">{ pick(lang, "没有符合条件的记录：放宽时间范围或筛选条件后再查询。", "No records match: widen the time window or filters and search again.") }</p>
                    } else {
                        <table id="cdr-table">
                            <thead><tr>
                                <th>{ "ID" }</th><th>{ pick(lang, "呼叫时间", "Placed") }</th><th>{ pick(lang, "分机", "Ext") }</th><th>{ pick(lang, "目标号码", "Number") }</th>
                                <th>{ pick(lang, "方向", "Direction") }</th><th>{ pick(lang, "方式", "Method") }</th><th>{ pick(lang, "应答时间", "Answered") }</th><th>{ pick(lang, "通话时长", "Talk time") }</th>
                            </tr></thead>
                            <tbody>{ for rows }</tbody>
                        </table>
                    }
                    { crate::kit::skipped_line("records-skipped", lang, &p.skipped) }
                    <div class="pager">
                        <button id="cdr-prev" onclick={prev} disabled={state.loading || current_page <= 1}>{ pick(lang, "上一页", "Previous") }</button>
                        <button id="cdr-next" onclick={next} disabled={state.loading || u64::from(current_page) >= pages}>{ pick(lang, "下一页", "Next") }</button>
                    </div>
                } else {
                    <p class="muted">{ pick(lang, "选择时间范围后点击“查询”。", "Pick a time window and press Search.") }</p>
                }
            </section>
        </main>
    }
}
