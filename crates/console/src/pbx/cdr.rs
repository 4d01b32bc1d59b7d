//! The PBX call-record page: filters, loading every matching row page by
//! page (with a progress line), a virtualised list (only the rows in view
//! plus a few are in the DOM, at a fixed height), playing a recording in
//! the page or on the desk phone, and CSV export. State goes through
//! [`agent_console_core::pbx::cdr_view`]'s reducer.

use crate::kit::{download, error_line, play, skipped_line, Busy};
use crate::kit::{Reduce, Reduced};
use crate::Session;
use agent_console::transport::wall_clock_ms;
use agent_console_core::paging::{PageStep, PageWalk};
use agent_console_core::pbx::cdr_view::{
    column_cell, dedupe, extra_column, mmss, row_key, visible_range, CdrAction as A, CdrField, CdrView, Rows,
    EXTRA_COLUMNS, PAGE_SIZE,
};
use agent_console_core::Error;
use agent_console_wire::de::Skipped;
use agent_console_wire::pbx::cdr::recording_url;
use agent_console_wire::pbx::{Cdr, Extension, HandsetPlay, Page};
use agent_console_words::pbx::cdr::{column_header, direction_words, disposition_words, to_csv_with};
use agent_console_words::{pick, Lang};
use std::cell::Cell;
use std::collections::HashSet;
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::platform::spawn_local;
use yew::prelude::*;

impl Reduce for CdrView {
    type Action = A;
    fn next(self, action: A) -> Self {
        self.reduce(action)
    }
}

/// Height of one row in pixels (fixed: the window is computed from it;
/// `.cdr-row` in console.css has the same).
const ROW_H: f64 = 36.0;
/// Height of the list's viewport (`#cdr-rows` in console.css).
const VIEW_H: f64 = 504.0;
/// Rows rendered above and below the viewport.
const OVERSCAN: usize = 8;
/// The page's own columns (`.cdr-row` in console.css) and their width in
/// pixels when extra columns make the table scroll sideways.
const BASE_GRID: &str = "150px 1fr 1fr 64px 60px 80px 64px 150px";
const BASE_MIN_PX: usize = 860;
/// Width of one extra column, pixels (the gap included).
const EXTRA_PX: usize = 146;

#[derive(Properties, PartialEq)]
pub struct PbxCdrProps {
    pub lang: Lang,
    pub session: Option<Session>,
    pub extension: Option<Extension>,
    pub visible: bool,
}

