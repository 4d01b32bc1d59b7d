//! The PBX's moving parts as plain data: parties, live calls, queue entries, parked
//! calls, voicemails, queue members, per-extension line state, the simulation settings
//! and a small seeded random generator. The behaviour lives in `sim.rs` and the route
//! modules; this file only describes state.

use serde::Serialize;
use serde_json::{json, Value};

use crate::clock::format_cst;
use crate::wav::splitmix;

/// "Never": an `answer_at_ms` that no clock reaches (a call that rings until someone
/// picks it up or it times out).
pub const NEVER: i64 = i64::MAX;

/// The console's extension: rung by the queue but never auto-answered.
pub const CONSOLE_EXTENSION: &str = "8001";

/// How long an agent stays in wrap-up (status 3) after a queue call, ms.
pub const WRAP_MS: i64 = 3_000;
/// How long the console's agent rings before a ring timeout, ms.
pub const CONSOLE_RING_TIMEOUT_MS: i64 = 15_000;
/// How long status 8 (ring timeout) lasts, ms.
pub const RING_TIMEOUT_STATUS_MS: i64 = 5_000;
/// After an agent rejects a queue call, how long before it is offered another, ms.
pub const REJECT_RETRY_MS: i64 = 5_000;
/// A ring from `/sandbox/pbx/ring` gives up after the dial timeout (`45` in `lastdata`).
pub const RING_GIVE_UP_MS: i64 = 45_000;
/// Parked calls hang up after ten minutes (the seed's `parkingTimeout` text).
pub const PARK_TIMEOUT_MS: i64 = 600_000;
/// The first parking space.
pub const FIRST_PARKING_SPACE: u32 = 701;

/// The simulation's knobs (`/sandbox/pbx/settings`), camelCase on the wire.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimSettings {
    /// A new caller arrives in queue 200 every this many ms (when `autoCallers`).
    pub caller_every_ms: u64,
    /// No caller is generated while this many already wait in queue 200.
    pub max_waiting: u64,
    /// How long a robot agent rings before it answers, ms.
    pub ring_ms: u64,
    /// Mean talk time of an auto-answered call, ms (each call draws ±50 %).
    pub talk_ms: u64,
    /// A caller waiting this long leaves a voicemail instead, ms.
    pub voicemail_after_ms: u64,
    /// Whether callers arrive by themselves.
    pub auto_callers: bool,
    /// 0 = never; else each open push socket is closed at random with this mean, ms.
    pub drop_sockets_every_ms: u64,
    /// Share (0.0-1.0) of `/api/v1/*` requests answered HTTP 503 before anything else.
    pub fail_share: f64,
    /// 0 = off; else a synthetic answered call ends (CDR + push) every this many ms.
    pub cdr_every_ms: u64,
    /// Rows written while on carry numbers beyond 2^53 (as a big PBX's may): `id` is
    /// [`HUGE_OFFSET`] plus the row counter, `duration` gets [`HUGE_OFFSET`] added. They
    /// reach `GET cdr`, `cdr/list` and the push alike; turning it off goes back to small
    /// ids (unique still: the counter runs on).
    pub huge_numbers: bool,
    /// Every list reply (`status/*`, `call/parkList`, `agent/getAgentStatus`,
    /// `voicemail`, `cdr`, `cdr/list`) carries one odd row, as live systems' lists
    /// sometimes do: the last row of the page lacks its key field (`state`,
    /// `callerid`, `parkingSpace`, `id`, `uniqueid`) or, for agent rows, whose
    /// every field is optional, sends `penalty` as a word. `total` is unchanged.
    pub odd_row: bool,
    /// Every paged list (`cdr`, `cdr/list`, `voicemail`, `status/*`) ignores `page` and
    /// answers page 1, as some PBX builds do: a client that pages until a short page
    /// would ask for ever. `total` is unchanged.
    pub ignore_page: bool,
    /// 0 = off; else the replies of `status/trunk` and `tts/synthesize` are padded
    /// with JSON whitespace to at least this many bytes (still valid replies), so a
    /// client's reply caps can be tested: a broken or hostile PBX.
    pub big_reply_bytes: u64,
    /// With `bigReplyBytes`: the padded reply is streamed in chunks without a
    /// `Content-Length` (else it declares its length).
    pub big_reply_chunked: bool,
}

