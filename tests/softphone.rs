//! The call engine on every path of seed 001's sequence diagram and every
//! event code, with duplicated, late and out-of-order messages, failures and
//! retries. Time is passed in; nothing sleeps.

use agent_console::api::dapi::{CallMessage, Channel, EventCode, JoinInfo, MessageStatus, SystemConfig, Uid};
use agent_console::api::ApiError;
use agent_console::core::dapi::softphone::{
    heartbeat_interval, CallId, CallState, Connection, EndReason, MediaEvent, MediaOp, Op, Reply, Role,
    Softphone, SoftphoneEvent, SoftphoneSettings, Transmit,
};
use agent_console::core::time::Duration;
use agent_console::core::{Error, Instant};

fn uid(s: &str) -> Uid {
    Uid::parse("uid", s).unwrap()
}

fn join(ch: &str, me: &str) -> JoinInfo {
    JoinInfo {
        app_id: "app".into(),
        channel: Channel::parse(ch).unwrap(),
        uid: uid(me),
        token: "006tok".into(),
    }
}

fn msg(id: u64, to: &str, ch: &str, status: u64) -> CallMessage {
    let v = serde_json::json!({"id": id, "uid": to, "channel": ch, "status": status, "extra_msg": "hi"});
    serde_json::from_value(v).unwrap()
}

fn net() -> Error {
    Error::Network("connection reset".into())
}

fn refused() -> Error {
    Error::Api(ApiError::Refused { message: "频道不存在或已结束".into() })
}

struct H {
    sp: Softphone,
    now: u64,
    pending: Vec<Transmit>,
    media: Vec<(CallId, MediaOp)>,
    events: Vec<SoftphoneEvent>,
    reported: Vec<(String, u16)>,
}

impl H {
    fn new(me: &str) -> H {
        H::with(me, SoftphoneSettings::default())
    }

    fn with(me: &str, settings: SoftphoneSettings) -> H {
        H::seeded(me, settings, 0)
    }

    fn seeded(me: &str, settings: SoftphoneSettings, seed: u64) -> H {
        H {
            sp: Softphone::with_seed(uid(me), settings, seed),
            now: 1_000_000,
            pending: Vec::new(),
            media: Vec::new(),
            events: Vec::new(),
            reported: Vec::new(),
        }
    }

    fn t(&self) -> Instant {
        Instant(self.now)
    }

    fn drain(&mut self) {
        while let Some(t) = self.sp.poll_transmit() {
            self.pending.push(t);
        }
        while let Some(m) = self.sp.poll_media() {
            self.media.push(m);
        }
        while let Some(e) = self.sp.poll_event() {
            self.events.push(e);
        }
    }

    /// Started, with the config answered (heartbeat `hb` s) and the first poll pending.
    fn started(me: &str, hb: u64) -> H {
        let mut h = H::new(me);
        h.sp.start(h.t());
        h.drain();
        let cfg = h.take(|o| matches!(o, Op::Config));
        h.reply(cfg, Ok(Reply::Config(SystemConfig { channel_heartbeat: hb, agora_appid: "app".into() })));
        h
    }

    fn find(&self, f: impl Fn(&Op) -> bool) -> Option<usize> {
        self.pending.iter().position(|t| f(&t.op))
    }

    fn take(&mut self, f: impl Fn(&Op) -> bool) -> Transmit {
        self.drain();
        let i = self.find(f).unwrap_or_else(|| panic!("not sent; pending: {:?}", self.pending));
        self.pending.remove(i)
    }

    fn has(&mut self, f: impl Fn(&Op) -> bool) -> bool {
        self.drain();
        self.find(f).is_some()
    }

    fn reply(&mut self, t: Transmit, r: Result<Reply, Error>) {
        if let (Op::Event { channel, code, .. }, Ok(_)) = (&t.op, &r) {
            self.reported.push((channel.as_str().to_string(), code.code()));
        }
        let now = self.t();
        self.sp.handle_reply(now, t.id, r);
        self.drain();
    }

    /// Answers every report the engine sends (in order, one at a time).
    fn ack_reports(&mut self) {
        while self.has(|o| matches!(o, Op::Event { .. })) {
            let t = self.take(|o| matches!(o, Op::Event { .. }));
            self.reply(t, Ok(Reply::Done));
        }
    }

    fn poll_with(&mut self, list: Vec<CallMessage>) {
        let t = self.take(|o| matches!(o, Op::Messages));
        self.reply(t, Ok(Reply::Messages(list)));
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        let now = self.t();
        self.sp.handle_timeout(now);
        self.drain();
    }

    fn codes(&self, ch: &str) -> Vec<u16> {
        self.reported.iter().filter(|(c, _)| c == ch).map(|(_, code)| *code).collect()
    }

    fn state(&self, id: CallId) -> CallState {
        self.sp.call_snapshot(id).unwrap().state
    }

