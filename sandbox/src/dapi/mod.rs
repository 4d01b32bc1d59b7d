//! The RTC voice-call server ("dapi", seeds 000 and 001), to the wire decisions of
//! `docs/dapi.md`: calls between app users by `uid` over (stand-in) Agora channels, call
//! messages, events, heartbeats, the robot, scheduled robot calls, uploads and the
//! call-record webhook.
//!
//! State is one [`DapiState`] behind the app's mutex. Time is the sandbox [`Clock`]: every
//! request first settles the state up to "now" ([`DapiState::settle`]: due scheduled
//! tasks fire, heartbeat losses and straggler timeouts are applied at the exact sandbox
//! time they fell due), and one background ticker per state does the same every
//! [`TICK`] so that records end and webhooks go out without any request. Webhook POSTs
//! run on their own tasks, outside the lock.
//!
//! Vendor routes ([`router`]): `/dapi/...`, `POST /d/upload`,
//! `GET /media/general_upload/<md5>.<ext>` and `GET /media/recording/<record>_<uid>.wav`.
//! Sandbox routes ([`sandbox_router`], under `/sandbox`): `dapi/settings`, `dapi/rtc/...`,
//! `dapi/robot.wav`, `dapi/calls`, `dapi/webhooks`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};
use serde_json::{json, Value};

use crate::clock::format_cst;
use crate::{AppState, Clock, Settings};

pub mod calls;
pub mod params;
pub mod record;
pub mod rtc;
pub mod tasks;
pub mod upload;
pub mod webhook;

pub use record::{CallRecord, EndReason, Event, Ids, Message, Party, Sender, Timing, ROBOT_UID};
pub use tasks::Task;
pub use upload::Upload;

/// The demo Agora app id (`agora_appid`, `appID`): 32 hex digits, made up.
pub const DEMO_APPID: &str = "5a4e2c1b9d8f4e7a8b6c3d2e1f0a9b8c";
/// Default `channel_heartbeat`, seconds.
pub const DEFAULT_HEARTBEAT_SECS: u64 = 30;
/// Largest accepted `channel_heartbeat`, seconds.
pub const MAX_HEARTBEAT_SECS: u64 = 3600;
/// Default heartbeat deadline, percent of `channel_heartbeat`: a uid in a channel is
/// dropped after exactly one silent period (seed 001: "每隔30内").
pub const DEFAULT_HEARTBEAT_DEADLINE_PCT: u64 = 100;
/// Accepted heartbeat deadlines, percent of `channel_heartbeat`.
pub const HEARTBEAT_DEADLINE_PCT_RANGE: std::ops::RangeInclusive<u64> = 50..=1000;
/// Longest accepted heartbeat reply delay, ms.
pub const MAX_HEARTBEAT_REPLY_DELAY_MS: u64 = 60_000;
/// Default message listing window, seconds ("暂定1分钟").
pub const DEFAULT_MESSAGE_TTL_SECS: u64 = 60;
/// Largest accepted message listing window, seconds.
pub const MAX_MESSAGE_TTL_SECS: u64 = 86_400;
/// Most callees one `call/user` (or task) may name.
pub const MAX_CALLEES: usize = 20;
/// How often the background ticker settles the state.
pub const TICK: Duration = Duration::from_millis(250);
/// `msg` for a channel that does not exist or has ended.
pub const MSG_NO_CHANNEL: &str = "频道不存在或已结束";

/// Join data as `call/user`, `call/robot`, `call/token` and `invite/robot` return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinData {
    /// The channel.
    pub channel: String,
    /// The uid it is for.
    pub uid: String,
    /// An Agora-looking token, unique per issue.
    pub token: String,
}

impl JoinData {
    /// `{appID, channel, uid, token}`.
    pub fn json(&self) -> Value {
        json!({ "appID": DEMO_APPID, "channel": self.channel, "uid": self.uid, "token": self.token })
    }
}

/// One webhook POST, sent or attempted.
#[derive(Debug, Clone)]
pub struct WebhookEntry {
    /// The record it reports.
    pub record: u64,
    /// Where it went.
    pub url: String,
    /// The JSON body.
    pub payload: Value,
    /// `{status}` or `{error}` once delivered; `None` while in flight.
    pub result: Option<Value>,
}

/// A webhook POST waiting to be sent (index into [`DapiState::webhooks`]).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Index of its entry.
    pub index: usize,
    /// Where to POST.
    pub url: String,
    /// The body.
    pub body: String,
}

