//! People's words for errors: every [`Error`] of the core (and the wire
//! errors inside it) in Chinese or English.

use crate::pbx::codes::vendor_code_en;
use crate::Lang;
use agent_console_core::Error;
use agent_console_wire::pbx::codes;
use agent_console_wire::{bytes_text, ids::DIAL_META, ApiError, InvalidInput, Problem};

/// The person-facing message of `e`.
pub fn error_message(e: &Error, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    match e {
        Error::Network(detail) => {
            if zh {
                format!("网络错误，无法连接服务器，请检查网络后重试（{detail}）")
            } else {
                format!("Network error: the server could not be reached. Check the connection and try again ({detail}).")
            }
        }
        Error::SignedOut => {
            if zh {
                "已退出登录，请重新登录".into()
            } else {
                "Signed out: sign in again.".into()
            }
        }
        Error::CredentialsRejected(refusal) => {
            let why = error_message(&Error::Api(refusal.clone()), lang);
            if zh {
                format!("登录凭据被服务器拒绝，已停止自动重试，请核对后重新登录（{why}）")
            } else {
                format!("The server rejected the sign-in credentials; automatic retries have stopped. Check them and sign in again ({why}).")
            }
        }
        Error::Signer(detail) => {
            if zh {
                format!("签名服务出错，无法生成请求签名（{detail}）")
            } else {
                format!("The signer failed to produce the request signature ({detail}).")
            }
        }
        Error::Truncated { list, end, rows } => {
            let repeated = *end == agent_console_core::paging::WalkEnd::Repeated;
            match (zh, repeated) {
                (true, true) => format!("{list} 未读全：服务器对下一页返回了已读过的记录（可能不支持分页），已读取 {rows} 条，其余未能读取"),
                (true, false) => format!("{list} 未读全：已达到单次读取上限（{rows} 条），其余未读取，请缩小时间范围"),
                (false, true) => format!("{list} is incomplete: the server answered the next page with rows already read (it may not support paging); {rows} rows read, the rest could not be"),
                (false, false) => format!("{list} is incomplete: the read stopped at its limit of {rows} rows; narrow the time range to see the rest"),
            }
        }
        Error::InvalidState(what) => {
            let (zh, en) = state_words(what);
            if zh_lang(lang) {
                zh.to_string()
            } else {
                en.to_string()
            }
        }
        Error::Api(ApiError::InvalidInput(i)) => {
            if zh {
                format!("输入有误（{}）：{}", i.field, reason_zh(i))
            } else {
                format!("Invalid input ({}): {}", i.field, i.reason_en())
            }
        }
        Error::Api(ApiError::Vendor { code, message }) => match codes::lookup(code) {
            // The table's words, then the server's: its `msg` often says
            // which parameter was wrong. Left out when it only repeats the table.
            Some(c) => match vendor_words(message, c.zh) {
                Some(m) if zh => format!("{}（错误码 {code}）：{m}", c.zh),
                Some(m) => format!("{} (code {code}): {m}", vendor_code_en(code).unwrap_or(c.zh)),
                None if zh => format!("{}（错误码 {code}）", c.zh),
                None => format!("{} (code {code})", vendor_code_en(code).unwrap_or(c.zh)),
            },
            None if zh => format!("服务器返回错误 {code}：{message}"),
            None => format!("The server returned error {code}: {message}"),
        },
        Error::Api(ApiError::Http { status, message }) => {
            let hint = match (status, zh) {
                (401, true) => "认证失败或登录已过期，请检查客户端 ID、密钥或重新登录",
                (401, false) => "not authorised: check the client id and secret, or sign in again",
                (400, true) => "请求被拒绝，请检查用户名和密码",
                (400, false) => "request refused: check the user name and password",
                (404, true) => "接口不存在，请检查服务器地址",
                (404, false) => "no such endpoint: check the server URL",
                (_, true) => "服务器错误",
                (_, false) => "server error",
            };
            if message.is_empty() {
                format!("HTTP {status}: {hint}")
            } else {
                format!("HTTP {status}: {hint} ({message})")
            }
        }
        Error::Api(ApiError::Decode(d)) => {
            if zh {
                format!("服务器回复格式无法识别（{d}）")
            } else {
                format!("The server's reply could not be understood ({d})")
            }
        }
        Error::Api(ApiError::Refused { message }) => {
            if zh {
                format!("服务器拒绝了请求：{message}")
            } else {
                format!("The server refused the request: {message}")
            }
        }
        Error::Api(ApiError::TooLarge { limit }) => {
            let cap = agent_console_wire::bytes_text(*limit);
            if zh {
                format!("服务器回复过大（超过 {cap}），已拒收；请缩小查询范围或联系管理员")
            } else {
                format!("The server's reply was too large (over {cap}) and was refused; narrow the request or ask the administrator.")
            }
        }
        // Future variants of the non-exhaustive api error.
        #[allow(unreachable_patterns)]
        Error::Api(other) => other.to_string(),
        // Future variants of the non-exhaustive core error.
        #[allow(unreachable_patterns)]
        other => other.to_string(),
    }
}

