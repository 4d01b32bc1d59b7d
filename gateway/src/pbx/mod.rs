//! The PBX behind the gateway: `/dscom-api/public/api/v1/…` proxied with the
//! gateway's own token (the browser's `Authorization` is dropped), after the
//! [`rules`]; `/dscom-api/public/oauth/token` is never reachable from outside.
//! The token's life is the core's sans-IO [`TokenManager`], driven here with
//! the gateway's clock, as the console drives it in the browser.

pub mod billing;
pub mod rules;

use crate::config::PbxConfig;
use crate::upstream::{self, Upstream};
use agent_console_core::pbx::token::TokenManager;
use agent_console_core::time::Instant as CoreInstant;
use agent_console_core::Error as CoreError;
use agent_console_wire::http::{HttpRequest, HttpResponse, Method, DEFAULT_MAX_BODY};
use agent_console_wire::pbx::tts::TTS_MAX_BODY;
use agent_console_wire::pbx::{Credentials, PbxApi, TokenResponse};
use agent_console_wire::ApiError;
use serde_json::{json, Value};
use std::time::Instant;
use tokio::sync::Mutex;

/// The path prefix the console calls (the PBX's own).
pub const PREFIX: &str = "/dscom-api/public";

/// Most bytes of a request body the gateway reads from a console.
pub const MAX_REQUEST_BODY: usize = 64 * 1024;

/// How long a refused password grant waits before the gateway tries again.
const REJECTED_RETRY_MS: u64 = 60_000;

/// Pages of voicemail the gateway walks for an agent's own inbox.
const VOICEMAIL_PAGE: u32 = 1000;

/// The PBX, as the gateway reaches it.
pub struct Pbx {
    api: PbxApi,
    creds: Credentials,
    push_url: Option<String>,
    token: Mutex<(TokenManager, Option<CoreInstant>)>,
    started: Instant,
}

/// A reply to hand back to the console.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body bytes (JSON).
    pub body: Vec<u8>,
}

impl Reply {
    /// A reply in the PBX's own envelope, with `msg` and no data.
    pub fn envelope(status: u16, msg: &str) -> Self {
        let body = json!({"code": status.to_string(), "msg": msg, "data": null, "total": 0});
        Self { status, body: body.to_string().into_bytes() }
    }
}

impl Pbx {
    /// The PBX of `c`.
    pub fn new(c: &PbxConfig) -> Result<Self, String> {
        let api = PbxApi::new(&c.base_url, "zh-CN").map_err(|e| format!("pbx.base_url: {e}"))?;
        let creds = Credentials::new(&c.client_id, &c.client_secret, &c.username, &c.password)
            .map_err(|e| format!("pbx: {e}"))?;
        Ok(Self {
            api,
            creds,
            push_url: c.push_url.clone().filter(|u| !u.trim().is_empty()),
            token: Mutex::new((TokenManager::with_seed(rand::random()), None)),
            started: Instant::now(),
        })
    }

