//! A transport-neutral description of one HTTP exchange, built by the request
//! builders and carried out by whatever transport the caller has.

use crate::{ApiError, InvalidInput, Problem};

/// Most bytes of a reply body read by default: a 1000-row `cdr/list` page is
/// about half a megabyte, so 4 MiB leaves room while keeping a hostile or
/// broken server from filling the tab's memory (an out-of-memory trap kills
/// the whole wasm instance).
pub const DEFAULT_MAX_BODY: u64 = 4 * 1024 * 1024;

/// HTTP method of a vendor call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE` (the gateway's sign-out)
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
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
    /// Most reply-body bytes to read ([`DEFAULT_MAX_BODY`] unless the
    /// builder knows the route answers more, as TTS audio does). A transport
    /// stops reading past it and sets [`HttpResponse::body_refused`]; the
    /// core refuses any longer body with [`ApiError::TooLarge`].
    pub max_body: u64,
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

    /// The request with its reply cap set to `bytes` (builder style).
    pub fn with_max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
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
    /// The transport stopped reading the body because it was longer than
    /// the request's [`HttpRequest::max_body`] (`body` is then empty or cut
    /// short): the reply must be refused, never decoded.
    pub body_refused: bool,
}

impl HttpResponse {
    /// A response with no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self { status, body: body.into(), headers: Vec::new(), body_refused: false }
    }

    /// `Ok` if the body is within `max_body` bytes and was read whole, else
    /// [`ApiError::TooLarge`]: one rule for every transport, so a native
    /// client that reads everything is held to the same cap as `fetch`.
    pub fn check_size(&self, max_body: u64) -> Result<(), ApiError> {
        let len = u64::try_from(self.body.len()).unwrap_or(u64::MAX);
        if self.body_refused || len > max_body {
            Err(ApiError::TooLarge { limit: max_body })
        } else {
            Ok(())
        }
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

/// Counts a reply body against its cap while it arrives: first the declared
/// `Content-Length` (refused before a byte is read), then every chunk (a
/// chunked or compressed body declares nothing, or less than it inflates to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyBudget {
    limit: u64,
    read: u64,
}

impl BodyBudget {
    /// A budget of `limit` bytes, none read yet.
    pub fn new(limit: u64) -> Self {
        Self { limit, read: 0 }
    }

    /// The cap.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether a reply declaring `content_length` (the header's text, if
    /// sent) is refused unread. An unreadable value says nothing: the
    /// streaming count still holds the body to the cap.
    pub fn refuses_declared(&self, content_length: Option<&str>) -> bool {
        content_length.and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|n| n > self.limit)
    }

    /// Counts a chunk of `len` bytes; `false` once the body is over the cap
    /// (the caller stops reading and cancels the stream).
    pub fn take(&mut self, len: u64) -> bool {
        self.read = self.read.saturating_add(len);
        self.read <= self.limit
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

/// The one check every URL passes before the console puts it into an
/// `href` or `src`: `http:`, `https:`, `blob:` of an http(s) origin, or a
/// path without a scheme (same origin). Anything else — `javascript:`,
/// `data:`, `vbscript:`, a URL a browser would rewrite into one (tabs,
/// line breaks, control characters, `\`) — is refused, so the caller
/// shows it as text instead of a link or a player.
pub fn check_link(url: &str) -> Result<&str, InvalidInput> {
    let u = url.trim();
    if u.is_empty() {
        return Err(InvalidInput::new("url", Problem::Required, url));
    }
    // A browser drops tabs and line breaks inside a URL before reading its
    // scheme (`java\tscript:` runs), and reads `\` as `/` (`\\evil` is
    // another host): a server URL never needs either.
    if u.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
        return Err(InvalidInput::new("url", Problem::NotUrl, u));
    }
    let lower = |n: usize| u.get(..n).map(str::to_ascii_lowercase);
    let web = |rest: &str| {
        let l = rest.to_ascii_lowercase();
        let host = l.strip_prefix("https://").or_else(|| l.strip_prefix("http://"));
        host.is_some_and(|h| !h.is_empty() && !h.starts_with('/'))
    };
    let ok = match url_scheme(u) {
        None => !u.starts_with("//"),
        Some(_) if lower(5).as_deref() == Some("blob:") => u.get(5..).is_some_and(web),
        Some(_) => web(u),
    };
    if ok {
        Ok(u)
    } else {
        Err(InvalidInput::new("url", Problem::NotUrl, u))
    }
}

/// [`check_link`] for a URL that must name its own host (a file on
/// another server, such as a callback recording): `http://` or `https://`
/// (lower case, as every server writes them) only.
pub fn check_web_link(url: &str) -> Result<&str, InvalidInput> {
    let u = check_link(url)?;
    if u.starts_with("http://") || u.starts_with("https://") {
        Ok(u)
    } else {
        Err(InvalidInput::new("url", Problem::NotUrl, u))
    }
}

