//! The softphone's call engine (dapi, seed 001): every call as a state
//! machine, caller and callee side, in the sans-IO style of quinn-proto. The
//! engine never reads a clock and does no I/O. The driver feeds it user
//! actions, replies and media news with `now`, and drains what it asks for:
//!
//! - [`Softphone::poll_transmit`]: server requests to send (poll, heartbeat,
//!   event reports, call set-up);
//! - [`Softphone::poll_media`]: join/leave orders for the RTC adapter;
//! - [`Softphone::poll_event`]: news for the user (incoming, state, ended,
//!   connection);
//! - [`Softphone::poll_timeout`]: when to call [`Softphone::handle_timeout`].
//!
//! Each call reports its event codes exactly once (1 on talk, then one end
//! code). Failed reports are retried in order until the server answers;
//! failed polls and heartbeats are retried with backoff and show as
//! [`Connection::Trouble`] until the next success. The backoff is jittered
//! per softphone ([`Softphone::with_seed`]), so a hundred consoles that lost
//! the same server do not come back in step.

use crate::backoff::Jitter;
use crate::time::{Duration, Instant};
use crate::Error;
use agent_console_wire::dapi::{CallMessage, Channel, EventCode, JoinInfo, MessageStatus, Uid};
use agent_console_wire::ApiError;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

// What goes in and out of the engine: its calls as the user sees them, and
// the server requests, media orders and replies it trades with the driver.
mod protocol;
pub use protocol::*;

/// Engine settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftphoneSettings {
    /// How often `/dapi/call/msg` is polled (default 3 s).
    pub poll_period: Duration,
    /// How long an outgoing call rings before it ends as "no answer" (1001),
    /// default 45 s. An incoming call stops ringing 15 s after this.
    pub ring_timeout: Duration,
    /// Heartbeat period until `/dapi/system/config` says (default 30 s).
    pub heartbeat: Duration,
}

impl Default for SoftphoneSettings {
    fn default() -> Self {
        Self {
            poll_period: Duration::from_secs(3),
            ring_timeout: Duration::from_secs(45),
            heartbeat: Duration::from_secs(agent_console_wire::dapi::DEFAULT_HEARTBEAT_SECS),
        }
    }
}

/// First retry delay after a failed poll, heartbeat or report (before
/// jitter, which keeps a random half to all of each delay).
const RETRY_FIRST: Duration = Duration::from_millis(1_000);
/// Longest delay between poll or report retries.
const RETRY_MAX: Duration = Duration::from_secs(15);
/// Message ids remembered so none is rung twice (the server lists a message
/// for about a minute).
const SEEN_KEPT: usize = 1_000;
/// How much longer than an outgoing ring an incoming call may ring.
const INCOMING_GRACE: Duration = Duration::from_secs(15);
/// Longest heartbeat margin: how much earlier than one period after the
/// last beat the next one goes out, for a slow network.
const HEARTBEAT_MARGIN_MAX: Duration = Duration::from_secs(5);
/// Heartbeats of one call that may be on their way at once. A slow reply
/// does not hold the next beat back; the request timeout bounds how many
/// pile up, and this bounds it again should that timeout be long.
const HEARTBEATS_IN_FLIGHT_MAX: u32 = 3;

/// Time from sending one heartbeat to sending the next: the period less a
/// margin of a sixth of it (at most 5 s), so that a beat still arrives
/// within one period of the last (seed 001: "每隔30内") with a slow network.
pub fn heartbeat_interval(period: Duration) -> Duration {
    let margin = Duration::from_millis((period.0 / 6).min(HEARTBEAT_MARGIN_MAX.0));
    Duration::from_millis(period.0.saturating_sub(margin.0).max(1))
}

#[derive(Debug)]
struct Call {
    snap: CallSnapshot,
    channel: Option<Channel>,
    message_id: Option<u64>,
    since: Instant,
    // Join data obtained: we are "in" the channel for the server.
    in_channel: bool,
    // Media join ordered (and not yet left).
    media: bool,
    joined: bool,
    // Hang-up asked while the call/user reply was on its way.
    cancel_asked: bool,
    // When the next beat goes out: set when one is sent (not when its reply
    // comes), so the beats stay within one period of each other.
    next_heartbeat: Option<Instant>,
    // The last sure sign of life for the server (join data, the last beat
    // sent): a shorter period from a late config reply counts from here.
    heartbeat_base: Option<Instant>,
    heartbeats_in_flight: u32,
    // The request id of the newest beat the server answered: a failure of an
    // older beat (it timed out after a newer one got through) is stale.
    newest_beat_ok: u64,
    heartbeat_failures: u32,
    reported: BTreeSet<u16>,
}