/// The dapi server's whole mutable state.
#[derive(Debug)]
pub struct DapiState {
    /// `channel_heartbeat`, seconds.
    pub heartbeat_secs: u64,
    /// How long a uid in a channel may stay silent, percent of `channel_heartbeat`.
    pub heartbeat_deadline_pct: u64,
    /// How long `call/heartbeat` waits before answering (the beat counts on arrival):
    /// a slow network, for clients that schedule the next beat from the reply.
    pub heartbeat_reply_delay_ms: u64,
    /// Message listing window, seconds.
    pub message_ttl_secs: u64,
    /// Where ended call records are POSTed.
    pub webhook_url: Option<String>,
    /// Whether `calltask/list` honours `page`/`perpage` (knob `taskListPaging`).
    pub task_list_paging: tasks::TaskListPaging,
    /// Knob `oddRow`: `call/msg` and `calltask/list` carry one odd row (the last one
    /// lacks `channel`, resp. `id`), as live servers' lists sometimes do.
    pub odd_row: bool,
    /// Id counters.
    pub ids: Ids,
    /// Every call record, oldest first.
    pub records: Vec<CallRecord>,
    /// Scheduled tasks, in insertion order.
    pub tasks: Vec<Task>,
    /// Issued tokens → (uid, channel).
    pub tokens: HashMap<String, (String, String)>,
    /// Uploaded files by name (`<md5>.<ext>`).
    pub uploads: BTreeMap<String, Upload>,
    /// Every webhook POST sent or attempted.
    pub webhooks: Vec<WebhookEntry>,
    /// Deliveries not yet handed to a task.
    pub outbox: Vec<Delivery>,
    ticker_started: bool,
}

impl DapiState {
    /// Fresh state with the heartbeat and webhook URL from the command line.
    pub fn new(settings: &Settings) -> Self {
        Self {
            heartbeat_secs: settings.dapi_heartbeat_secs.clamp(1, MAX_HEARTBEAT_SECS),
            heartbeat_deadline_pct: settings
                .dapi_heartbeat_deadline_pct
                .clamp(*HEARTBEAT_DEADLINE_PCT_RANGE.start(), *HEARTBEAT_DEADLINE_PCT_RANGE.end()),
            heartbeat_reply_delay_ms: settings
                .dapi_heartbeat_reply_delay_ms
                .min(MAX_HEARTBEAT_REPLY_DELAY_MS),
            message_ttl_secs: DEFAULT_MESSAGE_TTL_SECS,
            webhook_url: settings.dapi_webhook_url.clone(),
            task_list_paging: tasks::TaskListPaging::default(),
            odd_row: false,
            ids: Ids::default(),
            records: Vec::new(),
            tasks: Vec::new(),
            tokens: HashMap::new(),
            uploads: BTreeMap::new(),
            webhooks: Vec::new(),
            outbox: Vec::new(),
            ticker_started: false,
        }
    }

    /// `channel_heartbeat` in ms.
    pub fn heartbeat_ms(&self) -> i64 {
        i64::try_from(self.heartbeat_secs).unwrap_or(i64::MAX / 4).saturating_mul(1000)
    }

    /// The timed rules' lengths: the period, and the heartbeat deadline from its percent.
    pub fn timing(&self) -> Timing {
        let hb = self.heartbeat_ms();
        let pct = i64::try_from(self.heartbeat_deadline_pct).unwrap_or(100);
        Timing { heartbeat_ms: hb, lost_ms: hb.saturating_mul(pct) / 100 }
    }

    /// The message listing window in ms.
    pub fn message_ttl_ms(&self) -> i64 {
        i64::try_from(self.message_ttl_secs).unwrap_or(i64::MAX / 4).saturating_mul(1000)
    }

    /// Brings everything up to `now_ms`: fires due tasks, applies timed rules, queues the
    /// webhooks of records that ended.
    pub fn settle(&mut self, now_ms: i64) {
        self.fire_due_tasks(now_ms);
        let timing = self.timing();
        for r in self.records.iter_mut().filter(|r| !r.ended()) {
            r.advance(&mut self.ids, timing, now_ms);
        }
        self.push_ended(now_ms);
    }

    /// Builds the webhook payload of every newly ended record, once, and queues its POST
    /// when a URL is set.
    pub fn push_ended(&mut self, now_ms: i64) {
        for r in self.records.iter_mut().filter(|r| r.ended() && !r.pushed) {
            r.pushed = true;
            let Some(url) = self.webhook_url.clone() else {
                continue;
            };
            let payload = json!({ "callrecord": r.callrecord_json(now_ms) });
            let body = payload.to_string();
            self.webhooks.push(WebhookEntry { record: r.id, url: url.clone(), payload, result: None });
            self.outbox.push(Delivery { index: self.webhooks.len() - 1, url, body });
        }
    }

