//! The PBX / call-centre REST API ("dscom-api", seed 003), under [`PREFIX`], to the
//! contract of `docs/pbx-desk.md`.
//!
//! State is one [`PbxState`] behind the app's mutex. It moves by itself: callers arrive
//! in queue 200, ring ready agents, talk, hang up, leave CDR rows with WAV recordings or
//! voicemails (`sim.rs`). Time is the sandbox clock: every PBX request first advances the
//! state to "now" ([`PbxState::advance`], event by event at the exact sandbox time each
//! fell due), and a background ticker does the same every 250 ms and feeds the billing
//! websocket (`push.rs`). Randomness comes from a seeded generator, so a run is
//! repeatable.
//!
//! Vendor routes (under the prefix, bearer token): `oauth/token`, `call/*`, `agent/*`,
//! `status/*`, `voicemail`, `cdr`, `cdr/list`, `tts/synthesize`. At the sandbox root:
//! `GET /monitor/…`, `GET /voicemail/…` (recordings) and the billing websocket `/push/`.
//! Sandbox-only routes: `/sandbox/pbx/…` (`sandbox.rs`).

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::envelope::{PbxCode, PbxError};
use crate::{AppState, Settings};

pub mod agents;
pub mod auth;
pub mod calls;
pub mod cdr;
pub mod control;
pub mod model;
pub mod push;
pub mod sandbox;
pub mod sim;
pub mod status;
pub mod tts;
pub mod voicemail;

pub use auth::TokenStore;
pub use cdr::CdrRow;
pub use model::{Call, Member, Parked, SimSettings, Voicemail, Waiting};

/// Every PBX path hangs under this prefix (`https://HOST:PORT/dscom-api/public` + path).
pub const PREFIX: &str = "/dscom-api/public";

/// The demo OAuth client's id (the seed's example client).
pub const DEMO_CLIENT_ID: u64 = 4;
/// The demo OAuth client's secret (the seed's first example).
pub const DEMO_CLIENT_SECRET: &str = "0ruQRB2r0RtkGdRuVCoiIltF8MjESwghKP8xEwcr";
/// The demo API user's name.
pub const DEMO_USERNAME: &str = "api";
/// The demo API user's password.
pub const DEMO_PASSWORD: &str = "123456";
/// The demo extensions, in order.
pub const DEMO_EXTENSIONS: [&str; 5] = ["8001", "8002", "8003", "8004", "8005"];
/// The demo extension that is not registered ("Unavailable" unless in a call).
pub const UNREGISTERED_EXTENSION: &str = "8005";
/// The default first queue (callers arrive in the first queue of `--pbx-queues`).
pub const DEMO_QUEUE: &str = "200";
/// The default second queue (service), empty unless someone signs in.
pub const SERVICE_QUEUE: &str = "300";

/// One queue number of `--pbx-queues`: 1-32 letters, digits, `-` or `_` (the seed puts
/// no character set on queue numbers; these survive a URL query and a dial string).
pub fn parse_queue_arg(s: &str) -> Result<String, String> {
    let q = s.trim();
    if q.is_empty() || q.len() > 32 || !q.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("{s:?} is not a queue number (1-32 letters, digits, - or _)"));
    }
    Ok(q.to_string())
}
/// The console's agent id.
pub const DEMO_AGENT: &str = "1011";
/// The agents: (agent id, the extension it normally uses).
pub const DEMO_AGENTS: [(&str, &str); 4] =
    [("1011", "8001"), ("1012", "8002"), ("1013", "8003"), ("1014", "8004")];
/// The demo outbound trunk; calls to outside numbers leave through it.
pub const DEMO_TRUNK: &str = "trunkHWD";
/// The backup trunk, always unavailable.
pub const BACKUP_TRUNK: &str = "trunkBackup";
/// Where the PBX keeps recordings (`call/handsetPlay` file names start with it).
pub const SPOOL_DIR: &str = "/var/spool/asterisk";
/// Default `--pbx-seed` (the seed file's number).
pub const DEFAULT_SEED: u64 = 3;

/// A PJSIP extension on the PBX.
#[derive(Debug, Clone, Serialize)]
pub struct Extension {
    /// Extension number, e.g. "8001".
    pub number: String,
    /// Caller id shown for it (the seed's `cid`).
    pub cid: String,
    /// Registered contact, or `None` when the phone is not registered.
    pub registration: Option<Registration>,
}

