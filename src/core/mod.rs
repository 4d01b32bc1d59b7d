//! Session logic: pure, sans-IO. Time comes in as [`Instant`] values; I/O
//! goes through [`HttpClient`], which each platform implements.

pub mod desk;
mod error;
pub mod session;
pub mod time;
pub mod token;

pub use error::Error;
pub use session::{HttpClient, PbxSession};
pub use time::Instant;
pub use token::{TokenEvent, TokenManager, TokenTicket};
