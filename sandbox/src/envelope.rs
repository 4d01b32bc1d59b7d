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

/// A business error code from seed 003's table (every entry), plus three HTTP-like codes
/// the sandbox chose for what the table does not cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PbxCode {
    /// 510000 标记留言收取状态参数有误: marking a voicemail read/unread: bad parameters.
    VoicemailParams,
    /// 510001 标记留言收取状态异常: marking a voicemail read/unread failed (no such voicemail).
    VoicemailFailed,
    /// 600000 呼叫接口参数验证失败: call API parameter validation failed.
    CallParams,
    /// 600001 呼叫异常: the call could not be placed.
    CallFailed,
    /// 600002 挂断异常: the hangup failed (e.g. no such call).
    HangupFailed,
    /// 600003 保持异常: hold failed (no answered call, or already held).
    HoldFailed,
    /// 600004 接回保持异常: unhold failed (nothing held).
    UnholdFailed,
    /// 600005 转接参数验证失败: transfer parameters invalid.
    TransferParams,
    /// 600006 转接异常: the transfer failed.
    TransferFailed,
    /// 600007 取消咨询转异常: no attended transfer to cancel.
    CancelAtxferFailed,
    /// 600008 代接电话参数验证失败: pickup parameters invalid.
    PickupParams,
    /// 600009 代接电话失败: pickup failed (dest not ringing).
    PickupFailed,
    /// 600010 强插参数验证失败: barge parameters invalid.
    BargeParams,
    /// 600011 强插失败: barge failed.
    BargeFailed,
    /// 600012 监听参数验证失败: monitor (listen) parameters invalid.
    MonitorParams,
    /// 600013 监听失败: monitor failed.
    MonitorFailed,
    /// 600014 督导参数验证失败: whisper (coach) parameters invalid.
    WhisperParams,
    /// 600015 督导失败: whisper failed.
    WhisperFailed,
    /// 600016 驻留失败: park failed (no answered call).
    ParkFailed,
    /// 600017 接回驻留参数验证失败: unpark parameters invalid.
    UnparkParams,
    /// 600018 驻留通话已挂断: no such parked call (or it hung up).
    UnparkFailed,
    /// 600019 来电重定向参数验证失败: redirect parameters invalid.
    RedirectParams,
    /// 600020 来电重定向异常: redirect failed (no such waiting caller).
    RedirectFailed,
    /// 600021 话机听取录音参数验证失败: handset playback parameters invalid.
    HandsetPlayParams,
    /// 600022 话机听取录音异常: handset playback failed (unknown file).
    HandsetPlayFailed,
    /// 610000 座席签入异常: agent sign-in failed.
    AgentLoginFailed,
    /// 610001 座席签出参数有误: agent sign-out parameters invalid.
    AgentLogoutParams,
    /// 610002 座席签出异常: agent sign-out failed (not signed in).
    AgentLogoutFailed,
    /// 610003 设置座席状态参数有误: agent pause parameters invalid.
    AgentPauseParams,
    /// 610004 设置座席状态异常: agent pause failed (not signed in).
    AgentPauseFailed,
    /// 610005 修改排队优先级参数有误: queue priority parameters invalid (no route in the seed).
    QueuePrioParams,
    /// 610006 修改排队优先级异常: queue priority change failed (no route in the seed).
    QueuePrioFailed,
    /// 610007 座席签入参数有误: agent sign-in parameters invalid.
    AgentLoginParams,
    /// "400": the seed has no code for invalid list-query parameters; this is the
    /// sandbox's choice, recorded in `docs/pbx-desk.md`.
    BadQuery,
    /// "404": unknown route under the vendor prefix.
    NotFound,
    /// "405": known route, wrong method.
    MethodNotAllowed,
}

impl PbxCode {
    /// Every code of the seed's table, in its order.
    pub const TABLE: [PbxCode; 33] = [
        PbxCode::VoicemailParams,
        PbxCode::VoicemailFailed,
        PbxCode::CallParams,
        PbxCode::CallFailed,
        PbxCode::HangupFailed,
        PbxCode::HoldFailed,
        PbxCode::UnholdFailed,
        PbxCode::TransferParams,
        PbxCode::TransferFailed,
        PbxCode::CancelAtxferFailed,
        PbxCode::PickupParams,
        PbxCode::PickupFailed,
        PbxCode::BargeParams,
        PbxCode::BargeFailed,
        PbxCode::MonitorParams,
        PbxCode::MonitorFailed,
        PbxCode::WhisperParams,
        PbxCode::WhisperFailed,
        PbxCode::ParkFailed,
        PbxCode::UnparkParams,
        PbxCode::UnparkFailed,
        PbxCode::RedirectParams,
        PbxCode::RedirectFailed,
        PbxCode::HandsetPlayParams,
        PbxCode::HandsetPlayFailed,
        PbxCode::AgentLoginFailed,
        PbxCode::AgentLogoutParams,
        PbxCode::AgentLogoutFailed,
        PbxCode::AgentPauseParams,
        PbxCode::AgentPauseFailed,
        PbxCode::QueuePrioParams,
        PbxCode::QueuePrioFailed,
        PbxCode::AgentLoginParams,
    ];

