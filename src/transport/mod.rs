//! Browser transports (feature `browser`): fetch over gloo-net, and the
//! browser's clock for the core.

pub mod billing;
pub mod media;
pub mod softphone;
pub mod ticker;
pub mod upload;

use crate::api::http::BodyBudget;
use crate::api::{HttpRequest, HttpResponse, Method};
use crate::core::{Error, HttpClient, Instant, Opened, PbxSettings};
use gloo_net::http::{Headers, Method as GlooMethod, RequestBuilder};
use gloo_timers::callback::Timeout;
use std::rc::Rc;

/// How long a request may take before it is abandoned as a network error.
pub const REQUEST_TIMEOUT_MS: u32 = 20_000;

/// Sends requests with the browser's `fetch`, each abandoned after
/// [`REQUEST_TIMEOUT_MS`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchClient;

impl HttpClient for FetchClient {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let method = match req.method {
            Method::Get => GlooMethod::GET,
            Method::Post => GlooMethod::POST,
            Method::Put => GlooMethod::PUT,
            Method::Delete => GlooMethod::DELETE,
        };
        // web_sys directly: gloo's `header()` throws on a value the browser
        // refuses (non-Latin-1, CR/LF), and a throw would skip our cleanup.
        let headers = web_sys::Headers::new().map_err(|e| format!("{e:?}"))?;
        for (k, v) in &req.headers {
            headers.set(k, v).map_err(|_| format!("header {k} has a value the browser refuses"))?;
        }
        let abort = web_sys::AbortController::new().map_err(|e| format!("{e:?}"))?;
        let builder = RequestBuilder::new(&req.url)
            .method(method)
            .headers(Headers::from_raw(headers))
            .abort_signal(Some(&abort.signal()));
        let request = match req.body {
            Some(b) => builder.body(b),
            None => builder.build(),
        }
        .map_err(|e| e.to_string())?;
        // Dropping the Timeout (when the reply is in) cancels it; it covers
        // reading the body too.
        let on_deadline = abort.clone();
        let _deadline = Timeout::new(REQUEST_TIMEOUT_MS, move || on_deadline.abort());
        let resp = request.send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        // Only the headers the core reads; `Date` feeds clock-skew estimates.
        let mut headers = Vec::new();
        if let Some(date) = resp.headers().get("date") {
            headers.push(("date".to_string(), date));
        }
        let mut budget = BodyBudget::new(req.max_body);
        let refused = |headers| Ok(HttpResponse { status, body: Vec::new(), headers, body_refused: true });
        if budget.refuses_declared(resp.headers().get("content-length").as_deref()) {
            abort.abort();
            return refused(headers);
        }
        match read_body(resp.body(), &mut budget).await? {
            Some(body) => Ok(HttpResponse { status, body, headers, body_refused: false }),
            None => {
                abort.abort();
                refused(headers)
            }
        }
    }
}

/// Reads a fetch body chunk by chunk (never `arrayBuffer()`, which buffers
/// whatever the server sends): `None`, the stream cancelled, once it is over
/// `budget`. No stream (a 204) is an empty body.
async fn read_body(
    stream: Option<web_sys::ReadableStream>,
    budget: &mut BodyBudget,
) -> Result<Option<Vec<u8>>, String> {
    use wasm_bindgen::JsCast;
    let Some(stream) = stream else { return Ok(Some(Vec::new())) };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let js_text = |e: wasm_bindgen::JsValue| {
        js_sys::Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| format!("{e:?}"))
    };
    let mut body = Vec::new();
    loop {
        let chunk = wasm_bindgen_futures::JsFuture::from(reader.read()).await.map_err(js_text)?;
        let done =
            js_sys::Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true);
        if done {
            return Ok(Some(body));
        }
        let bytes: js_sys::Uint8Array = js_sys::Reflect::get(&chunk, &"value".into())
            .ok()
            .and_then(|v| v.dyn_into().ok())
            .ok_or("the reply's body stream gave something other than bytes")?;
        // Counted before it is copied into wasm memory.
        if !budget.take(u64::from(bytes.length())) {
            // Cancelling tells the browser to stop downloading; its promise
            // is awaited aside so a rejection is not reported as unhandled.
            let cancelled = wasm_bindgen_futures::JsFuture::from(reader.cancel());
            wasm_bindgen_futures::spawn_local(async move {
                let _ = cancelled.await;
            });
            return Ok(None);
        }
        body.extend(bytes.to_vec());
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    // `performance.now()`: windows and workers both have it; `catch` keeps a
    // host without it from throwing through Rust.
    #[wasm_bindgen(catch, js_namespace = performance, js_name = now)]
    fn performance_now() -> Result<f64, wasm_bindgen::JsValue>;
}