impl Call {
    fn new(id: CallId, role: Role, state: CallState, now: Instant) -> Self {
        Call {
            snap: CallSnapshot {
                call_id: id,
                role,
                state,
                channel: None,
                callees: Vec::new(),
                peers: Vec::new(),
                robot: false,
                robot_call: false,
                extra_msg: String::new(),
                talk_started_ms: None,
                ended: None,
            },
            channel: None,
            message_id: None,
            since: now,
            in_channel: false,
            media: false,
            joined: false,
            cancel_asked: false,
            next_heartbeat: None,
            heartbeat_base: None,
            heartbeats_in_flight: 0,
            newest_beat_ok: 0,
            heartbeat_failures: 0,
            reported: BTreeSet::new(),
        }
    }

    fn live(&self) -> bool {
        self.snap.state != CallState::Ended
    }
}

#[derive(Debug)]
struct Report {
    call_id: CallId,
    channel: Channel,
    code: EventCode,
    desp: String,
}

/// The softphone of one user: every call it takes part in.
#[derive(Debug)]
pub struct Softphone {
    uid: Uid,
    settings: SoftphoneSettings,
    heartbeat: Duration,
    started: bool,
    next_op_id: u64,
    next_call_id: CallId,
    calls: BTreeMap<CallId, Call>,
    seen: VecDeque<u64>,
    in_flight: BTreeMap<u64, (Option<CallId>, Op)>,
    transmits: VecDeque<Transmit>,
    media: VecDeque<(CallId, MediaOp)>,
    events: VecDeque<SoftphoneEvent>,
    // Polling.
    next_poll: Option<Instant>,
    poll_in_flight: bool,
    poll_failures: u32,
    config_needed: bool,
    config_in_flight: bool,
    // Reports, sent one at a time in order.
    reports: VecDeque<Report>,
    report_in_flight: bool,
    report_retry_at: Option<Instant>,
    report_failures: u32,
    connection: Connection,
    // Spreads the retry delays of one console from another's.
    jitter: Jitter,
}

impl Softphone {
    /// A stopped softphone for `uid`, its retry jitter seeded with 0: every
    /// softphone made this way retries at the same times. Consoles use
    /// [`Softphone::with_seed`].
    pub fn new(uid: Uid, settings: SoftphoneSettings) -> Self {
        Self::with_seed(uid, settings, 0)
    }

    /// A stopped softphone for `uid` whose retry delays are jittered from
    /// `seed` (give each console its own, e.g.
    /// `agent_console::transport::jitter_seed()`).
    pub fn with_seed(uid: Uid, settings: SoftphoneSettings, seed: u64) -> Self {
        Self {
            uid,
            heartbeat: settings.heartbeat,
            settings,
            started: false,
            next_op_id: 1,
            next_call_id: 1,
            calls: BTreeMap::new(),
            seen: VecDeque::new(),
            in_flight: BTreeMap::new(),
            transmits: VecDeque::new(),
            media: VecDeque::new(),
            events: VecDeque::new(),
            next_poll: None,
            poll_in_flight: false,
            poll_failures: 0,
            config_needed: true,
            config_in_flight: false,
            reports: VecDeque::new(),
            report_in_flight: false,
            report_retry_at: None,
            report_failures: 0,
            connection: Connection::Ok,
            jitter: Jitter::new(seed),
        }
    }

    /// Our uid.
    pub fn uid(&self) -> &Uid {
        &self.uid
    }

    /// The heartbeat period in use.
    pub fn heartbeat_period(&self) -> Duration {
        self.heartbeat
    }

    /// The link's health.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Whether polling is on.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Every call not yet forgotten (live ones and the last ended ones).
    pub fn calls(&self) -> impl Iterator<Item = &CallSnapshot> {
        self.calls.values().map(|c| &c.snap)
    }

    /// One call.
    pub fn call_snapshot(&self, id: CallId) -> Option<&CallSnapshot> {
        self.calls.get(&id).map(|c| &c.snap)
    }

    /// The call we are in (dialing, ringing out, answering or talking), if any.
    pub fn active_call(&self) -> Option<&CallSnapshot> {
        self.active_id().and_then(|id| self.call_snapshot(id))
    }

    /// Whether every event report has been answered by the server.
    pub fn reports_flushed(&self) -> bool {
        self.reports.is_empty() && !self.report_in_flight
    }

