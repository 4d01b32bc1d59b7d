//! The two-way callback API (seed 002): signing vectors, request building,
//! decoding the seed's examples, the status webhook, clock-skew estimation
//! and the session over a scripted server whose clock is 10 minutes off.

use agent_console::api::callback::{
    self, sign, AppId, AppSecret, CallIdentifier, CallRequest, CallbackApi, HangupReason, RecordingResult,
    StatusNotification,
};
use agent_console::api::{ApiError, HttpRequest, HttpResponse, Problem};
use agent_console::core::callback::{check_authorization, RETRY_SHIFT_MS};
use agent_console::core::{CallbackSession, ClockSkew, Error, HttpClient, Instant, SecretSigner, Signer};
use base64::Engine as _;
use futures::executor::block_on;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const APP: &str = "1696054309969104898";
const SECRET: &str = "sandbox-demo-app-secret-7c4a8d09";

fn fixture(name: &str) -> HttpResponse {
    let p = format!("{}/tests/fixtures/callback/{name}", env!("CARGO_MANIFEST_DIR"));
    HttpResponse::new(200, std::fs::read(p).unwrap())
}

fn app() -> AppId {
    AppId::parse(APP).unwrap()
}

fn secret() -> AppSecret {
    AppSecret::parse(SECRET).unwrap()
}

#[test]
fn signing_matches_a_vector_computed_by_hand() {
    // By hand (Python's hashlib and base64, outside this crate):
    // md5("12345:abc:1700000000000") = 043a2c37f4c4e330716cb369b30aedd2
    // base64("12345:1700000000000:043a2c37f4c4e330716cb369b30aedd2")
    let h = sign(&AppId::parse("12345").unwrap(), &AppSecret::parse("abc").unwrap(), 1_700_000_000_000);
    assert_eq!(h, "MTIzNDU6MTcwMDAwMDAwMDAwMDowNDNhMmMzN2Y0YzRlMzMwNzE2Y2IzNjliMzBhZWRkMg==");
    // The seed's APPID and timestamp with the sandbox's demo secret:
    // md5("1696054309969104898:sandbox-demo-app-secret-7c4a8d09:1693270226642")
    //   = e180274027354bee14896e3b62356e26
    let h = sign(&app(), &secret(), 1_693_270_226_642);
    assert_eq!(h, "MTY5NjA1NDMwOTk2OTEwNDg5ODoxNjkzMjcwMjI2NjQyOmUxODAyNzQwMjczNTRiZWUxNDg5NmUzYjYyMzU2ZTI2");
    let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&h).unwrap()).unwrap();
    assert_eq!(text, "1696054309969104898:1693270226642:e180274027354bee14896e3b62356e26");
    assert!(check_authorization(&app(), 1_693_270_226_642, &h).is_ok());
    assert!(check_authorization(&app(), 1_693_270_226_643, &h).is_err(), "another timestamp");
    assert!(check_authorization(&AppId::parse("1").unwrap(), 1_693_270_226_642, &h).is_err());
    assert!(check_authorization(&app(), 1, "not base64!").is_err());
}

#[test]
fn secrets_are_checked_and_never_printed() {
    assert!(AppSecret::parse("").is_err());
    assert!(AppSecret::parse("a:b").is_err(), "a colon would change what is hashed");
    assert_eq!(format!("{:?}", secret()), "AppSecret(…)");
    assert!(AppId::parse("12a").is_err());
    assert!(AppId::parse(" ").is_err());
}

#[test]
fn call_requests_are_checked_before_sending() {
    // The seed's example caller has a leading space.
    let r = CallRequest::parse(" 13987654321", "139-1234-5678", None).unwrap();
    assert_eq!(r.caller.as_str(), "13987654321");
    assert_eq!(r.callee.as_str(), "13912345678");
    let id64 = "x".repeat(64);
    assert!(CallRequest::parse("13987654321", "13912345678", Some(&id64)).is_ok());
    let e = CallRequest::parse("13987654321", "13912345678", Some(&"x".repeat(65))).unwrap_err();
    assert_eq!((e.field, e.problem), ("outCallId", Problem::TooLong { max: 64 }));
    let e = CallRequest::parse("13987654321", "abc", None).unwrap_err();
    assert_eq!((e.field, e.problem), ("callee", Problem::NotPhoneNumber));
    let e = CallRequest::parse("", "13912345678", None).unwrap_err();
    assert_eq!((e.field, e.problem), ("caller", Problem::Required));
    assert!(CallRequest::parse("1234", "13912345678", None).is_err(), "too short");
    assert!(CallRequest::parse("*123#45", "13912345678", None).is_err(), "no star codes");
    // An empty pass-through id is no id.
    assert_eq!(CallRequest::parse("13987654321", "13912345678", Some(" ")).unwrap().out_call_id, None);
}

