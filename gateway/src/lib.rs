//! # agent-console-gateway
//!
//! The server side of a deployment: it holds the vendor credentials, signs,
//! keeps shared state in SQLite, and lets each agent do exactly what the
//! agent's role allows. Consoles sign in with the agent's own login
//! (`/session`) and call the vendors' own paths on the gateway, so the
//! library's wire layer is the same as against the vendors.
//!
//! Where things are: `config` (the TOML file), `session` (sign-in, cookies,
//! limits), `store` (SQLite), `upstream` (calls to the vendors), `events`
//! (the SSE stream to consoles), and one folder a vendor (`pbx/` with its
//! `rules`, `callback/`, `dapi/`).

// Nothing from outside may panic: server code decodes to typed errors.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod callback;
pub mod config;
pub mod dapi;
pub mod error;
pub mod events;
pub mod pbx;
pub mod session;
pub mod sipcdr;
pub mod store;
pub mod upstream;

use crate::config::{AgentConfig, Config, Role};
use crate::pbx::rules::{self, Actor, Decision};
use crate::pbx::{Pbx, Reply};
use crate::session::{CallRate, FailureLimit, Sessions};
use crate::store::{AuditRow, Store};
use crate::upstream::Upstream;
use agent_console_wire::http::Method as WireMethod;
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, Path, Query, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub use error::GatewayError;

/// Password checks (argon2, ~19 MiB each) run at once; more wait.
const MAX_HASHING: usize = 4;

/// Largest sign-in body read.
const MAX_SIGNIN_BODY: usize = 4 * 1024;

/// Everything the handlers share.
pub struct Gateway {
    pub(crate) config: Config,
    sessions: Mutex<Sessions>,
    failures: Mutex<FailureLimit>,
    pub(crate) calls: Mutex<CallRate>,
    pbx: Pbx,
    pub(crate) up: Upstream,
    pub(crate) store: Store,
    pub(crate) hub: events::Hub,
    pub(crate) dapi_known: dapi::Known,
    pub(crate) sipcdr: Option<Arc<sipcdr::SipCdr>>,
    // Password checks running at once.
    hashing: tokio::sync::Semaphore,
    // Verified against when the login is unknown, so a wrong login takes as
    // long as a wrong password.
    dummy_hash: String,
}

pub(crate) type Shared = Arc<Gateway>;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain maps: a panicked holder cannot leave them half-written in a way
    // that matters more than refusing every request would.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Gateway {
    /// A gateway for `config`, its database opened.
    pub fn new(config: Config) -> Result<Shared, GatewayError> {
        let store = Store::open(&config.data)?;
        let pbx = Pbx::new(&config.pbx).map_err(GatewayError::Config)?;
        let up = Upstream::new().map_err(GatewayError::Config)?;
        let dummy_hash = session::hash_password("not a password").map_err(GatewayError::Hash)?;
        let sipcdr = match &config.sipcdr {
            Some(c) => Some(Arc::new(sipcdr::SipCdr::new(c).map_err(GatewayError::Config)?)),
            None => None,
        };
        Ok(Arc::new(Self {
            config,
            sessions: Mutex::default(),
            failures: Mutex::default(),
            calls: Mutex::default(),
            pbx,
            up,
            store,
            hub: events::Hub::default(),
            dapi_known: dapi::Known::default(),
            sipcdr,
            hashing: tokio::sync::Semaphore::new(MAX_HASHING),
            dummy_hash,
        }))
    }

    /// Starts the background work (the sipcdr sync); call once, inside
    /// the tokio runtime.
    pub fn start(gw: &Shared) {
        sipcdr::start(gw);
        pbx::billing::start(gw);
        let gw = gw.clone();
        // Retention: at start, then hourly.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let keep_ms = i64::from(gw.config.retention_days()) * 86_400_000;
                if let Err(e) = gw.store.prune(now_ms() - keep_ms).await {
                    eprintln!("gateway: pruning old rows failed (retried in an hour): {e}");
                }
            }
        });
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Sessions held now.
    pub fn session_count(&self) -> usize {
        lock(&self.sessions).len()
    }

    pub(crate) async fn audit(&self, login: &str, action: String, target: String, result: String) {
        let row = AuditRow { at_ms: now_ms(), login: login.to_string(), action, target, result };
        if let Err(e) = self.store.audit(row).await {
            eprintln!("gateway: audit write failed: {e}");
        }
    }

    /// The signed-in agent's session id and config (`None`: signed out, or
    /// no longer in the file).
    pub(crate) fn signed_in_agent(&self, headers: &HeaderMap) -> Option<(String, AgentConfig)> {
        let (id, login, _) = self.signed_in(headers)?;
        Some((id, self.config.agent(&login)?.clone()))
    }

    /// Whether session `id` is still signed in (an event stream checks).
    pub(crate) fn session_alive(&self, id: &str) -> bool {
        lock(&self.sessions).get(id, Instant::now()).is_some()
    }

    /// The signed-in agent of a request: (session id, login, role).
    pub(crate) fn signed_in(&self, headers: &HeaderMap) -> Option<(String, String, Role)> {
        let id = session::cookie_session(headers)?;
        let mut all = lock(&self.sessions);
        let s = all.get(&id, Instant::now())?;
        // Looked up again: an agent taken out of the file loses access.
        let a = self.config.agent(&s.login)?;
        Some((id.clone(), a.login.clone(), a.role))
    }
}

