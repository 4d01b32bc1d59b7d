//! Call control: `call/dial`, `call/hangup`, and the CDR row a finished call leaves.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{json_object, optional_str, required_str, PbxState, DEMO_TRUNK};
use crate::clock::{compact_cst, format_cst};
use crate::envelope::{self, PbxCode, PbxError};
use crate::AppState;

/// Longest accepted dial string / display number.
const MAX_NUMBER_LEN: usize = 32;

/// The dial-plan options this PBX's `Dial()` uses (seen in the seed's `lastdata`).
const DIAL_OPTIONS: &str = "45,Ttb(set-features^s^1)";

/// A live call placed with `call/dial`.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// `hwd-<epoch secs>.<n>`; also the CDR's `linkedid`.
    pub uniqueid: String,
    /// The calling extension.
    pub extension: String,
    /// What it dialled: a demo extension or an outside number.
    pub dest: String,
    /// Caller id to present, if the dial asked for one.
    pub displaycid: Option<String>,
    /// Whether `dest` is one of the PBX's extensions (else it goes out via the trunk).
    pub dest_is_extension: bool,
    /// When the call was placed (sandbox epoch ms).
    pub created_ms: i64,
    /// When it is (or was) answered; before this it is ringing.
    pub answer_at_ms: i64,
    /// The caller's channel, e.g. `PJSIP/8001-0000001a`.
    pub channel: String,
    /// The callee's channel (`PJSIP/8002-…` or `PJSIP/trunkHWD-…`).
    pub dstchannel: String,
}

impl Call {
    /// Whether `party` (extension or outside number) is either end of this call.
    pub fn involves(&self, party: &str) -> bool {
        self.extension == party || self.dest == party
    }

    /// Whether the call has been answered by `now_ms` (derived lazily from time).
    pub fn answered(&self, now_ms: i64) -> bool {
        now_ms >= self.answer_at_ms
    }

    /// `"ringing"` or `"answered"`.
    pub fn state(&self, now_ms: i64) -> &'static str {
        if self.answered(now_ms) {
            "answered"
        } else {
            "ringing"
        }
    }

    /// The call as JSON, with its derived state, for the sandbox state dump.
    pub fn dump(&self, now_ms: i64) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        if let Some(obj) = v.as_object_mut() {
            obj.insert("state".into(), self.state(now_ms).into());
            obj.insert("created".into(), format_cst(self.created_ms).into());
        }
        v
    }
}

/// One call-detail record, with the seed's field names, order and types (the
/// `GET /api/v1/cdr` example plus the table-only `caller_recording`, `callee_recording`
/// and `direction`).
#[derive(Debug, Clone, Serialize)]
pub struct CdrRow {
    pub id: u64,
    pub calldate: String,
    pub clid: String,
    pub src: String,
    pub dnid: String,
    pub dst: String,
    pub dept_exten: String,
    pub sipcallid: String,
    pub dcontext: String,
    pub channel: String,
    pub dstchannel: String,
    pub callerip: String,
    pub calledip: String,
    pub lastapp: String,
    pub lastdata: String,
    pub start: String,
    /// `null` when the call was never answered.
    pub answer: Option<String>,
    pub end: String,
    /// Seconds from start to end.
    pub duration: u64,
    /// Seconds from answer to end; 0 if unanswered.
    pub billsec: u64,
    /// `ANSWERED` or `NO ANSWER`.
    pub disposition: String,
    pub amaflags: u32,
    pub accountcode: String,
    pub peeraccount: String,
    pub uniqueid: String,
    pub linkedid: String,
    pub userfield: String,
    pub ivrdigit: String,
    pub ivrflow: String,
    pub sequence: String,
    pub billingid: String,
    pub area_code: String,
    pub city: String,
    pub succ: u32,
    pub billed: u32,
    pub bill: String,
    pub musictype: u32,
    pub service_level: i32,
    pub agentid: String,
    pub caller_recording: String,
    pub callee_recording: String,
    /// Relative to the media root; `""` when nothing was recorded.
    pub recording: String,
    /// `inter` (extension to extension) or `out` (via the trunk), as in the seed's rows.
    pub direction: String,
    pub option: String,
    pub numcalls: u64,
    pub loadavg: f64,
    /// The channel of the side that hung up.
    pub hangupsource: String,
    pub hangupcause: String,
    pub create_time: String,
    #[serde(rename = "trunkName")]
    pub trunk_name: String,
}

