//! The JS layer for embedders: a thin, mechanical wrapper over
//! [`crate::core::PbxSession`]. It converts JS objects to checked Rust
//! values, runs the session, and turns every failure into an `Error` with a
//! stable `code` (see [`crate::core::Error::code`]). No logic lives here.
//!
//! ```ts
//! import init, { PbxClient } from './pkg/agent_console.js';
//! await init();
//! const pbx = new PbxClient({
//!   baseUrl: 'https://pbx.example:8443/dscom-api/public',
//!   clientId: 4, clientSecret: '…', username: 'api', password: '…',
//! });
//! await pbx.login();
//! const { uniqueid } = await pbx.dial({ extension: '8001', dest: '8002' });
//! try { await pbx.hangup({ extension: '8001' }); }
//! catch (e) { console.log(e.code, e.message); } // e.g. "600002"
//! ```

// One module a backend, each behind its cargo feature.
#[cfg(feature = "callback")]
mod callback;
#[cfg(feature = "dapi")]
mod dapi;
#[cfg(feature = "pbx")]
mod pbx;
#[cfg(feature = "pbx")]
mod pbx_desk;
#[cfg(feature = "sipcdr")]
mod sipcdr;

#[cfg(feature = "callback")]
pub use callback::CallbackClient;
#[cfg(feature = "dapi")]
pub use dapi::{parse_dapi_call_record, DapiClient, Softphone};
#[cfg(feature = "pbx")]
pub use pbx::PbxClient;
#[cfg(feature = "pbx")]
pub use pbx_desk::BillingSubscription;
#[cfg(feature = "sipcdr")]
pub use sipcdr::SipCdrClient;

use crate::api::{ApiError, InvalidInput, Problem};
use crate::core::Error;
use crate::i18n::Lang;
use crate::i18n::Message;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR: &'static str = r#"
/** Every rejection and throw of this package is an `Error` with these fields. */
export interface AgentConsoleError extends Error {
  /**
   * Stable code: a vendor code such as "600000", or "http_401", "network", "decode", "invalid_input", "signer",
   * "reply_too_large" (a reply over its route's cap: 4 MiB, 32 MiB for speech; a push frame over 1 MiB).
   */
  code: string;
  /** For "invalid_input": the refused field, as named in the JS API. */
  field?: string;
  /** The server's own words when it sent any (a vendor error's `msg`, an HTTP error body's message). */
  vendorMessage?: string;
}
/** Rows of a list reply that did not decode and were left out: how many, and the first reasons. */
export interface SkippedRows { count: number; reasons: string[]; }
/**
 * A whole number from a vendor (an id, a duration, a counter): a `number` when it is a
 * safe integer (`Number.isSafeInteger`), else its exact decimal string, e.g. `"9007199254740993"`.
 */
export type WireInt = number | string;
"#;

/// Converts a core error into a JS `Error` with `code` (and `field`).
pub(crate) fn to_js_error(e: &Error, lang: Lang) -> JsValue {
    let err = js_sys::Error::new(&e.message(lang));
    // Reflect::set only fails on frozen objects; a fresh Error is not.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    if let Some(f) = e.field() {
        let _ = js_sys::Reflect::set(&err, &"field".into(), &f.into());
    }
    if let Some(m) = e.vendor_message() {
        let _ = js_sys::Reflect::set(&err, &"vendorMessage".into(), &m.into());
    }
    err.into()
}

/// Encodes a list as a JS array that also carries `skipped` (`{count,
/// reasons}`): the array stays an array for callers that index it.
pub(crate) fn to_js_listed<T: serde::Serialize>(
    rows: &[T],
    skipped: &crate::api::de::Skipped,
) -> Result<JsValue, Error> {
    let arr = to_js(&rows)?;
    let s = to_js(skipped)?;
    // Reflect::set only fails on frozen objects; a fresh array is not.
    let _ = js_sys::Reflect::set(&arr, &"skipped".into(), &s);
    Ok(arr)
}

/// Decodes a JS argument object into `T`; a shape error names the argument.
pub(crate) fn from_js<T: serde::de::DeserializeOwned>(arg: &'static str, v: JsValue) -> Result<T, Error> {
    serde_wasm_bindgen::from_value(v).map_err(|e| {
        // serde's text says which field ("missing field `dest`").
        Error::Api(ApiError::InvalidInput(InvalidInput::new(arg, Problem::Malformed, &e.to_string())))
    })
}

/// Encodes a result as a plain JS object. Integers beyond 2^53 − 1 (ids,
/// durations, counters) go as exact decimal strings, smaller ones as numbers
/// ([`crate::api::js_int`]): serde-wasm-bindgen alone refuses them, and its
/// BigInt option would hand out values `JSON.stringify` throws on.
pub(crate) fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, Error> {
    use serde::Serialize;
    crate::api::js_int::JsSafe(v)
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::Api(ApiError::Decode(format!("to JS: {e}"))))
}

/// A string (or number) property of a JS settings object; absent, `null`,
/// `undefined` and `""` are `None`.
pub(crate) fn prop(obj: &JsValue, key: &'static str) -> Result<Option<String>, Error> {
    let v = js_sys::Reflect::get(obj, &key.into()).unwrap_or(JsValue::UNDEFINED);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    let s = match (v.as_string(), v.as_f64()) {
        (Some(s), _) => s,
        // Beyond 2^53 a JS number has already lost digits (a 19-digit APPID does).
        (None, Some(n)) if n.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&n) => {
            format!("{n:.0}")
        }
        (None, Some(_)) => {
            return Err(InvalidInput::new(
                key,
                Problem::Malformed,
                "a number too large for JS: pass it as a string",
            )
            .into())
        }
        _ => return Err(InvalidInput::new(key, Problem::Malformed, "expected a string").into()),
    };
    Ok((!s.trim().is_empty()).then_some(s))
}