/// The gateway's routes.
pub fn app(gw: Shared) -> Router {
    let mut router = Router::new()
        .route("/session", get(session_get).post(session_post).delete(session_delete))
        .route("/audit", get(audit_get))
        .route(
            "/dscom-api/public/oauth/token",
            any(|| async { pbx_reply(Reply::envelope(404, "不开放（not open）")) }),
        )
        .route("/dscom-api/public/api/v1/{*route}", any(pbx_proxy))
        .route("/events", get(events::stream))
        .route(agent_console_wire::callback::CALL_PATH, post(callback::proxy))
        .route(agent_console_wire::callback::END_CALL_PATH, post(callback::proxy))
        .route(agent_console_wire::callback::RECORD_PATH, post(callback::proxy))
        .route("/hooks/callback", post(callback::hook))
        .route("/dapi/{*route}", any(dapi::proxy))
        .route("/d/upload", post(dapi::upload))
        .route("/hooks/dapi", post(dapi::hook))
        .route("/sipcdr", post(sipcdr::proxy))
        .with_state(gw.clone());
    if let Some(www) = &gw.config.www {
        router = router.fallback_service(tower_http::services::ServeDir::new(www));
    }
    router.layer(middleware::from_fn(origin_guard))
}

/// Refuses a state-changing request from a foreign page before any handler.
async fn origin_guard(req: Request, next: Next) -> Response {
    if session::foreign_origin(req.method(), req.headers()) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"code": "foreign_origin", "message": "来自其他网站的请求已拒绝（A request from another site was refused）"})),
        )
            .into_response();
    }
    next.run(req).await
}

fn error(status: StatusCode, code: &str, zh: &str, en: &str) -> Response {
    (status, Json(json!({"code": code, "message": format!("{zh}（{en}）")}))).into_response()
}

#[derive(Deserialize)]
struct SignIn {
    login: String,
    password: String,
}

