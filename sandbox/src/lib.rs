//! A stateful, in-memory stand-in for the vendor backends agent-console talks to.
//!
//! So far it implements the PBX ("dscom-api", seed 003): OAuth token, dial, hangup and
//! endpoint status. Each backend lives in its own module with its own router, mounted
//! under the vendor's path prefix by [`app`]; later backends (dapi, callback, sipcdr,
//! the billing websocket) slot in beside [`pbx`] the same way.
//!
//! Tests drive [`app`] directly with `tower::ServiceExt::oneshot`; the `sandbox` binary
//! serves it on a port.

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

pub mod clock;
pub mod envelope;
pub mod inspect;
pub mod pbx;

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
    /// Also serve static files from this directory at `/` (same-origin console tests).
    #[arg(long)]
    pub www: Option<PathBuf>,
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
}

impl AppState {
    /// Fresh state seeded with the demo data.
    pub fn new(settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
            clock: Clock::new(),
            pbx: Arc::new(Mutex::new(pbx::PbxState::demo())),
        }
    }

    /// Locks the PBX state. A handler that panicked while holding the lock would poison
    /// it; the data is still consistent enough for a sandbox, so recover instead of
    /// turning every later request into a panic.
    pub fn pbx(&self) -> MutexGuard<'_, pbx::PbxState> {
        self.pbx.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The whole sandbox as one router, with fresh demo state.
pub fn app(settings: Settings) -> Router {
    app_with_state(AppState::new(settings))
}

/// Like [`app`] but over caller-provided state, so a caller can keep a handle on it.
pub fn app_with_state(state: AppState) -> Router {
    let www = state.settings.www.clone();
    let mut router = Router::new()
        .nest(pbx::PREFIX, pbx::router(state.clone()))
        .nest("/sandbox", inspect::router())
        .with_state(state);
    if let Some(dir) = www {
        router = router.fallback_service(ServeDir::new(dir));
    }
    router.layer(cors()).layer(middleware::from_fn(log_request))
}

/// Permissive CORS: wasm tests and the console run on another localhost port.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT, header::ACCEPT_LANGUAGE])
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
