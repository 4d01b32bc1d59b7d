//! The PBX's words: call-control buttons, supervisor actions, break
//! reasons, the call log ([`cdr`]) and the vendor error codes ([`codes`]).

pub mod cdr;
pub mod codes;

use agent_console_core::pbx::agent_desk::CallOp;
use agent_console_wire::pbx::{PauseReason, TargetAction};

/// The words of a break reason (Chinese: the seed's; English).
pub fn pause_reason_words(r: PauseReason) -> (&'static str, &'static str) {
    match r {
        PauseReason::Ready => ("就绪", "Ready"),
        PauseReason::PrivateBreak => ("私事暂休", "Private break"),
        PauseReason::WorkBreak => ("公事暂休", "Work break"),
        PauseReason::Custom1 => ("自定义状态1", "Custom state 1"),
        PauseReason::Custom2 => ("自定义状态2", "Custom state 2"),
        PauseReason::Custom3 => ("自定义状态3", "Custom state 3"),
    }
}

/// The words of a call-control button (Chinese, English).
pub fn call_op_words(op: CallOp) -> (&'static str, &'static str) {
    match op {
        CallOp::Hold => ("保持", "Hold"),
        CallOp::Unhold => ("取回", "Resume"),
        CallOp::TransferBlind => ("直接转接", "Blind transfer"),
        CallOp::TransferAttended => ("咨询转接", "Attended transfer"),
        CallOp::CancelAttended => ("取消咨询转", "Cancel transfer"),
        CallOp::TransferIvr => ("转 IVR", "To IVR"),
        CallOp::TransferQueue => ("转队列", "To queue"),
        CallOp::Park => ("驻留", "Park"),
        CallOp::Hangup => ("挂断", "Hang up"),
    }
}

/// Button words of a supervisor action (Chinese, English).
pub fn action_words(a: TargetAction) -> (&'static str, &'static str) {
    match a {
        TargetAction::Unpark => ("接回", "Unpark"),
        TargetAction::Redirect => ("接听", "Answer"),
        TargetAction::Pickup => ("代接", "Pick up"),
        TargetAction::Barge => ("强插", "Barge"),
        TargetAction::Monitor => ("监听", "Monitor"),
        TargetAction::Whisper => ("督导", "Whisper"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_button_has_its_own_words_in_both_languages() {
        let ops = [
            CallOp::Hold,
            CallOp::Unhold,
            CallOp::TransferBlind,
            CallOp::TransferAttended,
            CallOp::CancelAttended,
            CallOp::TransferIvr,
            CallOp::TransferQueue,
            CallOp::Park,
            CallOp::Hangup,
        ];
        let mut zh: Vec<_> = ops.iter().map(|o| call_op_words(*o).0).collect();
        let mut en: Vec<_> = ops.iter().map(|o| call_op_words(*o).1).collect();
        zh.sort();
        zh.dedup();
        en.sort();
        en.dedup();
        assert_eq!((zh.len(), en.len()), (ops.len(), ops.len()));
        assert_eq!(action_words(TargetAction::Whisper), ("督导", "Whisper"));
        assert_eq!(action_words(TargetAction::Barge), ("强插", "Barge"));
    }

    #[test]
    fn every_break_reason_has_its_own_words() {
        let mut zh: Vec<_> = PauseReason::ALL.iter().map(|r| pause_reason_words(*r).0).collect();
        let mut en: Vec<_> = PauseReason::ALL.iter().map(|r| pause_reason_words(*r).1).collect();
        zh.sort_unstable();
        zh.dedup();
        en.sort_unstable();
        en.dedup();
        assert_eq!((zh.len(), en.len()), (6, 6));
        assert_eq!(pause_reason_words(PauseReason::PrivateBreak), ("私事暂休", "Private break"));
    }
}