fn param(detail: impl Into<String>) -> PbxError {
    PbxError::new(PbxCode::CallParams, detail)
}

/// Reads the body as a JSON object or fails with 600000.
fn body_object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, PbxError> {
    let bytes = body.map_err(|_| param("无法读取请求体"))?;
    json_object(&bytes).map_err(param)
}

/// A dial string: digits, `*`, `#`, optionally one leading `+`.
fn valid_dest(s: &str) -> bool {
    let rest = s.strip_prefix('+').unwrap_or(s);
    s.len() <= MAX_NUMBER_LEN
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

/// `POST /api/v1/call/dial {extension, dest, displaycid?}` → `data.uniqueid`.
pub async fn dial(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body)?;
    let extension = required_str(&p, "extension").map_err(param)?;
    let dest = required_str(&p, "dest").map_err(param)?;
    let displaycid = optional_str(&p, "displaycid").map_err(param)?;
    if !valid_dest(dest) {
        return Err(param(format!("dest 只能包含数字、*、#（可带前导 +），最长 {MAX_NUMBER_LEN} 位")));
    }
    if let Some(cid) = displaycid {
        if cid.len() > MAX_NUMBER_LEN || !cid.chars().all(|c| c.is_ascii_digit()) {
            return Err(param(format!("displaycid 只能包含数字，最长 {MAX_NUMBER_LEN} 位")));
        }
    }

    let now = state.clock.now_ms();
    let delay = i64::try_from(state.settings.answer_delay_ms).unwrap_or(i64::MAX);
    let mut pbx = state.pbx();
    if pbx.extension(extension).is_none() {
        return Err(param(format!("分机 {extension} 不存在")));
    }
    if dest == extension {
        return Err(param("dest 不能与 extension 相同"));
    }
    if pbx.call_of(extension).is_some() {
        return Err(PbxError::new(PbxCode::CallFailed, format!("分机 {extension} 正在通话中")));
    }
    let dest_is_extension = pbx.extension(dest).is_some();
    // The sandbox keeps one call per extension so hangup-by-extension is unambiguous;
    // a busy destination extension fails the dial like a busy caller.
    if dest_is_extension && pbx.call_of(dest).is_some() {
        return Err(PbxError::new(PbxCode::CallFailed, format!("分机 {dest} 正在通话中")));
    }

    let seq = pbx.next_call_seq;
    pbx.next_call_seq += 1;
    let uniqueid = format!("hwd-{}.{seq}", now.div_euclid(1000));
    let chan = pbx.next_channel_seq;
    pbx.next_channel_seq += 2;
    let far = if dest_is_extension { dest } else { DEMO_TRUNK };
    let call = Call {
        uniqueid: uniqueid.clone(),
        extension: extension.to_string(),
        dest: dest.to_string(),
        displaycid: displaycid.map(str::to_string),
        dest_is_extension,
        created_ms: now,
        answer_at_ms: now.saturating_add(delay),
        channel: format!("PJSIP/{extension}-{chan:08x}"),
        dstchannel: format!("PJSIP/{far}-{:08x}", chan + 1),
    };
    pbx.calls.push(call);
    Ok(envelope::ok(json!({ "uniqueid": uniqueid }), 0))
}

/// `POST /api/v1/call/hangup {extension}`: `extension` may also be an outside number
/// (the `dest` of a live call). Every call it takes part in ends and leaves a CDR row.
pub async fn hangup(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body)?;
    let party = required_str(&p, "extension").map_err(param)?;
    let now = state.clock.now_ms();
    let mut pbx = state.pbx();
    let numcalls = pbx.calls.len() as u64;
    let (ended, live): (Vec<Call>, Vec<Call>) =
        std::mem::take(&mut pbx.calls).into_iter().partition(|c| c.involves(party));
    pbx.calls = live;
    if ended.is_empty() {
        return Err(PbxError::new(PbxCode::HangupFailed, format!("{party} 没有进行中的通话")));
    }
    for call in ended {
        let id = pbx.next_cdr_id;
        pbx.next_cdr_id += 1;
        let row = cdr_row(&pbx, &call, id, now, party, numcalls);
        pbx.cdr.push(row);
    }
    Ok(envelope::ok(envelope::empty(), 0))
}

