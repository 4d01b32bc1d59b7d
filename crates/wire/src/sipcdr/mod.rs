//! The SIP call-record pull API (seed 004): one PhalApi service,
//! `App.Sip_Cdr.GetBill`, POSTed as `multipart/form-data`.
//!
//! Wire decisions the seed leaves open are in `docs/callback-sipcdr.md`.

use crate::de::{string_lenient, u64_lenient, Listed, Skipped};
use crate::http::check_http_url;
use crate::pbx::Extension;
use crate::time::CstDateTime;
use crate::{ApiError, HttpRequest, HttpResponse, InvalidInput, Method, Problem};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The one service this API has.
pub const SERVICE: &str = "App.Sip_Cdr.GetBill";
/// Most bills one page may hold (seed: 1-1000).
pub const MAX_ITEMS_PER_PAGE: u32 = 1000;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident, $field:literal, $allowed:literal { $($(#[$vm:meta])* $v:ident = $n:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            /// The number sent on the wire.
            pub fn code(self) -> u8 { match self { $($name::$v => $n),+ } }
            /// From the wire number; anything else is refused, naming the field.
            pub fn parse(value: &str) -> Result<Self, InvalidInput> {
                match value.trim() {
                    $(s if s == stringify!($n) => Ok($name::$v),)+
                    _ => Err(InvalidInput::new($field, Problem::NotOneOf { allowed: $allowed }, value)),
                }
            }
        }
    };
}

wire_enum!(
    /// `syncflag`: which bills, by whether this token fetched them before.
    SyncFlag, "syncflag", "1, 2, 3" {
        /// 1: not fetched yet (the seed's default); the server marks what it returns.
        #[default] Unfetched = 1,
        /// 2: fetched before.
        Fetched = 2,
        /// 3: all.
        All = 3,
    }
);

wire_enum!(
    /// `direction`.
    Direction, "direction", "1, 2, 3" {
        /// 1: inbound.
        Inbound = 1,
        /// 2: outbound.
        Outbound = 2,
        /// 3: both (the seed's default).
        #[default] All = 3,
    }
);

wire_enum!(
    /// `callmethod`: how the call was placed.
    CallMethod, "callmethod", "0-6" {
        /// 0: any.
        Any = 0,
        /// 1: extension to extension.
        ExtensionToExtension = 1,
        /// 2: dialled by hand on an extension.
        ExtensionManual = 2,
        /// 3: API call (the seed's default).
        #[default] Api = 3,
        /// 4: API two-way call.
        ApiTwoWay = 4,
        /// 5: predictive dialling.
        Predictive = 5,
        /// 6: IVR or group call.
        IvrGroup = 6,
    }
);

/// A checked GetBill query. Built with [`BillQueryInput::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillQuery {
    /// Start of the dialling-time window (inclusive).
    pub starttime: CstDateTime,
    /// End of the window (inclusive); not before `starttime`.
    pub endtime: CstDateTime,
    /// Which bills by fetch state.
    pub syncflag: SyncFlag,
    /// Call direction.
    pub direction: Direction,
    /// Call method.
    pub callmethod: CallMethod,
    /// Page number, from 1.
    pub currentpage: u32,
    /// Bills per page, 1-1000.
    pub itemsperpage: u32,
    /// Extensions; empty means all.
    pub extnumber: Vec<Extension>,
    /// Target number; empty means all.
    pub destnumber: String,
    /// Custom data (staff id); empty means all.
    pub userid: String,
    /// Custom data (member id); empty means all.
    pub memberid: String,
    /// Custom data (maturity).
    pub chengshudu: Option<String>,
    /// Custom data (customer id).
    pub customuuid: Option<String>,
}

/// A GetBill query as it arrives from JS or a form: every field a string or
/// a number, optional ones left out. [`BillQueryInput::check`] refuses bad
/// values before any request, naming the field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BillQueryInput {
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub starttime: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub endtime: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub syncflag: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub direction: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub callmethod: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub currentpage: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub itemsperpage: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub extnumber: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub destnumber: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub userid: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub memberid: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub chengshudu: String,
    #[allow(missing_docs)]
    #[serde(deserialize_with = "string_lenient")]
    pub customuuid: String,
}

fn whole(field: &'static str, v: &str, min: u32, max: u32, default: u32) -> Result<u32, InvalidInput> {
    let t = v.trim();
    if t.is_empty() {
        return Ok(default);
    }
    match t.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => {
            Err(InvalidInput::new(field, Problem::OutOfRange { min: u64::from(min), max: u64::from(max) }, v))
        }
    }
}

