//! The settings a PBX session is opened from: the same shape for the JS
//! `PbxClient` constructor and the console's `config.json`.

use crate::session::{Clock, HttpClient, PbxSession};
use crate::Error;
use agent_console_wire::de::string_lenient;
use agent_console_wire::pbx::{Credentials, PbxApi};
use agent_console_wire::Lang;
use serde::Deserialize;

/// Where the PBX is and which account to use. Decoded leniently from JS or
/// JSON (`clientId` as number or string); checked by [`PbxSettings::open`].
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PbxSettings {
    /// The interface prefix, `https://HOST:PORT/dscom-api/public`, or a path
    /// resolved against the page.
    #[serde(deserialize_with = "string_lenient")]
    pub base_url: String,
    /// OAuth client id.
    #[serde(deserialize_with = "string_lenient")]
    pub client_id: String,
    /// OAuth client secret.
    #[serde(deserialize_with = "string_lenient")]
    pub client_secret: String,
    /// API user.
    #[serde(deserialize_with = "string_lenient")]
    pub username: String,
    /// API password.
    #[serde(deserialize_with = "string_lenient")]
    pub password: String,
    /// Root of recordings; default: the origin of `base_url`.
    pub media_url: Option<String>,
    /// The billing websocket; default `wss://` (or `ws://` for an `http`
    /// base) the base's host, port 8282. A path resolves against the page.
    pub push_url: Option<String>,
    /// Where the PBX keeps recordings on disk; default `/var/spool/asterisk`.
    pub spool_dir: Option<String>,
    /// `Accept-Language` and message language; default `zh-CN`.
    pub language: Option<String>,
    /// Behind the agent-console gateway: no credentials in the browser
    /// (the four above stay empty); see [`PbxSession::behind_gateway`].
    pub gateway: bool,
}

// No Debug derive: the secret and password must not reach a log.
impl std::fmt::Debug for PbxSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PbxSettings")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

/// An opened session and the media root it implies.
pub struct Opened<C> {
    /// The session.
    pub session: PbxSession<C>,
    /// Root URL of recordings, without a trailing slash.
    pub media_url: String,
    /// The billing websocket URL (`ws://` or `wss://`), without the query.
    pub push_url: String,
    /// The PBX's spool directory, without a trailing slash.
    pub spool_dir: String,
}

/// The default push URL for an interface prefix: same host, port 8282,
/// `wss` for `https` and `ws` for `http`.
pub fn default_push_url(base_url: &str) -> String {
    let (scheme, rest) = match base_url.split_once("://") {
        Some(("http", rest)) => ("ws", rest),
        Some((_, rest)) => ("wss", rest),
        None => ("wss", base_url),
    };
    let authority = rest.split('/').next().unwrap_or("");
    // Strip a port, keeping bracketed IPv6 hosts whole.
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    };
    format!("{scheme}://{host}:8282/")
}

/// Checks a push URL (after resolving): `ws(s)://host…`; `http(s)` is
/// turned into `ws(s)`.
pub fn check_push_url(url: &str) -> Result<String, agent_console_wire::InvalidInput> {
    use agent_console_wire::{InvalidInput, Problem};
    let u = url.trim();
    let u = if let Some(r) = u.strip_prefix("https://") {
        format!("wss://{r}")
    } else if let Some(r) = u.strip_prefix("http://") {
        format!("ws://{r}")
    } else {
        u.to_string()
    };
    let rest = u.strip_prefix("wss://").or_else(|| u.strip_prefix("ws://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !u.chars().any(|c| c.is_whitespace()) => Ok(u),
        _ => Err(InvalidInput::new("pushUrl", Problem::NotUrl, url)),
    }
}

impl PbxSettings {
    /// The display language the settings ask for.
    pub fn lang(&self) -> Lang {
        Lang::from_tag(self.language.as_deref().unwrap_or("zh-CN"))
    }

    /// Checks every field and opens a session. `resolve` makes a relative
    /// URL absolute (the browser resolves against the page); no request is
    /// sent.
    pub fn open<C: HttpClient>(
        &self,
        http: C,
        clock: Clock,
        resolve: impl Fn(&str) -> String,
    ) -> Result<Opened<C>, Error> {
        let api = PbxApi::new(&resolve(&self.base_url), self.language.as_deref().unwrap_or(""))?;
        let creds = if self.gateway {
            None
        } else {
            Some(Credentials::new(&self.client_id, &self.client_secret, &self.username, &self.password)?)
        };
        let media_url = match self.media_url.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            // Every recording's `<audio src>` starts with it: the link check, named.
            Some(m) => agent_console_wire::http::check_link(&resolve(m))
                .map(|u| u.trim_end_matches('/').to_string())
                .map_err(|_| {
                    agent_console_wire::InvalidInput::new("mediaUrl", agent_console_wire::Problem::NotUrl, m)
                })?,
            None => api.origin().to_string(),
        };
        let push_url = match self.push_url.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            Some(p) if p.starts_with("ws://") || p.starts_with("wss://") => check_push_url(p)?,
            Some(p) => check_push_url(&resolve(p))?,
            None => default_push_url(api.base_url()),
        };
        let spool_dir =
            agent_console_wire::pbx::cdr::check_spool_dir(self.spool_dir.as_deref().unwrap_or(""))?;
        let session = match creds {
            Some(creds) => PbxSession::new(api, creds, http, clock),
            None => PbxSession::behind_gateway(api, http, clock),
        };
        Ok(Opened { session, media_url, push_url, spool_dir })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_urls() {
        assert_eq!(default_push_url("https://pbx.example:8443/dscom-api/public"), "wss://pbx.example:8282/");
        assert_eq!(default_push_url("http://127.0.0.1:8080/dscom-api/public"), "ws://127.0.0.1:8282/");
        assert_eq!(default_push_url("https://[::1]:8443/x"), "wss://[::1]:8282/");
        assert_eq!(check_push_url("http://h:1/push/").unwrap(), "ws://h:1/push/");
        assert_eq!(check_push_url("wss://h/").unwrap(), "wss://h/");
        for bad in ["", "ftp://h", "ws://", "javascript:alert(1)", "ws:// h"] {
            assert_eq!(check_push_url(bad).unwrap_err().field, "pushUrl", "{bad}");
        }
    }

    #[test]
    fn a_media_root_that_is_not_a_web_address_is_refused() {
        let clock: Clock = std::rc::Rc::new(|| crate::Instant::from_millis(0));
        let with = |media: &str| -> PbxSettings {
            serde_json::from_value(serde_json::json!({
                "baseUrl": "https://pbx.example/dscom-api/public", "clientId": 4, "clientSecret": "s",
                "username": "api", "password": "p", "mediaUrl": media,
            }))
            .unwrap()
        };
        let http = std::rc::Rc::new(NoHttp);
        let ok =
            with("https://media.example/").open(http.clone(), clock.clone(), str::to_string).ok().unwrap();
        assert_eq!(ok.media_url, "https://media.example");
        for bad in ["javascript:alert(1)", "data:text/html,x", "java\tscript:x"] {
            let e = with(bad).open(http.clone(), clock.clone(), str::to_string).err().unwrap();
            assert_eq!(e.field(), Some("mediaUrl"), "{bad:?}");
        }
    }

    /// A client the test never calls (opening a session sends nothing).
    struct NoHttp;
    impl HttpClient for NoHttp {
        async fn send(
            &self,
            _: agent_console_wire::HttpRequest,
        ) -> Result<agent_console_wire::HttpResponse, String> {
            Err("no network in this test".to_string())
        }
    }
}
