//! The PBX call-record (CDR) page as a pure reducer, plus the pieces the
//! page needs that are worth testing on their own: the filter check (from
//! `datetime-local` inputs), paging until every matching row is loaded,
//! de-duplication, the virtual list's window, and the CSV cells (the
//! export with its headers and words is in `words::pbx::cdr`).

use crate::pbx::handset::HandsetPlayback;
use crate::Error;
use agent_console_wire::pbx::{Cdr, CdrFilter, Page};
use agent_console_wire::InvalidInput;
use std::collections::HashSet;
use std::ops::Range;
use std::rc::Rc;

/// Rows per request (the PBX's maximum).
pub const PAGE_SIZE: u32 = 1000;

/// The filters as typed (`datetime-local` values for the times).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdrInputs {
    /// From (`2024-01-31T08:00`), empty for any.
    pub start: String,
    /// To, empty for any.
    pub end: String,
    /// Calling number.
    pub src: String,
    /// Called number.
    pub dst: String,
    /// `ANSWERED`, `NO ANSWER`, `FAILED`, `BUSY` or empty.
    pub disposition: String,
    /// `in`, `out` or empty.
    pub direction: String,
}

/// Which filter an input changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdrField {
    /// From.
    Start,
    /// To.
    End,
    /// Calling number.
    Src,
    /// Called number.
    Dst,
    /// Disposition.
    Disposition,
    /// Direction.
    Direction,
}

/// A `datetime-local` value (`2024-01-31T08:00`, seconds optional) as the
/// PBX's `2024-01-31 08:00:00`; anything else is returned as typed, for the
/// filter check to refuse with the field's name.
pub fn datetime_local_to_cst(v: &str) -> String {
    let v = v.trim();
    match (v.len(), v.get(..10), v.get(10..11), v.get(11..)) {
        (16, Some(d), Some("T"), Some(t)) => format!("{d} {t}:00"),
        (19, Some(d), Some("T"), Some(t)) => format!("{d} {t}"),
        _ => v.to_string(),
    }
}

impl CdrInputs {
    /// Checks the inputs into the query of `page`.
    pub fn check(&self, page: Page) -> Result<CdrFilter, InvalidInput> {
        CdrFilter::parse(
            page,
            &datetime_local_to_cst(&self.start),
            &datetime_local_to_cst(&self.end),
            &self.src,
            &self.dst,
            &self.disposition,
            &self.direction,
        )
    }

    fn set(&mut self, f: CdrField, v: String) {
        match f {
            CdrField::Start => self.start = v,
            CdrField::End => self.end = v,
            CdrField::Src => self.src = v,
            CdrField::Dst => self.dst = v,
            CdrField::Disposition => self.disposition = v,
            CdrField::Direction => self.direction = v,
        }
    }
}

/// Loaded rows, shared page by page: each page that arrived is one
/// `Rc<[Cdr]>` that every later state points to. Cloning the rows (every
/// action of the reducer) copies one pointer; adding a page copies one
/// pointer per earlier page, never their records, so loading `k` pages
/// copies each record once (O(total)), not once per later page (O(k²)).
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pages: Rc<Vec<Rc<[Cdr]>>>,
    len: usize,
}

impl PartialEq for Rows {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && (Rc::ptr_eq(&self.pages, &other.pages) || self.iter().eq(other.iter()))
    }
}

