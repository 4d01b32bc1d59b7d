//! The SIP call-record API (seed 004): query checks, the multipart form,
//! decoding the seed's example, and the sync under lost replies, shuffled
//! and duplicated pages.

use agent_console::api::sipcdr::{
    decode_bills, multipart, Bill, BillPage, BillQuery, BillQueryInput, SipCdrApi, SyncFlag,
};
use agent_console::api::{ApiError, HttpRequest, HttpResponse, Problem};
use agent_console::core::sipcdr::{BillSync, Step};
use agent_console::core::{Error, HttpClient, SipCdrSession};
use agent_console::i18n::Message;
use futures::executor::block_on;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};

fn seed_reply() -> HttpResponse {
    // The seed shows the reply HTML-escaped twice (`&amp;quot;`).
    let p = format!("{}/tests/fixtures/sipcdr/getbill.seed.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(p).unwrap().replace("&amp;quot;", "\"");
    HttpResponse::new(200, text.into_bytes())
}

fn query(per_page: u32) -> BillQuery {
    let mut q = BillQueryInput::window("2019-01-12 00:00:00", "2020-12-12 00:00:00");
    q.itemsperpage = per_page.to_string();
    q.check().unwrap()
}

#[test]
fn the_seeds_example_decodes() {
    let page = decode_bills(&seed_reply()).unwrap();
    assert_eq!((page.totalitems, page.currentpage, page.itemsperpage), (8151, 1, 10));
    let b = &page.bills[0];
    assert_eq!(b.id, 22670);
    assert_eq!(b.destnumber, "13387525701");
    assert_eq!(b.answertime, None);
    assert_eq!((b.duration, b.billsec, b.callmethod), (28, 0, 6));
    assert_eq!((b.hangupdirection, b.hangupcause), (10041, 10020));
    assert_eq!((b.direction.as_str(), b.userkey.as_str()), ("callout", "#"));
}

