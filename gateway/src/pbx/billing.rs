//! The PBX billing push behind the gateway: one websocket for every console
//! (`?user_id=billing&token=` the gateway's token), driven by the core's
//! sans-IO [`BillingFeed`] exactly as the browser drives it: reconnects
//! with jitter, gap fills and reconciles from `cdr/list`, de-duplication.
//! New rows are kept in SQLite and sent on `/events` (`billing_cdr`) to the
//! agents whose extension is the row's `src` or `dst`, and to supervisors.
//! A restart starts the feed an hour before the newest row kept, so its
//! first fill reads from `cdr/list` what the gateway missed while down.

use super::Pbx;
use crate::config::Role;
use crate::{now_ms, Shared};
use agent_console_core::pbx::billing::{BillingEvent, BillingFeed, BillingOp, BillingSettings};
use agent_console_core::time::Instant as CoreInstant;
use agent_console_core::Error as CoreError;
use agent_console_wire::pbx::cdr::MAX_PUSH_FRAME_BYTES;
use agent_console_wire::pbx::{decode_rows, BillingQuery, Cdr, PbxApi, Reply};
use agent_console_wire::time::CstDateTime;
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// How far back a gateway with no row kept starts (the feed's look-back).
const FIRST_HISTORY_MS: i64 = 3_600_000;
/// Most a restart reads back, however long the gateway was down.
const MAX_CATCH_UP_MS: i64 = 24 * 3_600_000;
/// How often the token the socket was opened with is compared with the current one.
const TOKEN_CHECK: Duration = Duration::from_secs(15);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Pbx {
    /// One `cdr/list` page under the gateway's token.
    async fn billing_page(
        &self,
        up: &crate::upstream::Upstream,
        q: &BillingQuery,
    ) -> Result<Reply<Vec<Cdr>>, CoreError> {
        let resp = self.send_authorized(up, self.api.billing_cdr(q)).await?;
        Ok(decode_rows(&resp)?)
    }

    /// The push URL of the config, or the PBX's default (port 8282).
    fn push_url(&self) -> String {
        self.push_url
            .clone()
            .unwrap_or_else(|| agent_console_core::pbx::settings::default_push_url(self.api.base_url()))
    }
}

/// Starts the feed (one task for the gateway's life).
pub fn start(gw: &Shared) {
    let gw = gw.clone();
    tokio::spawn(async move { run(gw).await });
}

async fn connect(gw: &Shared) -> Result<(Socket, String), CoreError> {
    let token = gw.pbx.token(&gw.up).await?;
    let url = PbxApi::billing_push_url(&gw.pbx.push_url(), &token);
    let mut cfg = WebSocketConfig::default();
    cfg.max_message_size = Some(MAX_PUSH_FRAME_BYTES);
    cfg.max_frame_size = Some(MAX_PUSH_FRAME_BYTES);
    let connecting = tokio_tungstenite::connect_async_with_config(url, Some(cfg), false);
    match tokio::time::timeout(crate::upstream::TIMEOUT, connecting).await {
        Ok(Ok((ws, _))) => Ok((ws, token)),
        Ok(Err(e)) => Err(CoreError::Network(format!("billing push: {e}"))),
        Err(_) => Err(CoreError::Network("billing push: connect timed out".into())),
    }
}