/// Where an extension's phone registered from.
#[derive(Debug, Clone, Serialize)]
pub struct Registration {
    /// The phone's IP, a string as in the seed.
    pub ip: String,
    /// The phone's port, a string as in the seed.
    pub port: String,
}

/// A recording the sandbox can serve: the WAV is generated on demand from its seed.
#[derive(Debug, Clone, Serialize)]
pub struct MediaFile {
    /// Seed of the tones (the call's uniqueid).
    pub seed: String,
    /// Length in seconds.
    pub secs: f32,
}

/// The PBX's whole mutable state.
#[derive(Debug)]
pub struct PbxState {
    /// Issued access and refresh tokens.
    pub tokens: TokenStore,
    /// The extensions, sorted by number.
    pub extensions: Vec<Extension>,
    /// Queue numbers.
    pub queues: Vec<String>,
    /// Known agent ids.
    pub agents: Vec<String>,
    /// Trunk names.
    pub trunks: Vec<String>,
    /// Queue rosters: every (queue, extension) an agent was ever signed in to.
    pub members: Vec<Member>,
    /// Per-extension timers and device state.
    pub lines: Vec<model::Line>,
    /// Live calls (ringing or answered).
    pub calls: Vec<Call>,
    /// Callers waiting in queues (also while an agent is being rung for them).
    pub waiting: Vec<Waiting>,
    /// Parked calls.
    pub parked: Vec<Parked>,
    /// Callers recording a voicemail right now.
    pub leaving: Vec<model::Recording>,
    /// Voicemail messages, oldest first.
    pub voicemails: Vec<Voicemail>,
    /// Finished calls, in id order.
    pub cdr: Vec<CdrRow>,
    /// Recordings by relative path (`monitor/…`, `voicemail/…`).
    pub media: BTreeMap<String, MediaFile>,
    /// The simulation's knobs.
    pub cfg: SimSettings,
    /// How long a dialled or transferred call rings before it is answered, ms.
    pub answer_delay_ms: i64,
    /// The simulation's random generator.
    pub rng: model::SimRng,
    /// A separate generator for the fault knobs, so faults do not change the traffic.
    pub fault_rng: model::SimRng,
    /// The sandbox time the simulation has reached.
    pub sim_ms: i64,
    /// When the next automatic caller arrives.
    pub next_caller_ms: i64,
    /// When the next synthetic CDR row is written (`cdrEveryMs`).
    pub next_synth_ms: i64,
    /// Asterisk's uniqueid counter: the `n` in `hwd-<secs>.<n>`.
    pub next_call_seq: u64,
    /// Asterisk's channel counter: the hex suffix in `PJSIP/8001-0000001a`.
    pub next_channel_seq: u64,
    /// Next CDR `id`.
    pub next_cdr_id: u64,
    /// Next voicemail `id`.
    pub next_voicemail_id: u64,
    /// Open billing websockets and rows waiting to be pushed.
    pub push: push::PushHub,
    /// Whether the background ticker runs.
    pub ticker_started: bool,
}

