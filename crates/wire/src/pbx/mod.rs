//! The Asterisk-based call-centre REST API of seed 003 ("dscom-api").
//!
//! [`PbxApi`] builds each documented request (without the bearer token,
//! which the session adds), and each module decodes its replies into typed
//! models. Every path hangs off the interface prefix
//! `https://HOST:PORT/dscom-api/public`.

pub mod agent;
pub mod auth;
pub mod call;
pub mod cdr;
pub mod codes;
pub mod control;
pub use crate::envelope;
pub mod status;
pub mod tts;
pub mod types;
pub mod voicemail;

pub use agent::{
    AgentFilter, AgentId, AgentLogin, AgentPause, AgentState, AgentStatus, PauseReason, QueueNumber,
    QueueTarget, WaitingCaller,
};
pub use auth::{Credentials, TokenGrant, TokenResponse};
pub use call::{Dial, Dialled, Hangup};
pub use cdr::{
    BillingQuery, BillingSort, Cdr, CdrFilter, CdrKey, Direction, Disposition, HandsetPlay, PushFrame,
};
pub use control::{
    AppDest, ExtensionAction, ParkedCall, Target, TargetAction, Transfer, TransferDest, TransferType,
};
pub use envelope::{decode, Reply};
pub use status::{EndpointFilter, EndpointState, EndpointStatus, TrunkFilter, TrunkStatus};
pub use tts::Speech;
pub use types::{Extension, Page, PhoneNumber, Uniqueid};
pub use voicemail::{Voicemail, VoicemailFilter};

use crate::http::{check_http_url, url_with_query, DEFAULT_MAX_BODY};
use crate::{ApiError, HttpRequest, HttpResponse, InvalidInput, Method, Problem};
use serde::de::DeserializeOwned;

/// Decodes a list reply row by row: `data` as rows (`[]`, `{}`, `null` or
/// missing → none), plus `total`; a row that does not decode is left out
/// and counted in [`Reply::skipped`] rather than failing the page.
pub fn decode_rows<T: DeserializeOwned>(resp: &HttpResponse) -> Result<Reply<Vec<T>>, ApiError> {
    envelope::decode_list(resp)
}

/// Where a PBX lives and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxApi {
    base_url: String,
    language: String,
}

impl PbxApi {
    /// `base_url` is the interface prefix (`https://HOST:PORT/dscom-api/public`);
    /// `language` goes out as `Accept-Language` (`zh-CN`).
    pub fn new(base_url: &str, language: &str) -> Result<Self, InvalidInput> {
        let base = check_http_url("baseUrl", base_url)?;
        let language = if language.trim().is_empty() { "zh-CN" } else { language.trim() };
        // It goes out as a header: a language tag, nothing else.
        if language.len() > 35 || !language.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(InvalidInput::new("language", Problem::Malformed, language));
        }
        Ok(Self { base_url: base, language: language.to_string() })
    }

    /// The origin of the interface prefix (`https://HOST:PORT`): the default
    /// media root, where relative recording paths live.
    pub fn origin(&self) -> &str {
        let after_scheme = self.base_url.find("://").map_or(0, |i| i + 3);
        match self.base_url[after_scheme..].find('/') {
            Some(i) => &self.base_url[..after_scheme + i],
            None => &self.base_url,
        }
    }

    /// The interface prefix, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<serde_json::Value>,
    ) -> HttpRequest {
        let mut headers = vec![
            ("Accept".to_string(), "application/json".to_string()),
            ("Accept-Language".to_string(), self.language.clone()),
        ];
        if body.is_some() {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        HttpRequest {
            method,
            url: url_with_query(&self.base_url, path, query),
            headers,
            body: body.map(|b| b.to_string()),
            max_body: DEFAULT_MAX_BODY,
        }
    }

    pub(crate) fn post(&self, path: &str, body: serde_json::Value) -> HttpRequest {
        self.request(Method::Post, path, &[], Some(body))
    }

    pub(crate) fn get(&self, path: &str, query: &[(&str, String)]) -> HttpRequest {
        self.request(Method::Get, path, query, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_of_the_prefix() {
        let api = PbxApi::new("https://pbx.example:8443/dscom-api/public/", "").unwrap();
        assert_eq!(api.origin(), "https://pbx.example:8443");
        assert_eq!(api.base_url(), "https://pbx.example:8443/dscom-api/public");
        assert_eq!(PbxApi::new("http://h:1", "").unwrap().origin(), "http://h:1");
        assert_eq!(PbxApi::new("ftp://h/x", "").unwrap_err().field, "baseUrl");
        assert_eq!(PbxApi::new("http://h:1", "中文").unwrap_err().field, "language");
        assert_eq!(PbxApi::new("http://h:1", "en\r\nX: y").unwrap_err().field, "language");
    }
}
