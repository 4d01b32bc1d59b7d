//! The console's upload box (dapi `POST /d/upload`): the files chosen, the
//! progress of the upload under way and the links of the last one. A pure
//! reducer; the page holds the files and sends them.

use crate::Error;

/// The box's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadState {
    /// Names of the files chosen.
    pub chosen: Vec<String>,
    /// An upload is in flight.
    pub uploading: bool,
    /// How far it got, 0-100.
    pub percent: u8,
    /// The bytes' total is known (else the bar shows no percentage).
    pub total_known: bool,
    /// The links of the last upload that went through (absolute URLs).
    pub urls: Vec<String>,
    /// The last failure.
    pub error: Option<Error>,
}

/// Everything that changes the box.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UploadAction {
    /// Files were chosen (their names).
    Chose(Vec<String>),
    /// An upload began (ignored while one is in flight or none is chosen).
    Started,
    /// `loaded` of `total` bytes are sent (`total` 0: unknown).
    Progress {
        /// Bytes sent.
        loaded: f64,
        /// Bytes in all (0 when the browser cannot tell).
        total: f64,
    },
    /// The upload went through: these links replace the last ones.
    Done(Vec<String>),
    /// The upload failed: the last links stay.
    Failed(Error),
    /// Closes the error.
    DismissError,
}

/// `loaded` of `total` as a whole percentage, 0-100. An unknown (0,
/// negative, not finite) total gives 0.
pub fn percent(loaded: f64, total: f64) -> u8 {
    let known = total.is_finite() && total > 0.0 && loaded.is_finite() && loaded > 0.0;
    if !known {
        return 0;
    }
    let p = (loaded / total * 100.0).floor();
    if p >= 100.0 {
        100
    } else {
        p as u8
    }
}

impl UploadState {
    /// Whether "upload" may be pressed.
    pub fn can_start(&self) -> bool {
        !self.uploading && !self.chosen.is_empty()
    }

    /// Applies `action`.
    pub fn reduce(mut self, action: UploadAction) -> Self {
        use UploadAction as A;
        match action {
            A::Chose(names) => {
                self.chosen = names;
                if !self.uploading {
                    self.percent = 0;
                    self.total_known = false;
                }
            }
            A::Started => {
                if self.can_start() {
                    self.uploading = true;
                    self.percent = 0;
                    self.total_known = false;
                    self.error = None;
                }
            }
            A::Progress { loaded, total } => {
                if self.uploading {
                    self.total_known = total.is_finite() && total > 0.0;
                    self.percent = percent(loaded, total);
                }
            }
            A::Done(urls) => {
                if self.uploading {
                    self.uploading = false;
                    self.percent = 100;
                    self.total_known = true;
                    self.urls = urls;
                }
            }
            A::Failed(e) => {
                if self.uploading {
                    self.uploading = false;
                    self.percent = 0;
                    self.total_known = false;
                    self.error = Some(e);
                }
            }
            A::DismissError => self.error = None,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_console_wire::ApiError;
    use UploadAction as A;

    fn chosen() -> UploadState {
        UploadState::default().reduce(A::Chose(vec!["a.wav".into(), "b.png".into()]))
    }

    #[test]
    fn percentage_math() {
        assert_eq!(percent(0.0, 0.0), 0);
        assert_eq!(percent(500.0, 0.0), 0);
        assert_eq!(percent(1.0, -5.0), 0);
        assert_eq!(percent(f64::NAN, 100.0), 0);
        assert_eq!(percent(50.0, f64::INFINITY), 0);
        assert_eq!(percent(0.0, 100.0), 0);
        assert_eq!(percent(1.0, 3.0), 33);
        assert_eq!(percent(2.0, 3.0), 66);
        assert_eq!(percent(999.0, 1000.0), 99);
        assert_eq!(percent(1000.0, 1000.0), 100);
        assert_eq!(percent(2000.0, 1000.0), 100);
    }

    #[test]
    fn progress_with_unknown_total() {
        let s = chosen().reduce(A::Started).reduce(A::Progress { loaded: 4096.0, total: 0.0 });
        assert_eq!((s.percent, s.total_known), (0, false));
        let s = s.reduce(A::Progress { loaded: 50.0, total: 200.0 });
        assert_eq!((s.percent, s.total_known), (25, true));
        // Progress with nothing in flight is ignored.
        let idle = chosen().reduce(A::Progress { loaded: 50.0, total: 100.0 });
        assert_eq!(idle.percent, 0);
    }

    #[test]
    fn start_needs_files_and_clears_the_error() {
        let none = UploadState::default();
        assert!(!none.can_start());
        assert_eq!(none.clone().reduce(A::Started), none);
        let mut s = chosen();
        s.error = Some(Error::Network("x".into()));
        let s = s.reduce(A::Started);
        assert!(s.uploading);
        assert_eq!(s.error, None);
    }

    #[test]
    fn double_start_is_ignored() {
        let s = chosen().reduce(A::Started).reduce(A::Progress { loaded: 30.0, total: 100.0 });
        assert!(!s.can_start());
        let again = s.clone().reduce(A::Started);
        assert_eq!(again, s);
        assert_eq!(again.percent, 30);
    }

    #[test]
    fn success_replaces_the_list() {
        let mut s = chosen();
        s.urls = vec!["https://h/media/general_upload/old.txt".into()];
        let new = vec![
            "https://h/media/general_upload/a.wav".to_string(),
            "https://h/media/general_upload/b.png".to_string(),
        ];
        let s = s.reduce(A::Started).reduce(A::Done(new.clone()));
        assert!(!s.uploading);
        assert_eq!(s.urls, new);
        assert_eq!(s.percent, 100);
        assert!(s.can_start());
        // A late second answer changes nothing.
        assert_eq!(s.clone().reduce(A::Done(vec![])), s);
    }

    #[test]
    fn failure_keeps_the_last_list() {
        let first = vec!["https://h/media/general_upload/a.wav".to_string()];
        let s = chosen().reduce(A::Started).reduce(A::Done(first.clone()));
        let s = s.reduce(A::Started).reduce(A::Progress { loaded: 10.0, total: 100.0 });
        let err = Error::Api(ApiError::Refused { message: "文件过大".into() });
        let s = s.reduce(A::Failed(err.clone()));
        assert!(!s.uploading);
        assert_eq!(s.urls, first);
        assert_eq!(s.error, Some(err));
        assert_eq!(s.percent, 0);
        assert_eq!(s.reduce(A::DismissError).error, None);
    }
}
