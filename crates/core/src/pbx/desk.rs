//! The agent's desk as a pure reducer: sign-in, the current call and the
//! extension-status panel. The Yew console wraps it in `Reducible`; it is
//! tested natively. Time (wall-clock milliseconds, for the call timer) comes
//! in with the actions.
//!
//! Results of requests that were started before a sign-out arrive late; the
//! reducer drops them when no one is signed in, so they cannot resurrect a
//! call on the next sign-in.

use crate::Error;
use agent_console_wire::pbx::{EndpointStatus, Extension, Uniqueid};
use agent_console_wire::Lang;

/// The call on the agent's extension, as far as the console knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveCall {
    /// PBX id of the call.
    pub uniqueid: Uniqueid,
    /// Who was dialled.
    pub dest: String,
    /// When the dial was accepted (wall-clock ms), for the timer.
    pub started_at_ms: u64,
    /// Whether the status feed has shown our extension busy with it; a
    /// later idle state then means the far end hung up.
    pub seen_busy: bool,
}

/// A dialled call whose extension the status feed never showed busy is
/// taken as over (failed or refused at once) after this long.
pub const NEVER_BUSY_MS: u64 = 10_000;

/// A message shown above the desk until dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A failure, rendered in the current language at view time.
    Error(Error),
    /// The call ended from the other side.
    CallEnded,
}

/// Requests in flight; each disables its button.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    /// Sign-in.
    pub sign_in: bool,
    /// Dial.
    pub dial: bool,
    /// Hang-up.
    pub hangup: bool,
}

/// Everything the desk shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeskState {
    /// Display language.
    pub lang: Lang,
    /// The signed-in extension.
    pub extension: Option<Extension>,
    /// The current call.
    pub call: Option<ActiveCall>,
    /// Requests in flight.
    pub pending: Pending,
    /// Latest extension-status rows.
    pub endpoints: Vec<EndpointStatus>,
    /// Whether the last status refresh failed (rows kept from before).
    pub endpoints_error: Option<Error>,
    /// The message on top.
    pub notice: Option<Notice>,
}

/// Everything that changes the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskAction {
    /// Switch language.
    SetLang(Lang),
    /// A sign-in request left.
    SignInStarted,
    /// Signed in with this extension.
    SignedIn(Extension),
    /// Sign-in failed.
    SignInFailed(Error),
    /// Signed out: everything but the language is forgotten.
    SignOut,
    /// The server refused the credentials mid-shift: back to the sign-in
    /// form, which shows why.
    CredentialsRejected(Error),
    /// A dial request left.
    DialStarted,
    /// The PBX accepted the dial.
    Dialled {
        /// The call's id.
        uniqueid: Uniqueid,
        /// Who was dialled.
        dest: String,
        /// Wall-clock ms now.
        now_ms: u64,
    },
    /// The dial failed (or was refused before sending).
    DialFailed(Error),
    /// A hang-up request left.
    HangupStarted,
    /// The PBX ended the call.
    HungUp,
    /// The hang-up failed: the call stays.
    HangupFailed(Error),
    /// A status refresh arrived.
    Endpoints {
        /// The rows.
        rows: Vec<EndpointStatus>,
        /// Wall-clock ms now.
        now_ms: u64,
    },
    /// A status refresh failed.
    EndpointsFailed(Error),
    /// Input refused before any request.
    Refused(Error),
    /// Close the notice.
    DismissNotice,
}

impl DeskState {
    /// The state after `action`. Failures leave everything else as it was.
    pub fn reduce(mut self, action: DeskAction) -> Self {
        use DeskAction::*;
        let signed_in = self.extension.is_some();
        match action {
            SetLang(l) => self.lang = l,
            SignInStarted => {
                self.pending.sign_in = true;
                self.notice = None;
            }
            SignedIn(ext) => {
                self = DeskState { lang: self.lang, ..DeskState::default() };
                self.extension = Some(ext);
            }
            SignInFailed(e) => {
                self.pending.sign_in = false;
                self.notice = Some(Notice::Error(e));
            }
            SignOut => {
                self = DeskState { lang: self.lang, ..DeskState::default() };
            }
            CredentialsRejected(e) => {
                self = DeskState { lang: self.lang, ..DeskState::default() };
                self.notice = Some(Notice::Error(e));
            }
            DialStarted => {
                self.pending.dial = true;
                self.notice = None;
            }
            // Late results for a desk that has since signed out.
            Dialled { .. }
            | DialFailed(_)
            | HungUp
            | HangupFailed(_)
            | Endpoints { .. }
            | EndpointsFailed(_)
                if !signed_in => {}
            Dialled { uniqueid, dest, now_ms } => {
                self.pending.dial = false;
                self.call = Some(ActiveCall { uniqueid, dest, started_at_ms: now_ms, seen_busy: false });
            }
            DialFailed(e) => {
                self.pending.dial = false;
                self.notice = Some(Notice::Error(e));
            }
            HangupStarted => {
                self.pending.hangup = true;
                self.notice = None;
            }
            HungUp => {
                self.pending.hangup = false;
                self.call = None;
            }
            // 600002: the PBX has no call on the extension: it is already over.
            HangupFailed(e) if e.code() == "600002" => {
                self.pending.hangup = false;
                self.call = None;
                self.notice = Some(Notice::CallEnded);
            }
            HangupFailed(e) => {
                self.pending.hangup = false;
                self.notice = Some(Notice::Error(e));
            }
            Endpoints { rows, now_ms } => {
                self.endpoints_error = None;
                let own_busy = self
                    .extension
                    .as_ref()
                    .and_then(|ext| rows.iter().find(|r| r.endpoint == ext.as_str()))
                    .map(|r| r.state.is_busy());
                if let (Some(call), Some(busy)) = (self.call.as_mut(), own_busy) {
                    if busy {
                        call.seen_busy = true;
                    } else if !self.pending.hangup
                        && (call.seen_busy || now_ms.saturating_sub(call.started_at_ms) >= NEVER_BUSY_MS)
                    {
                        // Busy before and idle now: the far end hung up; or
                        // never busy at all: the call failed at once.
                        self.call = None;
                        self.notice = Some(Notice::CallEnded);
                    }
                }
                self.endpoints = rows;
            }
            EndpointsFailed(e) => self.endpoints_error = Some(e),
            Refused(e) => self.notice = Some(Notice::Error(e)),
            DismissNotice => self.notice = None,
        }
        self
    }

    /// Seconds the current call has lasted at wall-clock `now_ms`.
    pub fn call_seconds(&self, now_ms: u64) -> Option<u64> {
        self.call.as_ref().map(|c| now_ms.saturating_sub(c.started_at_ms) / 1000)
    }
}

/// `m:ss` (or `h:mm:ss`) for a call timer.
pub fn format_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}
