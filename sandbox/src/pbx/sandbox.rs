//! Sandbox-only PBX routes (under `/sandbox`, no token) and the recording files.
//!
//! - `GET|POST /sandbox/pbx/settings` — the simulation knobs ([`SimSettings`]), among
//!   them `hugeNumbers` (CDR ids and durations beyond 2^53) and `ignorePage` (every
//!   paged list answers page 1), `bigReplyBytes`/`bigReplyChunked` (`status/trunk` and
//!   `tts/synthesize` replies padded to that size, with or without `Content-Length`).
//! - `GET|POST /sandbox/pbx/account {password?, lockoutAfter?, unlock?, reset?, revokeTokens?}` — the API
//!   user's password and lockout (an admin changing the password; a brute-force guard).
//! - `POST /sandbox/pbx/callers {number?, queue?}` — a caller arrives now.
//! - `POST /sandbox/pbx/ring {from, to}` — an outside number rings an extension now.
//! - `POST /sandbox/pbx/voicemail {mailbox, callerid?, secs?}` — a message is left now.
//! - `POST /sandbox/pbx/cdr/bulk {count, days?}` — historic rows for benchmarks.
//! - `GET /sandbox/pbx/cdr/keys` — every CDR row as `{id, uniqueid, calldate}`.
//! - `GET /monitor/…`, `GET /voicemail/…` (at the sandbox root) — recordings as WAV.
//!
//! Errors are HTTP 400 (malformed) or 409 (impossible now) with `{"error": "…"}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::model::{Origin, SimSettings, Talk, NEVER, RING_GIVE_UP_MS};
use super::{json_object, valid_dest, with_pbx, PbxState};
use crate::wav;
use crate::AppState;

/// Most rows one `cdr/bulk` call may add.
pub const MAX_BULK: u64 = 20_000;
/// Most callers waiting at once (all queues), whoever adds them.
pub const MAX_WAITING_TOTAL: usize = 500;

/// The routes, relative to `/sandbox`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pbx/settings", get(settings_get).post(settings_post))
        .route("/pbx/account", get(super::auth::account).post(super::auth::account))
        .route("/pbx/callers", post(callers))
        .route("/pbx/ring", post(ring))
        .route("/pbx/voicemail", post(voicemail))
        .route("/pbx/cdr/bulk", post(cdr_bulk))
        .route("/pbx/cdr/keys", get(cdr_keys))
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

fn bad(msg: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, msg)
}

/// The JSON object of a sandbox route's body (empty = `{}`).
pub(crate) fn body(bytes: &Bytes) -> Result<Map<String, Value>, String> {
    // An empty body is an empty object: every field of these routes is optional or
    // reported by name.
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    json_object(bytes)
}

async fn settings_get(State(state): State<AppState>) -> Json<SimSettings> {
    Json(with_pbx(&state, |pbx, _| pbx.cfg.clone()))
}

/// A whole number in `lo..=hi` (or 0 when `zero_ok`).
fn ms_field(v: &Value, key: &str, lo: u64, hi: u64, zero_ok: bool) -> Result<u64, String> {
    let n = v.as_u64().ok_or_else(|| format!("{key} must be a whole number"))?;
    if (zero_ok && n == 0) || (lo..=hi).contains(&n) {
        Ok(n)
    } else if zero_ok {
        Err(format!("{key} must be 0 or {lo}..={hi}"))
    } else {
        Err(format!("{key} must be {lo}..={hi}"))
    }
}

