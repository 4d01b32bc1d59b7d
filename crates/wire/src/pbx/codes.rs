//! The PBX error-code table (end of seed 003): the codes and the seed's own
//! text. English for people is in the words crate (`words::pbx::codes`).

/// One documented vendor error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorCode {
    /// The code as sent (`"600000"`).
    pub code: &'static str,
    /// The seed's own text.
    pub zh: &'static str,
}

/// Every code the seed documents, in its order.
pub const VENDOR_CODES: &[VendorCode] = &[
    VendorCode { code: "510000", zh: "标记留言收取状态参数有误" },
    VendorCode { code: "510001", zh: "标记留言收取状态异常" },
    VendorCode { code: "600000", zh: "呼叫接口参数验证失败" },
    VendorCode { code: "600001", zh: "呼叫异常" },
    VendorCode { code: "600002", zh: "挂断异常" },
    VendorCode { code: "600003", zh: "保持异常" },
    VendorCode { code: "600004", zh: "接回保持异常" },
    VendorCode { code: "600005", zh: "转接参数验证失败" },
    VendorCode { code: "600006", zh: "转接异常" },
    VendorCode { code: "600007", zh: "取消咨询转异常" },
    VendorCode { code: "600008", zh: "代接电话参数验证失败" },
    VendorCode { code: "600009", zh: "代接电话失败" },
    VendorCode { code: "600010", zh: "强插参数验证失败" },
    VendorCode { code: "600011", zh: "强插失败" },
    VendorCode { code: "600012", zh: "监听参数验证失败" },
    VendorCode { code: "600013", zh: "监听失败" },
    VendorCode { code: "600014", zh: "督导参数验证失败" },
    VendorCode { code: "600015", zh: "督导失败" },
    VendorCode { code: "600016", zh: "驻留失败" },
    VendorCode { code: "600017", zh: "接回驻留参数验证失败" },
    VendorCode { code: "600018", zh: "驻留通话已挂断" },
    VendorCode { code: "600019", zh: "来电重定向参数验证失败" },
    VendorCode { code: "600020", zh: "来电重定向异常" },
    VendorCode { code: "600021", zh: "话机听取录音参数验证失败" },
    VendorCode { code: "600022", zh: "话机听取录音异常" },
    VendorCode { code: "610000", zh: "座席签入异常" },
    VendorCode { code: "610001", zh: "座席签出参数有误" },
    VendorCode { code: "610002", zh: "座席签出异常" },
    VendorCode { code: "610003", zh: "设置座席状态参数有误" },
    VendorCode { code: "610004", zh: "设置座席状态异常" },
    VendorCode { code: "610005", zh: "修改排队优先级参数有误" },
    VendorCode { code: "610006", zh: "修改排队优先级异常" },
    VendorCode { code: "610007", zh: "座席签入参数有误" },
];

/// Looks a code up in the table.
pub fn lookup(code: &str) -> Option<&'static VendorCode> {
    VENDOR_CODES.iter().find(|c| c.code == code)
}
