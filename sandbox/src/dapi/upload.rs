//! `POST /d/upload` (multipart, any field names, at most 10 MB per request), the uploaded
//! files at `GET /media/general_upload/<md5 hex>.<ext>`, and the call recordings the
//! webhook points at, `GET /media/recording/<record>_<uid>.wav`.
//!
//! Upload replies have no envelope: one file is the bare JSON string of its URL, several
//! are the bare array in order (the seed's example shows an array for one file; the
//! client accepts both).

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use md5::{Digest, Md5};
use serde_json::Value;

use super::{with_dapi, DapiError};
use crate::{wav, AppState};

/// Most bytes of parts one upload request may carry.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Room for multipart boundaries and part headers on top of [`MAX_UPLOAD_BYTES`] in the
/// body limit, so an upload just over 10 MB of files is refused by the count below (413
/// with our body) rather than cut off mid-part.
pub const MULTIPART_SLACK: usize = 256 * 1024;
/// Where uploads are served.
pub const MEDIA_PREFIX: &str = "/media/general_upload/";
/// Longest recording served, seconds.
const MAX_RECORDING_SECS: f32 = 8.0;

/// One stored file.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The part's content type (`application/octet-stream` when it had none).
    pub content_type: String,
    /// The bytes.
    pub bytes: Bytes,
}

fn too_large() -> DapiError {
    DapiError::with_status(StatusCode::PAYLOAD_TOO_LARGE, "上传文件过大：每次请求最多 10 MB")
}

fn multipart_error(e: &MultipartError) -> DapiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        DapiError::bad_request(format!("multipart 请求体不正确：{}", e.body_text()))
    }
}

/// The stored name's extension: the filename's, lowercased, if it is 1-10 letters or
/// digits; else `bin`.
pub fn extension(filename: &str) -> String {
    filename
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| (1..=10).contains(&ext.len()) && ext.bytes().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "bin".to_string())
}

/// `<md5 hex of the bytes>.<ext>`.
pub fn stored_name(bytes: &[u8], filename: &str) -> String {
    let hex: String = Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.{}", extension(filename))
}

/// `POST /d/upload`: every part with a filename is a file. 400 without a file or for a
/// broken body, 413 over 10 MB.
pub async fn upload(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, DapiError> {
    let mut mp = multipart.map_err(|e| DapiError::bad_request(format!("需要 multipart/form-data：{e}")))?;
    let mut files: Vec<(String, Upload)> = Vec::new();
    let mut total = 0usize;
    while let Some(mut field) = mp.next_field().await.map_err(|e| multipart_error(&e))? {
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().unwrap_or("application/octet-stream").to_string();
        let mut data: Vec<u8> = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e))? {
            total = total.saturating_add(chunk.len());
            if total > MAX_UPLOAD_BYTES {
                return Err(too_large());
            }
            if filename.is_some() {
                data.extend_from_slice(&chunk);
            }
        }
        if let Some(filename) = filename {
            files.push((stored_name(&data, &filename), Upload { content_type, bytes: Bytes::from(data) }));
        }
    }
    if files.is_empty() {
        return Err(DapiError::bad_request("没有上传文件"));
    }
    let urls: Vec<String> = files.iter().map(|(name, _)| format!("{MEDIA_PREFIX}{name}")).collect();
    with_dapi(&state, |d, _| d.uploads.extend(files));
    let body = match <[String; 1]>::try_from(urls) {
        Ok([one]) => Value::String(one),
        Err(urls) => Value::from(urls),
    };
    Ok(Json(body).into_response())
}

/// `GET /media/general_upload/<name>`: the file with its part's content type.
pub async fn media(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, DapiError> {
    let found = with_dapi(&state, |d, _| d.uploads.get(&file).cloned());
    let up = found.ok_or_else(|| DapiError::with_status(StatusCode::NOT_FOUND, "文件不存在"))?;
    let ct = HeaderValue::from_str(&up.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    Ok(([(header::CONTENT_TYPE, ct)], up.bytes).into_response())
}

/// `GET /media/recording/<record>_<uid>.wav`: a real WAV for each user that talked in an
/// ended record (what the webhook's `resource.recording` points at).
pub async fn recording(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, DapiError> {
    let not_found = || DapiError::with_status(StatusCode::NOT_FOUND, "录音不存在");
    let (id, uid) = file.strip_suffix(".wav").and_then(|s| s.split_once('_')).ok_or_else(not_found)?;
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let secs = with_dapi(&state, |d, _| {
        let r = d.records.iter().find(|r| r.id == id)?;
        let end = r.ended_ms?;
        r.talkers().iter().any(|t| t == uid).then(|| end.saturating_sub(r.start_ms()) as f32 / 1000.0)
    })
    .ok_or_else(not_found)?;
    let wav = wav::tones(&file, secs.clamp(1.0, MAX_RECORDING_SECS));
    Ok(([(header::CONTENT_TYPE, "audio/wav")], wav).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(extension("photo.JPG"), "jpg");
        assert_eq!(extension("archive.tar.gz"), "gz");
        for bin in ["noext", "weird.ex t", "x.", "a.verylongextension"] {
            assert_eq!(extension(bin), "bin", "{bin}");
        }
        // md5("") is d41d8cd98f00b204e9800998ecf8427e.
        assert_eq!(stored_name(b"", "a.txt"), "d41d8cd98f00b204e9800998ecf8427e.txt");
    }
}
