//! The two-way callback API ("双向回呼", seed 002): `call`, `endCall`, `record`, the status
//! webhook, and the sandbox-only helpers around them. The wire decisions the seed leaves
//! open are in `docs/callback-sipcdr.md`; this module follows that page.
//!
//! The callback server has its own clock: the sandbox [`Clock`] plus an
//! offset (`--callback-clock-offset-secs`, `POST /sandbox/callback/settings`), so tests can
//! skew only this vendor and watch the client recover through the `Date` header. A call's
//! legs are derived lazily from timestamps on that clock (like the PBX's calls); a
//! per-call task only exists to POST the webhook once the call has ended.
//!
//! Vendor routes, each under both path forms (`/openapi/v1/…` and `/openapi/api/v1/…`):
//! - `POST /api/qmc-call/openapi/v1/call {caller, callee, outCallId?}` → `{callidentifier}`
//! - `POST /api/qmc-call/openapi/v1/endCall {callidentifier}` → `null`
//! - `POST /api/qmc-cdr/openapi/v1/record {callidentifier}` → `{fileUrl}`
//!
//! Sandbox routes: see [`sandbox_router`].

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};

use crate::clock::{format_cst, http_date};
use crate::{AppState, Clock, Settings};

pub mod auth;
pub mod calls;
pub mod sandbox;
pub mod webhook;

pub use auth::{authorization, sign};
pub use calls::{CbCall, Ended, Notification, Phase, Reason};

/// Path prefix of `call` and `endCall`.
pub const CALL_PREFIX: &str = "/api/qmc-call";
/// Path prefix of `record` (a second host in production, same port here).
pub const CDR_PREFIX: &str = "/api/qmc-cdr";
/// The demo APPID (the one inside the seed's example header).
pub const DEMO_APPID: &str = "1696054309969104898";
/// The demo APPSECRET; sandbox only, never shipped to the console.
pub const DEMO_APPSECRET: &str = "sandbox-demo-app-secret-7c4a8d09";
/// A request's timestamp may be at most this far (ms) from the callback clock.
pub const SIGNATURE_WINDOW_MS: i64 = 300_000;
/// How long a recording stays available after the call ended (3 days, ms).
pub const RECORDING_TTL_MS: i64 = 3 * 86_400_000;
/// Longest accepted `outCallId`, in characters.
pub const MAX_OUT_CALL_ID_CHARS: usize = 64;
/// `msg` of every successful reply ("operation succeeded", as in the seed's examples).
pub const MSG_OK: &str = "操作成功";

/// The callback server's mutable state.
#[derive(Debug)]
pub struct CallbackState {
    /// Offset of the callback clock from the sandbox clock, ms.
    pub offset_ms: i64,
    /// Where status notifications are POSTed; `None` keeps them in the sandbox only.
    pub webhook_url: Option<String>,
    /// Every call placed, oldest first.
    pub calls: Vec<CbCall>,
}

impl CallbackState {
    /// Fresh state with the offset and webhook from the command line.
    pub fn new(settings: &Settings) -> Self {
        Self {
            offset_ms: settings.callback_clock_offset_secs.saturating_mul(1000),
            webhook_url: settings.callback_webhook_url.clone(),
            calls: Vec::new(),
        }
    }

    /// The callback clock's "now" (epoch ms).
    pub fn now_ms(&self, clock: &Clock) -> i64 {
        clock.now_ms().saturating_add(self.offset_ms)
    }

    /// The call with this identifier.
    pub fn call_mut(&mut self, id: &str) -> Option<&mut CbCall> {
        self.calls.iter_mut().find(|c| c.callidentifier == id)
    }

    /// The settings part of the dump and of `/sandbox/callback/settings` replies.
    pub fn settings_json(&self, now_ms: i64) -> Value {
        json!({
            "clockOffsetSecs": self.offset_ms as f64 / 1000.0,
            "webhookUrl": self.webhook_url,
            "now_ms": now_ms,
            "now": format_cst(now_ms),
            "date": http_date(now_ms),
        })
    }

    /// A JSON view for `GET /sandbox/state`. Takes `&mut` because looking at a call
    /// settles whether it has ended.
    pub fn dump(&mut self, now_ms: i64) -> Value {
        let calls: Vec<Value> = self.calls.iter_mut().map(|c| c.dump(now_ms)).collect();
        let mut v = self.settings_json(now_ms);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("calls".into(), Value::Array(calls));
        }
        v
    }
}

