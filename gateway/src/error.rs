//! The gateway's one error enum: what stops it from starting or serving.

use thiserror::Error;

/// Why the gateway cannot start or a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The config file is unreadable or wrong (the message names the key).
    #[error("config: {0}")]
    Config(String),
    /// The database could not be opened or written.
    #[error("store: {0}")]
    Store(#[from] rusqlite::Error),
    /// A socket or file operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Hashing a password failed.
    #[error("password hash: {0}")]
    Hash(String),
}
