//! Validated identifiers of the PBX domain. Built from user input, so every
//! constructor checks and refuses with an [`InvalidInput`] naming the field.

use crate::api::{InvalidInput, Problem};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A PBX extension (`8001`): 1–16 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Extension(String);

impl Extension {
    /// Checks `value` as the field `field`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        let v = value.trim();
        if v.is_empty() {
            return Err(InvalidInput::new(field, Problem::Required, value));
        }
        if v.len() > 16 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidInput::new(field, Problem::NotExtension, v));
        }
        Ok(Self(v.to_string()))
    }

    /// The digits.
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
/// at most 32 characters. Spaces and dashes people type are removed.
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
        if digits.is_empty()
            || v.chars().count() > 32
            || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
        {
            return Err(InvalidInput::new(field, Problem::NotNumber, value));
        }
        Ok(Self(v))
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
        assert!(Extension::parse("extension", "80a1").is_err());
        assert!(Extension::parse("extension", "12345678901234567").is_err());
    }

    #[test]
    fn numbers() {
        for ok in ["8002", "+8613800138000", "*72#", "010-1234 5678"] {
            assert!(PhoneNumber::parse("dest", ok).is_ok(), "{ok}");
        }
        for bad in ["", "+", "80a2", "1+2", "javascript:1", "1;2"] {
            let e = PhoneNumber::parse("dest", bad).unwrap_err();
            assert_eq!(e.field, "dest");
        }
        assert_eq!(PhoneNumber::parse("dest", "010-12 34").unwrap().as_str(), "0101234");
    }

    #[test]
    fn pages() {
        assert!(Page::new(1, 1000).is_ok());
        assert_eq!(Page::new(0, 10).unwrap_err().field, "page");
        assert_eq!(Page::new(1, 1001).unwrap_err().field, "pageSize");
    }
}
