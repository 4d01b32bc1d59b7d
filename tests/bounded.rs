//! Bounded under hostile servers (issue 12): reply bodies over their
//! route's cap, push frames over a megabyte and uploads over the limit are
//! refused with a typed error and clear words, whatever the transport.

use agent_console::api::dapi::{check_upload_sizes, MAX_UPLOAD_BYTES};
use agent_console::api::http::DEFAULT_MAX_BODY;
use agent_console::api::pbx::cdr::MAX_PUSH_FRAME_BYTES;
use agent_console::api::pbx::tts::TTS_MAX_BODY;
use agent_console::api::pbx::{Credentials, Page, PbxApi, TrunkFilter};
use agent_console::api::{ApiError, HttpRequest, HttpResponse, Problem};
use agent_console::core::pbx::billing::{BillingEvent, BillingFeed, BillingOp, BillingSettings};
use agent_console::core::{Error, HttpClient, Instant, PbxSession};
use agent_console::i18n::Lang;
use agent_console::i18n::Message;
use futures::executor::block_on;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A native PBX that reads everything (no cap of its own) and pads every
/// API reply with `pad` bytes of JSON whitespace: still valid, just large.
#[derive(Default)]
struct PaddedPbx {
    pad: Cell<usize>,
    caps: RefCell<Vec<(String, u64)>>,
}

impl HttpClient for PaddedPbx {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let path = req.url.trim_start_matches("http://pbx.test/dscom-api/public").to_string();
        self.caps.borrow_mut().push((path.clone(), req.max_body));
        let body = if path == "/oauth/token" {
            r#"{"token_type":"Bearer","expires_in":1800,"access_token":"T1","refresh_token":"R1"}"#
                .to_string()
        } else if path.starts_with("/api/v1/tts/synthesize") {
            // "RIFF....WAVE" as base64: a (tiny) WAV the decoder accepts.
            r#"{"code":"200","msg":"ok","data":{"audio":"UklGRiQAAABXQVZF","format":"wav","vendor":"t"}}"#
                .to_string()
        } else {
            r#"{"code":"200","msg":"ok","data":[],"total":0}"#.to_string()
        };
        let mut bytes = body.into_bytes();
        if path != "/oauth/token" {
            bytes.resize(bytes.len() + self.pad.get(), b' ');
        }
        Ok(HttpResponse::new(200, bytes))
    }
}

fn session(pbx: &Rc<PaddedPbx>) -> PbxSession<Rc<PaddedPbx>> {
    PbxSession::new(
        PbxApi::new("http://pbx.test/dscom-api/public", "zh-CN").unwrap(),
        Credentials::new("4", "secret", "api", "123456").unwrap(),
        pbx.clone(),
        Rc::new(|| Instant::from_millis(1_000)),
    )
}

fn trunks() -> TrunkFilter {
    TrunkFilter::new(Page::new(1, 20).unwrap(), None).unwrap()
}

#[test]
fn a_reply_over_its_routes_cap_is_refused_with_a_typed_error() {
    let pbx = Rc::new(PaddedPbx::default());
    let s = session(&pbx);
    // 5 MiB: over the default cap, under the TTS one.
    pbx.pad.set(5 * 1024 * 1024);
    let e = block_on(s.trunk_status(&trunks())).unwrap_err();
    assert_eq!(e, Error::Api(ApiError::TooLarge { limit: DEFAULT_MAX_BODY }));
    assert_eq!(e.code(), "reply_too_large");
    assert!(e.message(Lang::Zh).contains("服务器回复过大（超过 4 MB）"), "{}", e.message(Lang::Zh));
    assert!(e.message(Lang::En).contains("too large (over 4 MB)"), "{}", e.message(Lang::En));
    // Speech may be larger: the same body decodes on the TTS route.
    let speech = block_on(s.synthesize("你好")).unwrap();
    assert_eq!(speech.format, "wav");
    // And it too has a cap.
    pbx.pad.set(usize::try_from(TTS_MAX_BODY).unwrap());
    let e = block_on(s.synthesize("你好")).unwrap_err();
    assert_eq!(e, Error::Api(ApiError::TooLarge { limit: TTS_MAX_BODY }));
    // Within the cap nothing changes.
    pbx.pad.set(1024);
    assert!(block_on(s.trunk_status(&trunks())).is_ok());
    // The cap each request carried, as the transport saw it.
    let caps = pbx.caps.borrow();
    assert!(caps.iter().any(|(p, c)| p.starts_with("/api/v1/tts/") && *c == TTS_MAX_BODY));
    assert!(caps.iter().filter(|(p, _)| !p.starts_with("/api/v1/tts/")).all(|(_, c)| *c == DEFAULT_MAX_BODY));
}

