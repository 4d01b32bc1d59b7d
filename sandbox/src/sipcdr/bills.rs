//! The live bill generator: a deterministic, endless stream of call bills.
//!
//! Bill `n` (0-based) ends at `origin + (n + 1) * 30 s` and exists once that end time is
//! on or before the sandbox clock's "now". `origin` is two days before the sandbox
//! started (rounded down to 30 s), so there are two days of history at start and one new
//! bill every 30 s of sandbox clock after. Every other field is a pure function of `n`, so
//! nothing is stored and a bill looks the same on every read.

use std::ops::Range;

use serde::Serialize;

use crate::clock::{compact_cst, format_cst};
use crate::wav::splitmix;

/// One bill every this many ms of sandbox clock.
pub const BILL_INTERVAL_MS: i64 = 30_000;
/// History present when the sandbox starts.
pub const HISTORY_MS: i64 = 2 * 86_400_000;
/// `id` of bill 0; ids rise by one per bill.
pub const FIRST_BILL_ID: u64 = 20_001;
/// Upper bound of any bill's `duration`, in ms (ring ≤ 25 s + talk ≤ 300 s, rounded
/// up); lets a `starttime` window be turned into a range of bill numbers.
const MAX_DURATION_MS: i64 = 600_000;

/// Extensions bills are made on: the PBX demo's.
const EXTENSIONS: [&str; 5] = ["8001", "8002", "8003", "8004", "8005"];
/// The company's outgoing display numbers (the seed's, and its neighbours).
const DISPLAY_NUMBERS: [&str; 3] = ["2190170001", "2190170002", "2190170003"];

/// One bill, with exactly the seed's example keys, order and types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bill {
    pub id: u64,
    pub extnumber: String,
    pub destnumber: String,
    pub displaynumber: String,
    pub starttime: String,
    /// `null` when the call was not answered.
    pub answertime: Option<String>,
    pub endtime: String,
    /// Seconds from start to end.
    pub duration: u64,
    /// Seconds from answer to end; 0 if unanswered.
    pub billsec: u64,
    /// `"callout"` or `"callin"`.
    pub direction: &'static str,
    /// 1-6 as in the request's `callmethod`; 0 for inbound calls, which no method made.
    pub callmethod: u8,
    pub userid: String,
    pub memberid: String,
    pub chengshudu: String,
    pub customuuid: String,
    pub recordfilename: String,
    pub downloadip: String,
    pub hangupdirection: u32,
    pub hangupcause: u32,
    pub userkey: String,
    /// `starttime` as epoch ms, for filtering; not sent.
    #[serde(skip)]
    pub start_ms: i64,
}

/// The generator: only the time origin is state.
#[derive(Debug, Clone, Copy)]
pub struct BillBook {
    origin_ms: i64,
}