    fn active_id(&self) -> Option<CallId> {
        self.calls
            .values()
            .find(|c| c.live() && !(c.snap.role == Role::Callee && c.snap.state == CallState::Ringing))
            .map(|c| c.snap.call_id)
    }

    // --- user actions -------------------------------------------------

    /// Starts polling for incoming calls (and fetches the server's config).
    pub fn start(&mut self, now: Instant) {
        self.started = true;
        self.next_poll = Some(now);
        self.pump(now);
    }

    /// Stops polling. A call we are in is hung up (and reported); calls
    /// ringing us are dropped without a report (another device may take them).
    pub fn stop(&mut self, now: Instant) {
        if self.active_id().is_some() {
            let _ = self.hangup(now);
        }
        let ringing: Vec<CallId> = self
            .calls
            .values()
            .filter(|c| c.live() && c.snap.role == Role::Callee && c.snap.state == CallState::Ringing)
            .map(|c| c.snap.call_id)
            .collect();
        for id in ringing {
            self.end(now, id, EndReason::Failed { message: "softphone stopped".into() }, false);
        }
        self.started = false;
        self.next_poll = None;
    }

    /// Calls `dst` (one or several users). Fails with `busy` while in a call.
    pub fn call(&mut self, now: Instant, dst: Vec<Uid>, extra_msg: Option<String>) -> Result<CallId, Error> {
        self.place(now, Some((dst, extra_msg)))
    }

    /// Calls the server's robot (a demo call that plays audio).
    pub fn call_robot(&mut self, now: Instant) -> Result<CallId, Error> {
        self.place(now, None)
    }

    fn place(&mut self, now: Instant, users: Option<(Vec<Uid>, Option<String>)>) -> Result<CallId, Error> {
        if self.active_id().is_some() {
            return Err(Error::InvalidState("busy"));
        }
        if let Some((dst, _)) = &users {
            if dst.is_empty() {
                return Err(agent_console_wire::InvalidInput::new(
                    "dstUids",
                    agent_console_wire::Problem::Required,
                    "",
                )
                .into());
            }
            if dst.contains(&self.uid) {
                return Err(agent_console_wire::InvalidInput::new(
                    "dstUids",
                    agent_console_wire::Problem::Malformed,
                    "you cannot call yourself",
                )
                .into());
            }
        }
        let id = self.new_call_id();
        let mut call = Call::new(id, Role::Caller, CallState::Dialing, now);
        let op = match users {
            Some((dst, extra_msg)) => {
                call.snap.callees = dst.iter().map(|u| u.as_str().to_string()).collect();
                Op::CallUsers { dst, extra_msg }
            }
            None => {
                call.snap.robot_call = true;
                Op::CallRobot
            }
        };
        self.calls.insert(id, call);
        self.send(Some(id), op);
        self.emit_state(id);
        self.pump(now);
        Ok(id)
    }

    /// Answers a call that is ringing us. Fails with `busy` while in another
    /// call, `not_ringing` if it stopped ringing.
    pub fn answer(&mut self, now: Instant, id: CallId) -> Result<(), Error> {
        let Some(call) = self.calls.get(&id) else { return Err(Error::InvalidState("not_ringing")) };
        if call.snap.role != Role::Callee || call.snap.state != CallState::Ringing {
            return Err(Error::InvalidState("not_ringing"));
        }
        if self.active_id().is_some() {
            return Err(Error::InvalidState("busy"));
        }
        let Some(channel) = call.channel.clone() else { return Err(Error::InvalidState("not_ringing")) };
        self.set_state(id, CallState::Answering, now);
        self.send(Some(id), Op::Token(channel));
        self.pump(now);
        Ok(())
    }

    /// Rejects a call that is ringing us (reports 1003).
    pub fn reject(&mut self, now: Instant, id: CallId) -> Result<(), Error> {
        match self.calls.get(&id) {
            Some(c) if c.snap.role == Role::Callee && c.snap.state == CallState::Ringing => {}
            _ => return Err(Error::InvalidState("not_ringing")),
        }
        self.end(now, id, EndReason::RejectedByMe, true);
        self.pump(now);
        Ok(())
    }

