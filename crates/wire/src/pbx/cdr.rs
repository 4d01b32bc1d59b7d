//! Call-detail records: the CDR search (`GET cdr`), the billing pull
//! (`GET cdr/list`), the billing push frame, and recording paths (media
//! URL for the page, spool path for the desk phone).

use super::types::{Extension, Page, PhoneNumber};
use super::PbxApi;
use crate::de::{string_lenient, u64_lenient};
use crate::time::CstDateTime;
use crate::{ApiError, HttpRequest, InvalidInput, Problem};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

/// How a call ended (`disposition`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// `ANSWERED` (the seed's filter text also spells it `ANSWERD`).
    Answered,
    /// `NO ANSWER`.
    NoAnswer,
    /// `FAILED`.
    Failed,
    /// `BUSY`.
    Busy,
    /// Anything else (the seed's first example sends `"8"`), kept as sent.
    Other(String),
}

impl Disposition {
    /// The four a search may filter on.
    pub const FILTERS: [Disposition; 4] = [Self::Answered, Self::NoAnswer, Self::Failed, Self::Busy];

    /// From the wire text.
    pub fn from_wire(s: &str) -> Self {
        match s.trim().to_ascii_uppercase().as_str() {
            "ANSWERED" | "ANSWERD" => Self::Answered,
            "NO ANSWER" | "NOANSWER" | "NO_ANSWER" => Self::NoAnswer,
            "FAILED" => Self::Failed,
            "BUSY" => Self::Busy,
            _ => Self::Other(s.trim().to_string()),
        }
    }

    /// Checks a filter value: one of the four, or empty for any.
    pub fn parse_filter(value: &str) -> Result<Option<Self>, InvalidInput> {
        if value.trim().is_empty() {
            return Ok(None);
        }
        match Self::from_wire(value) {
            Self::Other(_) => Err(InvalidInput::new(
                "disposition",
                Problem::NotOneOf { allowed: "ANSWERED, NO ANSWER, FAILED, BUSY" },
                value,
            )),
            d => Ok(Some(d)),
        }
    }

    /// The wire text.
    pub fn as_wire(&self) -> &str {
        match self {
            Self::Answered => "ANSWERED",
            Self::NoAnswer => "NO ANSWER",
            Self::Failed => "FAILED",
            Self::Busy => "BUSY",
            Self::Other(o) => o,
        }
    }
}

impl Serialize for Disposition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_wire())
    }
}

impl<'de> Deserialize<'de> for Disposition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_wire(&string_lenient(d)?))
    }
}

