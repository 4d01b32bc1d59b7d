//! The moving simulation: callers arriving, queue distribution, ringing, answering,
//! talking, hanging up, wrap-up, voicemail, parking timeouts, and the statuses that
//! follow from them. Everything runs at exact sandbox times: [`PbxState::advance`] finds
//! the next due event, applies it at its own time, and repeats up to "now", so a clock
//! jump gives the same result as waiting.

use std::cmp::Reverse;

use super::cdr::{clid_of, direction_of, CdrSpec};
use super::model::{
    hms, Call, CdrInfo, Line, Member, Origin, Parked, Party, PartyKind, Recording, Talk, Voicemail, Waiting,
    CONSOLE_EXTENSION, CONSOLE_RING_TIMEOUT_MS, NEVER, PARK_TIMEOUT_MS, RING_TIMEOUT_STATUS_MS, WRAP_MS,
};
use super::{MediaFile, PbxState, DEMO_AGENTS, DEMO_EXTENSIONS, DEMO_TRUNK, UNREGISTERED_EXTENSION};
use crate::clock::{compact_cst, format_cst};

/// A clock jump longer than this only generates the callers of its last stretch, so a
/// jump of years cannot run millions of events (the PBX was "quiet" before).
pub const MAX_CATCHUP_MS: i64 = 3_600_000;
/// Upper bound on events applied by one [`PbxState::advance`] (a safety net only).
const MAX_EVENTS_PER_ADVANCE: usize = 500_000;
/// The dial-plan options this PBX's `Dial()` uses (seen in the seed's `lastdata`).
pub const DIAL_OPTIONS: &str = "45,Ttb(set-features^s^1)";
/// Area code of the generated callers (the seed's `ac`).
const CALLER_AC: &str = "0755";

/// Whether `ext` is a demo extension the simulation answers for (all but the console's
/// 8001 and the unregistered 8005): such an agent answers by itself and hangs up later.
pub fn is_robot(ext: &str) -> bool {
    ext != CONSOLE_EXTENSION && ext != UNREGISTERED_EXTENSION && DEMO_EXTENSIONS.contains(&ext)
}

impl PbxState {
    /// Advances the simulation to `now_ms`, applying every due event at its own time.
    /// Events due exactly at the current time (a zero `ringMs` answer) run too, so this
    /// may be called again after a request changed the state.
    pub fn advance(&mut self, now_ms: i64) {
        if now_ms < self.sim_ms {
            return;
        }
        self.skip_missed_slots(now_ms);
        for _ in 0..MAX_EVENTS_PER_ADVANCE {
            let Some(t) = self.next_event_ms() else {
                break;
            };
            if t > now_ms {
                break;
            }
            let t = t.max(self.sim_ms);
            self.sim_ms = t;
            self.process_due(t);
            self.settle(t);
        }
        self.sim_ms = now_ms;
    }

    /// Lets the queues distribute waiting callers and recomputes every status at `t`.
    pub fn settle(&mut self, t: i64) {
        self.distribute(t);
        self.refresh(t);
    }

    /// Moves the caller and synthetic-CDR generators past slots older than
    /// [`MAX_CATCHUP_MS`] before `now_ms`.
    fn skip_missed_slots(&mut self, now_ms: i64) {
        let floor = now_ms.saturating_sub(MAX_CATCHUP_MS);
        let skip = |next: &mut i64, every: u64| {
            let every = i64::try_from(every).unwrap_or(i64::MAX).max(1);
            if *next < floor {
                let missed = (floor - *next) / every + 1;
                *next = next.saturating_add(missed.saturating_mul(every));
            }
        };
        if self.cfg.auto_callers {
            skip(&mut self.next_caller_ms, self.cfg.caller_every_ms);
        }
        if self.cfg.cdr_every_ms > 0 {
            skip(&mut self.next_synth_ms, self.cfg.cdr_every_ms);
        }
    }

    fn voicemail_after_ms(&self) -> i64 {
        i64::try_from(self.cfg.voicemail_after_ms).unwrap_or(i64::MAX / 4)
    }

    /// The earliest pending event, if any.
    fn next_event_ms(&self) -> Option<i64> {
        let mut next: Option<i64> = None;
        let mut take = |t: i64| next = Some(next.map_or(t, |n| n.min(t)));
        for c in &self.calls {
            if !c.answer_handled && c.answer_at_ms != NEVER {
                take(c.answer_at_ms);
            }
            if let Some(t) = c.ring_timeout_ms {
                take(t);
            }
            if let Some(t) = c.end_at_ms {
                take(t);
            }
        }
        let vm_after = self.voicemail_after_ms();
        for w in &self.waiting {
            take(w.entered_ms.saturating_add(vm_after));
        }
        for r in &self.leaving {
            take(r.until_ms);
        }
        for p in &self.parked {
            take(p.parked_ms.saturating_add(PARK_TIMEOUT_MS));
        }
        for l in &self.lines {
            for t in [l.wrap_until, l.timeout_until, l.retry_after].into_iter().flatten() {
                take(t);
            }
        }
        if self.cfg.auto_callers {
            take(self.next_caller_ms);
        }
        if self.cfg.cdr_every_ms > 0 {
            take(self.next_synth_ms);
        }
        next
    }