/// The server's `msg` of a known code, unless it adds nothing to the
/// table's text `table` (empty, or the same words).
fn vendor_words<'a>(message: &'a str, table: &str) -> Option<&'a str> {
    let m = message.trim();
    let bare = |s: &str| s.trim().trim_end_matches(['。', '.', '!', '！']).to_string();
    (!m.is_empty() && bare(m) != bare(table)).then_some(m)
}

/// The quiet line under a list when some of its rows could not be read:
/// how many, and the first reason.
pub fn skipped_rows(skipped: &agent_console_wire::de::Skipped, lang: Lang) -> String {
    let n = skipped.count;
    let why = match skipped.reasons.first() {
        Some(r) if lang == Lang::Zh => format!("（{r}）"),
        Some(r) => format!(" ({r})"),
        None => String::new(),
    };
    match lang {
        Lang::Zh => format!("另有 {n} 条记录无法识别，未显示{why}"),
        Lang::En if n == 1 => format!("1 more row could not be read and is not shown{why}"),
        Lang::En => format!("{n} more rows could not be read and are not shown{why}"),
    }
}

/// The person-facing message of an error, in a language: the words live
/// here, above the layers whose errors they describe.
pub trait Message {
    /// A message for a person, in `lang`.
    fn message(&self, lang: Lang) -> String;
}

impl Message for Error {
    fn message(&self, lang: Lang) -> String {
        error_message(self, lang)
    }
}

fn zh_lang(lang: Lang) -> bool {
    lang == Lang::Zh
}

/// Words for the reasons of [`Error::InvalidState`] (the engine's keys).
fn state_words(key: &str) -> (&'static str, &'static str) {
    match key {
        "busy" => ("正在通话中，请先挂断当前通话", "You are already in a call: hang up first."),
        "no_call" => ("当前没有通话", "There is no call."),
        "not_ringing" => ("该来电已不在响铃", "That call is no longer ringing."),
        "not_in_channel" => ("尚未进入通话频道", "Not in a call channel yet."),
        "stopped" => ("软电话已停止", "The softphone is stopped."),
        _ => ("当前状态下不能执行该操作", "That cannot be done now."),
    }
}

/// Why `i` was refused, in Chinese (the English is the error's own
/// `Display`, [`InvalidInput::reason_en`]).
pub fn reason_zh(i: &InvalidInput) -> String {
    let v = &i.value;
    match &i.problem {
        Problem::Required => "不能为空".into(),
        Problem::NotNumber => format!("“{v}”不是有效的号码（只能包含数字、*、#，可以 + 开头）或分机名"),
        Problem::OutOfRange { min, max } => format!("“{v}”应在 {min}-{max} 之间"),
        Problem::NotUrl => format!("“{v}”不是 http(s) 地址"),
        Problem::Malformed => format!("格式不正确：{v}"),
        Problem::NotPhoneNumber => format!("“{v}”不是有效的电话号码（5-20位数字，可以 + 开头）"),
        Problem::TooLong { max } => format!("不能超过 {max} 个字符"),
        Problem::NotDateTime => format!("“{v}”不是有效的时间（格式如 2024-01-31 08:00:00）"),
        Problem::NotOneOf { allowed } => format!("“{v}”只能是 {allowed} 之一"),
        Problem::Before { other } => format!("“{v}”早于 {other}"),
        Problem::ControlChars => format!("“{v}”含有控制字符"),
        Problem::TooManyBytes { max } => format!("共 {v}，超过上限 {}", bytes_text(*max)),
        Problem::DialChars => format!(
            "“{v}”不能包含空格或以下字符：{}",
            DIAL_META.chars().map(String::from).collect::<Vec<_>>().join(" ")
        ),
        // Future problems of the non-exhaustive enum: the English reason.
        #[allow(unreachable_patterns)]
        _ => i.reason_en(),
    }
}