/// One call-detail record: a row of `cdr`, `cdr/list` or the billing push.
///
/// Every column the seed documents for `GET cdr` (its example and its
/// table: 50 in all), in the seed's order, under the seed's names on the
/// wire and in JS (serde renames where the Rust name says more). `cdr/list`
/// and the push send 23 of them; the others are then empty or 0. Quoted
/// words are the seed's descriptions (`-` where it gives none).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Cdr {
    /// 记录主键: the row key, when the server sends it (the push's table lists it).
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<u64>,
    /// 通话时间: when the call started.
    #[serde(default, deserialize_with = "string_lenient")]
    pub calldate: String,
    /// 主叫号码: caller id text (`"8002" <8002>`).
    #[serde(default, deserialize_with = "string_lenient")]
    pub clid: String,
    /// 主叫: calling number.
    #[serde(default, deserialize_with = "string_lenient")]
    pub src: String,
    /// dnid号码 / 直入分机: the number dialled.
    #[serde(default, deserialize_with = "string_lenient")]
    pub dnid: String,
    /// 被叫: called number.
    #[serde(default, deserialize_with = "string_lenient")]
    pub dst: String,
    /// `dept_exten`, 部门分机: the department's extension.
    #[serde(rename = "dept_exten", default, deserialize_with = "string_lenient")]
    pub department_extension: String,
    /// `sipcallid`, sip通话唯一标识: the SIP Call-ID.
    #[serde(rename = "sipcallid", default, deserialize_with = "string_lenient")]
    pub sip_call_id: String,
    /// 目标context: dial-plan context.
    #[serde(default, deserialize_with = "string_lenient")]
    pub dcontext: String,
    /// 通道: calling channel.
    #[serde(default, deserialize_with = "string_lenient")]
    pub channel: String,
    /// 目标通道: called channel.
    #[serde(default, deserialize_with = "string_lenient")]
    pub dstchannel: String,
    /// `callerip`, 主叫IP: the calling phone's address.
    #[serde(rename = "callerip", default, deserialize_with = "string_lenient")]
    pub caller_ip: String,
    /// `calledip`, 被叫IP: the called phone's address.
    #[serde(rename = "calledip", default, deserialize_with = "string_lenient")]
    pub called_ip: String,
    /// 最后进入app: last application.
    #[serde(default, deserialize_with = "string_lenient")]
    pub lastapp: String,
    /// 最后进入app对应参数: its arguments.
    #[serde(default, deserialize_with = "string_lenient")]
    pub lastdata: String,
    /// 通话开始时间: start time.
    #[serde(default, deserialize_with = "string_lenient")]
    pub start: String,
    /// 通话应答时间: answer time (empty when unanswered).
    #[serde(default, deserialize_with = "string_lenient")]
    pub answer: String,
    /// 通话结束时间: end time.
    #[serde(default, deserialize_with = "string_lenient")]
    pub end: String,
    /// 通话时长: seconds from start to end.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub duration: u64,
    /// 计费时长: seconds billed (answer to end).
    #[serde(default, deserialize_with = "u64_lenient")]
    pub billsec: u64,
    /// 通话状态标识: how it ended.
    #[serde(default = "no_disposition")]
    pub disposition: Disposition,
    /// `amaflags` (-): Asterisk's AMA flags (3 = documentation).
    #[serde(rename = "amaflags", default, deserialize_with = "crate::de::u64_or_zero")]
    pub ama_flags: u64,
    /// `accountcode`: the channel's account code.
    #[serde(rename = "accountcode", default, deserialize_with = "string_lenient")]
    pub account_code: String,
    /// `peeraccount`: the peer channel's account code.
    #[serde(rename = "peeraccount", default, deserialize_with = "string_lenient")]
    pub peer_account: String,
    /// 通话唯一标识: the call's id. Strict: the store keys on it.
    #[serde(deserialize_with = "uniqueid")]
    pub uniqueid: String,
    /// linkedid信息: shared by every row of one call.
    #[serde(default, deserialize_with = "string_lenient")]
    pub linkedid: String,
    /// `userfield` (-): free text the dial plan set.
    #[serde(rename = "userfield", default, deserialize_with = "string_lenient")]
    pub user_field: String,
    /// `ivrdigit`, ivr按键: keys pressed in the IVR.
    #[serde(rename = "ivrdigit", default, deserialize_with = "string_lenient")]
    pub ivr_digits: String,
    /// `ivrflow` (-): the IVR path taken.
    #[serde(rename = "ivrflow", default, deserialize_with = "string_lenient")]
    pub ivr_flow: String,
    /// 通话记录序列号: the record's sequence number, as sent (text).
    #[serde(default, deserialize_with = "string_lenient")]
    pub sequence: String,
    /// 计费id: billing id.
    #[serde(default, deserialize_with = "string_lenient")]
    pub billingid: String,
    /// 区号: the caller's area code.
    #[serde(default, deserialize_with = "string_lenient")]
    pub area_code: String,
    /// 号码所在城市: the city of the number.
    #[serde(default, deserialize_with = "string_lenient")]
    pub city: String,
    /// `succ` (-): undocumented flag (the sandbox writes 1 for answered calls).
    #[serde(default, deserialize_with = "crate::de::u64_or_zero")]
    pub succ: u64,
    /// 是否已计费: 1 once the call was billed, else 0.
    #[serde(default, deserialize_with = "crate::de::u64_or_zero")]
    pub billed: u64,
    /// `bill` (-): the charge as sent (`0.000`); text, so no decimal is lost.
    #[serde(rename = "bill", default, deserialize_with = "string_lenient")]
    pub bill_amount: String,
    /// `musictype`, 转接类型 (blind盲转, attended咨询转, app): typed Number with
    /// words in its description, so kept as text (`"0"`, `"blind"`).
    #[serde(rename = "musictype", default, deserialize_with = "string_lenient")]
    pub transfer_type: String,
    /// 服务水平: service level (-1 when not measured).
    #[serde(default, deserialize_with = "crate::de::i64_or_zero")]
    pub service_level: i64,
    /// 坐席工号: agent id, for queue calls.
    #[serde(default, deserialize_with = "string_lenient")]
    pub agentid: String,
    /// `caller_recording`, 主叫录音设置: force强制, dontcare按需, never从不, onetouch按键录音.
    #[serde(rename = "caller_recording", default, deserialize_with = "string_lenient")]
    pub caller_recording_mode: String,
    /// `callee_recording`, 被叫录音设置: the same words for the called side.
    #[serde(rename = "callee_recording", default, deserialize_with = "string_lenient")]
    pub callee_recording_mode: String,
    /// 通话录音文件路径: recording, relative to the media root (empty: none).
    #[serde(default, deserialize_with = "string_lenient")]
    pub recording: String,
    /// 通话方向: `in`, `out`, `inter`/`inner`, or empty.
    #[serde(default, deserialize_with = "string_lenient")]
    pub direction: String,
    /// `option`: in the seed's example only, undocumented; as sent.
    #[serde(default, deserialize_with = "string_lenient")]
    pub option: String,
    /// `numcalls`, 当前通话数: calls up on the PBX when the row was written.
    #[serde(rename = "numcalls", default, deserialize_with = "crate::de::u64_or_zero")]
    pub current_calls: u64,
    /// `loadavg`, 当前通话负载: the PBX's load then (`4.36`).
    #[serde(rename = "loadavg", default, deserialize_with = "crate::de::f64_or_zero")]
    pub load_average: f64,
    /// 挂断源: the channel that hung up.
    #[serde(default, deserialize_with = "string_lenient")]
    pub hangupsource: String,
    /// `hangupcause`, 挂断原因: the Q.850 cause as sent (`16` normal clearing).
    #[serde(rename = "hangupcause", default, deserialize_with = "string_lenient")]
    pub hangup_cause: String,
    /// `create_time`, 通话记录创建时间: when the row was written.
    #[serde(rename = "create_time", default, deserialize_with = "string_lenient")]
    pub record_created: String,
    /// 中继名称: trunk used.
    #[serde(rename = "trunkName", default, deserialize_with = "string_lenient")]
    pub trunk_name: String,
}

