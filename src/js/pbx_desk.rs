//! The desk methods of `PbxClient` (seed 003 beyond dial/hang-up) and the
//! billing subscription. Mechanical: JS object → checked Rust value →
//! session call → plain JS object; errors become `AgentConsoleError`s.

use super::pbx::{page_number, PbxClient};
use super::{from_js, to_js, to_js_error};
use crate::api::de::string_lenient;
use crate::api::pbx::cdr::{recording_url, HandsetPlay};
use crate::api::pbx::{
    AgentFilter, AgentId, AgentLogin, AgentPause, BillingQuery, CdrFilter, Extension, ExtensionAction, Page,
    QueueNumber, QueueTarget, Target, TargetAction, Transfer, TrunkFilter, VoicemailFilter,
};
use crate::api::time::CstDateTime;
use crate::api::{ApiError, InvalidInput, Problem};
use crate::core::pbx::billing::{BillingEvent, DEFAULT_HISTORY};
use crate::core::Error;
use crate::i18n::Lang;
use crate::transport::billing::BillingDriver;
use crate::transport::{blob_url, wall_clock_ms};
use js_sys::Promise;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_PBX_DESK: &'static str = r#"
export interface TransferRequest {
  /** "blind" | "attended" | "app" */
  type: string;
  extension: string;
  /** A number for blind/attended; for app `aa_1001315,s,1` (IVR) or `ext-queues,200,1` (queue). */
  dest: string;
}
export interface ExtensionRequest { extension: string; }
export interface TargetRequest { extension: string; dest: string; }
export interface ParkedCall {
  parkeeChannel: string; parkeeChannelState: string; parkeeChannelStateDesc: string;
  parkeeCallerIDNum: string; parkeeCallerIDName: string; parkeeConnectedLineNum: string;
  parkeeConnectedLineName: string; parkeeLanguage: string; parkeeAccountCode: string;
  parkeeContext: string; parkeeExten: string; parkeePriority: string;
  parkeeUniqueid: string; parkeeLinkedid: string; parkerDialString: string;
  parkingLot: string; parkingSpace: string; parkingTimeout: string;
  /** Seconds parked so far. */
  parkingDuration: WireInt;
}
export interface AgentLoginRequest { agentid: string; extension: string; queue: string; penalty?: number; paused?: number; }
export interface AgentLogoutRequest { extension: string; /** a queue number or "all" */ queue: string; }
export interface AgentStatusRequest { agentid?: string; extension?: string; queue?: string; }
/** 0 ready, 4 private break, 5 work break, 11/12/13 custom. */
export interface AgentPauseRequest { extension: string; paused: number; queue: string; reason?: string; }
export interface AgentStatusRow {
  agentid: string; interfaceType: string; extension: string; queue: string; penalty: WireInt;
  current: string; linkedid: string; dsStatus: string; dsStatusDuration: WireInt; direction: string;
  /** -1 logged out, 0 ready, 1 talking, 2 ringing, 3 wrap-up, 4/5 breaks, 6-10, 11-13 custom; a word when unknown. */
  status: number | string;
  statusDesc: string;
  /** Seconds. */
  statusDuration: WireInt;
  callsCurrent: WireInt; callsTotal: WireInt;
  /** Undocumented; as sent (the seed's examples equal callsTotal). */
  login: string;
  /** `status/queue` only: the extension state with its duration, `空闲(00:10:36)`. */
  dsStatusDesc: string;
  /** `status/queue` only (`null` in the seed: then ""). */
  sampleTime: string;
}
export interface QueueRequest { queue: string; }
export interface TrunkStatusRequest { page: number; pageSize: number; trunkName?: string; }
export interface TrunkStatusRow { endpoint: string; state: string; channels: string; serverIp: string; serverPort: string; }
export interface WaitingCallersRequest { page: number; pageSize: number; queue: string; }
export interface WaitingCaller {
  serialNo: WireInt; callerid: string; channel: string; linkedid: string; queue: string;
  /** Seconds waited (the wire's `m:ss`). */
  waitSecs: WireInt;
  prio: WireInt; ivr: string; ac: string;
}
export interface VoicemailRequest { page: number; pageSize: number; start: string; end: string; isRead?: boolean; }
export interface Voicemail {
  id: WireInt; calldate: string; callerid: string; dst: string; is_read: boolean;
  duration: WireInt; hangup_time: string; recording: string; uniqueid: string;
}
export interface CdrRequest {
  page: number; pageSize: number; start?: string; end?: string; src?: string; dst?: string;
  /** "ANSWERED" | "NO ANSWER" | "FAILED" | "BUSY" */
  disposition?: string;
  /** "in" | "out" */
  direction?: string;
}
export interface BillingCdrRequest {
  page: number; pageSize: number; startTime: string; endTime: string;
  /** "id" | "calldate" | "start" | "answer" | "end" */
  sortBy?: string;
  /** "asc" | "desc" */
  order?: string;
}
/**
 * A call-detail record with every column of the seed's `GET cdr` (its names); rows of
 * `cdr/list` and the push carry 23 of them, the rest are then "" or 0.
 */
