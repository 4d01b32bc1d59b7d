//! SIP call records: single pages, and a sync that hands every unfetched
//! bill over exactly once, even across failures.
//!
//! `syncflag=1` marks bills fetched *as the server returns them*, so a reply
//! lost on the way (network error, 5xx after the server did its work) would
//! lose those bills for good. The sync therefore remembers the marking
//! request that was in flight; the next run first re-reads that request's
//! window with `syncflag=2` (already fetched) and keeps only ids it has not
//! handed over. What was handed over is remembered in memory, per session:
//! a new session (a page reload) starts from the server's marks alone. The state is a
//! pure machine ([`BillSync`], [`SyncRun`]); [`SipCdrSession::sync`] drives it.
//!
//! Only the ids of the last [`HANDED_OVER_KEPT`] bills handed over are
//! remembered, so a console open all shift holds a bounded set. The ids are
//! needed only by a recovery (`syncflag=2` returns every bill of the lost
//! window already fetched, old ones too); a recovery finds the ones handed
//! over among the last [`HANDED_OVER_KEPT`], and could hand over again only
//! a bill of the lost window handed over before those.

pub mod call_records;

use crate::paging::{PageStep, PageWalk, MAX_WALK_ROWS};
use crate::session::HttpClient;
use crate::Error;
use agent_console_wire::de::{Listed, Skipped};
use agent_console_wire::sipcdr::{self, Bill, BillPage, BillQuery, SipCdrApi, SyncFlag};
use futures::lock::Mutex;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet, VecDeque};

/// Most pages one run asks for in each phase, at the largest pages
/// (1000): the [`PageWalk`] cap of [`MAX_WALK_ROWS`] rows. A run cut there
/// loses nothing: what it did not ask for stays unfetched on the server,
/// and the next run goes on from there.
pub const MAX_PAGES_PER_RUN: u32 = (MAX_WALK_ROWS / 1000) as u32;

/// How many handed-over bill ids a sync remembers for de-duplication
/// (about 3 MB): a busy site's day of bills at one console.
pub const HANDED_OVER_KEPT: usize = 100_000;

/// The ids of the bills handed over most recently, at most `cap`; the
/// oldest is forgotten first.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recent {
    ids: HashSet<u64>,
    order: VecDeque<u64>,
    cap: usize,
    total: u64,
}

impl Recent {
    fn new(cap: usize) -> Self {
        Self { ids: HashSet::new(), order: VecDeque::new(), cap: cap.max(1), total: 0 }
    }

    fn contains(&self, id: u64) -> bool {
        self.ids.contains(&id)
    }

    fn insert(&mut self, id: u64) {
        if !self.ids.insert(id) {
            return;
        }
        self.total = self.total.saturating_add(1);
        self.order.push_back(id);
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
    }
}

/// What the sync remembers between runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillSync {
    handed_over: Recent,
    // Fetched but not yet handed over: a run failed after getting them.
    pending: BTreeMap<u64, Bill>,
    // A marking request went out and its reply was not absorbed: its
    // query (window and filters), to re-read with `syncflag=2`.
    in_flight: Option<BillQuery>,
    // Bills the server marked fetched but that did not decode: they cannot
    // be handed over, so the next successful run reports them instead of
    // losing them silently.
    skipped: Skipped,
}

impl Default for BillSync {
    fn default() -> Self {
        Self::remembering(HANDED_OVER_KEPT)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    // Re-reading the window with syncflag=2 (already fetched), page by page.
    Recover,
    // Asking for page 1 of the unfetched bills until a short page.
    Unfetched,
}

/// One run of the sync: ask [`SyncRun::next_query`], send it, feed the
/// outcome to [`SyncRun::handle`], until it says [`Step::Done`] or
/// [`Step::Failed`].
#[derive(Debug, Clone)]
pub struct SyncRun {
    base: BillQuery,
    phase: Phase,
    // The query whose reply was lost: recovery re-reads *its* window and
    // filters, whatever this run asks for.
    recover: Option<BillQuery>,
    // The phase's walk: the one paging rule (short page, total, a full page
    // of nothing new, the cap).
    walk: PageWalk,
}

/// What a run does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send [`SyncRun::next_query`] again.
    Continue,
    /// Finished: these bills are new, in id order, and now count as handed
    /// over; `skipped` counts the marked bills that could not be decoded.
    Done(Listed<Bill>),
    /// Stopped; what was fetched stays pending for the next run.
    Failed(Error),
}