/// Applies a settings object to a copy of `cfg`; the first bad key is an error and
/// nothing changes.
fn apply_settings(cfg: &SimSettings, p: &Map<String, Value>) -> Result<SimSettings, String> {
    const DAY_MS: u64 = 86_400_000;
    let mut c = cfg.clone();
    for (key, v) in p {
        match key.as_str() {
            "callerEveryMs" => c.caller_every_ms = ms_field(v, key, 1_000, DAY_MS, false)?,
            "maxWaiting" => c.max_waiting = ms_field(v, key, 0, 100, false)?,
            "ringMs" => c.ring_ms = ms_field(v, key, 0, 60_000, false)?,
            "talkMs" => c.talk_ms = ms_field(v, key, 1_000, DAY_MS, false)?,
            "voicemailAfterMs" => c.voicemail_after_ms = ms_field(v, key, 1_000, DAY_MS, false)?,
            "autoCallers" => c.auto_callers = v.as_bool().ok_or("autoCallers must be true or false")?,
            "dropSocketsEveryMs" => c.drop_sockets_every_ms = ms_field(v, key, 100, DAY_MS, true)?,
            "failShare" => {
                c.fail_share = v
                    .as_f64()
                    .filter(|f| (0.0..=1.0).contains(f))
                    .ok_or("failShare must be a number in 0.0..=1.0")?;
            }
            "cdrEveryMs" => c.cdr_every_ms = ms_field(v, key, 100, DAY_MS, true)?,
            "oddRow" => c.odd_row = v.as_bool().ok_or("oddRow must be true or false")?,
            "hugeNumbers" => c.huge_numbers = v.as_bool().ok_or("hugeNumbers must be true or false")?,
            "ignorePage" => c.ignore_page = v.as_bool().ok_or("ignorePage must be true or false")?,
            "bigReplyBytes" => c.big_reply_bytes = ms_field(v, key, 1, super::MAX_BIG_REPLY_BYTES, true)?,
            "bigReplyChunked" => {
                c.big_reply_chunked = v.as_bool().ok_or("bigReplyChunked must be true or false")?;
            }
            other => return Err(format!("unknown setting {other}")),
        }
    }
    Ok(c)
}

/// `POST /sandbox/pbx/settings {any subset}` → the whole settings object. Turning a
/// generator on or changing its period restarts it from now.
async fn settings_post(State(state): State<AppState>, bytes: Bytes) -> Response {
    let p = match body(&bytes) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    with_pbx(&state, |pbx, now| match apply_settings(&pbx.cfg, &p) {
        Ok(c) => {
            let every = |ms: u64| now.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX));
            if c.auto_callers && (!pbx.cfg.auto_callers || c.caller_every_ms != pbx.cfg.caller_every_ms) {
                pbx.next_caller_ms = every(c.caller_every_ms);
            }
            if c.cdr_every_ms > 0 && c.cdr_every_ms != pbx.cfg.cdr_every_ms {
                pbx.next_synth_ms = every(c.cdr_every_ms);
            }
            pbx.cfg = c;
            Json(pbx.cfg.clone()).into_response()
        }
        Err(e) => bad(e),
    })
}

/// `POST /sandbox/pbx/callers {number?, queue?}` (default: the first queue) → the caller
/// as a `status/wait` row plus its `uniqueid`.
async fn callers(State(state): State<AppState>, bytes: Bytes) -> Response {
    let p = match body(&bytes) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let text = |key: &str| match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
        Some(_) => Err(format!("{key} must be a non-empty string")),
    };
    let number = match text("number") {
        Ok(n) => n,
        Err(e) => return bad(e),
    };
    let queue = match text("queue") {
        Ok(q) => q,
        Err(e) => return bad(e),
    };
    if number.as_deref().is_some_and(|n| !valid_dest(n)) {
        return bad("number must be a phone number");
    }
    with_pbx(&state, |pbx, now| {
        let queue = queue.unwrap_or_else(|| pbx.main_queue());
        if !pbx.queues.contains(&queue) {
            return bad(format!("no queue {queue}"));
        }
        if let Some(n) = &number {
            if pbx.extension(n).is_some() {
                return bad("number must be an outside number, not an extension");
            }
            if pbx.busy(n) {
                return error(StatusCode::CONFLICT, format!("{n} is already in a call or queue"));
            }
        }
        if pbx.waiting.len() >= MAX_WAITING_TOTAL {
            return error(StatusCode::CONFLICT, "too many waiting callers");
        }
        let w = pbx.add_caller(&queue, number.as_deref(), now);
        let row = pbx.wait_rows(&queue, now).into_iter().find(|r| r.linkedid == w.linkedid);
        let mut v = serde_json::to_value(row).unwrap_or(Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("uniqueid".into(), w.uniqueid.into());
        }
        Json(v).into_response()
    })
}

