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

use super::session::HttpClient;
use super::Error;
use crate::api::de::{Listed, Skipped};
use crate::api::sipcdr::{self, Bill, BillPage, BillQuery, SipCdrApi, SyncFlag};
use futures::lock::Mutex;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Most pages one run asks for, so a server that never marks cannot keep a
/// run going for ever.
pub const MAX_PAGES_PER_RUN: u32 = 10_000;

/// What the sync remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillSync {
    handed_over: BTreeSet<u64>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    // Re-reading the window with syncflag=2 (already fetched), this page.
    Recover(u32),
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
    pages: u32,
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

    /// How many bills have been handed over.
    pub fn handed_over(&self) -> usize {
        self.handed_over.len()
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
        match &self.in_flight {
            Some(lost) => SyncRun { base, phase: Phase::Recover(1), recover: Some(lost.clone()), pages: 0 },
            None => SyncRun { base, phase: Phase::Unfetched, recover: None, pages: 0 },
        }
    }

    fn absorb(&mut self, bills: Vec<Bill>) -> usize {
        let mut new = 0;
        for b in bills {
            if !self.handed_over.contains(&b.id) && !self.pending.contains_key(&b.id) {
                self.pending.insert(b.id, b);
                new += 1;
            }
        }
        new
    }

    fn finish(&mut self) -> Listed<Bill> {
        let bills: Vec<Bill> = std::mem::take(&mut self.pending).into_values().collect();
        self.handed_over.extend(bills.iter().map(|b| b.id));
        Listed { rows: bills, skipped: std::mem::take(&mut self.skipped) }
    }
}

impl SyncRun {
    /// The query to send now. Call [`SyncRun::sending`] on the state just
    /// before sending it.
    pub fn next_query(&self) -> BillQuery {
        match self.phase {
            Phase::Recover(page) => {
                // Only bills already marked fetched can be the lost ones; the
                // unfetched ones come in the next phase.
                let mut q = self.recover.clone().unwrap_or_else(|| self.base.clone());
                q.syncflag = SyncFlag::Fetched;
                q.currentpage = page;
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
                    && matches!(&e, Error::Api(crate::api::ApiError::Vendor { .. }))
                {
                    sync.in_flight = None;
                }
                return Step::Failed(e);
            }
        };
        self.pages += 1;
        let per_page = self.base.itemsperpage as usize;
        // A row that did not decode still filled its place on the page.
        let listed = usize::try_from(page.skipped.count).unwrap_or(usize::MAX);
        let full = page.bills.len().saturating_add(listed) >= per_page;
        match self.phase {
            Phase::Recover(n) => {
                // Skipped rows are not counted here: without an id, one marked
                // by the lost reply cannot be told from one reported before.
                sync.absorb(page.bills);
                let seen = u64::from(n) * u64::from(self.base.itemsperpage);
                if full && seen < page.totalitems && self.pages < MAX_PAGES_PER_RUN {
                    self.phase = Phase::Recover(n + 1);
                } else {
                    sync.in_flight = None;
                    self.phase = Phase::Unfetched;
                }
                Step::Continue
            }
            Phase::Unfetched => {
                // The reply is in: what it marked is now pending here.
                sync.in_flight = None;
                sync.skipped.merge(&page.skipped);
                let new = sync.absorb(page.bills);
                // A full page of nothing new (undecodable rows included) means
                // the server is not marking: stop rather than ask for the same
                // page for ever; the next run goes on from there.
                if full && new > 0 && self.pages < MAX_PAGES_PER_RUN {
                    Step::Continue
                } else {
                    Step::Done(sync.finish())
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
        let resp = self.http.send(self.api.bills(q)).await.map_err(Error::Network)?;
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
