//! Events to consoles: `GET /events`, a Server-Sent Events stream per
//! session. Every event is stored first ([`crate::store`]); the live side
//! is only a doorbell: a stream woken reads what follows its last id from
//! the store, in order, in pages. So events stored out of order by parallel
//! webhooks, a stream that resumes (`Last-Event-ID`, or `?after=ID` after a
//! reload), a slow stream and a gateway restart all lose none.

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

/// Doorbell rings buffered per agent (a stream that misses some reads the
/// store anyway).
const LIVE_BUFFER: usize = 16;
/// Events read from the store per page.
const PAGE: usize = 100;

/// The live side: one broadcast channel per agent with an open stream.
#[derive(Default)]
pub struct Hub {
    by_login: Mutex<HashMap<String, broadcast::Sender<i64>>>,
}

impl Hub {
    /// Sends `e` to its agent's open streams (none open: nothing to do, the
    /// store has it).
    pub fn publish(&self, e: StoredEvent) {
        let mut map = lock(&self.by_login);
        if let Some(tx) = map.get(&e.login) {
            if tx.send(e.id).is_err() {
                // Every receiver is gone: drop the channel.
                map.remove(&e.login);
            }
        }
    }

    fn subscribe(&self, login: &str) -> broadcast::Receiver<i64> {
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
    let Some((session_id, login, _)) = gw.signed_in(&headers) else {
        return (StatusCode::UNAUTHORIZED, "not signed in").into_response();
    };
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(q.after);
    // Where to start, then subscribe: an event stored in between is read
    // from the store on the first pass.
    let start = match resume {
        Some(after) => after,
        None => match gw.store.last_event_id().await {
            Ok(id) => id,
            Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "store unavailable").into_response(),
        },
    };
    let rx = gw.hub.subscribe(&login);
    let state = (gw, session_id, login, VecDeque::<StoredEvent>::new(), rx, start);
    let events = futures_util::stream::unfold(state, |(gw, sid, login, mut page, mut rx, last)| async move {
        loop {
            if let Some(e) = page.pop_front() {
                let ev = sse_event(&e);
                return Some((Ok::<_, Infallible>(ev), (gw, sid, login, page, rx, e.id)));
            }
            // A signed-out or expired session's stream ends.
            if !gw.session_alive(&sid) {
                return None;
            }
            match gw.store.events_after(login.clone(), last).await {
                Ok(rows) if !rows.is_empty() => {
                    page.extend(rows.into_iter().take(PAGE));
                    continue;
                }
                Ok(_) => {}
                Err(_) => return None,
            }
            match rx.recv().await {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}
