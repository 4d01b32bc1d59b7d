//! Tolerant field decoders: the vendors send numbers as strings and strings as
//! numbers, `[]` for an empty object, and leave fields out.

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Decodes a string, a number or `null` into a `String` (`null` → empty).
pub fn string_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_unit<E: de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// Decodes a non-negative integer sent as a number or a numeric string
/// (`null` and `""` → 0). Anything else is an error: counts matter.
pub fn u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a non-negative integer or a numeric string")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom(format!("negative count {v}")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
            if v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64 {
                Ok(v as u64)
            } else {
                Err(E::custom(format!("not a count: {v}")))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(0);
            }
            t.parse().map_err(|_| E::custom(format!("not a count: {v:?}")))
        }
        fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_none<E: de::Error>(self) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// Like [`u64_lenient`], but absent, `null` and `""` are `None` (a key that
/// may be missing, where 0 would be a lie). Anything else that is not a
/// whole number is an error.
pub fn opt_u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => u64_lenient(v).map(Some).map_err(de::Error::custom),
    }
}

/// Decodes a whole number that may be negative (`service_level: -1`), sent
/// as a number or a numeric string (`null` and `""` → 0).
pub fn i64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer or a numeric string")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("integer too large: {v}")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            // Only whole values well inside i64, so the cast is exact.
            if v.fract() == 0.0 && v.abs() < 9.0e18 {
                Ok(v as i64)
            } else {
                Err(E::custom(format!("not an integer: {v}")))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(0);
            }
            t.parse().map_err(|_| E::custom(format!("not an integer: {v:?}")))
        }
        fn visit_unit<E: de::Error>(self) -> Result<i64, E> {
            Ok(0)
        }
        fn visit_none<E: de::Error>(self) -> Result<i64, E> {
            Ok(0)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// For columns that only inform (no rule reads them): `inner`'s reading, or
/// the default when it cannot read the value, so one odd column of a live
/// system never costs its whole row.
fn or_default<'de, D, T>(
    d: D,
    inner: fn(serde_json::Value) -> Result<T, serde_json::Error>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default,
{
    let v = Option::<serde_json::Value>::deserialize(d)?.unwrap_or(serde_json::Value::Null);
    Ok(inner(v).unwrap_or_default())
}

/// [`u64_lenient`] for an informational column: unreadable → 0.
pub fn u64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    or_default(d, u64_lenient)
}

/// [`opt_u64_lenient`] for an informational column: unreadable → `None`.
pub fn opt_u64_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    or_default(d, opt_u64_lenient)
}

/// [`i64_lenient`] for an informational column: unreadable → 0.
pub fn i64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    or_default(d, i64_lenient)
}

/// [`f64_lenient`] for an informational column: unreadable → 0.
pub fn f64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    or_default(d, f64_lenient)
}

/// Decodes a decimal (`loadavg: 4.36`), sent as a number or a numeric
/// string (`null` and `""` → 0). Not finite or not a number is an error.
pub fn f64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number or a numeric string")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(0.0);
            }
            t.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| E::custom(format!("not a number: {v:?}")))
        }
        fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
            Ok(0.0)
        }
        fn visit_none<E: de::Error>(self) -> Result<f64, E> {
            Ok(0.0)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// `data` of a call that returns nothing: the vendor sends `[]`, `{}`,
/// `null` or leaves it out. Anything else is still accepted and ignored,
/// since the caller has no use for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Empty;

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EmptyVisitor)
    }
}

struct EmptyVisitor;

