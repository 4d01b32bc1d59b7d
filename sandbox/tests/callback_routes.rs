//! The callback routes (seed 002, docs/callback-sipcdr.md) driven in-process through
//! `app(settings)` with `oneshot`, plus one real webhook receiver on a local port.

use std::time::Duration;

use agent_console_sandbox::callback::{DEMO_APPID, DEMO_APPSECRET};
use agent_console_sandbox::{app, Settings};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tower::ServiceExt;

mod support;
use support::receive_one;

const CALL: &str = "/api/qmc-call/openapi/v1/call";
const CALL_ALT: &str = "/api/qmc-call/openapi/api/v1/call";
const END: &str = "/api/qmc-call/openapi/v1/endCall";
const END_ALT: &str = "/api/qmc-call/openapi/api/v1/endCall";
const RECORD: &str = "/api/qmc-cdr/openapi/v1/record";
const RECORD_ALT: &str = "/api/qmc-cdr/openapi/api/v1/record";

/// Ordinary numbers: no planned failure.
const CALLER: &str = "13987654321";
const CALLEE: &str = "13912345678";

/// The header value computed independently of the sandbox: base64("APPID:ts:md5hex").
fn auth_for(appid: &str, secret: &str, ts: i64) -> String {
    let sign: String =
        Md5::digest(format!("{appid}:{secret}:{ts}")).iter().map(|b| format!("{b:02x}")).collect();
    base64::engine::general_purpose::STANDARD.encode(format!("{appid}:{ts}:{sign}"))
}

