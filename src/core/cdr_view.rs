//! The PBX call-record (CDR) page as a pure reducer, plus the pieces the
//! page needs that are worth testing on their own: the filter check (from
//! `datetime-local` inputs), paging until every matching row is loaded,
//! de-duplication, the virtual list's window, and the CSV export.

use super::handset::HandsetPlayback;
use super::Error;
use crate::api::pbx::{Cdr, CdrFilter, Disposition, Page};
use crate::api::InvalidInput;
use crate::i18n::Lang;
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

/// Loaded rows, shared: an action that does not touch them copies a
/// pointer, not ten thousand records.
#[derive(Debug, Clone, Default)]
pub struct Rows(pub Rc<Vec<Cdr>>);

impl PartialEq for Rows {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl std::ops::Deref for Rows {
    type Target = [Cdr];
    fn deref(&self) -> &[Cdr] {
        &self.0
    }
}

/// The key that tells two rows apart when pages shift under new calls.
pub fn row_key(c: &Cdr) -> String {
    match c.id {
        Some(id) => format!("{}#{id}", c.uniqueid),
        None => format!("{}|{}|{}", c.uniqueid, c.start, c.dstchannel),
    }
}

/// Keeps the rows of `page` not seen before, and remembers them.
pub fn dedupe(seen: &mut HashSet<String>, page: Vec<Cdr>) -> Vec<Cdr> {
    page.into_iter().filter(|c| seen.insert(row_key(c))).collect()
}

/// The page to ask for after `page` came back with `got` rows, `total`
/// reported: none when everything is in, the page was short or empty (the
/// server has no more), or a runaway total would need more than `max_pages`.
pub fn next_page(page: u32, got: usize, total: u64, max_pages: u32) -> Option<u32> {
    let asked_through = u64::from(page) * u64::from(PAGE_SIZE);
    if got == 0 || got < PAGE_SIZE as usize || asked_through >= total || page >= max_pages {
        None
    } else {
        Some(page + 1)
    }
}

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

/// Words for a CDR direction.
pub fn direction_words(d: &str, lang: Lang) -> String {
    let (zh, en) = match d.trim() {
        "in" => ("呼入", "Inbound"),
        "out" => ("呼出", "Outbound"),
        "inter" | "inner" | "internal" => ("内部", "Internal"),
        "" => ("—", "—"),
        other => return other.to_string(),
    };
    crate::i18n::pick(lang, zh, en).to_string()
}

/// Words for a disposition.
pub fn disposition_words(d: &Disposition, lang: Lang) -> String {
    match lang {
        Lang::Zh => d.zh().to_string(),
        Lang::En => d.en().to_string(),
    }
}

/// Whether a spreadsheet would read `cell` as a formula: it starts with one
/// of OWASP's CSV-injection characters `= + - @`, tab or carriage return.
pub fn csv_formula_risk(cell: &str) -> bool {
    matches!(cell.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

fn csv_field(out: &mut String, v: &str) {
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

/// The rows as CSV (RFC 4180: CRLF line ends, fields with a comma, quote
/// or line break quoted, quotes doubled), with a UTF-8 byte-order mark so
/// Excel reads the Chinese, headers and words in `lang`: the page's ten
/// columns.
pub fn to_csv(rows: &[Cdr], lang: Lang) -> String {
    to_csv_with(rows, &[], lang)
}

/// [`to_csv`] plus the [`EXTRA_COLUMNS`] named in `extra` (seed names, in
/// the order given; unknown names are left out), each cell exactly as the
/// PBX sent it.
pub fn to_csv_with(rows: &[Cdr], extra: &[&str], lang: Lang) -> String {
    let extra: Vec<&CdrColumn> = extra.iter().filter_map(|k| extra_column(k)).collect();
    let head: [(&str, &str); 10] = [
        ("时间", "Time"),
        ("主叫", "From"),
        ("被叫", "To"),
        ("时长", "Duration"),
        ("计费时长（秒）", "Billed (s)"),
        ("结果", "Result"),
        ("方向", "Direction"),
        ("录音", "Recording"),
        ("唯一标识", "Uniqueid"),
        ("工号", "Agent"),
    ];
    let mut out = String::with_capacity(64 + rows.len() * 120);
    out.push('\u{feff}');
    for (i, (zh, en)) in head.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(&mut out, crate::i18n::pick(lang, zh, en));
    }
    for c in &extra {
        out.push(',');
        csv_field(&mut out, c.label(lang));
    }
    out.push_str("\r\n");
    for r in rows {
        let cells = [
            r.calldate.clone(),
            r.src.clone(),
            r.dst.clone(),
            mmss(r.duration),
            r.billsec.to_string(),
            disposition_words(&r.disposition, lang),
            direction_words(&r.direction, lang),
            r.recording.clone(),
            r.uniqueid.clone(),
            r.agentid.clone(),
        ];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, c);
        }
        for c in &extra {
            out.push(',');
            csv_field(&mut out, &column_cell(r, c.key));
        }
        out.push_str("\r\n");
    }
    out
}

/// A column of the call log beyond the page's ten: the seed's name and a
/// header in both languages (the seed's description where it has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdrColumn {
    /// The seed's column name (also the JS field name).
    pub key: &'static str,
    /// Chinese header.
    pub zh: &'static str,
    /// English header.
    pub en: &'static str,
}

