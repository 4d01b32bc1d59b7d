//! The billing feed: a CDR store fed by the best-effort websocket push and
//! made whole from `cdr/list` after every gap.
//!
//! Sans-IO in quinn's style: the driver opens and closes the socket, sends
//! the page fetches and passes time in; [`BillingFeed`] decides. Inputs:
//! [`BillingFeed::handle_timeout`], [`BillingFeed::socket_opened`],
//! [`BillingFeed::socket_closed`], [`BillingFeed::socket_frame`],
//! [`BillingFeed::page_fetched`], [`BillingFeed::token_changed`]. Outputs:
//! [`BillingFeed::poll_op`], [`BillingFeed::poll_event`],
//! [`BillingFeed::poll_timeout`].
//!
//! Why nothing is lost: the socket is opened first and the fill runs once
//! it is open, so every row is either pushed after the open or written
//! before the fill's pages are read (pages are sorted by `id`, so rows
//! written during the fill land on later pages). The fill window starts a
//! `lookback` before the newest row already held, because `cdr/list`
//! windows on `calldate` (the call's start) and a long call that started
//! before the gap ends in it.
//!
//! Two kinds of fill read that window:
//! - A **gap fill** (the socket was closed for real, or the feed is new):
//!   every row of the window, by `id` ascending, in pages of `page_size`.
//! - A **recent walk** (the periodic reconcile, a token rotation of a live
//!   feed): the same long window, but by `id` *descending* in small pages
//!   (`recent_page_size`), done at the first page that reaches an id at or
//!   below the *certified* id (the highest id read by a fill that ran to
//!   its end: every row of the window up to it is held). The PBX numbers
//!   rows as it writes them (the ascending fill relies on that too), so
//!   every row written since, the long call that started 50 minutes ago
//!   and ended in the rotation's second included, has a higher id and is
//!   on the pages read. A reconcile costs the rows written since the last
//!   one plus at most one page, not an hour of rows; a real gap still
//!   re-reads the whole window, which also mends anything an earlier fill
//!   was told wrong.
//!
//! Every fill is a [`PageWalk`]: it stops at a short page, at a full page
//! that brings nothing new (a PBX that ignores `page`), or at
//! [`crate::paging::MAX_WALK_ROWS`]; the last two are reported as
//! [`Error::Truncated`] and certify nothing. The store keeps a bounded
//! window ([`CdrStore`]).

use crate::backoff::Jitter;
use crate::paging::{PageStep, PageWalk, WalkEnd};
use crate::time::{Duration, Instant};
use crate::Error;
use agent_console_wire::pbx::{BillingQuery, BillingSort, Cdr, Page, PushFrame, Reply};
use agent_console_wire::time::{parse_cst_ms, CstDateTime};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// How much history a feed opened without a remembered time starts with.
pub const DEFAULT_HISTORY: Duration = Duration::from_secs(3600);

/// Tunables of the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingSettings {
    /// First reconnect delay (before jitter).
    pub backoff_base: Duration,
    /// Longest reconnect delay.
    pub backoff_cap: Duration,
    /// How far before the newest held row a fill starts (longest call
    /// expected to end inside a gap).
    pub lookback: Duration,
    /// Rows per `cdr/list` page (at most 1000).
    pub page_size: u32,
    /// A socket open this long counts as healthy: the backoff starts over.
    pub healthy_after: Duration,
    /// While live, re-read the recent rows about this often (each console
    /// draws each period from ±25 % of it, so a hundred consoles opened
    /// together do not ask together): a push frame the server dropped
    /// without closing the socket is found this way.
    pub reconcile_every: Duration,
    /// Rows per page of the *recent* walk that a reconcile and a token
    /// rotation do (see [`BillingFeed`]): five minutes of a busy PBX fit
    /// one page. 0: re-read the whole lookback window instead, as a gap
    /// fill does (for a PBX whose `id`s do not rise as rows are written;
    /// it costs an hour of rows each time).
    pub recent_page_size: u32,
    /// Most rows the store holds ([`CdrStore::bounded`]).
    pub store_rows: usize,
    /// Rows that ended this long before the newest are let go (never less
    /// than `lookback`).
    pub store_age: Duration,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
            lookback: Duration::from_secs(3600),
            page_size: 1000,
            healthy_after: Duration::from_secs(10),
            reconcile_every: Duration::from_secs(300),
            recent_page_size: 200,
            store_rows: STORE_ROWS,
            store_age: STORE_AGE,
        }
    }
}

