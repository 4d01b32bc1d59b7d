//! The agent's queue bar, call controls and parked calls, as a pure reducer
//! (the Yew console wraps it in `Reducible`; tested natively). Time
//! (wall-clock milliseconds) comes in with the actions.
//!
//! Which call controls apply is decided by [`call_phase`] from three
//! sources: the agent status (`getAgentStatus`: ringing / talking), the
//! extension's endpoint state (`In use` / `On Hold`) and local flags the
//! console sets when an action succeeds (held, consulting an attended
//! transfer, "the call left this extension"). A status report asked for
//! before the last local change is older than the change, so it does not
//! override the flags; a later one does.

use crate::Error;
use agent_console_wire::pbx::{AgentState, AgentStatus, EndpointState, ParkedCall, PauseReason};

/// The queues the desk offers: every queue the PBX reports (the `queue` of
/// `getAgentStatus` rows, which that route keys by queue) and every one
/// `config.json` names (a queue nobody has joined yet is reported by no
/// route), each once, trimmed, blanks dropped, numbers in numeric order
/// (`99`, `200`, `1000`) then any names. Sites number queues their own way:
/// the seed's 200 and 300 are one site's.
pub fn queue_list<'a>(
    reported: impl IntoIterator<Item = &'a str>,
    configured: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    distinct_sorted(reported.into_iter().chain(configured))
}

/// Queue or mailbox numbers each once, trimmed, blanks dropped, numbers in
/// numeric order then names.
pub fn distinct_sorted<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> =
        items.into_iter().map(str::trim).filter(|q| !q.is_empty()).map(str::to_string).collect();
    out.sort_by(|a, b| natural_key(a).cmp(&natural_key(b)));
    out.dedup();
    out
}

/// Digits sort as numbers (by length, then digit by digit: no overflow),
/// before names.
fn natural_key(s: &str) -> (bool, usize, &str) {
    let digits = s.bytes().all(|b| b.is_ascii_digit());
    (!digits, if digits { s.trim_start_matches('0').len() } else { 0 }, s)
}

/// The queues of `getAgentStatus` rows.
pub fn reported_queues(rows: &[AgentStatus]) -> impl Iterator<Item = &str> {
    rows.iter().map(|r| r.queue.as_str())
}

/// The queue a control acts on: `chosen` if the list has it, else the
/// first queue (the choice may be from before the list changed).
pub fn pick_queue(list: &[String], chosen: &str) -> Option<String> {
    list.iter().find(|q| q.as_str() == chosen.trim()).or_else(|| list.first()).cloned()
}

/// Reads `config.json`'s `queues`: a list of numbers or strings (`[610,
/// "620"]`) or one comma-separated string (`"610,620"`). Never fails: an
/// entry of another kind is skipped, so one typo does not lose the rest of
/// the settings.
pub fn deserialize_queues<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize;
    let v = serde_json::Value::deserialize(d)?;
    let one = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Ok(match &v {
        serde_json::Value::Array(items) => items.iter().filter_map(one).filter(|q| !q.is_empty()).collect(),
        serde_json::Value::String(s) => {
            s.split(',').map(str::trim).filter(|q| !q.is_empty()).map(str::to_string).collect()
        }
        other => one(other).into_iter().filter(|q| !q.is_empty()).collect(),
    })
}

/// Flags the console keeps about the call on its extension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalFlags {
    /// The call was put on hold from here.
    pub held: bool,
    /// An attended transfer is consulting its target.
    pub consulting: bool,
    /// The call left this extension (blind/app transfer, park, hang-up)
    /// and no status has confirmed it yet.
    pub left: bool,
}

/// Where the extension's call is, as far as the desk can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    /// No call.
    Idle,
    /// Being offered a call (answer on the desk phone).
    Ringing,
    /// In an answered call.
    Talking,
    /// The call is on hold.
    Held,
    /// Consulting the target of an attended transfer (the first call held).
    Consulting,
}

