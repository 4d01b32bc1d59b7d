//! The PBX token lifecycle as a sans-IO state machine.
//!
//! The machine decides *when* a token request is needed and *which* grant it
//! uses; the driver sends it and reports back. It never reads a clock: every
//! call that depends on time takes `now`.
//!
//! - A granted token is refreshed once 80% of `expires_in` has passed.
//! - With a refresh token the refresh grant is used; without one (the seed's
//!   examples send `""`), or after a refused refresh, the password grant.
//! - At most one token request is in flight: [`TokenManager::poll_request`]
//!   hands out a [`TokenTicket`] only when none is outstanding.
//! - A 401 on a call made with token `T` drops `T` (and only `T`), so the
//!   next request fetches a fresh one.
//! - A refused password grant (HTTP 4xx) latches: no token request leaves
//!   until [`TokenManager::allow_retry`] (an explicit sign-in), because a
//!   console that retried on every poll would lock the shared API account.
//! - A failed request that may succeed later (network, 5xx, a garbled
//!   reply) backs off with jitter; callers meanwhile get that failure at
//!   once ([`TokenManager::blocked`]).

use crate::backoff::Jitter;
use crate::time::{Duration, Instant};
use crate::Error;
use agent_console_wire::pbx::{TokenGrant, TokenResponse};
use agent_console_wire::ApiError;
use std::collections::VecDeque;

/// Share of `expires_in` after which a token is refreshed.
pub const REFRESH_AT: f64 = 0.8;

/// Events kept for a driver that does not read them (oldest dropped first).
const MAX_EVENTS: usize = 16;

/// First wait after a token request that failed for a passing reason.
pub const RETRY_BASE: Duration = Duration::from_secs(1);
/// Longest wait between token requests that keep failing.
pub const RETRY_CAP: Duration = Duration::from_secs(60);

/// Permission to send one token request, returned to
/// [`TokenManager::handle_response`] with its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTicket {
    id: u64,
    /// The grant to send.
    pub grant: TokenGrant,
    sent_at: Instant,
}

/// What happened to the token, for the UI or a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEvent {
    /// A token was granted; it expires at `expires_at`.
    Granted {
        /// When it expires.
        expires_at: Instant,
    },
    /// A token request failed.
    Failed(Error),
    /// The held token ran out before it could be refreshed.
    Expired,
}

#[derive(Debug, Clone)]
struct Held {
    access: String,
    expires_at: Instant,
    refresh_due: Instant,
}

/// The token state machine. See the module docs.
#[derive(Debug)]
pub struct TokenManager {
    held: Option<Held>,
    refresh_token: Option<String>,
    in_flight: Option<u64>,
    next_id: u64,
    events: VecDeque<TokenEvent>,
    // The server refused the password grant: nothing leaves until an
    // explicit sign-in.
    rejected: Option<ApiError>,
    // Failures in a row of the passing kind, and when the next try may leave.
    failures: u32,
    retry_at: Option<Instant>,
    last_failure: Option<Error>,
    jitter: Jitter,
}

impl Default for TokenManager {
    fn default() -> Self {
        Self::with_seed(0)
    }
}

impl TokenManager {
    /// A manager with no token.
    pub fn new() -> Self {
        Self::default()
    }

    /// A manager with no token whose retry jitter is seeded with `seed`
    /// (give each console its own, so their retries spread out).
    pub fn with_seed(seed: u64) -> Self {
        Self {
            held: None,
            refresh_token: None,
            in_flight: None,
            next_id: 0,
            events: VecDeque::new(),
            rejected: None,
            failures: 0,
            retry_at: None,
            last_failure: None,
            jitter: Jitter::new(seed),
        }
    }

    /// The access token, if one is held and unexpired at `now`.
    pub fn valid_token(&self, now: Instant) -> Option<&str> {
        self.held.as_ref().filter(|h| now < h.expires_at).map(|h| h.access.as_str())
    }

    /// Whether a token request should go out at `now` (none held, expired,
    /// or past the refresh point), regardless of one being in flight.
    pub fn wants_token(&self, now: Instant) -> bool {
        match &self.held {
            None => true,
            Some(h) => now >= h.refresh_due,
        }
    }

