//! `CallbackClient` and `SipCdrClient` (the JS exports) in headless Chromium
//! against a running sandbox: signing through a URL, a function and a
//! secret, a server clock 10 minutes off, the call's legs and recording,
//! GetBill pages, and a sync interrupted by a lost reply.
#![cfg(target_arch = "wasm32")]

use agent_console::js::{CallbackClient, SipCdrClient};
use js_sys::Reflect;
use serde_json::json;
use std::collections::BTreeSet;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

mod web_support;
use web_support::{code, fails, get, js, ok, SANDBOX};

wasm_bindgen_test_configure!(run_in_browser);

const APP_ID: &str = "1696054309969104898";
const SECRET: &str = "sandbox-demo-app-secret-7c4a8d09";

async fn sandbox(path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let url = format!("{SANDBOX}{path}");
    let req = match body {
        Some(b) => gloo_net::http::Request::post(&url).json(&b).unwrap(),
        None => gloo_net::http::Request::get(&url).build().unwrap(),
    };
    let resp = req.send().await.unwrap();
    resp.json().await.unwrap_or(serde_json::Value::Null)
}

async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// Sets the callback server's clock `secs` off real time. Its clock is the
/// sandbox clock (which `web.rs` moves forward) plus its own offset, so the
/// sandbox's offset is compensated.
async fn set_server_skew(secs: i64) {
    let global_ms = sandbox("/sandbox/clock", None).await["offset_ms"].as_i64().unwrap_or(0);
    let offset = secs - global_ms.div_euclid(1000);
    sandbox("/sandbox/callback/settings", Some(json!({"clockOffsetSecs": offset}))).await;
}

fn signer_url_client() -> CallbackClient {
    CallbackClient::new(
        js(json!({"baseUrl": SANDBOX, "appId": APP_ID, "signer": format!("{SANDBOX}/sandbox/callback/sign")}))
            .unchecked_into(),
    )
    .unwrap()
}

fn call_arg(caller: &str, callee: &str) -> JsValue {
    js(json!({"caller": caller, "callee": callee, "outCallId": "web-test"}))
}

async fn phase(id: &str) -> serde_json::Value {
    sandbox(&format!("/sandbox/callback/status?callidentifier={id}"), None).await
}

async fn wait_for_phase(id: &str, want: &str) -> serde_json::Value {
    for _ in 0..100 {
        let s = phase(id).await;
        if s["phase"] == want {
            return s;
        }
        sleep(100).await;
    }
    panic!("call {id} never reached {want}: {:?}", phase(id).await);
}

#[wasm_bindgen_test]
async fn a_call_through_the_signer_url_rings_both_legs_ends_and_has_a_recording() {
    set_server_skew(0).await;
    let cb = signer_url_client();
    let r = ok(cb.call(call_arg("13800138000", "13912345678").unchecked_into())).await;
    assert!(cb.clock_offset_ms().abs() < 3_000.0, "no skew to correct: {}", cb.clock_offset_ms());
    let id = get(&r, "callidentifier").as_string().unwrap();
    assert!(!id.is_empty());
    wait_for_phase(&id, "talking").await;
    // Not over yet: no recording.
    assert_eq!(code(&fails(cb.recording(&id)).await), "425");
    ok(cb.end_call(&id)).await;
    let s = wait_for_phase(&id, "ended").await;
    assert_eq!(s["notification"]["reason"], "HangUp");
    assert_eq!(s["notification"]["outCallId"], "web-test");
    // Ending twice is refused with the sandbox's documented code.
    assert_eq!(code(&fails(cb.end_call(&id)).await), "409");
    let rec = ok(cb.recording(&id)).await;
    let url = get(&rec, "fileUrl").as_string().unwrap();
    let wav = gloo_net::http::Request::get(&url).send().await.unwrap().binary().await.unwrap();
    assert_eq!(wav.get(..4), Some(&b"RIFF"[..]), "a real WAV");
    assert!(wav.len() > 1000);
}

#[wasm_bindgen_test]
async fn a_failing_leg_reports_its_reason() {
    let cb = signer_url_client();
    let r = ok(cb.call(call_arg("13800138000", "13900000001").unchecked_into())).await;
    let id = get(&r, "callidentifier").as_string().unwrap();
    let s = wait_for_phase(&id, "ended").await;
    assert_eq!(s["notification"]["reason"], "CalleeBusy");
    assert_eq!(code(&fails(cb.recording(&id)).await), "404", "never answered: no recording");
}

