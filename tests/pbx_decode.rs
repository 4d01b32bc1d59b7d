//! Every seed-003 example reply of the foundation slice decodes, plus the
//! loose shapes the vendor is known to send, and every error code maps.

use agent_console::api::pbx::{self, codes, EndpointState, TokenResponse};
use agent_console::api::{ApiError, HttpResponse};
use agent_console::core::Error;
use agent_console::i18n::Lang;

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
        assert!(en.contains(c.en) && en.contains(c.code), "{en}");
        assert_eq!(e.code(), c.code);
    }
    let unknown = Error::Api(ApiError::Vendor { code: "999999".into(), message: "新错误".into() });
    assert!(unknown.message(Lang::En).contains("999999") && unknown.message(Lang::En).contains("新错误"));
}
