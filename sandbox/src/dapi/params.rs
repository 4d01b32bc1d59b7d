//! Request bodies: JSON objects, with the docs/dapi.md split between a malformed request
//! (not JSON, not an object, a required field missing: HTTP 400) and a refusal of a
//! well-formed one (a value of the wrong shape: HTTP 200, `success: false`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use serde_json::{Map, Value};

use super::{DapiError, MAX_CALLEES};

/// The body as a JSON object, or HTTP 400.
pub fn object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, DapiError> {
    let bytes = body.map_err(|_| DapiError::bad_request("无法读取请求体"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(DapiError::bad_request("请求体必须是 JSON 对象")),
        Err(_) => Err(DapiError::bad_request("请求体不是合法的 JSON")),
    }
}

/// A present value; absent or null is HTTP 400 `缺少参数 <key>`.
pub fn required<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a Value, DapiError> {
    match map.get(key) {
        None | Some(Value::Null) => Err(DapiError::bad_request(format!("缺少参数 {key}"))),
        Some(v) => Ok(v),
    }
}

/// A string or an integer as text (replies may carry uids as numbers, so requests may
/// too); `None` for any other type.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Longest uid or channel accepted, in characters.
pub const MAX_ID_CHARS: usize = 256;

/// An id as sites assign them (a number, a UUID, an e-mail address): the seeds put no
/// character set on uids, so only empty, control characters and over
/// [`MAX_ID_CHARS`] are refused. (Callers trim first.)
fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= MAX_ID_CHARS && !s.chars().any(char::is_control)
}

/// `uid`: see [`valid_id`].
pub fn valid_uid(s: &str) -> bool {
    valid_id(s)
}

/// `channel`: see [`valid_id`] (the server's own are `ch_` + 10 letters and digits).
pub fn valid_channel(s: &str) -> bool {
    valid_id(s)
}

/// A required uid field.
pub fn uid(map: &Map<String, Value>, key: &str) -> Result<String, DapiError> {
    let v = required(map, key)?;
    as_text(v).filter(|s| valid_uid(s)).ok_or_else(|| {
        DapiError::refuse(format!("{key} 格式不正确：不能为空、不能含控制字符，最长 {MAX_ID_CHARS} 个字符"))
    })
}

/// A required channel field.
pub fn channel(map: &Map<String, Value>, key: &str) -> Result<String, DapiError> {
    let v = required(map, key)?;
    as_text(v).filter(|s| valid_channel(s)).ok_or_else(|| {
        DapiError::refuse(format!("{key} 格式不正确：不能为空、不能含控制字符，最长 {MAX_ID_CHARS} 个字符"))
    })
}

/// An optional free-text field ("" when absent or null); numbers become their text.
pub fn opt_text(map: &Map<String, Value>, key: &str, max_chars: usize) -> Result<String, DapiError> {
    let s = match map.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(DapiError::refuse(format!("{key} 必须是字符串"))),
    };
    if s.chars().count() > max_chars {
        return Err(DapiError::refuse(format!("{key} 最长 {max_chars} 个字符")));
    }
    Ok(s)
}

/// A required callee list for caller `src`: a non-empty array of valid uids, at most
/// [`MAX_CALLEES`] after removing duplicates, not holding the caller.
pub fn callees(map: &Map<String, Value>, key: &str, src: &str) -> Result<Vec<String>, DapiError> {
    let Value::Array(items) = required(map, key)? else {
        return Err(DapiError::refuse(format!("{key} 必须是 uid 数组")));
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let Some(uid) = as_text(item).filter(|s| valid_uid(s)) else {
            return Err(DapiError::refuse(format!("{key} 含有格式不正确的 uid")));
        };
        if !out.contains(&uid) {
            out.push(uid);
        }
    }
    if out.is_empty() {
        return Err(DapiError::refuse(format!("{key} 不能为空")));
    }
    if out.len() > MAX_CALLEES {
        return Err(DapiError::refuse(format!("{key} 最多 {MAX_CALLEES} 个用户")));
    }
    if out.iter().any(|u| u == src) {
        return Err(DapiError::refuse(format!("{key} 不能包含发起方自己")));
    }
    Ok(out)
}

/// A value that should have been an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnInteger;

/// An optional integer (a JSON integer or a string of digits): `Ok(None)` when absent,
/// null or blank, [`NotAnInteger`] when present but not one.
pub fn opt_int(map: &Map<String, Value>, key: &str) -> Result<Option<i64>, NotAnInteger> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(NotAnInteger),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| NotAnInteger),
        Some(_) => Err(NotAnInteger),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifier_rules() {
        // UUIDs, e-mail addresses and names are uids on real sites.
        for ok in [
            "a",
            "4321",
            "user_1-x.y",
            "3f2b8c1e-9a4d-4e2f-8b7a-0c1d2e3f4a5b",
            "alice@example.com",
            "用户",
            &"u".repeat(256),
        ] {
            assert!(valid_uid(ok), "{ok}");
        }
        for bad in ["", "a\u{0}b", "a\nb", &"u".repeat(257)] {
            assert!(!valid_uid(bad), "{bad}");
        }
        assert!(valid_channel("ch_4aY875LP4o") && valid_channel("room:42") && valid_channel(&"c".repeat(65)));
        for bad in ["", "ch\t1", &"c".repeat(257)] {
            assert!(!valid_channel(bad), "{bad}");
        }
    }

    #[test]
    fn callee_lists() {
        let m = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(callees(&m(json!({"d": ["b", 7, "b"]})), "d", "a").unwrap(), vec!["b", "7"]);
        assert_eq!(callees(&m(json!({})), "d", "a").unwrap_err().status, 400);
        for bad in [json!({"d": []}), json!({"d": ["a"]}), json!({"d": "b"}), json!({"d": [{}]})] {
            assert_eq!(callees(&m(bad), "d", "a").unwrap_err().status, 200);
        }
        let many: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
        assert!(callees(&m(json!({ "d": many })), "d", "a").is_err());
    }

    #[test]
    fn numbers_are_text() {
        assert_eq!(as_text(&json!(4321)), Some("4321".into()));
        assert_eq!(as_text(&json!(1.5)), None);
        assert_eq!(as_text(&json!(" x ")), Some("x".into()));
    }
}