fn pick(v: &str) -> Option<&str> {
    if v.trim().is_empty() {
        None
    } else {
        Some(v)
    }
}

fn plain(field: &'static str, v: &str) -> Result<String, InvalidInput> {
    let t = v.trim();
    if t.len() > 128 || t.chars().any(char::is_control) {
        return Err(InvalidInput::new(field, Problem::Malformed, t));
    }
    Ok(t.to_string())
}

impl BillQueryInput {
    /// A query for the window with every other field at the seed's default.
    pub fn window(starttime: &str, endtime: &str) -> Self {
        Self { starttime: starttime.into(), endtime: endtime.into(), ..Self::default() }
    }

    /// Checks the fields for a sync (`agent_console_core::SipCdrSession::sync`):
    /// as [`BillQueryInput::check`], except that an empty `callmethod` means
    /// 0 (any) and an empty `direction` 3 (both). A sync is to fetch every
    /// bill once; the seed's default `callmethod` 3 (API calls only) would
    /// leave the other bills unfetched for ever.
    pub fn check_sync(&self) -> Result<BillQuery, InvalidInput> {
        let mut q = self.check()?;
        if pick(&self.callmethod).is_none() {
            q.callmethod = CallMethod::Any;
        }
        if pick(&self.direction).is_none() {
            q.direction = Direction::All;
        }
        Ok(q)
    }

    /// Checks every field. Empty enum and paging fields take the seed's
    /// defaults (`syncflag` 1, `direction` 3, `callmethod` 3, page 1, 10 per page).
    pub fn check(&self) -> Result<BillQuery, InvalidInput> {
        let starttime = CstDateTime::parse("starttime", &self.starttime)?;
        let endtime = CstDateTime::parse("endtime", &self.endtime)?;
        if endtime < starttime {
            return Err(InvalidInput::new("endtime", Problem::Before { other: "starttime" }, &self.endtime));
        }
        let extnumber = self
            .extnumber
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| Extension::parse("extnumber", e))
            .collect::<Result<Vec<_>, _>>()?;
        let destnumber = plain("destnumber", &self.destnumber)?;
        if !destnumber.bytes().all(|b| b.is_ascii_digit() || b == b'+' || b == b'*' || b == b'#') {
            return Err(InvalidInput::new("destnumber", Problem::NotNumber, &destnumber));
        }
        let optional = |field: &'static str, v: &str| -> Result<Option<String>, InvalidInput> {
            let p = plain(field, v)?;
            Ok((!p.is_empty()).then_some(p))
        };
        Ok(BillQuery {
            starttime,
            endtime,
            syncflag: pick(&self.syncflag).map(SyncFlag::parse).transpose()?.unwrap_or_default(),
            direction: pick(&self.direction).map(Direction::parse).transpose()?.unwrap_or_default(),
            callmethod: pick(&self.callmethod).map(CallMethod::parse).transpose()?.unwrap_or_default(),
            currentpage: whole("currentpage", &self.currentpage, 1, u32::MAX, 1)?,
            itemsperpage: whole("itemsperpage", &self.itemsperpage, 1, MAX_ITEMS_PER_PAGE, 10)?,
            extnumber,
            destnumber,
            userid: plain("userid", &self.userid)?,
            memberid: plain("memberid", &self.memberid)?,
            chengshudu: optional("chengshudu", &self.chengshudu)?,
            customuuid: optional("customuuid", &self.customuuid)?,
        })
    }
}

impl BillQuery {
    /// The form fields, in the seed's order, with the documented names.
    pub fn fields(&self, token: &str) -> Vec<(&'static str, String)> {
        let ext: Vec<&str> = self.extnumber.iter().map(Extension::as_str).collect();
        let mut f = vec![
            ("service", SERVICE.to_string()),
            ("token", token.to_string()),
            ("starttime", self.starttime.to_string()),
            ("endtime", self.endtime.to_string()),
            ("syncflag", self.syncflag.code().to_string()),
            ("direction", self.direction.code().to_string()),
            ("callmethod", self.callmethod.code().to_string()),
            ("currentpage", self.currentpage.to_string()),
            ("itemsperpage", self.itemsperpage.to_string()),
            ("extnumber", ext.join(",")),
            ("destnumber", self.destnumber.clone()),
            ("userid", self.userid.clone()),
            ("memberid", self.memberid.clone()),
        ];
        if let Some(c) = &self.chengshudu {
            f.push(("chengshudu", c.clone()));
        }
        if let Some(c) = &self.customuuid {
            f.push(("customuuid", c.clone()));
        }
        f
    }
}

