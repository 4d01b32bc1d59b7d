//! # agent-console-words
//!
//! Chinese (default) and English texts for people: error messages and the
//! console's labels. Above the wire and core layers (it names their errors
//! and actions), below the JS package and the console, which both render
//! the same words.

// Nothing from outside may panic (a panic kills the whole wasm instance):
// library code decodes to typed errors. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![deny(clippy::await_holding_refcell_ref)]

// Shared by every backend.
mod error;
pub use error::{error_message, reason_zh, skipped_rows, Message};

// One module a vendor backend, as in the other layers.
pub mod callback;
pub mod dapi;
pub mod pbx;

pub use agent_console_wire::Lang;

/// The console's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Text {
    Title,
    Settings,
    BaseUrl,
    ClientId,
    ClientSecret,
    Username,
    Password,
    Extension,
    SignIn,
    SigningIn,
    SignOut,
    SignedInAs,
    DialPad,
    Number,
    Call,
    Calling,
    HangUp,
    HangingUp,
    CurrentCall,
    NoCall,
    Dialling,
    InProgress,
    CallEnded,
    Endpoints,
    Refreshing,
    NoEndpoints,
    StateUnavailable,
    StateIdle,
    StateInUse,
    Dismiss,
    Language,
}

/// The label `t` in `lang`.
pub fn text(lang: Lang, t: Text) -> &'static str {
    use Text::*;
    let (zh, en) = match t {
        Title => ("坐席工作台", "Agent console"),
        Settings => ("服务器设置", "Server settings"),
        BaseUrl => ("接口地址", "API base URL"),
        ClientId => ("客户端 ID", "Client id"),
        ClientSecret => ("客户端密钥", "Client secret"),
        Username => ("用户名", "User name"),
        Password => ("密码", "Password"),
        Extension => ("分机号", "Extension"),
        SignIn => ("登录", "Sign in"),
        SigningIn => ("正在登录…", "Signing in…"),
        SignOut => ("退出", "Sign out"),
        SignedInAs => ("当前分机", "Extension"),
        DialPad => ("拨号盘", "Dial pad"),
        Number => ("号码", "Number"),
        Call => ("呼叫", "Call"),
        Calling => ("正在呼叫…", "Calling…"),
        HangUp => ("挂断", "Hang up"),
        HangingUp => ("正在挂断…", "Hanging up…"),
        CurrentCall => ("当前通话", "Current call"),
        NoCall => ("无通话", "No call"),
        Dialling => ("拨号中", "Dialling"),
        InProgress => ("进行中", "In progress"),
        CallEnded => ("通话已结束", "The call has ended"),
        Endpoints => ("分机状态", "Extension status"),
        Refreshing => ("刷新中…", "Refreshing…"),
        NoEndpoints => ("没有分机", "No extensions"),
        StateUnavailable => ("离线", "Offline"),
        StateIdle => ("空闲", "Idle"),
        StateInUse => ("忙线中", "In use"),
        Dismiss => ("关闭", "Dismiss"),
        Language => ("English", "中文"),
    };
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// Picks the Chinese or English text of a label defined where it is used
/// (pages added after [`Text`]; both languages stay side by side).
pub fn pick<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    lang.pick(zh, en)
}
