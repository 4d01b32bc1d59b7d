//! Voicemail (语音信箱): `GET voicemail` and `PUT voicemail/:id`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::model::Voicemail;
use super::{bad_query, body_object, page_of, paging, query_map, query_time, query_value, req, with_pbx};
use crate::envelope::{self, PbxCode, PbxError};
use crate::AppState;

/// `GET /api/v1/voicemail?page&pageSize&start&end&is_read`: messages whose `calldate`
/// is in `[start, end]` (both required, as in the seed), newest first; `is_read` is
/// `yes`, `no` or empty.
pub async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, PbxError> {
    let q = query_map(raw.as_deref());
    let (page, page_size) = paging(&q)?;
    let start = query_time(&q, "start")?.ok_or_else(|| bad_query("start 不能为空"))?;
    let end = query_time(&q, "end")?.ok_or_else(|| bad_query("end 不能为空"))?;
    let read = match query_value(&q, "is_read") {
        None => None,
        Some(r @ ("yes" | "no")) => Some(r),
        Some(_) => return Err(bad_query("is_read 必须是 yes 或 no")),
    };
    with_pbx(&state, |pbx, _| {
        let rows: Vec<&Voicemail> = pbx
            .voicemails
            .iter()
            .rev()
            .filter(|v| v.calldate.as_str() >= start.as_str() && v.calldate.as_str() <= end.as_str())
            .filter(|v| read.is_none_or(|r| v.is_read == r))
            .collect();
        let total = rows.len() as u64;
        Ok(envelope::ok(
            super::list_json(
                pbx,
                page_of(rows, super::served_page(pbx, page), page_size),
                super::Odd::Drop("id"),
            ),
            total,
        ))
    })
}

/// `PUT /api/v1/voicemail/:id {is_read: yes|no}`: 510000 when `is_read` is not yes/no
/// or the id is not a number, 510001 when there is no such message.
pub async fn mark(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let code = PbxCode::VoicemailParams;
    let id: u64 = id
        .ok()
        .and_then(|Path(id)| id.trim().parse().ok())
        .ok_or_else(|| PbxError::new(code, "id 必须是数字"))?;
    let p = body_object(body, code)?;
    let read = req(&p, "is_read", code)?;
    if !matches!(read, "yes" | "no") {
        return Err(PbxError::new(code, "is_read 必须是 yes 或 no"));
    }
    with_pbx(&state, |pbx, _| match pbx.voicemails.iter_mut().find(|v| v.id == id) {
        Some(v) => {
            v.is_read = read.to_string();
            Ok(envelope::ok(envelope::empty(), 0))
        }
        None => Err(PbxError::new(PbxCode::VoicemailFailed, format!("留言 {id} 不存在"))),
    })
}
