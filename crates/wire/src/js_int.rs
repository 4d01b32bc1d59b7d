//! Integers as JavaScript can hold them. A JS number is exact only up to
//! 2^53 − 1 (`Number.MAX_SAFE_INTEGER`), while the vendors' ids and counters
//! are unbounded on the wire (here: `u64`/`i64`). The rule of the JS layer:
//! an integer whose magnitude is at most 2^53 − 1 stays a number; any other
//! goes out as its exact decimal string (`"9007199254740993"`). Strings, not
//! `BigInt`: JSON.stringify throws on a BigInt, and mixing one with numbers
//! throws a TypeError, so a BigInt would break embedders that treat rows as
//! JSON; a string keeps every digit and survives storage and transport.
//!
//! [`JsSafe`] applies the rule to any `Serialize` value, at every depth,
//! without changing anything else (field order, names, floats, strings), so
//! it wraps whatever serializer the JS layer uses.
//!
//! ```
//! use agent_console_wire::js_int::JsSafe;
//! let v = serde_json::to_value(JsSafe(&(9_007_199_254_740_993u64, 12u64))).unwrap();
//! assert_eq!(v, serde_json::json!(["9007199254740993", 12]));
//! ```

use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

/// 2^53 − 1: the largest integer a JS number holds with all its neighbours.
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Whether `v` is a safe JS integer.
pub fn is_safe_u64(v: u64) -> bool {
    v <= MAX_SAFE_INTEGER
}

/// Whether `v` is a safe JS integer (either sign).
pub fn is_safe_i64(v: i64) -> bool {
    v.unsigned_abs() <= MAX_SAFE_INTEGER
}

/// Serialises the wrapped value with integers beyond 2^53 − 1 as decimal
/// strings (see the module docs).
#[derive(Debug)]
pub struct JsSafe<'a, T: ?Sized>(pub &'a T);

impl<T: ?Sized + Serialize> Serialize for JsSafe<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(SafeSerializer(s))
    }
}

/// The serializer adapter: integers checked, everything else passed on.
struct SafeSerializer<S>(S);

/// A compound of the inner serializer whose elements are wrapped in turn.
struct Compound<C>(C);

