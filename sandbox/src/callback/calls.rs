//! Calls on the callback platform: the `call`, `endCall` and `record` handlers and the
//! timeline every call follows (docs/callback-sipcdr.md, "Call legs in the sandbox").
//!
//! Times are callback-clock ms. Nothing runs on a timer: a call's phase is computed from
//! its creation time, its numbers and an `endCall` if there was one; the first time
//! anything sees it ended, the outcome is frozen so later clock changes cannot revive it.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use rand::Rng;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{ok, webhook, CallbackState, CbError, MAX_OUT_CALL_ID_CHARS, RECORDING_TTL_MS};
use crate::clock::format_cst;
use crate::AppState;

/// The caller answers this long after the `call` request (`startTime`).
pub const CALLER_ANSWER_MS: i64 = 1500;
/// The callee answers this long after the `call` request (`answerTime`); recording starts.
pub const CALLEE_ANSWER_MS: i64 = 3000;
/// An answered call ends by itself this long after the answer.
pub const TALK_MS: i64 = 30_000;
/// Longest WAV served, seconds: "a few seconds" is enough to tell recordings apart.
const MAX_WAV_SECS: f32 = 8.0;

/// Why a call ended: the seed's `reason` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reason {
    /// Normal hang-up.
    HangUp,
    /// The caller's line was busy.
    CallerBusy,
    /// The caller did not answer.
    CallerNoAnswer,
    /// The caller leg failed for another reason.
    CallerFailure,
    /// The caller hung up while the callee was being called.
    CallerAbandon,
    /// The callee's line was busy.
    CalleeBusy,
    /// The callee did not answer.
    CalleeNoAnswer,
    /// The callee leg failed for another reason.
    CalleeFailure,
    /// Any other failure.
    Other,
}

impl Reason {
    /// The wire name, e.g. `"CallerBusy"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::HangUp => "HangUp",
            Reason::CallerBusy => "CallerBusy",
            Reason::CallerNoAnswer => "CallerNoAnswer",
            Reason::CallerFailure => "CallerFailure",
            Reason::CallerAbandon => "CallerAbandon",
            Reason::CalleeBusy => "CalleeBusy",
            Reason::CalleeNoAnswer => "CalleeNoAnswer",
            Reason::CalleeFailure => "CalleeFailure",
            Reason::Other => "Other",
        }
    }
}

/// A planned failure of the caller leg: numbers ending 0001-0003 (reason, ms after `call`).
pub fn caller_failure(caller: &str) -> Option<(Reason, i64)> {
    [
        ("0001", Reason::CallerBusy, 500),
        ("0002", Reason::CallerNoAnswer, 1500),
        ("0003", Reason::CallerFailure, 200),
    ]
    .into_iter()
    .find(|(suffix, ..)| caller.ends_with(suffix))
    .map(|(_, r, at)| (r, at))
}

/// A planned failure of the callee leg: numbers ending 0001-0004 and 0009.
pub fn callee_failure(callee: &str) -> Option<(Reason, i64)> {
    [
        ("0001", Reason::CalleeBusy, 2000),
        ("0002", Reason::CalleeNoAnswer, 3000),
        ("0003", Reason::CalleeFailure, 1700),
        ("0004", Reason::CallerAbandon, 2500),
        ("0009", Reason::Other, 2000),
    ]
    .into_iter()
    .find(|(suffix, ..)| callee.ends_with(suffix))
    .map(|(_, r, at)| (r, at))
}

/// Where a call is, as `GET /sandbox/callback/status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The platform is ringing the caller.
    CallerRinging,
    /// The caller answered; the callee is ringing.
    CalleeRinging,
    /// Both answered.
    Talking,
    /// Over.
    Ended,
}

impl Phase {
    /// `caller_ringing`, `callee_ringing`, `talking` or `ended`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::CallerRinging => "caller_ringing",
            Phase::CalleeRinging => "callee_ringing",
            Phase::Talking => "talking",
            Phase::Ended => "ended",
        }
    }
}

/// How a call ended (frozen once observed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// End time.
    pub at_ms: i64,
    /// The seed's reason.
    pub reason: Reason,
    /// When the caller answered, if it did.
    pub start_ms: Option<i64>,
    /// When the callee answered (recording start), if it did.
    pub answer_ms: Option<i64>,
}

