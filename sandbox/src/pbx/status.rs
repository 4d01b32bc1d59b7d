//! Status monitoring: `GET status/endpoint`, `status/queue`, `status/trunk`,
//! `status/wait`.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::model::{agent_status_zh, ds_zh, m_ss};
use super::{
    bad_query, list_json, page_of, paging, query_map, query_value, with_pbx, Odd, BACKUP_TRUNK, DEMO_TRUNK,
};
use crate::envelope::{self, PbxError};
use crate::AppState;

/// One `status/endpoint` row, exactly the seed's keys and string types.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    /// Extension number.
    pub endpoint: String,
    /// `Unavailable`, `Not in use`, `In use`, `Ringing`, `Ring+InUse` or `On Hold`.
    pub state: &'static str,
    /// `"0 of inf"`, `"1 of inf"`, …
    pub channels: String,
    /// Caller id of the extension.
    pub cid: String,
    /// Registration IP (`""` when not registered).
    #[serde(rename = "registerIp")]
    pub register_ip: String,
    /// Registration port, a string (`""` when not registered).
    #[serde(rename = "registerPort")]
    pub register_port: String,
}

/// `GET /api/v1/status/endpoint?page&pageSize&endpoint`: paged extension states;
/// `total` counts every matching row before paging.
pub async fn endpoint(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, PbxError> {
    let q = query_map(raw.as_deref());
    let (page, page_size) = paging(&q)?;
    let filter = query_value(&q, "endpoint");
    with_pbx(&state, |pbx, now| {
        let rows: Vec<EndpointRow> = pbx
            .extensions
            .iter()
            .filter(|e| filter.is_none_or(|f| e.number == f))
            .map(|e| {
                let (state, channels) = pbx.device_state(&e.number, now);
                let (ip, port) =
                    e.registration.as_ref().map(|r| (r.ip.clone(), r.port.clone())).unwrap_or_default();
                EndpointRow {
                    endpoint: e.number.clone(),
                    state,
                    channels: format!("{channels} of inf"),
                    cid: e.cid.clone(),
                    register_ip: ip,
                    register_port: port,
                }
            })
            .collect();
        let total = rows.len() as u64;
        Ok(envelope::ok(
            list_json(pbx, page_of(rows, super::served_page(pbx, page), page_size), Odd::Drop("state")),
            total,
        ))
    })
}

/// One `status/queue` row: the seed's keys; `dsStatus` and `status` are Chinese words
/// (空闲/忙碌/离线/振铃/保持; 就绪, 通话中, …) and `sampleTime` is `null`.
#[allow(missing_docs)]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueRow {
    pub agentid: String,
    pub interface_type: String,
    pub extension: String,
    pub queue: String,
    pub penalty: String,
    pub current: String,
    pub linkedid: String,
    pub ds_status: String,
    pub ds_status_duration: String,
    pub direction: String,
    pub status: String,
    pub status_desc: String,
    pub status_duration: String,
    pub calls_current: String,
    pub calls_total: String,
    pub login: String,
    pub ds_status_desc: String,
    pub sample_time: Option<String>,
}

/// `GET /api/v1/status/queue?queue_num=200`: the queue's roster (signed-out agents too,
/// as 未登录); `"400"` without `queue_num`, `[]` for an unknown queue.
pub async fn queue(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, PbxError> {
    let q = query_map(raw.as_deref());
    let queue = query_value(&q, "queue_num").ok_or_else(|| bad_query("queue_num 不能为空"))?.to_string();
    with_pbx(&state, |pbx, now| {
        let rows: Vec<QueueRow> = pbx
            .members
            .iter()
            .filter(|m| m.queue == queue)
            .map(|m| {
                let f = pbx.agent_facts(m, now);
                let status = agent_status_zh(m.status);
                let ds = ds_zh(f.ds);
                QueueRow {
                    agentid: m.agentid.clone(),
                    interface_type: "PJSIP".into(),
                    extension: m.extension.clone(),
                    queue: m.queue.clone(),
                    penalty: m.penalty.to_string(),
                    current: f.current,
                    linkedid: f.linkedid,
                    ds_status: ds.into(),
                    ds_status_desc: format!("{ds}({})", f.ds_duration),
                    ds_status_duration: f.ds_duration,
                    direction: f.direction.into(),
                    status: status.into(),
                    status_desc: format!("{status}({})", f.status_duration),
                    status_duration: f.status_duration,
                    calls_current: f.calls_current.into(),
                    calls_total: m.calls_total.to_string(),
                    login: m.calls_login.to_string(),
                    sample_time: None,
                }
            })
            .collect();
        let total = rows.len() as u64;
        if rows.is_empty() {
            Ok(envelope::ok(envelope::empty(), 0))
        } else {
            Ok(envelope::ok(list_json(pbx, rows, Odd::Garble("penalty")), total))
        }
    })
}

/// One `status/trunk` row (the seed example's keys).
#[allow(missing_docs)]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrunkRow {
    pub endpoint: String,
    pub state: &'static str,
    pub channels: String,
    pub server_ip: String,
    pub server_port: String,
}

