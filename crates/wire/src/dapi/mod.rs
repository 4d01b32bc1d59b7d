//! The RTC voice-call server ("dapi", seeds 000 and 001): app users call each
//! other or a robot in Agora channels. This module checks ids, builds the
//! requests and decodes the `{success, data}` replies; the call engine that
//! decides what to send and when is `agent_console_core::dapi::softphone`.
//!
//! Wire decisions the seeds leave open are in `docs/dapi.md`.

mod webhook;

pub use webhook::{CallRecord, CallRecordEvent, CallRecordPush, CallResource, ResourceItem, SenderType};

use crate::de::{string_lenient, u64_lenient, vec_lenient, Listed, Skipped};
use crate::http::check_http_url;
use crate::ids::check_id;
use crate::time::CstDateTime;
use crate::{ApiError, HttpRequest, HttpResponse, InvalidInput, Method, Problem};
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Most users one call may ring (the sandbox's limit; the seed sets none).
pub const MAX_CALLEES: usize = 20;
/// `channel_heartbeat` when the server does not say (seed 001: 30 s).
pub const DEFAULT_HEARTBEAT_SECS: u64 = 30;
/// Longest `extra_msg` we send.
pub const EXTRA_MSG_MAX: usize = 1000;

/// An app user's id (`uid`) as the site assigns it: `12356`, a UUID, an
/// e-mail address. The shared id rule ([`crate::ids::check_id`]):
/// non-empty after trimming, no control characters, at most 256 characters;
/// no character set, since the seeds set none. Replies may send it as a
/// number; it is kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Uid(String);

impl Uid {
    /// Checks `value` as the field `field` (surrounding spaces ignored).
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        Ok(Self(check_id(field, value)?.to_string()))
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ids in text people type: separated by commas (`,` `，`),
    /// semicolons (`;` `；`), `、` or spaces. Unchecked; see [`Uid::parse_list`].
    pub fn split_text(text: &str) -> Vec<String> {
        text.split(|c: char| matches!(c, ',' | '，' | ';' | '；' | '、') || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// A list of user ids for the field `field`: at least one, at most
    /// [`MAX_CALLEES`], no repeats (repeats are dropped, order kept).
    pub fn parse_list(field: &'static str, values: &[String]) -> Result<Vec<Uid>, InvalidInput> {
        let mut out: Vec<Uid> = Vec::with_capacity(values.len());
        for v in values {
            let uid = Uid::parse(field, v)?;
            if !out.contains(&uid) {
                out.push(uid);
            }
        }
        if out.is_empty() {
            return Err(InvalidInput::new(field, Problem::Required, ""));
        }
        if out.len() > MAX_CALLEES {
            return Err(InvalidInput::new(
                field,
                Problem::OutOfRange { min: 1, max: MAX_CALLEES as u64 },
                &out.len().to_string(),
            ));
        }
        Ok(out)
    }
}

impl<'de> Deserialize<'de> for Uid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = string_lenient(d)?;
        Uid::parse("uid", &s).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Uid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An RTC channel name (`ch_4aY875LP4o`), under the shared id rule
/// ([`crate::ids::check_id`]). It only travels in JSON bodies; whoever
/// puts it in a URL path encodes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Channel(String);

impl Channel {
    /// Checks `value` as the field `channel`.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        Ok(Self(check_id("channel", value)?.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = string_lenient(d)?;
        Channel::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A call event code (`/dapi/call/event`, seed 001's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventCode {
    /// 1: talk started (two or more people in the channel).
    TalkStarted,
    /// 2: talk ended (only after a talk started).
    TalkEnded,
    /// 1000, caller: cancelled while it rang.
    CallerCancelled,
    /// 1001, caller: nobody answered before the timeout.
    NoAnswer,
    /// 1002, caller: the callee rejected.
    Rejected,
    /// 1003, callee: I rejected.
    RejectedByMe,
    /// 1006, callee: the caller cancelled while I rang.
    CancelledByCaller,
    /// 1007, anyone: an error ended the call.
    Failed,
}

impl EventCode {
    /// Every code, in the seed's order.
    pub const ALL: [EventCode; 8] = [
        EventCode::TalkStarted,
        EventCode::TalkEnded,
        EventCode::CallerCancelled,
        EventCode::NoAnswer,
        EventCode::Rejected,
        EventCode::RejectedByMe,
        EventCode::CancelledByCaller,
        EventCode::Failed,
    ];

    /// The number on the wire.
    pub fn code(self) -> u16 {
        match self {
            EventCode::TalkStarted => 1,
            EventCode::TalkEnded => 2,
            EventCode::CallerCancelled => 1000,
            EventCode::NoAnswer => 1001,
            EventCode::Rejected => 1002,
            EventCode::RejectedByMe => 1003,
            EventCode::CancelledByCaller => 1006,
            EventCode::Failed => 1007,
        }
    }

    /// The code for a wire number, if documented.
    pub fn from_code(code: u64) -> Option<Self> {
        EventCode::ALL.into_iter().find(|c| u64::from(c.code()) == code)
    }

    /// Whether this code ends the reporter's part in the call.
    pub fn is_end(self) -> bool {
        !matches!(self, EventCode::TalkStarted)
    }
}

/// What the adapter needs to join a channel (`{appID, channel, uid, token}`),
/// passed on unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinInfo {
    /// The Agora app id.
    #[serde(rename = "appID", default, deserialize_with = "string_lenient")]
    pub app_id: String,
    /// The channel to join.
    pub channel: Channel,
    /// Our uid in the channel.
    pub uid: Uid,
    /// The RTC token (strict: without it nobody can join).
    pub token: String,
}

/// `status` of a call message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    /// 0: new.
    New,
    /// 1: the callee has fetched it.
    Fetched,
    /// 2: the call is over.
    Ended,
    /// A value the seed does not list (treated as still open).
    Other(u64),
}

impl MessageStatus {
    fn from_wire(v: u64) -> Self {
        match v {
            0 => MessageStatus::New,
            1 => MessageStatus::Fetched,
            2 => MessageStatus::Ended,
            n => MessageStatus::Other(n),
        }
    }

    /// The number on the wire.
    pub fn code(self) -> u64 {
        match self {
            MessageStatus::New => 0,
            MessageStatus::Fetched => 1,
            MessageStatus::Ended => 2,
            MessageStatus::Other(n) => n,
        }
    }
}

impl Serialize for MessageStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.code())
    }
}

