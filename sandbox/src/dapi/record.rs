//! One call record ("通话记录") and everything that moves it: who is in the channel, the
//! call messages of its callees, the reported events, the robot, and the three ways a
//! record ends (everyone reported, stragglers timed out, heartbeat lost).
//!
//! Nothing here reads a clock: every method takes the sandbox time it happens at, and
//! [`CallRecord::advance`] replays the timed rules (heartbeat loss, straggler timeout, the
//! robot's ring timeout) in time order up to "now", so a clock jump lands exactly where
//! a real server ticking every second would be.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::clock::format_cst;

/// The robot's uid in channels, events and `rtc/<channel>` members.
pub const ROBOT_UID: &str = "robot";
/// Every event code `call/event` accepts.
pub const EVENT_CODES: [i64; 8] = [1, 2, 1000, 1001, 1002, 1003, 1006, 1007];
/// Codes that end a uid's part in a call.
pub const END_CODES: [i64; 7] = [2, 1000, 1001, 1002, 1003, 1006, 1007];
/// End codes that, from the caller, end every message of the channel.
pub const CALLER_END_CODES: [i64; 5] = [1000, 1001, 1002, 2, 1007];
/// End codes that, from a callee, end that callee's message.
pub const CALLEE_END_CODES: [i64; 4] = [1003, 1006, 2, 1007];
/// A scheduled (robot) call that nobody picked up is given up this long after it
/// started: the client engine's default ring timeout, applied to the robot as caller.
pub const ROBOT_RING_TIMEOUT_MS: i64 = 45_000;

/// `sender_type` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// 0: reported by an app user.
    User,
    /// 1: the robot.
    Robot,
    /// 2: the server itself (heartbeat loss).
    Server,
}

impl Sender {
    /// The wire value.
    pub fn code(self) -> u8 {
        match self {
            Sender::User => 0,
            Sender::Robot => 1,
            Sender::Server => 2,
        }
    }
}

/// Message `status` values and their `_status_label`s.
pub const STATUS_NEW: u8 = 0;
/// The callee has fetched the message.
pub const STATUS_FETCHED: u8 = 1;
/// The call is over for this message.
pub const STATUS_ENDED: u8 = 2;

/// `_status_label` for a message status.
pub fn status_label(status: u8) -> &'static str {
    match status {
        STATUS_NEW => "初始化",
        STATUS_FETCHED => "信息已获取",
        _ => "通话已经完结",
    }
}

/// `s` as one URL path segment: uids are the site's (an e-mail, anything printable),
/// so every byte but the unreserved ones (and `@`) is percent-encoded.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `code` ends the reporter's part in the call.
pub fn is_end_code(code: i64) -> bool {
    END_CODES.contains(&code)
}

/// Hands out the ids shared by all records (messages and events are numbered globally,
/// like database rows).
#[derive(Debug, Default)]
pub struct Ids {
    last_record: u64,
    last_message: u64,
    last_event: u64,
    last_task: u64,
}

impl Ids {
    /// The next call-record id.
    pub fn record(&mut self) -> u64 {
        self.last_record += 1;
        self.last_record
    }
    /// The next message id.
    pub fn message(&mut self) -> u64 {
        self.last_message += 1;
        self.last_message
    }
    /// The next event id.
    pub fn event(&mut self) -> u64 {
        self.last_event += 1;
        self.last_event
    }
    /// The next scheduled-task id.
    pub fn task(&mut self) -> u64 {
        self.last_task += 1;
        self.last_task
    }
}

/// One reported (or server/robot generated) event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Event id (also `pk`).
    pub id: u64,
    /// The event code.
    pub code: i64,
    /// Who it is about: the reporter, `robot`, or the uid whose heartbeat was lost.
    pub uid: String,
    /// Free text.
    pub desp: String,
    /// Who sent it.
    pub sender: Sender,
    /// When (sandbox ms).
    pub at_ms: i64,
}

/// One call message: a callee's notice that it is being called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Message id (also `pk`).
    pub id: u64,
    /// The callee.
    pub uid: String,
    /// 0, 1 or 2.
    pub status: u8,
    /// When it was written.
    pub created_ms: i64,
    /// When its status last changed (creation counts).
    pub changed_ms: i64,
    /// The caller's `extra_msg` ("" when none).
    pub extra_msg: String,
}

