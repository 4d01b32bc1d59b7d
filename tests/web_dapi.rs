//! `DapiClient`, `Softphone` and `parseDapiCallRecord` (the dapi JS exports)
//! in headless Chromium against a running sandbox: every client call, the
//! refusals and input checks, and two softphones in one page calling each
//! other through a mock RTC adapter (answer, talk, hang up; reject).
//!
//! The sandbox is shared with other test files (one of them moves its clock),
//! so every test uses its own uids and no test relies on absolute times.
#![cfg(target_arch = "wasm32")]

use agent_console::js::{DapiClient, Softphone};
use js_sys::{Array, Function, Promise, Reflect};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

mod web_support;
use web_support::{code, fails, get, js, ok, SANDBOX};

wasm_bindgen_test_configure!(run_in_browser);

// --- helpers ----------------------------------------------------------------

async fn sandbox(path: &str, body: Option<Value>) -> Value {
    let url = format!("{SANDBOX}{path}");
    let req = match body {
        Some(b) => gloo_net::http::Request::post(&url).json(&b).unwrap(),
        None => gloo_net::http::Request::get(&url).build().unwrap(),
    };
    let resp = req.send().await.unwrap();
    resp.json().await.unwrap_or(Value::Null)
}

async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// A uid no other test (or earlier run against the same sandbox) uses:
/// `prefix` + the time in ms + a random part, at most 32 characters.
fn uid(prefix: &str) -> String {
    let ms = js_sys::Date::now() as u64 % 1_000_000_000_000;
    let rnd = (js_sys::Math::random() * 1e6) as u64;
    format!("wd{prefix}{ms}x{rnd}")
}

fn client(uid: &str) -> DapiClient {
    DapiClient::new(js(json!({"baseUrl": SANDBOX, "uid": uid})).unchecked_into()).unwrap()
}

fn s(v: &JsValue, k: &str) -> String {
    get(v, k).as_string().unwrap_or_else(|| panic!("{k} is not a string in {v:?}"))
}

fn n(v: &JsValue, k: &str) -> f64 {
    get(v, k).as_f64().unwrap_or_else(|| panic!("{k} is not a number in {v:?}"))
}

