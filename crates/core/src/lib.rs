//! # agent-console-core
//!
//! Session logic over the wire layer: pure, sans-IO. Time comes in as
//! [`Instant`] values; I/O goes through [`HttpClient`], which each platform
//! implements (the browser's fetch in `agent-console`, a native client in a
//! Rust service, the sandbox's router in its tests).

// Nothing from outside may panic (a panic kills the whole wasm instance):
// library code decodes to typed errors. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![deny(clippy::await_holding_refcell_ref)]

// Shared by every backend.
pub mod backoff;
mod error;
pub mod gateway;
pub mod paging;
pub mod session;
pub mod time;

// One folder per vendor backend, as in the wire layer, the JS package and the console.
pub mod callback;
pub mod dapi;
pub mod pbx;
pub mod sipcdr;

pub use callback::{AnySigner, CallbackSession, ClockSkew, SecretSigner, Signer, UrlSigner};
pub use dapi::softphone::{Softphone, SoftphoneEvent, SoftphoneSettings};
pub use dapi::DapiSession;
pub use error::Error;
pub use pbx::billing::{
    BillingEvent, BillingFeed, BillingOp, BillingSettings, BillingView, CdrStore, FeedState,
};
pub use pbx::settings::{Opened, PbxSettings};
pub use pbx::token::{TokenEvent, TokenManager, TokenTicket};
pub use session::{Clock, HttpClient, PbxSession};
pub use sipcdr::{BillSync, SipCdrSession};
pub use time::Instant;
