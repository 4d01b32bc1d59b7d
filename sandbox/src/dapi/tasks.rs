//! Scheduled robot calls: `calltask/update`, `calltask/list`, and the firing of due tasks
//! (when a task's `call_time` passes on the sandbox clock, the robot calls its `dst_uid`
//! on behalf of `src_uid`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::params;
use super::record::CallRecord;
use super::{ok, with_dapi, DapiError, DapiState};
use crate::clock::{format_cst, parse_cst};
use crate::AppState;

/// Default `perpage` of `calltask/list`.
pub const DEFAULT_PERPAGE: i64 = 20;
/// Largest `perpage`.
pub const MAX_PERPAGE: i64 = 100;
/// Longest `taskid`, characters.
pub const MAX_TASKID_CHARS: usize = 64;

/// How `calltask/list` treats `page`/`perpage`, which the seed does not
/// document (its example sends only `uid`). The knob `taskListPaging` of
/// `POST /sandbox/dapi/settings` plays the stricter servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskListPaging {
    /// `"pages"`: pages as asked (the default).
    #[default]
    Pages,
    /// `"whole"`: ignores them and answers every row, `row_pages` as the seed's
    /// (`crt_page` 1, `perpage` 20).
    Whole,
    /// `"first"`: ignores them and always answers its first page of 20.
    First,
}

impl TaskListPaging {
    /// The knob's word.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pages => "pages",
            Self::Whole => "whole",
            Self::First => "first",
        }
    }

    /// From the knob's word.
    pub fn parse(word: &str) -> Option<Self> {
        [Self::Pages, Self::Whole, Self::First].into_iter().find(|m| m.label() == word)
    }
}

/// One scheduled call.
#[derive(Debug, Clone)]
pub struct Task {
    /// Row id (also `pk`).
    pub id: u64,
    /// On whose behalf the robot calls.
    pub src_uid: String,
    /// Whom it calls.
    pub dst_uid: Vec<String>,
    /// `YYYY-MM-DD HH:MM:SS` as given (normalised by parsing).
    pub call_time: String,
    /// `call_time` as sandbox ms.
    pub call_ms: i64,
    /// Opaque list the app keeps with the task.
    pub tone_list: Vec<Value>,
    /// The app's own task id.
    pub taskid: String,
    /// Fired for the current `call_time`.
    pub fired: bool,
    /// Records it placed, oldest first.
    pub records: Vec<u64>,
}

impl Task {
    /// The row as `calltask/list` returns it.
    pub fn row(&self) -> Value {
        json!({
            "id": self.id,
            "src_uid": self.src_uid,
            "dst_uid": self.dst_uid,
            "call_time": self.call_time,
            "tone_list": self.tone_list,
            "pk": self.id,
            "taskid": self.taskid,
        })
    }

    /// The row plus firing state, for the sandbox views.
    pub fn dump(&self) -> Value {
        let mut v = self.row();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("fired".into(), json!(self.fired));
            obj.insert("records".into(), json!(self.records));
        }
        v
    }
}

impl DapiState {
    /// Fires every task whose `call_time` is at or before `now_ms` and has not fired yet,
    /// earliest first: a robot call record (`is_robot: true`), one message per callee,
    /// the robot in the channel.
    pub fn fire_due_tasks(&mut self, now_ms: i64) {
        let mut due: Vec<(i64, u64)> = self
            .tasks
            .iter()
            .filter(|t| !t.fired && t.call_ms <= now_ms)
            .map(|t| (t.call_ms, t.id))
            .collect();
        due.sort_unstable();
        for (_, id) in due {
            let Some((src, dst)) =
                self.tasks.iter().find(|t| t.id == id).map(|t| (t.src_uid.clone(), t.dst_uid.clone()))
            else {
                continue;
            };
            let channel = self.new_channel();
            let mut r = CallRecord::new(&mut self.ids, channel, src, dst, true, "", now_ms);
            r.task_id = Some(id);
            r.robot_enter(&mut self.ids, now_ms);
            if let Some(t) = self.tasks.iter_mut().find(|t| t.id == id) {
                t.fired = true;
                t.records.push(r.id);
            }
            self.records.push(r);
        }
    }
}