    fn ended(&self, id: CallId) -> EndReason {
        self.sp.call_snapshot(id).unwrap().ended.clone().unwrap()
    }

    fn ended_events(&self) -> usize {
        self.events.iter().filter(|e| matches!(e, SoftphoneEvent::Ended(_))).count()
    }

    fn incoming(&self) -> Vec<CallId> {
        self.events
            .iter()
            .filter_map(|e| match e {
                SoftphoneEvent::Incoming(s) => Some(s.call_id),
                _ => None,
            })
            .collect()
    }

    /// Caller: call B and get the channel `ch`, joined.
    fn dial(&mut self, to: &str, ch: &str) -> CallId {
        let now = self.t();
        let id = self.sp.call(now, vec![uid(to)], Some("hello".into())).unwrap();
        assert_eq!(self.state(id), CallState::Dialing);
        let t = self.take(|o| matches!(o, Op::CallUsers { .. }));
        let me = self.sp.uid().as_str().to_string();
        self.reply(t, Ok(Reply::Join(join(ch, &me))));
        assert_eq!(self.state(id), CallState::Ringing);
        assert!(
            matches!(self.media.last(), Some((i, MediaOp::Join(j))) if *i == id && j.channel.as_str() == ch)
        );
        self.sp.media_joined(now, id, Ok(()));
        self.drain();
        id
    }

    fn remote(&mut self, e: MediaEvent) {
        let now = self.t();
        self.sp.handle_media(now, e);
        self.drain();
    }
}

#[test]
fn caller_talks_and_hangs_up_reporting_1_then_2() {
    let mut h = H::started("A", 30);
    let id = h.dial("B", "ch_1");
    assert_eq!(h.state(id), CallState::Ringing, "alone in the channel: still ringing");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    assert_eq!(h.state(id), CallState::Talking);
    assert_eq!(h.sp.call_snapshot(id).unwrap().peers, vec!["B"]);
    h.ack_reports();
    h.sp.hangup(h.t()).unwrap();
    h.drain();
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1, 2]);
    assert_eq!(h.ended(id), EndReason::Hangup { by_me: true });
    assert!(matches!(h.media.last(), Some((i, MediaOp::Leave)) if *i == id));
    // Exactly once: a second hang-up has nothing to end; late media news changes nothing.
    assert!(matches!(h.sp.hangup(h.t()), Err(Error::InvalidState("no_call"))));
    h.remote(MediaEvent::RemoteLeft("B".into()));
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1, 2]);
    assert_eq!(h.ended_events(), 1);
    assert!(h.sp.reports_flushed());
}

#[test]
fn the_far_end_leaving_a_talk_ends_it_with_2() {
    let mut h = H::started("A", 30);
    let id = h.dial("B", "ch_1");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    h.remote(MediaEvent::RemoteLeft("B".into()));
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1, 2]);
    assert_eq!(h.ended(id), EndReason::Hangup { by_me: false });
}

#[test]
fn caller_cancels_while_ringing_1000() {
    let mut h = H::started("A", 30);
    let id = h.dial("B", "ch_1");
    h.sp.hangup(h.t()).unwrap();
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1000]);
    assert_eq!(h.ended(id), EndReason::Cancelled);
}

#[test]
fn hanging_up_while_dialing_cancels_once_the_channel_is_known() {
    let mut h = H::started("A", 30);
    let id = h.sp.call(h.t(), vec![uid("B")], None).unwrap();
    let t = h.take(|o| matches!(o, Op::CallUsers { .. }));
    h.sp.hangup(h.t()).unwrap();
    h.drain();
    assert_eq!(h.state(id), CallState::Dialing);
    h.reply(t, Ok(Reply::Join(join("ch_1", "A"))));
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1000]);
    assert!(h.media.is_empty(), "never joined: {:?}", h.media);
}

#[test]
fn no_answer_after_the_ring_timeout_1001() {
    let mut h = H::started("A", 30);
    let id = h.dial("B", "ch_1");
    h.advance(44_000);
    assert_eq!(h.state(id), CallState::Ringing);
    h.advance(1_000);
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1001]);
    assert_eq!(h.ended(id), EndReason::NoAnswer);
}

#[test]
fn every_callee_rejecting_ends_the_callers_ring_1002() {
    let mut h = H::started("A", 30);
    h.poll_with(vec![]);
    let now = h.t();
    let id = h.sp.call(now, vec![uid("B"), uid("C")], None).unwrap();
    let t = h.take(|o| matches!(o, Op::CallUsers { .. }));
    h.reply(t, Ok(Reply::Join(join("ch_1", "A"))));
    h.advance(3_000);
    // One of two rejected: still ringing.
    h.poll_with(vec![msg(5, "B", "ch_1", 2), msg(6, "C", "ch_1", 1)]);
    assert_eq!(h.state(id), CallState::Ringing);
    h.advance(3_000);
    h.poll_with(vec![msg(5, "B", "ch_1", 2), msg(6, "C", "ch_1", 2)]);
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1002]);
    assert_eq!(h.ended(id), EndReason::Rejected);
    assert!(h.incoming().is_empty(), "outgoing messages never ring");
}