impl PbxState {
    /// The demo PBX at sandbox time `now_ms`: extensions 8001-8005 (8005 unregistered),
    /// the queues of `--pbx-queues` (default 200 and 300), agents 1011-1014 (8002 and
    /// 8003 ready in the first queue), trunk `trunkHWD`, 40 CDR rows and 5 voicemails
    /// over the last two days.
    pub fn demo(now_ms: i64, settings: &Settings) -> Self {
        let extensions = DEMO_EXTENSIONS
            .iter()
            .enumerate()
            .map(|(i, n)| Extension {
                number: (*n).to_string(),
                cid: (*n).to_string(),
                registration: (*n != UNREGISTERED_EXTENSION).then(|| Registration {
                    ip: "127.0.0.1".to_string(),
                    port: (49_322 + 2 * i).to_string(),
                }),
            })
            .collect();
        let cfg = SimSettings { auto_callers: !settings.pbx_no_callers, ..SimSettings::default() };
        let every = i64::try_from(cfg.caller_every_ms).unwrap_or(i64::MAX);
        let mut queues: Vec<String> = Vec::new();
        for q in &settings.pbx_queues {
            if !queues.contains(q) {
                queues.push(q.clone());
            }
        }
        if queues.is_empty() {
            queues = vec![DEMO_QUEUE.to_string(), SERVICE_QUEUE.to_string()];
        }
        let mut s = Self {
            tokens: TokenStore::default(),
            extensions,
            queues,
            agents: DEMO_AGENTS.iter().map(|(a, _)| (*a).to_string()).collect(),
            trunks: vec![DEMO_TRUNK.to_string(), BACKUP_TRUNK.to_string()],
            members: Vec::new(),
            lines: Vec::new(),
            calls: Vec::new(),
            waiting: Vec::new(),
            parked: Vec::new(),
            leaving: Vec::new(),
            voicemails: Vec::new(),
            cdr: Vec::new(),
            media: BTreeMap::new(),
            cfg,
            answer_delay_ms: i64::try_from(settings.answer_delay_ms).unwrap_or(i64::MAX / 4),
            rng: model::SimRng::new(settings.pbx_seed),
            fault_rng: model::SimRng::new(settings.pbx_seed ^ 0x5eed_fa17),
            sim_ms: now_ms,
            next_caller_ms: now_ms.saturating_add(every),
            next_synth_ms: now_ms,
            next_call_seq: 1,
            next_channel_seq: 1,
            next_cdr_id: 1,
            next_voicemail_id: 1,
            push: push::PushHub::default(),
            ticker_started: false,
        };
        s.seed_demo(now_ms);
        // Named extensions (`--pbx-extension`) come after the demo data, so the
        // simulation's random draws, and hence its traffic, stay the same.
        for (i, name) in settings.pbx_extensions.iter().enumerate() {
            if s.extension(name).is_some() {
                continue;
            }
            s.extensions.push(Extension {
                number: name.clone(),
                cid: name.clone(),
                registration: Some(Registration {
                    ip: "127.0.0.1".into(),
                    port: (50_322 + 2 * i).to_string(),
                }),
            });
            s.lines.push(model::Line {
                extension: name.clone(),
                ds: "Not in use",
                ds_since_ms: now_ms,
                wrap_until: None,
                timeout_until: None,
                retry_after: None,
                idle_since_ms: now_ms,
            });
        }
        s.extensions.sort_by(|a, b| a.number.cmp(&b.number));
        s
    }

    /// The queue callers arrive in (the first of `--pbx-queues`).
    pub fn main_queue(&self) -> String {
        self.queues.first().cloned().unwrap_or_else(|| DEMO_QUEUE.to_string())
    }

    /// The extension with this number, if any.
    pub fn extension(&self, number: &str) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.number == number)
    }

    /// Whether `number` is a registered extension.
    pub fn registered(&self, number: &str) -> bool {
        self.extension(number).is_some_and(|e| e.registration.is_some())
    }

    /// The first live call `party` (an extension or outside number) takes part in.
    pub fn call_of(&self, party: &str) -> Option<&Call> {
        self.calls.iter().find(|c| c.involves(party))
    }

    /// A JSON view for `GET /sandbox/state`; advances the state to `now_ms` first.
    pub fn dump(&mut self, now_ms: i64) -> Value {
        self.advance(now_ms);
        let now_ms = now_ms.max(self.sim_ms);
        let calls: Vec<Value> = self.calls.iter().map(|c| c.dump(now_ms)).collect();
        json!({
            "settings": self.cfg,
            "extensions": self.extensions,
            "lines": self.lines,
            "queues": self.queues,
            "agents": self.agents,
            "members": self.members,
            "trunks": self.trunks,
            "calls": calls,
            "waiting": self.waiting,
            "parked": self.parked,
            "leaving": self.leaving,
            "voicemails": self.voicemails,
            "cdr": self.cdr,
            "push": self.push.dump(),
            "tokens": {
                "access": self.tokens.access_count(),
                "refresh": self.tokens.refresh_count(),
            },
        })
    }
}

/// Locks the state, advances it to the sandbox now, runs `f` at that time, then lets
/// the queue distribute and recomputes the statuses (so a change `f` made, such as an
/// agent becoming ready, takes effect at once).
pub(crate) fn with_pbx<T>(state: &AppState, f: impl FnOnce(&mut PbxState, i64) -> T) -> T {
    let mut pbx = state.pbx();
    // Never act before what the simulation already did (two requests racing the lock).
    let now = state.clock.now_ms().max(pbx.sim_ms);
    pbx.advance(now);
    let out = f(&mut pbx, now);
    pbx.settle(now);
    // Whatever `f` made due at once (a zero ringMs answer) happens now too.
    pbx.advance(now);
    out
}