impl Message {
    /// Whether `call/msg` lists it at `now_ms`: younger than `ttl_ms`, or its status
    /// changed less than `ttl_ms` ago.
    pub fn listed(&self, now_ms: i64, ttl_ms: i64) -> bool {
        now_ms.saturating_sub(self.created_ms) < ttl_ms || now_ms.saturating_sub(self.changed_ms) < ttl_ms
    }

    fn set_status(&mut self, status: u8, now_ms: i64) {
        if self.status != status {
            self.status = status;
            self.changed_ms = now_ms;
        }
    }
}

/// A uid's part in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Party {
    /// Got join data for the channel (so it is "in" until it reports an end code).
    pub joined: bool,
    /// Fetched its call message or a token (so the record waits for its end code).
    pub fetched: bool,
    /// Reported an end code.
    pub done: bool,
    /// Last join, heartbeat, event or RTC join.
    pub last_seen_ms: i64,
}

impl Party {
    /// In the channel: has join data and has not reported an end code.
    pub fn is_in(&self) -> bool {
        self.joined && !self.done
    }
}

/// Why a record ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The caller and every callee that mattered reported an end code.
    AllReported,
    /// Two heartbeat periods after the first end code, someone had still not reported.
    Stragglers,
    /// This uid, in the channel, sent nothing for the heartbeat deadline (one period
    /// unless the sandbox was told otherwise).
    HeartbeatLost(String),
}

impl EndReason {
    /// A short label for the sandbox views.
    pub fn label(&self) -> String {
        match self {
            EndReason::AllReported => "all_reported".to_string(),
            EndReason::Stragglers => "stragglers_timed_out".to_string(),
            EndReason::HeartbeatLost(uid) => format!("heartbeat_lost:{uid}"),
        }
    }
}

/// What [`CallRecord::report`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// A new event was stored.
    Stored,
    /// The same `(uid, code)` was already stored; nothing changed.
    Duplicate,
}

/// The lengths behind the timed rules, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `channel_heartbeat`; stragglers time out two of these after the first end code.
    pub heartbeat_ms: i64,
    /// How long a uid in the channel may send nothing before the server drops it.
    pub lost_ms: i64,
}

impl Timing {
    /// The seed's rule ("每隔30内": at least one beat within every period): a uid is
    /// lost after exactly one silent period.
    pub fn strict(heartbeat_ms: i64) -> Self {
        Self { heartbeat_ms, lost_ms: heartbeat_ms }
    }
}

/// A timed rule that comes due.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Deadline {
    HeartbeatLost(String),
    Stragglers,
    RobotGivesUp,
}

/// One call record: a channel and its history.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// Record id (also `pk`).
    pub id: u64,
    /// `ch_` + 10 letters/digits.
    pub channel: String,
    /// The caller (for a scheduled call, the user on whose behalf the robot calls).
    pub src_uid: String,
    /// The callees, in order, without duplicates.
    pub dst_uid: Vec<String>,
    /// Placed by the robot (a scheduled task), not by `src_uid` itself.
    pub is_robot: bool,
    /// The scheduled task that placed it, if any.
    pub task_id: Option<u64>,
    /// When it was created.
    pub created_ms: i64,
    /// When it ended, once it has.
    pub ended_ms: Option<i64>,
    /// Why it ended, once it has.
    pub end_reason: Option<EndReason>,
    /// Events in the order they happened.
    pub events: Vec<Event>,
    /// One message per callee.
    pub messages: Vec<Message>,
    /// Every uid that took part (caller, callees that showed up, invitees).
    pub parties: BTreeMap<String, Party>,
    /// The robot is in the channel.
    pub robot_in: bool,
    /// The robot reported `1` since it last entered.
    robot_talked: bool,
    /// The robot gave up ringing (scheduled calls only).
    pub robot_gave_up: bool,
    /// The RTC stand-in's members (`rtc/join` minus `rtc/leave`, plus the robot).
    pub members: BTreeSet<String>,
    /// When the first end code was reported.
    pub first_end_ms: Option<i64>,
    /// The webhook payload was built (and sent, if a URL was set).
    pub pushed: bool,
    /// Every `call/heartbeat` received: (uid, sandbox-clock ms). Tests and the
    /// heartbeat benchmark read the intervals from `GET /sandbox/dapi/calls`.
    pub heartbeats: Vec<(String, i64)>,
}