    /// Applies every event due at or before `t`. Each handler consumes its trigger, so
    /// this always makes progress.
    fn process_due(&mut self, t: i64) {
        // Ring timeouts (only unanswered calls carry one).
        while let Some(i) = self.calls.iter().position(|c| c.ring_timeout_ms.is_some_and(|x| x <= t)) {
            self.ring_timeout(i, t);
        }
        // Answers.
        while let Some(i) = self.calls.iter().position(|c| !c.answer_handled && c.answer_at_ms <= t) {
            let at = self.calls.get(i).map_or(t, |c| c.answer_at_ms);
            self.on_answer(i, at);
        }
        // Calls that end by themselves (the caller hangs up).
        while let Some(i) = self.calls.iter().position(|c| c.end_at_ms.is_some_and(|e| e <= t)) {
            let Some(c) = self.calls.get(i) else { break };
            let (at, hs) = (c.end_at_ms.unwrap_or(t), c.a.channel.clone());
            self.end_call(i, at, hs);
        }
        // Callers who waited too long go to voicemail.
        let vm_after = self.voicemail_after_ms();
        while let Some(i) = self.waiting.iter().position(|w| w.entered_ms.saturating_add(vm_after) <= t) {
            let at = self.waiting.get(i).map_or(t, |w| w.entered_ms.saturating_add(vm_after));
            self.send_to_voicemail(i, at);
        }
        while let Some(i) = self.leaving.iter().position(|r| r.until_ms <= t) {
            let at = self.leaving.get(i).map_or(t, |r| r.until_ms);
            self.voicemail_done(i, at);
        }
        // Parked calls time out and hang up.
        while let Some(i) = self.parked.iter().position(|p| p.parked_ms.saturating_add(PARK_TIMEOUT_MS) <= t)
        {
            let at = self.parked.get(i).map_or(t, |p| p.parked_ms.saturating_add(PARK_TIMEOUT_MS));
            self.end_parked(i, at, String::new());
        }
        // Line timers.
        for l in &mut self.lines {
            if let Some(w) = l.wrap_until.filter(|w| *w <= t) {
                l.wrap_until = None;
                l.idle_since_ms = w;
            }
            if l.timeout_until.is_some_and(|x| x <= t) {
                l.timeout_until = None;
            }
            if l.retry_after.is_some_and(|x| x <= t) {
                l.retry_after = None;
            }
        }
        // Generators.
        if self.cfg.auto_callers && self.next_caller_ms <= t {
            let at = self.next_caller_ms;
            let every = i64::try_from(self.cfg.caller_every_ms).unwrap_or(i64::MAX).max(1);
            self.next_caller_ms = at.saturating_add(every);
            let queue = self.main_queue();
            let waiting = self.waiting.iter().filter(|w| w.queue == queue).count() as u64;
            if waiting < self.cfg.max_waiting {
                self.add_caller(&queue, None, at);
            }
        }
        if self.cfg.cdr_every_ms > 0 && self.next_synth_ms <= t {
            let at = self.next_synth_ms;
            let every = i64::try_from(self.cfg.cdr_every_ms).unwrap_or(i64::MAX).max(1);
            self.next_synth_ms = at.saturating_add(every);
            self.synthetic_cdr(at);
        }
    }

    // ------------------------------------------------------------ ids and parties

    /// A new `hwd-<secs>.<n>` uniqueid for a leg starting at `t`.
    pub fn new_uniqueid(&mut self, t: i64) -> String {
        let seq = self.next_call_seq;
        self.next_call_seq += 1;
        format!("hwd-{}.{seq}", t.div_euclid(1000))
    }

    /// A new channel name on `endpoint` (`PJSIP/8001-0000001a`).
    pub fn new_channel(&mut self, endpoint: &str) -> String {
        let seq = self.next_channel_seq;
        self.next_channel_seq += 1;
        format!("PJSIP/{endpoint}-{seq:08x}")
    }

    /// A new party for `number`: an extension's own channel, or an outside number over
    /// the trunk.
    pub fn new_party(&mut self, number: &str) -> Party {
        if self.extension(number).is_some() {
            Party {
                number: number.to_string(),
                channel: self.new_channel(number),
                kind: PartyKind::Extension,
            }
        } else {
            Party {
                number: number.to_string(),
                channel: self.new_channel(DEMO_TRUNK),
                kind: PartyKind::Outside,
            }
        }
    }

    /// `lastdata` of a `Dial()` to `dest` (registered extension, unregistered extension
    /// or outside number).
    pub fn dial_lastdata(&self, dest: &str) -> String {
        match self.extension(dest) {
            Some(e) => match &e.registration {
                Some(r) => format!("PJSIP/{dest}/sip:{dest}@{}:{};ob,{DIAL_OPTIONS}", r.ip, r.port),
                None => format!("PJSIP/{dest},{DIAL_OPTIONS}"),
            },
            None => format!("PJSIP/{dest}@{DEMO_TRUNK},{DIAL_OPTIONS}"),
        }
    }

