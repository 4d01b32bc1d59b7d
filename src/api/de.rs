//! Tolerant field decoders: the vendors send numbers as strings and strings as
//! numbers, `[]` for an empty object, and leave fields out.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
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
    fn empty_takes_any_shape() {
        for s in ["[]", "{}", "null", r#"{"a":[1]}"#, "[1,2]"] {
            assert_eq!(serde_json::from_str::<Empty>(s).unwrap(), Empty, "{s}");
        }
    }
}