impl CallRecord {
    /// A new record created at `now_ms`, with one message per callee. For a user call the
    /// caller is in the channel at once (it got join data with the reply).
    pub fn new(
        ids: &mut Ids,
        channel: String,
        src_uid: String,
        dst_uid: Vec<String>,
        is_robot: bool,
        extra_msg: &str,
        now_ms: i64,
    ) -> Self {
        let messages = dst_uid
            .iter()
            .map(|uid| Message {
                id: ids.message(),
                uid: uid.clone(),
                status: STATUS_NEW,
                created_ms: now_ms,
                changed_ms: now_ms,
                extra_msg: extra_msg.to_string(),
            })
            .collect();
        Self {
            id: ids.record(),
            channel,
            src_uid,
            dst_uid,
            is_robot,
            task_id: None,
            created_ms: now_ms,
            ended_ms: None,
            end_reason: None,
            events: Vec::new(),
            messages,
            parties: BTreeMap::new(),
            robot_in: false,
            robot_talked: false,
            robot_gave_up: false,
            members: BTreeSet::new(),
            first_end_ms: None,
            pushed: false,
            heartbeats: Vec::new(),
        }
    }

    /// Whether the record has ended.
    pub fn ended(&self) -> bool {
        self.ended_ms.is_some()
    }

    /// Whether `uid` is one of the callees.
    pub fn is_callee(&self, uid: &str) -> bool {
        self.dst_uid.iter().any(|d| d == uid)
    }

    /// Whether `uid` may ask for join data with `call/token`: a callee, the caller of a
    /// user call (rejoining), or a uid that already got join data (an invitee).
    pub fn may_join(&self, uid: &str) -> bool {
        self.is_callee(uid)
            || (!self.is_robot && uid == self.src_uid)
            || self.parties.get(uid).is_some_and(|p| p.joined)
    }

    fn party(&mut self, uid: &str, now_ms: i64) -> &mut Party {
        self.parties.entry(uid.to_string()).or_insert(Party { last_seen_ms: now_ms, ..Party::default() })
    }

    /// `uid` got join data: it is in the channel (unless it already reported an end code).
    pub fn join(&mut self, ids: &mut Ids, uid: &str, now_ms: i64) {
        let callee = self.is_callee(uid);
        let p = self.party(uid, now_ms);
        p.joined = true;
        p.fetched |= callee;
        p.last_seen_ms = p.last_seen_ms.max(now_ms);
        self.robot_greets(ids, now_ms);
    }

    /// A callee fetched its message: the record now waits for its end code.
    pub fn fetched(&mut self, uid: &str, now_ms: i64) {
        self.party(uid, now_ms).fetched = true;
    }

    /// Any sign of life from `uid` (heartbeat, event, RTC join) at `now_ms`. Uids that
    /// have no part in the call are ignored.
    pub fn touch(&mut self, uid: &str, now_ms: i64) {
        if let Some(p) = self.parties.get_mut(uid) {
            p.last_seen_ms = p.last_seen_ms.max(now_ms);
        }
    }

    fn push_event(&mut self, ids: &mut Ids, code: i64, uid: &str, desp: &str, sender: Sender, at_ms: i64) {
        self.events.push(Event {
            id: ids.event(),
            code,
            uid: uid.to_string(),
            desp: desp.to_string(),
            sender,
            at_ms,
        });
    }

    /// The robot reports `1` once per stay, as soon as a user is in the channel with it.
    fn robot_greets(&mut self, ids: &mut Ids, now_ms: i64) {
        if self.robot_in && !self.robot_talked && self.parties.values().any(Party::is_in) {
            self.robot_talked = true;
            self.push_event(ids, 1, ROBOT_UID, "robot joined", Sender::Robot, now_ms);
        }
    }

    /// The robot enters the channel (no-op if it is there).
    pub fn robot_enter(&mut self, ids: &mut Ids, now_ms: i64) {
        if !self.robot_in {
            self.robot_in = true;
            self.robot_talked = false;
            self.members.insert(ROBOT_UID.to_string());
        }
        self.robot_greets(ids, now_ms);
    }

