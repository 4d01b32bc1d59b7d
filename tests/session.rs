//! The PBX session over a scripted HTTP client: token fetched once for
//! concurrent calls, refresh at 80%, one retry after a 401, typed errors.

use agent_console::api::pbx::{Credentials, Dial, EndpointFilter, Hangup, Page, PbxApi};
use agent_console::api::{ApiError, HttpRequest, HttpResponse};
use agent_console::core::{Error, HttpClient, Instant, PbxSession};
use futures::executor::block_on;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// A scripted PBX: issues tokens, checks bearers, answers dial.
#[derive(Default)]
struct FakePbx {
    token_requests: RefCell<Vec<String>>,         // grant types
    api_requests: RefCell<Vec<(String, String)>>, // (path, bearer)
    valid: RefCell<Vec<String>>,
    issued: Cell<u32>,
    refresh_token: RefCell<String>,
    /// Force 401 on the next N API calls even with a valid token.
    reject_next: Cell<u32>,
    in_flight_tokens: Cell<u32>,
    max_in_flight_tokens: Cell<u32>,
    network_down: Cell<bool>,
    /// Refuse every password grant (the admin changed the password).
    reject_password: Cell<bool>,
    /// Every token request that reached the client, answered or not.
    attempts: Cell<u32>,
}

/// Yields once so concurrent futures interleave like real I/O.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn reply(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status, body.as_bytes())
}

