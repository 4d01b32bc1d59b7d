use thiserror::Error;

/// What is wrong with a refused value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Empty or missing.
    Required,
    /// Not digits, `*`, `#` with an optional leading `+` (≤ 32), nor an
    /// extension name.
    NotNumber,
    /// A number outside `min..=max`.
    OutOfRange {
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// Not an `http(s)://` URL.
    NotUrl,
    /// Not of the expected shape (the value holds the decoder's words).
    Malformed,
    /// Not a phone number: 5-20 digits with an optional leading `+`.
    NotPhoneNumber,
    /// Longer than `max` characters.
    TooLong {
        /// Most characters allowed.
        max: u64,
    },
    /// Not a `YYYY-MM-DD HH:MM:SS` time.
    NotDateTime,
    /// Not one of the allowed values (listed for the message).
    NotOneOf {
        /// The allowed values, e.g. `1, 2, 3`.
        allowed: &'static str,
    },
    /// Earlier than the field `other`.
    Before {
        /// The field it must not precede.
        other: &'static str,
    },
    /// Holds a control character (the value is shown escaped).
    ControlChars,
    /// Holds a space or a character that changes an Asterisk dial string
    /// ([`crate::ids::DIAL_META`]).
    DialChars,
    /// More than `max` bytes (files of an upload, together).
    TooManyBytes {
        /// Most bytes allowed.
        max: u64,
    },
}

/// A value refused before any request was sent, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {}", self.reason_en())]
pub struct InvalidInput {
    /// The field (as named in the JS API, e.g. `dest`).
    pub field: &'static str,
    /// What is wrong.
    pub problem: Problem,
    /// The refused value, for the message.
    pub value: String,
}

impl InvalidInput {
    /// A refusal of `value` in `field`.
    pub fn new(field: &'static str, problem: Problem, value: &str) -> Self {
        // Cap what we echo back: the value came from outside.
        let value: String = value.chars().take(80).collect();
        Self { field, problem, value }
    }

    /// The reason in English.
    pub fn reason_en(&self) -> String {
        let v = &self.value;
        match &self.problem {
            Problem::Required => "is required".into(),
            Problem::NotNumber => {
                format!(
                    "{v:?} is not a phone number (digits, * and #, optional leading +) or an extension name"
                )
            }
            Problem::OutOfRange { min, max } => format!("{v:?} must be {min}-{max}"),
            Problem::NotUrl => format!("{v:?} is not an http(s) URL"),
            Problem::Malformed => format!("malformed: {v}"),
            Problem::NotPhoneNumber => {
                format!("{v:?} is not a phone number (5-20 digits, optional leading +)")
            }
            Problem::TooLong { max } => format!("is longer than {max} characters"),
            Problem::NotDateTime => format!("{v:?} is not a time like 2024-01-31 08:00:00"),
            Problem::NotOneOf { allowed } => format!("{v:?} must be one of {allowed}"),
            Problem::Before { other } => format!("{v:?} is before {other}"),
            Problem::ControlChars => format!("{v:?} holds a control character"),
            Problem::TooManyBytes { max } => format!("{v} in all is over the limit of {}", bytes_text(*max)),
            Problem::DialChars => format!(
                "{v:?} may not hold spaces or any of {}",
                crate::ids::DIAL_META.chars().map(String::from).collect::<Vec<_>>().join(" ")
            ),
        }
    }
}

/// `n` bytes for a person: `10 MB`, `512 KB`, `12 bytes` (binary units,
/// written the way upload boxes usually do).
pub fn bytes_text(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n % MIB == 0 {
        format!("{} MB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MB", n as f64 / MIB as f64)
    } else if n >= KIB {
        format!("{} KB", n.div_ceil(KIB))
    } else {
        format!("{n} bytes")
    }
}

/// Errors of the api layer: bad input, vendor error codes, HTTP failures and
/// undecodable replies.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Refused before sending.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InvalidInput),
    /// The vendor answered with an error code (e.g. `600000`).
    #[error("vendor error {code}: {message}")]
    Vendor {
        /// The vendor's code, as sent.
        code: String,
        /// The vendor's own message (may be empty).
        message: String,
    },
    /// A non-success HTTP status without a usable envelope.
    #[error("HTTP {status}: {message}")]
    Http {
        /// The status.
        status: u16,
        /// A message from the body, if it had one.
        message: String,
    },
    /// The body was not what the documents describe.
    #[error("could not decode reply: {0}")]
    Decode(String),
    /// The server said no without a code (dapi's `success: false`).
    #[error("refused: {message}")]
    Refused {
        /// The server's words.
        message: String,
    },
    /// The reply (body or push frame) was longer than its cap and was not
    /// read: a broken or hostile server must not fill the tab's memory.
    #[error("reply over {limit} bytes refused")]
    TooLarge {
        /// The cap, bytes.
        limit: u64,
    },
}

impl ApiError {
    /// The stable code embedders switch on: the vendor code, `http_<status>`,
    /// `decode`, `refused`, `reply_too_large` or `invalid_input`.
    pub fn code(&self) -> String {
        match self {
            ApiError::InvalidInput(_) => "invalid_input".into(),
            ApiError::Vendor { code, .. } => code.clone(),
            ApiError::Http { status, .. } => format!("http_{status}"),
            ApiError::Decode(_) => "decode".into(),
            ApiError::Refused { .. } => "refused".into(),
            ApiError::TooLarge { .. } => "reply_too_large".into(),
        }
    }

    /// The server's own words, when it sent any: the `msg` of a vendor
    /// error (which often names the wrong parameter), the message of an
    /// HTTP error body, the text of a refusal. `None` for our own errors.
    pub fn vendor_message(&self) -> Option<&str> {
        let m = match self {
            ApiError::Vendor { message, .. } => message,
            ApiError::Http { message, .. } => message,
            ApiError::Refused { message } => message,
            ApiError::InvalidInput(_) | ApiError::Decode(_) | ApiError::TooLarge { .. } => return None,
        };
        let m = m.trim();
        (!m.is_empty()).then_some(m)
    }
}