impl<'de> Deserialize<'de> for MessageStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(MessageStatus::from_wire(u64_lenient(d)?))
    }
}

/// One recent call message (`/dapi/call/msg`): someone calling the user, or
/// a call the user placed (then `uid` is the callee's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct CallMessage {
    /// The message id (strict: it is how a call is never rung twice).
    #[serde(deserialize_with = "u64_lenient")]
    pub id: u64,
    /// The user the message is addressed to (the callee).
    pub uid: Uid,
    /// The call's channel.
    pub channel: Channel,
    /// New, fetched or ended.
    pub status: MessageStatus,
    /// The server's label for `status` (`初始化`).
    #[serde(rename(deserialize = "_status_label"), default, deserialize_with = "string_lenient")]
    pub status_label: String,
    /// When the call was placed (`YYYY-MM-DD HH:MM:SS`, Beijing time).
    #[serde(default, deserialize_with = "string_lenient")]
    pub createtime: String,
    /// `pk`: the message's primary key as the server's ORM reports it (equal
    /// to `id` in the seed's example); `None` when absent.
    #[serde(rename = "pk", default, deserialize_with = "crate::de::opt_u64_or_none")]
    pub primary_key: Option<u64>,
    /// The caller's extra message.
    #[serde(default, deserialize_with = "string_lenient")]
    pub extra_msg: String,
}

/// `/dapi/system/config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct SystemConfig {
    /// Heartbeat period in a channel, seconds (0 or missing → 30).
    #[serde(default, deserialize_with = "u64_lenient")]
    pub channel_heartbeat: u64,
    /// The Agora app id.
    #[serde(default, deserialize_with = "string_lenient")]
    pub agora_appid: String,
}

impl SystemConfig {
    /// The heartbeat period to use, seconds: the server's, within 5-300,
    /// else [`DEFAULT_HEARTBEAT_SECS`].
    pub fn heartbeat_secs(&self) -> u64 {
        match self.channel_heartbeat {
            0 => DEFAULT_HEARTBEAT_SECS,
            n => n.clamp(5, 300),
        }
    }
}