export interface Cdr {
  id: WireInt | null; calldate: string; clid: string; src: string; dnid: string; dst: string;
  dept_exten: string; sipcallid: string; dcontext: string; channel: string; dstchannel: string;
  callerip: string; calledip: string; lastapp: string; lastdata: string;
  start: string; answer: string; end: string;
  /** Seconds. */
  duration: WireInt;
  /** Seconds billed. */
  billsec: WireInt;
  disposition: string; amaflags: WireInt; accountcode: string; peeraccount: string;
  uniqueid: string; linkedid: string; userfield: string; ivrdigit: string; ivrflow: string;
  sequence: string; billingid: string; area_code: string; city: string;
  succ: WireInt;
  /** 1 once billed. */
  billed: WireInt;
  /** The charge as sent, e.g. "0.000". */
  bill: string;
  /** The seed's 转接类型 (blind, attended, app), as sent. */
  musictype: string;
  service_level: WireInt; agentid: string;
  /** "force" | "dontcare" | "never" | "onetouch" */
  caller_recording: string;
  callee_recording: string;
  recording: string; direction: string; option: string;
  /** Calls up on the PBX when the row was written. */
  numcalls: WireInt;
  loadavg: number;
  hangupsource: string;
  /** The Q.850 cause, e.g. "16". */
  hangupcause: string;
  create_time: string; trunkName: string;
}
export interface Page<T> {
  rows: T[]; total: WireInt;
  /** Rows of this page that did not decode and were left out. */
  skipped: SkippedRows;
}
/** A list as an array that also carries the rows left out. */
export type Listed<T> = T[] & { skipped: SkippedRows };
export interface HandsetPlayRequest {
  extension: string;
  /** As in a CDR or voicemail row: relative (mapped into `spoolDir`), or absolute under `spoolDir`. */
  recording?: string;
  /** The seed's field: the absolute path on the PBX (`/var/spool/asterisk/monitor/…wav`). Give it or `recording`. */
  filename?: string;
}
export interface Speech {
  /**
   * A blob: URL of the audio. The audio stays in memory until `revoke()` (or
   * `URL.revokeObjectURL(url)`) or the page closes: revoke each clip once it has played.
   */
  url: string; format: string; vendor: string; bytes: number;
  /** Frees the audio: `url` stops working. Safe to call twice. */
  revoke(): void;
}
export interface BillingOptions {
  /** Keep rows from this time on: "YYYY-MM-DD HH:MM:SS" (Beijing) or epoch ms; default: one hour ago. */
  since?: string | number;
  /** "connecting" | "filling" | "open" | "closed" | "stopped" */
  onState?: (state: string) => void;
  /**
   * A failed fetch or frame (the feed retries by itself), or a batch of rows that could not
   * be converted for JS (code "decode"; the rows stay in `records`).
   */
  onError?: (error: AgentConsoleError) => void;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `TransferRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "TransferRequest")]
    pub type TransferArg;
    /// `ExtensionRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "ExtensionRequest")]
    pub type ExtensionArg;
    /// `TargetRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "TargetRequest")]
    pub type TargetArg;
    /// `AgentLoginRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "AgentLoginRequest")]
    pub type AgentLoginArg;
    /// `AgentLogoutRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "AgentLogoutRequest")]
    pub type AgentLogoutArg;
    /// `AgentStatusRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "AgentStatusRequest")]
    pub type AgentStatusArg;
    /// `AgentPauseRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "AgentPauseRequest")]
    pub type AgentPauseArg;
    /// `QueueRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "QueueRequest")]
    pub type QueueArg;
    /// `TrunkStatusRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "TrunkStatusRequest")]
    pub type TrunkArg;
    /// `WaitingCallersRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "WaitingCallersRequest")]
    pub type WaitArg;
    /// `VoicemailRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "VoicemailRequest")]
    pub type VoicemailArg;
    /// `CdrRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "CdrRequest")]
    pub type CdrArg;
    /// `BillingCdrRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "BillingCdrRequest")]
    pub type BillingCdrArg;
    /// `HandsetPlayRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "HandsetPlayRequest")]
    pub type HandsetArg;
    /// `BillingOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "BillingOptions")]
    pub type BillingOptionsArg;
    /// `(records: Cdr[]) => void` in TypeScript.
    #[wasm_bindgen(typescript_type = "(records: Cdr[]) => void")]
    pub type OnRecordsArg;
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Fields {
    #[serde(rename = "type", deserialize_with = "string_lenient")]
    kind: String,
    #[serde(deserialize_with = "string_lenient")]
    extension: String,
    #[serde(deserialize_with = "string_lenient")]
    dest: String,
    #[serde(deserialize_with = "string_lenient")]
    agentid: String,
    #[serde(deserialize_with = "string_lenient")]
    queue: String,
    penalty: Option<f64>,
    paused: Option<f64>,
    #[serde(deserialize_with = "string_lenient")]
    reason: String,
    page: Option<f64>,
    #[serde(rename = "pageSize")]
    page_size: Option<f64>,
    #[serde(rename = "trunkName", deserialize_with = "string_lenient")]
    trunk_name: String,
    #[serde(deserialize_with = "string_lenient")]
    start: String,
    #[serde(deserialize_with = "string_lenient")]
    end: String,
    #[serde(rename = "isRead")]
    is_read: Option<bool>,
    #[serde(deserialize_with = "string_lenient")]
    src: String,
    #[serde(deserialize_with = "string_lenient")]
    dst: String,
    #[serde(deserialize_with = "string_lenient")]
    disposition: String,
    #[serde(deserialize_with = "string_lenient")]
    direction: String,
    #[serde(rename = "startTime", deserialize_with = "string_lenient")]
    start_time: String,
    #[serde(rename = "endTime", deserialize_with = "string_lenient")]
    end_time: String,
    #[serde(rename = "sortBy", deserialize_with = "string_lenient")]
    sort_by: String,
    #[serde(deserialize_with = "string_lenient")]
    order: String,
    #[serde(deserialize_with = "string_lenient")]
    recording: String,
    #[serde(deserialize_with = "string_lenient")]
    filename: String,
}

