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
    m.handle_response(T0, t, granted("A", "", 1800));
    assert_eq!(m.valid_token(at(1)), Some("A"));
    assert_eq!(m.poll_event(), Some(TokenEvent::Granted { expires_at: at(1800) }));
}

#[test]
fn refresh_is_due_at_80_percent_and_the_token_expires_at_100() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(T0, t, granted("A", "R1", 1800));
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
    m.handle_response(T0, t, granted("B", "R2", 1800));
    assert_eq!(m.valid_token(at(1801)), Some("B"));
    // Lifetime counts from when the refresh left (at 1440).
    assert_eq!(m.poll_timeout(), Some(at(1440 + 1440)));
}

#[test]
fn no_refresh_token_means_password_grant_again() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(T0, t, granted("A", "", 100));
    let t = m.poll_request(at(80)).unwrap();
    assert_eq!(t.grant, TokenGrant::Password);
}

#[test]
fn a_refused_refresh_falls_back_to_the_password_grant() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(T0, t, granted("A", "R1", 100));
    let t = m.poll_request(at(80)).unwrap();
    assert_eq!(t.grant, TokenGrant::Refresh("R1".into()));
    m.handle_response(T0, t, refused());
    let t = m.poll_request(at(81)).unwrap();
    assert_eq!(t.grant, TokenGrant::Password);
    // The failed refresh did not throw away a still-valid token.
    assert_eq!(m.valid_token(at(81)), Some("A"));
}

#[test]
fn a_401_drops_only_the_token_it_was_sent_with() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(T0, t, granted("A", "R", 1800));
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
    m.handle_response(T0, t, granted("A", "R", 1800));
    assert_eq!(m.valid_token(at(1)), None);
    assert!(m.poll_request(at(1)).is_some());
}

#[test]
fn a_failed_password_grant_is_reported_and_may_be_retried() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(T0, t, Err(Error::Network("offline".into())));
    assert_eq!(m.poll_event(), Some(TokenEvent::Failed(Error::Network("offline".into()))));
    assert!(!m.is_requesting());
    assert_eq!(m.poll_request(at(1)).unwrap().grant, TokenGrant::Password);
}

#[test]
fn a_network_error_on_refresh_keeps_the_refresh_token() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(T0, t, granted("A", "R1", 100));
    let t = m.poll_request(at(80)).unwrap();
    m.handle_response(at(80), t, Err(Error::Network("timeout".into())));
    assert!(m.has_refresh_token());
    assert_eq!(m.poll_request(at(81)).unwrap().grant, TokenGrant::Refresh("R1".into()));
}

#[test]
fn events_do_not_pile_up_when_nobody_reads_them() {
    let mut m = TokenManager::new();
    for i in 0..1000 {
        // Past each backoff (at most a minute).
        let t = m.poll_request(at(i * 61)).unwrap();
        m.handle_response(at(i * 61), t, Err(Error::Network("down".into())));
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

fn http(status: u16) -> Result<TokenResponse, Error> {
    Err(Error::Api(ApiError::Http { status, message: "The user credentials were incorrect.".into() }))
}

#[test]
fn a_refused_password_grant_stops_all_token_requests_until_an_explicit_retry() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(T0, t, http(400));
    let refusal = ApiError::Http { status: 400, message: "The user credentials were incorrect.".into() };
    assert_eq!(m.poll_event(), Some(TokenEvent::Failed(Error::CredentialsRejected(refusal.clone()))));
    assert!(m.credentials_rejected());
    for s in [0, 1, 60, 3600, 36_000] {
        assert!(m.poll_request(at(s)).is_none(), "nothing leaves at +{s}s");
        assert_eq!(m.blocked(at(s)), Some(Error::CredentialsRejected(refusal.clone())));
    }
    m.allow_retry();
    assert_eq!(m.poll_request(at(1)).unwrap().grant, TokenGrant::Password);
}

#[test]
fn a_refused_client_latches_too_but_timeouts_and_rate_limits_do_not() {
    let mut m = TokenManager::new();
    let t = m.poll_request(T0).unwrap();
    m.handle_response(T0, t, http(401));
    assert!(m.credentials_rejected());
    for status in [408, 429, 500, 502, 503] {
        let mut m = TokenManager::new();
        let t = m.poll_request(T0).unwrap();
        m.handle_response(T0, t, http(status));
        assert!(!m.credentials_rejected(), "{status} is passing trouble");
        assert!(m.poll_request(at(61)).is_some(), "{status} is retried after its backoff");
    }
}

#[test]
fn passing_failures_back_off_with_jitter_and_callers_share_the_last_one() {
    let waits = |seed: u64| {
        let mut m = TokenManager::with_seed(seed);
        let mut now = T0;
        let mut ticket = m.poll_request(now).unwrap();
        let mut waits = Vec::new();
        for _ in 0..10 {
            m.handle_response(now, ticket, http(503));
            assert_eq!(m.blocked(now), Some(http(503).unwrap_err()), "callers get the failure at once");
            assert!(m.poll_request(now).is_none());
            let mut probe = now;
            ticket = loop {
                probe = Instant::from_millis(probe.0 + 10);
                if let Some(t) = m.poll_request(probe) {
                    break t;
                }
            };
            waits.push(probe.0 - now.0);
            now = probe;
        }
        waits
    };
    let a = waits(1);
    for (i, w) in a.iter().enumerate() {
        let full = (1_000u64 << i).min(60_000);
        assert!(*w >= full / 2 && *w <= full + 10, "wait {i}: {w} ms not in [{}, {full}]", full / 2);
    }
    // Two consoles failing in step do not retry in step.
    assert_ne!(a, waits(2));
}