    /// Hangs up the call we are in: cancels it while it rings (1000), ends
    /// the talk (2). Fails with `no_call` when there is none.
    pub fn hangup(&mut self, now: Instant) -> Result<(), Error> {
        let Some(id) = self.active_id() else { return Err(Error::InvalidState("no_call")) };
        let Some(call) = self.calls.get_mut(&id) else { return Err(Error::InvalidState("no_call")) };
        match call.snap.state {
            CallState::Dialing => {
                // The channel is not known yet: finish when the reply comes.
                call.cancel_asked = true;
            }
            CallState::Ringing => self.end(now, id, EndReason::Cancelled, true),
            CallState::Answering | CallState::Talking => {
                self.end(now, id, EndReason::Hangup { by_me: true }, true)
            }
            CallState::Ended => return Err(Error::InvalidState("no_call")),
        }
        self.pump(now);
        Ok(())
    }

    /// Asks the robot into the call we are in.
    pub fn invite_robot(&mut self, now: Instant) -> Result<(), Error> {
        let (id, channel) = self.active_channel()?;
        self.send(Some(id), Op::InviteRobot(channel));
        self.pump(now);
        Ok(())
    }

    /// Takes the robot out of the call we are in.
    pub fn quit_robot(&mut self, now: Instant) -> Result<(), Error> {
        let (id, channel) = self.active_channel()?;
        self.send(Some(id), Op::QuitRobot(channel));
        self.pump(now);
        Ok(())
    }

    fn active_channel(&self) -> Result<(CallId, Channel), Error> {
        let id = self.active_id().ok_or(Error::InvalidState("no_call"))?;
        let call = self.calls.get(&id).ok_or(Error::InvalidState("no_call"))?;
        match (&call.channel, call.in_channel) {
            (Some(ch), true) => Ok((id, ch.clone())),
            _ => Err(Error::InvalidState("not_in_channel")),
        }
    }

    /// The page came back (visible again, resumed from frozen, online):
    /// poll and heartbeat now, forgetting any backoff.
    pub fn wake(&mut self, now: Instant) {
        if self.started {
            self.poll_failures = 0;
            self.next_poll = Some(now);
        }
        for call in self.calls.values_mut() {
            if call.live() && call.in_channel {
                call.heartbeat_failures = 0;
                call.next_heartbeat = Some(now);
            }
        }
        if self.report_retry_at.is_some() {
            self.report_failures = 0;
            self.report_retry_at = Some(now);
        }
        self.pump(now);
    }

    // --- inputs from the driver ---------------------------------------

