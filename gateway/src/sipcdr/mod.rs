//! SIP call records (seed 004) behind the gateway. `syncflag=1` marks bills
//! fetched for everyone who shares the token, so the gateway is the only
//! one that asks with it: a background sync (core's [`BillSync`], which
//! recovers a marking reply lost on the way) copies every bill into SQLite,
//! and a restart first re-reads the look-back window with `syncflag=3`
//! (all), so a bill marked but not stored before a crash is not lost.
//!
//! Consoles POST the same GetBill form to `/sipcdr`; the gateway answers it
//! from the store in the seed's envelope, with the seed's filters and
//! paging, the `token` field ignored. An agent reads only the agent's own
//! extension's bills, and `syncflag` is kept per login: one agent's sync
//! never takes another's bills.

use crate::config::{Role, SipcdrConfig};
use crate::{lock, now_ms, Shared};
use agent_console_core::sipcdr::Step;
use agent_console_core::{BillSync, Error as CoreError};
use agent_console_wire::pbx::Extension;
use agent_console_wire::sipcdr::{
    decode_bills, Bill, BillPage, BillQuery, BillQueryInput, SipCdrApi, SyncFlag, SERVICE,
};
use agent_console_wire::time::CstDateTime;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::Mutex;
use std::time::Duration;

/// How often the sync asks for new bills, unless `[sipcdr] sync_secs` says.
pub const SYNC_EVERY: Duration = Duration::from_secs(30);

/// The window the sync asks about, back from now (and a restart re-reads):
/// three days, the console's default search window.
pub const LOOKBACK_MS: i64 = 72 * 3_600_000;

/// Most bills one console query reads from the store before paging (a
/// wider window is refused with a clear message: narrow it).
pub const MAX_QUERY_ROWS: usize = 20_000;

/// Most form fields and bytes a console's GetBill may carry.
const MAX_FIELDS: usize = 32;
const MAX_FIELD_BYTES: usize = 4 * 1024;

/// The SIP-CDR account and its sync's memory.
pub struct SipCdr {
    api: SipCdrApi,
    every: Duration,
    sync: Mutex<BillSync>,
}

impl SipCdr {
    /// The account of `[sipcdr]`.
    pub fn new(cfg: &SipcdrConfig) -> Result<Self, String> {
        let api = SipCdrApi::new(&cfg.api_url, &cfg.token).map_err(|e| format!("[sipcdr] {e}"))?;
        let every = cfg.sync_secs.map(|s| Duration::from_secs(s.max(1))).unwrap_or(SYNC_EVERY);
        Ok(Self { api, every, sync: Mutex::new(BillSync::new()) })
    }
}

fn window(from: i64, now: i64, flag: SyncFlag) -> Result<BillQuery, CoreError> {
    let mut q = BillQueryInput::window(
        &CstDateTime::from_epoch_ms(from).to_string(),
        &CstDateTime::from_epoch_ms(now + 60_000).to_string(),
    );
    q.itemsperpage = "1000".into();
    let mut q = q.check_sync().map_err(|e| CoreError::Api(e.into()))?;
    q.syncflag = flag;
    Ok(q)
}

async fn get_bills(gw: &Shared, s: &SipCdr, q: &BillQuery) -> Result<BillPage, CoreError> {
    let resp = gw.up.send(&s.api.bills(q)).await?;
    Ok(decode_bills(&resp)?)
}

/// Keeps bills; returns how many were new (an error: the store failed,
/// and the bills are to be read again by a back-fill).
async fn keep(gw: &Shared, bills: Vec<Bill>) -> Result<usize, crate::GatewayError> {
    let rows = bills
        .into_iter()
        .filter_map(|b| {
            let start = CstDateTime::parse("starttime", &b.starttime).map(|t| t.epoch_ms()).unwrap_or(0);
            serde_json::to_string(&b).ok().map(|j| (b.id, b.extnumber.clone(), start, j))
        })
        .collect();
    gw.store.put_bills(rows).await
}

/// Re-reads with `syncflag=3` (marks nothing) from an hour before the
/// newest bill kept (at most the look-back): bills marked on the server but
/// not kept (a crash, a store failure) are read again.
pub async fn backfill(gw: &Shared, s: &SipCdr) -> Result<usize, CoreError> {
    let now = now_ms();
    let newest = gw.store.newest_bill_ms().await.ok().flatten();
    let from = newest.map_or(now - LOOKBACK_MS, |n| (n.min(now) - 3_600_000).max(now - LOOKBACK_MS));
    let mut q = window(from, now, SyncFlag::All)?;
    let mut added = 0;
    for page in 1..=agent_console_core::sipcdr::MAX_PAGES_PER_RUN {
        q.currentpage = page;
        let p = get_bills(gw, s, &q).await?;
        let n = p.bills.len() as u64;
        added += keep(gw, p.bills).await.map_err(|e| CoreError::Network(format!("store: {e}")))?;
        if n < u64::from(q.itemsperpage) || u64::from(page) * u64::from(q.itemsperpage) >= p.totalitems {
            break;
        }
    }
    Ok(added)
}