impl HttpClient for FakePbx {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let path = req.url.trim_start_matches("http://pbx.test/dscom-api/public").to_string();
        if path == "/oauth/token" {
            self.attempts.set(self.attempts.get() + 1);
        }
        if self.network_down.get() {
            return Err("connection refused".into());
        }
        if path == "/oauth/token" {
            let body: serde_json::Value = serde_json::from_str(req.body.as_deref().unwrap_or("")).unwrap();
            let grant = body["grant_type"].as_str().unwrap().to_string();
            self.token_requests.borrow_mut().push(grant.clone());
            self.in_flight_tokens.set(self.in_flight_tokens.get() + 1);
            self.max_in_flight_tokens.set(self.max_in_flight_tokens.get().max(self.in_flight_tokens.get()));
            YieldOnce(false).await;
            YieldOnce(false).await;
            self.in_flight_tokens.set(self.in_flight_tokens.get() - 1);
            if grant == "password" && (body["password"] != "123456" || self.reject_password.get()) {
                return Ok(reply(
                    400,
                    r#"{"error":"invalid_grant","message":"The user credentials were incorrect."}"#,
                ));
            }
            if grant == "refresh_token"
                && body["refresh_token"].as_str() != Some(self.refresh_token.borrow().as_str())
            {
                return Ok(reply(
                    401,
                    r#"{"error":"invalid_request","message":"The refresh token is invalid."}"#,
                ));
            }
            self.issued.set(self.issued.get() + 1);
            let tok = format!("T{}", self.issued.get());
            let rt = format!("R{}", self.issued.get());
            self.valid.borrow_mut().push(tok.clone());
            *self.refresh_token.borrow_mut() = rt.clone();
            return Ok(reply(
                200,
                &format!(
                    r#"{{"token_type":"Bearer","expires_in":1800,"access_token":"{tok}","refresh_token":"{rt}"}}"#
                ),
            ));
        }
        let bearer = req.header("Authorization").unwrap_or("").trim_start_matches("Bearer ").to_string();
        assert_eq!(req.header("Accept-Language"), Some("zh-CN"));
        self.api_requests.borrow_mut().push((path.clone(), bearer.clone()));
        YieldOnce(false).await;
        if self.reject_next.get() > 0 {
            self.reject_next.set(self.reject_next.get() - 1);
            return Ok(reply(401, r#"{"message":"Unauthenticated."}"#));
        }
        if !self.valid.borrow().contains(&bearer) {
            return Ok(reply(401, r#"{"message":"Unauthenticated."}"#));
        }
        Ok(match path.split('?').next().unwrap() {
            "/api/v1/call/dial" => {
                let body: serde_json::Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
                if body["dest"] == "9999" {
                    reply(200, r#"{"code":"600001","msg":"呼叫异常","data":[],"total":0}"#)
                } else {
                    reply(200, r#"{"code":"200","msg":"成功","data":{"uniqueid":"hwd-1.1"},"total":0}"#)
                }
            }
            "/api/v1/call/hangup" => reply(200, r#"{"code":"200","msg":"成功","data":[],"total":0}"#),
            "/api/v1/status/endpoint" => reply(
                200,
                r#"{"code":"200","msg":"成功","data":[{"endpoint":"8001","state":"In use"}],"total":5}"#,
            ),
            _ => reply(404, "{}"),
        })
    }
}

struct Rig {
    pbx: Rc<FakePbx>,
    now: Rc<Cell<u64>>,
    session: PbxSession<Rc<FakePbx>>,
}

fn rig_with(password: &str) -> Rig {
    let pbx = Rc::new(FakePbx::default());
    let now = Rc::new(Cell::new(10_000u64));
    let clock_now = now.clone();
    let session = PbxSession::new(
        PbxApi::new("http://pbx.test/dscom-api/public/", "zh-CN").unwrap(),
        Credentials::new("4", "secret", "api", password).unwrap(),
        pbx.clone(),
        Rc::new(move || Instant::from_millis(clock_now.get())),
    );
    Rig { pbx, now, session }
}

fn rig() -> Rig {
    rig_with("123456")
}

fn dial() -> Dial {
    Dial::parse("8001", "8002", None).unwrap()
}

#[test]
fn concurrent_calls_share_one_token_request() {
    let r = rig();
    let (d, h) = (dial(), Hangup::parse("8001").unwrap());
    let (a, b, c) =
        block_on(async { futures::join!(r.session.dial(&d), r.session.hangup(&h), r.session.dial(&d)) });
    assert_eq!(a.unwrap().uniqueid.0, "hwd-1.1");
    b.unwrap();
    c.unwrap();
    assert_eq!(*r.pbx.token_requests.borrow(), vec!["password"]);
    assert_eq!(r.pbx.max_in_flight_tokens.get(), 1);
    assert!(r.pbx.api_requests.borrow().iter().all(|(_, t)| t == "T1"));
}

#[test]
fn token_is_refreshed_after_80_percent_of_its_life() {
    let r = rig();
    block_on(r.session.login()).unwrap();
    r.now.set(10_000 + 1_439_000);
    block_on(r.session.dial(&dial())).unwrap();
    assert_eq!(r.pbx.token_requests.borrow().len(), 1);
    r.now.set(10_000 + 1_440_000);
    block_on(r.session.dial(&dial())).unwrap();
    assert_eq!(*r.pbx.token_requests.borrow(), vec!["password", "refresh_token"]);
    assert_eq!(r.pbx.api_requests.borrow().last().unwrap().1, "T2");
}

#[test]
fn a_401_gets_a_fresh_token_and_one_retry() {
    let r = rig();
    block_on(r.session.login()).unwrap();
    r.pbx.reject_next.set(1);
    let d = block_on(r.session.dial(&dial())).unwrap();
    assert_eq!(d.uniqueid.0, "hwd-1.1");
    let calls = r.pbx.api_requests.borrow();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].1.as_str(), calls[1].1.as_str()), ("T1", "T2"));
    assert_eq!(*r.pbx.token_requests.borrow(), vec!["password", "refresh_token"]);
}

#[test]
fn a_second_401_is_returned_not_retried_forever() {
    let r = rig();
    r.pbx.reject_next.set(5);
    let e = block_on(r.session.dial(&dial())).unwrap_err();
    assert_eq!(e.code(), "http_401");
    assert_eq!(r.pbx.api_requests.borrow().len(), 2);
}

#[test]
fn a_refused_refresh_falls_back_to_the_password_grant_in_the_same_call() {
    let r = rig();
    block_on(r.session.login()).unwrap();
    *r.pbx.refresh_token.borrow_mut() = "rotated-elsewhere".into();
    r.now.set(10_000 + 1_500_000);
    block_on(r.session.dial(&dial())).unwrap();
    assert_eq!(*r.pbx.token_requests.borrow(), vec!["password", "refresh_token", "password"]);
}

#[test]
fn wrong_password_is_a_typed_error() {
    let r = rig_with("wrong");
    let e = block_on(r.session.login()).unwrap_err();
    assert_eq!(
        e,
        Error::CredentialsRejected(ApiError::Http {
            status: 400,
            message: "The user credentials were incorrect.".into()
        })
    );
    assert_eq!(e.code(), "credentials_rejected");
    assert!(r.pbx.api_requests.borrow().is_empty());
}

/// The console's pollers: the extension panel every 3 s, a queue view
/// every 5 s, a dial attempt every minute, for `secs` of simulated time.
fn run_pollers(r: &Rig, secs: u64) -> Vec<Error> {
    let f = EndpointFilter { page: Page::new(1, 10).unwrap(), endpoint: None };
    let mut errors = Vec::new();
    let start = r.now.get();
    for t in 0..=secs {
        r.now.set(start + t * 1000);
        let mut calls: Vec<Result<(), Error>> = Vec::new();
        if t % 3 == 0 {
            calls.push(block_on(r.session.endpoint_status(&f)).map(|_| ()));
        }
        if t % 5 == 0 {
            calls.push(block_on(r.session.hangup(&Hangup::parse("8001").unwrap())));
        }
        if t % 60 == 0 {
            calls.push(block_on(r.session.dial(&dial())).map(|_| ()));
        }
        errors.extend(calls.into_iter().filter_map(Result::err));
    }
    errors
}

#[test]
fn a_refused_password_with_pollers_running_an_hour_makes_at_most_two_token_requests() {
    let r = rig_with("changed-by-the-admin");
    assert_eq!(block_on(r.session.login()).unwrap_err().code(), "credentials_rejected");
    let errors = run_pollers(&r, 3600);
    assert!(
        r.pbx.token_requests.borrow().len() <= 2,
        "{} token requests",
        r.pbx.token_requests.borrow().len()
    );
    assert!(r.pbx.api_requests.borrow().is_empty(), "nothing is sent without a token");
    assert!(errors.len() > 1000 && errors.iter().all(|e| e.code() == "credentials_rejected"));
    assert!(r.session.credentials_rejected());
    // An explicit sign-in asks again (and would succeed with the right password).
    let _ = block_on(r.session.login());
    assert_eq!(r.pbx.token_requests.borrow().len(), 2);
}

#[test]
fn a_password_refused_mid_shift_stops_at_the_next_token_request() {
    // No refresh token: every 24 minutes a password grant; the admin changes
    // the password after the first.
    let r = rig();
    block_on(r.session.login()).unwrap();
    *r.pbx.refresh_token.borrow_mut() = "rotated-elsewhere".into();
    r.pbx.reject_password.set(true);
    let errors = run_pollers(&r, 3600);
    // password, then at 80%: refresh (refused) and password (refused); then nothing.
    assert_eq!(*r.pbx.token_requests.borrow(), vec!["password", "refresh_token", "password"]);
    assert!(errors.iter().any(|e| e.code() == "credentials_rejected"));
}

#[test]
fn a_network_outage_backs_off_instead_of_asking_on_every_poll() {
    let r = rig();
    r.pbx.network_down.set(true);
    let errors = run_pollers(&r, 3600);
    let n = r.pbx.token_requests.borrow().len();
    // Network errors never reach the token endpoint's counter here, so count
    // the attempts through the client instead.
    assert_eq!(n, 0);
    let attempts = r.pbx.attempts.get();
    // 1 s doubling to a 60 s cap: about 6 + 3600/45 at most; the pollers
    // alone would have made 1200 + 720 + 60.
    assert!(attempts <= 90, "{attempts} token attempts in an hour");
    assert!(attempts >= 50, "still retrying: {attempts}");
    assert!(errors.iter().all(|e| e.code() == "network"));
    // Back online: the next poll after the backoff signs in.
    r.pbx.network_down.set(false);
    let start = r.now.get();
    r.now.set(start + 61_000);
    block_on(r.session.dial(&dial())).unwrap();
}

#[test]
fn vendor_and_network_errors_come_through_typed() {
    let r = rig();
    let e = block_on(r.session.dial(&Dial::parse("8001", "9999", None).unwrap())).unwrap_err();
    assert_eq!(e.code(), "600001");
    r.pbx.network_down.set(true);
    let e = block_on(r.session.hangup(&Hangup::parse("8001").unwrap())).unwrap_err();
    assert_eq!(e.code(), "network");
}

#[test]
fn endpoint_status_pages() {
    let r = rig();
    let f = EndpointFilter { page: Page::new(1, 10).unwrap(), endpoint: None };
    let rows = block_on(r.session.endpoint_status(&f)).unwrap();
    assert_eq!((rows.total, rows.data.len()), (5, 1));
    assert_eq!(r.pbx.api_requests.borrow()[0].0, "/api/v1/status/endpoint?page=1&pageSize=10");
}

#[test]
fn while_one_caller_refreshes_the_others_use_the_still_valid_token() {
    let r = rig();
    block_on(r.session.login()).unwrap();
    r.now.set(10_000 + 1_500_000); // past 80%, before expiry
    let (d, h) = (dial(), Hangup::parse("8001").unwrap());
    let (a, b) = block_on(async { futures::join!(r.session.dial(&d), r.session.hangup(&h)) });
    a.unwrap();
    b.unwrap();
    assert_eq!(*r.pbx.token_requests.borrow(), vec!["password", "refresh_token"]);
    let calls = r.pbx.api_requests.borrow();
    // The refresher waited for T2; the other went ahead with T1.
    let tokens: Vec<&str> = calls.iter().map(|(_, t)| t.as_str()).collect();
    assert!(tokens.contains(&"T1") && tokens.contains(&"T2"), "{tokens:?}");
}

#[test]
fn a_signed_out_session_refuses_instead_of_signing_in_again() {
    let r = rig();
    block_on(r.session.login()).unwrap();
    r.session.logout();
    let e = block_on(r.session.dial(&dial())).unwrap_err();
    assert_eq!(e, Error::SignedOut);
    assert_eq!(e.code(), "signed_out");
    assert_eq!(r.pbx.token_requests.borrow().len(), 1);
    assert!(r.pbx.api_requests.borrow().is_empty());
}

#[test]
fn settings_open_a_session_and_name_bad_fields() {
    use agent_console::core::PbxSettings;
    let s: PbxSettings = serde_json::from_str(
        r#"{"baseUrl":"/dscom-api/public","clientId":4,"clientSecret":"s","username":"api","password":"p"}"#,
    )
    .unwrap();
    let clock: agent_console::core::Clock = Rc::new(|| Instant::from_millis(0));
    let opened =
        s.open(Rc::new(FakePbx::default()), clock.clone(), |u| format!("http://page.test{u}")).unwrap();
    assert_eq!(opened.media_url, "http://page.test");
    assert_eq!(opened.session.api().base_url(), "http://page.test/dscom-api/public");
    let mut bad = s.clone();
    bad.client_secret.clear();
    let e = bad.open(Rc::new(FakePbx::default()), clock.clone(), |u| u.to_string()).err().unwrap();
    assert_eq!(e.field(), Some("baseUrl"), "a path without a page to resolve against is refused first");
    let e = bad.open(Rc::new(FakePbx::default()), clock, |u| format!("http://h{u}")).err().unwrap();
    assert_eq!(e.field(), Some("clientSecret"));
}

/// Behind the gateway: no token request and no `Authorization` leave the
/// browser; a 401 (the gateway session ended) latches, tells the hook once
/// and sends nothing more.
#[test]
fn behind_the_gateway_no_token_is_asked_for_and_a_401_ends_the_session_once() {
    let pbx = Rc::new(FakePbx::default());
    // The fake stands for the gateway: it accepts requests with no bearer.
    pbx.valid.borrow_mut().push(String::new());
    let session = PbxSession::behind_gateway(
        PbxApi::new("http://pbx.test/dscom-api/public/", "zh-CN").unwrap(),
        pbx.clone(),
        Rc::new(|| Instant::from_millis(0)),
    );
    assert!(session.is_behind_gateway());
    let told = Rc::new(Cell::new(0u32));
    let t = told.clone();
    session.on_credentials_rejected(move |_| t.set(t.get() + 1));
    block_on(session.login()).unwrap();
    assert_eq!(block_on(session.dial(&dial())).unwrap().uniqueid.0, "hwd-1.1");
    assert_eq!(pbx.attempts.get(), 0, "no token request");
    assert_eq!(pbx.api_requests.borrow().first().map(|r| r.1.as_str()), Some(""), "no bearer");
    pbx.reject_next.set(1);
    assert!(matches!(block_on(session.dial(&dial())), Err(Error::CredentialsRejected(_))));
    assert!(session.credentials_rejected());
    let sent = pbx.api_requests.borrow().len();
    assert!(matches!(block_on(session.dial(&dial())), Err(Error::CredentialsRejected(_))));
    assert_eq!(pbx.api_requests.borrow().len(), sent, "nothing sent once the gateway said 401");
    assert_eq!(told.get(), 1, "the console is told once");
    assert!(matches!(block_on(session.token()), Err(Error::InvalidState(_))));
}