/// 2^53: added to `id` and `duration` of rows written with `hugeNumbers`, so each is
/// beyond what a JS number holds exactly (2^53 + 1 has no double of its own).
pub const HUGE_OFFSET: u64 = 1 << 53;

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            caller_every_ms: 8_000,
            max_waiting: 6,
            ring_ms: 3_000,
            talk_ms: 20_000,
            voicemail_after_ms: 60_000,
            auto_callers: true,
            drop_sockets_every_ms: 0,
            fail_share: 0.0,
            cdr_every_ms: 0,
            huge_numbers: false,
            odd_row: false,
            ignore_page: false,
            big_reply_bytes: 0,
            big_reply_chunked: false,
        }
    }
}

/// What kind of endpoint a party of a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartyKind {
    /// One of the PBX's PJSIP extensions.
    Extension,
    /// An outside number, over the trunk.
    Outside,
    /// A local channel (playback of a recording).
    Local,
}

/// One end of a call: a number and the channel it uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// Extension or outside number.
    pub number: String,
    /// Asterisk channel, e.g. `PJSIP/8001-0000001a` or `PJSIP/trunkHWD-0000001b`.
    pub channel: String,
    /// Extension, outside or local.
    pub kind: PartyKind,
}

impl Party {
    /// Whether this party is one of the PBX's extensions.
    pub fn is_extension(&self) -> bool {
        self.kind == PartyKind::Extension
    }

    /// Whether this party is outside (uses the trunk).
    pub fn is_outside(&self) -> bool {
        self.kind == PartyKind::Outside
    }
}

/// How a live call came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// `call/dial`.
    Dial,
    /// A queue caller offered to (or answered by) an agent.
    Queue,
    /// `/sandbox/pbx/ring`: an outside number ringing an extension.
    Ring,
    /// The result of a blind or completed attended transfer.
    Transfer,
    /// The consultation leg of an attended transfer.
    Consult,
    /// `call/redirect`: a queue caller taken by an extension.
    Redirect,
    /// `call/unpark`.
    Unpark,
    /// `call/handsetPlay`: a recording played on a desk phone.
    Playback,
}

/// How a listener joined a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenMode {
    /// Talks to both parties (强插).
    Barge,
    /// Hears both parties, says nothing (监听).
    Monitor,
    /// Talks to `dest` only (督导).
    Whisper,
}

impl ListenMode {
    /// The ChanSpy options the PBX would use, for the listener's CDR `lastdata`.
    pub fn chanspy_options(self) -> &'static str {
        match self {
            ListenMode::Barge => "qB",
            ListenMode::Monitor => "q",
            ListenMode::Whisper => "qw",
        }
    }
}

/// An extension listening in on a call (barge, monitor or whisper).
#[derive(Debug, Clone, Serialize)]
pub struct Listener {
    /// The listening extension.
    pub extension: String,
    /// Barge, monitor or whisper.
    pub mode: ListenMode,
    /// The party it targeted (`dest`).
    pub target: String,
    /// The listener's own channel.
    pub channel: String,
    /// The listener leg's uniqueid (its CDR row).
    pub uniqueid: String,
    /// When it joined (sandbox epoch ms).
    pub since_ms: i64,
}

/// The CDR fields a call fixes when it starts (the rest follow from its parties).
#[derive(Debug, Clone, Serialize)]
pub struct CdrInfo {
    /// `dnid`.
    pub dnid: String,
    /// `dst`: the dialled number, or the queue for queue calls.
    pub dst: String,
    /// `dcontext`.
    pub dcontext: String,
    /// `lastapp`.
    pub lastapp: String,
    /// `lastdata`.
    pub lastdata: String,
    /// `direction`: `in`, `out` or `inter`.
    pub direction: String,
    /// `agentid` of the answering agent, if any.
    pub agentid: String,
    /// `billingid`.
    pub billingid: String,
    /// Whether the call leaves a CDR row at all (playback legs do not).
    pub write: bool,
}