#[test]
fn a_reply_the_transport_stopped_reading_is_refused_even_if_short() {
    // What `fetch` hands back past the cap: an empty body, marked refused.
    struct Stopped;
    impl HttpClient for Stopped {
        async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
            Ok(HttpResponse {
                body_refused: req.url.contains("/api/"),
                ..HttpResponse::new(200, r#"{"token_type":"Bearer","expires_in":1800,"access_token":"T1"}"#)
            })
        }
    }
    let s = PbxSession::new(
        PbxApi::new("http://pbx.test/dscom-api/public", "zh-CN").unwrap(),
        Credentials::new("4", "secret", "api", "123456").unwrap(),
        Stopped,
        Rc::new(|| Instant::from_millis(1_000)),
    );
    let e = block_on(s.trunk_status(&trunks())).unwrap_err();
    assert_eq!(e.code(), "reply_too_large");
}

fn open_feed() -> BillingFeed {
    let mut feed = BillingFeed::new(BillingSettings::default(), 1_700_000_000_000, 7);
    while feed.poll_op().is_some() {}
    feed.socket_opened(Instant::from_millis(1_000), 1_700_000_000_000);
    while feed.poll_op().is_some() {}
    while feed.poll_event().is_some() {}
    feed
}

#[test]
fn a_push_frame_over_a_megabyte_is_dropped_reported_and_the_socket_closed() {
    let mut feed = open_feed();
    // A well-formed billing frame, padded past the cap.
    let row = r#"{"type":"billing","data":[]}"#;
    let mut frame = row.to_string();
    frame.push_str(&" ".repeat(MAX_PUSH_FRAME_BYTES + 1 - row.len()));
    assert_eq!(frame.len(), MAX_PUSH_FRAME_BYTES + 1);
    feed.socket_frame(&frame);
    let events: Vec<_> = std::iter::from_fn(|| feed.poll_event()).collect();
    assert!(
        events.iter().any(|e| matches!(
            e,
            BillingEvent::Trouble(Error::Api(ApiError::TooLarge { limit })) if *limit == MAX_PUSH_FRAME_BYTES as u64
        )),
        "{events:?}"
    );
    // Closed, so the fill after the reconnect reads what the frame held.
    let ops: Vec<_> = std::iter::from_fn(|| feed.poll_op()).collect();
    assert!(ops.iter().any(|o| matches!(o, BillingOp::Close)), "{ops:?}");

    // At the cap exactly: read as usual, nothing reported, nothing closed.
    let mut feed = open_feed();
    frame.pop();
    feed.socket_frame(&frame);
    let events: Vec<_> = std::iter::from_fn(|| feed.poll_event()).collect();
    assert!(!events.iter().any(|e| matches!(e, BillingEvent::Trouble(_))), "{events:?}");
    let ops: Vec<_> = std::iter::from_fn(|| feed.poll_op()).collect();
    assert!(!ops.iter().any(|o| matches!(o, BillingOp::Close)), "{ops:?}");
}

#[test]
fn uploads_over_ten_megabytes_together_are_refused_before_sending() {
    let max = MAX_UPLOAD_BYTES as f64;
    assert_eq!(check_upload_sizes(&[max]), Ok(()));
    assert_eq!(check_upload_sizes(&[max / 2.0, max / 2.0]), Ok(()));
    assert_eq!(check_upload_sizes(&[]), Ok(()));
    let e = check_upload_sizes(&[max / 2.0, max / 2.0 + 1.0]).unwrap_err();
    assert_eq!((e.field, e.problem.clone()), ("files", Problem::TooManyBytes { max: MAX_UPLOAD_BYTES }));
    let e = Error::from(e);
    assert_eq!(e.code(), "invalid_input");
    assert_eq!(e.message(Lang::Zh), "输入有误（files）：共 10.0 MB，超过上限 10 MB");
    assert_eq!(e.message(Lang::En), "Invalid input (files): 10.0 MB in all is over the limit of 10 MB");
    let e = check_upload_sizes(&[3.0 * max]).unwrap_err();
    assert_eq!(e.value, "30 MB");
    for bad in [f64::NAN, -1.0, f64::INFINITY] {
        assert_eq!(check_upload_sizes(&[bad]).unwrap_err().problem, Problem::Malformed);
    }
}

#[test]
fn an_upload_reply_over_its_cap_is_refused() {
    let big = format!("[\"/media/x.wav\"{}]", " ".repeat(64 * 1024));
    let e = agent_console::api::dapi::decode_upload(&HttpResponse::new(200, big)).unwrap_err();
    assert_eq!(e.code(), "reply_too_large");
    let ok = agent_console::api::dapi::decode_upload(&HttpResponse::new(200, "[\"/media/x.wav\"]")).unwrap();
    assert_eq!(ok, vec!["/media/x.wav".to_string()]);
}
