//! The one rule for every "load all pages" loop (the billing fill, the call
//! log search, the voicemail inbox, the SIP-CDR sync): a pure walk fed each
//! page's row count and keys, answering which page to ask for next or why
//! to stop.
//!
//! A full page used to mean "ask for the next one", so a server that
//! ignores `page` (and answers page 1 every time) kept a console asking
//! for ever. The walk stops when
//! - a page is short or empty (the server has no more),
//! - the rows asked through reach the `total` the server reported (where
//!   the caller trusts it),
//! - a full page adds no key not already seen in this walk (the server
//!   repeats itself: it ignores paging, or loops), or
//! - the walk has read [`MAX_WALK_ROWS`] rows' worth of pages.
//!
//! The last two leave rows unread: the caller must say so (a
//! [`crate::Error::Truncated`] trouble line, never a silent stop).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// Most rows one walk reads: at the PBX's (and GetBill's) 1000-row pages,
/// 100 pages. A walk that is still getting full pages of new rows then
/// stops with [`WalkEnd::Capped`]; more than this in one search or one
/// hour of billing is more than a console can show or hold anyway, and
/// the caller reports the cut.
pub const MAX_WALK_ROWS: u64 = 100_000;

/// Why a walk stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WalkEnd {
    /// A short or empty page: everything was read.
    Short,
    /// The rows asked through reached the reported total: everything was read.
    Total,
    /// A full page brought only rows this walk had already seen: the server
    /// ignores paging (or repeats pages). Later rows, if any, were not read.
    Repeated,
    /// [`MAX_WALK_ROWS`] were read and pages were still full: the rest was
    /// not read.
    Capped,
}

impl WalkEnd {
    /// Whether every matching row was read.
    pub fn is_complete(self) -> bool {
        matches!(self, WalkEnd::Short | WalkEnd::Total)
    }

    /// A stable word for logs and JS.
    pub fn as_str(self) -> &'static str {
        match self {
            WalkEnd::Short => "short",
            WalkEnd::Total => "total",
            WalkEnd::Repeated => "repeated",
            WalkEnd::Capped => "capped",
        }
    }
}

impl std::fmt::Display for WalkEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStep {
    /// Ask for this page (from 1).
    Next(u32),
    /// Stop.
    Done(WalkEnd),
}

/// One walk over a paged list. Ask [`PageWalk::page`], send it, feed the
/// reply to [`PageWalk::page_read`] until it answers [`PageStep::Done`].
#[derive(Debug, Clone)]
pub struct PageWalk {
    page: u32,
    page_size: u64,
    max_pages: u32,
    pages_read: u32,
    rows_read: u64,
    // Hashes of the keys seen, not the keys: bounded by MAX_WALK_ROWS
    // entries of 8 bytes. A collision can only make one key look seen; a
    // page is "repeated" only when all of its keys are.
    seen: HashSet<u64>,
    draining: bool,
    end: Option<WalkEnd>,
}

impl PageWalk {
    /// A walk of pages of `page_size` rows (at least 1), from page 1, capped
    /// at [`MAX_WALK_ROWS`] rows.
    pub fn new(page_size: u32) -> Self {
        Self::with_cap(page_size, MAX_WALK_ROWS)
    }

    /// A walk capped at `max_rows` rows (rounded up to whole pages, at
    /// least one page).
    pub fn with_cap(page_size: u32, max_rows: u64) -> Self {
        let size = u64::from(page_size.max(1));
        let max_pages = u32::try_from(max_rows.div_ceil(size).max(1)).unwrap_or(u32::MAX);
        Self {
            page: 1,
            page_size: size,
            max_pages,
            pages_read: 0,
            rows_read: 0,
            seen: HashSet::new(),
            draining: false,
            end: None,
        }
    }

    /// A walk over a list the server drains as it answers (GetBill with
    /// `syncflag=1` marks what it returns): every request is page 1 again.
    pub fn draining(page_size: u32) -> Self {
        Self { draining: true, ..Self::new(page_size) }
    }

    /// The page to ask for now (from 1).
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Pages read so far.
    pub fn pages_read(&self) -> u32 {
        self.pages_read
    }

    /// Rows read so far (as sent, undecodable ones included).
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Why the walk stopped, once it has.
    pub fn end(&self) -> Option<WalkEnd> {
        self.end
    }

    /// Most pages this walk reads.
    pub fn max_pages(&self) -> u32 {
        self.max_pages
    }