/// Where the feed stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    /// Opening the socket.
    Connecting,
    /// Socket open; reading the gap from `cdr/list`.
    Filling,
    /// Socket open and the store complete up to now.
    Live,
    /// Socket closed; reconnecting at the given time.
    Waiting(Instant),
    /// Closed by the owner.
    Stopped,
}

impl FeedState {
    /// A stable word for JS and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Filling => "filling",
            Self::Live => "open",
            Self::Waiting(_) => "closed",
            Self::Stopped => "stopped",
        }
    }
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingOp {
    /// Open the socket (with a valid token).
    Connect,
    /// Close the socket (a reconnect follows unless stopped).
    Close,
    /// Fetch one `cdr/list` page and pass the outcome, with `ticket`, to
    /// `page_fetched`.
    Fetch {
        /// The page to read.
        query: BillingQuery,
        /// Identifies the fetch: a late answer to a fetch of an abandoned fill is ignored.
        ticket: u64,
    },
}

/// What the owner may show.
#[derive(Debug, Clone, PartialEq)]
pub enum BillingEvent {
    /// Rows new to the store, oldest first.
    Records(Vec<Cdr>),
    /// The state changed.
    State(FeedState),
    /// A fetch or a frame failed; the feed retries by itself.
    Trouble(Error),
}

type Key = (i64, u64, String, u64);

/// Most rows a feed's store holds by default. A row is about a kilobyte,
/// so 5000 rows are about 5 MB however long the shift; that is an hour of
/// a PBX ending 1.4 calls a second, and far more than the console's list
/// shows.
pub const STORE_ROWS: usize = 5000;
/// The oldest row a feed's store keeps by default: rows that ended two
/// hours before the newest held are let go. At least the fill's lookback:
/// a fill never reads a row that ended that long ago, so letting it go
/// loses nothing (see [`CdrStore`]).
pub const STORE_AGE: Duration = Duration::from_secs(2 * 3600);
/// Rows remembered whole at the settled edge (rows that ended in the same
/// millisecond as the last one let go): a re-sent one is told apart from a
/// new one of the same millisecond. Past this many the whole millisecond
/// counts as settled.
const SETTLED_EDGE_ROWS: usize = 256;

/// CDR rows keyed for order (`calldate`, `id`) and de-duplicated by
/// `uniqueid` (+ `id`), holding only rows at or after `floor`, and a
/// bounded window of them: at most `max_rows`, none that ended more than
/// `max_age` before the newest.
///
/// Rows are let go oldest `end` first, and the store remembers how far it
/// has let go (the *settled* time): a row that ended before it is refused
/// as already seen. The edge is the row's `end` (when the PBX wrote it),
/// not its `calldate`, on purpose: a long call that ends now started long
/// ago, but it ends after everything let go, so it is still new; a row the
/// PBX sends again (a fill re-reading its window, a duplicated frame) ended
/// when it first did, so it is refused. Letting go by age loses nothing
/// (a fill's window starts a lookback before the newest row, on
/// `calldate`, and `calldate <= end`). Letting go by count, on a PBX
/// writing more than `max_rows` rows between two reconciles, could refuse
/// a lost row found late: raise `max_rows` for such a site.
#[derive(Debug, Clone)]
pub struct CdrStore {
    rows: BTreeMap<Key, Cdr>,
    by_uniqueid: HashMap<String, Vec<Key>>,
    // Every held row by (end, seq): the order rows are let go in.
    by_end: BTreeMap<(i64, u64), Key>,
    floor_ms: i64,
    settled_ms: i64,
    // The rows let go that ended exactly at `settled_ms`.
    settled_edge: Vec<Cdr>,
    seq: u64,
    newest_ms: Option<i64>,
    max_rows: usize,
    max_age_ms: i64,
    let_go: u64,
}

impl Default for CdrStore {
    fn default() -> Self {
        Self::new(0)
    }
}

