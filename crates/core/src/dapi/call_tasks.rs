//! The console's scheduled-calls page (dapi `calltask/update` and
//! `calltask/list`): the page of tasks on screen, the add/edit form and its
//! save. A pure reducer; the page sends the requests.
//!
//! Loads carry a ticket the page hands out, so only the newest load's reply
//! lands (a reload after a save may overtake a page change, or the other way
//! round).

use crate::Error;
use agent_console_wire::dapi::{CallTask, CallTaskInput};
use agent_console_wire::time::parse_cst_ms;
use agent_console_wire::InvalidInput;

/// Rows per page unless changed.
pub const DEFAULT_PAGE_SIZE: u64 = 10;

/// The add/edit form, as typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskForm {
    /// The row being edited; `None` adds a new one.
    pub id: Option<u64>,
    /// The callees, separated by commas (`,` or `，`), semicolons or spaces.
    pub dst_uids: String,
    /// When, as an `<input type="datetime-local">` gives it
    /// (`YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`); the space form
    /// `YYYY-MM-DD HH:MM:SS` is accepted too. Beijing time.
    pub call_time: String,
    /// The app's own task id.
    pub taskid: String,
}

impl TaskForm {
    /// A form filled from `task`, to edit it.
    pub fn from_task(task: &CallTask) -> Self {
        Self {
            id: Some(task.id),
            dst_uids: task.dst_uid.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", "),
            call_time: to_datetime_local(&task.call_time),
            taskid: task.taskid.clone(),
        }
    }

    /// The callees as separate entries (empty pieces dropped).
    pub fn dst_list(&self) -> Vec<String> {
        agent_console_wire::dapi::Uid::split_text(&self.dst_uids)
    }

    /// Checks the form: the refusal names the field (`id`, `dstUids`,
    /// `callTime`, `taskid`).
    pub fn check(&self) -> Result<CallTaskInput, InvalidInput> {
        let id = self.id.map(|i| i.to_string());
        CallTaskInput::parse(id.as_deref(), &self.dst_list(), &to_wire_time(&self.call_time), &self.taskid)
    }
}

/// A datetime-local value (`YYYY-MM-DDTHH:MM[:SS[.fff]]`) or the space form
/// as the wire's `YYYY-MM-DD HH:MM:SS`. Anything else comes back trimmed
/// but otherwise unchanged, for the time check to refuse.
pub fn to_wire_time(value: &str) -> String {
    let v = value.trim();
    let (Some(date), Some(sep), Some(time)) = (v.get(..10), v.as_bytes().get(10), v.get(11..)) else {
        return v.to_string();
    };
    if *sep != b'T' && *sep != b't' && *sep != b' ' {
        return v.to_string();
    }
    // Fractions of a second (a step below 1 s) are dropped.
    let time = match time.split_once('.') {
        Some((hms, frac)) if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) => hms,
        _ => time,
    };
    match time.len() {
        5 => format!("{date} {time}:00"),
        8 => format!("{date} {time}"),
        _ => v.to_string(),
    }
}

/// The wire's `YYYY-MM-DD HH:MM:SS` as a datetime-local value
/// (`YYYY-MM-DDTHH:MM:SS`). A value that is not a valid wire time comes
/// back unchanged (the browser shows such an input empty).
pub fn to_datetime_local(value: &str) -> String {
    let v = value.trim();
    match (parse_cst_ms(v), v.get(..10), v.get(11..)) {
        (Some(_), Some(date), Some(time)) => format!("{date}T{time}"),
        _ => value.to_string(),
    }
}

/// A field of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskField {
    /// The callees.
    DstUids,
    /// When.
    CallTime,
    /// The app's task id.
    Taskid,
}

/// What the last save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavedNotice {
    /// The row's id, if the server said.
    pub id: Option<u64>,
    /// An existing row was changed (else one was added).
    pub updated: bool,
}