/// `GET /api/v1/status/trunk?page&pageSize&trunk_name`: `trunkHWD` (In use while any
/// outside party is up) and `trunkBackup` (Unavailable); `trunk_name` matches a part of
/// the name.
pub async fn trunk(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, PbxError> {
    let q = query_map(raw.as_deref());
    let (page, page_size) = paging(&q)?;
    let name = query_value(&q, "trunk_name");
    with_pbx(&state, |pbx, _| {
        let outside = pbx
            .calls
            .iter()
            .map(|c| usize::from(c.a.is_outside()) + usize::from(c.b.is_outside()))
            .sum::<usize>()
            + pbx.waiting.iter().filter(|w| w.caller.is_outside()).count()
            + pbx.parked.iter().filter(|p| p.parkee.is_outside()).count()
            + pbx.leaving.iter().filter(|r| r.caller.caller.is_outside()).count();
        let rows: Vec<TrunkRow> = [
            TrunkRow {
                endpoint: DEMO_TRUNK.into(),
                state: if outside > 0 { "In use" } else { "Not in use" },
                channels: format!("{outside} of inf"),
                server_ip: "192.168.1.201".into(),
                server_port: "5060".into(),
            },
            TrunkRow {
                endpoint: BACKUP_TRUNK.into(),
                state: "Unavailable",
                channels: "0 of inf".into(),
                server_ip: "192.168.1.202".into(),
                server_port: "5060".into(),
            },
        ]
        .into_iter()
        .filter(|r| name.is_none_or(|n| r.endpoint.contains(n)))
        .collect();
        let total = rows.len() as u64;
        Ok(envelope::ok(
            list_json(pbx, page_of(rows, super::served_page(pbx, page), page_size), Odd::Drop("state")),
            total,
        ))
    })
}

/// One `status/wait` row (the seed's keys, all strings).
#[allow(missing_docs)]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitRow {
    pub serial_no: String,
    pub callerid: String,
    pub channel: String,
    pub linkedid: String,
    pub queue: String,
    pub wait_time: String,
    pub prio: String,
    pub ivr: String,
    pub ac: String,
}

impl super::PbxState {
    /// The callers waiting in `queue` at `now`, in queue order, as `status/wait` rows.
    pub fn wait_rows(&self, queue: &str, now: i64) -> Vec<WaitRow> {
        let mut ws: Vec<&super::Waiting> = self.waiting.iter().filter(|w| w.queue == queue).collect();
        ws.sort_by_key(|w| (std::cmp::Reverse(w.prio), w.entered_ms, w.uniqueid.clone()));
        ws.iter()
            .enumerate()
            .map(|(i, w)| WaitRow {
                serial_no: (i + 1).to_string(),
                callerid: w.caller.number.clone(),
                channel: w.caller.channel.clone(),
                linkedid: w.linkedid.clone(),
                queue: w.queue.clone(),
                wait_time: m_ss(now - w.entered_ms),
                prio: w.prio.to_string(),
                ivr: w.ivr.clone(),
                ac: w.ac.clone(),
            })
            .collect()
    }
}

/// `GET /api/v1/status/wait?page&pageSize&queue_num`: callers waiting in the queue
/// (also while an agent is being rung for them), `serialNo` 1-based, `waitTime` `m:ss`.
pub async fn wait(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, PbxError> {
    let q = query_map(raw.as_deref());
    let (page, page_size) = paging(&q)?;
    let queue = query_value(&q, "queue_num").ok_or_else(|| bad_query("queue_num 不能为空"))?.to_string();
    with_pbx(&state, |pbx, now| {
        let rows = pbx.wait_rows(&queue, now);
        let total = rows.len() as u64;
        Ok(envelope::ok(
            list_json(pbx, page_of(rows, super::served_page(pbx, page), page_size), Odd::Drop("callerid")),
            total,
        ))
    })
}
