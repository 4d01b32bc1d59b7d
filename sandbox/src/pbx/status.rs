//! Status monitoring: `GET /api/v1/status/endpoint`.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Serialize;

use crate::envelope::{self, PbxCode, PbxError};
use crate::AppState;

/// Largest `pageSize` accepted.
const MAX_PAGE_SIZE: u64 = 1000;

/// One row, exactly the seed's keys and string types.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    /// Extension number.
    pub endpoint: String,
    /// `Unavailable`, `Not in use` or `In use`.
    pub state: &'static str,
    /// `"0 of inf"` / `"1 of inf"`.
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

fn bad(detail: impl Into<String>) -> PbxError {
    PbxError::new(PbxCode::BadQuery, detail)
}

/// A required positive integer query parameter.
fn positive(q: &HashMap<String, String>, key: &str) -> Result<u64, PbxError> {
    let raw = q
        .get(key)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("{key} 不能为空")))?;
    match raw.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(bad(format!("{key} 必须是正整数"))),
    }
}

/// `GET /api/v1/status/endpoint?page&pageSize&endpoint`: paged extension states;
/// `total` counts every matching row before paging.
pub async fn endpoint(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, PbxError> {
    let Query(q) = query.map_err(|_| bad("查询参数格式错误"))?;
    let page = positive(&q, "page")?;
    let page_size = positive(&q, "pageSize")?;
    if page_size > MAX_PAGE_SIZE {
        return Err(bad(format!("pageSize 不能大于 {MAX_PAGE_SIZE}")));
    }
    let filter = q.get("endpoint").map(|s| s.trim()).filter(|s| !s.is_empty());

    let pbx = state.pbx();
    let rows: Vec<EndpointRow> = pbx
        .extensions
        .iter()
        .filter(|e| filter.is_none_or(|f| e.number == f))
        .map(|e| {
            let busy = pbx.call_of(&e.number).is_some();
            let state = match (busy, &e.registration) {
                (true, _) => "In use",
                (false, Some(_)) => "Not in use",
                (false, None) => "Unavailable",
            };
            let (ip, port) =
                e.registration.as_ref().map(|r| (r.ip.clone(), r.port.clone())).unwrap_or_default();
            EndpointRow {
                endpoint: e.number.clone(),
                state,
                channels: format!("{} of inf", u8::from(busy)),
                cid: e.cid.clone(),
                register_ip: ip,
                register_port: port,
            }
        })
        .collect();
    let total = rows.len() as u64;
    // usize::try_from cannot fail for realistic values; saturate rather than panic.
    let skip = usize::try_from((page - 1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let take = usize::try_from(page_size).unwrap_or(usize::MAX);
    let page_rows: Vec<EndpointRow> = rows.into_iter().skip(skip).take(take).collect();
    Ok(envelope::ok(page_rows, total))
}