/// `playOnHandset`'s request: a row's `recording` or the seed's `filename`
/// (both, if given, must name the same file).
fn handset_play(f: &Fields, spool: &str) -> Result<HandsetPlay, InvalidInput> {
    let by_filename = || {
        HandsetPlay::parse(&f.extension, &f.filename, spool).map_err(|mut e| {
            if e.field == "recording" {
                e.field = "filename";
            }
            e
        })
    };
    if f.recording.trim().is_empty() && !f.filename.trim().is_empty() {
        return by_filename();
    }
    let h = HandsetPlay::parse(&f.extension, &f.recording, spool)?;
    if !f.filename.trim().is_empty() && by_filename()? != h {
        return Err(InvalidInput::new("filename", Problem::Malformed, &f.filename));
    }
    Ok(h)
}

/// An argument object, or `{}` for an omitted optional one.
fn fields(arg: &'static str, v: JsValue) -> Result<Fields, Error> {
    if v.is_undefined() || v.is_null() {
        return Ok(Fields::default());
    }
    from_js(arg, v)
}

/// A whole number in `min..=max` from JS.
fn whole(field: &'static str, v: f64, min: i64, max: i64) -> Result<i64, InvalidInput> {
    if v.fract() == 0.0 && v >= min as f64 && v <= max as f64 {
        Ok(v as i64)
    } else {
        // Negative minimums show as 0 in the message's range; only pause codes use them, and those say "one of".
        Err(InvalidInput::new(
            field,
            Problem::OutOfRange { min: min.max(0) as u64, max: max as u64 },
            &v.to_string(),
        ))
    }
}

fn page(f: &Fields) -> Result<Page, InvalidInput> {
    let p = page_number("page", f.page.unwrap_or(0.0))?;
    let size = page_number("pageSize", f.page_size.unwrap_or(0.0))?;
    Page::new(p, size)
}

fn opt<T>(v: &str, parse: impl FnOnce(&str) -> Result<T, InvalidInput>) -> Result<Option<T>, InvalidInput> {
    if v.trim().is_empty() {
        Ok(None)
    } else {
        parse(v).map(Some)
    }
}

#[derive(Serialize)]
struct PageOut<T> {
    rows: Vec<T>,
    total: u64,
    skipped: crate::api::de::Skipped,
}

impl<T> From<crate::api::pbx::Reply<Vec<T>>> for PageOut<T> {
    fn from(r: crate::api::pbx::Reply<Vec<T>>) -> Self {
        Self { rows: r.data, total: r.total, skipped: r.skipped }
    }
}

#[derive(Serialize)]
struct SpeechOut {
    url: String,
    format: String,
    vendor: String,
    bytes: usize,
}

