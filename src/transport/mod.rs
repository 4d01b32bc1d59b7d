//! Browser transports (feature `browser`): fetch over gloo-net, and the
//! browser's clock for the core.

use crate::api::{HttpRequest, HttpResponse, Method};
use crate::core::{HttpClient, Instant};
use gloo_net::http::{Method as GlooMethod, RequestBuilder};

/// Sends requests with the browser's `fetch`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchClient;

impl HttpClient for FetchClient {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let method = match req.method {
            Method::Get => GlooMethod::GET,
            Method::Post => GlooMethod::POST,
            Method::Put => GlooMethod::PUT,
        };
        let mut builder = RequestBuilder::new(&req.url).method(method);
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        let request = match req.body {
            Some(b) => builder.body(b),
            None => builder.build(),
        }
        .map_err(|e| e.to_string())?;
        let resp = request.send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp.binary().await.map_err(|e| e.to_string())?;
        Ok(HttpResponse { status, body })
    }
}

/// Now, in milliseconds since the epoch, for the core's timers.
pub fn now() -> Instant {
    Instant::from_millis(wall_clock_ms())
}

/// Wall-clock milliseconds since the epoch (for call timers).
pub fn wall_clock_ms() -> u64 {
    let ms = js_sys::Date::now();
    if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    }
}

/// Resolves a path (`/dscom-api/public`) against the page's origin, so a
/// console served behind the PBX's reverse proxy can use a relative prefix.
pub fn resolve_url(url: &str) -> String {
    let url = url.trim();
    if url.starts_with("http://") || url.starts_with("https://") {
        return url.to_string();
    }
    let origin = web_sys::window().and_then(|w| w.location().origin().ok());
    match origin {
        Some(o) if url.starts_with('/') => format!("{o}{url}"),
        _ => url.to_string(),
    }
}