#[test]
fn requests_have_the_documented_paths_and_bodies() {
    let api =
        CallbackApi::new("http://api.v3.quanmayun.com:9090/", "http://record.v3.quanmayun.com:9090").unwrap();
    let r = CallRequest::parse("13987654321", "13912345678", Some("order-7")).unwrap();
    let req = api.call(&r);
    assert_eq!(req.url, "http://api.v3.quanmayun.com:9090/api/qmc-call/openapi/v1/call");
    let body: serde_json::Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"caller": "13987654321", "callee": "13912345678", "outCallId": "order-7"})
    );
    assert!(req.header("content-type").unwrap().starts_with("application/json"));
    let id = CallIdentifier::parse("128754716574532539").unwrap();
    assert_eq!(api.end_call(&id).url, "http://api.v3.quanmayun.com:9090/api/qmc-call/openapi/v1/endCall");
    let rec = api.recording(&id);
    assert_eq!(rec.url, "http://record.v3.quanmayun.com:9090/api/qmc-cdr/openapi/v1/record");
    assert_eq!(rec.body.as_deref(), Some(r#"{"callidentifier":"128754716574532539"}"#));
    // No record host: the base URL serves recordings too.
    let api = CallbackApi::new("https://cb.example", "").unwrap();
    assert_eq!(api.record_url(), "https://cb.example");
    assert!(CallbackApi::new("ftp://x", "").is_err());
    assert!(CallbackApi::new("https://", "").is_err());
    assert!(CallbackApi::new("https://ok", "javascript:alert(1)").is_err());
}

#[test]
fn the_seeds_examples_decode() {
    // The seed's PDF wraps lines inside strings; the fixtures join them back.
    let started = callback::decode_call(&fixture("call.json")).unwrap();
    assert_eq!(started.callidentifier.as_str(), "128754716574532539");
    let rec = callback::decode_recording(&fixture("record.json")).unwrap();
    assert_eq!(rec.file_url, "http://xxxxxxx...");
}

#[test]
fn replies_decode_strictly_where_it_matters() {
    let r = |s: &str| HttpResponse::new(200, s.as_bytes());
    // Code as a string is accepted (the seed types it both ways).
    assert!(callback::decode_end_call(&r(r#"{"code":"200","success":true,"msg":"ok","data":null}"#)).is_ok());
    assert!(callback::decode_end_call(&r(r#"{"code":200,"msg":"ok"}"#)).is_ok(), "data missing");
    assert_eq!(
        callback::decode_call(&r(r#"{"code":403,"success":false,"msg":"时间戳超出范围","data":null}"#)),
        Err(ApiError::Vendor { code: "403".into(), message: "时间戳超出范围".into() })
    );
    assert!(matches!(callback::decode_end_call(&r(r#"{"msg":"ok"}"#)), Err(ApiError::Decode(_))), "no code");
    assert!(matches!(
        callback::decode_call(&r(r#"{"code":200,"data":{"callidentifier":""}}"#)),
        Err(ApiError::Decode(_))
    ));
    assert!(matches!(
        callback::decode_recording(&r(r#"{"code":200,"data":{"fileUrl":"javascript:alert(1)"}}"#)),
        Err(ApiError::Decode(_))
    ));
    assert!(matches!(
        callback::decode_call(&HttpResponse::new(502, "<html>")),
        Err(ApiError::Http { status: 502, .. })
    ));
    assert!(matches!(callback::decode_call(&r("<html>")), Err(ApiError::Decode(_))));
}

#[test]
fn every_webhook_reason_decodes() {
    for reason in HangupReason::ALL {
        let body = format!(
            r#"{{"callidentifier":"1","status":"Disconnected","endTime":"2024-01-02 03:04:05","reason":"{}"}}"#,
            reason.as_wire()
        );
        let n = StatusNotification::decode(body.as_bytes()).unwrap();
        assert_eq!(n.reason.as_ref(), Some(&reason));
        let (zh, en) = agent_console::i18n::callback::hangup_reason_words(&reason);
        assert!(!zh.is_empty() && !en.is_empty());
    }
    let n = StatusNotification::decode(
        br#"{"callidentifier":" 77 ","status":"Disconnected","startTime":"2024-01-02 03:03:50",
             "answerTime":"2024-01-02 03:04:00","endTime":"2024-01-02 03:04:05","reason":"Busy?",
             "callDuration":5,"recordingResult":"success","outCallId":"o-1"}"#,
    )
    .unwrap();
    assert_eq!(n.callidentifier, "77");
    assert_eq!(n.reason, Some(HangupReason::Unknown("Busy?".into())));
    assert_eq!(n.call_duration, Some(5));
    assert_eq!(n.recording_result, Some(RecordingResult::Success));
    assert!(n.answered());
    let n = StatusNotification::decode(
        br#"{"callidentifier":"8","endTime":"2024-01-02 03:04:05","callDuration":"12","answerTime":""}"#,
    )
    .unwrap();
    assert_eq!((n.call_duration, n.answered()), (Some(12), false));
    assert!(StatusNotification::decode(br#"{"callidentifier":"8","endTime":"yesterday"}"#).is_err());
    assert!(StatusNotification::decode(br#"{"endTime":"2024-01-02 03:04:05"}"#).is_err());
    assert!(StatusNotification::decode(b"[]").is_err());
}

#[test]
fn skew_is_estimated_from_the_date_header() {
    let mut s = ClockSkew::default();
    let local = 1_700_000_000_000u64; // 2023-11-14 22:13:20 UTC
                                      // Server 10 minutes ahead: its Date reads 22:23:20.
    assert!(s.observe(local, local + 200, Some("Tue, 14 Nov 2023 22:23:20 GMT")));
    let off = s.offset_ms();
    assert!((599_000..=601_000).contains(&off), "{off}");
    assert_eq!(s.timestamp(local), local + off as u64);
    // A second later, same estimate within the Date's resolution: unchanged.
    assert!(!s.observe(local + 1000, local + 1100, Some("Tue, 14 Nov 2023 22:23:21 GMT")));
    // No header, or an unreadable one: nothing learnt.
    assert!(!s.observe(local, local, None));
    assert!(!s.observe(local, local, Some("soon")));
    // Behind by 10 minutes works the same way.
    let mut s = ClockSkew::default();
    assert!(s.observe(local, local, Some("Tue, 14 Nov 2023 22:03:20 GMT")));
    assert!((-600_000..=-599_000).contains(&s.offset_ms()), "{}", s.offset_ms());
}

/// A scripted callback server: verifies signatures and the 5-minute window
/// against its own clock (`local + offset`) and answers with a `Date`.
struct FakeServer {
    local: Rc<Cell<u64>>,
    offset_ms: i64,
    send_date: bool,
    auths: RefCell<Vec<u64>>,
    calls: Cell<u32>,
}

fn http_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

impl HttpClient for FakeServer {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let now = self.local.get() as i64 + self.offset_ms;
        let auth = req.header("authorization").unwrap().to_string();
        let text =
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&auth).unwrap()).unwrap();
        let mut parts = text.split(':');
        let (app_id, ts) = (parts.next().unwrap(), parts.next().unwrap().parse::<u64>().unwrap());
        self.auths.borrow_mut().push(ts);
        let body = if auth != sign(&AppId::parse(app_id).unwrap(), &secret(), ts) {
            r#"{"code":401,"success":false,"msg":"签名校验失败","data":null}"#.to_string()
        } else if (ts as i64 - now).abs() > callback::SKEW_WINDOW_MS {
            r#"{"code":403,"success":false,"msg":"时间戳与服务器时间相差超过5分钟","data":null}"#.to_string()
        } else {
            self.calls.set(self.calls.get() + 1);
            format!(
                r#"{{"code":200,"success":true,"msg":"操作成功","data":{{"callidentifier":"{}"}}}}"#,
                100 + self.calls.get()
            )
        };
        // The round trip takes 80 ms.
        self.local.set(self.local.get() + 80);
        let mut resp = HttpResponse::new(200, body.into_bytes());
        if self.send_date {
            resp = resp.with_header("Date", &http_date(now));
        }
        Ok(resp)
    }
}

fn session(
    offset_ms: i64,
    send_date: bool,
) -> (Rc<FakeServer>, CallbackSession<Rc<FakeServer>, SecretSigner>) {
    let local = Rc::new(Cell::new(1_700_000_000_000u64));
    let server = Rc::new(FakeServer {
        local: local.clone(),
        offset_ms,
        send_date,
        auths: RefCell::default(),
        calls: Cell::new(0),
    });
    let api = CallbackApi::new("http://cb.test", "").unwrap();
    let clock = Rc::new(move || Instant(local.get()));
    let s = CallbackSession::new(api, app(), server.clone(), SecretSigner::new(app(), secret()), clock);
    (server, s)
}

#[test]
fn a_clock_ten_minutes_off_gets_through_after_one_retry() {
    for offset in [600_000, -600_000] {
        let (server, s) = session(offset, true);
        let r = CallRequest::parse("13987654321", "13912345678", None).unwrap();
        let started = block_on(s.call(&r)).unwrap();
        assert_eq!(started.callidentifier.as_str(), "101");
        assert_eq!(server.auths.borrow().len(), 2, "one refused, one retried");
        // Later calls are right the first time.
        block_on(s.call(&r)).unwrap();
        assert_eq!(server.auths.borrow().len(), 3);
        assert!((s.clock_offset_ms() - offset).abs() < 2_000, "{}", s.clock_offset_ms());
        assert_eq!(server.calls.get(), 2, "each call placed once");
    }
}

#[test]
fn without_a_readable_date_the_refusal_is_reported_not_retried() {
    let (server, s) = session(600_000, false);
    let r = CallRequest::parse("13987654321", "13912345678", None).unwrap();
    let e = block_on(s.call(&r)).unwrap_err();
    assert_eq!(e.code(), "403");
    assert_eq!(server.auths.borrow().len(), 1);
}

#[test]
fn a_small_skew_needs_no_retry() {
    let (server, s) = session(90_000, true);
    let r = CallRequest::parse("13987654321", "13912345678", None).unwrap();
    block_on(s.call(&r)).unwrap();
    assert_eq!(server.auths.borrow().len(), 1);
    const { assert!(RETRY_SHIFT_MS < callback::SKEW_WINDOW_MS) };
}

struct BadSigner;
impl Signer for BadSigner {
    async fn authorization(&self, _ts: u64) -> Result<String, Error> {
        Ok(sign(&app(), &secret(), 42))
    }
}

#[test]
fn a_signer_answering_for_another_timestamp_is_refused_before_sending() {
    let local = Rc::new(Cell::new(1_700_000_000_000u64));
    let server = Rc::new(FakeServer {
        local: local.clone(),
        offset_ms: 0,
        send_date: true,
        auths: RefCell::default(),
        calls: Cell::new(0),
    });
    let s = CallbackSession::new(
        CallbackApi::new("http://cb.test", "").unwrap(),
        app(),
        server.clone(),
        BadSigner,
        Rc::new(move || Instant(local.get())),
    );
    let e = block_on(s.end_call(&CallIdentifier::parse("1").unwrap())).unwrap_err();
    assert_eq!(e.code(), "signer");
    assert!(server.auths.borrow().is_empty());
}

mod click_to_call_box {
    use agent_console::api::callback::{CallIdentifier, HangupReason};
    use agent_console::core::callback::click_to_call::{
        ClickToCallAction as A, ClickToCallState, Phase, RelayStatus,
    };
    use agent_console::core::Error;

    fn placed(id: &str) -> ClickToCallState {
        ClickToCallState::default().reduce(A::CallStarted).reduce(A::Called {
            id: CallIdentifier::parse(id).unwrap(),
            caller: "13800138000".into(),
            callee: "13912345678".into(),
            now_ms: 1,
        })
    }

    fn relay(id: &str, body: &str) -> A {
        let (phase, notification) = RelayStatus::decode(body.as_bytes()).unwrap();
        A::Status { id: CallIdentifier::parse(id).unwrap(), phase, notification }
    }

    #[test]
    fn progress_follows_the_relay_and_the_end_is_final() {
        let s = placed("1");
        assert!(s.busy(), "no second call while one is under way");
        let s = s.reduce(relay("1", r#"{"phase":"caller_ringing","notification":null}"#));
        assert_eq!(s.call.as_ref().unwrap().phase, Phase::CallerRinging);
        let s = s.reduce(relay("1", r#"{"phase":"talking"}"#));
        assert_eq!(s.call.as_ref().unwrap().phase, Phase::Talking);
        let s = s.reduce(relay(
            "1",
            r#"{"phase":"ended","notification":{"callidentifier":"1","status":"Disconnected",
                "endTime":"2024-01-02 03:04:05","answerTime":"2024-01-02 03:04:00","reason":"HangUp",
                "callDuration":"5","recordingResult":"success"}}"#,
        ));
        let c = s.call.clone().unwrap();
        assert_eq!(c.phase, Phase::Ended);
        let e = c.ended.unwrap();
        assert_eq!((e.reason, e.duration_secs, e.recorded), (Some(HangupReason::HangUp), Some(5), true));
        assert!(!s.busy());
        // A late poll cannot revive it; a reply about another call is ignored.
        let s2 = s.clone().reduce(relay("1", r#"{"phase":"talking"}"#));
        assert_eq!(s2, s);
        let s3 = placed("2").reduce(relay("1", r#"{"phase":"talking"}"#));
        assert_eq!(s3.call.unwrap().phase, Phase::Placed);
    }

    #[test]
    fn after_end_call_a_new_call_may_start_before_the_reason_arrives() {
        let s = placed("1").reduce(A::EndStarted);
        assert!(s.busy());
        let s = s.reduce(A::EndDone(CallIdentifier::parse("1").unwrap()));
        assert!(!s.busy(), "a lost webhook must not lock the box");
        // 409 (already over) counts as ended, not as an error.
        let s = placed("2").reduce(A::EndStarted).reduce(A::EndFailed(Error::Api(
            agent_console::api::ApiError::Vendor { code: "409".into(), message: "通话已结束".into() },
        )));
        assert!(!s.busy() && s.error.is_none());
        // Odd recordingResult words are not fatal.
        let (_, n) = RelayStatus::decode(
            br#"{"notification":{"callidentifier":"1","endTime":"2024-01-02 03:04:05","recordingResult":"Success"}}"#,
        )
        .unwrap();
        assert!(n.is_some());
        assert!(RelayStatus::decode(
            br#"{"notification":{"callidentifier":"1","endTime":"2024-01-02 03:04:05","recordingResult":""}}"#
        )
        .is_ok());
    }

    #[test]
    fn a_failed_call_leaves_no_call_and_says_why() {
        let s = ClickToCallState::default().reduce(A::CallStarted);
        assert!(s.busy());
        let s = s.reduce(A::CallFailed(Error::Network("down".into())));
        assert!(!s.busy() && s.call.is_none());
        assert_eq!(s.error.as_ref().map(Error::code).as_deref(), Some("network"));
        assert!(s.reduce(A::DismissError).error.is_none());
    }

    #[test]
    fn relay_requests_and_replies() {
        use agent_console::api::HttpResponse;
        use agent_console::core::callback::click_to_call::{relay_reply, relay_request};
        let id = CallIdentifier::parse("12 3").unwrap_err();
        assert_eq!(id.field, "callidentifier");
        let id = CallIdentifier::parse("123").unwrap();
        assert_eq!(relay_request("http://h/status", &id).url, "http://h/status?callidentifier=123");
        assert_eq!(relay_request("http://h/s?k=1", &id).url, "http://h/s?k=1&callidentifier=123");
        let ok = HttpResponse::new(200, &br#"{"phase":"talking","notification":null}"#[..]);
        assert_eq!(
            relay_reply(&id, Some(&ok)),
            A::Status { id: id.clone(), phase: Some(Phase::Talking), notification: None }
        );
        assert_eq!(relay_reply(&id, None), A::RelayFailed, "no answer");
        assert_eq!(relay_reply(&id, Some(&HttpResponse::new(404, &b"{}"[..]))), A::RelayFailed);
        assert_eq!(relay_reply(&id, Some(&HttpResponse::new(200, &b"<html>"[..]))), A::RelayFailed);
    }

    #[test]
    fn an_unreadable_relay_notification_is_refused() {
        assert!(RelayStatus::decode(br#"{"notification":{"endTime":"x"}}"#).is_err());
        assert!(RelayStatus::decode(b"<html>").is_err());
        assert_eq!(RelayStatus::decode(b"{}").unwrap(), (None, None));
    }
}

/// Fuzz finding (tests/fuzz.rs): a blank `code` was a vendor error with an
/// empty code; it is an undecodable reply.
#[test]
fn a_reply_with_an_empty_code_is_undecodable() {
    let r = |s: &str| HttpResponse::new(200, s.as_bytes());
    for b in
        [r#"{"code":"","success":true,"data":{"callidentifier":"1"}}"#, r#"{"code":null,"msg":"操作成功"}"#]
    {
        assert!(matches!(callback::decode_call(&r(b)), Err(ApiError::Decode(_))), "{b}");
        assert!(matches!(callback::decode_end_call(&r(b)), Err(ApiError::Decode(_))), "{b}");
    }
}