impl CdrStore {
    /// An empty store keeping rows whose `calldate` is at or after
    /// `floor_ms`, at most [`STORE_ROWS`] of them, none older than
    /// [`STORE_AGE`].
    pub fn new(floor_ms: i64) -> Self {
        Self::bounded(floor_ms, STORE_ROWS, STORE_AGE)
    }

    /// An empty store holding at most `max_rows` rows (at least 1), none
    /// that ended more than `max_age` before the newest.
    pub fn bounded(floor_ms: i64, max_rows: usize, max_age: Duration) -> Self {
        Self {
            rows: BTreeMap::new(),
            by_uniqueid: HashMap::new(),
            by_end: BTreeMap::new(),
            floor_ms,
            settled_ms: i64::MIN,
            settled_edge: Vec::new(),
            seq: 0,
            newest_ms: None,
            max_rows: max_rows.max(1),
            max_age_ms: i64::try_from(max_age.0).unwrap_or(i64::MAX),
            let_go: 0,
        }
    }

    /// Adds `row` unless the store has it (or had it and let it go); a
    /// held row without `id` takes the id of its twin. Returns whether the
    /// row is new.
    pub fn insert(&mut self, row: Cdr) -> bool {
        let at = match row.calldate_ms() {
            Some(at) if at < self.floor_ms => return false,
            Some(at) => at,
            // Without a time the row cannot be windowed; keep it at the floor.
            None => self.floor_ms,
        };
        let end = parse_cst_ms(row.end.trim()).unwrap_or(at).max(at);
        if end < self.settled_ms
            || (end == self.settled_ms && self.settled_edge.iter().any(|r| r.same_record(&row)))
        {
            return false;
        }
        let keys = self.by_uniqueid.entry(row.uniqueid.clone()).or_default();
        for k in keys.iter() {
            if let Some(held) = self.rows.get_mut(k) {
                if held.same_record(&row) {
                    if held.id.is_none() && row.id.is_some() {
                        held.id = row.id;
                    }
                    return false;
                }
            }
        }
        self.seq += 1;
        let key = (at, row.id.unwrap_or(0), row.uniqueid.clone(), self.seq);
        keys.push(key.clone());
        self.newest_ms = Some(self.newest_ms.map_or(end, |n| n.max(end)));
        self.by_end.insert((end, self.seq), key.clone());
        self.rows.insert(key, row);
        self.let_go_old();
        true
    }

    // Lets the oldest-ended rows go until the window holds.
    fn let_go_old(&mut self) {
        let horizon = self.newest_ms.map_or(i64::MIN, |n| n.saturating_sub(self.max_age_ms));
        while let Some((&(end, _), _)) = self.by_end.first_key_value() {
            if self.rows.len() <= self.max_rows && end >= horizon {
                break;
            }
            let Some((_, key)) = self.by_end.pop_first() else { break };
            let Some(row) = self.rows.remove(&key) else { continue };
            if let Some(keys) = self.by_uniqueid.get_mut(&row.uniqueid) {
                keys.retain(|k| *k != key);
                if keys.is_empty() {
                    self.by_uniqueid.remove(&row.uniqueid);
                }
            }
            self.let_go += 1;
            if end > self.settled_ms {
                self.settled_ms = end;
                self.settled_edge.clear();
            }
            if self.settled_edge.len() < SETTLED_EDGE_ROWS {
                self.settled_edge.push(row);
            } else {
                // Too many at one millisecond to remember: settle all of it.
                self.settled_ms = end.saturating_add(1);
                self.settled_edge.clear();
            }
        }
    }

    /// How many rows are held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Cdr> {
        self.rows.values()
    }

    /// The latest `end` (or `calldate`) ever held (kept when that row is
    /// let go).
    pub fn newest_ms(&self) -> Option<i64> {
        self.newest_ms
    }

    /// The floor.
    pub fn floor_ms(&self) -> i64 {
        self.floor_ms
    }

    /// Rows let go so far (the window moved past them).
    pub fn let_go(&self) -> u64 {
        self.let_go
    }

    /// Rows that ended before this are refused as already seen (`None`
    /// until a row was let go).
    pub fn settled_ms(&self) -> Option<i64> {
        (self.settled_ms > i64::MIN).then_some(self.settled_ms)
    }

    /// Most rows held.
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Socket {
    Closed,
    Opening,
    Open { since: Instant },
}