/// How long an answered call lasts on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Talk {
    /// Until someone hangs up through the API.
    Manual,
    /// A robot agent: `talkMs` ± 50 %, drawn at answer.
    Auto,
    /// Exactly this many ms after answer (a playback).
    Fixed(i64),
}

/// A live call: ringing (`now < answer_at_ms`) or answered.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// `hwd-<epoch secs>.<n>`: the CDR row's uniqueid.
    pub uniqueid: String,
    /// The CDR row's linkedid (shared by every leg of one conversation).
    pub linkedid: String,
    /// How the call came to be.
    pub origin: Origin,
    /// The calling side (`src`).
    pub a: Party,
    /// The called side; rings until answered.
    pub b: Party,
    /// The caller id the dial asked to present.
    pub displaycid: Option<String>,
    /// When the CDR leg started (a queue caller's arrival), ms.
    pub start_ms: i64,
    /// When this call object was created (ringing started), ms.
    pub created_ms: i64,
    /// When it is (or was) answered; [`NEVER`] while it waits for a pickup.
    pub answer_at_ms: i64,
    /// Whether the answer's side effects ran.
    pub answer_handled: bool,
    /// A ringing call gives up at this time.
    pub ring_timeout_ms: Option<i64>,
    /// An answered call ends by itself at this time.
    pub end_at_ms: Option<i64>,
    /// How it ends by itself.
    pub talk: Talk,
    /// The extension that put the call on hold.
    pub held_by: Option<String>,
    /// Barge/monitor/whisper listeners.
    pub listeners: Vec<Listener>,
    /// The queue a queue call came from.
    pub queue: Option<String>,
    /// For a consultation: the uniqueid of the held call being transferred.
    pub consult_of: Option<String>,
    /// CDR fields fixed at start.
    pub info: CdrInfo,
}

impl Call {
    /// Whether the call has been answered by `now_ms`.
    pub fn answered(&self, now_ms: i64) -> bool {
        now_ms >= self.answer_at_ms
    }

    /// Whether `number` is either party (not a listener).
    pub fn involves(&self, number: &str) -> bool {
        self.a.number == number || self.b.number == number
    }

    /// Whether the extension `ext` is being rung by this call at `now_ms`.
    pub fn ringing_at(&self, ext: &str, now_ms: i64) -> bool {
        self.b.number == ext && self.b.is_extension() && !self.answered(now_ms)
    }

    /// The party that is not `number`.
    pub fn other(&self, number: &str) -> Option<&Party> {
        if self.a.number == number {
            Some(&self.b)
        } else if self.b.number == number {
            Some(&self.a)
        } else {
            None
        }
    }

    /// The party that is `number`.
    pub fn party(&self, number: &str) -> Option<&Party> {
        if self.a.number == number {
            Some(&self.a)
        } else if self.b.number == number {
            Some(&self.b)
        } else {
            None
        }
    }

    /// `"ringing"` or `"answered"`.
    pub fn state(&self, now_ms: i64) -> &'static str {
        if self.answered(now_ms) {
            "answered"
        } else {
            "ringing"
        }
    }

    /// The call as JSON for the state dump: every field plus its derived state.
    pub fn dump(&self, now_ms: i64) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        if let Some(obj) = v.as_object_mut() {
            obj.insert("state".into(), self.state(now_ms).into());
            obj.insert("held".into(), self.held_by.is_some().into());
            obj.insert("created".into(), format_cst(self.created_ms).into());
            // The names the first sandbox used, kept for older readers of the dump.
            obj.insert("extension".into(), self.a.number.clone().into());
            obj.insert("dest".into(), self.b.number.clone().into());
        }
        v
    }
}

