//! Agents and queues: sign-in/out, pause with a reason, agent status, and
//! the queue views of `status/queue` and `status/wait`.

use super::types::{Extension, Page};
use super::PbxApi;
use crate::de::{clock_secs_lenient, string_lenient, u64_lenient};
use crate::ids::check_dial_id;
use crate::{HttpRequest, InvalidInput, Problem};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use std::fmt;

/// An agent's id (工号, `1011`), as the site assigns it. The PBX may put it
/// into a queue member's dial-plan arguments, so it follows the dial id
/// rule ([`crate::ids::check_dial_id`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AgentId(String);

impl AgentId {
    /// Checks `value` as the field `field`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        Ok(Self(check_dial_id(field, value)?.to_string()))
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A queue (`200`, or a named queue such as `support`). It goes into
/// `ext-queues,<queue>,1` and Asterisk's `Queue()`, so it follows the dial
/// id rule ([`crate::ids::check_dial_id`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct QueueNumber(String);

impl QueueNumber {
    /// Checks `value` as the field `field`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        Ok(Self(check_dial_id(field, value)?.to_string()))
    }

    /// The queue as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `agent/logout` signs out of: one queue, or `all`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueTarget {
    /// One queue.
    Queue(QueueNumber),
    /// Every queue (`"all"`).
    All,
}

impl QueueTarget {
    /// Reads a queue number or `all`.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        if value.trim().eq_ignore_ascii_case("all") {
            Ok(Self::All)
        } else {
            QueueNumber::parse("queue", value).map(Self::Queue)
        }
    }
}

impl fmt::Display for QueueTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Queue(q) => q.fmt(f),
            Self::All => f.write_str("all"),
        }
    }
}

/// The states an agent may set (`paused` of `agent/login` and `agent/pause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PauseReason {
    /// 0 就绪: ready for calls.
    Ready,
    /// 4 私事暂休: private break.
    PrivateBreak,
    /// 5 公事暂休: work break.
    WorkBreak,
    /// 11 自定义状态1.
    Custom1,
    /// 12 自定义状态2.
    Custom2,
    /// 13 自定义状态3 (the seed prints 12 twice; 13 is the third).
    Custom3,
}

impl PauseReason {
    /// Every reason, in the seed's order.
    pub const ALL: [PauseReason; 6] =
        [Self::Ready, Self::PrivateBreak, Self::WorkBreak, Self::Custom1, Self::Custom2, Self::Custom3];

    /// The wire number.
    pub fn code(self) -> u8 {
        match self {
            Self::Ready => 0,
            Self::PrivateBreak => 4,
            Self::WorkBreak => 5,
            Self::Custom1 => 11,
            Self::Custom2 => 12,
            Self::Custom3 => 13,
        }
    }

    /// From the wire number.
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|r| i64::from(r.code()) == code)
    }

    /// Checks a number typed or sent from JS as the field `field`.
    pub fn parse(field: &'static str, code: i64) -> Result<Self, InvalidInput> {
        Self::from_code(code).ok_or_else(|| {
            InvalidInput::new(field, Problem::NotOneOf { allowed: "0, 4, 5, 11, 12, 13" }, &code.to_string())
        })
    }
}

/// An agent's status (`status` of `getAgentStatus`: a number; of
/// `status/queue`: the Chinese word).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AgentState {
    /// -1 未登录.
    LoggedOut,
    /// 0 就绪.
    Ready,
    /// 1 通话中.
    Talking,
    /// 2 振铃.
    Ringing,
    /// 3 整理 (wrap-up).
    WrapUp,
    /// 4 私事暂休.
    PrivateBreak,
    /// 5 公事暂休.
    WorkBreak,
    /// 6 外拨工作.
    OutboundWork,
    /// 7 代接电话.
    Pickup,
    /// 8 振铃超时.
    RingTimeout,
    /// 9 暂休超时.
    BreakTimeout,
    /// 10 忙于其他队列.
    BusyOtherQueue,
    /// 11-13: the custom pause states.
    Custom(u8),
    /// Anything else, kept as sent.
    Other(String),
}

const STATES: [(i64, &str, &str); 12] = [
    (-1, "未登录", "Logged out"),
    (0, "就绪", "Ready"),
    (1, "通话中", "Talking"),
    (2, "振铃", "Ringing"),
    (3, "整理", "Wrap-up"),
    (4, "私事暂休", "Private break"),
    (5, "公事暂休", "Work break"),
    (6, "外拨工作", "Outbound work"),
    (7, "代接电话", "Picking up"),
    (8, "振铃超时", "Ring timeout"),
    (9, "暂休超时", "Break timeout"),
    (10, "忙于其他队列", "Busy in another queue"),
];