#[derive(Debug, Clone)]
struct Fill {
    start_ms: i64,
    end_ms: i64,
    walk: PageWalk,
    // A recent walk: by id descending, done at the first page that reaches
    // `stop_at` (ids at or below it were all read before).
    recent: bool,
    stop_at: Option<u64>,
    // The highest id this fill read.
    max_id: Option<u64>,
    in_flight: bool,
    retry_at: Option<Instant>,
    failures: u32,
    ticket: u64,
}

/// The feed: socket life, gap fills and the store.
#[derive(Debug)]
pub struct BillingFeed {
    settings: BillingSettings,
    store: CdrStore,
    socket: Socket,
    state: FeedState,
    attempts: u32,
    reconnect_at: Option<Instant>,
    fill: Option<Fill>,
    // The earliest start a fill still owes (a fill cut short by a close
    // leaves its window for the next one).
    owed_from: Option<i64>,
    ops: VecDeque<BillingOp>,
    events: VecDeque<BillingEvent>,
    rng: Jitter,
    stopped: bool,
    tickets: u64,
    reconcile_at: Option<Instant>,
    // The server's time as last told, advanced by our clock, for the
    // window end of a reconcile.
    wall: Option<(Instant, i64)>,
    // Every row of the window with an id at or below this has been read by
    // a fill that ran to its end: the stop of a recent walk.
    certified_id: Option<u64>,
}

impl BillingFeed {
    /// A feed holding rows from `floor_ms` (a remembered last time, or now
    /// minus how much history to show). Its first op is `Connect`; `seed`
    /// drives the reconnect jitter.
    pub fn new(settings: BillingSettings, floor_ms: i64, seed: u64) -> Self {
        let mut f = Self {
            settings,
            store: CdrStore::bounded(
                floor_ms,
                settings.store_rows,
                settings.store_age.max(settings.lookback),
            ),
            socket: Socket::Closed,
            state: FeedState::Connecting,
            attempts: 0,
            reconnect_at: None,
            fill: None,
            owed_from: Some(floor_ms),
            ops: VecDeque::new(),
            events: VecDeque::new(),
            rng: Jitter::new(seed),
            stopped: false,
            tickets: 0,
            reconcile_at: None,
            wall: None,
            certified_id: None,
        };
        f.connect();
        f
    }

    /// The rows held.
    pub fn store(&self) -> &CdrStore {
        &self.store
    }

    /// The state.
    pub fn state(&self) -> FeedState {
        self.state
    }

    /// Next thing the driver must do.
    pub fn poll_op(&mut self) -> Option<BillingOp> {
        self.ops.pop_front()
    }

