//! Sandbox-only dapi routes (`/sandbox/dapi/...`): the knobs, the RTC stand-in the
//! console's loopback media adapter uses in place of Agora, the robot's audio, and views
//! of the records and webhooks. Errors are `{success: false, msg}` with a real HTTP
//! status.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde_json::Value;

use super::tasks::TaskListPaging;
use super::webhook::parse_url_arg;
use super::{
    ok, params, with_dapi, DapiError, HEARTBEAT_DEADLINE_PCT_RANGE, MAX_HEARTBEAT_REPLY_DELAY_MS,
    MAX_HEARTBEAT_SECS, MAX_MESSAGE_TTL_SECS, MSG_NO_CHANNEL, ROBOT_UID,
};
use crate::{wav, AppState};

/// Length of the robot's audio, seconds (the player loops it).
pub const ROBOT_WAV_SECS: f32 = 6.0;

fn no_channel() -> DapiError {
    DapiError::with_status(StatusCode::NOT_FOUND, MSG_NO_CHANNEL)
}

/// `GET /sandbox/dapi/settings` → `{channelHeartbeat, heartbeatDeadlinePct,
/// heartbeatReplyDelayMs, webhookUrl, messageTtlSecs, taskListPaging}`.
pub async fn settings_get(State(state): State<AppState>) -> Json<Value> {
    Json(with_dapi(&state, |d, _| d.settings_json()))
}

fn secs_in(v: &Value, max: u64) -> Option<u64> {
    v.as_u64().filter(|s| (1..=max).contains(s))
}

/// `POST /sandbox/dapi/settings {channelHeartbeat?, heartbeatDeadlinePct?,
/// heartbeatReplyDelayMs?, webhookUrl?, messageTtlSecs?, taskListPaging?}`: absent keys
/// are left alone, `webhookUrl: null` clears the URL, `taskListPaging` is `"pages"`,
/// `"whole"` or `"first"` ([`TaskListPaging`]). Answers like the GET.
pub async fn settings_post(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, DapiError> {
    let p = params::object(body)?;
    let heartbeat = match p.get("channelHeartbeat") {
        None => None,
        Some(v) => Some(secs_in(v, MAX_HEARTBEAT_SECS).ok_or_else(|| {
            DapiError::bad_request(format!("channelHeartbeat 必须是 1-{MAX_HEARTBEAT_SECS} 的整数秒"))
        })?),
    };
    let ttl = match p.get("messageTtlSecs") {
        None => None,
        Some(v) => Some(secs_in(v, MAX_MESSAGE_TTL_SECS).ok_or_else(|| {
            DapiError::bad_request(format!("messageTtlSecs 必须是 1-{MAX_MESSAGE_TTL_SECS} 的整数秒"))
        })?),
    };
    let deadline = match p.get("heartbeatDeadlinePct") {
        None => None,
        Some(v) => {
            Some(v.as_u64().filter(|n| HEARTBEAT_DEADLINE_PCT_RANGE.contains(n)).ok_or_else(|| {
                DapiError::bad_request(format!(
                    "heartbeatDeadlinePct 必须是 {}-{} 的整数（channelHeartbeat 的百分比）",
                    HEARTBEAT_DEADLINE_PCT_RANGE.start(),
                    HEARTBEAT_DEADLINE_PCT_RANGE.end()
                ))
            })?)
        }
    };
    let reply_delay = match p.get("heartbeatReplyDelayMs") {
        None => None,
        Some(v) => Some(v.as_u64().filter(|n| *n <= MAX_HEARTBEAT_REPLY_DELAY_MS).ok_or_else(|| {
            DapiError::bad_request(format!(
                "heartbeatReplyDelayMs 必须是 0-{MAX_HEARTBEAT_REPLY_DELAY_MS} 的整数毫秒"
            ))
        })?),
    };
    let paging = match p.get("taskListPaging") {
        None => None,
        Some(v) => Some(v.as_str().and_then(TaskListPaging::parse).ok_or_else(|| {
            DapiError::bad_request("taskListPaging 必须是 \"pages\"、\"whole\" 或 \"first\"")
        })?),
    };
    let odd_row = match p.get("oddRow") {
        None => None,
        Some(v) => Some(v.as_bool().ok_or_else(|| DapiError::bad_request("oddRow 必须是 true 或 false"))?),
    };
    let url = match p.get("webhookUrl") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(u)) => {
            Some(Some(parse_url_arg(u).map_err(|e| DapiError::bad_request(format!("webhookUrl: {e}")))?))
        }
        Some(_) => return Err(DapiError::bad_request("webhookUrl 必须是 http:// URL 或 null")),
    };
    Ok(Json(with_dapi(&state, |d, _| {
        if let Some(h) = heartbeat {
            d.heartbeat_secs = h;
        }
        if let Some(t) = ttl {
            d.message_ttl_secs = t;
        }
        if let Some(pct) = deadline {
            d.heartbeat_deadline_pct = pct;
        }
        if let Some(ms) = reply_delay {
            d.heartbeat_reply_delay_ms = ms;
        }
        if let Some(u) = url {
            d.webhook_url = u;
        }
        if let Some(m) = paging {
            d.task_list_paging = m;
        }
        if let Some(o) = odd_row {
            d.odd_row = o;
        }
        d.settings_json()
    })))
}