    /// The robot leaves with event `code` (no-op if it is not there).
    pub fn robot_leave(&mut self, ids: &mut Ids, code: i64, desp: &str, now_ms: i64) {
        if self.robot_in {
            self.robot_in = false;
            self.robot_talked = false;
            self.members.remove(ROBOT_UID);
            self.push_event(ids, code, ROBOT_UID, desp, Sender::Robot, now_ms);
        }
    }

    /// `quit/robot`: the robot leaves with event `2`. On a scheduled call the robot is the
    /// caller, so this is the caller hanging up: every message ends and the record waits
    /// only for the callees (or ends at once if none took part).
    pub fn robot_quit(&mut self, ids: &mut Ids, now_ms: i64) {
        if !self.robot_in {
            return;
        }
        self.robot_leave(ids, 2, "robot quit", now_ms);
        if self.is_robot {
            self.robot_gave_up = true;
            self.first_end_ms.get_or_insert(now_ms);
            self.end_all_messages(now_ms);
            if self.should_end() {
                self.end(ids, EndReason::AllReported, now_ms);
            }
        }
    }

    /// The messages `call/msg {uid}` lists at `now_ms` as `(createtime ms, id, json)`:
    /// those addressed to `uid` and, for a user call `uid` placed, all of its messages.
    /// Listing a new message to its callee marks it fetched (the reply still shows 0).
    pub fn list_messages(&mut self, uid: &str, now_ms: i64, ttl_ms: i64) -> Vec<(i64, u64, Value)> {
        let outgoing = !self.is_robot && self.src_uid == uid;
        let listed: Vec<(i64, u64, Value)> = self
            .messages
            .iter()
            .filter(|m| m.listed(now_ms, ttl_ms) && (outgoing || m.uid == uid))
            .map(|m| (m.created_ms, m.id, self.message_json(m)))
            .collect();
        let mut fetched = false;
        for m in self.messages.iter_mut().filter(|m| m.uid == uid && m.status == STATUS_NEW) {
            if m.listed(now_ms, ttl_ms) {
                m.set_status(STATUS_FETCHED, now_ms);
                fetched = true;
            }
        }
        if fetched {
            self.fetched(uid, now_ms);
        }
        listed
    }

    /// `call/event` from a user. The same `(uid, code)` twice is stored once.
    pub fn report(&mut self, ids: &mut Ids, uid: &str, code: i64, desp: &str, now_ms: i64) -> Reported {
        if self.has_reported(uid, code) {
            return Reported::Duplicate;
        }
        // Only a report by someone the call involves starts the straggler clock.
        let involved = self.is_callee(uid)
            || (!self.is_robot && uid == self.src_uid)
            || self.parties.get(uid).is_some_and(|p| p.joined);
        self.push_event(ids, code, uid, desp, Sender::User, now_ms);
        self.touch(uid, now_ms);
        if is_end_code(code) {
            if let Some(p) = self.parties.get_mut(uid) {
                p.done = true;
            } else {
                // A uid with no part yet (e.g. a callee that never fetched): remember it
                // reported, so a later token does not put it back in the channel.
                self.parties
                    .insert(uid.to_string(), Party { done: true, last_seen_ms: now_ms, ..Party::default() });
            }
            if involved {
                self.first_end_ms.get_or_insert(now_ms);
            }
            if !self.is_robot && uid == self.src_uid && CALLER_END_CODES.contains(&code) {
                self.end_all_messages(now_ms);
            }
            if CALLEE_END_CODES.contains(&code) {
                for m in self.messages.iter_mut().filter(|m| m.uid == uid) {
                    m.set_status(STATUS_ENDED, now_ms);
                }
            }
        }
        if self.should_end() {
            self.end(ids, EndReason::AllReported, now_ms);
        }
        Reported::Stored
    }

    /// Whether a user already reported `(uid, code)` here.
    pub fn has_reported(&self, uid: &str, code: i64) -> bool {
        self.events.iter().any(|e| e.sender == Sender::User && e.uid == uid && e.code == code)
    }

    fn end_all_messages(&mut self, now_ms: i64) {
        for m in &mut self.messages {
            m.set_status(STATUS_ENDED, now_ms);
        }
    }

