//! The voicemail page and the text-to-speech box as pure reducers.

use crate::pbx::handset::HandsetPlayback;
use crate::Error;
use agent_console_wire::pbx::voicemail::inbox_order;
use agent_console_wire::pbx::Voicemail;

/// Days back the inbox looks.
pub const INBOX_DAYS: i64 = 90;

/// What the voicemail page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoicemailView {
    /// Messages, unread first, newest first.
    pub list: Vec<Voicemail>,
    /// A load is running.
    pub loading: bool,
    /// Loaded at least once.
    pub loaded: bool,
    /// Marking this message.
    pub marking: Option<u64>,
    /// The message playing.
    pub playing: Option<u64>,
    /// The last failure.
    pub error: Option<Error>,
    /// This desk's extension: its mailbox is shown by default.
    pub own: String,
    /// Whether this desk may look into other mailboxes (`config.json`
    /// `supervisor`).
    pub supervisor: bool,
    /// The mailbox shown; `None`: every mailbox for a supervisor, none for
    /// an agent (no own extension to filter by).
    pub mailbox: Option<String>,
    /// Messages played on the desk phone (`call/handsetPlay`), by id.
    pub handset: HandsetPlayback<u64>,
}

/// Everything that changes the voicemail page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoicemailAction {
    /// A load left.
    LoadStarted,
    /// The messages arrived.
    Loaded(Vec<Voicemail>),
    /// The load failed (messages of before are kept).
    LoadFailed(Error),
    /// Marking left.
    MarkStarted(u64),
    /// The message is now `read`.
    Marked {
        /// Which.
        id: u64,
        /// Read or unread.
        read: bool,
    },
    /// Marking failed.
    MarkFailed(Error),
    /// This message plays.
    Playing(u64),
    /// The desk: its extension (its mailbox is shown) and whether it may
    /// choose other mailboxes.
    Setup {
        /// This desk's extension.
        own: String,
        /// May choose other mailboxes.
        supervisor: bool,
    },
    /// Show this mailbox (`None`: all); refused (own stays) unless a supervisor.
    ShowMailbox(Option<String>),
    /// Playing this message on the desk phone left.
    HandsetStarted(u64),
    /// The desk phone plays it.
    HandsetDone,
    /// The desk phone could not play it.
    HandsetFailed(Error),
    /// Input refused before any request.
    Refused(Error),
    /// Close the error.
    Dismiss,
    /// Signed out.
    Reset,
}

impl VoicemailView {
    /// The state after `action`.
    pub fn reduce(mut self, action: VoicemailAction) -> Self {
        use VoicemailAction::*;
        match action {
            LoadStarted => {
                self.loading = true;
                self.error = None;
            }
            Loaded(mut list) => {
                inbox_order(&mut list);
                self.list = list;
                self.loading = false;
                self.loaded = true;
            }
            LoadFailed(e) => {
                self.loading = false;
                self.loaded = true;
                self.error = Some(e);
            }
            MarkStarted(id) => {
                self.marking = Some(id);
                self.error = None;
            }
            Marked { id, read } => {
                self.marking = None;
                if let Some(m) = self.list.iter_mut().find(|m| m.id == id) {
                    m.is_read = read;
                }
                inbox_order(&mut self.list);
            }
            MarkFailed(e) => {
                self.marking = None;
                self.error = Some(e);
            }
            Playing(id) => self.playing = Some(id),
            Setup { own, supervisor } => {
                let own = own.trim().to_string();
                self.mailbox = (!own.is_empty()).then(|| own.clone());
                self.own = own;
                self.supervisor = supervisor;
            }
            ShowMailbox(m) => {
                if self.supervisor {
                    self.mailbox = m.map(|m| m.trim().to_string()).filter(|m| !m.is_empty());
                }
            }
            HandsetStarted(id) => {
                self.handset.start(id);
                self.error = None;
            }
            HandsetDone => self.handset.finish(),
            HandsetFailed(e) => {
                self.handset.fail();
                self.error = Some(e);
            }
            Refused(e) => self.error = Some(e),
            Dismiss => {
                self.error = None;
                self.handset.done = None;
            }
            Reset => self = VoicemailView::default(),
        }
        self
    }

