//! Calls to the vendors: the wire layer's [`HttpRequest`] sent with reqwest,
//! with timeouts, and the reply read up to the request's `max_body` (a
//! broken vendor must not fill the gateway's memory).

use agent_console_core::Error as CoreError;
use agent_console_wire::http::{HttpRequest, HttpResponse, Method};
use agent_console_wire::ApiError;
use serde_json::Value;
use std::time::Duration;

/// How long a vendor call may take, connect to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The HTTP client all vendor calls share (pooled connections).
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
}

impl Upstream {
    /// A client with the gateway's timeouts.
    pub fn new() -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client })
    }

    /// Sends `req`; a network failure is [`CoreError::Network`], a body over
    /// `max_body` is [`ApiError::TooLarge`].
    pub async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, CoreError> {
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut b = self.client.request(method, &req.url);
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        if let Some(body) = &req.body {
            b = b.body(body.clone());
        }
        read(b, req.max_body).await
    }

    /// POSTs `body` (bytes, e.g. a multipart upload) as `content_type`.
    pub async fn send_bytes(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        max_body: u64,
    ) -> Result<HttpResponse, CoreError> {
        read(self.client.post(url).header("Content-Type", content_type).body(body), max_body).await
    }
}

async fn read(b: reqwest::RequestBuilder, max_body: u64) -> Result<HttpResponse, CoreError> {
    let mut resp = b.send().await.map_err(|e| CoreError::Network(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    if resp.content_length().is_some_and(|n| n > max_body) {
        return Err(CoreError::Api(ApiError::TooLarge { limit: max_body }));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| CoreError::Network(e.without_url().to_string()))? {
        if (body.len() + chunk.len()) as u64 > max_body {
            return Err(CoreError::Api(ApiError::TooLarge { limit: max_body }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpResponse { status, body, headers, body_refused: false })
}

/// The field `key` of `v` as text: a string (trimmed) or a number, as the
/// vendors send either for the same field; `None` when absent or another kind.
pub fn scalar(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The reply as JSON when it is a PBX ok envelope (`code` "200", HTTP 2xx).
pub fn ok_envelope(resp: &HttpResponse) -> Option<Value> {
    if !(200..300).contains(&resp.status) {
        return None;
    }
    let v: Value = serde_json::from_slice(&resp.body).ok()?;
    (scalar(&v, "code")? == "200").then_some(v)
}