impl Rows {
    /// How many rows are loaded.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no row is loaded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every row, in the order loaded.
    pub fn iter(&self) -> impl Iterator<Item = &Cdr> + '_ {
        self.pages.iter().flat_map(|p| p.iter())
    }

    /// Row `index`, if loaded.
    pub fn get(&self, index: usize) -> Option<&Cdr> {
        self.range(index..index.saturating_add(1)).next()
    }

    /// The rows in `range` (clamped to those loaded), skipping whole pages
    /// to its start: what the virtual list renders.
    pub fn range(&self, range: Range<usize>) -> impl Iterator<Item = &Cdr> + '_ {
        let take = range.end.min(self.len).saturating_sub(range.start);
        let mut skip = range.start;
        let mut first = self.pages.len();
        for (i, p) in self.pages.iter().enumerate() {
            if skip < p.len() {
                first = i;
                break;
            }
            skip -= p.len();
        }
        self.pages.get(first..).unwrap_or_default().iter().flat_map(|p| p.iter()).skip(skip).take(take)
    }

    /// The pages as they arrived, each shared with every state that holds it.
    pub fn pages(&self) -> &[Rc<[Cdr]>] {
        &self.pages
    }

    /// Adds a page of rows after the others (an empty one adds nothing).
    /// The earlier pages are shared, not copied.
    pub fn push_page(&mut self, rows: Vec<Cdr>) {
        if rows.is_empty() {
            return;
        }
        self.len = self.len.saturating_add(rows.len());
        Rc::make_mut(&mut self.pages).push(rows.into());
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = &'a Cdr;
    type IntoIter = Box<dyn Iterator<Item = &'a Cdr> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl From<Vec<Cdr>> for Rows {
    fn from(rows: Vec<Cdr>) -> Self {
        let mut r = Rows::default();
        r.push_page(rows);
        r
    }
}

/// The key that tells two rows apart when pages shift under new calls
/// ([`Cdr::key`], as text).
pub fn row_key(c: &Cdr) -> String {
    c.key().to_string()
}

/// Keeps the rows of `page` not seen before, and remembers them.
pub fn dedupe(seen: &mut HashSet<String>, page: Vec<Cdr>) -> Vec<Cdr> {
    page.into_iter().filter(|c| seen.insert(row_key(c))).collect()
}

// Which page to ask for next is the one paging rule of
// `crate::paging::PageWalk`, fed each page's `row_key`s and `total`.

/// The rows of a virtual list to put in the DOM: those visible in a
/// viewport of `viewport` pixels scrolled to `scroll_top`, rows of
/// `row_h` pixels, plus `overscan` rows on each side.
pub fn visible_range(
    scroll_top: f64,
    viewport: f64,
    row_h: f64,
    overscan: usize,
    len: usize,
) -> Range<usize> {
    if len == 0 || row_h.is_nan() || row_h <= 0.0 {
        return 0..0;
    }
    let top = if scroll_top.is_finite() { scroll_top.max(0.0) } else { 0.0 };
    let view = if viewport.is_finite() { viewport.max(0.0) } else { 0.0 };
    let first = ((top / row_h).floor() as usize).min(len.saturating_sub(1));
    let shown = (view / row_h).ceil() as usize + 1;
    let start = first.saturating_sub(overscan);
    let end = first.saturating_add(shown).saturating_add(overscan).min(len);
    start..end
}

/// `mm:ss` (minutes not capped) of `secs`.
pub fn mmss(secs: u64) -> String {
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

/// Whether a spreadsheet would read `cell` as a formula: it starts with one
/// of OWASP's CSV-injection characters `= + - @`, tab or carriage return.
pub fn csv_formula_risk(cell: &str) -> bool {
    matches!(cell.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

/// Appends `v` to `out` as one CSV field (RFC 4180 quoting), guarded
/// against spreadsheet formulas ([`csv_formula_risk`]).
pub fn csv_field(out: &mut String, v: &str) {
    // A leading `'` makes Excel and LibreOffice keep the cell as text.
    let v = if csv_formula_risk(v) { format!("'{v}") } else { v.to_string() };
    if v.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&v);
    }
}

/// Every documented `GET cdr` column the page does not show by default, by
/// the seed's name, in the seed's order: with the page's ten they are all
/// 50. Their headers are in the words crate (`words::pbx::cdr`).
pub const EXTRA_COLUMNS: [&str; 40] = [
    "id",
    "clid",
    "dnid",
    "dept_exten",
    "sipcallid",
    "dcontext",
    "channel",
    "dstchannel",
    "callerip",
    "calledip",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "amaflags",
    "accountcode",
    "peeraccount",
    "linkedid",
    "userfield",
    "ivrdigit",
    "ivrflow",
    "sequence",
    "billingid",
    "area_code",
    "city",
    "succ",
    "billed",
    "bill",
    "musictype",
    "service_level",
    "caller_recording",
    "callee_recording",
    "option",
    "numcalls",
    "loadavg",
    "hangupsource",
    "hangupcause",
    "create_time",
    "trunkName",
];

/// The extra column named `key`, as the table's own `'static` name.
pub fn extra_column(key: &str) -> Option<&'static str> {
    EXTRA_COLUMNS.iter().copied().find(|c| *c == key)
}