impl CdrColumn {
    /// The header in `lang`.
    pub fn label(&self, lang: Lang) -> &'static str {
        crate::i18n::pick(lang, self.zh, self.en)
    }
}

const fn col(key: &'static str, zh: &'static str, en: &'static str) -> CdrColumn {
    CdrColumn { key, zh, en }
}

/// Every documented `GET cdr` column the page does not show by default, in
/// the seed's order: with the ten of [`to_csv`] they are all 50.
pub const EXTRA_COLUMNS: [CdrColumn; 40] = [
    col("id", "记录主键", "Record id"),
    col("clid", "主叫号码", "Caller ID"),
    col("dnid", "直入号码", "Dialled number"),
    col("dept_exten", "部门分机", "Department extension"),
    col("sipcallid", "SIP通话标识", "SIP Call-ID"),
    col("dcontext", "目标context", "Context"),
    col("channel", "通道", "Channel"),
    col("dstchannel", "目标通道", "Called channel"),
    col("callerip", "主叫IP", "Caller IP"),
    col("calledip", "被叫IP", "Called IP"),
    col("lastapp", "最后进入app", "Last app"),
    col("lastdata", "app参数", "Last app data"),
    col("start", "开始时间", "Start"),
    col("answer", "应答时间", "Answered"),
    col("end", "结束时间", "End"),
    col("amaflags", "AMA标志", "AMA flags"),
    col("accountcode", "账户代码", "Account code"),
    col("peeraccount", "对端账户", "Peer account"),
    col("linkedid", "关联标识", "Linkedid"),
    col("userfield", "用户字段", "User field"),
    col("ivrdigit", "IVR按键", "IVR digits"),
    col("ivrflow", "IVR流程", "IVR flow"),
    col("sequence", "记录序列号", "Sequence"),
    col("billingid", "计费ID", "Billing id"),
    col("area_code", "区号", "Area code"),
    col("city", "号码所在城市", "City"),
    col("succ", "succ", "succ"),
    col("billed", "是否已计费", "Billed"),
    col("bill", "费用", "Charge"),
    col("musictype", "转接类型", "Transfer type"),
    col("service_level", "服务水平", "Service level"),
    col("caller_recording", "主叫录音设置", "Caller recording"),
    col("callee_recording", "被叫录音设置", "Callee recording"),
    col("option", "option", "Option"),
    col("numcalls", "当前通话数", "Calls up"),
    col("loadavg", "当前通话负载", "Load"),
    col("hangupsource", "挂断源", "Hung up by"),
    col("hangupcause", "挂断原因", "Hangup cause"),
    col("create_time", "记录创建时间", "Record created"),
    col("trunkName", "中继名称", "Trunk"),
];