async fn run(gw: Shared) {
    let started = Instant::now();
    let now = || CoreInstant::from_millis(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    // A row dated in the future (a PBX clock glitch) must not hold the
    // floor above every real row: never later than now.
    let floor = match gw.store.newest_billing_ms().await {
        Ok(Some(newest)) => (newest.min(now_ms()) - FIRST_HISTORY_MS).max(now_ms() - MAX_CATCH_UP_MS),
        _ => now_ms() - FIRST_HISTORY_MS,
    };
    let mut feed = BillingFeed::new(BillingSettings::default(), floor, rand::random());
    let mut socket: Option<(Socket, String)> = None;
    let mut next_token_check = Instant::now() + TOKEN_CHECK;
    loop {
        while let Some(op) = feed.poll_op() {
            match op {
                BillingOp::Connect => match connect(&gw).await {
                    Ok(s) => {
                        socket = Some(s);
                        feed.socket_opened(now(), now_ms());
                    }
                    Err(e) => {
                        eprintln!("gateway: {e}");
                        feed.socket_closed(now());
                    }
                },
                BillingOp::Close => {
                    if socket.take().is_some() {
                        feed.socket_closed(now());
                    }
                }
                BillingOp::Fetch { query, ticket } => {
                    let outcome = gw.pbx.billing_page(&gw.up, &query).await;
                    feed.page_fetched(now(), ticket, outcome);
                }
            }
        }
        let mut lost_from = None;
        while let Some(ev) = feed.poll_event() {
            match ev {
                BillingEvent::Records(rows) => {
                    if let Err(from) = deliver(&gw, rows).await {
                        lost_from = Some(lost_from.map_or(from, |f: i64| f.min(from)));
                    }
                }
                BillingEvent::Trouble(e) => eprintln!("gateway: billing feed: {e} (retrying)"),
                _ => {}
            }
        }
        // Rows the feed counts as seen but the store did not keep: a new
        // feed reads them again from cdr/list (the store de-duplicates).
        if let Some(from) = lost_from {
            socket = None;
            feed = BillingFeed::new(
                BillingSettings::default(),
                from.min(now_ms()) - FIRST_HISTORY_MS,
                rand::random(),
            );
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        }
        if Instant::now() >= next_token_check {
            next_token_check = Instant::now() + TOKEN_CHECK;
            let used = socket.as_ref().map(|s| s.1.clone());
            if let (Some(used), Ok(current)) = (used, gw.pbx.token(&gw.up).await) {
                if used != current {
                    socket = None;
                    feed.token_changed(now());
                    continue;
                }
            }
        }
        let wake = feed.poll_timeout().map(|t| Duration::from_millis(t.0.saturating_sub(now().0)));
        let wait =
            wake.unwrap_or(TOKEN_CHECK).min(next_token_check.saturating_duration_since(Instant::now()));
        match socket.as_mut() {
            Some((ws, _)) => {
                tokio::select! {
                    frame = ws.next() => match frame {
                        Some(Ok(Message::Text(t))) => feed.socket_frame(t.as_str()),
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                            socket = None;
                            feed.socket_closed(now());
                        }
                        // Pings are answered by the library; binary frames are not the protocol's.
                        Some(Ok(_)) => {}
                    },
                    _ = tokio::time::sleep(wait) => feed.handle_timeout(now()),
                }
            }
            None => {
                tokio::time::sleep(wait).await;
                feed.handle_timeout(now());
            }
        }
    }
}

/// Keeps new rows and, in the same transaction, an event for each agent a
/// row concerns (so a crash cannot keep a row whose events were never
/// written); then wakes their streams. `Err(earliest calldate)`: nothing
/// was kept.
async fn deliver(gw: &Shared, rows: Vec<Cdr>) -> Result<(), i64> {
    let earliest = rows
        .iter()
        .filter_map(|r| CstDateTime::parse("calldate", &r.calldate).ok().map(|t| t.epoch_ms()))
        .min()
        .unwrap_or_else(now_ms);
    let kept = rows
        .into_iter()
        .filter_map(|r| {
            let at = CstDateTime::parse("calldate", &r.calldate).map(|t| t.epoch_ms()).unwrap_or(0);
            let to: Vec<String> = gw
                .config
                .agents
                .iter()
                .filter(|a| a.role == Role::Supervisor || a.extension == r.src || a.extension == r.dst)
                .map(|a| a.login.clone())
                .collect();
            serde_json::to_string(&r).ok().map(|j| (r.key().to_string(), at, j, to))
        })
        .collect::<Vec<_>>();
    match gw.store.put_billing(kept).await {
        Ok(events) => {
            events.into_iter().for_each(|e| gw.hub.publish(e));
            Ok(())
        }
        Err(e) => {
            eprintln!("gateway: billing rows not stored (read again from cdr/list): {e}");
            Err(earliest)
        }
    }
}