impl AgentState {
    /// From a wire number.
    pub fn from_code(code: i64) -> Self {
        match code {
            -1 => Self::LoggedOut,
            0 => Self::Ready,
            1 => Self::Talking,
            2 => Self::Ringing,
            3 => Self::WrapUp,
            4 => Self::PrivateBreak,
            5 => Self::WorkBreak,
            6 => Self::OutboundWork,
            7 => Self::Pickup,
            8 => Self::RingTimeout,
            9 => Self::BreakTimeout,
            10 => Self::BusyOtherQueue,
            11..=13 => Self::Custom(code as u8),
            other => Self::Other(other.to_string()),
        }
    }

    /// From what either status route sends: a number, or the Chinese or
    /// English word.
    pub fn from_wire(s: &str) -> Self {
        let s = s.trim();
        if let Ok(n) = s.parse::<i64>() {
            return Self::from_code(n);
        }
        let lower = s.to_ascii_lowercase();
        match STATES.iter().find(|(_, zh, en)| *zh == s || en.to_ascii_lowercase() == lower) {
            Some((code, _, _)) => Self::from_code(*code),
            None if s.starts_with("自定义状态") => match s.trim_start_matches("自定义状态") {
                "1" => Self::Custom(11),
                "2" => Self::Custom(12),
                "3" => Self::Custom(13),
                _ => Self::Other(s.to_string()),
            },
            None => Self::Other(s.to_string()),
        }
    }

    /// The wire number, if the state has one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Custom(c) => Some(i64::from(*c)),
            Self::Other(_) => None,
            known => STATES.iter().map(|(c, _, _)| *c).find(|c| &Self::from_code(*c) == known),
        }
    }

    /// The PBX's own Chinese word (`status/queue` sends it, and
    /// [`Self::from_wire`] reads it back): vocabulary of the wire, not UI words.
    pub fn zh(&self) -> String {
        match self {
            Self::Custom(c) => format!("自定义状态{}", c.saturating_sub(10)),
            Self::Other(o) => o.clone(),
            _ => self.word(|(_, zh, _)| zh),
        }
    }

    /// The PBX's own English word (seed 003's `statusDesc` sends `Ready`).
    pub fn en(&self) -> String {
        match self {
            Self::Custom(c) => format!("Custom state {}", c.saturating_sub(10)),
            Self::Other(o) => o.clone(),
            _ => self.word(|(_, _, en)| en),
        }
    }

    fn word(&self, pick: fn(&(i64, &'static str, &'static str)) -> &'static str) -> String {
        let code = self.code();
        STATES.iter().find(|s| Some(s.0) == code).map(pick).unwrap_or_default().to_string()
    }

    /// Whether the agent is on a break (4, 5, 9, 11-13).
    pub fn is_paused(&self) -> bool {
        matches!(self, Self::PrivateBreak | Self::WorkBreak | Self::BreakTimeout | Self::Custom(_))
    }

    /// Whether the agent is on or being offered a call.
    pub fn is_on_call(&self) -> bool {
        matches!(self, Self::Talking | Self::Ringing | Self::OutboundWork | Self::Pickup)
    }
}

impl Serialize for AgentState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.code() {
            Some(c) => s.serialize_i64(c),
            None => s.serialize_str(&self.zh()),
        }
    }
}

impl<'de> Deserialize<'de> for AgentState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = string_lenient(d)?;
        Ok(if s.trim().is_empty() { Self::LoggedOut } else { Self::from_wire(&s) })
    }
}

/// One agent in one queue: a row of `getAgentStatus` (flattened from
/// `data[queue][extension]`) or of `status/queue`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStatus {
    /// 工号.
    #[serde(default, deserialize_with = "string_lenient")]
    pub agentid: String,
    /// `PJSIP`.
    #[serde(default, deserialize_with = "string_lenient")]
    pub interface_type: String,
    /// The agent's extension.
    #[serde(default, deserialize_with = "string_lenient")]
    pub extension: String,
    /// The queue.
    #[serde(default, deserialize_with = "string_lenient")]
    pub queue: String,
    /// 技能值 0-99.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub penalty: u64,
    /// The number on the current call.
    #[serde(default, deserialize_with = "string_lenient")]
    pub current: String,
    /// The current call's linkedid.
    #[serde(default, deserialize_with = "string_lenient")]
    pub linkedid: String,
    /// The extension's state, as sent (a number or 空闲/忙碌/…).
    #[serde(default, deserialize_with = "string_lenient")]
    pub ds_status: String,
    /// Seconds in that extension state.
    #[serde(default, deserialize_with = "clock_secs_lenient")]
    pub ds_status_duration: u64,
    /// Call direction, as sent.
    #[serde(default, deserialize_with = "string_lenient")]
    pub direction: String,
    /// The agent's state.
    #[serde(default = "logged_out")]
    pub status: AgentState,
    /// The server's words for it (`Ready`, `就绪(00:10:36)`).
    #[serde(default, deserialize_with = "string_lenient")]
    pub status_desc: String,
    /// Seconds in the current state.
    #[serde(default, deserialize_with = "clock_secs_lenient")]
    pub status_duration: u64,
    /// Calls now.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub calls_current: u64,
    /// Calls taken in all.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub calls_total: u64,
    /// `login` (-): undocumented; both seed examples equal `callsTotal`, and
    /// the sandbox sends the calls since sign-in. Kept as text as sent, since
    /// its meaning (a count, a time) is not fixed.
    #[serde(default, deserialize_with = "string_lenient")]
    pub login: String,
    /// 分机状态描述 (`status/queue`): the extension state with its duration,
    /// `空闲(00:10:36)`; empty from `getAgentStatus`.
    #[serde(default, deserialize_with = "string_lenient")]
    pub ds_status_desc: String,
    /// `sampleTime` (`status/queue`, undocumented; `null` in the seed): when
    /// the row was sampled, as sent; empty for `null`.
    #[serde(default, deserialize_with = "string_lenient")]
    pub sample_time: String,
}

