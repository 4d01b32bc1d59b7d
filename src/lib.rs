//! # agent-console
//!
//! A call-centre agent's desk in a browser tab, in layers:
//!
//! - [`api`] (crate `agent-console-wire`): one module a vendor backend: typed
//!   models, request builders and tolerant decoders. Pure: no I/O, no clock.
//! - [`core`] (crate `agent-console-core`): session logic (token lifecycle,
//!   desk state). Sans-IO: time is passed in, I/O goes through the
//!   [`core::HttpClient`] trait.
//! - [`i18n`] (crate `agent-console-words`): Chinese and English words.
//! - `transport` (feature `transport`, part of `browser`): fetch, websocket,
//!   timers, uploads; what the console builds on.
//! - `js` (feature `js`; `browser` = `js` and every backend): the
//!   wasm-bindgen exports for embedders, one feature a backend (`pbx`,
//!   `dapi`, `callback`, `sipcdr`).
//!
//! The Yew console is its own crate, `agent-console-ui` (`crates/console`).
//!
//! The native build (no features) holds everything a Rust service needs and
//! runs its tests with plain `cargo test`.

// Nothing from outside may panic (a panic kills the whole wasm instance):
// library code decodes to typed errors. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![deny(clippy::await_holding_refcell_ref)]

/// The sans-IO core ([`agent_console_core`]): sessions, state machines, use cases.
pub use agent_console_core as core;
/// The wire layer ([`agent_console_wire`]): models, requests, decoders, signing.
pub use agent_console_wire as api;
/// People's words ([`agent_console_words`]), Chinese and English.
pub use agent_console_words as i18n;

#[cfg(feature = "transport")]
pub mod transport;

#[cfg(feature = "js")]
// Helpers shared by the backends' modules go unused in a one-backend build.
#[cfg_attr(not(feature = "browser"), allow(dead_code))]
pub mod js;