#[test]
fn callee_is_rung_by_polling_answers_and_talks() {
    let mut h = H::started("B", 30);
    h.poll_with(vec![msg(16, "B", "ch_9", 0)]);
    let calls = h.incoming();
    assert_eq!(calls.len(), 1);
    let id = calls[0];
    let snap = h.sp.call_snapshot(id).unwrap();
    assert_eq!((snap.role, snap.state, snap.extra_msg.as_str()), (Role::Callee, CallState::Ringing, "hi"));
    // Seen again (status 1 now) on the next polls: never rung twice.
    h.advance(3_000);
    h.poll_with(vec![msg(16, "B", "ch_9", 1)]);
    assert_eq!(h.incoming().len(), 1);
    // The answer fetches the channel token first, then joins with it.
    h.sp.answer(h.t(), id).unwrap();
    assert_eq!(h.state(id), CallState::Answering);
    assert!(h.media.is_empty());
    let t = h.take(|o| matches!(o, Op::Token(c) if c.as_str() == "ch_9"));
    h.reply(t, Ok(Reply::Join(join("ch_9", "B"))));
    assert!(
        matches!(h.media.last(), Some((_, MediaOp::Join(j))) if j.channel.as_str() == "ch_9" && j.token == "006tok")
    );
    h.sp.media_joined(h.t(), id, Ok(()));
    h.drain();
    assert_eq!(h.state(id), CallState::Talking);
    h.remote(MediaEvent::RemoteJoined("A".into()));
    // The caller hangs up: the message turns 2 (and/or A leaves).
    h.advance(3_000);
    h.poll_with(vec![msg(16, "B", "ch_9", 2)]);
    h.remote(MediaEvent::RemoteLeft("A".into()));
    h.ack_reports();
    assert_eq!(h.codes("ch_9"), vec![1, 2]);
    assert_eq!(h.ended(id), EndReason::Hangup { by_me: false });
    assert_eq!(h.ended_events(), 1);
}

#[test]
fn callee_rejects_1003_and_a_late_token_is_not_joined() {
    let mut h = H::started("B", 30);
    h.poll_with(vec![msg(16, "B", "ch_9", 0)]);
    let id = h.incoming()[0];
    h.sp.reject(h.t(), id).unwrap();
    h.ack_reports();
    assert_eq!(h.codes("ch_9"), vec![1003]);
    assert!(matches!(h.sp.answer(h.t(), id), Err(Error::InvalidState("not_ringing"))));
    assert!(matches!(h.sp.reject(h.t(), id), Err(Error::InvalidState("not_ringing"))));
    // A second call: answered, then the caller cancels before the token arrives.
    h.advance(3_000);
    h.poll_with(vec![msg(16, "B", "ch_9", 2), msg(17, "B", "ch_10", 0)]);
    let id2 = *h.incoming().last().unwrap();
    h.sp.answer(h.t(), id2).unwrap();
    let tok = h.take(|o| matches!(o, Op::Token(_)));
    h.advance(3_000);
    h.poll_with(vec![msg(17, "B", "ch_10", 2)]);
    assert_eq!(h.ended(id2), EndReason::CallerCancelled);
    h.reply(tok, Ok(Reply::Join(join("ch_10", "B"))));
    assert!(h.media.iter().all(|(i, _)| *i != id2), "nothing to join: {:?}", h.media);
    h.ack_reports();
    assert_eq!(h.codes("ch_10"), vec![1006]);
}

#[test]
fn the_caller_cancelling_stops_the_ring_1006() {
    let mut h = H::started("B", 30);
    h.poll_with(vec![msg(3, "B", "ch_2", 0)]);
    let id = h.incoming()[0];
    h.advance(3_000);
    h.poll_with(vec![msg(3, "B", "ch_2", 2)]);
    h.ack_reports();
    assert_eq!(h.ended(id), EndReason::CallerCancelled);
    assert_eq!(h.codes("ch_2"), vec![1006]);
    // Out of order: an older poll reply listing it as new rings nothing.
    h.advance(3_000);
    h.poll_with(vec![msg(3, "B", "ch_2", 0)]);
    assert_eq!(h.incoming().len(), 1);
}

#[test]
fn an_incoming_call_that_rings_too_long_stops_and_reports_1006() {
    let mut h = H::started("B", 30);
    h.poll_with(vec![msg(3, "B", "ch_2", 0)]);
    let id = h.incoming()[0];
    // Keep polling with nothing new so the poll never blocks time.
    for _ in 0..20 {
        h.advance(3_000);
        if h.has(|o| matches!(o, Op::Messages)) {
            h.poll_with(vec![]);
        }
    }
    assert_eq!(h.ended(id), EndReason::CallerCancelled);
    h.ack_reports();
    assert_eq!(h.codes("ch_2"), vec![1006]);
}

