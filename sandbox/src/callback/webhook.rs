//! The status webhook: one task per call waits for the call to end, then POSTs the
//! notification once to the configured URL. Like the vendor ("配置错误情况下不会重新发送"),
//! a failed delivery is logged to stderr and not retried.
//!
//! The POST is a hand-written HTTP/1.1 request over a `TcpStream`: the sandbox only ever
//! talks to `http://` receivers on test machines, which does not justify an HTTP client
//! dependency.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::AppState;

/// How often a watcher looks at its call.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Limit for connecting, sending and reading the status line of one delivery.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts the task that delivers `callidentifier`'s notification when the call ends.
pub fn spawn_watcher(state: AppState, callidentifier: String) {
    tokio::spawn(watch(state, callidentifier));
}

async fn watch(state: AppState, id: String) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    loop {
        tick.tick().await;
        // Decide under the lock, deliver without it (the guard must not cross an await).
        let due = {
            let mut cb = state.callback();
            let now = cb.now_ms(&state.clock);
            let url = cb.webhook_url.clone();
            let Some(call) = cb.call_mut(&id) else {
                return;
            };
            if call.observe(now).is_none() {
                None
            } else {
                Some((call.notification(), url))
            }
        };
        let Some((notification, url)) = due else {
            continue;
        };
        let record = match (notification, url) {
            (Some(n), Some(url)) => {
                let body = serde_json::to_string(&n).unwrap_or_default();
                match post_json(&url, &body).await {
                    Ok(status) => json!({"url": url, "status": status}),
                    Err(e) => {
                        eprintln!("sandbox: callback webhook for {id} to {url} failed: {e}");
                        json!({"url": url, "error": e})
                    }
                }
            }
            _ => json!({"url": null, "skipped": "no webhook URL set"}),
        };
        if let Some(call) = state.callback().call_mut(&id) {
            call.webhook = Some(record);
        }
        return;
    }
}

/// Where an `http://` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// `host:port` to connect to (port 80 when the URL has none).
    pub addr: String,
    /// The `Host` header: the URL's authority as written.
    pub host: String,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Splits an `http://host[:port][/path][?query]` URL; `https` and anything odd is an error.
pub fn parse_http_url(url: &str) -> Result<HttpTarget, String> {
    let url = url.trim();
    let rest = match url.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("http://") => url.get(7..).unwrap_or_default(),
        _ => return Err(format!("only http:// URLs are supported: {url:?}")),
    };
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("URL contains whitespace: {url:?}"));
    }
    let rest = rest.split('#').next().unwrap_or_default();
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    // Credentials in the URL are not supported; drop them rather than send them.
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if authority.is_empty() {
        return Err(format!("URL has no host: {url:?}"));
    }
    let has_port = match authority.strip_prefix('[') {
        Some(v6) => v6.contains("]:"),
        None => authority.contains(':'),
    };
    let path = match path.chars().next() {
        None => "/".to_string(),
        Some('?') => format!("/{path}"),
        Some(_) => path.to_string(),
    };
    Ok(HttpTarget {
        addr: if has_port { authority.to_string() } else { format!("{authority}:80") },
        host: authority.to_string(),
        path,
    })
}

/// POSTs `body` as JSON to `url` and returns the receiver's HTTP status.
pub async fn post_json(url: &str, body: &str) -> Result<u16, String> {
    let target = parse_http_url(url)?;
    match tokio::time::timeout(DELIVERY_TIMEOUT, send(&target, body)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())),
    }
}

async fn send(target: &HttpTarget, body: &str) -> Result<u16, String> {
    let mut stream =
        TcpStream::connect(&target.addr).await.map_err(|e| format!("connect {}: {e}", target.addr))?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\nUser-Agent: agent-console-sandbox\r\n\r\n",
        target.path,
        target.host,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
    stream.write_all(body.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
    stream.flush().await.map_err(|e| format!("send: {e}"))?;
    // Only the status line matters; stop reading once it is complete.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 8192 {
        let n = stream.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    let line = String::from_utf8_lossy(&buf);
    let line = line.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().and_then(|s| s.parse::<u16>().ok())) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => Ok(code),
        _ => Err(format!("not an HTTP reply: {line:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parsing() {
        let t = parse_http_url("http://127.0.0.1:9000/hook?x=1#frag").unwrap();
        assert_eq!(
            (t.addr.as_str(), t.host.as_str(), t.path.as_str()),
            ("127.0.0.1:9000", "127.0.0.1:9000", "/hook?x=1")
        );
        let t = parse_http_url("HTTP://example.com").unwrap();
        assert_eq!((t.addr.as_str(), t.path.as_str()), ("example.com:80", "/"));
        let t = parse_http_url("http://u:p@[::1]?a").unwrap();
        assert_eq!((t.addr.as_str(), t.host.as_str(), t.path.as_str()), ("[::1]:80", "[::1]", "/?a"));
        for bad in ["https://x/", "ftp://x", "http://", "http:///path", "http://a b/", "", "http:"] {
            assert!(parse_http_url(bad).is_err(), "{bad}");
        }
    }
}