/// `POST /sandbox/pbx/ring {from, to}`: outside `from` rings extension `to` now, not
/// auto-answered (gives up after 45 s with NO ANSWER) → `{uniqueid, from, to}`.
async fn ring(State(state): State<AppState>, bytes: Bytes) -> Response {
    let p = match body(&bytes) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let (Some(from), Some(to)) = (
        p.get("from").and_then(Value::as_str).map(str::trim),
        p.get("to").and_then(Value::as_str).map(str::trim),
    ) else {
        return bad("from and to must be strings");
    };
    if !valid_dest(from) {
        return bad("from must be a phone number");
    }
    with_pbx(&state, |pbx, now| {
        if pbx.extension(to).is_none() {
            return bad(format!("no extension {to}"));
        }
        if pbx.extension(from).is_some() {
            return bad("from must be an outside number (use call/dial between extensions)");
        }
        if !pbx.available(to) || pbx.busy(from) {
            return error(StatusCode::CONFLICT, format!("{to} is busy or offline, or {from} is in a call"));
        }
        let a = pbx.new_party(from);
        let b = pbx.new_party(to);
        let mut call = pbx.new_call(Origin::Ring, a, b, now, NEVER, None, Talk::Manual);
        call.ring_timeout_ms = Some(now.saturating_add(RING_GIVE_UP_MS));
        call.info.dcontext = "from-trunk".into();
        call.info.billingid = String::new();
        let id = call.uniqueid.clone();
        pbx.calls.push(call);
        Json(json!({"uniqueid": id, "from": from, "to": to})).into_response()
    })
}

/// `POST /sandbox/pbx/voicemail {mailbox, callerid?, secs?}`: a message for `mailbox`
/// (an extension) from `callerid` (default an outside number), `secs` long (1-60,
/// default 4), ending now, unread → the `voicemail` row. A real PBX lists the messages
/// of every mailbox, so tests use this to put some in another extension's.
async fn voicemail(State(state): State<AppState>, bytes: Bytes) -> Response {
    let p = match body(&bytes) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let Some(mailbox) = p.get("mailbox").and_then(Value::as_str).map(str::trim).filter(|m| !m.is_empty())
    else {
        return bad("mailbox must be an extension");
    };
    let callerid = match p.get("callerid") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if valid_dest(c.trim()) => Some(c.trim().to_string()),
        Some(_) => return bad("callerid must be a phone number"),
    };
    let secs = match p.get("secs") {
        None | Some(Value::Null) => 4,
        Some(v) => match v.as_i64().filter(|s| (1..=60).contains(s)) {
            Some(s) => s,
            None => return bad("secs must be a whole number 1..=60"),
        },
    };
    with_pbx(&state, |pbx, now| {
        if pbx.extension(mailbox).is_none() {
            return bad(format!("no extension {mailbox}"));
        }
        let callerid = callerid.unwrap_or_else(|| format!("1831234{:04}", pbx.next_voicemail_id % 10_000));
        let uniqueid = pbx.new_uniqueid(now);
        pbx.store_voicemail(&callerid, mailbox, &uniqueid, now - secs * 1000, now, false);
        Json(serde_json::to_value(pbx.voicemails.last()).unwrap_or(Value::Null)).into_response()
    })
}