#[test]
fn loose_shapes_decode_and_errors_are_typed() {
    let r = |s: &str| HttpResponse::new(200, s.as_bytes());
    let page = decode_bills(&r(
        r#"{"ret":"200","data":{"status":"0","result":{"totalitems":"2","currentpage":1,"itemsperpage":"10",
            "bills":[{"id":"7","duration":"3","answertime":"","callmethod":"4"},{"id":8}]}},"msg":""}"#,
    ))
    .unwrap();
    assert_eq!(page.totalitems, 2);
    assert_eq!(page.bills.iter().map(|b| b.id).collect::<Vec<_>>(), [7, 8]);
    assert_eq!((page.bills[0].duration, page.bills[0].answertime.clone()), (3, None));
    // An empty result list may come as an object, PHP style.
    let page =
        decode_bills(&r(r#"{"ret":200,"data":{"status":0,"result":{"totalitems":0,"bills":{}}}}"#)).unwrap();
    assert!(page.bills.is_empty());
    assert_eq!(
        decode_bills(&r(r#"{"ret":401,"data":{},"msg":"token无效"}"#)),
        Err(ApiError::Vendor { code: "401".into(), message: "token无效".into() })
    );
    assert_eq!(
        decode_bills(&r(r#"{"ret":200,"data":{"status":3,"desc":"查询失败"},"msg":""}"#)),
        Err(ApiError::Vendor { code: "status_3".into(), message: "查询失败".into() })
    );
    // Strict: a bill without an id is left out (and counted); a reply
    // without ret, or without a result, fails.
    let page =
        decode_bills(&r(r#"{"ret":200,"data":{"status":0,"result":{"bills":[{"extnumber":"8001"}]}}}"#))
            .unwrap();
    assert_eq!((page.bills.len(), page.skipped.count), (0, 1));
    assert!(matches!(decode_bills(&r(r#"{"data":{}}"#)), Err(ApiError::Decode(_))));
    assert!(matches!(decode_bills(&r(r#"{"ret":200,"data":{"status":0}}"#)), Err(ApiError::Decode(_))));
    assert!(matches!(decode_bills(&HttpResponse::new(500, "oops")), Err(ApiError::Http { status: 500, .. })));
}

#[test]
fn queries_are_checked_before_sending() {
    let ok = BillQueryInput::window("2024-01-01 00:00:00", "2024-01-31 23:59:59");
    let q = ok.check().unwrap();
    assert_eq!(
        (q.syncflag.code(), q.direction.code(), q.callmethod.code()),
        (1, 3, 3),
        "the seed's defaults"
    );
    assert_eq!((q.currentpage, q.itemsperpage), (1, 10));
    let refuse = |f: &dyn Fn(&mut BillQueryInput)| {
        let mut i = ok.clone();
        f(&mut i);
        i.check().unwrap_err()
    };
    let e = refuse(&|i| i.itemsperpage = "0".into());
    assert_eq!((e.field, e.problem), ("itemsperpage", Problem::OutOfRange { min: 1, max: 1000 }));
    assert_eq!(refuse(&|i| i.itemsperpage = "1001".into()).field, "itemsperpage");
    assert!(BillQueryInput { itemsperpage: "1000".into(), ..ok.clone() }.check().is_ok());
    let e = refuse(&|i| i.endtime = "2023-12-31 23:59:59".into());
    assert_eq!((e.field, e.problem), ("endtime", Problem::Before { other: "starttime" }));
    assert_eq!(refuse(&|i| i.starttime = "2024/01/01".into()).problem, Problem::NotDateTime);
    assert_eq!(refuse(&|i| i.syncflag = "4".into()).field, "syncflag");
    assert_eq!(refuse(&|i| i.direction = "0".into()).field, "direction");
    assert_eq!(refuse(&|i| i.callmethod = "7".into()).field, "callmethod");
    assert_eq!(refuse(&|i| i.currentpage = "-1".into()).field, "currentpage");
    // Extensions may be named PJSIP endpoints; what is not an id is refused.
    assert_eq!(refuse(&|i| i.extnumber = "8001,a b".into()).field, "extnumber");
    assert_eq!(
        BillQueryInput { extnumber: "8001,alice".into(), ..ok.clone() }.check().unwrap().extnumber.len(),
        2
    );
    assert_eq!(refuse(&|i| i.destnumber = "1338; DROP".into()).field, "destnumber");
    let q = BillQueryInput { extnumber: " 8001, 8002 ,".into(), ..ok.clone() }.check().unwrap();
    assert_eq!(q.extnumber.len(), 2);
}

/// Splits a multipart body back into fields, independently of the encoder.
fn parse_multipart(content_type: &str, body: &str) -> Vec<(String, String)> {
    let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
    let mut out = Vec::new();
    let parts: Vec<&str> = body.split(&format!("--{boundary}")).collect();
    assert_eq!(parts.first(), Some(&""));
    assert_eq!(parts.last(), Some(&"--\r\n"));
    for part in &parts[1..parts.len() - 1] {
        let part = part.strip_prefix("\r\n").unwrap().strip_suffix("\r\n").unwrap();
        let (head, value) = part.split_once("\r\n\r\n").unwrap();
        let name =
            head.strip_prefix("Content-Disposition: form-data; name=\"").unwrap().strip_suffix('"').unwrap();
        out.push((name.to_string(), value.to_string()));
    }
    out
}

#[test]
fn the_request_is_real_multipart_with_the_documented_names() {
    let api = SipCdrApi::new("http://127.0.0.1:8080", "ABCDEFG").unwrap();
    let mut i = BillQueryInput::window("2019-01-12 00:00:00", "2020-12-12 00:00:00");
    i.syncflag = "3".into();
    i.callmethod = "0".into();
    i.customuuid = "c-9".into();
    let req = api.bills(&i.check().unwrap());
    assert_eq!(req.url, "http://127.0.0.1:8080");
    let ct = req.header("content-type").unwrap();
    let fields = parse_multipart(ct, req.body.as_deref().unwrap());
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "service",
            "token",
            "starttime",
            "endtime",
            "syncflag",
            "direction",
            "callmethod",
            "currentpage",
            "itemsperpage",
            "extnumber",
            "destnumber",
            "userid",
            "memberid",
            "customuuid"
        ]
    );
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("service"), Some("App.Sip_Cdr.GetBill"));
    assert_eq!(get("token"), Some("ABCDEFG"));
    assert_eq!(get("endtime"), Some("2020-12-12 00:00:00"));
    assert_eq!((get("syncflag"), get("direction"), get("callmethod")), (Some("3"), Some("3"), Some("0")));
    assert_eq!(get("chengshudu"), None);
}

#[test]
fn the_boundary_never_occurs_in_a_value() {
    let (ct, _) = multipart(&[("a", "1".into())]);
    let boundary = ct.rsplit('=').next().unwrap().to_string();
    // A value that contains the boundary the same fields would get.
    let evil = vec![("a", format!("x{boundary}y"))];
    let (ct2, body2) = multipart(&evil);
    let b2 = ct2.rsplit('=').next().unwrap();
    assert!(!evil[0].1.contains(b2));
    assert_eq!(parse_multipart(&ct2, &body2), [("a".to_string(), evil[0].1.clone())]);
}

fn bill(id: u64) -> Bill {
    serde_json::from_value(serde_json::json!({"id": id, "starttime": "2020-01-01 00:00:00"})).unwrap()
}

/// A GetBill server with per-token read state, and a script of failures.
struct FakeCdr {
    bills: Vec<u64>,
    fetched: RefCell<BTreeSet<u64>>,
    /// Per request number: fail before marking (`Some(false)`) or after (`Some(true)`).
    failures: RefCell<HashMap<u32, bool>>,
    requests: Cell<u32>,
}

impl FakeCdr {
    fn page(&self, req: &HttpRequest) -> (BillPage, Vec<u64>) {
        let ct = req.header("content-type").unwrap();
        let f = parse_multipart(ct, req.body.as_deref().unwrap());
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap();
        let flag: u8 = get("syncflag").parse().unwrap();
        let page: usize = get("currentpage").parse().unwrap();
        let per: usize = get("itemsperpage").parse().unwrap();
        let fetched = self.fetched.borrow();
        let set: Vec<u64> = self
            .bills
            .iter()
            .copied()
            .filter(|id| match flag {
                1 => !fetched.contains(id),
                2 => fetched.contains(id),
                _ => true,
            })
            .collect();
        let ids: Vec<u64> = set.iter().copied().skip((page - 1) * per).take(per).collect();
        let p = BillPage {
            totalitems: set.len() as u64,
            currentpage: page as u64,
            itemsperpage: per as u64,
            bills: ids.iter().map(|&i| bill(i)).collect(),
            skipped: Default::default(),
            request_time: None,
            response_time: None,
        };
        (p, if flag == 1 { ids } else { Vec::new() })
    }
}

impl HttpClient for FakeCdr {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let n = self.requests.get() + 1;
        self.requests.set(n);
        let failure = self.failures.borrow_mut().remove(&n);
        if failure == Some(false) {
            return Err("connection reset".into());
        }
        let (page, to_mark) = self.page(&req);
        self.fetched.borrow_mut().extend(to_mark);
        if failure == Some(true) {
            // The server did its work; the reply is lost.
            return Ok(HttpResponse::new(500, "Internal Server Error"));
        }
        let body = serde_json::json!({"ret": 200, "data": {"status": 0, "desc": "获取成功", "result": page}, "msg": ""});
        Ok(HttpResponse::new(200, body.to_string().into_bytes()))
    }
}

/// A tiny deterministic PRNG (xorshift), so failure patterns vary by seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sync_hands_every_bill_over_once_despite_lost_replies() {
    for seed in 1..=200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let total = rng.next() % 60;
        let per = 1 + (rng.next() % 7) as u32;
        let server = FakeCdr {
            bills: (1..=total).collect(),
            fetched: RefCell::default(),
            failures: RefCell::default(),
            requests: Cell::new(0),
        };
        for n in 1..=80 {
            match rng.next() % 5 {
                0 => drop(server.failures.borrow_mut().insert(n, true)),
                1 => drop(server.failures.borrow_mut().insert(n, false)),
                _ => {}
            }
        }
        let session = SipCdrSession::new(SipCdrApi::new("http://cdr.test", "ABCDEFG").unwrap(), &server);
        let mut got: Vec<u64> = Vec::new();
        let mut runs = 0;
        loop {
            runs += 1;
            assert!(runs < 200, "seed {seed}: sync never finished");
            match block_on(session.sync(query(per))) {
                Ok(bills) => {
                    got.extend(bills.rows.iter().map(|b| b.id));
                    if server.failures.borrow().keys().all(|&k| k <= server.requests.get()) {
                        break;
                    }
                }
                Err(e) => {
                    assert!(matches!(e, Error::Network(_) | Error::Api(ApiError::Http { status: 500, .. })))
                }
            }
        }
        // One more run after all failures: nothing new.
        assert_eq!(block_on(session.sync(query(per))).unwrap().rows, vec![], "seed {seed}");
        let unique: BTreeSet<u64> = got.iter().copied().collect();
        assert_eq!(unique.len(), got.len(), "seed {seed}: a bill handed over twice: {got:?}");
        assert_eq!(unique, (1..=total).collect(), "seed {seed}: bills lost");
    }
}

impl HttpClient for &FakeCdr {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        (**self).send(req).await
    }
}

#[test]
fn a_refused_request_needs_no_recovery_but_a_lost_one_does() {
    let mut sync = BillSync::new();
    let mut run = sync.start(query(3));
    run.sending(&mut sync);
    let refused = Error::Api(ApiError::Vendor { code: "401".into(), message: "token无效".into() });
    assert!(matches!(run.handle(&mut sync, Err(refused)), Step::Failed(_)));
    assert!(!sync.needs_recovery(), "the server marked nothing");
    let mut run = sync.start(query(3));
    run.sending(&mut sync);
    assert!(matches!(run.handle(&mut sync, Err(Error::Network("reset".into()))), Step::Failed(_)));
    assert!(sync.needs_recovery());
    // Recovery re-reads the lost request's window, even if the next run asks for another one.
    let mut other = BillQueryInput::window("2024-05-01 00:00:00", "2024-05-02 00:00:00");
    other.itemsperpage = "3".into();
    let run = sync.start(other.check().unwrap());
    assert_eq!(run.next_query().starttime, query(3).starttime);
}

/// After a recovery, the unfetched bills still come in the same run.
#[test]
fn a_recovery_does_not_stall_the_sync() {
    let server = FakeCdr {
        bills: (1..=50).collect(),
        fetched: RefCell::default(),
        failures: RefCell::default(),
        requests: Cell::new(0),
    };
    server.failures.borrow_mut().insert(1, true);
    let session = SipCdrSession::new(SipCdrApi::new("http://cdr.test", "T").unwrap(), &server);
    assert!(block_on(session.sync(query(10))).is_err());
    let got = block_on(session.sync(query(10))).unwrap().rows;
    assert_eq!(got.len(), 50, "the 10 of the lost reply and the 40 unfetched, in one run");
}

#[test]
fn new_bills_arrive_in_later_runs() {
    let server = FakeCdr {
        bills: (1..=25).collect(),
        fetched: RefCell::default(),
        failures: RefCell::default(),
        requests: Cell::new(0),
    };
    let session = SipCdrSession::new(SipCdrApi::new("http://cdr.test", "T").unwrap(), &server);
    let first = block_on(session.sync(query(10))).unwrap().rows;
    assert_eq!(first.len(), 25);
    assert_eq!(server.requests.get(), 3, "page 1 three times: 10, 10, 5");
    assert!(first.windows(2).all(|w| w[0].id < w[1].id), "in id order");
    assert!(block_on(session.sync(query(10))).unwrap().rows.is_empty());
}

#[test]
fn the_machine_survives_duplicated_and_shuffled_pages() {
    let mut sync = BillSync::new();
    let mut run = sync.start(query(3));
    assert_eq!(run.next_query().syncflag, SyncFlag::Unfetched);
    let page = |ids: &[u64]| BillPage {
        totalitems: 9,
        currentpage: 1,
        itemsperpage: 3,
        bills: ids.iter().map(|&i| bill(i)).collect(),
        skipped: Default::default(),
        request_time: None,
        response_time: None,
    };
    run.sending(&mut sync);
    assert!(sync.needs_recovery());
    assert_eq!(run.handle(&mut sync, Ok(page(&[3, 1, 2]))), Step::Continue);
    assert!(!sync.needs_recovery());
    run.sending(&mut sync);
    // A duplicated and reordered page still counts as progress when it has something new.
    assert_eq!(run.handle(&mut sync, Ok(page(&[2, 5, 4]))), Step::Continue);
    run.sending(&mut sync);
    // A full page of nothing new: the server is not marking, stop (no endless loop).
    let done = run.handle(&mut sync, Ok(page(&[1, 2, 3])));
    let Step::Done(bills) = done else { panic!("{done:?}") };
    assert_eq!(bills.rows.iter().map(|b| b.id).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    // A failed run keeps what it got for the next one, and recovers first.
    let mut run = sync.start(query(3));
    run.sending(&mut sync);
    assert_eq!(run.handle(&mut sync, Ok(page(&[6, 7, 8]))), Step::Continue);
    run.sending(&mut sync);
    assert!(matches!(run.handle(&mut sync, Err(Error::Network("x".into()))), Step::Failed(_)));
    assert_eq!(sync.pending(), 3);
    let mut run = sync.start(query(3));
    let q = run.next_query();
    assert_eq!((q.syncflag, q.currentpage), (SyncFlag::Fetched, 1));
    run.sending(&mut sync);
    assert_eq!(run.handle(&mut sync, Ok(page(&[1, 2, 3]))), Step::Continue);
    assert_eq!(run.next_query().currentpage, 2);
    run.sending(&mut sync);
    assert_eq!(run.handle(&mut sync, Ok(page(&[9]))), Step::Continue);
    assert_eq!(run.next_query().syncflag, SyncFlag::Unfetched);
    run.sending(&mut sync);
    let Step::Done(bills) = run.handle(&mut sync, Ok(page(&[]))) else { panic!() };
    assert_eq!(bills.rows.iter().map(|b| b.id).collect::<Vec<_>>(), [6, 7, 8, 9]);
    assert_eq!(sync.handed_over(), 9);
}

#[test]
fn bills_marked_fetched_that_do_not_decode_are_reported_by_the_sync_not_lost_silently() {
    let mut sync = BillSync::new();
    let mut run = sync.start(query(3));
    let mut skipped = agent_console::api::de::Skipped::default();
    skipped.add(2, "missing field `id`");
    // Two good bills and one that did not decode still make a full page.
    let odd = BillPage {
        totalitems: 4,
        currentpage: 1,
        itemsperpage: 3,
        bills: vec![bill(1), bill(2)],
        skipped,
        request_time: None,
        response_time: None,
    };
    run.sending(&mut sync);
    assert_eq!(run.handle(&mut sync, Ok(odd)), Step::Continue, "a full page asks again");
    run.sending(&mut sync);
    let last = BillPage {
        totalitems: 1,
        currentpage: 1,
        itemsperpage: 3,
        bills: vec![bill(4)],
        skipped: Default::default(),
        request_time: None,
        response_time: None,
    };
    let Step::Done(done) = run.handle(&mut sync, Ok(last)) else { panic!("done") };
    assert_eq!(done.rows.iter().map(|b| b.id).collect::<Vec<_>>(), [1, 2, 4]);
    assert_eq!(done.skipped.count, 1);
    assert!(done.skipped.reasons[0].contains("missing field"), "{:?}", done.skipped);
    // Reported once: the next run has nothing to say.
    let mut run = sync.start(query(3));
    run.sending(&mut sync);
    let empty = BillPage { bills: vec![], totalitems: 0, ..last_page() };
    let Step::Done(done) = run.handle(&mut sync, Ok(empty)) else { panic!("done") };
    assert_eq!((done.rows.len(), done.skipped.count), (0, 0));
}

fn last_page() -> BillPage {
    BillPage {
        totalitems: 0,
        currentpage: 1,
        itemsperpage: 3,
        bills: vec![],
        skipped: Default::default(),
        request_time: None,
        response_time: None,
    }
}

mod records_page {
    use super::bill;
    use agent_console::api::de::Listed;

    fn listed(rows: Vec<agent_console::api::sipcdr::Bill>) -> Listed<agent_console::api::sipcdr::Bill> {
        Listed { rows, skipped: Default::default() }
    }
    use agent_console::core::sipcdr::call_records::{
        CallRecordsAction as A, CallRecordsState, Filter, SYNCED_KEPT,
    };
    use agent_console::core::Error;

    #[test]
    fn browsing_never_marks_and_syncs_accumulate_newest_first() {
        let s = CallRecordsState::new("2024-01-01 00:00:00", "2024-01-02 00:00:00");
        assert_eq!(s.filters.syncflag, "3", "browsing must not mark bills fetched");
        assert!(s.filters.check().is_ok());
        let s = s.reduce(A::SetFilter(Filter::Extnumber, "8001".into())).reduce(A::LoadStarted(2));
        assert!(s.loading);
        assert_eq!((s.filters.extnumber.as_str(), s.filters.currentpage.as_str()), ("8001", "1"));
        let s = s.reduce(A::LoadFailed(Error::Network("x".into())));
        assert!(!s.loading && s.error.is_some() && s.page.is_none());
        assert_eq!(s.filters.currentpage, "1", "a failed load leaves the pager where it was");
        let s = s.reduce(A::LoadStarted(2)).reduce(A::Loaded(agent_console::api::sipcdr::BillPage {
            totalitems: 0,
            currentpage: 2,
            itemsperpage: 50,
            bills: vec![],
            skipped: Default::default(),
            request_time: None,
            response_time: None,
        }));
        assert_eq!(s.filters.currentpage, "2");
        let s = s.reduce(A::SyncStarted).reduce(A::Synced(listed(vec![bill(1), bill(2)])));
        let s = s.reduce(A::SyncStarted).reduce(A::Synced(listed(vec![bill(3)])));
        assert_eq!(s.last_sync, Some(1));
        assert_eq!(s.synced.iter().map(|b| b.id).collect::<Vec<_>>(), [3, 2, 1]);
        let many: Vec<_> = (10..10 + SYNCED_KEPT as u64 + 5).map(bill).collect();
        assert_eq!(s.reduce(A::Synced(listed(many))).synced.len(), SYNCED_KEPT);
    }

    #[test]
    fn page_count_rounds_up() {
        let mut s = CallRecordsState::new("2024-01-01 00:00:00", "2024-01-02 00:00:00");
        assert_eq!(s.page_count(), 1);
        s = s.reduce(A::Loaded(agent_console::api::sipcdr::BillPage {
            totalitems: 101,
            currentpage: 1,
            itemsperpage: 50,
            bills: vec![],
            skipped: Default::default(),
            request_time: None,
            response_time: None,
        }));
        assert_eq!(s.page_count(), 3);
    }
}

#[test]
fn a_sync_asks_for_every_kind_of_bill_unless_told_otherwise() {
    let w = BillQueryInput::window("2024-01-01 00:00:00", "2024-01-31 23:59:59");
    let field = |q: &BillQuery, k: &str| {
        q.fields("ABCDEFG").into_iter().find(|(n, _)| *n == k).map(|(_, v)| v).unwrap_or_default()
    };
    // Left out: all bills (callmethod 0, direction 3), not the seed's API calls only.
    let sync = w.check_sync().unwrap();
    assert_eq!((field(&sync, "callmethod"), field(&sync, "direction")), ("0".into(), "3".into()));
    // One page keeps the seed's defaults.
    assert_eq!(field(&w.check().unwrap(), "callmethod"), "3");
    // What is given is kept, and still checked.
    let given = BillQueryInput { callmethod: "3".into(), direction: "2".into(), ..w.clone() };
    let q = given.check_sync().unwrap();
    assert_eq!((field(&q, "callmethod"), field(&q, "direction")), ("3".into(), "2".into()));
    let bad = BillQueryInput { callmethod: "9".into(), ..w.clone() };
    assert_eq!(bad.check_sync().unwrap_err().field, "callmethod");
    let bad = BillQueryInput { direction: "0".into(), ..w };
    assert_eq!(bad.check_sync().unwrap_err().field, "direction");
}

#[test]
fn getbill_times_and_ids_beyond_2_53_reach_the_page_exactly() {
    // The seed's example sends reqtime/rsptime beside `result`.
    let page = decode_bills(&seed_reply()).unwrap();
    assert_eq!((page.request_time, page.response_time), (Some(1_581_502_410), Some(1_581_502_410)));
    let js = serde_json::to_value(agent_console::api::js_int::JsSafe(&page)).unwrap();
    assert_eq!(
        (js["reqtime"].clone(), js["rsptime"].clone()),
        (serde_json::json!(1_581_502_410), serde_json::json!(1_581_502_410))
    );
    // Absent times are None; a bill id beyond 2^53 is exact, and a string for JS.
    let text = r#"{"ret":200,"data":{"status":0,"desc":"","result":{"totalitems":1,"currentpage":1,"itemsperpage":10,
        "bills":[{"id":9007199254740993,"duration":"9007199254740995"}]}},"msg":""}"#;
    let page = decode_bills(&HttpResponse::new(200, text.as_bytes().to_vec())).unwrap();
    assert_eq!((page.request_time, page.response_time), (None, None));
    assert_eq!((page.bills[0].id, page.bills[0].duration), (9_007_199_254_740_993, 9_007_199_254_740_995));
    let js = serde_json::to_value(agent_console::api::js_int::JsSafe(&page)).unwrap();
    assert_eq!(js["bills"][0]["id"], "9007199254740993");
    assert_eq!(js["bills"][0]["duration"], "9007199254740995");
    assert_eq!(js["reqtime"], serde_json::Value::Null);
}

#[test]
fn one_odd_bill_does_not_blank_the_page() {
    let r = |s: &str| HttpResponse::new(200, s.as_bytes());
    // Before: the bill without an id failed the whole page.
    let page = decode_bills(&r(r#"{"ret":200,"data":{"status":0,"result":{"totalitems":3,
        "bills":[{"id":1},{"extnumber":"8001","duration":"x"},{"id":"3","extnumber":"alice"}]}}}"#))
    .unwrap();
    assert_eq!(page.bills.iter().map(|b| b.id).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(page.skipped.count, 1);
    assert!(page.skipped.reasons[0].starts_with("row 2: "), "{:?}", page.skipped);
    // JS sees the count beside the bills.
    let js = serde_json::to_value(&page).unwrap();
    assert_eq!(js["skipped"]["count"], 1);
}

#[test]
fn sipcdr_error_bodies_keep_the_servers_words() {
    // Before: a non-2xx reply without an envelope became `HTTP 502` with no message.
    let e = decode_bills(&HttpResponse::new(502, r#"{"message":"upstream timed out"}"#)).unwrap_err();
    assert_eq!(e, ApiError::Http { status: 502, message: "upstream timed out".into() });
    assert_eq!(e.vendor_message(), Some("upstream timed out"));
    // `ret` without `msg` but with `data.desc`; `status` without `desc` but with `msg`.
    let r = |s: &str| HttpResponse::new(200, s.as_bytes());
    assert_eq!(
        decode_bills(&r(r#"{"ret":400,"data":{"desc":"缺少必要参数token"},"msg":""}"#)),
        Err(ApiError::Vendor { code: "400".into(), message: "缺少必要参数token".into() })
    );
    assert_eq!(
        decode_bills(&r(r#"{"ret":200,"data":{"status":2,"desc":""},"msg":"查询过于频繁"}"#)),
        Err(ApiError::Vendor { code: "status_2".into(), message: "查询过于频繁".into() })
    );
    let e = Error::Api(decode_bills(&r(r#"{"ret":401,"data":{},"msg":"token无效"}"#)).unwrap_err());
    assert!(e.message(agent_console::i18n::Lang::Zh).contains("token无效"));
    assert_eq!(e.vendor_message(), Some("token无效"));
}

#[test]
fn a_server_that_ignores_currentpage_ends_the_recovery_after_one_repeat() {
    // A lost marking reply, then a recovery against a server that answers
    // page 1 whatever `currentpage` asks (and counts far more bills).
    let mut sync = BillSync::new();
    let mut run = sync.start(query(3));
    run.sending(&mut sync);
    assert!(matches!(run.handle(&mut sync, Err(Error::Network("lost".into()))), Step::Failed(_)));
    let page1 = BillPage {
        totalitems: 1_000_000,
        currentpage: 1,
        itemsperpage: 3,
        bills: vec![bill(1), bill(2), bill(3)],
        skipped: Default::default(),
        request_time: None,
        response_time: None,
    };
    let mut run = sync.start(query(3));
    let mut asked = 0;
    while run.next_query().syncflag == SyncFlag::Fetched {
        asked += 1;
        assert!(asked <= 2, "asked page {} of a server that does not page", run.next_query().currentpage);
        run.sending(&mut sync);
        assert_eq!(run.handle(&mut sync, Ok(page1.clone())), Step::Continue);
    }
    assert_eq!(asked, 2);
    assert!(!sync.needs_recovery());
    run.sending(&mut sync);
    let Step::Done(done) = run.handle(&mut sync, Ok(BillPage { bills: vec![], totalitems: 0, ..page1 }))
    else {
        panic!("done")
    };
    assert_eq!(done.rows.iter().map(|b| b.id).collect::<Vec<_>>(), [1, 2, 3]);
}

/// Fuzz finding (tests/fuzz.rs): a blank `ret` or `data.status` was a
/// vendor error with an empty code (`""`, `status_`); it is an undecodable
/// reply, or the HTTP error it came with.
#[test]
fn a_reply_with_an_empty_ret_or_status_is_undecodable() {
    let r = |status: u16, s: &str| HttpResponse::new(status, s.as_bytes());
    for b in [
        r#"{"ret":null,"msg":"x"}"#,
        r#"{"msg":"x","ret":""}"#,
        r#"{"ret":200,"data":{"status":" ","desc":"d"}}"#,
    ] {
        let e = decode_bills(&r(200, b)).unwrap_err();
        assert!(matches!(e, ApiError::Decode(_)), "{b}: {e:?}");
    }
    assert!(matches!(
        decode_bills(&r(304, r#"{"msg":"x","ret":""}"#)),
        Err(ApiError::Http { status: 304, .. })
    ));
    assert_eq!(
        decode_bills(&r(200, r#"{"ret":200,"data":{"status":3,"desc":"token错误"}}"#)).unwrap_err().code(),
        "status_3"
    );
}