/// A call control button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallOp {
    /// `call/hold`.
    Hold,
    /// `call/unhold`.
    Unhold,
    /// `call/transfer` blind to a number.
    TransferBlind,
    /// `call/transfer` attended to a number.
    TransferAttended,
    /// `call/cancelAtxfer`.
    CancelAttended,
    /// `call/transfer` app to an IVR (`aa_…,s,1`).
    TransferIvr,
    /// `call/transfer` app to a queue (`ext-queues,200,1`).
    TransferQueue,
    /// `call/park`.
    Park,
    /// `call/hangup` (while consulting: completes the attended transfer).
    Hangup,
}

impl CallOp {
    /// Whether success means the call has left this extension.
    fn leaves(self) -> bool {
        matches!(
            self,
            Self::TransferBlind | Self::TransferIvr | Self::TransferQueue | Self::Park | Self::Hangup
        )
    }
}

fn is_free(e: &EndpointState) -> bool {
    matches!(e, EndpointState::NotInUse | EndpointState::Unavailable)
}

fn agent_talking(a: &AgentState) -> bool {
    matches!(a, AgentState::Talking | AgentState::OutboundWork | AgentState::Pickup)
}

/// The phase of the extension's call from the agent status (`None`: not
/// an agent, or not known yet), the endpoint state (`None`: not known yet)
/// and the local flags.
pub fn call_phase(
    agent: Option<&AgentState>,
    endpoint: Option<&EndpointState>,
    flags: LocalFlags,
) -> CallPhase {
    if flags.left {
        return CallPhase::Idle;
    }
    let ringing = agent == Some(&AgentState::Ringing) || endpoint.is_some_and(EndpointState::is_ringing);
    let talking = agent.is_some_and(agent_talking);
    let busy = match endpoint {
        // `Ring+InUse` is a call in progress with another ringing: busy.
        Some(e) => !is_free(e) && (!e.is_ringing() || e.rings_while_in_use()),
        // Unknown endpoint: trust the agent status and the flags.
        None => talking || flags.held || flags.consulting,
    };
    let on_hold = endpoint.is_some_and(EndpointState::is_on_hold);
    if flags.consulting && (busy || talking) {
        CallPhase::Consulting
    } else if (flags.held || on_hold) && (busy || talking) {
        CallPhase::Held
    } else if ringing && !busy {
        CallPhase::Ringing
    } else if busy || talking {
        CallPhase::Talking
    } else if ringing {
        CallPhase::Ringing
    } else {
        CallPhase::Idle
    }
}

/// The controls that apply in `phase`, in display order.
pub fn applicable(phase: CallPhase) -> &'static [CallOp] {
    use CallOp::*;
    match phase {
        CallPhase::Idle => &[],
        // Answering is done on the desk phone; the desk can refuse the call.
        CallPhase::Ringing => &[Hangup],
        CallPhase::Talking => {
            &[Hold, TransferBlind, TransferAttended, TransferIvr, TransferQueue, Park, Hangup]
        }
        CallPhase::Held => &[Unhold, Hangup],
        CallPhase::Consulting => &[CancelAttended, Hangup],
    }
}

/// The agent state that says most about the extension's call among its
/// queue rows: talking first, then ringing, then any other.
pub fn call_state_of(rows: &[AgentStatus]) -> Option<&AgentState> {
    rows.iter()
        .map(|r| &r.status)
        .find(|s| agent_talking(s))
        .or_else(|| rows.iter().map(|r| &r.status).find(|s| **s == AgentState::Ringing))
        .or_else(|| rows.first().map(|r| &r.status))
}

/// Requests in flight; each disables its buttons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentPending {
    /// Queue sign-in.
    pub login: bool,
    /// Queue sign-out.
    pub logout: bool,
    /// A ready/pause request.
    pub pause: Option<PauseReason>,
    /// A call control.
    pub call: Option<CallOp>,
    /// Taking back this parking space.
    pub unpark: Option<String>,
}