/// What a press of "save" should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submit {
    /// A save is already under way: nothing.
    Busy,
    /// The form is refused: show this.
    Refused(Error),
    /// Send this (dispatch [`CallTasksAction::SaveStarted`] first).
    Send(CallTaskInput),
}

/// The page's state.
#[derive(Debug, Clone, PartialEq)]
pub struct CallTasksState {
    /// The page on screen (from 1).
    pub page: u64,
    /// Rows per page (1-100).
    pub per_page: u64,
    /// The rows on screen.
    pub rows: Vec<CallTask>,
    /// All rows on all pages.
    pub total: u64,
    /// Rows the server counts but will not send (it ignores paging and
    /// answers only its first page); `total` leaves them out.
    pub withheld: u64,
    /// Rows of the page on screen that did not decode (shown as a quiet line).
    pub skipped: agent_console_wire::de::Skipped,
    /// A page has arrived since the last reset (tells "empty" from "not yet").
    pub loaded: bool,
    /// A load is in flight.
    pub loading: bool,
    requested_page: u64,
    ticket: u64,
    /// The last failed load or save.
    pub error: Option<Error>,
    /// The form.
    pub form: TaskForm,
    /// Why the form was refused before sending.
    pub refusal: Option<Error>,
    /// A save is in flight.
    pub saving: bool,
    /// The last save that went through.
    pub saved: Option<SavedNotice>,
}

impl Default for CallTasksState {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PAGE_SIZE,
            rows: Vec::new(),
            total: 0,
            withheld: 0,
            skipped: Default::default(),
            loaded: false,
            loading: false,
            requested_page: 1,
            ticket: 0,
            error: None,
            form: TaskForm::default(),
            refusal: None,
            saving: false,
            saved: None,
        }
    }
}

/// Everything that changes the page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CallTasksAction {
    /// Back to an empty page (a new session, or none), keeping the page size.
    Reset,
    /// Loading page `page` began; `ticket` (from 1, rising) names the load.
    LoadStarted {
        /// The page asked for.
        page: u64,
        /// The load's ticket.
        ticket: u64,
    },
    /// The load `ticket` brought this page (ignored if a newer load began).
    Loaded {
        /// The load's ticket.
        ticket: u64,
        /// What arrived.
        page: agent_console_wire::dapi::CallTaskPage,
    },
    /// The load `ticket` failed; the rows on screen stay.
    LoadFailed {
        /// The load's ticket.
        ticket: u64,
        /// Why.
        error: Error,
    },
    /// A form field was edited.
    SetField(TaskField, String),
    /// Fill the form from the row with this id, to edit it.
    EditRow(u64),
    /// Clear the form (a new task, or cancel the edit).
    NewForm,
    /// The form was refused before sending.
    Refused(Error),
    /// A save began.
    SaveStarted,
    /// The save went through (the row id, if the server said); the form
    /// clears. The page then reloads the list.
    Saved(Option<u64>),
    /// The save failed; the form stays for another try.
    SaveFailed(Error),
    /// Closes the error.
    DismissError,
}

impl CallTasksState {
    /// Number of pages (at least 1).
    pub fn page_count(&self) -> u64 {
        if self.per_page == 0 {
            return 1;
        }
        self.total.div_ceil(self.per_page).max(1)
    }

    /// The page before this one, if any.
    pub fn prev_page(&self) -> Option<u64> {
        (self.page > 1).then(|| (self.page - 1).min(self.page_count()))
    }

    /// The page after this one, if any.
    pub fn next_page(&self) -> Option<u64> {
        (self.page < self.page_count()).then_some(self.page + 1)
    }

    /// The error to show: the form's refusal first, else the last failure.
    pub fn shown_error(&self) -> Option<&Error> {
        self.refusal.as_ref().or(self.error.as_ref())
    }

    /// What "save" should do now.
    pub fn submit(&self) -> Submit {
        if self.saving {
            return Submit::Busy;
        }
        match self.form.check() {
            Ok(input) => Submit::Send(input),
            Err(e) => Submit::Refused(e.into()),
        }
    }

