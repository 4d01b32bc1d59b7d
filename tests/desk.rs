//! The console's desk reducer, natively: failures keep state, in-flight
//! flags, remote hang-up detection.

use agent_console::api::pbx::{EndpointState, EndpointStatus, Extension, PhoneNumber, Uniqueid};
use agent_console::api::ApiError;
use agent_console::core::pbx::desk::{format_duration, DeskAction as A, DeskState, Notice, NEVER_BUSY_MS};
use agent_console::core::Error;
use agent_console::i18n::Lang;
use agent_console::i18n::Message;

fn row(ext: &str, state: EndpointState) -> EndpointStatus {
    EndpointStatus {
        endpoint: ext.into(),
        state,
        channels: String::new(),
        cid: ext.into(),
        register_ip: String::new(),
        register_port: String::new(),
    }
}

/// A status refresh 1 s after the dial (which is at 5 000 ms).
fn ep(rows: Vec<EndpointStatus>) -> A {
    A::Endpoints { rows, now_ms: 6_000 }
}

fn signed_in() -> DeskState {
    DeskState::default()
        .reduce(A::SignInStarted)
        .reduce(A::SignedIn(Extension::parse("extension", "8001").unwrap()))
}

fn in_call() -> DeskState {
    signed_in().reduce(A::DialStarted).reduce(A::Dialled {
        uniqueid: Uniqueid("hwd-1.1".into()),
        dest: "8002".into(),
        now_ms: 5_000,
    })
}

fn vendor(code: &str) -> Error {
    Error::Api(ApiError::Vendor { code: code.into(), message: String::new() })
}

#[test]
fn sign_in_sets_and_clears_the_pending_flag() {
    let s = DeskState::default().reduce(A::SignInStarted);
    assert!(s.pending.sign_in);
    let s = s.reduce(A::SignInFailed(Error::Network("down".into())));
    assert!(!s.pending.sign_in && s.extension.is_none());
    assert!(matches!(s.notice, Some(Notice::Error(_))));
    assert_eq!(signed_in().extension.unwrap().as_str(), "8001");
}

#[test]
fn a_failed_dial_or_hangup_leaves_the_call_as_it_was() {
    let s = signed_in().reduce(A::DialStarted).reduce(A::DialFailed(vendor("600001")));
    assert!(s.call.is_none() && !s.pending.dial);
    let s = in_call().reduce(A::HangupStarted).reduce(A::HangupFailed(Error::Network("down".into())));
    assert_eq!(s.call.as_ref().unwrap().uniqueid.0, "hwd-1.1");
    assert!(!s.pending.hangup);
    assert!(matches!(&s.notice, Some(Notice::Error(e)) if e.code() == "network"));
}

#[test]
fn the_timer_counts_from_the_dial() {
    let s = in_call();
    assert_eq!(s.call_seconds(5_000), Some(0));
    assert_eq!(s.call_seconds(70_999), Some(65));
    assert_eq!(s.call_seconds(1_000), Some(0), "a clock step back never goes negative");
    assert_eq!(format_duration(65), "1:05");
    assert_eq!(format_duration(3_725), "1:02:05");
    assert_eq!(s.reduce(A::HungUp).call_seconds(9_000), None);
}

#[test]
fn idle_after_busy_means_the_far_end_hung_up() {
    let s = in_call().reduce(ep(vec![row("8001", EndpointState::NotInUse)]));
    assert!(s.call.is_some(), "idle before ever busy is the call still setting up");
    let s = s.reduce(ep(vec![row("8001", EndpointState::InUse)]));
    assert!(s.call.as_ref().unwrap().seen_busy);
    let s = s.reduce(ep(vec![row("8002", EndpointState::InUse)]));
    assert!(s.call.is_some(), "no row for our extension says nothing");
    let s = s.reduce(ep(vec![row("8001", EndpointState::NotInUse)]));
    assert!(s.call.is_none());
    assert_eq!(s.notice, Some(Notice::CallEnded));
}

#[test]
fn our_own_hangup_in_flight_is_not_reported_as_remote() {
    let s = in_call().reduce(ep(vec![row("8001", EndpointState::InUse)])).reduce(A::HangupStarted);
    let s = s.reduce(ep(vec![row("8001", EndpointState::NotInUse)]));
    assert!(s.notice.is_none());
    assert!(s.reduce(A::HungUp).call.is_none());
}

#[test]
fn a_failed_status_refresh_keeps_the_last_rows() {
    let s = signed_in().reduce(ep(vec![row("8001", EndpointState::NotInUse)]));
    let s = s.reduce(A::EndpointsFailed(Error::Network("x".into())));
    assert_eq!(s.endpoints.len(), 1);
    assert!(s.endpoints_error.is_some());
    assert!(s.reduce(ep(vec![])).endpoints_error.is_none());
}

#[test]
fn refused_input_shows_a_message_in_both_languages() {
    let e: Error = PhoneNumber::parse("dest", "80a2").unwrap_err().into();
    let s = signed_in().reduce(A::Refused(e));
    let Some(Notice::Error(e)) = &s.notice else { panic!() };
    assert!(e.message(Lang::Zh).contains("不是有效的号码"));
    assert!(e.message(Lang::En).contains("is not a phone number"));
    assert_eq!(e.field(), Some("dest"));
}

#[test]
fn sign_out_forgets_everything_but_the_language() {
    let s = in_call().reduce(A::SetLang(Lang::En)).reduce(A::SignOut);
    assert_eq!(s, DeskState { lang: Lang::En, ..DeskState::default() });
}

#[test]
fn a_call_never_seen_busy_is_cleared_after_a_while() {
    let idle = || vec![row("8001", EndpointState::NotInUse)];
    let s = in_call().reduce(A::Endpoints { rows: idle(), now_ms: 5_000 + NEVER_BUSY_MS - 1 });
    assert!(s.call.is_some());
    let s = s.reduce(A::Endpoints { rows: idle(), now_ms: 5_000 + NEVER_BUSY_MS });
    assert!(s.call.is_none());
    assert_eq!(s.notice, Some(Notice::CallEnded));
}

#[test]
fn hangup_answered_600002_means_the_call_is_already_over() {
    let s = in_call().reduce(A::HangupStarted).reduce(A::HangupFailed(vendor("600002")));
    assert!(s.call.is_none() && !s.pending.hangup);
    assert_eq!(s.notice, Some(Notice::CallEnded));
}

#[test]
fn late_results_after_sign_out_are_dropped() {
    let s = signed_in().reduce(A::DialStarted).reduce(A::SignOut);
    let s = s.reduce(A::Dialled { uniqueid: Uniqueid("hwd-9.9".into()), dest: "8002".into(), now_ms: 1 });
    let s = s.reduce(ep(vec![row("8001", EndpointState::InUse)]));
    let s = s.reduce(A::DialFailed(vendor("600001")));
    assert_eq!(s, DeskState::default());
    // And a new sign-in starts clean even if something slipped through.
    let s = in_call().reduce(A::SignedIn(Extension::parse("extension", "8002").unwrap()));
    assert!(s.call.is_none());
}