/// Everything the agent bar, call controls and parked list show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentDesk {
    /// This extension's rows of `getAgentStatus` (one per queue).
    pub rows: Vec<AgentStatus>,
    /// When they were fetched (wall-clock ms), for the ticking durations.
    pub rows_at_ms: u64,
    /// Whether the status has been fetched at least once.
    pub status_loaded: bool,
    /// The extension's endpoint state (last report).
    pub endpoint: Option<EndpointState>,
    /// When that report was asked for.
    pub endpoint_asked_ms: u64,
    /// The console's own knowledge of the call.
    pub flags: LocalFlags,
    /// When the flags last changed (a status asked before then is older).
    pub flags_at_ms: u64,
    /// Parked calls.
    pub parked: Vec<ParkedCall>,
    /// Whether the parked list has been fetched at least once.
    pub parked_loaded: bool,
    /// Requests in flight.
    pub pending: AgentPending,
    /// The last failure of the queue bar.
    pub agent_error: Option<Error>,
    /// The last failure of a call control.
    pub call_error: Option<Error>,
    /// The last failure of the parked list.
    pub parked_error: Option<Error>,
    /// The last status refresh failed (rows kept from before).
    pub status_error: Option<Error>,
    /// What the last call control did, for a short confirmation.
    pub last_done: Option<CallOp>,
    /// The queues the PBX reported last (all agents' `getAgentStatus`).
    pub pbx_queues: Vec<String>,
    /// The queues `config.json` names.
    pub configured_queues: Vec<String>,
}

/// Which error line an action refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// The queue bar.
    Agent,
    /// The call controls.
    Call,
    /// The parked list.
    Parked,
}

/// Everything that changes the agent desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentAction {
    /// A status refresh arrived: the agent rows (of this extension) and the
    /// endpoint state, asked at `asked_ms`, arriving at `now_ms`.
    Status {
        /// Rows of `getAgentStatus`.
        rows: Vec<AgentStatus>,
        /// The extension's endpoint state (`None`: not reported).
        endpoint: Option<EndpointState>,
        /// When the request left.
        asked_ms: u64,
        /// Now.
        now_ms: u64,
    },
    /// A status refresh failed.
    StatusFailed(Error),
    /// Every agent's `getAgentStatus` rows arrived (to learn the PBX's queues).
    Roster(Vec<AgentStatus>),
    /// The queues `config.json` names.
    Configured(Vec<String>),
    /// Queue sign-in left.
    LoginStarted,
    /// Queue sign-in done.
    LoginDone,
    /// Queue sign-out left.
    LogoutStarted,
    /// Queue sign-out done.
    LogoutDone,
    /// Ready / pause left.
    PauseStarted(PauseReason),
    /// Ready / pause done.
    PauseDone,
    /// A queue-bar request failed.
    AgentFailed(Error),
    /// A call control left.
    CallStarted(CallOp),
    /// A call control succeeded at `now_ms`.
    CallDone {
        /// Which.
        op: CallOp,
        /// Now.
        now_ms: u64,
    },
    /// A call control failed.
    CallFailed(Error),
    /// The parked list arrived.
    Parked(Vec<ParkedCall>),
    /// The parked list failed.
    ParkedFailed(Error),
    /// Unpark of this space left.
    UnparkStarted(String),
    /// Unpark succeeded at `now_ms`: the call is on this extension.
    UnparkDone {
        /// Now.
        now_ms: u64,
    },
    /// Unpark failed.
    UnparkFailed(Error),
    /// Input refused before any request.
    Refused(Area, Error),
    /// Close an error line.
    Dismiss(Area),
    /// Signed out: everything is forgotten.
    Reset,
}