/// `POST /dapi/calltask/update {id?, src_uid, dst_uid, call_time, taskid, tone_list?}` →
/// `{id}`. No `id` (or `""`) inserts; an `id` updates that task if it is `src_uid`'s.
/// A changed `call_time` re-arms the task.
pub async fn update(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    for key in ["src_uid", "dst_uid", "call_time", "taskid"] {
        params::required(&p, key)?;
    }
    let not_yours = || DapiError::refuse("id 不存在或不属于该用户");
    let id = params::opt_int(&p, "id").map_err(|_| not_yours())?;
    let src = params::uid(&p, "src_uid")?;
    let dst = params::callees(&p, "dst_uid", &src)?;
    let (call_time, call_ms) = params::required(&p, "call_time")?
        .as_str()
        .and_then(|s| parse_cst(s.trim()).map(|ms| (format_cst(ms), ms)))
        .ok_or_else(|| DapiError::refuse("call_time 格式不正确：应为 YYYY-MM-DD HH:MM:SS"))?;
    let taskid = params::as_text(params::required(&p, "taskid")?)
        .ok_or_else(|| DapiError::refuse("taskid 必须是字符串"))?;
    if taskid.is_empty() {
        return Err(DapiError::refuse("taskid 不能为空"));
    }
    if taskid.chars().count() > MAX_TASKID_CHARS {
        return Err(DapiError::refuse(format!("taskid 最长 {MAX_TASKID_CHARS} 个字符")));
    }
    let tone_list = match p.get("tone_list") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(items.clone()),
        Some(_) => return Err(DapiError::refuse("tone_list 必须是数组")),
    };
    let id = with_dapi(&state, |d, now| {
        let id = match id {
            Some(id) => {
                let task = d
                    .tasks
                    .iter_mut()
                    .find(|t| i64::try_from(t.id).ok() == Some(id) && t.src_uid == src)
                    .ok_or_else(not_yours)?;
                if task.call_ms != call_ms {
                    task.fired = false;
                }
                task.dst_uid = dst;
                task.call_time = call_time;
                task.call_ms = call_ms;
                task.taskid = taskid;
                if let Some(list) = tone_list {
                    task.tone_list = list;
                }
                task.id
            }
            None => {
                let id = d.ids.task();
                d.tasks.push(Task {
                    id,
                    src_uid: src,
                    dst_uid: dst,
                    call_time,
                    call_ms,
                    tone_list: tone_list.unwrap_or_default(),
                    taskid,
                    fired: false,
                    records: Vec::new(),
                });
                id
            }
        };
        // A time already past fires at once.
        d.fire_due_tasks(now);
        Ok(id)
    })?;
    Ok(ok(json!({ "id": id })))
}

/// `POST /dapi/calltask/list {uid, page = 1, perpage = 20}` → `{rows, row_pages}`: the
/// tasks `uid` scheduled, by `call_time` ascending; `total` counts all pages. Under the
/// [`TaskListPaging`] knob's `whole` and `first`, `page`/`perpage` are not read at all.
pub async fn list(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    let uid = params::uid(&p, "uid")?;
    let paging = with_dapi(&state, |d, _| d.task_list_paging);
    let (page, perpage) = match paging {
        TaskListPaging::Pages => {
            let page = match params::opt_int(&p, "page") {
                Ok(None) => 1,
                Ok(Some(n)) if n >= 1 => n,
                _ => return Err(DapiError::refuse("page 必须是正整数")),
            };
            let perpage = match params::opt_int(&p, "perpage") {
                Ok(None) => DEFAULT_PERPAGE,
                Ok(Some(n)) if (1..=MAX_PERPAGE).contains(&n) => n,
                _ => return Err(DapiError::refuse(format!("perpage 必须在 1-{MAX_PERPAGE} 之间"))),
            };
            (page, perpage)
        }
        TaskListPaging::Whole | TaskListPaging::First => (1, DEFAULT_PERPAGE),
    };
    let odd_row = with_dapi(&state, |d, _| d.odd_row);
    let (mut rows, total) = with_dapi(&state, |d, _| {
        let mut mine: Vec<&Task> = d.tasks.iter().filter(|t| t.src_uid == uid).collect();
        mine.sort_by_key(|t| (t.call_ms, t.id));
        if paging == TaskListPaging::Whole {
            return (mine.iter().map(|t| t.row()).collect::<Vec<Value>>(), mine.len());
        }
        let skip = usize::try_from((page - 1).saturating_mul(perpage)).unwrap_or(usize::MAX);
        let take = usize::try_from(perpage).unwrap_or(usize::MAX);
        let rows: Vec<Value> = mine.iter().skip(skip).take(take).map(|t| t.row()).collect();
        (rows, mine.len())
    });
    if odd_row {
        // The `oddRow` knob: the page's last row comes without its id.
        if let Some(Value::Object(t)) = rows.last_mut() {
            t.remove("id");
        }
    }
    Ok(ok(json!({
        "rows": rows,
        "row_pages": { "crt_page": page, "total": total, "perpage": perpage },
    })))
}