    /// Uids whose end code the record waits for: the caller of a user call, every callee
    /// that fetched its message or a token, every uid that got join data.
    fn required(&self) -> impl Iterator<Item = (&String, &Party)> {
        self.parties.iter().filter(move |(uid, p)| {
            p.joined || (p.fetched && self.is_callee(uid)) || (!self.is_robot && **uid == self.src_uid)
        })
    }

    /// Everyone it waits for has reported (a scheduled call nobody took part in ends once
    /// the robot gave up).
    fn should_end(&self) -> bool {
        let mut required = self.required().peekable();
        if required.peek().is_none() {
            return self.is_robot && self.robot_gave_up;
        }
        required.all(|(_, p)| p.done)
    }

    /// The earliest timed rule, if any: heartbeat loss of a uid in the channel; the
    /// straggler timeout once only uids outside the channel are left unreported; the
    /// robot's ring timeout on a scheduled call nobody joined.
    fn next_deadline(&self, timing: Timing) -> Option<(i64, Deadline)> {
        if self.ended() {
            return None;
        }
        let lost = timing.lost_ms;
        let stragglers = timing.heartbeat_ms.saturating_mul(2);
        let mut best: Option<(i64, Deadline)> = None;
        let mut consider = |at: i64, d: Deadline| {
            if best.as_ref().is_none_or(|(t, _)| at < *t) {
                best = Some((at, d));
            }
        };
        for (uid, p) in self.parties.iter().filter(|(_, p)| p.is_in()) {
            consider(p.last_seen_ms.saturating_add(lost), Deadline::HeartbeatLost(uid.clone()));
        }
        if let Some(first) = self.first_end_ms {
            let mut pending = self.required().filter(|(_, p)| !p.done).peekable();
            if pending.peek().is_some() && pending.all(|(_, p)| !p.is_in()) {
                consider(first.saturating_add(stragglers), Deadline::Stragglers);
            }
        }
        if self.is_robot && self.robot_in && !self.robot_gave_up && !self.parties.values().any(|p| p.joined) {
            consider(self.created_ms.saturating_add(ROBOT_RING_TIMEOUT_MS), Deadline::RobotGivesUp);
        }
        best
    }

    /// Applies every timed rule due at or before `now_ms`, in time order.
    pub fn advance(&mut self, ids: &mut Ids, timing: Timing, now_ms: i64) {
        // Each step either ends the record or sets robot_gave_up, so this terminates;
        // the bound is only a guard.
        for _ in 0..16 {
            let Some((at, deadline)) = self.next_deadline(timing) else {
                return;
            };
            if at > now_ms {
                return;
            }
            match deadline {
                Deadline::HeartbeatLost(uid) => {
                    self.push_event(ids, 1007, &uid, &format!("heartbeat lost: {uid}"), Sender::Server, at);
                    self.end(ids, EndReason::HeartbeatLost(uid), at);
                }
                Deadline::Stragglers => self.end(ids, EndReason::Stragglers, at),
                Deadline::RobotGivesUp => {
                    self.robot_gave_up = true;
                    self.robot_leave(ids, 1001, "no answer", at);
                    self.first_end_ms.get_or_insert(at);
                    self.end_all_messages(at);
                    if self.should_end() {
                        self.end(ids, EndReason::AllReported, at);
                    }
                }
            }
        }
    }

    /// Ends the record at `at_ms`: the robot leaves (event `2`), every message becomes 2.
    pub fn end(&mut self, ids: &mut Ids, reason: EndReason, at_ms: i64) {
        if self.ended() {
            return;
        }
        self.robot_leave(ids, 2, "call ended", at_ms);
        self.end_all_messages(at_ms);
        self.ended_ms = Some(at_ms);
        self.end_reason = Some(reason);
    }

    /// `starttime`: the first `1` event, else the creation.
    pub fn start_ms(&self) -> i64 {
        self.events.iter().find(|e| e.code == 1).map_or(self.created_ms, |e| e.at_ms)
    }

    /// The event as JSON, the seed's keys (with `sender_type` spelled correctly).
    pub fn event_json(&self, e: &Event) -> Value {
        json!({
            "id": e.id,
            "channel": self.channel,
            "code": e.code,
            "createtime": format_cst(e.at_ms),
            "desp": e.desp,
            "sender_type": e.sender.code(),
            "pk": e.id,
            "record": self.id,
            "uid": e.uid,
        })
    }