    /// The live record of `channel` (with the id counters, borrowed apart), or the
    /// refusal `频道不存在或已结束`.
    pub fn live(&mut self, channel: &str) -> Result<(&mut CallRecord, &mut Ids), DapiError> {
        let Self { records, ids, .. } = self;
        let r = records
            .iter_mut()
            .find(|r| r.channel == channel && !r.ended())
            .ok_or_else(|| DapiError::refuse(MSG_NO_CHANNEL))?;
        Ok((r, ids))
    }

    /// The record of `channel`, ended or not.
    pub fn record(&self, channel: &str) -> Option<&CallRecord> {
        self.records.iter().find(|r| r.channel == channel)
    }

    /// The record of `channel`, ended or not, mutably.
    pub fn record_mut(&mut self, channel: &str) -> Option<&mut CallRecord> {
        self.records.iter_mut().find(|r| r.channel == channel)
    }

    /// A fresh `ch_` + 10 letters/digits not used yet.
    pub fn new_channel(&self) -> String {
        let mut rng = rand::thread_rng();
        loop {
            let suffix: String = (&mut rng).sample_iter(&Alphanumeric).take(10).map(char::from).collect();
            let ch = format!("ch_{suffix}");
            if self.record(&ch).is_none() {
                return ch;
            }
        }
    }

    /// Issues join data for `uid` in `channel` and remembers the token.
    pub fn issue(&mut self, uid: &str, channel: &str) -> JoinData {
        let mut rng = rand::thread_rng();
        let token = loop {
            let mut raw = [0u8; 60];
            rng.fill_bytes(&mut raw);
            let t = format!("006{DEMO_APPID}{}", base64::engine::general_purpose::STANDARD.encode(raw));
            if !self.tokens.contains_key(&t) {
                break t;
            }
        };
        self.tokens.insert(token.clone(), (uid.to_string(), channel.to_string()));
        JoinData { channel: channel.to_string(), uid: uid.to_string(), token }
    }

    /// The settings view (`GET /sandbox/dapi/settings`).
    pub fn settings_json(&self) -> Value {
        json!({
            "channelHeartbeat": self.heartbeat_secs,
            "heartbeatDeadlinePct": self.heartbeat_deadline_pct,
            "heartbeatReplyDelayMs": self.heartbeat_reply_delay_ms,
            "webhookUrl": self.webhook_url,
            "messageTtlSecs": self.message_ttl_secs,
            "taskListPaging": self.task_list_paging.label(),
            "oddRow": self.odd_row,
        })
    }

    /// A record as the sandbox views show it: the callrecord plus live details.
    pub fn record_view(&self, r: &CallRecord, now_ms: i64) -> Value {
        let mut v = r.callrecord_json(now_ms);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("ended".into(), json!(r.ended()));
            obj.insert("end_reason".into(), json!(r.end_reason.as_ref().map(EndReason::label)));
            obj.insert("created".into(), json!(format_cst(r.created_ms)));
            obj.insert("task_id".into(), json!(r.task_id));
            obj.insert("robot".into(), json!(r.robot_in));
            obj.insert("members".into(), json!(r.members));
            obj.insert(
                "heartbeats".into(),
                r.heartbeats
                    .iter()
                    .map(|(uid, at)| json!({"uid": uid, "atMs": at}))
                    .collect::<Vec<_>>()
                    .into(),
            );
            obj.insert(
                "parties".into(),
                r.parties
                    .iter()
                    .map(|(uid, p)| {
                        (
                            uid.clone(),
                            json!({
                                "in": p.is_in() && !r.ended(), "joined": p.joined, "fetched": p.fetched, "done": p.done,
                                "last_seen": format_cst(p.last_seen_ms),
                            }),
                        )
                    })
                    .collect::<serde_json::Map<String, Value>>()
                    .into(),
            );
            obj.insert(
                "messages".into(),
                r.messages.iter().map(|m| r.message_json(m)).collect::<Vec<_>>().into(),
            );
        }
        v
    }

    /// Webhook entries as `GET /sandbox/dapi/webhooks` shows them.
    pub fn webhooks_json(&self) -> Value {
        self.webhooks
            .iter()
            .map(|w| json!({"record": w.record, "url": w.url, "payload": w.payload, "result": w.result}))
            .collect::<Vec<_>>()
            .into()
    }

    /// A JSON view for `GET /sandbox/state`.
    pub fn dump(&self, now_ms: i64) -> Value {
        let mut v = self.settings_json();
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "calls".into(),
                self.records.iter().map(|r| self.record_view(r, now_ms)).collect::<Vec<_>>().into(),
            );
            obj.insert("tasks".into(), self.tasks.iter().map(Task::dump).collect::<Vec<_>>().into());
            obj.insert(
                "uploads".into(),
                self.uploads
                    .iter()
                    .map(|(name, u)| json!({"name": name, "content_type": u.content_type, "size": u.bytes.len()}))
                    .collect::<Vec<_>>()
                    .into(),
            );
            obj.insert("webhooks".into(), self.webhooks_json());
        }
        v
    }
}

