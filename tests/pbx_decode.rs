//! Every seed-003 example reply of the foundation slice decodes, plus the
//! loose shapes the vendor is known to send, and every error code maps.

use agent_console::api::pbx::{self, codes, EndpointState, TokenResponse};
use agent_console::api::{ApiError, HttpResponse};
use agent_console::core::Error;
use agent_console::i18n::Lang;
use agent_console::i18n::Message;

/// The seed's examples are copied verbatim into `tests/fixtures/pbx/`. The
/// document indents with no-break spaces (U+00A0), which no server sends and
/// JSON does not allow, so they become plain spaces here.
fn fixture(name: &str) -> HttpResponse {
    let path = format!("{}/tests/fixtures/pbx/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    HttpResponse::new(200, text.replace('\u{a0}', " ").into_bytes())
}

fn body(status: u16, s: &str) -> HttpResponse {
    HttpResponse::new(status, s.as_bytes())
}

#[test]
fn token_examples_decode() {
    for name in ["token_password.json", "token_refresh.json"] {
        let t = TokenResponse::decode(&fixture(name)).unwrap();
        assert_eq!(t.token_type, "Bearer");
        assert_eq!(t.expires_in, 1800);
        assert!(t.access_token.starts_with("eyJ0eXAi"));
        assert_eq!(t.refresh(), None, "the seed sends an empty refresh token");
    }
}

#[test]
fn token_tolerates_strings_and_refuses_empty_tokens() {
    let t = TokenResponse::decode(&body(
        200,
        r#"{"token_type":"Bearer","expires_in":"60","access_token":"a","refresh_token":"r"}"#,
    ))
    .unwrap();
    assert_eq!((t.expires_in, t.refresh()), (60, Some("r")));
    assert!(matches!(
        TokenResponse::decode(&body(200, r#"{"expires_in":60,"access_token":""}"#)),
        Err(ApiError::Decode(_))
    ));
    assert!(matches!(TokenResponse::decode(&body(200, "<html>")), Err(ApiError::Decode(_))));
}

#[test]
fn token_errors_are_http_errors_with_the_servers_words() {
    let e = TokenResponse::decode(&body(401, r#"{"error":"invalid_client","error_description":"Client authentication failed","message":"Client authentication failed"}"#)).unwrap_err();
    assert_eq!(e, ApiError::Http { status: 401, message: "Client authentication failed".into() });
    assert_eq!(e.code(), "http_401");
    let e = TokenResponse::decode(&body(500, "oops")).unwrap_err();
    assert_eq!(e.code(), "http_500");
}

#[test]
fn dial_example_decodes() {
    let r = pbx::call::decode_dial(&fixture("dial.json")).unwrap();
    assert_eq!(r.data.uniqueid.0, "hwd-1750750498.613");
    assert_eq!((r.total, r.msg.as_str()), (0, "成功"));
}

#[test]
fn dial_without_uniqueid_is_a_decode_error() {
    let e = pbx::call::decode_dial(&body(200, r#"{"code":"200","msg":"","data":[],"total":0}"#)).unwrap_err();
    assert!(matches!(e, ApiError::Decode(_)), "{e:?}");
    let e = pbx::call::decode_dial(&body(200, r#"{"code":"200","data":{"uniqueid":""}}"#)).unwrap_err();
    assert!(matches!(e, ApiError::Decode(_)), "{e:?}");
}

#[test]
fn hangup_example_decodes() {
    pbx::call::decode_empty(&fixture("hangup.json")).unwrap();
    for data in ["[]", "{}", "null"] {
        pbx::call::decode_empty(&body(
            200,
            &format!(r#"{{"code":200,"msg":"ok","data":{data},"total":"0"}}"#),
        ))
        .unwrap();
    }
    pbx::call::decode_empty(&body(200, r#"{"code":"200"}"#)).unwrap();
}

#[test]
fn endpoint_status_example_decodes() {
    let r = pbx::status::decode_endpoints(&fixture("status_endpoint.json")).unwrap();
    assert_eq!(r.total, 1);
    let row = &r.data[0];
    assert_eq!(row.endpoint, "8001");
    assert_eq!(row.state, EndpointState::NotInUse);
    assert_eq!((row.channels.as_str(), row.cid.as_str()), ("0 of inf", "8001"));
    assert_eq!((row.register_ip.as_str(), row.register_port.as_str()), ("192.168.7.139", "49322"));
}

#[test]
fn endpoint_status_is_loose_where_the_vendor_is() {
    let r = pbx::status::decode_endpoints(&body(
        200,
        r#"{"code":200,"data":[{"endpoint":8002,"state":"In use","registerPort":5060},{"endpoint":"8003","state":"Ringing"}],"total":"2"}"#,
    ))
    .unwrap();
    assert_eq!(r.total, 2);
    assert_eq!(r.data[0].endpoint, "8002");
    assert_eq!(r.data[0].register_port, "5060");
    assert!(r.data[0].state.is_busy());
    assert_eq!(r.data[1].state, EndpointState::Other("Ringing".into()));
    let r = pbx::status::decode_endpoints(&body(200, r#"{"code":"200","data":{},"total":0}"#)).unwrap();
    assert!(r.data.is_empty());
}

#[test]
fn vendor_codes_are_typed_errors_whether_string_or_number() {
    for raw in [
        r#"{"code":"600000","msg":"呼叫接口参数验证失败","data":[],"total":0}"#,
        r#"{"code":600000,"msg":"呼叫接口参数验证失败"}"#,
    ] {
        let e = pbx::call::decode_dial(&body(200, raw)).unwrap_err();
        assert_eq!(e, ApiError::Vendor { code: "600000".into(), message: "呼叫接口参数验证失败".into() });
        assert_eq!(e.code(), "600000");
    }
}

#[test]
fn an_envelope_without_a_code_is_not_a_success() {
    let e = pbx::call::decode_empty(&body(200, r#"{"msg":"ok","data":[]}"#)).unwrap_err();
    assert!(matches!(e, ApiError::Decode(_)));
}

#[test]
fn http_errors_with_and_without_envelopes() {
    let e = pbx::call::decode_empty(&body(401, r#"{"message":"Unauthenticated."}"#)).unwrap_err();
    assert_eq!(e, ApiError::Http { status: 401, message: "Unauthenticated.".into() });
    let e = pbx::call::decode_empty(&body(502, "<html>bad gateway</html>")).unwrap_err();
    assert_eq!(e.code(), "http_502");
    // An error envelope wins over a 4xx/5xx status: the code says more.
    let e = pbx::call::decode_empty(&body(422, r#"{"code":"600002","msg":"挂断异常"}"#)).unwrap_err();
    assert_eq!(e.code(), "600002");
}

#[test]
fn every_documented_code_maps_in_both_languages() {
    assert_eq!(codes::VENDOR_CODES.len(), 33);
    for c in codes::VENDOR_CODES {
        let e = Error::Api(ApiError::Vendor { code: c.code.into(), message: String::new() });
        let zh = e.message(Lang::Zh);
        let en = e.message(Lang::En);
        assert!(zh.contains(c.zh) && zh.contains(c.code), "{zh}");
        let words = agent_console::i18n::pbx::codes::vendor_code_en(c.code).unwrap();
        assert!(en.contains(words) && en.contains(c.code), "{en}");
        assert_eq!(e.code(), c.code);
    }
    let unknown = Error::Api(ApiError::Vendor { code: "999999".into(), message: "新错误".into() });
    assert!(unknown.message(Lang::En).contains("999999") && unknown.message(Lang::En).contains("新错误"));
}

// --- every documented field, and numbers beyond 2^53 (issue 11, point 7) ---------------

use agent_console::api::js_int::JsSafe;
use agent_console::api::pbx::cdr::{decode_push, PushFrame};
use serde_json::{json, Value};

/// The 50 columns of `GET cdr` (the seed's example plus its table), each filled.
fn every_column() -> (Value, HttpResponse) {
    let r = fixture("cdr_every_column.json");
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    (v["data"][0].clone(), r)
}

#[test]
fn cdr_rows_carry_all_fifty_documented_columns() {
    let (wire, resp) = every_column();
    assert_eq!(wire.as_object().unwrap().len(), 50);
    let page = pbx::decode_rows::<pbx::Cdr>(&resp).unwrap();
    let c = &page.data[0];
    // A sample of the 25 that used to be dropped, under their Rust names.
    assert_eq!((c.hangup_cause.as_str(), c.bill_amount.as_str(), c.billed), ("16", "0.150", 1));
    assert_eq!((c.user_field.as_str(), c.account_code.as_str()), ("vip", "acct-7"));
    assert_eq!((c.ivr_digits.as_str(), c.ivr_flow.as_str()), ("1#", "aa_1001315>queue200"));
    assert_eq!((c.area_code.as_str(), c.city.as_str()), ("0755", "深圳"));
    assert_eq!((c.caller_recording_mode.as_str(), c.callee_recording_mode.as_str()), ("force", "dontcare"));
    assert_eq!((c.service_level, c.current_calls, c.load_average, c.ama_flags), (-1, 2, 4.36, 3));
    assert_eq!((c.transfer_type.as_str(), c.record_created.as_str()), ("blind", "2024-11-15 10:36:36"));
    assert_eq!((c.caller_ip.as_str(), c.called_ip.as_str()), ("192.168.7.131", "192.168.7.139"));
    // Serialised (what JS gets), every column comes back under the seed's name, as sent.
    assert_eq!(serde_json::to_value(JsSafe(c)).unwrap(), wire);
    // The seed's own example (blank columns, `"disposition": "8"`) still decodes.
    let seed = pbx::decode_rows::<pbx::Cdr>(&fixture("cdr.json")).unwrap();
    assert_eq!((seed.data[0].service_level, seed.data[0].bill_amount.as_str()), (-1, "0.000"));
    // Numbers as strings, like the rest of the vendor's columns.
    let loose = pbx::decode_rows::<pbx::Cdr>(&body(
        200,
        r#"{"code":"200","data":[{"uniqueid":"u","service_level":"-1","loadavg":"0.5","numcalls":"3","amaflags":null}]}"#,
    ))
    .unwrap();
    let l = &loose.data[0];
    assert_eq!((l.service_level, l.load_average, l.current_calls, l.ama_flags), (-1, 0.5, 3, 0));
}

#[test]
fn numbers_beyond_2_53_stay_exact_in_rust_and_go_to_js_as_strings() {
    let (mut wire, _) = every_column();
    wire["id"] = json!(9_007_199_254_740_993u64);
    wire["duration"] = json!(u64::MAX);
    wire["numcalls"] = json!("9007199254740995");
    let resp = body(200, &json!({"code": "200", "data": [wire], "total": 1}).to_string());
    let page = pbx::decode_rows::<pbx::Cdr>(&resp).unwrap();
    let c = &page.data[0];
    assert_eq!(
        (c.id, c.duration, c.current_calls),
        (Some(9_007_199_254_740_993), u64::MAX, 9_007_199_254_740_995)
    );
    let js = serde_json::to_value(JsSafe(c)).unwrap();
    assert_eq!(js["id"], "9007199254740993");
    assert_eq!(js["duration"], "18446744073709551615");
    assert_eq!(js["numcalls"], "9007199254740995");
    assert_eq!(js["billsec"], 300, "safe integers stay numbers");
    // The push frame: the same rows, exactly.
    let frame = r#"{"type":"billing","data":[{"id":9007199254740993,"uniqueid":"hwd-1.2","duration":9007199254741017}]}"#;
    match decode_push(frame).unwrap() {
        PushFrame::Billing(listed) => {
            let rows = listed.rows;
            assert_eq!((rows[0].id, rows[0].duration), (Some(9_007_199_254_740_993), 9_007_199_254_741_017))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn parked_calls_and_agent_rows_carry_every_documented_field() {
    let p = pbx::decode_rows::<pbx::ParkedCall>(&fixture("park_list.json")).unwrap();
    let p = &p.data[0];
    assert_eq!(
        (p.parkee_language.as_str(), p.parkee_account_code.as_str(), p.parkee_priority.as_str()),
        ("cn", "", "7")
    );
    let js = serde_json::to_value(JsSafe(p)).unwrap();
    let sent: Value = serde_json::from_slice(&fixture("park_list.json").body).unwrap();
    let mut keys: Vec<&String> = js.as_object().unwrap().keys().collect();
    let mut want: Vec<&String> = sent["data"][0].as_object().unwrap().keys().collect();
    keys.sort();
    want.sort();
    assert_eq!(keys, want, "every parkList field, under the seed's names");

    let q = pbx::decode_rows::<pbx::AgentStatus>(&fixture("status_queue.json")).unwrap();
    let a = &q.data[0];
    assert_eq!(
        (a.login.as_str(), a.ds_status_desc.as_str(), a.sample_time.as_str()),
        ("636", "空闲(00:10:36)", "")
    );
    let js = serde_json::to_value(JsSafe(a)).unwrap();
    for k in ["login", "dsStatusDesc", "sampleTime"] {
        assert!(js.get(k).is_some(), "{k} reaches JS: {js}");
    }
    let g = pbx::agent::decode_agent_status(&fixture("agent_status.json")).unwrap();
    assert_eq!(g.data[0].login, "274");
}

// --- ids as sites assign them; one odd row; the vendor's own words (issue 11, points 5, 6) ---

use agent_console::api::pbx::{AgentLogin, Dial, Target, TargetAction};

#[test]
fn one_odd_row_does_not_blank_a_pbx_list() {
    // Before: a row without `state` failed the whole page (ApiError::Decode).
    let r = pbx::status::decode_endpoints(&body(
        200,
        r#"{"code":"200","data":[{"endpoint":"8001","state":"Not in use"},{"endpoint":"8002"},{"endpoint":"alice","state":"In use"}],"total":3}"#,
    ))
    .unwrap();
    assert_eq!(r.data.iter().map(|e| e.endpoint.as_str()).collect::<Vec<_>>(), ["8001", "alice"]);
    assert_eq!((r.total, r.skipped.count), (3, 1));
    assert_eq!(r.skipped.reasons, ["row 2: missing field `state`"]);
    // Parked calls without a parking space, waiting callers without a number.
    let p = pbx::decode_rows::<pbx::ParkedCall>(&body(
        200,
        r#"{"code":"200","data":[{"parkeeUniqueid":"u1"},{"parkeeUniqueid":"u2","parkingSpace":"701"}]}"#,
    ))
    .unwrap();
    assert_eq!((p.data.len(), p.data[0].parking_space.as_str(), p.skipped.count), (1, "701", 1));
    assert!(p.skipped.reasons[0].contains("parkingSpace"), "{:?}", p.skipped);
    let w = pbx::decode_rows::<pbx::WaitingCaller>(&body(
        200,
        r#"{"code":"200","data":[{"serialNo":"1"},{"serialNo":"2","callerid":"13800138000"}],"total":"2"}"#,
    ))
    .unwrap();
    assert_eq!((w.data.len(), w.skipped.count), (1, 1));
    // getAgentStatus (keyed by queue and extension): one bad agent, the rest kept.
    let g = pbx::agent::decode_agent_status(&body(
        200,
        r#"{"code":"200","data":{"200":{"8001":{"agentid":"1011","status":"0"},"8002":{"agentid":"1012","penalty":"abc"}},"support":{"alice":{"agentid":"alice.w","status":"1"}}}}"#,
    ))
    .unwrap();
    let keys: Vec<(&str, &str)> = g.data.iter().map(|a| (a.queue.as_str(), a.extension.as_str())).collect();
    assert_eq!(keys, [("200", "8001"), ("support", "alice")]);
    assert_eq!(g.skipped.count, 1);
    // Many odd rows: all counted, the first few reasons kept.
    let many = format!(r#"{{"code":"200","data":[{}]}}"#, [r#"{"endpoint":"x"}"#; 10].join(","));
    let r = pbx::status::decode_endpoints(&body(200, &many)).unwrap();
    assert_eq!((r.data.len(), r.skipped.count, r.skipped.reasons.len()), (0, 10, 3));
    // Not a list at all is still an error: nothing of that page can be trusted.
    for bad in [r#"{"code":"200","data":5}"#, r#"{"code":"200","data":{"a":1}}"#] {
        assert!(matches!(pbx::status::decode_endpoints(&body(200, bad)), Err(ApiError::Decode(_))), "{bad}");
    }
}

fn json_body(r: &agent_console::api::HttpRequest) -> Value {
    serde_json::from_str(r.body.as_deref().unwrap_or("null")).unwrap()
}

#[test]
fn named_extensions_queues_and_agents_are_sent_as_given() {
    let api = pbx::PbxApi::new("https://pbx.example/dscom-api/public", "").unwrap();
    // A named PJSIP endpoint, a named queue, an agent id with a dot: refused before.
    let l = AgentLogin::parse("alice.w", "alice", "support", 0, 0).unwrap();
    assert_eq!(
        json_body(&api.agent_login(&l)),
        json!({"agentid": "alice.w", "extension": "alice", "queue": "support", "penalty": 0, "paused": 0})
    );
    let d = Dial::parse("alice", "bob", None).unwrap();
    assert_eq!(json_body(&api.dial(&d)), json!({"extension": "alice", "dest": "bob"}));
    let t = Target::parse("8003", "alice").unwrap();
    assert_eq!(
        json_body(&api.target_action(TargetAction::Monitor, &t)),
        json!({"extension": "8003", "dest": "alice"})
    );
    // What would change the PBX's dial string is still refused, naming the field.
    for (ext, dest, field) in
        [("alice&bob", "8002", "extension"), ("8001", "bob,30", "dest"), ("8001", "${X}", "dest")]
    {
        assert_eq!(Dial::parse(ext, dest, None).unwrap_err().field, field, "{ext} {dest}");
    }
    assert_eq!(AgentLogin::parse("1011", "8001", "sales queue", 0, 0).unwrap_err().field, "queue");
}

#[test]
fn a_known_code_shows_the_tables_words_then_the_servers() {
    let msg = "呼叫接口参数验证失败: dest 只能包含数字、*、#（可带前导 +），最长 32 位";
    let e = Error::Api(ApiError::Vendor { code: "600000".into(), message: msg.into() });
    let zh = e.message(Lang::Zh);
    let en = e.message(Lang::En);
    // Before: only "呼叫接口参数验证失败（错误码 600000）", and which parameter was lost.
    assert_eq!(zh, format!("呼叫接口参数验证失败（错误码 600000）：{msg}"));
    assert_eq!(en, format!("Invalid call parameters (code 600000): {msg}"));
    assert_eq!(e.vendor_message(), Some(msg));
    // A msg that only repeats the table is not shown twice.
    let same = Error::Api(ApiError::Vendor { code: "600002".into(), message: "挂断异常".into() });
    assert_eq!(same.message(Lang::Zh), "挂断异常（错误码 600002）");
    assert_eq!(same.message(Lang::En), "The call could not be hung up (code 600002)");
    assert_eq!(same.vendor_message(), Some("挂断异常"));
    // The server's words of other errors; none for our own.
    let http = Error::Api(ApiError::Http { status: 401, message: "Unauthenticated.".into() });
    assert_eq!(http.vendor_message(), Some("Unauthenticated."));
    assert_eq!(Error::Network("x".into()).vendor_message(), None);
    assert_eq!(
        Error::Api(ApiError::Vendor { code: "600000".into(), message: " ".into() }).vendor_message(),
        None
    );
    // The words come through the decoder as sent.
    let d =
        pbx::call::decode_dial(&body(200, &json!({"code": "600000", "msg": msg, "data": []}).to_string()));
    assert_eq!(Error::Api(d.unwrap_err()).message(Lang::Zh), zh);
}

#[test]
fn the_quiet_line_says_how_many_rows_were_left_out() {
    let mut s = agent_console::api::de::Skipped::default();
    s.add(1, "missing field `state`");
    assert_eq!(
        agent_console::i18n::skipped_rows(&s, Lang::Zh),
        "另有 1 条记录无法识别，未显示（row 2: missing field `state`）"
    );
    assert_eq!(
        agent_console::i18n::skipped_rows(&s, Lang::En),
        "1 more row could not be read and is not shown (row 2: missing field `state`)"
    );
    s.add(4, "x");
    assert!(agent_console::i18n::skipped_rows(&s, Lang::En).starts_with("2 more rows"));
}

/// Fuzz finding (tests/fuzz.rs): a reply whose code was `null`, blank or
/// absent from a bare `[null]` came out as a vendor error with an empty
/// code, which embedders could not switch on and the console showed as
/// "error : …". It is an undecodable reply (or the HTTP error) instead.
#[test]
fn a_reply_with_an_empty_code_is_undecodable_not_a_vendor_error() {
    for b in [r#"{"code":null,"msg":"x"}"#, r#"{"code":" ","data":[]}"#, "[null]", "{\"code\":\"\u{a0}\"}"] {
        let e = pbx::call::decode_empty(&body(200, b)).unwrap_err();
        assert!(matches!(e, ApiError::Decode(_)), "{b}: {e:?}");
        assert_eq!(e.code(), "decode");
        assert_eq!(pbx::call::decode_empty(&body(502, b)).unwrap_err().code(), "http_502", "{b}");
    }
    // A real code still is a vendor error.
    assert_eq!(
        pbx::call::decode_empty(&body(200, r#"{"code":"600000","msg":"x"}"#)).unwrap_err().code(),
        "600000"
    );
}
