//! A stateful, in-memory stand-in for the vendor backends agent-console talks to.
//!
//! So far it implements four of them, each in its own module with its own router,
//! mounted under the vendor's path prefix by [`app`]:
//! - [`pbx`]: the PBX / call centre ("dscom-api", seed 003) under `/dscom-api/public`:
//!   OAuth token, call control, agents, status, voicemail, CDRs, TTS, over a moving
//!   simulation of queue callers; recordings at `/monitor/…` and `/voicemail/…`, the
//!   billing websocket at `/push/`;
//! - [`callback`]: the two-way callback API (seed 002): signed `call`, `endCall` and
//!   `record` under `/api/qmc-call` and `/api/qmc-cdr`, a status webhook, WAV recordings,
//!   and a clock of its own that can be skewed;
//! - [`sipcdr`]: the SIP call-record API (seed 004): `POST /sipcdr` GetBill over a
//!   deterministic, ever-growing stream of bills, with per-token read state;
//! - [`dapi`]: the RTC voice-call server (seeds 000, 001): calls between app users over
//!   stand-in Agora channels under `/dapi`, call messages, events, heartbeats, the robot,
//!   scheduled robot calls, `POST /d/upload` with `/media/...`, and the call-record webhook.
//!
//! Sandbox-only routes (state dump, clock, the callback signer and knobs, the sipcdr
//! failure knob, the dapi knobs and RTC stand-in, the PBX simulation knobs) live under
//! `/sandbox`; no vendor has them. The wire decisions for callback and sipcdr are
//! recorded in `docs/callback-sipcdr.md`, those for dapi in `docs/dapi.md`, those for
//! the PBX desk in `docs/pbx-desk.md`.
//!
//! Tests drive [`app`] directly with `tower::ServiceExt::oneshot`; the `sandbox` binary
//! serves it on a port.

// Nothing from outside may panic (a panicking handler drops its request and may poison state):
// server code decodes to typed errors. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![deny(clippy::await_holding_refcell_ref)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{header, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;

pub mod callback;
pub mod clock;
pub mod dapi;
pub mod envelope;
pub mod inspect;
pub mod pbx;
pub mod sipcdr;
pub mod wav;

pub use clock::Clock;
pub use pbx::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_EXTENSIONS, DEMO_PASSWORD, DEMO_USERNAME, UNREGISTERED_EXTENSION,
};

/// Default `--addr`.
pub const DEFAULT_ADDR: &str = "127.0.0.1";
/// Default `--port`.
pub const DEFAULT_PORT: u16 = 8081;
/// Default `--token-ttl`, seconds: the seed's `expires_in: 1800`.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 1800;
/// Default `--answer-delay-ms`: how long a dialled call rings before it is answered.
pub const DEFAULT_ANSWER_DELAY_MS: u64 = 1500;

