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

use super::time::{Duration, Instant};
use super::Error;
use crate::api::pbx::{TokenGrant, TokenResponse};
use std::collections::VecDeque;

/// Share of `expires_in` after which a token is refreshed.
pub const REFRESH_AT: f64 = 0.8;

/// Events kept for a driver that does not read them (oldest dropped first).
const MAX_EVENTS: usize = 16;

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
#[derive(Debug, Default)]
pub struct TokenManager {
    held: Option<Held>,
    refresh_token: Option<String>,
    in_flight: Option<u64>,
    next_id: u64,
    events: VecDeque<TokenEvent>,
}

impl TokenManager {
    /// A manager with no token.
    pub fn new() -> Self {
        Self::default()
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

    /// Starts a token request if one is wanted and none is in flight.
    pub fn poll_request(&mut self, now: Instant) -> Option<TokenTicket> {
        if self.in_flight.is_some() || !self.wants_token(now) {
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

    /// Reports the outcome of `ticket`. Outcomes of tickets that are no
    /// longer current (after [`TokenManager::logout`]) are ignored.
    pub fn handle_response(&mut self, ticket: TokenTicket, outcome: Result<TokenResponse, Error>) {
        if self.in_flight != Some(ticket.id) {
            return;
        }
        self.in_flight = None;
        match outcome {
            Ok(t) => {
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
                if matches!(ticket.grant, TokenGrant::Refresh(_)) && is_refusal(&e) {
                    // A refused refresh falls back to the password grant; a
                    // network error or 5xx keeps the refresh token for later.
                    self.refresh_token = None;
                }
                self.push_event(TokenEvent::Failed(e));
            }
        }
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
    }
}

/// Whether the server refused the grant (as opposed to not answering).
fn is_refusal(e: &Error) -> bool {
    use crate::api::ApiError;
    match e {
        Error::Api(ApiError::Http { status, .. }) => (400..500).contains(status),
        Error::Api(ApiError::Vendor { .. }) | Error::Api(ApiError::Decode(_)) => true,
        _ => false,
    }
}