/// The cell of column `key` (a seed name) of `c`, as sent: numbers in full
/// (`u64`, so every digit), times and words untouched; `""` for an
/// unknown name.
pub fn column_cell(c: &Cdr, key: &str) -> String {
    let s = |v: &String| v.clone();
    match key {
        "id" => c.id.map(|i| i.to_string()).unwrap_or_default(),
        "calldate" => s(&c.calldate),
        "clid" => s(&c.clid),
        "src" => s(&c.src),
        "dnid" => s(&c.dnid),
        "dst" => s(&c.dst),
        "dept_exten" => s(&c.department_extension),
        "sipcallid" => s(&c.sip_call_id),
        "dcontext" => s(&c.dcontext),
        "channel" => s(&c.channel),
        "dstchannel" => s(&c.dstchannel),
        "callerip" => s(&c.caller_ip),
        "calledip" => s(&c.called_ip),
        "lastapp" => s(&c.lastapp),
        "lastdata" => s(&c.lastdata),
        "start" => s(&c.start),
        "answer" => s(&c.answer),
        "end" => s(&c.end),
        "duration" => c.duration.to_string(),
        "billsec" => c.billsec.to_string(),
        "disposition" => c.disposition.as_wire().to_string(),
        "amaflags" => c.ama_flags.to_string(),
        "accountcode" => s(&c.account_code),
        "peeraccount" => s(&c.peer_account),
        "uniqueid" => s(&c.uniqueid),
        "linkedid" => s(&c.linkedid),
        "userfield" => s(&c.user_field),
        "ivrdigit" => s(&c.ivr_digits),
        "ivrflow" => s(&c.ivr_flow),
        "sequence" => s(&c.sequence),
        "billingid" => s(&c.billingid),
        "area_code" => s(&c.area_code),
        "city" => s(&c.city),
        "succ" => c.succ.to_string(),
        "billed" => c.billed.to_string(),
        "bill" => s(&c.bill_amount),
        "musictype" => s(&c.transfer_type),
        "service_level" => c.service_level.to_string(),
        "agentid" => s(&c.agentid),
        "caller_recording" => s(&c.caller_recording_mode),
        "callee_recording" => s(&c.callee_recording_mode),
        "recording" => s(&c.recording),
        "direction" => s(&c.direction),
        "option" => s(&c.option),
        "numcalls" => c.current_calls.to_string(),
        "loadavg" => c.load_average.to_string(),
        "hangupsource" => s(&c.hangupsource),
        "hangupcause" => s(&c.hangup_cause),
        "create_time" => s(&c.record_created),
        "trunkName" => s(&c.trunk_name),
        _ => String::new(),
    }
}

/// What the CDR page shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CdrView {
    /// The filters as typed.
    pub inputs: CdrInputs,
    /// Every row loaded for the current search.
    pub rows: Rows,
    /// Matching rows the server reports.
    pub total: u64,
    /// A load is running.
    pub loading: bool,
    /// The current search's number; results of an older one are dropped.
    pub generation: u64,
    /// A search has finished (rows may be empty).
    pub searched: bool,
    /// The last failure.
    pub error: Option<Error>,
    /// The row whose recording plays in the page (uniqueid key).
    pub playing: Option<String>,
    /// Rows played on the desk phone (uniqueid keys).
    pub handset: HandsetPlayback<String>,
    /// The [`EXTRA_COLUMNS`] shown (and exported), by seed name, in the
    /// table's order; none by default.
    pub columns: Vec<&'static str>,
}

/// Everything that changes the CDR page.
#[derive(Debug, Clone, PartialEq)]
pub enum CdrAction {
    /// A filter was typed.
    Set(CdrField, String),
    /// A search started with this number.
    LoadStarted(u64),
    /// A page arrived (already de-duplicated).
    Page {
        /// The search.
        generation: u64,
        /// New rows.
        rows: Vec<Cdr>,
        /// Matching rows.
        total: u64,
    },
    /// The search has every page.
    LoadDone(u64),
    /// The search failed (rows so far are kept).
    LoadFailed(u64, Error),
    /// Input refused before any request.
    Refused(Error),
    /// The recording of this row plays in the page.
    Playing(String),
    /// Play on the desk phone started.
    HandsetStarted(String),
    /// The desk phone plays it.
    HandsetDone,
    /// The desk phone refused.
    HandsetFailed(Error),
    /// Close the error.
    Dismiss,
    /// Show the extra column with this seed name, or hide it if shown.
    ToggleColumn(String),
    /// Show every extra column.
    AllColumns,
    /// Back to the page's ten columns.
    BaseColumns,
    /// Signed out.
    Reset,
}