impl BillSync {
    /// A sync that has handed over nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sync that remembers the ids of the last `kept` bills handed over
    /// (at least one) instead of [`HANDED_OVER_KEPT`].
    pub fn remembering(kept: usize) -> Self {
        Self {
            handed_over: Recent::new(kept),
            pending: BTreeMap::new(),
            in_flight: None,
            skipped: Skipped::default(),
        }
    }

    /// How many bills have been handed over (all of them, not only those
    /// remembered).
    pub fn handed_over(&self) -> usize {
        usize::try_from(self.handed_over.total).unwrap_or(usize::MAX)
    }

    /// How many handed-over ids are remembered for de-duplication (at most
    /// the cap).
    pub fn remembered(&self) -> usize {
        self.handed_over.order.len()
    }

    /// How many bills wait for the next successful run.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether the next run starts by re-reading the window of a marking
    /// request whose reply was lost.
    pub fn needs_recovery(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Starts a run over `base`'s window and filters (its `syncflag` and
    /// `currentpage` are the run's to set).
    pub fn start(&self, base: BillQuery) -> SyncRun {
        let size = base.itemsperpage;
        match &self.in_flight {
            Some(lost) => {
                let walk = PageWalk::new(lost.itemsperpage);
                SyncRun { base, phase: Phase::Recover, recover: Some(lost.clone()), walk }
            }
            None => SyncRun { base, phase: Phase::Unfetched, recover: None, walk: PageWalk::draining(size) },
        }
    }

    fn absorb(&mut self, bills: Vec<Bill>) -> usize {
        let mut new = 0;
        for b in bills {
            if !self.handed_over.contains(b.id) && !self.pending.contains_key(&b.id) {
                self.pending.insert(b.id, b);
                new += 1;
            }
        }
        new
    }

    fn finish(&mut self) -> Listed<Bill> {
        let bills: Vec<Bill> = std::mem::take(&mut self.pending).into_values().collect();
        for b in &bills {
            self.handed_over.insert(b.id);
        }
        Listed { rows: bills, skipped: std::mem::take(&mut self.skipped) }
    }
}

impl SyncRun {
    /// The query to send now. Call [`SyncRun::sending`] on the state just
    /// before sending it.
    pub fn next_query(&self) -> BillQuery {
        match self.phase {
            Phase::Recover => {
                // Only bills already marked fetched can be the lost ones; the
                // unfetched ones come in the next phase.
                let mut q = self.recover.clone().unwrap_or_else(|| self.base.clone());
                q.syncflag = SyncFlag::Fetched;
                q.currentpage = self.walk.page();
                q
            }
            Phase::Unfetched => {
                let mut q = self.base.clone();
                q.syncflag = SyncFlag::Unfetched;
                q.currentpage = 1;
                q
            }
        }
    }

    /// Records that the query is going out: a marking one may mark bills
    /// whose reply never arrives.
    pub fn sending(&self, sync: &mut BillSync) {
        if self.phase == Phase::Unfetched {
            sync.in_flight = Some(self.next_query());
        }
    }

