//! The voicemail page and the text-to-speech box as pure reducers.

use super::Error;
use crate::api::pbx::voicemail::inbox_order;
use crate::api::pbx::Voicemail;

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
            Refused(e) => self.error = Some(e),
            Dismiss => self.error = None,
            Reset => self = VoicemailView::default(),
        }
        self
    }

    /// Unread messages.
    pub fn unread(&self) -> usize {
        self.list.iter().filter(|m| !m.is_read).count()
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
        let s = VoicemailView::default().reduce(VoicemailAction::LoadStarted);
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
