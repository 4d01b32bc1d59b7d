//! Agents' sign-in: sessions held in memory behind an HttpOnly,
//! SameSite=Strict cookie, a limit on failed sign-ins, and the `Origin`
//! check on state-changing requests.

use crate::config::{AgentConfig, Role};
pub use agent_console_core::gateway::Profile;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap, Method};
use base64::Engine;
use rand::RngCore;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "agc_session";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);
/// A session ends this long after sign-in, used or not (a shift and more).
pub const MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Most sessions held; the least recently used goes first.
pub const MAX_SESSIONS: usize = 20_000;
/// Most sessions of one login (tabs, machines); its least recently used
/// goes first, so one agent signing in over and over evicts only their own.
pub const MAX_SESSIONS_PER_LOGIN: usize = 20;
/// Failed sign-ins of one login from one address within [`FAIL_WINDOW`]
/// before further tries are refused until the window passes.
pub const MAX_FAILURES: usize = 5;
/// The same for one login from anywhere: higher, so that someone guessing
/// from one address cannot lock a named agent out, yet bounded for guesses
/// spread over many addresses.
pub const MAX_LOGIN_FAILURES: usize = 30;
/// The same for one address: higher, because a call centre's agents often
/// share one address (an office NAT), and one agent's typos must not lock
/// out the floor.
pub const MAX_ADDRESS_FAILURES: usize = 50;
/// See [`MAX_FAILURES`].
pub const FAIL_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Recordings and voicemail ids remembered per session (oldest dropped).
pub const MAX_SEEN: usize = 20_000;

/// What the browser learns about the signed-in agent (no secret): the
/// core's [`Profile`], which the console decodes.
pub fn profile(a: &AgentConfig) -> Profile {
    Profile {
        login: a.login.clone(),
        extension: a.extension.clone(),
        agent_id: a.agent_id.clone(),
        role: match a.role {
            crate::config::Role::Supervisor => agent_console_core::gateway::Role::Supervisor,
            crate::config::Role::Agent => agent_console_core::gateway::Role::Agent,
        },
        callback_number: a.callback_number.clone(),
        dapi_uid: a.dapi_uid.clone(),
    }
}

/// A bounded set in arrival order: the oldest leaves when full.
#[derive(Debug, Default)]
pub struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    /// Remembers `v`.
    pub fn insert(&mut self, v: &str) {
        if v.is_empty() || self.set.contains(v) {
            return;
        }
        if self.order.len() >= MAX_SEEN {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(v.to_string());
        self.order.push_back(v.to_string());
    }

    /// Whether `v` was remembered.
    pub fn contains(&self, v: &str) -> bool {
        self.set.contains(v)
    }

    /// Whether some remembered value ends `v` (a recording path shown to the
    /// agent, inside the absolute spool path the desk phone is sent).
    pub fn ends(&self, v: &str) -> bool {
        self.order.iter().any(|s| v.ends_with(s.as_str()))
    }
}

/// One signed-in agent.
#[derive(Debug)]
pub struct Session {
    /// The agent's login (the config is looked up on each request, so an
    /// agent removed from the file and reloaded loses access).
    pub login: String,
    /// The agent's role at sign-in.
    pub role: Role,
    created: Instant,
    last_seen: Instant,
    /// Recording paths of rows the gateway showed this session.
    pub recordings: Seen,
    /// Voicemail ids the gateway showed this session.
    pub voicemails: Seen,
}

impl Session {
    /// A session of `a` starting at `now`.
    pub fn new(a: &AgentConfig, now: Instant) -> Self {
        Self {
            login: a.login.clone(),
            role: a.role,
            created: now,
            last_seen: now,
            recordings: Seen::default(),
            voicemails: Seen::default(),
        }
    }
}

/// Every session, by id.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: HashMap<String, Session>,
}

impl Sessions {
    /// A new session for `a`; returns its id.
    pub fn create(&mut self, a: &AgentConfig, now: Instant) -> String {
        self.expire(now);
        let theirs = self.by_id.values().filter(|s| s.login == a.login).count();
        if theirs >= MAX_SESSIONS_PER_LOGIN {
            let oldest =
                self.by_id.iter().filter(|(_, s)| s.login == a.login).min_by_key(|(_, s)| s.last_seen);
            if let Some(k) = oldest.map(|(k, _)| k.clone()) {
                self.by_id.remove(&k);
            }
        }
        if self.by_id.len() >= MAX_SESSIONS {
            if let Some(oldest) = self.by_id.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| k.clone()) {
                self.by_id.remove(&oldest);
            }
        }
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        self.by_id.insert(id.clone(), Session::new(a, now));
        id
    }

    /// The live session `id`, touched.
    pub fn get(&mut self, id: &str, now: Instant) -> Option<&mut Session> {
        let live = self.by_id.get(id).is_some_and(|s| {
            now.duration_since(s.last_seen) < IDLE && now.duration_since(s.created) < MAX_AGE
        });
        if !live {
            self.by_id.remove(id);
            return None;
        }
        let s = self.by_id.get_mut(id)?;
        s.last_seen = now;
        Some(s)
    }

    /// Ends session `id`.
    pub fn remove(&mut self, id: &str) {
        self.by_id.remove(id);
    }

    /// How many are held.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    fn expire(&mut self, now: Instant) {
        self.by_id
            .retain(|_, s| now.duration_since(s.last_seen) < IDLE && now.duration_since(s.created) < MAX_AGE);
    }
}