    /// The messages of the mailbox shown (the list holds every mailbox's:
    /// the seed's `voicemail` route has no mailbox filter), in inbox order.
    /// Every mailbox only for a supervisor who chose it: an agent without
    /// an extension (or before [`VoicemailAction::Setup`]) sees nothing.
    pub fn shown(&self) -> Vec<&Voicemail> {
        match (self.mailbox.as_deref(), self.supervisor) {
            (Some(b), _) => self.list.iter().filter(|m| m.dst.trim() == b).collect(),
            (None, true) => self.list.iter().collect(),
            (None, false) => Vec::new(),
        }
    }

    /// Unread messages shown.
    pub fn unread(&self) -> usize {
        self.shown().iter().filter(|m| !m.is_read).count()
    }

    /// The mailboxes a supervisor can choose (own first, then every one
    /// that has messages); none for an agent.
    pub fn mailboxes(&self) -> Vec<String> {
        if !self.supervisor {
            return Vec::new();
        }
        let others = crate::pbx::agent_desk::distinct_sorted(self.list.iter().map(|m| m.dst.as_str()));
        std::iter::once(self.own.clone())
            .filter(|o| !o.is_empty())
            .chain(others.into_iter().filter(|b| *b != self.own))
            .collect()
    }
}

/// Synthesised speech ready to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechClip {
    /// The Blob URL of the audio.
    pub url: String,
    /// Bytes of audio.
    pub bytes: usize,
    /// `wav`.
    pub format: String,
    /// Who synthesised it.
    pub vendor: String,
    /// The text it says.
    pub text: String,
}

/// The text-to-speech box.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TtsView {
    /// The text typed.
    pub text: String,
    /// A synthesis is running.
    pub pending: bool,
    /// The last clip (its URL is revoked when replaced).
    pub clip: Option<SpeechClip>,
    /// The last failure.
    pub error: Option<Error>,
}

/// Everything that changes the TTS box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtsAction {
    /// Text typed.
    SetText(String),
    /// Synthesis left.
    Started,
    /// A clip is ready.
    Done(SpeechClip),
    /// Synthesis failed.
    Failed(Error),
    /// Close the error.
    Dismiss,
}

