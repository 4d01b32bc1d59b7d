//! Seed 003's desk routes: every example reply decodes (copied from the seed
//! into `tests/fixtures/pbx/`, with the document's bookmark marks removed),
//! the loose shapes decode, requests are built as documented, input is
//! checked before sending, and every error code maps to words.

use agent_console::api::pbx::{
    self, agent, cdr, codes, control, tts, voicemail, AgentFilter, AgentId, AgentLogin, AgentPause,
    AgentState, BillingQuery, CdrFilter, Disposition, Extension, ExtensionAction, HandsetPlay, Page,
    PauseReason, PbxApi, PushFrame, QueueNumber, QueueTarget, Target, TargetAction, Transfer, TrunkFilter,
    VoicemailFilter,
};
use agent_console::api::{ApiError, HttpResponse, Method};
use agent_console::core::Error;
use agent_console::i18n::{error_message, Lang};
use serde_json::Value;

fn fixture(name: &str) -> HttpResponse {
    let path = format!("{}/tests/fixtures/pbx/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    HttpResponse::new(200, text.replace('\u{a0}', " ").into_bytes())
}

fn body(s: &str) -> HttpResponse {
    HttpResponse::new(200, s.as_bytes())
}

fn api() -> PbxApi {
    PbxApi::new("https://pbx.example:8443/dscom-api/public", "zh-CN").unwrap()
}

fn json_body(r: &agent_console::api::HttpRequest) -> Value {
    serde_json::from_str(r.body.as_deref().unwrap_or("null")).unwrap()
}

#[test]
fn every_empty_reply_of_the_seed_decodes() {
    for name in [
        "transfer",
        "cancel_atxfer",
        "hold",
        "unhold",
        "park",
        "unpark",
        "redirect",
        "pickup",
        "barge",
        "monitor",
        "whisper",
        "agent_login",
        "agent_logout",
        "agent_pause",
        "voicemail_mark",
        "handset_play",
    ] {
        let r = pbx::call::decode_empty(&fixture(&format!("{name}.json")));
        assert!(r.is_ok(), "{name}: {r:?}");
    }
}

#[test]
fn park_list_example() {
    let r = pbx::decode_rows::<pbx::ParkedCall>(&fixture("park_list.json")).unwrap();
    let p = &r.data[0];
    assert_eq!(p.parkee_caller_id_num, "18312345678");
    assert_eq!(p.parking_space, "701");
    assert_eq!(p.parking_duration, 12);
    assert_eq!(p.parkee_uniqueid, "hwd-1750753562.627");
    assert_eq!(p.parking_timeout, "18446744073709551604", "a huge timeout is kept as text, not overflowed");
    let js = serde_json::to_value(p).unwrap();
    assert_eq!(js["parkeeCallerIDNum"], "18312345678", "serialises with the wire's names");
}

#[test]
fn agent_status_example_flattens() {
    let r = agent::decode_agent_status(&fixture("agent_status.json")).unwrap();
    assert_eq!(r.data.len(), 1);
    let a = &r.data[0];
    assert_eq!((a.queue.as_str(), a.extension.as_str(), a.agentid.as_str()), ("200", "8001", "1011"));
    assert_eq!(a.status, AgentState::Ready);
    assert_eq!(a.status_duration, 4 * 60 + 34);
    assert_eq!((a.penalty, a.calls_total), (1, 274));
    // Empty: the vendor's `data: []`.
    let e = agent::decode_agent_status(&body(r#"{"code":"200","msg":"","data":[],"total":0}"#)).unwrap();
    assert!(e.data.is_empty());
    // Keys fill what rows leave out; several queues come out sorted.
    let two = agent::decode_agent_status(&body(
        r#"{"code":"200","data":{"300":{"8002":{"status":2}},"200":{"8003":{"status":"-1"},"8001":{"status":"4"}}}}"#,
    ))
    .unwrap();
    let keys: Vec<_> = two.data.iter().map(|a| (a.queue.as_str(), a.extension.as_str())).collect();
    assert_eq!(keys, [("200", "8001"), ("200", "8003"), ("300", "8002")]);
    let states: Vec<_> = two.data.iter().map(|a| a.status.clone()).collect();
    assert_eq!(states, [AgentState::PrivateBreak, AgentState::LoggedOut, AgentState::Ringing]);
}

#[test]
fn queue_status_example_with_chinese_words() {
    let r = pbx::decode_rows::<pbx::AgentStatus>(&fixture("status_queue.json")).unwrap();
    let a = &r.data[0];
    assert_eq!(a.status, AgentState::Ready, "就绪 is read as ready");
    assert_eq!(a.status_duration, 636);
    assert_eq!(a.ds_status, "空闲");
    assert_eq!(r.total, 1);
}

#[test]
fn agent_state_words_and_codes() {
    for code in -1..=13 {
        let s = AgentState::from_code(code);
        assert_eq!(s.code(), Some(code), "{code}");
        assert_eq!(AgentState::from_wire(&s.zh()), s, "{code} via its Chinese word");
        assert_eq!(AgentState::from_wire(&code.to_string()), s);
        assert!(!s.en().is_empty());
    }
    assert_eq!(AgentState::from_wire("Ready"), AgentState::Ready);
    assert_eq!(AgentState::from_wire("外星"), AgentState::Other("外星".into()));
    assert!(AgentState::WorkBreak.is_paused() && !AgentState::Ready.is_paused());
}

#[test]
fn trunk_and_wait_examples() {
    let t = pbx::decode_rows::<pbx::TrunkStatus>(&fixture("status_trunk.json")).unwrap();
    assert_eq!(t.data[0].endpoint, "trunkHWD");
    assert_eq!(t.data[0].state, pbx::EndpointState::NotInUse);
    assert_eq!((t.data[0].server_ip.as_str(), t.data[0].server_port.as_str()), ("192.168.1.201", "5060"));
    // The table's names are read too.
    let t2 = pbx::decode_rows::<pbx::TrunkStatus>(&body(
        r#"{"code":"200","data":[{"endpoint":"t","state":"In use","registerIp":"1.2.3.4","registerPort":5060}]}"#,
    ))
    .unwrap();
    assert_eq!((t2.data[0].server_ip.as_str(), t2.data[0].server_port.as_str()), ("1.2.3.4", "5060"));
    let w = pbx::decode_rows::<pbx::WaitingCaller>(&fixture("status_wait.json")).unwrap();
    let c = &w.data[0];
    assert_eq!((c.serial_no, c.callerid.as_str(), c.wait_time), (1, "18312345678", 12));
    assert_eq!(serde_json::to_value(c).unwrap()["waitSecs"], 12);
}

#[test]
fn voicemail_example_and_inbox_order() {
    let r = pbx::decode_rows::<pbx::Voicemail>(&fixture("voicemail.json")).unwrap();
    let v = &r.data[0];
    assert_eq!((v.id, v.is_read, v.duration), (38, false, 10));
    assert_eq!(v.recording, "voicemail/20240822/20240822-150216-8014-8013-hwd-1724310134.93.wav");
    let mut list: Vec<pbx::Voicemail> = serde_json::from_str(
        r#"[{"id":1,"calldate":"2024-08-01 10:00:00","is_read":"yes"},
            {"id":2,"calldate":"2024-08-02 10:00:00","is_read":"no"},
            {"id":3,"calldate":"2024-08-03 10:00:00","is_read":"yes"},
            {"id":4,"calldate":"2024-07-30 10:00:00","is_read":"no"}]"#,
    )
    .unwrap();
    voicemail::inbox_order(&mut list);
    assert_eq!(list.iter().map(|v| v.id).collect::<Vec<_>>(), [2, 4, 3, 1]);
    // An id is strict: a message without one cannot be marked, so it is left
    // out (and counted) rather than shown.
    let r = pbx::decode_rows::<pbx::Voicemail>(&body(r#"{"code":"200","data":[{"calldate":"x"}]}"#)).unwrap();
    assert_eq!((r.data.len(), r.skipped.count), (0, 1));
}

#[test]
fn cdr_examples_decode() {
    let r = pbx::decode_rows::<pbx::Cdr>(&fixture("cdr.json")).unwrap();
    let c = &r.data[0];
    assert_eq!((c.id, c.uniqueid.as_str(), c.duration), (Some(13), "1706847115.0", 0));
    assert_eq!(c.disposition, Disposition::Other("8".into()), "the example's odd disposition is kept");
    let l = pbx::decode_rows::<pbx::Cdr>(&fixture("cdr_list.json")).unwrap();
    let c = &l.data[0];
    assert_eq!((c.id, c.billsec, c.direction.as_str()), (None, 299, "out"));
    assert_eq!(c.disposition, Disposition::Answered);
    // Numbers as strings, missing fields, and a strict uniqueid.
    let loose = pbx::decode_rows::<pbx::Cdr>(&body(
        r#"{"code":"200","data":[{"id":"7","uniqueid":"u1","duration":"301","billsec":null}],"total":"1"}"#,
    ))
    .unwrap();
    assert_eq!(
        (loose.data[0].id, loose.data[0].duration, loose.data[0].billsec, loose.total),
        (Some(7), 301, 0, 1)
    );
    // A row with an empty uniqueid or a bad id is left out and counted.
    let odd = pbx::decode_rows::<pbx::Cdr>(&body(
        r#"{"code":"200","data":[{"id":1,"uniqueid":""},{"id":"x1","uniqueid":"u"},{"id":2,"uniqueid":"u2"}]}"#,
    ))
    .unwrap();
    assert_eq!(odd.data.iter().map(|c| c.uniqueid.as_str()).collect::<Vec<_>>(), ["u2"]);
    assert_eq!(odd.skipped.count, 2);
    assert!(odd.skipped.reasons[0].starts_with("row 1: empty uniqueid"), "{:?}", odd.skipped);
    assert!(odd.skipped.reasons[1].starts_with("row 2: id \"x1\""), "{:?}", odd.skipped);
}

#[test]
fn billing_push_example() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/pbx/billing_push.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace('\u{a0}', " ");
    let PushFrame::Billing(listed) = cdr::decode_push(&text).unwrap() else { panic!("not billing") };
    let rows = listed.rows;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].uniqueid, "hwd-1750324466.60");
    assert!(!rows[0].same_record(&rows[1]));
    assert!(rows[0].same_record(&rows[0].clone()));
    assert_eq!(cdr::decode_push(r#"{"type":"ping"}"#).unwrap(), PushFrame::Other("ping".into()));
    assert_eq!(
        cdr::decode_push(r#"{"type":"billing","data":[]}"#).unwrap(),
        PushFrame::Billing(Default::default())
    );
    // One odd row costs only itself, and is counted.
    let odd = r#"{"type":"billing","data":[{"id":1,"uniqueid":"hwd-1.1"},{"id":"x"},{"id":3,"uniqueid":"hwd-3.1"}]}"#;
    let PushFrame::Billing(listed) = cdr::decode_push(odd).unwrap() else { panic!("not billing") };
    assert_eq!((listed.rows.len(), listed.skipped.count), (2, 1));
    assert!(matches!(cdr::decode_push("not json"), Err(ApiError::Decode(_))));
    // A row without its `uniqueid` is counted, not stored (it was a failed frame).
    let PushFrame::Billing(listed) = cdr::decode_push(r#"{"type":"billing","data":[{"src":"1"}]}"#).unwrap()
    else {
        panic!("not billing")
    };
    assert_eq!((listed.rows.len(), listed.skipped.count), (0, 1));
    assert!(matches!(cdr::decode_push(r#"{"type":"billing","data":7}"#), Err(ApiError::Decode(_))));
}

#[test]
fn tts_example_is_elided_and_refused_but_its_header_is_a_wav() {
    // The seed cuts the audio with "....": not base64, so refused as undecodable.
    assert!(matches!(tts::decode_speech(&fixture("tts.json")), Err(ApiError::Decode(_))));
    let head = "UklGRmSxAABXQVZFZm10IBAAAAABAAEAgD4AAAB9AAACABAAZGF0YUCxAAAAAAAAAAAAAAAAAA";
    let ok = tts::decode_speech(&body(&format!(
        r#"{{"code":"200","data":{{"audio":"{head}","format":"wav","vendor":"jTTS"}}}}"#
    )))
    .unwrap();
    assert_eq!(&ok.audio[..4], b"RIFF");
    assert_eq!((ok.format.as_str(), ok.vendor.as_str(), ok.mime()), ("wav", "jTTS", "audio/wav"));
    // Not a WAV when it says wav: refused.
    let bad = tts::decode_speech(&body(r#"{"code":"200","data":{"audio":"aGVsbG8=","format":"wav"}}"#));
    assert!(matches!(bad, Err(ApiError::Decode(_))));
    assert_eq!(tts::check_text("  ").unwrap_err().field, "text");
    assert_eq!(tts::check_text(&"字".repeat(501)).unwrap_err().field, "text");
}

#[test]
fn requests_are_built_as_documented() {
    let a = api();
    let t = Transfer::parse("app", "8001", "ext-queues,200,1").unwrap();
    let r = a.transfer(&t);
    assert_eq!(r.url, "https://pbx.example:8443/dscom-api/public/api/v1/call/transfer");
    assert_eq!(json_body(&r), serde_json::json!({"type":"app","extension":"8001","dest":"ext-queues,200,1"}));
    let ext = Extension::parse("extension", "8001").unwrap();
    for (action, path) in [
        (ExtensionAction::Hold, "call/hold"),
        (ExtensionAction::Unhold, "call/unhold"),
        (ExtensionAction::Park, "call/park"),
        (ExtensionAction::CancelAttendedTransfer, "call/cancelAtxfer"),
    ] {
        let r = a.extension_action(action, &ext);
        assert!(r.url.ends_with(path), "{path}");
        assert_eq!(json_body(&r), serde_json::json!({"extension":"8001"}));
    }
    let target = Target::parse("8002", "8003").unwrap();
    for action in TargetAction::ALL {
        let r = a.target_action(action, &target);
        assert!(r.url.ends_with(&format!("/call/{}", action.name())), "{}", r.url);
        assert_eq!(json_body(&r), serde_json::json!({"extension":"8002","dest":"8003"}));
    }
    assert!(a.parked_calls(Some(&ext)).url.ends_with("/call/parkList?extension=8001"));
    assert!(a.parked_calls(None).url.ends_with("/call/parkList"));
    let l = AgentLogin::parse("1011", "8001", "200", 0, 0).unwrap();
    assert_eq!(
        json_body(&a.agent_login(&l)),
        serde_json::json!({"agentid":"1011","extension":"8001","queue":"200","penalty":0,"paused":0})
    );
    let out = a.agent_logout(&ext, &QueueTarget::parse("all").unwrap());
    assert_eq!(json_body(&out), serde_json::json!({"extension":"8001","queue":"all"}));
    let p = AgentPause::parse("8001", 5, "200", Some(" PublicBreak ")).unwrap();
    assert_eq!(
        json_body(&a.agent_pause(&p)),
        serde_json::json!({"extension":"8001","paused":5,"queue":"200","reason":"PublicBreak"})
    );
    // No reason given: none is sent (the seed marks `reason` optional), not a made-up word.
    for none in [None, Some(""), Some("  ")] {
        let p = AgentPause::parse("8001", 5, "200", none).unwrap();
        assert_eq!(
            json_body(&a.agent_pause(&p)),
            serde_json::json!({"extension":"8001","paused":5,"queue":"200"}),
            "{none:?}"
        );
    }
    let f =
        AgentFilter { queue: Some(QueueNumber::parse("queue", "200").unwrap()), ..AgentFilter::default() };
    let r = a.agent_status(&f);
    assert_eq!((r.method, r.body.is_none()), (Method::Get, true), "GET parameters go in the query");
    assert!(r.url.ends_with("/agent/getAgentStatus?queue=200"));
    let q = QueueNumber::parse("queue", "200").unwrap();
    assert!(a.queue_status(&q).url.ends_with("/status/queue?queue_num=200"));
    assert!(a
        .waiting_callers(Page::new(1, 10).unwrap(), &q)
        .url
        .ends_with("/status/wait?page=1&pageSize=10&queue_num=200"));
    let tf = TrunkFilter::new(Page::new(1, 10).unwrap(), None).unwrap();
    assert!(a.trunk_status(&tf).url.ends_with("/status/trunk?page=1&pageSize=10&trunk_name="));
    let vf = VoicemailFilter::parse(
        Page::new(1, 10).unwrap(),
        "2024-08-01 08:00:00",
        "2024-08-23 23:59:59",
        Some(false),
    )
    .unwrap();
    assert!(a
        .voicemails(&vf)
        .url
        .ends_with("/voicemail?page=1&pageSize=10&start=2024-08-01%2008%3A00%3A00&end=2024-08-23%2023%3A59%3A59&is_read=no"));
    let m = a.mark_voicemail(38, true);
    assert_eq!((m.method, m.url.ends_with("/api/v1/voicemail/38")), (Method::Put, true));
    assert_eq!(json_body(&m), serde_json::json!({"is_read":"yes"}));
    let cf = CdrFilter::parse(Page::new(2, 50).unwrap(), "", "", "8002", "", "NO ANSWER", "in").unwrap();
    assert!(a
        .cdr(&cf)
        .url
        .ends_with("/cdr?page=2&pageSize=50&start=&end=&src=8002&dst=&disposition=NO%20ANSWER&direction=in"));
    let bq = BillingQuery::parse(
        Page::new(1, 1000).unwrap(),
        "2025-05-21 00:00:00",
        "2025-05-22 00:00:00",
        "",
        "",
    )
    .unwrap();
    assert!(a.billing_cdr(&bq).url.ends_with(
        "/cdr/list?page=1&page_size=1000&start_time=2025-05-21%2000%3A00%3A00&end_time=2025-05-22%2000%3A00%3A00&sort_by=id&order=asc"
    ));
    let h = HandsetPlay::parse("8001", "monitor/20250723/x.wav", "/var/spool/asterisk/").unwrap();
    assert_eq!(
        json_body(&a.handset_play(&h)),
        serde_json::json!({"extension":"8001","filename":"/var/spool/asterisk/monitor/20250723/x.wav"})
    );
    assert_eq!(json_body(&a.synthesize("测试语音合成")), serde_json::json!({"text":"测试语音合成"}));
    assert_eq!(PbxApi::billing_push_url("wss://h:8282/", "a b"), "wss://h:8282/?user_id=billing&token=a%20b");
}

#[test]
fn input_is_checked_before_any_request_and_names_the_field() {
    let field = |r: Result<(), agent_console::api::InvalidInput>| r.unwrap_err().field;
    assert_eq!(field(Transfer::parse("x", "8001", "8002").map(drop)), "type");
    assert_eq!(field(Transfer::parse("blind", "8001&8009", "8002").map(drop)), "extension");
    assert_eq!(field(Transfer::parse("blind", "8001", "ext-queues,200,1").map(drop)), "dest");
    assert_eq!(field(Transfer::parse("app", "8001", "8002").map(drop)), "dest");
    assert_eq!(field(Transfer::parse("app", "8001", "a,b,c;rm").map(drop)), "dest");
    assert_eq!(field(AgentLogin::parse("1011", "8001", "200", 100, 0).map(drop)), "penalty");
    assert_eq!(field(AgentLogin::parse("1011", "8001", "200", -1, 0).map(drop)), "penalty");
    assert_eq!(field(AgentLogin::parse("1011", "8001", "200", 0, 7).map(drop)), "paused");
    assert_eq!(field(AgentLogin::parse("", "8001", "200", 0, 0).map(drop)), "agentid");
    assert_eq!(field(AgentLogin::parse("1011", "8001", "200,1", 0, 0).map(drop)), "queue");
    assert_eq!(field(AgentPause::parse("8001", 3, "200", None).map(drop)), "paused");
    assert_eq!(field(AgentPause::parse("8001", 4, "200", Some(&"x".repeat(65))).map(drop)), "reason");
    assert_eq!(field(AgentId::parse("agentid", "a b").map(drop)), "agentid");
    assert_eq!(field(Page::new(1, 1001).map(drop)), "pageSize");
    assert_eq!(
        field(
            VoicemailFilter::parse(Page::new(1, 1).unwrap(), "2024-08-01", "2024-08-02 00:00:00", None)
                .map(drop)
        ),
        "start"
    );
    assert_eq!(
        field(
            VoicemailFilter::parse(
                Page::new(1, 1).unwrap(),
                "2024-08-02 00:00:00",
                "2024-08-01 00:00:00",
                None
            )
            .map(drop)
        ),
        "end"
    );
    let p = Page::new(1, 10).unwrap();
    assert_eq!(field(CdrFilter::parse(p, "", "", "", "", "ANSWER", "").map(drop)), "disposition");
    assert_eq!(field(CdrFilter::parse(p, "", "", "", "", "", "inbound").map(drop)), "direction");
    assert_eq!(field(CdrFilter::parse(p, "", "", "80a2", "", "", "").map(drop)), "src");
    assert_eq!(
        field(BillingQuery::parse(p, "2025-05-22 00:00:00", "2025-05-22 00:00:00", "", "").map(drop)),
        "endTime"
    );
    assert_eq!(
        field(BillingQuery::parse(p, "2025-05-21 00:00:00", "2025-05-22 00:00:00", "uid", "").map(drop)),
        "sortBy"
    );
    assert_eq!(
        field(BillingQuery::parse(p, "2025-05-21 00:00:00", "2025-05-22 00:00:00", "", "up").map(drop)),
        "order"
    );
    // A trunk name is only a query filter: the shared id rule, no character set.
    assert_eq!(field(TrunkFilter::new(p, Some("a\u{7}b")).map(drop)), "trunkName");
    assert!(TrunkFilter::new(p, Some("trunk HWD.2")).is_ok());
    assert_eq!(control::AppDest::ivr("aa_1001315").unwrap().as_str(), "aa_1001315,s,1");
    assert_eq!(
        control::AppDest::queue(&QueueNumber::parse("queue", "300").unwrap()).as_str(),
        "ext-queues,300,1"
    );
    for r in PauseReason::ALL {
        assert_eq!(PauseReason::from_code(i64::from(r.code())), Some(r));
    }
}

#[test]
fn handset_play_takes_the_seeds_absolute_filename() {
    // Seed 003's own example body for call/handsetPlay.
    let seed = "/var/spool/asterisk/monitor/20250723/20250723-095212-8001-8006-hwd-1753235532.67.wav";
    for spool in ["/var/spool/asterisk", "/var/spool/asterisk/"] {
        let h = HandsetPlay::parse("8001", seed, spool).unwrap();
        assert_eq!(
            json_body(&api().handset_play(&h)),
            serde_json::json!({"extension": "8001", "filename": seed})
        );
    }
    assert_eq!(
        HandsetPlay::parse("8001", " /srv/pbx/spool/monitor/a.wav ", "/srv/pbx/spool").unwrap().filename,
        "/srv/pbx/spool/monitor/a.wav"
    );
    // An absolute path must name a file under the spool directory.
    for bad in [
        "/etc/passwd",
        "/var/spool/asterisk",
        "/var/spool/asterisk/",
        "/var/spool/asteriskx/monitor/a.wav",
        "/var/spool/asterisk/../../etc/passwd",
        "/var/spool/asterisk/monitor/../../../etc/passwd",
        "/var/spool/asterisk//monitor/a.wav",
        "/var/spool/asterisk/./monitor/a.wav",
        "/var/spool/asterisk/monitor/a b.wav",
        "//var/spool/asterisk/monitor/a.wav",
    ] {
        assert_eq!(
            HandsetPlay::parse("8001", bad, "/var/spool/asterisk").unwrap_err().field,
            "recording",
            "{bad:?}"
        );
    }
    assert_eq!(HandsetPlay::parse("8001", seed, "/srv/pbx/spool").unwrap_err().field, "recording");
}

#[test]
fn recording_paths_stay_under_their_root() {
    let ok = cdr::recording_url(
        "https://pbx:8443/",
        "monitor/20241115/20241115-103135-8002-8003-hwd-1731637895.49.wav",
    );
    assert_eq!(
        ok.unwrap(),
        "https://pbx:8443/monitor/20241115/20241115-103135-8002-8003-hwd-1731637895.49.wav"
    );
    for bad in [
        "",
        "../etc/passwd",
        "monitor/../../x.wav",
        "/etc/passwd",
        "https://evil.example/x.wav",
        "//evil/x.wav",
        "javascript:alert(1)",
        "monitor/./x.wav",
        "monitor//x.wav",
        "monitor/x.wav?y",
        "monitor\\x.wav",
        "monitor/%2e%2e/x.wav",
        "monitor/x .wav",
    ] {
        assert_eq!(cdr::recording_url("https://pbx:8443", bad).unwrap_err().field, "recording", "{bad:?}");
        assert!(HandsetPlay::parse("8001", bad, "/var/spool/asterisk").is_err(), "{bad:?}");
    }
    assert_eq!(cdr::check_spool_dir("").unwrap(), "/var/spool/asterisk");
    assert_eq!(cdr::check_spool_dir("relative/dir").unwrap_err().field, "spoolDir");
    assert_eq!(cdr::check_spool_dir("/a/../b").unwrap_err().field, "spoolDir");
}

#[test]
fn every_documented_code_maps_to_words_in_both_languages() {
    for c in codes::VENDOR_CODES {
        let reply = body(&format!(r#"{{"code":"{}","msg":"{}","data":[],"total":0}}"#, c.code, c.zh));
        let e = pbx::call::decode_empty(&reply).unwrap_err();
        assert_eq!(e.code(), c.code);
        let err = Error::Api(e);
        assert!(error_message(&err, Lang::Zh).contains(c.zh), "{}", c.code);
        assert!(
            error_message(&err, Lang::En)
                .contains(agent_console::i18n::pbx::codes::vendor_code_en(c.code).unwrap()),
            "{}",
            c.code
        );
    }
    // The route families of the issue are all in the table.
    for code in ["600005", "610003", "600018", "600021", "510000", "610007"] {
        assert!(codes::lookup(code).is_some(), "{code}");
    }
}

/// Fuzz finding (tests/fuzz.rs, settings): a spool directory with an empty
/// segment (`//spool/asterisk`, `/var//spool`) was accepted, so desk-phone
/// paths came out as `//spool/asterisk/monitor/x.wav`. Such a directory is
/// refused; the root `/` still works.
#[test]
fn a_spool_dir_with_an_empty_or_dot_segment_is_refused() {
    for bad in ["//spool/asterisk", "/var//spool", "/var/./spool", "/./"] {
        assert_eq!(cdr::check_spool_dir(bad).unwrap_err().field, "spoolDir", "{bad:?}");
    }
    assert_eq!(cdr::check_spool_dir("/srv/spool/").unwrap(), "/srv/spool");
    assert_eq!(cdr::check_spool_dir("/").unwrap(), "");
    assert_eq!(HandsetPlay::parse("8001", "monitor/x.wav", "").unwrap().filename, "/monitor/x.wav");
}