/// One scheduled call (`/dapi/calltask/list` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct CallTask {
    /// Row id (strict).
    #[serde(deserialize_with = "u64_lenient")]
    pub id: u64,
    /// Who the call is placed for.
    pub src_uid: Uid,
    /// Who gets rung.
    #[serde(default, deserialize_with = "vec_lenient")]
    pub dst_uid: Vec<Uid>,
    /// When (`YYYY-MM-DD HH:MM:SS`, Beijing time).
    #[serde(default, deserialize_with = "string_lenient")]
    pub call_time: String,
    /// The app's task id (not in the seed's list rows; empty when absent).
    #[serde(default, deserialize_with = "string_lenient")]
    pub taskid: String,
    /// Audio to play (shape not documented: kept as sent).
    #[serde(default, deserialize_with = "vec_lenient")]
    pub tone_list: Vec<serde_json::Value>,
    /// `pk`: the row's primary key as the server reports it (equal to `id`
    /// in the seed's example); `None` when absent.
    #[serde(rename = "pk", default, deserialize_with = "crate::de::opt_u64_or_none")]
    pub primary_key: Option<u64>,
}

/// One page of scheduled calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallTaskPage {
    /// The rows.
    pub rows: Vec<CallTask>,
    /// This page's number (from 1).
    pub page: u64,
    /// All rows on all pages (when the server will not page, the rows it
    /// sends: see `withheld`).
    pub total: u64,
    /// Rows per page.
    pub per_page: u64,
    /// Rows of this page that did not decode and were left out.
    pub skipped: Skipped,
    /// Rows the server counts but never sends: it ignores `page`/`perpage`
    /// and answers only its own first page. 0 from a server that pages.
    pub withheld: u64,
}

#[derive(Deserialize)]
struct RawTaskPage {
    #[serde(default)]
    rows: Listed<CallTask>,
    #[serde(default)]
    row_pages: Option<RawRowPages>,
}

#[derive(Deserialize, Default)]
struct RawRowPages {
    #[serde(default, deserialize_with = "u64_lenient")]
    crt_page: u64,
    #[serde(default, deserialize_with = "u64_lenient")]
    total: u64,
    #[serde(default, deserialize_with = "u64_lenient")]
    perpage: u64,
}

/// A scheduled call to save: insert (no `id`) or update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTaskInput {
    /// The row to update; `None` inserts.
    pub id: Option<u64>,
    /// Who gets rung.
    pub dst_uids: Vec<Uid>,
    /// When.
    pub call_time: CstDateTime,
    /// The app's own task id.
    pub taskid: String,
}

impl CallTaskInput {
    /// Checks the JS-shaped fields (`id`, `dstUids`, `callTime`, `taskid`).
    pub fn parse(
        id: Option<&str>,
        dst_uids: &[String],
        call_time: &str,
        taskid: &str,
    ) -> Result<Self, InvalidInput> {
        let id = match id.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse::<u64>().map_err(|_| InvalidInput::new("id", Problem::Malformed, s))?),
        };
        let dst_uids = Uid::parse_list("dstUids", dst_uids)?;
        let call_time = CstDateTime::parse("callTime", call_time)?;
        let taskid = taskid.trim();
        if taskid.is_empty() {
            return Err(InvalidInput::new("taskid", Problem::Required, ""));
        }
        if taskid.chars().count() > 64 {
            return Err(InvalidInput::new("taskid", Problem::TooLong { max: 64 }, taskid));
        }
        Ok(Self { id, dst_uids, call_time, taskid: taskid.to_string() })
    }
}

/// The dapi request builder for one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DapiApi {
    base_url: String,
}

impl DapiApi {
    /// A builder for `base_url` (`https://host`), checked as the field `baseUrl`.
    pub fn new(base_url: &str) -> Result<Self, InvalidInput> {
        Ok(Self { base_url: check_http_url("baseUrl", base_url)? })
    }

