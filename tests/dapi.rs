//! The dapi API (seeds 000, 001): every seed example decodes, requests carry
//! the documented bodies, loose shapes are accepted and strict fields refused,
//! and the session carries out the engine's requests.

use agent_console::api::dapi::{
    self, CallRecordPush, CallTaskInput, Channel, DapiApi, EventCode, MessageStatus, SenderType, Uid,
};
use agent_console::api::{ApiError, HttpRequest, HttpResponse, Method, Problem};
use agent_console::core::dapi::softphone::{Op, Reply};
use agent_console::core::{DapiSession, Error, HttpClient};
use futures::executor::block_on;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;

fn fixture(name: &str) -> HttpResponse {
    let p = format!("{}/tests/fixtures/dapi/{name}", env!("CARGO_MANIFEST_DIR"));
    HttpResponse::new(200, std::fs::read(p).unwrap())
}

fn uid(s: &str) -> Uid {
    Uid::parse("uid", s).unwrap()
}

fn api() -> DapiApi {
    DapiApi::new("http://dapi.example/").unwrap()
}

fn body(req: &HttpRequest) -> Value {
    serde_json::from_str(req.body.as_deref().unwrap()).unwrap()
}

#[test]
fn every_seed_example_decodes() {
    let j = dapi::decode_join(&fixture("call_user.json")).unwrap();
    assert_eq!(
        (j.app_id.as_str(), j.channel.as_str(), j.uid.as_str()),
        ("303156d224e44881a00af9cabc9e10d8", "ch_4aY875LP4o", "1234")
    );
    assert!(j.token.starts_with("006303156d"));
    for f in ["call_robot.json", "call_token.json", "invite_robot.json"] {
        dapi::decode_join(&fixture(f)).unwrap();
    }
    let m = dapi::decode_messages(&fixture("call_msg.json")).unwrap();
    assert!(m.skipped.is_empty());
    let m = m.rows;
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].id, m[0].uid.as_str(), m[0].status), (16, "4321", MessageStatus::New));
    assert_eq!(
        (m[0].status_label.as_str(), m[0].extra_msg.as_str()),
        ("初始化", "caller send extra message")
    );
    dapi::decode_empty(&fixture("quit_robot.json")).unwrap();
    let t = dapi::decode_tasks(&fixture("calltask_list.json")).unwrap();
    assert_eq!((t.page, t.total, t.per_page, t.rows.len()), (1, 1, 20, 1));
    assert_eq!(t.rows[0].dst_uid, vec![uid("1235"), uid("1236")]);
    assert_eq!(t.rows[0].call_time, "2020-02-02 20:20:00");
    let c = dapi::decode_config(&fixture("system_config.json")).unwrap();
    assert_eq!((c.heartbeat_secs(), c.agora_appid.as_str()), (30, "12312432435"));
    assert_eq!(
        dapi::decode_upload(&fixture("upload.json")).unwrap(),
        vec!["/media/general_upload/0a2533c28a18ac79057a93b5817da886.jpg"]
    );
}

