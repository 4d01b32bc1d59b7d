//! Events to consoles: `GET /events`, a Server-Sent Events stream per
//! session. Every event is stored first ([`crate::store`]), then sent live to
//! the agent's open streams; a stream that resumes (`Last-Event-ID`, or
//! `?after=ID` after a reload) is replayed what it missed from the store, so
//! a dropped connection or a gateway restart loses none.

use crate::store::StoredEvent;
use crate::{lock, Shared};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;

/// Events buffered per agent for slow streams; one that falls further
/// behind is closed and resumes from the store.
const LIVE_BUFFER: usize = 256;

/// The live side: one broadcast channel per agent with an open stream.
#[derive(Default)]
pub struct Hub {
    by_login: Mutex<HashMap<String, broadcast::Sender<StoredEvent>>>,
}

impl Hub {
    /// Sends `e` to its agent's open streams (none open: nothing to do, the
    /// store has it).
    pub fn publish(&self, e: StoredEvent) {
        let mut map = lock(&self.by_login);
        if let Some(tx) = map.get(&e.login) {
            if tx.send(e.clone()).is_err() {
                // Every receiver is gone: drop the channel.
                map.remove(&e.login);
            }
        }
    }

    fn subscribe(&self, login: &str) -> broadcast::Receiver<StoredEvent> {
        let mut map = lock(&self.by_login);
        // Channels whose streams all closed are dropped as we pass.
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(login.to_string()).or_insert_with(|| broadcast::channel(LIVE_BUFFER).0).subscribe()
    }
}

/// `?after=ID`.
#[derive(Deserialize)]
pub struct After {
    after: Option<i64>,
}

fn sse_event(e: &StoredEvent) -> Event {
    Event::default().id(e.id.to_string()).event(e.kind.clone()).data(e.data.clone())
}

/// `GET /events`.
pub async fn stream(State(gw): State<Shared>, headers: HeaderMap, Query(q): Query<After>) -> Response {
    let Some((_, login, _)) = gw.signed_in(&headers) else {
        return (StatusCode::UNAUTHORIZED, "not signed in").into_response();
    };
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(q.after);
    // Subscribe before reading the store, so nothing falls between the two.
    let rx = gw.hub.subscribe(&login);
    let replay = match resume {
        Some(after) => gw.store.events_after(login.clone(), after).await,
        None => Ok(Vec::new()),
    };
    let start = match resume {
        Some(after) => Ok(after),
        None => gw.store.last_event_id().await,
    };
    let (Ok(replay), Ok(start)) = (replay, start) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "store unavailable").into_response();
    };
    let last = replay.last().map_or(start, |e| e.id);
    let state = (VecDeque::from(replay), rx, last);
    let events = futures_util::stream::unfold(state, |(mut replay, mut rx, last)| async move {
        if let Some(e) = replay.pop_front() {
            let ev = sse_event(&e);
            return Some((Ok::<_, Infallible>(ev), (replay, rx, last.max(e.id))));
        }
        loop {
            match rx.recv().await {
                Ok(e) if e.id > last => {
                    let ev = sse_event(&e);
                    return Some((Ok(ev), (replay, rx, e.id)));
                }
                Ok(_) => continue,
                // Too far behind, or the gateway is closing: end; the browser
                // reconnects with Last-Event-ID and is replayed from the store.
                Err(_) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}
