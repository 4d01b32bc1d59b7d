//! Validated identifiers of the PBX domain. Built from user input, so every
//! constructor checks and refuses with an [`InvalidInput`] naming the field.

use crate::ids::check_dial_id;
use crate::{InvalidInput, Problem};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A PBX extension: `8001`, or a named PJSIP endpoint (`alice`). The PBX
/// dials it as `PJSIP/<extension>`, so besides the shared id rule
/// ([`crate::ids::check_dial_id`]: non-empty, no control characters,
/// at most 256) it may not hold spaces or dial-string characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Extension(String);

impl Extension {
    /// Checks `value` as the field `field`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        Ok(Self(check_dial_id(field, value)?.to_string()))
    }

    /// The extension as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A number to dial: digits, `*` and `#`, with an optional leading `+`;
/// at most 32 characters. Spaces and dashes people type are removed. A
/// value that starts with a letter is a named extension (`alice`, a PJSIP
/// endpoint), checked like [`Extension`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Checks `value` as the field `field`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        let v: String = value.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if v.is_empty() {
            return Err(InvalidInput::new(field, Problem::Required, value));
        }
        let digits = v.strip_prefix('+').unwrap_or(&v);
        if !digits.is_empty()
            && v.chars().count() <= 32
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
        {
            return Ok(Self(v));
        }
        // Between extensions a destination may be a name. One that starts
        // with a digit or `+` is a mistyped number (`80a2`): refused as one.
        if value.trim_start().chars().next().is_some_and(char::is_alphabetic) {
            return Ok(Self(check_dial_id(field, value)?.to_string()));
        }
        Err(InvalidInput::new(field, Problem::NotNumber, value))
    }

    /// The number as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The PBX's id of one call (`hwd-1750750498.613`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Uniqueid(pub String);

impl fmt::Display for Uniqueid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 1-based page request. The PBX caps list pages at 1000 rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub page: u32,
    /// Rows per page, 1-1000.
    pub page_size: u32,
}

impl Page {
    /// Largest page the PBX serves.
    pub const MAX_SIZE: u32 = 1000;

    /// Checks page (≥ 1) and page size (1-1000).
    pub fn new(page: u32, page_size: u32) -> Result<Self, InvalidInput> {
        if page == 0 {
            return Err(InvalidInput::new(
                "page",
                Problem::OutOfRange { min: 1, max: u32::MAX as u64 },
                &page.to_string(),
            ));
        }
        if page_size == 0 || page_size > Self::MAX_SIZE {
            return Err(InvalidInput::new(
                "pageSize",
                Problem::OutOfRange { min: 1, max: Self::MAX_SIZE as u64 },
                &page_size.to_string(),
            ));
        }
        Ok(Self { page, page_size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(Extension::parse("extension", " 8001 ").unwrap().as_str(), "8001");
        assert_eq!(Extension::parse("extension", "").unwrap_err().field, "extension");
        // Named PJSIP endpoints and long numbers are extensions too.
        for ok in ["alice", "80a1", "12345678901234567", "sales.desk-2"] {
            assert_eq!(Extension::parse("extension", ok).unwrap().as_str(), ok);
        }
        for bad in ["8001&PJSIP/8002", "a b", "8001,1", "a\u{7}"] {
            assert!(Extension::parse("extension", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers() {
        for ok in ["8002", "+8613800138000", "*72#", "010-1234 5678", "alice", "a801"] {
            assert!(PhoneNumber::parse("dest", ok).is_ok(), "{ok}");
        }
        for bad in ["", "+", "80a2", "1+2", "1;2", "javascript:1;", "alice;x", "a&b", &"1".repeat(33)] {
            let e = PhoneNumber::parse("dest", bad).unwrap_err();
            assert_eq!(e.field, "dest");
        }
        assert_eq!(PhoneNumber::parse("dest", "010-12 34").unwrap().as_str(), "0101234");
        assert_eq!(PhoneNumber::parse("dest", " alice ").unwrap().as_str(), "alice");
    }

    #[test]
    fn pages() {
        assert!(Page::new(1, 1000).is_ok());
        assert_eq!(Page::new(0, 10).unwrap_err().field, "page");
        assert_eq!(Page::new(1, 1001).unwrap_err().field, "pageSize");
    }
}