#[test]
fn the_webhook_example_decodes_with_both_sender_spellings() {
    let p = CallRecordPush::parse(&fixture("webhook_callrecord.json").body).unwrap();
    let r = p.callrecord;
    assert_eq!((r.id, r.src_uid.as_str(), r.is_robot), (12, "515", false));
    assert_eq!(r.event.len(), 2);
    assert_eq!(r.event[0].sender_type, SenderType::User);
    assert_eq!(r.event[1].sender_type, SenderType::Robot);
    assert_eq!(r.event[0].uid.as_str(), "515");
    // 102/103 are not in the seed's table: kept, but without a meaning.
    assert_eq!((r.event[0].code, r.event[0].event_code()), (102, None));
    assert_eq!(r.resource.recording[0].content, "/media/ssg/12342.acc");
    assert_eq!(r.resource.recording_timestamp.len(), 3);
    // Python-style booleans as strings and a missing resource are tolerated.
    let loose = json!({"callrecord": {"channel": "ch_1", "id": "5", "is_robot": "False", "src_uid": 7,
        "event": [{"id": 1, "channel": "ch_1", "code": "1007", "uid": "7", "sender_type": "2"}]}});
    let r = CallRecordPush::parse(loose.to_string().as_bytes()).unwrap().callrecord;
    assert_eq!((r.id, r.is_robot, r.event[0].event_code()), (5, false, Some(EventCode::Failed)));
    assert_eq!(r.event[0].sender_type, SenderType::Other(2));
    // Strict: an event without an id, or a bad code, is refused.
    for bad in [
        json!({"callrecord": {"channel": "ch_1", "id": 1, "src_uid": "7", "event": [{"channel": "ch_1", "code": 1, "uid": "7"}]}}),
        json!({"callrecord": {"channel": "ch_1", "id": 1, "src_uid": "7", "event": [{"id": 1, "channel": "ch_1", "code": "x", "uid": "7"}]}}),
        json!({"callrecord": {"channel": "ch\u{7}1", "id": 1, "src_uid": "7"}}),
    ] {
        assert!(CallRecordPush::parse(bad.to_string().as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn requests_carry_the_documented_bodies() {
    let a = api();
    let r = a.call_users(&uid("12356"), &[uid("12345"), uid("34566")], Some("your extra message"));
    assert_eq!((r.method, r.url.as_str()), (Method::Post, "http://dapi.example/dapi/call/user"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        body(&r),
        json!({"src_uid": "12356", "dst_uid": ["12345", "34566"], "extra_msg": "your extra message"})
    );
    assert_eq!(body(&a.call_users(&uid("1"), &[uid("2")], None)), json!({"src_uid": "1", "dst_uid": ["2"]}));
    assert_eq!(body(&a.call_robot(&uid("1"))), json!({"src_uid": "1"}));
    assert_eq!(body(&a.messages(&uid("4321"))), json!({"uid": "4321"}));
    let ch = Channel::parse("ch_sdgsdgsgs").unwrap();
    assert_eq!(body(&a.channel_token(&uid("4321"), &ch)), json!({"uid": "4321", "channel": "ch_sdgsdgsgs"}));
    assert_eq!(
        body(&a.event(&uid("12345"), &ch, EventCode::TalkStarted, Some("接通"))),
        json!({"uid": "12345", "channel": "ch_sdgsdgsgs", "code": 1, "desp": "接通"})
    );
    assert_eq!(body(&a.heartbeat(&uid("1234"), &ch)), json!({"uid": "1234", "channel": "ch_sdgsdgsgs"}));
    assert_eq!(a.invite_robot(&uid("1"), &ch).url, "http://dapi.example/dapi/invite/robot");
    assert_eq!(body(&a.quit_robot(&uid("1235"), &ch)), json!({"channel": "ch_sdgsdgsgs", "uid": "1235"}));
    let t =
        CallTaskInput::parse(None, &["1235".into(), "1236".into()], "2020-02-02 20:20:00", "123").unwrap();
    assert_eq!(
        body(&a.save_task(&uid("1234"), &t)),
        json!({"id": "", "src_uid": "1234", "dst_uid": ["1235", "1236"], "call_time": "2020-02-02 20:20:00", "taskid": "123"})
    );
    let t = CallTaskInput::parse(Some("8"), &["1235".into()], "2020-02-02 20:20:00", "123").unwrap();
    assert_eq!(body(&a.save_task(&uid("1234"), &t))["id"], "8");
    assert_eq!(body(&a.tasks(&uid("1234"), 1, 20)), json!({"uid": "1234"}));
    assert_eq!(body(&a.tasks(&uid("1234"), 3, 10)), json!({"uid": "1234", "page": 3, "perpage": 10}));
    let c = a.config();
    assert_eq!(
        (c.method, c.url.as_str(), c.body),
        (Method::Get, "http://dapi.example/dapi/system/config", None)
    );
    assert_eq!(a.upload_url(), "http://dapi.example/d/upload");
    for code in EventCode::ALL {
        assert_eq!(EventCode::from_code(code.code().into()), Some(code));
    }
    assert_eq!(EventCode::ALL.map(EventCode::code), [1, 2, 1000, 1001, 1002, 1003, 1006, 1007]);
}

#[test]
fn uids_and_channels_are_taken_as_sites_assign_them() {
    // A UUID, an e-mail, a long id: the seeds put no character set on uids.
    let ids = ["3f2b8c1e-9a4d-4e2f-8b7a-0c1d2e3f4a5b", "alice@example.com", "用户", &"x".repeat(64)];
    for id in ids {
        assert_eq!(Uid::parse("uid", id).unwrap().as_str(), id);
    }
    assert_eq!(Uid::parse_list("dstUids", &ids.map(String::from)).unwrap().len(), 4);
    for ch in ["ch_4aY875LP4o", "room:42", "会议室 1", &"c".repeat(65)] {
        assert_eq!(Channel::parse(ch).unwrap().as_str(), ch);
    }
    // They go out as JSON strings, unchanged.
    let a = api();
    let b = body(&a.heartbeat(&uid("alice@example.com"), &Channel::parse("room:42").unwrap()));
    assert_eq!(b, json!({"uid": "alice@example.com", "channel": "room:42"}));
}

#[test]
fn one_odd_message_does_not_hide_the_others() {
    let r = |v: Value| HttpResponse::new(200, v.to_string());
    // Before: the UUID and e-mail uids (and the row without a channel) failed
    // the whole poll, so the softphone saw no calls at all.
    let m = dapi::decode_messages(&r(json!({"success": true, "data": [
        {"id": 1, "uid": "3f2b8c1e-9a4d-4e2f-8b7a-0c1d2e3f4a5b", "channel": "ch_a", "status": 0},
        {"id": 2, "uid": "alice@example.com", "status": 0},
        {"id": 3, "uid": "alice@example.com", "channel": "ch_b", "status": 0},
    ]})))
    .unwrap();
    assert_eq!(m.rows.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(m.skipped.count, 1);
    assert_eq!(m.skipped.reasons, vec!["row 2: missing field `channel`".to_string()]);
    // The same for scheduled calls: the odd row is counted, the others kept.
    let t = dapi::decode_tasks(&r(json!({"success": true, "data": {
        "rows": [
            {"id": 1, "src_uid": "alice@example.com", "dst_uid": ["bob@example.com"], "call_time": "2020-02-02 20:20:00"},
            {"src_uid": "alice@example.com", "dst_uid": []},
        ],
        "row_pages": {"crt_page": 1, "total": 2, "perpage": 20},
    }})))
    .unwrap();
    assert_eq!((t.rows.len(), t.total, t.skipped.count), (1, 2, 1));
    assert!(t.skipped.reasons[0].contains("missing field `id`"), "{:?}", t.skipped);
}

#[test]
fn inputs_are_checked_before_any_request() {
    // Strict where it matters: empty, control characters, absurd length.
    for bad in ["", " ", "a\u{0}b", "a\nb", "x".repeat(257).as_str()] {
        assert!(Uid::parse("uid", bad).is_err(), "{bad:?}");
    }
    assert_eq!(Uid::parse("uid", " 42 ").unwrap().as_str(), "42");
    assert!(Channel::parse("ch\u{1b}1").is_err());
    assert!(Channel::parse(&"c".repeat(257)).is_err());
    let e = Uid::parse_list("dstUids", &[]).unwrap_err();
    assert_eq!((e.field, e.problem), ("dstUids", Problem::Required));
    let many: Vec<String> = (0..21).map(|i| i.to_string()).collect();
    assert!(matches!(Uid::parse_list("dstUids", &many).unwrap_err().problem, Problem::OutOfRange { .. }));
    assert_eq!(Uid::parse_list("dstUids", &["1".into(), "1".into(), "2".into()]).unwrap().len(), 2);
    let e = CallTaskInput::parse(None, &["1".into()], "2020-02-30 10:00:00", "t").unwrap_err();
    assert_eq!((e.field, e.problem), ("callTime", Problem::NotDateTime));
    assert_eq!(
        CallTaskInput::parse(None, &["1".into()], "2020-02-02 10:00:00", " ").unwrap_err().field,
        "taskid"
    );
    assert_eq!(
        CallTaskInput::parse(Some("x"), &["1".into()], "2020-02-02 10:00:00", "t").unwrap_err().field,
        "id"
    );
    assert!(DapiApi::new("javascript:alert(1)").is_err());
}

#[test]
fn loose_replies_are_accepted_and_strict_fields_refused() {
    let r = |v: Value| HttpResponse::new(200, v.to_string());
    // Numbers as strings, data [] for an empty list, "success": "true".
    let m = dapi::decode_messages(&r(json!({"success": "true", "data": [
        {"id": "17", "uid": "9", "channel": "ch_a", "status": "2"}]})))
    .unwrap()
    .rows;
    assert_eq!((m[0].id, m[0].status, m[0].extra_msg.as_str()), (17, MessageStatus::Ended, ""));
    assert!(dapi::decode_messages(&r(json!({"success": true, "data": {}}))).unwrap().rows.is_empty());
    assert!(dapi::decode_messages(&r(json!({"success": true}))).unwrap().rows.is_empty());
    // Unknown status is kept, not an error.
    let m = dapi::decode_messages(&r(
        json!({"success": true, "data": [{"id": 1, "uid": "9", "channel": "c", "status": 7}]}),
    ));
    assert_eq!(m.unwrap().rows[0].status, MessageStatus::Other(7));
    // Strict: a message without an id is left out (and counted), a join
    // without a token and a reply without a success flag fail.
    let m = dapi::decode_messages(&r(
        json!({"success": true, "data": [{"uid": "9", "channel": "c", "status": 0}]}),
    ))
    .unwrap();
    assert_eq!((m.rows.len(), m.skipped.count), (0, 1));
    assert!(matches!(
        dapi::decode_messages(&r(json!({"success": true, "data": {"a": 1}}))),
        Err(ApiError::Decode(_))
    ));
    assert!(dapi::decode_join(&r(
        json!({"success": true, "data": {"appID": "a", "channel": "c", "uid": "1"}})
    ))
    .is_err());
    assert!(matches!(dapi::decode_empty(&r(json!({"data": null}))), Err(ApiError::Decode(_))));
    // Config: heartbeat missing → 30, silly values clamped.
    assert_eq!(dapi::decode_config(&r(json!({"success": true, "data": []}))).unwrap().heartbeat_secs(), 30);
    assert_eq!(
        dapi::decode_config(&r(json!({"success": true, "data": {"channel_heartbeat": "1"}})))
            .unwrap()
            .heartbeat_secs(),
        5
    );
    // Saved task id in any of the shapes.
    assert_eq!(dapi::decode_saved_task(&r(json!({"success": true, "data": {"id": "9"}}))).unwrap(), Some(9));
    assert_eq!(dapi::decode_saved_task(&r(json!({"success": true, "data": null}))).unwrap(), None);
    assert_eq!(dapi::decode_saved_task(&r(json!({"success": true, "data": 4}))).unwrap(), Some(4));
    // Upload: one URL bare, or an envelope; never an empty URL.
    assert_eq!(dapi::decode_upload(&r(json!("/media/a.png"))).unwrap(), vec!["/media/a.png"]);
    assert_eq!(dapi::decode_upload(&r(json!({"success": true, "data": ["/a", "/b"]}))).unwrap().len(), 2);
    assert!(dapi::decode_upload(&r(json!([""]))).is_err());
    assert!(dapi::decode_upload(&r(json!({"url": "/a"}))).is_err());
}

#[test]
fn refusals_carry_the_servers_words() {
    let refuse =
        |status: u16, v: Value| dapi::decode_empty(&HttpResponse::new(status, v.to_string())).unwrap_err();
    let e = refuse(200, json!({"success": false, "msg": "频道不存在或已结束"}));
    assert_eq!(e, ApiError::Refused { message: "频道不存在或已结束".into() });
    assert_eq!(e.code(), "refused");
    assert_eq!(
        refuse(200, json!({"success": false, "message": "no"})),
        ApiError::Refused { message: "no".into() }
    );
    assert_eq!(
        refuse(200, json!({"success": false, "data": "bad uid"})),
        ApiError::Refused { message: "bad uid".into() }
    );
    assert_eq!(refuse(400, json!({"success": false})), ApiError::Refused { message: "HTTP 400".into() });
    assert_eq!(
        dapi::decode_upload(&HttpResponse::new(413, json!({"success": false, "msg": "too big"}).to_string()))
            .unwrap_err()
            .code(),
        "refused"
    );
    let e = dapi::decode_empty(&HttpResponse::new(502, "<html>bad gateway</html>")).unwrap_err();
    assert_eq!(e.code(), "http_502");
    let e = dapi::decode_empty(&HttpResponse::new(200, "<html>")).unwrap_err();
    assert_eq!(e.code(), "decode");
}

/// A server that answers from a script and records requests.
struct Scripted {
    sent: RefCell<Vec<HttpRequest>>,
    replies: RefCell<Vec<Result<HttpResponse, String>>>,
}

impl HttpClient for Scripted {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        self.sent.borrow_mut().push(req);
        self.replies.borrow_mut().remove(0)
    }
}

#[test]
fn the_session_runs_the_engines_requests() {
    let ok = |v: Value| Ok(HttpResponse::new(200, v.to_string()));
    let http = Rc::new(Scripted {
        sent: RefCell::new(Vec::new()),
        replies: RefCell::new(vec![
            Ok(fixture("call_user.json")),
            ok(json!({"success": true, "data": null})),
            Err("connection reset".into()),
            ok(json!({"success": false, "msg": "频道不存在或已结束"})),
        ]),
    });
    let s = DapiSession::new(api(), uid("1234"), http.clone());
    let paths = || -> Vec<String> {
        http.sent
            .borrow()
            .iter()
            .map(|r| r.url.trim_start_matches("http://dapi.example").to_string())
            .collect()
    };
    let join = block_on(s.execute(&Op::CallUsers { dst: vec![uid("5")], extra_msg: None })).unwrap();
    assert!(matches!(join, Reply::Join(j) if j.channel.as_str() == "ch_4aY875LP4o"));
    let ch = Channel::parse("ch_4aY875LP4o").unwrap();
    assert_eq!(block_on(s.execute(&Op::Heartbeat(ch.clone()))).unwrap(), Reply::Done);
    assert!(matches!(block_on(s.execute(&Op::Messages)), Err(Error::Network(_))));
    let e = block_on(s.execute(&Op::Event { channel: ch, code: EventCode::TalkEnded, desp: String::new() }))
        .unwrap_err();
    assert_eq!(e.code(), "refused");
    assert_eq!(
        paths(),
        vec!["/dapi/call/user", "/dapi/call/heartbeat", "/dapi/call/msg", "/dapi/call/event"]
    );
    // Checked before sending: nothing goes out.
    assert!(block_on(s.tasks(0, 20)).is_err());
    assert_eq!(block_on(s.tasks(1, 101)).unwrap_err().field(), Some("pageSize"));
    assert_eq!(paths().len(), 4);
}

/// A task-list server: `Honour` pages as asked; the stricter ones know only
/// the seed's `{uid}` and ignore `page`/`perpage`: `Whole` sends every row,
/// `FirstPage` always its first 20, `PageOnly` reads `page` but pages by 20.
#[derive(Clone, Copy, Debug, PartialEq)]
enum TaskServer {
    Honour,
    Whole,
    FirstPage,
    PageOnly,
}

struct TaskList {
    mode: TaskServer,
    rows: u64,
    sent: RefCell<Vec<Value>>,
}

impl HttpClient for TaskList {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let b = body(&req);
        self.sent.borrow_mut().push(b.clone());
        let asked = |k: &str, d: u64| b.get(k).and_then(Value::as_u64).unwrap_or(d);
        let (page, per) = match self.mode {
            TaskServer::Honour => (asked("page", 1), asked("perpage", 20)),
            TaskServer::Whole => (1, self.rows.max(1)),
            TaskServer::FirstPage => (1, 20),
            TaskServer::PageOnly => (asked("page", 1), 20),
        };
        let rows: Vec<Value> = (0..self.rows)
            .skip(((page - 1) * per) as usize)
            .take(per as usize)
            .map(|i| json!({"id": i + 1, "src_uid": "1234", "dst_uid": ["1235"], "call_time": "2020-02-02 20:20:00", "tone_list": [], "pk": i + 1}))
            .collect();
        let shown_per = if self.mode == TaskServer::Honour { per } else { 20 };
        let reply = json!({"success": true, "data": {"rows": rows,
            "row_pages": {"crt_page": page, "total": self.rows, "perpage": shown_per}}});
        Ok(HttpResponse::new(200, reply.to_string()))
    }
}

/// Pages through the list as the console does (next until the last page the
/// reply implies); returns every id shown, in order, and the last `withheld`.
fn page_through(s: &DapiSession<Rc<TaskList>>, per: u64) -> (Vec<u64>, u64) {
    let mut shown = Vec::new();
    let mut page = 1;
    loop {
        let p = block_on(s.tasks(page, per)).unwrap();
        assert!(p.rows.len() as u64 <= per, "page {page} holds {} rows, asked {per}", p.rows.len());
        assert_eq!((p.page, p.per_page), (page, per));
        shown.extend(p.rows.iter().map(|r| r.id));
        if page >= p.total.div_ceil(per).max(1) || page > 50 {
            return (shown, p.withheld);
        }
        page += 1;
    }
}

#[test]
fn task_list_falls_back_when_the_server_ignores_paging() {
    for mode in [TaskServer::Honour, TaskServer::Whole, TaskServer::FirstPage, TaskServer::PageOnly] {
        for per in [7, 10, 20] {
            let http = Rc::new(TaskList { mode, rows: 45, sent: RefCell::new(Vec::new()) });
            let s = DapiSession::new(api(), uid("1234"), http.clone());
            let (shown, withheld) = page_through(&s, per);
            // No row twice, in order; every row the server is willing to send,
            // and a count of those it will not.
            let reachable = match mode {
                TaskServer::Honour | TaskServer::Whole => 45,
                TaskServer::PageOnly if per == 20 => 45,
                TaskServer::FirstPage | TaskServer::PageOnly => 20,
            };
            assert_eq!(shown, (1..=reachable).collect::<Vec<u64>>(), "{mode:?}, {per} per page");
            assert_eq!(withheld, 45 - reachable, "{mode:?}, {per} per page");
        }
    }
    // A reply that is a later page of the server's own size: asked again as the
    // seed does (the bare `{uid}`), and our page cut from its first page.
    let http = Rc::new(TaskList { mode: TaskServer::PageOnly, rows: 45, sent: RefCell::new(Vec::new()) });
    let s = DapiSession::new(api(), uid("1234"), http.clone());
    let p = block_on(s.tasks(2, 10)).unwrap();
    assert_eq!(p.rows.iter().map(|r| r.id).collect::<Vec<_>>(), (11..=20).collect::<Vec<u64>>());
    assert_eq!(
        *http.sent.borrow(),
        vec![json!({"uid": "1234", "page": 2, "perpage": 10}), json!({"uid": "1234"})]
    );
    // Past what a first-page server sends: an empty page, not page 1 again.
    let http = Rc::new(TaskList { mode: TaskServer::FirstPage, rows: 45, sent: RefCell::new(Vec::new()) });
    let s = DapiSession::new(api(), uid("1234"), http);
    let p = block_on(s.tasks(2, 20)).unwrap();
    assert_eq!((p.rows.len(), p.page, p.total, p.withheld), (0, 2, 20, 25));
}

#[test]
fn a_task_page_is_fitted_from_the_reply_alone() {
    let reply = |rows: u64, crt: u64, per: u64, total: u64| {
        let rows: Vec<Value> = (1..=rows)
            .map(|i| json!({"id": i, "src_uid": "1234", "dst_uid": ["1235"], "call_time": "2020-02-02 20:20:00"}))
            .collect();
        let body = json!({"success": true, "data": {"rows": rows, "row_pages": {"crt_page": crt, "total": total, "perpage": per}}});
        dapi::decode_tasks(&HttpResponse::new(200, body.to_string())).unwrap()
    };
    // Paged as asked: unchanged.
    let p = dapi::fit_task_page(reply(10, 2, 10, 45), 2, 10).unwrap();
    assert_eq!((p.rows.len(), p.page, p.total, p.withheld), (10, 2, 45, 0));
    // The seed's example asked as the seed does.
    let p = dapi::fit_task_page(dapi::decode_tasks(&fixture("calltask_list.json")).unwrap(), 1, 20).unwrap();
    assert_eq!((p.rows.len(), p.page, p.total, p.withheld), (1, 1, 1, 0));
    // The whole list: cut.
    let p = dapi::fit_task_page(reply(45, 1, 20, 45), 3, 20).unwrap();
    assert_eq!((p.rows[0].id, p.rows.len(), p.total, p.withheld), (41, 5, 45, 0));
    // A later page of the server's size: ask again.
    assert!(dapi::fit_task_page(reply(20, 2, 20, 45), 2, 10).is_none());
    // No row_pages at all, more rows than asked: cut.
    let body = json!({"success": true, "data": {"rows": (1..=12).map(|i| json!({"id": i, "src_uid": "a"})).collect::<Vec<_>>()}});
    let p =
        dapi::fit_task_page(dapi::decode_tasks(&HttpResponse::new(200, body.to_string())).unwrap(), 2, 10)
            .unwrap();
    assert_eq!((p.rows.len(), p.total), (2, 12));
}

#[test]
fn call_messages_and_tasks_carry_the_seeds_pk() {
    let m = dapi::decode_messages(&fixture("call_msg.json")).unwrap().rows;
    assert_eq!((m[0].id, m[0].primary_key), (16, Some(16)));
    let t = dapi::decode_tasks(&fixture("calltask_list.json")).unwrap();
    assert_eq!((t.rows[0].id, t.rows[0].primary_key), (8, Some(8)));
    // JS gets it as `pk`, exact beyond 2^53; absent is null.
    let big = json!({"success": true, "data": [{"id": 9007199254740993u64, "uid": "4321", "channel": "ch_1", "status": 0, "pk": "9007199254740993"}]});
    let m = dapi::decode_messages(&HttpResponse::new(200, big.to_string())).unwrap().rows;
    let js = serde_json::to_value(agent_console::api::js_int::JsSafe(&m[0])).unwrap();
    assert_eq!((js["id"].clone(), js["pk"].clone()), (json!("9007199254740993"), json!("9007199254740993")));
    let none = json!({"success": true, "data": {"rows": [{"id": 1, "src_uid": "a"}]}});
    let t = dapi::decode_tasks(&HttpResponse::new(200, none.to_string())).unwrap();
    assert_eq!(serde_json::to_value(&t.rows[0]).unwrap()["pk"], Value::Null);
}
