//! The scheduled-calls page (dapi `calltask/update` and `calltask/list`):
//! the add/edit form and the caller's tasks, page by page. State changes go
//! through [`agent_console_core::dapi::call_tasks`]; this component only dispatches and
//! sends the requests.

use crate::kit::{Reduce, Reduced};
use crate::DapiRef;
use agent_console_core::dapi::call_tasks::{CallTasksAction as A, CallTasksState, Submit, TaskField};
use agent_console_words::Message;
use agent_console_words::{pick, Lang};
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

impl Reduce for CallTasksState {
    type Action = A;
    fn next(self, action: A) -> Self {
        self.reduce(action)
    }
}

/// The page's inputs.
#[derive(Properties, PartialEq)]
pub struct TasksProps {
    /// Display language.
    pub lang: Lang,
    /// The app user's dapi session; `None` until the softphone is online.
    pub session: Option<DapiRef>,
}

/// The input id a refused field belongs to.
fn field_input(field: Option<&str>) -> Option<&'static str> {
    match field? {
        "id" => Some("task-id"),
        "dstUids" => Some("task-dst"),
        "callTime" => Some("task-time"),
        "taskid" => Some("task-taskid"),
        _ => None,
    }
}

/// The scheduled-calls page.
#[function_component(CallTasks)]
pub fn call_tasks(props: &TasksProps) -> Html {
    let lang = props.lang;
    let state = use_reducer(|| Reduced(CallTasksState::default()));
    // Load tickets: only the newest load's reply lands.
    let tickets = use_mut_ref(|| 0u64);

    let load = {
        let (d, session, tickets, per_page) =
            (state.dispatcher(), props.session.clone(), tickets.clone(), state.per_page);
        Callback::from(move |page: u64| {
            let Some(s) = session.clone() else { return };
            let ticket = {
                let mut t = tickets.borrow_mut();
                *t += 1;
                *t
            };
            d.dispatch(A::LoadStarted { page, ticket });
            let d = d.clone();
            spawn_local(async move {
                match s.0.tasks(page, per_page).await {
                    Ok(p) => d.dispatch(A::Loaded { ticket, page: p }),
                    Err(error) => d.dispatch(A::LoadFailed { ticket, error }),
                }
            });
        })
    };
    // A new session (or none): forget the old user's rows, load page 1.
    {
        let (d, load) = (state.dispatcher(), load.clone());
        use_effect_with(props.session.clone(), move |session| {
            d.dispatch(A::Reset);
            if session.is_some() {
                load.emit(1);
            }
        });
    }

    let Some(session) = props.session.clone() else {
        return html! {
            <section id="tasks" class="card">
                <h2>{ pick(lang, "定时呼叫", "Scheduled calls") }</h2>
                <p id="tasks-offline" class="muted">{ pick(lang, "先在软电话中上线", "Go online in the softphone first") }</p>
            </section>
        };
    };

    let on_save = {
        let (state, load) = (state.clone(), load.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = match state.submit() {
                Submit::Busy => return,
                Submit::Refused(err) => return state.dispatch(A::Refused(err)),
                Submit::Send(input) => input,
            };
            state.dispatch(A::SaveStarted);
            let (d, s, load, page) = (state.dispatcher(), session.clone(), load.clone(), state.page);
            spawn_local(async move {
                match s.0.save_task(&input).await {
                    Ok(id) => {
                        d.dispatch(A::Saved(id));
                        load.emit(page);
                    }
                    Err(err) => d.dispatch(A::SaveFailed(err)),
                }
            });
        })
    };
    let field = |f: TaskField| {
        let d = state.dispatcher();
        Callback::from(move |e: InputEvent| {
            d.dispatch(A::SetField(f, e.target_unchecked_into::<HtmlInputElement>().value()))
        })
    };
    let on_new = {
        let d = state.dispatcher();
        Callback::from(move |_: MouseEvent| d.dispatch(A::NewForm))
    };
    let go = |page: Option<u64>| {
        let load = load.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(p) = page {
                load.emit(p);
            }
        })
    };
    let refresh = {
        let (load, page) = (load.clone(), state.page);
        Callback::from(move |_: MouseEvent| load.emit(page))
    };

    let shown = state.shown_error();
    let bad_input = field_input(shown.and_then(|e| e.field()));
    let invalid = |id: &str| if bad_input == Some(id) { Some("true") } else { None };
    let error = shown.map(|e| {
        let d = state.dispatcher();
        html! {
            <div id="task-error" class="notice error" role="alert" data-code={e.code()}>
                <span>{ e.message(lang) }</span>
                <button type="button" class="link" onclick={Callback::from(move |_| d.dispatch(A::DismissError))}>{ pick(lang, "关闭", "Dismiss") }</button>
            </div>
        }
    });
    let notice = state.saved.map(|n| {
        let text = match (n.id, n.updated, lang) {
            (Some(id), true, Lang::Zh) => format!("已更新定时呼叫 #{id}"),
            (Some(id), true, Lang::En) => format!("Scheduled call #{id} updated"),
            (Some(id), false, Lang::Zh) => format!("已添加定时呼叫 #{id}"),
            (Some(id), false, Lang::En) => format!("Scheduled call #{id} added"),
            (None, _, _) => pick(lang, "定时呼叫已保存", "Scheduled call saved").to_string(),
        };
        html! {
            <div id="task-notice" class="notice info" role="status" data-task-id={n.id.map(|i| i.to_string())}>
                <span>{ text }</span>
            </div>
        }
    });

    let form = &state.form;
    let editing = form.id;
    let frozen = state.saving;
    let rows = state.rows.iter().map(|t| {
        let d = state.dispatcher();
        let id = t.id;
        let callees = t.dst_uid.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", ");
        html! {
            <tr data-task-id={id.to_string()} class={classes!((editing == Some(id)).then_some("editing"))}>
                <td class="num">{ id }</td>
                <td>{ callees }</td>
                <td class="num">{ &t.call_time }</td>
                <td>{ &t.taskid }</td>
                <td>
                    <button type="button" class="task-edit link" disabled={frozen}
                        onclick={Callback::from(move |_: MouseEvent| d.dispatch(A::EditRow(id)))}>{ pick(lang, "编辑", "Edit") }</button>
                </td>
            </tr>
        }
    });
    let (page, pages) = (state.page, state.page_count());
    let save_label = match (state.saving, editing.is_some()) {
        (true, _) => pick(lang, "保存中…", "Saving…"),
        (false, true) => pick(lang, "保存修改", "Save changes"),
        (false, false) => pick(lang, "添加定时呼叫", "Add scheduled call"),
    };

    html! {
        <section id="tasks">
            <section class="card">
                <h2>{
                    match editing {
                        Some(id) if lang == Lang::Zh => format!("编辑定时呼叫 #{id}"),
                        Some(id) => format!("Edit scheduled call #{id}"),
                        None => pick(lang, "新建定时呼叫", "New scheduled call").to_string(),
                    }
                }</h2>
                { for error }
                { for notice }
                <form id="task-form" class="task-form" onsubmit={on_save}>
                    <label for="task-id">{ pick(lang, "编辑中的 ID", "Editing id") }
                        <input id="task-id" readonly=true value={editing.map(|i| i.to_string()).unwrap_or_default()}
                            placeholder={pick(lang, "新建", "New")} aria-invalid={invalid("task-id")} /></label>
                    <label for="task-dst">{ pick(lang, "被叫用户 ID（逗号或空格分隔，最多 20 个）", "Callee user ids (comma or space separated, up to 20)") }
                        <input id="task-dst" value={form.dst_uids.clone()} oninput={field(TaskField::DstUids)} disabled={frozen}
                            placeholder="bob, carol" aria-invalid={invalid("task-dst")} /></label>
                    <label for="task-time">{ pick(lang, "呼叫时间（北京时间）", "Call time (Beijing time, UTC+8)") }
                        <input id="task-time" type="datetime-local" step="1" value={form.call_time.clone()} oninput={field(TaskField::CallTime)}
                            disabled={frozen} aria-invalid={invalid("task-time")} /></label>
                    <label for="task-taskid">{ pick(lang, "任务 ID", "Task id") }
                        <input id="task-taskid" value={form.taskid.clone()} oninput={field(TaskField::Taskid)} disabled={frozen}
                            maxlength="64" aria-invalid={invalid("task-taskid")} /></label>
                    <div class="actions">
                        <button id="task-save" type="submit" class="primary" disabled={state.saving}>{ save_label }</button>
                        <button id="task-new" type="button" onclick={on_new} disabled={frozen}>{
                            if editing.is_some() { pick(lang, "取消编辑", "Cancel edit") } else { pick(lang, "清空", "Clear") }
                        }</button>
                    </div>
                </form>
            </section>
            <section class="card">
                <div class="tasks-head">
                    <h2>{ pick(lang, "我的定时呼叫", "My scheduled calls") }</h2>
                    <button id="tasks-refresh" type="button" class="link" onclick={refresh} disabled={state.loading}>{ pick(lang, "刷新", "Refresh") }</button>
                </div>
                if state.loading {
                    <p id="tasks-loading" class="muted small">{ pick(lang, "加载中…", "Loading…") }</p>
                }
                if state.loaded {
                    <p id="tasks-total" class="muted small" data-total={state.total.to_string()}>{
                        if lang == Lang::Zh { format!("共 {} 条", state.total) } else { format!("{} scheduled calls", state.total) }
                    }</p>
                    if state.rows.is_empty() {
                        <p id="tasks-empty" class="muted">{ pick(lang, "还没有定时呼叫", "No scheduled calls yet") }</p>
                    } else {
                        <table id="tasks-table">
                            <thead><tr>
                                <th>{ "ID" }</th><th>{ pick(lang, "被叫用户", "Callees") }</th><th>{ pick(lang, "呼叫时间", "Call time") }</th>
                                <th>{ pick(lang, "任务 ID", "Task id") }</th><th></th>
                            </tr></thead>
                            <tbody>{ for rows }</tbody>
                        </table>
                    }
                    { crate::kit::skipped_line("tasks-skipped", lang, &state.skipped) }
                    if state.withheld > 0 {
                        <p id="tasks-withheld" class="muted small" data-withheld={state.withheld.to_string()}>{
                            if lang == Lang::Zh {
                                format!("服务器不支持翻页，只返回了前 {} 条；另有 {} 条未返回。", state.total, state.withheld)
                            } else {
                                format!("The server does not page: it sent only its first {}; {} more were not sent.", state.total, state.withheld)
                            }
                        }</p>
                    }
                }
                <div class="pager">
                    <button id="tasks-prev" type="button" onclick={go(state.prev_page())} disabled={state.loading || state.prev_page().is_none()}>{ pick(lang, "上一页", "Previous") }</button>
                    <span id="tasks-page" class="muted small" data-page={page.to_string()} data-pages={pages.to_string()}>{
                        if lang == Lang::Zh { format!("第 {page}/{pages} 页") } else { format!("Page {page} of {pages}") }
                    }</span>
                    <button id="tasks-next" type="button" onclick={go(state.next_page())} disabled={state.loading || state.next_page().is_none()}>{ pick(lang, "下一页", "Next") }</button>
                </div>
            </section>
        </section>
    }
}
