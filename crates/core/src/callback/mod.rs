//! Two-way callback session: signs every request, keeps its timestamps
//! within the server's 5-minute window by estimating the clock offset from
//! each reply's `Date` header, and retries once when a refusal moved that
//! estimate. Sans-IO: the HTTP client, the signer and the clock are
//! injected.

pub mod click_to_call;

use crate::session::{Clock, HttpClient};
use crate::Error;
use agent_console_wire::callback::{
    self, AppId, AppSecret, CallIdentifier, CallRequest, CallStarted, CallbackApi, Recording,
};
use agent_console_wire::http::check_http_url;
use agent_console_wire::time::parse_http_date_ms;
use agent_console_wire::{HttpRequest, HttpResponse, InvalidInput, Method};
use base64::Engine as _;
use std::cell::RefCell;

/// How much a refused request's reply must move the offset estimate before
/// signing again is worth it. Well inside the 5-minute window, well above
/// the `Date` header's 1 s resolution plus a slow round trip.
pub const RETRY_SHIFT_MS: i64 = 60_000;

/// Largest clock offset the estimate follows (a year).
pub const MAX_PLAUSIBLE_SKEW_MS: u64 = 366 * 86_400_000;

/// Produces the `Authorization` value for a timestamp (ms since the epoch).
#[allow(async_fn_in_trait)] // single-threaded (wasm) by design
pub trait Signer {
    /// The header value for `timestamp_ms`.
    async fn authorization(&self, timestamp_ms: u64) -> Result<String, Error>;

    /// Whether requests are signed here; `false` for [`AnySigner::Gateway`],
    /// where the agent-console gateway signs on the way out.
    fn signs_here(&self) -> bool {
        true
    }
}

/// Signs in-process with the secret: for native services and a trusted console.
#[derive(Debug, Clone)]
pub struct SecretSigner {
    app_id: AppId,
    secret: AppSecret,
}

impl SecretSigner {
    /// A signer for this account.
    pub fn new(app_id: AppId, secret: AppSecret) -> Self {
        Self { app_id, secret }
    }
}

impl Signer for SecretSigner {
    async fn authorization(&self, timestamp_ms: u64) -> Result<String, Error> {
        Ok(callback::sign(&self.app_id, &self.secret, timestamp_ms))
    }
}

/// Asks a URL on the embedder's own server: `GET <url>?timestamp=<ms>`,
/// answered by `{"authorization": "…"}` or the value as plain text. The
/// secret stays on that server.
#[derive(Debug, Clone)]
pub struct UrlSigner<C> {
    url: String,
    http: C,
}

impl<C> UrlSigner<C> {
    /// A signer asking `url` (checked as the field `field`: an absolute
    /// http(s) URL) through `http`.
    pub fn new(field: &'static str, url: &str, http: C) -> Result<Self, InvalidInput> {
        Ok(Self { url: check_http_url(field, url)?, http })
    }
}

/// The two signers this crate implements, chosen at run time (a setting).
#[derive(Debug, Clone)]
pub enum AnySigner<C> {
    /// Signs in-process with the secret.
    Secret(SecretSigner),
    /// Asks the embedder's server.
    Url(UrlSigner<C>),
    /// Nothing here: the requests go to the agent-console gateway (same
    /// origin, the session cookie), which holds the secret and signs.
    Gateway,
}

impl<C: HttpClient> Signer for AnySigner<C> {
    async fn authorization(&self, timestamp_ms: u64) -> Result<String, Error> {
        match self {
            AnySigner::Secret(s) => s.authorization(timestamp_ms).await,
            AnySigner::Url(s) => s.authorization(timestamp_ms).await,
            AnySigner::Gateway => Err(Error::InvalidState("the gateway signs")),
        }
    }

    fn signs_here(&self) -> bool {
        !matches!(self, AnySigner::Gateway)
    }
}

impl<C: HttpClient> Signer for UrlSigner<C> {
    async fn authorization(&self, timestamp_ms: u64) -> Result<String, Error> {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        let req = HttpRequest {
            method: Method::Get,
            url: format!("{}{sep}timestamp={timestamp_ms}", self.url),
            headers: vec![("Accept".into(), "application/json, text/plain".into())],
            body: None,
            max_body: agent_console_wire::http::DEFAULT_MAX_BODY,
        };
        let limit = req.max_body;
        let resp = self.http.send(req).await.map_err(|e| Error::Signer(format!("{}: {e}", self.url)))?;
        resp.check_size(limit).map_err(|e| Error::Signer(format!("{}: {e}", self.url)))?;
        if !(200..300).contains(&resp.status) {
            return Err(Error::Signer(format!("{} answered HTTP {}", self.url, resp.status)));
        }
        let text = String::from_utf8_lossy(&resp.body);
        let value = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(o)) => match o.get("authorization") {
                Some(serde_json::Value::String(s)) => s.clone(),
                _ => return Err(Error::Signer("the reply has no \"authorization\"".into())),
            },
            Ok(serde_json::Value::String(s)) => s,
            _ => text.trim().to_string(),
        };
        Ok(value)
    }
}

/// Checks a header value a signer returned: base64 of `APPID:ts:<32 hex>`
/// for this account and timestamp. A wrong one would only be refused by
/// the server with a vaguer message.
pub fn check_authorization(app_id: &AppId, timestamp_ms: u64, value: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::Signer(format!("unusable header: {why}"));
    let v = value.trim();
    // Padding optional: some signers strip it, and the server decodes either.
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let raw = engine.decode(v).map_err(|_| bad("not base64"))?;
    let text = String::from_utf8(raw).map_err(|_| bad("not text"))?;
    let prefix = format!("{}:{timestamp_ms}:", app_id.as_str());
    match text.strip_prefix(&prefix) {
        Some(sign) if sign.len() == 32 && sign.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
        Some(_) => Err(bad("the sign is not 32 hex digits")),
        None => Err(bad("it is for another APPID or timestamp")),
    }
}