    /// Next thing to tell the owner.
    pub fn poll_event(&mut self) -> Option<BillingEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        let fill_retry = self.fill.as_ref().and_then(|f| f.retry_at);
        [self.reconnect_at, fill_retry, self.reconcile_at].into_iter().flatten().min()
    }

    /// Time passed: reconnects and page retries that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        if self.reconnect_at.is_some_and(|t| t <= now) {
            self.reconnect_at = None;
            self.connect();
        }
        if let Some(f) = &mut self.fill {
            if f.retry_at.is_some_and(|t| t <= now) {
                f.retry_at = None;
                self.fetch_next();
            }
        }
        if self.reconcile_at.is_some_and(|t| t <= now) {
            self.reconcile_at = None;
            if self.state == FeedState::Live {
                let wall = self.wall.map_or(0, |(at, ms)| ms.saturating_add((now - at).0 as i64));
                self.start_fill(self.gap_start(), wall, self.settings.recent_page_size > 0);
            }
        }
    }

    /// Starts a fill over `[start_ms, wall_ms + a day)`: a gap fill (by id
    /// ascending, every row of the window) or, when `recent`, a recent walk
    /// (by id descending until the rows already certified).
    fn start_fill(&mut self, start_ms: i64, wall_ms: i64, recent: bool) {
        // Hours of skew between our clock and the PBX's are possible; a
        // day of slack costs nothing (the window end is exclusive).
        let end_ms = wall_ms.saturating_add(86_400_000);
        let size = if recent { self.settings.recent_page_size } else { self.settings.page_size };
        self.fill = Some(Fill {
            start_ms,
            end_ms,
            walk: PageWalk::new(size.clamp(1, Page::MAX_SIZE)),
            recent,
            stop_at: if recent { self.certified_id } else { None },
            max_id: None,
            in_flight: false,
            retry_at: None,
            failures: 0,
            ticket: 0,
        });
        self.set_state(FeedState::Filling);
        self.fetch_next();
    }

    /// The socket opened: the gap since the last complete moment is filled.
    /// `wall_ms` is the server's current time (the fill's window end).
    pub fn socket_opened(&mut self, now: Instant, wall_ms: i64) {
        if self.stopped || self.socket != Socket::Opening {
            return;
        }
        self.socket = Socket::Open { since: now };
        self.wall = Some((now, wall_ms));
        // A real gap owes its whole window; a deliberate reconnect (a token
        // rotation of a live feed) owes none, only the recent rows.
        match self.owed_from {
            Some(start_ms) => self.start_fill(start_ms, wall_ms, false),
            None => self.start_fill(self.gap_start(), wall_ms, self.settings.recent_page_size > 0),
        }
    }

    /// The socket closed or failed to open.
    pub fn socket_closed(&mut self, now: Instant) {
        if self.stopped || self.socket == Socket::Closed {
            return;
        }
        let healthy =
            matches!(self.socket, Socket::Open { since } if now - since >= self.settings.healthy_after);
        if healthy {
            self.attempts = 0;
        }
        self.socket = Socket::Closed;
        // Owe the gap from before the close; an unfinished fill owes its own start.
        let from = match &self.fill {
            Some(f) => f.start_ms,
            None => self.gap_start(),
        };
        self.owed_from = Some(self.owed_from.map_or(from, |o| o.min(from)));
        self.fill = None;
        self.reconcile_at = None;
        let delay = self.backoff();
        self.attempts = self.attempts.saturating_add(1);
        let at = now + delay;
        self.reconnect_at = Some(at);
        self.set_state(FeedState::Waiting(at));
    }

    /// A text frame arrived.
    pub fn socket_frame(&mut self, text: &str) {
        if self.stopped {
            return;
        }
        match agent_console_wire::pbx::cdr::decode_push(text) {
            Ok(PushFrame::Billing(listed)) => {
                self.report_skipped("push", &listed.skipped);
                self.add(listed.rows)
            }
            Ok(PushFrame::Other(_)) => {}
            // A frame we cannot read, or one over the frame cap (dropped
            // unparsed, `ApiError::TooLarge`), may hold rows: close, so the
            // fill after the reconnect reads them from `cdr/list`.
            Err(e) => {
                self.events.push_back(BillingEvent::Trouble(Error::Api(e)));
                self.ops.push_back(BillingOp::Close);
            }
        }
    }

    /// Rows of `source` that did not decode cannot be stored: say so (the
    /// JS layer's `onError`, the console's trouble line) rather than drop
    /// them unseen.
    fn report_skipped(&mut self, source: &str, skipped: &agent_console_wire::de::Skipped) {
        if !skipped.is_empty() {
            let why = skipped.reasons.join("; ");
            let msg = format!("{source}: {} billing row(s) could not be read ({why})", skipped.count);
            self.events
                .push_back(BillingEvent::Trouble(Error::Api(agent_console_wire::ApiError::Decode(msg))));
        }
    }

    /// The outcome of the last `Fetch`.
    pub fn page_fetched(&mut self, now: Instant, ticket: u64, outcome: Result<Reply<Vec<Cdr>>, Error>) {
        let Some(fill) = &mut self.fill else { return };
        if !fill.in_flight || fill.ticket != ticket {
            return;
        }
        fill.in_flight = false;
        match outcome {
            Ok(reply) => {
                // A row that did not decode still filled its place on the page.
                let sent = (reply.data.len() as u64).saturating_add(reply.skipped.count);
                // `total` is not trusted: rows keep being written, so it is
                // already stale; a short (or empty) last page is cheap.
                let step = fill.walk.page_read(sent, reply.data.iter().map(Cdr::key), None);
                let page_max = reply.data.iter().filter_map(|r| r.id).max();
                fill.max_id = fill.max_id.max(page_max);
                // A recent walk is done at the first page that reaches ids
                // read before: every row above them is on this page or an
                // earlier one.
                let reached = fill.recent
                    && fill
                        .stop_at
                        .is_some_and(|w| reply.data.iter().any(|r| r.id.is_some_and(|id| id <= w)));
                fill.failures = 0;
                self.report_skipped("cdr/list", &reply.skipped);
                self.add(reply.data);
                match step {
                    _ if reached => self.fill_done(now, None),
                    PageStep::Next(_) => self.fetch_next(),
                    PageStep::Done(end) => self.fill_done(now, Some(end)),
                }
            }
            Err(e) => {
                fill.failures = fill.failures.saturating_add(1);
                let delay = self.rng.backoff(
                    self.settings.backoff_base,
                    self.settings.backoff_cap,
                    fill.failures - 1,
                );
                fill.retry_at = Some(now + delay);
                self.events.push_back(BillingEvent::Trouble(e));
            }
        }
    }

    /// The fill ended: `end` is the walk's reason, `None` when a recent
    /// walk reached the certified rows. A fill that read everything raises
    /// the certified id; one cut short says so and certifies nothing, and
    /// the feed goes live either way (asking again at once would only
    /// repeat the cut).
    fn fill_done(&mut self, now: Instant, end: Option<WalkEnd>) {
        let Some(fill) = self.fill.take() else { return };
        self.owed_from = None;
        let delay = self.reconcile_delay();
        self.reconcile_at = Some(now + delay);
        self.set_state(FeedState::Live);
        match end {
            // After the state: going live clears the console's trouble line.
            Some(end) if !end.is_complete() => {
                self.events.push_back(BillingEvent::Trouble(Error::Truncated {
                    list: "cdr/list",
                    end,
                    rows: fill.walk.rows_read(),
                }));
            }
            _ => self.certified_id = self.certified_id.max(fill.max_id),
        }
    }

    /// The reconcile period, drawn from ±25 % of `reconcile_every`.
    fn reconcile_delay(&mut self) -> Duration {
        let every = self.settings.reconcile_every.0;
        let quarter = every / 4;
        let spread = quarter.saturating_mul(2).saturating_add(1);
        Duration(every - quarter + self.rng.next_u64() % spread)
    }

    /// The highest `id` every row of the window at or below which has been
    /// read by a complete fill (`None` before the first).
    pub fn certified_id(&self) -> Option<u64> {
        self.certified_id
    }

    /// The access token changed: the server checked the old one at connect
    /// only, so reconnect with the new one. The gap is the reconnect's
    /// moment: a live feed then reads only the recent rows (a recent walk,
    /// which also finds a long call that ended in the gap); a feed still
    /// owing a gap fill owes it still.
    pub fn token_changed(&mut self, now: Instant) {
        if self.stopped || self.socket == Socket::Closed {
            return;
        }
        let only_recent = matches!(self.socket, Socket::Open { .. })
            && self.owed_from.is_none()
            && self.fill.as_ref().is_none_or(|f| f.recent);
        self.ops.push_back(BillingOp::Close);
        self.socket_closed(now);
        if only_recent {
            self.owed_from = None;
        }
        // A deliberate reconnect needs no wait.
        self.reconnect_at = None;
        self.connect();
    }

    /// Stops for good: closes the socket, no reconnect.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        self.fill = None;
        self.reconnect_at = None;
        self.reconcile_at = None;
        if self.socket != Socket::Closed {
            self.ops.push_back(BillingOp::Close);
        }
        self.socket = Socket::Closed;
        self.set_state(FeedState::Stopped);
    }

    fn connect(&mut self) {
        self.socket = Socket::Opening;
        self.ops.push_back(BillingOp::Connect);
        self.set_state(FeedState::Connecting);
    }

    fn gap_start(&self) -> i64 {
        let floor = self.store.floor_ms();
        match self.store.newest_ms() {
            Some(n) => n.saturating_sub(self.settings.lookback.0 as i64).max(floor),
            None => floor,
        }
    }

    fn backoff(&mut self) -> Duration {
        self.rng.backoff(self.settings.backoff_base, self.settings.backoff_cap, self.attempts)
    }

    fn fetch_next(&mut self) {
        let Some(fill) = &mut self.fill else { return };
        if fill.in_flight || fill.retry_at.is_some() {
            return;
        }
        let size = if fill.recent { self.settings.recent_page_size } else { self.settings.page_size };
        let q = BillingQuery {
            page: Page { page: fill.walk.page(), page_size: size.clamp(1, Page::MAX_SIZE) },
            start_time: CstDateTime::from_epoch_ms(fill.start_ms),
            end_time: CstDateTime::from_epoch_ms(fill.end_ms),
            sort_by: BillingSort::Id,
            descending: fill.recent,
        };
        fill.in_flight = true;
        self.tickets += 1;
        fill.ticket = self.tickets;
        self.ops.push_back(BillingOp::Fetch { query: q, ticket: self.tickets });
    }

    fn add(&mut self, rows: Vec<Cdr>) {
        let mut fresh: Vec<Cdr> = rows.into_iter().filter(|r| self.store.insert(r.clone())).collect();
        // Oldest first, whatever order the page came in (a recent walk's is newest first).
        fresh.sort_by_key(|r| (r.calldate_ms(), r.id));
        if !fresh.is_empty() {
            self.events.push_back(BillingEvent::Records(fresh));
        }
    }

    fn set_state(&mut self, s: FeedState) {
        if self.state != s {
            self.state = s;
            self.events.push_back(BillingEvent::State(s));
        }
    }
}