/// The PBX router (relative to [`PREFIX`]). `/api/v1/*` requires a bearer token and is
/// subject to the `failShare` knob; an unknown path gets the 404 envelope without an
/// auth check, as Laravel routes first. Starts the background ticker.
pub fn router(state: AppState) -> Router<AppState> {
    push::start_ticker(&state);
    let api = Router::new()
        .route("/call/dial", post(calls::dial))
        .route("/call/hangup", post(calls::hangup))
        .route("/call/transfer", post(calls::transfer))
        .route("/call/cancelAtxfer", post(calls::cancel_atxfer))
        .route("/call/hold", post(calls::hold))
        .route("/call/unhold", post(calls::unhold))
        .route("/call/park", post(control::park))
        .route("/call/parkList", get(control::park_list))
        .route("/call/unpark", post(control::unpark))
        .route("/call/redirect", post(control::redirect))
        .route("/call/pickup", post(control::pickup))
        .route("/call/barge", post(control::barge))
        .route("/call/monitor", post(control::monitor))
        .route("/call/whisper", post(control::whisper))
        .route("/call/handsetPlay", post(control::handset_play))
        .route("/agent/login", post(agents::login))
        .route("/agent/logout", post(agents::logout))
        .route("/agent/getAgentStatus", get(agents::get_agent_status))
        .route("/agent/pause", post(agents::pause))
        .route("/status/endpoint", get(status::endpoint))
        .route("/status/queue", get(status::queue))
        .route("/status/trunk", get(status::trunk))
        .route("/status/wait", get(status::wait))
        .route("/voicemail", get(voicemail::list))
        .route("/voicemail/{id}", put(voicemail::mark))
        .route("/cdr", get(cdr::list))
        .route("/cdr/list", get(cdr::billing_list))
        .route("/tts/synthesize", post(tts::synthesize))
        .route_layer(middleware::from_fn_with_state(state.clone(), big_reply))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_bearer))
        // Added last, so it runs first: a 503 "before doing anything".
        .route_layer(middleware::from_fn_with_state(state, fail_share))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .route("/oauth/token", post(auth::token))
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// The routes at the sandbox root: recordings (`/monitor/…`, `/voicemail/…`) and the
/// billing websocket (`/push/`).
pub fn root_router() -> Router<AppState> {
    Router::new()
        .route("/monitor/{*path}", get(sandbox::monitor_file))
        .route("/voicemail/{*path}", get(sandbox::voicemail_file))
        .route("/push", get(push::connect))
        .route("/push/", get(push::connect))
}

/// Most bytes the `bigReplyBytes` knob pads a reply to.
pub const MAX_BIG_REPLY_BYTES: u64 = 64 * 1024 * 1024;

/// The `bigReplyBytes` knob: `status/trunk` and `tts/synthesize` replies padded with
/// trailing JSON whitespace to that size, declared (`Content-Length`) or, with
/// `bigReplyChunked`, streamed in 64 KiB chunks with no length.
async fn big_reply(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let (bytes, chunked) = {
        let pbx = state.pbx();
        (pbx.cfg.big_reply_bytes, pbx.cfg.big_reply_chunked)
    };
    let padded_route = path.ends_with("/status/trunk") || path.ends_with("/tts/synthesize");
    let resp = next.run(req).await;
    if bytes == 0 || !padded_route {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut padded = body.to_vec();
    padded.resize(padded.len().max(usize::try_from(bytes).unwrap_or(usize::MAX)), b' ');
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let body = if chunked {
        const CHUNK: usize = 64 * 1024;
        let chunks: Vec<Result<Bytes, std::convert::Infallible>> =
            padded.chunks(CHUNK).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        axum::body::Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        axum::body::Body::from(padded)
    };
    Response::from_parts(parts, body)
}

/// The `failShare` knob: that share of `/api/v1/*` requests gets HTTP 503 at once.
async fn fail_share(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let fail = {
        let mut pbx = state.pbx();
        let share = pbx.cfg.fail_share;
        pbx.fault_rng.chance(share)
    };
    if fail {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"message": "Service Unavailable"})))
            .into_response();
    }
    next.run(req).await
}

async fn not_found() -> PbxError {
    PbxError::new(PbxCode::NotFound, "")
}

async fn method_not_allowed() -> PbxError {
    PbxError::new(PbxCode::MethodNotAllowed, "")
}