    /// The page asked for came back with `sent` rows (undecodable ones
    /// included: they filled their place on the page), of which `keys` are
    /// the decoded rows' identities, and `total` if the caller trusts the
    /// server's count. A walk that has stopped stays stopped.
    pub fn page_read<K: Hash>(
        &mut self,
        sent: u64,
        keys: impl IntoIterator<Item = K>,
        total: Option<u64>,
    ) -> PageStep {
        if let Some(end) = self.end {
            return PageStep::Done(end);
        }
        self.pages_read = self.pages_read.saturating_add(1);
        self.rows_read = self.rows_read.saturating_add(sent);
        let mut fresh = 0usize;
        for k in keys {
            let mut h = DefaultHasher::new();
            k.hash(&mut h);
            if self.seen.insert(h.finish()) {
                fresh += 1;
            }
        }
        let asked_through = u64::from(self.pages_read).saturating_mul(self.page_size);
        let end = if sent < self.page_size {
            Some(WalkEnd::Short)
        } else if !self.draining && total.is_some_and(|t| asked_through >= t) {
            Some(WalkEnd::Total)
        } else if fresh == 0 {
            Some(WalkEnd::Repeated)
        } else if self.pages_read >= self.max_pages {
            Some(WalkEnd::Capped)
        } else {
            None
        };
        match end {
            Some(end) => {
                self.end = Some(end);
                PageStep::Done(end)
            }
            None => {
                if !self.draining {
                    self.page = self.page.saturating_add(1);
                }
                PageStep::Next(self.page)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_page_or_the_total_ends_a_complete_walk() {
        let mut w = PageWalk::new(10);
        assert_eq!(w.page(), 1);
        assert_eq!(w.page_read(10, 0..10, None), PageStep::Next(2));
        assert_eq!(w.page_read(3, 10..13, None), PageStep::Done(WalkEnd::Short));
        assert!(w.end().is_some_and(WalkEnd::is_complete));
        // A stopped walk stays stopped.
        assert_eq!(w.page_read(10, 100..110, None), PageStep::Done(WalkEnd::Short));
        assert_eq!((w.pages_read(), w.rows_read()), (2, 13));
        let mut w = PageWalk::new(10);
        assert_eq!(w.page_read(10, 0..10, Some(25)), PageStep::Next(2));
        assert_eq!(w.page_read(10, 10..20, Some(25)), PageStep::Next(3));
        assert_eq!(w.page_read(10, 20..30, Some(25)), PageStep::Done(WalkEnd::Total));
        // An empty page ends it whatever the total says.
        let mut w = PageWalk::new(10);
        assert_eq!(w.page_read(0, 0..0, Some(1_000)), PageStep::Done(WalkEnd::Short));
    }

    #[test]
    fn a_server_that_ignores_page_is_asked_twice_not_for_ever() {
        let mut w = PageWalk::new(1000);
        let page1: Vec<u64> = (0..1000).collect();
        assert_eq!(w.page_read(1000, page1.iter(), Some(u64::MAX)), PageStep::Next(2));
        assert_eq!(w.page_read(1000, page1.iter(), Some(u64::MAX)), PageStep::Done(WalkEnd::Repeated));
        assert!(!WalkEnd::Repeated.is_complete());
        // One new key on a full page is progress (pages shift as rows are
        // written); all seen is a repeat.
        let mut w = PageWalk::new(3);
        assert_eq!(w.page_read(3, ["a", "b", "c"], None), PageStep::Next(2));
        assert_eq!(w.page_read(3, ["b", "c", "d"], None), PageStep::Next(3));
        assert_eq!(w.page_read(3, ["d", "c", "b"], None), PageStep::Done(WalkEnd::Repeated));
        // A full page of rows that did not decode has no key: no progress.
        let mut w = PageWalk::new(3);
        assert_eq!(w.page_read(3, Vec::<u64>::new(), None), PageStep::Done(WalkEnd::Repeated));
    }

    #[test]
    fn full_pages_of_new_rows_stop_at_the_cap() {
        let mut w = PageWalk::new(1000);
        assert_eq!(w.max_pages(), 100);
        let mut asked = 1;
        let end = loop {
            let p = u64::from(w.page());
            match w.page_read(1000, (p * 1000)..(p * 1000 + 1000), None) {
                PageStep::Next(n) => {
                    asked += 1;
                    assert_eq!(n, w.page());
                }
                PageStep::Done(end) => break end,
            }
        };
        assert_eq!((end, asked, w.rows_read()), (WalkEnd::Capped, 100, MAX_WALK_ROWS));
        // Small pages: the cap is in rows, at least one page.
        assert_eq!(PageWalk::new(7).max_pages(), 14_286);
        assert_eq!(PageWalk::with_cap(50, 0).max_pages(), 1);
        // A page size of 0 is taken as 1.
        assert_eq!(PageWalk::new(0).page_read(1, [1], None), PageStep::Next(2));
    }

    #[test]
    fn a_draining_walk_asks_for_page_one_until_nothing_new() {
        let mut w = PageWalk::draining(2);
        assert_eq!(w.page_read(2, [1, 2], Some(2)), PageStep::Next(1));
        assert_eq!(w.page_read(2, [3, 4], Some(2)), PageStep::Next(1));
        assert_eq!(w.page_read(2, [3, 4], Some(2)), PageStep::Done(WalkEnd::Repeated));
        let mut w = PageWalk::draining(2);
        assert_eq!(w.page_read(1, [1], None), PageStep::Done(WalkEnd::Short));
    }
}