/// A JS value as JSON (for comparing with the sandbox's views).
fn to_json(v: &JsValue) -> Value {
    let text = js_sys::JSON::stringify(v).unwrap().as_string().unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The sandbox's view of the record of `channel` (`GET /sandbox/dapi/calls`).
async fn record(channel: &str) -> Value {
    let calls = sandbox("/sandbox/dapi/calls", None).await;
    calls
        .as_array()
        .and_then(|a| a.iter().find(|r| r["channel"] == channel).cloned())
        .unwrap_or_else(|| panic!("no record for {channel}"))
}

/// The record of `channel` once it has ended (waits up to `secs`).
async fn ended_record(channel: &str, secs: u32) -> Value {
    for _ in 0..secs * 10 {
        let r = record(channel).await;
        if r["ended"] == true {
            return r;
        }
        sleep(100).await;
    }
    panic!("record {channel} never ended: {}", record(channel).await);
}

/// `(uid, code)` of the users' events (`sender_type` 0) of a record, in order.
fn user_events(r: &Value) -> Vec<(String, i64)> {
    r["event"]
        .as_array()
        .map(|evs| {
            evs.iter()
                .filter(|e| e["sender_type"] == 0)
                .map(|e| {
                    (e["uid"].as_str().unwrap_or_default().to_string(), e["code"].as_i64().unwrap_or(-1))
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn rtc(channel: &str) -> Value {
    sandbox(&format!("/sandbox/dapi/rtc/{channel}"), None).await
}

/// Waits up to `secs` for `f`; fails the test naming `what`.
async fn wait_for(what: &str, secs: u32, f: impl Fn() -> bool) {
    for _ in 0..secs * 10 {
        if f() {
            return;
        }
        sleep(100).await;
    }
    panic!("timed out after {secs} s waiting for {what}");
}

fn blob(bytes: &[u8], content_type: &str) -> web_sys::Blob {
    let parts = Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(content_type);
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts).unwrap()
}

async fn fetch_bytes(url: &str) -> Vec<u8> {
    let resp = gloo_net::http::Request::get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "GET {url}");
    resp.binary().await.unwrap()
}

/// A mock RTC adapter (`{join, leave}`) that records what it is asked and
/// resolves at once; it keeps the `events` object of the last join so the
/// test can play the other side's presence.
struct MockRtc {
    obj: JsValue,
    joins: Rc<RefCell<Vec<JsValue>>>,
    events: Rc<RefCell<Option<JsValue>>>,
    leaves: Rc<Cell<u32>>,
}

impl MockRtc {
    fn new() -> Self {
        let joins = Rc::new(RefCell::new(Vec::new()));
        let events = Rc::new(RefCell::new(None));
        let leaves = Rc::new(Cell::new(0));
        let (j, e) = (joins.clone(), events.clone());
        let join = Closure::<dyn Fn(JsValue, JsValue) -> Promise>::new(move |info: JsValue, evs: JsValue| {
            j.borrow_mut().push(info);
            *e.borrow_mut() = Some(evs);
            Promise::resolve(&JsValue::UNDEFINED)
        });
        let l = leaves.clone();
        let leave = Closure::<dyn Fn() -> Promise>::new(move || {
            l.set(l.get() + 1);
            Promise::resolve(&JsValue::UNDEFINED)
        });
        let obj = js_sys::Object::new();
        // Handed to JS for good: the softphone may call them after the test
        // body ends (a late leave), so they must outlive this struct.
        Reflect::set(&obj, &"join".into(), &join.into_js_value()).unwrap();
        Reflect::set(&obj, &"leave".into(), &leave.into_js_value()).unwrap();
        MockRtc { obj: obj.into(), joins, events, leaves }
    }

    fn joined(&self) -> usize {
        self.joins.borrow().len()
    }

    fn last_join(&self) -> JsValue {
        self.joins.borrow().last().cloned().expect("the adapter was asked to join")
    }

    fn tell(&self, what: &str, uid: &str) {
        let events = self.events.borrow().clone().expect("join() received the events object");
        let f: Function =
            get(&events, what).dyn_into().unwrap_or_else(|_| panic!("events.{what} is a function"));
        f.call1(&events, &uid.into()).unwrap();
    }

    fn remote_joined(&self, uid: &str) {
        self.tell("remoteJoined", uid);
    }

    fn remote_left(&self, uid: &str) {
        self.tell("remoteLeft", uid);
    }
}

/// Everything a softphone told its listeners: `(event name, payload)`.
struct Log {
    seen: Rc<RefCell<Vec<(String, JsValue)>>>,
}

impl Log {
    fn listen(phone: &Softphone) -> Log {
        let seen = Rc::new(RefCell::new(Vec::new()));
        for name in ["incoming", "state", "ended", "connection", "error"] {
            let s = seen.clone();
            let f =
                Closure::<dyn Fn(JsValue)>::new(move |v: JsValue| s.borrow_mut().push((name.to_string(), v)));
            phone.on(name, f.into_js_value().unchecked_into()).unwrap();
        }
        Log { seen }
    }

    fn first(&self, name: &str) -> Option<JsValue> {
        self.seen.borrow().iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    fn count(&self, name: &str) -> usize {
        self.seen.borrow().iter().filter(|(n, _)| n == name).count()
    }

    fn last(&self, name: &str) -> Option<JsValue> {
        self.seen.borrow().iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    /// The `n`th (1-based) `name` event, waiting up to `secs` for it.
    async fn wait_nth(&self, name: &str, n: usize, secs: u32) -> JsValue {
        wait_for(&format!("{name:?} event number {n}"), secs, || self.count(name) >= n).await;
        self.seen.borrow().iter().filter(|(k, _)| k == name).nth(n - 1).map(|(_, v)| v.clone()).unwrap()
    }

    async fn wait(&self, name: &str, secs: u32) -> JsValue {
        wait_for(&format!("a {name:?} event"), secs, || self.first(name).is_some()).await;
        self.first(name).unwrap()
    }

    fn errors(&self) -> Vec<String> {
        self.seen
            .borrow()
            .iter()
            .filter(|(n, _)| n == "error")
            .map(|(_, v)| format!("{:?}", to_json(v)))
            .collect()
    }
}

/// The softphone's snapshot of call `id` (from the `calls` getter).
fn call_of(phone: &Softphone, id: f64) -> JsValue {
    Array::from(&phone.calls())
        .iter()
        .find(|c| get(c, "callId").as_f64() == Some(id))
        .unwrap_or_else(|| panic!("no call {id} in {:?}", to_json(&phone.calls())))
}

fn state_of(phone: &Softphone, id: f64) -> String {
    s(&call_of(phone, id), "state")
}

fn phone(dapi: &DapiClient, rtc: &MockRtc) -> Softphone {
    Softphone::new(
        dapi,
        rtc.obj.clone().unchecked_into(),
        Some(js(json!({"pollPeriodMs": 1000})).unchecked_into()),
    )
    .unwrap()
}

/// `parseDapiCallRecord` as JS sees it: the free function is exported from
/// the generated bindings module (the one the test runner imported), not
/// from a Rust path.
async fn parse_dapi_call_record(body: &str) -> Result<JsValue, JsValue> {
    let import = Function::new_no_args("return import('./wasm-bindgen-test')");
    let module =
        JsFuture::from(import.call0(&JsValue::NULL).unwrap().unchecked_into::<Promise>()).await.unwrap();
    let parse: Function = get(&module, "parseDapiCallRecord")
        .dyn_into()
        .unwrap_or_else(|_| panic!("the bindings export parseDapiCallRecord"));
    parse.call1(&JsValue::NULL, &body.into())
}

// --- DapiClient ---------------------------------------------------------------

#[wasm_bindgen_test]
async fn every_client_call_of_a_user_call_works_and_the_record_ends() {
    let (a, b) = (uid("a"), uid("b"));
    let (da, db) = (client(&a), client(&b));
    assert_eq!(da.uid(), a);

    let cfg = ok(da.config()).await;
    assert!(n(&cfg, "channelHeartbeat") >= 1.0, "{cfg:?}");
    assert!(!s(&cfg, "agoraAppid").is_empty());

    let join = ok(da.call_users(js(json!([b])).unchecked_into(), "from the desk".into())).await;
    let ch = s(&join, "channel");
    assert!(ch.starts_with("ch_"), "{ch}");
    assert_eq!(s(&join, "uid"), a);
    assert_eq!(s(&join, "appID"), s(&cfg, "agoraAppid"));
    assert!(!s(&join, "token").is_empty());

    // The callee sees the incoming call (its first listing still shows status 0).
    let mine = Array::from(&ok(db.call_messages()).await);
    let m = mine.iter().find(|m| get(m, "channel").as_string().as_deref() == Some(&ch)).expect("listed to B");
    assert_eq!(s(&m, "uid"), b);
    assert_eq!(n(&m, "status"), 0.0);
    assert_eq!(s(&m, "extraMsg"), "from the desk");
    assert!(n(&m, "id") > 0.0);
    assert!(!s(&m, "statusLabel").is_empty());
    assert!(!s(&m, "createtime").is_empty());
    // The caller sees the call it placed (uid = the callee's).
    let theirs = Array::from(&ok(da.call_messages()).await);
    let m =
        theirs.iter().find(|m| get(m, "channel").as_string().as_deref() == Some(&ch)).expect("listed to A");
    assert_eq!(s(&m, "uid"), b);
    assert!(n(&m, "status") < 2.0);

    let tb = ok(db.channel_token(&ch)).await;
    assert_eq!((s(&tb, "channel"), s(&tb, "uid")), (ch.clone(), b.clone()));
    assert!(!s(&tb, "token").is_empty());
    assert_ne!(s(&tb, "token"), s(&join, "token"));
    // Both tokens are the server's own: the RTC stand-in lets both in.
    for j in [&join, &tb] {
        let r = sandbox(
            "/sandbox/dapi/rtc/join",
            Some(json!({"channel": ch, "uid": s(j, "uid"), "token": s(j, "token")})),
        )
        .await;
        assert_eq!(r["success"], true, "{r}");
    }
    let members = rtc(&ch).await["members"].clone();
    assert!(members.as_array().is_some_and(|m| m.contains(&json!(a)) && m.contains(&json!(b))), "{members}");

    assert!(ok(da.heartbeat(&ch)).await.is_undefined());
    assert!(ok(db.heartbeat(&ch)).await.is_undefined());

    ok(da.report_event(&ch, 1.0, "talking".into())).await;
    ok(db.report_event(&ch, 1.0, JsValue::UNDEFINED)).await;
    ok(da.report_event(&ch, 2.0, "hung up".into())).await;
    ok(db.report_event(&ch, 2.0, JsValue::NULL)).await;

    let r = record(&ch).await;
    assert_eq!(r["ended"], true, "caller and callee reported an end code: {r}");
    assert_eq!(
        user_events(&r),
        vec![(a.clone(), 1), (b.clone(), 1), (a.clone(), 2), (b.clone(), 2)],
        "{}",
        r["event"]
    );
    let desp: Vec<&Value> = r["event"].as_array().unwrap().iter().map(|e| &e["desp"]).collect();
    assert_eq!(desp[0], "talking");
    let beats = r["heartbeats"].as_array().cloned().unwrap_or_default();
    for u in [&a, &b] {
        assert!(beats.iter().any(|h| h["uid"] == **u), "a heartbeat from {u}: {beats:?}");
    }
    // Over: the channel is gone for heartbeats, with the server's words.
    let e = fails(da.heartbeat(&ch)).await;
    assert_eq!(code(&e), "refused");
    assert!(s(&e, "message").contains("频道不存在或已结束"), "{:?}", get(&e, "message"));
}

#[wasm_bindgen_test]
async fn robot_calls_invites_and_quits() {
    let a = uid("r");
    let da = client(&a);
    let join = ok(da.call_robot()).await;
    let ch = s(&join, "channel");
    assert_eq!(s(&join, "uid"), a);
    assert!(!s(&join, "token").is_empty());
    assert_eq!(rtc(&ch).await["robot"], true, "the robot is in at once");

    assert!(ok(da.quit_robot(&ch)).await.is_undefined());
    assert_eq!(rtc(&ch).await["robot"], false);
    let inv = ok(da.invite_robot(&ch)).await;
    assert_eq!((s(&inv, "channel"), s(&inv, "uid")), (ch.clone(), a.clone()));
    assert_eq!(rtc(&ch).await["robot"], true);
    ok(da.quit_robot(&ch)).await;
    assert_eq!(rtc(&ch).await["robot"], false);

    ok(da.report_event(&ch, 2.0, JsValue::UNDEFINED)).await;
    let r = record(&ch).await;
    assert_eq!(r["ended"], true, "{r}");
    let robot: Vec<i64> = r["event"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["sender_type"] == 1)
        .map(|e| e["code"].as_i64().unwrap())
        .collect();
    assert_eq!(robot, vec![1, 2, 1, 2], "the robot greeted and left twice: {}", r["event"]);
    assert!(rtc(&ch).await["ended"] == true);
}

#[wasm_bindgen_test]
async fn scheduled_calls_are_saved_updated_and_paged() {
    let (a, b) = (uid("t"), uid("u"));
    let da = client(&a);
    // Far in the future: they never fire while the tests run.
    let task = |id: Option<f64>, time: &str, taskid: &str| {
        let mut t = json!({"dstUids": [b], "callTime": time, "taskid": taskid});
        if let Some(id) = id {
            t["id"] = id.into();
        }
        js(t).unchecked_into()
    };
    let first = n(&ok(da.save_call_task(task(None, "2099-03-01 09:00:00", "T-1"))).await, "id");
    let again = ok(da.save_call_task(task(Some(first), "2099-01-01 08:30:00", "T-1b"))).await;
    assert_eq!(n(&again, "id"), first, "an update answers with the same row");
    let second = n(&ok(da.save_call_task(task(None, "2099-02-01 09:00:00", "T-2"))).await, "id");
    let third = n(&ok(da.save_call_task(task(None, "2099-04-01 09:00:00", "T-3"))).await, "id");
    assert!(first != second && second != third && first != third);

    let p1 = ok(da.call_tasks(Some(1.0), Some(2.0))).await;
    assert_eq!((n(&p1, "total"), n(&p1, "page"), n(&p1, "perPage")), (3.0, 1.0, 2.0));
    let rows1 = Array::from(&get(&p1, "rows"));
    assert_eq!(rows1.length(), 2);
    let p2 = ok(da.call_tasks(Some(2.0), Some(2.0))).await;
    assert_eq!((n(&p2, "total"), n(&p2, "page")), (3.0, 2.0));
    let rows2 = Array::from(&get(&p2, "rows"));
    assert_eq!(rows2.length(), 1);
    // By call time: the updated row moved to the front.
    let ids: Vec<f64> = rows1.iter().chain(rows2.iter()).map(|r| n(&r, "id")).collect();
    assert_eq!(ids, vec![first, second, third]);
    let row = rows1.get(0);
    assert_eq!(
        (s(&row, "srcUid"), s(&row, "callTime"), s(&row, "taskid")),
        (a.clone(), "2099-01-01 08:30:00".to_string(), "T-1b".to_string())
    );
    assert_eq!(to_json(&get(&row, "dstUid")), json!([b]));
    assert!(Array::is_array(&get(&row, "toneList")));
    // Defaults: page 1 of 20.
    let all = ok(da.call_tasks(None, None)).await;
    assert_eq!((n(&all, "total"), Array::from(&get(&all, "rows")).length()), (3.0, 3));
}

#[wasm_bindgen_test]
async fn scheduled_calls_page_cleanly_from_a_server_that_ignores_paging() {
    let a = uid("p");
    let da = client(&a);
    for i in 0..25 {
        let t = json!({"dstUids": ["callee"], "callTime": format!("2099-05-01 09:{i:02}:00"), "taskid": format!("P-{i}")});
        ok(da.save_call_task(js(t).unchecked_into())).await;
    }
    for (mode, sent) in [("whole", 25.0), ("first", 20.0), ("pages", 25.0)] {
        sandbox("/sandbox/dapi/settings", Some(json!({"taskListPaging": mode}))).await;
        // Page by 10 as the console does, until the last page the replies imply.
        let mut taskids: Vec<String> = Vec::new();
        let mut page = 1.0;
        loop {
            let p = ok(da.call_tasks(Some(page), Some(10.0))).await;
            let rows = Array::from(&get(&p, "rows"));
            assert!(rows.length() <= 10, "{mode}: page {page} has {} rows", rows.length());
            taskids.extend(rows.iter().map(|r| s(&r, "taskid")));
            assert_eq!(
                (n(&p, "page"), n(&p, "total"), n(&p, "withheld")),
                (page, sent, 25.0 - sent),
                "{mode}"
            );
            if page * 10.0 >= n(&p, "total") {
                break;
            }
            page += 1.0;
        }
        let want: Vec<String> = (0..sent as usize).map(|i| format!("P-{i}")).collect();
        assert_eq!(taskids, want, "{mode}: every row it sends, once, in order");
    }
}

#[wasm_bindgen_test]
async fn uploads_resolve_to_absolute_urls_with_the_same_bytes() {
    let da = client(&uid("f"));
    let progress = Rc::new(Cell::new(0u32));
    let p = progress.clone();
    let on_progress: Function = Closure::<dyn Fn(f64, f64)>::new(move |loaded: f64, total: f64| {
        assert!(loaded >= 0.0 && total >= 0.0);
        p.set(p.get() + 1);
    })
    .into_js_value()
    .unchecked_into();

    let one: Vec<u8> = format!("dapi upload {} \u{0}\u{1}\u{2}", js_sys::Math::random()).into_bytes();
    let urls = Array::from(
        &ok(da.upload(blob(&one, "text/plain").unchecked_into(), Some(on_progress.clone()))).await,
    );
    assert_eq!(urls.length(), 1);
    let url = urls.get(0).as_string().unwrap();
    assert!(url.starts_with(&format!("{SANDBOX}/media/general_upload/")), "{url}");
    assert_eq!(fetch_bytes(&url).await, one);
    assert!(progress.get() >= 1, "onProgress was called");

    let before = progress.get();
    let two: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let both = Array::of2(&blob(&one, "text/plain"), &blob(&two, "application/octet-stream"));
    let urls = Array::from(&ok(da.upload(both.unchecked_into(), Some(on_progress))).await);
    assert_eq!(urls.length(), 2);
    let (u1, u2) = (urls.get(0).as_string().unwrap(), urls.get(1).as_string().unwrap());
    assert!(u1.starts_with("http") && u2.starts_with("http"), "{u1} {u2}");
    assert_eq!(fetch_bytes(&u1).await, one, "in order");
    assert_eq!(fetch_bytes(&u2).await, two);
    assert!(progress.get() > before, "onProgress was called again");

    // Without a callback; and nothing to upload is refused before sending.
    let urls = Array::from(&ok(da.upload(blob(b"x", "text/plain").unchecked_into(), None)).await);
    assert_eq!(urls.length(), 1);
    let e = fails(da.upload(Array::new().unchecked_into(), None)).await;
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("files".into())));
}

/// Files over 10 MB together are refused before a byte is sent: the
/// sandbox would answer 413 (`refused`), the client says `invalid_input`
/// on `files`, in words, and `onProgress` never runs.
#[wasm_bindgen_test]
async fn uploads_over_the_limit_are_refused_before_sending() {
    let da = client(&uid("big"));
    let progress = Rc::new(Cell::new(0u32));
    let p = progress.clone();
    let on_progress: Function = Closure::<dyn Fn(f64, f64)>::new(move |_: f64, _: f64| p.set(p.get() + 1))
        .into_js_value()
        .unchecked_into();
    let half = 5 * 1024 * 1024;
    let part = |n: u32| {
        let parts = Array::of1(&js_sys::Uint8Array::new_with_length(n));
        web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap()
    };
    let files = Array::of2(&part(half), &part(half + 1));
    let e = fails(da.upload(files.unchecked_into(), Some(on_progress.clone()))).await;
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("files".into())));
    let msg = get(&e, "message").as_string().unwrap_or_default();
    assert!(msg.contains("超过上限 10 MB"), "{msg}");
    assert_eq!(progress.get(), 0, "nothing was sent");
    // One file alone over the limit too.
    let e = fails(da.upload(part(2 * half + 1).unchecked_into(), Some(on_progress))).await;
    assert_eq!(code(&e), "invalid_input");
    assert_eq!(progress.get(), 0, "nothing was sent");
}

#[wasm_bindgen_test]
async fn parse_dapi_call_record_reads_the_seeds_sender_typ() {
    let body = json!({"callrecord": {
        "channel": "ch_4aY875LP4o", "dst_uid": [4322, "4323"], "id": "77", "is_robot": 0,
        "src_uid": 4321, "starttime": "2024-05-01 10:00:00", "endtime": "2024-05-01 10:01:00",
        "event": [
            {"id": 1, "channel": "ch_4aY875LP4o", "code": 1, "createtime": "2024-05-01 10:00:00",
             "desp": "", "sender_typ": 0, "pk": 1, "record": 77, "uid": "4321"},
            {"id": 2, "channel": "ch_4aY875LP4o", "code": "2", "createtime": "2024-05-01 10:01:00",
             "desp": "robot quit", "sender_typ": 1, "pk": 2, "record": 77, "uid": "robot"},
            {"id": 3, "channel": "ch_4aY875LP4o", "code": 2, "createtime": "2024-05-01 10:01:00",
             "desp": "", "sender_type": 0, "pk": 3, "record": 77, "uid": 4321}
        ],
        "resource": {"captions": [], "recording": [
            {"user": "4321", "kind_label": "录音", "content": "/media/recording/77_4321.wav"}
        ], "recording_timestamp": []},
        "pk": 77, "count": 3, "refreshtime": "2024-05-01 10:01:00"
    }});
    let rec = parse_dapi_call_record(&body.to_string()).await.unwrap_or_else(|e| panic!("{:?}", to_json(&e)));
    assert_eq!(s(&rec, "channel"), "ch_4aY875LP4o");
    assert_eq!((n(&rec, "id"), s(&rec, "srcUid")), (77.0, "4321".to_string()));
    assert_eq!(to_json(&get(&rec, "dstUid")), json!(["4322", "4323"]));
    assert_eq!(get(&rec, "isRobot").as_bool(), Some(false));
    let events = Array::from(&get(&rec, "event"));
    assert_eq!(events.length(), 3);
    let senders: Vec<f64> = events.iter().map(|e| n(&e, "senderType")).collect();
    assert_eq!(senders, vec![0.0, 1.0, 0.0], "sender_typ and sender_type both read");
    let codes: Vec<f64> = events.iter().map(|e| n(&e, "code")).collect();
    assert_eq!(codes, vec![1.0, 2.0, 2.0]);
    assert_eq!(s(&events.get(2), "uid"), "4321");
    let rec_json = to_json(&rec);
    assert_eq!(rec_json["resource"]["recording"][0]["kindLabel"], "录音");
    assert_eq!(rec_json["resource"]["recording"][0]["content"], "/media/recording/77_4321.wav");
    assert_eq!(rec_json["count"], 3);

    // Not a call record: a decode error, thrown.
    let e = parse_dapi_call_record("{\"callrecord\": 5}").await.expect_err("refused");
    assert_eq!(code(&e), "decode");
}

// --- refusals and input checks -------------------------------------------------

#[wasm_bindgen_test]
async fn bad_input_is_refused_before_sending_and_refusals_carry_the_servers_words() {
    let (a, b) = (uid("x"), uid("y"));
    let da = client(&a);
    let join = ok(da.call_users(js(json!(b)).unchecked_into(), JsValue::UNDEFINED)).await;
    let ch = s(&join, "channel");

    let e = fails(da.report_event(&ch, 5.0, JsValue::UNDEFINED)).await;
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("code".into())));
    let e = fails(da.report_event(&ch, 1.5, JsValue::UNDEFINED)).await;
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("code"));
    assert!(record(&ch).await["event"].as_array().is_some_and(|e| e.is_empty()), "nothing was sent");

    let e = fails(da.call_users(js(json!([])).unchecked_into(), JsValue::UNDEFINED)).await;
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("dstUids".into())));
    // Uids are the site's (UUIDs, e-mails): a control character is what is refused.
    let e = fails(da.call_users(js(json!(["a\u{1}b"])).unchecked_into(), JsValue::UNDEFINED)).await;
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("dstUids"));

    let e = fails(da.channel_token("ch_NoSuchChan01")).await;
    assert_eq!(code(&e), "refused");
    assert!(s(&e, "message").contains("频道不存在或已结束"), "{:?}", get(&e, "message"));
    let e = fails(da.channel_token("ch\u{7}x")).await;
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("channel".into())));

    let e =
        DapiClient::new(js(json!({"baseUrl": "javascript:x", "uid": "1"})).unchecked_into()).err().unwrap();
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("baseUrl".into())));
    for bad in [json!("a\u{0}b"), json!(""), json!("x".repeat(257)), json!(1.5)] {
        let e = DapiClient::new(js(json!({"baseUrl": SANDBOX, "uid": bad})).unchecked_into()).err().unwrap();
        assert_eq!(
            (code(&e), get(&e, "field").as_string()),
            ("invalid_input".into(), Some("uid".into())),
            "{bad}"
        );
    }
    let e = DapiClient::new(JsValue::from_str("x").unchecked_into()).err().unwrap();
    assert_eq!(code(&e), "invalid_input");
    // A number uid is fine and kept as text.
    let numeric = DapiClient::new(js(json!({"baseUrl": SANDBOX, "uid": 4321})).unchecked_into()).unwrap();
    assert_eq!(numeric.uid(), "4321");

    // Clean up: the caller cancels (the callee never fetched: the record ends).
    ok(da.report_event(&ch, 1000.0, JsValue::UNDEFINED)).await;
    assert_eq!(record(&ch).await["ended"], true);
}