/// The status notification, the seed's fields in the doc's order; absent fields omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// The call.
    pub callidentifier: String,
    /// Always `"Disconnected"`.
    pub status: &'static str,
    /// Caller answered, `yyyy-MM-dd HH:mm:ss` Beijing time.
    #[serde(rename = "startTime", skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Callee answered.
    #[serde(rename = "answerTime", skip_serializing_if = "Option::is_none")]
    pub answer_time: Option<String>,
    /// Hung up.
    #[serde(rename = "endTime")]
    pub end_time: String,
    /// The reason's wire name.
    pub reason: &'static str,
    /// Talk time in whole seconds, as a string; only for answered calls.
    #[serde(rename = "callDuration", skip_serializing_if = "Option::is_none")]
    pub call_duration: Option<String>,
    /// `"success"` for answered (recorded) calls; absent when nothing was recorded.
    #[serde(rename = "recordingResult", skip_serializing_if = "Option::is_none")]
    pub recording_result: Option<&'static str>,
    /// The `outCallId` given to `call`, echoed.
    #[serde(rename = "outCallId", skip_serializing_if = "Option::is_none")]
    pub out_call_id: Option<String>,
}

/// One call placed with `call`.
#[derive(Debug, Clone)]
pub struct CbCall {
    /// 18 decimal digits, unique.
    pub callidentifier: String,
    /// Caller number as given (spaces trimmed).
    pub caller: String,
    /// Callee number as given (spaces trimmed).
    pub callee: String,
    /// The pass-through id, if any.
    pub out_call_id: Option<String>,
    /// When `call` was received.
    pub created_ms: i64,
    /// When `endCall` was received, if it was.
    pub hangup_ms: Option<i64>,
    /// The outcome, once some request or the watcher saw the call over.
    ended: Option<Ended>,
    /// What happened to the webhook POST (`None` until the watcher ran).
    pub webhook: Option<Value>,
}

impl CbCall {
    /// A new call created at `now_ms`.
    pub fn new(
        callidentifier: String,
        caller: String,
        callee: String,
        out_call_id: Option<String>,
        now_ms: i64,
    ) -> Self {
        Self {
            callidentifier,
            caller,
            callee,
            out_call_id,
            created_ms: now_ms,
            hangup_ms: None,
            ended: None,
            webhook: None,
        }
    }

    /// When and why the call ends if nobody calls `endCall`.
    fn natural_end(&self) -> (i64, Reason) {
        let (reason, after) = caller_failure(&self.caller)
            .or_else(|| callee_failure(&self.callee))
            .unwrap_or((Reason::HangUp, CALLEE_ANSWER_MS + TALK_MS));
        (self.created_ms.saturating_add(after), reason)
    }

    /// The outcome of a call that ended at `at_ms` for `reason`.
    fn outcome(&self, at_ms: i64, reason: Reason) -> Ended {
        let caller_ok = caller_failure(&self.caller).is_none();
        let callee_ok = callee_failure(&self.callee).is_none();
        let start = self.created_ms.saturating_add(CALLER_ANSWER_MS);
        let answer = self.created_ms.saturating_add(CALLEE_ANSWER_MS);
        Ended {
            at_ms,
            reason,
            start_ms: (caller_ok && at_ms >= start).then_some(start),
            answer_ms: (caller_ok && callee_ok && at_ms >= answer).then_some(answer),
        }
    }

    /// The call's outcome if it is over at `now_ms`; freezes it the first time.
    pub fn observe(&mut self, now_ms: i64) -> Option<Ended> {
        if self.ended.is_none() {
            let (natural_at, natural_reason) = self.natural_end();
            self.ended = match self.hangup_ms {
                // endCall is only accepted before the natural end, so it wins when present.
                Some(h) => {
                    let answered = self.outcome(h, Reason::HangUp).answer_ms.is_some();
                    Some(self.outcome(h, if answered { Reason::HangUp } else { Reason::CallerAbandon }))
                }
                None if now_ms >= natural_at => Some(self.outcome(natural_at, natural_reason)),
                None => None,
            };
        }
        self.ended
    }

    /// The call's phase at `now_ms`.
    pub fn phase(&mut self, now_ms: i64) -> Phase {
        if self.observe(now_ms).is_some() {
            return Phase::Ended;
        }
        let after = now_ms.saturating_sub(self.created_ms);
        if after < CALLER_ANSWER_MS {
            Phase::CallerRinging
        } else if after < CALLEE_ANSWER_MS {
            Phase::CalleeRinging
        } else {
            Phase::Talking
        }
    }

