//! Call-detail records: the CDR search (`GET cdr`), the billing pull
//! (`GET cdr/list`), the billing push frame, and recording paths (media
//! URL for the page, spool path for the desk phone).

use super::types::{Extension, Page, PhoneNumber};
use super::PbxApi;
use crate::api::de::{string_lenient, u64_lenient};
use crate::api::time::CstDateTime;
use crate::api::{ApiError, HttpRequest, InvalidInput, Problem};
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

    /// Chinese words (the seed's).
    pub fn zh(&self) -> &str {
        match self {
            Self::Answered => "已接通",
            Self::NoAnswer => "未接通",
            Self::Failed => "呼叫失败",
            Self::Busy => "忙",
            Self::Other(o) => o,
        }
    }

    /// English words.
    pub fn en(&self) -> &str {
        match self {
            Self::Answered => "Answered",
            Self::NoAnswer => "No answer",
            Self::Failed => "Failed",
            Self::Busy => "Busy",
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
/// Fields the three share; the rest of the seed's columns are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Cdr {
    /// Row key, when the server sends it (the push's table lists it).
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<u64>,
    /// When the call started.
    #[serde(default, deserialize_with = "string_lenient")]
    pub calldate: String,
    /// Caller id text (`"8002" <8002>`).
    #[serde(default, deserialize_with = "string_lenient")]
    pub clid: String,
    /// Calling number.
    #[serde(default, deserialize_with = "string_lenient")]
    pub src: String,
    /// Dialled number.
    #[serde(default, deserialize_with = "string_lenient")]
    pub dnid: String,
    /// Called number.
    #[serde(default, deserialize_with = "string_lenient")]
    pub dst: String,
    /// Dial-plan context.
    #[serde(default, deserialize_with = "string_lenient")]
    pub dcontext: String,
    /// Calling channel.
    #[serde(default, deserialize_with = "string_lenient")]
    pub channel: String,
    /// Called channel.
    #[serde(default, deserialize_with = "string_lenient")]
    pub dstchannel: String,
    /// Last application.
    #[serde(default, deserialize_with = "string_lenient")]
    pub lastapp: String,
    /// Its arguments.
    #[serde(default, deserialize_with = "string_lenient")]
    pub lastdata: String,
    /// Start time.
    #[serde(default, deserialize_with = "string_lenient")]
    pub start: String,
    /// Answer time (empty when unanswered).
    #[serde(default, deserialize_with = "string_lenient")]
    pub answer: String,
    /// End time.
    #[serde(default, deserialize_with = "string_lenient")]
    pub end: String,
    /// Seconds from start to end.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub duration: u64,
    /// Seconds billed (answer to end).
    #[serde(default, deserialize_with = "u64_lenient")]
    pub billsec: u64,
    /// How it ended.
    #[serde(default = "no_disposition")]
    pub disposition: Disposition,
    /// The call's id. Strict: the store keys on it.
    #[serde(deserialize_with = "uniqueid")]
    pub uniqueid: String,
    /// Shared by every row of one call.
    #[serde(default, deserialize_with = "string_lenient")]
    pub linkedid: String,
    /// Billing id.
    #[serde(default, deserialize_with = "string_lenient")]
    pub billingid: String,
    /// Recording, relative to the media root (empty: none).
    #[serde(default, deserialize_with = "string_lenient")]
    pub recording: String,
    /// `in`, `out`, `inter`/`inner`, or empty.
    #[serde(default, deserialize_with = "string_lenient")]
    pub direction: String,
    /// The channel that hung up.
    #[serde(default, deserialize_with = "string_lenient")]
    pub hangupsource: String,
    /// Agent id, for queue calls.
    #[serde(default, deserialize_with = "string_lenient")]
    pub agentid: String,
    /// Trunk used.
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
        crate::api::time::parse_cst_ms(self.calldate.trim())
    }

    /// Whether `other` is the same record: same `uniqueid`, and the same
    /// `id` when both carry one; without ids, the same start and called
    /// channel (one call may write several rows under one uniqueid).
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
    /// `{type: "billing", data: [CDR…]}`.
    Billing(Vec<Cdr>),
    /// A frame of another type, ignored.
    Other(String),
}

/// Decodes one text frame of the billing push. Strict on the rows (a bad
/// row must not be dropped silently: the store fills from `cdr/list`
/// instead), loose on the shape (`data` may be one row or a list).
pub fn decode_push(text: &str) -> Result<PushFrame, ApiError> {
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
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(v @ serde_json::Value::Object(_)) if v.as_object().is_some_and(|o| !o.is_empty()) => {
            vec![serde_json::from_value(v).map_err(|e| ApiError::Decode(format!("push row: {e}")))?]
        }
        Some(v) => {
            #[derive(Deserialize)]
            #[serde(transparent)]
            struct Rows(#[serde(deserialize_with = "crate::api::de::vec_lenient")] Vec<Cdr>);
            serde_json::from_value::<Rows>(v).map_err(|e| ApiError::Decode(format!("push rows: {e}")))?.0
        }
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

/// Checks the PBX's spool directory setting: an absolute path of safe characters.
pub fn check_spool_dir(dir: &str) -> Result<String, InvalidInput> {
    let d = dir.trim();
    let d = if d.is_empty() { "/var/spool/asterisk" } else { d };
    let ok = d.starts_with('/')
        && d.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
        && d.split('/').all(|s| s != "..");
    if !ok {
        return Err(InvalidInput::new("spoolDir", Problem::Malformed, d));
    }
    Ok(d.trim_end_matches('/').to_string())
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
    /// Maps the relative `recording` into `spool_dir` (already checked).
    pub fn parse(extension: &str, recording: &str, spool_dir: &str) -> Result<Self, InvalidInput> {
        let extension = Extension::parse("extension", extension)?;
        let p = check_recording_path(recording)?;
        Ok(Self { extension, filename: format!("{}/{p}", spool_dir.trim_end_matches('/')) })
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
        format!("{push_url}{sep}user_id=billing&token={}", crate::api::http::encode_component(token))
    }
}