/// A dapi refusal: `{success: false, msg}` with an HTTP status (200 for business
/// refusals of well-formed requests, 400 for malformed ones, and so on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DapiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Why, in Chinese.
    pub msg: String,
}

impl DapiError {
    /// A refusal of a well-formed request (HTTP 200).
    pub fn refuse(msg: impl Into<String>) -> Self {
        Self { status: StatusCode::OK, msg: msg.into() }
    }

    /// A malformed request (HTTP 400).
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, msg: msg.into() }
    }

    /// Any status.
    pub fn with_status(status: StatusCode, msg: impl Into<String>) -> Self {
        Self { status, msg: msg.into() }
    }
}

impl IntoResponse for DapiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "success": false, "msg": self.msg }))).into_response()
    }
}

/// `{"success": true, "data": data}`.
pub fn ok(data: Value) -> Response {
    Json(json!({ "success": true, "data": data })).into_response()
}

/// Locks the state, settles it to the sandbox now, runs `f`, queues the webhooks of
/// records that `f` ended and hands every queued delivery to a task.
pub fn with_dapi<T>(state: &AppState, f: impl FnOnce(&mut DapiState, i64) -> T) -> T {
    let now = state.clock.now_ms();
    let (out, outbox) = {
        let mut d = state.dapi();
        d.settle(now);
        let out = f(&mut d, now);
        d.push_ended(now);
        (out, std::mem::take(&mut d.outbox))
    };
    webhook::deliver(&state.dapi, outbox);
    out
}

/// The `/sandbox/state` entry: settles first, like every request.
pub fn dump(state: &AppState) -> Value {
    with_dapi(state, |d, now| d.dump(now))
}

/// Starts the state's background ticker, once, if a tokio runtime is running (tests that
/// build the app outside one still work: every request settles the state itself). The
/// ticker holds only a weak reference and stops when the state is dropped.
pub fn start_ticker(state: &AppState) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    {
        let mut d = state.dapi();
        if d.ticker_started {
            return;
        }
        d.ticker_started = true;
    }
    tokio::spawn(tick(Arc::downgrade(&state.dapi), state.clock.clone()));
}

async fn tick(dapi: Weak<Mutex<DapiState>>, clock: Clock) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(dapi) = dapi.upgrade() else {
            return;
        };
        let outbox = {
            let mut d = dapi.lock().unwrap_or_else(|e| e.into_inner());
            d.settle(clock.now_ms());
            std::mem::take(&mut d.outbox)
        };
        webhook::deliver(&dapi, outbox);
    }
}

/// The vendor routes: `/dapi/...` (404/405 as `{success:false,msg}`), `POST /d/upload`
/// (10 MB), `GET /media/general_upload/<file>`, `GET /media/recording/<file>`. Starts the
/// background ticker.
pub fn router(state: AppState) -> Router<AppState> {
    start_ticker(&state);
    let dapi = Router::new()
        .route("/call/user", post(calls::call_user))
        .route("/call/robot", post(calls::call_robot))
        .route("/call/msg", post(calls::call_msg))
        .route("/call/token", post(calls::call_token))
        .route("/call/event", post(calls::call_event))
        .route("/call/heartbeat", post(calls::call_heartbeat))
        .route("/invite/robot", post(calls::invite_robot))
        .route("/quit/robot", post(calls::quit_robot))
        .route("/calltask/update", post(tasks::update))
        .route("/calltask/list", post(tasks::list))
        .route("/system/config", get(calls::system_config))
        .fallback(|| async { DapiError::with_status(StatusCode::NOT_FOUND, "接口不存在") })
        .method_not_allowed_fallback(|| async {
            DapiError::with_status(StatusCode::METHOD_NOT_ALLOWED, "请求方法不支持")
        });
    Router::new()
        .nest("/dapi", dapi)
        .route(
            "/d/upload",
            post(upload::upload)
                .layer(DefaultBodyLimit::max(upload::MAX_UPLOAD_BYTES + upload::MULTIPART_SLACK)),
        )
        .route("/media/general_upload/{file}", get(upload::media))
        .route("/media/recording/{file}", get(upload::recording))
}