impl<S: Serializer> Serializer for SafeSerializer<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<S::SerializeSeq>;
    type SerializeTuple = Compound<S::SerializeTuple>;
    type SerializeTupleStruct = Compound<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<S::SerializeTupleVariant>;
    type SerializeMap = Compound<S::SerializeMap>;
    type SerializeStruct = Compound<S::SerializeStruct>;
    type SerializeStructVariant = Compound<S::SerializeStructVariant>;

    fn serialize_bool(self, v: bool) -> Result<S::Ok, S::Error> {
        self.0.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<S::Ok, S::Error> {
        self.0.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result<S::Ok, S::Error> {
        self.0.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result<S::Ok, S::Error> {
        self.0.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result<S::Ok, S::Error> {
        if is_safe_i64(v) {
            self.0.serialize_i64(v)
        } else {
            self.0.serialize_str(&v.to_string())
        }
    }
    fn serialize_i128(self, v: i128) -> Result<S::Ok, S::Error> {
        // Safe values go as i64, which every serializer supports (not all take i128).
        match i64::try_from(v) {
            Ok(small) if is_safe_i64(small) => self.0.serialize_i64(small),
            _ => self.0.serialize_str(&v.to_string()),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<S::Ok, S::Error> {
        self.0.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result<S::Ok, S::Error> {
        self.0.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result<S::Ok, S::Error> {
        self.0.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result<S::Ok, S::Error> {
        if is_safe_u64(v) {
            self.0.serialize_u64(v)
        } else {
            self.0.serialize_str(&v.to_string())
        }
    }
    fn serialize_u128(self, v: u128) -> Result<S::Ok, S::Error> {
        match u64::try_from(v) {
            Ok(small) if is_safe_u64(small) => self.0.serialize_u64(small),
            _ => self.0.serialize_str(&v.to_string()),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        self.0.serialize_f32(v)
    }
    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        self.0.serialize_f64(v)
    }
    fn serialize_char(self, v: char) -> Result<S::Ok, S::Error> {
        self.0.serialize_char(v)
    }
    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        self.0.serialize_str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.0.serialize_bytes(v)
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_none()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&JsSafe(value))
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_variant(name, index, variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &JsSafe(value))
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_variant(name, index, variant, &JsSafe(value))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(Compound)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(Compound)
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(Compound)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0.serialize_tuple_variant(name, index, variant, len).map(Compound)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(Compound)
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(Compound)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0.serialize_struct_variant(name, index, variant, len).map(Compound)
    }
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<C: SerializeSeq> SerializeSeq for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_element(&JsSafe(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeTuple> SerializeTuple for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_element(&JsSafe(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeTupleStruct> SerializeTupleStruct for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_field(&JsSafe(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeTupleVariant> SerializeTupleVariant for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_field(&JsSafe(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeMap> SerializeMap for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), C::Error> {
        self.0.serialize_key(&JsSafe(key))
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_value(&JsSafe(value))
    }
    fn serialize_entry<K: ?Sized + Serialize, V: ?Sized + Serialize>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), C::Error> {
        self.0.serialize_entry(&JsSafe(key), &JsSafe(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeStruct> SerializeStruct for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        self.0.serialize_field(key, &JsSafe(value))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeStructVariant> SerializeStructVariant for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        self.0.serialize_field(key, &JsSafe(value))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Row {
        id: Option<u64>,
        duration: u64,
        level: i64,
        load: f64,
        text: String,
        nested: Vec<Inner>,
    }

    #[derive(Serialize)]
    struct Inner {
        n: u64,
    }

    #[test]
    fn safe_integers_stay_numbers_and_larger_ones_become_exact_strings() {
        let row = Row {
            id: Some(9_007_199_254_740_993),
            duration: MAX_SAFE_INTEGER,
            level: -9_007_199_254_740_993,
            load: 4.36,
            text: "9007199254740993".into(),
            nested: vec![Inner { n: u64::MAX }, Inner { n: 7 }],
        };
        let v = serde_json::to_value(JsSafe(&row)).unwrap();
        assert_eq!(
            v,
            json!({
                "id": "9007199254740993", "duration": 9_007_199_254_740_991u64, "level": "-9007199254740993",
                "load": 4.36, "text": "9007199254740993",
                "nested": [{"n": "18446744073709551615"}, {"n": 7}],
            })
        );
        // The field order is kept (the text serializer shows it).
        let text = serde_json::to_string(&JsSafe(&row)).unwrap();
        assert!(
            text.starts_with(r#"{"id":"9007199254740993","duration":9007199254740991,"level""#),
            "{text}"
        );
    }

    #[test]
    fn the_boundary_and_every_shape() {
        assert_eq!(serde_json::to_value(JsSafe(&(MAX_SAFE_INTEGER + 1))).unwrap(), json!("9007199254740992"));
        assert_eq!(
            serde_json::to_value(JsSafe(&-(MAX_SAFE_INTEGER as i64))).unwrap(),
            json!(-9_007_199_254_740_991i64)
        );
        assert_eq!(serde_json::to_value(JsSafe(&i64::MIN)).unwrap(), json!("-9223372036854775808"));
        assert_eq!(serde_json::to_value(JsSafe(&u128::MAX)).unwrap(), json!(u128::MAX.to_string()));
        assert_eq!(serde_json::to_value(JsSafe(&5u128)).unwrap(), json!(5));
        let none: Option<u64> = None;
        assert_eq!(serde_json::to_value(JsSafe(&none)).unwrap(), json!(null));
        let mut m = BTreeMap::new();
        m.insert(u64::MAX, u64::MAX);
        assert_eq!(
            serde_json::to_value(JsSafe(&m)).unwrap(),
            json!({"18446744073709551615": "18446744073709551615"})
        );
        assert_eq!(serde_json::to_value(JsSafe(&[1u64 << 60])).unwrap(), json!([(1u64 << 60).to_string()]));
    }
}