/// One run of the marking sync; returns how many bills it stored.
pub async fn sync_once(gw: &Shared, s: &SipCdr) -> Result<usize, CoreError> {
    let now = now_ms();
    let mut run = lock(&s.sync).start(window(now - LOOKBACK_MS, now, SyncFlag::Unfetched)?);
    loop {
        let q = run.next_query();
        run.sending(&mut lock(&s.sync));
        let outcome = get_bills(gw, s, &q).await;
        let step = run.handle(&mut lock(&s.sync), outcome);
        match step {
            Step::Continue => {}
            // Marked on the server and handed over here: if they cannot be
            // kept, only a back-fill (syncflag=3) reads them again.
            Step::Done(listed) => {
                return keep(gw, listed.rows).await.map_err(|e| CoreError::Network(format!("store: {e}")))
            }
            Step::Failed(e) => return Err(e),
        }
    }
}

/// Starts the sync (when `[sipcdr]` is configured): every period, the
/// back-fill until it has succeeded once since the last failure to keep
/// bills, then the marking sync; failures are logged and retried.
pub fn start(gw: &Shared) {
    let Some(s) = gw.sipcdr.clone() else { return };
    let gw = gw.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(s.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut backfill_due = true;
        loop {
            tick.tick().await;
            if backfill_due {
                match backfill(&gw, &s).await {
                    Ok(_) => backfill_due = false,
                    Err(e) => {
                        eprintln!("gateway: sipcdr back-fill failed (retried in {:?}): {e}", s.every);
                        continue;
                    }
                }
            }
            if let Err(e) = sync_once(&gw, &s).await {
                // A store failure after the server marked bills: read them again.
                backfill_due = true;
                eprintln!("gateway: sipcdr sync failed (retried in {:?}): {e}", s.every);
            }
        }
    });
}

/// The seed's envelope: `ret` 200 with `data`, or an error with `msg`.
fn refuse(status: StatusCode, zh: &str, en: &str) -> Response {
    let body = json!({"ret": status.as_u16(), "data": null, "msg": format!("{zh}（{en}）")});
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Whether `b` passes `q`'s filters (the window and extensions are the store's).
fn matches(q: &BillQuery, b: &Bill) -> bool {
    let same = |want: &str, have: &str| want.is_empty() || want == have;
    let opt = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    (match q.direction.code() {
        1 => b.direction == "callin",
        2 => b.direction == "callout",
        _ => true,
    }) && (q.callmethod.code() == 0 || b.callmethod == u64::from(q.callmethod.code()))
        && same(&q.destnumber, &b.destnumber)
        && same(&q.userid, &b.userid)
        && same(&q.memberid, &b.memberid)
        && opt(&q.chengshudu, &b.chengshudu)
        && opt(&q.customuuid, &b.customuuid)
}

/// Reads the console's form (text fields only, bounded).
async fn read_form(mut form: Multipart) -> Result<Map<String, Value>, String> {
    let mut fields = Map::new();
    while let Some(f) = form.next_field().await.map_err(|e| e.to_string())? {
        if fields.len() >= MAX_FIELDS {
            return Err("too many fields".into());
        }
        let name = f.name().unwrap_or_default().to_string();
        let value = f.text().await.map_err(|e| e.to_string())?;
        if value.len() > MAX_FIELD_BYTES || fields.contains_key(&name) {
            return Err(format!("field {name} too long or repeated"));
        }
        fields.insert(name, Value::String(value));
    }
    Ok(fields)
}