fn auth(ts: i64) -> String {
    auth_for(DEMO_APPID, DEMO_APPSECRET, ts)
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

struct Sb {
    app: Router,
}

impl Sb {
    fn new() -> Self {
        Self::with(Settings::default())
    }

    fn with(settings: Settings) -> Self {
        Self { app: app(settings) }
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply { status, headers, body }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(
            Request::builder()
                .uri(uri)
                .header(header::HOST, "sandbox.test:8081")
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post_json(&self, uri: &str, body: Value) -> Value {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let r = self.send(req).await;
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    /// A vendor request with this `Authorization` (or none) and raw body.
    async fn vendor_raw(&self, path: &str, authorization: Option<&str>, body: &str) -> Reply {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, "sandbox.test:8081")
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8");
        if let Some(a) = authorization {
            req = req.header(header::AUTHORIZATION, a);
        }
        self.send(req.body(Body::from(body.to_string())).unwrap()).await
    }

    /// A correctly signed vendor request; expects HTTP 200 and returns the envelope.
    async fn vendor(&self, path: &str, body: Value) -> Value {
        let ts = self.cb_now().await;
        let r = self.vendor_raw(path, Some(&auth(ts)), &body.to_string()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
        assert!(r.headers.contains_key(header::DATE));
        r.json()
    }

    async fn state(&self) -> Value {
        self.get("/sandbox/state").await.json()
    }

    /// The callback clock's now, ms.
    async fn cb_now(&self) -> i64 {
        self.state().await["callback"]["now_ms"].as_i64().unwrap()
    }

    /// The sandbox clock's now, ms.
    async fn sandbox_now(&self) -> i64 {
        self.state().await["clock"]["now_ms"].as_i64().unwrap()
    }

    async fn advance(&self, secs: f64) {
        self.post_json("/sandbox/clock", json!({ "advance_secs": secs })).await;
    }

    async fn settings(&self, body: Value) -> Value {
        self.post_json("/sandbox/callback/settings", body).await
    }

    async fn call(&self, caller: &str, callee: &str) -> String {
        let v = self.vendor(CALL, json!({"caller": caller, "callee": callee})).await;
        assert_ok(&v);
        let id = v["data"]["callidentifier"].as_str().unwrap().to_string();
        assert!(id.len() == 18 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
        id
    }

    async fn status(&self, id: &str) -> Value {
        let r = self.get(&format!("/sandbox/callback/status?callidentifier={id}")).await;
        assert_eq!(r.status, StatusCode::OK);
        r.json()
    }

    async fn phase(&self, id: &str) -> String {
        self.status(id).await["phase"].as_str().unwrap().to_string()
    }

    /// The call's entry in the state dump.
    async fn dumped(&self, id: &str) -> Value {
        let st = self.state().await;
        st["callback"]["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["callidentifier"] == id)
            .unwrap()
            .clone()
    }
}

fn assert_ok(v: &Value) {
    assert_eq!((v["code"].clone(), v["success"].clone()), (json!(200), json!(true)), "{v}");
    assert_eq!(v["msg"], "操作成功", "{v}");
}

fn assert_code(v: &Value, code: u16) {
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["data"], Value::Null, "{v}");
    assert!(!v["msg"].as_str().unwrap().is_empty(), "{v}");
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into epoch seconds.
fn parse_http_date(s: &str) -> i64 {
    let parts: Vec<&str> = s.split(' ').collect();
    assert_eq!(parts.len(), 6, "{s}");
    assert!(parts[0].ends_with(',') && parts[5] == "GMT", "{s}");
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let m = months.iter().position(|x| *x == parts[2]).unwrap() as i64 + 1;
    let (d, y): (i64, i64) = (parts[1].parse().unwrap(), parts[3].parse().unwrap());
    let t: Vec<i64> = parts[4].split(':').map(|x| x.parse().unwrap()).collect();
    // Days from civil (Hinnant).
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]
}

// ---------------------------------------------------------------- signature

#[tokio::test]
async fn signed_requests_are_accepted_on_both_path_forms() {
    let sb = Sb::new();
    let a = sb.call(CALLER, CALLEE).await;
    let v = sb.vendor(CALL_ALT, json!({"caller": CALLER, "callee": CALLEE})).await;
    assert_ok(&v);
    let b = v["data"]["callidentifier"].as_str().unwrap().to_string();
    assert_ne!(a, b);
    // record before the end is 425 on both forms (route found, signature accepted).
    for path in [RECORD, RECORD_ALT] {
        assert_code(&sb.vendor(path, json!({ "callidentifier": a })).await, 425);
    }
    let v = sb.vendor(END, json!({ "callidentifier": a })).await;
    assert_ok(&v);
    assert_eq!(v["data"], Value::Null);
    assert_ok(&sb.vendor(END_ALT, json!({ "callidentifier": b })).await);
    // The seed's example pads the id with a space; numbers are accepted too.
    let c = sb.call(" 13987654321", "+8613912345678").await;
    assert_ok(&sb.vendor(END, json!({ "callidentifier": format!(" {c}") })).await);
    let d = sb.call(CALLER, CALLEE).await;
    let numeric: u64 = d.parse().unwrap();
    assert_ok(&sb.vendor(END, json!({ "callidentifier": numeric })).await);
}

#[tokio::test]
async fn bad_authorization_is_401_and_skewed_timestamp_is_403() {
    let sb = Sb::new();
    let body = json!({"caller": CALLER, "callee": CALLEE}).to_string();
    let now = sb.cb_now().await;
    let enc = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let wrong_sign = enc(format!("{DEMO_APPID}:{now}:{}", "0".repeat(32)));
    let wrong_secret = auth_for(DEMO_APPID, "not-the-secret", now);
    let other_app = auth_for("1234567890", DEMO_APPSECRET, now);
    let not_b64 = "%%%not base64%%%".to_string();
    let two_parts = enc(format!("{DEMO_APPID}:{now}"));
    for (what, header) in [
        ("missing", None),
        ("wrong sign", Some(wrong_sign)),
        ("wrong secret", Some(wrong_secret)),
        ("unknown APPID", Some(other_app)),
        ("not base64", Some(not_b64)),
        ("two parts", Some(two_parts)),
    ] {
        let r = sb.vendor_raw(CALL, header.as_deref(), &body).await;
        assert_eq!(r.status, StatusCode::OK, "{what}");
        assert!(r.headers.contains_key(header::DATE), "{what}: refusals carry Date too");
        assert_code(&r.json(), 401);
    }
    for off in [-360_000, 360_000] {
        let r = sb.vendor_raw(CALL, Some(&auth(now + off)), &body).await;
        assert_code(&r.json(), 403);
        assert!(r.headers.contains_key(header::DATE));
    }
    // 4 minutes off is inside the window.
    let r = sb.vendor_raw(CALL, Some(&auth(now - 240_000)), &body).await;
    assert_ok(&r.json());
    // Nothing was placed by the refused requests.
    assert_eq!(sb.state().await["callback"]["calls"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn date_header_follows_the_callback_clock_offset() {
    let sb = Sb::new();
    let body = json!({"caller": CALLER, "callee": CALLEE}).to_string();
    let v = sb.settings(json!({ "clockOffsetSecs": 600 })).await;
    assert_eq!(v["clockOffsetSecs"], 600.0);
    // A client whose clock agrees with the sandbox is now 10 minutes behind.
    let sandbox_now = sb.sandbox_now().await;
    let r = sb.vendor_raw(CALL, Some(&auth(sandbox_now)), &body).await;
    assert_code(&r.json(), 403);
    // …and the refusal's Date tells it the server's time.
    let date = r.headers[header::DATE].to_str().unwrap().to_string();
    let server_secs = parse_http_date(&date);
    assert!((server_secs - (sandbox_now / 1000 + 600)).abs() <= 2, "{date} vs {sandbox_now}");
    let r = sb.vendor_raw(CALL, Some(&auth(server_secs * 1000)), &body).await;
    assert_ok(&r.json());
    // Knob from the command line.
    let sb = Sb::with(Settings { callback_clock_offset_secs: -600, ..Settings::default() });
    let sandbox_now = sb.sandbox_now().await;
    assert_code(&sb.vendor_raw(CALL, Some(&auth(sandbox_now)), &body).await.json(), 403);
    let cb_now = sb.cb_now().await;
    assert!((sandbox_now - 600_000 - cb_now).abs() < 2000);
    assert_ok(&sb.vendor_raw(CALL, Some(&auth(cb_now)), &body).await.json());
}

#[tokio::test]
async fn cors_exposes_date() {
    let sb = Sb::new();
    let req = Request::builder()
        .uri("/sandbox/callback/sign?timestamp=1")
        .header(header::ORIGIN, "http://127.0.0.1:9999")
        .body(Body::empty())
        .unwrap();
    let r = sb.send(req).await;
    let exposed = r.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS].to_str().unwrap().to_lowercase();
    assert!(exposed.contains("date"), "{exposed}");
    assert!(r.headers.contains_key(header::DATE));
}

// ---------------------------------------------------------------- parameters

#[tokio::test]
async fn bad_parameters_are_400_naming_the_field() {
    let sb = Sb::new();
    let long = "x".repeat(65);
    for (body, field) in [
        (json!({"callee": CALLEE}), "caller"),
        (json!({"caller": "", "callee": CALLEE}), "caller"),
        (json!({"caller": "abc", "callee": CALLEE}), "caller"),
        (json!({"caller": "1234", "callee": CALLEE}), "caller"),
        (json!({"caller": "1".repeat(21), "callee": CALLEE}), "caller"),
        (json!({"caller": CALLER}), "callee"),
        (json!({"caller": CALLER, "callee": "139-1234"}), "callee"),
        (json!({"caller": CALLER, "callee": ["13912345678"]}), "callee"),
        (json!({"caller": CALLER, "callee": CALLEE, "outCallId": long}), "outCallId"),
        (json!({"caller": CALLER, "callee": CALLEE, "outCallId": 1.5}), "outCallId"),
    ] {
        let v = sb.vendor(CALL, body.clone()).await;
        assert_code(&v, 400);
        let msg = v["msg"].as_str().unwrap();
        assert!(msg.starts_with("参数错误：") && msg.contains(field), "{body} → {msg}");
    }
    // 64 characters is fine.
    let ok = sb.vendor(CALL, json!({"caller": CALLER, "callee": CALLEE, "outCallId": "y".repeat(64)})).await;
    assert_ok(&ok);
    for path in [END, RECORD] {
        let v = sb.vendor(path, json!({})).await;
        assert_code(&v, 400);
        assert!(v["msg"].as_str().unwrap().contains("callidentifier"), "{v}");
        let v = sb.vendor(path, json!({"callidentifier": "123456789012345678"})).await;
        assert_code(&v, 404);
    }
    // Not JSON at all.
    let ts = sb.cb_now().await;
    let r = sb.vendor_raw(CALL, Some(&auth(ts)), "caller=1").await;
    assert_code(&r.json(), 400);
    // Unknown route under the prefix: a real 404, still an envelope with a Date.
    let r = sb.vendor_raw("/api/qmc-call/openapi/v1/nope", None, "{}").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.headers.contains_key(header::DATE));
    assert_eq!(r.json()["code"], 404);
}

// ---------------------------------------------------------------- call legs

#[tokio::test]
async fn a_call_rings_both_legs_talks_and_hangs_up_after_30_s() {
    let sb = Sb::new();
    let v = sb.vendor(CALL, json!({"caller": CALLER, "callee": CALLEE, "outCallId": "order-42"})).await;
    let id = v["data"]["callidentifier"].as_str().unwrap().to_string();
    assert_eq!(sb.phase(&id).await, "caller_ringing");
    assert_eq!(sb.status(&id).await["notification"], Value::Null);
    sb.advance(2.0).await;
    assert_eq!(sb.phase(&id).await, "callee_ringing");
    sb.advance(1.5).await;
    assert_eq!(sb.phase(&id).await, "talking");
    sb.advance(25.0).await;
    assert_eq!(sb.phase(&id).await, "talking");
    sb.advance(5.0).await;
    let st = sb.status(&id).await;
    assert_eq!(st["phase"], "ended");
    assert_eq!(st["callidentifier"], id.as_str());
    let n = &st["notification"];
    assert_eq!(n["callidentifier"], id.as_str());
    assert_eq!(n["status"], "Disconnected");
    assert_eq!(n["reason"], "HangUp");
    assert_eq!(n["callDuration"], "30");
    assert_eq!(n["recordingResult"], "success");
    assert_eq!(n["outCallId"], "order-42");
    for key in ["startTime", "answerTime", "endTime"] {
        let t = n[key].as_str().unwrap();
        assert!(t.len() == 19 && &t[4..5] == "-" && &t[10..11] == " ", "{key}: {t}");
    }
    let d = sb.dumped(&id).await;
    assert_eq!(d["end_ms"].as_i64().unwrap() - d["created_ms"].as_i64().unwrap(), 33_000);
}

#[tokio::test]
async fn numbers_ending_in_the_magic_digits_fail_with_their_reason() {
    let sb = Sb::new();
    let cases = [
        ("13900000001", CALLEE, "CallerBusy", 500, false, false),
        ("13900000002", CALLEE, "CallerNoAnswer", 1500, false, false),
        ("13900000003", CALLEE, "CallerFailure", 200, false, false),
        (CALLER, "13800000001", "CalleeBusy", 2000, true, false),
        (CALLER, "13800000002", "CalleeNoAnswer", 3000, true, false),
        (CALLER, "13800000003", "CalleeFailure", 1700, true, false),
        (CALLER, "13800000004", "CallerAbandon", 2500, true, false),
        (CALLER, "13800000009", "Other", 2000, true, false),
        // A failing caller wins over a failing callee: it happens first.
        ("13900000001", "13800000001", "CallerBusy", 500, false, false),
    ];
    let mut ids = Vec::new();
    for case in cases {
        let id = sb.call(case.0, case.1).await;
        // Callee failures are all 1.7 s or more after the call: still going right after.
        if case.4 {
            assert_ne!(sb.phase(&id).await, "ended", "{case:?}");
        }
        ids.push(id);
    }
    sb.advance(3.5).await;
    for (id, (caller, callee, reason, at, started, answered)) in ids.iter().zip(cases) {
        let st = sb.status(id).await;
        assert_eq!(st["phase"], "ended", "{caller} {callee}");
        let n = &st["notification"];
        assert_eq!(n["reason"], reason, "{caller} {callee}: {n}");
        assert_eq!(n.get("startTime").is_some(), started, "{n}");
        assert_eq!(n.get("answerTime").is_some(), answered, "{n}");
        assert!(n.get("callDuration").is_none() && n.get("recordingResult").is_none(), "{n}");
        assert!(n.get("outCallId").is_none(), "{n}");
        let d = sb.dumped(id).await;
        assert_eq!(d["end_ms"].as_i64().unwrap() - d["created_ms"].as_i64().unwrap(), at, "{reason}");
        // Nothing was recorded.
        assert_code(&sb.vendor(RECORD, json!({ "callidentifier": id })).await, 404);
    }
}

#[tokio::test]
async fn end_call_hangs_up_and_a_second_end_call_is_409() {
    let sb = Sb::new();
    // While talking: HangUp, answered.
    let talking = sb.call(CALLER, CALLEE).await;
    // While the callee rings: CallerAbandon.
    let ringing = sb.call(CALLER, CALLEE).await;
    sb.advance(2.0).await;
    assert_ok(&sb.vendor(END, json!({ "callidentifier": ringing })).await);
    sb.advance(8.0).await;
    assert_eq!(sb.phase(&talking).await, "talking");
    assert_ok(&sb.vendor(END, json!({ "callidentifier": talking })).await);

    let n = sb.status(&talking).await["notification"].clone();
    assert_eq!(n["reason"], "HangUp");
    assert!(n["answerTime"].is_string() && n["recordingResult"] == "success", "{n}");
    let secs: i64 = n["callDuration"].as_str().unwrap().parse().unwrap();
    assert!((6..=8).contains(&secs), "{n}");
    let n = sb.status(&ringing).await["notification"].clone();
    assert_eq!(n["reason"], "CallerAbandon");
    assert!(n["startTime"].is_string() && n.get("answerTime").is_none(), "{n}");

    for id in [&talking, &ringing] {
        assert_code(&sb.vendor(END, json!({ "callidentifier": id })).await, 409);
    }
    // A call that ended by itself cannot be ended either.
    let failed = sb.call("13900000003", CALLEE).await;
    sb.advance(1.0).await;
    assert_code(&sb.vendor(END_ALT, json!({ "callidentifier": failed })).await, 409);
    // The end is frozen: much later, and with the clock moved back, nothing changes.
    let before = sb.status(&talking).await;
    sb.advance(100.0).await;
    sb.settings(json!({ "clockOffsetSecs": -3600 })).await;
    assert_eq!(sb.status(&talking).await, before);
}

// ---------------------------------------------------------------- recordings

#[tokio::test]
async fn recording_is_425_then_a_wav_url_then_410_after_three_days() {
    let sb = Sb::new();
    let id = sb.call(CALLER, CALLEE).await;
    sb.advance(5.0).await;
    assert_code(&sb.vendor(RECORD, json!({ "callidentifier": id })).await, 425);
    assert_eq!(sb.get(&format!("/sandbox/callback/recordings/{id}.wav")).await.status, StatusCode::NOT_FOUND);
    assert_ok(&sb.vendor(END, json!({ "callidentifier": id })).await);

    let v = sb.vendor(RECORD_ALT, json!({ "callidentifier": id })).await;
    assert_ok(&v);
    let url = v["data"]["fileUrl"].as_str().unwrap();
    assert_eq!(url, format!("http://sandbox.test:8081/sandbox/callback/recordings/{id}.wav"));
    // The seed calls callidentifier a "Url 参数": the query string works too.
    let ts = sb.cb_now().await;
    let r = sb.vendor_raw(&format!("{RECORD}?callidentifier={id}"), Some(&auth(ts)), "").await;
    assert_eq!(r.json()["data"]["fileUrl"], url);

    let path = url.strip_prefix("http://sandbox.test:8081").unwrap();
    let r = sb.get(path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "audio/wav");
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let w = &r.body;
    assert_eq!(&w[0..4], b"RIFF");
    assert_eq!(u32::from_le_bytes(w[4..8].try_into().unwrap()) as usize, w.len() - 8);
    assert_eq!(&w[8..16], b"WAVEfmt ");
    assert_eq!(u16::from_le_bytes([w[20], w[21]]), 1, "PCM");
    assert_eq!(u16::from_le_bytes([w[22], w[23]]), 1, "mono");
    assert_eq!(u32::from_le_bytes(w[24..28].try_into().unwrap()), 8000);
    assert_eq!(u16::from_le_bytes([w[34], w[35]]), 16);
    assert_eq!(&w[36..40], b"data");
    assert_eq!(u32::from_le_bytes(w[40..44].try_into().unwrap()) as usize, w.len() - 44);
    assert!(w.len() > 44 + 16_000, "at least a second of audio");
    // Different calls sound different.
    let other = sb.call(CALLER, CALLEE).await;
    sb.advance(4.0).await;
    assert_ok(&sb.vendor(END, json!({ "callidentifier": other })).await);
    let w2 = sb.get(&format!("/sandbox/callback/recordings/{other}.wav")).await.body;
    assert_ne!(&w[44..], &w2[44..]);

    // Still there just under 3 days later, gone after.
    sb.advance(3.0 * 86_400.0 - 60.0).await;
    assert_ok(&sb.vendor(RECORD, json!({ "callidentifier": id })).await);
    sb.advance(120.0).await;
    assert_code(&sb.vendor(RECORD, json!({ "callidentifier": id })).await, 410);
    assert_eq!(sb.get(path).await.status, StatusCode::GONE);
    assert_eq!(sb.get("/sandbox/callback/recordings/123.wav").await.status, StatusCode::NOT_FOUND);
    assert_eq!(sb.get(&format!("/sandbox/callback/recordings/{id}.mp3")).await.status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- webhook

#[tokio::test]
async fn the_webhook_is_posted_once_when_the_call_ends() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = tokio::spawn(receive_one(listener));

    let sb = Sb::new();
    let v = sb.settings(json!({ "webhookUrl": format!("http://127.0.0.1:{port}/hook?src=sandbox") })).await;
    assert_eq!(v["webhookUrl"], format!("http://127.0.0.1:{port}/hook?src=sandbox"));
    let v = sb.vendor(CALL, json!({"caller": CALLER, "callee": CALLEE, "outCallId": "crm-7"})).await;
    let id = v["data"]["callidentifier"].as_str().unwrap().to_string();
    sb.advance(6.0).await;
    assert_ok(&sb.vendor(END, json!({ "callidentifier": id })).await);

    let (head, body) =
        tokio::time::timeout(Duration::from_secs(10), receiver).await.expect("webhook within 10 s").unwrap();
    assert!(head.starts_with("POST /hook?src=sandbox HTTP/1.1\r\n"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains(&format!("host: 127.0.0.1:{port}")), "{head}");
    assert!(lower.contains("content-type: application/json"), "{head}");
    let n: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(n["callidentifier"], id.as_str());
    assert_eq!(n["status"], "Disconnected");
    assert_eq!(n["reason"], "HangUp");
    assert_eq!(n["outCallId"], "crm-7");
    assert_eq!(n["recordingResult"], "success");
    assert!(n["startTime"].is_string() && n["answerTime"].is_string() && n["endTime"].is_string());
    // The sandbox kept the same payload and the delivery outcome.
    assert_eq!(sb.status(&id).await["notification"], n);
    let mut delivered = Value::Null;
    for _ in 0..50 {
        delivered = sb.dumped(&id).await["webhook"].clone();
        if !delivered.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered["status"], 200, "{delivered}");
}

#[tokio::test]
async fn a_failed_webhook_is_recorded_and_not_retried() {
    // A port with nobody listening: bind, note it, close it.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let sb = Sb::with(Settings {
        callback_webhook_url: Some(format!("http://127.0.0.1:{port}/hook")),
        ..Settings::default()
    });
    let id = sb.call("13900000003", CALLEE).await; // ends by itself at 0.2 s
    let mut record = Value::Null;
    for _ in 0..100 {
        record = sb.dumped(&id).await["webhook"].clone();
        if !record.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(record["error"].is_string(), "{record}");
    assert_eq!(sb.status(&id).await["notification"]["reason"], "CallerFailure");
}

// ---------------------------------------------------------------- sandbox helpers

#[tokio::test]
async fn the_signer_route_returns_the_header_value() {
    let sb = Sb::new();
    let r = sb.get("/sandbox/callback/sign?timestamp=1693270226642").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.contains_key(header::DATE));
    let v = r.json();
    assert_eq!(v["authorization"], auth(1_693_270_226_642));
    let decoded =
        base64::engine::general_purpose::STANDARD.decode(v["authorization"].as_str().unwrap()).unwrap();
    let text = String::from_utf8(decoded).unwrap();
    assert!(text.starts_with("1696054309969104898:1693270226642:"), "{text}");
    // And what it signs is accepted.
    let ts = sb.cb_now().await;
    let h = sb.get(&format!("/sandbox/callback/sign?timestamp={ts}")).await.json()["authorization"].clone();
    let r = sb.vendor_raw(CALL, h.as_str(), &json!({"caller": CALLER, "callee": CALLEE}).to_string()).await;
    assert_ok(&r.json());
    for bad in ["", "?timestamp=", "?timestamp=abc", "?timestamp=1.5", "?ts=1"] {
        let r = sb.get(&format!("/sandbox/callback/sign{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn settings_and_status_validate_their_input() {
    let sb = Sb::new();
    for bad in [
        json!({"clockOffsetSecs": "60"}),
        json!({"clockOffsetSecs": 1e12}),
        json!({"webhookUrl": "https://example.com/hook"}),
        json!({"webhookUrl": "not a url"}),
        json!({"webhookUrl": 5}),
        json!([]),
    ] {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/sandbox/callback/settings")
            .body(Body::from(bad.to_string()))
            .unwrap();
        assert_eq!(sb.send(req).await.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let v = sb.settings(json!({"webhookUrl": "http://127.0.0.1:1/x", "clockOffsetSecs": -30.5})).await;
    assert_eq!(
        (v["webhookUrl"].clone(), v["clockOffsetSecs"].clone()),
        (json!("http://127.0.0.1:1/x"), json!(-30.5))
    );
    let v = sb.settings(json!({"webhookUrl": null})).await;
    assert_eq!((v["webhookUrl"].clone(), v["clockOffsetSecs"].clone()), (Value::Null, json!(-30.5)));
    let v = sb.get("/sandbox/callback/settings").await.json();
    assert_eq!(v["clockOffsetSecs"], -30.5);

    assert_eq!(sb.get("/sandbox/callback/status").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(sb.get("/sandbox/callback/status?callidentifier=1").await.status, StatusCode::NOT_FOUND);
    let id = sb.call(CALLER, CALLEE).await;
    let st = sb.state().await;
    let calls = st["callback"]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["callidentifier"], id.as_str());
    assert_eq!(calls[0]["phase"], "caller_ringing");
}

#[test]
fn command_line_knobs_parse_and_default_matches() {
    use clap::Parser;
    let s = Settings::try_parse_from([
        "sandbox",
        "--callback-clock-offset-secs",
        "-600",
        "--callback-webhook-url",
        "http://127.0.0.1:9000/hook",
    ])
    .unwrap();
    assert_eq!(s.callback_clock_offset_secs, -600);
    assert_eq!(s.callback_webhook_url.as_deref(), Some("http://127.0.0.1:9000/hook"));
    let d = Settings::try_parse_from(["sandbox"]).unwrap();
    let def = Settings::default();
    assert_eq!(
        (d.callback_clock_offset_secs, d.callback_webhook_url),
        (def.callback_clock_offset_secs, def.callback_webhook_url)
    );
}

/// The client library's own request builder and signer, against this verifier: what
/// the console sends is what the sandbox accepts.
#[tokio::test]
async fn the_client_librarys_signed_requests_are_accepted() {
    use agent_console::api::callback::{self as client, AppId, AppSecret, CallRequest, CallbackApi};
    let sb = Sb::new();
    let api = CallbackApi::new("http://sandbox.test:8081", "").unwrap();
    let (app_id, secret) = (AppId::parse(DEMO_APPID).unwrap(), AppSecret::parse(DEMO_APPSECRET).unwrap());
    let req = api.call(&CallRequest::parse(CALLER, CALLEE, Some("lib-1")).unwrap());
    let path = req.url.trim_start_matches("http://sandbox.test:8081").to_string();
    let ts = u64::try_from(sb.cb_now().await).unwrap();
    let ok =
        sb.vendor_raw(&path, Some(&client::sign(&app_id, &secret, ts)), req.body.as_deref().unwrap()).await;
    let resp = agent_console::api::HttpResponse::new(ok.status.as_u16(), ok.body.clone());
    let started = client::decode_call(&resp).unwrap();
    assert!(!started.callidentifier.as_str().is_empty());
    // Signed 6 minutes early: refused with 403, and the Date lets the client correct itself.
    let early = sb
        .vendor_raw(&path, Some(&client::sign(&app_id, &secret, ts - 360_000)), req.body.as_deref().unwrap())
        .await;
    let resp = agent_console::api::HttpResponse::new(early.status.as_u16(), early.body.clone());
    assert_eq!(client::decode_call(&resp).unwrap_err().code(), "403");
    let date = early.headers.get(header::DATE).and_then(|d| d.to_str().ok()).unwrap().to_string();
    let mut skew = agent_console::core::ClockSkew::default();
    let local = ts - 360_000;
    assert!(skew.observe(local, local, Some(&date)));
    assert!((skew.offset_ms() - 360_000).abs() < 2_000, "{}", skew.offset_ms());
    // A wrong secret: 401.
    let bad = sb
        .vendor_raw(
            &path,
            Some(&client::sign(&app_id, &AppSecret::parse("nope").unwrap(), ts)),
            req.body.as_deref().unwrap(),
        )
        .await;
    let resp = agent_console::api::HttpResponse::new(bad.status.as_u16(), bad.body.clone());
    assert_eq!(client::decode_call(&resp).unwrap_err().code(), "401");
}