impl TtsView {
    /// The state after `action`.
    pub fn reduce(mut self, action: TtsAction) -> Self {
        match action {
            TtsAction::SetText(t) => self.text = t,
            TtsAction::Started => {
                self.pending = true;
                self.error = None;
            }
            TtsAction::Done(c) => {
                self.pending = false;
                self.clip = Some(c);
            }
            TtsAction::Failed(e) => {
                self.pending = false;
                self.error = Some(e);
            }
            TtsAction::Dismiss => self.error = None,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vm(id: u64, read: &str, date: &str) -> Voicemail {
        serde_json::from_value(
            json!({"id": id, "is_read": read, "calldate": date, "recording": "voicemail/x.wav"}),
        )
        .unwrap()
    }

    #[test]
    fn unread_first_and_marking() {
        // A supervisor looking at every mailbox (these messages name none).
        let all = VoicemailView { supervisor: true, ..VoicemailView::default() };
        let s = all.reduce(VoicemailAction::LoadStarted);
        assert!(s.loading);
        let s = s.reduce(VoicemailAction::Loaded(vec![
            vm(1, "yes", "2024-08-22 15:02:16"),
            vm(2, "no", "2024-08-21 10:00:00"),
            vm(3, "no", "2024-08-22 09:00:00"),
        ]));
        assert_eq!(s.list.iter().map(|m| m.id).collect::<Vec<_>>(), vec![3, 2, 1]);
        assert_eq!(s.unread(), 2);
        let s = s.reduce(VoicemailAction::MarkStarted(3));
        assert_eq!(s.marking, Some(3));
        let s = s.reduce(VoicemailAction::Marked { id: 3, read: true });
        assert_eq!(s.marking, None);
        assert_eq!(s.list.iter().map(|m| m.id).collect::<Vec<_>>(), vec![2, 1, 3]);
        assert_eq!(s.unread(), 1);
        let s = s.reduce(VoicemailAction::MarkStarted(1));
        let s = s.reduce(VoicemailAction::MarkFailed(Error::Network("x".into())));
        assert!(s.error.is_some() && s.marking.is_none());
        let s = s.reduce(VoicemailAction::LoadFailed(Error::Network("y".into())));
        assert_eq!(s.list.len(), 3, "messages of before stay");
        let s = s.reduce(VoicemailAction::Playing(2));
        assert_eq!(s.playing, Some(2));
        assert_eq!(s.reduce(VoicemailAction::Reset), VoicemailView::default());
    }

    fn vm_for(id: u64, dst: &str, read: &str) -> Voicemail {
        serde_json::from_value(json!({"id": id, "dst": dst, "is_read": read, "calldate": format!("2024-08-2{id} 10:00:00"), "recording": "voicemail/x.wav"}))
            .unwrap()
    }

    #[test]
    fn an_agent_sees_their_own_mailbox_a_supervisor_chooses() {
        let list = vec![
            vm_for(1, "8001", "no"),
            vm_for(2, "8002", "no"),
            vm_for(3, "8001", "yes"),
            vm_for(4, "8013", "no"),
        ];
        let agent = VoicemailView::default()
            .reduce(VoicemailAction::Setup { own: "8001".into(), supervisor: false })
            .reduce(VoicemailAction::Loaded(list.clone()));
        assert_eq!(agent.shown().iter().map(|m| m.id).collect::<Vec<_>>(), vec![1, 3], "dst = own extension");
        assert_eq!(agent.unread(), 1);
        assert!(agent.mailboxes().is_empty(), "no chooser for an agent");
        let agent = agent.reduce(VoicemailAction::ShowMailbox(None));
        assert_eq!(agent.shown().len(), 2, "an agent cannot widen the view");
        // Before the desk is known, or without an own extension: nothing, not everything.
        let early = VoicemailView::default().reduce(VoicemailAction::Loaded(list.clone()));
        assert!(early.shown().is_empty(), "no mailbox before Setup");
        let no_ext = VoicemailView::default()
            .reduce(VoicemailAction::Setup { own: " ".into(), supervisor: false })
            .reduce(VoicemailAction::Loaded(list.clone()));
        assert!(no_ext.shown().is_empty(), "no own extension: nothing shown");

        let sup = VoicemailView::default()
            .reduce(VoicemailAction::Setup { own: "8001".into(), supervisor: true })
            .reduce(VoicemailAction::Loaded(list));
        assert_eq!(sup.shown().len(), 2, "own mailbox by default");
        assert_eq!(sup.mailboxes(), ["8001", "8002", "8013"]);
        let sup = sup.reduce(VoicemailAction::ShowMailbox(Some("8002".into())));
        assert_eq!(sup.shown().iter().map(|m| m.id).collect::<Vec<_>>(), vec![2]);
        let sup = sup.reduce(VoicemailAction::ShowMailbox(None));
        assert_eq!((sup.shown().len(), sup.unread()), (4, 3));
        // A reload keeps the choice.
        let sup = sup
            .reduce(VoicemailAction::ShowMailbox(Some("8013".into())))
            .reduce(VoicemailAction::Loaded(vec![vm_for(4, "8013", "no")]));
        assert_eq!(sup.shown().len(), 1);
    }

    #[test]
    fn voicemail_on_the_desk_phone() {
        let s = VoicemailView::default().reduce(VoicemailAction::HandsetStarted(7));
        assert_eq!(s.handset.pending, Some(7));
        let s = s.reduce(VoicemailAction::HandsetDone);
        assert_eq!((s.handset.pending, s.handset.done), (None, Some(7)));
        let s = s.reduce(VoicemailAction::HandsetStarted(8));
        assert_eq!(s.handset.done, None);
        let s = s.reduce(VoicemailAction::HandsetFailed(Error::Network("x".into())));
        assert!(s.handset.pending.is_none() && s.error.is_some());
    }

    #[test]
    fn tts_box() {
        let s = TtsView::default().reduce(TtsAction::SetText("您好".into()));
        let s = s.reduce(TtsAction::Started);
        assert!(s.pending);
        let clip = SpeechClip {
            url: "blob:1".into(),
            bytes: 10,
            format: "wav".into(),
            vendor: "v".into(),
            text: "您好".into(),
        };
        let s = s.reduce(TtsAction::Done(clip.clone()));
        assert!(!s.pending);
        assert_eq!(s.clip, Some(clip));
        let s = s.reduce(TtsAction::Started).reduce(TtsAction::Failed(Error::Network("x".into())));
        assert!(!s.pending && s.error.is_some());
        assert!(s.clip.is_some(), "the last clip stays playable");
        assert_eq!(s.reduce(TtsAction::Dismiss).error, None);
    }
}
