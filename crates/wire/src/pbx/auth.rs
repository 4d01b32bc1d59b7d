//! `POST /oauth/token`: password and refresh grants.

use super::envelope::http_error;
use super::PbxApi;
use crate::de::{string_lenient, u64_lenient};
use crate::{ApiError, HttpRequest, HttpResponse, InvalidInput, Problem};
use serde::Deserialize;
use serde_json::json;

/// The API client and user the PBX administrator issued (seed 003, "配置接口授权").
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `client_id` (a number in the seed, `4`).
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// API user name.
    pub username: String,
    /// API user password.
    pub password: String,
}

// Secrets stay out of logs and panics.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Checks that every field is present.
    pub fn new(
        client_id: &str,
        client_secret: &str,
        username: &str,
        password: &str,
    ) -> Result<Self, InvalidInput> {
        let req = |field: &'static str, v: &str| {
            if v.trim().is_empty() {
                Err(InvalidInput::new(field, Problem::Required, v))
            } else {
                Ok(v.trim().to_string())
            }
        };
        Ok(Self {
            client_id: req("clientId", client_id)?,
            client_secret: req("clientSecret", client_secret)?,
            username: req("username", username)?,
            // Passwords may legitimately have outer spaces.
            password: if password.is_empty() {
                return Err(InvalidInput::new("password", Problem::Required, ""));
            } else {
                password.to_string()
            },
        })
    }

    fn client_id_json(&self) -> serde_json::Value {
        // The seed documents client_id as a Number but shows it both ways.
        match self.client_id.parse::<u64>() {
            Ok(n) => json!(n),
            Err(_) => json!(self.client_id),
        }
    }
}

/// Which grant a token request uses.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenGrant {
    /// `grant_type=password`: username and password.
    Password,
    /// `grant_type=refresh_token` with the refresh token.
    Refresh(String),
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenGrant::Password => "Password",
            TokenGrant::Refresh(_) => "Refresh(..)",
        })
    }
}

impl PbxApi {
    /// `POST /oauth/token` for `grant`.
    pub fn token(&self, creds: &Credentials, grant: &TokenGrant) -> HttpRequest {
        let body = match grant {
            TokenGrant::Password => json!({
                "grant_type": "password",
                "client_id": creds.client_id_json(),
                "client_secret": creds.client_secret,
                "username": creds.username,
                "password": creds.password,
                "scope": "*",
            }),
            TokenGrant::Refresh(refresh) => json!({
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": creds.client_id_json(),
                "client_secret": creds.client_secret,
                "scope": "*",
            }),
        };
        self.post("/oauth/token", body)
    }
}

/// A granted token.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    /// `Bearer`.
    #[serde(default, deserialize_with = "string_lenient")]
    pub token_type: String,
    /// Lifetime in seconds (1800 in the seed).
    #[serde(deserialize_with = "u64_lenient")]
    pub expires_in: u64,
    /// The bearer token.
    #[serde(deserialize_with = "string_lenient")]
    pub access_token: String,
    /// The refresh token; the seed's examples send `""`, meaning none.
    #[serde(default, deserialize_with = "string_lenient")]
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("has_refresh_token", &!self.refresh_token.is_empty())
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    /// Decodes the token reply. The token endpoint answers bare JSON, not
    /// the envelope; errors are Passport-style (`{error, message}`) with a
    /// 4xx status.
    pub fn decode(resp: &HttpResponse) -> Result<Self, ApiError> {
        if !(200..300).contains(&resp.status) {
            return Err(http_error(resp));
        }
        let t: TokenResponse =
            serde_json::from_slice(&resp.body).map_err(|e| ApiError::Decode(format!("token reply: {e}")))?;
        // Strict: the token goes into a header, which must be visible ASCII.
        if t.access_token.is_empty() || !t.access_token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::Decode("token reply has an empty or malformed access_token".into()));
        }
        if t.expires_in == 0 {
            return Err(ApiError::Decode("token reply has expires_in 0".into()));
        }
        if !t.token_type.is_empty() && !t.token_type.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Decode(format!("unsupported token_type {:?}", t.token_type)));
        }
        Ok(t)
    }

    /// The refresh token, if the server gave one.
    pub fn refresh(&self) -> Option<&str> {
        Some(self.refresh_token.trim()).filter(|r| !r.is_empty())
    }
}
