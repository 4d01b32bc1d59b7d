//! The softphone engine's vocabulary: calls as the user sees them
//! ([`CallSnapshot`], [`SoftphoneEvent`]) and what it trades with its
//! driver ([`Op`], [`Transmit`], [`Reply`], [`MediaOp`], [`MediaEvent`]).

use crate::Error;
use agent_console_wire::dapi::{CallMessage, Channel, EventCode, JoinInfo, SystemConfig, Uid};

/// The engine's id of one call (not the server's: an outgoing call has no
/// channel until the server answers).
pub type CallId = u64;

/// Which side of the call we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// We called.
    Caller,
    /// We were called.
    Callee,
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CallState {
    /// Caller: asking the server to ring the callees.
    Dialing,
    /// Caller: the callees are being rung. Callee: we are being rung.
    Ringing,
    /// Callee: answered; fetching the token and joining.
    Answering,
    /// Two or more people (or the robot) in the channel.
    Talking,
    /// Over.
    Ended,
}

/// Why a call ended, from our side. [`EndReason::code`] is what we report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum EndReason {
    /// A talk ended; `byMe` says who hung up (code 2).
    Hangup {
        /// We hung up.
        #[serde(rename = "byMe")]
        by_me: bool,
    },
    /// We cancelled while it rang (1000).
    Cancelled,
    /// Nobody answered in time (1001).
    NoAnswer,
    /// Every callee rejected (1002).
    Rejected,
    /// We rejected (1003).
    RejectedByMe,
    /// The caller cancelled while we rang (1006).
    CallerCancelled,
    /// Something failed (1007, if we had a channel to report on).
    Failed {
        /// What failed.
        message: String,
    },
}

impl EndReason {
    /// The event code this side reports for the ending.
    pub fn code(&self) -> EventCode {
        match self {
            EndReason::Hangup { .. } => EventCode::TalkEnded,
            EndReason::Cancelled => EventCode::CallerCancelled,
            EndReason::NoAnswer => EventCode::NoAnswer,
            EndReason::Rejected => EventCode::Rejected,
            EndReason::RejectedByMe => EventCode::RejectedByMe,
            EndReason::CallerCancelled => EventCode::CancelledByCaller,
            EndReason::Failed { .. } => EventCode::Failed,
        }
    }
}

/// Health of the link to the server, from polls, heartbeats and reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum Connection {
    /// The last exchange worked.
    Ok,
    /// Exchanges are failing and being retried.
    Trouble {
        /// Failures in a row.
        failures: u32,
        /// The last failure, for people.
        error: String,
    },
}

/// A call as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallSnapshot {
    /// Engine id (pass to `answer`/`reject`).
    pub call_id: CallId,
    /// Our side.
    pub role: Role,
    /// Where it is.
    pub state: CallState,
    /// The channel, once known.
    pub channel: Option<String>,
    /// Outgoing: who we ring.
    pub callees: Vec<String>,
    /// Users seen in the channel besides us.
    pub peers: Vec<String>,
    /// The robot is in the channel.
    pub robot: bool,
    /// A robot call (`callRobot`).
    pub robot_call: bool,
    /// The caller's extra message (incoming).
    pub extra_msg: String,
    /// When the talk started, on the caller's `now` scale (monotonic in a
    /// browser: compare it with that clock, never with a time of day).
    pub talk_started_ms: Option<u64>,
    /// Why it ended, once it has.
    pub ended: Option<EndReason>,
}

/// News for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoftphoneEvent {
    /// Someone is calling us.
    Incoming(CallSnapshot),
    /// A call changed.
    State(CallSnapshot),
    /// A call ended (sent once per call, after its last `State`).
    Ended(CallSnapshot),
    /// The link to the server changed.
    Connection(Connection),
    /// An action on a live call failed without ending it (robot invite).
    Failed {
        /// The call.
        call_id: CallId,
        /// What failed.
        error: Error,
    },
}

/// A server request the engine wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `GET /dapi/system/config`.
    Config,
    /// `POST /dapi/call/msg`.
    Messages,
    /// `POST /dapi/call/user`.
    CallUsers {
        /// Callees.
        dst: Vec<Uid>,
        /// Extra message.
        extra_msg: Option<String>,
    },
    /// `POST /dapi/call/robot`.
    CallRobot,
    /// `POST /dapi/call/token`.
    Token(Channel),
    /// `POST /dapi/call/event`.
    Event {
        /// Channel.
        channel: Channel,
        /// Code.
        code: EventCode,
        /// Description.
        desp: String,
    },
    /// `POST /dapi/call/heartbeat`.
    Heartbeat(Channel),
    /// `POST /dapi/invite/robot`.
    InviteRobot(Channel),
    /// `POST /dapi/quit/robot`.
    QuitRobot(Channel),
}

/// One request to send; hand the reply back with its `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Pass to [`Softphone::handle_reply`].
    pub id: u64,
    /// The call it belongs to.
    pub call_id: Option<CallId>,
    /// What to send.
    pub op: Op,
}

/// A decoded reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `system/config`.
    Config(SystemConfig),
    /// `call/msg`.
    Messages(Vec<CallMessage>),
    /// Join data.
    Join(JoinInfo),
    /// Nothing to read (`event`, `heartbeat`, `quit/robot`).
    Done,
}

/// An order for the RTC adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaOp {
    /// Join with this data (passed on unchanged); answer with
    /// [`Softphone::media_joined`].
    Join(JoinInfo),
    /// Leave the channel (no answer needed).
    Leave,
}

/// What the RTC adapter reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// Someone else entered the channel.
    RemoteJoined(String),
    /// Someone else left.
    RemoteLeft(String),
}