/// Parses a request body as a JSON object; anything else is `Err(detail)`.
pub(crate) fn json_object(body: &Bytes) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("请求体必须是 JSON 对象".to_string()),
        Err(_) => Err("请求体不是合法的 JSON".to_string()),
    }
}

/// Reads the body as a JSON object or fails with `code`.
pub(crate) fn body_object(
    body: Result<Bytes, BytesRejection>,
    code: PbxCode,
) -> Result<Map<String, Value>, PbxError> {
    let bytes = body.map_err(|_| PbxError::new(code, "无法读取请求体"))?;
    json_object(&bytes).map_err(|d| PbxError::new(code, d))
}

/// A field that must be present and a non-empty string (Laravel `required|string`).
pub(crate) fn required_str<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match map.get(key) {
        None | Some(Value::Null) => Err(format!("{key} 不能为空")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(format!("{key} 不能为空")),
        Some(Value::String(s)) => Ok(s.trim()),
        Some(_) => Err(format!("{key} 必须是字符串")),
    }
}

/// [`required_str`] failing with `code`.
pub(crate) fn req<'a>(map: &'a Map<String, Value>, key: &str, code: PbxCode) -> Result<&'a str, PbxError> {
    required_str(map, key).map_err(|d| PbxError::new(code, d))
}

/// An optional string field: absent, `null` and `""` all mean "not given".
pub(crate) fn optional_str<'a>(map: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} 必须是字符串")),
    }
}

/// An optional integer field (a JSON integer or a string of digits, as Laravel's
/// `integer` rule accepts); `Err(detail)` for anything else.
pub(crate) fn optional_int(map: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| format!("{key} 必须是整数")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| format!("{key} 必须是整数")),
        Some(_) => Err(format!("{key} 必须是整数")),
    }
}

/// The query string as a map (last value wins); never fails, like PHP's `$_GET`.
pub(crate) fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    raw.map(|q| {
        form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.trim().to_string())).collect()
    })
    .unwrap_or_default()
}

/// A non-empty query value.
pub(crate) fn query_value<'a>(q: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    q.get(key).map(String::as_str).filter(|s| !s.is_empty())
}

/// `"400"` 参数验证失败 with a detail.
pub(crate) fn bad_query(detail: impl Into<String>) -> PbxError {
    PbxError::new(PbxCode::BadQuery, detail)
}

/// Largest accepted `pageSize` / `page_size`.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A required positive integer query parameter (`"400"` otherwise).
pub(crate) fn positive(q: &HashMap<String, String>, key: &str) -> Result<u64, PbxError> {
    let raw = query_value(q, key).ok_or_else(|| bad_query(format!("{key} 不能为空")))?;
    match raw.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(bad_query(format!("{key} 必须是正整数"))),
    }
}

/// `page` and `pageSize` (both required, `pageSize` ≤ 1000).
pub(crate) fn paging(q: &HashMap<String, String>) -> Result<(u64, u64), PbxError> {
    let page = positive(q, "page")?;
    let page_size = positive(q, "pageSize")?;
    if page_size > MAX_PAGE_SIZE {
        return Err(bad_query(format!("pageSize 不能大于 {MAX_PAGE_SIZE}")));
    }
    Ok((page, page_size))
}

/// The page a list route serves when asked for `page`: page 1 whatever was asked with
/// the `ignorePage` knob on (a PBX that does not page), else `page`.
pub(crate) fn served_page(pbx: &PbxState, page: u64) -> u64 {
    if pbx.cfg.ignore_page {
        1
    } else {
        page
    }
}