/// Issue 11, point 5: a UUID and an e-mail address are uids; with the sandbox's
/// `oddRow` knob one message of `call/msg` lacks its channel, and `callMessages`
/// keeps the other and says so in `skipped`, instead of failing the poll.
#[wasm_bindgen_test]
async fn call_messages_keep_the_good_rows_and_uids_may_be_uuids_or_emails() {
    let tag = uid("");
    let (a, b) = (format!("3f2b8c1e-9a4d-4e2f-8b7a-{tag}"), format!("{tag}@example.com"));
    let (da, db) = (client(&a), client(&b));
    let first = s(&ok(da.call_users(js(json!([b])).unchecked_into(), JsValue::UNDEFINED)).await, "channel");
    let second = s(&ok(da.call_users(js(json!([b])).unchecked_into(), JsValue::UNDEFINED)).await, "channel");
    let m = ok(db.call_messages()).await;
    assert_eq!(to_json(&get(&m, "skipped")), json!({"count": 0, "reasons": []}));
    assert_eq!(to_json(&m).as_array().map(Vec::len), Some(2));
    sandbox("/sandbox/dapi/settings", Some(json!({"oddRow": true}))).await;
    let m = ok(db.call_messages()).await;
    sandbox("/sandbox/dapi/settings", Some(json!({"oddRow": false}))).await;
    let rows = to_json(&m);
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(
        (rows[0]["uid"].as_str(), rows[0]["channel"].as_str()),
        (Some(b.as_str()), Some(second.as_str()))
    );
    let skipped = to_json(&get(&m, "skipped"));
    assert_eq!(skipped["count"], 1, "{skipped}");
    assert!(skipped["reasons"][0].as_str().unwrap_or_default().contains("channel"), "{skipped}");
    // Clean up: the caller cancels both (the callee never answered).
    for ch in [first, second] {
        ok(da.report_event(&ch, 1000.0, JsValue::UNDEFINED)).await;
    }
}

