//! The dapi routes (seeds 000, 001, docs/dapi.md) driven in-process through
//! `app(settings)` with `oneshot`, advancing the sandbox clock through `POST
//! /sandbox/clock`, plus real webhook receivers on local ports.

use std::time::Duration;

use agent_console_sandbox::clock::format_cst;
use agent_console_sandbox::dapi::DEMO_APPID;
use agent_console_sandbox::{app, Settings};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use clap::Parser;
use http_body_util::BodyExt;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tower::ServiceExt;

mod support;
use support::receive_one;

const NO_CHANNEL: &str = "频道不存在或已结束";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, String::from_utf8_lossy(&self.body)))
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

    /// A sandbox whose heartbeat is so long that it never interferes.
    fn patient() -> Self {
        Self::with(Settings { dapi_heartbeat_secs: 3600, ..Settings::default() })
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply { status, headers, body }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(Request::builder().uri(uri).body(Body::empty()).unwrap()).await
    }

    async fn post_raw(&self, uri: &str, body: impl Into<Body>) -> Reply {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.into())
            .unwrap();
        self.send(req).await
    }

    /// A JSON POST that must answer HTTP 200; returns the body.
    async fn post(&self, uri: &str, body: Value) -> Value {
        let r = self.post_raw(uri, body.to_string()).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    /// A dapi request that must succeed; returns `data`.
    async fn ok(&self, uri: &str, body: Value) -> Value {
        let v = self.post(uri, body.clone()).await;
        assert_eq!(v["success"], true, "{uri} {body}: {v}");
        v["data"].clone()
    }

    /// A dapi request that must be refused with HTTP 200; returns `msg`.
    async fn refused(&self, uri: &str, body: Value) -> String {
        let v = self.post(uri, body.clone()).await;
        assert_eq!(v["success"], false, "{uri} {body}: {v}");
        assert!(v.get("data").is_none(), "{v}");
        let msg = v["msg"].as_str().unwrap_or_else(|| panic!("no msg: {v}")).to_string();
        assert!(!msg.is_empty());
        msg
    }

    /// A request that must fail with this HTTP status and a `{success:false,msg}` body.
    async fn fails(&self, uri: &str, body: &str, status: StatusCode) {
        let r = self.post_raw(uri, body.to_string()).await;
        assert_eq!(r.status, status, "{uri} {body}: {}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        assert_eq!(v["success"], false, "{v}");
        assert!(v["msg"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }

    async fn advance(&self, secs: f64) {
        self.post("/sandbox/clock", json!({ "advance_secs": secs })).await;
    }

    async fn now_ms(&self) -> i64 {
        self.get("/sandbox/clock").await.json()["now_ms"].as_i64().unwrap()
    }

    async fn settings(&self, body: Value) -> Value {
        self.post("/sandbox/dapi/settings", body).await
    }

    async fn call(&self, src: &str, dst: &[&str]) -> Value {
        self.ok("/dapi/call/user", json!({ "src_uid": src, "dst_uid": dst })).await
    }

    async fn msgs(&self, uid: &str) -> Vec<Value> {
        self.ok("/dapi/call/msg", json!({ "uid": uid })).await.as_array().unwrap().clone()
    }

    async fn token(&self, uid: &str, channel: &str) -> Value {
        self.ok("/dapi/call/token", json!({ "uid": uid, "channel": channel })).await
    }

    async fn event(&self, uid: &str, channel: &str, code: i64) {
        let d = self.ok("/dapi/call/event", json!({ "uid": uid, "channel": channel, "code": code })).await;
        assert_eq!(d, Value::Null);
    }

    async fn heartbeat(&self, uid: &str, channel: &str) {
        self.ok("/dapi/call/heartbeat", json!({ "uid": uid, "channel": channel })).await;
    }

    async fn rtc(&self, channel: &str) -> Value {
        let r = self.get(&format!("/sandbox/dapi/rtc/{channel}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    /// The record of `channel` in `GET /sandbox/dapi/calls`.
    async fn record(&self, channel: &str) -> Value {
        let r = self.get("/sandbox/dapi/calls").await;
        assert_eq!(r.status, StatusCode::OK);
        r.json().as_array().unwrap().iter().find(|c| c["channel"] == channel).cloned().expect("record")
    }

    async fn events(&self, channel: &str) -> Vec<Value> {
        self.record(channel).await["event"].as_array().unwrap().clone()
    }
}

fn channel_of(join: &Value) -> String {
    join["channel"].as_str().unwrap().to_string()
}

fn assert_join_data(join: &Value, uid: &str) {
    assert_eq!(join["appID"], DEMO_APPID, "{join}");
    assert_eq!(join["uid"], uid, "{join}");
    let ch = join["channel"].as_str().unwrap();
    let suffix = ch.strip_prefix("ch_").unwrap_or_else(|| panic!("{ch}"));
    assert!(suffix.len() == 10 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()), "{ch}");
    let token = join["token"].as_str().unwrap();
    let rest = token.strip_prefix(&format!("006{DEMO_APPID}")).unwrap_or_else(|| panic!("{token}"));
    assert!(rest.len() >= 40, "{token}");
}

fn codes(events: &[Value]) -> Vec<(String, i64, i64)> {
    events
        .iter()
        .map(|e| {
            (
                e["uid"].as_str().unwrap().to_string(),
                e["code"].as_i64().unwrap(),
                e["sender_type"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn is_wav(body: &[u8]) -> bool {
    body.len() > 44 && &body[0..4] == b"RIFF" && &body[8..12] == b"WAVE"
}

// ---------------------------------------------------------------- basics

#[tokio::test]
async fn config_reports_the_heartbeat_and_app_id() {
    let sb = Sb::new();
    let r = sb.get("/dapi/system/config").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v, json!({"success": true, "data": {"channel_heartbeat": 30, "agora_appid": DEMO_APPID}}));
    assert!(DEMO_APPID.len() == 32 && DEMO_APPID.bytes().all(|b| b.is_ascii_hexdigit()));

    let sb = Sb::with(Settings { dapi_heartbeat_secs: 45, ..Settings::default() });
    assert_eq!(sb.get("/dapi/system/config").await.json()["data"]["channel_heartbeat"], 45);
    let s = sb.settings(json!({"channelHeartbeat": 12})).await;
    assert_eq!(
        (s["channelHeartbeat"].clone(), s["webhookUrl"].clone(), s["messageTtlSecs"].clone()),
        (json!(12), json!(null), json!(60))
    );
    assert_eq!(
        (s["heartbeatDeadlinePct"].clone(), s["heartbeatReplyDelayMs"].clone()),
        (json!(100), json!(0))
    );
    assert_eq!(sb.get("/dapi/system/config").await.json()["data"]["channel_heartbeat"], 12);
    assert_eq!(sb.get("/sandbox/dapi/settings").await.json()["channelHeartbeat"], 12);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let sb = Sb::new();
    let r = sb.post_raw("/dapi/call/nope", "{}").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["success"], false);
    let r = sb.get("/dapi/call/user").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["success"], false);
    assert_eq!(sb.get("/media/general_upload/nothing.jpg").await.status, StatusCode::NOT_FOUND);
    assert_eq!(sb.get("/media/recording/1_a.wav").await.status, StatusCode::NOT_FOUND);
    assert_eq!(sb.get("/sandbox/dapi/rtc/ch_unknown00").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn malformed_requests_are_400() {
    let sb = Sb::new();
    let routes = [
        "/dapi/call/user",
        "/dapi/call/robot",
        "/dapi/call/msg",
        "/dapi/call/token",
        "/dapi/call/event",
        "/dapi/call/heartbeat",
        "/dapi/invite/robot",
        "/dapi/quit/robot",
        "/dapi/calltask/update",
        "/dapi/calltask/list",
        "/sandbox/dapi/rtc/join",
        "/sandbox/dapi/rtc/leave",
        "/sandbox/dapi/settings",
    ];
    for route in routes {
        for body in ["", "not json", "[1,2]", "\"x\"", "{\"uid\": "] {
            sb.fails(route, body, StatusCode::BAD_REQUEST).await;
        }
    }
    // Missing required fields.
    for (route, body) in [
        ("/dapi/call/user", json!({"dst_uid": ["b"]})),
        ("/dapi/call/user", json!({"src_uid": "a"})),
        ("/dapi/call/robot", json!({})),
        ("/dapi/call/msg", json!({"uid": null})),
        ("/dapi/call/token", json!({"uid": "a"})),
        ("/dapi/call/token", json!({"channel": "ch_x"})),
        ("/dapi/call/event", json!({"uid": "a", "channel": "ch_x"})),
        ("/dapi/call/event", json!({"uid": "a", "code": 1})),
        ("/dapi/call/heartbeat", json!({"channel": "ch_x"})),
        ("/dapi/invite/robot", json!({"uid": "a"})),
        ("/dapi/quit/robot", json!({"channel": "ch_x"})),
        (
            "/dapi/calltask/update",
            json!({"src_uid": "a", "dst_uid": ["b"], "call_time": "2099-01-01 00:00:00"}),
        ),
        ("/dapi/calltask/update", json!({"src_uid": "a", "dst_uid": ["b"], "taskid": "t"})),
        ("/dapi/calltask/list", json!({"page": 1})),
        ("/sandbox/dapi/rtc/join", json!({"channel": "ch_x", "uid": "a"})),
        ("/sandbox/dapi/rtc/leave", json!({"uid": "a"})),
    ] {
        sb.fails(route, &body.to_string(), StatusCode::BAD_REQUEST).await;
    }
    // Bad knob values.
    for body in [
        json!({"channelHeartbeat": 0}),
        json!({"channelHeartbeat": "30"}),
        json!({"channelHeartbeat": 1.5}),
        json!({"messageTtlSecs": -1}),
        json!({"webhookUrl": "https://example.com/hook"}),
        json!({"webhookUrl": 5}),
    ] {
        sb.fails("/sandbox/dapi/settings", &body.to_string(), StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn well_formed_bad_requests_are_refused_with_200() {
    let sb = Sb::patient();
    let too_many: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
    for body in [
        json!({"src_uid": "a", "dst_uid": []}),
        json!({"src_uid": "a", "dst_uid": ["b", "a"]}),
        json!({"src_uid": "a", "dst_uid": too_many}),
        json!({"src_uid": "a", "dst_uid": "b"}),
        // Uids are the site's (UUIDs, e-mails): only empty, control characters and
        // absurd lengths are refused.
        json!({"src_uid": "a\u{0}b", "dst_uid": ["b"]}),
        json!({"src_uid": "a", "dst_uid": ["b\nc"]}),
        json!({"src_uid": "a", "dst_uid": ["b"], "extra_msg": {"x": 1}}),
        json!({"src_uid": "x".repeat(257), "dst_uid": ["b"]}),
    ] {
        sb.refused("/dapi/call/user", body).await;
    }
    // Twenty distinct callees (duplicates collapse) are fine; uids may be numbers.
    let twenty: Vec<String> = (0..20).map(|i| format!("u{i}")).chain(["u0".to_string()]).collect();
    sb.ok("/dapi/call/user", json!({"src_uid": 4321, "dst_uid": twenty})).await;
    sb.refused("/dapi/call/robot", json!({"src_uid": ""})).await;
    sb.refused("/dapi/call/msg", json!({"uid": {}})).await;

    for route in ["/dapi/call/token", "/dapi/call/heartbeat", "/dapi/invite/robot", "/dapi/quit/robot"] {
        assert_eq!(sb.refused(route, json!({"uid": "a", "channel": "ch_nosuchchan"})).await, NO_CHANNEL);
        sb.refused(route, json!({"uid": "a", "channel": "ch\u{7}bad"})).await;
    }
    assert_eq!(
        sb.refused("/dapi/call/event", json!({"uid": "a", "channel": "ch_nope", "code": 2})).await,
        NO_CHANNEL
    );

    let ch = channel_of(&sb.call("a", &["b"]).await);
    // Only the called (and the caller) may take a token.
    let msg = sb.refused("/dapi/call/token", json!({"uid": "zed", "channel": ch})).await;
    assert_ne!(msg, NO_CHANNEL);
    for code in [json!(0), json!(3), json!(1004), json!(1005), json!("x"), json!(1.5), json!([1])] {
        sb.refused("/dapi/call/event", json!({"uid": "a", "channel": ch, "code": code})).await;
    }
    // A numeric string code is accepted.
    sb.ok("/dapi/call/event", json!({"uid": "a", "channel": ch, "code": "1", "desp": "接通"})).await;

    let task = |extra: Value| {
        let mut t =
            json!({"src_uid": "a", "dst_uid": ["b"], "call_time": "2099-01-01 08:00:00", "taskid": "t1"});
        for (k, v) in extra.as_object().unwrap() {
            t[k] = v.clone();
        }
        t
    };
    for extra in [
        json!({"call_time": "2099-02-30 08:00:00"}),
        json!({"call_time": "2099-01-01T08:00:00"}),
        json!({"call_time": 1_700_000_000}),
        json!({"taskid": ""}),
        json!({"taskid": "   "}),
        json!({"dst_uid": []}),
        json!({"dst_uid": ["a"]}),
        json!({"id": 999}),
        json!({"id": "abc"}),
        json!({"tone_list": "x"}),
    ] {
        sb.refused("/dapi/calltask/update", task(extra)).await;
    }
    for body in [
        json!({"uid": "a", "page": 0}),
        json!({"uid": "a", "perpage": 0}),
        json!({"uid": "a", "perpage": 101}),
    ] {
        sb.refused("/dapi/calltask/list", body).await;
    }
}

// ---------------------------------------------------------------- messages

#[tokio::test]
async fn messages_go_0_1_2_and_are_listed_for_60_s() {
    let sb = Sb::patient();
    let join =
        sb.ok("/dapi/call/user", json!({"src_uid": "a", "dst_uid": ["b", "c"], "extra_msg": "hi b"})).await;
    assert_join_data(&join, "a");
    let ch = channel_of(&join);

    // The callee's first listing shows 0 and marks it fetched.
    let m = sb.msgs("b").await;
    assert_eq!(m.len(), 1, "{m:?}");
    let first = &m[0];
    assert_eq!(first["uid"], "b");
    assert_eq!(first["channel"], ch.as_str());
    assert_eq!((first["status"].clone(), first["_status_label"].clone()), (json!(0), json!("初始化")));
    assert_eq!(first["extra_msg"], "hi b");
    assert_eq!(first["pk"], first["id"]);
    assert!(first["createtime"].as_str().unwrap().len() == 19);
    let m = sb.msgs("b").await;
    assert_eq!((m[0]["status"].clone(), m[0]["_status_label"].clone()), (json!(1), json!("信息已获取")));

    // The caller sees both outgoing messages (uid = callee), statuses as they are.
    let out = sb.msgs("a").await;
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out.iter().all(|m| m["channel"] == ch.as_str()));
    let status_of =
        |list: &[Value], uid: &str| list.iter().find(|m| m["uid"] == uid).unwrap()["status"].clone();
    assert_eq!((status_of(&out, "b"), status_of(&out, "c")), (json!(1), json!(0)));
    // Listing by the caller does not mark anything fetched.
    assert_eq!(sb.msgs("a").await.iter().find(|m| m["uid"] == "c").unwrap()["status"], 0);

    // A second, newer call to b is listed first.
    sb.advance(2.0).await;
    let ch2 = channel_of(&sb.call("d", &["b"]).await);
    let m = sb.msgs("b").await;
    assert_eq!(
        m.iter().map(|m| m["channel"].as_str().unwrap()).collect::<Vec<_>>(),
        vec![ch2.as_str(), ch.as_str()]
    );

    // b rejects at t = 50: its message becomes 2 (and is listed another 60 s from then).
    sb.advance(48.0).await;
    sb.event("b", &ch, 1003).await;
    assert_eq!(status_of(&sb.msgs("a").await, "b"), json!(2));
    assert_eq!(status_of(&sb.msgs("a").await, "c"), json!(0));
    // t = 65: c's untouched message has aged out; b's ended one is still listed.
    sb.advance(15.0).await;
    assert!(sb.msgs("c").await.is_empty());
    let m = sb.msgs("b").await;
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(
        (m[0]["channel"].clone(), m[0]["status"].clone(), m[0]["_status_label"].clone()),
        (json!(ch), json!(2), json!("通话已经完结"))
    );
    // t = 111: gone.
    sb.advance(46.0).await;
    assert!(sb.msgs("b").await.is_empty());
    assert!(sb.msgs("a").await.is_empty());
}

#[tokio::test]
async fn the_listing_window_follows_message_ttl_secs() {
    let sb = Sb::patient();
    assert_eq!(sb.settings(json!({"messageTtlSecs": 5})).await["messageTtlSecs"], 5);
    sb.call("a", &["b"]).await;
    sb.advance(4.5).await;
    assert_eq!(sb.msgs("b").await.len(), 1);
    // Fetched at 4.5 s: listed until 9.5 s.
    sb.advance(4.0).await;
    assert_eq!(sb.msgs("b").await.len(), 1);
    sb.advance(1.5).await;
    assert!(sb.msgs("b").await.is_empty());
}

#[tokio::test]
async fn the_caller_ending_ends_every_message() {
    let sb = Sb::patient();
    let ch = channel_of(&sb.call("a", &["b", "c"]).await);
    sb.msgs("b").await;
    sb.event("a", &ch, 1000).await;
    let out = sb.msgs("a").await;
    assert!(out.iter().all(|m| m["status"] == 2), "{out:?}");
    // b fetched and has not reported: the record waits for it (straggler) ...
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    sb.event("b", &ch, 1006).await;
    // ... and ends once it did (c never fetched, so it is not waited for).
    assert_eq!(sb.rtc(&ch).await["ended"], true);
}

// ---------------------------------------------------------------- events

#[tokio::test]
async fn events_are_deduplicated_and_the_call_ends_when_all_reported() {
    let sb = Sb::patient();
    let ch = channel_of(&sb.call("a", &["b"]).await);
    sb.msgs("b").await;
    let tb = sb.token("b", &ch).await;
    assert_join_data(&tb, "b");
    assert_eq!(channel_of(&tb), ch);
    sb.event("b", &ch, 1).await;
    sb.event("a", &ch, 1).await;
    // A retried report is stored once and still succeeds.
    sb.event("b", &ch, 1).await;
    assert_eq!(sb.events(&ch).await.len(), 2);
    sb.advance(10.0).await;
    sb.ok("/dapi/call/event", json!({"uid": "b", "channel": ch, "code": 2, "desp": "挂断"})).await;
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    assert_eq!(sb.msgs("b").await[0]["status"], 2);
    sb.event("a", &ch, 2).await;

    let rec = sb.record(&ch).await;
    assert_eq!(rec["ended"], true, "{rec}");
    assert_eq!(rec["end_reason"], "all_reported");
    assert_eq!(
        codes(rec["event"].as_array().unwrap()),
        vec![("b".into(), 1, 0), ("a".into(), 1, 0), ("b".into(), 2, 0), ("a".into(), 2, 0)]
    );
    let e = &rec["event"][2];
    assert_eq!(
        (e["desp"].clone(), e["record"].clone(), e["channel"].clone()),
        (json!("挂断"), rec["id"].clone(), json!(ch))
    );
    assert_eq!(e["pk"], e["id"]);
    assert_eq!(rec["starttime"], rec["event"][0]["createtime"]);
    assert!(rec["endtime"].is_string());
    assert_eq!(rec["src_uid"], "a");
    assert_eq!(rec["dst_uid"], json!(["b"]));
    assert_eq!(rec["is_robot"], false);

    // Over: everything but a retry is refused.
    sb.event("a", &ch, 2).await;
    assert_eq!(sb.events(&ch).await.len(), 4);
    assert_eq!(
        sb.refused("/dapi/call/event", json!({"uid": "a", "channel": ch, "code": 1007})).await,
        NO_CHANNEL
    );
    assert_eq!(sb.refused("/dapi/call/heartbeat", json!({"uid": "a", "channel": ch})).await, NO_CHANNEL);
    assert_eq!(sb.refused("/dapi/call/token", json!({"uid": "b", "channel": ch})).await, NO_CHANNEL);
}

#[tokio::test]
async fn the_caller_may_rejoin_and_tokens_are_unique() {
    let sb = Sb::patient();
    let ja = sb.call("a", &["b"]).await;
    let ch = channel_of(&ja);
    let ja2 = sb.token("a", &ch).await;
    let jb = sb.token("b", &ch).await;
    let jb2 = sb.token("b", &ch).await;
    let tokens = [&ja, &ja2, &jb, &jb2].map(|j| j["token"].as_str().unwrap().to_string());
    for i in 0..tokens.len() {
        for j in i + 1..tokens.len() {
            assert_ne!(tokens[i], tokens[j]);
        }
    }
}

// ---------------------------------------------------------------- heartbeat

#[tokio::test]
async fn heartbeat_loss_ends_the_call_with_a_server_event() {
    let sb = Sb::new(); // channel_heartbeat 30 s
    let ch = channel_of(&sb.call("a", &["b"]).await);
    sb.msgs("b").await;
    sb.token("b", &ch).await;
    sb.event("a", &ch, 1).await;
    sb.event("b", &ch, 1).await;
    sb.advance(20.0).await;
    sb.heartbeat("a", &ch).await;
    sb.heartbeat("b", &ch).await;
    // a goes quiet after t = 20; b keeps beating.
    sb.advance(25.0).await;
    sb.heartbeat("b", &ch).await;
    // t = 45: a's deadline is t = 50, one period after its last beat.
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    sb.advance(6.0).await;
    let rec = sb.record(&ch).await;
    assert_eq!(rec["ended"], true, "{rec}");
    assert_eq!(rec["end_reason"], "heartbeat_lost:a");
    let last = rec["event"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["code"].clone(), last["sender_type"].clone()), (json!(1007), json!(2)));
    assert_eq!(last["desp"], "heartbeat lost: a");
    assert_eq!(last["uid"], "a");
    assert_eq!(rec["endtime"], last["createtime"]);
    // Every message is 2, and the channel is gone for heartbeats.
    let m = sb.msgs("b").await;
    assert_eq!(m[0]["status"], 2, "{m:?}");
    assert_eq!(sb.refused("/dapi/call/heartbeat", json!({"uid": "b", "channel": ch})).await, NO_CHANNEL);
}

#[tokio::test]
async fn an_unanswered_call_ends_when_the_caller_vanishes() {
    let sb = Sb::new();
    let ch = channel_of(&sb.call("a", &["b"]).await);
    sb.advance(29.0).await;
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    sb.advance(2.0).await;
    let rec = sb.record(&ch).await;
    assert_eq!(codes(rec["event"].as_array().unwrap()), vec![("a".into(), 1007, 2)]);
    assert_eq!(rec["starttime"], json!(format_cst(parse_ms(&rec["created"]))));
}

fn parse_ms(v: &Value) -> i64 {
    agent_console_sandbox::clock::parse_cst(v.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn heartbeat_loss_only_counts_uids_in_the_channel() {
    let sb = Sb::new();
    let ch = channel_of(&sb.call("a", &["b"]).await);
    // b fetched its message but never took a token: it is not in, so its silence is fine.
    sb.msgs("b").await;
    for _ in 0..8 {
        sb.advance(25.0).await;
        sb.heartbeat("a", &ch).await;
    }
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    // The heartbeat follows the runtime setting.
    sb.settings(json!({"channelHeartbeat": 5})).await;
    sb.advance(4.0).await;
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    sb.advance(2.0).await;
    assert_eq!(sb.record(&ch).await["end_reason"], "heartbeat_lost:a");
}

#[tokio::test]
async fn the_heartbeat_deadline_is_one_period_unless_told_otherwise() {
    // Seed 001: "每隔30内", at least one beat within every period.
    let sb = Sb::new();
    assert_eq!(sb.get("/sandbox/dapi/settings").await.json()["heartbeatDeadlinePct"], 100);
    let ch = channel_of(&sb.call("a", &["b"]).await);
    sb.advance(10.0).await;
    sb.heartbeat("a", &ch).await;
    sb.advance(29.9).await;
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    sb.advance(0.2).await;
    assert_eq!(sb.record(&ch).await["end_reason"], "heartbeat_lost:a");

    // The knob: 200 % is the old, forgiving sandbox.
    assert_eq!(sb.settings(json!({"heartbeatDeadlinePct": 200})).await["heartbeatDeadlinePct"], 200);
    let ch = channel_of(&sb.call("a", &["b"]).await);
    sb.advance(59.0).await;
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    sb.advance(2.0).await;
    assert_eq!(sb.record(&ch).await["end_reason"], "heartbeat_lost:a");
    for bad in [json!(49), json!(1001), json!("100"), json!(-1)] {
        let r = sb.post_raw("/sandbox/dapi/settings", json!({"heartbeatDeadlinePct": bad}).to_string()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // The flag: --dapi-heartbeat-deadline-pct 150 with a 10 s period drops after 15 s.
    let sb = Sb::with(Settings {
        dapi_heartbeat_secs: 10,
        dapi_heartbeat_deadline_pct: 150,
        ..Settings::default()
    });
    let ch = channel_of(&sb.call("a", &["b"]).await);
    sb.advance(14.9).await;
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    sb.advance(0.2).await;
    assert_eq!(sb.rtc(&ch).await["ended"], true);
}

#[tokio::test]
async fn heartbeat_replies_can_be_delayed_and_the_beat_counts_on_arrival() {
    let sb = Sb::new();
    let s = sb.settings(json!({"heartbeatReplyDelayMs": 400})).await;
    assert_eq!(s["heartbeatReplyDelayMs"], 400);
    let ch = channel_of(&sb.call("a", &["b"]).await);
    let before = sb.now_ms().await;
    let started = std::time::Instant::now();
    sb.heartbeat("a", &ch).await;
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
    let at = sb.record(&ch).await["heartbeats"][0]["atMs"].as_i64().unwrap();
    assert!(at - before < 300, "counted when it arrived, not when answered: {}", at - before);
    // Other routes answer at once; a refused heartbeat too.
    let started = std::time::Instant::now();
    sb.msgs("b").await;
    sb.refused("/dapi/call/heartbeat", json!({"uid": "a", "channel": "ch_NoSuchChan01"})).await;
    assert!(started.elapsed() < Duration::from_millis(400), "{:?}", started.elapsed());
    let r = sb.post_raw("/sandbox/dapi/settings", json!({"heartbeatReplyDelayMs": 60_001}).to_string()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(sb.settings(json!({"heartbeatReplyDelayMs": 0})).await["heartbeatReplyDelayMs"], 0);
    // The flag sets the same knob.
    let sb = Sb::with(Settings { dapi_heartbeat_reply_delay_ms: 250, ..Settings::default() });
    assert_eq!(sb.get("/sandbox/dapi/settings").await.json()["heartbeatReplyDelayMs"], 250);
}

#[tokio::test]
async fn stragglers_time_out_two_periods_after_the_first_end_code() {
    let sb = Sb::new();
    let ch = channel_of(&sb.call("a", &["b"]).await);
    sb.msgs("b").await; // fetched: the record waits for b's end code
    sb.advance(10.0).await;
    sb.event("a", &ch, 1001).await;
    sb.advance(59.0).await;
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    sb.advance(2.0).await;
    let rec = sb.record(&ch).await;
    assert_eq!(
        (rec["ended"].clone(), rec["end_reason"].clone()),
        (json!(true), json!("stragglers_timed_out"))
    );
    assert_eq!(codes(rec["event"].as_array().unwrap()), vec![("a".into(), 1001, 0)]);
}

// ---------------------------------------------------------------- robot

#[tokio::test]
async fn calling_the_robot_puts_it_in_the_channel() {
    let sb = Sb::patient();
    let join = sb.ok("/dapi/call/robot", json!({"src_uid": "a"})).await;
    assert_join_data(&join, "a");
    let ch = channel_of(&join);
    assert_eq!(sb.rtc(&ch).await, json!({"members": ["robot"], "robot": true, "ended": false}));
    assert_eq!(codes(&sb.events(&ch).await), vec![("robot".into(), 1, 1)]);
    sb.event("a", &ch, 1).await;
    sb.advance(5.0).await;
    sb.event("a", &ch, 2).await;
    let rec = sb.record(&ch).await;
    assert_eq!(rec["ended"], true);
    assert_eq!(rec["is_robot"], false);
    // The robot left with the call.
    assert_eq!(codes(rec["event"].as_array().unwrap()).last().unwrap(), &("robot".to_string(), 2, 1));
    assert_eq!(sb.rtc(&ch).await["robot"], false);

    let r = sb.get("/sandbox/dapi/robot.wav").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "audio/wav");
    assert!(is_wav(&r.body));
}

#[tokio::test]
async fn the_robot_can_be_invited_and_sent_away() {
    let sb = Sb::patient();
    let ja = sb.call("a", &["b"]).await;
    let ch = channel_of(&ja);
    sb.msgs("b").await;
    sb.event("b", &ch, 1003).await;
    let inv = sb.ok("/dapi/invite/robot", json!({"uid": "a", "channel": ch})).await;
    assert_join_data(&inv, "a");
    assert_eq!(channel_of(&inv), ch);
    assert_ne!(inv["token"], ja["token"]);
    assert_eq!(sb.rtc(&ch).await["robot"], true);
    assert!(sb.rtc(&ch).await["members"].as_array().unwrap().contains(&json!("robot")));
    // Inviting twice does not add a second robot.
    sb.ok("/dapi/invite/robot", json!({"uid": "a", "channel": ch})).await;
    sb.ok("/dapi/quit/robot", json!({"channel": ch, "uid": "a"})).await;
    assert_eq!(sb.rtc(&ch).await, json!({"members": [], "robot": false, "ended": false}));
    // Quitting again is harmless.
    assert_eq!(sb.ok("/dapi/quit/robot", json!({"channel": ch, "uid": "a"})).await, Value::Null);
    assert_eq!(
        codes(&sb.events(&ch).await),
        vec![("b".into(), 1003, 0), ("robot".into(), 1, 1), ("robot".into(), 2, 1)]
    );
    sb.event("a", &ch, 2).await;
    assert_eq!(sb.rtc(&ch).await["ended"], true);
    assert_eq!(sb.refused("/dapi/invite/robot", json!({"uid": "a", "channel": ch})).await, NO_CHANNEL);
    assert_eq!(sb.refused("/dapi/quit/robot", json!({"uid": "a", "channel": ch})).await, NO_CHANNEL);
}

// ---------------------------------------------------------------- scheduled tasks

async fn add_task(sb: &Sb, src: &str, dst: &[&str], at_ms: i64, taskid: &str) -> i64 {
    let body =
        json!({"id": "", "src_uid": src, "dst_uid": dst, "call_time": format_cst(at_ms), "taskid": taskid});
    sb.ok("/dapi/calltask/update", body).await["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_scheduled_task_fires_as_a_robot_call() {
    let sb = Sb::patient();
    let now = sb.now_ms().await;
    let id = add_task(&sb, "a", &["b", "c"], now + 120_000, "app-7").await;
    let rows = sb.ok("/dapi/calltask/list", json!({"uid": "a"})).await;
    assert_eq!(rows["rows"][0]["id"], id);
    assert_eq!(rows["rows"][0]["tone_list"], json!([]));
    assert!(sb.msgs("b").await.is_empty());

    sb.advance(121.0).await;
    let m = sb.msgs("b").await;
    assert_eq!(m.len(), 1, "{m:?}");
    let ch = m[0]["channel"].as_str().unwrap().to_string();
    let rec = sb.record(&ch).await;
    assert_eq!(rec["is_robot"], true);
    assert_eq!(rec["src_uid"], "a");
    assert_eq!(rec["dst_uid"], json!(["b", "c"]));
    assert_eq!(rec["task_id"], id);
    assert_eq!(sb.rtc(&ch).await["robot"], true);
    // The robot placed it, not a: a has no outgoing message and cannot join.
    assert!(sb.msgs("a").await.is_empty());
    sb.refused("/dapi/call/token", json!({"uid": "a", "channel": ch})).await;
    // It fires once.
    sb.advance(1.0).await;
    assert_eq!(sb.msgs("c").await.len(), 1);
    assert_eq!(sb.get("/sandbox/dapi/calls").await.json().as_array().unwrap().len(), 1);

    // b answers and talks to the robot; c rejects; the call ends.
    sb.token("b", &ch).await;
    sb.event("b", &ch, 1).await;
    sb.event("c", &ch, 1003).await;
    sb.event("b", &ch, 2).await;
    let rec = sb.record(&ch).await;
    assert_eq!(rec["ended"], true, "{rec}");
    assert_eq!(
        codes(rec["event"].as_array().unwrap()),
        vec![
            ("robot".into(), 1, 1),
            ("b".into(), 1, 0),
            ("c".into(), 1003, 0),
            ("b".into(), 2, 0),
            ("robot".into(), 2, 1)
        ]
    );
}

#[tokio::test]
async fn a_past_task_fires_at_once_and_an_unanswered_robot_call_gives_up() {
    let sb = Sb::patient();
    sb.ok(
        "/dapi/calltask/update",
        json!({"src_uid": "a", "dst_uid": ["b"], "call_time": "2020-02-02 20:20:00", "taskid": 9}),
    )
    .await;
    let calls = sb.get("/sandbox/dapi/calls").await.json();
    let ch = calls[0]["channel"].as_str().unwrap().to_string();
    assert_eq!(calls[0]["is_robot"], true);
    sb.advance(44.0).await;
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    sb.advance(2.0).await;
    let rec = sb.record(&ch).await;
    assert_eq!(rec["ended"], true, "{rec}");
    assert_eq!(codes(rec["event"].as_array().unwrap()), vec![("robot".into(), 1001, 1)]);
    let list = sb.ok("/dapi/calltask/list", json!({"uid": "a"})).await;
    assert_eq!(list["rows"][0]["taskid"], "9");
}

#[tokio::test]
async fn task_lists_page_by_call_time_and_update_by_id() {
    let sb = Sb::patient();
    let base = parse_ms(&json!("2099-01-01 00:00:00"));
    let mut ids = Vec::new();
    // Inserted latest-first, so the list order is not the insertion order.
    for i in (0..25).rev() {
        ids.push(add_task(&sb, "a", &["b"], base + i * 60_000, &format!("t{i}")).await);
    }
    let other = add_task(&sb, "z", &["b"], base, "other").await;
    let page = |n: i64, per: Option<i64>| {
        let mut b = json!({"uid": "a", "page": n});
        if let Some(p) = per {
            b["perpage"] = json!(p);
        }
        b
    };
    let p1 = sb.ok("/dapi/calltask/list", json!({"uid": "a"})).await;
    assert_eq!(p1["row_pages"], json!({"crt_page": 1, "total": 25, "perpage": 20}));
    let rows = p1["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 20);
    assert_eq!(rows[0]["taskid"], "t0");
    assert_eq!(rows[0]["call_time"], "2099-01-01 00:00:00");
    assert_eq!(rows[19]["taskid"], "t19");
    let r = &rows[0];
    assert_eq!(r["pk"], r["id"]);
    assert_eq!((r["src_uid"].clone(), r["dst_uid"].clone()), (json!("a"), json!(["b"])));
    let p2 = sb.ok("/dapi/calltask/list", page(2, None)).await;
    assert_eq!(p2["rows"].as_array().unwrap().len(), 5);
    assert_eq!(p2["row_pages"]["crt_page"], 2);
    let p3 = sb.ok("/dapi/calltask/list", page(3, Some(10))).await;
    assert_eq!(p3["rows"].as_array().unwrap().len(), 5);
    assert_eq!(p3["row_pages"], json!({"crt_page": 3, "total": 25, "perpage": 10}));
    assert!(sb.ok("/dapi/calltask/list", page(9, None)).await["rows"].as_array().unwrap().is_empty());
    assert_eq!(sb.ok("/dapi/calltask/list", json!({"uid": "nobody"})).await["row_pages"]["total"], 0);

    // Update t0 (the earliest) by id to the latest time, with a tone list.
    let t0 = ids[24];
    let upd = json!({"id": t0, "src_uid": "a", "dst_uid": ["b", "c"], "call_time": "2099-12-31 23:59:59",
        "taskid": "t0b", "tone_list": ["/media/general_upload/x.mp3"]});
    assert_eq!(sb.ok("/dapi/calltask/update", upd.clone()).await, json!({"id": t0}));
    let last = sb.ok("/dapi/calltask/list", page(2, None)).await["rows"][4].clone();
    assert_eq!(
        last,
        json!({"id": t0, "src_uid": "a", "dst_uid": ["b", "c"], "call_time": "2099-12-31 23:59:59",
            "tone_list": ["/media/general_upload/x.mp3"], "pk": t0, "taskid": "t0b"})
    );
    // An id given as a string works too, and an absent tone_list keeps the old one.
    let mut upd2 = upd.clone();
    upd2["id"] = json!(t0.to_string());
    upd2.as_object_mut().unwrap().remove("tone_list");
    upd2["taskid"] = json!("t0c");
    assert_eq!(sb.ok("/dapi/calltask/update", upd2).await, json!({"id": t0}));
    let last = sb.ok("/dapi/calltask/list", page(2, None)).await["rows"][4].clone();
    assert_eq!(
        (last["taskid"].clone(), last["tone_list"].clone()),
        (json!("t0c"), json!(["/media/general_upload/x.mp3"]))
    );
    assert_eq!(sb.ok("/dapi/calltask/list", json!({"uid": "a"})).await["row_pages"]["total"], 25);
    // Someone else's id is refused.
    let mut theirs = upd;
    theirs["id"] = json!(other);
    sb.refused("/dapi/calltask/update", theirs).await;
}

// ---------------------------------------------------------------- upload

const BOUNDARY: &str = "----sandboxBoundary7MA4YWxkTrZu0gW";

/// (field name, filename, content type, bytes) parts as a multipart body.
fn multipart(parts: &[(&str, Option<&str>, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, ct, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disp = match filename {
            Some(f) => format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n"),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
        };
        body.extend_from_slice(disp.as_bytes());
        body.extend_from_slice(format!("Content-Type: {ct}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(sb: &Sb, body: Vec<u8>) -> Reply {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/d/upload")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(body))
        .unwrap();
    sb.send(req).await
}

fn md5_hex(b: &[u8]) -> String {
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test]
async fn one_upload_is_a_bare_string_and_two_a_bare_array() {
    let sb = Sb::new();
    let jpg: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let r = upload(
        &sb,
        multipart(&[
            ("note", None, "text/plain", b"not a file"),
            ("file", Some("photo.JPG"), "image/jpeg", &jpg),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let url = r.json();
    assert_eq!(url, json!(format!("/media/general_upload/{}.jpg", md5_hex(&jpg))));
    let got = sb.get(url.as_str().unwrap()).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(got.body, jpg);

    let wav = b"RIFF....WAVEfmt whatever".to_vec();
    let txt = "中文 text\r\n--not a boundary\r\n".as_bytes().to_vec();
    let r = upload(
        &sb,
        multipart(&[
            ("a", Some("voice.wav"), "audio/wav", &wav),
            ("b", Some("notes"), "text/plain; charset=utf-8", &txt),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let urls = r.json();
    let urls = urls.as_array().unwrap();
    assert_eq!(urls.len(), 2);
    assert_eq!(urls[0], json!(format!("/media/general_upload/{}.wav", md5_hex(&wav))));
    assert_eq!(urls[1], json!(format!("/media/general_upload/{}.bin", md5_hex(&txt))));
    for (u, bytes, ct) in [(&urls[0], &wav, "audio/wav"), (&urls[1], &txt, "text/plain; charset=utf-8")] {
        let got = sb.get(u.as_str().unwrap()).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(&got.body, bytes);
        assert_eq!(got.headers[header::CONTENT_TYPE], ct);
    }
    assert_eq!(sb.get("/sandbox/state").await.json()["dapi"]["uploads"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn uploads_are_served_as_downloads_that_cannot_run_in_this_origin() {
    let sb = Sb::new();
    let page = b"<script>window.__xss=1</script>".to_vec();
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='window.__xss=1'/>".to_vec();
    let wav = b"RIFF....WAVEfmt tone".to_vec();
    let r = upload(
        &sb,
        multipart(&[
            ("a", Some("<img src=x onerror=1>.html"), "text/html", &page),
            ("b", Some("logo.svg"), "image/svg+xml", &svg),
            ("c", Some("问候.wav"), "audio/wav", &wav),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let urls = r.json();
    let urls: Vec<&str> = urls.as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    let expect = [
        (
            "application/octet-stream",
            r#"attachment; filename="_img_src_x_onerror_1_.html"; filename*=UTF-8''%3Cimg%20src%3Dx%20onerror%3D1%3E.html"#,
        ),
        ("application/octet-stream", r#"attachment; filename="logo.svg""#),
        ("audio/wav", r#"attachment; filename="__.wav"; filename*=UTF-8''%E9%97%AE%E5%80%99.wav"#),
    ];
    for (url, (ct, disposition)) in urls.iter().zip(expect) {
        let got = sb.get(url).await;
        assert_eq!(got.status, StatusCode::OK, "{url}");
        assert_eq!(got.headers[header::CONTENT_TYPE], ct, "{url}");
        assert_eq!(got.headers[header::CONTENT_DISPOSITION], disposition, "{url}");
        assert_eq!(got.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{url}");
        assert_eq!(got.headers[header::CONTENT_SECURITY_POLICY], "default-src 'none'; sandbox", "{url}");
    }
    // The bytes are the uploader's, unchanged.
    assert_eq!(sb.get(urls[0]).await.body, page);
    // Generated recordings are not sniffed either.
    let r = sb.get("/sandbox/dapi/robot.wav").await;
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn uploads_without_files_are_400_and_over_10_mb_413() {
    let sb = Sb::new();
    let r = upload(&sb, multipart(&[("note", None, "text/plain", b"just text")])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["success"], false);
    // Not multipart at all.
    let r = sb.post_raw("/d/upload", "{}").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["success"], false);
    // A broken multipart body.
    let r = upload(&sb, b"--nope\r\ngarbage".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&r.body));

    let just_over = vec![7u8; 10 * 1024 * 1024 + 1];
    let r = upload(&sb, multipart(&[("f", Some("big.bin"), "application/octet-stream", &just_over)])).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["success"], false);
    let way_over = vec![7u8; 12 * 1024 * 1024];
    let r = upload(&sb, multipart(&[("f", Some("huge.bin"), "application/octet-stream", &way_over)])).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["success"], false);
    // Exactly 10 MB in two files is fine.
    let half = vec![1u8; 5 * 1024 * 1024];
    let other = vec![2u8; 5 * 1024 * 1024];
    let r = upload(
        &sb,
        multipart(&[
            ("f", Some("a.bin"), "application/octet-stream", &half),
            ("g", Some("b.bin"), "application/octet-stream", &other),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body[..r.body.len().min(300)]));
    assert_eq!(r.json().as_array().unwrap().len(), 2);
}

// ---------------------------------------------------------------- RTC stand-in

#[tokio::test]
async fn rtc_join_needs_a_token_issued_for_that_uid_and_channel() {
    let sb = Sb::patient();
    let ja = sb.call("a", &["b"]).await;
    let ch = channel_of(&ja);
    let other = channel_of(&sb.call("c", &["d"]).await);
    let join =
        |uid: &str, channel: &str, token: &Value| json!({"channel": channel, "uid": uid, "token": token});
    let r = sb.post_raw("/sandbox/dapi/rtc/join", join("b", &ch, &ja["token"]).to_string()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["success"], false);
    for bad in
        [join("a", &other, &ja["token"]), join("a", &ch, &json!("006nonsense")), join("a", &ch, &json!(""))]
    {
        assert_eq!(
            sb.post_raw("/sandbox/dapi/rtc/join", bad.to_string()).await.status,
            StatusCode::FORBIDDEN
        );
    }
    let v = sb.ok("/sandbox/dapi/rtc/join", join("a", &ch, &ja["token"])).await;
    assert_eq!(v, json!({"members": ["a"], "robot": false, "ended": false}));
    let jb = sb.token("b", &ch).await;
    sb.ok("/sandbox/dapi/rtc/join", join("b", &ch, &jb["token"])).await;
    assert_eq!(sb.rtc(&ch).await, json!({"members": ["a", "b"], "robot": false, "ended": false}));
    let v = sb.ok("/sandbox/dapi/rtc/leave", json!({"channel": ch, "uid": "a"})).await;
    assert_eq!(v["members"], json!(["b"]));
    sb.ok("/sandbox/dapi/rtc/leave", json!({"channel": ch, "uid": "a"})).await;
    let r = sb
        .post_raw("/sandbox/dapi/rtc/leave", json!({"channel": "ch_nosuchchan", "uid": "a"}).to_string())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Once the call is over, joining is refused.
    sb.event("a", &ch, 1001).await;
    sb.event("b", &ch, 1006).await;
    assert_eq!(sb.rtc(&ch).await["ended"], true);
    let r = sb.post_raw("/sandbox/dapi/rtc/join", join("b", &ch, &jb["token"]).to_string()).await;
    assert_eq!(r.status, StatusCode::GONE);
}

#[tokio::test]
async fn rtc_join_counts_as_a_sign_of_life() {
    let sb = Sb::new();
    let ja = sb.call("a", &["b"]).await;
    let ch = channel_of(&ja);
    sb.advance(25.0).await;
    sb.ok("/sandbox/dapi/rtc/join", json!({"channel": ch, "uid": "a", "token": ja["token"]})).await;
    sb.advance(25.0).await;
    assert_eq!(sb.rtc(&ch).await["ended"], false);
    sb.advance(6.0).await;
    assert_eq!(sb.rtc(&ch).await["ended"], true);
}

// ---------------------------------------------------------------- webhook

async fn wait_for_result(sb: &Sb) -> Value {
    for _ in 0..100 {
        let w = sb.get("/sandbox/dapi/webhooks").await.json();
        if w.as_array().is_some_and(|a| a.iter().all(|e| !e["result"].is_null()) && !a.is_empty()) {
            return w;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("webhook result never recorded");
}

#[tokio::test]
async fn the_call_record_is_pushed_once_when_it_ends() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = tokio::spawn(receive_one(listener));

    let sb = Sb::patient();
    let url = format!("http://127.0.0.1:{port}/push?k=v");
    assert_eq!(sb.settings(json!({ "webhookUrl": url })).await["webhookUrl"], url.as_str());
    let ch = channel_of(&sb.call("a", &["b"]).await);
    sb.token("b", &ch).await;
    sb.event("a", &ch, 1).await;
    sb.event("b", &ch, 1).await;
    sb.advance(30.0).await;
    sb.event("b", &ch, 2).await;
    sb.event("a", &ch, 2).await;

    let (head, body) =
        tokio::time::timeout(Duration::from_secs(10), receiver).await.expect("webhook within 10 s").unwrap();
    assert!(head.starts_with("POST /push?k=v HTTP/1.1\r\n"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    let rec = &v["callrecord"];
    assert_eq!(rec["channel"], ch.as_str());
    assert_eq!(
        (rec["src_uid"].clone(), rec["dst_uid"].clone(), rec["is_robot"].clone()),
        (json!("a"), json!(["b"]), json!(false))
    );
    assert_eq!(rec["pk"], rec["id"]);
    assert_eq!(rec["count"], 0);
    let events = rec["event"].as_array().unwrap();
    assert_eq!(
        codes(events),
        vec![("a".into(), 1, 0), ("b".into(), 1, 0), ("b".into(), 2, 0), ("a".into(), 2, 0)]
    );
    for e in events {
        assert_eq!(e["record"], rec["id"]);
        assert_eq!(e["channel"], ch.as_str());
        assert!(e.get("sender_typ").is_none());
    }
    let (start, end) = (parse_ms(&rec["starttime"]), parse_ms(&rec["endtime"]));
    assert!((29_000..=31_000).contains(&(end - start)), "{start} {end}");
    assert_eq!(rec["refreshtime"], rec["endtime"]);
    assert_eq!(rec["resource"]["captions"], json!([]));
    assert_eq!(rec["resource"]["recording_timestamp"], json!([]));
    let recs = rec["resource"]["recording"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    for r in recs {
        assert_eq!(r["kind_label"], "录音");
        let content = r["content"].as_str().unwrap();
        assert!(content.starts_with("/media/") && content.ends_with(".wav"), "{content}");
        let got = sb.get(content).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.headers[header::CONTENT_TYPE], "audio/wav");
        assert_eq!(got.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(is_wav(&got.body));
    }

    let hooks = wait_for_result(&sb).await;
    let hooks = hooks.as_array().unwrap();
    assert_eq!(hooks.len(), 1, "pushed once: {hooks:?}");
    assert_eq!(hooks[0]["payload"], v);
    assert_eq!(hooks[0]["url"], url.as_str());
    assert_eq!(hooks[0]["result"], json!({"status": 200}));
    // Later requests do not push it again.
    sb.advance(100.0).await;
    sb.msgs("a").await;
    assert_eq!(sb.get("/sandbox/dapi/webhooks").await.json().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn heartbeat_loss_is_pushed_by_the_background_ticker() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = tokio::spawn(receive_one(listener));
    let sb = Sb::with(Settings {
        dapi_webhook_url: Some(format!("http://127.0.0.1:{port}/hook")),
        ..Settings::default()
    });
    let ch = channel_of(&sb.call("a", &["b"]).await);
    // Only the clock moves; no dapi request follows. The ticker must notice.
    sb.advance(31.0).await;
    let (_, body) =
        tokio::time::timeout(Duration::from_secs(10), receiver).await.expect("webhook within 10 s").unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["callrecord"]["channel"], ch.as_str());
    assert_eq!(codes(v["callrecord"]["event"].as_array().unwrap()), vec![("a".into(), 1007, 2)]);
    assert_eq!(v["callrecord"]["resource"]["recording"], json!([]));
}

#[tokio::test]
async fn a_failed_push_is_recorded_and_not_retried() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let sb = Sb::patient();
    sb.settings(json!({ "webhookUrl": format!("http://127.0.0.1:{port}/hook") })).await;
    let ch = channel_of(&sb.call("a", &["b"]).await);
    sb.event("a", &ch, 1001).await;
    let hooks = wait_for_result(&sb).await;
    assert_eq!(hooks.as_array().unwrap().len(), 1);
    assert!(hooks[0]["result"]["error"].is_string(), "{hooks}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sb.get("/sandbox/dapi/webhooks").await.json().as_array().unwrap().len(), 1);
    // Without a URL nothing is attempted.
    sb.settings(json!({ "webhookUrl": null })).await;
    let ch = channel_of(&sb.call("a", &["b"]).await);
    sb.event("a", &ch, 1000).await;
    assert_eq!(sb.rtc(&ch).await["ended"], true);
    assert_eq!(sb.get("/sandbox/dapi/webhooks").await.json().as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------- settings and dump

#[test]
fn command_line_settings() {
    let s = Settings::try_parse_from([
        "sandbox",
        "--dapi-heartbeat-secs",
        "10",
        "--dapi-webhook-url",
        "http://127.0.0.1:9000/hook",
    ])
    .unwrap();
    assert_eq!(
        (s.dapi_heartbeat_secs, s.dapi_webhook_url.as_deref()),
        (10, Some("http://127.0.0.1:9000/hook"))
    );
    for bad in [
        vec!["sandbox", "--dapi-heartbeat-secs", "0"],
        vec!["sandbox", "--dapi-heartbeat-secs", "x"],
        vec!["sandbox", "--dapi-webhook-url", "https://example.com/"],
    ] {
        assert!(Settings::try_parse_from(&bad).is_err(), "{bad:?}");
    }
    let d = Settings::try_parse_from(["sandbox"]).unwrap();
    let def = Settings::default();
    assert_eq!((d.dapi_heartbeat_secs, d.dapi_webhook_url), (def.dapi_heartbeat_secs, def.dapi_webhook_url));
    assert_eq!(def.dapi_heartbeat_secs, 30);
}

#[tokio::test]
async fn the_state_dump_has_a_dapi_key() {
    let sb = Sb::patient();
    let ch = channel_of(&sb.call("a", &["b"]).await);
    add_task(&sb, "a", &["b"], parse_ms(&json!("2099-01-01 00:00:00")), "t").await;
    let st = sb.get("/sandbox/state").await.json();
    let d = &st["dapi"];
    assert_eq!(d["channelHeartbeat"], 3600);
    assert_eq!(d["calls"][0]["channel"], ch.as_str());
    assert_eq!(d["calls"][0]["parties"]["a"]["in"], true);
    assert_eq!(d["tasks"][0]["fired"], false);
    assert_eq!(d["webhooks"], json!([]));
}

#[tokio::test]
async fn the_task_list_paging_knob_plays_a_server_that_ignores_page_and_perpage() {
    let sb = Sb::patient();
    let base = parse_ms(&json!("2099-01-01 00:00:00"));
    for i in 0..25 {
        add_task(&sb, "a", &["b"], base + i * 60_000, &format!("t{i}")).await;
    }
    let asked = json!({"uid": "a", "page": 2, "perpage": 10});
    let taskids = |v: &Value| -> Vec<String> {
        v["rows"].as_array().unwrap().iter().map(|r| r["taskid"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(sb.get("/sandbox/dapi/settings").await.json()["taskListPaging"], "pages");
    assert_eq!(taskids(&sb.ok("/dapi/calltask/list", asked.clone()).await)[0], "t10");

    // "whole": every row, whatever was asked, and the seed's row_pages.
    assert_eq!(sb.settings(json!({"taskListPaging": "whole"})).await["taskListPaging"], "whole");
    let w = sb.ok("/dapi/calltask/list", asked.clone()).await;
    assert_eq!(taskids(&w), (0..25).map(|i| format!("t{i}")).collect::<Vec<_>>());
    assert_eq!(w["row_pages"], json!({"crt_page": 1, "total": 25, "perpage": 20}));
    // Ignored means not read at all: values the paging server refuses pass.
    let odd = json!({"uid": "a", "page": 0, "perpage": 1000});
    assert_eq!(sb.ok("/dapi/calltask/list", odd.clone()).await["rows"].as_array().unwrap().len(), 25);

    // "first": always its own first page of 20.
    sb.settings(json!({"taskListPaging": "first"})).await;
    let f = sb.ok("/dapi/calltask/list", asked.clone()).await;
    assert_eq!(taskids(&f), (0..20).map(|i| format!("t{i}")).collect::<Vec<_>>());
    assert_eq!(f["row_pages"], json!({"crt_page": 1, "total": 25, "perpage": 20}));
    assert_eq!(sb.ok("/dapi/calltask/list", odd.clone()).await["rows"].as_array().unwrap().len(), 20);

    // Back to paging; bad values change nothing.
    sb.settings(json!({"taskListPaging": "pages"})).await;
    for bad in [json!({"taskListPaging": "sometimes"}), json!({"taskListPaging": 1})] {
        sb.fails("/sandbox/dapi/settings", &bad.to_string(), StatusCode::BAD_REQUEST).await;
    }
    assert_eq!(sb.get("/sandbox/dapi/settings").await.json()["taskListPaging"], "pages");
    assert_eq!(taskids(&sb.ok("/dapi/calltask/list", asked).await).len(), 10);
    sb.refused("/dapi/calltask/list", odd).await;
}

// ---------------------------------------------------------------- issue 11, point 5

/// Real sites' uids are UUIDs and e-mail addresses: they call, get messages, answer.
#[tokio::test]
async fn uuid_and_email_uids_call_each_other() {
    let sb = Sb::patient();
    let (a, b) = ("3f2b8c1e-9a4d-4e2f-8b7a-0c1d2e3f4a5b", "bob@example.com");
    let ch = channel_of(&sb.call(a, &[b]).await);
    let m = sb.msgs(b).await;
    assert_eq!((m[0]["uid"].as_str(), m[0]["channel"].as_str()), (Some(b), Some(ch.as_str())));
    assert_join_data(&sb.token(b, &ch).await, b);
    sb.heartbeat(a, &ch).await;
    sb.event(b, &ch, 1).await;
    sb.event(a, &ch, 2).await;
    sb.event(b, &ch, 2).await;
    // The recording URL carries the uid as one path segment.
    let calls = sb.get("/sandbox/dapi/calls").await.json();
    let rec = calls
        .as_array()
        .and_then(|c| c.iter().find(|r| r["channel"] == ch.as_str()))
        .map(|r| r["resource"]["recording"].clone())
        .unwrap_or_default();
    assert!(rec.to_string().contains("bob@example.com.wav"), "{rec}");
}

/// The `oddRow` knob: `call/msg` and `calltask/list` keep their rows, and the last one
/// lacks the field a client cannot do without.
#[tokio::test]
async fn the_odd_row_knob_spoils_one_message_and_one_task() {
    let sb = Sb::patient();
    sb.call("a", &["b"]).await;
    sb.call("c", &["b"]).await;
    for t in ["t1", "t2"] {
        sb.ok(
            "/dapi/calltask/update",
            json!({"src_uid": "a", "dst_uid": ["b"], "call_time": "2099-01-01 00:00:00", "taskid": t}),
        )
        .await;
    }
    assert_eq!(sb.get("/sandbox/dapi/settings").await.json()["oddRow"], false);
    assert!(sb.msgs("b").await.iter().all(|m| m["channel"].is_string()));
    assert_eq!(sb.settings(json!({"oddRow": true})).await["oddRow"], true);
    let m = sb.msgs("b").await;
    assert_eq!(m.len(), 2);
    assert!(m[0]["channel"].is_string() && m[1].get("channel").is_none(), "{m:?}");
    let t = sb.ok("/dapi/calltask/list", json!({"uid": "a"})).await;
    let rows = t["rows"].as_array().unwrap();
    assert_eq!((rows.len(), &t["row_pages"]["total"]), (2, &json!(2)));
    assert!(rows[0].get("id").is_some() && rows[1].get("id").is_none(), "{t}");
    sb.fails("/sandbox/dapi/settings", r#"{"oddRow": 1}"#, StatusCode::BAD_REQUEST).await;
    sb.settings(json!({"oddRow": false})).await;
    assert!(sb.msgs("b").await.iter().all(|m| m["channel"].is_string()));
}
