//! The token state machine with time passed in.

use agent_console::api::pbx::{TokenGrant, TokenResponse};
use agent_console::api::ApiError;
use agent_console::core::{Error, Instant, TokenEvent, TokenManager};

fn granted(access: &str, refresh: &str, expires_in: u64) -> Result<TokenResponse, Error> {
    let json = format!(
        r#"{{"token_type":"Bearer","expires_in":{expires_in},"access_token":"{access}","refresh_token":"{refresh}"}}"#
    );
    Ok(serde_json::from_str(&json).unwrap())
}

fn refused() -> Result<TokenResponse, Error> {
    Err(Error::Api(ApiError::Http { status: 401, message: "The refresh token is invalid.".into() }))
}

const T0: Instant = Instant::from_millis(1_000_000);

fn at(secs: u64) -> Instant {
    Instant::from_millis(T0.0 + secs * 1000)
}

#[test]
fn first_request_is_a_password_grant_and_only_one_at_a_time() {
    let mut m = TokenManager::new();
    assert!(m.valid_token(T0).is_none());
    let t = m.poll_request(T0).expect("a token is wanted");
    assert_eq!(t.grant, TokenGrant::Password);
    // In flight: nobody else may start one, however many ask.
    assert!(m.poll_request(T0).is_none());
    assert!(m.poll_request(at(5)).is_none());
    m.handle_response(t, granted("A", "", 1800));
    assert_eq!(m.valid_token(at(1)), Some("A"));
    assert_eq!(m.poll_event(), Some(TokenEvent::Granted { expires_at: at(1800) }));
}

#[test]
fn refresh_is_due_at_80_percent_and_the_token_expires_at_100() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(t, granted("A", "R1", 1800));
    assert_eq!(m.poll_timeout(), Some(at(1440)));
    assert!(m.poll_request(at(1439)).is_none(), "not due before 80%");
    let t = m.poll_request(at(1440)).expect("due at 80%");
    assert_eq!(t.grant, TokenGrant::Refresh("R1".into()));
    // While refreshing, the old token is still usable until it expires.
    assert_eq!(m.valid_token(at(1500)), Some("A"));
    assert_eq!(m.poll_timeout(), Some(at(1800)));
    m.handle_timeout(at(1800));
    assert_eq!(m.valid_token(at(1800)), None);
    assert!(m.poll_event().is_some()); // Granted
    assert_eq!(m.poll_event(), Some(TokenEvent::Expired));
    m.handle_response(t, granted("B", "R2", 1800));
    assert_eq!(m.valid_token(at(1801)), Some("B"));
    // Lifetime counts from when the refresh left (at 1440).
    assert_eq!(m.poll_timeout(), Some(at(1440 + 1440)));
}

#[test]
fn no_refresh_token_means_password_grant_again() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(t, granted("A", "", 100));
    let t = m.poll_request(at(80)).unwrap();
    assert_eq!(t.grant, TokenGrant::Password);
}

#[test]
fn a_refused_refresh_falls_back_to_the_password_grant() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(t, granted("A", "R1", 100));
    let t = m.poll_request(at(80)).unwrap();
    assert_eq!(t.grant, TokenGrant::Refresh("R1".into()));
    m.handle_response(t, refused());
    let t = m.poll_request(at(81)).unwrap();
    assert_eq!(t.grant, TokenGrant::Password);
    // The failed refresh did not throw away a still-valid token.
    assert_eq!(m.valid_token(at(81)), Some("A"));
}

#[test]
fn a_401_drops_only_the_token_it_was_sent_with() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(t, granted("A", "R", 1800));
    m.handle_unauthorized("OLD");
    assert_eq!(m.valid_token(at(1)), Some("A"), "a stale 401 is ignored");
    m.handle_unauthorized("A");
    assert_eq!(m.valid_token(at(1)), None);
    let t = m.poll_request(at(1)).expect("a fresh token is wanted at once");
    assert_eq!(t.grant, TokenGrant::Refresh("R".into()));
}

#[test]
fn outcomes_after_logout_are_ignored() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.logout();
    m.handle_response(t, granted("A", "R", 1800));
    assert_eq!(m.valid_token(at(1)), None);
    assert!(m.poll_request(at(1)).is_some());
}

#[test]
fn a_failed_password_grant_is_reported_and_may_be_retried() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(t, Err(Error::Network("offline".into())));
    assert_eq!(m.poll_event(), Some(TokenEvent::Failed(Error::Network("offline".into()))));
    assert!(!m.is_requesting());
    assert_eq!(m.poll_request(at(1)).unwrap().grant, TokenGrant::Password);
}

#[test]
fn a_network_error_on_refresh_keeps_the_refresh_token() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(t, granted("A", "R1", 100));
    let t = m.poll_request(at(80)).unwrap();
    m.handle_response(t, Err(Error::Network("timeout".into())));
    assert!(m.has_refresh_token());
    assert_eq!(m.poll_request(at(81)).unwrap().grant, TokenGrant::Refresh("R1".into()));
}

#[test]
fn events_do_not_pile_up_when_nobody_reads_them() {
    let mut m = TokenManager::new();
    for i in 0..1000 {
        let t = m.poll_request(at(i)).unwrap();
        m.handle_response(t, Err(Error::Network("down".into())));
    }
    let mut n = 0;
    while m.poll_event().is_some() {
        n += 1;
    }
    assert!(n <= 16, "{n} events kept");
}

#[test]
fn a_zero_lifetime_token_is_refused_by_the_decoder() {
    let r = agent_console::api::HttpResponse::new(
        200,
        br#"{"token_type":"Bearer","expires_in":0,"access_token":"a"}"#.to_vec(),
    );
    assert!(matches!(TokenResponse::decode(&r), Err(ApiError::Decode(_))));
    let r = agent_console::api::HttpResponse::new(
        200,
        "{\"expires_in\":60,\"access_token\":\"a\\r\\nX-Evil: 1\"}".as_bytes().to_vec(),
    );
    assert!(matches!(TokenResponse::decode(&r), Err(ApiError::Decode(_))), "header injection refused");
}
