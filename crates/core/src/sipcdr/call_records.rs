//! The console's SIP call-records page: filters, the page shown, and the
//! "sync new records" action. A pure reducer; the page sends the requests.

use crate::Error;
use agent_console_wire::de::{Listed, Skipped};
use agent_console_wire::sipcdr::{Bill, BillPage, BillQueryInput};

/// Most synced bills kept on screen (newest first).
pub const SYNCED_KEPT: usize = 500;

/// The page's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecordsState {
    /// The filter form, as typed.
    pub filters: BillQueryInput,
    /// The page on screen.
    pub page: Option<BillPage>,
    /// A page load is in flight (for this page number).
    pub loading: bool,
    requested_page: u32,
    /// A sync is in flight.
    pub syncing: bool,
    /// How many arrived in the last sync.
    pub last_sync: Option<usize>,
    /// Bills the last sync's server marked fetched that did not decode.
    pub sync_skipped: Skipped,
    /// Bills handed over by syncs, newest first, at most [`SYNCED_KEPT`].
    pub synced: Vec<Bill>,
    /// The last failure.
    pub error: Option<Error>,
}

/// A filter field of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Filter {
    Starttime,
    Endtime,
    Syncflag,
    Direction,
    Callmethod,
    Extnumber,
    Destnumber,
    Itemsperpage,
}

/// Everything that changes the page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CallRecordsAction {
    /// A filter was edited.
    SetFilter(Filter, String),
    /// Load page `n` with the current filters.
    LoadStarted(u32),
    /// A page arrived.
    Loaded(BillPage),
    /// The load failed; the old page stays.
    LoadFailed(Error),
    /// A sync began.
    SyncStarted,
    /// A sync finished with these new bills (and a count of those that did
    /// not decode).
    Synced(Listed<Bill>),
    /// A sync failed (what it fetched waits for the next one).
    SyncFailed(Error),
    /// Input refused before any request.
    Refused(Error),
    /// Closes the error.
    DismissError,
}

impl CallRecordsState {
    /// A page whose filters cover `start`..`end` and browse all bills
    /// (`syncflag` 3: browsing must not mark bills fetched), 50 per page.
    pub fn new(start: &str, end: &str) -> Self {
        let mut filters = BillQueryInput::window(start, end);
        filters.syncflag = "3".into();
        filters.direction = "3".into();
        filters.callmethod = "0".into();
        filters.itemsperpage = "50".into();
        filters.currentpage = "1".into();
        Self {
            filters,
            page: None,
            loading: false,
            requested_page: 1,
            syncing: false,
            last_sync: None,
            sync_skipped: Skipped::default(),
            synced: Vec::new(),
            error: None,
        }
    }

    /// Number of pages of the shown result.
    pub fn page_count(&self) -> u64 {
        match &self.page {
            Some(p) if p.itemsperpage > 0 => p.totalitems.div_ceil(p.itemsperpage).max(1),
            _ => 1,
        }
    }

    /// Applies `action`.
    pub fn reduce(mut self, action: CallRecordsAction) -> Self {
        use CallRecordsAction as A;
        match action {
            A::SetFilter(f, v) => {
                let field = match f {
                    Filter::Starttime => &mut self.filters.starttime,
                    Filter::Endtime => &mut self.filters.endtime,
                    Filter::Syncflag => &mut self.filters.syncflag,
                    Filter::Direction => &mut self.filters.direction,
                    Filter::Callmethod => &mut self.filters.callmethod,
                    Filter::Extnumber => &mut self.filters.extnumber,
                    Filter::Destnumber => &mut self.filters.destnumber,
                    Filter::Itemsperpage => &mut self.filters.itemsperpage,
                };
                *field = v;
            }
            A::LoadStarted(n) => {
                self.loading = true;
                self.error = None;
                self.requested_page = n.max(1);
            }
            // The page number moves only when its page is in.
            A::Loaded(p) => {
                self.loading = false;
                self.filters.currentpage = self.requested_page.to_string();
                self.page = Some(p);
            }
            A::LoadFailed(e) => {
                self.loading = false;
                self.error = Some(e);
            }
            A::SyncStarted => {
                self.syncing = true;
                self.error = None;
            }
            A::Synced(Listed { rows: mut bills, skipped }) => {
                self.syncing = false;
                self.sync_skipped = skipped;
                self.last_sync = Some(bills.len());
                bills.reverse();
                bills.append(&mut self.synced);
                bills.truncate(SYNCED_KEPT);
                self.synced = bills;
            }
            A::SyncFailed(e) => {
                self.syncing = false;
                self.error = Some(e);
            }
            A::Refused(e) => self.error = Some(e),
            A::DismissError => self.error = None,
        }
        self
    }
}