/// What the console's live billing list shows: the newest rows (newest
/// first, at most `keep`), how many arrived, the feed's state and the
/// last trouble. Pure, fed with [`BillingEvent`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct BillingView {
    /// Newest first.
    pub rows: Vec<Cdr>,
    /// Rows received since the list opened.
    pub received: usize,
    /// The feed's state.
    pub state: FeedState,
    /// The last failure, cleared when the feed is live again.
    pub trouble: Option<Error>,
    keep: usize,
}

impl BillingView {
    /// An empty list keeping the newest `keep` rows.
    pub fn new(keep: usize) -> Self {
        Self { rows: Vec::new(), received: 0, state: FeedState::Connecting, trouble: None, keep: keep.max(1) }
    }

    /// Applies one event.
    pub fn apply(&mut self, ev: BillingEvent) {
        match ev {
            BillingEvent::Records(rows) => {
                self.received += rows.len();
                for r in rows {
                    // Keep newest-first by calldate; a late row of an old call goes where it belongs.
                    let at = r.calldate_ms();
                    let pos = self.rows.iter().position(|x| x.calldate_ms() <= at).unwrap_or(self.rows.len());
                    self.rows.insert(pos, r);
                }
                self.rows.truncate(self.keep);
            }
            BillingEvent::State(s) => {
                if s == FeedState::Live {
                    self.trouble = None;
                }
                self.state = s;
            }
            BillingEvent::Trouble(e) => self.trouble = Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cdr(id: u64, calldate: &str) -> Cdr {
        serde_json::from_value(
            serde_json::json!({"id": id, "uniqueid": format!("u{id}"), "calldate": calldate}),
        )
        .unwrap()
    }

    #[test]
    fn the_view_keeps_the_newest_rows_first() {
        let mut v = BillingView::new(3);
        v.apply(BillingEvent::Records(vec![cdr(1, "2025-06-19 17:00:01"), cdr(2, "2025-06-19 17:00:03")]));
        v.apply(BillingEvent::Records(vec![cdr(3, "2025-06-19 17:00:02"), cdr(4, "2025-06-19 17:00:04")]));
        assert_eq!(v.rows.iter().filter_map(|r| r.id).collect::<Vec<_>>(), [4, 2, 3]);
        assert_eq!(v.received, 4);
        v.apply(BillingEvent::Trouble(Error::Network("x".into())));
        assert!(v.trouble.is_some());
        v.apply(BillingEvent::State(FeedState::Live));
        assert_eq!((v.state, v.trouble.is_none()), (FeedState::Live, true));
    }
}