    /// The CDR info of a plain `Dial()` from `a` to `b`.
    pub fn dial_info(&self, a: &Party, b: &Party) -> CdrInfo {
        let direction = direction_of(a, b);
        CdrInfo {
            dnid: b.number.clone(),
            dst: b.number.clone(),
            dcontext: "from-internal".into(),
            lastapp: "Dial".into(),
            lastdata: self.dial_lastdata(&b.number),
            direction: direction.into(),
            agentid: String::new(),
            billingid: if direction == "out" { a.number.clone() } else { String::new() },
            write: true,
        }
    }

    /// A call from `a` to `b` starting now: ringing until `answer_at_ms`.
    #[allow(clippy::too_many_arguments)]
    pub fn new_call(
        &mut self,
        origin: Origin,
        a: Party,
        b: Party,
        t: i64,
        answer_at_ms: i64,
        linkedid: Option<String>,
        talk: Talk,
    ) -> Call {
        let uniqueid = self.new_uniqueid(t);
        let info = self.dial_info(&a, &b);
        Call {
            linkedid: linkedid.unwrap_or_else(|| uniqueid.clone()),
            uniqueid,
            origin,
            a,
            b,
            displaycid: None,
            start_ms: t,
            created_ms: t,
            answer_at_ms,
            answer_handled: false,
            ring_timeout_ms: None,
            end_at_ms: None,
            talk,
            held_by: None,
            listeners: Vec::new(),
            queue: None,
            consult_of: None,
            info,
        }
    }

    /// The line of extension `ext`.
    pub fn line_mut(&mut self, ext: &str) -> Option<&mut Line> {
        self.lines.iter_mut().find(|l| l.extension == ext)
    }