/// Encodes text fields as `multipart/form-data`; returns the content type
/// (with its boundary) and the body. The boundary is derived from the
/// content and lengthened until no value contains it.
pub fn multipart(fields: &[(&str, String)]) -> (String, String) {
    let mut h = Md5::new();
    for (k, v) in fields {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    let mut boundary = String::from("----agent-console-");
    for b in h.finalize().iter().take(8) {
        let _ = write!(boundary, "{b:02x}");
    }
    while fields.iter().any(|(k, v)| k.contains(&boundary) || v.contains(&boundary)) {
        boundary.push('x');
    }
    let mut body = String::new();
    for (k, v) in fields {
        // Field names are our own constants: no quoting needed beyond this.
        let name = k.replace(['"', '\r', '\n'], "");
        let _ =
            write!(body, "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{v}\r\n");
    }
    let _ = write!(body, "--{boundary}--\r\n");
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Where the API is and the token it takes.
#[derive(Clone, PartialEq, Eq)]
pub struct SipCdrApi {
    api_url: String,
    token: String,
}

impl std::fmt::Debug for SipCdrApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipCdrApi").field("api_url", &self.api_url).finish_non_exhaustive()
    }
}

impl SipCdrApi {
    /// Checks the URL (http(s)) and the token (non-empty, printable).
    pub fn new(api_url: &str, token: &str) -> Result<Self, InvalidInput> {
        let u = check_http_url("apiUrl", api_url)?;
        let t = token.trim();
        if t.is_empty() {
            return Err(InvalidInput::new("token", Problem::Required, t));
        }
        if t.chars().any(char::is_control) || t.len() > 512 {
            return Err(InvalidInput::new(
                "token",
                Problem::Malformed,
                "a control character or over 512 bytes",
            ));
        }
        Ok(Self { api_url: u, token: t.to_string() })
    }

    /// The GetBill request for `q`.
    pub fn bills(&self, q: &BillQuery) -> HttpRequest {
        let (content_type, body) = multipart(&q.fields(&self.token));
        HttpRequest {
            method: Method::Post,
            url: self.api_url.clone(),
            headers: vec![
                ("Content-Type".into(), content_type),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(body),
            max_body: crate::http::DEFAULT_MAX_BODY,
        }
    }
}

/// One call record. Field names are the seed's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    /// Record id: strict (present, a whole number, as a number or a numeric
    /// string), it is what de-duplicates.
    #[serde(deserialize_with = "bill_id")]
    pub id: u64,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "string_lenient")]
    pub extnumber: String,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "string_lenient")]
    pub destnumber: String,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "string_lenient")]
    pub displaynumber: String,
    /// When the call was placed.
    #[serde(default, deserialize_with = "string_lenient")]
    pub starttime: String,
    /// When it was answered; `None` when it was not (`null` or `""`).
    #[serde(default, deserialize_with = "opt_string")]
    pub answertime: Option<String>,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "string_lenient")]
    pub endtime: String,
    /// Seconds from placing to the end.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub duration: u64,
    /// Seconds talked.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub billsec: u64,
    /// `callout`, `callin`, … as sent.
    #[serde(default, deserialize_with = "string_lenient")]
    pub direction: String,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "u64_lenient")]
    pub callmethod: u64,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "string_lenient")]
    pub userid: String,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "string_lenient")]
    pub memberid: String,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "string_lenient")]
    pub chengshudu: String,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "string_lenient")]
    pub customuuid: String,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "string_lenient")]
    pub recordfilename: String,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "string_lenient")]
    pub downloadip: String,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "u64_lenient")]
    pub hangupdirection: u64,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "u64_lenient")]
    pub hangupcause: u64,
    /// Keys the caller pressed.
    #[serde(default, deserialize_with = "string_lenient")]
    pub userkey: String,
}

fn bill_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = string_lenient(d)?;
    s.trim().parse().map_err(|_| serde::de::Error::custom(format!("bill id {s:?} is not a whole number")))
}

fn opt_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = string_lenient(d)?;
    Ok((!s.trim().is_empty()).then_some(s))
}

/// One page of bills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillPage {
    /// Bills matching the query, all pages.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub totalitems: u64,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "u64_lenient")]
    pub currentpage: u64,
    #[allow(missing_docs)]
    #[serde(default, deserialize_with = "u64_lenient")]
    pub itemsperpage: u64,
    /// This page's bills (decoded one by one: see `skipped`).
    #[serde(default, deserialize_with = "bills_lenient")]
    pub bills: Vec<Bill>,
    /// Bills of this page that did not decode and were left out. Filled by
    /// [`decode_bills`]; not a wire field.
    #[serde(default, skip_deserializing)]
    pub skipped: Skipped,
    /// `reqtime` (beside `result` in the reply's `data`): when the server
    /// took the request, Unix seconds; `None` when it sent none.
    #[serde(rename = "reqtime", default, deserialize_with = "crate::de::opt_u64_or_none")]
    pub request_time: Option<u64>,
    /// `rsptime`: when the server answered, Unix seconds; `None` when absent.
    #[serde(rename = "rsptime", default, deserialize_with = "crate::de::opt_u64_or_none")]
    pub response_time: Option<u64>,
}

