//! OAuth2 token endpoint and bearer check, mimicking Laravel Passport (league/oauth2-server),
//! which is what this PBX runs: same grant handling order, error bodies and statuses.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::RngCore;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sandbox::body as json_body;
use super::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_USERNAME};
use crate::envelope::unauthenticated;
use crate::AppState;

/// Refresh tokens live 30 days, Passport's default.
const REFRESH_TTL_MS: i64 = 30 * 86_400 * 1000;

/// `{"typ":"JWT","alg":"RS256"}` base64url-encoded: the header of every Passport token.
const JWT_HEADER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9";

/// The API user's account: its password and, like a real site's brute-force guard,
/// a lock after too many refused password grants.
#[derive(Debug, Clone)]
pub struct Account {
    /// The API user's password (an admin may change it: `/sandbox/pbx/account`).
    pub password: String,
    /// Refused password grants in a row that lock the account (0: never locks).
    pub lockout_after: u32,
    /// Refused password grants since the last good one.
    pub failed_logins: u32,
    /// Locked: every password grant is refused, even the right one, until unlocked.
    pub locked: bool,
    /// Every password grant received (tests count a console's sign-in attempts).
    pub password_grants: u64,
}

impl Default for Account {
    fn default() -> Self {
        Self {
            password: DEMO_PASSWORD.to_string(),
            lockout_after: 0,
            failed_logins: 0,
            locked: false,
            password_grants: 0,
        }
    }
}

impl Account {
    /// Checks a password grant, counting refusals toward the lock. True if it may
    /// have a token.
    pub fn password_grant(&mut self, username: &str, password: &str) -> bool {
        self.password_grants = self.password_grants.saturating_add(1);
        let ok = !self.locked && username == DEMO_USERNAME && password == self.password;
        if ok {
            self.failed_logins = 0;
        } else {
            self.failed_logins = self.failed_logins.saturating_add(1);
            if self.lockout_after > 0 && self.failed_logins >= self.lockout_after {
                self.locked = true;
            }
        }
        ok
    }

    /// The account as `/sandbox/pbx/account` shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "password": self.password, "lockoutAfter": self.lockout_after,
            "failedLogins": self.failed_logins, "locked": self.locked,
            "passwordGrants": self.password_grants,
        })
    }

    /// The account after the settings `p`; the first bad key is an error.
    fn apply(&self, p: &Map<String, Value>) -> Result<Account, String> {
        let mut a = self.clone();
        for (key, v) in p {
            match (key.as_str(), v) {
                ("password", Value::String(pw)) if !pw.is_empty() => a.password = pw.clone(),
                ("lockoutAfter", v) if v.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)) => {
                    a.lockout_after = v.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
                }
                ("unlock", Value::Bool(true)) => {
                    a.locked = false;
                    a.failed_logins = 0;
                }
                ("reset", Value::Bool(true)) => {
                    a.locked = false;
                    a.failed_logins = 0;
                    a.password_grants = 0;
                }
                (other, _) => return Err(format!("unknown or malformed account setting {other}")),
            }
        }
        Ok(a)
    }
}

/// Issued tokens with their expiry (sandbox-clock epoch ms), and the API user's account.
#[derive(Debug, Default)]
pub struct TokenStore {
    access: HashMap<String, i64>,
    refresh: HashMap<String, i64>,
    /// The API user's account.
    pub account: Account,
}

impl TokenStore {
    /// Issues an access token valid for `ttl_ms` and, if `with_refresh`, a refresh token
    /// (else the refresh token is `""`, as in the seed's examples).
    pub fn issue(&mut self, now_ms: i64, ttl_ms: i64, with_refresh: bool) -> (String, String) {
        self.prune(now_ms);
        let exp = now_ms.saturating_add(ttl_ms);
        let access = jwt_like(now_ms, exp);
        self.access.insert(access.clone(), exp);
        let refresh = if with_refresh {
            let r = format!("def50200{}", hex(&random_bytes(96)));
            self.refresh.insert(r.clone(), now_ms.saturating_add(REFRESH_TTL_MS));
            r
        } else {
            String::new()
        };
        (access, refresh)
    }