    fn now(&self) -> CoreInstant {
        CoreInstant::from_millis(u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// A valid token, fetching one first if needed (one request at a time:
    /// the lock is held while it is out, so a hundred consoles asking at once
    /// cause one password grant).
    pub async fn token(&self, up: &Upstream) -> Result<String, CoreError> {
        let mut guard = self.token.lock().await;
        let (m, rejected_at) = &mut *guard;
        for _ in 0..3 {
            let now = self.now();
            // A refused password grant latches (it must not lock the PBX
            // account); the gateway has no one to type it again, so it tries
            // once more after a cool-down.
            if m.credentials_rejected() {
                match rejected_at {
                    None => *rejected_at = Some(now),
                    Some(t) if now.0.saturating_sub(t.0) >= REJECTED_RETRY_MS => {
                        m.allow_retry();
                        *rejected_at = None;
                    }
                    Some(_) => {}
                }
            }
            m.handle_timeout(now);
            if let Some(t) = m.valid_token(now) {
                return Ok(t.to_string());
            }
            if let Some(e) = m.blocked(now) {
                return Err(e);
            }
            let Some(ticket) = m.poll_request(now) else { break };
            let req = self.api.token(&self.creds, &ticket.grant);
            let outcome = match up.send(&req).await {
                Ok(resp) => TokenResponse::decode(&resp).map_err(CoreError::Api),
                Err(e) => Err(e),
            };
            m.handle_response(self.now(), ticket, outcome);
        }
        m.valid_token(self.now()).map(str::to_string).ok_or_else(|| CoreError::Network("no PBX token".into()))
    }

    /// Sends `method route?query` with `body` under the gateway's token; on a
    /// 401 the token is dropped and the request sent once more.
    pub async fn forward(
        &self,
        up: &Upstream,
        method: Method,
        route: &str,
        query: &str,
        body: Option<String>,
    ) -> Result<HttpResponse, CoreError> {
        let mut url = format!("{}/api/v1/{route}", self.api.base_url());
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        let max_body = if route == "tts/synthesize" { TTS_MAX_BODY } else { DEFAULT_MAX_BODY };
        let req = HttpRequest {
            method,
            url,
            headers: vec![
                ("Accept-Language".into(), "zh-CN".into()),
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body,
            max_body,
        };
        self.send_authorized(up, req).await
    }

    /// Sends `req` under the gateway's token; on a 401 the token is dropped
    /// and the request sent once more.
    pub async fn send_authorized(&self, up: &Upstream, req: HttpRequest) -> Result<HttpResponse, CoreError> {
        for attempt in 0..2 {
            let token = self.token(up).await?;
            let mut req = req.clone();
            req.set_header("Authorization", format!("Bearer {token}"));
            let resp = up.send(&req).await?;
            if resp.status == 401 {
                self.token.lock().await.0.handle_unauthorized(&token);
                if attempt == 0 {
                    continue;
                }
                // A second 401 is the PBX refusing the gateway's account: not
                // handed to the console, which would read it as its own sign-out.
                break;
            }
            return Ok(resp);
        }
        Err(CoreError::Api(ApiError::Http {
            status: 401,
            message: "the PBX refused the gateway's token".into(),
        }))
    }

    /// An agent's own voicemail: every page walked by the gateway (bounded),
    /// the agent's rows kept, then paged as the agent asked.
    pub async fn own_voicemail(
        &self,
        up: &Upstream,
        query: &[(String, String)],
        extension: &str,
    ) -> Result<Reply, CoreError> {
        use agent_console_core::paging::{PageStep, PageWalk};
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let page: usize = get("page").parse().unwrap_or(1).max(1);
        let size: usize = get("pageSize").parse().unwrap_or(10).clamp(1, 1000);
        let mut walk = PageWalk::new(VOICEMAIL_PAGE);
        let mut mine: Vec<Value> = Vec::new();
        let mut at = 1u32;
        loop {
            let q = {
                // Built apart: the serializer is not `Send`, the future must be.
                let mut q = form_urlencoded::Serializer::new(String::new());
                for (k, v) in query.iter().filter(|(k, _)| k != "page" && k != "pageSize") {
                    q.append_pair(k, v);
                }
                q.append_pair("page", &at.to_string()).append_pair("pageSize", &VOICEMAIL_PAGE.to_string());
                q.finish()
            };
            let resp = self.forward(up, Method::Get, "voicemail", &q, None).await?;
            let Some(v) = upstream::ok_envelope(&resp) else {
                // An error envelope (or HTTP error) goes back as the PBX sent it.
                return Ok(Reply { status: resp.status, body: resp.body });
            };
            let rows = v.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
            let total = v.get("total").and_then(|t| t.as_u64().or_else(|| t.as_str()?.parse().ok()));
            let n = rows.len();
            let keys: Vec<String> =
                rows.iter().map(|r| r.get("id").map(Value::to_string).unwrap_or_default()).collect();
            mine.extend(
                rows.into_iter()
                    .filter(|r| rules::row_is_own(&rules::OwnRows::Voicemail(extension.into()), r)),
            );
            match walk.page_read(n as u64, keys, total) {
                PageStep::Next(p) => at = p,
                PageStep::Done(_) => break,
            }
        }
        let total = mine.len();
        let rows: Vec<Value> = mine.into_iter().skip((page - 1).saturating_mul(size)).take(size).collect();
        let body = json!({"code": "200", "msg": "成功", "data": rows, "total": total});
        Ok(Reply { status: 200, body: body.to_string().into_bytes() })
    }
}

/// Keeps only the agent's own rows in a list reply (`data: [...]`), fixing
/// nothing else; a reply that is not an ok envelope with a list passes as is.
pub fn keep_own_rows(resp: HttpResponse, own: &rules::OwnRows) -> Reply {
    let Some(mut v) = upstream::ok_envelope(&resp) else {
        return Reply { status: resp.status, body: resp.body };
    };
    // Fails closed: an ok reply whose rows are not a list shows none.
    if !v.get("data").is_some_and(Value::is_array) {
        if let Some(o) = v.as_object_mut() {
            o.insert("data".into(), Value::Array(Vec::new()));
        }
    }
    let Some(rows) = v.get_mut("data").and_then(Value::as_array_mut) else {
        return Reply::envelope(502, "PBX 回复无法识别（The PBX reply could not be read）");
    };
    let before = rows.len();
    rows.retain(|r| rules::row_is_own(own, r));
    if rows.len() == before {
        return Reply { status: resp.status, body: resp.body };
    }
    Reply { status: resp.status, body: v.to_string().into_bytes() }
}

/// The recording paths and ids in a list reply, to remember what the
/// session was shown.
pub fn shown(body: &[u8]) -> (Vec<String>, Vec<String>) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let rows = v.get("data").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let recordings =
        rows.iter().filter_map(|r| upstream::scalar(r, "recording")).filter(|s| !s.is_empty()).collect();
    let ids = rows.iter().filter_map(|r| upstream::scalar(r, "id")).filter(|s| !s.is_empty()).collect();
    (recordings, ids)
}