/// The extra column named `key`.
pub fn extra_column(key: &str) -> Option<&'static CdrColumn> {
    EXTRA_COLUMNS.iter().find(|c| c.key == key)
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
                if !rows.is_empty() {
                    let mut all = Vec::with_capacity(self.rows.len() + rows.len());
                    all.extend_from_slice(&self.rows);
                    all.extend(rows);
                    self.rows = Rows(Rc::new(all));
                }
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
                        self.columns.iter().copied().filter(|k| *k != col.key).collect();
                    if shown.len() == self.columns.len() {
                        shown.push(col.key);
                    }
                    // Always the table's order, whatever order they were picked in.
                    self.columns =
                        EXTRA_COLUMNS.iter().map(|c| c.key).filter(|k| shown.contains(k)).collect();
                }
            }
            AllColumns => self.columns = EXTRA_COLUMNS.iter().map(|c| c.key).collect(),
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
    fn paging_until_everything_is_in() {
        assert_eq!(next_page(1, 1000, 10_000, 100), Some(2));
        assert_eq!(next_page(9, 1000, 10_000, 100), Some(10));
        assert_eq!(next_page(10, 1000, 10_000, 100), None);
        assert_eq!(next_page(1, 40, 40, 100), None);
        // A short or empty page ends it even if the total says more.
        assert_eq!(next_page(3, 0, 10_000, 100), None);
        assert_eq!(next_page(3, 999, 10_000, 100), None);
        // A runaway total stops at the cap.
        assert_eq!(next_page(100, 1000, u64::MAX, 100), None);
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
    fn csv_quoting_bom_and_words() {
        let mut r = cdr(1);
        r.src = "\"Li, Lei\" <8002>".into();
        r.dst = "line\nbreak".into();
        r.agentid = "=cmd()".into();
        let csv = to_csv(&[r, cdr(2)], Lang::Zh);
        assert!(csv.starts_with('\u{feff}'));
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines[0], "时间,主叫,被叫,时长,计费时长（秒）,结果,方向,录音,唯一标识,工号");
        assert!(lines[1].starts_with(
            "2024-11-15 10:31:35,\"\"\"Li, Lei\"\" <8002>\",\"line\nbreak\",02:05,120,已接通,呼入,"
        ));
        assert!(lines[1].ends_with(",hwd-1.1,'=cmd()"));
        assert_eq!(
            lines[2],
            "2024-11-15 10:31:35,8002,8003,02:05,120,已接通,呼入,monitor/20241115/a.wav,hwd-1.2,"
        );
        assert_eq!(*lines.last().unwrap(), "");
        let en = to_csv(&[], Lang::En);
        assert_eq!(
            en,
            "\u{feff}Time,From,To,Duration,Billed (s),Result,Direction,Recording,Uniqueid,Agent\r\n"
        );
    }

    #[test]
    fn csv_guards_all_six_formula_starts() {
        // OWASP's CSV-injection list: = + - @ tab CR.
        for lead in ['=', '+', '-', '@', '\t', '\r'] {
            let mut r = cdr(1);
            r.agentid = format!("{lead}1+1");
            r.src = format!("{lead}HYPERLINK(\"http://x\")");
            let csv = to_csv(&[r], Lang::En);
            // A CR quotes the cell; the guard sits inside the quotes.
            let agent = if lead == '\r' { format!("\"'{lead}1+1\"") } else { format!("'{lead}1+1") };
            assert!(csv.contains(&format!(",{agent}")), "{lead:?}: {csv:?}");
            let src = format!(",\"'{lead}HYPERLINK(\"\"http://x\"\")\",");
            assert!(csv.contains(&src), "{lead:?}: {csv:?}");
        }
        // Inside a cell, and plain numbers, nothing changes.
        let mut r = cdr(1);
        r.agentid = "a-b+c=d@e".into();
        let csv = to_csv(&[r], Lang::En);
        assert!(csv.contains(",a-b+c=d@e"), "{csv:?}");
        assert!(csv.contains(",8002,8003,"), "{csv:?}");
    }

    #[test]
    fn words() {
        assert_eq!(mmss(0), "00:00");
        assert_eq!(mmss(125), "02:05");
        assert_eq!(mmss(6_000), "100:00");
        assert_eq!(direction_words("out", Lang::En), "Outbound");
        assert_eq!(direction_words("weird", Lang::Zh), "weird");
        assert_eq!(disposition_words(&Disposition::NoAnswer, Lang::Zh), "未接通");
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
        assert!(Rc::ptr_eq(&s.rows.0, &t.rows.0));
        assert_eq!(t.playing.as_deref(), Some("hwd-1.1"));
        let t = t.reduce(CdrAction::HandsetStarted("hwd-1.1".into()));
        let t = t.reduce(CdrAction::HandsetDone);
        assert_eq!(t.handset.done.as_deref(), Some("hwd-1.1"));
        let t = t.reduce(CdrAction::HandsetStarted("hwd-1.1".into()));
        let t = t.reduce(CdrAction::HandsetFailed(Error::Network("x".into())));
        assert!(t.handset.pending.is_none() && t.error.is_some());
    }

    /// A row with every one of the seed's 50 `GET cdr` columns filled.
    fn full_row() -> Cdr {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/pbx/cdr_every_column.json")).unwrap();
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
            serde_json::from_str(include_str!("../../tests/fixtures/pbx/cdr_every_column.json")).unwrap();
        let wire = v["data"][0].as_object().unwrap().clone();
        let mut keys: Vec<&str> = BASE.iter().copied().chain(EXTRA_COLUMNS.iter().map(|c| c.key)).collect();
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
        for c in EXTRA_COLUMNS {
            assert!(!c.zh.is_empty() && !c.en.is_empty(), "{}", c.key);
        }
    }

    #[test]
    fn csv_exports_the_chosen_extra_columns_with_huge_numbers_exact() {
        let mut r = full_row();
        r.id = Some(9_007_199_254_740_993);
        r.duration = 18_446_744_073_709_551_615;
        let csv = to_csv_with(&[r.clone()], &["hangupcause", "id", "nope", "loadavg"], Lang::En);
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(
            lines[0],
            "Time,From,To,Duration,Billed (s),Result,Direction,Recording,Uniqueid,Agent,Hangup cause,Record id,Load"
        );
        assert!(lines[1].ends_with(",1011,16,9007199254740993,4.36"), "{}", lines[1]);
        let all: Vec<&str> = EXTRA_COLUMNS.iter().map(|c| c.key).collect();
        let csv = to_csv_with(&[r], &all, Lang::Zh);
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert!(
            lines[0].starts_with("时间,主叫,被叫,") && lines[0].ends_with(",记录创建时间,中继名称"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains(",hwd-1731637895.49,1011,9007199254740993,"), "{}", lines[1]);
        assert!(lines[1].ends_with(",2024-11-15 10:36:36,trunkHWD"), "{}", lines[1]);
        // Without extra columns the export is the page's ten, as before.
        assert_eq!(to_csv_with(&[], &[], Lang::En), to_csv(&[], Lang::En));
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