    /// Whether `token` is a known access token that has not expired at `now_ms`.
    pub fn access_valid(&self, token: &str, now_ms: i64) -> bool {
        self.access.get(token).is_some_and(|&exp| now_ms < exp)
    }

    /// Consumes a refresh token: true if it was known and unexpired. Either way it is
    /// gone afterwards, so a refresh token works once.
    pub fn take_refresh(&mut self, token: &str, now_ms: i64) -> bool {
        self.refresh.remove(token).is_some_and(|exp| now_ms < exp)
    }

    /// Number of stored access tokens (for the state dump).
    pub fn access_count(&self) -> usize {
        self.access.len()
    }

    /// Number of stored refresh tokens (for the state dump).
    pub fn refresh_count(&self) -> usize {
        self.refresh.len()
    }

    /// Drops expired tokens so a long-running sandbox does not grow without bound.
    fn prune(&mut self, now_ms: i64) {
        self.access.retain(|_, exp| now_ms < *exp);
        self.refresh.retain(|_, exp| now_ms < *exp);
    }
}

/// The success body, a struct so the keys keep the seed's order.
#[derive(Serialize)]
struct TokenReply {
    token_type: &'static str,
    expires_in: u64,
    access_token: String,
    refresh_token: String,
}

/// A Passport `OAuthServerException` body.
fn oauth_error(status: StatusCode, error: &str, description: &str, hint: Option<&str>) -> Response {
    let mut body = json!({"error": error, "error_description": description});
    if let (Some(h), Some(obj)) = (hint, body.as_object_mut()) {
        obj.insert("hint".into(), Value::String(h.into()));
    }
    if let Some(obj) = body.as_object_mut() {
        obj.insert("message".into(), Value::String(description.into()));
    }
    (status, Json(body)).into_response()
}

fn invalid_request(param: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "The request is missing a required parameter, includes an invalid parameter value, \
         includes a parameter more than once, or is otherwise malformed.",
        Some(&format!("Check the `{param}` parameter")),
    )
}

fn invalid_client() -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed", None)
}

/// Reads the token request's parameters: JSON object, or form-encoded (Passport takes both).
fn params(headers: &HeaderMap, body: &Bytes) -> Option<Map<String, Value>> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        return Some(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        );
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A parameter as PHP would see it after casting: strings and numbers are text.
fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn present(map: &Map<String, Value>, key: &str) -> bool {
    !matches!(map.get(key), None | Some(Value::Null))
}

/// `POST /oauth/token`: password and refresh_token grants.
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(p) = body.ok().and_then(|b| params(&headers, &b)) else {
        // Unreadable body: say so plainly rather than Laravel's "unsupported grant".
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter, includes an invalid parameter \
             value, includes a parameter more than once, or is otherwise malformed.",
            Some("The request body must be a JSON object"),
        );
    };
    let grant = text(&p, "grant_type");
    let grant = grant.as_deref();
    if !matches!(grant, Some("password") | Some("refresh_token")) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
            Some("Check that all required parameters have been provided"),
        );
    }

    // League validates the client before anything grant-specific.
    if !present(&p, "client_id") {
        return invalid_request("client_id");
    }
    let client_ok = text(&p, "client_id").is_some_and(|id| id == DEMO_CLIENT_ID.to_string())
        && text(&p, "client_secret").is_some_and(|s| s == DEMO_CLIENT_SECRET);
    if !client_ok {
        return invalid_client();
    }

    let now = state.clock.now_ms();
    let ttl_secs = state.settings.token_ttl;
    let ttl_ms = i64::try_from(ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let with_refresh = !state.settings.no_refresh_token;

    if grant == Some("password") {
        let Some(username) = text(&p, "username") else {
            return invalid_request("username");
        };
        let Some(password) = text(&p, "password") else {
            return invalid_request("password");
        };
        if !state.pbx().tokens.account.password_grant(&username, &password) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "The user credentials were incorrect.",
                None,
            );
        }
    } else {
        // League: a missing refresh_token is a malformed request; any string that does
        // not decrypt to a live token (including "") is "invalid".
        let Some(refresh) = text(&p, "refresh_token") else {
            return invalid_request("refresh_token");
        };
        if !state.pbx().tokens.take_refresh(&refresh, now) {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_request",
                "The refresh token is invalid.",
                None,
            );
        }
    }

    // The old access token stays valid until its own expiry (Passport would revoke it;
    // keeping it lets in-flight requests finish during a refresh).
    let (access_token, refresh_token) = state.pbx().tokens.issue(now, ttl_ms, with_refresh);
    Json(TokenReply { token_type: "Bearer", expires_in: ttl_secs, access_token, refresh_token })
        .into_response()
}

