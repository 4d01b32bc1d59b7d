//! The two time formats the vendors use: `YYYY-MM-DD HH:MM:SS` in Beijing
//! time (UTC+8, every seed) and the HTTP `Date` header (IMF-fixdate, UTC).
//! Hand-written because both are fixed-width and a date crate would only
//! add size to the wasm.

use crate::{InvalidInput, Problem};
use std::fmt;

/// Beijing time's offset from UTC, in milliseconds.
const CST_OFFSET_MS: i64 = 8 * 3_600_000;

/// A wall-clock time as the vendors write it: `YYYY-MM-DD HH:MM:SS`,
/// Beijing time. Ordered, so `endtime < starttime` can be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CstDateTime {
    /// Milliseconds since the Unix epoch.
    epoch_ms: i64,
}

impl CstDateTime {
    /// Checks `value` as the field `field` (surrounding spaces ignored).
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        let v = value.trim();
        if v.is_empty() {
            return Err(InvalidInput::new(field, Problem::Required, value));
        }
        parse_cst_ms(v)
            .map(|epoch_ms| Self { epoch_ms })
            .ok_or_else(|| InvalidInput::new(field, Problem::NotDateTime, value))
    }

    /// The time `epoch_ms` milliseconds after the Unix epoch.
    pub fn from_epoch_ms(epoch_ms: i64) -> Self {
        Self { epoch_ms: epoch_ms - epoch_ms.rem_euclid(1000) }
    }

    /// Milliseconds since the Unix epoch.
    pub fn epoch_ms(self) -> i64 {
        self.epoch_ms
    }
}

impl fmt::Display for CstDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = (self.epoch_ms + CST_OFFSET_MS).div_euclid(1000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        write!(f, "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", sod / 3600, sod % 3600 / 60, sod % 60)
    }
}

/// The latest time taken from outside as epoch milliseconds:
/// 9999-12-31 23:59:59.999 Beijing time, the last a `YYYY-MM-DD` can write.
/// Times are clamped to `0..=` this, so no sum or offset of one can overflow.
pub const MAX_EPOCH_MS: i64 = 253_402_271_999_999;

/// An epoch-milliseconds number from outside (a JS `number`) as a time in
/// `0..=`[`MAX_EPOCH_MS`]: huge values saturate to the latest, negative ones
/// to the epoch, fractions are dropped; `NaN` is `None`. The one clamp for
/// JS times: `f64 as i64` saturates, but a saturated `i64::MAX` overflows
/// the first offset added to it (a panic in a debug build).
pub fn epoch_ms_from_f64(ms: f64) -> Option<i64> {
    if ms.is_nan() {
        return None;
    }
    // In range, so the cast is exact up to the dropped fraction.
    Some(ms.clamp(0.0, MAX_EPOCH_MS as f64) as i64)
}

/// Parses `YYYY-MM-DD HH:MM:SS` (Beijing time) to epoch milliseconds.
pub fn parse_cst_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 19 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(10) != Some(&b' ') {
        return None;
    }
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some((days * 86_400 + h * 3600 + mi * 60 + se) * 1000 - CST_OFFSET_MS)
}

/// Parses an HTTP `Date` header in the fixed-width IMF-fixdate form
/// (`Sun, 06 Nov 1994 08:49:37 GMT`, years 1970-9999) to epoch
/// milliseconds. Anything else (obsolete forms, odd widths) gives `None`.
pub fn parse_http_date_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    // "Www, DD Mon YYYY HH:MM:SS GMT" is exactly 29 bytes.
    if b.len() != 29 || b.get(3) != Some(&b',') || !s.ends_with(" GMT") {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mon = s.get(8..11)?;
    let mo = MONTHS.iter().position(|m| *m == mon)? as i64 + 1;
    let (d, y) = (num(5, 7)?, num(12, 16)?);
    if s.get(16..17) != Some(" ") || s.get(19..20) != Some(":") || s.get(22..23) != Some(":") {
        return None;
    }
    let (h, mi, se) = (num(17, 19)?, num(20, 22)?, num(23, 25)?);
    if y < 1970 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some((days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se) * 1000)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_times_are_clamped_to_what_can_be_written() {
        assert_eq!(epoch_ms_from_f64(1e20), Some(MAX_EPOCH_MS));
        assert_eq!(epoch_ms_from_f64(f64::INFINITY), Some(MAX_EPOCH_MS));
        assert_eq!(epoch_ms_from_f64(-5.0), Some(0));
        assert_eq!(epoch_ms_from_f64(f64::NEG_INFINITY), Some(0));
        assert_eq!(epoch_ms_from_f64(f64::NAN), None);
        assert_eq!(epoch_ms_from_f64(1_700_000_000_123.9), Some(1_700_000_000_123));
        // The latest time still writes, and an hour's offset from it cannot overflow.
        assert_eq!(CstDateTime::from_epoch_ms(MAX_EPOCH_MS).to_string(), "9999-12-31 23:59:59");
        assert!(MAX_EPOCH_MS.checked_add(CST_OFFSET_MS + 86_400_000 * 366).is_some());
    }

    #[test]
    fn cst_round_trips() {
        // The seed's CDR: hwd-1731637895.49 has calldate 2024-11-15 10:31:35.
        let t = CstDateTime::parse("start", "2024-11-15 10:31:35");
        assert_eq!(t.map(|t| t.epoch_ms()), Ok(1_731_637_895_000));
        assert_eq!(CstDateTime::from_epoch_ms(1_731_637_895_999).to_string(), "2024-11-15 10:31:35");
        assert_eq!(CstDateTime::from_epoch_ms(951_782_400_000).to_string(), "2000-02-29 08:00:00");
        for bad in [
            "2024-02-30 00:00:00",
            "2023-02-29 00:00:00",
            "2024-1-15 10:31:35",
            "2024-11-15T10:31:35",
            "2024-11-15 24:00:00",
            "２０２４-11-15 10:31:35",
            "",
        ] {
            assert!(CstDateTime::parse("start", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn http_dates_parse() {
        assert_eq!(parse_http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777_000));
        assert_eq!(parse_http_date_ms("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date_ms("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date_ms("Sun, 06 Nov 1994 08:49:37 PST"), None);
        assert_eq!(parse_http_date_ms(""), None);
        assert_eq!(parse_http_date_ms("Sun, 06 Nov 99999 08:49:37 GMT"), None);
        assert_eq!(parse_http_date_ms("Sun, 06 Nov 1994 -8:49:37 GMT"), None);
        assert_eq!(parse_http_date_ms("Sun, 06 Nov 1969 08:49:37 GMT"), None);
        assert_eq!(parse_http_date_ms("Fri, 31 Dec 9999 23:59:59 GMT"), Some(253_402_300_799_000));
    }
}