    /// The base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn post(&self, path: &str, body: serde_json::Value) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url: format!("{}{path}", self.base_url),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(body.to_string()),
            max_body: crate::http::DEFAULT_MAX_BODY,
        }
    }

    /// `POST /dapi/call/user`: ring `dst` users; the reply is our join data.
    pub fn call_users(&self, src: &Uid, dst: &[Uid], extra_msg: Option<&str>) -> HttpRequest {
        let mut body = serde_json::Map::new();
        body.insert("src_uid".into(), json!(src));
        body.insert("dst_uid".into(), json!(dst));
        if let Some(m) = extra_msg.filter(|m| !m.is_empty()) {
            body.insert("extra_msg".into(), m.into());
        }
        let body = serde_json::Value::Object(body);
        self.post("/dapi/call/user", body)
    }

    /// `POST /dapi/call/robot`: a demo call the server's robot answers.
    pub fn call_robot(&self, src: &Uid) -> HttpRequest {
        self.post("/dapi/call/robot", json!({ "src_uid": src }))
    }

    /// `POST /dapi/call/msg`: recent call messages of `uid`.
    pub fn messages(&self, uid: &Uid) -> HttpRequest {
        self.post("/dapi/call/msg", json!({ "uid": uid }))
    }

    /// `POST /dapi/call/token`: join data for an existing channel.
    pub fn channel_token(&self, uid: &Uid, channel: &Channel) -> HttpRequest {
        self.post("/dapi/call/token", json!({ "uid": uid, "channel": channel }))
    }

    /// `POST /dapi/call/event`.
    pub fn event(&self, uid: &Uid, channel: &Channel, code: EventCode, desp: Option<&str>) -> HttpRequest {
        let mut body = serde_json::Map::new();
        body.insert("uid".into(), json!(uid));
        body.insert("channel".into(), json!(channel));
        body.insert("code".into(), code.code().into());
        if let Some(d) = desp.filter(|d| !d.is_empty()) {
            body.insert("desp".into(), d.into());
        }
        let body = serde_json::Value::Object(body);
        self.post("/dapi/call/event", body)
    }

    /// `POST /dapi/call/heartbeat`.
    pub fn heartbeat(&self, uid: &Uid, channel: &Channel) -> HttpRequest {
        self.post("/dapi/call/heartbeat", json!({ "uid": uid, "channel": channel }))
    }

    /// `POST /dapi/invite/robot`.
    pub fn invite_robot(&self, uid: &Uid, channel: &Channel) -> HttpRequest {
        self.post("/dapi/invite/robot", json!({ "uid": uid, "channel": channel }))
    }

    /// `POST /dapi/quit/robot`.
    pub fn quit_robot(&self, uid: &Uid, channel: &Channel) -> HttpRequest {
        self.post("/dapi/quit/robot", json!({ "channel": channel, "uid": uid }))
    }

    /// `POST /dapi/calltask/update` (insert without `id`, update with it).
    pub fn save_task(&self, src: &Uid, t: &CallTaskInput) -> HttpRequest {
        // An insert sends `id: ""`, as the seed's example does.
        let body = json!({
            "id": t.id.map(|i| i.to_string()).unwrap_or_default(),
            "src_uid": src,
            "dst_uid": t.dst_uids,
            "call_time": t.call_time.to_string(),
            "taskid": t.taskid,
        });
        self.post("/dapi/calltask/update", body)
    }

    /// `POST /dapi/calltask/list`; `page`/`perpage` are our extension (the
    /// reply's `row_pages` implies them), sent only past the defaults, so
    /// page 1 of 20 is the seed's bare `{uid}`. A server may ignore them:
    /// see [`fit_task_page`].
    pub fn tasks(&self, uid: &Uid, page: u64, per_page: u64) -> HttpRequest {
        let mut body = serde_json::Map::new();
        body.insert("uid".into(), json!(uid));
        if page > 1 || per_page != 20 {
            body.insert("page".into(), page.into());
            body.insert("perpage".into(), per_page.into());
        }
        let body = serde_json::Value::Object(body);
        self.post("/dapi/calltask/list", body)
    }

    /// `GET /dapi/system/config`.
    pub fn config(&self) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: format!("{}/dapi/system/config", self.base_url),
            headers: Vec::new(),
            body: None,
            max_body: crate::http::DEFAULT_MAX_BODY,
        }
    }

    /// Where multipart uploads go (`POST /d/upload`; the browser builds the body).
    pub fn upload_url(&self) -> String {
        format!("{}/d/upload", self.base_url)
    }
}