/// The PBX call-record page.
#[function_component(PbxCdr)]
pub fn pbx_cdr(props: &PbxCdrProps) -> Html {
    let lang = props.lang;
    let state = use_reducer(|| Reduced(CdrView::default()));
    let busy = use_state(Busy::default);
    // Rows of this search the PBX sent that could not be read (a quiet line).
    let skipped = use_state_eq(Skipped::default);
    // The search a running loader belongs to; a newer one (or a sign-out) stops it.
    let current = use_mut_ref(|| Rc::new(Cell::new(0u64)));
    let audio = use_node_ref();
    let load = {
        let (state, busy, session) = (state.clone(), (*busy).clone(), props.session.clone());
        let current = current.borrow().clone();
        let skipped = skipped.clone();
        Rc::new(move || {
            let Some(session) = session.clone() else { return };
            let first = Page { page: 1, page_size: PAGE_SIZE };
            let filter = match state.inputs.check(first) {
                Ok(f) => f,
                Err(e) => return state.dispatch(A::Refused(e.into())),
            };
            let Some(guard) = busy.start("load") else { return };
            let generation = state.generation.wrapping_add(1);
            current.set(generation);
            state.dispatch(A::LoadStarted(generation));
            let (d, current, skipped) = (state.dispatcher(), current.clone(), skipped.clone());
            skipped.set(Skipped::default());
            spawn_local(async move {
                let _guard = guard;
                let mut seen = HashSet::new();
                let mut left_out = Skipped::default();
                // At most MAX_WALK_ROWS rows; a PBX that ignores `page` is asked twice.
                let mut walk = PageWalk::new(PAGE_SIZE);
                loop {
                    let page = walk.page();
                    if current.get() != generation {
                        return;
                    }
                    let f = filter.with_page(Page { page, page_size: PAGE_SIZE });
                    let outcome = session.cdr(&f).await;
                    // Replaced (or signed out) while this page was on its way.
                    if current.get() != generation {
                        return;
                    }
                    match outcome {
                        Ok(reply) => {
                            // A skipped row still filled the page: count it.
                            let sent = (reply.data.len() as u64).saturating_add(reply.skipped.count);
                            let total = reply.total;
                            if !reply.skipped.is_empty() {
                                left_out.merge(&reply.skipped);
                                skipped.set(left_out.clone());
                            }
                            let step = walk.page_read(sent, reply.data.iter().map(row_key), Some(total));
                            d.dispatch(A::Page { generation, rows: dedupe(&mut seen, reply.data), total });
                            match step {
                                PageStep::Next(_) => {}
                                PageStep::Done(end) if end.is_complete() => {
                                    break d.dispatch(A::LoadDone(generation))
                                }
                                // Rows so far stay; the error line says the list is cut.
                                PageStep::Done(end) => {
                                    let cut = Error::Truncated { list: "cdr", end, rows: walk.rows_read() };
                                    break d.dispatch(A::LoadFailed(generation, cut));
                                }
                            }
                        }
                        Err(e) => break d.dispatch(A::LoadFailed(generation, e)),
                    }
                }
            });
        })
    };
    {
        // A new sign-in (or a sign-out) forgets the rows and stops a load.
        let (d, current) = (state.dispatcher(), current.borrow().clone());
        use_effect_with(props.session.clone(), move |_| {
            current.set(current.get().wrapping_add(1_000_000));
            d.dispatch(A::Reset);
        });
    }
    {
        // The first time the page is shown with a session: load.
        let loaded_for = use_mut_ref(|| None::<Session>);
        let load = load.clone();
        let key = (props.visible, props.session.clone());
        use_effect_with(key, move |(visible, session)| {
            if *visible && session.is_some() && *loaded_for.borrow() != *session {
                *loaded_for.borrow_mut() = session.clone();
                load();
            }
        });
    }
    let Some(session) = props.session.clone() else {
        return html! {
            <main id="pbx-cdr">
                <section class="card"><h2>{ pick(lang, "呼叫详单", "PBX call log") }</h2>
                    <p id="pcdr-signed-out" class="muted">{ pick(lang, "请先在“坐席”页登录分机，再查看呼叫详单。", "Sign in on the Desk tab first to see the call log.") }</p>
                </section>
            </main>
        };
    };
    let on_search = {
        let load = load.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            load();
        })
    };
    let text = |f: CdrField| {
        let d = state.dispatcher();
        Callback::from(move |e: InputEvent| {
            d.dispatch(A::Set(f, e.target_unchecked_into::<HtmlInputElement>().value()))
        })
    };
    let change = |f: CdrField| {
        let d = state.dispatcher();
        Callback::from(move |e: Event| {
            d.dispatch(A::Set(f, e.target_unchecked_into::<HtmlSelectElement>().value()))
        })
    };
    let export = {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| {
            // The export has the columns the page shows.
            let csv = to_csv_with(&state.rows, &state.columns, lang);
            let name = format!(
                "cdr-{}.csv",
                agent_console_wire::time::CstDateTime::from_epoch_ms(wall_clock_ms() as i64)
            )
            .replace([' ', ':'], "-");
            if download(&csv, "text/csv;charset=utf-8", &name).is_err() {
                state.dispatch(A::Refused(Error::InvalidState("download")));
            }
        })
    };
    let on_play = {
        let (state, audio, media) = (state.clone(), audio.clone(), session.media_url.clone());
        Callback::from(move |c: Cdr| match recording_url(&media, &c.recording) {
            Ok(url) => {
                state.dispatch(A::Playing(row_key(&c)));
                let d = state.dispatcher();
                play(
                    &audio,
                    &url,
                    Callback::from(move |m: String| d.dispatch(A::Refused(Error::Network(m)))),
                );
            }
            Err(e) => state.dispatch(A::Refused(e.into())),
        })
    };
    let on_handset = {
        let (state, busy, session, ext) =
            (state.clone(), (*busy).clone(), session.clone(), props.extension.clone());
        Callback::from(move |c: Cdr| {
            let ext = ext.as_ref().map(|e| e.to_string()).unwrap_or_default();
            let h = match HandsetPlay::parse(&ext, &c.recording, &session.spool_dir) {
                Ok(h) => h,
                Err(e) => return state.dispatch(A::Refused(e.into())),
            };
            let Some(guard) = busy.start("handset") else { return };
            state.dispatch(A::HandsetStarted(row_key(&c)));
            let (d, session) = (state.dispatcher(), session.clone());
            spawn_local(async move {
                let r = session.handset_play(&h).await;
                drop(guard);
                match r {
                    Ok(()) => d.dispatch(A::HandsetDone),
                    Err(e) => d.dispatch(A::HandsetFailed(e)),
                }
            });
        })
    };
    let dismiss = {
        let d = state.dispatcher();
        Callback::from(move |_| d.dispatch(A::Dismiss))
    };
    let column_boxes = EXTRA_COLUMNS.iter().map(|c| {
        let d = state.dispatcher();
        let key = *c;
        let onchange = Callback::from(move |_: Event| d.dispatch(A::ToggleColumn(key.to_string())));
        let id = format!("pcdr-col-{key}");
        html! {
            <label for={id.clone()} class="pcdr-col" title={key}>
                <input id={id} type="checkbox" data-col={key} checked={state.columns.contains(&key)} {onchange} />
                { column_header(key, lang) }</label>
        }
    });
    let all_columns = {
        let d = state.dispatcher();
        Callback::from(move |_: MouseEvent| d.dispatch(A::AllColumns))
    };
    let base_columns = {
        let d = state.dispatcher();
        Callback::from(move |_: MouseEvent| d.dispatch(A::BaseColumns))
    };
    let inputs = &state.inputs;
    let (loaded, total) = state.progress();
    let progress = if state.loading {
        if lang == Lang::Zh {
            format!("正在加载：已加载 {loaded} / {total} 条")
        } else {
            format!("Loading: loaded {loaded} of {total}")
        }
    } else if state.searched {
        if lang == Lang::Zh {
            format!("共 {loaded} 条记录")
        } else {
            format!("{loaded} records")
        }
    } else {
        String::new()
    };
    let options = |current: &str, opts: &[(&'static str, &str)]| -> Html {
        opts.iter()
            .map(|(v, t)| html! { <option value={*v} selected={current == *v}>{ *t }</option> })
            .collect()
    };
    let any = pick(lang, "全部", "Any");
    html! {
        <main id="pbx-cdr">
            <section class="card">
                <h2>{ pick(lang, "呼叫详单", "PBX call log") }</h2>
                { error_line("pcdr-error", lang, state.error.as_ref(), dismiss) }
                <form id="pcdr-filters" class="filters" onsubmit={on_search}>
                    <label for="pcdr-start">{ pick(lang, "开始时间（北京时间）", "From (Beijing time)") }
                        <input id="pcdr-start" type="datetime-local" step="1" value={inputs.start.clone()} oninput={text(CdrField::Start)} /></label>
                    <label for="pcdr-end">{ pick(lang, "结束时间", "To") }
                        <input id="pcdr-end" type="datetime-local" step="1" value={inputs.end.clone()} oninput={text(CdrField::End)} /></label>
                    <label for="pcdr-src">{ pick(lang, "主叫号码", "From number") }
                        <input id="pcdr-src" value={inputs.src.clone()} oninput={text(CdrField::Src)} autocomplete="off" /></label>
                    <label for="pcdr-dst">{ pick(lang, "被叫号码", "To number") }
                        <input id="pcdr-dst" value={inputs.dst.clone()} oninput={text(CdrField::Dst)} autocomplete="off" /></label>
                    <label for="pcdr-disposition">{ pick(lang, "结果", "Result") }
                        <select id="pcdr-disposition" onchange={change(CdrField::Disposition)}>
                            { options(&inputs.disposition, &[("", any), ("ANSWERED", pick(lang, "已接通", "Answered")),
                                ("NO ANSWER", pick(lang, "未接通", "No answer")), ("FAILED", pick(lang, "呼叫失败", "Failed")), ("BUSY", pick(lang, "忙", "Busy"))]) }
                        </select></label>
                    <label for="pcdr-direction">{ pick(lang, "方向", "Direction") }
                        <select id="pcdr-direction" onchange={change(CdrField::Direction)}>
                            { options(&inputs.direction, &[("", any), ("in", pick(lang, "呼入", "Inbound")), ("out", pick(lang, "呼出", "Outbound"))]) }
                        </select></label>
                    <div class="actions">
                        <button id="pcdr-search" type="submit" class="primary" disabled={state.loading}>
                            { if state.loading { pick(lang, "加载中…", "Loading…") } else { pick(lang, "查询", "Search") } }</button>
                        <button id="cdr-export" type="button" onclick={export} disabled={state.loading || state.rows.is_empty()}>
                            { pick(lang, "导出 CSV", "Export CSV") }</button>
                    </div>
                </form>
                <details id="pcdr-columns" class="pcdr-columns" data-shown={state.columns.len().to_string()}>
                    <summary>{ pick(lang, "更多字段", "More columns") }{ format!(" ({}/{})", state.columns.len(), EXTRA_COLUMNS.len()) }</summary>
                    <div class="actions">
                        <button id="pcdr-cols-all" type="button" class="link" onclick={all_columns}>{ pick(lang, "全部显示", "Show all") }</button>
                        <button id="pcdr-cols-base" type="button" class="link" onclick={base_columns}>{ pick(lang, "恢复默认", "Default columns") }</button>
                    </div>
                    <div class="pcdr-col-list">{ for column_boxes }</div>
                </details>
                <p id="cdr-progress" class="muted small" data-loaded={loaded.to_string()} data-total={total.to_string()}
                    data-loading={state.loading.to_string()}>{ progress }</p>
                if let Some(k) = &state.handset.done {
                    <p id="cdr-handset-done" class="notice info" data-key={k.clone()}>{ pick(lang, "已在话机上播放录音。", "The recording plays on the desk phone.") }</p>
                }
                <audio id="cdr-audio" ref={audio} controls=true preload="none" />
                if state.searched && state.rows.is_empty() && state.error.is_none() {
                    <p id="pcdr-empty" class="muted">{ pick(lang, "没有符合条件的记录：放宽时间范围或筛选条件后再查询。", "No records match: widen the time window or the filters and search again.") }</p>
                }
                <CdrList lang={lang} rows={state.rows.clone()} columns={state.columns.clone()} playing={state.playing.clone()}
                    handset_pending={state.handset.pending.clone()} on_play={on_play} on_handset={on_handset} />
                { skipped_line("cdr-skipped", lang, &skipped) }
            </section>
        </main>
    }
}

