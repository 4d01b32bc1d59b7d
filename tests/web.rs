//! `PbxClient` (the JS export) in headless Chromium against a running
//! sandbox. `scripts/test.sh` starts the sandbox and sets `SANDBOX_URL` at
//! compile time.
#![cfg(target_arch = "wasm32")]

use agent_console::js::PbxClient;
use serde_json::json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

mod web_support;
use web_support::{code, fails, get, js, ok, SANDBOX};

wasm_bindgen_test_configure!(run_in_browser);

fn settings(secret: &str) -> serde_json::Value {
    json!({
        "baseUrl": format!("{SANDBOX}/dscom-api/public"),
        "clientId": 4,
        "clientSecret": secret,
        "username": "api",
        "password": "123456",
    })
}

fn client() -> PbxClient {
    PbxClient::new(js(settings("0ruQRB2r0RtkGdRuVCoiIltF8MjESwghKP8xEwcr")).unchecked_into()).unwrap()
}

async fn state_of(c: &PbxClient, ext: &str) -> String {
    let page =
        ok(c.endpoint_status(js(json!({"page": 1, "pageSize": 10, "endpoint": ext})).unchecked_into())).await;
    let rows: js_sys::Array = get(&page, "rows").unchecked_into();
    assert_eq!(rows.length(), 1);
    get(&rows.get(0), "state").as_string().unwrap()
}

async fn sandbox(method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let url = format!("{SANDBOX}{path}");
    let req = match body {
        Some(b) => gloo_net::http::Request::post(&url).json(&b).unwrap(),
        None => gloo_net::http::RequestBuilder::new(&url)
            .method(if method == "GET" { gloo_net::http::Method::GET } else { gloo_net::http::Method::POST })
            .build()
            .unwrap(),
    };
    let resp = req.send().await.unwrap();
    resp.json().await.unwrap_or(serde_json::Value::Null)
}

#[wasm_bindgen_test]
async fn sign_in_dial_and_hang_up() {
    let c = client();
    assert!(ok(c.login()).await.is_undefined(), "login resolves to nothing");
    assert_eq!(state_of(&c, "8003").await, "Not in use");
    let r = ok(c.dial(js(json!({"extension": "8003", "dest": "8004"})).unchecked_into())).await;
    let id = get(&r, "uniqueid").as_string().unwrap();
    let (head, tail) = id.split_once('.').unwrap();
    assert!(
        head.starts_with("hwd-") && head[4..].parse::<u64>().is_ok() && tail.parse::<u64>().is_ok(),
        "{id}"
    );
    assert_eq!(state_of(&c, "8003").await, "In use");
    ok(c.hangup(js(json!({"extension": "8003"})).unchecked_into())).await;
    assert_eq!(state_of(&c, "8003").await, "Not in use");
    // The hang-up wrote a CDR row for this call.
    let st = sandbox("GET", "/sandbox/state", None).await;
    let cdrs = st["pbx"]["cdr"].as_array().cloned().unwrap_or_default();
    assert!(cdrs.iter().any(|r| r["uniqueid"] == id.as_str()), "no CDR for {id} in {st}");
}

#[wasm_bindgen_test]
async fn vendor_errors_reject_with_their_code() {
    let c = client();
    let e = fails(c.hangup(js(json!({"extension": "8005"})).unchecked_into())).await;
    assert_eq!(code(&e), "600002");
    assert!(get(&e, "message").as_string().unwrap().contains("挂断异常"));
}

#[wasm_bindgen_test]
async fn bad_input_is_refused_before_any_request() {
    let c = client();
    let before = sandbox("GET", "/sandbox/state", None).await["pbx"]["calls"].as_array().map(|a| a.len());
    let e = fails(c.dial(js(json!({"extension": "8002", "dest": "80a2"})).unchecked_into())).await;
    assert_eq!(code(&e), "invalid_input");
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("dest"));
    let e = fails(c.dial(js(json!({"dest": "8001"})).unchecked_into())).await;
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("extension".into())));
    let e = fails(c.endpoint_status(js(json!({"page": 1, "pageSize": 5000})).unchecked_into())).await;
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("pageSize"));
    let e = fails(c.dial(JsValue::from_str("8002").unchecked_into())).await;
    assert_eq!(code(&e), "invalid_input");
    let after = sandbox("GET", "/sandbox/state", None).await["pbx"]["calls"].as_array().map(|a| a.len());
    assert!(before.is_some(), "the sandbox lists its calls");
    assert_eq!(before, after, "no call was placed");
}

#[wasm_bindgen_test]
fn bad_settings_throw_naming_the_field() {
    let mut s = settings("x");
    s["baseUrl"] = json!("ftp://nowhere");
    let e = PbxClient::new(js(s).unchecked_into()).err().expect("must throw");
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("baseUrl".into())));
    let e = PbxClient::new(js(json!({"baseUrl": format!("{SANDBOX}/dscom-api/public")})).unchecked_into())
        .err()
        .unwrap();
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("clientId"));
}

#[wasm_bindgen_test]
async fn wrong_secret_is_credentials_rejected_and_stops_asking() {
    let c = PbxClient::new(js(settings("wrong")).unchecked_into()).unwrap();
    let e = fails(c.login()).await;
    // The server's 401 invalid_client latches: no call asks for a token again.
    assert_eq!(code(&e), "credentials_rejected");
    assert!(get(&e, "message").as_string().unwrap_or_default().contains("HTTP 401"));
    let e = fails(c.hangup(js(json!({"extension": "8001"})).unchecked_into())).await;
    assert_eq!(code(&e), "credentials_rejected");
}

#[wasm_bindgen_test]
async fn an_expired_token_is_replaced_and_the_call_retried() {
    let c = client();
    ok(c.login()).await;
    // Move the sandbox past the token's lifetime: the next call gets a 401,
    // the client fetches a fresh token and retries once, transparently.
    sandbox("POST", "/sandbox/clock", Some(json!({"advance_secs": 1801}))).await;
    let state = state_of(&c, "8001").await;
    assert!(["Not in use", "In use"].contains(&state.as_str()), "{state}");
}

#[wasm_bindgen_test]
async fn an_unreachable_server_is_a_network_error() {
    let mut s = settings("x");
    s["baseUrl"] = json!("http://127.0.0.1:9/dscom-api/public");
    let c = PbxClient::new(js(s).unchecked_into()).unwrap();
    let e = fails(c.login()).await;
    assert_eq!(code(&e), "network");
}

#[wasm_bindgen_test]
fn each_console_gets_its_own_retry_jitter_seed() {
    // From Web Crypto: a thousand seeds in one page, none zero, none twice
    // (the clock alone gave consoles opened together the same seed).
    let seeds: std::collections::BTreeSet<u64> =
        (0..1000).map(|_| agent_console::transport::jitter_seed()).collect();
    assert_eq!(seeds.len(), 1000);
    assert!(!seeds.contains(&0));
    // Both halves are random, not just the low bits.
    assert!(seeds.iter().any(|s| s >> 32 != 0) && seeds.iter().any(|s| s & 0xFFFF_FFFF != 0));
}