/// Sandbox-only routes, relative to `/sandbox`:
/// - `GET|POST /dapi/settings {channelHeartbeat?, heartbeatDeadlinePct?, heartbeatReplyDelayMs?,
///   webhookUrl?, messageTtlSecs?}`
/// - `POST /dapi/rtc/join {channel, uid, token}`, `POST /dapi/rtc/leave {channel, uid}`,
///   `GET /dapi/rtc/<channel>` → `{members, robot, ended}`
/// - `GET /dapi/robot.wav`, `GET /dapi/calls`, `GET /dapi/webhooks`
pub fn sandbox_router(state: AppState) -> Router<AppState> {
    start_ticker(&state);
    Router::new()
        .route("/dapi/settings", get(rtc::settings_get).post(rtc::settings_post))
        .route("/dapi/rtc/join", post(rtc::join))
        .route("/dapi/rtc/leave", post(rtc::leave))
        .route("/dapi/rtc/{channel}", get(rtc::channel))
        .route("/dapi/robot.wav", get(rtc::robot_wav))
        .route("/dapi/calls", get(rtc::calls))
        .route("/dapi/webhooks", get(rtc::webhooks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(url: Option<&str>) -> DapiState {
        DapiState::new(&Settings { dapi_webhook_url: url.map(str::to_string), ..Settings::default() })
    }

    #[test]
    fn due_tasks_fire_once_as_robot_calls() {
        let mut d = state(None);
        let id = d.ids.task();
        d.tasks.push(Task {
            id,
            src_uid: "a".into(),
            dst_uid: vec!["b".into()],
            call_time: format_cst(10_000),
            call_ms: 10_000,
            tone_list: Vec::new(),
            taskid: "t".into(),
            fired: false,
            records: Vec::new(),
        });
        d.settle(9_999);
        assert!(d.records.is_empty());
        d.settle(10_000);
        d.settle(20_000);
        assert_eq!(d.records.len(), 1);
        let r = &d.records[0];
        assert!(r.is_robot && r.robot_in && r.task_id == Some(id));
        assert_eq!(r.messages.len(), 1);
        assert_eq!(d.tasks[0].records, vec![r.id]);
    }

    #[test]
    fn an_ended_record_is_queued_for_the_webhook_once() {
        let mut d = state(Some("http://127.0.0.1:9/hook"));
        let ch = d.new_channel();
        let mut r = CallRecord::new(&mut d.ids, ch.clone(), "a".into(), vec!["b".into()], false, "", 0);
        r.join(&mut d.ids, "a", 0);
        d.records.push(r);
        // a goes silent: dropped one heartbeat period (30 s) later.
        d.settle(29_999);
        assert!(d.outbox.is_empty());
        d.settle(30_000);
        d.settle(120_000);
        assert_eq!(d.outbox.len(), 1);
        assert_eq!(d.webhooks.len(), 1);
        let payload: Value = serde_json::from_str(&d.outbox[0].body).unwrap_or_default();
        assert_eq!(payload["callrecord"]["channel"], ch.as_str());
        assert_eq!(payload["callrecord"]["endtime"], format_cst(30_000));
        // Without a URL nothing is queued.
        let mut d = state(None);
        let mut r = CallRecord::new(&mut d.ids, "ch_x".into(), "a".into(), vec!["b".into()], false, "", 0);
        r.join(&mut d.ids, "a", 0);
        d.records.push(r);
        d.settle(60_000);
        assert!(d.outbox.is_empty() && d.webhooks.is_empty() && d.records[0].pushed);
    }

    #[test]
    fn tokens_look_like_agora_and_are_remembered() {
        let mut d = state(None);
        let j = d.issue("a", "ch_x");
        assert!(j.token.starts_with(&format!("006{DEMO_APPID}")));
        assert_eq!(d.tokens.get(&j.token), Some(&("a".to_string(), "ch_x".to_string())));
        assert_ne!(d.issue("a", "ch_x").token, j.token);
        let ch = d.new_channel();
        assert!(ch.len() == 13 && ch.starts_with("ch_"));
    }
}
