//! `tts/synthesize`: text to a WAV.

use super::PbxApi;
use crate::de::string_lenient;
use crate::{ApiError, HttpRequest, HttpResponse, InvalidInput, Problem};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

/// Longest text sent (characters); the seed gives no limit, a prompt is short.
pub const MAX_TEXT_CHARS: usize = 500;

/// Most reply bytes read from `tts/synthesize`: the audio comes base64 in
/// JSON, and 500 characters of Chinese speak for about two minutes (16 kHz
/// 16-bit WAV: about 4 MB, 5.3 MB as base64). Eight times the default cap.
pub const TTS_MAX_BODY: u64 = 32 * 1024 * 1024;

/// Checks the text: not blank, at most [`MAX_TEXT_CHARS`].
pub fn check_text(text: &str) -> Result<&str, InvalidInput> {
    let t = text.trim();
    if t.is_empty() {
        return Err(InvalidInput::new("text", Problem::Required, text));
    }
    if t.chars().count() > MAX_TEXT_CHARS {
        return Err(InvalidInput::new("text", Problem::TooLong { max: MAX_TEXT_CHARS as u64 }, ""));
    }
    Ok(t)
}

/// Synthesised speech.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speech {
    /// The audio file's bytes.
    pub audio: Vec<u8>,
    /// `wav`.
    pub format: String,
    /// Who synthesised it (`jTTS`).
    pub vendor: String,
}

impl Speech {
    /// The MIME type for a Blob or `<audio>`.
    pub fn mime(&self) -> &'static str {
        match self.format.to_ascii_lowercase().as_str() {
            "mp3" => "audio/mpeg",
            "ogg" => "audio/ogg",
            _ => "audio/wav",
        }
    }
}

impl PbxApi {
    /// `POST /api/v1/tts/synthesize`, whose reply may be up to
    /// [`TTS_MAX_BODY`] (base64 audio).
    pub fn synthesize(&self, text: &str) -> HttpRequest {
        self.post("/api/v1/tts/synthesize", json!({ "text": text })).with_max_body(TTS_MAX_BODY)
    }
}

/// Decodes the reply: strict on the audio (valid base64; a `wav` must
/// start with `RIFF…WAVE`), loose on the rest.
pub fn decode_speech(resp: &HttpResponse) -> Result<Speech, ApiError> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default, deserialize_with = "string_lenient")]
        audio: String,
        #[serde(default, deserialize_with = "string_lenient")]
        format: String,
        #[serde(default, deserialize_with = "string_lenient")]
        vendor: String,
    }
    let raw: Raw = super::decode(resp)?.data;
    let b64: String = raw.audio.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if b64.is_empty() {
        return Err(ApiError::Decode("data.audio is empty".into()));
    }
    let engine = base64::engine::general_purpose::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let audio = engine.decode(b64.as_bytes()).map_err(|e| ApiError::Decode(format!("data.audio: {e}")))?;
    let format = if raw.format.trim().is_empty() { "wav".to_string() } else { raw.format.trim().to_string() };
    if format.eq_ignore_ascii_case("wav")
        && !(audio.starts_with(b"RIFF") && audio.get(8..12) == Some(b"WAVE"))
    {
        return Err(ApiError::Decode("data.audio is not a RIFF/WAVE file".into()));
    }
    Ok(Speech { audio, format, vendor: raw.vendor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::DEFAULT_MAX_BODY;
    use crate::pbx::Credentials;

    #[test]
    fn speech_may_be_larger_than_other_replies() {
        let api = PbxApi::new("https://pbx.example/dscom-api/public", "zh-CN").unwrap();
        assert_eq!(api.synthesize("你好").max_body, TTS_MAX_BODY);
        // Every other route keeps the default.
        let creds = Credentials::new("4", "s", "api", "pw").unwrap();
        let token = api.token(&creds, &crate::pbx::TokenGrant::Password);
        assert_eq!(token.max_body, DEFAULT_MAX_BODY);
        let mut big = HttpResponse::new(200, vec![b' '; 5 * 1024 * 1024]);
        assert!(big.check_size(api.synthesize("x").max_body).is_ok());
        assert_eq!(big.check_size(token.max_body), Err(ApiError::TooLarge { limit: DEFAULT_MAX_BODY }));
        big.body_refused = true;
        assert!(big.check_size(TTS_MAX_BODY).is_err());
    }
}
