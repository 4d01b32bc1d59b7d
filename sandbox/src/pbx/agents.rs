//! Agents (座席): `agent/login`, `agent/logout`, `agent/getAgentStatus`, `agent/pause`,
//! and the agent row shared with `status/queue`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::model::{agent_status_en, ds_code, hms, Member, PAUSE_CODES};
use super::{body_object, optional_int, optional_str, query_map, query_value, req, with_pbx, PbxState};
use crate::envelope::{self, PbxCode, PbxError};
use crate::AppState;

fn ok_empty() -> Response {
    envelope::ok(envelope::empty(), 0)
}

/// A `getAgentStatus` entry: the seed's keys, every value a string.
#[allow(missing_docs)]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentRow {
    pub agentid: String,
    pub interface_type: String,
    pub extension: String,
    pub queue: String,
    pub penalty: String,
    /// The other party of the agent's current call.
    pub current: String,
    pub linkedid: String,
    /// Asterisk's device state number (`"1"` not in use, `"2"` in use, `"5"`
    /// unavailable, `"6"` ringing, `"8"` on hold).
    pub ds_status: String,
    pub ds_status_duration: String,
    /// `"0"` idle, `"1"` inbound, `"2"` outbound.
    pub direction: String,
    /// Agent status code (-1 … 13).
    pub status: String,
    pub status_desc: String,
    pub status_duration: String,
    pub calls_current: String,
    pub calls_total: String,
    pub login: String,
}

impl PbxState {
    /// The facts both agent views need about `m` at `now`: current party, linkedid,
    /// direction, device state and its duration.
    pub fn agent_facts(&self, m: &Member, now: i64) -> AgentFacts {
        let ext = m.extension.as_str();
        let call = self.calls.iter().find(|c| c.party(ext).is_some_and(|p| p.is_extension()));
        let (current, linkedid, direction) = match call {
            Some(c) => (
                c.other(ext).map(|p| p.number.clone()).unwrap_or_default(),
                c.linkedid.clone(),
                if c.a.number == ext { "2" } else { "1" },
            ),
            None => (String::new(), String::new(), "0"),
        };
        let (ds, ds_since) =
            self.line(ext).map(|l| (l.ds, l.ds_since_ms)).unwrap_or((self.device_state(ext, now).0, now));
        AgentFacts {
            current,
            linkedid,
            direction,
            ds,
            ds_duration: hms(now - ds_since),
            status_duration: hms(now - m.status_since_ms),
            calls_current: if call.is_some() { "1" } else { "0" },
        }
    }

    fn agent_row(&self, m: &Member, now: i64) -> AgentRow {
        let f = self.agent_facts(m, now);
        AgentRow {
            agentid: m.agentid.clone(),
            interface_type: "PJSIP".into(),
            extension: m.extension.clone(),
            queue: m.queue.clone(),
            penalty: m.penalty.to_string(),
            current: f.current,
            linkedid: f.linkedid,
            ds_status: ds_code(f.ds).into(),
            ds_status_duration: f.ds_duration,
            direction: f.direction.into(),
            status: m.status.to_string(),
            status_desc: agent_status_en(m.status).into(),
            status_duration: f.status_duration,
            calls_current: f.calls_current.into(),
            calls_total: m.calls_total.to_string(),
            login: m.calls_login.to_string(),
        }
    }
}

/// What [`PbxState::agent_facts`] finds.
#[derive(Debug)]
pub struct AgentFacts {
    /// The other party of the current call.
    pub current: String,
    /// The current call's linkedid.
    pub linkedid: String,
    /// `"0"`, `"1"` in, `"2"` out.
    pub direction: &'static str,
    /// Device state text.
    pub ds: &'static str,
    /// How long the device state has lasted.
    pub ds_duration: String,
    /// How long the agent status has lasted.
    pub status_duration: String,
    /// `"1"` on a call, else `"0"`.
    pub calls_current: &'static str,
}

/// A pause code field (`0, 4, 5, 11, 12, 13`), optional.
fn pause_code(p: &serde_json::Map<String, serde_json::Value>) -> Result<Option<i32>, String> {
    match optional_int(p, "paused")? {
        None => Ok(None),
        Some(n) => i32::try_from(n)
            .ok()
            .filter(|c| PAUSE_CODES.contains(c))
            .map(Some)
            .ok_or_else(|| "paused 必须是 0、4、5、11、12 或 13".to_string()),
    }
}

