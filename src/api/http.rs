//! A transport-neutral description of one HTTP exchange, built by the request
//! builders and carried out by whatever transport the caller has.

use crate::api::{InvalidInput, Problem};

/// HTTP method of a vendor call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// A request ready to send: full URL, headers and an optional body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL, query string included.
    pub url: String,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// Body text (JSON for the PBX).
    pub body: Option<String>,
}

impl HttpRequest {
    /// The value of header `name` (case-insensitive), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Sets (or replaces) a header.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.into()));
    }
}

/// What came back: status, the headers the transport could read, and body bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Raw body.
    pub body: Vec<u8>,
    /// Response headers the transport exposes (a browser only shows
    /// cross-origin headers the server lists in `Access-Control-Expose-Headers`).
    pub headers: Vec<(String, String)>,
}

impl HttpResponse {
    /// A response with no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self { status, body: body.into(), headers: Vec::new() }
    }

    /// Adds a header (builder style).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The value of header `name` (case-insensitive), if the transport saw it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters pass).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Checks `value` as an absolute `http(s)://host…` URL for the field
/// `field`; returns it trimmed, without a trailing slash.
pub fn check_http_url(field: &'static str, value: &str) -> Result<String, InvalidInput> {
    let v = value.trim();
    if v.is_empty() {
        return Err(InvalidInput::new(field, Problem::Required, value));
    }
    let host = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
    match host {
        Some(h) if !h.is_empty() && !h.starts_with('/') && !v.chars().any(char::is_whitespace) => {
            Ok(v.trim_end_matches('/').to_string())
        }
        _ => Err(InvalidInput::new(field, Problem::NotUrl, v)),
    }
}

/// Builds `base + path + ?query`, skipping nothing: callers leave out optional
/// parameters by not passing them.
pub fn url_with_query(base: &str, path: &str, query: &[(&str, String)]) -> String {
    let mut url = String::with_capacity(base.len() + path.len() + 32);
    url.push_str(base.trim_end_matches('/'));
    url.push_str(path);
    for (i, (k, v)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(&encode_component(k));
        url.push('=');
        url.push_str(&encode_component(v));
    }
    url
}

/// `url` as returned by the upload, resolved against `base` (the dapi
/// base URL): `/media/x` against `https://h:1/base` → `https://h:1/media/x`;
/// `media/x` → `https://h:1/base/media/x`; absolute URLs unchanged.
pub fn absolute_url(base: &str, url: &str) -> String {
    let url = url.trim();
    if url.starts_with("http://") || url.starts_with("https://") {
        return url.to_string();
    }
    let scheme_end = base.find("://").map(|i| i + 3);
    let origin = scheme_end
        .and_then(|i| base.get(i..).and_then(|rest| rest.find('/')).and_then(|j| base.get(..i + j)))
        .unwrap_or(base);
    if let Some(rest) = url.strip_prefix("//") {
        // Scheme-relative: the base's scheme.
        let scheme = base.split_once("://").map_or("https", |(s, _)| s);
        return format!("{scheme}://{rest}");
    }
    if url.starts_with('/') {
        format!("{origin}{url}")
    } else {
        format!("{}/{url}", base.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(check_http_url("u", " https://h:1/p/ "), Ok("https://h:1/p".to_string()));
        for bad in ["", "ftp://h", "https://", "http:///p", "javascript:alert(1)", "http://a b"] {
            assert!(check_http_url("u", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn query_is_encoded() {
        assert_eq!(
            url_with_query("http://h/p/", "/x", &[("a", "1 2".into()), ("b", "#+".into())]),
            "http://h/p/x?a=1%202&b=%23%2B"
        );
    }

    #[test]
    fn urls_resolve_against_the_base() {
        let base = "https://rtc.example.com:8443/api";
        assert_eq!(
            absolute_url(base, "/media/general_upload/x.wav"),
            "https://rtc.example.com:8443/media/general_upload/x.wav"
        );
        assert_eq!(absolute_url(base, "media/x.wav"), "https://rtc.example.com:8443/api/media/x.wav");
        assert_eq!(absolute_url("http://h", "/media/x"), "http://h/media/x");
        assert_eq!(absolute_url("http://h/", "/media/x"), "http://h/media/x");
        assert_eq!(absolute_url(base, "https://cdn.example.com/x"), "https://cdn.example.com/x");
        assert_eq!(absolute_url(base, "//cdn.example.com/x"), "https://cdn.example.com/x");
        assert_eq!(absolute_url(base, " /media/x "), "https://rtc.example.com:8443/media/x");
        // A script URL is never a link target of its own.
        assert_eq!(
            absolute_url(base, "javascript:alert(1)"),
            "https://rtc.example.com:8443/api/javascript:alert(1)"
        );
    }
}