/// A caller waiting in a queue (`status/wait`).
#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    /// The caller's leg uniqueid (its CDR row).
    pub uniqueid: String,
    /// The conversation's linkedid (shown by `status/wait`).
    pub linkedid: String,
    /// The caller (an outside number, or an extension sent to the queue).
    pub caller: Party,
    /// The queue.
    pub queue: String,
    /// Priority: higher goes first.
    pub prio: u32,
    /// IVR digits pressed before the queue.
    pub ivr: String,
    /// Area code.
    pub ac: String,
    /// When this CDR leg started, ms.
    pub start_ms: i64,
    /// When it entered the queue (waitTime and order), ms.
    pub entered_ms: i64,
    /// The uniqueid of the call now ringing an agent for it, if any.
    pub offer: Option<String>,
}

/// A parked call (`call/parkList`).
#[derive(Debug, Clone, Serialize)]
pub struct Parked {
    /// The parking space, from 701.
    pub space: u32,
    /// Who is parked.
    pub parkee: Party,
    /// The parked leg's uniqueid.
    pub uniqueid: String,
    /// The conversation's linkedid.
    pub linkedid: String,
    /// The extension that parked it.
    pub parker: String,
    /// Dial-plan context before parking (`q200` for a queue call).
    pub context: String,
    /// Extension before parking.
    pub exten: String,
    /// Priority before parking.
    pub priority: String,
    /// When it was parked, ms.
    pub parked_ms: i64,
}

/// A voicemail message (`GET voicemail`), the seed's keys and types.
#[derive(Debug, Clone, Serialize)]
pub struct Voicemail {
    /// Numeric id.
    pub id: u64,
    /// When the message started.
    pub calldate: String,
    /// Who left it.
    pub callerid: String,
    /// The mailbox.
    pub dst: String,
    /// `yes` or `no`.
    pub is_read: String,
    /// Seconds, a number.
    pub duration: u64,
    /// When the message ended.
    pub hangup_time: String,
    /// Relative path, `voicemail/YYYYMMDD/…wav`.
    pub recording: String,
    /// The caller leg's uniqueid.
    pub uniqueid: String,
}

/// A caller recording a voicemail right now.
#[derive(Debug, Clone, Serialize)]
pub struct Recording {
    /// The waiting entry it came from.
    pub caller: Waiting,
    /// The mailbox.
    pub mailbox: String,
    /// When the message started, ms.
    pub from_ms: i64,
    /// When it ends, ms.
    pub until_ms: i64,
}

/// An agent's place in a queue's roster (signed in or not).
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// Queue number.
    pub queue: String,
    /// Extension.
    pub extension: String,
    /// Agent id (工号).
    pub agentid: String,
    /// Skill value 0-99 (lower is tried first).
    pub penalty: u8,
    /// Signed in to the queue.
    pub signed_in: bool,
    /// Pause code: 0 ready, 4, 5, 11, 12, 13.
    pub paused: i32,
    /// Reason given with the pause.
    pub reason: String,
    /// Calls answered since the sandbox started (plus a made-up history).
    pub calls_total: u64,
    /// Calls answered since sign-in.
    pub calls_login: u64,
    /// Agent status code as last computed.
    pub status: i32,
    /// When that status began, ms.
    pub status_since_ms: i64,
}

/// Per-extension timers and the device state as last computed.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// Extension number.
    pub extension: String,
    /// Device state text (`Not in use`, `In use`, `Ringing`, …) as last computed.
    pub ds: &'static str,
    /// When that state began, ms.
    pub ds_since_ms: i64,
    /// Wrap-up (status 3) ends then.
    pub wrap_until: Option<i64>,
    /// Ring-timeout status (8) ends then.
    pub timeout_until: Option<i64>,
    /// No queue call is offered before then (after a rejection).
    pub retry_after: Option<i64>,
    /// Since when the line has been free (longest idle is offered first).
    pub idle_since_ms: i64,
}

