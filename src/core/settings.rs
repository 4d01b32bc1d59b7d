//! The settings a PBX session is opened from: the same shape for the JS
//! `PbxClient` constructor and the console's `config.json`.

use super::session::{Clock, HttpClient, PbxSession};
use super::Error;
use crate::api::de::string_lenient;
use crate::api::pbx::{Credentials, PbxApi};
use crate::i18n::Lang;
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
    /// `Accept-Language` and message language; default `zh-CN`.
    pub language: Option<String>,
}

// No Debug derive: the secret and password must not reach a log.
impl std::fmt::Debug for PbxSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PbxSettings")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// An opened session and the media root it implies.
pub struct Opened<C> {
    /// The session.
    pub session: PbxSession<C>,
    /// Root URL of recordings, without a trailing slash.
    pub media_url: String,
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
        let creds = Credentials::new(&self.client_id, &self.client_secret, &self.username, &self.password)?;
        let media_url = match self.media_url.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => resolve(m).trim_end_matches('/').to_string(),
            None => api.origin().to_string(),
        };
        Ok(Opened { session: PbxSession::new(api, creds, http, clock), media_url })
    }
}