    /// The line of extension `ext`.
    pub fn line(&self, ext: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.extension == ext)
    }

    /// Whether extension `ext` takes part in anything: a call (party, listener or being
    /// rung), a queue, a parking space or a voicemail.
    pub fn busy(&self, ext: &str) -> bool {
        self.calls.iter().any(|c| c.involves(ext) || c.listeners.iter().any(|l| l.extension == ext))
            || self.waiting.iter().any(|w| w.caller.number == ext)
            || self.parked.iter().any(|p| p.parkee.number == ext)
            || self.leaving.iter().any(|r| r.caller.caller.number == ext)
    }

    /// Whether `ext` could take a call now: registered and not busy.
    pub fn available(&self, ext: &str) -> bool {
        self.registered(ext) && !self.busy(ext)
    }

    /// The index of the answered call `ext` is a party of, preferring one it has not put
    /// on hold.
    pub fn active_call_index(&self, ext: &str, t: i64) -> Option<usize> {
        let mine = |c: &Call| c.answered(t) && c.party(ext).is_some_and(|p| p.is_extension());
        self.calls
            .iter()
            .position(|c| mine(c) && c.held_by.as_deref() != Some(ext))
            .or_else(|| self.calls.iter().position(mine))
    }

    // ------------------------------------------------------------ call life cycle

    /// Draws a talk time: `talkMs` ± 50 %.
    fn draw_talk_ms(&mut self) -> i64 {
        let mean = i64::try_from(self.cfg.talk_ms).unwrap_or(i64::MAX / 4);
        self.rng.range(mean / 2, mean.saturating_add(mean / 2))
    }

    /// Answers call `i` at `at`: schedules its end, takes a queue caller out of the
    /// queue and counts the call for the answering agent.
    pub fn on_answer(&mut self, i: usize, at: i64) {
        let talk = match self.calls.get(i).map(|c| c.talk) {
            Some(Talk::Auto) => Some(self.draw_talk_ms()),
            Some(Talk::Fixed(ms)) => Some(ms),
            _ => None,
        };
        let Some(c) = self.calls.get_mut(i) else {
            return;
        };
        c.answer_handled = true;
        c.ring_timeout_ms = None;
        c.answer_at_ms = c.answer_at_ms.min(at);
        if let Some(ms) = talk {
            c.end_at_ms = Some(at.saturating_add(ms));
        }
        let (uid, queue, agent) = (c.uniqueid.clone(), c.queue.clone(), c.b.number.clone());
        if let Some(q) = queue {
            self.waiting.retain(|w| w.offer.as_deref() != Some(uid.as_str()));
            let mut agentid = None;
            if let Some(m) = self.members.iter_mut().find(|m| m.queue == q && m.extension == agent) {
                m.calls_total += 1;
                m.calls_login += 1;
                agentid = Some(m.agentid.clone());
            }
            if let (Some(id), Some(c)) = (agentid, self.calls.get_mut(i)) {
                c.info.agentid = id;
            }
        }
    }

    /// Call `i` stops ringing unanswered at `t`: a queue offer goes back to the queue
    /// (the agent shows "ring timeout" for a while); any other ring is a NO ANSWER.
    fn ring_timeout(&mut self, i: usize, t: i64) {
        if i >= self.calls.len() {
            return;
        }
        let c = self.calls.remove(i);
        if c.origin == Origin::Queue {
            for w in self.waiting.iter_mut().filter(|w| w.offer.as_deref() == Some(c.uniqueid.as_str())) {
                w.offer = None;
            }
            if let Some(l) = self.line_mut(&c.b.number) {
                l.timeout_until = Some(t.saturating_add(RING_TIMEOUT_STATUS_MS));
            }
        } else {
            let hs = c.a.channel.clone();
            self.finish_call(c, t, hs);
        }
    }

    /// Ends call `i` at `t` (CDR rows for it and its listeners, wrap-up for a queue
    /// agent, consultation links undone).
    pub fn end_call(&mut self, i: usize, t: i64, hangupsource: String) {
        if i < self.calls.len() {
            let c = self.calls.remove(i);
            self.finish_call(c, t, hangupsource);
        }
    }

    /// The bookkeeping of a call that has just been removed from the live list.
    pub fn finish_call(&mut self, c: Call, t: i64, hangupsource: String) {
        for l in &c.listeners {
            let spec = self.listener_spec(l, &c, t);
            self.write_cdr(spec, true);
            if let Some(line) = self.line_mut(&l.extension) {
                line.idle_since_ms = t;
            }
        }
        if c.info.write {
            let spec = self.call_spec(&c, t, hangupsource);
            self.write_cdr(spec, true);
        }
        let answered = c.answered(t);
        for p in [&c.a, &c.b] {
            if let Some(line) = self.line_mut(&p.number) {
                line.idle_since_ms = t;
            }
        }
        if c.queue.is_some() && answered && c.b.is_extension() {
            if let Some(line) = self.line_mut(&c.b.number) {
                line.wrap_until = Some(t.saturating_add(WRAP_MS));
            }
        }
        // A consultation that ends gives the transferer its first call back; a first
        // call that ends turns its consultation into a plain call.
        if let Some(first) = &c.consult_of {
            if let Some(x) = self.calls.iter_mut().find(|x| &x.uniqueid == first) {
                x.held_by = None;
            }
        }
        for x in self.calls.iter_mut().filter(|x| x.consult_of.as_deref() == Some(c.uniqueid.as_str())) {
            x.consult_of = None;
        }
    }

    /// Removes the ringing offer `uniqueid` (no CDR: the caller is still in the queue or
    /// leaves it another way).
    pub fn cancel_offer(&mut self, uniqueid: &str) {
        self.calls.retain(|c| !(c.origin == Origin::Queue && c.uniqueid == uniqueid && !c.answer_handled));
    }

    /// Waiting caller `i` hangs up at `t` (abandoned: NO ANSWER).
    pub fn abandon(&mut self, i: usize, t: i64) {
        if i >= self.waiting.len() {
            return;
        }
        let w = self.waiting.remove(i);
        if let Some(o) = &w.offer {
            self.cancel_offer(o);
        }
        let spec =
            queue_leg_spec(&w, t, "Queue", format!("{},t,,,300,,,,,", w.queue), w.caller.channel.clone());
        self.write_cdr(spec, true);
    }

    /// Waiting caller `i` reached the wait limit at `at`: it leaves the queue to record
    /// a voicemail for the console's extension.
    fn send_to_voicemail(&mut self, i: usize, at: i64) {
        if i >= self.waiting.len() {
            return;
        }
        let w = self.waiting.remove(i);
        if let Some(o) = &w.offer {
            self.cancel_offer(o);
        }
        let secs = self.rng.range(3, 8);
        self.leaving.push(Recording {
            caller: w,
            mailbox: CONSOLE_EXTENSION.to_string(),
            from_ms: at,
            until_ms: at.saturating_add(secs * 1000),
        });
    }

    /// Voicemail recording `i` ends at `t`: the message is stored and the caller's leg
    /// leaves a NO ANSWER CDR row.
    pub fn voicemail_done(&mut self, i: usize, t: i64) {
        if i >= self.leaving.len() {
            return;
        }
        let r = self.leaving.remove(i);
        self.store_voicemail(&r.caller.caller.number, &r.mailbox, &r.caller.uniqueid, r.from_ms, t, false);
        let lastdata = format!("{}@default,u", r.mailbox);
        let spec = queue_leg_spec(&r.caller, t, "VoiceMail", lastdata, r.caller.caller.channel.clone());
        self.write_cdr(spec, true);
    }

    /// Stores a voicemail message (and its recording) from `callerid` to `mailbox`.
    pub fn store_voicemail(
        &mut self,
        callerid: &str,
        mailbox: &str,
        uniqueid: &str,
        from_ms: i64,
        until_ms: i64,
        read: bool,
    ) {
        let secs = u64::try_from((until_ms - from_ms).div_euclid(1000)).unwrap_or(0);
        let (day, time) = compact_cst(from_ms);
        let recording = format!("voicemail/{day}/{day}-{time}-{callerid}-{mailbox}-{uniqueid}.wav");
        self.media.insert(recording.clone(), MediaFile { seed: uniqueid.to_string(), secs: secs as f32 });
        let id = self.next_voicemail_id;
        self.next_voicemail_id += 1;
        self.voicemails.push(Voicemail {
            id,
            calldate: format_cst(from_ms),
            callerid: callerid.to_string(),
            dst: mailbox.to_string(),
            is_read: if read { "yes" } else { "no" }.to_string(),
            duration: secs,
            hangup_time: format_cst(until_ms),
            recording,
            uniqueid: uniqueid.to_string(),
        });
    }

    /// Parked call `i` ends at `t` (timeout, hangup): a CDR row for the parked leg.
    pub fn end_parked(&mut self, i: usize, t: i64, hangupsource: String) {
        if i >= self.parked.len() {
            return;
        }
        let p = self.parked.remove(i);
        let space = p.space.to_string();
        let spec = CdrSpec {
            uniqueid: p.uniqueid.clone(),
            linkedid: p.linkedid.clone(),
            start_ms: p.parked_ms,
            answer_ms: Some(p.parked_ms),
            end_ms: t,
            clid: clid_of(&p.parkee.number),
            src: p.parkee.number.clone(),
            dnid: space.clone(),
            dst: space,
            dcontext: "parkedcalls".into(),
            channel: p.parkee.channel.clone(),
            lastapp: "Park".into(),
            lastdata: "default".into(),
            disposition: "ANSWERED",
            direction: if p.parkee.is_outside() { "in" } else { "inter" }.into(),
            trunk: p.parkee.is_outside(),
            hangupsource,
            ..CdrSpec::default()
        };
        self.write_cdr(spec, true);
    }

    /// A caller arrives in `queue` at `t` (a random `1831234xxxx` unless `number`).
    pub fn add_caller(&mut self, queue: &str, number: Option<&str>, t: i64) -> Waiting {
        let number = match number {
            Some(n) => n.to_string(),
            None => format!("1831234{:04}", self.rng.below(10_000)),
        };
        let uniqueid = self.new_uniqueid(t);
        let caller = self.new_party(&number);
        let w = Waiting {
            linkedid: uniqueid.clone(),
            uniqueid,
            caller,
            queue: queue.to_string(),
            prio: 0,
            ivr: String::new(),
            ac: CALLER_AC.to_string(),
            start_ms: t,
            entered_ms: t,
            offer: None,
        };
        self.waiting.push(w.clone());
        w
    }

    /// `cdrEveryMs`: an answered call between two robot extensions ends at `t`.
    fn synthetic_cdr(&mut self, t: i64) {
        let robots: Vec<&str> = DEMO_EXTENSIONS.iter().copied().filter(|e| is_robot(e)).collect();
        let n = robots.len() as u64;
        let ai = self.rng.below(n);
        let bi = (ai + 1 + self.rng.below(n.saturating_sub(1).max(1))) % n.max(1);
        let (Some(a), Some(b)) = (robots.get(ai as usize).copied(), robots.get(bi as usize).copied()) else {
            return;
        };
        let talk = self.rng.range(5, 60) * 1000;
        let ring = self.rng.range(1, 5) * 1000;
        let start = t - talk - ring;
        let mut spec = self.dial_spec(a, b, start, Some(start + ring), t, "ANSWERED");
        spec.hangupsource = spec.channel.clone();
        self.write_cdr(spec, true);
    }

    /// The CDR spec of a finished plain dial from `a` to `b` (history and synthetic rows).
    fn dial_spec(
        &mut self,
        a: &str,
        b: &str,
        start: i64,
        answer: Option<i64>,
        end: i64,
        disposition: &'static str,
    ) -> CdrSpec {
        let pa = self.new_party(a);
        let pb = self.new_party(b);
        let mut call =
            self.new_call(Origin::Dial, pa, pb, start, answer.unwrap_or(NEVER), None, Talk::Manual);
        call.answer_handled = true;
        let hs = call.b.channel.clone();
        let mut spec = self.call_spec(&call, end, hs);
        spec.disposition = disposition;
        spec
    }

    // ------------------------------------------------------------ distribution

    /// Offers waiting callers to ready agents, queue by queue: the best caller (highest
    /// priority, longest waiting) rings the best agent (lowest penalty, longest idle).
    fn distribute(&mut self, t: i64) {
        let queues = self.queues.clone();
        for q in queues {
            loop {
                let best = self
                    .waiting
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| w.queue == q && w.offer.is_none())
                    .min_by_key(|(_, w)| (Reverse(w.prio), w.entered_ms, w.uniqueid.clone()))
                    .map(|(i, w)| (i, w.caller.number.clone()));
                let Some((wi, caller)) = best else { break };
                let Some(ext) = self.pick_agent(&q, &caller, t) else { break };
                self.offer(wi, &ext, t);
            }
        }
    }

    /// The agent of `queue` to ring next, if any is ready.
    fn pick_agent(&self, queue: &str, caller: &str, t: i64) -> Option<String> {
        self.members
            .iter()
            .filter(|m| m.queue == queue && m.signed_in && m.paused == 0 && m.extension != caller)
            .filter(|m| self.available(&m.extension))
            .filter_map(|m| {
                let l = self.line(&m.extension)?;
                let free = l.wrap_until.is_none_or(|x| x <= t)
                    && l.timeout_until.is_none_or(|x| x <= t)
                    && l.retry_after.is_none_or(|x| x <= t);
                free.then(|| (m.penalty, l.idle_since_ms, m.extension.clone()))
            })
            .min()
            .map(|(_, _, ext)| ext)
    }

    /// Waiting caller `wi` starts ringing agent `ext` at `t`.
    fn offer(&mut self, wi: usize, ext: &str, t: i64) {
        let Some(w) = self.waiting.get(wi).cloned() else {
            return;
        };
        let agentid =
            self.members.iter().find(|m| m.queue == w.queue && m.extension == ext).map(|m| m.agentid.clone());
        let b = self.new_party(ext);
        let console = ext == CONSOLE_EXTENSION;
        let ring_ms = i64::try_from(self.cfg.ring_ms).unwrap_or(i64::MAX / 4);
        let info = CdrInfo {
            dnid: String::new(),
            dst: w.queue.clone(),
            dcontext: "ext-queues".into(),
            lastapp: "Queue".into(),
            lastdata: format!("{},t,,,300,,,,,", w.queue),
            direction: direction_of(&w.caller, &b).into(),
            agentid: agentid.unwrap_or_default(),
            billingid: String::new(),
            write: true,
        };
        let call = Call {
            uniqueid: w.uniqueid.clone(),
            linkedid: w.linkedid.clone(),
            origin: Origin::Queue,
            a: w.caller.clone(),
            b,
            displaycid: None,
            start_ms: w.start_ms,
            created_ms: t,
            answer_at_ms: if console { NEVER } else { t.saturating_add(ring_ms) },
            answer_handled: false,
            ring_timeout_ms: console.then(|| t.saturating_add(CONSOLE_RING_TIMEOUT_MS)),
            end_at_ms: None,
            talk: if console { Talk::Manual } else { Talk::Auto },
            held_by: None,
            listeners: Vec::new(),
            queue: Some(w.queue.clone()),
            consult_of: None,
            info,
        };
        if let Some(wm) = self.waiting.get_mut(wi) {
            wm.offer = Some(call.uniqueid.clone());
        }
        self.calls.push(call);
    }

    // ------------------------------------------------------------ statuses

    /// The device state of extension `ext` at `t` and its channel count.
    pub fn device_state(&self, ext: &str, t: i64) -> (&'static str, usize) {
        let (mut ringing, mut active, mut held) = (0usize, 0usize, 0usize);
        for c in &self.calls {
            if c.ringing_at(ext, t) {
                ringing += 1;
                continue;
            }
            if c.party(ext).is_some_and(|p| p.is_extension()) {
                if c.held_by.as_deref() == Some(ext) {
                    held += 1;
                } else {
                    active += 1;
                }
            }
            active += c.listeners.iter().filter(|l| l.extension == ext).count();
        }
        held += self.parked.iter().filter(|p| p.parkee.number == ext && p.parkee.is_extension()).count();
        active += self.waiting.iter().filter(|w| w.caller.number == ext && w.caller.is_extension()).count();
        let state = if ringing > 0 && active + held > 0 {
            "Ring+InUse"
        } else if ringing > 0 {
            "Ringing"
        } else if active > 0 {
            "In use"
        } else if held > 0 {
            "On Hold"
        } else if self.registered(ext) {
            "Not in use"
        } else {
            "Unavailable"
        };
        (state, ringing + active + held)
    }

    /// The agent status code of roster entry `m` at `t`.
    pub fn member_status(&self, m: &Member, t: i64) -> i32 {
        if !m.signed_in {
            return -1;
        }
        let ext = m.extension.as_str();
        let line = self.line(ext);
        if line.is_some_and(|l| l.timeout_until.is_some_and(|x| x > t)) {
            return 8;
        }
        if self.calls.iter().any(|c| c.ringing_at(ext, t)) {
            return 2;
        }
        let in_call = self.calls.iter().find(|c| {
            c.party(ext).is_some_and(|p| p.is_extension()) || c.listeners.iter().any(|l| l.extension == ext)
        });
        if let Some(c) = in_call {
            return match &c.queue {
                Some(q) if *q != m.queue => 10,
                _ => 1,
            };
        }
        if self.busy(ext) {
            return 1;
        }
        if line.is_some_and(|l| l.wrap_until.is_some_and(|x| x > t)) {
            return 3;
        }
        m.paused
    }

    /// Recomputes every line's device state and every member's status at `t`, noting
    /// when each changed (for the `…Duration` fields).
    pub fn refresh(&mut self, t: i64) {
        let ds: Vec<&'static str> = self.lines.iter().map(|l| self.device_state(&l.extension, t).0).collect();
        for (l, s) in self.lines.iter_mut().zip(ds) {
            if l.ds != s {
                l.ds = s;
                l.ds_since_ms = t;
            }
        }
        let st: Vec<i32> = self.members.iter().map(|m| self.member_status(m, t)).collect();
        for (m, s) in self.members.iter_mut().zip(st) {
            if m.status != s {
                m.status = s;
                m.status_since_ms = t;
            }
        }
    }

    /// `statusDuration` of a member at `t`.
    pub fn status_duration(m: &Member, t: i64) -> String {
        hms(t - m.status_since_ms)
    }

    // ------------------------------------------------------------ demo data

    /// Lines, the queue rosters, 40 CDR rows and 5 voicemails over the last two days.
    pub(crate) fn seed_demo(&mut self, now: i64) {
        let exts: Vec<String> = self.extensions.iter().map(|e| e.number.clone()).collect();
        for ext in exts {
            let since = now - self.rng.range(60, 3_600) * 1000;
            let ds = if self.registered(&ext) { "Not in use" } else { "Unavailable" };
            self.lines.push(Line {
                extension: ext,
                ds,
                ds_since_ms: since,
                wrap_until: None,
                timeout_until: None,
                retry_after: None,
                idle_since_ms: since,
            });
        }
        // The first queue (200): every agent; 8002 and 8003 signed in. The second (300):
        // 8001 and 8004. Further queues start with no roster.
        let first = self.main_queue();
        let second = self.queues.get(1).cloned();
        let mut roster: Vec<(String, &str, bool)> =
            [("8001", false), ("8002", true), ("8003", true), ("8004", false)]
                .into_iter()
                .map(|(ext, on)| (first.clone(), ext, on))
                .collect();
        if let Some(q) = second {
            roster.extend([(q.clone(), "8001", false), (q, "8004", false)]);
        }
        for (queue, ext, signed_in) in roster {
            let agentid = DEMO_AGENTS.iter().find(|(_, e)| *e == ext).map(|(a, _)| *a).unwrap_or_default();
            let total = u64::try_from(self.rng.range(100, 700)).unwrap_or(0);
            let since = now - self.rng.range(60, 3_600) * 1000;
            self.members.push(Member {
                queue,
                extension: ext.to_string(),
                agentid: agentid.to_string(),
                penalty: 0,
                signed_in,
                paused: 0,
                reason: String::new(),
                calls_total: total,
                calls_login: if signed_in { total } else { 0 },
                status: if signed_in { 0 } else { -1 },
                status_since_ms: since,
            });
        }
        self.seed_history(now);
        // Seed 003's call/handsetPlay example names this file: have it, so that
        // body plays as written. No CDR row: the seed gives none.
        self.media.insert(
            super::control::SEED_HANDSET_RECORDING.to_string(),
            MediaFile { seed: "seed-003-handset-play".into(), secs: 4.0 },
        );
        self.refresh(now);
    }

    /// 35 finished calls of every kind plus 5 voicemails (with their CDR rows), spread
    /// over the last two days, written oldest first.
    fn seed_history(&mut self, now: i64) {
        const DAY: i64 = 86_400_000;
        let mut starts: Vec<(i64, u8)> = (0..40)
            .map(|i| {
                let start = now - self.rng.range(10 * 60_000, 2 * DAY);
                (start - start.rem_euclid(1000), if i < 5 { 0 } else { 1 + (self.rng.below(10) as u8) })
            })
            .collect();
        starts.sort_unstable();
        let mut voicemails_seen = 0;
        for (start, kind) in starts {
            let outside = format!("1{}", 3_000_000_000u64 + self.rng.below(6_000_000_000));
            let agent = if self.rng.below(2) == 0 { "8002" } else { "8003" };
            let ext = DEMO_EXTENSIONS.get(self.rng.below(4) as usize).copied().unwrap_or("8001");
            let ring = self.rng.range(2, 15) * 1000;
            let talk = self.rng.range(20, 600) * 1000;
            let spec = match kind {
                // Voicemail left for 8001 after waiting in the queue.
                0 => {
                    let caller = format!("1831234{:04}", self.rng.below(10_000));
                    let vm_secs = self.rng.range(3, 8) * 1000;
                    let w = self.history_caller(&caller, start);
                    let vm_from = start + 60_000;
                    let end = vm_from + vm_secs;
                    self.store_voicemail(
                        &caller,
                        CONSOLE_EXTENSION,
                        &w.uniqueid,
                        vm_from,
                        end,
                        voicemails_seen < 2,
                    );
                    voicemails_seen += 1;
                    queue_leg_spec(&w, end, "VoiceMail", "8001@default,u".into(), w.caller.channel.clone())
                }
                // Inbound queue calls, answered.
                1..=4 => {
                    let w = self.history_caller(&outside, start);
                    let b = self.new_party(agent);
                    let mut spec = queue_leg_spec(
                        &w,
                        start + ring + talk,
                        "Queue",
                        format!("{},t,,,300,,,,,", w.queue),
                        w.caller.channel.clone(),
                    );
                    spec.answer_ms = Some(start + ring);
                    spec.dstchannel = b.channel;
                    spec.agentid = if agent == "8002" { "1012" } else { "1013" }.into();
                    spec.record = Some((w.caller.number.clone(), agent.to_string()));
                    spec
                }
                // Inbound, abandoned in the queue.
                5 => {
                    let w = self.history_caller(&outside, start);
                    queue_leg_spec(
                        &w,
                        start + ring * 2,
                        "Queue",
                        format!("{},t,,,300,,,,,", w.queue),
                        w.caller.channel.clone(),
                    )
                }
                // Outbound: answered, no answer, busy.
                6 | 7 => {
                    self.dial_spec(ext, &outside, start, Some(start + ring), start + ring + talk, "ANSWERED")
                }
                8 => {
                    let disposition = if self.rng.below(2) == 0 { "NO ANSWER" } else { "BUSY" };
                    self.dial_spec(ext, &outside, start, None, start + ring, disposition)
                }
                // Extension to extension.
                _ => {
                    let other = if ext == "8004" { "8003" } else { "8004" };
                    self.dial_spec(ext, other, start, Some(start + ring), start + ring + talk / 4, "ANSWERED")
                }
            };
            self.write_cdr(spec, false);
        }
    }

    /// A finished queue caller for the demo history.
    fn history_caller(&mut self, number: &str, start: i64) -> Waiting {
        let uniqueid = self.new_uniqueid(start);
        let caller = self.new_party(number);
        Waiting {
            linkedid: uniqueid.clone(),
            uniqueid,
            caller,
            queue: self.main_queue(),
            prio: 0,
            ivr: String::new(),
            ac: CALLER_AC.to_string(),
            start_ms: start,
            entered_ms: start,
            offer: None,
        }
    }
}