    /// The message as `call/msg` lists it.
    pub fn message_json(&self, m: &Message) -> Value {
        json!({
            "id": m.id,
            "uid": m.uid,
            "channel": self.channel,
            "status": m.status,
            "_status_label": status_label(m.status),
            "createtime": format_cst(m.created_ms),
            "pk": m.id,
            "extra_msg": m.extra_msg,
        })
    }

    /// Users that talked (reported `1`), in order: each has a recording.
    pub fn talkers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in self.events.iter().filter(|e| e.code == 1 && e.sender == Sender::User) {
            if !out.contains(&e.uid) {
                out.push(e.uid.clone());
            }
        }
        out
    }

    /// The webhook's `callrecord` (also the base of the sandbox view). `endtime` and
    /// `refreshtime` are the end while it lasts, null / now while it runs.
    pub fn callrecord_json(&self, now_ms: i64) -> Value {
        let recording: Vec<Value> = self
            .talkers()
            .iter()
            .map(|uid| {
                json!({
                    "user": uid,
                    "kind_label": "录音",
                    "content": format!("/media/recording/{}_{}.wav", self.id, path_segment(uid)),
                })
            })
            .collect();
        json!({
            "channel": self.channel,
            "dst_uid": self.dst_uid,
            "id": self.id,
            "is_robot": self.is_robot,
            "src_uid": self.src_uid,
            "starttime": format_cst(self.start_ms()),
            "endtime": self.ended_ms.map(format_cst),
            "event": self.events.iter().map(|e| self.event_json(e)).collect::<Vec<_>>(),
            "resource": {
                "captions": [],
                "recording": recording,
                "recording_timestamp": [],
            },
            "pk": self.id,
            "count": 0,
            "refreshtime": format_cst(self.ended_ms.unwrap_or(now_ms)),
        })
    }

    /// The channel as `GET /sandbox/dapi/rtc/<channel>` shows it.
    pub fn rtc_json(&self) -> Value {
        json!({ "members": self.members, "robot": self.robot_in, "ended": self.ended() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HB: i64 = 30_000;

    fn user_call(ids: &mut Ids, dst: &[&str]) -> CallRecord {
        let mut r = CallRecord::new(
            ids,
            "ch_test000001".into(),
            "a".into(),
            dst.iter().map(|s| s.to_string()).collect(),
            false,
            "",
            0,
        );
        r.join(ids, "a", 0);
        r
    }

    #[test]
    fn ends_when_caller_and_fetched_callees_reported() {
        let mut ids = Ids::default();
        let mut r = user_call(&mut ids, &["b", "c"]);
        r.fetched("b", 1000);
        r.join(&mut ids, "b", 2000);
        assert_eq!(r.report(&mut ids, "b", 1, "", 3000), Reported::Stored);
        assert_eq!(r.report(&mut ids, "b", 1, "", 3100), Reported::Duplicate);
        r.report(&mut ids, "a", 1, "", 3000);
        r.report(&mut ids, "b", 2, "", 9000);
        assert!(!r.ended());
        // c never fetched: not waited for.
        r.report(&mut ids, "a", 2, "", 9500);
        assert_eq!(r.ended_ms, Some(9500));
        assert_eq!(r.end_reason, Some(EndReason::AllReported));
        assert!(r.messages.iter().all(|m| m.status == STATUS_ENDED));
        assert_eq!(r.start_ms(), 3000);
        assert_eq!(r.talkers(), vec!["b".to_string(), "a".to_string()]);
    }

    #[test]
    fn heartbeat_loss_ends_at_the_deadline() {
        let mut ids = Ids::default();
        let mut r = user_call(&mut ids, &["b"]);
        r.touch("a", 10_000);
        // Exactly one period of silence, by default.
        r.advance(&mut ids, Timing::strict(HB), 39_999);
        assert!(!r.ended());
        r.advance(&mut ids, Timing::strict(HB), 500_000);
        assert_eq!(r.ended_ms, Some(40_000));
        let e = r.events.last().unwrap();
        assert_eq!(
            (e.code, e.sender, e.uid.as_str(), e.desp.as_str()),
            (1007, Sender::Server, "a", "heartbeat lost: a")
        );
        assert_eq!(r.messages[0].status, STATUS_ENDED);
    }

    #[test]
    fn a_longer_deadline_forgives_more_and_leaves_stragglers_alone() {
        let mut ids = Ids::default();
        let mut r = user_call(&mut ids, &["b"]);
        r.touch("a", 10_000);
        let lax = Timing { heartbeat_ms: HB, lost_ms: 2 * HB };
        r.advance(&mut ids, lax, 69_999);
        assert!(!r.ended());
        r.advance(&mut ids, lax, 70_000);
        assert_eq!(r.end_reason, Some(EndReason::HeartbeatLost("a".into())));
        // Stragglers keep their two periods whatever the heartbeat deadline.
        let mut r = user_call(&mut ids, &["b"]);
        r.fetched("b", 1000);
        r.report(&mut ids, "a", 1001, "", 45_000);
        let short = Timing { heartbeat_ms: HB, lost_ms: HB / 2 };
        r.advance(&mut ids, short, 104_999);
        assert!(!r.ended());
        r.advance(&mut ids, short, 105_000);
        assert_eq!(r.end_reason, Some(EndReason::Stragglers));
    }

    #[test]
    fn stragglers_only_count_outside_the_channel() {
        let mut ids = Ids::default();
        let mut r = user_call(&mut ids, &["b"]);
        r.fetched("b", 1000);
        r.report(&mut ids, "a", 1001, "", 45_000);
        // a is out; b fetched but never joined: ends 2 periods after the first end code.
        r.advance(&mut ids, Timing::strict(HB), 104_999);
        assert!(!r.ended());
        r.advance(&mut ids, Timing::strict(HB), 105_000);
        assert_eq!((r.ended_ms, r.end_reason.clone()), (Some(105_000), Some(EndReason::Stragglers)));
    }

    #[test]
    fn a_rejected_caller_talking_to_the_robot_is_not_a_straggler() {
        let mut ids = Ids::default();
        let mut r = user_call(&mut ids, &["b"]);
        r.fetched("b", 1000);
        r.report(&mut ids, "b", 1003, "", 2000);
        r.robot_enter(&mut ids, 3000);
        assert_eq!(r.events.last().map(|e| (e.code, e.sender)), Some((1, Sender::Robot)));
        for t in (30_000..300_000).step_by(30_000) {
            r.touch("a", t);
            r.advance(&mut ids, Timing::strict(HB), t);
        }
        assert!(!r.ended());
        r.robot_leave(&mut ids, 2, "", 300_000);
        r.report(&mut ids, "a", 2, "", 300_000);
        assert!(r.ended());
    }

    #[test]
    fn an_unanswered_robot_call_gives_up() {
        let mut ids = Ids::default();
        let mut r = CallRecord::new(&mut ids, "ch_r".into(), "a".into(), vec!["b".into()], true, "", 0);
        r.robot_enter(&mut ids, 0);
        r.advance(&mut ids, Timing::strict(HB), 44_999);
        assert!(!r.ended());
        r.advance(&mut ids, Timing::strict(HB), 45_000);
        assert_eq!(r.ended_ms, Some(45_000));
        assert_eq!(r.events.last().map(|e| (e.code, e.sender)), Some((1001, Sender::Robot)));
    }

    #[test]
    fn an_outsiders_end_code_starts_no_straggler_clock() {
        let mut ids = Ids::default();
        let mut r = user_call(&mut ids, &["b"]);
        r.fetched("b", 0);
        r.report(&mut ids, "zed", 2, "", 1000);
        assert_eq!(r.first_end_ms, None);
        r.report(&mut ids, "b", 1003, "", 2000);
        assert_eq!(r.first_end_ms, Some(2000));
    }

    #[test]
    fn message_listing_window() {
        let m = Message {
            id: 1,
            uid: "b".into(),
            status: 1,
            created_ms: 0,
            changed_ms: 50_000,
            extra_msg: "".into(),
        };
        assert!(m.listed(59_999, 60_000));
        assert!(m.listed(109_999, 60_000));
        assert!(!m.listed(110_000, 60_000));
    }
}
