//! The code envelope `{code, msg, data, total}` of the PBX (seed 003); the
//! callback API (seed 002) sends the same shape with `success` and no `total`.

use crate::de::{string_lenient, u64_lenient, Listed, Skipped};
use crate::{ApiError, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A successful reply: the decoded `data` plus `total` and `msg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<T> {
    /// The payload.
    pub data: T,
    /// `total` (record count for lists; 0 otherwise).
    pub total: u64,
    /// The vendor's message (`成功`).
    pub msg: String,
    /// For lists: the rows that did not decode and were left out (none for
    /// other replies).
    pub skipped: Skipped,
}

#[derive(Deserialize)]
struct RawEnvelope {
    // Strict where it matters: a reply without a code is not a success.
    #[serde(deserialize_with = "string_lenient")]
    code: String,
    #[serde(default, deserialize_with = "string_lenient")]
    msg: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "u64_lenient")]
    total: u64,
}

/// Messages a non-envelope error body may carry (Laravel / Passport style).
#[derive(Deserialize, Default)]
struct RawHttpError {
    #[serde(default, deserialize_with = "string_lenient")]
    message: String,
    #[serde(default, deserialize_with = "string_lenient")]
    error_description: String,
    #[serde(default, deserialize_with = "string_lenient")]
    msg: String,
}

/// A message from an error body, if it has one.
pub(crate) fn http_error(resp: &HttpResponse) -> ApiError {
    let raw: RawHttpError = serde_json::from_slice(&resp.body).unwrap_or_default();
    let message =
        [raw.error_description, raw.message, raw.msg].into_iter().find(|m| !m.is_empty()).unwrap_or_default();
    ApiError::Http { status: resp.status, message }
}

/// Decodes an envelope reply: non-2xx statuses become [`ApiError::Http`]
/// (unless the body is an envelope with an error code), `code != "200"`
/// becomes [`ApiError::Vendor`], and `data` decodes into `T` (missing or
/// `null` data decodes as JSON `null`, so `Option`/`Empty` payloads work).
pub fn decode<T: DeserializeOwned>(resp: &HttpResponse) -> Result<Reply<T>, ApiError> {
    let env: Result<RawEnvelope, _> = serde_json::from_slice(&resp.body);
    let env = match env {
        Ok(env) => env,
        Err(e) if (200..300).contains(&resp.status) => {
            return Err(ApiError::Decode(format!("not a {{code, msg, data}} envelope: {e}")))
        }
        Err(_) => return Err(http_error(resp)),
    };
    let code = env.code.trim();
    // `"code": null`, `""` or a bare `[null]` is no envelope: as a vendor
    // error it would carry no code to show or switch on.
    if code.is_empty() {
        return Err(if (200..300).contains(&resp.status) {
            ApiError::Decode("the reply's code is empty".into())
        } else {
            http_error(resp)
        });
    }
    if code != "200" {
        return Err(ApiError::Vendor { code: code.to_string(), message: env.msg });
    }
    if !(200..300).contains(&resp.status) {
        return Err(http_error(resp));
    }
    let data = env.data.unwrap_or(serde_json::Value::Null);
    let data = T::deserialize(data).map_err(|e| ApiError::Decode(format!("data: {e}")))?;
    Ok(Reply { data, total: env.total, msg: env.msg, skipped: Skipped::default() })
}

/// Decodes a list reply row by row: `data` as rows (`[]`, `{}`, `null` or
/// missing → none); a row that does not decode is left out and counted in
/// [`Reply::skipped`] instead of failing the page.
pub fn decode_list<T: DeserializeOwned>(resp: &HttpResponse) -> Result<Reply<Vec<T>>, ApiError> {
    let r = decode::<Listed<T>>(resp)?;
    Ok(Reply { data: r.data.rows, total: r.total, msg: r.msg, skipped: r.data.skipped })
}