fn logged_out() -> AgentState {
    AgentState::LoggedOut
}

/// `agent/login`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLogin {
    /// 工号.
    pub agentid: AgentId,
    /// The agent's extension.
    pub extension: Extension,
    /// The queue to join.
    pub queue: QueueNumber,
    /// 技能值 0-99 (lower is offered calls first).
    pub penalty: u8,
    /// The state to start in.
    pub paused: PauseReason,
}

impl AgentLogin {
    /// Checks every field; penalty must be 0-99.
    pub fn parse(
        agentid: &str,
        extension: &str,
        queue: &str,
        penalty: i64,
        paused: i64,
    ) -> Result<Self, InvalidInput> {
        let penalty = u8::try_from(penalty).ok().filter(|p| *p <= 99).ok_or_else(|| {
            InvalidInput::new("penalty", Problem::OutOfRange { min: 0, max: 99 }, &penalty.to_string())
        })?;
        Ok(Self {
            agentid: AgentId::parse("agentid", agentid)?,
            extension: Extension::parse("extension", extension)?,
            queue: QueueNumber::parse("queue", queue)?,
            penalty,
            paused: PauseReason::parse("paused", paused)?,
        })
    }
}

/// `agent/pause`: set the agent's state in a queue, with an optional reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPause {
    /// The agent's extension.
    pub extension: Extension,
    /// The new state.
    pub paused: PauseReason,
    /// The queue.
    pub queue: QueueNumber,
    /// Free text (at most 64 characters); `None` sends no `reason` (the
    /// seed marks it optional: the server keeps what it is given).
    pub reason: Option<String>,
}

impl AgentPause {
    /// Checks every field.
    pub fn parse(
        extension: &str,
        paused: i64,
        queue: &str,
        reason: Option<&str>,
    ) -> Result<Self, InvalidInput> {
        let paused = PauseReason::parse("paused", paused)?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = reason.filter(|r| r.chars().count() > 64) {
            return Err(InvalidInput::new("reason", Problem::TooLong { max: 64 }, r));
        }
        Ok(Self {
            extension: Extension::parse("extension", extension)?,
            paused,
            queue: QueueNumber::parse("queue", queue)?,
            reason: reason.map(str::to_string),
        })
    }
}

/// The optional filters of `agent/getAgentStatus`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentFilter {
    /// Only this agent.
    pub agentid: Option<AgentId>,
    /// Only this extension.
    pub extension: Option<Extension>,
    /// Only this queue.
    pub queue: Option<QueueNumber>,
}

/// One caller waiting in a queue (`status/wait`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitingCaller {
    /// Position in the queue, from 1.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub serial_no: u64,
    /// The caller's number: what `call/redirect` takes as `dest`.
    #[serde(deserialize_with = "string_lenient")]
    pub callerid: String,
    /// The caller's channel.
    #[serde(default, deserialize_with = "string_lenient")]
    pub channel: String,
    /// The call's linkedid.
    #[serde(default, deserialize_with = "string_lenient")]
    pub linkedid: String,
    /// The queue.
    #[serde(default, deserialize_with = "string_lenient")]
    pub queue: String,
    /// Seconds waited (the wire's `m:ss`).
    #[serde(
        rename(serialize = "waitSecs"),
        alias = "waitTime",
        default,
        deserialize_with = "clock_secs_lenient"
    )]
    pub wait_time: u64,
    /// Queue priority.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub prio: u64,
    /// Digits pressed in the IVR.
    #[serde(default, deserialize_with = "string_lenient")]
    pub ivr: String,
    /// Area code.
    #[serde(default, deserialize_with = "string_lenient")]
    pub ac: String,
}