impl CdrView {
    /// The state after `action`.
    pub fn reduce(mut self, action: CdrAction) -> Self {
        use CdrAction::*;
        match action {
            Set(f, v) => self.inputs.set(f, v),
            LoadStarted(generation) => {
                self.generation = generation;
                self.loading = true;
                self.rows = Rows::default();
                self.total = 0;
                self.error = None;
                self.searched = false;
                self.playing = None;
            }
            Page { generation, .. } | LoadDone(generation) | LoadFailed(generation, _)
                if generation != self.generation => {}
            Page { rows, total, .. } => {
                self.total = total;
                self.rows.push_page(rows);
            }
            LoadDone(_) => {
                self.loading = false;
                self.searched = true;
            }
            LoadFailed(_, e) => {
                self.loading = false;
                self.searched = true;
                self.error = Some(e);
            }
            Refused(e) => self.error = Some(e),
            Playing(key) => self.playing = Some(key),
            HandsetStarted(key) => {
                self.handset.start(key);
                self.error = None;
            }
            HandsetDone => self.handset.finish(),
            HandsetFailed(e) => {
                self.handset.fail();
                self.error = Some(e);
            }
            Dismiss => self.error = None,
            ToggleColumn(key) => {
                if let Some(col) = extra_column(&key) {
                    let mut shown: Vec<&'static str> =
                        self.columns.iter().copied().filter(|k| *k != col).collect();
                    if shown.len() == self.columns.len() {
                        shown.push(col);
                    }
                    // Always the table's order, whatever order they were picked in.
                    self.columns = EXTRA_COLUMNS.iter().copied().filter(|k| shown.contains(k)).collect();
                }
            }
            AllColumns => self.columns = EXTRA_COLUMNS.to_vec(),
            BaseColumns => self.columns.clear(),
            // The search number goes on: a loader of before must not match a
            // new search. The columns are the agent's choice: they stay too.
            Reset => {
                self = CdrView {
                    inputs: self.inputs,
                    generation: self.generation,
                    columns: self.columns,
                    ..CdrView::default()
                }
            }
        }
        self
    }