    /// The status notification, once the call has ended (as last observed).
    pub fn notification(&self) -> Option<Notification> {
        let e = self.ended?;
        let secs = |ms: i64| ms.div_euclid(1000);
        Some(Notification {
            callidentifier: self.callidentifier.clone(),
            status: "Disconnected",
            start_time: e.start_ms.map(format_cst),
            answer_time: e.answer_ms.map(format_cst),
            end_time: format_cst(e.at_ms),
            reason: e.reason.as_str(),
            // Whole seconds of the printed times, so endTime - answerTime = callDuration.
            call_duration: e.answer_ms.map(|a| (secs(e.at_ms) - secs(a)).max(0).to_string()),
            recording_result: e.answer_ms.map(|_| "success"),
            out_call_id: self.out_call_id.clone(),
        })
    }

    /// The call as JSON for the state dump.
    pub fn dump(&mut self, now_ms: i64) -> Value {
        let phase = self.phase(now_ms);
        json!({
            "callidentifier": self.callidentifier,
            "caller": self.caller,
            "callee": self.callee,
            "outCallId": self.out_call_id,
            "created_ms": self.created_ms,
            "created": format_cst(self.created_ms),
            "hangup_ms": self.hangup_ms,
            "end_ms": self.ended.map(|e| e.at_ms),
            "phase": phase.as_str(),
            "notification": self.notification(),
            "webhook": self.webhook,
        })
    }
}

/// Reads the body as a JSON object; an empty body is an empty object (so `record` can
/// take its parameter from the URL, as the seed's "Url 参数" suggests).
fn body_object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, CbError> {
    let bytes = body.map_err(|_| CbError::param("无法读取请求体"))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CbError::param("请求体必须是 JSON 对象")),
        Err(_) => Err(CbError::param("请求体不是合法的 JSON")),
    }
}

/// A string parameter, trimmed; integers are accepted as their decimal text (Jackson
/// would bind them to a `String` field too). Absent, null and blank are `None`.
fn text(map: &Map<String, Value>, key: &str) -> Result<Option<String>, CbError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        Some(_) => Err(CbError::param(format!("{key} 必须是字符串"))),
    }
}

/// A phone number: optional leading `+`, then 5-20 digits.
pub fn valid_number(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (5..=20).contains(&digits.len()) && digits.bytes().all(|c| c.is_ascii_digit())
}

fn phone(map: &Map<String, Value>, key: &str) -> Result<String, CbError> {
    let n = text(map, key)?.ok_or_else(|| CbError::param(format!("{key} 不能为空")))?;
    if !valid_number(&n) {
        return Err(CbError::param(format!("{key} 格式不正确：可带前导 +，5-20 位数字")));
    }
    Ok(n)
}

fn callidentifier(map: &Map<String, Value>) -> Result<String, CbError> {
    text(map, "callidentifier")?.ok_or_else(|| CbError::param("callidentifier 不能为空"))
}

fn no_such_call(id: &str) -> CbError {
    CbError::new(404, format!("呼叫不存在：{id}"))
}

/// A fresh 18-digit identifier not used by any call yet.
fn new_identifier(cb: &CallbackState) -> String {
    let mut rng = rand::thread_rng();
    loop {
        let id = rng.gen_range(100_000_000_000_000_000u64..1_000_000_000_000_000_000).to_string();
        if !cb.calls.iter().any(|c| c.callidentifier == id) {
            return id;
        }
    }
}