/// `POST /sandbox/dapi/rtc/join {channel, uid, token}`: the token must be one the server
/// issued for that uid and channel (else 403); the channel must not have ended (else
/// 410). Joining counts as a sign of life. → `{success, data: {members, robot, ended}}`.
pub async fn join(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    let channel = params::as_text(params::required(&p, "channel")?).unwrap_or_default();
    let uid = params::as_text(params::required(&p, "uid")?).unwrap_or_default();
    let token = params::as_text(params::required(&p, "token")?).unwrap_or_default();
    let view = with_dapi(&state, |d, now| {
        let issued = d.tokens.get(&token).is_some_and(|(u, c)| *u == uid && *c == channel);
        if !issued || uid == ROBOT_UID {
            return Err(DapiError::with_status(
                StatusCode::FORBIDDEN,
                "token 无效：不是为该用户和频道签发的",
            ));
        }
        let r = d.record_mut(&channel).ok_or_else(no_channel)?;
        if r.ended() {
            return Err(DapiError::with_status(StatusCode::GONE, MSG_NO_CHANNEL));
        }
        r.members.insert(uid.clone());
        r.touch(&uid, now);
        Ok(r.rtc_json())
    })?;
    Ok(ok(view))
}

/// `POST /sandbox/dapi/rtc/leave {channel, uid}` → `{success, data: {members, robot,
/// ended}}`; leaving twice is fine, an unknown channel is 404.
pub async fn leave(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    let channel = params::as_text(params::required(&p, "channel")?).unwrap_or_default();
    let uid = params::as_text(params::required(&p, "uid")?).unwrap_or_default();
    let view = with_dapi(&state, |d, _| {
        let r = d.record_mut(&channel).ok_or_else(no_channel)?;
        if uid != ROBOT_UID {
            r.members.remove(&uid);
        }
        Ok::<_, DapiError>(r.rtc_json())
    })?;
    Ok(ok(view))
}

/// `GET /sandbox/dapi/rtc/<channel>` → `{members, robot, ended}` (404 if unknown).
pub async fn channel(
    State(state): State<AppState>,
    Path(channel): Path<String>,
) -> Result<Json<Value>, DapiError> {
    with_dapi(&state, |d, _| d.record(&channel).map(|r| r.rtc_json())).map(Json).ok_or_else(no_channel)
}

/// `GET /sandbox/dapi/robot.wav`: what the robot plays (a few seconds of tones).
pub async fn robot_wav() -> Response {
    wav::response(wav::tones("dapi-robot", ROBOT_WAV_SECS))
}

/// `GET /sandbox/dapi/calls`: every record with its events, messages and live state.
pub async fn calls(State(state): State<AppState>) -> Json<Value> {
    Json(with_dapi(&state, |d, now| {
        d.records.iter().map(|r| d.record_view(r, now)).collect::<Vec<_>>().into()
    }))
}

/// `GET /sandbox/dapi/webhooks`: every payload sent or attempted, with its outcome
/// (`result: null` while in flight).
pub async fn webhooks(State(state): State<AppState>) -> Json<Value> {
    Json(with_dapi(&state, |d, _| d.webhooks_json()))
}