fn no_disposition() -> Disposition {
    Disposition::Other(String::new())
}

fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s = string_lenient(d)?;
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| serde::de::Error::custom(format!("id {s:?} is not a whole number")))
}

fn uniqueid<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = string_lenient(d)?;
    if s.trim().is_empty() {
        return Err(serde::de::Error::custom("empty uniqueid"));
    }
    Ok(s.trim().to_string())
}

impl Cdr {
    /// `calldate` as a time, when it parses (the store orders and windows by it).
    pub fn calldate_ms(&self) -> Option<i64> {
        crate::time::parse_cst_ms(self.calldate.trim())
    }

    /// What tells this row apart from every other: `uniqueid` and `id`, or
    /// without an id the start and called channel (one call may write
    /// several rows under one uniqueid). The one identity rule of the
    /// billing store, its page walks, the call-log pages and the lists'
    /// keys.
    pub fn key(&self) -> CdrKey {
        match self.id {
            Some(id) => CdrKey {
                uniqueid: self.uniqueid.clone(),
                id: Some(id),
                start: String::new(),
                dstchannel: String::new(),
            },
            None => CdrKey {
                uniqueid: self.uniqueid.clone(),
                id: None,
                start: self.start.clone(),
                dstchannel: self.dstchannel.clone(),
            },
        }
    }

    /// Whether `other` is the same record: the same [`Cdr::key`], and also
    /// when only one of the two carries an `id` (a push frame without it,
    /// the list with it) but start and called channel agree.
    pub fn same_record(&self, other: &Cdr) -> bool {
        if self.uniqueid != other.uniqueid {
            return false;
        }
        match (self.id, other.id) {
            (Some(a), Some(b)) => a == b,
            _ => self.start == other.start && self.dstchannel == other.dstchannel,
        }
    }
}