#[derive(Properties, PartialEq)]
struct ListProps {
    lang: Lang,
    rows: Rows,
    /// Extra columns shown, by seed name.
    columns: Vec<&'static str>,
    playing: Option<String>,
    handset_pending: Option<String>,
    on_play: Callback<Cdr>,
    on_handset: Callback<Cdr>,
}

/// The virtual list: a fixed-height viewport over a spacer as tall as all
/// rows; only the rows in view (plus [`OVERSCAN`]) are rendered, moved into
/// place with one transform.
#[function_component(CdrList)]
fn cdr_list(props: &ListProps) -> Html {
    let lang = props.lang;
    let scroll = use_state(|| (0.0f64, VIEW_H));
    let onscroll = {
        let scroll = scroll.clone();
        Callback::from(move |e: Event| {
            let el = e.target_unchecked_into::<web_sys::Element>();
            let h = f64::from(el.client_height());
            scroll.set((f64::from(el.scroll_top()), if h > 0.0 { h } else { VIEW_H }));
        })
    };
    let len = props.rows.len();
    let extra: Vec<_> = props.columns.iter().filter_map(|k| extra_column(k)).collect();
    // Extra columns widen the grid; the table then scrolls sideways as a whole.
    let (grid, min_width) = if extra.is_empty() {
        (None, None)
    } else {
        (
            Some(format!("{BASE_GRID} repeat({}, 140px)", extra.len())),
            Some(format!("{}px", BASE_MIN_PX + extra.len() * EXTRA_PX)),
        )
    };
    let range = visible_range(scroll.0, scroll.1, ROW_H, OVERSCAN, len);
    let offset = range.start as f64 * ROW_H;
    // Sizes go through CSSOM, not `style=` attributes: a strict CSP
    // (`style-src 'self'`) refuses inline styles but not `el.style`.
    let (table, spacer, shown) = (use_node_ref(), use_node_ref(), use_node_ref());
    {
        let (table, spacer, shown) = (table.clone(), spacer.clone(), shown.clone());
        let height = len as f64 * ROW_H;
        use_effect_with((grid, min_width, height, offset), move |(grid, min_width, height, offset)| {
            // `--cdr-grid` is inherited by every row, the head included (console.css).
            set_style(&table, "--cdr-grid", grid.as_deref());
            set_style(&table, "min-width", min_width.as_deref());
            set_style(&spacer, "height", Some(&format!("{height}px")));
            set_style(&shown, "transform", Some(&format!("translateY({offset}px)")));
        });
    }
    let rows = props.rows.range(range.clone()).enumerate().map(|(i, c)| {
        let index = range.start + i;
        let key = row_key(c);
        let has_rec = !c.recording.trim().is_empty();
        let play = {
            let (cb, c) = (props.on_play.clone(), c.clone());
            Callback::from(move |_: MouseEvent| cb.emit(c.clone()))
        };
        let handset = {
            let (cb, c) = (props.on_handset.clone(), c.clone());
            Callback::from(move |_: MouseEvent| cb.emit(c.clone()))
        };
        let playing = props.playing.as_deref() == Some(key.as_str());
        let handset_busy = props.handset_pending.is_some();
        let cells = extra.iter().map(|col| {
            let v = column_cell(c, col);
            html! { <span class="c-x" data-col={*col} title={v.clone()}>{ v }</span> }
        });
        html! {
            <div class={classes!("cdr-row", playing.then_some("playing"))} role="row" data-index={index.to_string()}
                data-uniqueid={c.uniqueid.clone()} data-recording={c.recording.clone()}>
                <span class="c-time">{ &c.calldate }</span>
                <span class="c-src">{ &c.src }</span>
                <span class="c-dst">{ &c.dst }</span>
                <span class="c-dur num">{ mmss(c.duration) }</span>
                <span class="c-bill num">{ c.billsec }</span>
                <span class="c-disp">{ disposition_words(&c.disposition, lang) }</span>
                <span class="c-dir">{ direction_words(&c.direction, lang) }</span>
                <span class="c-act">
                    <button class="cdr-play link" type="button" onclick={play} disabled={!has_rec}
                        title={pick(lang, "在页面中播放录音", "Play the recording here")}>{ if playing { pick(lang, "播放中", "Playing") } else { pick(lang, "播放", "Play") } }</button>
                    <button class="cdr-handset link" type="button" onclick={handset} disabled={!has_rec || handset_busy}
                        title={pick(lang, "在话机上播放录音", "Play on the desk phone")}>{ pick(lang, "话机播放", "On phone") }</button>
                </span>
                { for cells }
            </div>
        }
    });
    let heads = extra.iter().map(
        |col| html! { <span class="c-x" data-col={*col} title={*col}>{ column_header(col, lang) }</span> },
    );
    html! {
        <div class="cdr-scroll">
        <div class="cdr-table" role="table" ref={table} data-count={len.to_string()} data-columns={extra.len().to_string()}>
            <div class="cdr-row cdr-head" role="row">
                <span class="c-time">{ pick(lang, "时间", "Time") }</span>
                <span class="c-src">{ pick(lang, "主叫", "From") }</span>
                <span class="c-dst">{ pick(lang, "被叫", "To") }</span>
                <span class="c-dur num">{ pick(lang, "时长", "Duration") }</span>
                <span class="c-bill num">{ pick(lang, "计费秒", "Billed s") }</span>
                <span class="c-disp">{ pick(lang, "结果", "Result") }</span>
                <span class="c-dir">{ pick(lang, "方向", "Direction") }</span>
                <span class="c-act">{ pick(lang, "录音", "Recording") }</span>
                { for heads }
            </div>
            <div id="cdr-rows" class="cdr-viewport" {onscroll} data-count={len.to_string()}
                data-first={range.start.to_string()} data-last={range.end.to_string()}>
                <div class="cdr-spacer" ref={spacer}>
                    <div class="cdr-window" ref={shown}>
                        { for rows }
                    </div>
                </div>
            </div>
        </div>
        </div>
    }
}

/// Sets (or with `None` removes) one style property of `node` through CSSOM.
fn set_style(node: &NodeRef, property: &str, value: Option<&str>) {
    let Some(el) = node.cast::<web_sys::HtmlElement>() else { return };
    let style = el.style();
    let _ = match value {
        Some(v) => style.set_property(property, v),
        None => style.remove_property(property).map(drop),
    };
}
