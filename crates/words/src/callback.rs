//! The callback words: why a two-way call ended.

use agent_console_wire::callback::HangupReason;

/// Why a callback call ended, in words (Chinese, English); a reason the
/// seed does not list is shown as sent.
pub fn hangup_reason_words(reason: &HangupReason) -> (&str, &str) {
    #[allow(unreachable_patterns)] // non-exhaustive beyond its crate
    match reason {
        HangupReason::HangUp => ("正常挂机", "Hung up normally"),
        HangupReason::CallerBusy => ("主叫忙", "Your phone was busy"),
        HangupReason::CallerNoAnswer => ("主叫无应答", "Your phone did not answer"),
        HangupReason::CallerFailure => ("主叫呼叫失败", "Your phone could not be reached"),
        HangupReason::CallerAbandon => {
            ("呼叫被叫过程中主叫挂机", "You hung up while the customer was ringing")
        }
        HangupReason::CalleeBusy => ("被叫忙", "The customer was busy"),
        HangupReason::CalleeNoAnswer => ("被叫无应答", "The customer did not answer"),
        HangupReason::CalleeFailure => ("被叫呼叫失败", "The customer could not be reached"),
        HangupReason::Other => ("其它原因失败", "Failed for another reason"),
        HangupReason::Unknown(s) => (s, s),
        other => (other.as_wire(), other.as_wire()),
    }
}
