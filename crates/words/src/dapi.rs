//! The dapi words: what the call events mean.

use crate::Lang;
use agent_console_wire::dapi::EventCode;

/// What a dapi event code means, for a person.
pub fn event_words(code: EventCode, lang: Lang) -> &'static str {
    #[allow(unreachable_patterns)] // non-exhaustive beyond its crate
    let (zh, en) = match code {
        EventCode::TalkStarted => ("开始通话", "Talk started"),
        EventCode::TalkEnded => ("通话结束", "Call ended"),
        EventCode::CallerCancelled => ("已取消呼叫", "You cancelled the call"),
        EventCode::NoAnswer => ("无人接听", "No answer"),
        EventCode::Rejected => ("对方拒接", "The other side rejected the call"),
        EventCode::RejectedByMe => ("已拒接", "You rejected the call"),
        EventCode::CancelledByCaller => ("对方已取消", "The caller cancelled"),
        EventCode::Failed => ("通话出错", "The call failed"),
        _ => ("通话事件", "Call event"),
    };
    lang.pick(zh, en)
}