/// `GET|POST /sandbox/pbx/account`: the API user's account; a POST with any of
/// `{password, lockoutAfter, unlock: true, reset: true, revokeTokens: true}` changes it
/// (an admin changing the password and revoking its tokens, a site's lockout policy)
/// and answers the new state; `reset` also zeroes the counters. A bad key changes
/// nothing.
pub async fn account(State(state): State<AppState>, body: Bytes) -> Response {
    let bad = |e: String| (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response();
    let mut p = match json_body(&body) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let revoke = match p.remove("revokeTokens") {
        None => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return bad("revokeTokens must be true or false".into()),
    };
    let mut pbx = state.pbx();
    match pbx.tokens.account.apply(&p) {
        Ok(a) => {
            pbx.tokens.account = a;
            if revoke {
                // What an admin's password change does to the user's sessions.
                pbx.tokens.access.clear();
                pbx.tokens.refresh.clear();
            }
            Json(pbx.tokens.account.to_json()).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response(),
    }
}

/// Middleware for `/api/v1/*`: a valid, unexpired `Authorization: Bearer` token or 401.
pub async fn require_bearer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let now = state.clock.now_ms();
    let authorised = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .is_some_and(|t| state.pbx().tokens.access_valid(t, now));
    if !authorised {
        return unauthenticated();
    }
    next.run(req).await
}

/// The token from `Bearer TOKEN` (scheme case-insensitive, as in RFC 6750).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A token shaped like Passport's RS256 JWT. The signature is random bytes: nobody but the
/// sandbox validates it, and it does so by lookup.
fn jwt_like(now_ms: i64, exp_ms: i64) -> String {
    let secs = |ms: i64| ms as f64 / 1000.0;
    let claims = json!({
        "aud": DEMO_CLIENT_ID.to_string(),
        "jti": hex(&random_bytes(40)),
        "iat": secs(now_ms),
        "nbf": secs(now_ms),
        "exp": secs(exp_ms),
        "sub": "1",
        "scopes": ["*"],
    });
    format!("{JWT_HEADER}.{}.{}", base64url(claims.to_string().as_bytes()), base64url(&random_bytes(256)))
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unpadded base64url (RFC 4648 §5), as JWTs use; too small to justify a dependency.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = (n >> (18 - 6 * i)) & 0x3f;
            out.extend(ALPHABET.get(idx as usize).map(|&c| char::from(c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_known_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url(br#"{"typ":"JWT","alg":"RS256"}"#), JWT_HEADER);
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer"), None);
    }

    #[test]
    fn refresh_tokens_work_once() {
        let mut s = TokenStore::default();
        let (a, r) = s.issue(0, 1000, true);
        assert!(s.access_valid(&a, 999));
        assert!(!s.access_valid(&a, 1000));
        assert!(s.take_refresh(&r, 10));
        assert!(!s.take_refresh(&r, 10));
    }
}
