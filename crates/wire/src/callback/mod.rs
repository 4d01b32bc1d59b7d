//! The two-way callback API (seed 002): the platform rings the agent's phone,
//! then bridges the customer. Requests carry a signed `Authorization` header
//! ([`sign`]); this module builds them unsigned and decodes the replies. The
//! core (`agent_console_core::callback`) signs, corrects the clock and retries.
//!
//! Wire decisions the seed leaves open are in `docs/callback-sipcdr.md`.

mod webhook;

pub use webhook::{HangupReason, RecordingResult, StatusNotification};

use crate::de::string_lenient;
use crate::http::check_http_url;
use crate::{ApiError, HttpRequest, HttpResponse, InvalidInput, Method, Problem};
use base64::Engine as _;
use md5::{Digest, Md5};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fmt::Write as _;

/// Path of "start a call" under the base URL.
pub const CALL_PATH: &str = "/api/qmc-call/openapi/v1/call";
/// Path of "end a call" under the base URL.
pub const END_CALL_PATH: &str = "/api/qmc-call/openapi/v1/endCall";
/// Path of "get the recording" under the record URL.
pub const RECORD_PATH: &str = "/api/qmc-cdr/openapi/v1/record";
/// Longest `outCallId` the seed allows.
pub const OUT_CALL_ID_MAX: usize = 64;
/// How far a timestamp may be off the server's clock (seed: 5 minutes).
pub const SKEW_WINDOW_MS: i64 = 5 * 60 * 1000;

/// The account id (`APPID`, a Long in the seed: decimal digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AppId(String);

impl AppId {
    /// Checks `value` as the field `appId`.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        let v = value.trim();
        if v.is_empty() {
            return Err(InvalidInput::new("appId", Problem::Required, value));
        }
        if v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidInput::new("appId", Problem::Malformed, "appId must be 1-19 digits"));
        }
        Ok(Self(v.to_string()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The shared secret (`APPSECRET`). Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct AppSecret(String);

impl AppSecret {
    /// Checks `value` as the field `appSecret`: non-empty, no colon (it is
    /// joined with colons before hashing).
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        if value.is_empty() {
            return Err(InvalidInput::new("appSecret", Problem::Required, ""));
        }
        if value.contains(':') || value.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "appSecret",
                Problem::Malformed,
                "appSecret has a ':' or a control character",
            ));
        }
        Ok(Self(value.to_string()))
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecret(…)")
    }
}

/// The `Authorization` value for `timestamp_ms`:
/// `base64("APPID:ts:" + md5_hex("APPID:APPSECRET:ts"))`.
pub fn sign(app_id: &AppId, secret: &AppSecret, timestamp_ms: u64) -> String {
    let digest = Md5::digest(format!("{}:{}:{timestamp_ms}", app_id.0, secret.0).as_bytes());
    let mut hex = String::with_capacity(32);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{b:02x}");
    }
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{timestamp_ms}:{hex}", app_id.0))
}

/// A number the platform rings: 5-20 digits, optional leading `+`. Spaces
/// and dashes people type are removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CallNumber(String);

impl CallNumber {
    /// Checks `value` as the field `field`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        let v: String = value.chars().filter(|c| !matches!(c, ' ' | '-' | '\u{a0}')).collect();
        if v.is_empty() {
            return Err(InvalidInput::new(field, Problem::Required, value));
        }
        let digits = v.strip_prefix('+').unwrap_or(&v);
        if !(5..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidInput::new(field, Problem::NotPhoneNumber, value));
        }
        Ok(Self(v))
    }

    /// The number as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The platform's id of one call (`callidentifier`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallIdentifier(String);

impl CallIdentifier {
    /// Checks `value` as the field `callidentifier`: non-empty, at most 64
    /// printable ASCII characters (the seed's `String(64)`).
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        let v = value.trim();
        if v.is_empty() {
            return Err(InvalidInput::new("callidentifier", Problem::Required, value));
        }
        if v.len() > 64 || !v.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidInput::new("callidentifier", Problem::Malformed, v));
        }
        Ok(Self(v.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A checked "start a call" request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    /// The agent's phone, rung first.
    pub caller: CallNumber,
    /// The customer, bridged after the caller answers.
    pub callee: CallNumber,
    /// Pass-through id echoed in the status notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_call_id: Option<String>,
}

impl CallRequest {
    /// Checks the fields; an empty `out_call_id` means none.
    pub fn parse(caller: &str, callee: &str, out_call_id: Option<&str>) -> Result<Self, InvalidInput> {
        let out_call_id = match out_call_id.map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) if id.chars().count() > OUT_CALL_ID_MAX => {
                return Err(InvalidInput::new(
                    "outCallId",
                    Problem::TooLong { max: OUT_CALL_ID_MAX as u64 },
                    id,
                ))
            }
            Some(id) if id.chars().any(char::is_control) => {
                return Err(InvalidInput::new("outCallId", Problem::Malformed, "a control character"))
            }
            other => other.map(str::to_string),
        };
        Ok(Self {
            caller: CallNumber::parse("caller", caller)?,
            callee: CallNumber::parse("callee", callee)?,
            out_call_id,
        })
    }
}