/// `POST …/call {caller, callee, outCallId?}` → `{callidentifier}`; starts the call's
/// webhook watcher.
pub async fn call(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, CbError> {
    let p = body_object(body)?;
    let caller = phone(&p, "caller")?;
    let callee = phone(&p, "callee")?;
    let out_call_id = text(&p, "outCallId")?;
    if out_call_id.as_ref().is_some_and(|s| s.chars().count() > MAX_OUT_CALL_ID_CHARS) {
        return Err(CbError::param(format!("outCallId 最长 {MAX_OUT_CALL_ID_CHARS} 个字符")));
    }
    let id = {
        let mut cb = state.callback();
        let now = cb.now_ms(&state.clock);
        let id = new_identifier(&cb);
        cb.calls.push(CbCall::new(id.clone(), caller, callee, out_call_id, now));
        id
    };
    webhook::spawn_watcher(state, id.clone());
    Ok(ok(json!({ "callidentifier": id })))
}

/// `POST …/endCall {callidentifier}` → `null`; 409 if the call is already over.
pub async fn end_call(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, CbError> {
    let p = body_object(body)?;
    let id = callidentifier(&p)?;
    let mut cb = state.callback();
    let now = cb.now_ms(&state.clock);
    let call = cb.call_mut(&id).ok_or_else(|| no_such_call(&id))?;
    if call.observe(now).is_some() {
        return Err(CbError::new(409, "呼叫已结束"));
    }
    call.hangup_ms = Some(now);
    // Settle the outcome now, so it is fixed at the endCall time whatever the clock does.
    call.observe(now);
    Ok(ok(Value::Null))
}

/// `POST …/record {callidentifier}` (or `?callidentifier=`) → `{fileUrl}`: 425 while
/// the call lasts, 404 if it was never answered, 410 three days after it ended.
pub async fn record(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, CbError> {
    let mut p = body_object(body)?;
    if !p.contains_key("callidentifier") {
        if let Ok(Query(q)) = query {
            if let Some(v) = q.get("callidentifier") {
                p.insert("callidentifier".into(), Value::String(v.clone()));
            }
        }
    }
    let id = callidentifier(&p)?;
    let mut cb = state.callback();
    let now = cb.now_ms(&state.clock);
    let call = cb.call_mut(&id).ok_or_else(|| no_such_call(&id))?;
    recording_status(call, now)?;
    let host =
        request_host(&headers).unwrap_or_else(|| format!("{}:{}", state.settings.addr, state.settings.port));
    Ok(ok(json!({ "fileUrl": format!("http://{host}/sandbox/callback/recordings/{id}.wav") })))
}

/// Whether `call` has a downloadable recording at `now_ms`: the recording's length in
/// seconds, or the 425/404/410 error.
pub fn recording_status(call: &mut CbCall, now_ms: i64) -> Result<f32, CbError> {
    let Some(ended) = call.observe(now_ms) else {
        return Err(CbError::new(425, "通话尚未结束，录音还未生成"));
    };
    let Some(answer) = ended.answer_ms else {
        return Err(CbError::new(404, "该呼叫没有录音"));
    };
    if now_ms.saturating_sub(ended.at_ms) > RECORDING_TTL_MS {
        return Err(CbError::new(410, "录音已过期（通话结束超过 3 天）"));
    }
    let talk = ended.at_ms.saturating_sub(answer) as f32 / 1000.0;
    Ok(talk.clamp(1.0, MAX_WAV_SECS))
}

/// The request's `Host`, if it is a plain `host[:port]`.
fn request_host(headers: &HeaderMap) -> Option<String> {
    let h = headers.get(header::HOST)?.to_str().ok()?.trim();
    let plain = !h.is_empty()
        && h.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'[' | b']' | b'_'));
    plain.then(|| h.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_rules() {
        for ok in ["13987654321", "+8613987654321", "12345", &"1".repeat(20)] {
            assert!(valid_number(ok), "{ok}");
        }
        for bad in ["", "+", "1234", "139 8765 4321", "abcde", "++12345", &"1".repeat(21)] {
            assert!(!valid_number(bad), "{bad}");
        }
    }

    #[test]
    fn timeline() {
        let mut c = CbCall::new("1".into(), "13900000000".into(), "13800000000".into(), None, 10_000);
        assert_eq!(c.phase(10_000), Phase::CallerRinging);
        assert_eq!(c.phase(11_500), Phase::CalleeRinging);
        assert_eq!(c.phase(13_000), Phase::Talking);
        assert_eq!(c.phase(42_999), Phase::Talking);
        assert_eq!(c.phase(43_000), Phase::Ended);
        // Frozen: an earlier clock does not revive it.
        assert_eq!(c.phase(12_000), Phase::Ended);
        let n = c.notification().unwrap();
        assert_eq!(
            (n.reason, n.call_duration.as_deref(), n.recording_result),
            ("HangUp", Some("30"), Some("success"))
        );
    }

    #[test]
    fn failures_take_precedence_in_time_order() {
        let mut c = CbCall::new("1".into(), "13900000001".into(), "13800000001".into(), None, 0);
        let e = c.observe(600).unwrap();
        assert_eq!((e.reason, e.at_ms, e.start_ms), (Reason::CallerBusy, 500, None));
        let mut c = CbCall::new("1".into(), "13900000000".into(), "13800000004".into(), None, 0);
        assert!(c.observe(2499).is_none());
        let e = c.observe(2500).unwrap();
        assert_eq!((e.reason, e.start_ms, e.answer_ms), (Reason::CallerAbandon, Some(1500), None));
    }
}
