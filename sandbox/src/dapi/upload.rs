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
    /// The part's filename as sent (its last path segment), for the download's name.
    pub filename: String,
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
            let upload = Upload { content_type, filename: filename.clone(), bytes: Bytes::from(data) };
            files.push((stored_name(&upload.bytes, &filename), upload));
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

/// `GET /media/general_upload/<name>`: the file as a download (`Content-Disposition:
/// attachment` with its name), `nosniff`, and a sandboxing CSP. Anyone can upload
/// anything, and this origin is the console's when the sandbox serves it (`--www`): an
/// uploaded page shown inline would run as the console. Its own type is kept only for
/// media that cannot run script ([`inert_type`]); the rest is `application/octet-stream`.
pub async fn media(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, DapiError> {
    let found = with_dapi(&state, |d, _| d.uploads.get(&file).cloned());
    let up = found.ok_or_else(|| DapiError::with_status(StatusCode::NOT_FOUND, "文件不存在"))?;
    let ct = inert_type(&up.content_type)
        .and_then(|t| HeaderValue::from_str(&t).ok())
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&attachment(&up.filename))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, ct),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox")),
        ],
        up.bytes,
    )
        .into_response())
}

/// `content_type` (trimmed, parameters kept) if it names media a browser only plays or
/// shows (audio, video, raster images, plain text); `None` for anything that could run
/// script when opened (HTML, SVG, XML, JavaScript, PDF, unknown) or is not plain ASCII.
pub fn inert_type(content_type: &str) -> Option<String> {
    let whole = content_type.trim();
    if !whole.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return None;
    }
    let t = whole.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let (kind, sub) = t.split_once('/')?;
    let token =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !token(kind) || !token(sub) {
        return None;
    }
    let inert = match kind {
        "audio" | "video" => true,
        "image" => !sub.contains("svg") && !sub.contains("xml"),
        "text" => sub == "plain",
        _ => false,
    };
    inert.then(|| whole.to_string())
}

/// A `Content-Disposition: attachment` value naming `filename` safely (RFC 6266): an
/// ASCII `filename` with anything but letters, digits and `._-` replaced by `_`, plus
/// `filename*` (RFC 5987, UTF-8, percent-encoded) when the name is not plain ASCII.
pub fn attachment(filename: &str) -> String {
    // The last path segment only, without control characters, at most 100 characters.
    let name: String = filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let name = name.trim();
    let name = if name.is_empty() || name == "." || name == ".." { "download" } else { name };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let ascii: String = name.chars().map(|c| if plain(c) { c } else { '_' }).collect();
    if name.chars().all(plain) {
        return format!("attachment; filename=\"{ascii}\"");
    }
    let encoded: String = name
        .bytes()
        .map(|b| if plain(char::from(b)) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
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
    Ok(wav::response(wav::tones(&file, secs.clamp(1.0, MAX_RECORDING_SECS))))
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

    #[test]
    fn only_media_that_cannot_run_keeps_its_type() {
        assert_eq!(inert_type("audio/wav").as_deref(), Some("audio/wav"));
        assert_eq!(inert_type(" Image/PNG; x=1").as_deref(), Some("Image/PNG; x=1"));
        assert_eq!(inert_type("text/plain;charset=utf-8").as_deref(), Some("text/plain;charset=utf-8"));
        for runs in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/javascript",
            "text/javascript",
            "application/pdf",
            "application/octet-stream",
            "",
            "audio",
            "audio/wav\r\nx-evil: 1",
        ] {
            assert_eq!(inert_type(runs), None, "{runs:?}");
        }
    }

    #[test]
    fn download_names_are_safe_and_keep_non_ascii_in_filename_star() {
        assert_eq!(attachment("note.txt"), "attachment; filename=\"note.txt\"");
        assert_eq!(attachment("../../etc/passwd"), "attachment; filename=\"passwd\"");
        assert_eq!(attachment("C:\\x\\a.wav"), "attachment; filename=\"a.wav\"");
        assert_eq!(attachment(""), "attachment; filename=\"download\"");
        assert_eq!(
            attachment("报告 1.txt"),
            "attachment; filename=\"___1.txt\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%201.txt"
        );
        assert_eq!(
            attachment("a\"; b=\r\n.html"),
            "attachment; filename=\"a___b_.html\"; filename*=UTF-8''a%22%3B%20b%3D.html"
        );
    }
}