/// `POST /sandbox/pbx/cdr/bulk {count, days?}`: appends `count` (≤ 20 000) historic rows
/// spread over the last `days` (default 7, ≤ 365); they are not pushed.
async fn cdr_bulk(State(state): State<AppState>, bytes: Bytes) -> Response {
    let p = match body(&bytes) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let Some(count) = p.get("count").and_then(Value::as_u64).filter(|n| *n <= MAX_BULK) else {
        return bad(format!("count must be a whole number 0..={MAX_BULK}"));
    };
    let days = match p.get("days") {
        None | Some(Value::Null) => 7,
        Some(v) => match v.as_u64().filter(|d| (1..=365).contains(d)) {
            Some(d) => d,
            None => return bad("days must be a whole number 1..=365"),
        },
    };
    with_pbx(&state, |pbx, now| {
        let span = i64::try_from(days).unwrap_or(7) * 86_400_000;
        for _ in 0..count {
            bulk_row(pbx, now, span);
        }
        Json(json!({"added": count, "total": pbx.cdr.len()})).into_response()
    })
}

/// One random finished call within the last `span_ms`.
fn bulk_row(pbx: &mut PbxState, now: i64, span_ms: i64) {
    // Keep the arithmetic below far from overflow whatever the sandbox clock says.
    let now = now.min(i64::MAX / 2);
    let start = now - pbx.rng.range(60_000, span_ms.max(60_000));
    let start = start - start.rem_euclid(1000);
    let ext = ["8001", "8002", "8003", "8004"].get(pbx.rng.below(4) as usize).copied().unwrap_or("8001");
    let outside = format!("1{}", 3_000_000_000u64 + pbx.rng.below(6_000_000_000));
    let (a, b) = if pbx.rng.below(2) == 0 { (ext, outside.as_str()) } else { (outside.as_str(), ext) };
    let answered = pbx.rng.below(4) != 0;
    let ring = pbx.rng.range(1, 20) * 1000;
    let talk = pbx.rng.range(5, 900) * 1000;
    let pa = pbx.new_party(a);
    let pb = pbx.new_party(b);
    let answer_at = if answered { start + ring } else { NEVER };
    let mut call = pbx.new_call(Origin::Dial, pa, pb, start, answer_at, None, Talk::Manual);
    call.answer_handled = true;
    let end = if answered { start + ring + talk } else { start + ring };
    let hs = call.a.channel.clone();
    let spec = pbx.call_spec(&call, end, hs);
    pbx.write_cdr(spec, false);
}

/// `GET /sandbox/pbx/cdr/keys` → `[{id, uniqueid, calldate}]`, oldest `calldate` first
/// (ties by id).
async fn cdr_keys(State(state): State<AppState>) -> Json<Value> {
    Json(with_pbx(&state, |pbx, _| {
        let mut rows: Vec<(&str, u64, &str)> =
            pbx.cdr.iter().map(|r| (r.calldate.as_str(), r.id, r.uniqueid.as_str())).collect();
        rows.sort_unstable();
        rows.into_iter()
            .map(|(calldate, id, uniqueid)| json!({"id": id, "uniqueid": uniqueid, "calldate": calldate}))
            .collect::<Vec<_>>()
            .into()
    }))
}

/// `GET /monitor/<path>`: a call recording.
pub async fn monitor_file(
    State(state): State<AppState>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    media(&state, "monitor", path.ok().map(|Path(p)| p))
}

/// `GET /voicemail/<path>`: a voicemail message.
pub async fn voicemail_file(
    State(state): State<AppState>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    media(&state, "voicemail", path.ok().map(|Path(p)| p))
}

/// The WAV of `dir/path`, generated from its seed; 404 for an unknown file.
fn media(state: &AppState, dir: &str, path: Option<String>) -> Response {
    let key = format!("{dir}/{}", path.unwrap_or_default());
    // Advance first: a call that has just ended by the clock has its recording now.
    let file = with_pbx(state, |pbx, _| pbx.media.get(&key).cloned());
    match file {
        Some(f) => wav::response(wav::tones(&f.seed, f.secs)),
        None => (StatusCode::NOT_FOUND, "no such recording").into_response(),
    }
}