#[wasm_bindgen]
impl PbxClient {
    /// `call/transfer`: blind, attended (then hang up to complete, or
    /// `cancelAttendedTransfer`), or into an app (IVR, queue).
    ///
    /// ```ts
    /// await pbx.transfer({ type: 'blind', extension: '8001', dest: '8002' });
    /// await pbx.transfer({ type: 'app', extension: '8001', dest: 'ext-queues,200,1' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn transfer(&self, req: TransferArg) -> Promise {
        match fields("transfer", req.into())
            .and_then(|f| Ok(Transfer::parse(&f.kind, &f.extension, &f.dest)?))
        {
            Ok(t) => self.run_void(|s| async move { s.transfer(&t).await }),
            Err(e) => self.reject(e),
        }
    }

    fn extension_call(&self, arg: &'static str, action: ExtensionAction, req: JsValue) -> Promise {
        match fields(arg, req).and_then(|f| Ok(Extension::parse("extension", &f.extension)?)) {
            Ok(ext) => self.run_void(move |s| async move { s.extension_action(action, &ext).await }),
            Err(e) => self.reject(e),
        }
    }

    fn target_call(&self, action: TargetAction, req: JsValue) -> Promise {
        match fields(action.name(), req).and_then(|f| Ok(Target::parse(&f.extension, &f.dest)?)) {
            Ok(t) => self.run_void(move |s| async move { s.target_action(action, &t).await }),
            Err(e) => self.reject(e),
        }
    }

    /// `call/cancelAtxfer`: ends the consultation of an attended transfer.
    ///
    /// ```ts
    /// await pbx.cancelAttendedTransfer({ extension: '8001' });
    /// ```
    #[wasm_bindgen(js_name = cancelAttendedTransfer, unchecked_return_type = "Promise<void>")]
    pub fn cancel_attended_transfer(&self, req: ExtensionArg) -> Promise {
        self.extension_call("cancelAttendedTransfer", ExtensionAction::CancelAttendedTransfer, req.into())
    }

    /// `call/hold`.
    ///
    /// ```ts
    /// await pbx.hold({ extension: '8001' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn hold(&self, req: ExtensionArg) -> Promise {
        self.extension_call("hold", ExtensionAction::Hold, req.into())
    }

    /// `call/unhold`.
    ///
    /// ```ts
    /// await pbx.unhold({ extension: '8001' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn unhold(&self, req: ExtensionArg) -> Promise {
        self.extension_call("unhold", ExtensionAction::Unhold, req.into())
    }

    /// `call/park`: the other party waits in a parking space.
    ///
    /// ```ts
    /// await pbx.park({ extension: '8001' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn park(&self, req: ExtensionArg) -> Promise {
        self.extension_call("park", ExtensionAction::Park, req.into())
    }

    /// `call/parkList`: every parked call, or those one extension parked.
    ///
    /// ```ts
    /// const parked = await pbx.parkedCalls();
    /// ```
    /// The array also carries `skipped` (`{count, reasons}`): rows that did
    /// not decode and were left out.
    #[wasm_bindgen(js_name = parkedCalls, unchecked_return_type = "Promise<Listed<ParkedCall>>")]
    pub fn parked_calls(&self, req: Option<ExtensionArg>) -> Promise {
        let ext = fields("parkedCalls", req.map_or(JsValue::UNDEFINED, Into::into))
            .and_then(|f| Ok(opt(&f.extension, |v| Extension::parse("extension", v))?));
        match ext {
            Ok(ext) => self.run_listed(move |s| async move { s.parked_calls(ext.as_ref()).await }),
            Err(e) => self.reject(e),
        }
    }

    /// `call/unpark`: `extension` takes back the parked caller `dest` (its
    /// number or parking space).
    ///
    /// ```ts
    /// await pbx.unpark({ extension: '8001', dest: '701' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn unpark(&self, req: TargetArg) -> Promise {
        self.target_call(TargetAction::Unpark, req.into())
    }

    /// `call/redirect`: `extension` answers the queued caller `dest`.
    ///
    /// ```ts
    /// await pbx.redirect({ extension: '8001', dest: '18312345678' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn redirect(&self, req: TargetArg) -> Promise {
        self.target_call(TargetAction::Redirect, req.into())
    }

    /// `call/pickup`: `extension` answers the call ringing at `dest`.
    ///
    /// ```ts
    /// await pbx.pickup({ extension: '8002', dest: '8003' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn pickup(&self, req: TargetArg) -> Promise {
        self.target_call(TargetAction::Pickup, req.into())
    }

    /// `call/barge`: join `dest`'s call; both sides hear.
    ///
    /// ```ts
    /// await pbx.barge({ extension: '8003', dest: '8001' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn barge(&self, req: TargetArg) -> Promise {
        self.target_call(TargetAction::Barge, req.into())
    }

    /// `call/monitor`: listen to `dest`'s call.
    ///
    /// ```ts
    /// await pbx.monitor({ extension: '8003', dest: '8001' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn monitor(&self, req: TargetArg) -> Promise {
        self.target_call(TargetAction::Monitor, req.into())
    }

    /// `call/whisper`: talk to `dest` only; the other side does not hear.
    ///
    /// ```ts
    /// await pbx.whisper({ extension: '8003', dest: '8001' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn whisper(&self, req: TargetArg) -> Promise {
        self.target_call(TargetAction::Whisper, req.into())
    }

    /// `agent/login`: sign in to a queue (penalty 0-99, default 0; paused
    /// 0/4/5/11/12/13, default 0 ready).
    ///
    /// ```ts
    /// await pbx.agentLogin({ agentid: '1011', extension: '8001', queue: '200' });
    /// ```
    #[wasm_bindgen(js_name = agentLogin, unchecked_return_type = "Promise<void>")]
    pub fn agent_login(&self, req: AgentLoginArg) -> Promise {
        let l = fields("agentLogin", req.into()).and_then(|f| {
            let penalty = whole("penalty", f.penalty.unwrap_or(0.0), 0, 99)?;
            let paused = whole("paused", f.paused.unwrap_or(0.0), 0, 99)?;
            Ok(AgentLogin::parse(&f.agentid, &f.extension, &f.queue, penalty, paused)?)
        });
        match l {
            Ok(l) => self.run_void(|s| async move { s.agent_login(&l).await }),
            Err(e) => self.reject(e),
        }
    }

    /// `agent/logout`: from one queue, or `"all"`.
    ///
    /// ```ts
    /// await pbx.agentLogout({ extension: '8001', queue: 'all' });
    /// ```
    #[wasm_bindgen(js_name = agentLogout, unchecked_return_type = "Promise<void>")]
    pub fn agent_logout(&self, req: AgentLogoutArg) -> Promise {
        let l = fields("agentLogout", req.into())
            .and_then(|f| Ok((Extension::parse("extension", &f.extension)?, QueueTarget::parse(&f.queue)?)));
        match l {
            Ok((ext, q)) => self.run_void(|s| async move { s.agent_logout(&ext, &q).await }),
            Err(e) => self.reject(e),
        }
    }

    /// `agent/getAgentStatus`: one row per (queue, extension).
    ///
    /// ```ts
    /// const rows = await pbx.agentStatus({ queue: '200' });
    /// ```
    /// The array also carries `skipped` (`{count, reasons}`).
    #[wasm_bindgen(js_name = agentStatus, unchecked_return_type = "Promise<Listed<AgentStatusRow>>")]
    pub fn agent_status(&self, req: Option<AgentStatusArg>) -> Promise {
        let filter = fields("agentStatus", req.map_or(JsValue::UNDEFINED, Into::into)).and_then(|f| {
            Ok(AgentFilter {
                agentid: opt(&f.agentid, |v| AgentId::parse("agentid", v))?,
                extension: opt(&f.extension, |v| Extension::parse("extension", v))?,
                queue: opt(&f.queue, |v| QueueNumber::parse("queue", v))?,
            })
        });
        match filter {
            Ok(f) => self.run_listed(|s| async move { s.agent_status(&f).await }),
            Err(e) => self.reject(e),
        }
    }

    /// `agent/pause`: set the agent's state (0 ready, 4 private break, 5
    /// work break, 11-13 custom) with an optional reason.
    ///
    /// ```ts
    /// await pbx.agentPause({ extension: '8001', paused: 5, queue: '200', reason: 'PublicBreak' });
    /// ```
    #[wasm_bindgen(js_name = agentPause, unchecked_return_type = "Promise<void>")]
    pub fn agent_pause(&self, req: AgentPauseArg) -> Promise {
        let p = fields("agentPause", req.into()).and_then(|f| {
            let paused = match f.paused {
                Some(v) => whole("paused", v, 0, 99)?,
                None => return Err(InvalidInput::new("paused", Problem::Required, "").into()),
            };
            Ok(AgentPause::parse(&f.extension, paused, &f.queue, Some(&f.reason))?)
        });
        match p {
            Ok(p) => self.run_void(|s| async move { s.agent_pause(&p).await }),
            Err(e) => self.reject(e),
        }
    }

    /// `status/queue`: the agents of one queue.
    ///
    /// ```ts
    /// const agents = await pbx.queueStatus({ queue: '200' });
    /// ```
    /// The array also carries `skipped` (`{count, reasons}`).
    #[wasm_bindgen(js_name = queueStatus, unchecked_return_type = "Promise<Listed<AgentStatusRow>>")]
    pub fn queue_status(&self, req: QueueArg) -> Promise {
        match fields("queueStatus", req.into()).and_then(|f| Ok(QueueNumber::parse("queue", &f.queue)?)) {
            Ok(q) => self.run_listed(|s| async move { s.queue_status(&q).await }),
            Err(e) => self.reject(e),
        }
    }

    /// `status/trunk`.
    ///
    /// ```ts
    /// const { rows } = await pbx.trunkStatus({ page: 1, pageSize: 20 });
    /// ```
    #[wasm_bindgen(js_name = trunkStatus, unchecked_return_type = "Promise<Page<TrunkStatusRow>>")]
    pub fn trunk_status(&self, req: TrunkArg) -> Promise {
        let f = fields("trunkStatus", req.into())
            .and_then(|f| Ok(TrunkFilter::new(page(&f)?, Some(&f.trunk_name))?));
        match f {
            Ok(f) => self.run(|s| async move {
                let r = s.trunk_status(&f).await?;
                Ok(PageOut::from(r))
            }),
            Err(e) => self.reject(e),
        }
    }

    /// `status/wait`: callers waiting in a queue, longest first.
    ///
    /// ```ts
    /// const { rows } = await pbx.waitingCallers({ page: 1, pageSize: 50, queue: '200' });
    /// ```
    #[wasm_bindgen(js_name = waitingCallers, unchecked_return_type = "Promise<Page<WaitingCaller>>")]
    pub fn waiting_callers(&self, req: WaitArg) -> Promise {
        let f = fields("waitingCallers", req.into())
            .and_then(|f| Ok((page(&f)?, QueueNumber::parse("queue", &f.queue)?)));
        match f {
            Ok((p, q)) => self.run(move |s| async move {
                let r = s.waiting_callers(p, &q).await?;
                Ok(PageOut::from(r))
            }),
            Err(e) => self.reject(e),
        }
    }

    /// `GET voicemail`: messages left between `start` and `end`
    /// (`YYYY-MM-DD HH:MM:SS`), optionally only read or unread ones.
    ///
    /// ```ts
    /// const { rows } = await pbx.voicemails({ page: 1, pageSize: 50, start: '2025-01-01 00:00:00', end: '2025-12-31 23:59:59', isRead: false });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<Page<Voicemail>>")]
    pub fn voicemails(&self, req: VoicemailArg) -> Promise {
        let f = fields("voicemails", req.into())
            .and_then(|f| Ok(VoicemailFilter::parse(page(&f)?, &f.start, &f.end, f.is_read)?));
        match f {
            Ok(f) => self.run(|s| async move {
                let r = s.voicemails(&f).await?;
                Ok(PageOut::from(r))
            }),
            Err(e) => self.reject(e),
        }
    }

    /// `PUT voicemail/:id`: mark a message read or unread.
    ///
    /// ```ts
    /// await pbx.markVoicemail(38, true);
    /// ```
    #[wasm_bindgen(js_name = markVoicemail, unchecked_return_type = "Promise<void>")]
    pub fn mark_voicemail(&self, id: JsValue, read: bool) -> Promise {
        let id = match (id.as_f64(), id.as_string()) {
            (Some(n), _) => whole("id", n, 1, 9_007_199_254_740_991).map(|n| n as u64),
            (None, Some(s)) => s.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                InvalidInput::new("id", Problem::OutOfRange { min: 1, max: 9_007_199_254_740_991 }, &s)
            }),
            _ => Err(InvalidInput::new("id", Problem::Required, "")),
        };
        match id {
            Ok(id) => self.run_void(move |s| async move { s.mark_voicemail(id, read).await }),
            Err(e) => self.reject(e.into()),
        }
    }

    /// `GET cdr`: one page of call records matching the filters.
    ///
    /// ```ts
    /// const { rows, total } = await pbx.cdr({ page: 1, pageSize: 100, disposition: 'ANSWERED', direction: 'in' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<Page<Cdr>>")]
    pub fn cdr(&self, req: CdrArg) -> Promise {
        let f = fields("cdr", req.into()).and_then(|f| {
            Ok(CdrFilter::parse(page(&f)?, &f.start, &f.end, &f.src, &f.dst, &f.disposition, &f.direction)?)
        });
        match f {
            Ok(f) => self.run(|s| async move {
                let r = s.cdr(&f).await?;
                Ok(PageOut::from(r))
            }),
            Err(e) => self.reject(e),
        }
    }

    /// `GET cdr/list`: billing rows with `startTime <= calldate < endTime`.
    ///
    /// ```ts
    /// const { rows } = await pbx.billingCdr({ page: 1, pageSize: 1000, startTime: '2025-05-21 00:00:00', endTime: '2025-05-22 00:00:00' });
    /// ```
    #[wasm_bindgen(js_name = billingCdr, unchecked_return_type = "Promise<Page<Cdr>>")]
    pub fn billing_cdr(&self, req: BillingCdrArg) -> Promise {
        let q = fields("billingCdr", req.into()).and_then(|f| {
            Ok(BillingQuery::parse(page(&f)?, &f.start_time, &f.end_time, &f.sort_by, &f.order)?)
        });
        match q {
            Ok(q) => self.run(|s| async move {
                let r = s.billing_cdr(&q).await?;
                Ok(PageOut::from(r))
            }),
            Err(e) => self.reject(e),
        }
    }

    /// `call/handsetPlay`: plays a recording on a desk phone. A relative path
    /// (a CDR or voicemail row's) is mapped into `spoolDir`; an absolute one,
    /// as the seed's `filename`, must lie under it.
    ///
    /// ```ts
    /// await pbx.playOnHandset({ extension: '8001', recording: row.recording });
    /// await pbx.playOnHandset({ extension: '8001', filename: '/var/spool/asterisk/monitor/20250723/a.wav' });
    /// ```
    #[wasm_bindgen(js_name = playOnHandset, unchecked_return_type = "Promise<void>")]
    pub fn play_on_handset(&self, req: HandsetArg) -> Promise {
        let spool = self.spool_dir.clone();
        let h = fields("playOnHandset", req.into()).and_then(|f| Ok(handset_play(&f, &spool)?));
        match h {
            Ok(h) => self.run_void(|s| async move { s.handset_play(&h).await }),
            Err(e) => self.reject(e),
        }
    }

    /// `tts/synthesize`: resolves to a playable Blob URL of the audio. The
    /// audio is held until `speech.revoke()` (or the page closes): each
    /// clip not revoked keeps its bytes for the rest of the shift.
    ///
    /// ```ts
    /// const speech = await pbx.synthesize('您好');
    /// const a = new Audio(speech.url); a.onended = () => speech.revoke(); a.play();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<Speech>")]
    pub fn synthesize(&self, text: String) -> Promise {
        let lang = self.lang;
        let session = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let out = async {
                let speech = session.synthesize(&text).await?;
                let url = blob_url(&speech.audio, speech.mime())
                    .ok_or_else(|| Error::Api(ApiError::Decode("no Blob URL for the audio".into())))?;
                let out = to_js(&SpeechOut {
                    url: url.clone(),
                    format: speech.format,
                    vendor: speech.vendor,
                    bytes: speech.audio.len(),
                })
                .and_then(|out| {
                    // `URL.revokeObjectURL` bound to this URL: a plain JS
                    // function (no Rust closure to leak, no eval for a strict CSP).
                    let revoke =
                        js_sys::Reflect::get(&js_sys::global(), &"URL".into()).ok().and_then(|ctor| {
                            let f: js_sys::Function = js_sys::Reflect::get(&ctor, &"revokeObjectURL".into())
                                .ok()?
                                .dyn_into()
                                .ok()?;
                            Some(f.bind1(&ctor, &url.as_str().into()))
                        });
                    match revoke.map(|r| js_sys::Reflect::set(&out, &"revoke".into(), &r)) {
                        Some(Ok(true)) => Ok(out),
                        _ => Err(Error::Api(ApiError::Decode("no URL.revokeObjectURL for the audio".into()))),
                    }
                });
                // Not handed over: nobody else could free it.
                if out.is_err() {
                    let _ = web_sys::Url::revoke_object_url(&url);
                }
                out
            };
            out.await.map_err(|e| to_js_error(&e, lang))
        })
    }

    /// The URL of a recording under `mediaUrl`. Throws `invalid_input` for
    /// anything that would leave that root (`..`, absolute URLs, `javascript:`).
    ///
    /// ```ts
    /// audio.src = pbx.recordingUrl(row.recording);
    /// ```
    #[wasm_bindgen(js_name = recordingUrl)]
    pub fn recording_url(&self, path: &str) -> Result<String, JsValue> {
        recording_url(&self.media_url, path).map_err(|e| to_js_error(&e.into(), self.lang))
    }

    /// The billing websocket URL in use (without the token).
    #[wasm_bindgen(getter = pushUrl)]
    pub fn push_url(&self) -> String {
        self.push_url.clone()
    }

    /// The spool directory `playOnHandset` maps recordings into.
    #[wasm_bindgen(getter = spoolDir)]
    pub fn spool_dir(&self) -> String {
        self.spool_dir.clone()
    }

    /// Subscribes to the billing push. `onRecords` gets every row new to
    /// the store, once, oldest first within a batch; gaps (a dropped socket,
    /// a refreshed token, a reload with `since`) are filled from `cdr/list`.
    /// Reconnects by itself with capped, jittered backoff until `close()`.
    ///
    /// ```ts
    /// const sub = pbx.subscribeBilling((rows) => rows.forEach(show), { since: lastSeen });
    /// // later
    /// sub.close();
    /// ```
    #[wasm_bindgen(js_name = subscribeBilling)]
    pub fn subscribe_billing(
        &self,
        on_records: OnRecordsArg,
        options: Option<BillingOptionsArg>,
    ) -> Result<BillingSubscription, JsValue> {
        let lang = self.lang;
        let on_records: js_sys::Function = JsValue::from(on_records)
            .dyn_into()
            .map_err(|_| to_js_error(&InvalidInput::new("onRecords", Problem::Required, "").into(), lang))?;
        let opts: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
        let func = |key: &'static str| -> Option<js_sys::Function> {
            if opts.is_object() {
                js_sys::Reflect::get(&opts, &key.into()).ok().and_then(|v| v.dyn_into().ok())
            } else {
                None
            }
        };
        let on_state = func("onState");
        let on_error = func("onError");
        let since = if opts.is_object() {
            js_sys::Reflect::get(&opts, &"since".into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        };
        let floor_ms = match (since.as_f64(), since.as_string()) {
            // Clamped: `since: 1e20` must not overflow the feed's sums.
            (Some(ms), _) if ms.is_finite() => crate::api::time::epoch_ms_from_f64(ms).unwrap_or(0),
            (None, Some(text)) => {
                CstDateTime::parse("since", &text).map_err(|e| to_js_error(&e.into(), lang))?.epoch_ms()
            }
            _ if since.is_undefined() || since.is_null() => wall_clock_ms() as i64 - DEFAULT_HISTORY.0 as i64,
            _ => return Err(to_js_error(&InvalidInput::new("since", Problem::NotDateTime, "").into(), lang)),
        };
        // To `onError`; a batch that could not be converted (`loud`) goes to
        // the console when there is no `onError`, so it is never lost in
        // silence. Fetch troubles without `onError` stay quiet: the feed retries.
        let report = move |e: &Error, loud: bool| match &on_error {
            Some(f) => call_listener("onError", f, &to_js_error(e, lang)),
            None if loud => {
                web_sys::console::error_2(&"agent-console: billing".into(), &to_js_error(e, lang))
            }
            None => {}
        };
        let sink = move |ev: BillingEvent| match ev {
            // The rows are in the store already: a batch that cannot be
            // converted is reported, and `records` still holds it.
            BillingEvent::Records(rows) => match to_js(&rows) {
                Ok(v) => call_listener("onRecords", &on_records, &v),
                Err(e) => report(&e, true),
            },
            BillingEvent::State(s) => {
                if let Some(f) = &on_state {
                    call_listener("onState", f, &s.as_str().into());
                }
            }
            BillingEvent::Trouble(e) => report(&e, false),
        };
        let driver = BillingDriver::subscribe(self.session.clone(), self.push_url.clone(), floor_ms, sink);
        Ok(BillingSubscription { driver: Rc::new(RefCell::new(Some(driver))), lang })
    }
}

