//! Sandbox-only callback routes: the embedder's signer, the status relay, recording
//! files and the knobs. Errors here are plain HTTP statuses with `{"error": …}`: these
//! routes stand in for the embedder's own server and a file host, not for the vendor.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::calls::recording_status;
use super::webhook::parse_http_url;
use super::{authorization, CbError};
use crate::wav;
use crate::AppState;

/// Largest accepted `clockOffsetSecs` magnitude (100 years), so the clock stays sane.
const MAX_OFFSET_SECS: f64 = 100.0 * 366.0 * 86_400.0;

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

fn query_param(query: Result<Query<HashMap<String, String>>, QueryRejection>, key: &str) -> Option<String> {
    let Query(q) = query.ok()?;
    q.get(key).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// `GET /sandbox/callback/sign?timestamp=MS` → `{"authorization": "…"}` for the demo
/// account: what an embedder's server would answer the library's signer URL with.
pub async fn sign(query: Result<Query<HashMap<String, String>>, QueryRejection>) -> Response {
    match query_param(query, "timestamp").and_then(|t| t.parse::<i64>().ok()) {
        Some(ts) => Json(json!({ "authorization": authorization(ts) })).into_response(),
        None => error(StatusCode::BAD_REQUEST, "timestamp (milliseconds) is required"),
    }
}

/// `GET /sandbox/callback/status?callidentifier=X` → `{callidentifier, phase,
/// notification}`; `notification` is the webhook payload once the call ended, else null.
pub async fn status(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let Some(id) = query_param(query, "callidentifier") else {
        return error(StatusCode::BAD_REQUEST, "callidentifier is required");
    };
    let mut cb = state.callback();
    let now = cb.now_ms(&state.clock);
    let Some(call) = cb.call_mut(&id) else {
        return error(StatusCode::NOT_FOUND, format!("no such call: {id}"));
    };
    let phase = call.phase(now);
    Json(json!({ "callidentifier": id, "phase": phase.as_str(), "notification": call.notification() }))
        .into_response()
}

/// `GET /sandbox/callback/recordings/<callidentifier>.wav`: the call's recording as a
/// real WAV; 404 for unknown, unfinished or unanswered calls, 410 once expired.
pub async fn recording(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".wav") else {
        return error(StatusCode::NOT_FOUND, "no such recording");
    };
    let secs = {
        let mut cb = state.callback();
        let now = cb.now_ms(&state.clock);
        let Some(call) = cb.call_mut(id) else {
            return error(StatusCode::NOT_FOUND, "no such recording");
        };
        match recording_status(call, now) {
            Ok(secs) => secs,
            Err(CbError { code: 410, msg, .. }) => return error(StatusCode::GONE, msg),
            Err(CbError { msg, .. }) => return error(StatusCode::NOT_FOUND, msg),
        }
    };
    wav::response(wav::tones(id, secs))
}

/// `GET /sandbox/callback/settings`: the callback clock and webhook URL.
pub async fn settings_get(State(state): State<AppState>) -> Json<Value> {
    let cb = state.callback();
    Json(cb.settings_json(cb.now_ms(&state.clock)))
}

/// `POST /sandbox/callback/settings {"clockOffsetSecs"?: N, "webhookUrl"?: "http://…"|null}`:
/// sets the callback clock's offset from the sandbox clock (absolute, not cumulative) and
/// the webhook URL; absent keys are left alone. Answers like the GET.
pub async fn settings_post(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(Value::Object(p)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "expected a JSON object {clockOffsetSecs?, webhookUrl?}");
    };
    let offset_ms = match p.get("clockOffsetSecs") {
        None => None,
        Some(v) => match v.as_f64() {
            // In range by the guard, so the cast cannot saturate surprisingly.
            Some(s) if s.is_finite() && s.abs() <= MAX_OFFSET_SECS => Some((s * 1000.0).round() as i64),
            _ => return error(StatusCode::BAD_REQUEST, "clockOffsetSecs must be a number of seconds"),
        },
    };
    let url = match p.get("webhookUrl") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(u)) => match parse_http_url(u) {
            Ok(_) => Some(Some(u.trim().to_string())),
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("webhookUrl: {e}")),
        },
        Some(_) => return error(StatusCode::BAD_REQUEST, "webhookUrl must be an http:// URL or null"),
    };
    let mut cb = state.callback();
    if let Some(ms) = offset_ms {
        cb.offset_ms = ms;
    }
    if let Some(u) = url {
        cb.webhook_url = u;
    }
    Json(cb.settings_json(cb.now_ms(&state.clock))).into_response()
}
