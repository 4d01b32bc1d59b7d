//! The console's "load all pages" loops against the sandbox PBX with the
//! `ignorePage` knob on (every paged list answers page 1): the billing fill
//! and reconcile (`BillingFeed` driven by the library's `PbxSession`) and the
//! call-log search (`PageWalk` over `GET cdr`) make a bounded number of
//! requests, end, and say the list is cut; with the knob off they read all.

use std::cell::Cell;
use std::rc::Rc;

use agent_console::api::pbx::cdr::CdrFilter;
use agent_console::api::pbx::{Credentials, Page, PbxApi};
use agent_console::api::{HttpRequest, HttpResponse};
use agent_console::core::paging::{PageStep, PageWalk, WalkEnd};
use agent_console::core::pbx::billing::{BillingEvent, BillingFeed, BillingOp, BillingSettings, FeedState};
use agent_console::core::pbx::cdr_view::{row_key, PAGE_SIZE};
use agent_console::core::time::Duration;
use agent_console::core::{Error, HttpClient, Instant, PbxSession};
use agent_console_sandbox::{
    app, Settings, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_USERNAME,
};
use axum::body::Body;
use axum::http::Request;
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const ORIGIN: &str = "http://pbx.test";

/// The sandbox's routes as the session's HTTP, counting `cdr/list` and `cdr` requests.
struct RouterHttp {
    router: Router,
    billing: Cell<u64>,
    search: Cell<u64>,
}

impl HttpClient for RouterHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let path = req.url.strip_prefix(ORIGIN).unwrap_or(&req.url).to_string();
        let route = path.split('?').next().unwrap_or("");
        if route.ends_with("/cdr/list") {
            self.billing.set(self.billing.get() + 1);
        } else if route.ends_with("/api/v1/cdr") {
            self.search.set(self.search.get() + 1);
        }
        let mut b = Request::builder().method(req.method.as_str()).uri(path);
        for (k, v) in &req.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let r = b.body(req.body.map(Body::from).unwrap_or_else(Body::empty)).map_err(|e| e.to_string())?;
        let resp = self.router.clone().oneshot(r).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(HttpResponse::new(status, bytes.to_vec()))
    }
}