    /// Runs what is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let ring = self.settings.ring_timeout;
        let due: Vec<(CallId, EndReason)> = self
            .calls
            .values()
            .filter(|c| c.snap.state == CallState::Ringing)
            .filter_map(|c| match c.snap.role {
                Role::Caller if now >= c.since + ring => Some((c.snap.call_id, EndReason::NoAnswer)),
                Role::Callee if now >= c.since + ring + INCOMING_GRACE => {
                    Some((c.snap.call_id, EndReason::CallerCancelled))
                }
                _ => None,
            })
            .collect();
        for (id, reason) in due {
            self.end(now, id, reason, true);
        }
        self.pump(now);
    }

    /// The earliest time [`Softphone::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ring = self.settings.ring_timeout;
        let mut t: Option<Instant> = None;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if !self.poll_in_flight {
            consider(self.next_poll);
        }
        if !self.report_in_flight && !self.reports.is_empty() {
            consider(self.report_retry_at);
        }
        for c in self.calls.values().filter(|c| c.live()) {
            if c.heartbeats_in_flight < HEARTBEATS_IN_FLIGHT_MAX {
                consider(c.next_heartbeat);
            }
            if c.snap.state == CallState::Ringing {
                consider(Some(match c.snap.role {
                    Role::Caller => c.since + ring,
                    Role::Callee => c.since + ring + INCOMING_GRACE,
                }));
            }
        }
        t
    }

    /// The reply (or failure) of the request `id`.
    pub fn handle_reply(&mut self, now: Instant, id: u64, result: Result<Reply, Error>) {
        let Some((call_id, op)) = self.in_flight.remove(&id) else { return };
        match op {
            Op::Config => {
                self.config_in_flight = false;
                if let Ok(Reply::Config(c)) = &result {
                    self.heartbeat = Duration::from_secs(c.heartbeat_secs());
                    self.config_needed = false;
                    // A call placed before the answer scheduled its beat on the
                    // default period; a shorter one must not wait for that.
                    let interval = heartbeat_interval(self.heartbeat);
                    for call in self.calls.values_mut().filter(|c| c.live() && c.in_channel) {
                        if let (Some(next), Some(base)) = (call.next_heartbeat, call.heartbeat_base) {
                            call.next_heartbeat = Some(next.min(base + interval));
                        }
                    }
                }
                // A failed config keeps the default period; it is asked
                // again on the next wake.
            }
            Op::Messages => {
                self.poll_in_flight = false;
                match result {
                    Ok(Reply::Messages(list)) => {
                        self.link_ok();
                        self.poll_failures = 0;
                        self.next_poll = self.started.then(|| now + self.settings.poll_period);
                        self.handle_messages(now, list);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.poll_failures = self.poll_failures.saturating_add(1);
                        let retry = backoff(&mut self.jitter, self.poll_failures, RETRY_MAX);
                        self.next_poll = self.started.then(|| now + retry);
                        self.link_trouble(&e, self.poll_failures);
                    }
                }
            }
            Op::Heartbeat(_) => {
                let hb = self.heartbeat;
                let mut failed = None;
                if let Some(c) = call_id.and_then(|id| self.calls.get_mut(&id)) {
                    c.heartbeats_in_flight = c.heartbeats_in_flight.saturating_sub(1);
                    match &result {
                        // The next beat was scheduled when this one went out.
                        Ok(_) => {
                            c.heartbeat_failures = 0;
                            c.newest_beat_ok = c.newest_beat_ok.max(id);
                        }
                        // An older beat failing after a newer one got through
                        // says nothing about the link now.
                        Err(e) if is_link_error(e) && id < c.newest_beat_ok => {}
                        Err(e) if is_link_error(e) => {
                            c.heartbeat_failures = c.heartbeat_failures.saturating_add(1);
                            // Retry well inside the server's one-period window,
                            // and never later than the beat already due: the
                            // jitter only shortens a delay, so the deadline holds.
                            let cap = Duration::from_millis((hb.0 / 6).max(RETRY_FIRST.0));
                            let retry = now + backoff(&mut self.jitter, c.heartbeat_failures, cap);
                            c.next_heartbeat =
                                c.live().then(|| c.next_heartbeat.map_or(retry, |t| t.min(retry)));
                            failed = Some(c.heartbeat_failures);
                        }
                        // Refused: the server no longer knows the channel (the
                        // call ends below).
                        Err(_) => {}
                    }
                }
                match (&result, failed) {
                    (Ok(_), _) => self.link_ok(),
                    (Err(e), Some(n)) => self.link_trouble(e, n),
                    _ => {}
                }
                if let (Err(e), Some(id)) = (&result, call_id) {
                    if !is_link_error(e) && self.calls.get(&id).is_some_and(Call::live) {
                        self.end(now, id, EndReason::Failed { message: e.to_string() }, true);
                    }
                }
            }
            Op::Event { .. } => {
                self.report_in_flight = false;
                match &result {
                    Err(e) if is_link_error(e) => {
                        self.report_failures = self.report_failures.saturating_add(1);
                        let retry = backoff(&mut self.jitter, self.report_failures, RETRY_MAX);
                        self.report_retry_at = Some(now + retry);
                        self.link_trouble(e, self.report_failures);
                    }
                    // Answered (even refused: the server will not take it, so
                    // retrying cannot help).
                    _ => {
                        if result.is_ok() {
                            self.link_ok();
                        }
                        self.reports.pop_front();
                        self.report_failures = 0;
                        self.report_retry_at = Some(now);
                    }
                }
            }
            Op::CallUsers { .. } | Op::CallRobot => {
                let Some(id) = call_id else { return };
                match result {
                    Ok(Reply::Join(join)) => self.dialled(now, id, join),
                    Ok(_) => self.end(now, id, EndReason::Failed { message: "no join data".into() }, false),
                    Err(e) => {
                        self.end(now, id, EndReason::Failed { message: e.to_string() }, false);
                        self.events.push_back(SoftphoneEvent::Failed { call_id: id, error: e });
                    }
                }
            }
            Op::Token(_) => {
                let Some(id) = call_id else { return };
                let answering = self.calls.get(&id).is_some_and(|c| c.snap.state == CallState::Answering);
                match result {
                    Ok(Reply::Join(join)) if answering => {
                        let interval = heartbeat_interval(self.heartbeat);
                        if let Some(c) = self.calls.get_mut(&id) {
                            c.in_channel = true;
                            // The server counts the token as a sign of life.
                            c.next_heartbeat = Some(now + interval);
                            c.heartbeat_base = Some(now);
                            c.media = true;
                        }
                        self.media.push_back((id, MediaOp::Join(join)));
                    }
                    // The call ended while the token was on its way: nothing to join.
                    Ok(_) => {}
                    Err(e) if answering => {
                        self.end(now, id, EndReason::Failed { message: e.to_string() }, true);
                        self.events.push_back(SoftphoneEvent::Failed { call_id: id, error: e });
                    }
                    Err(_) => {}
                }
            }
            Op::InviteRobot(_) => {
                let Some(id) = call_id else { return };
                match result {
                    Ok(_) => {
                        if let Some(c) = self.calls.get_mut(&id) {
                            c.snap.robot = true;
                        }
                        self.maybe_talking(now, id);
                        self.emit_state(id);
                    }
                    Err(e) => self.events.push_back(SoftphoneEvent::Failed { call_id: id, error: e }),
                }
            }
            Op::QuitRobot(_) => {
                let Some(id) = call_id else { return };
                match result {
                    Ok(_) => {
                        if let Some(c) = self.calls.get_mut(&id) {
                            c.snap.robot = false;
                        }
                        self.emit_state(id);
                    }
                    Err(e) => self.events.push_back(SoftphoneEvent::Failed { call_id: id, error: e }),
                }
            }
        }
        self.pump(now);
    }

    /// The adapter finished joining (or failed to).
    pub fn media_joined(&mut self, now: Instant, id: CallId, result: Result<(), String>) {
        let live = self.calls.get(&id).is_some_and(Call::live);
        match result {
            Ok(()) if live => {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.joined = true;
                }
                self.maybe_talking(now, id);
            }
            // Joined a call that ended meanwhile: leave again.
            Ok(()) => {
                if let Some(c) = self.calls.get_mut(&id) {
                    if c.media {
                        c.media = false;
                        self.media.push_back((id, MediaOp::Leave));
                    }
                }
            }
            Err(e) if live => {
                if let Some(c) = self.calls.get_mut(&id) {
                    // The adapter did not join: no leave is owed.
                    c.media = false;
                }
                self.end(now, id, EndReason::Failed { message: format!("media: {e}") }, true);
            }
            Err(_) => {}
        }
        self.pump(now);
    }

    /// Presence news from the adapter, for the call we are in.
    pub fn handle_media(&mut self, now: Instant, event: MediaEvent) {
        let Some(id) = self.active_id() else { return };
        let me = self.uid.as_str().to_string();
        let Some(c) = self.calls.get_mut(&id) else { return };
        match event {
            MediaEvent::RemoteJoined(uid) if uid != me => {
                if uid == "robot" {
                    c.snap.robot = true;
                } else if !c.snap.peers.contains(&uid) {
                    c.snap.peers.push(uid);
                }
                self.maybe_talking(now, id);
                self.emit_state(id);
            }
            MediaEvent::RemoteLeft(uid) => {
                if uid == "robot" {
                    c.snap.robot = false;
                } else {
                    c.snap.peers.retain(|p| *p != uid);
                }
                let alone = c.snap.peers.is_empty() && !c.snap.robot;
                let talking = c.snap.state == CallState::Talking;
                // Everyone else left a talk: it is over for us too. A robot
                // call's robot leaving likewise ends it.
                if talking && alone {
                    self.end(now, id, EndReason::Hangup { by_me: false }, true);
                } else {
                    self.emit_state(id);
                }
            }
            MediaEvent::RemoteJoined(_) => {}
        }
        self.pump(now);
    }

    // --- outputs -------------------------------------------------------

    /// The next request to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next order for the RTC adapter.
    pub fn poll_media(&mut self) -> Option<(CallId, MediaOp)> {
        self.media.pop_front()
    }

    /// The next piece of news.
    pub fn poll_event(&mut self) -> Option<SoftphoneEvent> {
        self.events.pop_front()
    }

    // --- internals -----------------------------------------------------

    fn new_call_id(&mut self) -> CallId {
        let id = self.next_call_id;
        self.next_call_id += 1;
        // Keep the last few ended calls for display; drop older ones.
        let ended: Vec<CallId> = self.calls.values().filter(|c| !c.live()).map(|c| c.snap.call_id).collect();
        if ended.len() > 20 {
            for old in ended.iter().take(ended.len() - 20) {
                self.calls.remove(old);
            }
        }
        id
    }

    fn send(&mut self, call_id: Option<CallId>, op: Op) {
        let id = self.next_op_id;
        self.next_op_id += 1;
        self.in_flight.insert(id, (call_id, op.clone()));
        self.transmits.push_back(Transmit { id, call_id, op });
    }

    /// Queues whatever is due: config, poll, heartbeats, the next report.
    fn pump(&mut self, now: Instant) {
        if self.started && self.config_needed && !self.config_in_flight {
            self.config_in_flight = true;
            self.send(None, Op::Config);
        }
        if self.started && !self.poll_in_flight && self.next_poll.is_some_and(|t| t <= now) {
            self.poll_in_flight = true;
            self.send(None, Op::Messages);
        }
        let due: Vec<(CallId, Channel)> = self
            .calls
            .values()
            .filter(|c| c.live() && c.in_channel && c.heartbeats_in_flight < HEARTBEATS_IN_FLIGHT_MAX)
            .filter(|c| c.next_heartbeat.is_some_and(|t| t <= now))
            .filter_map(|c| c.channel.clone().map(|ch| (c.snap.call_id, ch)))
            .collect();
        let interval = heartbeat_interval(self.heartbeat);
        for (id, ch) in due {
            if let Some(c) = self.calls.get_mut(&id) {
                c.heartbeats_in_flight = c.heartbeats_in_flight.saturating_add(1);
                // From the send time: the reply's delay must not push the
                // next beat past the server's deadline.
                c.next_heartbeat = Some(now + interval);
                c.heartbeat_base = Some(now);
            }
            self.send(Some(id), Op::Heartbeat(ch));
        }
        if !self.report_in_flight && self.report_retry_at.is_none_or(|t| t <= now) {
            if let Some(r) = self.reports.front() {
                let op = Op::Event { channel: r.channel.clone(), code: r.code, desp: r.desp.clone() };
                let call_id = Some(r.call_id);
                self.report_in_flight = true;
                self.send(call_id, op);
            }
        }
    }

    fn report(&mut self, id: CallId, code: EventCode, desp: &str) {
        let Some(c) = self.calls.get_mut(&id) else { return };
        let Some(channel) = c.channel.clone() else { return };
        // Exactly once per call and code.
        if !c.reported.insert(code.code()) {
            return;
        }
        self.reports.push_back(Report { call_id: id, channel, code, desp: desp.to_string() });
    }

    fn dialled(&mut self, now: Instant, id: CallId, join: JoinInfo) {
        let interval = heartbeat_interval(self.heartbeat);
        let Some(c) = self.calls.get_mut(&id) else { return };
        if c.snap.state != CallState::Dialing {
            return;
        }
        c.channel = Some(join.channel.clone());
        c.snap.channel = Some(join.channel.as_str().to_string());
        c.in_channel = true;
        c.next_heartbeat = Some(now + interval);
        c.heartbeat_base = Some(now);
        c.since = now;
        if c.cancel_asked {
            self.end(now, id, EndReason::Cancelled, true);
            return;
        }
        c.media = true;
        if c.snap.robot_call {
            c.snap.robot = true;
        }
        self.media.push_back((id, MediaOp::Join(join)));
        self.set_state(id, CallState::Ringing, now);
    }

    /// Ringing (or answering) with someone else present and us joined: talk.
    fn maybe_talking(&mut self, now: Instant, id: CallId) {
        let Some(c) = self.calls.get(&id) else { return };
        let ready = c.joined
            && matches!(c.snap.state, CallState::Ringing | CallState::Answering)
            && (!c.snap.peers.is_empty() || c.snap.robot || c.snap.role == Role::Callee);
        if ready {
            if let Some(c) = self.calls.get_mut(&id) {
                c.snap.talk_started_ms = Some(now.0);
            }
            self.set_state(id, CallState::Talking, now);
            self.report(id, EventCode::TalkStarted, "");
        }
    }

    fn handle_messages(&mut self, now: Instant, list: Vec<CallMessage>) {
        let me = self.uid.clone();
        // Outgoing: a ringing call whose every message has ended was rejected.
        let ringing_out: Vec<(CallId, Channel)> = self
            .calls
            .values()
            .filter(|c| {
                c.snap.role == Role::Caller && c.snap.state == CallState::Ringing && !c.snap.robot_call
            })
            .filter_map(|c| c.channel.clone().map(|ch| (c.snap.call_id, ch)))
            .collect();
        for (id, ch) in ringing_out {
            let mine: Vec<&CallMessage> = list.iter().filter(|m| m.channel == ch && m.uid != me).collect();
            if !mine.is_empty() && mine.iter().all(|m| m.status == MessageStatus::Ended) {
                self.end(now, id, EndReason::Rejected, true);
            }
        }
        // Incoming, oldest first so calls ring in the order they came.
        let mut incoming: Vec<CallMessage> = list.into_iter().filter(|m| m.uid == me).collect();
        incoming.sort_by_key(|m| m.id);
        for m in incoming {
            let known = self
                .calls
                .values()
                .find(|c| c.snap.role == Role::Callee && c.message_id == Some(m.id))
                .map(|c| c.snap.call_id);
            match known {
                Some(id) if m.status == MessageStatus::Ended => {
                    let state = self.calls.get(&id).map(|c| c.snap.state);
                    match state {
                        Some(CallState::Ringing) | Some(CallState::Answering) => {
                            self.end(now, id, EndReason::CallerCancelled, true)
                        }
                        Some(CallState::Talking) => {
                            self.end(now, id, EndReason::Hangup { by_me: false }, true)
                        }
                        _ => {}
                    }
                }
                Some(_) => {}
                None if self.seen.contains(&m.id) || m.status == MessageStatus::Ended => {
                    self.remember(m.id);
                }
                None => {
                    self.remember(m.id);
                    let id = self.new_call_id();
                    let mut call = Call::new(id, Role::Callee, CallState::Ringing, now);
                    call.channel = Some(m.channel.clone());
                    call.snap.channel = Some(m.channel.as_str().to_string());
                    call.snap.extra_msg = m.extra_msg.clone();
                    call.message_id = Some(m.id);
                    let snap = call.snap.clone();
                    self.calls.insert(id, call);
                    self.events.push_back(SoftphoneEvent::Incoming(snap));
                }
            }
        }
    }

    fn remember(&mut self, id: u64) {
        if !self.seen.contains(&id) {
            self.seen.push_back(id);
            if self.seen.len() > SEEN_KEPT {
                self.seen.pop_front();
            }
        }
    }

    fn set_state(&mut self, id: CallId, state: CallState, now: Instant) {
        if let Some(c) = self.calls.get_mut(&id) {
            if c.snap.state != state {
                c.snap.state = state;
                if state == CallState::Ringing || state == CallState::Answering {
                    c.since = now;
                }
                self.emit_state(id);
            }
        }
    }

    fn emit_state(&mut self, id: CallId) {
        if let Some(c) = self.calls.get(&id) {
            self.events.push_back(SoftphoneEvent::State(c.snap.clone()));
        }
    }

    /// Ends a call once: reports its code (if it had a channel and `report`),
    /// leaves the media, emits `State` then `Ended`.
    fn end(&mut self, _now: Instant, id: CallId, reason: EndReason, report: bool) {
        let Some(c) = self.calls.get_mut(&id) else { return };
        if !c.live() {
            return;
        }
        c.snap.state = CallState::Ended;
        c.snap.ended = Some(reason.clone());
        c.next_heartbeat = None;
        c.in_channel = false;
        let leave = std::mem::take(&mut c.media);
        let desp = match &reason {
            EndReason::Failed { message } => message.chars().take(200).collect(),
            EndReason::Hangup { by_me: false } => "remote hung up".to_string(),
            _ => String::new(),
        };
        if leave {
            self.media.push_back((id, MediaOp::Leave));
        }
        if report {
            self.report(id, reason.code(), &desp);
        }
        self.emit_state(id);
        if let Some(c) = self.calls.get(&id) {
            self.events.push_back(SoftphoneEvent::Ended(c.snap.clone()));
        }
    }

    fn link_ok(&mut self) {
        if self.connection != Connection::Ok {
            self.connection = Connection::Ok;
            self.events.push_back(SoftphoneEvent::Connection(Connection::Ok));
        }
    }

    fn link_trouble(&mut self, e: &Error, failures: u32) {
        let c = Connection::Trouble { failures, error: e.to_string() };
        if self.connection != c {
            self.connection = c.clone();
            self.events.push_back(SoftphoneEvent::Connection(c));
        }
    }
}

/// Errors a retry may fix: no answer, a 5xx, an undecodable reply (a proxy's
/// error page). A refusal or a 4xx will not change by retrying.
fn is_link_error(e: &Error) -> bool {
    match e {
        Error::Network(_) => true,
        Error::Api(ApiError::Http { status, .. }) => *status >= 500 || *status == 408 || *status == 429,
        Error::Api(ApiError::Decode(_)) => true,
        _ => false,
    }
}

/// The delay after `failures` failures in a row: 1 s, 2 s, 4 s … capped at
/// `cap` (at least 1 s), of which `jitter` keeps a random half to all.
/// Never longer than the un-jittered delay, so a deadline met without
/// jitter is met with it.
fn backoff(jitter: &mut Jitter, failures: u32, cap: Duration) -> Duration {
    jitter.backoff(RETRY_FIRST, cap.max(RETRY_FIRST), failures.saturating_sub(1))
}