    /// Whether a token request is outstanding.
    pub fn is_requesting(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Why no token request may leave at `now`, if none may: the refused
    /// credentials ([`Error::CredentialsRejected`]), or the last passing
    /// failure while its backoff runs.
    pub fn blocked(&self, now: Instant) -> Option<Error> {
        if let Some(e) = &self.rejected {
            return Some(Error::CredentialsRejected(e.clone()));
        }
        match (self.retry_at, &self.last_failure) {
            (Some(at), Some(e)) if now < at => Some(e.clone()),
            _ => None,
        }
    }

    /// Lifts the credentials latch and any backoff: the caller asks anew
    /// (an explicit sign-in, perhaps with corrected credentials).
    pub fn allow_retry(&mut self) {
        self.rejected = None;
        self.failures = 0;
        self.retry_at = None;
        self.last_failure = None;
    }

    /// Starts a token request if one is wanted, none is in flight, and
    /// nothing blocks it ([`TokenManager::blocked`]).
    pub fn poll_request(&mut self, now: Instant) -> Option<TokenTicket> {
        if self.in_flight.is_some() || !self.wants_token(now) || self.blocked(now).is_some() {
            return None;
        }
        self.next_id += 1;
        let id = self.next_id;
        self.in_flight = Some(id);
        let grant = match &self.refresh_token {
            Some(r) => TokenGrant::Refresh(r.clone()),
            None => TokenGrant::Password,
        };
        Some(TokenTicket { id, grant, sent_at: now })
    }

    /// Reports the outcome of `ticket`, arrived at `now`. Outcomes of
    /// tickets that are no longer current (after [`TokenManager::logout`])
    /// are ignored.
    pub fn handle_response(
        &mut self,
        now: Instant,
        ticket: TokenTicket,
        outcome: Result<TokenResponse, Error>,
    ) {
        if self.in_flight != Some(ticket.id) {
            return;
        }
        self.in_flight = None;
        match outcome {
            Ok(t) => {
                self.allow_retry();
                // Count lifetime from when the request left: the conservative end.
                let life = Duration::from_secs(t.expires_in);
                let refresh_in = Duration::from_millis((life.0 as f64 * REFRESH_AT) as u64);
                let expires_at = ticket.sent_at + life;
                self.held = Some(Held {
                    access: t.access_token.clone(),
                    expires_at,
                    refresh_due: ticket.sent_at + refresh_in,
                });
                // A reply without a refresh token means: next time, log in again.
                self.refresh_token = t.refresh().map(str::to_string);
                self.push_event(TokenEvent::Granted { expires_at });
            }
            Err(e) => {
                let refresh = matches!(ticket.grant, TokenGrant::Refresh(_));
                if refresh && (refused_grant(&e).is_some() || matches!(e, Error::Api(ApiError::Decode(_)))) {
                    // A refused (or unreadable) refresh falls back to the
                    // password grant at once.
                    self.refresh_token = None;
                } else if let (false, Some(api)) = (refresh, refused_grant(&e)) {
                    let api = api.clone();
                    self.push_event(TokenEvent::Failed(Error::CredentialsRejected(api.clone())));
                    self.rejected = Some(api);
                    return;
                } else {
                    // Passing trouble: keep any refresh token, wait a while.
                    let delay = self.jitter.backoff(RETRY_BASE, RETRY_CAP, self.failures);
                    self.failures = self.failures.saturating_add(1);
                    self.retry_at = Some(now + delay);
                    self.last_failure = Some(e.clone());
                }
                self.push_event(TokenEvent::Failed(e));
            }
        }
    }

    /// Whether the password grant was refused: token requests have stopped
    /// until [`TokenManager::allow_retry`].
    pub fn credentials_rejected(&self) -> bool {
        self.rejected.is_some()
    }

    fn push_event(&mut self, e: TokenEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// Whether a refresh token is held (else the next request uses the
    /// password grant).
    pub fn has_refresh_token(&self) -> bool {
        self.refresh_token.is_some()
    }

    /// A call made with `token` got HTTP 401: forget that token so the next
    /// request fetches a fresh one. A 401 for an older token is ignored.
    pub fn handle_unauthorized(&mut self, token: &str) {
        if self.held.as_ref().is_some_and(|h| h.access == token) {
            self.held = None;
        }
    }

    /// When the driver should next call [`TokenManager::handle_timeout`]:
    /// the refresh point, or the expiry once refreshing is under way.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let h = self.held.as_ref()?;
        Some(if self.in_flight.is_some() { h.expires_at } else { h.refresh_due.min(h.expires_at) })
    }

    /// Processes the passage of time: a token past its expiry is dropped.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.held.as_ref().is_some_and(|h| now >= h.expires_at) {
            self.held = None;
            self.push_event(TokenEvent::Expired);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<TokenEvent> {
        self.events.pop_front()
    }

    /// Forgets every token; an outstanding request's outcome will be ignored.
    pub fn logout(&mut self) {
        self.held = None;
        self.refresh_token = None;
        self.in_flight = None;
        self.allow_retry();
    }
}

/// The refusal, if the server refused the grant itself (HTTP 4xx, as
/// Passport answers bad credentials or clients), as opposed to failing for
/// a passing reason (no answer, 5xx, a timeout or rate limit, a garbled
/// reply), which is worth trying again later.
fn refused_grant(e: &Error) -> Option<&ApiError> {
    match e {
        Error::Api(api @ ApiError::Http { status, .. })
            if (400..500).contains(status) && !matches!(status, 408 | 429) =>
        {
            Some(api)
        }
        Error::Api(api @ ApiError::Vendor { .. }) => Some(api),
        _ => None,
    }
}
