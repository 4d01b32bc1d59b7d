//! Helpers shared by the wasm browser tests (`web.rs`, `web_callback.rs`).
#![allow(dead_code)] // each test file uses its own subset

use js_sys::Reflect;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The sandbox `scripts/test.sh` started (`SANDBOX_URL` at compile time).
pub const SANDBOX: &str = match option_env!("SANDBOX_URL") {
    Some(u) => u,
    None => "http://127.0.0.1:18081",
};

/// A JSON value as a plain JS object.
pub fn js(v: serde_json::Value) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap()
}

/// Property `k` of `v`.
pub fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &k.into()).unwrap()
}

/// The stable `code` of a rejection, which must be an `Error`.
pub fn code(err: &JsValue) -> String {
    assert!(err.is_instance_of::<js_sys::Error>(), "rejections are Error objects: {err:?}");
    get(err, "code").as_string().unwrap_or_default()
}

/// The value `p` resolves to; a rejection fails the test with its code and message.
pub async fn ok(p: js_sys::Promise) -> JsValue {
    JsFuture::from(p)
        .await
        .unwrap_or_else(|e| panic!("rejected: {:?} {:?}", get(&e, "code"), get(&e, "message")))
}

/// The error `p` rejects with; resolving fails the test.
pub async fn fails(p: js_sys::Promise) -> JsValue {
    match JsFuture::from(p).await {
        Ok(v) => panic!("expected a rejection, got {v:?}"),
        Err(e) => e,
    }
}