impl PbxApi {
    /// `POST /api/v1/agent/login`.
    pub fn agent_login(&self, l: &AgentLogin) -> HttpRequest {
        self.post(
            "/api/v1/agent/login",
            json!({
                "agentid": l.agentid, "extension": l.extension, "queue": l.queue,
                "penalty": l.penalty, "paused": l.paused.code(),
            }),
        )
    }

    /// `POST /api/v1/agent/logout`.
    pub fn agent_logout(&self, extension: &Extension, queue: &QueueTarget) -> HttpRequest {
        self.post("/api/v1/agent/logout", json!({ "extension": extension, "queue": queue.to_string() }))
    }

    /// `POST /api/v1/agent/pause` (`reason` only when given).
    pub fn agent_pause(&self, p: &AgentPause) -> HttpRequest {
        let mut body = json!({ "extension": p.extension, "paused": p.paused.code(), "queue": p.queue });
        if let (Some(r), Some(o)) = (&p.reason, body.as_object_mut()) {
            o.insert("reason".into(), r.clone().into());
        }
        self.post("/api/v1/agent/pause", body)
    }

    /// `GET /api/v1/agent/getAgentStatus` with the filters in the query.
    pub fn agent_status(&self, f: &AgentFilter) -> HttpRequest {
        let mut q = Vec::new();
        if let Some(a) = &f.agentid {
            q.push(("agentid", a.to_string()));
        }
        if let Some(e) = &f.extension {
            q.push(("extension", e.to_string()));
        }
        if let Some(qu) = &f.queue {
            q.push(("queue", qu.to_string()));
        }
        self.get("/api/v1/agent/getAgentStatus", &q)
    }

    /// `GET /api/v1/status/queue?queue_num`.
    pub fn queue_status(&self, queue: &QueueNumber) -> HttpRequest {
        self.get("/api/v1/status/queue", &[("queue_num", queue.to_string())])
    }

    /// `GET /api/v1/status/wait?page&pageSize&queue_num`.
    pub fn waiting_callers(&self, page: Page, queue: &QueueNumber) -> HttpRequest {
        self.get(
            "/api/v1/status/wait",
            &[
                ("page", page.page.to_string()),
                ("pageSize", page.page_size.to_string()),
                ("queue_num", queue.to_string()),
            ],
        )
    }
}

/// Decodes `getAgentStatus`: `data[queue][extension]` flattened into rows
/// ordered by queue then extension. `data: []` means no agents. An agent
/// that does not decode is skipped and counted, not a failed reply.
pub fn decode_agent_status(
    resp: &crate::HttpResponse,
) -> Result<super::Reply<Vec<AgentStatus>>, crate::ApiError> {
    use crate::de::{Listed, Skipped};
    use serde_json::Value;
    use std::collections::BTreeMap;
    let r = super::decode::<Value>(resp)?;
    // (queue key, extension key, the agent) in queue then extension order.
    let mut entries: Vec<(Option<String>, Option<String>, Value)> = Vec::new();
    let mut skipped = Skipped::default();
    match r.data {
        Value::Object(queues) => {
            for (queue, inner) in queues.into_iter().collect::<BTreeMap<_, _>>() {
                match inner {
                    Value::Object(agents) => entries.extend(
                        agents
                            .into_iter()
                            .collect::<BTreeMap<_, _>>()
                            .into_iter()
                            .map(|(ext, a)| (Some(queue.clone()), Some(ext), a)),
                    ),
                    other => match Listed::<Value>::from_value(other) {
                        Ok(list) => {
                            entries.extend(list.rows.into_iter().map(|a| (Some(queue.clone()), None, a)))
                        }
                        Err(e) => skipped.add(entries.len(), &format!("queue {queue}: {e}")),
                    },
                }
            }
        }
        other => {
            let list = Listed::<Value>::from_value(other)
                .map_err(|e| crate::ApiError::Decode(format!("data: {e}")))?;
            entries.extend(list.rows.into_iter().map(|a| (None, None, a)));
        }
    }
    let mut rows = Vec::with_capacity(entries.len());
    // Each agent on its own: one odd entry must not hide the others.
    for (i, (queue, ext, v)) in entries.into_iter().enumerate() {
        match AgentStatus::deserialize(v) {
            Ok(mut a) => {
                // The keys are the truth when a row leaves its own fields out.
                if let (true, Some(q)) = (a.queue.is_empty(), queue) {
                    a.queue = q;
                }
                if let (true, Some(e)) = (a.extension.is_empty(), ext) {
                    a.extension = e;
                }
                rows.push(a);
            }
            Err(e) => skipped.add(i, &e.to_string()),
        }
    }
    Ok(super::Reply { data: rows, total: r.total, msg: r.msg, skipped })
}
