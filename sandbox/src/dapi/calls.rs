//! The call routes: `call/user`, `call/robot`, `call/msg`, `call/token`, `call/event`,
//! `call/heartbeat`, `invite/robot`, `quit/robot`, and `system/config`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::params::{self, opt_text};
use super::record::{CallRecord, EVENT_CODES};
use super::{ok, with_dapi, DapiError, DapiState, JoinData, DEMO_APPID};
use crate::AppState;

/// Longest `extra_msg`, characters.
pub const MAX_EXTRA_MSG_CHARS: usize = 2000;
/// Longest event `desp`, characters.
pub const MAX_DESP_CHARS: usize = 1000;

/// `POST /dapi/call/user {src_uid, dst_uid:[..], extra_msg?}` → the caller's join data;
/// one message per callee.
pub async fn call_user(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    params::required(&p, "dst_uid")?;
    let src = params::uid(&p, "src_uid")?;
    let dst = params::callees(&p, "dst_uid", &src)?;
    let extra = opt_text(&p, "extra_msg", MAX_EXTRA_MSG_CHARS)?;
    let join = with_dapi(&state, |d, now| open_call(d, &src, dst, &extra, false, now));
    Ok(ok(join.json()))
}

/// A new channel and record placed by `src` (in it at once), with the robot in it
/// for a robot call; returns `src`'s join data.
fn open_call(d: &mut DapiState, src: &str, dst: Vec<String>, extra: &str, robot: bool, now: i64) -> JoinData {
    let channel = d.new_channel();
    let mut r = CallRecord::new(&mut d.ids, channel.clone(), src.to_string(), dst, false, extra, now);
    r.join(&mut d.ids, src, now);
    if robot {
        r.robot_enter(&mut d.ids, now);
    }
    d.records.push(r);
    d.issue(src, &channel)
}

/// `POST /dapi/call/robot {src_uid}` → the caller's join data; the robot is in the
/// channel at once (no callees, no messages).
pub async fn call_robot(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    let src = params::uid(&p, "src_uid")?;
    let join = with_dapi(&state, |d, now| open_call(d, &src, Vec::new(), "", true, now));
    Ok(ok(join.json()))
}

/// `POST /dapi/call/msg {uid}` → the listed messages to and from `uid`, newest first.
pub async fn call_msg(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    let uid = params::uid(&p, "uid")?;
    let (mut listed, odd_row) = with_dapi(&state, |d, now| {
        let ttl = d.message_ttl_ms();
        (d.records.iter_mut().flat_map(|r| r.list_messages(&uid, now, ttl)).collect::<Vec<_>>(), d.odd_row)
    });
    listed.sort_by_key(|m| std::cmp::Reverse((m.0, m.1)));
    let mut rows: Vec<Value> = listed.into_iter().map(|(_, _, v)| v).collect();
    if odd_row {
        // The `oddRow` knob: the oldest message comes without its channel.
        if let Some(Value::Object(m)) = rows.last_mut() {
            m.remove("channel");
        }
    }
    Ok(ok(rows.into()))
}

/// `POST /dapi/call/token {uid, channel}` → join data for a uid called in a live channel
/// (or its caller, or a uid that already had join data for it).
pub async fn call_token(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    params::required(&p, "channel")?;
    let uid = params::uid(&p, "uid")?;
    let channel = params::channel(&p, "channel")?;
    let join = with_dapi(&state, |d, now| {
        let (r, ids) = d.live(&channel)?;
        if !r.may_join(&uid) {
            return Err(DapiError::refuse("该用户不在此通话中"));
        }
        r.join(ids, &uid, now);
        Ok(d.issue(&uid, &channel))
    })?;
    Ok(ok(join.json()))
}

/// `POST /dapi/call/event {uid, channel, code, desp?}` → `null`. A repeat of a stored
/// `(uid, channel, code)` succeeds without storing anything, even after the call ended
/// (a retried report whose reply was lost).
pub async fn call_event(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    params::required(&p, "channel")?;
    params::required(&p, "code")?;
    let uid = params::uid(&p, "uid")?;
    let channel = params::channel(&p, "channel")?;
    let code = match params::opt_int(&p, "code") {
        Ok(Some(c)) if EVENT_CODES.contains(&c) => c,
        Ok(None) => return Err(DapiError::bad_request("缺少参数 code")),
        _ => return Err(DapiError::refuse("事件编码不正确：应为 1, 2, 1000, 1001, 1002, 1003, 1006, 1007")),
    };
    let desp = opt_text(&p, "desp", MAX_DESP_CHARS)?;
    with_dapi(&state, |d, now| {
        if d.record(&channel).is_some_and(|r| r.has_reported(&uid, code)) {
            return Ok(());
        }
        let (r, ids) = d.live(&channel)?;
        r.report(ids, &uid, code, &desp, now);
        Ok(())
    })?;
    Ok(ok(Value::Null))
}

/// `POST /dapi/call/heartbeat {uid, channel}` → `null`; refused once the call is over.
/// The beat counts when it arrives; the reply waits `heartbeatReplyDelayMs` (a slow
/// network) when that knob is set.
pub async fn call_heartbeat(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    params::required(&p, "channel")?;
    let uid = params::uid(&p, "uid")?;
    let channel = params::channel(&p, "channel")?;
    let delay_ms = with_dapi(&state, |d, now| {
        let delay = d.heartbeat_reply_delay_ms;
        let (r, _) = d.live(&channel)?;
        r.touch(&uid, now);
        // Bounded: a day of 1 s beats from a few users is plenty for a sandbox.
        if r.heartbeats.len() < 100_000 {
            r.heartbeats.push((uid.clone(), now));
        }
        Ok(delay)
    })?;
    if delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
    }
    Ok(ok(Value::Null))
}

/// `POST /dapi/invite/robot {uid, channel}` → join data for `uid`; the robot joins.
pub async fn invite_robot(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    params::required(&p, "channel")?;
    let uid = params::uid(&p, "uid")?;
    let channel = params::channel(&p, "channel")?;
    let join = with_dapi(&state, |d, now| {
        let (r, ids) = d.live(&channel)?;
        r.join(ids, &uid, now);
        r.robot_enter(ids, now);
        Ok(d.issue(&uid, &channel))
    })?;
    Ok(ok(join.json()))
}

/// `POST /dapi/quit/robot {channel, uid}` → `null`; the robot leaves (event `2`).
pub async fn quit_robot(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DapiError> {
    let p = params::object(body)?;
    params::required(&p, "uid")?;
    let channel = params::channel(&p, "channel")?;
    let uid = params::uid(&p, "uid")?;
    with_dapi(&state, |d, now| {
        let (r, ids) = d.live(&channel)?;
        r.touch(&uid, now);
        r.robot_quit(ids, now);
        Ok(())
    })?;
    Ok(ok(Value::Null))
}

/// `GET /dapi/system/config` → `{channel_heartbeat, agora_appid}`.
pub async fn system_config(State(state): State<AppState>) -> Response {
    let hb = with_dapi(&state, |d, _| d.heartbeat_secs);
    ok(json!({ "channel_heartbeat": hb, "agora_appid": DEMO_APPID }))
}