/// Agent status codes and their texts (seed: getAgentStatus `status`).
pub fn agent_status_en(code: i32) -> &'static str {
    match code {
        -1 => "LoggedOut",
        0 => "Ready",
        1 => "InCall",
        2 => "Ringing",
        3 => "WrapUp",
        4 => "PrivateBreak",
        5 => "PublicBreak",
        6 => "Outbound",
        7 => "Pickup",
        8 => "RingTimeout",
        9 => "BreakTimeout",
        10 => "BusyInOtherQueue",
        11 => "Custom1",
        12 => "Custom2",
        13 => "Custom3",
        _ => "Unknown",
    }
}

/// The Chinese agent status words of the seed's table.
pub fn agent_status_zh(code: i32) -> &'static str {
    match code {
        -1 => "未登录",
        0 => "就绪",
        1 => "通话中",
        2 => "振铃",
        3 => "整理",
        4 => "私事暂休",
        5 => "公事暂休",
        6 => "外拨工作",
        7 => "代接电话",
        8 => "振铃超时",
        9 => "暂休超时",
        10 => "忙于其他队列",
        11 => "自定义状态1",
        12 => "自定义状态2",
        13 => "自定义状态3",
        _ => "未知",
    }
}

/// Asterisk's `ast_device_state` number for a device state text (getAgentStatus
/// `dsStatus`; the seed's `"5"` is UNAVAILABLE).
pub fn ds_code(state: &str) -> &'static str {
    match state {
        "Not in use" => "1",
        "In use" => "2",
        "Busy" => "3",
        "Unavailable" => "5",
        "Ringing" => "6",
        "Ring+InUse" => "7",
        "On Hold" => "8",
        _ => "0",
    }
}

/// The Chinese device state word (`status/queue` `dsStatus`).
pub fn ds_zh(state: &str) -> &'static str {
    match state {
        "Not in use" => "空闲",
        "In use" | "Busy" => "忙碌",
        "Unavailable" => "离线",
        "Ringing" | "Ring+InUse" => "振铃",
        "On Hold" => "保持",
        _ => "未知",
    }
}

/// The pause codes `agent/login` and `agent/pause` accept.
pub const PAUSE_CODES: [i32; 6] = [0, 4, 5, 11, 12, 13];

/// `HH:MM:SS` for a duration in ms (negative counts as 0).
pub fn hms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// `m:ss` for a duration in ms (the seed's `waitTime`).
pub fn m_ss(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

/// SplitMix64: a tiny seeded generator, so a run is repeatable from its seed (rand's
/// `StdRng` may change its algorithm between releases).
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let out = splitmix(self.0);
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        out
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// Uniform in `lo..=hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = u64::try_from(hi.saturating_sub(lo)).unwrap_or(u64::MAX - 1).saturating_add(1);
        lo.saturating_add(i64::try_from(self.below(span)).unwrap_or(0))
    }

    /// True with probability `p` (clamped to 0..=1).
    pub fn chance(&mut self, p: f64) -> bool {
        if p.is_nan() || p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_format_like_the_seed() {
        assert_eq!(hms(274_000), "00:04:34");
        assert_eq!(hms(-5), "00:00:00");
        assert_eq!(hms(36_636_000), "10:10:36");
        assert_eq!(m_ss(12_999), "0:12");
        assert_eq!(m_ss(601_000), "10:01");
    }

    #[test]
    fn rng_is_repeatable_and_bounded() {
        let mut a = SimRng::new(3);
        let mut b = SimRng::new(3);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        for _ in 0..1000 {
            let x = a.range(-3, 3);
            assert!((-3..=3).contains(&x));
            assert!(a.below(7) < 7);
        }
        assert_eq!(a.range(5, 5), 5);
        assert_eq!(a.range(5, 1), 5);
        assert_eq!(a.below(0), 0);
        assert!(!a.chance(0.0) && a.chance(1.0) && !a.chance(f64::NAN));
        let _ = a.range(i64::MIN, i64::MAX);
    }
}