/// The CDR spec of a queue caller's leg that ends unanswered at `end` (abandoned,
/// voicemail) in application `lastapp`.
pub fn queue_leg_spec(
    w: &Waiting,
    end: i64,
    lastapp: &str,
    lastdata: String,
    hangupsource: String,
) -> CdrSpec {
    CdrSpec {
        uniqueid: w.uniqueid.clone(),
        linkedid: w.linkedid.clone(),
        start_ms: w.start_ms,
        answer_ms: None,
        end_ms: end,
        clid: clid_of(&w.caller.number),
        src: w.caller.number.clone(),
        dnid: String::new(),
        dst: w.queue.clone(),
        dcontext: "ext-queues".into(),
        channel: w.caller.channel.clone(),
        dstchannel: String::new(),
        lastapp: lastapp.into(),
        lastdata,
        disposition: "NO ANSWER",
        direction: if w.caller.is_outside() { "in" } else { "inter" }.into(),
        trunk: w.caller.is_outside(),
        hangupsource,
        ..CdrSpec::default()
    }
}

/// The parked-call row fields that depend on the call before parking: context, exten,
/// priority (the seed's queue example: `q200`, `200`, `7`).
pub fn park_origin(call: &Call) -> (String, String, String) {
    match &call.queue {
        Some(q) => (format!("q{q}"), q.clone(), "7".into()),
        None => ("from-internal".into(), call.info.dst.clone(), "1".into()),
    }
}