fn bills_lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Bill>, D::Error> {
    Ok(Listed::<Bill>::deserialize(d)?.rows)
}

/// [`BillPage`] as it arrives, keeping what the row-by-row decode skipped.
#[derive(Deserialize)]
struct RawBillPage {
    #[serde(default, deserialize_with = "u64_lenient")]
    totalitems: u64,
    #[serde(default, deserialize_with = "u64_lenient")]
    currentpage: u64,
    #[serde(default, deserialize_with = "u64_lenient")]
    itemsperpage: u64,
    #[serde(default)]
    bills: Listed<Bill>,
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(deserialize_with = "string_lenient")]
    ret: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "string_lenient")]
    msg: String,
}

#[derive(Deserialize)]
struct RawData {
    #[serde(deserialize_with = "string_lenient")]
    status: String,
    #[serde(default, deserialize_with = "string_lenient")]
    desc: String,
    #[serde(default)]
    result: Option<RawBillPage>,
    // The seed sends the two times beside `result`, not in it.
    #[serde(default, deserialize_with = "crate::de::opt_u64_or_none")]
    reqtime: Option<u64>,
    #[serde(default, deserialize_with = "crate::de::opt_u64_or_none")]
    rsptime: Option<u64>,
}

/// Decodes a GetBill reply: `ret` other than 200 is a vendor error with
/// `msg` (or `data.desc`); `data.status` other than 0 is one with code
/// `status_<n>` and `desc` (or `msg`). A non-2xx reply keeps the message its
/// body carries. A bill that does not decode is left out and counted in
/// [`BillPage::skipped`].
pub fn decode_bills(resp: &HttpResponse) -> Result<BillPage, ApiError> {
    let env: RawEnvelope = match serde_json::from_slice(&resp.body) {
        Ok(e) => e,
        Err(_) if !(200..300).contains(&resp.status) => return Err(crate::envelope::http_error(resp)),
        Err(e) => return Err(ApiError::Decode(format!("not a GetBill envelope: {e}"))),
    };
    // The server's words for an error, wherever it put them.
    let desc = || {
        env.data
            .as_ref()
            .and_then(|d| d.get("desc"))
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let either = |a: String, b: String| if a.trim().is_empty() { b } else { a };
    // An empty `ret` (`null`, `""`) is no GetBill envelope: as a vendor
    // error it would carry no code.
    if env.ret.trim().is_empty() {
        return Err(if (200..300).contains(&resp.status) {
            ApiError::Decode("the reply's ret is empty".into())
        } else {
            crate::envelope::http_error(resp)
        });
    }
    if env.ret.trim() != "200" {
        return Err(ApiError::Vendor {
            code: env.ret.trim().to_string(),
            message: either(env.msg.clone(), desc()),
        });
    }
    if !(200..300).contains(&resp.status) {
        return Err(ApiError::Http { status: resp.status, message: either(env.msg.clone(), desc()) });
    }
    let data: RawData = serde_json::from_value(env.data.unwrap_or(serde_json::Value::Null))
        .map_err(|e| ApiError::Decode(format!("data: {e}")))?;
    if data.status.trim().is_empty() {
        return Err(ApiError::Decode("data.status is empty".into()));
    }
    if data.status.trim() != "0" {
        return Err(ApiError::Vendor {
            code: format!("status_{}", data.status.trim()),
            message: either(data.desc, env.msg),
        });
    }
    let r = data.result.ok_or_else(|| ApiError::Decode("data.result is missing".into()))?;
    Ok(BillPage {
        totalitems: r.totalitems,
        currentpage: r.currentpage,
        itemsperpage: r.itemsperpage,
        bills: r.bills.rows,
        skipped: r.bills.skipped,
        request_time: data.reqtime,
        response_time: data.rsptime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_refuse() {
        assert_eq!(SyncFlag::parse("1"), Ok(SyncFlag::Unfetched));
        assert_eq!(CallMethod::parse("6").map(CallMethod::code), Ok(6));
        assert!(Direction::parse("0").is_err());
        assert!(CallMethod::parse("7").is_err());
    }
}