#[wasm_bindgen_test]
async fn a_server_clock_ten_minutes_off_costs_one_retry() {
    set_server_skew(600).await;
    let cb = CallbackClient::new(
        js(json!({"baseUrl": SANDBOX, "appId": APP_ID, "appSecret": SECRET})).unchecked_into(),
    )
    .unwrap();
    let r = JsFuture::from(cb.call(call_arg("13800138000", "13912345678").unchecked_into())).await;
    set_server_skew(0).await;
    let r = r.unwrap_or_else(|e| panic!("rejected: {:?}", get(&e, "message")));
    let id = get(&r, "callidentifier").as_string().unwrap();
    let expected = 600_000.0;
    let got = cb.clock_offset_ms();
    assert!((got - expected).abs() < 3_000.0, "offset {got}, expected about {expected}");
    ok(cb.end_call(&id)).await;
}

#[wasm_bindgen_test]
async fn function_signers_work_and_bad_ones_are_caught() {
    // A function that signs on "its server" (here: the sandbox's signer) and returns a Promise.
    let f = Closure::<dyn Fn(f64) -> js_sys::Promise>::new(|ts: f64| {
        wasm_bindgen_futures::future_to_promise(async move {
            let v = sandbox(&format!("/sandbox/callback/sign?timestamp={ts:.0}"), None).await;
            Ok(JsValue::from_str(v["authorization"].as_str().unwrap_or("")))
        })
    });
    let settings = js(json!({"baseUrl": SANDBOX, "appId": APP_ID}));
    Reflect::set(&settings, &"signer".into(), f.as_ref()).unwrap();
    let cb = CallbackClient::new(settings.unchecked_into()).unwrap();
    let r = ok(cb.call(call_arg("13800138000", "13912345678").unchecked_into())).await;
    ok(cb.end_call(&get(&r, "callidentifier").as_string().unwrap())).await;

    // One that answers for another timestamp is refused before any request.
    let bad = Closure::<dyn Fn(f64) -> JsValue>::new(|_ts: f64| JsValue::from_str("MTIzNDU6MTo="));
    let settings = js(json!({"baseUrl": SANDBOX, "appId": APP_ID}));
    Reflect::set(&settings, &"signer".into(), bad.as_ref()).unwrap();
    let cb = CallbackClient::new(settings.unchecked_into()).unwrap();
    assert_eq!(
        code(&fails(cb.call(call_arg("13800138000", "13912345678").unchecked_into())).await),
        "signer"
    );
    // One that throws.
    let throws = Closure::<dyn Fn(f64) -> Result<JsValue, JsValue>>::new(|_ts: f64| {
        Err(js_sys::Error::new("no").into())
    });
    let settings = js(json!({"baseUrl": SANDBOX, "appId": APP_ID}));
    Reflect::set(&settings, &"signer".into(), throws.as_ref()).unwrap();
    let cb = CallbackClient::new(settings.unchecked_into()).unwrap();
    assert_eq!(code(&fails(cb.end_call("123")).await), "signer");
}

#[wasm_bindgen_test]
async fn bad_input_is_refused_before_any_request() {
    let cb = signer_url_client();
    let before = sandbox("/sandbox/state", None).await["callback"]["calls"].as_array().map(|a| a.len());
    let e = fails(
        cb.call(
            js(json!({"caller": "13800138000", "callee": "13912345678", "outCallId": "x".repeat(65)}))
                .unchecked_into(),
        ),
    )
    .await;
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("outCallId".into())));
    let e = fails(cb.call(call_arg("13800138000", "not a number").unchecked_into())).await;
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("callee"));
    let e = fails(cb.end_call("")).await;
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("callidentifier"));
    let after = sandbox("/sandbox/state", None).await["callback"]["calls"].as_array().map(|a| a.len());
    assert_eq!(before, after, "nothing placed");
    // Settings: both a secret and a signer, or neither, are refused by name.
    let e = CallbackClient::new(
        js(json!({"baseUrl": SANDBOX, "appId": APP_ID, "appSecret": SECRET, "signer": "/x"}))
            .unchecked_into(),
    )
    .err()
    .unwrap();
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("signer"));
    let e =
        CallbackClient::new(js(json!({"baseUrl": SANDBOX, "appId": APP_ID})).unchecked_into()).err().unwrap();
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("signer"));
    let e = CallbackClient::new(
        js(json!({"baseUrl": "ftp://x", "appId": APP_ID, "signer": "/s"})).unchecked_into(),
    )
    .err()
    .unwrap();
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("baseUrl"));
}

fn cdr(token: &str) -> SipCdrClient {
    SipCdrClient::new(js(json!({"apiUrl": format!("{SANDBOX}/sipcdr"), "token": token})).unchecked_into())
        .unwrap()
}

/// Bills placed from 2000 up to `end`, with `extra` fields.
fn window(end: &str, extra: serde_json::Value) -> JsValue {
    let mut q = json!({"starttime": "2000-01-01 00:00:00", "endtime": end, "callmethod": 0});
    if let (Some(q), Some(e)) = (q.as_object_mut(), extra.as_object()) {
        q.extend(e.clone());
    }
    js(q)
}