thread_local! {
    // Whether `performance.now()` works, decided on the first reading and
    // kept, so the scale never switches under a deadline.
    static PERFORMANCE: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
    // The last reading, so a fallback wall clock cannot step back either.
    static LAST_MONO_MS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn performance_ms() -> Option<u64> {
    performance_now().ok().filter(|ms| ms.is_finite() && *ms >= 0.0).map(|ms| ms as u64)
}

/// Now on a monotonic scale (ms since the page or worker started,
/// `performance.now()`), for the core's deadlines: heartbeats, polls, ring
/// timeouts, token expiry. Stepping the wall clock does not move it. Not a
/// time of day: use [`wall_clock_ms`] for timestamps, signing and skew.
pub fn now() -> Instant {
    let perf = PERFORMANCE.with(|p| {
        let has = p.get().unwrap_or_else(|| performance_ms().is_some());
        p.set(Some(has));
        has
    });
    // Without `performance` (never seen in a browser): the wall clock, held
    // monotone below.
    let reading = if perf { performance_ms() } else { Some(wall_clock_ms()) };
    Instant::from_millis(LAST_MONO_MS.with(|last| {
        let t = reading.map_or(last.get(), |ms| last.get().max(ms));
        last.set(t);
        t
    }))
}

/// Now on the wall clock, as an [`Instant`], for the cores that need the
/// time of day (the callback API's signatures and clock-skew estimate).
pub fn wall_now() -> Instant {
    Instant::from_millis(wall_clock_ms())
}

/// Wall-clock milliseconds since the epoch (`Date.now()`): timestamps and
/// times of day, never deadlines (the user or NTP may step it).
pub fn wall_clock_ms() -> u64 {
    let ms = js_sys::Date::now();
    if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    }
}

/// A seed for one console's retry jitter ([`crate::core::backoff::Jitter`]):
/// 64 bits from `crypto.getRandomValues`, so consoles opened in the same
/// millisecond (a call centre reloading after an outage) still spread out.
/// Without Web Crypto: the wall clock, sub-millisecond `performance.now()`
/// and a per-page counter, mixed (weaker, never the same twice in a page).
/// Not for anything secret.
pub fn jitter_seed() -> u64 {
    use wasm_bindgen::JsCast;
    thread_local! {
        static CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    let random = || -> Option<u64> {
        let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
        let get: js_sys::Function =
            js_sys::Reflect::get(&crypto, &"getRandomValues".into()).ok()?.dyn_into().ok()?;
        let words = js_sys::Uint32Array::new_with_length(2);
        get.call1(&crypto, &words).ok()?;
        Some((u64::from(words.get_index(0)) << 32) | u64::from(words.get_index(1)))
    };
    if let Some(seed) = random().filter(|s| *s != 0) {
        return seed;
    }
    let n = CALLS.with(|c| {
        c.set(c.get().wrapping_add(1));
        c.get()
    });
    let micros = performance_now().ok().filter(|ms| ms.is_finite()).map_or(0, |ms| (ms * 1000.0) as u64);
    splitmix64(wall_clock_ms() ^ micros.rotate_left(32) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

// SplitMix64's finaliser: nearby inputs (two consoles a millisecond apart)
// give unrelated seeds.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A Blob URL for `bytes` of type `mime` (revoke it with
/// `URL.revokeObjectURL` when done); `None` if the browser refuses.
pub fn blob_url(bytes: &[u8], mime: &str) -> Option<String> {
    let arr = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&arr);
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
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

/// Opens a browser sipcdr session: the API at `api_url` (a path is resolved
/// against the page) with its `token`, over fetch. The JS package's
/// `SipCdrClient` and the console's records page open it this one way.
pub fn open_sipcdr(api_url: &str, token: &str) -> Result<crate::core::SipCdrSession<FetchClient>, Error> {
    let api = crate::api::sipcdr::SipCdrApi::new(&resolve_url(api_url), token)?;
    Ok(crate::core::SipCdrSession::new(api, FetchClient))
}

/// Opens a browser dapi session for the app user `uid` against `base_url`
/// (a path is resolved against the page), over fetch: the JS package's
/// `DapiClient` and the console's softphone open it this one way.
pub fn open_dapi(
    base_url: &str,
    uid: crate::api::dapi::Uid,
) -> Result<crate::core::DapiSession<FetchClient>, Error> {
    let api = crate::api::dapi::DapiApi::new(&resolve_url(base_url))?;
    Ok(crate::core::DapiSession::new(api, uid, FetchClient))
}

/// Opens a browser PBX session (fetch, the monotonic clock, paths resolved
/// against the page) from settings.
pub fn open_pbx(settings: &PbxSettings) -> Result<Opened<FetchClient>, Error> {
    let mut opened = settings.open(FetchClient, Rc::new(now), resolve_url)?;
    opened.session = opened.session.with_jitter_seed(jitter_seed());
    Ok(opened)
}
