//! The console's click-to-call box (callback API): a pure reducer over
//! typed actions, plus the status-relay reply it reads progress from.
//!
//! The platform reports a call's end only by webhook to the customer's
//! server, so the console polls a *status relay* on that server
//! (`statusUrl?callidentifier=X`, answered `{phase?, notification?}`; see
//! `docs/callback-sipcdr.md`). The sandbox provides one.

use crate::Error;
use agent_console_wire::callback::{CallIdentifier, HangupReason, RecordingResult, StatusNotification};
use agent_console_wire::http::encode_component;
use agent_console_wire::{HttpRequest, HttpResponse, Method};
use serde::Deserialize;

/// How far a call has got, as far as the console knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Accepted by the platform; no progress reported yet.
    Placed,
    /// The agent's phone is ringing.
    CallerRinging,
    /// The agent answered; the customer is ringing.
    CalleeRinging,
    /// Both sides are talking.
    Talking,
    /// Over (see [`CallView::ended`]).
    Ended,
}

/// The end of a call, from the status notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// Why, if the platform said.
    pub reason: Option<HangupReason>,
    /// Talk time in seconds.
    pub duration_secs: Option<u64>,
    /// Whether a recording can be fetched.
    pub recorded: bool,
}

/// The call the box shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallView {
    /// The platform's id.
    pub id: CallIdentifier,
    /// The agent's number.
    pub caller: String,
    /// The customer's number.
    pub callee: String,
    /// When it was placed (wall clock, ms).
    pub placed_at_ms: u64,
    /// Progress.
    pub phase: Phase,
    /// Set once the notification arrived.
    pub ended: Option<Ending>,
    /// The recording's URL once fetched.
    pub recording_url: Option<String>,
    /// `endCall` succeeded (or the call was already over): the reason is
    /// still to come from the relay, but a new call may start.
    pub end_sent: bool,
}

/// Requests in flight, one per button: a second click while one is out is ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    /// `call`.
    pub call: bool,
    /// `endCall`.
    pub end: bool,
    /// `record`.
    pub recording: bool,
}

/// The click-to-call box's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClickToCallState {
    /// The current (or last) call.
    pub call: Option<CallView>,
    /// Requests in flight.
    pub pending: Pending,
    /// The last failure, shown until dismissed or replaced.
    pub error: Option<Error>,
    /// The relay could not be reached on the last poll (shown, not fatal).
    pub relay_trouble: bool,
}

/// The status relay's reply for one call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RelayStatus {
    /// `caller_ringing`, `callee_ringing`, `talking`, `ended` (optional).
    pub phase: Option<String>,
    /// The webhook body, once the call ended.
    pub notification: Option<serde_json::Value>,
}

impl RelayStatus {
    /// Decodes a relay reply; an unreadable notification is an error (the
    /// call's end must not be guessed).
    pub fn decode(body: &[u8]) -> Result<(Option<Phase>, Option<StatusNotification>), String> {
        let raw: RelayStatus = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let phase = match raw.phase.as_deref() {
            Some("caller_ringing") => Some(Phase::CallerRinging),
            Some("callee_ringing") => Some(Phase::CalleeRinging),
            Some("talking") => Some(Phase::Talking),
            Some("ended") => Some(Phase::Ended),
            _ => None,
        };
        let notification = match raw.notification {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(StatusNotification::decode(v.to_string().as_bytes()).map_err(|e| e.to_string())?),
        };
        Ok((phase, notification))
    }
}

/// The relay request for `id`: `GET <status_url>?callidentifier=<id>`.
pub fn relay_request(status_url: &str, id: &CallIdentifier) -> HttpRequest {
    let sep = if status_url.contains('?') { '&' } else { '?' };
    HttpRequest {
        method: Method::Get,
        url: format!("{status_url}{sep}callidentifier={}", encode_component(id.as_str())),
        headers: vec![("Accept".into(), "application/json".into())],
        body: None,
        max_body: agent_console_wire::http::DEFAULT_MAX_BODY,
    }
}

/// What a relay reply (`None`: no answer at all) means for call `id`:
/// progress, or [`ClickToCallAction::RelayFailed`] (shown, retried on the
/// next poll; the call's end is never guessed).
pub fn relay_reply(id: &CallIdentifier, resp: Option<&HttpResponse>) -> ClickToCallAction {
    match resp.filter(|r| (200..300).contains(&r.status)).map(|r| RelayStatus::decode(&r.body)) {
        Some(Ok((phase, notification))) => ClickToCallAction::Status { id: id.clone(), phase, notification },
        _ => ClickToCallAction::RelayFailed,
    }
}

/// A status notification a server delivered (the gateway's `/events`
/// `callback_status`): the end of the call it names, as an action; `None`
/// when its id is unusable (nothing to show).
pub fn notified(n: StatusNotification) -> Option<ClickToCallAction> {
    let id = CallIdentifier::parse(&n.callidentifier).ok()?;
    Some(ClickToCallAction::Status { id, phase: Some(Phase::Ended), notification: Some(n) })
}

