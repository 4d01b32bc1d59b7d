//! # agent-console
//!
//! A call-centre agent's desk in a browser tab, in layers:
//!
//! - [`api`]: one module a vendor backend: typed models, request builders and
//!   tolerant decoders. Pure: no I/O, no clock.
//! - [`core`]: session logic (token lifecycle, desk state). Sans-IO: time is
//!   passed in, I/O goes through the [`core::HttpClient`] trait.
//! - `transport` (feature `browser`): fetch over gloo-net.
//! - `js` (feature `browser`): the wasm-bindgen exports for embedders.
//! - `ui` (feature `ui`): the Yew console.
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

pub mod api;
pub mod core;
pub mod i18n;

#[cfg(feature = "browser")]
pub mod transport;

#[cfg(feature = "browser")]
pub mod js;

#[cfg(feature = "ui")]
pub mod ui;