/// Failed sign-ins by key (a login, or an address), in a sliding window.
#[derive(Debug, Default)]
pub struct FailureLimit {
    by_key: HashMap<String, VecDeque<Instant>>,
}

impl FailureLimit {
    /// Whether `key` may try now (at most `max` failures in the window); if
    /// not, how long until it may.
    pub fn check(&mut self, key: &str, max: usize, now: Instant) -> Result<(), Duration> {
        let Some(q) = self.by_key.get_mut(key) else { return Ok(()) };
        while q.front().is_some_and(|t| now.duration_since(*t) >= FAIL_WINDOW) {
            q.pop_front();
        }
        match q.front() {
            Some(first) if q.len() >= max => Err(FAIL_WINDOW.saturating_sub(now.duration_since(*first))),
            _ => Ok(()),
        }
    }

    /// Counts a failure of `key`.
    pub fn fail(&mut self, key: &str, now: Instant) {
        // Bounded: a flood of made-up logins cannot grow this without end.
        if self.by_key.len() >= 100_000 {
            self.by_key.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < FAIL_WINDOW));
        }
        let q = self.by_key.entry(key.to_string()).or_default();
        q.push_back(now);
        while q.len() > MAX_ADDRESS_FAILURES {
            q.pop_front();
        }
    }

    /// Takes back `key`'s newest failure (counted before a check that then
    /// succeeded).
    pub fn forgive_one(&mut self, key: &str) {
        if let Some(q) = self.by_key.get_mut(key) {
            q.pop_back();
        }
    }

    /// Forgets `key`'s failures (after a good sign-in).
    pub fn clear(&mut self, key: &str) {
        self.by_key.remove(key);
    }
}

/// Calls an agent may start in a burst, and the pace they refill at.
pub const CALL_BURST: f64 = 5.0;
/// See [`CALL_BURST`]: one more call allowed every this long.
pub const CALL_REFILL: Duration = Duration::from_secs(6);

/// Per-agent call rate (a token bucket per login).
#[derive(Debug, Default)]
pub struct CallRate {
    by_login: HashMap<String, (f64, Instant)>,
}

impl CallRate {
    /// Takes one call from `login`'s bucket, or says how long until one is free.
    pub fn take(&mut self, login: &str, now: Instant) -> Result<(), Duration> {
        let (level, at) = self.by_login.entry(login.to_string()).or_insert((CALL_BURST, now));
        let refilled = now.duration_since(*at).as_secs_f64() / CALL_REFILL.as_secs_f64();
        *level = (*level + refilled).min(CALL_BURST);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            Err(CALL_REFILL.mul_f64(1.0 - *level))
        }
    }
}

/// An argon2id PHC string for `password` (`gateway hash-password`).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// The session id in the request's cookies, if any.
pub fn cookie_session(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        line.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE && !v.is_empty()).then(|| v.to_string())
        })
    })
}

/// The `Set-Cookie` value for session `id` (`Secure` behind an HTTPS proxy).
pub fn set_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", MAX_AGE.as_secs())
}

/// The `Set-Cookie` value that clears the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The client's address: the peer's, or, when the peer is a proxy on this
/// machine (loopback), the last address it appended to `X-Forwarded-For`
/// (nginx's `$proxy_add_x_forwarded_for`); a client's own entries before it
/// are not trusted.
pub fn client_address(peer: std::net::IpAddr, headers: &HeaderMap) -> String {
    if peer.is_loopback() {
        let last = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty());
        if let Some(a) = last.and_then(|a| a.parse::<std::net::IpAddr>().ok()) {
            return a.to_string();
        }
    }
    peer.to_string()
}