// --- Softphone ----------------------------------------------------------------

#[wasm_bindgen_test]
async fn two_softphones_call_answer_talk_and_hang_up() {
    let (a, b) = (uid("A"), uid("B"));
    let (da, db) = (client(&a), client(&b));
    let cfg = ok(da.config()).await;
    let (ra, rb) = (MockRtc::new(), MockRtc::new());
    let (pa, pb) = (phone(&da, &ra), phone(&db, &rb));
    let (la, lb) = (Log::listen(&pa), Log::listen(&pb));
    assert!(pa.timer_in_worker(), "timers run in a worker");
    assert!(pb.timer_in_worker());
    pa.start();
    pb.start();

    let id = ok(pa.call(js(json!([b])).unchecked_into(), "hello B".into())).await;
    let id = id.as_f64().expect("call() resolves to a number");
    // A gets a channel and joins it, then rings.
    wait_for("A's adapter to join", 10, || ra.joined() == 1).await;
    let ja = ra.last_join();
    let ch = s(&ja, "channel");
    assert_eq!(s(&ja, "uid"), a);
    wait_for("A to ring", 5, || state_of(&pa, id) == "ringing").await;
    let out = call_of(&pa, id);
    assert_eq!((s(&out, "role"), s(&out, "channel")), ("caller".to_string(), ch.clone()));
    assert_eq!(to_json(&get(&out, "callees")), json!([b]));

    // B polls (1 s) and rings.
    let incoming = lb.wait("incoming", 10).await;
    assert_eq!(s(&incoming, "channel"), ch);
    assert_eq!(s(&incoming, "role"), "callee");
    assert_eq!(s(&incoming, "state"), "ringing");
    assert_eq!(s(&incoming, "extraMsg"), "hello B");
    let bid = n(&incoming, "callId");
    assert_eq!(lb.count("incoming"), 1);

    ok(pb.answer(bid)).await;
    wait_for("B's adapter to join", 10, || rb.joined() == 1).await;
    let jb = rb.last_join();
    assert_eq!((s(&jb, "channel"), s(&jb, "uid")), (ch.clone(), b.clone()));
    assert!(!s(&jb, "token").is_empty() && !s(&jb, "appID").is_empty());
    assert_eq!(s(&jb, "appID"), s(&cfg, "agoraAppid"));

    // The adapters see each other: both talk.
    ra.remote_joined(&b);
    rb.remote_joined(&a);
    wait_for("A to talk", 5, || state_of(&pa, id) == "talking").await;
    wait_for("B to talk", 5, || state_of(&pb, bid) == "talking").await;
    assert_eq!(to_json(&get(&call_of(&pa, id), "peers")), json!([b]));
    assert!(get(&call_of(&pa, id), "talkStartedMs").as_f64().is_some());
    assert!(la.first("ended").is_none() && lb.first("ended").is_none());
    // A second call while talking is refused.
    let e = fails(pa.call(js(json!([b])).unchecked_into(), JsValue::UNDEFINED)).await;
    assert_eq!(code(&e), "invalid_state");

    ok(pa.hangup()).await;
    let ended_a = la.wait("ended", 5).await;
    assert_eq!(n(&ended_a, "callId"), id);
    assert_eq!(s(&ended_a, "state"), "ended");
    let why = get(&ended_a, "ended");
    assert_eq!((s(&why, "kind"), get(&why, "byMe").as_bool()), ("hangup".to_string(), Some(true)));
    wait_for("A's adapter to leave", 5, || ra.leaves.get() >= 1).await;

    rb.remote_left(&a);
    let ended_b = lb.wait("ended", 10).await;
    let why = get(&ended_b, "ended");
    assert_eq!((s(&why, "kind"), get(&why, "byMe").as_bool()), ("hangup".to_string(), Some(false)));
    wait_for("B's adapter to leave", 5, || rb.leaves.get() >= 1).await;
    assert_eq!((la.count("ended"), lb.count("ended")), (1, 1), "ended once each");

    // The server heard each side's 1 and 2 exactly once, and the record is over.
    let r = ended_record(&ch, 10).await;
    let evs = user_events(&r);
    for u in [&a, &b] {
        for c in [1, 2] {
            let k = evs.iter().filter(|(who, code)| who == u && *code == c).count();
            assert_eq!(k, 1, "code {c} from {u} once: {evs:?}");
        }
    }
    assert_eq!(evs.len(), 4, "{evs:?}");
    assert_eq!(r["end_reason"], "all_reported", "{r}");

    assert_eq!(s(&pa.connection(), "state"), "ok");
    assert_eq!(s(&pb.connection(), "state"), "ok");
    let hb = n(&cfg, "channelHeartbeat").clamp(5.0, 300.0) * 1000.0;
    assert_eq!(pa.heartbeat_period_ms(), hb, "the server's heartbeat period");
    assert!(la.errors().is_empty() && lb.errors().is_empty(), "{:?} {:?}", la.errors(), lb.errors());
    pa.stop();
    pb.stop();
}