    /// Applies `action`.
    pub fn reduce(mut self, action: CallTasksAction) -> Self {
        use CallTasksAction as A;
        match action {
            A::Reset => {
                self = Self { per_page: self.per_page, ..Self::default() };
            }
            A::LoadStarted { page, ticket } => {
                self.loading = true;
                self.error = None;
                self.requested_page = page.max(1);
                self.ticket = ticket;
            }
            A::Loaded { ticket, page } => {
                if ticket != self.ticket || !self.loading {
                    return self;
                }
                self.loading = false;
                self.loaded = true;
                // The page number moves only when its page is in.
                self.page = self.requested_page;
                self.total = page.total;
                self.withheld = page.withheld;
                self.rows = page.rows;
                self.skipped = page.skipped;
            }
            A::LoadFailed { ticket, error } => {
                if ticket != self.ticket || !self.loading {
                    return self;
                }
                self.loading = false;
                self.error = Some(error);
            }
            // The form is frozen while a save is in flight: the save clears it.
            A::SetField(..) | A::EditRow(_) | A::NewForm if self.saving => {}
            A::SetField(f, v) => {
                let field = match f {
                    TaskField::DstUids => &mut self.form.dst_uids,
                    TaskField::CallTime => &mut self.form.call_time,
                    TaskField::Taskid => &mut self.form.taskid,
                };
                *field = v;
                self.refusal = None;
            }
            A::EditRow(id) => {
                if let Some(row) = self.rows.iter().find(|r| r.id == id) {
                    self.form = TaskForm::from_task(row);
                    self.refusal = None;
                    self.saved = None;
                }
            }
            A::NewForm => {
                self.form = TaskForm::default();
                self.refusal = None;
                self.saved = None;
            }
            A::Refused(e) => self.refusal = Some(e),
            A::SaveStarted => {
                if !self.saving {
                    self.saving = true;
                    self.refusal = None;
                    self.error = None;
                    self.saved = None;
                }
            }
            A::Saved(id) => {
                // A reply for a save a reset forgot.
                if !self.saving {
                    return self;
                }
                self.saving = false;
                self.saved = Some(SavedNotice { id: id.or(self.form.id), updated: self.form.id.is_some() });
                self.form = TaskForm::default();
            }
            A::SaveFailed(e) => {
                if !self.saving {
                    return self;
                }
                self.saving = false;
                self.error = Some(e);
            }
            A::DismissError => {
                self.error = None;
                self.refusal = None;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_console_wire::dapi::{CallTaskPage, Uid};
    use agent_console_wire::{ApiError, Problem};
    use CallTasksAction as A;

    fn task(id: u64, dst: &[&str], time: &str, taskid: &str) -> CallTask {
        CallTask {
            id,
            src_uid: Uid::parse("uid", "alice").unwrap(),
            dst_uid: dst.iter().map(|d| Uid::parse("uid", d).unwrap()).collect(),
            call_time: time.into(),
            taskid: taskid.into(),
            tone_list: Vec::new(),
            primary_key: None,
        }
    }

    fn page(rows: Vec<CallTask>, total: u64) -> CallTaskPage {
        CallTaskPage {
            rows,
            page: 1,
            total,
            per_page: DEFAULT_PAGE_SIZE,
            skipped: Default::default(),
            withheld: 0,
        }
    }

    fn form(dst: &str, time: &str, taskid: &str) -> TaskForm {
        TaskForm { id: None, dst_uids: dst.into(), call_time: time.into(), taskid: taskid.into() }
    }

    fn loaded(rows: Vec<CallTask>, total: u64) -> CallTasksState {
        CallTasksState::default()
            .reduce(A::LoadStarted { page: 1, ticket: 1 })
            .reduce(A::Loaded { ticket: 1, page: page(rows, total) })
    }

    #[test]
    fn datetime_local_becomes_wire_time() {
        assert_eq!(to_wire_time("2024-05-01T09:30"), "2024-05-01 09:30:00");
        assert_eq!(to_wire_time("2024-05-01T09:30:15"), "2024-05-01 09:30:15");
        assert_eq!(to_wire_time(" 2024-05-01 09:30:15 "), "2024-05-01 09:30:15");
        assert_eq!(to_wire_time("2024-05-01 09:30"), "2024-05-01 09:30:00");
        assert_eq!(to_wire_time("2024-05-01T09:30:15.250"), "2024-05-01 09:30:15");
        // Not a datetime: left for the check to refuse.
        assert_eq!(to_wire_time("tomorrow"), "tomorrow");
        assert_eq!(to_wire_time("2024-05-01X09:30"), "2024-05-01X09:30");
        assert_eq!(to_wire_time(""), "");
        // Multi-byte text never panics.
        assert_eq!(to_wire_time("明天早上九点半钟"), "明天早上九点半钟");
    }

    #[test]
    fn wire_time_becomes_datetime_local() {
        assert_eq!(to_datetime_local("2024-05-01 09:30:15"), "2024-05-01T09:30:15");
        assert_eq!(to_datetime_local("garbage"), "garbage");
        assert_eq!(to_datetime_local("2024-02-30 09:30:15"), "2024-02-30 09:30:15");
        assert_eq!(to_datetime_local("明天早上九点半钟明天早上九点半钟"), "明天早上九点半钟明天早上九点半钟");
    }

    #[test]
    fn check_builds_the_input() {
        let mut f = form(" bob, carol，dave  eve;bob ", "2024-05-01T09:30", " T-1 ");
        let input = f.check().unwrap();
        assert_eq!(input.id, None);
        let dst: Vec<&str> = input.dst_uids.iter().map(|u| u.as_str()).collect();
        assert_eq!(dst, ["bob", "carol", "dave", "eve"]);
        assert_eq!(input.call_time.to_string(), "2024-05-01 09:30:00");
        assert_eq!(input.taskid, "T-1");
        f.id = Some(42);
        assert_eq!(f.check().unwrap().id, Some(42));
    }

    #[test]
    fn check_names_the_refused_field() {
        let err = |f: TaskForm| f.check().unwrap_err();
        let e = err(form("  ,  ", "2024-05-01T09:30", "t"));
        assert_eq!((e.field, &e.problem), ("dstUids", &Problem::Required));
        // Uids are the site's (UUIDs, e-mails): only empty, control
        // characters and absurd lengths are refused.
        let e = err(form("bob, a\u{1}b", "2024-05-01T09:30", "t"));
        assert_eq!(e.field, "dstUids");
        let e = err(form("bob", "", "t"));
        assert_eq!((e.field, &e.problem), ("callTime", &Problem::Required));
        let e = err(form("bob", "2024-13-01T09:30", "t"));
        assert_eq!((e.field, &e.problem), ("callTime", &Problem::NotDateTime));
        let e = err(form("bob", "next monday", "t"));
        assert_eq!(e.field, "callTime");
        let e = err(form("bob", "2024-05-01T09:30", "   "));
        assert_eq!((e.field, &e.problem), ("taskid", &Problem::Required));
        let many: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
        let e = err(form(&many.join(","), "2024-05-01T09:30", "t"));
        assert_eq!(e.field, "dstUids");
        // Through the state: the refusal is shown with its code.
        let s = CallTasksState { form: form("bob", "", "t"), ..Default::default() };
        match s.submit() {
            Submit::Refused(e) => {
                assert_eq!(e.field(), Some("callTime"));
                assert_eq!(e.code(), "invalid_input");
                let s = s.reduce(A::Refused(e.clone()));
                assert_eq!(s.shown_error(), Some(&e));
                // Editing the form clears the refusal.
                let s = s.reduce(A::SetField(TaskField::CallTime, "2024-05-01T09:30".into()));
                assert_eq!(s.refusal, None);
                assert!(matches!(s.submit(), Submit::Send(_)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn paging_math() {
        let mut s = CallTasksState::default();
        // Nothing loaded: one page, no neighbours.
        assert_eq!((s.page_count(), s.prev_page(), s.next_page()), (1, None, None));
        s.total = 25;
        assert_eq!(s.page_count(), 3);
        assert_eq!((s.prev_page(), s.next_page()), (None, Some(2)));
        s.page = 2;
        assert_eq!((s.prev_page(), s.next_page()), (Some(1), Some(3)));
        s.page = 3;
        assert_eq!((s.prev_page(), s.next_page()), (Some(2), None));
        s.total = 30;
        assert_eq!(s.page_count(), 3);
        s.total = 31;
        assert_eq!(s.page_count(), 4);
        s.total = 10;
        assert_eq!(s.page_count(), 1);
        // Past the end (rows went away): back to the last page.
        s.page = 5;
        assert_eq!((s.prev_page(), s.next_page()), (Some(1), None));
        s.total = 0;
        s.per_page = 0;
        assert_eq!(s.page_count(), 1);
    }

    #[test]
    fn page_number_moves_when_its_page_arrives() {
        let s = loaded(vec![task(1, &["bob"], "2024-05-01 09:30:00", "t1")], 25);
        assert!(s.loaded && !s.loading);
        assert_eq!((s.page, s.total, s.rows.len()), (1, 25, 1));
        let s = s.reduce(A::LoadStarted { page: 3, ticket: 2 });
        assert!(s.loading);
        assert_eq!(s.page, 1);
        let s = s.reduce(A::Loaded {
            ticket: 2,
            page: page(vec![task(21, &["bob"], "2024-05-02 09:30:00", "t21")], 25),
        });
        assert_eq!((s.page, s.rows[0].id), (3, 21));
    }

    #[test]
    fn rows_the_server_withholds_stay_off_the_pager() {
        let mut p = page(vec![task(1, &["bob"], "2024-05-01 09:30:00", "t1")], 20);
        p.withheld = 25;
        let s = CallTasksState::default()
            .reduce(A::LoadStarted { page: 1, ticket: 1 })
            .reduce(A::Loaded { ticket: 1, page: p });
        assert_eq!((s.total, s.withheld, s.page_count()), (20, 25, 2));
        // A server that pages again clears it.
        let s = s
            .reduce(A::LoadStarted { page: 1, ticket: 2 })
            .reduce(A::Loaded { ticket: 2, page: page(vec![], 45) });
        assert_eq!((s.withheld, s.page_count()), (0, 5));
    }

    #[test]
    fn only_the_newest_load_lands() {
        let s = loaded(vec![], 0)
            .reduce(A::LoadStarted { page: 2, ticket: 2 })
            .reduce(A::LoadStarted { page: 1, ticket: 3 });
        let late = s.clone().reduce(A::Loaded { ticket: 2, page: page(vec![task(9, &["x"], "", "t")], 1) });
        assert_eq!(late, s);
        let late = s.clone().reduce(A::LoadFailed { ticket: 2, error: Error::Network("x".into()) });
        assert_eq!(late, s);
        let s = s.reduce(A::Loaded { ticket: 3, page: page(vec![task(1, &["x"], "", "t")], 1) });
        assert_eq!((s.page, s.rows.len(), s.loading), (1, 1, false));
    }

    #[test]
    fn failed_load_keeps_rows() {
        let rows = vec![
            task(1, &["bob"], "2024-05-01 09:30:00", "t1"),
            task(2, &["eve"], "2024-05-02 09:30:00", "t2"),
        ];
        let s = loaded(rows.clone(), 12).reduce(A::LoadStarted { page: 2, ticket: 2 });
        let s = s.reduce(A::LoadFailed { ticket: 2, error: Error::Network("offline".into()) });
        assert_eq!(s.rows, rows);
        assert_eq!((s.page, s.total, s.loading), (1, 12, false));
        assert_eq!(s.shown_error().map(Error::code).as_deref(), Some("network"));
        // A new load clears the error; dismissing does too.
        assert_eq!(s.clone().reduce(A::LoadStarted { page: 1, ticket: 3 }).error, None);
        assert_eq!(s.reduce(A::DismissError).error, None);
    }

    #[test]
    fn edit_fills_the_form_from_the_row() {
        let s = loaded(vec![task(7, &["bob", "carol"], "2024-05-01 09:30:15", "T-7")], 1);
        let s = s.reduce(A::EditRow(7));
        assert_eq!(
            s.form,
            TaskForm {
                id: Some(7),
                dst_uids: "bob, carol".into(),
                call_time: "2024-05-01T09:30:15".into(),
                taskid: "T-7".into()
            }
        );
        // The filled form checks back to the same task.
        let input = s.form.check().unwrap();
        assert_eq!((input.id, input.call_time.to_string()), (Some(7), "2024-05-01 09:30:15".into()));
        // An id not on screen changes nothing; "new" clears the edit.
        assert_eq!(s.clone().reduce(A::EditRow(99)), s);
        assert_eq!(s.reduce(A::NewForm).form, TaskForm::default());
    }

    #[test]
    fn save_clears_the_form_and_tells_the_id() {
        let s = CallTasksState { form: form("bob", "2024-05-01T09:30", "t"), ..Default::default() };
        let s = s.reduce(A::SaveStarted);
        assert!(s.saving);
        let s = s.reduce(A::Saved(Some(12)));
        assert!(!s.saving);
        assert_eq!(s.form, TaskForm::default());
        assert_eq!(s.saved, Some(SavedNotice { id: Some(12), updated: false }));
        // An update without an id in the reply names the edited row.
        let s = loaded(vec![task(7, &["bob"], "2024-05-01 09:30:15", "T-7")], 1)
            .reduce(A::EditRow(7))
            .reduce(A::SaveStarted)
            .reduce(A::Saved(None));
        assert_eq!(s.saved, Some(SavedNotice { id: Some(7), updated: true }));
    }

    #[test]
    fn failed_save_keeps_the_form() {
        let f = form("bob", "2024-05-01T09:30", "t");
        let s = CallTasksState { form: f.clone(), ..Default::default() }.reduce(A::SaveStarted);
        let s =
            s.reduce(A::SaveFailed(Error::Api(ApiError::Refused { message: "taskid 不能为空".into() })));
        assert!(!s.saving);
        assert_eq!(s.form, f);
        assert_eq!(s.saved, None);
        assert_eq!(s.shown_error().map(Error::code).as_deref(), Some("refused"));
    }

    #[test]
    fn double_submit_while_saving_is_ignored() {
        let s = CallTasksState { form: form("bob", "2024-05-01T09:30", "t"), ..Default::default() };
        assert!(matches!(s.submit(), Submit::Send(_)));
        let s = s.reduce(A::SaveStarted);
        assert_eq!(s.submit(), Submit::Busy);
        let again = s.clone().reduce(A::SaveStarted);
        assert_eq!(again, s);
        // The form is frozen until the save answers.
        assert_eq!(s.clone().reduce(A::SetField(TaskField::Taskid, "other".into())), s);
        assert_eq!(s.clone().reduce(A::NewForm), s);
        // One answer; a second one (nothing in flight) is ignored.
        let s = s.reduce(A::Saved(Some(1)));
        let after = s.clone().reduce(A::Saved(Some(2)));
        assert_eq!(after, s);
        assert_eq!(s.clone().reduce(A::SaveFailed(Error::Network("x".into()))), s);
    }

    #[test]
    fn reset_forgets_rows_and_keeps_page_size() {
        let mut s = loaded(vec![task(1, &["bob"], "2024-05-01 09:30:00", "t1")], 1);
        s.per_page = 20;
        let s = s.reduce(A::SaveStarted).reduce(A::Reset);
        assert_eq!(s, CallTasksState { per_page: 20, ..Default::default() });
        // A late reply of the old session's load is dropped.
        let late = s.clone().reduce(A::Loaded { ticket: 1, page: page(vec![], 0) });
        assert_eq!(late, s);
    }
}