/// `data` of a started call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallStarted {
    /// The call's id.
    pub callidentifier: CallIdentifier,
}

/// `data` of a recording request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    /// Where the file is (valid three days after the call).
    pub file_url: String,
}

/// Where the two hosts of the platform are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackApi {
    base_url: String,
    record_url: String,
}

impl CallbackApi {
    /// Checks both URLs; an empty `record_url` means the base URL.
    pub fn new(base_url: &str, record_url: &str) -> Result<Self, InvalidInput> {
        let base_url = check_http_url("baseUrl", base_url)?;
        let record_url = if record_url.trim().is_empty() {
            base_url.clone()
        } else {
            check_http_url("recordUrl", record_url)?
        };
        Ok(Self { base_url, record_url })
    }

    /// The call host.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The recording host.
    pub fn record_url(&self) -> &str {
        &self.record_url
    }

    fn post(url: String, body: &impl Serialize) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url,
            headers: vec![
                ("Content-Type".into(), "application/json;charset=utf-8".into()),
                ("Accept".into(), "application/json".into()),
            ],
            // Serialising plain structs of strings cannot fail.
            body: Some(serde_json::to_string(body).unwrap_or_default()),
            max_body: crate::http::DEFAULT_MAX_BODY,
        }
    }

    /// `call`, unsigned.
    pub fn call(&self, r: &CallRequest) -> HttpRequest {
        Self::post(format!("{}{CALL_PATH}", self.base_url), r)
    }

    /// `endCall`, unsigned.
    pub fn end_call(&self, id: &CallIdentifier) -> HttpRequest {
        Self::post(format!("{}{END_CALL_PATH}", self.base_url), &serde_json::json!({ "callidentifier": id }))
    }

    /// `record`, unsigned.
    pub fn recording(&self, id: &CallIdentifier) -> HttpRequest {
        Self::post(format!("{}{RECORD_PATH}", self.record_url), &serde_json::json!({ "callidentifier": id }))
    }
}

/// `{code, success, msg, data}` is the PBX's code envelope without `total`:
/// any code but 200 is a vendor error.
fn decode<T: DeserializeOwned>(resp: &HttpResponse) -> Result<T, ApiError> {
    crate::envelope::decode(resp).map(|r| r.data)
}

#[derive(Deserialize)]
struct RawCallStarted {
    #[serde(default, deserialize_with = "string_lenient")]
    callidentifier: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecording {
    #[serde(default, deserialize_with = "string_lenient")]
    file_url: String,
}

/// Decodes a `call` reply. The id is trimmed (the seed's example wraps it
/// in a line break) and must be there.
pub fn decode_call(resp: &HttpResponse) -> Result<CallStarted, ApiError> {
    let raw: RawCallStarted = decode(resp)?;
    let callidentifier = CallIdentifier::parse(&raw.callidentifier)
        .map_err(|_| ApiError::Decode(format!("callidentifier {:?} is not an id", raw.callidentifier)))?;
    Ok(CallStarted { callidentifier })
}

/// Decodes an `endCall` reply (no payload).
pub fn decode_end_call(resp: &HttpResponse) -> Result<(), ApiError> {
    decode::<serde::de::IgnoredAny>(resp).map(|_| ())
}

/// Decodes a `record` reply; the URL must be http(s).
pub fn decode_recording(resp: &HttpResponse) -> Result<Recording, ApiError> {
    let raw: RawRecording = decode(resp)?;
    let url = raw.file_url.trim();
    // The console plays it in an `<audio src>`: the link check, not a prefix test.
    let url = crate::http::check_web_link(url)
        .map_err(|_| ApiError::Decode(format!("fileUrl {url:?} is not an http(s) URL")))?;
    Ok(Recording { file_url: url.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_header_decodes_to_its_parts() {
        // The seed's example header (line breaks removed): APPID, ts and a sign.
        let h = "MTY5NjA1NDMwOTk2OTEwNDg5ODoxNjkzMjcwMjI2NjQyOmFhNzI2MzlhODY4NDljM2MyZTJiZjljMmVjYzExOTdi";
        let raw = base64::engine::general_purpose::STANDARD.decode(h).unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            "1696054309969104898:1693270226642:aa72639a86849c3c2e2bf9c2ecc1197b"
        );
    }
}
