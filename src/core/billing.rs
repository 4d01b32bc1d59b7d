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

use super::backoff::Jitter;
use super::time::{Duration, Instant};
use super::Error;
use crate::api::pbx::{BillingQuery, BillingSort, Cdr, Page, PushFrame, Reply};
use crate::api::time::{parse_cst_ms, CstDateTime};
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
    /// While live, re-read the recent window this often: a push frame the
    /// server dropped without closing the socket is found this way.
    pub reconcile_every: Duration,
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

/// CDR rows keyed for order (`calldate`, `id`) and de-duplicated by
/// `uniqueid` (+ `id`), holding only rows at or after `floor`.
#[derive(Debug, Clone, Default)]
pub struct CdrStore {
    rows: BTreeMap<Key, Cdr>,
    by_uniqueid: HashMap<String, Vec<Key>>,
    floor_ms: i64,
    seq: u64,
    newest_ms: Option<i64>,
}

impl CdrStore {
    /// An empty store keeping rows whose `calldate` is at or after `floor_ms`.
    pub fn new(floor_ms: i64) -> Self {
        Self { floor_ms, ..Self::default() }
    }

    /// Adds `row` unless the store has it; a held row without `id` takes
    /// the id of its twin. Returns whether the row is new.
    pub fn insert(&mut self, row: Cdr) -> bool {
        let Some(at) = row.calldate_ms() else {
            // Without a time the row cannot be windowed; keep it at the floor.
            return self.insert_at(self.floor_ms, row);
        };
        if at < self.floor_ms {
            return false;
        }
        self.insert_at(at, row)
    }

    fn insert_at(&mut self, at: i64, row: Cdr) -> bool {
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
        let end = parse_cst_ms(row.end.trim()).unwrap_or(at).max(at);
        self.newest_ms = Some(self.newest_ms.map_or(end, |n| n.max(end)));
        self.rows.insert(key, row);
        true
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

    /// The latest `end` (or `calldate`) held.
    pub fn newest_ms(&self) -> Option<i64> {
        self.newest_ms
    }

    /// The floor.
    pub fn floor_ms(&self) -> i64 {
        self.floor_ms
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
    page: u32,
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
}

impl BillingFeed {
    /// A feed holding rows from `floor_ms` (a remembered last time, or now
    /// minus how much history to show). Its first op is `Connect`; `seed`
    /// drives the reconnect jitter.
    pub fn new(settings: BillingSettings, floor_ms: i64, seed: u64) -> Self {
        let mut f = Self {
            settings,
            store: CdrStore::new(floor_ms),
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
                self.start_fill(self.gap_start(), wall);
            }
        }
    }

    fn start_fill(&mut self, start_ms: i64, wall_ms: i64) {
        // Hours of skew between our clock and the PBX's are possible; a
        // day of slack costs nothing (the window end is exclusive).
        let end_ms = wall_ms.saturating_add(86_400_000);
        self.fill = Some(Fill {
            start_ms,
            end_ms,
            page: 1,
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
        let start_ms = self.owed_from.unwrap_or_else(|| self.gap_start());
        self.start_fill(start_ms, wall_ms);
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
        match crate::api::pbx::cdr::decode_push(text) {
            Ok(PushFrame::Billing(listed)) => {
                self.report_skipped("push", &listed.skipped);
                self.add(listed.rows)
            }
            Ok(PushFrame::Other(_)) => {}
            // A frame we cannot read may hold rows: close, so the fill after
            // the reconnect reads them from `cdr/list`.
            Err(e) => {
                self.events.push_back(BillingEvent::Trouble(Error::Api(e)));
                self.ops.push_back(BillingOp::Close);
            }
        }
    }

    /// Rows of `source` that did not decode cannot be stored: say so (the
    /// JS layer's `onError`, the console's trouble line) rather than drop
    /// them unseen.
    fn report_skipped(&mut self, source: &str, skipped: &crate::api::de::Skipped) {
        if !skipped.is_empty() {
            let why = skipped.reasons.join("; ");
            let msg = format!("{source}: {} billing row(s) could not be read ({why})", skipped.count);
            self.events.push_back(BillingEvent::Trouble(Error::Api(crate::api::ApiError::Decode(msg))));
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
                let n = (reply.data.len() as u64).saturating_add(reply.skipped.count);
                let size = u64::from(self.settings.page_size.clamp(1, Page::MAX_SIZE));
                // A full page may have a next one (rows keep being written,
                // so `total` is already stale); an empty last page is cheap.
                let more = n >= size;
                self.report_skipped("cdr/list", &reply.skipped);
                let Some(fill) = &mut self.fill else { return };
                fill.failures = 0;
                fill.page += 1;
                self.add(reply.data);
                if more {
                    self.fetch_next();
                } else {
                    self.fill = None;
                    self.owed_from = None;
                    self.reconcile_at = Some(now + self.settings.reconcile_every);
                    self.set_state(FeedState::Live);
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

    /// The access token changed: the server checked the old one at connect
    /// only, so reconnect with the new one (a gap, filled like any other).
    pub fn token_changed(&mut self, now: Instant) {
        if self.stopped || self.socket == Socket::Closed {
            return;
        }
        self.ops.push_back(BillingOp::Close);
        self.socket_closed(now);
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
        let size = self.settings.page_size.clamp(1, Page::MAX_SIZE);
        let q = BillingQuery {
            page: Page { page: fill.page, page_size: size },
            start_time: CstDateTime::from_epoch_ms(fill.start_ms),
            end_time: CstDateTime::from_epoch_ms(fill.end_ms),
            sort_by: BillingSort::Id,
            descending: false,
        };
        fill.in_flight = true;
        self.tickets += 1;
        fill.ticket = self.tickets;
        self.ops.push_back(BillingOp::Fetch { query: q, ticket: self.tickets });
    }

    fn add(&mut self, rows: Vec<Cdr>) {
        let fresh: Vec<Cdr> = rows.into_iter().filter(|r| self.store.insert(r.clone())).collect();
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