#[test]
fn a_message_first_seen_ended_never_rings() {
    let mut h = H::started("B", 30);
    h.poll_with(vec![msg(3, "B", "ch_2", 2), msg(4, "B", "ch_3", 0), msg(4, "B", "ch_3", 0)]);
    assert_eq!(h.incoming().len(), 1, "one ring for a duplicated message, none for an ended one");
}

#[test]
fn errors_end_the_call_with_1007() {
    // Media join fails.
    let mut h = H::started("A", 30);
    let now = h.t();
    let id = h.sp.call(now, vec![uid("B")], None).unwrap();
    let t = h.take(|o| matches!(o, Op::CallUsers { .. }));
    h.reply(t, Ok(Reply::Join(join("ch_1", "A"))));
    h.sp.media_joined(h.t(), id, Err("microphone denied".into()));
    h.drain();
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1007]);
    assert!(matches!(h.ended(id), EndReason::Failed { message } if message.contains("microphone")));
    assert!(!h.media.iter().any(|(_, m)| *m == MediaOp::Leave), "a failed join owes no leave");
    // The token refused while answering.
    let mut h = H::started("B", 30);
    h.poll_with(vec![msg(1, "B", "ch_5", 0)]);
    let id = h.incoming()[0];
    h.sp.answer(h.t(), id).unwrap();
    let t = h.take(|o| matches!(o, Op::Token(_)));
    h.reply(t, Err(refused()));
    h.ack_reports();
    assert_eq!(h.codes("ch_5"), vec![1007]);
    assert!(h.events.iter().any(|e| matches!(e, SoftphoneEvent::Failed { .. })));
    // The call request itself fails: no channel, nothing to report.
    let mut h = H::started("A", 30);
    let id = h.sp.call(h.t(), vec![uid("B")], None).unwrap();
    let t = h.take(|o| matches!(o, Op::CallUsers { .. }));
    h.reply(t, Err(net()));
    assert!(matches!(h.ended(id), EndReason::Failed { .. }));
    assert!(!h.has(|o| matches!(o, Op::Event { .. })));
    // A new call may start right away.
    assert!(h.sp.call(h.t(), vec![uid("B")], None).is_ok());
}

#[test]
fn heartbeats_run_every_period_from_the_config_and_stop_at_the_end() {
    let mut h = H::started("A", 20);
    assert_eq!(h.sp.heartbeat_period(), Duration::from_secs(20));
    h.poll_with(vec![]);
    let id = h.dial("B", "ch_1");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    h.ack_reports();
    let mut beats = Vec::new();
    let start = h.now;
    for _ in 0..70 {
        h.advance(1_000);
        if h.has(|o| matches!(o, Op::Messages)) {
            h.poll_with(vec![]);
        }
        if h.has(|o| matches!(o, Op::Heartbeat(_))) {
            beats.push(h.now - start);
            let t = h.take(|o| matches!(o, Op::Heartbeat(_)));
            h.reply(t, Ok(Reply::Done));
        }
    }
    // Each beat goes out a sixth of the period (3.3 s) before one period after the last
    // was sent, so it arrives within the period (seed 001: "每隔30内"); 1 s steps.
    assert_eq!(heartbeat_interval(Duration::from_secs(20)), Duration::from_millis(16_667));
    assert_eq!(beats, vec![17_000, 34_000, 51_000, 68_000]);
    h.sp.hangup(h.t()).unwrap();
    h.ack_reports();
    h.advance(60_000);
    assert!(!h.has(|o| matches!(o, Op::Heartbeat(_))), "no heartbeat after the end");
    assert_eq!(h.state(id), CallState::Ended);
}

#[test]
fn failures_are_retried_with_backoff_shown_as_trouble_and_nothing_is_dropped() {
    let mut h = H::started("A", 30);
    h.poll_with(vec![]);
    let _id = h.dial("B", "ch_1");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    // The "talk started" report fails twice before it gets through.
    let mut waits = Vec::new();
    for _ in 0..2 {
        let t = h.take(|o| matches!(o, Op::Event { .. }));
        h.reply(t, Err(net()));
        let before = h.now;
        while !h.has(|o| matches!(o, Op::Event { .. })) {
            h.advance(100);
            if h.has(|o| matches!(o, Op::Messages)) {
                let t = h.take(|o| matches!(o, Op::Messages));
                h.reply(t, Err(net()));
            }
        }
        waits.push(h.now - before);
    }
    // 1 s then 2 s, of which the jitter keeps a random half to all.
    assert!((500..=1_000).contains(&waits[0]) && (1_000..=2_000).contains(&waits[1]), "{waits:?}");
    assert!(matches!(h.sp.connection(), Connection::Trouble { .. }));
    assert!(h.events.iter().any(|e| matches!(e, SoftphoneEvent::Connection(Connection::Trouble { .. }))));
    // Meanwhile the user hangs up: the end is queued behind the start, in order.
    h.sp.hangup(h.t()).unwrap();
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1, 2]);
    assert_eq!(h.sp.connection(), &Connection::Ok);
    assert!(h.events.iter().any(|e| matches!(e, SoftphoneEvent::Connection(Connection::Ok))));
    assert!(h.sp.reports_flushed());
    // A refused report is not retried forever.
    let mut h = H::started("A", 30);
    h.dial("B", "ch_2");
    h.sp.hangup(h.t()).unwrap();
    let t = h.take(|o| matches!(o, Op::Event { .. }));
    h.reply(t, Err(refused()));
    h.advance(60_000);
    assert!(!h.has(|o| matches!(o, Op::Event { .. })));
    assert!(h.sp.reports_flushed());
}