impl<'de> Visitor<'de> for EmptyVisitor {
    type Value = Empty;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything (ignored)")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Empty, E> {
        Ok(Empty)
    }
    fn visit_none<E: de::Error>(self) -> Result<Empty, E> {
        Ok(Empty)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Empty, D::Error> {
        d.deserialize_any(EmptyVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Empty, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Empty)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Empty, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Empty)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Empty, E> {
        Ok(Empty)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Empty, E> {
        Ok(Empty)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Empty, E> {
        Ok(Empty)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Empty, E> {
        Ok(Empty)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Empty, E> {
        Ok(Empty)
    }
}

/// Seconds from a clock duration as the PBX writes them (`00:04:34`,
/// `0:12`, `1:02:03`), or a plain number. Durations are shown, not counted
/// on: anything unreadable (`-`, `null`) is 0 rather than a failed page.
pub fn clock_secs_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(parse_clock_secs(&string_lenient(d)?).unwrap_or(0))
}

/// `h:mm:ss`, `m:ss` or `ss` to seconds.
pub fn parse_clock_secs(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut parts = 0;
    for part in s.split(':') {
        parts += 1;
        if parts > 3 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) || part.len() > 9 {
            return None;
        }
        total = total.checked_mul(60)?.checked_add(part.parse().ok()?)?;
    }
    Some(total)
}

/// Decodes a list that may arrive as `[]`, `null`, missing, `""` or (from
/// loose servers) `{}` meaning empty. Strict inside: one bad item is an
/// error, never a silently shorter list.
pub fn vec_lenient<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list (or an empty object, null or \"\")")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
            match map.next_key::<IgnoredAny>()? {
                None => Ok(Vec::new()),
                Some(_) => Err(de::Error::custom("expected a list, found a non-empty object")),
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
            if v.trim().is_empty() {
                Ok(Vec::new())
            } else {
                Err(E::custom(format!("expected a list, found {v:?}")))
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Vec<T>, D2::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// The rows of a list reply that did not decode: how many, and why (the
/// first [`Skipped::MAX_REASONS`]). Lists come from live systems where one
/// row may lack a field; the rest of the page is still worth showing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Rows left out.
    pub count: u64,
    /// `row 3: missing field `state``, for the first few.
    pub reasons: Vec<String>,
}

impl Skipped {
    /// Most reasons kept: enough to diagnose, not a copy of a broken page.
    pub const MAX_REASONS: usize = 3;
    /// Longest reason kept, in characters (serde's words can quote a value).
    const MAX_REASON_CHARS: usize = 200;

    /// Nothing was skipped.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Counts one more skipped row (`index` from 0 within its list).
    pub fn add(&mut self, index: usize, reason: &str) {
        self.count = self.count.saturating_add(1);
        if self.reasons.len() < Self::MAX_REASONS {
            let reason: String = reason.chars().take(Self::MAX_REASON_CHARS).collect();
            self.reasons.push(format!("row {}: {reason}", index.saturating_add(1)));
        }
    }

    /// Adds `other`'s rows (a later page of the same list, another list of
    /// the same view).
    pub fn merge(&mut self, other: &Skipped) {
        self.count = self.count.saturating_add(other.count);
        let room = Self::MAX_REASONS.saturating_sub(self.reasons.len());
        self.reasons.extend(other.reasons.iter().take(room).cloned());
    }
}

/// A list decoded row by row: the rows that decoded, and a summary of those
/// that did not. The outside is lenient like [`vec_lenient`] (`[]`, `{}`,
/// `null`, `""` or missing → no rows); anything else that is not a list
/// still fails, since then nothing of the page can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<T> {
    /// The rows that decoded, in order.
    pub rows: Vec<T>,
    /// The rows that did not.
    pub skipped: Skipped,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Self { rows: Vec::new(), skipped: Skipped::default() }
    }
}

impl<T: DeserializeOwned> Listed<T> {
    /// Decodes every item of `items` on its own.
    pub fn from_items(items: Vec<serde_json::Value>) -> Self {
        let mut out = Listed { rows: Vec::with_capacity(items.len().min(4096)), skipped: Skipped::default() };
        for (i, item) in items.into_iter().enumerate() {
            match T::deserialize(item) {
                Ok(row) => out.rows.push(row),
                Err(e) => out.skipped.add(i, &e.to_string()),
            }
        }
        out
    }

    /// Decodes a list value: an array row by row, an empty shape as no rows.
    pub fn from_value(v: serde_json::Value) -> Result<Self, String> {
        use serde_json::Value;
        match v {
            Value::Array(items) => Ok(Self::from_items(items)),
            Value::Null => Ok(Self::default()),
            Value::Object(m) if m.is_empty() => Ok(Self::default()),
            Value::String(s) if s.trim().is_empty() => Ok(Self::default()),
            Value::Object(_) => Err("expected a list, found a non-empty object".into()),
            other => Err(format!("expected a list, found {other}")),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Listed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Option::<serde_json::Value>::deserialize(d)?.unwrap_or(serde_json::Value::Null);
        Listed::from_value(v).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_durations() {
        assert_eq!(parse_clock_secs("00:04:34"), Some(274));
        assert_eq!(parse_clock_secs("0:12"), Some(12));
        assert_eq!(parse_clock_secs("75"), Some(75));
        assert_eq!(parse_clock_secs("1:02:03"), Some(3723));
        for bad in ["", "-", "1::2", "a:b", "1:2:3:4", "就绪(00:10:36)"] {
            assert_eq!(parse_clock_secs(bad), None, "{bad}");
        }
    }

    #[derive(Deserialize, Debug)]
    struct T {
        #[serde(default, deserialize_with = "string_lenient")]
        s: String,
        #[serde(default, deserialize_with = "u64_lenient")]
        n: u64,
    }

    #[test]
    fn numbers_and_strings_both_decode() {
        let a: T = serde_json::from_str(r#"{"s": 8001, "n": "301"}"#).unwrap();
        assert_eq!((a.s.as_str(), a.n), ("8001", 301));
        let b: T = serde_json::from_str(r#"{"s": "x", "n": 5}"#).unwrap();
        assert_eq!((b.s.as_str(), b.n), ("x", 5));
        let c: T = serde_json::from_str(r#"{"s": null, "n": null}"#).unwrap();
        assert_eq!((c.s.as_str(), c.n), ("", 0));
        let d: T = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!((d.s.as_str(), d.n), ("", 0));
    }

    #[test]
    fn bad_counts_are_errors() {
        assert!(serde_json::from_str::<T>(r#"{"n": "abc"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"n": -1}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"n": 1.5}"#).is_err());
    }

    #[derive(Deserialize, Debug)]
    struct L {
        #[serde(default, deserialize_with = "vec_lenient")]
        v: Vec<T>,
    }

    #[test]
    fn lists_are_lenient_outside_and_strict_inside() {
        for s in [r#"{"v": []}"#, r#"{"v": {}}"#, r#"{"v": null}"#, r#"{"v": ""}"#, "{}"] {
            assert!(serde_json::from_str::<L>(s).unwrap().v.is_empty(), "{s}");
        }
        let l: L = serde_json::from_str(r#"{"v": [{"n": "1"}, {"n": 2}]}"#).unwrap();
        assert_eq!(l.v.len(), 2);
        // One bad row is an error, not a shorter list.
        assert!(serde_json::from_str::<L>(r#"{"v": [{"n": 1}, {"n": "x"}]}"#).is_err());
        assert!(serde_json::from_str::<L>(r#"{"v": {"a": 1}}"#).is_err());
    }

    #[test]
    fn listed_keeps_the_good_rows_and_counts_the_rest() {
        #[derive(Deserialize)]
        struct W {
            #[serde(default)]
            v: Listed<T>,
        }
        let w: W = serde_json::from_str(r#"{"v": [{"n": 1}, {"n": "x"}, {"n": "3"}]}"#).unwrap();
        assert_eq!(w.v.rows.iter().map(|t| t.n).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(w.v.skipped.count, 1);
        assert!(w.v.skipped.reasons[0].starts_with("row 2: not a count"), "{:?}", w.v.skipped);
        for s in [r#"{"v": []}"#, r#"{"v": {}}"#, r#"{"v": null}"#, r#"{"v": ""}"#, "{}"] {
            let w: W = serde_json::from_str(s).unwrap();
            assert!(w.v.rows.is_empty() && w.v.skipped.is_empty(), "{s}");
        }
        assert!(serde_json::from_str::<W>(r#"{"v": {"a": 1}}"#).is_err());
        assert!(serde_json::from_str::<W>(r#"{"v": 5}"#).is_err());
    }

    #[test]
    fn skipped_counts_everything_and_keeps_a_few_reasons() {
        let mut a = Skipped::default();
        for i in 0..5 {
            a.add(i, &"x".repeat(500));
        }
        assert_eq!((a.count, a.reasons.len()), (5, Skipped::MAX_REASONS));
        assert!(a.reasons[0].chars().count() < 220);
        let mut b = Skipped::default();
        b.add(0, "first");
        b.merge(&a);
        assert_eq!((b.count, b.reasons.len(), b.reasons[0].as_str()), (6, 3, "row 1: first"));
        assert_eq!(serde_json::to_value(&b).unwrap()["count"], 6);
    }

    #[test]
    fn empty_takes_any_shape() {
        for s in ["[]", "{}", "null", r#"{"a":[1]}"#, "[1,2]"] {
            assert_eq!(serde_json::from_str::<Empty>(s).unwrap(), Empty, "{s}");
        }
    }
}
