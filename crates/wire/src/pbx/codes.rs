//! The PBX error-code table (end of seed 003), with English for the console.

/// One documented vendor error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorCode {
    /// The code as sent (`"600000"`).
    pub code: &'static str,
    /// The seed's own text.
    pub zh: &'static str,
    /// Our English rendering.
    pub en: &'static str,
}

/// Every code the seed documents, in its order.
pub const VENDOR_CODES: &[VendorCode] = &[
    VendorCode {
        code: "510000",
        zh: "标记留言收取状态参数有误",
        en: "Invalid parameters for marking a voicemail read",
    },
    VendorCode { code: "510001", zh: "标记留言收取状态异常", en: "Could not mark the voicemail" },
    VendorCode { code: "600000", zh: "呼叫接口参数验证失败", en: "Invalid call parameters" },
    VendorCode { code: "600001", zh: "呼叫异常", en: "The call could not be placed" },
    VendorCode { code: "600002", zh: "挂断异常", en: "The call could not be hung up" },
    VendorCode { code: "600003", zh: "保持异常", en: "The call could not be put on hold" },
    VendorCode { code: "600004", zh: "接回保持异常", en: "The held call could not be resumed" },
    VendorCode { code: "600005", zh: "转接参数验证失败", en: "Invalid transfer parameters" },
    VendorCode { code: "600006", zh: "转接异常", en: "The transfer failed" },
    VendorCode {
        code: "600007", zh: "取消咨询转异常", en: "The attended transfer could not be cancelled"
    },
    VendorCode { code: "600008", zh: "代接电话参数验证失败", en: "Invalid pickup parameters" },
    VendorCode { code: "600009", zh: "代接电话失败", en: "The pickup failed" },
    VendorCode { code: "600010", zh: "强插参数验证失败", en: "Invalid barge parameters" },
    VendorCode { code: "600011", zh: "强插失败", en: "The barge failed" },
    VendorCode { code: "600012", zh: "监听参数验证失败", en: "Invalid monitor parameters" },
    VendorCode { code: "600013", zh: "监听失败", en: "Monitoring failed" },
    VendorCode { code: "600014", zh: "督导参数验证失败", en: "Invalid whisper parameters" },
    VendorCode { code: "600015", zh: "督导失败", en: "The whisper failed" },
    VendorCode { code: "600016", zh: "驻留失败", en: "The call could not be parked" },
    VendorCode { code: "600017", zh: "接回驻留参数验证失败", en: "Invalid unpark parameters" },
    VendorCode { code: "600018", zh: "驻留通话已挂断", en: "The parked call has already hung up" },
    VendorCode { code: "600019", zh: "来电重定向参数验证失败", en: "Invalid redirect parameters" },
    VendorCode { code: "600020", zh: "来电重定向异常", en: "The redirect failed" },
    VendorCode {
        code: "600021",
        zh: "话机听取录音参数验证失败",
        en: "Invalid parameters for playing a recording on the phone",
    },
    VendorCode {
        code: "600022",
        zh: "话机听取录音异常",
        en: "The recording could not be played on the phone",
    },
    VendorCode { code: "610000", zh: "座席签入异常", en: "Agent sign-in failed" },
    VendorCode { code: "610001", zh: "座席签出参数有误", en: "Invalid agent sign-out parameters" },
    VendorCode { code: "610002", zh: "座席签出异常", en: "Agent sign-out failed" },
    VendorCode {
        code: "610003", zh: "设置座席状态参数有误", en: "Invalid agent status parameters"
    },
    VendorCode { code: "610004", zh: "设置座席状态异常", en: "The agent status could not be set" },
    VendorCode {
        code: "610005", zh: "修改排队优先级参数有误", en: "Invalid queue priority parameters"
    },
    VendorCode {
        code: "610006", zh: "修改排队优先级异常", en: "The queue priority could not be changed"
    },
    VendorCode { code: "610007", zh: "座席签入参数有误", en: "Invalid agent sign-in parameters" },
];

/// Looks a code up in the table.
pub fn lookup(code: &str) -> Option<&'static VendorCode> {
    VENDOR_CODES.iter().find(|c| c.code == code)
}