async fn sandbox_post(router: &Router, path: &str, body: Value) -> Value {
    let req = Request::builder()
        .method("POST")
        .uri(format!("/sandbox/pbx/{path}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

async fn sandbox_get(router: &Router, path: &str) -> Value {
    let req = Request::builder().uri(format!("/sandbox/pbx/{path}")).body(Body::empty()).unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

/// A quiet sandbox with 2500 historic rows in the last hour, and a session on it.
async fn setup() -> (Router, Rc<RouterHttp>, PbxSession<Rc<RouterHttp>>) {
    let router = app(Settings::default());
    sandbox_post(&router, "settings", json!({"autoCallers": false})).await;
    // `days: 1` spreads them over the last day; the feed's floor below takes them all.
    sandbox_post(&router, "cdr/bulk", json!({"count": 2500, "days": 1})).await;
    let http = Rc::new(RouterHttp { router: router.clone(), billing: Cell::new(0), search: Cell::new(0) });
    let api = PbxApi::new(&format!("{ORIGIN}/dscom-api/public"), "zh-CN").unwrap();
    let creds = Credentials {
        client_id: DEMO_CLIENT_ID.to_string(),
        client_secret: DEMO_CLIENT_SECRET.to_string(),
        username: DEMO_USERNAME.to_string(),
        password: DEMO_PASSWORD.to_string(),
    };
    let session = PbxSession::new(api, creds, http.clone(), Rc::new(|| Instant(1_000)));
    (router, http, session)
}

/// Runs the feed's ops (the socket "opens" at once; no frames) until it asks
/// for nothing more; returns its troubles.
async fn drive(
    feed: &mut BillingFeed,
    session: &PbxSession<Rc<RouterHttp>>,
    now: Instant,
    wall: i64,
) -> Vec<Error> {
    let mut trouble = Vec::new();
    for _ in 0..1000 {
        while let Some(ev) = feed.poll_event() {
            if let BillingEvent::Trouble(e) = ev {
                trouble.push(e);
            }
        }
        match feed.poll_op() {
            None => return trouble,
            Some(BillingOp::Connect) => feed.socket_opened(now, wall),
            Some(BillingOp::Close) => {}
            Some(BillingOp::Fetch { query, ticket }) => {
                let outcome = session.billing_cdr(&query).await;
                feed.page_fetched(now, ticket, outcome);
            }
        }
    }
    panic!("the feed kept asking: {:?}", feed.state());
}

/// The sandbox's clock is the wall clock: its rows end before now.
fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The feed's settings, keeping the whole day of bulk rows (not only two hours).
fn keep_all() -> BillingSettings {
    BillingSettings { store_age: Duration::from_secs(3 * 86_400), ..BillingSettings::default() }
}

#[tokio::test]
async fn the_billing_fill_and_reconcile_stay_bounded_when_the_pbx_ignores_page() {
    let (router, http, session) = setup().await;
    let wall = now_ms();
    let floor = wall - 2 * 86_400_000;
    sandbox_post(&router, "settings", json!({"ignorePage": true})).await;
    let mut feed = BillingFeed::new(keep_all(), floor, 1);
    let trouble = drive(&mut feed, &session, Instant(0), wall).await;
    let fill_requests = http.billing.get();
    println!("ignorePage: gap fill {fill_requests} cdr/list requests, {} rows held", feed.store().len());
    assert_eq!(fill_requests, 2, "page 1, then page 1 again: stop");
    assert_eq!(feed.state(), FeedState::Live);
    assert_eq!(feed.store().len(), 1000);
    assert!(
        trouble.iter().any(|e| matches!(e, Error::Truncated { end: WalkEnd::Repeated, .. })),
        "the cut is reported: {trouble:?}"
    );
    // The reconcile: bounded too.
    let later = Instant(400_000);
    feed.handle_timeout(later);
    drive(&mut feed, &session, later, wall + 400_000).await;
    let reconcile_requests = http.billing.get() - fill_requests;
    println!("ignorePage: reconcile {reconcile_requests} cdr/list requests");
    assert!(reconcile_requests <= 2, "{reconcile_requests}");
    assert_eq!(feed.state(), FeedState::Live);

    // The knob off: every row, no trouble.
    sandbox_post(&router, "settings", json!({"ignorePage": false})).await;
    let before = http.billing.get();
    let mut feed = BillingFeed::new(keep_all(), floor, 1);
    let trouble = drive(&mut feed, &session, Instant(0), wall).await;
    let rows = feed.store().len() as u64;
    assert!(trouble.is_empty(), "{trouble:?}");
    assert!(rows >= 2500, "{rows}");
    // Full pages, then the short last one (an empty one if the last was full).
    assert_eq!(http.billing.get() - before, rows / 1000 + 1);
}

#[tokio::test]
async fn the_call_log_search_stops_when_the_pbx_repeats_its_first_page() {
    let (router, http, session) = setup().await;
    let search = |walk: &PageWalk| {
        CdrFilter::parse(Page { page: walk.page(), page_size: PAGE_SIZE }, "", "", "", "", "", "").unwrap()
    };
    let rows = sandbox_get(&router, "cdr/keys").await.as_array().map_or(0, Vec::len) as u64;
    for ignore in [true, false] {
        sandbox_post(&router, "settings", json!({"ignorePage": ignore})).await;
        let before = http.search.get();
        let mut walk = PageWalk::new(PAGE_SIZE);
        let end = loop {
            let reply = session.cdr(&search(&walk)).await.unwrap();
            let sent = reply.data.len() as u64 + reply.skipped.count;
            match walk.page_read(sent, reply.data.iter().map(row_key), Some(reply.total)) {
                PageStep::Next(_) => {}
                PageStep::Done(end) => break end,
            }
        };
        println!("GET cdr, ignorePage {ignore}: {} requests, {}", http.search.get() - before, end);
        if ignore {
            assert_eq!((http.search.get() - before, end), (2, WalkEnd::Repeated));
        } else {
            assert!(end.is_complete(), "{end}");
            assert_eq!(http.search.get() - before, rows.div_ceil(1000), "{rows} rows");
        }
    }
}