/// A row's identity ([`Cdr::key`]); shown as `uniqueid#id`, or
/// `uniqueid|start|dstchannel` for a row without an id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CdrKey {
    uniqueid: String,
    id: Option<u64>,
    start: String,
    dstchannel: String,
}

impl std::fmt::Display for CdrKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.id {
            Some(id) => write!(f, "{}#{id}", self.uniqueid),
            None => write!(f, "{}|{}|{}", self.uniqueid, self.start, self.dstchannel),
        }
    }
}

/// Call direction filter of `GET cdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `in`.
    In,
    /// `out`.
    Out,
}

impl Direction {
    /// `in`, `out`, or empty for any.
    pub fn parse_filter(value: &str) -> Result<Option<Self>, InvalidInput> {
        match value.trim() {
            "" => Ok(None),
            "in" => Ok(Some(Self::In)),
            "out" => Ok(Some(Self::Out)),
            _ => Err(InvalidInput::new("direction", Problem::NotOneOf { allowed: "in, out" }, value)),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// Query of `GET cdr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrFilter {
    /// Which page.
    pub page: Page,
    /// From (inclusive).
    pub start: Option<CstDateTime>,
    /// To (inclusive).
    pub end: Option<CstDateTime>,
    /// Calling number.
    pub src: Option<PhoneNumber>,
    /// Called number.
    pub dst: Option<PhoneNumber>,
    /// Disposition.
    pub disposition: Option<Disposition>,
    /// Direction.
    pub direction: Option<Direction>,
}

impl CdrFilter {
    /// Checks every optional field as typed (empty means "any").
    pub fn parse(
        page: Page,
        start: &str,
        end: &str,
        src: &str,
        dst: &str,
        disposition: &str,
        direction: &str,
    ) -> Result<Self, InvalidInput> {
        let opt_time = |field, v: &str| -> Result<Option<CstDateTime>, InvalidInput> {
            if v.trim().is_empty() {
                Ok(None)
            } else {
                CstDateTime::parse(field, v).map(Some)
            }
        };
        let opt_num = |field, v: &str| -> Result<Option<PhoneNumber>, InvalidInput> {
            if v.trim().is_empty() {
                Ok(None)
            } else {
                PhoneNumber::parse(field, v).map(Some)
            }
        };
        let start_t = opt_time("start", start)?;
        let end_t = opt_time("end", end)?;
        if let (Some(s), Some(e)) = (start_t, end_t) {
            if e < s {
                return Err(InvalidInput::new("end", Problem::Before { other: "start" }, end));
            }
        }
        Ok(Self {
            page,
            start: start_t,
            end: end_t,
            src: opt_num("src", src)?,
            dst: opt_num("dst", dst)?,
            disposition: Disposition::parse_filter(disposition)?,
            direction: Direction::parse_filter(direction)?,
        })
    }

    /// The same filter on another page.
    pub fn with_page(&self, page: Page) -> Self {
        Self { page, ..self.clone() }
    }
}

/// `sort_by` of `cdr/list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingSort {
    /// `id` (the default).
    Id,
    /// `calldate`.
    Calldate,
    /// `start`.
    Start,
    /// `answer`.
    Answer,
    /// `end`.
    End,
}

impl BillingSort {
    /// Reads the wire word (empty: `id`).
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        match value.trim() {
            "" | "id" => Ok(Self::Id),
            "calldate" => Ok(Self::Calldate),
            "start" => Ok(Self::Start),
            "answer" => Ok(Self::Answer),
            "end" => Ok(Self::End),
            _ => Err(InvalidInput::new(
                "sortBy",
                Problem::NotOneOf { allowed: "id, calldate, start, answer, end" },
                value,
            )),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Calldate => "calldate",
            Self::Start => "start",
            Self::Answer => "answer",
            Self::End => "end",
        }
    }
}

/// Query of `cdr/list`: rows with `start_time <= calldate < end_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingQuery {
    /// Which page (`page_size` at most 1000).
    pub page: Page,
    /// From (inclusive).
    pub start_time: CstDateTime,
    /// To (exclusive).
    pub end_time: CstDateTime,
    /// Sort column.
    pub sort_by: BillingSort,
    /// Descending instead of ascending.
    pub descending: bool,
}

