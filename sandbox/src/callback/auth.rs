//! The callback API's `Authorization` header:
//! `base64("APPID:timestamp:md5_hex("APPID:APPSECRET:timestamp"))`, timestamp in ms,
//! refused when more than 5 minutes off the callback clock.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use md5::{Digest, Md5};

use super::{CbError, DEMO_APPID, DEMO_APPSECRET, SIGNATURE_WINDOW_MS};
use crate::AppState;

/// Standard alphabet, padding optional: clients disagree on whether to pad.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `md5_hex("APPID:APPSECRET:timestamp")`, lowercase (Hutool's `DigestUtil.md5Hex`).
pub fn sign(appid: &str, secret: &str, timestamp_ms: i64) -> String {
    let digest = Md5::digest(format!("{appid}:{secret}:{timestamp_ms}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The demo account's header value for `timestamp_ms` (what an embedder's signer returns).
pub fn authorization(timestamp_ms: i64) -> String {
    let sig = sign(DEMO_APPID, DEMO_APPSECRET, timestamp_ms);
    STANDARD.encode(format!("{DEMO_APPID}:{timestamp_ms}:{sig}"))
}

/// Checks a header value against the demo account at callback-clock `now_ms`:
/// 401 when missing or wrong in any way, 403 when the timestamp is outside the window.
/// The signature is checked first, so a forged timestamp is a 401, not a 403.
pub fn verify(value: Option<&str>, now_ms: i64) -> Result<(), CbError> {
    let unauthorised = |why: &str| CbError::new(401, format!("鉴权失败：{why}"));
    let value = value.ok_or_else(|| unauthorised("缺少 Authorization 请求头"))?;
    // The seed prints the example header wrapped over lines; tolerate any whitespace.
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let decoded = LENIENT
        .decode(compact.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| unauthorised("Authorization 不是 Base64 编码"))?;
    let parts: Vec<&str> = decoded.split(':').collect();
    let [appid, ts, sig] = parts.as_slice() else {
        return Err(unauthorised("Authorization 应为 APPID:timestamp:sign"));
    };
    if *appid != DEMO_APPID {
        return Err(unauthorised("APPID 不存在"));
    }
    let ts: i64 = ts
        .parse()
        .ok()
        .filter(|_| !ts.is_empty() && ts.bytes().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| unauthorised("timestamp 不是毫秒数"))?;
    if !sig.eq_ignore_ascii_case(&sign(DEMO_APPID, DEMO_APPSECRET, ts)) {
        return Err(unauthorised("签名错误"));
    }
    if now_ms.abs_diff(ts) > SIGNATURE_WINDOW_MS.unsigned_abs() {
        return Err(CbError::new(403, "时间戳与服务器时间相差超过 5 分钟"));
    }
    Ok(())
}

/// Middleware for the vendor routes: a valid signature or the 401/403 envelope.
pub async fn require_signature(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let value = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match verify(value, state.callback_now_ms()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_known_vector() {
        // md5("") and md5("abc") from RFC 1321's test suite, through the same hex path.
        let hex = |b: &[u8]| Md5::digest(b).iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn round_trip_and_window() {
        let now = 1_693_270_226_642;
        assert_eq!(verify(Some(&authorization(now)), now), Ok(()));
        assert_eq!(verify(Some(&authorization(now - 300_000)), now), Ok(()));
        assert_eq!(verify(Some(&authorization(now + 300_000)), now), Ok(()));
        assert_eq!(verify(Some(&authorization(now - 300_001)), now).map_err(|e| e.code), Err(403));
        // Unpadded and line-wrapped forms still decode.
        let h = authorization(now);
        let (a, b) = h.split_at(40);
        assert_eq!(verify(Some(&format!("{a}\r\n {}", b.trim_end_matches('='))), now), Ok(()));
    }

    #[test]
    fn bad_headers_are_401() {
        let now = 1_693_270_226_642;
        let enc = |s: &str| STANDARD.encode(s);
        let good_sig = sign(DEMO_APPID, DEMO_APPSECRET, now);
        for bad in [
            None,
            Some(String::new()),
            Some("not base64 !!".to_string()),
            Some(enc("only:two")),
            Some(enc(&format!("{DEMO_APPID}:{now}:{good_sig}:extra"))),
            Some(enc(&format!("123:{now}:{}", sign("123", DEMO_APPSECRET, now)))),
            Some(enc(&format!("{DEMO_APPID}:{now}:{}", sign(DEMO_APPID, "wrong", now)))),
            Some(enc(&format!("{DEMO_APPID}:-5:{}", sign(DEMO_APPID, DEMO_APPSECRET, -5)))),
            Some(enc(&format!("{DEMO_APPID}:99999999999999999999:{good_sig}"))),
        ] {
            assert_eq!(verify(bad.as_deref(), now).map_err(|e| e.code), Err(401), "{bad:?}");
        }
    }
}