/// Builds a parked entry for `parkee` parked by `parker` at `t` in `space`.
pub fn parked_entry(
    call: &Call,
    parkee: Party,
    parker: &str,
    space: u32,
    uniqueid: String,
    t: i64,
) -> Parked {
    let (context, exten, priority) = park_origin(call);
    Parked {
        space,
        parkee,
        uniqueid,
        linkedid: call.linkedid.clone(),
        parker: parker.to_string(),
        context,
        exten,
        priority,
        parked_ms: t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;

    fn quiet() -> PbxState {
        PbxState::demo(1_700_000_000_000, &Settings { pbx_no_callers: true, ..Settings::default() })
    }

    #[test]
    fn demo_has_history_and_ready_agents() {
        let p = quiet();
        assert_eq!(p.cdr.len(), 40);
        assert_eq!(p.voicemails.len(), 5);
        assert_eq!(p.voicemails.iter().filter(|v| v.is_read == "yes").count(), 2);
        assert!(p.cdr.windows(2).all(|w| w[0].calldate <= w[1].calldate && w[0].id < w[1].id));
        let ready: Vec<&str> =
            p.members.iter().filter(|m| m.status == 0).map(|m| m.extension.as_str()).collect();
        assert_eq!(ready, ["8002", "8003"]);
        for r in p.cdr.iter().filter(|r| !r.recording.is_empty()) {
            assert!(p.media.contains_key(&r.recording), "{}", r.recording);
        }
    }

    #[test]
    fn a_caller_rings_answers_talks_and_ends() {
        let mut p = quiet();
        let t0 = p.sim_ms;
        p.add_caller("200", Some("18300000000"), t0);
        p.settle(t0);
        assert_eq!(p.calls.len(), 1);
        let agent = p.calls[0].b.number.clone();
        assert!(agent == "8002" || agent == "8003");
        assert_eq!(p.device_state(&agent, t0).0, "Ringing");
        p.advance(t0 + 3_000);
        assert!(p.waiting.is_empty());
        assert_eq!(p.device_state(&agent, t0 + 3_000).0, "In use");
        p.advance(t0 + 40_000);
        assert!(p.calls.is_empty());
        let row = p.cdr.last().unwrap();
        assert_eq!(
            (row.src.as_str(), row.direction.as_str(), row.disposition.as_str()),
            ("18300000000", "in", "ANSWERED")
        );
        assert!(p.media.contains_key(&row.recording));
    }

    #[test]
    fn huge_clock_jumps_stay_cheap() {
        let mut p = PbxState::demo(0, &Settings::default());
        p.advance(100 * 365 * 86_400_000);
        assert!(p.cdr.len() < 5_000, "{}", p.cdr.len());
        p.advance(i64::MAX - 1);
    }
}