impl BillingQuery {
    /// Checks the window (end after start), the sort column and order.
    pub fn parse(
        page: Page,
        start: &str,
        end: &str,
        sort_by: &str,
        order: &str,
    ) -> Result<Self, InvalidInput> {
        let s = CstDateTime::parse("startTime", start)?;
        let e = CstDateTime::parse("endTime", end)?;
        if e <= s {
            return Err(InvalidInput::new("endTime", Problem::Before { other: "startTime" }, end));
        }
        let descending = match order.trim() {
            "" | "asc" => false,
            "desc" => true,
            _ => return Err(InvalidInput::new("order", Problem::NotOneOf { allowed: "asc, desc" }, order)),
        };
        Ok(Self { page, start_time: s, end_time: e, sort_by: BillingSort::parse(sort_by)?, descending })
    }
}

/// A frame of the billing websocket.
#[derive(Debug, Clone, PartialEq)]
pub enum PushFrame {
    /// `{type: "billing", data: [CDR…]}`, decoded row by row.
    Billing(crate::de::Listed<Cdr>),
    /// A frame of another type, ignored.
    Other(String),
}

/// Longest billing push frame read, bytes of UTF-8: a frame carries the
/// rows of one moment (a few hundred bytes each), so a megabyte is a broken
/// or hostile server. Longer frames are refused unparsed.
pub const MAX_PUSH_FRAME_BYTES: usize = 1024 * 1024;

/// Decodes one text frame of the billing push, row by row (one odd row
/// costs only itself, and is counted), loose on the shape (`data` may be
/// one row or a list). A frame over [`MAX_PUSH_FRAME_BYTES`] is
/// [`ApiError::TooLarge`], checked before any parsing.
pub fn decode_push(text: &str) -> Result<PushFrame, ApiError> {
    use crate::de::Listed;
    if text.len() > MAX_PUSH_FRAME_BYTES {
        return Err(ApiError::TooLarge { limit: MAX_PUSH_FRAME_BYTES as u64 });
    }
    #[derive(Deserialize)]
    struct Frame {
        #[serde(rename = "type", default, deserialize_with = "string_lenient")]
        kind: String,
        #[serde(default)]
        data: Option<serde_json::Value>,
    }
    let f: Frame = serde_json::from_str(text).map_err(|e| ApiError::Decode(format!("push frame: {e}")))?;
    if f.kind != "billing" {
        return Ok(PushFrame::Other(f.kind));
    }
    let rows = match f.data {
        None => Listed::default(),
        Some(v @ serde_json::Value::Object(_)) if v.as_object().is_some_and(|o| !o.is_empty()) => {
            Listed::from_items(vec![v])
        }
        Some(v) => Listed::from_value(v).map_err(|e| ApiError::Decode(format!("push rows: {e}")))?,
    };
    Ok(PushFrame::Billing(rows))
}

/// A recording path as the PBX returns it, checked to stay under its
/// root: letters, digits, `._-+/`, no empty, `.` or `..` segment, no
/// leading `/`, no scheme. This is what makes `recordingUrl` refuse
/// `../x`, `https://evil` and `javascript:`.
pub fn check_recording_path(path: &str) -> Result<&str, InvalidInput> {
    let p = path.trim();
    if p.is_empty() {
        return Err(InvalidInput::new("recording", Problem::Required, path));
    }
    let chars_ok =
        p.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'/'));
    let segments_ok = p.split('/').all(|s| !s.is_empty() && s != "." && s != "..");
    if !chars_ok || !segments_ok || p.len() > 512 {
        return Err(InvalidInput::new("recording", Problem::Malformed, p));
    }
    Ok(p)
}

/// The URL of a recording under `media_root` (`https://HOST:PORT`).
pub fn recording_url(media_root: &str, path: &str) -> Result<String, InvalidInput> {
    let p = check_recording_path(path)?;
    Ok(format!("{}/{p}", media_root.trim_end_matches('/')))
}

