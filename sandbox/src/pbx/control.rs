//! More call control: parking (`call/park`, `call/parkList`, `call/unpark`), taking a
//! queue caller (`call/redirect`), answering someone else's ring (`call/pickup`),
//! joining a call (`call/barge`, `call/monitor`, `call/whisper`) and playing a recording
//! on a desk phone (`call/handsetPlay`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::model::{
    ListenMode, Listener, Origin, Party, PartyKind, Talk, FIRST_PARKING_SPACE, PARK_TIMEOUT_MS,
};
use super::sim::{is_robot, parked_entry};
use super::{body_object, list_json, query_map, query_value, req, with_pbx, Odd, PbxState, SPOOL_DIR};
use crate::envelope::{self, PbxCode, PbxError};
use crate::AppState;

fn ok_empty() -> Response {
    envelope::ok(envelope::empty(), 0)
}

/// A `call/parkList` row: the seed's keys, every value a string.
#[allow(missing_docs)]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkRow {
    pub parkee_channel: String,
    pub parkee_channel_state: String,
    pub parkee_channel_state_desc: String,
    #[serde(rename = "parkeeCallerIDNum")]
    pub parkee_caller_id_num: String,
    #[serde(rename = "parkeeCallerIDName")]
    pub parkee_caller_id_name: String,
    pub parkee_connected_line_num: String,
    pub parkee_connected_line_name: String,
    pub parkee_language: String,
    pub parkee_account_code: String,
    pub parkee_context: String,
    pub parkee_exten: String,
    pub parkee_priority: String,
    pub parkee_uniqueid: String,
    pub parkee_linkedid: String,
    pub parker_dial_string: String,
    pub parking_lot: String,
    pub parking_space: String,
    /// Seconds left before the parked call hangs up.
    pub parking_timeout: String,
    /// Seconds parked so far.
    pub parking_duration: String,
}

/// `POST /api/v1/call/park {extension}`: the other party of `extension`'s answered call
/// goes to the next free space from 701 and `extension` is free. 600000 malformed,
/// 600016 no answered call.
pub async fn park(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::CallParams)?;
    let ext = req(&p, "extension", PbxCode::CallParams)?;
    with_pbx(&state, |pbx, now| {
        let fail = || PbxError::new(PbxCode::ParkFailed, format!("分机 {ext} 没有已接通的通话"));
        let i = pbx.active_call_index(ext, now).ok_or_else(fail)?;
        let call = pbx.calls.get(i).cloned().ok_or_else(fail)?;
        let (Some(other), Some(mine)) = (call.other(ext).cloned(), call.party(ext).cloned()) else {
            return Err(fail());
        };
        pbx.end_call(i, now, mine.channel);
        let space = (FIRST_PARKING_SPACE..).find(|s| !pbx.parked.iter().any(|p| p.space == *s)).unwrap_or(0);
        let uniqueid = pbx.new_uniqueid(now);
        let entry = parked_entry(&call, other, ext, space, uniqueid, now);
        pbx.parked.push(entry);
        Ok(ok_empty())
    })
}

/// `GET /api/v1/call/parkList?extension=`: every parked call, or those `extension`
/// parked. `total` is 0 as in the seed's example.
pub async fn park_list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, PbxError> {
    let q = query_map(raw.as_deref());
    let ext = query_value(&q, "extension");
    with_pbx(&state, |pbx, now| {
        let rows: Vec<ParkRow> = pbx
            .parked
            .iter()
            .filter(|p| ext.is_none_or(|e| p.parker == e))
            .map(|p| {
                let secs = (now - p.parked_ms).max(0) / 1000;
                ParkRow {
                    parkee_channel: p.parkee.channel.clone(),
                    parkee_channel_state: "6".into(),
                    parkee_channel_state_desc: "Up".into(),
                    parkee_caller_id_num: p.parkee.number.clone(),
                    parkee_caller_id_name: p.parkee.number.clone(),
                    parkee_connected_line_num: p.parker.clone(),
                    parkee_connected_line_name: "device".into(),
                    parkee_language: "cn".into(),
                    parkee_account_code: String::new(),
                    parkee_context: p.context.clone(),
                    parkee_exten: p.exten.clone(),
                    parkee_priority: p.priority.clone(),
                    parkee_uniqueid: p.uniqueid.clone(),
                    parkee_linkedid: p.linkedid.clone(),
                    parker_dial_string: format!("PJSIP/{}", p.parker),
                    parking_lot: "default".into(),
                    parking_space: p.space.to_string(),
                    parking_timeout: (PARK_TIMEOUT_MS / 1000 - secs).max(0).to_string(),
                    parking_duration: secs.to_string(),
                }
            })
            .collect();
        if rows.is_empty() {
            Ok(ok_empty())
        } else {
            Ok(envelope::ok(list_json(pbx, rows, Odd::Drop("parkingSpace")), 0))
        }
    })
}