#[test]
fn a_failed_poll_backs_off_and_the_next_success_clears_the_trouble() {
    let mut h = H::started("B", 30);
    let mut gaps = Vec::new();
    let mut last = h.now;
    for _ in 0..5 {
        let t = h.take(|o| matches!(o, Op::Messages));
        h.reply(t, Err(Error::Api(ApiError::Http { status: 503, message: String::new() })));
        while !h.has(|o| matches!(o, Op::Messages)) {
            h.advance(500);
        }
        gaps.push(h.now - last);
        last = h.now;
    }
    // 1 s, 2 s, 4 s, 8 s, then the 15 s cap, each jittered to a half to all of
    // itself (seen in 500 ms steps).
    for (gap, full) in gaps.iter().zip([1_000, 2_000, 4_000, 8_000, 15_000]) {
        assert!((full / 2..=full).contains(gap), "{gaps:?}");
    }
    assert!(matches!(h.sp.connection(), Connection::Trouble { failures: 5, .. }));
    h.poll_with(vec![msg(1, "B", "ch_1", 0)]);
    assert_eq!(h.sp.connection(), &Connection::Ok);
    assert_eq!(h.incoming().len(), 1, "the first good poll after the trouble rings");
}

#[test]
fn waking_polls_and_heartbeats_at_once() {
    let mut h = H::started("A", 30);
    h.poll_with(vec![]);
    h.dial("B", "ch_1");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    h.ack_reports();
    h.advance(1_000);
    assert!(!h.has(|o| matches!(o, Op::Heartbeat(_) | Op::Messages)));
    h.sp.wake(h.t());
    assert!(h.has(|o| matches!(o, Op::Heartbeat(_))));
    assert!(h.has(|o| matches!(o, Op::Messages)));
    // Both are in flight now. The poll waits for its answer; the next beat is due one
    // interval after this one was sent, answered or not.
    assert_eq!(h.sp.poll_timeout(), Some(Instant(h.now + 25_000)));
    let t = h.take(|o| matches!(o, Op::Messages));
    h.reply(t, Ok(Reply::Messages(vec![])));
    assert_eq!(h.sp.poll_timeout(), Some(Instant(h.now + 3_000)));
}

/// Talks from `A` to `B` with heartbeat period `hb` s for `run_ms`, answering every
/// heartbeat `reply_ms` after it was sent (polls at once); returns when each beat was
/// sent, ms after the channel's join data arrived (the server's first sign of life).
fn beats_with_slow_replies(hb: u64, reply_ms: u64, run_ms: u64) -> Vec<u64> {
    let mut h = H::started("A", hb);
    h.poll_with(vec![]);
    let joined = h.now;
    h.dial("B", "ch_1");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    h.ack_reports();
    let mut sent = Vec::new();
    let mut waiting: Vec<(u64, Transmit)> = Vec::new();
    while h.now - joined < run_ms {
        h.advance(100);
        if h.has(|o| matches!(o, Op::Messages)) {
            h.poll_with(vec![]);
        }
        while h.has(|o| matches!(o, Op::Heartbeat(_))) {
            let t = h.take(|o| matches!(o, Op::Heartbeat(_)));
            sent.push(h.now - joined);
            waiting.push((h.now + reply_ms, t));
        }
        let now = h.now;
        let (due, later): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|(at, _)| *at <= now);
        waiting = later;
        for (_, t) in due {
            h.reply(t, Ok(Reply::Done));
        }
    }
    assert_eq!(h.sp.active_call().map(|c| c.state), Some(CallState::Talking));
    sent
}

/// The longest silence the server sees: from the join data to the first beat, and
/// between beats (a beat counts when it arrives, a constant delay after it was sent).
fn longest_gap(sent: &[u64]) -> u64 {
    let mut last = 0;
    let mut gap = 0;
    for &t in sent {
        gap = gap.max(t - last);
        last = t;
    }
    gap
}

