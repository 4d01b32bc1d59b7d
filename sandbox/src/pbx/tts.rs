//! `POST tts/synthesize {text}` → `{audio: base64 WAV, format: "wav", vendor}`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use base64::Engine;
use serde::Serialize;

use super::{body_object, req};
use crate::envelope::{self, PbxCode, PbxError};
use crate::wav;

/// Longest accepted text, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// The reply's `data`, in the seed's key order.
#[derive(Debug, Serialize)]
struct Synthesis {
    audio: String,
    format: &'static str,
    vendor: &'static str,
}

/// `POST /api/v1/tts/synthesize {text}`: a WAV with one 40 ms tone per UTF-8 byte of the
/// text (see [`wav::text_tones`]). 600000 unless `text` is a string of 1-500
/// characters. Stateless, so it does not touch the PBX state.
pub async fn synthesize(body: Result<Bytes, BytesRejection>) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::CallParams)?;
    // Required and not blank; the text itself is synthesised as sent.
    let trimmed = req(&p, "text", PbxCode::CallParams)?;
    let text = p.get("text").and_then(serde_json::Value::as_str).unwrap_or(trimmed);
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(PbxError::new(
            PbxCode::CallParams,
            format!("text 最多 {MAX_TEXT_CHARS} 个字符（现为 {chars} 个）"),
        ));
    }
    let audio = base64::engine::general_purpose::STANDARD.encode(wav::text_tones(text.as_bytes()));
    Ok(envelope::ok(Synthesis { audio, format: "wav", vendor: "sandbox-tts" }, 0))
}