/// The rows of page `page` (1-based) of `page_size`.
pub(crate) fn page_of<T>(rows: Vec<T>, page: u64, page_size: u64) -> Vec<T> {
    // usize::try_from cannot fail for realistic values; saturate rather than panic.
    let skip = usize::try_from(page.saturating_sub(1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let take = usize::try_from(page_size).unwrap_or(usize::MAX);
    rows.into_iter().skip(skip).take(take).collect()
}

/// An optional `YYYY-MM-DD HH:MM:SS` query time, normalised (`"400"` if malformed).
pub(crate) fn query_time(q: &HashMap<String, String>, key: &str) -> Result<Option<String>, PbxError> {
    match query_value(q, key) {
        None => Ok(None),
        Some(s) => crate::clock::parse_cst(s)
            .map(|ms| Some(crate::clock::format_cst(ms)))
            .ok_or_else(|| bad_query(format!("{key} 必须是 YYYY-MM-DD HH:MM:SS 格式的时间"))),
    }
}

/// How the `oddRow` knob spoils one row of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Odd {
    /// The row leaves this field out.
    Drop(&'static str),
    /// The row sends this count as a word (`"n/a"`).
    Garble(&'static str),
}

/// A list page as the reply's `data`; with the `oddRow` knob on, its last row is
/// spoiled as `odd` says (see [`SimSettings::odd_row`]). Only then does the page go
/// through a JSON value (whose keys are sorted); otherwise the rows keep the vendor's
/// key order. An empty page stays `[]`.
pub(crate) fn list_json<T: Serialize>(pbx: &PbxState, rows: T, odd: Odd) -> ListData<T> {
    if !pbx.cfg.odd_row {
        return ListData::Rows(rows);
    }
    let mut v = serde_json::to_value(rows).unwrap_or(Value::Null);
    if let Some(Value::Object(row)) = v.as_array_mut().and_then(|a| a.last_mut()) {
        spoil(row, odd);
    }
    ListData::Spoiled(v)
}

/// What [`list_json`] returns: the rows as they are, or spoiled.
pub(crate) enum ListData<T> {
    /// The knob is off.
    Rows(T),
    /// The knob is on.
    Spoiled(Value),
}

impl<T: Serialize> Serialize for ListData<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ListData::Rows(r) => r.serialize(s),
            ListData::Spoiled(v) => v.serialize(s),
        }
    }
}

/// Spoils one row in place.
pub(crate) fn spoil(row: &mut Map<String, Value>, odd: Odd) {
    match odd {
        Odd::Drop(key) => {
            row.remove(key);
        }
        Odd::Garble(key) => {
            row.insert(key.to_string(), Value::String("n/a".into()));
        }
    }
}

/// `--pbx-extension NAME`: a PJSIP endpoint name as a dial string can carry it: 1-64
/// characters, no spaces, control characters or any of the dial-string characters
/// `& , | ( ) $ { } / @ ; ^ \ " ' < >` and backtick, and not all digits (those are the
/// demo's numbers).
pub fn parse_extension_name(s: &str) -> Result<String, String> {
    const DIAL_META: &str = "&,|()${}/@;^\\\"'<>`";
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 64 {
        return Err("an extension name has 1-64 characters".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control() || DIAL_META.contains(c)) {
        return Err("an extension name may not hold spaces or dial-string characters".into());
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return Err("a named extension needs a letter (numbered ones are the demo's)".into());
    }
    Ok(s.to_string())
}

/// A destination the PBX can dial: a number ([`valid_dest`]) or one of its
/// extensions by name.
pub(crate) fn dialable(pbx: &PbxState, dest: &str) -> bool {
    valid_dest(dest) || pbx.extension(dest).is_some()
}

/// A dial string: digits, `*`, `#`, optionally one leading `+`, at most 32 long.
pub(crate) fn valid_dest(s: &str) -> bool {
    let rest = s.strip_prefix('+').unwrap_or(s);
    s.len() <= calls::MAX_NUMBER_LEN
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dest_rules() {
        for ok in ["8002", "+8613800000000", "*97", "#1", "1#2*3"] {
            assert!(valid_dest(ok), "{ok}");
        }
        for bad in ["", "+", "abc", "80 02", "++1", "1+2", &"1".repeat(33)] {
            assert!(!valid_dest(bad), "{bad}");
        }
    }

    #[test]
    fn query_helpers() {
        let q = query_map(Some("page=2&pageSize=10&start=2024-08-01+08%3A00%3A00&x="));
        assert_eq!(paging(&q).ok(), Some((2, 10)));
        assert_eq!(query_time(&q, "start").ok().flatten().as_deref(), Some("2024-08-01 08:00:00"));
        assert_eq!(query_time(&q, "x").ok(), Some(None));
        assert!(query_time(&query_map(Some("t=2024-13-01 00:00:00")), "t").is_err());
        assert_eq!(page_of(vec![1, 2, 3, 4, 5], 2, 2), vec![3, 4]);
        assert_eq!(page_of(vec![1, 2, 3], u64::MAX, u64::MAX), Vec::<i32>::new());
        assert!(query_map(None).is_empty());
        assert!(paging(&query_map(Some("page=1&pageSize=1001"))).is_err());
    }
}
