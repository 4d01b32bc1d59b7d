use agent_console_wire::ApiError;
use thiserror::Error;

/// Errors of a session: an api-layer error, or a request that never got an
/// answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Refused input, vendor code, HTTP status or undecodable reply.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// No answer: offline, DNS, CORS, connection reset, timeout.
    #[error("network error: {0}")]
    Network(String),
    /// The session was signed out; open a new one.
    #[error("signed out")]
    SignedOut,
    /// The server refused the sign-in credentials (the password grant got
    /// this HTTP 4xx). No token request leaves until an explicit sign-in:
    /// retrying on every poll would lock the shared API account.
    #[error("credentials rejected: {0}")]
    CredentialsRejected(ApiError),
    /// The callback signer (a function or URL of the embedder's) failed or
    /// returned an unusable header.
    #[error("signer failed: {0}")]
    Signer(String),
    /// The action does not fit the current state (answering while already
    /// in a call, hanging up with no call).
    #[error("not now: {0}")]
    InvalidState(&'static str),
    /// A "load all pages" walk stopped before the end (see
    /// [`crate::paging`]): the server repeated a page (it ignores
    /// paging) or the walk reached its cap. What was read is kept.
    #[error("{list}: stopped after {rows} rows ({end})")]
    Truncated {
        /// The list walked (`cdr/list`, `cdr`, `voicemail`, `GetBill`).
        list: &'static str,
        /// Why it stopped.
        end: crate::paging::WalkEnd,
        /// Rows read (as sent).
        rows: u64,
    },
}

impl From<agent_console_wire::InvalidInput> for Error {
    fn from(e: agent_console_wire::InvalidInput) -> Self {
        Error::Api(ApiError::InvalidInput(e))
    }
}

impl Error {
    /// The stable code embedders switch on (`"600000"`, `"http_401"`,
    /// `"network"`, `"decode"`, `"invalid_input"`, `"credentials_rejected"`,
    /// `"truncated"`).
    pub fn code(&self) -> String {
        match self {
            Error::Api(e) => e.code(),
            Error::Network(_) => "network".into(),
            Error::SignedOut => "signed_out".into(),
            Error::CredentialsRejected(_) => "credentials_rejected".into(),
            Error::Signer(_) => "signer".into(),
            Error::InvalidState(_) => "invalid_state".into(),
            Error::Truncated { .. } => "truncated".into(),
        }
    }

    /// The field a refused input names, if this is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::Api(ApiError::InvalidInput(i)) => Some(i.field),
            _ => None,
        }
    }

    /// The server's own words (see [`ApiError::vendor_message`]), if any.
    pub fn vendor_message(&self) -> Option<&str> {
        match self {
            Error::Api(e) | Error::CredentialsRejected(e) => e.vendor_message(),
            _ => None,
        }
    }
}
