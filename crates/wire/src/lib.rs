//! # agent-console-wire
//!
//! The wire layer of agent-console: for each vendor backend (`pbx`, `dapi`,
//! `callback`, `sipcdr`) its typed models, request builders, tolerant
//! decoders and signing. Pure: no I/O, no clock, no words for people (those
//! are in `agent-console-words`).

// Nothing from outside may panic (a panic kills the whole wasm instance):
// library code decodes to typed errors. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![deny(clippy::await_holding_refcell_ref)]

pub mod callback;
pub mod dapi;
pub mod de;
pub mod envelope;
mod error;
pub mod http;
pub mod ids;
pub mod js_int;
pub mod lang;
pub mod pbx;
pub mod sipcdr;
pub mod time;

pub use error::{bytes_text, ApiError, InvalidInput, Problem};
pub use http::{HttpRequest, HttpResponse, Method};
pub use lang::Lang;