    /// The code as sent on the wire (always a string).
    pub fn code(self) -> &'static str {
        match self {
            PbxCode::VoicemailParams => "510000",
            PbxCode::VoicemailFailed => "510001",
            PbxCode::CallParams => "600000",
            PbxCode::CallFailed => "600001",
            PbxCode::HangupFailed => "600002",
            PbxCode::HoldFailed => "600003",
            PbxCode::UnholdFailed => "600004",
            PbxCode::TransferParams => "600005",
            PbxCode::TransferFailed => "600006",
            PbxCode::CancelAtxferFailed => "600007",
            PbxCode::PickupParams => "600008",
            PbxCode::PickupFailed => "600009",
            PbxCode::BargeParams => "600010",
            PbxCode::BargeFailed => "600011",
            PbxCode::MonitorParams => "600012",
            PbxCode::MonitorFailed => "600013",
            PbxCode::WhisperParams => "600014",
            PbxCode::WhisperFailed => "600015",
            PbxCode::ParkFailed => "600016",
            PbxCode::UnparkParams => "600017",
            PbxCode::UnparkFailed => "600018",
            PbxCode::RedirectParams => "600019",
            PbxCode::RedirectFailed => "600020",
            PbxCode::HandsetPlayParams => "600021",
            PbxCode::HandsetPlayFailed => "600022",
            PbxCode::AgentLoginFailed => "610000",
            PbxCode::AgentLogoutParams => "610001",
            PbxCode::AgentLogoutFailed => "610002",
            PbxCode::AgentPauseParams => "610003",
            PbxCode::AgentPauseFailed => "610004",
            PbxCode::QueuePrioParams => "610005",
            PbxCode::QueuePrioFailed => "610006",
            PbxCode::AgentLoginParams => "610007",
            PbxCode::BadQuery => "400",
            PbxCode::NotFound => "404",
            PbxCode::MethodNotAllowed => "405",
        }
    }

    /// The table's text for the code; `msg` starts with it.
    pub fn text(self) -> &'static str {
        match self {
            PbxCode::VoicemailParams => "标记留言收取状态参数有误",
            PbxCode::VoicemailFailed => "标记留言收取状态异常",
            PbxCode::CallParams => "呼叫接口参数验证失败",
            PbxCode::CallFailed => "呼叫异常",
            PbxCode::HangupFailed => "挂断异常",
            PbxCode::HoldFailed => "保持异常",
            PbxCode::UnholdFailed => "接回保持异常",
            PbxCode::TransferParams => "转接参数验证失败",
            PbxCode::TransferFailed => "转接异常",
            PbxCode::CancelAtxferFailed => "取消咨询转异常",
            PbxCode::PickupParams => "代接电话参数验证失败",
            PbxCode::PickupFailed => "代接电话失败",
            PbxCode::BargeParams => "强插参数验证失败",
            PbxCode::BargeFailed => "强插失败",
            PbxCode::MonitorParams => "监听参数验证失败",
            PbxCode::MonitorFailed => "监听失败",
            PbxCode::WhisperParams => "督导参数验证失败",
            PbxCode::WhisperFailed => "督导失败",
            PbxCode::ParkFailed => "驻留失败",
            PbxCode::UnparkParams => "接回驻留参数验证失败",
            PbxCode::UnparkFailed => "驻留通话已挂断",
            PbxCode::RedirectParams => "来电重定向参数验证失败",
            PbxCode::RedirectFailed => "来电重定向异常",
            PbxCode::HandsetPlayParams => "话机听取录音参数验证失败",
            PbxCode::HandsetPlayFailed => "话机听取录音异常",
            PbxCode::AgentLoginFailed => "座席签入异常",
            PbxCode::AgentLogoutParams => "座席签出参数有误",
            PbxCode::AgentLogoutFailed => "座席签出异常",
            PbxCode::AgentPauseParams => "设置座席状态参数有误",
            PbxCode::AgentPauseFailed => "设置座席状态异常",
            PbxCode::QueuePrioParams => "修改排队优先级参数有误",
            PbxCode::QueuePrioFailed => "修改排队优先级异常",
            PbxCode::AgentLoginParams => "座席签入参数有误",
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