/// `POST /api/v1/call/unpark {extension, dest}`: `dest` is the parked number
/// (`parkeeCallerIDNum`) or its space; it is connected to `extension` at once. 600017
/// malformed, 600018 nothing parked there (or `extension` cannot take it).
pub async fn unpark(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::UnparkParams)?;
    let ext = req(&p, "extension", PbxCode::UnparkParams)?;
    let dest = req(&p, "dest", PbxCode::UnparkParams)?;
    with_pbx(&state, |pbx, now| {
        let fail = |d: String| PbxError::new(PbxCode::UnparkFailed, d);
        let Some(i) = pbx.parked.iter().position(|p| p.parkee.number == dest || p.space.to_string() == dest)
        else {
            return Err(fail(format!("没有驻留的通话 {dest}")));
        };
        if pbx.extension(ext).is_none() || !pbx.available(ext) {
            return Err(fail(format!("分机 {ext} 不存在、不在线或忙")));
        }
        if i >= pbx.parked.len() {
            return Err(fail(format!("没有驻留的通话 {dest}")));
        }
        let parked = pbx.parked.remove(i);
        let b = pbx.new_party(ext);
        let talk = if is_robot(ext) { Talk::Auto } else { Talk::Manual };
        let mut call = pbx.new_call(
            Origin::Unpark,
            parked.parkee.clone(),
            b,
            now,
            now,
            Some(parked.linkedid.clone()),
            talk,
        );
        // The parked leg goes on: same uniqueid, started when it was parked.
        call.uniqueid = parked.uniqueid.clone();
        call.start_ms = parked.parked_ms;
        call.info.dst = parked.space.to_string();
        call.info.dnid = parked.space.to_string();
        call.info.lastapp = "ParkedCall".into();
        call.info.lastdata = format!("default,{}", parked.space);
        pbx.calls.push(call);
        let idx = pbx.calls.len() - 1;
        pbx.on_answer(idx, now);
        Ok(ok_empty())
    })
}

/// `POST /api/v1/call/redirect {extension, dest}`: `dest` is a waiting caller's number
/// or linkedid; `extension` answers it at once. 600019 malformed, 600020 no such caller
/// (or `extension` cannot take it).
pub async fn redirect(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::RedirectParams)?;
    let ext = req(&p, "extension", PbxCode::RedirectParams)?;
    let dest = req(&p, "dest", PbxCode::RedirectParams)?;
    with_pbx(&state, |pbx, now| {
        let fail = |d: String| PbxError::new(PbxCode::RedirectFailed, d);
        let Some(i) = pbx
            .waiting
            .iter()
            .position(|w| w.caller.number == dest || w.linkedid == dest || w.uniqueid == dest)
        else {
            return Err(fail(format!("没有排队中的来电 {dest}")));
        };
        let w = pbx.waiting.get(i).cloned().ok_or_else(|| fail(format!("没有排队中的来电 {dest}")))?;
        // The caller's own offer to this extension does not make it busy.
        let offered_here =
            w.offer.as_ref().is_some_and(|o| pbx.calls.iter().any(|c| &c.uniqueid == o && c.b.number == ext));
        let busy = pbx.busy(ext) && !offered_here;
        if pbx.extension(ext).is_none() || !pbx.registered(ext) || busy || ext == w.caller.number {
            return Err(fail(format!("分机 {ext} 不存在、不在线或忙")));
        }
        if let Some(o) = &w.offer {
            pbx.cancel_offer(o);
        }
        pbx.waiting.retain(|x| x.uniqueid != w.uniqueid);
        let b = pbx.new_party(ext);
        let talk = if is_robot(ext) { Talk::Auto } else { Talk::Manual };
        let mut call =
            pbx.new_call(Origin::Redirect, w.caller.clone(), b, now, now, Some(w.linkedid.clone()), talk);
        call.uniqueid = w.uniqueid.clone();
        call.start_ms = w.start_ms;
        call.queue = Some(w.queue.clone());
        call.info.dnid = String::new();
        pbx.calls.push(call);
        let idx = pbx.calls.len() - 1;
        pbx.on_answer(idx, now);
        Ok(ok_empty())
    })
}

/// `POST /api/v1/call/pickup {extension, dest}`: `dest` is a ringing extension;
/// `extension` answers its call instead (`extension` = `dest` answers one's own ring).
/// 600008 malformed, 600009 `dest` not ringing (or `extension` cannot take it).
pub async fn pickup(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::PickupParams)?;
    let ext = req(&p, "extension", PbxCode::PickupParams)?;
    let dest = req(&p, "dest", PbxCode::PickupParams)?;
    with_pbx(&state, |pbx, now| {
        let fail = |d: String| PbxError::new(PbxCode::PickupFailed, d);
        let Some(i) = pbx.calls.iter().position(|c| c.ringing_at(dest, now)) else {
            return Err(fail(format!("分机 {dest} 没有振铃")));
        };
        if ext != dest && (pbx.extension(ext).is_none() || !pbx.available(ext)) {
            return Err(fail(format!("分机 {ext} 不存在、不在线或忙")));
        }
        if ext != dest {
            let b = pbx.new_party(ext);
            let agentid = pbx.calls.get(i).and_then(|c| c.queue.clone()).and_then(|q| {
                pbx.members.iter().find(|m| m.queue == q && m.extension == ext).map(|m| m.agentid.clone())
            });
            if let Some(c) = pbx.calls.get_mut(i) {
                c.b = b;
                c.info.agentid = agentid.unwrap_or_default();
            }
        }
        if let Some(c) = pbx.calls.get_mut(i) {
            c.answer_at_ms = now;
            c.ring_timeout_ms = None;
            c.talk = if is_robot(ext) { Talk::Auto } else { Talk::Manual };
        }
        pbx.on_answer(i, now);
        Ok(ok_empty())
    })
}