/// Calls an embedder's callback; one that throws is logged, not passed on
/// (the feed must go on), and not hidden either.
fn call_listener(name: &str, f: &js_sys::Function, arg: &JsValue) {
    if let Err(e) = f.call1(&JsValue::NULL, arg) {
        web_sys::console::error_2(&format!("agent-console: the billing {name} callback threw").into(), &e);
    }
}

/// Rows `recent()` returns without a limit.
const RECENT_DEFAULT: usize = 100;
/// Most rows one `recent()` returns.
const RECENT_MAX: usize = 10_000;

/// A running billing subscription (`subscribeBilling`).
#[wasm_bindgen]
pub struct BillingSubscription {
    driver: Rc<RefCell<Option<BillingDriver>>>,
    lang: Lang,
}

impl BillingSubscription {
    // The newest `limit` rows, oldest first, read from the newest end so the
    // cost is what is returned.
    fn newest(&self, limit: usize) -> Result<JsValue, JsValue> {
        let mut rows: Vec<crate::api::pbx::Cdr> = match self.driver.borrow().as_ref() {
            Some(d) => d.with(|f| f.store().iter().rev().take(limit).cloned().collect()),
            None => Vec::new(),
        };
        rows.reverse();
        to_js(&rows).map_err(|e| to_js_error(&e, self.lang))
    }
}