/// Builds the CDR row for `call`, ended at `end_ms` by `hung_up_by`.
fn cdr_row(pbx: &PbxState, call: &Call, id: u64, end_ms: i64, hung_up_by: &str, numcalls: u64) -> CdrRow {
    let answered = call.answered(end_ms);
    // Whole seconds of the displayed timestamps, so duration = end - start as printed.
    let secs = |ms: i64| ms.div_euclid(1000);
    let span = |from: i64| u64::try_from(secs(end_ms) - secs(from)).unwrap_or(0);
    let duration = span(call.created_ms);
    let billsec = if answered { span(call.answer_at_ms) } else { 0 };

    let caller = pbx.extension(&call.extension);
    let callee = pbx.extension(&call.dest);
    let ip_of = |e: Option<&super::Extension>| {
        e.and_then(|e| e.registration.as_ref()).map(|r| r.ip.clone()).unwrap_or_default()
    };
    let lastdata = match callee.and_then(|e| e.registration.as_ref()) {
        Some(r) => format!("PJSIP/{d}/sip:{d}@{}:{};ob,{DIAL_OPTIONS}", r.ip, r.port, d = call.dest),
        None if call.dest_is_extension => format!("PJSIP/{},{DIAL_OPTIONS}", call.dest),
        None => format!("PJSIP/{}@{DEMO_TRUNK},{DIAL_OPTIONS}", call.dest),
    };
    // With a display number the seed's row shows `" <number>"` and src = that number.
    let (clid, src) = match &call.displaycid {
        Some(cid) => (format!(" <{cid}>"), cid.clone()),
        None => (format!("\"{e}\" <{e}>", e = call.extension), call.extension.clone()),
    };
    let outbound = !call.dest_is_extension;
    let recording = if answered {
        let (day, time) = compact_cst(call.created_ms);
        format!("monitor/{day}/{day}-{time}-{}-{}-{}.wav", call.extension, call.dest, call.uniqueid)
    } else {
        String::new()
    };
    let hangupsource =
        if call.extension == hung_up_by { call.channel.clone() } else { call.dstchannel.clone() };
    let end = format_cst(end_ms);
    let blank = String::new;

    CdrRow {
        id,
        calldate: format_cst(call.created_ms),
        clid,
        src,
        dnid: call.dest.clone(),
        dst: call.dest.clone(),
        dept_exten: blank(),
        sipcallid: blank(),
        dcontext: "from-internal".into(),
        channel: call.channel.clone(),
        dstchannel: call.dstchannel.clone(),
        callerip: ip_of(caller),
        calledip: ip_of(callee),
        lastapp: "Dial".into(),
        lastdata,
        start: format_cst(call.created_ms),
        answer: answered.then(|| format_cst(call.answer_at_ms)),
        end: end.clone(),
        duration,
        billsec,
        disposition: if answered { "ANSWERED" } else { "NO ANSWER" }.into(),
        amaflags: 3,
        accountcode: blank(),
        peeraccount: blank(),
        uniqueid: call.uniqueid.clone(),
        linkedid: call.uniqueid.clone(),
        userfield: blank(),
        ivrdigit: blank(),
        ivrflow: blank(),
        sequence: id.to_string(),
        billingid: if outbound { call.extension.clone() } else { blank() },
        area_code: blank(),
        city: blank(),
        succ: u32::from(answered),
        billed: 0,
        bill: "0.000".into(),
        musictype: 0,
        service_level: -1,
        agentid: blank(),
        caller_recording: "force".into(),
        callee_recording: "force".into(),
        recording,
        direction: if outbound { "out" } else { "inter" }.into(),
        option: blank(),
        numcalls,
        loadavg: 0.0,
        hangupsource,
        hangupcause: "16".into(),
        create_time: end,
        trunk_name: if outbound { DEMO_TRUNK.into() } else { blank() },
    }
}

#[cfg(test)]
mod tests {
    use super::valid_dest;

    #[test]
    fn dest_rules() {
        for ok in ["8002", "+8613800000000", "*97", "#1", "1#2*3"] {
            assert!(valid_dest(ok), "{ok}");
        }
        for bad in ["", "+", "abc", "80 02", "++1", "1+2", &"1".repeat(33)] {
            assert!(!valid_dest(bad), "{bad}");
        }
    }
}