/// An end an hour before the sandbox's now: every bill placed before it has
/// ended, so the set is stable while the test runs.
async fn stable_end() -> String {
    let now = sandbox("/sandbox/clock", None).await["now_ms"].as_i64().unwrap();
    agent_console::api::time::CstDateTime::from_epoch_ms(now - 3_600_000).to_string()
}

async fn all_ids(c: &SipCdrClient, end: &str) -> BTreeSet<u64> {
    let mut ids = BTreeSet::new();
    for page in 1.. {
        let p = ok(c.bills(
            window(end, json!({"syncflag": 3, "itemsperpage": 1000, "currentpage": page})).unchecked_into(),
        ))
        .await;
        let bills = js_sys::Array::from(&get(&p, "bills"));
        for b in bills.iter() {
            ids.insert(get(&b, "id").as_f64().unwrap() as u64);
        }
        if bills.length() < 1000 {
            break;
        }
    }
    ids
}

#[wasm_bindgen_test]
async fn bill_pages_are_typed_and_bad_queries_refused() {
    let c = cdr("ABCDEFG");
    let end = stable_end().await;
    let window = |extra| window(&end, extra);
    let p = ok(c.bills(window(json!({"syncflag": 3, "itemsperpage": 5})).unchecked_into())).await;
    assert!(get(&p, "totalitems").as_f64().unwrap() > 5.0);
    let bills = js_sys::Array::from(&get(&p, "bills"));
    assert_eq!(bills.length(), 5);
    assert!(get(&bills.get(0), "id").as_f64().is_some());
    let e = fails(c.bills(window(json!({"itemsperpage": 0})).unchecked_into())).await;
    assert_eq!(
        (code(&e), get(&e, "field").as_string()),
        ("invalid_input".into(), Some("itemsperpage".into()))
    );
    let e = fails(c.bills(window(json!({"itemsperpage": 1001})).unchecked_into())).await;
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("itemsperpage"));
    let e = fails(c.bills(
        js(json!({"starttime": "2024-01-02 00:00:00", "endtime": "2024-01-01 00:00:00"})).unchecked_into(),
    ))
    .await;
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("endtime"));
    let e = fails(c.bills(window(json!({"direction": 9})).unchecked_into())).await;
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("direction"));
    let e = fails(cdr("WRONG").bills(window(json!({"syncflag": 3})).unchecked_into())).await;
    assert_eq!(code(&e), "401");
}

#[wasm_bindgen_test]
async fn a_sync_interrupted_by_a_lost_reply_loses_nothing_and_repeats_nothing() {
    let c = cdr("HIJKLMN");
    let end = stable_end().await;
    let expected = all_ids(&c, &end).await;
    assert!(expected.len() > 1000, "more than one page: {}", expected.len());
    let q = || window(&end, json!({"itemsperpage": 1000})).unchecked_into();
    // The first page's reply is lost after the server marked it fetched.
    sandbox("/sandbox/sipcdr/fail", Some(json!({"count": 1, "afterMarking": true}))).await;
    let e = fails(c.sync_bills(q())).await;
    assert_eq!(code(&e), "http_500");
    // The next run recovers the lost page and brings the rest.
    let first = ok(c.sync_bills(q())).await;
    let mut got: Vec<u64> =
        js_sys::Array::from(&first).iter().map(|b| get(&b, "id").as_f64().unwrap() as u64).collect();
    let unique: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "no bill handed over twice");
    assert_eq!(unique, expected, "no bill lost, including the 1000 of the lost reply");
    // Nothing new now, twice.
    for _ in 0..2 {
        let again = ok(c.sync_bills(q())).await;
        got.extend(js_sys::Array::from(&again).iter().map(|b| get(&b, "id").as_f64().unwrap() as u64));
    }
    assert_eq!(got.len(), expected.len());
}

#[wasm_bindgen_test]
async fn a_sync_without_filters_brings_every_kind_of_bill() {
    let c = cdr("ABCDEFG");
    let end = stable_end().await;
    let expected = all_ids(&c, &end).await;
    // No callmethod, no direction: the seed's server default (3, API calls
    // only) would leave inbound and hand-dialled bills unfetched for ever.
    let q = js(json!({"starttime": "2000-01-01 00:00:00", "endtime": end, "itemsperpage": 1000}));
    let got = js_sys::Array::from(&ok(c.sync_bills(q.unchecked_into())).await);
    let ids: BTreeSet<u64> = got.iter().map(|b| get(&b, "id").as_f64().unwrap() as u64).collect();
    let methods: BTreeSet<u64> = got.iter().map(|b| get(&b, "callmethod").as_f64().unwrap() as u64).collect();
    let directions: BTreeSet<String> = got.iter().filter_map(|b| get(&b, "direction").as_string()).collect();
    assert!(methods.contains(&0) && methods.contains(&3) && methods.len() > 2, "{methods:?}");
    assert!(directions.contains("callin") && directions.contains("callout"), "{directions:?}");
    assert_eq!(ids, expected, "every bill of the window, whatever its method");
}