/// Everything that changes the box.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClickToCallAction {
    /// `call` sent.
    CallStarted,
    /// `call` answered with an id.
    Called {
        /// The id.
        id: CallIdentifier,
        /// The agent's number.
        caller: String,
        /// The customer's number.
        callee: String,
        /// Now (wall clock, ms).
        now_ms: u64,
    },
    /// `call` failed: nothing was placed.
    CallFailed(Error),
    /// A relay poll answered for call `id`.
    Status {
        /// Which call the poll was for.
        id: CallIdentifier,
        /// The phase, if the relay reports it.
        phase: Option<Phase>,
        /// The notification, once there.
        notification: Option<StatusNotification>,
    },
    /// A relay poll failed.
    RelayFailed,
    /// `endCall` sent.
    EndStarted,
    /// `endCall` done for `id`.
    EndDone(CallIdentifier),
    /// `endCall` failed.
    EndFailed(Error),
    /// `record` sent.
    RecordingStarted,
    /// `record` answered for `id`.
    Recording {
        /// Which call.
        id: CallIdentifier,
        /// The file's URL.
        url: String,
    },
    /// `record` failed.
    RecordingFailed(Error),
    /// Input refused before any request.
    Refused(Error),
    /// Closes the error.
    DismissError,
}

impl ClickToCallState {
    /// Whether a call is under way (a new one may not start).
    pub fn busy(&self) -> bool {
        self.pending.call || self.call.as_ref().is_some_and(|c| c.phase != Phase::Ended && !c.end_sent)
    }

    /// Applies `action`.
    pub fn reduce(mut self, action: ClickToCallAction) -> Self {
        use ClickToCallAction as A;
        let same = |c: &Option<CallView>, id: &CallIdentifier| c.as_ref().is_some_and(|c| &c.id == id);
        match action {
            A::CallStarted => {
                self.pending.call = true;
                self.error = None;
            }
            A::Called { id, caller, callee, now_ms } => {
                self.pending = Pending::default();
                self.relay_trouble = false;
                self.call = Some(CallView {
                    id,
                    caller,
                    callee,
                    placed_at_ms: now_ms,
                    phase: Phase::Placed,
                    ended: None,
                    recording_url: None,
                    end_sent: false,
                });
            }
            A::CallFailed(e) => {
                self.pending.call = false;
                self.error = Some(e);
            }
            A::Status { id, phase, notification } => {
                // A late reply about an earlier call changes nothing.
                if !same(&self.call, &id) {
                    return self;
                }
                self.relay_trouble = false;
                if let Some(c) = self.call.as_mut() {
                    if c.phase == Phase::Ended {
                        return self;
                    }
                    if let Some(n) = notification {
                        c.phase = Phase::Ended;
                        c.ended = Some(Ending {
                            reason: n.reason.clone(),
                            duration_secs: n.call_duration,
                            recorded: n.recording_result == Some(RecordingResult::Success),
                        });
                    } else if let Some(p) = phase.filter(|p| *p != Phase::Ended) {
                        c.phase = p;
                    }
                }
            }
            A::RelayFailed => self.relay_trouble = true,
            A::EndStarted => {
                self.pending.end = true;
                self.error = None;
            }
            // The reason arrives with the notification; the agent may move on.
            A::EndDone(id) => {
                self.pending.end = false;
                if let Some(c) = self.call.as_mut().filter(|c| c.id == id) {
                    c.end_sent = true;
                }
            }
            // 409: the call had already ended (the sandbox's documented code).
            A::EndFailed(e) if e.code() == "409" => {
                self.pending.end = false;
                if let Some(c) = self.call.as_mut() {
                    c.end_sent = true;
                }
            }
            A::EndFailed(e) => {
                self.pending.end = false;
                self.error = Some(e);
            }
            A::RecordingStarted => {
                self.pending.recording = true;
                self.error = None;
            }
            A::Recording { id, url } => {
                self.pending.recording = false;
                if let Some(c) = self.call.as_mut().filter(|c| c.id == id) {
                    c.recording_url = Some(url);
                }
            }
            A::RecordingFailed(e) => {
                self.pending.recording = false;
                self.error = Some(e);
            }
            A::Refused(e) => self.error = Some(e),
            A::DismissError => self.error = None,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivered_notification_ends_the_call_it_names() {
        let body =
            br#"{"callidentifier":" c-1 ","status":"1","endTime":"2026-12-01 10:00:00","reason":"HangUp"}"#;
        let n = StatusNotification::decode(body).unwrap();
        let mut s = ClickToCallState::default().reduce(ClickToCallAction::CallStarted);
        s = s.reduce(ClickToCallAction::Called {
            id: CallIdentifier::parse("c-1").unwrap(),
            caller: "138".into(),
            callee: "139".into(),
            now_ms: 0,
        });
        let other = StatusNotification::decode(
            br#"{"callidentifier":"c-2","status":"1","endTime":"2026-12-01 10:00:00"}"#,
        )
        .unwrap();
        s = s.reduce(notified(other).unwrap());
        assert_eq!(
            s.call.as_ref().map(|c| c.phase),
            Some(Phase::Placed),
            "another call's end changes nothing"
        );
        s = s.reduce(notified(n).unwrap());
        assert_eq!(s.call.as_ref().map(|c| c.phase), Some(Phase::Ended));
        let mut bad = StatusNotification::decode(body).unwrap();
        bad.callidentifier = "has space".into();
        assert!(notified(bad).is_none());
    }
}