#[test]
fn slow_heartbeat_replies_do_not_delay_the_next_beat() {
    // Replies that take 1.5 s: the beats keep one interval from send to send, so the
    // server (one period, seed 001) never misses one. Scheduling from the reply made
    // them period + 1.5 s apart.
    for hb in [30, 5] {
        let period = hb * 1000;
        let sent = beats_with_slow_replies(hb, 1_500, period * 5);
        let interval = heartbeat_interval(Duration::from_secs(hb)).0;
        assert!(sent.len() >= 5, "period {hb} s: {sent:?}");
        assert!(longest_gap(&sent) <= interval + 100, "period {hb} s, beats sent at {sent:?}");
        assert!(longest_gap(&sent) < period, "period {hb} s, beats sent at {sent:?}");
    }
    // A reply slower than the whole period does not hold the next beat back either:
    // two beats are on their way at once.
    let sent = beats_with_slow_replies(5, 6_000, 30_000);
    assert!(sent.len() >= 6, "{sent:?}");
    assert!(longest_gap(&sent) < 5_000, "{sent:?}");
}

#[test]
fn a_late_config_shortens_the_beat_already_scheduled() {
    // A call placed before `system/config` answers is scheduled on the default 30 s;
    // the server's 5 s (answered 1 s later) counts from the join data all the same.
    let mut h = H::new("A");
    h.sp.start(h.t());
    h.drain();
    let cfg = h.take(|o| matches!(o, Op::Config));
    h.poll_with(vec![]);
    let joined = h.now;
    h.dial("B", "ch_1");
    h.advance(1_000);
    h.reply(cfg, Ok(Reply::Config(SystemConfig { channel_heartbeat: 5, agora_appid: "app".into() })));
    while !h.has(|o| matches!(o, Op::Heartbeat(_))) {
        h.advance(100);
        if h.has(|o| matches!(o, Op::Messages)) {
            h.poll_with(vec![]);
        }
        assert!(h.now - joined < 10_000, "no heartbeat");
    }
    assert_eq!(h.now - joined, 4_200, "one 5 s interval (4.17 s) after the join data, in 100 ms steps");
}

#[test]
fn a_failed_heartbeat_is_retried_well_inside_one_period() {
    let mut h = H::started("A", 30);
    h.poll_with(vec![]);
    let id = h.dial("B", "ch_1");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    h.ack_reports();
    let mut sent = Vec::new();
    let start = h.now;
    while sent.len() < 6 {
        h.advance(100);
        if h.has(|o| matches!(o, Op::Messages)) {
            h.poll_with(vec![]);
        }
        if h.has(|o| matches!(o, Op::Heartbeat(_))) {
            sent.push(h.now - start);
            let t = h.take(|o| matches!(o, Op::Heartbeat(_)));
            // Four failures in a row, then the server answers again.
            let r = if sent.len() <= 5 && sent.len() > 1 { Err(net()) } else { Ok(Reply::Done) };
            h.reply(t, r);
        }
    }
    // The first beat (25 s) is answered; the second (50 s) and its first three retries
    // fail; the fourth retry is answered.
    let gaps: Vec<u64> = sent.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(sent[0], 25_000, "a sixth (5 s) before the period");
    assert_eq!(gaps[0], 25_000, "an answered beat waits one interval");
    // Backoff 1 s, 2 s, 4 s, capped at a sixth of the period (5 s), jittered down
    // to a half at most.
    for (gap, full) in gaps[1..].iter().zip([1_000, 2_000, 4_000, 5_000]) {
        assert!((full / 2..=full).contains(gap), "backoff capped at a sixth of the period: {gaps:?}");
    }
    assert!(matches!(h.sp.connection(), Connection::Ok));
    assert_eq!(h.state(id), CallState::Talking, "a lost beat does not end the call");
}

#[test]
fn an_old_beat_timing_out_after_a_newer_one_got_through_is_no_trouble() {
    // 5 s period: beats every 4.17 s while a stuck request takes up to 20 s to fail.
    let mut h = H::started("A", 5);
    h.poll_with(vec![]);
    let id = h.dial("B", "ch_1");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    h.ack_reports();
    let mut beats = Vec::new();
    while beats.len() < 2 {
        h.advance(100);
        if h.has(|o| matches!(o, Op::Messages)) {
            h.poll_with(vec![]);
        }
        if h.has(|o| matches!(o, Op::Heartbeat(_))) {
            beats.push(h.take(|o| matches!(o, Op::Heartbeat(_))));
        }
    }
    let (stuck, newer) = (beats.remove(0), beats.remove(0));
    h.reply(newer, Ok(Reply::Done));
    h.reply(stuck, Err(net()));
    assert_eq!(h.sp.connection(), &Connection::Ok, "a stale failure is not trouble");
    assert!(!h.has(|o| matches!(o, Op::Heartbeat(_))), "and asks for no extra beat");
    assert_eq!(h.state(id), CallState::Talking);
}