async fn session_post(
    State(gw): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(bytes) = to_bytes(body, MAX_SIGNIN_BODY).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "请求过大", "The request is too large");
    };
    let Ok(SignIn { login, password }) = serde_json::from_slice::<SignIn>(&bytes) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "需要 login 和 password",
            "login and password are required",
        );
    };
    let now = Instant::now();
    let ip = format!("ip:{}", session::client_address(peer.ip(), &headers));
    let user = format!("login:{login}");
    let pair = format!("pair:{login}|{ip}");
    let keys = [
        (&pair, session::MAX_FAILURES),
        (&user, session::MAX_LOGIN_FAILURES),
        (&ip, session::MAX_ADDRESS_FAILURES),
    ];
    {
        let mut f = lock(&gw.failures);
        if let Some(wait) = keys.iter().find_map(|(k, max)| f.check(k, *max, now).err()) {
            let mins = wait.as_secs().div_ceil(60).max(1);
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                &format!("登录失败次数过多，请 {mins} 分钟后再试"),
                &format!("Too many failed sign-ins: try again in {mins} min"),
            );
        }
        // Counted before the (slow) check, so parallel guesses cannot all
        // pass the limit; taken back below when the password is right.
        keys.iter().for_each(|(k, _)| f.fail(k, now));
    }
    let agent = gw.config.agent(&login).cloned();
    let hash = agent.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| gw.dummy_hash.clone());
    // argon2 takes ~19 MiB a check: a few at a time, whatever the flood.
    let Ok(_permit) = gw.hashing.acquire().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "busy", "服务繁忙", "The gateway is busy");
    };
    let ok = tokio::task::spawn_blocking(move || session::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(agent) = agent.filter(|_| ok) else {
        // Not the login as typed: a password typed into the login box must
        // not end up in the audit log supervisors read.
        let who = if gw.config.agent(&login).is_some() { login.as_str() } else { "(unknown login)" };
        gw.audit(who, "POST /session".into(), String::new(), "refused: wrong login or password".into()).await;
        return error(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "登录名或密码错误",
            "Wrong login or password",
        );
    };
    {
        let mut f = lock(&gw.failures);
        f.clear(&pair);
        f.forgive_one(&user);
        f.forgive_one(&ip);
    }
    let id = lock(&gw.sessions).create(&agent, now);
    gw.audit(&agent.login, "POST /session".into(), agent.extension.clone(), "signed in".into()).await;
    let cookie = session::set_cookie(&id, session::behind_https(&headers));
    let mut resp = Json(session::profile(&agent)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn session_get(State(gw): State<Shared>, headers: HeaderMap) -> Response {
    match gw.signed_in(&headers).and_then(|(_, login, _)| gw.config.agent(&login).cloned()) {
        Some(a) => Json(session::profile(&a)).into_response(),
        None => error(StatusCode::UNAUTHORIZED, "signed_out", "未登录", "Not signed in"),
    }
}

async fn session_delete(State(gw): State<Shared>, headers: HeaderMap) -> Response {
    if let Some((id, login, _)) = gw.signed_in(&headers) {
        lock(&gw.sessions).remove(&id);
        gw.audit(&login, "DELETE /session".into(), String::new(), "signed out".into()).await;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<u32>,
}

async fn audit_get(State(gw): State<Shared>, headers: HeaderMap, Query(q): Query<AuditQuery>) -> Response {
    match gw.signed_in(&headers) {
        None => error(StatusCode::UNAUTHORIZED, "signed_out", "未登录", "Not signed in"),
        Some((_, _, Role::Agent)) => error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "审计日志仅班长可以查看",
            "The audit log is for supervisors only",
        ),
        Some(_) => match gw.store.audit_log(q.limit.unwrap_or(100)).await {
            Ok(rows) => Json(rows).into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", "审计日志读取失败", &e.to_string()),
        },
    }
}

fn pbx_reply(r: Reply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, [(header::CONTENT_TYPE, "application/json")], Bytes::from(r.body)).into_response()
}

async fn pbx_proxy(
    State(gw): State<Shared>,
    method: Method,
    Path(route): Path<String>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some((session_id, agent)) = gw.signed_in_agent(&headers) else {
        return pbx_reply(Reply::envelope(401, "请先登录（Sign in first）"));
    };
    let login = agent.login.clone();
    let Ok(bytes) = to_bytes(body, pbx::MAX_REQUEST_BODY).await else {
        return pbx_reply(Reply::envelope(413, "请求过大（The request is too large）"));
    };
    let json_body: Option<Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(_) => return pbx_reply(Reply::envelope(400, "请求体不是 JSON（The body is not JSON）")),
        }
    };
    let raw_query = raw_query.unwrap_or_default();
    let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect();
    let action = format!("{method} {route}");
    let target = rules::target(&query, json_body.as_ref());
    let who = Actor { extension: &agent.extension, agent_id: &agent.agent_id, role: agent.role };
    let decision = {
        let mut all = lock(&gw.sessions);
        let Some(s) = all.get(&session_id, Instant::now()) else {
            return pbx_reply(Reply::envelope(401, "请先登录（Sign in first）"));
        };
        rules::decide(who, s, method.as_str(), &route, &query, json_body.as_ref())
    };
    if let Decision::Refuse(why) = &decision {
        gw.audit(&login, action, target, format!("refused: {}", why.en)).await;
        return pbx_reply(Reply::envelope(why.status, &why.message()));
    }
    if rules::RATE_LIMITED.contains(&route.as_str()) {
        let taken = lock(&gw.calls).take(&login, Instant::now());
        if let Err(wait) = taken {
            let secs = wait.as_secs().max(1);
            gw.audit(&login, action, target, "refused: call rate".into()).await;
            let msg = format!("呼叫过于频繁，请 {secs} 秒后再试（Too many calls: try again in {secs} s）");
            return pbx_reply(Reply::envelope(429, &msg));
        }
    }
    let wire_method = match method {
        Method::GET => WireMethod::Get,
        Method::PUT => WireMethod::Put,
        _ => WireMethod::Post,
    };
    let text = json_body.as_ref().map(|_| String::from_utf8_lossy(&bytes).into_owned());
    let outcome = match &decision {
        Decision::ForwardOwn(rules::OwnRows::Voicemail(ext)) => {
            gw.pbx.own_voicemail(&gw.up, &query, ext).await
        }
        Decision::ForwardOwn(own) => gw
            .pbx
            .forward(&gw.up, wire_method, &route, &raw_query, text)
            .await
            .map(|resp| pbx::keep_own_rows(resp, own)),
        _ => gw
            .pbx
            .forward(&gw.up, wire_method, &route, &raw_query, text)
            .await
            .map(|resp| Reply { status: resp.status, body: resp.body }),
    };
    let reply = match outcome {
        Ok(r) => r,
        Err(e) => {
            gw.audit(&login, action, target, format!("upstream failed: {e}")).await;
            return pbx_reply(Reply::envelope(
                502,
                &format!("无法连接 PBX（The PBX could not be reached: {e}）"),
            ));
        }
    };
    if method == Method::GET && (route == "cdr" || route == "voicemail") {
        let (recordings, ids) = pbx::shown(&reply.body);
        let mut all = lock(&gw.sessions);
        if let Some(s) = all.get(&session_id, Instant::now()) {
            recordings.iter().for_each(|r| s.recordings.insert(r));
            if route == "voicemail" {
                ids.iter().for_each(|i| s.voicemails.insert(i));
            }
        }
    }
    // Actions are audited; reads (the consoles' polling) only when refused.
    if method != Method::GET {
        let code = serde_json::from_slice::<Value>(&reply.body)
            .ok()
            .and_then(|v| upstream::scalar(&v, "code"))
            .unwrap_or_default();
        gw.audit(&login, action, target, format!("forwarded {} {code}", reply.status)).await;
    }
    pbx_reply(reply)
}