/// `POST /api/v1/call/barge {extension, dest}`: 600010 / 600011.
pub async fn barge(
    state: State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    listen(state, body, ListenMode::Barge, PbxCode::BargeParams, PbxCode::BargeFailed).await
}

/// `POST /api/v1/call/monitor {extension, dest}`: 600012 / 600013.
pub async fn monitor(
    state: State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    listen(state, body, ListenMode::Monitor, PbxCode::MonitorParams, PbxCode::MonitorFailed).await
}

/// `POST /api/v1/call/whisper {extension, dest}`: 600014 / 600015.
pub async fn whisper(
    state: State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    listen(state, body, ListenMode::Whisper, PbxCode::WhisperParams, PbxCode::WhisperFailed).await
}

/// `extension` joins `dest`'s answered call as a listener of `mode`. Malformed body:
/// `params`; `dest` not in an answered call, or `extension` unknown/offline/busy:
/// `failed`.
async fn listen(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
    mode: ListenMode,
    params: PbxCode,
    failed: PbxCode,
) -> Result<Response, PbxError> {
    let p = body_object(body, params)?;
    let ext = req(&p, "extension", params)?;
    let dest = req(&p, "dest", params)?;
    if ext == dest {
        return Err(PbxError::new(params, "extension 不能与 dest 相同"));
    }
    with_pbx(&state, |pbx, now| {
        let fail = |d: String| PbxError::new(failed, d);
        let Some(i) = pbx.calls.iter().position(|c| c.involves(dest) && c.answered(now)) else {
            return Err(fail(format!("{dest} 没有已接通的通话")));
        };
        if pbx.extension(ext).is_none() || !pbx.available(ext) {
            return Err(fail(format!("分机 {ext} 不存在、不在线或忙")));
        }
        let channel = pbx.new_channel(ext);
        let uniqueid = pbx.new_uniqueid(now);
        if let Some(c) = pbx.calls.get_mut(i) {
            c.listeners.push(Listener {
                extension: ext.to_string(),
                mode,
                target: dest.to_string(),
                channel,
                uniqueid,
                since_ms: now,
            });
        }
        Ok(ok_empty())
    })
}

/// The recording in seed 003's `call/handsetPlay` example (relative to the spool).
pub const SEED_HANDSET_RECORDING: &str = "monitor/20250723/20250723-095212-8001-8006-hwd-1753235532.67.wav";

/// `POST /api/v1/call/handsetPlay {extension, filename}`: `filename` is
/// `/var/spool/asterisk/` + a recording's relative path; the extension rings, answers
/// and hears the recording (a playback leg, no CDR row). 600021 malformed (missing
/// fields, not under the spool directory), 600022 unknown file or extension
/// unknown/offline/busy.
pub async fn handset_play(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::HandsetPlayParams)?;
    let ext = req(&p, "extension", PbxCode::HandsetPlayParams)?;
    let filename = req(&p, "filename", PbxCode::HandsetPlayParams)?;
    let relative = filename
        .strip_prefix(SPOOL_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            PbxError::new(PbxCode::HandsetPlayParams, format!("filename 必须在 {SPOOL_DIR}/ 下"))
        })?;
    with_pbx(&state, |pbx, now| play(pbx, ext, relative, now).map(|()| ok_empty()))
}

fn play(pbx: &mut PbxState, ext: &str, relative: &str, now: i64) -> Result<(), PbxError> {
    let fail = |d: String| PbxError::new(PbxCode::HandsetPlayFailed, d);
    let secs =
        pbx.media.get(relative).map(|m| m.secs).ok_or_else(|| fail(format!("录音文件不存在: {relative}")))?;
    if pbx.extension(ext).is_none() || !pbx.available(ext) {
        return Err(fail(format!("分机 {ext} 不存在、不在线或忙")));
    }
    let local = Party {
        number: "s".into(),
        channel: format!("Local/s@app-playback-{:08x};1", pbx.next_channel_seq),
        kind: PartyKind::Local,
    };
    pbx.next_channel_seq += 1;
    let b = pbx.new_party(ext);
    let answer_at = now.saturating_add(pbx.answer_delay_ms);
    // In range: media lengths are a few seconds.
    let play_ms = (f64::from(secs) * 1000.0).round() as i64;
    let mut call = pbx.new_call(Origin::Playback, local, b, now, answer_at, None, Talk::Fixed(play_ms));
    call.info.write = false;
    call.info.lastapp = "Playback".into();
    call.info.lastdata = format!("{SPOOL_DIR}/{}", relative.trim_end_matches(".wav"));
    pbx.calls.push(call);
    Ok(())
}