/// The scheme of `url` as a browser reads it (RFC 3986: a letter, then
/// letters, digits, `+`, `-`, `.`, up to a `:` that comes before any `/`,
/// `?` or `#`), or `None` for a relative reference.
fn url_scheme(url: &str) -> Option<&str> {
    let end = url.find([':', '/', '?', '#'])?;
    let scheme = url.get(..end)?;
    let valid = url.get(end..)?.starts_with(':')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// An upload reply's `url` as a link target: [`check_link`] first (a
/// `javascript:` or `data:` URL is refused, not turned into a path), then
/// resolved against `base` like [`absolute_url`].
pub fn resolve_link(base: &str, url: &str) -> Result<String, InvalidInput> {
    let u = url.trim();
    // A scheme-relative `//host/x` takes the base's scheme: checked as the
    // path it ends in; every other form is checked as it is.
    check_link(if u.starts_with("//") { u.get(1..).unwrap_or(u) } else { u })?;
    let resolved = absolute_url(base, u);
    // `base` is a checked http(s) URL, so this only fails for a bad base.
    check_link(&resolved)?;
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_budget_refuses_declared_and_streamed_bodies_over_the_cap() {
        let b = BodyBudget::new(10);
        assert!(!b.refuses_declared(None));
        assert!(!b.refuses_declared(Some("10")));
        assert!(b.refuses_declared(Some(" 11 ")));
        assert!(b.refuses_declared(Some("18446744073709551615")));
        // Unreadable: decided by the count instead.
        assert!(!b.refuses_declared(Some("lots")));
        assert!(!b.refuses_declared(Some("99999999999999999999999")));
        let mut b = BodyBudget::new(10);
        assert!(b.take(4) && b.take(6));
        assert!(!b.take(1));
        let mut b = BodyBudget::new(10);
        assert!(!b.take(u64::MAX) && !b.take(u64::MAX));
    }

    #[test]
    fn a_body_over_the_cap_or_cut_short_is_refused() {
        let ok = HttpResponse::new(200, vec![b'x'; 10]);
        assert_eq!(ok.check_size(10), Ok(()));
        assert_eq!(ok.check_size(9), Err(ApiError::TooLarge { limit: 9 }));
        let cut = HttpResponse { body_refused: true, ..HttpResponse::new(200, Vec::new()) };
        assert_eq!(cut.check_size(DEFAULT_MAX_BODY), Err(ApiError::TooLarge { limit: DEFAULT_MAX_BODY }));
    }

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
    fn only_web_blob_and_relative_urls_pass_the_link_check() {
        for good in [
            "https://h/x.wav",
            " HTTP://h:8080/a?b#c ",
            "blob:http://127.0.0.1:8081/0b6c-4f",
            "/media/x.wav",
            "media/x.wav",
            "media/a:b.wav",
            "?page=2",
        ] {
            assert_eq!(check_link(good), Ok(good.trim()), "{good:?}");
        }
        for bad in [
            "",
            "javascript:window.__xss=1",
            " JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "\u{0}javascript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html,<script>alert(1)</script>",
            "blob:null/0b6c",
            "blob:javascript:alert(1)",
            "file:///etc/passwd",
            "a:b.wav",
            "//evil.example.com/x",
            "\\\\evil.example.com/x",
            "/\\evil.example.com",
            "https://",
            "http:///p",
            "https://h/a b",
            "<img src=x onerror=\"window.__xss=1\">",
        ] {
            let e = check_link(bad).unwrap_err();
            assert_eq!(e.field, "url", "{bad:?}");
        }
    }

    #[test]
    fn a_file_on_another_host_needs_an_http_url() {
        assert_eq!(check_web_link(" https://rec.example.com/a.wav "), Ok("https://rec.example.com/a.wav"));
        for bad in ["/a.wav", "blob:https://h/1", "javascript:alert(1)", "https://h/a\nb", "HTTPS://h/a"] {
            assert!(check_web_link(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_upload_url_is_resolved_only_when_it_is_a_web_address() {
        let base = "https://rtc.example.com:8443/api";
        assert_eq!(
            resolve_link(base, "/media/x.wav").as_deref(),
            Ok("https://rtc.example.com:8443/media/x.wav")
        );
        assert_eq!(resolve_link(base, "//cdn.example.com/x").as_deref(), Ok("https://cdn.example.com/x"));
        assert_eq!(
            resolve_link(base, "https://cdn.example.com/x").as_deref(),
            Ok("https://cdn.example.com/x")
        );
        for bad in ["javascript:window.__xss=1", "data:text/html,x", "///\\evil", "/a\tb", ""] {
            assert!(resolve_link(base, bad).is_err(), "{bad:?}");
        }
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