/// The estimated offset of the server's clock from ours. Pure: the caller
/// passes both local times of an exchange and the reply's `Date`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockSkew {
    offset_ms: i64,
}

impl ClockSkew {
    /// The current estimate: server time minus local time, in ms.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// The timestamp to sign at local time `local_ms`.
    pub fn timestamp(&self, local_ms: u64) -> u64 {
        let t = i64::try_from(local_ms).unwrap_or(i64::MAX).saturating_add(self.offset_ms);
        u64::try_from(t).unwrap_or(0)
    }

    /// Learns from one exchange sent at `sent_ms` and answered at
    /// `received_ms` (local clock) with `date` (the `Date` header, if the
    /// transport could read it). Returns whether the estimate changed.
    ///
    /// `Date` has whole seconds, so the server's time at the reply is taken
    /// as the middle of that second, and our time as the middle of the
    /// exchange. Changes under 1.5 s are noise and ignored.
    pub fn observe(&mut self, sent_ms: u64, received_ms: u64, date: Option<&str>) -> bool {
        let Some(server_ms) = date.and_then(parse_http_date_ms) else { return false };
        let local_mid = i64::try_from(sent_ms / 2 + received_ms / 2).unwrap_or(i64::MAX);
        let estimate = server_ms.saturating_add(500).saturating_sub(local_mid);
        // A server a year off is broken, not skewed: do not follow it.
        if estimate.unsigned_abs() > MAX_PLAUSIBLE_SKEW_MS {
            return false;
        }
        if estimate.abs_diff(self.offset_ms) > 1_500 {
            self.offset_ms = estimate;
            true
        } else {
            false
        }
    }
}

/// Whether a reply is a refusal that a fresher timestamp might fix: code
/// 401/403 (signature, timestamp window) or HTTP 401/403. Any other error may
/// come after the call was placed, so it is never retried.
fn is_refusal(resp: &HttpResponse) -> bool {
    if matches!(resp.status, 401 | 403) {
        return true;
    }
    #[derive(serde::Deserialize)]
    struct Code {
        #[serde(deserialize_with = "agent_console_wire::de::string_lenient")]
        code: String,
    }
    serde_json::from_slice::<Code>(&resp.body).is_ok_and(|c| matches!(c.code.trim(), "401" | "403"))
}

/// One callback account: the API, a signer, and the skew estimate.
pub struct CallbackSession<C, S> {
    api: CallbackApi,
    app_id: AppId,
    http: C,
    signer: S,
    clock: Clock,
    skew: RefCell<ClockSkew>,
}

impl<C: HttpClient, S: Signer> CallbackSession<C, S> {
    /// A session. `clock` must read wall-clock milliseconds since the epoch:
    /// the server compares timestamps with its own wall clock.
    pub fn new(api: CallbackApi, app_id: AppId, http: C, signer: S, clock: Clock) -> Self {
        Self { api, app_id, http, signer, clock, skew: RefCell::new(ClockSkew::default()) }
    }

    /// The request builder.
    pub fn api(&self) -> &CallbackApi {
        &self.api
    }

    /// The current skew estimate (server minus local, ms).
    pub fn clock_offset_ms(&self) -> i64 {
        self.skew.borrow().offset_ms()
    }

    /// Signs and sends `req`. A refusal whose reply moved the clock estimate
    /// by more than [`RETRY_SHIFT_MS`] is signed again and sent once more: a
    /// refused request placed nothing, so the retry cannot double a call.
    pub async fn send(&self, req: HttpRequest) -> Result<HttpResponse, Error> {
        let mut retried = false;
        loop {
            let before = self.skew.borrow().offset_ms();
            let sent = (self.clock)().0;
            let ts = self.skew.borrow().timestamp(sent);
            let mut r = req.clone();
            if self.signer.signs_here() {
                let auth = self.signer.authorization(ts).await?;
                check_authorization(&self.app_id, ts, &auth)?;
                r.set_header("Authorization", auth.trim());
            }
            let resp = crate::session::exchange(&self.http, r).await?;
            let received = (self.clock)().0;
            let after = {
                let mut skew = self.skew.borrow_mut();
                skew.observe(sent, received, resp.header("date"));
                skew.offset_ms()
            };
            if !retried && is_refusal(&resp) && after.abs_diff(before) > RETRY_SHIFT_MS.unsigned_abs() {
                retried = true;
                continue;
            }
            return Ok(resp);
        }
    }

    /// `call`: rings `caller`, then bridges `callee`.
    pub async fn call(&self, r: &CallRequest) -> Result<CallStarted, Error> {
        let resp = self.send(self.api.call(r)).await?;
        Ok(callback::decode_call(&resp)?)
    }

    /// `endCall`.
    pub async fn end_call(&self, id: &CallIdentifier) -> Result<(), Error> {
        let resp = self.send(self.api.end_call(id)).await?;
        Ok(callback::decode_end_call(&resp)?)
    }

    /// `record`: the recording's URL (valid three days after the call).
    pub async fn recording(&self, id: &CallIdentifier) -> Result<Recording, Error> {
        let resp = self.send(self.api.recording(id)).await?;
        Ok(callback::decode_recording(&resp)?)
    }
}