/// Run-time settings; also the `sandbox` binary's command line.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "sandbox", version, about = "In-memory stand-in for the agent-console vendor backends")]
pub struct Settings {
    /// Address to bind.
    #[arg(long, default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// Port to bind; 0 picks a free port (read it from the "listening" line).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Access-token lifetime in seconds (`expires_in`).
    #[arg(long = "token-ttl", default_value_t = DEFAULT_TOKEN_TTL_SECS)]
    pub token_ttl: u64,
    /// How long a dialled call rings before it is answered, in milliseconds.
    #[arg(long = "answer-delay-ms", default_value_t = DEFAULT_ANSWER_DELAY_MS)]
    pub answer_delay_ms: u64,
    /// Issue `"refresh_token": ""` like the seed's examples, forcing password re-login.
    #[arg(long = "no-refresh-token")]
    pub no_refresh_token: bool,
    /// Also serve static files from this directory at `/` (same-origin console tests),
    /// with the strict page headers of [`WWW_HEADERS`] (a call centre's CSP).
    #[arg(long)]
    pub www: Option<PathBuf>,
    /// Serve `--www` without the Content-Security-Policy header (to tell whether a
    /// failure is the CSP's); the other page headers stay.
    #[arg(long = "www-no-csp")]
    pub www_no_csp: bool,
    /// Offset of the callback server's clock from the sandbox clock, in seconds (may be
    /// negative): skews only the callback API (signature window, times, recording expiry).
    #[arg(long = "callback-clock-offset-secs", default_value_t = 0, allow_negative_numbers = true)]
    pub callback_clock_offset_secs: i64,
    /// Where the callback server POSTs call-status notifications (`http://` only).
    #[arg(long = "callback-webhook-url")]
    pub callback_webhook_url: Option<String>,
    /// The dapi `channel_heartbeat`, seconds (1-3600): a uid in a channel that sends
    /// nothing for a period (see --dapi-heartbeat-deadline-pct) is dropped and its call
    /// ended.
    #[arg(
        long = "dapi-heartbeat-secs",
        default_value_t = dapi::DEFAULT_HEARTBEAT_SECS,
        value_parser = clap::value_parser!(u64).range(1..=dapi::MAX_HEARTBEAT_SECS)
    )]
    pub dapi_heartbeat_secs: u64,
    /// How long a uid in a dapi channel may send nothing before it is dropped, percent of
    /// `channel_heartbeat` (50-1000): 100 is the seed's "within every period"; 200 is the
    /// old, forgiving sandbox.
    #[arg(
        long = "dapi-heartbeat-deadline-pct",
        default_value_t = dapi::DEFAULT_HEARTBEAT_DEADLINE_PCT,
        value_parser = clap::value_parser!(u64).range(50..=1000)
    )]
    pub dapi_heartbeat_deadline_pct: u64,
    /// How long dapi `call/heartbeat` waits before it answers, ms (0-60000); the beat
    /// counts when it arrives. A slow network, for testing heartbeat scheduling.
    #[arg(
        long = "dapi-heartbeat-reply-delay-ms",
        default_value_t = 0,
        value_parser = clap::value_parser!(u64).range(0..=dapi::MAX_HEARTBEAT_REPLY_DELAY_MS)
    )]
    pub dapi_heartbeat_reply_delay_ms: u64,
    /// Where the dapi server POSTs ended call records (`http://` only).
    #[arg(long = "dapi-webhook-url", value_parser = dapi::webhook::parse_url_arg)]
    pub dapi_webhook_url: Option<String>,
    /// Also serve the PBX billing websocket at `/` of this port (the vendor's `:8282`);
    /// it is always at `/push/` of the main port.
    #[arg(long = "push-port")]
    pub push_port: Option<u16>,
    /// Seed of the PBX simulation's random generator (same seed, same traffic).
    #[arg(long = "pbx-seed", default_value_t = pbx::DEFAULT_SEED)]
    pub pbx_seed: u64,
    /// Start the PBX with `autoCallers` off (no queue callers until
    /// `POST /sandbox/pbx/settings {"autoCallers": true}` or `/sandbox/pbx/callers`).
    #[arg(long = "pbx-no-callers")]
    pub pbx_no_callers: bool,
    /// The PBX's queue numbers, comma-separated (`--pbx-queues 610,620`): callers arrive
    /// in the first; the demo rosters are the first two. A real site's queues are its
    /// own; the seed's examples (200, 300) are the default.
    #[arg(long = "pbx-queues", value_delimiter = ',', default_value = "200,300", value_parser = pbx::parse_queue_arg)]
    pub pbx_queues: Vec<String>,
    /// Also give the PBX this registered PJSIP extension, named as sites name them
    /// (`alice`, `reception.1`); repeatable. Real endpoints are not only digits.
    #[arg(long = "pbx-extension", value_name = "NAME", value_parser = pbx::parse_extension_name)]
    pub pbx_extensions: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR.to_string(),
            port: DEFAULT_PORT,
            token_ttl: DEFAULT_TOKEN_TTL_SECS,
            answer_delay_ms: DEFAULT_ANSWER_DELAY_MS,
            no_refresh_token: false,
            www: None,
            www_no_csp: false,
            callback_clock_offset_secs: 0,
            callback_webhook_url: None,
            dapi_heartbeat_secs: dapi::DEFAULT_HEARTBEAT_SECS,
            dapi_heartbeat_deadline_pct: dapi::DEFAULT_HEARTBEAT_DEADLINE_PCT,
            dapi_heartbeat_reply_delay_ms: 0,
            dapi_webhook_url: None,
            push_port: None,
            pbx_seed: pbx::DEFAULT_SEED,
            pbx_no_callers: false,
            pbx_queues: vec![pbx::DEMO_QUEUE.to_string(), pbx::SERVICE_QUEUE.to_string()],
            pbx_extensions: Vec::new(),
        }
    }
}

/// Everything the handlers share. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    /// The settings the app was built with.
    pub settings: Arc<Settings>,
    /// The adjustable sandbox clock.
    pub clock: Clock,
    /// PBX state: tokens, extensions, live calls, CDR rows.
    pub pbx: Arc<Mutex<pbx::PbxState>>,
    /// Callback state: its clock offset, webhook URL and calls.
    pub callback: Arc<Mutex<callback::CallbackState>>,
    /// Sipcdr state: the bill generator, per-token read state, the failure knob.
    pub sipcdr: Arc<Mutex<sipcdr::SipcdrState>>,
    /// Dapi state: call records, tasks, tokens, uploads, webhooks, the knobs.
    pub dapi: Arc<Mutex<dapi::DapiState>>,
}

