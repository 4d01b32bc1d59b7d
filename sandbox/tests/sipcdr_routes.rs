//! The sipcdr route (seed 004, docs/callback-sipcdr.md) driven in-process through
//! `app(settings)` with `oneshot`. Multipart bodies are built by hand.

use std::collections::BTreeSet;

use agent_console_sandbox::clock::format_cst;
use agent_console_sandbox::{app, Settings};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const SERVICE: &str = "App.Sip_Cdr.GetBill";
const TOKEN: &str = "ABCDEFG";
const OTHER_TOKEN: &str = "HIJKLMN";
const BOUNDARY: &str = "----sandboxTestBoundary7MA4YWxkTrZu0gW";

/// The bill keys in the seed's example order.
const BILL_KEYS: [&str; 20] = [
    "id",
    "extnumber",
    "destnumber",
    "displaynumber",
    "starttime",
    "answertime",
    "endtime",
    "duration",
    "billsec",
    "direction",
    "callmethod",
    "userid",
    "memberid",
    "chengshudu",
    "customuuid",
    "recordfilename",
    "downloadip",
    "hangupdirection",
    "hangupcause",
    "userkey",
];

fn multipart(fields: &[(&str, String)]) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    body
}

fn urlencoded(fields: &[(&str, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
}

struct Sb {
    app: Router,
}

impl Sb {
    fn new() -> Self {
        Self { app: app(Settings::default()) }
    }

    async fn raw(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: String,
    ) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let resp = self.app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = resp.status();
        (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    async fn json(&self, method: Method, uri: &str, body: Option<Value>) -> Value {
        let (s, b) = self
            .raw(method, uri, Some("application/json"), body.map(|v| v.to_string()).unwrap_or_default())
            .await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        serde_json::from_slice(&b).unwrap()
    }

    /// GetBill as multipart/form-data; HTTP 200 expected.
    async fn form(&self, fields: &[(&str, String)]) -> Value {
        let (s, v) = self.form_status("/sipcdr", fields).await;
        assert_eq!(s, StatusCode::OK);
        v.unwrap()
    }

    async fn form_status(&self, uri: &str, fields: &[(&str, String)]) -> (StatusCode, Option<Value>) {
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        let (s, b) = self.raw(Method::POST, uri, Some(&ct), multipart(fields)).await;
        (s, serde_json::from_slice(&b).ok())
    }

    async fn urlencoded(&self, fields: &[(&str, String)]) -> (Value, String) {
        let (s, b) = self
            .raw(Method::POST, "/sipcdr", Some("application/x-www-form-urlencoded"), urlencoded(fields))
            .await;
        assert_eq!(s, StatusCode::OK);
        let text = String::from_utf8(b).unwrap();
        (serde_json::from_str(&text).unwrap(), text)
    }

    async fn now_ms(&self) -> i64 {
        self.json(Method::GET, "/sandbox/clock", None).await["now_ms"].as_i64().unwrap()
    }

    async fn advance(&self, secs: f64) {
        self.json(Method::POST, "/sandbox/clock", Some(json!({ "advance_secs": secs }))).await;
    }

    async fn fail(&self, count: u64, after_marking: bool) {
        let v = self
            .json(
                Method::POST,
                "/sandbox/sipcdr/fail",
                Some(json!({"count": count, "afterMarking": after_marking})),
            )
            .await;
        assert_eq!(v, json!({"count": count, "afterMarking": after_marking}));
    }

    /// Base parameters: the demo token, a window from `hours_back` hours ago to 15
    /// minutes ago, every direction and method, one big page, `syncflag` 3. Every bill
    /// that starts in that window has already ended, so the set is stable while the test
    /// runs (new bills keep arriving in real time).
    async fn params(&self, hours_back: i64) -> Vec<(&'static str, String)> {
        let now = self.now_ms().await;
        self.window(now - hours_back * 3_600_000, now - 900_000)
    }

    /// Like [`Sb::params`] but the window reaches an hour ahead, so new bills fall in it.
    async fn params_live(&self, hours_back: i64) -> Vec<(&'static str, String)> {
        let now = self.now_ms().await;
        self.window(now - hours_back * 3_600_000, now + 3_600_000)
    }

    fn window(&self, from_ms: i64, to_ms: i64) -> Vec<(&'static str, String)> {
        vec![
            ("service", SERVICE.to_string()),
            ("token", TOKEN.to_string()),
            ("starttime", format_cst(from_ms)),
            ("endtime", format_cst(to_ms)),
            ("syncflag", "3".to_string()),
            ("direction", "3".to_string()),
            ("callmethod", "0".to_string()),
            ("currentpage", "1".to_string()),
            ("itemsperpage", "1000".to_string()),
            ("extnumber", String::new()),
            ("destnumber", String::new()),
            ("userid", String::new()),
            ("memberid", String::new()),
        ]
    }
}

/// `fields` with `key` set to `value` (replaced or added).
fn with(fields: &[(&'static str, String)], key: &'static str, value: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = fields.iter().filter(|(k, _)| *k != key).cloned().collect();
    out.push((key, value.to_string()));
    out
}

fn without(fields: &[(&'static str, String)], key: &str) -> Vec<(&'static str, String)> {
    fields.iter().filter(|(k, _)| *k != key).cloned().collect()
}

fn bills(v: &Value) -> &Vec<Value> {
    assert_eq!(v["ret"], 200, "{v}");
    v["data"]["result"]["bills"].as_array().unwrap()
}

fn ids(v: &Value) -> Vec<u64> {
    bills(v).iter().map(|b| b["id"].as_u64().unwrap()).collect()
}

fn total(v: &Value) -> u64 {
    v["data"]["result"]["totalitems"].as_u64().unwrap()
}

fn assert_refused(v: &Value, ret: u16, needle: &str) {
    assert_eq!(v["ret"], ret, "{v}");
    assert_eq!(v["data"], json!({}), "{v}");
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.contains(needle), "{msg} should mention {needle}");
    if ret == 400 {
        assert!(msg.starts_with("非法请求："), "{msg}");
    }
}

// ---------------------------------------------------------------- encodings and shape

#[tokio::test]
async fn multipart_and_urlencoded_give_the_seeds_shape() {
    let sb = Sb::new();
    let p = sb.params(3).await;
    let a = sb.form(&p).await;
    let (b, text) = sb.urlencoded(&p).await;
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(a["data"]["result"]["bills"], b["data"]["result"]["bills"]);

    assert_eq!((a["ret"].clone(), a["msg"].clone()), (json!(200), json!("")));
    let d = &a["data"];
    assert_eq!((d["status"].clone(), d["desc"].clone()), (json!(0), json!("获取成功")));
    assert!(d["reqtime"].is_i64() && d["rsptime"].is_i64());
    let r = &d["result"];
    assert_eq!((r["currentpage"].clone(), r["itemsperpage"].clone()), (json!(1), json!(1000)));
    // 2 h 45 min at one bill per 30 s, give or take the window's edges.
    let n = bills(&a).len();
    assert!((315..=335).contains(&n), "{n}");
    assert_eq!(total(&a), n as u64);

    // Keys in the seed's order, types as in the example.
    let first = text.find("\"bills\":[{").unwrap();
    let mut at = first;
    for key in BILL_KEYS {
        let pos = text[first..].find(&format!("\"{key}\":")).unwrap() + first;
        assert!(pos >= at, "{key} out of order");
        at = pos;
    }
    let mut answered = 0;
    for bill in bills(&a) {
        let o = bill.as_object().unwrap();
        assert_eq!(o.len(), BILL_KEYS.len(), "{bill}");
        for key in ["id", "duration", "billsec", "callmethod", "hangupdirection", "hangupcause"] {
            assert!(o[key].is_u64(), "{key} in {bill}");
        }
        for key in [
            "extnumber",
            "destnumber",
            "displaynumber",
            "starttime",
            "endtime",
            "direction",
            "userid",
            "memberid",
            "chengshudu",
            "customuuid",
            "recordfilename",
            "downloadip",
            "userkey",
        ] {
            assert!(o[key].is_string(), "{key} in {bill}");
        }
        assert!(["callout", "callin"].contains(&o["direction"].as_str().unwrap()));
        assert!(o["callmethod"].as_u64().unwrap() <= 6);
        if o["answertime"].is_null() {
            assert_eq!(o["billsec"], 0);
        } else {
            answered += 1;
            assert!(o["answertime"].is_string());
        }
    }
    assert!(answered > 0 && answered < n, "a mix of answered and unanswered");
    // Sorted by id.
    let v = ids(&a);
    assert!(v.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn two_days_of_history_and_a_new_bill_every_30_s() {
    let sb = Sb::new();
    let p = sb.params_live(72).await;
    let all = total(&sb.form(&p).await);
    assert!((5760..=5762).contains(&all), "{all}");
    sb.advance(300.0).await;
    let p = sb.params_live(72).await;
    let later = total(&sb.form(&p).await);
    assert!((all + 9..=all + 11).contains(&later), "{all} → {later}");
    // The same request twice gives the same bills (deterministic).
    let p = sb.params(1).await;
    assert_eq!(sb.form(&p).await["data"]["result"], sb.form(&p).await["data"]["result"]);
    // A bill exists once it has ended: no endtime in the future.
    let p = sb.params_live(1).await;
    let last = bills(&sb.form(&p).await).last().unwrap().clone();
    let now = sb.now_ms().await;
    assert!(last["endtime"].as_str().unwrap() <= format_cst(now).as_str());
}

#[tokio::test]
async fn query_string_trailing_slash_and_the_short_service_name() {
    let sb = Sb::new();
    let p = sb.params(1).await;
    let (s, v) = sb.form_status("/sipcdr/", &p).await;
    assert_eq!(s, StatusCode::OK);
    let expected = ids(&v.unwrap());
    let (s, v) = sb.form_status("/sipcdr?service=App.Sip_Cdr.GetBill", &without(&p, "service")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ids(&v.unwrap()), expected);
    let (_, v) = sb.form_status("/sipcdr", &with(&without(&p, "service"), "s", SERVICE)).await;
    assert_eq!(ids(&v.unwrap()), expected);
}

// ---------------------------------------------------------------- filters and paging

#[tokio::test]
async fn every_filter_holds() {
    let sb = Sb::new();
    // Eight hours: fewer than 1000 bills, so one page holds them all.
    let p = sb.params(8).await;
    let everything = sb.form(&p).await;
    let all = bills(&everything).clone();
    assert_eq!(total(&everything) as usize, all.len());

    // The time window is on starttime, inclusive.
    let from = all[10]["starttime"].as_str().unwrap().to_string();
    let to = all[20]["starttime"].as_str().unwrap().to_string();
    let v = sb.form(&with(&with(&p, "starttime", &from), "endtime", &to)).await;
    assert!(!bills(&v).is_empty());
    for b in bills(&v) {
        let s = b["starttime"].as_str().unwrap();
        assert!(from.as_str() <= s && s <= to.as_str(), "{s}");
    }
    let expected: Vec<u64> = all
        .iter()
        .filter(|b| (from.as_str()..=to.as_str()).contains(&b["starttime"].as_str().unwrap()))
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids(&v), expected);

    // direction
    for (dir, name) in [("1", "callin"), ("2", "callout")] {
        let v = sb.form(&with(&p, "direction", dir)).await;
        assert!(!bills(&v).is_empty());
        assert!(bills(&v).iter().all(|b| b["direction"] == name), "direction {dir}");
        assert_eq!(total(&v) as usize, all.iter().filter(|b| b["direction"] == name).count());
    }
    // callmethod: 0 any, else exact; absent means 3 (the seed's default).
    let methods: BTreeSet<u64> = all.iter().map(|b| b["callmethod"].as_u64().unwrap()).collect();
    assert!(methods.len() >= 5, "{methods:?}");
    for m in [1u64, 4, 6] {
        let v = sb.form(&with(&p, "callmethod", &m.to_string())).await;
        assert!(bills(&v).iter().all(|b| b["callmethod"] == m));
        assert_eq!(total(&v) as usize, all.iter().filter(|b| b["callmethod"] == m).count());
    }
    let v = sb.form(&without(&p, "callmethod")).await;
    assert!(!bills(&v).is_empty() && bills(&v).iter().all(|b| b["callmethod"] == 3));

    // extnumber: a comma list (spaces tolerated).
    let v = sb.form(&with(&p, "extnumber", "8001, 8003")).await;
    assert!(!bills(&v).is_empty());
    assert!(bills(&v).iter().all(|b| b["extnumber"] == "8001" || b["extnumber"] == "8003"));
    let both: BTreeSet<&str> = bills(&v).iter().map(|b| b["extnumber"].as_str().unwrap()).collect();
    assert_eq!(both.len(), 2);

    // The exact-match filters, each with a value taken from a real bill.
    for key in ["destnumber", "userid", "memberid", "chengshudu", "customuuid"] {
        let sample = all.iter().map(|b| b[key].as_str().unwrap()).find(|s| *s != "0").unwrap().to_string();
        let v = sb.form(&with(&p, key, &sample)).await;
        assert!(!bills(&v).is_empty(), "{key}={sample}");
        assert!(bills(&v).iter().all(|b| b[key] == sample.as_str()), "{key}={sample}");
        assert_eq!(total(&v) as usize, all.iter().filter(|b| b[key] == sample.as_str()).count(), "{key}");
    }
    // A filter nothing matches.
    let v = sb.form(&with(&p, "destnumber", "10000")).await;
    assert_eq!((total(&v), bills(&v).len()), (0, 0));
}

#[tokio::test]
async fn paging_and_totalitems() {
    let sb = Sb::new();
    let p = sb.params(2).await;
    let all = ids(&sb.form(&p).await);
    let p7 = with(&p, "itemsperpage", "7");
    let page1 = sb.form(&p7).await;
    let page2 = sb.form(&with(&p7, "currentpage", "2")).await;
    assert_eq!(total(&page1), all.len() as u64);
    assert_eq!(total(&page2), all.len() as u64);
    assert_eq!(page2["data"]["result"]["currentpage"], 2);
    assert_eq!(page2["data"]["result"]["itemsperpage"], 7);
    assert_eq!([ids(&page1), ids(&page2)].concat(), all[..14].to_vec());
    let beyond = sb.form(&with(&p7, "currentpage", "1000")).await;
    assert!(bills(&beyond).is_empty());
    assert_eq!(total(&beyond), all.len() as u64);
    // Defaults: page 1 of 10.
    let v = sb.form(&without(&without(&p, "itemsperpage"), "currentpage")).await;
    assert_eq!(ids(&v), all[..10].to_vec());
    assert_eq!(
        (v["data"]["result"]["currentpage"].clone(), v["data"]["result"]["itemsperpage"].clone()),
        (json!(1), json!(10))
    );
    // The bounds themselves are fine.
    for n in ["1", "1000"] {
        assert_eq!(sb.form(&with(&p, "itemsperpage", n)).await["ret"], 200);
    }
}

// ---------------------------------------------------------------- syncflag and read state

#[tokio::test]
async fn syncflag_1_marks_so_a_second_identical_call_returns_only_newer_bills() {
    // A live window, so bills arriving in real time may join between two requests: the
    // assertions allow for one such arrival and only ever for *newer* ids.
    let sb = Sb::new();
    let p = with(&sb.params_live(2).await, "syncflag", "1");
    let first = ids(&sb.form(&p).await);
    assert!(first.len() > 200);
    let newest = *first.last().unwrap();
    let again = sb.form(&p).await;
    assert!(bills(&again).len() <= 1, "{again}");
    assert_eq!(total(&again) as usize, bills(&again).len());
    assert!(ids(&again).iter().all(|id| *id > newest));
    sb.advance(95.0).await;
    let newer = ids(&sb.form(&p).await);
    assert!((2..=5).contains(&newer.len()), "{newer:?}");
    assert!(newer.iter().all(|id| *id > newest));

    // syncflag 2: exactly what was fetched; 3: everything. Neither marks.
    let fetched = ids(&sb.form(&with(&p, "syncflag", "2")).await);
    assert_eq!(fetched, [first.clone(), ids(&again), newer.clone()].concat());
    let everything = ids(&sb.form(&with(&p, "syncflag", "3")).await);
    assert!(everything.starts_with(&fetched) && everything.len() <= fetched.len() + 1);
    sb.advance(30.0).await;
    let all_now = ids(&sb.form(&with(&p, "syncflag", "3")).await);
    let _ = sb.form(&with(&p, "syncflag", "2")).await;
    let unfetched = ids(&sb.form(&p).await);
    assert!(!unfetched.is_empty(), "2 and 3 did not mark the newest bills");
    assert!(all_now.starts_with(&fetched));
    let expected = &all_now[fetched.len()..];
    assert!(unfetched.starts_with(expected) && unfetched.len() <= expected.len() + 1, "{unfetched:?}");
}

#[tokio::test]
async fn syncflag_1_pages_mark_only_what_was_returned() {
    let sb = Sb::new();
    let p = with(&with(&sb.params(1).await, "syncflag", "1"), "itemsperpage", "5");
    let all = ids(&sb.form(&with(&with(&p, "syncflag", "3"), "itemsperpage", "1000")).await);
    let a = sb.form(&p).await;
    assert_eq!(total(&a), all.len() as u64);
    assert_eq!(ids(&a), all[..5].to_vec());
    // Page 1 again: the next five, and the count of unfetched went down.
    let b = sb.form(&p).await;
    assert_eq!(ids(&b), all[5..10].to_vec());
    assert_eq!(total(&b), total(&a) - 5);
}

#[tokio::test]
async fn read_state_is_kept_per_token() {
    let sb = Sb::new();
    let p = with(&sb.params(1).await, "syncflag", "1");
    let mine = ids(&sb.form(&p).await);
    assert!(bills(&sb.form(&p).await).is_empty());
    let other = with(&p, "token", OTHER_TOKEN);
    assert_eq!(ids(&sb.form(&other).await), mine);
    assert!(bills(&sb.form(&with(&other, "syncflag", "2")).await).len() == mine.len());
    let st = sb.json(Method::GET, "/sandbox/state", None).await;
    assert_eq!(st["sipcdr"]["fetched"][TOKEN], mine.len());
    assert_eq!(st["sipcdr"]["fetched"][OTHER_TOKEN], mine.len());
    assert!(st["sipcdr"]["bills"].as_u64().unwrap() >= 5760);
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn bad_token_is_401() {
    let sb = Sb::new();
    let p = sb.params(1).await;
    assert_refused(&sb.form(&with(&p, "token", "NOPE")).await, 401, "token无效");
    assert_refused(&sb.form(&without(&p, "token")).await, 401, "token无效");
    assert_refused(&sb.form(&with(&p, "token", "")).await, 401, "token无效");
}

#[tokio::test]
async fn unknown_or_missing_service_is_400() {
    let sb = Sb::new();
    let p = sb.params(1).await;
    assert_refused(&sb.form(&with(&p, "service", "App.Sip_Cdr.Nope")).await, 400, "App.Sip_Cdr.Nope");
    assert_refused(&sb.form(&without(&p, "service")).await, 400, "service");
    // No form at all (PHP would see an empty $_POST).
    let (s, b) = sb.raw(Method::POST, "/sipcdr", Some("application/json"), "{}".into()).await;
    assert_eq!(s, StatusCode::OK);
    assert_refused(&serde_json::from_slice(&b).unwrap(), 400, "service");
    // A broken multipart body.
    let (s, b) = sb
        .raw(
            Method::POST,
            "/sipcdr",
            Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
            "garbage".into(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Value>(&b).unwrap()["ret"], 400);
}

#[tokio::test]
async fn bad_parameters_are_400_naming_them() {
    let sb = Sb::new();
    let p = sb.params(1).await;
    let start = p.iter().find(|(k, _)| *k == "starttime").unwrap().1.clone();
    let earlier = format_cst(sb.now_ms().await - 7_200_000);
    for (fields, needle) in [
        (with(&p, "itemsperpage", "0"), "itemsperpage"),
        (with(&p, "itemsperpage", "1001"), "itemsperpage"),
        (with(&p, "itemsperpage", "ten"), "itemsperpage"),
        (with(&p, "endtime", &earlier), "endtime"),
        (without(&p, "starttime"), "starttime"),
        (without(&p, "endtime"), "endtime"),
        (with(&p, "starttime", "2024-13-01 00:00:00"), "starttime"),
        (with(&p, "starttime", &start.replace(' ', "T")), "starttime"),
        (with(&p, "syncflag", "4"), "syncflag"),
        (with(&p, "syncflag", "0"), "syncflag"),
        (with(&p, "direction", "0"), "direction"),
        (with(&p, "callmethod", "7"), "callmethod"),
        (with(&p, "callmethod", "-1"), "callmethod"),
        (with(&p, "currentpage", "0"), "currentpage"),
        (with(&p, "currentpage", "1.5"), "currentpage"),
    ] {
        assert_refused(&sb.form(&fields).await, 400, needle);
    }
    // endtime == starttime is a valid (tiny) window.
    assert_eq!(sb.form(&with(&p, "endtime", &start)).await["ret"], 200);
}

// ---------------------------------------------------------------- failure knob

#[tokio::test]
async fn fail_knob_answers_500_with_and_without_marking() {
    let sb = Sb::new();
    let p = with(&with(&sb.params(1).await, "syncflag", "1"), "itemsperpage", "5");
    let all = ids(&sb.form(&with(&with(&p, "syncflag", "3"), "itemsperpage", "1000")).await);

    // Without afterMarking: nothing happens on the server.
    sb.fail(2, false).await;
    for _ in 0..2 {
        let (s, _) = sb.form_status("/sipcdr", &p).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    }
    let v = sb.form(&p).await;
    assert_eq!(ids(&v), all[..5].to_vec(), "the failures marked nothing");

    // With afterMarking: the page is marked, the reply lost.
    sb.fail(1, true).await;
    let (s, _) = sb.form_status("/sipcdr", &p).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    let v = sb.form(&p).await;
    assert_eq!(ids(&v), all[10..15].to_vec(), "the lost page (5..10) was marked");
    let fetched = sb.form(&with(&with(&p, "syncflag", "2"), "itemsperpage", "100")).await;
    assert_eq!(ids(&fetched), all[..15].to_vec());

    // The knob is spent; state shows it.
    let st = sb.json(Method::GET, "/sandbox/state", None).await;
    assert_eq!(st["sipcdr"]["fail"]["count"], 0);

    // Bad knob bodies.
    for bad in
        [json!({}), json!({"count": -1}), json!({"count": "1"}), json!({"count": 1, "afterMarking": "yes"})]
    {
        let (s, _) =
            sb.raw(Method::POST, "/sandbox/sipcdr/fail", Some("application/json"), bad.to_string()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
}