/// Whether the request came through an HTTPS proxy.
pub fn behind_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Whether a request with this method and these headers comes from a foreign
/// page: a state-changing method whose `Origin` is not this host. Requests
/// without `Origin` (not from a browser page) pass; SameSite=Strict keeps the
/// cookie off cross-site requests of browsers that omit it.
pub fn foreign_origin(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return false };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.strip_prefix("https://").or_else(|| o.strip_prefix("http://")))
        .unwrap_or("\u{0}");
    host.is_empty() || !origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn agent() -> AgentConfig {
        AgentConfig {
            login: "li".into(),
            password_hash: String::new(),
            extension: "8001".into(),
            agent_id: "1011".into(),
            role: Role::Agent,
            callback_number: String::new(),
            dapi_uid: String::new(),
        }
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn sessions_end_when_idle_or_old_or_removed() {
        let t0 = Instant::now();
        let mut s = Sessions::default();
        let id = s.create(&agent(), t0);
        assert_eq!(id.len(), 43);
        assert!(s.get(&id, t0 + Duration::from_secs(3600)).is_some());
        assert!(s.get(&id, t0 + Duration::from_secs(3600) + IDLE).is_none(), "idle");
        let id = s.create(&agent(), t0);
        let mut t = t0;
        while t < t0 + MAX_AGE - Duration::from_secs(3600) {
            t += Duration::from_secs(3600);
            assert!(s.get(&id, t).is_some());
        }
        assert!(s.get(&id, t0 + MAX_AGE).is_none(), "too old however used");
        let id = s.create(&agent(), t0);
        s.remove(&id);
        assert!(s.get(&id, t0).is_none());
        let first = s.create(&agent(), t0);
        for i in 1..=MAX_SESSIONS_PER_LOGIN as u64 {
            s.create(&agent(), t0 + Duration::from_secs(i));
        }
        assert!(s.get(&first, t0).is_none(), "one login's oldest session went");
        assert!(s.len() <= MAX_SESSIONS_PER_LOGIN + 2);
        assert!(s.get("made-up", t0).is_none());
    }

    #[test]
    fn failed_sign_ins_are_limited_per_key_in_a_window() {
        let t0 = Instant::now();
        let mut f = FailureLimit::default();
        for _ in 0..MAX_FAILURES {
            assert!(f.check("li", MAX_FAILURES, t0).is_ok());
            f.fail("li", t0);
        }
        let wait = f.check("li", MAX_FAILURES, t0 + Duration::from_secs(60)).unwrap_err();
        assert_eq!(wait, FAIL_WINDOW - Duration::from_secs(60));
        assert!(f.check("li", MAX_ADDRESS_FAILURES, t0).is_ok(), "a higher limit is not reached yet");
        assert!(f.check("wang", MAX_FAILURES, t0).is_ok(), "other logins are not held up");
        assert!(f.check("li", MAX_FAILURES, t0 + FAIL_WINDOW).is_ok(), "the window passes");
        f.fail("wang", t0);
        f.clear("wang");
        assert!(f.check("wang", MAX_FAILURES, t0).is_ok());
    }

    #[test]
    fn the_cookie_is_read_among_others_and_set_strict() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; agc_session=abc; b=2"));
        assert_eq!(cookie_session(&h).as_deref(), Some("abc"));
        h.insert(header::COOKIE, HeaderValue::from_static("agc_session="));
        assert_eq!(cookie_session(&h), None);
        let c = set_cookie("abc", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("Secure"));
        assert!(!set_cookie("abc", false).contains("Secure"));
    }

    #[test]
    fn a_foreign_origin_is_caught_on_writes_only() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("desk.example:8443"));
        assert!(!foreign_origin(&Method::POST, &h), "no Origin: not a browser page");
        h.insert(header::ORIGIN, HeaderValue::from_static("https://desk.example:8443"));
        assert!(!foreign_origin(&Method::POST, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(foreign_origin(&Method::POST, &h));
        assert!(foreign_origin(&Method::PUT, &h));
        assert!(foreign_origin(&Method::DELETE, &h));
        assert!(!foreign_origin(&Method::GET, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(foreign_origin(&Method::POST, &h));
    }

    #[test]
    fn calls_are_paced_per_agent() {
        let t0 = Instant::now();
        let mut r = CallRate::default();
        for _ in 0..5 {
            assert!(r.take("li", t0).is_ok());
        }
        let wait = r.take("li", t0).unwrap_err();
        assert!(wait <= CALL_REFILL && wait > Duration::ZERO);
        assert!(r.take("wang", t0).is_ok(), "each agent has a bucket");
        assert!(r.take("li", t0 + CALL_REFILL).is_ok(), "one more after the refill time");
        assert!(r.take("li", t0 + CALL_REFILL).is_err());
    }

    #[test]
    fn the_client_address_comes_from_a_local_proxy_only() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 10.1.2.3"));
        let local: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let far: std::net::IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_address(local, &h), "10.1.2.3");
        assert_eq!(client_address(far, &h), "203.0.113.9", "a remote peer cannot claim an address");
        assert_eq!(client_address(local, &HeaderMap::new()), "127.0.0.1");
    }

    #[test]
    fn seen_is_bounded_and_matches_path_ends() {
        let mut s = Seen::default();
        s.insert("monitor/20241115/a.wav");
        assert!(s.ends("/var/spool/asterisk/monitor/20241115/a.wav"));
        assert!(!s.ends("/var/spool/asterisk/monitor/20241115/b.wav"));
        for i in 0..MAX_SEEN + 10 {
            s.insert(&i.to_string());
        }
        assert!(!s.contains("monitor/20241115/a.wav"), "the oldest left");
        assert!(s.contains(&(MAX_SEEN + 9).to_string()));
    }
}