#[wasm_bindgen]
impl BillingSubscription {
    /// Closes the socket and stops reconnecting; `records` stays readable.
    /// Safe to call twice.
    ///
    /// ```ts
    /// sub.close();
    /// ```
    pub fn close(&self) {
        if let Some(d) = self.driver.borrow().as_ref() {
            d.stop();
        }
    }

    /// Every row held, oldest first. Each read builds a new array of new
    /// objects, one per row held (up to the store's cap): a copy of the
    /// whole store. Read it rarely (after `close()`, say); to follow new
    /// rows use `onRecords`, for the latest few `recent(limit)`.
    ///
    /// ```ts
    /// sub.close(); const all = sub.records;
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "Cdr[]")]
    pub fn records(&self) -> Result<JsValue, JsValue> {
        self.newest(usize::MAX)
    }

    /// The newest `limit` rows held (default 100, at most 10 000), oldest
    /// first. Costs the rows it returns, whatever the store holds.
    ///
    /// ```ts
    /// const last20 = sub.recent(20);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Cdr[]")]
    pub fn recent(&self, limit: Option<f64>) -> Result<JsValue, JsValue> {
        let limit = match limit {
            None => RECENT_DEFAULT,
            Some(n) if n.fract() == 0.0 && (1.0..=RECENT_MAX as f64).contains(&n) => n as usize,
            Some(n) => {
                let problem = Problem::OutOfRange { min: 1, max: RECENT_MAX as u64 };
                return Err(to_js_error(
                    &InvalidInput::new("limit", problem, &n.to_string()).into(),
                    self.lang,
                ));
            }
        };
        self.newest(limit)
    }

    /// How many rows the store holds (reads no row).
    #[wasm_bindgen(getter)]
    pub fn count(&self) -> u32 {
        match self.driver.borrow().as_ref() {
            Some(d) => d.with(|f| u32::try_from(f.store().len()).unwrap_or(u32::MAX)),
            None => 0,
        }
    }

    /// `connecting`, `filling`, `open`, `closed` or `stopped`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        match self.driver.borrow().as_ref() {
            Some(d) => d.with(|f| f.state().as_str().to_string()),
            None => "stopped".into(),
        }
    }
}
