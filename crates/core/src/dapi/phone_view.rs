//! The console's softphone panel: a pure reducer over the call engine's
//! news and the panel's own actions (yew's `Reducible` pattern).

use crate::dapi::softphone::{CallId, CallSnapshot, CallState, Connection, Role, SoftphoneEvent};
use crate::Error;
use std::collections::BTreeMap;

/// Ended calls kept for the "recent calls" list.
pub const RECENT_KEPT: usize = 10;

/// What the panel shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhoneView {
    /// The uid we are online as (`None`: offline).
    pub online_as: Option<String>,
    /// Live calls by engine id.
    pub calls: BTreeMap<CallId, CallSnapshot>,
    /// Ended calls, newest first.
    pub recent: Vec<CallSnapshot>,
    /// The link's health (`None` until the first exchange).
    pub connection: Option<Connection>,
    /// The last refused action or failure, until dismissed.
    pub error: Option<Error>,
    /// The browser refused to start audio until the user clicks.
    pub sound_blocked: bool,
}

/// What can happen to the panel.
#[derive(Debug, Clone, PartialEq)]
pub enum PhoneAction {
    /// Went online as this uid (a fresh engine: calls are forgotten).
    Online(String),
    /// Went offline.
    Offline,
    /// News from the engine.
    Event(SoftphoneEvent),
    /// An action was refused or failed.
    Failed(Error),
    /// The error was read.
    Dismiss,
    /// Audio is blocked (true) or playing (false).
    SoundBlocked(bool),
}

impl PhoneView {
    /// Applies `action`.
    pub fn reduce(mut self, action: PhoneAction) -> Self {
        match action {
            PhoneAction::Online(uid) => {
                self.online_as = Some(uid);
                self.calls.clear();
                self.connection = None;
                self.error = None;
            }
            PhoneAction::Offline => {
                self.online_as = None;
                // Ringing calls are dropped by the engine; the call we were
                // in ends through its own `Ended` news.
                self.calls.retain(|_, c| !(c.role == Role::Callee && c.state == CallState::Ringing));
            }
            PhoneAction::Event(ev) => match ev {
                SoftphoneEvent::Incoming(c) | SoftphoneEvent::State(c) => {
                    if c.state == CallState::Ended {
                        self.calls.remove(&c.call_id);
                    } else {
                        self.calls.insert(c.call_id, c);
                    }
                }
                SoftphoneEvent::Ended(c) => {
                    self.calls.remove(&c.call_id);
                    self.recent.retain(|r| r.call_id != c.call_id);
                    self.recent.insert(0, c);
                    self.recent.truncate(RECENT_KEPT);
                }
                SoftphoneEvent::Connection(c) => self.connection = Some(c),
                SoftphoneEvent::Failed { error, .. } => self.error = Some(error),
            },
            PhoneAction::Failed(e) => self.error = Some(e),
            PhoneAction::Dismiss => self.error = None,
            PhoneAction::SoundBlocked(b) => self.sound_blocked = b,
        }
        self
    }

    /// The call we are in: any live outgoing call, or an incoming one we answered.
    pub fn active(&self) -> Option<&CallSnapshot> {
        self.calls.values().find(|c| !(c.role == Role::Callee && c.state == CallState::Ringing))
    }

    /// Calls ringing us, oldest first.
    pub fn ringing(&self) -> Vec<&CallSnapshot> {
        self.calls.values().filter(|c| c.role == Role::Callee && c.state == CallState::Ringing).collect()
    }

    /// Whether the ring tone should sound.
    pub fn should_ring(&self) -> bool {
        !self.ringing().is_empty()
    }
}

/// `mm:ss` (or `h:mm:ss`) of a talk that started at `started_ms`, at `now_ms`.
pub fn talk_time(started_ms: u64, now_ms: u64) -> String {
    let s = now_ms.saturating_sub(started_ms) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dapi::softphone::EndReason;

    fn snap(id: CallId, role: Role, state: CallState) -> CallSnapshot {
        CallSnapshot {
            call_id: id,
            role,
            state,
            channel: Some(format!("ch_{id}")),
            callees: vec![],
            peers: vec![],
            robot: false,
            robot_call: false,
            extra_msg: String::new(),
            talk_started_ms: None,
            ended: None,
        }
    }

    #[test]
    fn news_moves_calls_between_live_ringing_and_recent() {
        let v = PhoneView::default().reduce(PhoneAction::Online("A".into()));
        let v =
            v.reduce(PhoneAction::Event(SoftphoneEvent::Incoming(snap(1, Role::Callee, CallState::Ringing))));
        assert!(v.should_ring());
        assert!(v.active().is_none());
        let v =
            v.reduce(PhoneAction::Event(SoftphoneEvent::State(snap(1, Role::Callee, CallState::Answering))));
        assert!(!v.should_ring());
        assert_eq!(v.active().map(|c| c.call_id), Some(1));
        let mut ended = snap(1, Role::Callee, CallState::Ended);
        ended.ended = Some(EndReason::Hangup { by_me: false });
        let v = v.reduce(PhoneAction::Event(SoftphoneEvent::State(ended.clone())));
        let v = v.reduce(PhoneAction::Event(SoftphoneEvent::Ended(ended)));
        assert!(v.calls.is_empty());
        assert_eq!(v.recent.len(), 1);
        // Recent is capped, newest first.
        let mut v = v;
        for id in 2..20 {
            v = v.reduce(PhoneAction::Event(SoftphoneEvent::Ended(snap(id, Role::Caller, CallState::Ended))));
        }
        assert_eq!(v.recent.len(), RECENT_KEPT);
        assert_eq!(v.recent[0].call_id, 19);
    }

    #[test]
    fn errors_stay_until_dismissed_and_going_offline_drops_ringing_calls() {
        let v = PhoneView::default()
            .reduce(PhoneAction::Online("A".into()))
            .reduce(PhoneAction::Event(SoftphoneEvent::Incoming(snap(1, Role::Callee, CallState::Ringing))))
            .reduce(PhoneAction::Event(SoftphoneEvent::State(snap(2, Role::Caller, CallState::Talking))))
            .reduce(PhoneAction::Failed(Error::InvalidState("busy")));
        assert_eq!(v.error, Some(Error::InvalidState("busy")));
        let v = v.reduce(PhoneAction::Dismiss).reduce(PhoneAction::Offline);
        assert_eq!(v.error, None);
        assert_eq!(v.calls.keys().copied().collect::<Vec<_>>(), vec![2]);
        assert_eq!(v.online_as, None);
    }

    #[test]
    fn talk_time_reads_like_a_clock() {
        assert_eq!(talk_time(1_000, 1_000), "00:00");
        assert_eq!(talk_time(0, 65_999), "01:05");
        assert_eq!(talk_time(0, 3_725_000), "1:02:05");
        assert_eq!(talk_time(5_000, 1_000), "00:00");
    }
}