/// `POST /sipcdr` from a console: GetBill answered from the store.
pub async fn proxy(
    State(gw): State<Shared>,
    headers: HeaderMap,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let Some((_, agent)) = gw.signed_in_agent(&headers) else {
        return refuse(StatusCode::UNAUTHORIZED, "请先登录", "Sign in first");
    };
    if gw.sipcdr.is_none() {
        return refuse(
            StatusCode::NOT_FOUND,
            "网关未配置 SIP 话单接口",
            "The gateway has no [sipcdr] configured",
        );
    }
    let fields = match form {
        Ok(f) => read_form(f).await,
        Err(e) => Err(e.to_string()),
    };
    let Ok(mut fields) = fields else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "非法请求：表单无法读取",
            "Illegal request: the form cannot be read",
        );
    };
    if fields.get("service").and_then(Value::as_str) != Some(SERVICE) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "非法请求：接口服务不存在",
            "Illegal request: no such service",
        );
    }
    // The console's token field, if any, is not the account's: dropped.
    fields.remove("token");
    let input: BillQueryInput = match serde_json::from_value(Value::Object(fields)) {
        Ok(i) => i,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "非法请求", &format!("Illegal request: {e}")),
    };
    let mut q = match input.check() {
        Ok(q) => q,
        Err(e) => {
            return refuse(StatusCode::BAD_REQUEST, "非法请求：参数有误", &format!("Illegal request: {e}"))
        }
    };
    let action = "POST /sipcdr GetBill".to_string();
    if agent.role != Role::Supervisor {
        let own = agent.extension.as_str();
        if q.extnumber.iter().any(|e| e.as_str() != own) {
            gw.audit(&agent.login, action, own.to_string(), "refused: another extension's bills".into())
                .await;
            return refuse(
                StatusCode::FORBIDDEN,
                "只能查询本人分机的话单",
                "Agents read only their own extension's bills",
            );
        }
        match Extension::parse("extnumber", own) {
            Ok(e) => q.extnumber = vec![e],
            Err(_) => {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "分机配置有误",
                    "The agent's extension is misconfigured",
                )
            }
        }
    }
    let reqtime = now_ms() / 1000;
    let mut exts: Vec<String> = q.extnumber.iter().map(|e| e.as_str().to_string()).collect();
    exts.sort();
    exts.dedup();
    let rows =
        match gw.store.bills_in(q.starttime.epoch_ms(), q.endtime.epoch_ms(), exts, MAX_QUERY_ROWS).await {
            Ok(r) => r,
            Err(e) => {
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "话单库不可用",
                    &format!("The bill store is unavailable: {e}"),
                )
            }
        };
    if rows.len() > MAX_QUERY_ROWS {
        return refuse(
            StatusCode::BAD_REQUEST,
            "时间范围内话单过多，请缩小范围",
            "Too many bills in the window: narrow it",
        );
    }
    let bills: Vec<Bill> = rows
        .into_iter()
        .filter_map(|(_, j)| serde_json::from_str::<Bill>(&j).ok())
        .filter(|b| matches(&q, b))
        .collect();
    let ids: Vec<u64> = bills.iter().map(|b| b.id).collect();
    let marked = match gw.store.marked(agent.login.clone(), ids).await {
        Ok(m) => m,
        Err(e) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "话单库不可用",
                &format!("The bill store is unavailable: {e}"),
            )
        }
    };
    let selected: Vec<Bill> = bills
        .into_iter()
        .filter(|b| match q.syncflag {
            SyncFlag::Unfetched => !marked.contains(&b.id),
            SyncFlag::Fetched => marked.contains(&b.id),
            _ => true,
        })
        .collect();
    let total = selected.len();
    let per = q.itemsperpage as usize;
    let skip = (q.currentpage as usize).saturating_sub(1).saturating_mul(per);
    let page: Vec<Bill> = selected.into_iter().skip(skip).take(per).collect();
    if q.syncflag == SyncFlag::Unfetched && !page.is_empty() {
        let ids = page.iter().map(|b| b.id).collect();
        if let Err(e) = gw.store.mark(agent.login.clone(), ids).await {
            // Not marked: answered anyway, so the console's sync gets them (again next time).
            eprintln!("gateway: sipcdr marks not stored: {e}");
        }
    }
    let data = json!({
        "status": 0,
        "desc": "获取成功",
        "result": {"totalitems": total, "currentpage": q.currentpage, "itemsperpage": q.itemsperpage, "bills": page},
        "reqtime": reqtime,
        "rsptime": now_ms() / 1000,
    });
    let body = json!({"ret": 200, "data": data, "msg": ""});
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bill(direction: &str, callmethod: u64, dest: &str) -> Bill {
        serde_json::from_value(json!({"id": 1, "starttime": "2026-12-01 10:00:00", "direction": direction,
            "callmethod": callmethod, "destnumber": dest}))
        .unwrap()
    }

    #[test]
    fn the_seeds_filters() {
        let mut i = BillQueryInput::window("2026-12-01 00:00:00", "2026-12-02 00:00:00");
        i.direction = "2".into();
        i.callmethod = "0".into();
        let q = i.check().unwrap();
        assert!(matches(&q, &bill("callout", 3, "139")));
        assert!(!matches(&q, &bill("callin", 3, "139")));
        i.callmethod = "4".into();
        i.destnumber = "139".into();
        let q = i.check().unwrap();
        assert!(matches(&q, &bill("callout", 4, "139")));
        assert!(!matches(&q, &bill("callout", 3, "139")));
        assert!(!matches(&q, &bill("callout", 4, "138")));
    }
}