#[test]
fn one_call_at_a_time() {
    let mut h = H::started("A", 30);
    h.poll_with(vec![]);
    h.dial("B", "ch_1");
    assert!(matches!(h.sp.call(h.t(), vec![uid("C")], None), Err(Error::InvalidState("busy"))));
    assert!(matches!(h.sp.call_robot(h.t()), Err(Error::InvalidState("busy"))));
    // An incoming call rings meanwhile but cannot be answered until we hang up.
    h.advance(3_000);
    h.poll_with(vec![msg(9, "A", "ch_7", 0)]);
    let incoming = h.incoming()[0];
    assert!(matches!(h.sp.answer(h.t(), incoming), Err(Error::InvalidState("busy"))));
    h.sp.hangup(h.t()).unwrap();
    h.sp.answer(h.t(), incoming).unwrap();
    assert!(h.sp.call(h.t(), vec![uid("A")], None).is_err(), "calling ourselves is refused");
}

#[test]
fn robot_calls_and_invites() {
    let mut h = H::started("A", 30);
    h.poll_with(vec![]);
    let id = h.sp.call_robot(h.t()).unwrap();
    let t = h.take(|o| matches!(o, Op::CallRobot));
    h.reply(t, Ok(Reply::Join(join("ch_r", "A"))));
    h.sp.media_joined(h.t(), id, Ok(()));
    h.drain();
    assert_eq!(h.state(id), CallState::Talking, "the robot is already in its channel");
    assert!(h.sp.call_snapshot(id).unwrap().robot);
    h.sp.hangup(h.t()).unwrap();
    h.ack_reports();
    assert_eq!(h.codes("ch_r"), vec![1, 2]);
    // Inviting the robot into a call nobody answered makes it a talk; quitting keeps it.
    let id = h.dial("B", "ch_i");
    h.sp.invite_robot(h.t()).unwrap();
    let t = h.take(|o| matches!(o, Op::InviteRobot(c) if c.as_str() == "ch_i"));
    h.reply(t, Ok(Reply::Join(join("ch_i", "A"))));
    assert_eq!(h.state(id), CallState::Talking);
    h.sp.quit_robot(h.t()).unwrap();
    let t = h.take(|o| matches!(o, Op::QuitRobot(_)));
    h.reply(t, Ok(Reply::Done));
    assert!(!h.sp.call_snapshot(id).unwrap().robot);
    // A failed invite leaves the call as it was and says why.
    h.sp.invite_robot(h.t()).unwrap();
    let t = h.take(|o| matches!(o, Op::InviteRobot(_)));
    h.reply(t, Err(refused()));
    assert!(matches!(h.events.last(), Some(SoftphoneEvent::Failed { .. })));
    assert_eq!(h.state(id), CallState::Talking);
    h.sp.hangup(h.t()).unwrap();
    h.ack_reports();
    assert_eq!(h.codes("ch_i"), vec![1, 2]);
    assert!(matches!(h.sp.invite_robot(h.t()), Err(Error::InvalidState("no_call"))));
}

#[test]
fn every_event_code_is_reported_by_some_path() {
    // The paths above, run together, cover 1, 2, 1000, 1001, 1002, 1003, 1006, 1007.
    let mut seen = std::collections::BTreeSet::new();
    for reason in [
        EndReason::Hangup { by_me: true },
        EndReason::Cancelled,
        EndReason::NoAnswer,
        EndReason::Rejected,
        EndReason::RejectedByMe,
        EndReason::CallerCancelled,
        EndReason::Failed { message: String::new() },
    ] {
        seen.insert(reason.code().code());
    }
    seen.insert(EventCode::TalkStarted.code());
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![1, 2, 1000, 1001, 1002, 1003, 1006, 1007]);
}

#[test]
fn stopping_hangs_up_and_stops_polling() {
    let mut h = H::started("A", 30);
    h.poll_with(vec![]);
    h.dial("B", "ch_1");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    h.sp.stop(h.t());
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1, 2]);
    h.advance(30_000);
    assert!(!h.has(|o| matches!(o, Op::Messages)));
    assert_eq!(h.sp.poll_timeout(), None);
    let _ = MessageStatus::New;
}

/// When the poll after `failures` failed polls in a row goes out, in ms after
/// the failure, for a softphone seeded with `seed`.
fn poll_retries(seed: u64, failures: usize) -> Vec<u64> {
    let mut h = H::seeded("B", SoftphoneSettings::default(), seed);
    h.sp.start(h.t());
    h.drain();
    let cfg = h.take(|o| matches!(o, Op::Config));
    h.reply(cfg, Ok(Reply::Config(SystemConfig { channel_heartbeat: 30, agora_appid: "app".into() })));
    let mut waits = Vec::new();
    for _ in 0..failures {
        let t = h.take(|o| matches!(o, Op::Messages));
        h.reply(t, Err(net()));
        let at = h.sp.poll_timeout().unwrap().0;
        waits.push(at - h.now);
        h.now = at;
        h.advance(0);
    }
    waits
}