    /// The progress line's numbers: rows loaded, rows matching.
    pub fn progress(&self) -> (usize, u64) {
        (self.rows.len(), self.total.max(self.rows.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cdr(i: u64) -> Cdr {
        serde_json::from_value(json!({
            "id": i, "calldate": "2024-11-15 10:31:35", "src": "8002", "dst": "8003", "duration": 125,
            "billsec": 120, "disposition": "ANSWERED", "uniqueid": format!("hwd-1.{i}"), "direction": "in",
            "recording": "monitor/20241115/a.wav",
        }))
        .unwrap()
    }

    #[test]
    fn datetime_local_values() {
        assert_eq!(datetime_local_to_cst("2024-01-31T08:00"), "2024-01-31 08:00:00");
        assert_eq!(datetime_local_to_cst("2024-01-31T08:00:30"), "2024-01-31 08:00:30");
        assert_eq!(datetime_local_to_cst(" "), "");
        assert_eq!(datetime_local_to_cst("31/01/2024"), "31/01/2024");
        // Multi-byte input is returned as typed, never sliced mid-character.
        assert_eq!(datetime_local_to_cst("２０２４-01-31T08:00"), "２０２４-01-31T08:00");
        assert_eq!(datetime_local_to_cst("2024-01-3é08:00"), "2024-01-3é08:00");
        let ok = CdrInputs {
            start: "2024-01-31T08:00".into(),
            end: "2024-01-31T18:00".into(),
            ..Default::default()
        };
        let f = ok.check(Page::new(1, PAGE_SIZE).unwrap()).unwrap();
        assert_eq!(f.start.map(|t| t.to_string()).as_deref(), Some("2024-01-31 08:00:00"));
        let bad = CdrInputs { start: "31/01/2024".into(), ..Default::default() };
        assert_eq!(bad.check(Page::new(1, 10).unwrap()).unwrap_err().field, "start");
        let bad = CdrInputs { src: "80a1".into(), ..Default::default() };
        assert_eq!(bad.check(Page::new(1, 10).unwrap()).unwrap_err().field, "src");
        let bad = CdrInputs { disposition: "MAYBE".into(), ..Default::default() };
        assert_eq!(bad.check(Page::new(1, 10).unwrap()).unwrap_err().field, "disposition");
        let bad = CdrInputs {
            start: "2024-01-31T08:00".into(),
            end: "2024-01-30T08:00".into(),
            ..Default::default()
        };
        assert_eq!(bad.check(Page::new(1, 10).unwrap()).unwrap_err().field, "end");
        assert!(CdrInputs::default().check(Page::new(1, 10).unwrap()).is_ok());
    }

    #[test]
    fn a_search_pages_by_row_key_until_everything_is_in_or_the_pbx_repeats() {
        use crate::paging::{PageStep, PageWalk, WalkEnd, MAX_WALK_ROWS};
        let page = |p: u64| (p * 1000..p * 1000 + 1000).map(cdr).collect::<Vec<_>>();
        let mut w = PageWalk::new(PAGE_SIZE);
        assert_eq!(w.page_read(1000, page(0).iter().map(row_key), Some(2500)), PageStep::Next(2));
        assert_eq!(w.page_read(1000, page(1).iter().map(row_key), Some(2500)), PageStep::Next(3));
        assert_eq!(
            w.page_read(500, page(2).iter().take(500).map(row_key), Some(2500)),
            PageStep::Done(WalkEnd::Short)
        );
        // A PBX that answers page 1 for page 2, reporting a huge total.
        let mut w = PageWalk::new(PAGE_SIZE);
        assert_eq!(w.page_read(1000, page(0).iter().map(row_key), Some(u64::MAX)), PageStep::Next(2));
        assert_eq!(
            w.page_read(1000, page(0).iter().map(row_key), Some(u64::MAX)),
            PageStep::Done(WalkEnd::Repeated)
        );
        // A runaway total of new rows stops at the cap: 100 pages.
        let mut w = PageWalk::new(PAGE_SIZE);
        let mut asked = 0;
        while let PageStep::Next(_) = w.page_read(1000, page(asked).iter().map(row_key), Some(u64::MAX)) {
            asked += 1;
        }
        assert_eq!((asked + 1, w.end(), w.rows_read()), (100, Some(WalkEnd::Capped), MAX_WALK_ROWS));
    }

    #[test]
    fn dedupe_across_pages() {
        let mut seen = HashSet::new();
        assert_eq!(dedupe(&mut seen, vec![cdr(1), cdr(2)]).len(), 2);
        let again = dedupe(&mut seen, vec![cdr(2), cdr(3)]);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, Some(3));
        // Without ids: the uniqueid, start and called channel.
        let mut a = cdr(4);
        a.id = None;
        let mut b = a.clone();
        b.dstchannel = "PJSIP/8005-1".into();
        assert_eq!(dedupe(&mut seen, vec![a.clone(), a, b]).len(), 2);
    }

    #[test]
    fn virtual_window() {
        assert_eq!(visible_range(0.0, 400.0, 40.0, 5, 10_000), 0..16);
        assert_eq!(visible_range(2_000.0, 400.0, 40.0, 5, 10_000), 45..66);
        // At the end, clamped.
        let r = visible_range(400_000.0, 400.0, 40.0, 5, 10_000);
        assert_eq!(r.end, 10_000);
        assert!(r.len() < 30);
        assert_eq!(visible_range(0.0, 400.0, 40.0, 5, 0), 0..0);
        assert_eq!(visible_range(f64::NAN, f64::INFINITY, 40.0, 5, 3), 0..3);
        assert_eq!(visible_range(-50.0, 80.0, 40.0, 0, 100), 0..3);
        assert_eq!(visible_range(0.0, 80.0, 0.0, 0, 100), 0..0);
        // The DOM stays small however long the list.
        assert!(visible_range(123_456.0, 600.0, 36.0, 8, 1_000_000).len() <= 600 / 36 + 2 + 16);
    }

    #[test]
    fn mm_ss() {
        assert_eq!(mmss(0), "00:00");
        assert_eq!(mmss(125), "02:05");
        assert_eq!(mmss(6_000), "100:00");
    }

    #[test]
    fn csv_fields_quote_and_guard() {
        let mut out = String::new();
        for v in ["plain", "a,b", "say \"hi\"", "=1+1", "\rx"] {
            csv_field(&mut out, v);
            out.push('|');
        }
        assert_eq!(out, "plain|\"a,b\"|\"say \"\"hi\"\"\"|'=1+1|\"'\rx\"|");
    }

    #[test]
    fn loading_drops_stale_pages() {
        let s = CdrView::default().reduce(CdrAction::Set(CdrField::Src, "8002".into()));
        assert_eq!(s.inputs.src, "8002");
        let s = s.reduce(CdrAction::LoadStarted(1));
        assert!(s.loading);
        let s = s.reduce(CdrAction::Page { generation: 1, rows: vec![cdr(1), cdr(2)], total: 3 });
        assert_eq!(s.progress(), (2, 3));
        let s = s.reduce(CdrAction::LoadStarted(2));
        assert_eq!(s.rows.len(), 0);
        // The old search's pages are dropped.
        let s = s.reduce(CdrAction::Page { generation: 1, rows: vec![cdr(3)], total: 3 });
        let s = s.reduce(CdrAction::LoadDone(1));
        assert!(s.loading && s.rows.is_empty());
        let s = s.reduce(CdrAction::Page { generation: 2, rows: vec![cdr(5)], total: 1 });
        let s = s.reduce(CdrAction::LoadDone(2));
        assert!(!s.loading && s.searched);
        assert_eq!(s.progress(), (1, 1));
        let s = s.reduce(CdrAction::LoadStarted(3));
        let s = s.reduce(CdrAction::Page { generation: 3, rows: vec![cdr(6)], total: 5 });
        let s = s.reduce(CdrAction::LoadFailed(3, Error::Network("x".into())));
        assert!(!s.loading && s.error.is_some());
        assert_eq!(s.rows.len(), 1, "rows so far stay");
        let s = s.reduce(CdrAction::Reset);
        assert_eq!(s.inputs.src, "8002");
        assert!(s.rows.is_empty() && !s.loading);
        assert_eq!(s.generation, 3);
    }

    #[test]
    fn rows_are_shared_between_states() {
        let s = CdrView::default().reduce(CdrAction::LoadStarted(1));
        let s = s.reduce(CdrAction::Page { generation: 1, rows: vec![cdr(1)], total: 1 });
        let t = s.clone().reduce(CdrAction::Playing("hwd-1.1".into()));
        assert!(s.rows.pages().iter().zip(t.rows.pages()).all(|(a, b)| Rc::ptr_eq(a, b)));
        assert_eq!(s.rows, t.rows);
        assert_eq!(t.playing.as_deref(), Some("hwd-1.1"));
        let t = t.reduce(CdrAction::HandsetStarted("hwd-1.1".into()));
        let t = t.reduce(CdrAction::HandsetDone);
        assert_eq!(t.handset.done.as_deref(), Some("hwd-1.1"));
        let t = t.reduce(CdrAction::HandsetStarted("hwd-1.1".into()));
        let t = t.reduce(CdrAction::HandsetFailed(Error::Network("x".into())));
        assert!(t.handset.pending.is_none() && t.error.is_some());
    }

    #[test]
    fn a_new_page_shares_the_earlier_pages_instead_of_copying_them() {
        let mut s = CdrView::default().reduce(CdrAction::LoadStarted(1));
        let mut states = Vec::new();
        for p in 0..50u64 {
            let rows = (p * 10..p * 10 + 10).map(cdr).collect();
            s = s.reduce(CdrAction::Page { generation: 1, rows, total: 500 });
            states.push(s.clone());
        }
        // An empty page (every row a duplicate) adds no page.
        s = s.reduce(CdrAction::Page { generation: 1, rows: vec![], total: 500 });
        let last = &s.rows;
        assert_eq!((last.len(), last.pages().len()), (500, 50));
        // Every row of every earlier state is the same record in memory in
        // the last one: no page was copied when a later one came (copying
        // them made loading k pages cost k²/2 page copies).
        for (n, st) in states.iter().enumerate() {
            assert_eq!(st.rows.len(), (n + 1) * 10);
            for (a, b) in st.rows.iter().zip(last.iter()) {
                assert!(std::ptr::eq(a, b), "state {n}: row {:?} was copied", a.id);
            }
        }
        // One pointer per page in each state since it came; the empty page
        // changed nothing, so the last two states share even the page list.
        assert_eq!(Rc::strong_count(&last.pages()[0]), 50);
        assert_eq!(Rc::strong_count(&last.pages()[49]), 1);
        assert_eq!(states[49].rows, *last);
        let ids = |it: Vec<&Cdr>| it.into_iter().filter_map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(last.iter().collect()), (0..500).collect::<Vec<_>>());
        // The virtual list's window, across page boundaries and clamped.
        assert_eq!(ids(last.range(5..25).collect()), (5..25).collect::<Vec<_>>());
        assert_eq!(ids(last.range(490..900).collect()), (490..500).collect::<Vec<_>>());
        assert_eq!(last.range(500..600).count(), 0);
        let (from, to) = (30, 20);
        assert_eq!(last.range(from..to).count(), 0, "a reversed range is empty");
        assert_eq!(last.get(137).and_then(|c| c.id), Some(137));
        assert!(last.get(500).is_none());
        // Equal contents compare equal however they were paged.
        let one: Rows = last.iter().cloned().collect::<Vec<_>>().into();
        assert_eq!(&one, last);
        assert_ne!(Rows::from(vec![cdr(1)]), Rows::from(vec![cdr(2)]));
        // A new search starts from no pages.
        assert!(s.reduce(CdrAction::LoadStarted(2)).rows.pages().is_empty());
    }

    /// A row with every one of the seed's 50 `GET cdr` columns filled.
    fn full_row() -> Cdr {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../../tests/fixtures/pbx/cdr_every_column.json"))
                .unwrap();
        serde_json::from_value(v["data"][0].clone()).unwrap()
    }

    const BASE: [&str; 10] = [
        "calldate",
        "src",
        "dst",
        "duration",
        "billsec",
        "disposition",
        "direction",
        "recording",
        "uniqueid",
        "agentid",
    ];

    #[test]
    fn the_columns_are_the_seeds_fifty_and_every_cell_is_as_sent() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../../tests/fixtures/pbx/cdr_every_column.json"))
                .unwrap();
        let wire = v["data"][0].as_object().unwrap().clone();
        let mut keys: Vec<&str> = BASE.iter().copied().chain(EXTRA_COLUMNS).collect();
        assert_eq!(keys.len(), 50);
        keys.sort_unstable();
        keys.dedup();
        let mut want: Vec<&str> = wire.keys().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(keys, want, "the page's ten plus the extra forty are the seed's columns");
        let row = full_row();
        for (k, sent) in &wire {
            let sent = match sent {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(column_cell(&row, k), sent, "{k}");
        }
        assert_eq!(column_cell(&row, "nope"), "");
    }

    #[test]
    fn extra_columns_toggle_in_table_order_and_survive_a_sign_out() {
        let s = CdrView::default();
        assert!(s.columns.is_empty());
        let s = s.reduce(CdrAction::ToggleColumn("hangupcause".into()));
        let s = s.reduce(CdrAction::ToggleColumn("id".into()));
        let s = s.reduce(CdrAction::ToggleColumn("not-a-column".into()));
        assert_eq!(s.columns, ["id", "hangupcause"]);
        let s = s.reduce(CdrAction::ToggleColumn("id".into()));
        assert_eq!(s.columns, ["hangupcause"]);
        let s = s.reduce(CdrAction::Reset);
        assert_eq!(s.columns, ["hangupcause"]);
        let s = s.reduce(CdrAction::AllColumns);
        assert_eq!(s.columns.len(), EXTRA_COLUMNS.len());
        assert_eq!(s.reduce(CdrAction::BaseColumns).columns, Vec::<&str>::new());
    }
}