    /// Feeds the outcome of the query last sent.
    pub fn handle(&mut self, sync: &mut BillSync, outcome: Result<BillPage, Error>) -> Step {
        let page = match outcome {
            Ok(p) => p,
            Err(e) => {
                // A refusal in the envelope (bad token, bad parameter) means
                // the server marked nothing; anything else may have.
                if self.phase == Phase::Unfetched
                    && matches!(&e, Error::Api(agent_console_wire::ApiError::Vendor { .. }))
                {
                    sync.in_flight = None;
                }
                return Step::Failed(e);
            }
        };
        // A row that did not decode still filled its place on the page.
        let sent = (page.bills.len() as u64).saturating_add(page.skipped.count);
        match self.phase {
            Phase::Recover => {
                // Skipped rows are not counted here: without an id, one marked
                // by the lost reply cannot be told from one reported before.
                let step = self.walk.page_read(sent, page.bills.iter().map(|b| b.id), Some(page.totalitems));
                sync.absorb(page.bills);
                if let PageStep::Done(_) = step {
                    // However it ended (a server ignoring `currentpage` repeats
                    // page 1), recovery is over: what it did not reach was
                    // marked before the lost request and handed over then.
                    sync.in_flight = None;
                    self.phase = Phase::Unfetched;
                    self.walk = PageWalk::draining(self.base.itemsperpage);
                }
                Step::Continue
            }
            Phase::Unfetched => {
                // The reply is in: what it marked is now pending here.
                sync.in_flight = None;
                sync.skipped.merge(&page.skipped);
                // Only bills new to the sync count: a full page of bills already
                // handed over (or of undecodable ones) means the server is not
                // marking, so asking again would bring the same page for ever;
                // the next run goes on from there.
                let fresh: Vec<u64> = page
                    .bills
                    .iter()
                    .filter(|b| !sync.handed_over.contains(b.id) && !sync.pending.contains_key(&b.id))
                    .map(|b| b.id)
                    .collect();
                let step = self.walk.page_read(sent, fresh, None);
                sync.absorb(page.bills);
                match step {
                    PageStep::Next(_) => Step::Continue,
                    PageStep::Done(_) => Step::Done(sync.finish()),
                }
            }
        }
    }
}

/// A SIP-CDR account.
pub struct SipCdrSession<C> {
    api: SipCdrApi,
    http: C,
    sync: RefCell<BillSync>,
    // One sync at a time: two would each hand over what the other fetched.
    sync_gate: Mutex<()>,
}

impl<C: HttpClient> SipCdrSession<C> {
    /// A session sending through `http`.
    pub fn new(api: SipCdrApi, http: C) -> Self {
        Self { api, http, sync: RefCell::new(BillSync::new()), sync_gate: Mutex::new(()) }
    }

    /// One GetBill page.
    pub async fn bills(&self, q: &BillQuery) -> Result<BillPage, Error> {
        let resp = crate::session::exchange(&self.http, self.api.bills(q)).await?;
        Ok(sipcdr::decode_bills(&resp)?)
    }

    /// Every bill not fetched before within `base`'s window and filters,
    /// each handed over once across runs, with a count of the marked bills
    /// that did not decode. On failure the error is returned and what was
    /// fetched waits for the next run.
    pub async fn sync(&self, base: BillQuery) -> Result<Listed<Bill>, Error> {
        let _gate = self.sync_gate.lock().await;
        let mut run = self.sync.borrow().start(base);
        loop {
            let q = run.next_query();
            run.sending(&mut self.sync.borrow_mut());
            let outcome = self.bills(&q).await;
            match run.handle(&mut self.sync.borrow_mut(), outcome) {
                Step::Continue => {}
                Step::Done(bills) => return Ok(bills),
                Step::Failed(e) => return Err(e),
            }
        }
    }