impl AgentDesk {
    /// The state after `action`.
    pub fn reduce(mut self, action: AgentAction) -> Self {
        use AgentAction::*;
        match action {
            Status { rows, endpoint, asked_ms, now_ms } => {
                self.status_error = None;
                self.status_loaded = true;
                // A report asked after the last local change is the truth;
                // an older one may predate the change.
                if asked_ms >= self.flags_at_ms {
                    let agent = call_state_of(&rows);
                    let free = endpoint.as_ref().is_none_or(is_free)
                        && !agent.is_some_and(|a| agent_talking(a) || *a == AgentState::Ringing);
                    if free {
                        self.flags = LocalFlags::default();
                    } else {
                        self.flags.left = false;
                        match &endpoint {
                            Some(e) if e.is_on_hold() => self.flags.held = !self.flags.consulting,
                            Some(EndpointState::InUse) => self.flags.held = false,
                            _ => {}
                        }
                    }
                }
                self.rows = rows;
                self.rows_at_ms = now_ms;
                self.endpoint = endpoint;
                self.endpoint_asked_ms = asked_ms;
            }
            StatusFailed(e) => self.status_error = Some(e),
            Roster(rows) => self.pbx_queues = queue_list(reported_queues(&rows), []),
            Configured(queues) => self.configured_queues = queues,
            LoginStarted => {
                self.pending.login = true;
                self.agent_error = None;
            }
            LoginDone => self.pending.login = false,
            LogoutStarted => {
                self.pending.logout = true;
                self.agent_error = None;
            }
            LogoutDone => self.pending.logout = false,
            PauseStarted(r) => {
                self.pending.pause = Some(r);
                self.agent_error = None;
            }
            PauseDone => self.pending.pause = None,
            AgentFailed(e) => {
                self.pending.login = false;
                self.pending.logout = false;
                self.pending.pause = None;
                self.agent_error = Some(e);
            }
            CallStarted(op) => {
                self.pending.call = Some(op);
                self.call_error = None;
                self.last_done = None;
            }
            CallDone { op, now_ms } => {
                self.pending.call = None;
                self.last_done = Some(op);
                self.flags_at_ms = now_ms;
                match op {
                    CallOp::Hold => self.flags.held = true,
                    CallOp::Unhold => self.flags.held = false,
                    CallOp::TransferAttended => {
                        self.flags.consulting = true;
                        self.flags.held = false;
                    }
                    CallOp::CancelAttended => {
                        self.flags.consulting = false;
                        self.flags.held = false;
                    }
                    op if op.leaves() => self.flags = LocalFlags { left: true, ..LocalFlags::default() },
                    _ => {}
                }
            }
            CallFailed(e) => {
                self.pending.call = None;
                self.call_error = Some(e);
            }
            Parked(list) => {
                self.parked = list;
                self.parked_loaded = true;
                self.parked_error = None;
            }
            ParkedFailed(e) => self.parked_error = Some(e),
            UnparkStarted(space) => {
                self.pending.unpark = Some(space);
                self.parked_error = None;
            }
            UnparkDone { now_ms } => {
                if let Some(space) = self.pending.unpark.take() {
                    self.parked.retain(|p| p.parking_space != space);
                }
                // The parked party is now on this extension.
                self.flags = LocalFlags::default();
                self.flags_at_ms = now_ms;
            }
            UnparkFailed(e) => {
                self.pending.unpark = None;
                self.parked_error = Some(e);
            }
            Refused(area, e) => match area {
                Area::Agent => self.agent_error = Some(e),
                Area::Call => self.call_error = Some(e),
                Area::Parked => self.parked_error = Some(e),
            },
            Dismiss(area) => match area {
                Area::Agent => self.agent_error = None,
                Area::Call => self.call_error = None,
                Area::Parked => self.parked_error = None,
            },
            // Signed out: the calls and the PBX's answers go; config.json stays.
            Reset => self = AgentDesk { configured_queues: self.configured_queues, ..AgentDesk::default() },
        }
        self
    }

    /// The queues to offer (sign-in, pause, transfer): the PBX's (every
    /// agent's rows and this extension's) and config.json's, see [`queue_list`].
    pub fn queues(&self) -> Vec<String> {
        queue_list(
            self.pbx_queues.iter().map(String::as_str).chain(reported_queues(&self.rows)),
            self.configured_queues.iter().map(String::as_str),
        )
    }

    /// Whether the agent is signed in to any queue (sign-out of `all` applies).
    pub fn signed_in_any(&self) -> bool {
        self.rows.iter().any(|r| r.status != AgentState::LoggedOut)
    }