#[wasm_bindgen_test]
async fn softphone_refusals_and_a_rejected_call() {
    let (a, b) = (uid("C"), uid("D"));
    let (da, db) = (client(&a), client(&b));
    let (ra, rb) = (MockRtc::new(), MockRtc::new());
    let (pa, pb) = (phone(&da, &ra), phone(&db, &rb));
    let (la, lb) = (Log::listen(&pa), Log::listen(&pb));

    assert_eq!(code(&fails(pb.answer(999_999.0)).await), "invalid_state");
    assert_eq!(code(&fails(pb.reject(999_999.0)).await), "invalid_state");
    assert_eq!(code(&fails(pa.hangup()).await), "invalid_state");
    assert_eq!(code(&fails(pa.invite_robot()).await), "invalid_state");
    let f: Function = Closure::<dyn Fn(JsValue)>::new(|_v: JsValue| {}).into_js_value().unchecked_into();
    let e = pa.on("nope", f).expect_err("an unknown event is refused");
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("eventName".into())));
    let e = fails(pa.call(js(json!([a])).unchecked_into(), JsValue::UNDEFINED)).await;
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("dstUids".into())));
    let e = Softphone::new(&da, js(json!({"join": 1})).unchecked_into(), None).err().unwrap();
    assert_eq!((code(&e), get(&e, "field").as_string()), ("invalid_input".into(), Some("rtcAdapter".into())));
    let e = Softphone::new(
        &da,
        ra.obj.clone().unchecked_into(),
        Some(js(json!({"pollPeriodMs": 10})).unchecked_into()),
    )
    .err()
    .unwrap();
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("pollPeriodMs"));

    pa.start();
    pb.start();
    let id = ok(pa.call(js(json!(b)).unchecked_into(), JsValue::UNDEFINED)).await.as_f64().unwrap();
    wait_for("A's adapter to join", 10, || ra.joined() == 1).await;
    let ch = s(&ra.last_join(), "channel");
    let incoming = lb.wait("incoming", 10).await;
    assert_eq!(s(&incoming, "channel"), ch);
    let bid = n(&incoming, "callId");
    ok(pb.reject(bid)).await;
    let ended_b = lb.wait("ended", 5).await;
    assert_eq!(s(&get(&ended_b, "ended"), "kind"), "rejectedByMe");
    assert_eq!(rb.joined(), 0, "a rejected call is never joined");
    // Answering it now is too late.
    assert_eq!(code(&fails(pb.answer(bid)).await), "invalid_state");

    // A learns from its next poll.
    let ended_a = la.wait("ended", 10).await;
    assert_eq!(n(&ended_a, "callId"), id);
    assert_eq!(s(&get(&ended_a, "ended"), "kind"), "rejected");
    wait_for("A's adapter to leave", 5, || ra.leaves.get() >= 1).await;

    let r = ended_record(&ch, 10).await;
    let evs = user_events(&r);
    assert_eq!(evs.iter().filter(|e| **e == (b.clone(), 1003)).count(), 1, "{evs:?}");
    assert_eq!(evs.iter().filter(|e| **e == (a.clone(), 1002)).count(), 1, "{evs:?}");
    assert_eq!(evs.len(), 2, "nothing else: {evs:?}");
    assert!(la.errors().is_empty() && lb.errors().is_empty(), "{:?} {:?}", la.errors(), lb.errors());
    pa.stop();
    pb.stop();
}