impl AppState {
    /// Fresh state seeded with the demo data.
    pub fn new(settings: Settings) -> Self {
        Self::with_clock(settings, Clock::new())
    }

    /// Fresh state on `clock` (a [`Clock::manual`] one for virtual-time simulations).
    pub fn with_clock(settings: Settings, clock: Clock) -> Self {
        let started = clock.now_ms();
        Self {
            callback: Arc::new(Mutex::new(callback::CallbackState::new(&settings))),
            sipcdr: Arc::new(Mutex::new(sipcdr::SipcdrState::new(started))),
            dapi: Arc::new(Mutex::new(dapi::DapiState::new(&settings))),
            pbx: Arc::new(Mutex::new(pbx::PbxState::demo(started, &settings))),
            settings: Arc::new(settings),
            clock,
        }
    }

    /// Locks the PBX state. A handler that panicked while holding the lock would poison
    /// it; the data is still consistent enough for a sandbox, so recover instead of
    /// turning every later request into a panic.
    pub fn pbx(&self) -> MutexGuard<'_, pbx::PbxState> {
        self.pbx.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the callback state, recovering from poisoning like [`AppState::pbx`].
    pub fn callback(&self) -> MutexGuard<'_, callback::CallbackState> {
        self.callback.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the sipcdr state, recovering from poisoning like [`AppState::pbx`].
    pub fn sipcdr(&self) -> MutexGuard<'_, sipcdr::SipcdrState> {
        self.sipcdr.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the dapi state, recovering from poisoning like [`AppState::pbx`].
    pub fn dapi(&self) -> MutexGuard<'_, dapi::DapiState> {
        self.dapi.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The callback server's clock: the sandbox clock plus the callback offset (ms).
    /// Takes the callback lock briefly; do not call it while holding that lock.
    pub fn callback_now_ms(&self) -> i64 {
        let offset = self.callback().offset_ms;
        self.clock.now_ms().saturating_add(offset)
    }
}

/// The whole sandbox as one router, with fresh demo state.
pub fn app(settings: Settings) -> Router {
    app_with_state(AppState::new(settings))
}

/// Like [`app`] but over caller-provided state, so a caller can keep a handle on it.
pub fn app_with_state(state: AppState) -> Router {
    let www = state.settings.www.clone();
    let csp = !state.settings.www_no_csp;
    // The sandbox-only routes of every backend share the one `/sandbox` nest (two nests
    // under the same prefix would conflict).
    let sandbox = inspect::router()
        .merge(callback::sandbox_router(state.clone()))
        .merge(sipcdr::sandbox_router())
        .merge(dapi::sandbox_router(state.clone()))
        .merge(pbx::sandbox::router());
    let mut router = Router::new()
        .nest(pbx::PREFIX, pbx::router(state.clone()))
        .merge(pbx::root_router())
        .nest(callback::CALL_PREFIX, callback::call_router(state.clone()))
        .nest(callback::CDR_PREFIX, callback::cdr_router(state.clone()))
        .merge(sipcdr::router())
        .merge(dapi::router(state.clone()))
        .nest("/sandbox", sandbox)
        .with_state(state);
    if let Some(dir) = www {
        let pages = Router::new().fallback_service(ServeDir::new(dir));
        router = router
            .fallback_service(pages.layer(middleware::map_response(move |resp| www_headers(resp, csp))));
    }
    router.layer(cors()).layer(middleware::from_fn(log_request))
}

/// The Content-Security-Policy the console must work under: what a call centre
/// serving it strictly sends (README, "Production"). Same-origin only: the
/// sandbox serves every vendor API, the recordings and the push socket itself.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
worker-src 'self'; connect-src 'self'; media-src 'self' blob:; img-src 'self' data:; base-uri 'none'; \
frame-ancestors 'none'";

/// The headers on every `--www` file: the CSP (unless `--www-no-csp`), no MIME sniffing, no referrer.
pub const WWW_HEADERS: [(&str, &str); 3] = [
    ("content-security-policy", CONSOLE_CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

async fn www_headers(mut resp: Response, csp: bool) -> Response {
    let headers = resp.headers_mut();
    for (name, value) in WWW_HEADERS {
        if name == "content-security-policy" && !csp {
            continue;
        }
        headers.insert(header::HeaderName::from_static(name), header::HeaderValue::from_static(value));
    }
    resp
}

/// Permissive CORS: wasm tests and the console run on another localhost port. `Date` is
/// exposed because the callback client estimates its clock offset from it.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT, header::ACCEPT_LANGUAGE])
        .expose_headers([header::DATE])
}

/// One stderr line per request: method, path+query, status, elapsed ms.
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let target = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let resp = next.run(req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    eprintln!("{method} {target} {} {ms:.1}ms", resp.status().as_u16());
    resp
}