    /// The sync's counters: (handed over, pending, needs recovery).
    pub fn sync_state(&self) -> (usize, usize, bool) {
        let s = self.sync.borrow();
        (s.handed_over(), s.pending(), s.needs_recovery())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_console_wire::sipcdr::BillQueryInput;

    fn query(per_page: u32) -> BillQuery {
        let mut q = BillQueryInput::window("2019-01-12 00:00:00", "2020-12-12 00:00:00");
        q.itemsperpage = per_page.to_string();
        q.check().unwrap()
    }

    fn page(ids: &[u64]) -> Result<BillPage, Error> {
        let bills = ids
            .iter()
            .map(|&id| {
                serde_json::from_value(serde_json::json!({"id": id, "starttime": "2020-01-01 00:00:00"}))
            })
            .collect::<Result<Vec<Bill>, _>>()
            .unwrap();
        Ok(BillPage {
            totalitems: 1_000_000,
            currentpage: 1,
            itemsperpage: 3,
            bills,
            skipped: Skipped::default(),
            request_time: None,
            response_time: None,
        })
    }

    /// Runs the sync over `pages` (each answered in turn) and returns the ids
    /// handed over.
    fn run(sync: &mut BillSync, pages: &[Result<BillPage, Error>]) -> Result<Vec<u64>, Error> {
        let mut run = sync.start(query(3));
        for p in pages {
            run.sending(sync);
            match run.handle(sync, p.clone()) {
                Step::Continue => {}
                Step::Done(l) => return Ok(l.rows.iter().map(|b| b.id).collect()),
                Step::Failed(e) => return Err(e),
            }
        }
        panic!("the run wants more pages than given")
    }

    #[test]
    fn the_handed_over_ids_are_bounded_and_still_de_duplicate_within_the_window() {
        assert_eq!(BillSync::new().handed_over.cap, HANDED_OVER_KEPT);
        let mut sync = BillSync::remembering(5);
        assert_eq!(
            run(&mut sync, &[page(&[1, 2, 3]), page(&[4, 5, 6]), page(&[])]).unwrap(),
            [1, 2, 3, 4, 5, 6]
        );
        assert_eq!((sync.handed_over(), sync.remembered()), (6, 5), "the oldest id is forgotten");
        // A marking reply is lost (it marked 7); the recovery re-reads the
        // window's fetched bills, 2 to 7: only 7 is new.
        assert!(run(&mut sync, &[Err(Error::Network("reset".into()))]).is_err());
        assert!(sync.needs_recovery());
        let got = run(&mut sync, &[page(&[2, 3, 4]), page(&[5, 6, 7]), page(&[]), page(&[])]).unwrap();
        assert_eq!(got, [7], "de-duplicated within the window");
        assert_eq!((sync.handed_over(), sync.remembered()), (7, 5));
        // Past the window the sync cannot tell: a forgotten id in a lost
        // window's re-read is handed over again (documented on the cap).
        assert!(run(&mut sync, &[Err(Error::Network("reset".into()))]).is_err());
        assert_eq!(run(&mut sync, &[page(&[1, 7]), page(&[])]).unwrap(), [1]);
        // A long shift: thousands of bills, the memory stays at the cap.
        let mut sync = BillSync::remembering(1_000);
        let mut next = 1u64;
        for _ in 0..100 {
            let pages: Vec<_> = (0..10)
                .map(|_| {
                    let ids = [next, next + 1, next + 2];
                    next += 3;
                    page(&ids)
                })
                .chain([page(&[])])
                .collect();
            assert_eq!(run(&mut sync, &pages).unwrap().len(), 30);
            assert!(sync.remembered() <= 1_000);
            assert_eq!(sync.handed_over.ids.len(), sync.remembered());
        }
        assert_eq!((sync.handed_over(), sync.remembered()), (3_000, 1_000));
        // The newest thousand are the ones remembered: a recovery over them
        // hands over nothing twice.
        assert!(run(&mut sync, &[Err(Error::Network("reset".into()))]).is_err());
        let newest: Vec<u64> = (2_001..=3_000).collect();
        let mut pages: Vec<_> = newest.chunks(3).map(page).collect();
        pages.push(page(&[]));
        assert_eq!(run(&mut sync, &pages).unwrap(), Vec::<u64>::new());
        assert!(!sync.needs_recovery());
    }
}
