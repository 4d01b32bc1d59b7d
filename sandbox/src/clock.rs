//! The sandbox clock: real time plus an adjustable offset.
//!
//! Every time-dependent behaviour (token expiry, a ringing call becoming answered, CDR
//! timestamps) reads this clock instead of the system clock, so tests can jump forward
//! (`POST /sandbox/clock`) instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Beijing time (UTC+8), the zone every vendor document writes its timestamps in.
const CST_OFFSET_SECS: i64 = 8 * 3600;

/// A shared, cheaply clonable clock. Clones share the same offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    // Virtual: only `advance_ms` moves it (the offset is then "now" itself), so a
    // simulated shift in tests follows its own time exactly, whatever the machine.
    manual: bool,
}

impl Clock {
    /// A clock showing real time (offset 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// A virtual clock standing at `start_ms` (epoch ms) that moves only by
    /// [`Clock::advance_ms`]: for simulations that run hours of sandbox time in seconds.
    pub fn manual(start_ms: i64) -> Self {
        Self { offset_ms: Arc::new(AtomicI64::new(start_ms)), manual: true }
    }

    /// Sandbox "now" in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        if self.manual {
            return self.offset_ms();
        }
        real_now_ms().saturating_add(self.offset_ms())
    }

    /// Current offset from real time, in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// Moves the clock by `ms` (saturating, so absurd inputs cannot overflow).
    pub fn advance_ms(&self, ms: i64) {
        // fetch_update never fails here because the closure always returns Some.
        let _ = self
            .offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| Some(cur.saturating_add(ms)));
    }
}

fn real_now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        // A system clock before 1970 is broken; treat it as the epoch rather than panic.
        Err(_) => 0,
    }
}

/// Splits epoch milliseconds into a Beijing-time civil date and time of day.
fn cst_parts(ms: i64) -> (i64, u32, u32, i64, i64, i64) {
    let secs = ms.div_euclid(1000).saturating_add(CST_OFFSET_SECS);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, sod / 3600, sod % 3600 / 60, sod % 60)
}

/// `YYYY-MM-DD HH:MM:SS` in UTC+8, the format of every PBX timestamp.
pub fn format_cst(ms: i64) -> String {
    let (y, m, d, hh, mm, ss) = cst_parts(ms);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
}

/// `(YYYYMMDD, HHMMSS)` in UTC+8, as used in the PBX's recording file names.
pub fn compact_cst(ms: i64) -> (String, String) {
    let (y, m, d, hh, mm, ss) = cst_parts(ms);
    (format!("{y:04}{m:02}{d:02}"), format!("{hh:02}{mm:02}{ss:02}"))
}

/// Parses `YYYY-MM-DD HH:MM:SS` as Beijing time into epoch milliseconds; `None` unless the
/// text is exactly that shape with in-range fields (the vendors' only timestamp format).
pub fn parse_cst(s: &str) -> Option<i64> {
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
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hh, mm, ss) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let secs = days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss - CST_OFFSET_SECS;
    Some(secs * 1000)
}

/// An HTTP `Date` value (RFC 9110 IMF-fixdate, always GMT), e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday; rem_euclid keeps the index in 0..7, m is 1..=12.
    let wd = DAYS.get(days.rem_euclid(7) as usize).copied().unwrap_or("Thu");
    let mon = MONTHS.get(m.saturating_sub(1) as usize).copied().unwrap_or("Jan");
    format!("{wd}, {d:02} {mon} {y:04} {:02}:{:02}:{:02} GMT", sod / 3600, sod % 3600 / 60, sod % 60)
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

/// Proleptic Gregorian (year, month, day) to days since 1970-01-01; the inverse of
/// [`civil_from_days`] (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// Howard Hinnant's `civil_from_days`; avoids pulling in a date crate for one format.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // d is in 1..=31 and m in 1..=12 by construction.
    (y, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_seed() {
        assert_eq!(format_cst(0), "1970-01-01 08:00:00");
        // The seed's CDR: uniqueid hwd-1731637895.49 has calldate 2024-11-15 10:31:35.
        assert_eq!(format_cst(1_731_637_895_000), "2024-11-15 10:31:35");
        // And hwd-1747793950.38 → 2025-05-21 10:19:10.
        assert_eq!(format_cst(1_747_793_950_999), "2025-05-21 10:19:10");
        assert_eq!(compact_cst(1_731_637_895_000), ("20241115".to_string(), "103135".to_string()));
        assert_eq!(format_cst(951_782_400_000), "2000-02-29 08:00:00");
    }

    #[test]
    fn parse_cst_round_trips() {
        for ms in [0, 1_731_637_895_000, 951_782_400_000, 1_569_567_517_000] {
            assert_eq!(parse_cst(&format_cst(ms)), Some(ms));
        }
        assert_eq!(parse_cst("2019-09-27 14:58:37"), Some(1_569_567_517_000));
        for bad in [
            "",
            "2019-09-27",
            "2019-9-27 14:58:37",
            "2019-02-29 00:00:00",
            "2019-13-01 00:00:00",
            "2019-01-01 24:00:00",
            "2019-01-01T00:00:00",
            "+019-01-01 00:00:00",
            "2019-01-01 00:00:0０",
        ] {
            assert_eq!(parse_cst(bad), None, "{bad}");
        }
        assert!(parse_cst("2020-02-29 23:59:59").is_some());
    }

    #[test]
    fn http_date_is_imf_fixdate() {
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400_999), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn advance_moves_now() {
        let c = Clock::new();
        let before = c.now_ms();
        c.advance_ms(3_600_000);
        assert!(c.now_ms() - before >= 3_600_000);
        c.advance_ms(i64::MAX);
        c.advance_ms(i64::MAX);
        assert_eq!(c.offset_ms(), i64::MAX);
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let c = Clock::manual(1_000);
        let shared = c.clone();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(c.now_ms(), 1_000);
        shared.advance_ms(1_800_000);
        assert_eq!(c.now_ms(), 1_801_000);
    }
}
