//! The PBX / call-centre REST API ("dscom-api", seed 003), under [`PREFIX`].
//!
//! State is one [`PbxState`] behind the app's mutex. Call progress is derived lazily from
//! timestamps (a call is ringing until `answer_at_ms`, answered after), so no background
//! task is needed and the sandbox clock can jump freely.

use axum::body::Bytes;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::envelope::{PbxCode, PbxError};
use crate::AppState;

pub mod auth;
pub mod calls;
pub mod status;

pub use auth::TokenStore;
pub use calls::{Call, CdrRow};

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
/// The demo queue.
pub const DEMO_QUEUE: &str = "200";
/// The demo agent id.
pub const DEMO_AGENT: &str = "1011";
/// The demo outbound trunk; calls to outside numbers leave through it.
pub const DEMO_TRUNK: &str = "trunkHWD";

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

/// The PBX's whole mutable state.
#[derive(Debug)]
pub struct PbxState {
    /// Issued access and refresh tokens.
    pub tokens: TokenStore,
    /// The extensions, sorted by number.
    pub extensions: Vec<Extension>,
    /// Queue numbers (for later routes).
    pub queues: Vec<String>,
    /// Agent ids (for later routes).
    pub agents: Vec<String>,
    /// Trunk names (for later routes and outbound CDRs).
    pub trunks: Vec<String>,
    /// Live calls (ringing or answered).
    pub calls: Vec<Call>,
    /// Finished calls, oldest first.
    pub cdr: Vec<CdrRow>,
    /// Asterisk's uniqueid counter: the `n` in `hwd-<secs>.<n>`.
    pub next_call_seq: u64,
    /// Asterisk's channel counter: the hex suffix in `PJSIP/8001-0000001a`.
    pub next_channel_seq: u64,
    /// Next CDR `id`.
    pub next_cdr_id: u64,
}

impl PbxState {
    /// The demo PBX: extensions 8001-8005 (8005 unregistered), queue 200, agent 1011,
    /// trunk `trunkHWD`, no calls, no CDRs.
    pub fn demo() -> Self {
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
        Self {
            tokens: TokenStore::default(),
            extensions,
            queues: vec![DEMO_QUEUE.to_string()],
            agents: vec![DEMO_AGENT.to_string()],
            trunks: vec![DEMO_TRUNK.to_string()],
            calls: Vec::new(),
            cdr: Vec::new(),
            next_call_seq: 1,
            next_channel_seq: 1,
            next_cdr_id: 1,
        }
    }

    /// The extension with this number, if any.
    pub fn extension(&self, number: &str) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.number == number)
    }

    /// The live call `party` (an extension or outside number) takes part in.
    pub fn call_of(&self, party: &str) -> Option<&Call> {
        self.calls.iter().find(|c| c.involves(party))
    }

    /// A JSON view for `GET /sandbox/state`.
    pub fn dump(&self, now_ms: i64) -> Value {
        let calls: Vec<Value> = self.calls.iter().map(|c| c.dump(now_ms)).collect();
        json!({
            "extensions": self.extensions,
            "queues": self.queues,
            "agents": self.agents,
            "trunks": self.trunks,
            "calls": calls,
            "cdr": self.cdr,
            "tokens": {
                "access": self.tokens.access_count(),
                "refresh": self.tokens.refresh_count(),
            },
        })
    }
}

/// The PBX router (relative to [`PREFIX`]). `/api/v1/*` requires a bearer token; an
/// unknown path gets the 404 envelope without an auth check, as Laravel routes first.
pub fn router(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/call/dial", post(calls::dial))
        .route("/call/hangup", post(calls::hangup))
        .route("/status/endpoint", get(status::endpoint))
        .route_layer(middleware::from_fn_with_state(state, auth::require_bearer))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .route("/oauth/token", post(auth::token))
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
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

/// A field that must be present and a non-empty string (Laravel `required|string`).
pub(crate) fn required_str<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match map.get(key) {
        None | Some(Value::Null) => Err(format!("{key} 不能为空")),
        Some(Value::String(s)) if s.is_empty() => Err(format!("{key} 不能为空")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("{key} 必须是字符串")),
    }
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