    /// The call phase now.
    pub fn phase(&self) -> CallPhase {
        // "On Hold" reported before the last local change (a resume, a
        // cancelled consultation) says only that there is a call.
        let stale_hold = self.endpoint_asked_ms < self.flags_at_ms
            && self.endpoint.as_ref().is_some_and(EndpointState::is_on_hold);
        let endpoint = if stale_hold { Some(&EndpointState::InUse) } else { self.endpoint.as_ref() };
        call_phase(call_state_of(&self.rows), endpoint, self.flags)
    }

    /// The row of `queue`, if the agent is signed in to it.
    pub fn row(&self, queue: &str) -> Option<&AgentStatus> {
        self.rows.iter().find(|r| r.queue == queue && r.status != AgentState::LoggedOut)
    }

    /// Whether the agent is signed in to `queue`.
    pub fn signed_in(&self, queue: &str) -> bool {
        self.row(queue).is_some()
    }

    /// Seconds `row` has been in its state at `now_ms` (the reported
    /// duration plus the time since the report).
    pub fn status_secs(&self, row: &AgentStatus, now_ms: u64) -> u64 {
        row.status_duration.saturating_add(now_ms.saturating_sub(self.rows_at_ms) / 1000)
    }

    /// Whether any request is out (the controls are disabled meanwhile).
    pub fn call_busy(&self) -> bool {
        self.pending.call.is_some() || self.pending.unpark.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_console_wire::ApiError;

    fn row(queue: &str, status: AgentState, secs: u64) -> AgentStatus {
        serde_json::from_value::<AgentStatus>(serde_json::json!({
            "agentid": "1011", "extension": "8001", "queue": queue, "status": "0", "statusDuration": secs,
        }))
        .map(|mut r| {
            r.status = status;
            r
        })
        .unwrap()
    }

    fn other(s: &str) -> EndpointState {
        EndpointState::Other(s.into())
    }

    fn vendor(code: &str) -> Error {
        Error::Api(ApiError::Vendor { code: code.into(), message: String::new() })
    }

    #[test]
    fn phases_from_agent_endpoint_and_flags() {
        let none = LocalFlags::default();
        assert_eq!(call_phase(None, None, none), CallPhase::Idle);
        assert_eq!(
            call_phase(Some(&AgentState::Ready), Some(&EndpointState::NotInUse), none),
            CallPhase::Idle
        );
        assert_eq!(
            call_phase(Some(&AgentState::Ringing), Some(&EndpointState::NotInUse), none),
            CallPhase::Ringing
        );
        assert_eq!(call_phase(None, Some(&other("Ringing")), none), CallPhase::Ringing);
        // A second call ringing on a phone in a call: the call's controls stay.
        assert_eq!(call_phase(None, Some(&other("Ring+InUse")), none), CallPhase::Talking);
        assert_eq!(
            call_phase(Some(&AgentState::Talking), Some(&EndpointState::InUse), none),
            CallPhase::Talking
        );
        // Not an agent (no queue): the endpoint alone says "in a call".
        assert_eq!(call_phase(None, Some(&EndpointState::InUse), none), CallPhase::Talking);
        assert_eq!(call_phase(None, Some(&other("On Hold")), none), CallPhase::Held);
        let held = LocalFlags { held: true, ..none };
        assert_eq!(
            call_phase(Some(&AgentState::Talking), Some(&EndpointState::InUse), held),
            CallPhase::Held
        );
        // A held flag without a call is stale: idle.
        assert_eq!(call_phase(None, Some(&EndpointState::NotInUse), held), CallPhase::Idle);
        let consulting = LocalFlags { consulting: true, ..none };
        assert_eq!(call_phase(None, Some(&other("On Hold")), consulting), CallPhase::Consulting);
        assert_eq!(call_phase(Some(&AgentState::Talking), None, consulting), CallPhase::Consulting);
        let left = LocalFlags { left: true, ..none };
        assert_eq!(
            call_phase(Some(&AgentState::Talking), Some(&EndpointState::InUse), left),
            CallPhase::Idle
        );
        // Unknown endpoint: the agent status decides.
        assert_eq!(call_phase(Some(&AgentState::Talking), None, none), CallPhase::Talking);
        assert_eq!(call_phase(Some(&AgentState::WorkBreak), None, none), CallPhase::Idle);
    }

    #[test]
    fn controls_per_phase() {
        assert!(applicable(CallPhase::Idle).is_empty());
        assert_eq!(applicable(CallPhase::Ringing), &[CallOp::Hangup]);
        let talking = applicable(CallPhase::Talking);
        for op in
            [CallOp::Hold, CallOp::TransferBlind, CallOp::TransferAttended, CallOp::Park, CallOp::Hangup]
        {
            assert!(talking.contains(&op), "{op:?}");
        }
        assert!(!talking.contains(&CallOp::Unhold) && !talking.contains(&CallOp::CancelAttended));
        assert_eq!(applicable(CallPhase::Held), &[CallOp::Unhold, CallOp::Hangup]);
        assert_eq!(applicable(CallPhase::Consulting), &[CallOp::CancelAttended, CallOp::Hangup]);
    }

    #[test]
    fn the_call_state_prefers_talking_then_ringing() {
        let rows = vec![row("200", AgentState::Ready, 1), row("300", AgentState::Talking, 1)];
        assert_eq!(call_state_of(&rows), Some(&AgentState::Talking));
        let rows = vec![row("200", AgentState::WorkBreak, 1), row("300", AgentState::Ringing, 1)];
        assert_eq!(call_state_of(&rows), Some(&AgentState::Ringing));
        assert_eq!(call_state_of(&[]), None);
    }

    fn status(rows: Vec<AgentStatus>, endpoint: EndpointState, asked_ms: u64) -> AgentAction {
        AgentAction::Status { rows, endpoint: Some(endpoint), asked_ms, now_ms: asked_ms + 50 }
    }

    #[test]
    fn hold_then_stale_and_fresh_reports() {
        let talking = vec![row("200", AgentState::Talking, 3)];
        let s = AgentDesk::default().reduce(status(talking.clone(), EndpointState::InUse, 1_000));
        assert_eq!(s.phase(), CallPhase::Talking);
        let s = s.reduce(AgentAction::CallStarted(CallOp::Hold));
        assert_eq!(s.pending.call, Some(CallOp::Hold));
        assert!(s.call_busy());
        let s = s.reduce(AgentAction::CallDone { op: CallOp::Hold, now_ms: 2_000 });
        assert_eq!(s.phase(), CallPhase::Held);
        assert!(!s.call_busy());
        // A report asked before the hold still says "In use": the flag stays.
        let s = s.reduce(status(talking.clone(), EndpointState::InUse, 1_900));
        assert_eq!(s.phase(), CallPhase::Held);
        // A later one says "On Hold": still held.
        let s = s.reduce(status(talking.clone(), other("On Hold"), 2_100));
        assert_eq!(s.phase(), CallPhase::Held);
        let s = s.reduce(AgentAction::CallDone { op: CallOp::Unhold, now_ms: 3_000 });
        assert_eq!(s.phase(), CallPhase::Talking);
        // Someone else held it (a fresh "On Hold"): held.
        let s = s.reduce(status(talking.clone(), other("On Hold"), 3_100));
        assert_eq!(s.phase(), CallPhase::Held);
        // And resumed elsewhere (a fresh "In use"): talking.
        let s = s.reduce(status(talking, EndpointState::InUse, 3_200));
        assert_eq!(s.phase(), CallPhase::Talking);
    }

    #[test]
    fn attended_transfer_consult_cancel_and_complete() {
        let talking = vec![row("200", AgentState::Talking, 3)];
        let s = AgentDesk::default().reduce(status(talking.clone(), EndpointState::InUse, 1_000));
        let s = s.reduce(AgentAction::CallStarted(CallOp::TransferAttended));
        let s = s.reduce(AgentAction::CallDone { op: CallOp::TransferAttended, now_ms: 2_000 });
        assert_eq!(s.phase(), CallPhase::Consulting);
        // The first leg on hold while consulting does not turn it into "held".
        let s = s.reduce(status(talking.clone(), other("On Hold"), 2_100));
        assert_eq!(s.phase(), CallPhase::Consulting);
        let s = s.reduce(AgentAction::CallDone { op: CallOp::CancelAttended, now_ms: 3_000 });
        assert_eq!(s.phase(), CallPhase::Talking);
        // Consult again and complete by hanging up: the call leaves.
        let s = s.reduce(AgentAction::CallDone { op: CallOp::TransferAttended, now_ms: 4_000 });
        let s = s.reduce(AgentAction::CallDone { op: CallOp::Hangup, now_ms: 5_000 });
        assert_eq!(s.phase(), CallPhase::Idle);
        assert!(s.flags.left);
        // A stale "In use" does not bring the controls back…
        let s = s.reduce(status(talking.clone(), EndpointState::InUse, 4_900));
        assert_eq!(s.phase(), CallPhase::Idle);
        // …a fresh free report clears the flags.
        let s = s.reduce(status(vec![row("200", AgentState::WrapUp, 0)], EndpointState::NotInUse, 5_100));
        assert_eq!(s.flags, LocalFlags::default());
        assert_eq!(s.phase(), CallPhase::Idle);
    }

    #[test]
    fn blind_transfer_and_park_leave_the_extension() {
        let talking = vec![row("200", AgentState::Talking, 3)];
        for op in [CallOp::TransferBlind, CallOp::TransferIvr, CallOp::TransferQueue, CallOp::Park] {
            let s = AgentDesk::default().reduce(status(talking.clone(), EndpointState::InUse, 1_000));
            let s = s.reduce(AgentAction::CallDone { op, now_ms: 2_000 });
            assert_eq!(s.phase(), CallPhase::Idle, "{op:?}");
            assert_eq!(s.last_done, Some(op));
            // A fresh report of a new call on the extension shows it again.
            let s = s.reduce(status(talking.clone(), EndpointState::InUse, 2_500));
            assert_eq!(s.phase(), CallPhase::Talking, "{op:?}");
        }
    }

    #[test]
    fn failures_keep_the_call_and_name_the_error() {
        let talking = vec![row("200", AgentState::Talking, 3)];
        let s = AgentDesk::default().reduce(status(talking, EndpointState::InUse, 1_000));
        let s = s.reduce(AgentAction::CallStarted(CallOp::Park));
        let s = s.reduce(AgentAction::CallFailed(vendor("600016")));
        assert_eq!(s.phase(), CallPhase::Talking);
        assert_eq!(s.call_error.as_ref().map(|e| e.code()), Some("600016".into()));
        assert!(!s.call_busy());
        let s = s.reduce(AgentAction::Dismiss(Area::Call));
        assert_eq!(s.call_error, None);
    }

    #[test]
    fn queue_bar_pending_and_durations() {
        let s = AgentDesk::default().reduce(AgentAction::LoginStarted);
        assert!(s.pending.login);
        let s = s.reduce(AgentAction::LoginDone);
        assert!(!s.pending.login);
        let s = s.reduce(status(vec![row("200", AgentState::Ready, 10)], EndpointState::NotInUse, 10_000));
        assert!(s.signed_in("200"));
        assert!(!s.signed_in("300"));
        let r = s.row("200").cloned().unwrap();
        // Reported 10 s at 10 050 ms; at 13 100 ms it is 13 s.
        assert_eq!(s.status_secs(&r, 13_100), 13);
        assert_eq!(s.status_secs(&r, 0), 10);
        let s = s.reduce(AgentAction::PauseStarted(PauseReason::WorkBreak));
        assert_eq!(s.pending.pause, Some(PauseReason::WorkBreak));
        let s = s.reduce(AgentAction::AgentFailed(vendor("610004")));
        assert_eq!(s.pending, AgentPending::default());
        assert!(s.agent_error.is_some());
        let s = s.reduce(AgentAction::PauseStarted(PauseReason::Ready));
        assert_eq!(s.agent_error, None);
        let s = s.reduce(AgentAction::PauseDone);
        assert_eq!(s.pending.pause, None);
        // Logged-out rows do not count as signed in.
        let s = s.reduce(status(vec![row("200", AgentState::LoggedOut, 0)], EndpointState::NotInUse, 20_000));
        assert!(!s.signed_in("200"));
        assert_eq!(s.reduce(AgentAction::Reset), AgentDesk::default());
    }

    #[test]
    fn the_queues_are_the_pbx_s_and_config_s_not_the_seed_s() {
        let s = AgentDesk::default();
        assert!(s.queues().is_empty(), "nothing is offered before the PBX answers: {:?}", s.queues());
        let s = s.reduce(AgentAction::Roster(vec![
            row("620", AgentState::Ready, 1),
            row("610", AgentState::LoggedOut, 0),
        ]));
        assert_eq!(s.queues(), ["610", "620"]);
        // A queue nobody has joined is only in config.json.
        let s = s.reduce(AgentAction::Configured(vec![" 630 ".into(), "610".into(), String::new()]));
        assert_eq!(s.queues(), ["610", "620", "630"]);
        // This extension's own rows name queues too.
        let s = s.reduce(status(vec![row("1000", AgentState::Ready, 1)], EndpointState::NotInUse, 1_000));
        assert_eq!(s.queues(), ["610", "620", "630", "1000"]);
        assert!(s.signed_in_any());
        // Signing out forgets the PBX's answers, not config.json.
        let s = s.reduce(AgentAction::Reset);
        assert_eq!(s.queues(), ["610", "630"], "config.json's two");
        assert!(!s.signed_in_any());
        assert_eq!(
            queue_list(["1000", "99", "sales", "200", "200 "], ["0"]),
            ["0", "99", "200", "1000", "sales"]
        );
        let list = vec!["610".to_string(), "620".to_string()];
        assert_eq!(pick_queue(&list, "620").as_deref(), Some("620"));
        assert_eq!(pick_queue(&list, "200").as_deref(), Some("610"), "a choice the PBX does not have");
        assert_eq!(pick_queue(&[], "200"), None);
    }

    #[test]
    fn config_queues_decode_leniently() {
        #[derive(serde::Deserialize)]
        struct C {
            #[serde(default, deserialize_with = "deserialize_queues")]
            queues: Vec<String>,
        }
        let q = |v: serde_json::Value| serde_json::from_value::<C>(v).map(|c| c.queues).unwrap();
        assert_eq!(q(serde_json::json!({"queues": [610, "620", null, {"x": 1}, " "]})), ["610", "620"]);
        assert_eq!(q(serde_json::json!({"queues": "610, 620,"})), ["610", "620"]);
        assert_eq!(q(serde_json::json!({"queues": 610})), ["610"]);
        assert!(q(serde_json::json!({"queues": null})).is_empty());
        assert!(q(serde_json::json!({})).is_empty());
    }

    #[test]
    fn parked_list_and_unpark() {
        let parked: Vec<ParkedCall> = serde_json::from_value(serde_json::json!([
            {"parkeeUniqueid": "u1", "parkingSpace": "701", "parkeeCallerIDNum": "18312340001", "parkingDuration": "5"},
            {"parkeeUniqueid": "u2", "parkingSpace": "702", "parkeeCallerIDNum": "18312340002", "parkingDuration": 9},
        ]))
        .unwrap();
        let s = AgentDesk::default().reduce(AgentAction::Parked(parked));
        assert!(s.parked_loaded);
        let s = s.reduce(AgentAction::UnparkStarted("701".into()));
        assert!(s.call_busy());
        let s = s.reduce(AgentAction::UnparkDone { now_ms: 1_000 });
        assert_eq!(s.parked.len(), 1);
        assert_eq!(s.parked[0].parking_space, "702");
        assert_eq!(s.pending.unpark, None);
        let s = s.reduce(AgentAction::UnparkStarted("702".into()));
        let s = s.reduce(AgentAction::UnparkFailed(vendor("600018")));
        assert_eq!(s.parked.len(), 1);
        assert_eq!(s.parked_error.as_ref().map(|e| e.code()), Some("600018".into()));
        let s = s.reduce(AgentAction::Refused(Area::Parked, vendor("x")));
        assert!(s.parked_error.is_some());
    }
}