/// `POST /api/v1/agent/login {agentid, extension, queue, penalty?, paused?}`. 610007
/// malformed (missing fields, penalty not 0-99, paused not a pause code), 610000 unknown
/// agent/extension/queue, already signed in, or the agent id signed in elsewhere.
pub async fn login(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let code = PbxCode::AgentLoginParams;
    let p = body_object(body, code)?;
    let agentid = req(&p, "agentid", code)?;
    let ext = req(&p, "extension", code)?;
    let queue = req(&p, "queue", code)?;
    let penalty = optional_int(&p, "penalty").map_err(|d| PbxError::new(code, d))?.unwrap_or(0);
    let penalty = u8::try_from(penalty)
        .ok()
        .filter(|n| *n <= 99)
        .ok_or_else(|| PbxError::new(code, "penalty 必须是 0-99 的整数"))?;
    let paused = pause_code(&p).map_err(|d| PbxError::new(code, d))?.unwrap_or(0);
    with_pbx(&state, |pbx, now| {
        let fail = |d: String| PbxError::new(PbxCode::AgentLoginFailed, d);
        if !pbx.agents.iter().any(|a| a == agentid) {
            return Err(fail(format!("工号 {agentid} 不存在")));
        }
        if pbx.extension(ext).is_none() {
            return Err(fail(format!("分机 {ext} 不存在")));
        }
        if !pbx.queues.iter().any(|q| q == queue) {
            return Err(fail(format!("队列 {queue} 不存在")));
        }
        if let Some(m) = pbx.members.iter().find(|m| m.queue == queue && m.signed_in && m.agentid == agentid)
        {
            return Err(fail(format!("工号 {agentid} 已在分机 {} 签入", m.extension)));
        }
        if let Some(m) = pbx.members.iter().find(|m| m.queue == queue && m.extension == ext && m.signed_in) {
            return Err(fail(format!("分机 {} 已签入队列 {queue}", m.extension)));
        }
        let i = match pbx.members.iter().position(|m| m.queue == queue && m.extension == ext) {
            Some(i) => i,
            None => {
                pbx.members.push(Member {
                    queue: queue.to_string(),
                    extension: ext.to_string(),
                    agentid: agentid.to_string(),
                    penalty,
                    signed_in: false,
                    paused: 0,
                    reason: String::new(),
                    calls_total: 0,
                    calls_login: 0,
                    status: -1,
                    status_since_ms: now,
                });
                pbx.members.sort_by(|a, b| (&a.queue, &a.extension).cmp(&(&b.queue, &b.extension)));
                pbx.members.iter().position(|m| m.queue == queue && m.extension == ext).unwrap_or(0)
            }
        };
        if let Some(m) = pbx.members.get_mut(i) {
            m.agentid = agentid.to_string();
            m.penalty = penalty;
            m.signed_in = true;
            m.paused = paused;
            m.reason = String::new();
            m.calls_login = 0;
        }
        Ok(ok_empty())
    })
}

/// `POST /api/v1/agent/logout {extension, queue}` (`queue` may be `all`). 610001
/// malformed, 610002 not signed in to that queue (or to any, for `all`).
pub async fn logout(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let code = PbxCode::AgentLogoutParams;
    let p = body_object(body, code)?;
    let ext = req(&p, "extension", code)?;
    let queue = req(&p, "queue", code)?;
    with_pbx(&state, |pbx, _| {
        let mut n = 0;
        for m in pbx.members.iter_mut().filter(|m| m.extension == ext && m.signed_in) {
            if queue == "all" || m.queue == queue {
                m.signed_in = false;
                m.paused = 0;
                m.reason = String::new();
                n += 1;
            }
        }
        if n == 0 {
            let which = if queue == "all" { "任何队列".to_string() } else { format!("队列 {queue}") };
            return Err(PbxError::new(PbxCode::AgentLogoutFailed, format!("分机 {ext} 未签入{which}")));
        }
        Ok(ok_empty())
    })
}

/// `POST /api/v1/agent/pause {extension, paused, queue, reason?}`. 610003 malformed
/// (paused missing or not a pause code, queue missing), 610004 not signed in.
pub async fn pause(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let code = PbxCode::AgentPauseParams;
    let p = body_object(body, code)?;
    let ext = req(&p, "extension", code)?;
    let queue = req(&p, "queue", code)?;
    let paused = pause_code(&p)
        .map_err(|d| PbxError::new(code, d))?
        .ok_or_else(|| PbxError::new(code, "paused 不能为空"))?;
    let reason = optional_str(&p, "reason").map_err(|d| PbxError::new(code, d))?.unwrap_or_default();
    with_pbx(&state, |pbx, _| {
        match pbx.members.iter_mut().find(|m| m.extension == ext && m.queue == queue && m.signed_in) {
            Some(m) => {
                m.paused = paused;
                m.reason = reason.to_string();
                Ok(ok_empty())
            }
            None => Err(PbxError::new(PbxCode::AgentPauseFailed, format!("分机 {ext} 未签入队列 {queue}"))),
        }
    })
}

/// `GET /api/v1/agent/getAgentStatus?agentid&extension&queue` (all optional) →
/// `data[queue][extension]`, every roster entry including signed-out ones (status
/// `-1`); `[]` when nothing matches; `total` 0 as in the seed.
pub async fn get_agent_status(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PbxError> {
    let q = query_map(raw.as_deref());
    let (agentid, ext, queue) =
        (query_value(&q, "agentid"), query_value(&q, "extension"), query_value(&q, "queue"));
    with_pbx(&state, |pbx, now| {
        let mut data: BTreeMap<String, BTreeMap<String, AgentRow>> = BTreeMap::new();
        for m in pbx.members.iter().filter(|m| {
            agentid.is_none_or(|a| m.agentid == a)
                && ext.is_none_or(|e| m.extension == e)
                && queue.is_none_or(|qq| m.queue == qq)
        }) {
            data.entry(m.queue.clone()).or_default().insert(m.extension.clone(), pbx.agent_row(m, now));
        }
        if data.is_empty() {
            return Ok(ok_empty());
        }
        if !pbx.cfg.odd_row {
            return Ok(envelope::ok(data, 0));
        }
        // The `oddRow` knob: the last agent of the last queue sends a word for a count.
        let mut v = serde_json::to_value(&data).unwrap_or(serde_json::Value::Null);
        let last = v.as_object_mut().and_then(|q| q.values_mut().last()).and_then(|a| a.as_object_mut());
        if let Some(serde_json::Value::Object(row)) = last.and_then(|a| a.values_mut().last()) {
            super::spoil(row, super::Odd::Garble("penalty"));
        }
        Ok(envelope::ok(v, 0))
    })
}
