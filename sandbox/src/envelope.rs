//! The PBX ("dscom-api") reply envelope: `{code, msg, data, total}`.
//!
//! The vendor answers HTTP 200 even for business errors and puts the outcome in `code`, a
//! *string*; the error-code table at the end of seed 003 gives each code's text, and `msg`
//! starts with that text so a client can show it verbatim.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

/// The envelope as a struct so the keys keep the vendor's order (`code, msg, data, total`).
#[derive(Debug, Serialize)]
pub struct Envelope<T: Serialize> {
    /// `"200"` or an error code, always a string.
    pub code: &'static str,
    /// `"成功"` or the error text.
    pub msg: String,
    /// The payload; `[]` when there is none.
    pub data: T,
    /// Row count for lists (before paging), 0 otherwise.
    pub total: u64,
}

/// `msg` of every successful reply ("success").
pub const MSG_OK: &str = "成功";

/// A business error code from seed 003's table (plus two sandbox-chosen HTTP-like codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PbxCode {
    /// 600000 呼叫接口参数验证失败: call API parameter validation failed.
    CallParams,
    /// 600001 呼叫异常: the call could not be placed.
    CallFailed,
    /// 600002 挂断异常: the hangup failed (e.g. no such call).
    HangupFailed,
    /// "400": the seed has no code for invalid status-query parameters; this is the
    /// sandbox's choice, documented in the crate's reply to the integrator.
    BadQuery,
    /// "404": unknown route under the vendor prefix.
    NotFound,
    /// "405": known route, wrong method.
    MethodNotAllowed,
}

impl PbxCode {
    /// The code as sent on the wire (always a string).
    pub fn code(self) -> &'static str {
        match self {
            PbxCode::CallParams => "600000",
            PbxCode::CallFailed => "600001",
            PbxCode::HangupFailed => "600002",
            PbxCode::BadQuery => "400",
            PbxCode::NotFound => "404",
            PbxCode::MethodNotAllowed => "405",
        }
    }

    /// The table's text for the code; `msg` starts with it.
    pub fn text(self) -> &'static str {
        match self {
            PbxCode::CallParams => "呼叫接口参数验证失败",
            PbxCode::CallFailed => "呼叫异常",
            PbxCode::HangupFailed => "挂断异常",
            PbxCode::BadQuery => "参数验证失败",
            PbxCode::NotFound => "接口不存在",
            PbxCode::MethodNotAllowed => "请求方法不支持",
        }
    }
}

/// An envelope error: a code plus a human detail appended to the code's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxError {
    /// Which table entry.
    pub code: PbxCode,
    /// Extra detail, e.g. which field was wrong; may be empty.
    pub detail: String,
}

impl PbxError {
    /// Builds an error with a detail message.
    pub fn new(code: PbxCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }
}

impl IntoResponse for PbxError {
    fn into_response(self) -> Response {
        let msg = if self.detail.is_empty() {
            self.code.text().to_string()
        } else {
            format!("{}: {}", self.code.text(), self.detail)
        };
        let status = match self.code {
            // Unknown routes and wrong methods are real HTTP errors even on this PBX.
            PbxCode::NotFound => StatusCode::NOT_FOUND,
            PbxCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::OK,
        };
        let body = Envelope { code: self.code.code(), msg, data: empty(), total: 0 };
        (status, Json(body)).into_response()
    }
}

/// A successful envelope: HTTP 200, `code: "200"`, `msg: "成功"`.
pub fn ok(data: impl Serialize, total: u64) -> Response {
    Json(Envelope { code: "200", msg: MSG_OK.to_string(), data, total }).into_response()
}

/// The seed's "no data" value: an empty JSON array, not `null` or `{}`.
pub fn empty() -> Value {
    Value::Array(Vec::new())
}

/// Laravel's reply when the bearer token is missing, unknown or expired.
pub fn unauthenticated() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"message": "Unauthenticated."}))).into_response()
}