#[derive(Deserialize)]
struct RawEnvelope {
    success: serde_json::Value,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "string_lenient")]
    msg: String,
    #[serde(default, deserialize_with = "string_lenient")]
    message: String,
}

fn truthy(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::Number(n) => n.as_u64().map(|n| n != 0),
        serde_json::Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Decodes a `{success, data}` reply into `T`. `success: false` is
/// [`ApiError::Refused`] with the server's words; a non-2xx status without
/// an envelope is [`ApiError::Http`]. `success` is strict (a reply without
/// it is not a success); `data` may be `null` or missing for `Option`/`Empty`.
pub fn decode<T: DeserializeOwned>(resp: &HttpResponse) -> Result<T, ApiError> {
    let ok_status = (200..300).contains(&resp.status);
    let env: RawEnvelope = match serde_json::from_slice(&resp.body) {
        Ok(env) => env,
        Err(_) if !ok_status => return Err(crate::envelope::http_error(resp)),
        Err(e) => return Err(ApiError::Decode(format!("not a {{success, data}} reply: {e}"))),
    };
    match truthy(&env.success) {
        Some(true) if ok_status => {}
        Some(true) => return Err(crate::envelope::http_error(resp)),
        Some(false) => {
            let data_msg = env.data.as_ref().and_then(|d| d.as_str()).unwrap_or_default().to_string();
            let message = [env.msg, env.message, data_msg].into_iter().find(|m| !m.trim().is_empty());
            let message = message.unwrap_or_else(|| format!("HTTP {}", resp.status));
            return Err(ApiError::Refused { message });
        }
        None => return Err(ApiError::Decode(format!("success is {}, not true or false", env.success))),
    }
    let data = env.data.unwrap_or(serde_json::Value::Null);
    T::deserialize(data).map_err(|e| ApiError::Decode(format!("data: {e}")))
}

/// Decodes join data (`call/user`, `call/robot`, `call/token`, `invite/robot`).
pub fn decode_join(resp: &HttpResponse) -> Result<JoinInfo, ApiError> {
    decode(resp)
}

/// Decodes `call/msg` row by row: a message that does not decode is left
/// out and counted, so one odd row does not hide the calls in the others.
pub fn decode_messages(resp: &HttpResponse) -> Result<Listed<CallMessage>, ApiError> {
    decode::<Listed<CallMessage>>(resp)
}

/// Decodes a reply whose data does not matter (`event`, `heartbeat`, `quit/robot`).
pub fn decode_empty(resp: &HttpResponse) -> Result<(), ApiError> {
    decode::<crate::de::Empty>(resp).map(|_| ())
}

/// Decodes `system/config`.
pub fn decode_config(resp: &HttpResponse) -> Result<SystemConfig, ApiError> {
    decode(resp)
}

/// Decodes `calltask/update`: the row id if the server said (`{id}` or a
/// bare number), else `None`.
pub fn decode_saved_task(resp: &HttpResponse) -> Result<Option<u64>, ApiError> {
    let v: serde_json::Value = decode(resp)?;
    let id = match &v {
        serde_json::Value::Object(m) => m.get("id").or_else(|| m.get("pk")).cloned(),
        serde_json::Value::Number(_) | serde_json::Value::String(_) => Some(v.clone()),
        _ => None,
    };
    match id {
        None => Ok(None),
        Some(id) => u64_lenient(id).map(Some).map_err(|e| ApiError::Decode(format!("id: {e}"))),
    }
}

/// Decodes `calltask/list`.
pub fn decode_tasks(resp: &HttpResponse) -> Result<CallTaskPage, ApiError> {
    let raw: RawTaskPage = decode(resp)?;
    let pages = raw.row_pages.unwrap_or_default();
    let total = pages.total.max(raw.rows.rows.len() as u64);
    Ok(CallTaskPage {
        page: pages.crt_page.max(1),
        per_page: if pages.perpage == 0 { 20 } else { pages.perpage },
        total,
        rows: raw.rows.rows,
        skipped: raw.rows.skipped,
        withheld: 0,
    })
}

/// Fits a decoded `calltask/list` reply to the page asked for (`page` from
/// 1, `per_page` rows), also from a server that ignores `page`/`perpage`,
/// which the seed does not document. `None`: the reply is a later page of
/// the server's own size; ask again with the seed's bare `{uid}` and hand
/// that reply to [`cut_task_page`].
pub fn fit_task_page(reply: CallTaskPage, page: u64, per_page: u64) -> Option<CallTaskPage> {
    let sent = (reply.rows.len() as u64).saturating_add(reply.skipped.count);
    if reply.page == page && sent <= per_page && reply.per_page == per_page {
        return Some(reply);
    }
    // Not paged as asked: only a reply that starts at the first row can be cut.
    (reply.page <= 1).then(|| cut_task_page(reply, page, per_page))
}

/// Page `page` of `per_page` rows cut out of a reply that starts at the first
/// row (a server that did not page as asked). `total` is what the reply
/// holds and `withheld` what it counted beyond that, so paging by `total`
/// never asks for rows the server will not send; a page past the end is
/// empty, never an earlier page again.
pub fn cut_task_page(reply: CallTaskPage, page: u64, per_page: u64) -> CallTaskPage {
    let held = reply.rows.len() as u64;
    let withheld = reply.total.saturating_sub(held.saturating_add(reply.skipped.count));
    let start = usize::try_from(page.saturating_sub(1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page).unwrap_or(usize::MAX);
    CallTaskPage {
        rows: reply.rows.into_iter().skip(start).take(take).collect(),
        page,
        total: held,
        per_page,
        skipped: reply.skipped,
        withheld,
    }
}

/// Most bytes of files one `/d/upload` request may carry (the server
/// answers 413 past it): refused before a byte is sent.
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;

/// Most bytes of an upload's reply read: a list of URLs.
pub const UPLOAD_REPLY_MAX_BODY: u64 = 64 * 1024;

/// Checks the sizes (`File.size`, bytes) of the files of one upload against
/// [`MAX_UPLOAD_BYTES`], together. A size that is not a finite,
/// non-negative number (never from a real `Blob`) is refused too.
pub fn check_upload_sizes(sizes: &[f64]) -> Result<(), InvalidInput> {
    let max = MAX_UPLOAD_BYTES as f64;
    if let Some(bad) = sizes.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
        return Err(InvalidInput::new("files", Problem::Malformed, &format!("a file of size {bad}")));
    }
    let total: f64 = sizes.iter().sum();
    if total > max {
        // Whole bytes: the sum of Blob sizes is an integer well below 2^53.
        let shown = crate::bytes_text(total as u64);
        return Err(InvalidInput::new("files", Problem::TooManyBytes { max: MAX_UPLOAD_BYTES }, &shown));
    }
    Ok(())
}

/// Decodes `/d/upload`: a bare URL or array (seed 000), or the same inside
/// a `{success, data}` envelope; always a list. A reply over
/// [`UPLOAD_REPLY_MAX_BODY`] is [`ApiError::TooLarge`].
pub fn decode_upload(resp: &HttpResponse) -> Result<Vec<String>, ApiError> {
    resp.check_size(UPLOAD_REPLY_MAX_BODY)?;
    let v: serde_json::Value = match serde_json::from_slice(&resp.body) {
        Ok(v) => v,
        Err(_) if !(200..300).contains(&resp.status) => return Err(crate::envelope::http_error(resp)),
        Err(e) => return Err(ApiError::Decode(format!("upload reply: {e}"))),
    };
    // An envelope (a refusal, or a server that wraps the list) decodes as one.
    let v = if v.get("success").is_some() { decode::<serde_json::Value>(resp)? } else { v };
    if !(200..300).contains(&resp.status) {
        return Err(crate::envelope::http_error(resp));
    }
    let urls = match v {
        serde_json::Value::String(s) => vec![s],
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                serde_json::Value::String(s) => Ok(s),
                other => Err(ApiError::Decode(format!("upload reply: {other} is not a URL"))),
            })
            .collect::<Result<_, _>>()?,
        other => return Err(ApiError::Decode(format!("upload reply: {other} is not a URL or a list"))),
    };
    if urls.iter().any(|u| u.trim().is_empty()) {
        return Err(ApiError::Decode("upload reply: an empty URL".into()));
    }
    Ok(urls)
}