/// The callback reply envelope, keys in the doc's order.
#[derive(Debug, Serialize)]
struct Envelope {
    code: u16,
    success: bool,
    msg: String,
    data: Value,
}

/// A successful reply: HTTP 200, `code: 200`, `success: true`.
pub fn ok(data: Value) -> Response {
    Json(Envelope { code: 200, success: true, msg: MSG_OK.to_string(), data }).into_response()
}

/// An error reply: HTTP 200 with the code in the envelope and `data: null`, as the doc's
/// code table says; only unknown routes and wrong methods are real HTTP 404/405.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CbError {
    /// The envelope `code` (400, 401, 403, 404, 405, 409, 410, 425).
    pub code: u16,
    /// Human text; for 400 it names the parameter.
    pub msg: String,
    /// The HTTP status: 200 except for routing errors.
    pub status: StatusCode,
}

impl CbError {
    /// Any envelope code with a message, sent as HTTP 200.
    pub fn new(code: u16, msg: impl Into<String>) -> Self {
        Self { code, msg: msg.into(), status: StatusCode::OK }
    }

    /// 400 `参数错误：<detail>`; `detail` starts with the parameter's name.
    pub fn param(detail: impl AsRef<str>) -> Self {
        Self::new(400, format!("参数错误：{}", detail.as_ref()))
    }

    /// A routing error: the same envelope, but also as the HTTP status.
    fn routing(status: StatusCode, msg: &str) -> Self {
        Self { code: status.as_u16(), msg: msg.to_string(), status }
    }
}

impl IntoResponse for CbError {
    fn into_response(self) -> Response {
        let body = Envelope { code: self.code, success: false, msg: self.msg, data: Value::Null };
        (self.status, Json(body)).into_response()
    }
}

/// Router for [`CALL_PREFIX`]: `call` and `endCall`, both path forms, signature checked,
/// `Date` on every reply (unknown routes included).
pub fn call_router(state: AppState) -> Router<AppState> {
    vendor_router(
        state,
        Router::new()
            .route("/openapi/v1/call", post(calls::call))
            .route("/openapi/api/v1/call", post(calls::call))
            .route("/openapi/v1/endCall", post(calls::end_call))
            .route("/openapi/api/v1/endCall", post(calls::end_call)),
    )
}

/// Router for [`CDR_PREFIX`]: `record`, both path forms, like [`call_router`].
pub fn cdr_router(state: AppState) -> Router<AppState> {
    vendor_router(
        state,
        Router::new()
            .route("/openapi/v1/record", post(calls::record))
            .route("/openapi/api/v1/record", post(calls::record)),
    )
}

fn vendor_router(state: AppState, routes: Router<AppState>) -> Router<AppState> {
    // route_layer: an unknown path is a 404 without an auth check; the Date layer wraps
    // everything, refusals included, because the client estimates its skew from them.
    routes
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_signature))
        .fallback(|| async { CbError::routing(StatusCode::NOT_FOUND, "接口不存在") })
        .method_not_allowed_fallback(|| async {
            CbError::routing(StatusCode::METHOD_NOT_ALLOWED, "请求方法不支持")
        })
        .layer(middleware::from_fn_with_state(state, date_header))
}

/// Sandbox-only routes, relative to `/sandbox` (all with the callback clock's `Date`):
/// - `GET /callback/sign?timestamp=MS` → `{"authorization": "…"}` (the embedder's signer)
/// - `GET /callback/status?callidentifier=X` → `{callidentifier, phase, notification}`
/// - `GET /callback/recordings/<callidentifier>.wav` → `audio/wav` (410 after 3 days)
/// - `GET|POST /callback/settings {clockOffsetSecs?, webhookUrl?}`
pub fn sandbox_router(state: AppState) -> Router<AppState> {
    use axum::routing::get;
    Router::new()
        .route("/callback/sign", get(sandbox::sign))
        .route("/callback/status", get(sandbox::status))
        .route("/callback/recordings/{file}", get(sandbox::recording))
        .route("/callback/settings", get(sandbox::settings_get).post(sandbox::settings_post))
        .route_layer(middleware::from_fn_with_state(state, date_header))
}

/// Sets `Date` from the callback clock (hyper adds its own only when none is set).
async fn date_header(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let now = state.callback_now_ms();
    if let Ok(v) = HeaderValue::from_str(&http_date(now)) {
        resp.headers_mut().insert(header::DATE, v);
    }
    resp
}
