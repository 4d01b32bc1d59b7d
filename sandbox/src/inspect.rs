//! Sandbox-only routes under `/sandbox`, outside every vendor prefix: state dump, clock
//! control, health. Tests and scripts use them; no vendor API has them. The callback and
//! sipcdr and dapi modules add their own sandbox routes beside these
//! (`/sandbox/callback/…`, `/sandbox/sipcdr/…`, `/sandbox/dapi/…`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::clock::format_cst;
use crate::AppState;

/// Largest accepted `advance_secs` (100 years), so the clock stays in a sane range.
const MAX_ADVANCE_SECS: f64 = 100.0 * 366.0 * 86_400.0;

/// `GET /sandbox/state`, `POST /sandbox/clock`, `GET /sandbox/health`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/state", get(state_dump))
        .route("/clock", get(clock_get).post(clock_advance))
        .route("/health", get(|| async { "ok" }))
}

/// JSON dump: the clock, then one key per backend (`pbx`, `callback`, `sipcdr`, `dapi`).
async fn state_dump(State(state): State<AppState>) -> Json<Value> {
    let now = state.clock.now_ms();
    let pbx = state.pbx().dump(now);
    let callback = {
        let mut cb = state.callback();
        let cb_now = cb.now_ms(&state.clock);
        cb.dump(cb_now)
    };
    let sipcdr = state.sipcdr().dump(now);
    let dapi = crate::dapi::dump(&state);
    Json(json!({
        "clock": clock_json(&state), "pbx": pbx, "callback": callback, "sipcdr": sipcdr, "dapi": dapi,
    }))
}

fn clock_json(state: &AppState) -> Value {
    let now = state.clock.now_ms();
    json!({"now_ms": now, "now": format_cst(now), "offset_ms": state.clock.offset_ms()})
}

async fn clock_get(State(state): State<AppState>) -> Json<Value> {
    Json(clock_json(&state))
}

/// `POST /sandbox/clock {"advance_secs": N}`: N ≥ 0, fractions allowed.
async fn clock_advance(State(state): State<AppState>, body: Bytes) -> Response {
    let secs = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("advance_secs").and_then(Value::as_f64));
    match secs {
        Some(s) if s.is_finite() && (0.0..=MAX_ADVANCE_SECS).contains(&s) => {
            // In range by the guard above, so the cast cannot saturate surprisingly.
            state.clock.advance_ms((s * 1000.0).round() as i64);
            Json(clock_json(&state)).into_response()
        }
        _ => (StatusCode::BAD_REQUEST, Json(json!({"error": "expected {\"advance_secs\": N} with 0 <= N"})))
            .into_response(),
    }
}