impl BillBook {
    /// A book whose history reaches two days back from `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        let aligned = start_ms.div_euclid(BILL_INTERVAL_MS).saturating_mul(BILL_INTERVAL_MS);
        Self { origin_ms: aligned.saturating_sub(HISTORY_MS) }
    }

    /// How many bills exist at `now_ms` (bills `0..count`).
    pub fn count(&self, now_ms: i64) -> u64 {
        u64::try_from(now_ms.saturating_sub(self.origin_ms).div_euclid(BILL_INTERVAL_MS)).unwrap_or(0)
    }

    /// The bill numbers, among those existing at `now_ms`, that can have a `starttime`
    /// in `from_ms..=to_ms` (a superset: callers still filter on `start_ms`).
    pub fn candidates(&self, from_ms: i64, to_ms: i64, now_ms: i64) -> Range<u64> {
        let count = self.count(now_ms);
        let index = |ms: i64| {
            u64::try_from(ms.saturating_sub(self.origin_ms).div_euclid(BILL_INTERVAL_MS)).unwrap_or(0)
        };
        // end(n) >= start(n) >= from  ⇒  n >= index(from) - 1;
        // end(n) <= start(n) + MAX_DURATION <= to + MAX_DURATION  ⇒  n < index(to + MAX) .
        let lo = index(from_ms).saturating_sub(1).min(count);
        let hi = index(to_ms.saturating_add(MAX_DURATION_MS)).saturating_add(1).min(count);
        lo..hi.max(lo)
    }

    /// Bill number `n`.
    pub fn bill(&self, n: u64) -> Bill {
        let id = FIRST_BILL_ID.saturating_add(n);
        let end_ms = self.origin_ms.saturating_add(
            i64::try_from(n.saturating_add(1))
                .unwrap_or(i64::MAX / BILL_INTERVAL_MS)
                .saturating_mul(BILL_INTERVAL_MS),
        );
        // A stream of independent draws for this bill.
        let mut state = splitmix(n ^ 0x5171_cd12);
        let mut draw = |modulus: u64| {
            state = splitmix(state);
            state % modulus.max(1)
        };
        let pick = |list: &[&'static str], r: u64| {
            list.get(r as usize % list.len().max(1)).copied().unwrap_or_default()
        };

        let inbound = draw(10) < 3;
        let callmethod = if inbound {
            0
        } else {
            [3u8, 3, 3, 4, 4, 1, 2, 5, 6].get(draw(9) as usize).copied().unwrap_or(3)
        };
        let extnumber =
            if matches!(callmethod, 5 | 6) { String::new() } else { pick(&EXTENSIONS, draw(5)).to_string() };
        let destnumber = format!("1{}{:09}", pick(&["3", "5", "8"], draw(3)), draw(1_000_000_000));
        let displaynumber = pick(&DISPLAY_NUMBERS, draw(3)).to_string();
        let answered = draw(4) != 0;
        let ring_s = 3 + draw(23);
        let talk_s = if answered { 5 + draw(296) } else { 0 };
        let duration = if answered { ring_s + talk_s } else { 10 + draw(36) };
        // u64 → i64: both are small by construction.
        let start_ms = end_ms.saturating_sub(duration as i64 * 1000);
        let answer_ms = start_ms.saturating_add(ring_s as i64 * 1000);
        let (day, time) = compact_cst(start_ms);
        let recordfilename = if answered {
            let ext = if extnumber.is_empty() { displaynumber.as_str() } else { extnumber.as_str() };
            format!("{day}/{day}{time}_{ext}_{destnumber}_{id}.wav")
        } else {
            String::new()
        };
        let hangupcause = if answered {
            10016
        } else {
            [10017, 10019, 10020].get(draw(3) as usize).copied().unwrap_or(10017)
        };

        Bill {
            id,
            extnumber,
            destnumber,
            displaynumber,
            starttime: format_cst(start_ms),
            answertime: answered.then(|| format_cst(answer_ms)),
            endtime: format_cst(end_ms),
            duration,
            billsec: talk_s,
            direction: if inbound { "callin" } else { "callout" },
            callmethod,
            userid: pick(&["0", "1001", "1002", "1003"], draw(4)).to_string(),
            memberid: if draw(3) == 0 { "0".to_string() } else { (500_000 + draw(100_000)).to_string() },
            chengshudu: pick(&["0", "1", "2", "3", "A", "B"], draw(6)).to_string(),
            customuuid: if draw(2) == 0 { "0".to_string() } else { format!("C{:08}", draw(100_000_000)) },
            recordfilename,
            downloadip: if answered { "127.0.0.1".to_string() } else { String::new() },
            hangupdirection: [10040, 10041].get(draw(2) as usize).copied().unwrap_or(10040),
            hangupcause,
            userkey: pick(&["#", "#", "", "1", "2#"], draw(5)).to_string(),
            start_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_cst;

    #[test]
    fn history_and_growth() {
        let start = 1_700_000_015_000;
        let book = BillBook::new(start);
        assert_eq!(book.count(start), 5760);
        // Aligned down to 1_700_000_010_000, so the next bill ends 25 s after start.
        assert_eq!(book.count(start + 24_999), 5760);
        assert_eq!(book.count(start + 25_000), 5761);
        // The newest bill has just ended.
        let last = book.bill(5759);
        assert!(parse_cst(&last.endtime).unwrap() <= start);
    }

    #[test]
    fn bills_are_deterministic_and_consistent() {
        let book = BillBook::new(1_700_000_000_000);
        assert_eq!(book.bill(7), book.bill(7));
        let mut dirs = std::collections::BTreeSet::new();
        let mut methods = std::collections::BTreeSet::new();
        for n in 0..500 {
            let b = book.bill(n);
            let s = parse_cst(&b.starttime).unwrap();
            let e = parse_cst(&b.endtime).unwrap();
            assert_eq!(s, b.start_ms);
            assert_eq!((e - s) / 1000, b.duration as i64);
            assert!(e - s <= MAX_DURATION_MS);
            match &b.answertime {
                Some(a) => assert_eq!((e - parse_cst(a).unwrap()) / 1000, b.billsec as i64),
                None => assert_eq!((b.billsec, b.recordfilename.as_str()), (0, "")),
            }
            dirs.insert(b.direction);
            methods.insert(b.callmethod);
        }
        assert_eq!(dirs.len(), 2);
        assert_eq!(methods.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn candidates_cover_the_window() {
        let book = BillBook::new(1_700_000_000_000);
        let now = 1_700_000_000_000;
        let (from, to) = (now - 3_600_000, now - 1_800_000);
        let r = book.candidates(from, to, now);
        let inside = |n: u64| (from..=to).contains(&book.bill(n).start_ms);
        for n in 0..book.count(now) {
            if inside(n) {
                assert!(r.contains(&n), "{n}");
            }
        }
        assert!(book.candidates(now + 86_400_000, now + 90_000_000, now).is_empty());
        assert!(book.candidates(i64::MIN, i64::MAX, i64::MAX).end > 0);
    }
}