// --- issue 11: heartbeat schedule, clock steps, many calls in a row -------------

/// The sandbox's dapi settings now, to put back after a test that changes them.
async fn dapi_settings() -> Value {
    sandbox("/sandbox/dapi/settings", None).await
}

/// Puts back what [`dapi_settings`] read (the knobs this file touches).
async fn restore_settings(saved: &Value) {
    let body = json!({
        "channelHeartbeat": saved["channelHeartbeat"].as_u64().unwrap_or(30),
        "heartbeatReplyDelayMs": saved["heartbeatReplyDelayMs"].as_u64().unwrap_or(0),
    });
    sandbox("/sandbox/dapi/settings", Some(body)).await;
}

/// When the server got each heartbeat of `uid` in `channel` (sandbox ms).
fn beats_of(r: &Value, uid: &str) -> Vec<i64> {
    r["heartbeats"]
        .as_array()
        .map(|a| a.iter().filter(|h| h["uid"] == uid).filter_map(|h| h["atMs"].as_i64()).collect())
        .unwrap_or_default()
}

fn gaps(beats: &[i64]) -> Vec<i64> {
    beats.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Steps the page's wall clock: `Date.now()` reads `offset_ms` off real time from now
/// on (0 puts it back). `performance.now()` is left alone, as a real clock step does.
fn step_wall_clock(offset_ms: f64) {
    let f = Function::new_with_args(
        "off",
        "if (!Date.__realNow) Date.__realNow = Date.now;
         const real = Date.__realNow;
         Date.now = off === 0 ? real : () => real() + off;",
    );
    f.call1(&JsValue::NULL, &offset_ms.into()).unwrap();
}

/// `performance.now()`: the test's own clock, which the steps leave alone.
fn real_now_ms() -> f64 {
    Function::new_no_args("return performance.now()").call0(&JsValue::NULL).unwrap().as_f64().unwrap()
}

/// Two started softphones, `A` calling `B`, each with a mock RTC adapter.
struct Pair {
    a: String,
    b: String,
    pa: Softphone,
    pb: Softphone,
    ra: MockRtc,
    rb: MockRtc,
    la: Log,
    lb: Log,
}

impl Pair {
    fn new(tag: &str) -> Pair {
        let (a, b) = (uid(&format!("{tag}a")), uid(&format!("{tag}b")));
        let (ra, rb) = (MockRtc::new(), MockRtc::new());
        let (pa, pb) = (phone(&client(&a), &ra), phone(&client(&b), &rb));
        let (la, lb) = (Log::listen(&pa), Log::listen(&pb));
        pa.start();
        pb.start();
        Pair { a, b, pa, pb, ra, rb, la, lb }
    }

    /// A calls B; both ring. → (channel, A's call id, B's call id).
    async fn ring(&self) -> (String, f64, f64) {
        let id = ok(self.pa.call(js(json!([self.b])).unchecked_into(), JsValue::UNDEFINED)).await;
        let id = id.as_f64().unwrap();
        wait_for("A's adapter to join", 10, || self.ra.joined() == 1).await;
        wait_for("A to ring", 5, || state_of(&self.pa, id) == "ringing").await;
        let incoming = self.lb.wait("incoming", 10).await;
        (s(&incoming, "channel"), id, n(&incoming, "callId"))
    }

    /// B answers; the adapters see each other; both talk.
    async fn answer(&self, id: f64, bid: f64) {
        ok(self.pb.answer(bid)).await;
        wait_for("B's adapter to join", 10, || self.rb.joined() == 1).await;
        self.ra.remote_joined(&self.b);
        self.rb.remote_joined(&self.a);
        wait_for("A to talk", 5, || state_of(&self.pa, id) == "talking").await;
        wait_for("B to talk", 5, || state_of(&self.pb, bid) == "talking").await;
    }
}

#[wasm_bindgen_test]
async fn heartbeats_keep_within_one_period_when_replies_take_1_5_s() {
    // The sandbox drops a uid after exactly one silent period (its default) and answers
    // every heartbeat 1.5 s late. Scheduling the next beat from the reply made the beats
    // period + 1.5 s apart, and the call dropped after the first.
    let saved = dapi_settings().await;
    assert_eq!(saved["heartbeatDeadlinePct"], 100, "the sandbox's strict default: {saved}");
    sandbox("/sandbox/dapi/settings", Some(json!({"channelHeartbeat": 5, "heartbeatReplyDelayMs": 1500})))
        .await;
    let p = Pair::new("S");
    let (ch, id, bid) = p.ring().await;
    p.answer(id, bid).await;
    sleep(21_000).await; // four periods and a bit
    let r = record(&ch).await;
    let (sa, sb) = (state_of(&p.pa, id), state_of(&p.pb, bid));
    restore_settings(&saved).await;
    if sa == "talking" {
        ok(p.pa.hangup()).await;
    }
    p.pa.stop();
    p.pb.stop();

    assert_eq!(r["ended"], false, "the server kept the call: {}", r["end_reason"]);
    assert_eq!((sa.as_str(), sb.as_str()), ("talking", "talking"));
    for u in [&p.a, &p.b] {
        let beats = beats_of(&r, u);
        assert!(beats.len() >= 4, "{u}: {beats:?}");
        let g = gaps(&beats);
        assert!(g.iter().all(|&d| d < 5_000), "{u}: beats arrive within every 5 s period: {g:?}");
    }
    assert_eq!(s(&p.pa.connection(), "state"), "ok");
    assert!(p.la.errors().is_empty() && p.lb.errors().is_empty(), "{:?} {:?}", p.la.errors(), p.lb.errors());
}

#[wasm_bindgen_test]
async fn the_driver_clock_ignores_a_wall_clock_step() {
    let before = agent_console::transport::now().0;
    let wall = js_sys::Date::now();
    step_wall_clock(-600_000.0);
    let stepped = js_sys::Date::now();
    let after = agent_console::transport::now().0;
    step_wall_clock(0.0);
    assert!(wall - stepped > 590_000.0, "the override took: {wall} → {stepped}");
    assert!(after >= before && after - before < 1_000, "now() kept its course: {before} → {after}");
    // The wall clock itself is still the wall clock (timestamps, signing, skew).
    let w = agent_console::transport::wall_clock_ms() as f64;
    assert!((w - js_sys::Date::now()).abs() < 1_000.0);
}

#[wasm_bindgen_test]
async fn a_wall_clock_step_either_way_during_a_call_moves_no_deadline() {
    let saved = dapi_settings().await;
    sandbox("/sandbox/dapi/settings", Some(json!({"channelHeartbeat": 5}))).await;
    let p = Pair::new("T");
    let (ch, id, bid) = p.ring().await;
    // Forward 10 minutes while it rings: no ring timeout (45 s) falls due.
    step_wall_clock(600_000.0);
    sleep(1_500).await;
    let (ring_a, ring_b) = (state_of(&p.pa, id), state_of(&p.pb, bid));
    if ring_a == "ringing" && ring_b == "ringing" {
        p.answer(id, bid).await;
    }
    let talk_from = real_now_ms();
    // Back 20 minutes (10 behind real time) while talking: no heartbeat is postponed.
    sleep(1_000).await;
    step_wall_clock(-600_000.0);
    sleep(15_000).await;
    // Forward 20 minutes (10 ahead): no heartbeat is brought forward.
    step_wall_clock(600_000.0);
    sleep(10_000).await;
    let talked_ms = real_now_ms() - talk_from;
    let started = get(&call_of(&p.pa, id), "talkStartedMs").as_f64();
    let wall_now = js_sys::Date::now();
    step_wall_clock(0.0);
    let r = record(&ch).await;
    let (sa, sb) = (state_of(&p.pa, id), state_of(&p.pb, bid));
    restore_settings(&saved).await;
    if sa == "talking" {
        ok(p.pa.hangup()).await;
    }
    p.pa.stop();
    p.pb.stop();

    assert_eq!((ring_a.as_str(), ring_b.as_str()), ("ringing", "ringing"), "still ringing after +10 min");
    assert_eq!(r["ended"], false, "the server kept the call: {}", r["end_reason"]);
    assert_eq!((sa.as_str(), sb.as_str()), ("talking", "talking"));
    for u in [&p.a, &p.b] {
        let g = gaps(&beats_of(&r, u));
        assert!(g.len() >= 5, "{u}: {g:?}");
        // One interval (5 s less a sixth) apart, neither postponed nor hurried.
        assert!(g.iter().all(|&d| (3_000..5_000).contains(&d)), "{u}: heartbeat gaps {g:?}");
    }
    // talkStartedMs is a Date.now() time: Date.now() - talkStartedMs is the talk's length.
    let started = started.expect("talkStartedMs while talking");
    let length = wall_now - started;
    assert!((length - talked_ms).abs() < 2_500.0, "talk length {length} ms, measured {talked_ms} ms");
    assert!(p.la.errors().is_empty() && p.lb.errors().is_empty(), "{:?} {:?}", p.la.errors(), p.lb.errors());
}

/// An RTC stand-in with an SDK-like emitter (`on` keeps every handler; `emit` calls
/// them in the order added, and a throwing handler stops the rest, as an SDK's emitter
/// does), and an adapter for it written in `pattern`: `"per-join"` adds the handlers in
/// every `join` (the README's example before issue 11), `"once"` adds them once and
/// routes them to the latest join's `events` (the README's example now).
fn agora_adapter(pattern: &str) -> (JsValue, JsValue) {
    let make = Function::new_with_args(
        "pattern",
        r#"
        const agora = {
          handlers: {}, joins: [],
          on(name, f) { (this.handlers[name] = this.handlers[name] || []).push(f); },
          emit(name, arg) { for (const f of this.handlers[name] || []) f(arg); },
          join(appId, channel, token, uid) { this.joins.push(channel); return Promise.resolve(uid); },
          leave() { return Promise.resolve(); },
        };
        if (pattern === 'per-join') {
          return [agora, {
            join: (info, events) => agora.join(info.appID, info.channel, info.token, info.uid).then(() => {
              agora.on('user-joined', (u) => events.remoteJoined(String(u.uid)));
              agora.on('user-left', (u) => events.remoteLeft(String(u.uid)));
            }),
            leave: () => agora.leave(),
          }];
        }
        let events = null;
        agora.on('user-joined', (u) => events?.remoteJoined(String(u.uid)));
        agora.on('user-left', (u) => events?.remoteLeft(String(u.uid)));
        return [agora, {
          join: (info, ev) => { events = ev; return agora.join(info.appID, info.channel, info.token, info.uid); },
          leave: () => agora.leave(),
        }];
        "#,
    );
    let pair = Array::from(&make.call1(&JsValue::NULL, &pattern.into()).unwrap());
    (pair.get(0), pair.get(1))
}

/// `agora.emit(name, {uid})`; `Err` with the message if a handler threw.
fn emit(agora: &JsValue, name: &str, uid: &str) -> Result<(), String> {
    let f: Function = get(agora, "emit").dyn_into().unwrap();
    let arg = js(json!({ "uid": uid }));
    f.call2(agora, &name.into(), &arg).map(|_| ()).map_err(|e| {
        e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{e:?}"))
    })
}

/// `calls` calls in a row from A (RTC through `pattern`) to B (mock RTC): each must
/// reach "talking" on both sides and end with both reports.
async fn calls_in_a_row(pattern: &str, calls: usize) {
    let (a, b) = (uid(&format!("R{}", &pattern[..1])), uid("Rb"));
    let (agora, adapter) = agora_adapter(pattern);
    let pa = Softphone::new(
        &client(&a),
        adapter.unchecked_into(),
        Some(js(json!({"pollPeriodMs": 1000})).unchecked_into()),
    )
    .unwrap();
    let rb = MockRtc::new();
    let pb = phone(&client(&b), &rb);
    let (la, lb) = (Log::listen(&pa), Log::listen(&pb));
    pa.start();
    pb.start();
    let joins = || Array::from(&get(&agora, "joins")).length() as usize;
    let mut throws = Vec::new();
    let mut channels = Vec::new();
    for k in 1..=calls {
        let id = ok(pa.call(js(json!([b])).unchecked_into(), JsValue::UNDEFINED)).await.as_f64().unwrap();
        wait_for(&format!("call {k}: A's RTC to join"), 10, || joins() == k).await;
        let incoming = lb.wait_nth("incoming", k, 10).await;
        let bid = n(&incoming, "callId");
        channels.push(s(&incoming, "channel"));
        ok(pb.answer(bid)).await;
        wait_for(&format!("call {k}: B's adapter to join"), 10, || rb.joined() == k).await;
        if let Err(e) = emit(&agora, "user-joined", &b) {
            throws.push(format!("call {k}, user-joined: {e}"));
        }
        wait_for(
            &format!("call {k} of {calls} to reach talking on A ({pattern}; throws: {throws:?})"),
            5,
            || state_of(&pa, id) == "talking",
        )
        .await;
        wait_for(&format!("call {k}: B to talk"), 5, || state_of(&pb, bid) == "talking").await;
        // B hangs up; A's RTC says B left.
        ok(pb.hangup()).await;
        if let Err(e) = emit(&agora, "user-left", &b) {
            throws.push(format!("call {k}, user-left: {e}"));
        }
        wait_for(&format!("call {k}: A to end"), 5, || la.count("ended") == k).await;
        let why = get(&la.last("ended").unwrap(), "ended");
        assert_eq!((s(&why, "kind"), get(&why, "byMe").as_bool()), ("hangup".to_string(), Some(false)));
        wait_for(&format!("call {k}: B to end"), 5, || lb.count("ended") == k).await;
    }
    assert!(throws.is_empty(), "the SDK's emitter saw throws: {throws:?}");
    for ch in &channels {
        let r = ended_record(ch, 10).await;
        let mut evs = user_events(&r);
        evs.sort();
        let mut want = vec![(a.clone(), 1), (a.clone(), 2), (b.clone(), 1), (b.clone(), 2)];
        want.sort();
        assert_eq!(evs, want, "{ch}");
    }
    assert!(la.errors().is_empty() && lb.errors().is_empty(), "{:?} {:?}", la.errors(), lb.errors());
    pa.stop();
    pb.stop();
}

#[wasm_bindgen_test]
async fn ten_calls_in_a_row_through_the_old_readme_rtc_pattern() {
    // Handlers added in every join pile up in the SDK; the earlier calls' must not throw.
    calls_in_a_row("per-join", 10).await;
}

#[wasm_bindgen_test]
async fn calls_in_a_row_through_the_readme_rtc_pattern() {
    calls_in_a_row("once", 3).await;
}

// --- the timer worker (transport::ticker) ---------------------------------------

mod timer {
    use super::sleep;
    use agent_console::transport::ticker::{WorkerSource, WorkerTimer, WORKER_START_MS};
    use std::cell::Cell;
    use std::rc::Rc;

    fn counted(sources: Vec<WorkerSource>) -> (WorkerTimer, Rc<Cell<u32>>) {
        let ticks = Rc::new(Cell::new(0));
        let t = ticks.clone();
        (WorkerTimer::with_sources(move || t.set(t.get() + 1), sources), ticks)
    }

    /// Waits up to `ms` for `done`; true if it came.
    async fn within(ms: u32, done: impl Fn() -> bool) -> bool {
        let until = js_sys::Date::now() + f64::from(ms);
        while !done() {
            if js_sys::Date::now() > until {
                return false;
            }
            sleep(20).await;
        }
        true
    }

    /// A module worker from a Blob URL that loads but never says `ready`.
    fn silent_module() -> String {
        let parts = js_sys::Array::of1(&"/* never says ready */".into());
        let opts = web_sys::BlobPropertyBag::new();
        opts.set_type("text/javascript");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).unwrap();
        web_sys::Url::create_object_url_with_blob(&blob).unwrap()
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn the_same_origin_worker_file_starts_and_ticks() {
        let sources = WorkerSource::defaults();
        let WorkerSource::Module(url) = &sources[0] else { panic!("the file comes first: {sources:?}") };
        assert!(url.ends_with("/src/transport/timer_worker.js") && url.contains("/snippets/"), "{url}");
        // Only the file: a Blob fallback must not hide a file that fails.
        let (timer, ticks) = counted(vec![sources[0].clone()]);
        assert!(within(3000, || timer.worker_started()).await, "the file worker said ready");
        timer.arm(30);
        assert!(within(2000, || ticks.get() == 1).await);
        timer.arm(30);
        timer.disarm();
        sleep(150).await;
        assert_eq!(ticks.get(), 1, "a disarmed delay does not fire");
        assert!(timer.in_worker() && timer.worker_started());
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn an_arming_made_while_the_worker_starts_is_kept() {
        // Chromium drops a message posted to a module worker before its script
        // runs; the timer holds the arming until `ready` (a softphone arms its
        // first poll at once, and used to wait for it forever).
        let (timer, ticks) = counted(vec![WorkerSource::defaults()[0].clone()]);
        timer.arm(40);
        assert!(!timer.worker_started(), "armed before the worker runs");
        assert!(within(3000, || ticks.get() == 1).await, "the early arming fired");
        assert!(timer.worker_started());
        // Re-armed and disarmed before `ready` of a second timer: nothing fires.
        let (quiet, quiet_ticks) = counted(vec![WorkerSource::defaults()[0].clone()]);
        quiet.arm(40);
        quiet.disarm();
        assert!(within(3000, || quiet.worker_started()).await);
        sleep(200).await;
        assert_eq!(quiet_ticks.get(), 0);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn a_worker_that_fails_to_load_falls_back_and_the_pending_tick_still_comes() {
        // A 404: `new Worker` does not throw; the `error` event comes later.
        let (timer, ticks) = counted(vec![WorkerSource::Module("/no-such-timer-worker.js".into())]);
        assert!(timer.in_worker() && !timer.worker_started(), "starting");
        timer.arm(100); // armed while the worker is still loading
        assert!(within(3000, || ticks.get() == 1).await, "the delay armed before the failure fired");
        assert!(!timer.in_worker(), "fell back on `error`");
        timer.arm(20);
        assert!(within(2000, || ticks.get() == 2).await, "the main-thread timer re-arms");
        sleep(200).await;
        assert_eq!(ticks.get(), 2, "one tick per arming");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn a_failed_file_moves_on_to_the_blob_worker() {
        let (timer, ticks) =
            counted(vec![WorkerSource::Module("/no-such-timer-worker.js".into()), WorkerSource::Blob]);
        timer.arm(50);
        assert!(within(3000, || timer.worker_started()).await, "the Blob worker said ready");
        assert!(within(2000, || ticks.get() == 1).await);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn a_worker_that_never_says_ready_falls_back_after_the_start_deadline() {
        let url = silent_module();
        let (timer, ticks) = counted(vec![WorkerSource::Module(url.clone())]);
        timer.arm(10);
        sleep(WORKER_START_MS / 2).await;
        assert_eq!(ticks.get(), 0, "a silent worker ticks nothing");
        assert!(timer.in_worker() && !timer.worker_started(), "still waiting for `ready`");
        assert!(within(WORKER_START_MS, || ticks.get() == 1).await, "the overdue tick fires on the fallback");
        assert!(!timer.in_worker());
        let _ = web_sys::Url::revoke_object_url(&url);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn no_sources_is_the_main_thread_at_once() {
        let (timer, ticks) = counted(vec![]);
        assert!(!timer.in_worker());
        timer.arm(10);
        assert!(within(2000, || ticks.get() == 1).await);
    }
}