#[test]
fn consoles_with_different_seeds_retry_at_different_times_within_the_caps() {
    let a = poll_retries(1, 8);
    let b = poll_retries(2, 8);
    assert_ne!(a, b, "two consoles back off apart");
    // Every delay is a half to all of 1 s, 2 s, 4 s, 8 s, then the 15 s cap.
    for waits in [&a, &b] {
        for (i, w) in waits.iter().enumerate() {
            let full = (1_000u64 << i).min(15_000);
            assert!((full / 2..=full).contains(w), "retry {i}: {waits:?}");
        }
    }
    // The same seed gives the same delays (the engine is deterministic).
    assert_eq!(poll_retries(1, 8), a);
    // A hundred consoles that lost the server at the same moment: their first
    // retries spread over the half-second window instead of landing together.
    let firsts: std::collections::BTreeSet<u64> = (1..=100).map(|seed| poll_retries(seed, 1)[0]).collect();
    assert!(firsts.len() >= 60, "only {} distinct first retries: {firsts:?}", firsts.len());
    assert!(firsts.iter().all(|w| (500..=1_000).contains(w)), "{firsts:?}");
}

#[test]
fn report_retries_are_jittered_and_capped() {
    let mut h = H::seeded("A", SoftphoneSettings::default(), 99);
    h.sp.start(h.t());
    h.drain();
    let cfg = h.take(|o| matches!(o, Op::Config));
    h.reply(cfg, Ok(Reply::Config(SystemConfig { channel_heartbeat: 30, agora_appid: "app".into() })));
    h.poll_with(vec![]);
    h.dial("B", "ch_1");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    let mut waits = Vec::new();
    for _ in 0..7 {
        let t = h.take(|o| matches!(o, Op::Event { .. }));
        h.reply(t, Err(net()));
        let before = h.now;
        while !h.has(|o| matches!(o, Op::Event { .. })) {
            h.advance(50);
            if h.has(|o| matches!(o, Op::Messages)) {
                h.poll_with(vec![]);
            }
            if h.has(|o| matches!(o, Op::Heartbeat(_))) {
                let t = h.take(|o| matches!(o, Op::Heartbeat(_)));
                h.reply(t, Ok(Reply::Done));
            }
        }
        waits.push(h.now - before);
    }
    for (i, w) in waits.iter().enumerate() {
        let full = (1_000u64 << i).min(15_000);
        assert!((full / 2..=full).contains(w), "report retry {i}: {waits:?}");
    }
    h.ack_reports();
    assert_eq!(h.codes("ch_1"), vec![1], "the report got through once, after the retries");
}

/// Beats sent (ms after the join data) with period `hb` s when every beat fails
/// for `run_ms`, softphone seeded with `seed`.
fn failing_beats(hb: u64, seed: u64, run_ms: u64) -> Vec<u64> {
    let mut h = H::seeded("A", SoftphoneSettings::default(), seed);
    h.sp.start(h.t());
    h.drain();
    let cfg = h.take(|o| matches!(o, Op::Config));
    h.reply(cfg, Ok(Reply::Config(SystemConfig { channel_heartbeat: hb, agora_appid: "app".into() })));
    h.poll_with(vec![]);
    let joined = h.now;
    let id = h.dial("B", "ch_1");
    h.remote(MediaEvent::RemoteJoined("B".into()));
    h.ack_reports();
    let mut sent = Vec::new();
    while h.now - joined < run_ms {
        h.advance(10);
        if h.has(|o| matches!(o, Op::Messages)) {
            h.poll_with(vec![]);
        }
        while h.has(|o| matches!(o, Op::Heartbeat(_))) {
            let t = h.take(|o| matches!(o, Op::Heartbeat(_)));
            sent.push(h.now - joined);
            h.reply(t, Err(net()));
        }
    }
    assert_eq!(h.state(id), CallState::Talking, "lost beats do not end the call");
    sent
}

#[test]
fn jittered_heartbeat_retries_stay_inside_the_servers_deadline() {
    let mut seen = std::collections::BTreeSet::new();
    for hb in [30, 5] {
        let period = hb * 1000;
        let interval = heartbeat_interval(Duration::from_secs(hb)).0;
        // The retry cap: a sixth of the period, at least 1 s.
        let cap = (period / 6).max(1_000);
        for seed in 1..=20 {
            let sent = failing_beats(hb, seed, period * 3);
            assert!(sent.len() >= 4, "period {hb} s, seed {seed}: {sent:?}");
            // The first beat one interval after the join data; each retry within
            // the cap of the last one (10 ms steps), so always inside one period.
            assert!(sent[0] <= interval + 10, "period {hb} s, seed {seed}: {sent:?}");
            let gaps: Vec<u64> = sent.windows(2).map(|w| w[1] - w[0]).collect();
            assert!(gaps.iter().all(|g| *g <= cap + 10), "period {hb} s, seed {seed}: {gaps:?}");
            assert!(longest_gap(&sent) < period, "period {hb} s, seed {seed}: {sent:?}");
            seen.insert(gaps);
        }
    }
    assert!(seen.len() > 20, "the seeds give different retry times");
}
