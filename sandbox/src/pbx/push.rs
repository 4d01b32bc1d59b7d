//! The billing push websocket (话单推送) and the background ticker that drives it.
//!
//! The vendor serves `wss://HOST:8282/?user_id=billing&token=ACCESS_TOKEN`; the sandbox
//! serves the same at `/push/` on its main port (and at `/` of `--push-port`). The token
//! is checked once, at connect: a wrong `user_id` or an unknown/expired token is refused
//! with HTTP 401 before the upgrade. Every CDR row written while a socket is open is
//! sent within a tick as a text frame `{"type":"billing","data":[row…]}` (the `cdr/list`
//! fields plus `id`). The ticker also applies the `dropSocketsEveryMs` knob (the socket
//! is dropped without a close frame, like a network failure) and each socket pings every
//! 20 s.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::cdr::CdrRow;
use super::{query_map, query_value, PbxState};
use crate::envelope::unauthenticated;
use crate::{AppState, Clock};

/// How often the ticker advances the state and flushes the push queue.
pub const TICK: Duration = Duration::from_millis(250);
/// How often each socket is pinged.
pub const PING_EVERY: Duration = Duration::from_secs(20);

/// What the hub tells a socket task.
#[derive(Debug)]
pub enum PushMsg {
    /// A text frame to send.
    Frame(String),
    /// Drop the connection now (the `dropSocketsEveryMs` knob).
    Drop,
}

/// One open billing socket.
#[derive(Debug)]
pub struct Subscriber {
    /// Its id (for unregistering).
    pub id: u64,
    /// Where its frames go.
    pub tx: mpsc::UnboundedSender<PushMsg>,
    /// When it connected (sandbox ms).
    pub connected_ms: i64,
}

/// Open sockets, rows waiting for the next flush, counters.
#[derive(Debug, Default)]
pub struct PushHub {
    /// Open sockets.
    pub subscribers: Vec<Subscriber>,
    next_id: u64,
    /// Billing rows (serialised, in the seed's key order) not yet sent.
    pending: Vec<String>,
    /// Frames sent (to any socket).
    pub frames: u64,
    /// Rows pushed (each counted once, however many sockets got it).
    pub rows: u64,
    /// Sockets dropped by the knob.
    pub dropped: u64,
}

impl PushHub {
    /// Queues a freshly written row, if anyone listens (push is best-effort: a client
    /// that connects later fills its gap from `cdr/list`).
    pub fn queue_row(&mut self, row: &CdrRow) {
        if self.subscribers.is_empty() {
            return;
        }
        if let Ok(text) = serde_json::to_string(&row.billing()) {
            self.pending.push(text);
        }
    }

    /// Registers a socket; returns its id.
    pub fn register(&mut self, tx: mpsc::UnboundedSender<PushMsg>, now_ms: i64) -> u64 {
        self.next_id += 1;
        self.subscribers.push(Subscriber { id: self.next_id, tx, connected_ms: now_ms });
        self.next_id
    }

    /// Forgets socket `id`.
    pub fn unregister(&mut self, id: u64) {
        self.subscribers.retain(|s| s.id != id);
    }

    /// The hub for the state dump.
    pub fn dump(&self) -> Value {
        json!({
            "sockets": self.subscribers.iter().map(|s| json!({"id": s.id, "connectedMs": s.connected_ms})).collect::<Vec<_>>(),
            "pending": self.pending.len(),
            "frames": self.frames,
            "rows": self.rows,
            "dropped": self.dropped,
        })
    }
}

impl PbxState {
    /// Sends the pending rows as one frame to every socket, then drops each socket with
    /// probability `elapsed_ms / dropSocketsEveryMs`.
    pub fn flush_push(&mut self, elapsed_ms: f64) {
        let PbxState { push, fault_rng, cfg, .. } = self;
        if !push.pending.is_empty() {
            let frame = format!(r#"{{"type":"billing","data":[{}]}}"#, push.pending.join(","));
            let rows = push.pending.len() as u64;
            push.pending.clear();
            push.subscribers.retain(|s| s.tx.send(PushMsg::Frame(frame.clone())).is_ok());
            push.frames += push.subscribers.len() as u64;
            push.rows += rows;
        }
        if cfg.drop_sockets_every_ms > 0 {
            let p = elapsed_ms / cfg.drop_sockets_every_ms as f64;
            let mut dropped = 0;
            push.subscribers.retain(|s| {
                if fault_rng.chance(p) {
                    let _ = s.tx.send(PushMsg::Drop);
                    dropped += 1;
                    false
                } else {
                    true
                }
            });
            push.dropped += dropped;
        }
    }
}

/// `GET /push/?user_id=billing&token=…` (and `/` of `--push-port`): the billing socket.
pub async fn connect(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let q = query_map(raw.as_deref());
    let now = state.clock.now_ms();
    let user_ok = query_value(&q, "user_id") == Some("billing");
    let token_ok = query_value(&q, "token").is_some_and(|t| state.pbx().tokens.access_valid(t, now));
    if !user_ok || !token_ok {
        return unauthenticated();
    }
    match ws {
        Ok(ws) => ws.on_upgrade(move |socket| serve_socket(state, socket)),
        Err(rejection) => rejection.into_response(),
    }
}

/// One socket's life: frames from the hub out, pings every 20 s, until either side
/// closes or the hub drops it.
async fn serve_socket(state: AppState, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = state.pbx().push.register(tx, state.clock.now_ms());
    let start = tokio::time::Instant::now() + PING_EVERY;
    let mut ping = tokio::time::interval_at(start, PING_EVERY);
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                // The vendor's socket is one-way; anything the client says is ignored.
                Some(Ok(_)) => {}
            },
            out = rx.recv() => match out {
                Some(PushMsg::Frame(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                // Dropped by the knob (or the hub went away): no close frame.
                Some(PushMsg::Drop) | None => break,
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    state.pbx().push.unregister(id);
}

/// The router of `--push-port`: the billing socket at `/`, as the vendor serves it.
pub fn standalone_router(state: AppState) -> Router {
    start_ticker(&state);
    Router::new().route("/", get(connect)).with_state(state)
}

/// Starts the PBX's background ticker, once, if a tokio runtime is running (without
/// one, every request still advances the state itself). The ticker holds only a weak
/// reference and stops when the state is dropped.
pub fn start_ticker(state: &AppState) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    {
        let mut p = state.pbx();
        if p.ticker_started {
            return;
        }
        p.ticker_started = true;
    }
    tokio::spawn(tick(Arc::downgrade(&state.pbx), state.clock.clone()));
}

async fn tick(pbx: Weak<Mutex<PbxState>>, clock: Clock) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = Instant::now();
    loop {
        interval.tick().await;
        let Some(pbx) = pbx.upgrade() else {
            return;
        };
        let elapsed = last.elapsed().as_secs_f64() * 1000.0;
        last = Instant::now();
        let mut p = pbx.lock().unwrap_or_else(|e| e.into_inner());
        let now = clock.now_ms().max(p.sim_ms);
        p.advance(now);
        p.flush_push(elapsed);
    }
}