/// Checks the PBX's spool directory setting: an absolute path of safe
/// characters with no empty, `.` or `..` segment (a trailing `/` aside).
/// Returned without the trailing slash, so `/` itself is `""`.
pub fn check_spool_dir(dir: &str) -> Result<String, InvalidInput> {
    let d = dir.trim();
    let d = if d.is_empty() { "/var/spool/asterisk" } else { d };
    let root = d.trim_end_matches('/');
    // `//spool` would make every desk-phone path start `//`, which POSIX
    // leaves to the system to read (a network path on some).
    let ok = d.starts_with('/')
        && d.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
        && root.split('/').skip(1).all(|s| !s.is_empty() && s != "." && s != "..");
    if !ok {
        return Err(InvalidInput::new("spoolDir", Problem::Malformed, d));
    }
    Ok(root.to_string())
}

/// `call/handsetPlay`: play `recording` on `extension`'s desk phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandsetPlay {
    /// The desk phone.
    pub extension: Extension,
    /// The absolute path on the PBX.
    pub filename: String,
}

impl HandsetPlay {
    /// Maps a relative `recording` (a CDR or voicemail row's) into
    /// `spool_dir` (already checked). An absolute path, the form of the
    /// seed's own `filename` example, is sent as it is if it names a file
    /// under `spool_dir`; anything else absolute is refused.
    pub fn parse(extension: &str, recording: &str, spool_dir: &str) -> Result<Self, InvalidInput> {
        let extension = Extension::parse("extension", extension)?;
        let root = spool_dir.trim_end_matches('/');
        let given = recording.trim();
        let relative = if given.starts_with('/') {
            given
                .strip_prefix(root)
                .and_then(|rest| rest.strip_prefix('/'))
                .ok_or_else(|| InvalidInput::new("recording", Problem::Malformed, given))?
        } else {
            given
        };
        // The same check as a relative path: no `..`, no empty segment.
        let p = check_recording_path(relative)?;
        Ok(Self { extension, filename: format!("{root}/{p}") })
    }
}

impl PbxApi {
    /// `GET /api/v1/cdr?page&pageSize&start&end&src&dst&disposition&direction`.
    pub fn cdr(&self, f: &CdrFilter) -> HttpRequest {
        let t = |v: &Option<CstDateTime>| v.map(|t| t.to_string()).unwrap_or_default();
        let n = |v: &Option<PhoneNumber>| v.as_ref().map(|p| p.to_string()).unwrap_or_default();
        self.get(
            "/api/v1/cdr",
            &[
                ("page", f.page.page.to_string()),
                ("pageSize", f.page.page_size.to_string()),
                ("start", t(&f.start)),
                ("end", t(&f.end)),
                ("src", n(&f.src)),
                ("dst", n(&f.dst)),
                ("disposition", f.disposition.as_ref().map(|d| d.as_wire().to_string()).unwrap_or_default()),
                ("direction", f.direction.map(|d| d.as_str().to_string()).unwrap_or_default()),
            ],
        )
    }

    /// `GET /api/v1/cdr/list?page&page_size&start_time&end_time&sort_by&order`.
    pub fn billing_cdr(&self, q: &BillingQuery) -> HttpRequest {
        self.get(
            "/api/v1/cdr/list",
            &[
                ("page", q.page.page.to_string()),
                ("page_size", q.page.page_size.to_string()),
                ("start_time", q.start_time.to_string()),
                ("end_time", q.end_time.to_string()),
                ("sort_by", q.sort_by.as_str().to_string()),
                ("order", if q.descending { "desc" } else { "asc" }.to_string()),
            ],
        )
    }

    /// `POST /api/v1/call/handsetPlay`.
    pub fn handset_play(&self, h: &HandsetPlay) -> HttpRequest {
        self.post("/api/v1/call/handsetPlay", json!({ "extension": h.extension, "filename": h.filename }))
    }

    /// The billing websocket URL for `token` under `push_url`
    /// (`wss://HOST:8282/`).
    pub fn billing_push_url(push_url: &str, token: &str) -> String {
        let sep = if push_url.contains('?') { '&' } else { '?' };
        format!("{push_url}{sep}user_id=billing&token={}", crate::http::encode_component(token))
    }
}
