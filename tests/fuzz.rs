//! Hostile input, proved: every decoder of something from outside the tab
//! (a vendor's reply, the billing push, a webhook, a signer's answer, a
//! `Date` header, the settings a page or `config.json` hands in) is fed
//! inputs no server should send and must answer `Ok` or a typed `Err`,
//! never panic. Stable Rust, no cargo-fuzz: a seeded generator and
//! `catch_unwind`.
//!
//! Inputs, per decoder: (a) the real fixtures (`tests/fixtures/**`) cut at
//! every length, then mutated (bit flips, bytes set, ranges cut, copied and
//! spliced from other fixtures, invalid UTF-8 and hostile tokens inserted);
//! (b) JSON built from the decoder's own shape (the fixtures' trees) with
//! nodes swapped for wrong types, huge numbers (`1e308`, `-0`, `2^64`,
//! `2^53+1`, hundreds of digits), long strings, duplicated and renamed keys,
//! many rows, and nesting up to 100 000 deep (serde_json's recursion limit,
//! 128, must refuse it before anything overflows a stack); (c) arbitrary
//! bytes and JSON token soup. HTTP replies also get odd statuses and
//! refused bodies. Outputs are checked too: what a decoder accepts must
//! reach JS with no unsafe integer ([`JsSafe`]), and its error must have a
//! code and a message in both languages.
//!
//! Every input runs on a thread with a 1 MiB stack (wasm32's default) in
//! the debug test profile, so recursion that would overflow in the browser
//! overflows here. A panic is a finding: the input is saved under
//! `target/tmp/fuzz-findings/` (and its start printed escaped), the run
//! goes on, and the test fails at the end. `FUZZ_INPUTS` (per decoder,
//! default 100 000), `FUZZ_SEED`, `FUZZ_ONLY` (a name filter) and
//! `FUZZ_REPLAY=<saved .bin>` steer it (`FUZZ_STATUS`, `FUZZ_AUX` with it);
//! `FUZZ_TOTAL` shares a total among the decoders: `make fuzz` runs 10^7 in
//! all, optimised with overflow checks on (`scripts/fuzz.sh`).
//! The per-decoder figures (inputs, inputs/s, findings) go to stderr and to
//! `target/tmp/fuzz-summary.txt` (or `FUZZ_SUMMARY`).
//!
//! | decoder | layer | what reaches it |
//! | --- | --- | --- |
//! | `pbx::TokenResponse::decode` | api/pbx/auth.rs | `/oauth/token` reply |
//! | `pbx::call::decode_dial` | api/pbx/call.rs | `call/dial` reply |
//! | `pbx::call::decode_empty` | api/pbx/call.rs | hangup, hold, transfer, park, agent login/pause, … |
//! | `pbx::status::decode_endpoints` | api/pbx/status.rs | `status/endpoint` |
//! | `pbx::decode_rows::<TrunkStatus>` | api/envelope.rs | `status/trunk` |
//! | `pbx::decode_rows::<AgentStatus>` | api/envelope.rs | `status/queue` |
//! | `pbx::decode_rows::<WaitingCaller>` | api/envelope.rs | `status/wait` |
//! | `pbx::decode_rows::<ParkedCall>` | api/envelope.rs | `call/parkList` |
//! | `pbx::decode_rows::<Voicemail>` | api/envelope.rs | `GET voicemail` |
//! | `pbx::decode_rows::<Cdr>` | api/envelope.rs, de.rs | `GET cdr`, `cdr/list` |
//! | `pbx::agent::decode_agent_status` | api/pbx/agent.rs | `agent/getAgentStatus` |
//! | `pbx::tts::decode_speech` | api/pbx/tts.rs | `tts/synthesize` (base64 WAV) |
//! | `pbx::cdr::decode_push` | api/pbx/cdr.rs | billing websocket frame |
//! | `BillingFeed::socket_frame` | core/billing.rs | the same frame, into the store |
//! | `callback::decode_call` | api/callback/mod.rs | callback `call` reply |
//! | `callback::decode_end_call` | api/callback/mod.rs | `endCall` reply |
//! | `callback::decode_recording` | api/callback/mod.rs | `record` reply |
//! | `StatusNotification::decode` | api/callback/webhook.rs | call-end webhook |
//! | `RelayStatus::decode` | core/click_to_call.rs | the embedder's status relay |
//! | `callback::check_authorization` | core/callback.rs | a signer URL's answer |
//! | `ClockSkew::observe` (`parse_http_date_ms`) | core/callback.rs, api/time.rs | `Date` header |
//! | `CstDateTime::parse`, `parse_clock_secs` | api/time.rs, de.rs | every time/duration field |
//! | `dapi::decode_join` | api/dapi/mod.rs | `call/user`, `call/robot`, `call/token`, `invite/robot` |
//! | `dapi::decode_messages` | api/dapi/mod.rs | `call/msg` |
//! | `dapi::decode_empty` | api/dapi/mod.rs | `event`, `heartbeat`, `quit/robot` |
//! | `dapi::decode_config` | api/dapi/mod.rs | `system/config` |
//! | `dapi::decode_saved_task` | api/dapi/mod.rs | `calltask/update` |
//! | `dapi::decode_tasks` (+ `fit_task_page`) | api/dapi/mod.rs | `calltask/list` |
//! | `dapi::decode_upload` | api/dapi/mod.rs | `/d/upload` |
//! | `CallRecordPush::parse` | api/dapi/webhook.rs | call-record webhook |
//! | `sipcdr::decode_bills` | api/sipcdr/mod.rs | `GetBill` |
//! | `PbxSettings` + `open`, `deserialize_queues` | core/settings.rs, agent_desk.rs | JS options, `config.json` |
//!
//! Not here: the JS layer's `from_js` (serde-wasm-bindgen over a `JsValue`,
//! wasm only) decodes into the same `Deserialize` impls as above.
#![cfg(not(target_arch = "wasm32"))]

use agent_console::api::callback::{self, AppId, AppSecret, StatusNotification};
use agent_console::api::dapi::{self, CallRecordPush};
use agent_console::api::js_int::{is_safe_i64, is_safe_u64, JsSafe};
use agent_console::api::pbx::{
    self, cdr, AgentStatus, Cdr, ParkedCall, TokenResponse, TrunkStatus, Voicemail, WaitingCaller,
};
use agent_console::api::time::{parse_cst_ms, parse_http_date_ms, CstDateTime};
use agent_console::api::{sipcdr, ApiError, HttpRequest, HttpResponse};
use agent_console::core::callback::click_to_call::RelayStatus;
use agent_console::core::callback::{check_authorization, ClockSkew};
use agent_console::core::pbx::billing::{BillingFeed, BillingSettings};
use agent_console::core::session::HttpClient;
use agent_console::core::{Error, Instant, PbxSettings};
use agent_console::i18n::Lang;
use agent_console::i18n::Message;
use serde::Serialize;
use serde_json::Value;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant as WallClock};

// ---------------------------------------------------------------- inputs

/// One input: what a transport would hand the decoder.
#[derive(Clone, Debug)]
struct Input {
    /// HTTP status (ignored by decoders of bodies alone).
    status: u16,
    /// The body, frame or header bytes.
    body: Vec<u8>,
    /// The transport stopped reading at the cap.
    refused: bool,
    /// A second random number for decoders that take one more argument.
    aux: u64,
}

impl Input {
    fn resp(&self) -> HttpResponse {
        let mut r = HttpResponse::new(self.status, self.body.as_slice());
        r.body_refused = self.refused;
        r
    }

    /// What a websocket text frame or a header would be: text (a frame is
    /// valid UTF-8 by protocol, so invalid bytes arrive as U+FFFD).
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// SplitMix64: tiny, fast, and good enough to spread mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6A09_E667_F3BC_C909)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Numbers no vendor should send, as raw JSON text (some not even JSON).
const NUMBERS: &[&str] = &[
    "1e308",
    "-1e308",
    "1e309",
    "-1e400",
    "1e-400",
    "4.9e-324",
    "-0",
    "-0.0",
    "0",
    "1",
    "-1",
    "0.5",
    "1.5",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "9007199254740991",
    "9007199254740992",
    "9007199254740993",
    "-9007199254740993",
    "99999999999999999999999",
    "4294967296",
    "255",
    "256",
    "65536",
    "1E2",
    "1e+2",
    "01",
    "00",
    "1.",
    ".5",
    "+1",
    "NaN",
    "Infinity",
    "-Infinity",
    "0x10",
    "1_000",
];

/// Strings as raw JSON contents (escapes included, so lone surrogates and
/// control escapes reach the parser as sent).
const STRINGS: &[&str] = &[
    "",
    " ",
    "\\u0000",
    "\\ud800",
    "\\udc00\\ud800",
    "\\\\",
    "\\\"",
    "\\n\\r\\t",
    "\\u202e",
    "\u{a0}",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "../../etc/passwd",
    "/etc/passwd",
    "a/../b",
    "200",
    "0",
    "-1",
    "1",
    "true",
    "null",
    "billing",
    "yes",
    "success",
    "FAIL",
    "Bearer",
    "bearer x",
    "2024-02-29 12:00:00",
    "2023-02-29 12:00:00",
    "9999-12-31 23:59:59",
    "0000-01-01 00:00:00",
    "2024-13-01 00:00:00",
    "2024-01-01 24:00:00",
    "2024-01-01T00:00:00Z",
    "１２３",
    "٣",
    "99:99:99",
    "1:2:3:4",
    "4294967296:0:0",
    "999999999:59:59",
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Thu, 31 Dec 9999 23:59:60 GMT",
    "Mon, 29 Feb 2023 00:00:00 GMT",
    "UklGRgAAAABXQVZF",
    "UklGR",
    "====",
    "自定义状态1",
    "自定义状态",
    "就绪(00:10:36)",
    "Not in use",
    "In use",
    "ANSWERED",
    "NO ANSWER",
    "HangUp",
    "\u{1F600}",
    "\\uD83D\\uDE00",
];

/// Invalid UTF-8: a stray continuation, a cut 2-byte lead, an overlong NUL,
/// a surrogate, a code point past U+10FFFF, bytes never in UTF-8.
const BAD_UTF8: &[&[u8]] =
    &[b"\x80", b"\xC3", b"\xC0\x80", b"\xED\xA0\x80", b"\xF4\x90\x80\x80", b"\xFF", b"\xFE\xFF", b"\xE4\xB8"];

/// JSON's alphabet, for token soup.
const TOKENS: &[&str] = &[
    "{", "}", "[", "]", ",", ":", "\"", "\"a\"", "null", "true", "false", "0", "-", "1e308", "\\", "\\u", " ",
];

/// `depth` nested arrays (or objects) around `1`: what serde_json's
/// recursion limit must refuse.
fn nested(depth: usize, objects: bool) -> Vec<u8> {
    let (open, close): (&[u8], &[u8]) = if objects { (b"{\"a\":", b"}") } else { (b"[", b"]") };
    let mut out = Vec::with_capacity(depth * (open.len() + close.len()) + 1);
    for _ in 0..depth {
        out.extend_from_slice(open);
    }
    out.push(b'1');
    for _ in 0..depth {
        out.extend_from_slice(close);
    }
    out
}

/// A JSON tree that can say what `serde_json::Value` cannot: raw number
/// text, raw string contents (bad escapes), duplicate keys.
#[derive(Clone)]
enum J {
    Raw(Vec<u8>),
    Str(Vec<u8>),
    Arr(Vec<J>),
    Obj(Vec<(Vec<u8>, J)>),
}

fn escaped(s: &str) -> Vec<u8> {
    let q = serde_json::to_string(s).unwrap_or_default();
    q.as_bytes()[1..q.len() - 1].to_vec()
}

impl J {
    fn from_value(v: &Value) -> J {
        match v {
            Value::Null => J::Raw(b"null".to_vec()),
            Value::Bool(b) => J::Raw(b.to_string().into_bytes()),
            Value::Number(n) => J::Raw(n.to_string().into_bytes()),
            Value::String(s) => J::Str(escaped(s)),
            Value::Array(a) => J::Arr(a.iter().map(J::from_value).collect()),
            Value::Object(o) => J::Obj(o.iter().map(|(k, v)| (escaped(k), J::from_value(v))).collect()),
        }
    }

    fn emit(&self, out: &mut Vec<u8>) {
        match self {
            J::Raw(r) => out.extend_from_slice(r),
            J::Str(s) => {
                out.push(b'"');
                out.extend_from_slice(s);
                out.push(b'"');
            }
            J::Arr(items) => {
                out.push(b'[');
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    it.emit(out);
                }
                out.push(b']');
            }
            J::Obj(entries) => {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'"');
                    out.extend_from_slice(k);
                    out.extend_from_slice(b"\":");
                    v.emit(out);
                }
                out.push(b'}');
            }
        }
    }

    fn count(&self) -> usize {
        1 + match self {
            J::Arr(items) => items.iter().map(J::count).sum(),
            J::Obj(entries) => entries.iter().map(|(_, v)| v.count()).sum(),
            _ => 0,
        }
    }

    /// The `k`-th node in pre-order.
    fn nth_mut(&mut self, k: usize) -> Option<&mut J> {
        if k == 0 {
            return Some(self);
        }
        let mut k = k - 1;
        let children: Vec<&mut J> = match self {
            J::Arr(items) => items.iter_mut().collect(),
            J::Obj(entries) => entries.iter_mut().map(|(_, v)| v).collect(),
            _ => return None,
        };
        for c in children {
            let n = c.count();
            if k < n {
                return c.nth_mut(k);
            }
            k -= n;
        }
        None
    }

    /// The `k`-th node in pre-order, shared.
    fn nth(&self, k: usize) -> Option<&J> {
        if k == 0 {
            return Some(self);
        }
        let mut k = k - 1;
        let children: Vec<&J> = match self {
            J::Arr(items) => items.iter().collect(),
            J::Obj(entries) => entries.iter().map(|(_, v)| v).collect(),
            _ => return None,
        };
        for c in children {
            let n = c.count();
            if k < n {
                return c.nth(k);
            }
            k -= n;
        }
        None
    }

    fn collect(&self, keys: &mut Vec<Vec<u8>>, strings: &mut Vec<Vec<u8>>) {
        match self {
            J::Str(s) if s.len() <= 64 => strings.push(s.clone()),
            J::Arr(items) => items.iter().for_each(|i| i.collect(keys, strings)),
            J::Obj(entries) => {
                for (k, v) in entries {
                    keys.push(k.clone());
                    v.collect(keys, strings);
                }
            }
            _ => {}
        }
    }
}

/// What a decoder's inputs are made from: its seeds, their trees, and the
/// keys and short strings they hold.
struct Corpus {
    seeds: Vec<Vec<u8>>,
    trees: Vec<J>,
    keys: Vec<Vec<u8>>,
    strings: Vec<Vec<u8>>,
}

impl Corpus {
    fn new(seeds: Vec<Vec<u8>>) -> Self {
        let trees: Vec<J> = seeds
            .iter()
            .filter_map(|s| serde_json::from_slice::<Value>(s).ok())
            .map(|v| J::from_value(&v))
            .collect();
        let (mut keys, mut strings) = (vec![b"data".to_vec(), b"code".to_vec()], Vec::new());
        for t in &trees {
            t.collect(&mut keys, &mut strings);
        }
        keys.sort();
        keys.dedup();
        strings.sort();
        strings.dedup();
        strings.extend(STRINGS.iter().map(|s| s.as_bytes().to_vec()));
        Corpus { seeds, trees, keys, strings }
    }

    fn hostile_string(&self, rng: &mut Rng) -> Vec<u8> {
        match rng.below(10) {
            0 => {
                // Long: up to 64 KiB of one character, multi-byte or not.
                const UNITS: &[&[u8]] = &[b"x", "中".as_bytes(), b"\\u0001", b"\\\\", b"9"];
                let unit = *rng.pick::<&[u8]>(UNITS);
                let max = if rng.one_in(16) { 4_096 } else { 200 };
                unit.repeat(1 + rng.below(max))
            }
            1 => {
                let mut s = rng.pick(&self.strings).clone();
                let bad = *rng.pick::<&[u8]>(BAD_UTF8);
                s.extend_from_slice(bad);
                s
            }
            _ => rng.pick(&self.strings).clone(),
        }
    }

    fn hostile_number(&self, rng: &mut Rng) -> Vec<u8> {
        if rng.one_in(5) {
            // A long digit string, maybe signed, maybe with a fraction or exponent.
            let mut s = Vec::new();
            if rng.one_in(3) {
                s.push(b'-');
            }
            s.push(b'1' + rng.below(9) as u8);
            let max = if rng.one_in(16) { 2_000 } else { 100 };
            for _ in 0..rng.below(max) {
                s.push(b'0' + rng.below(10) as u8);
            }
            match rng.below(4) {
                0 => s.extend_from_slice(b".5"),
                1 => s.extend_from_slice(format!("e{}", rng.below(700)).as_bytes()),
                _ => {}
            }
            s
        } else {
            rng.pick(NUMBERS).as_bytes().to_vec()
        }
    }

    fn hostile_node(&self, rng: &mut Rng) -> J {
        match rng.below(12) {
            0..=2 => J::Raw(self.hostile_number(rng)),
            3..=6 => J::Str(self.hostile_string(rng)),
            7 => J::Raw(
                rng.pick(&["null", "true", "false", "[]", "{}", "[[]]", "{\"\":\"\"}", "[null]"])
                    .as_bytes()
                    .to_vec(),
            ),
            8 => {
                // Past the limit by far only now and then (it costs a 20 kB input);
                // 100 000 deep is in the test of nesting alone.
                let depth =
                    if rng.one_in(8) { 10_000 } else { *rng.pick(&[2, 16, 64, 126, 127, 128, 129, 200]) };
                J::Raw(nested(depth, rng.one_in(2)))
            }
            9 => J::Raw(rng.pick(&self.seeds).clone()),
            _ => match self.trees.is_empty() {
                true => J::Raw(b"{}".to_vec()),
                false => {
                    // A node of another shape from this decoder's own trees.
                    let t = rng.pick(&self.trees);
                    t.nth(rng.below(t.count())).cloned().unwrap_or(J::Raw(b"0".to_vec()))
                }
            },
        }
    }

    /// (b): a seed's tree with a few nodes changed.
    fn structured(&self, rng: &mut Rng) -> Vec<u8> {
        let Some(tree) = (!self.trees.is_empty()).then(|| rng.pick(&self.trees).clone()) else {
            return self.arbitrary(rng);
        };
        let mut tree = tree;
        for _ in 0..1 + rng.below(4) {
            let n = tree.count();
            let k = rng.below(n);
            let Some(node) = tree.nth_mut(k) else { continue };
            self.mutate_node(rng, node);
        }
        let mut out = Vec::new();
        tree.emit(&mut out);
        if rng.one_in(8) {
            self.mutate_bytes(rng, &mut out, 1);
        }
        out
    }

    fn mutate_node(&self, rng: &mut Rng, node: &mut J) {
        let op = rng.below(14);
        match node {
            J::Obj(e) if (7..=10).contains(&op) || op == 13 => match op {
                7 if !e.is_empty() => {
                    e.remove(rng.below(e.len()));
                }
                8 if !e.is_empty() => {
                    // A duplicate key, with the same or another value.
                    let mut dup = e[rng.below(e.len())].clone();
                    if rng.one_in(2) {
                        dup.1 = self.hostile_node(rng);
                    }
                    e.insert(rng.below(e.len() + 1), dup);
                }
                9 if !e.is_empty() => {
                    let i = rng.below(e.len());
                    e[i].0 =
                        if rng.one_in(4) { self.hostile_string(rng) } else { rng.pick(&self.keys).clone() };
                }
                10 => e.push((rng.pick(&self.keys).clone(), self.hostile_node(rng))),
                _ => e.clear(),
            },
            J::Arr(items) if op == 11 && !items.is_empty() => {
                // Many rows (a page a broken server never ends), or none.
                let n = if rng.one_in(16) { 300 } else { *rng.pick(&[0, 2, 3, 20]) };
                let row = rng.pick(items).clone();
                *items = vec![row; n];
            }
            J::Arr(items) if op == 12 => items.push(self.hostile_node(rng)),
            _ => match op {
                5 => *node = J::Arr(vec![node.clone()]),
                6 => *node = J::Obj(vec![(rng.pick(&self.keys).clone(), node.clone())]),
                _ => *node = self.hostile_node(rng),
            },
        }
    }

    /// (a): byte-level mutations, `ops` of them.
    fn mutate_bytes(&self, rng: &mut Rng, d: &mut Vec<u8>, ops: usize) {
        for _ in 0..ops {
            let len = d.len();
            match rng.below(11) {
                0 if len > 0 => {
                    let i = rng.below(len);
                    d[i] ^= 1 << rng.below(8);
                }
                1 if len > 0 => {
                    let i = rng.below(len);
                    d[i] = *rng.pick(&[
                        0x00, 0x7F, 0x80, 0xC0, 0xFF, b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'0',
                        b'-',
                    ]);
                }
                2 => {
                    let keep = match rng.below(5) {
                        0 => rng.below(9),
                        1 => len / 2,
                        2 => len.saturating_sub(1 + rng.below(3)),
                        _ => rng.below(len + 1),
                    };
                    d.truncate(keep.min(len));
                }
                3 if len > 0 => {
                    let a = rng.below(len);
                    let b = (a + 1 + rng.below(32)).min(len);
                    d.drain(a..b);
                }
                4 if len > 0 => {
                    let a = rng.below(len);
                    let b = (a + 1 + rng.below(64)).min(len);
                    let piece = d[a..b].to_vec();
                    let at = rng.below(len + 1);
                    d.splice(at..at, piece);
                }
                5 => {
                    let tok = match rng.below(4) {
                        0 => self.hostile_number(rng),
                        1 => [b"\"".as_slice(), &self.hostile_string(rng), b"\""].concat(),
                        2 => [b"\"".as_slice(), rng.pick(&self.keys).as_slice(), b"\":"].concat(),
                        _ => rng.pick(TOKENS).as_bytes().to_vec(),
                    };
                    let at = rng.below(len + 1);
                    d.splice(at..at, tok);
                }
                6 => {
                    let at = rng.below(len + 1);
                    d.splice(at..at, rng.pick(BAD_UTF8).iter().copied());
                }
                7 => {
                    // Splice: this input's head, another seed's tail.
                    let other = rng.pick(&self.seeds);
                    let at = rng.below(len + 1);
                    let from = rng.below(other.len() + 1);
                    d.truncate(at);
                    d.extend_from_slice(&other[from..]);
                }
                8 => {
                    // Grow a number where a digit is.
                    if let Some(p) = (0..8)
                        .map(|_| rng.below(len.max(1)))
                        .find(|&p| d.get(p).is_some_and(u8::is_ascii_digit))
                    {
                        let digits = "9".repeat(1 + rng.below(40));
                        d.splice(p..p, digits.bytes());
                    }
                }
                9 => {
                    // Swap two ranges' order (a reordered, broken body).
                    if len > 2 {
                        let m = 1 + rng.below(len - 1);
                        d.rotate_left(m);
                    }
                }
                _ => {
                    let at = rng.below(len + 1);
                    let junk: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
                    d.splice(at..at, junk);
                }
            }
        }
    }

    /// (c): arbitrary bytes or JSON token soup.
    fn arbitrary(&self, rng: &mut Rng) -> Vec<u8> {
        let n = if rng.one_in(20) { rng.below(4_096) } else { rng.below(48) };
        if rng.one_in(2) {
            (0..n).map(|_| rng.next() as u8).collect()
        } else {
            (0..n).flat_map(|_| rng.pick(TOKENS).as_bytes().to_vec()).collect()
        }
    }

    /// Input `i` of a run: first every prefix of every seed (truncation at
    /// every length), then the three kinds mixed.
    fn input(&self, rng: &mut Rng, i: usize, budget: usize) -> Input {
        let body = match self.prefix(i, budget) {
            Some(b) => b,
            None => match rng.below(100) {
                0..=44 => {
                    let mut d = rng.pick(&self.seeds).clone();
                    let ops = if rng.one_in(10) { 1 + rng.below(16) } else { 1 + rng.below(3) };
                    self.mutate_bytes(rng, &mut d, ops);
                    d
                }
                45..=87 => self.structured(rng),
                _ => self.arbitrary(rng),
            },
        };
        let status = if rng.below(4) > 0 {
            200
        } else {
            *rng.pick(&[
                0, 100, 199, 201, 204, 299, 300, 304, 400, 401, 403, 404, 413, 429, 500, 502, 503, 599, 999,
                65535,
            ])
        };
        Input { status, body, refused: rng.one_in(64), aux: rng.next() }
    }

    /// The `i`-th prefix of the seeds, while `i` is within them and a
    /// quarter of the budget.
    fn prefix(&self, i: usize, budget: usize) -> Option<Vec<u8>> {
        if i >= budget / 4 {
            return None;
        }
        let mut k = i;
        for s in &self.seeds {
            if k <= s.len() {
                return Some(s[..k].to_vec());
            }
            k -= s.len() + 1;
        }
        None
    }
}

// ---------------------------------------------------------------- seeds

fn fixture(rel: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // As the decode tests read them: the seeds' no-break-space indents and
    // double HTML escaping are the documents', not a server's.
    text.replace('\u{a0}', " ").replace("&amp;quot;", "\"").into_bytes()
}

fn pbx(names: &[&str]) -> Vec<Vec<u8>> {
    names.iter().map(|n| fixture(&format!("pbx/{n}"))).collect()
}

fn dapi_f(names: &[&str]) -> Vec<Vec<u8>> {
    names.iter().map(|n| fixture(&format!("dapi/{n}"))).collect()
}

fn inline(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

const PBX_ERRORS: &[&str] = &[
    r#"{"code":"600000","msg":"参数错误","data":[]}"#,
    r#"{"code":401,"msg":"Unauthenticated."}"#,
    r#"{"message":"Server Error","error_description":"x"}"#,
];
const DAPI_ERRORS: &[&str] =
    &[r#"{"success":false,"msg":"参数错误","data":null}"#, r#"{"success":"0","message":"no"}"#];
const WEBHOOK: &str = r#"{"callidentifier":" 77 ","status":"Disconnected","startTime":"2024-01-02 03:03:50","answerTime":"2024-01-02 03:04:00","endTime":"2024-01-02 03:04:05","reason":"CalleeBusy","callDuration":"5","recordingResult":"success","outCallId":"o-1"}"#;
const APP_ID: &str = "1696054309969104898";
const SIGN_TS: u64 = 1_693_270_226_642;

// ---------------------------------------------------------------- checks

/// What a decoder accepted must reach JS: every integer safe (2^53 − 1),
/// and the serializer must not fail.
fn reaches_js<T: Serialize + ?Sized>(v: &T) {
    let out = serde_json::to_value(JsSafe(v))
        .unwrap_or_else(|e| panic!("decoded value cannot be handed to JS: {e}"));
    assert_js_safe(&out);
}

fn assert_js_safe(v: &Value) {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                assert!(is_safe_i64(i), "unsafe integer {i} handed to JS");
            } else if let Some(u) = n.as_u64() {
                assert!(is_safe_u64(u), "unsafe integer {u} handed to JS");
            }
        }
        Value::Array(a) => a.iter().for_each(assert_js_safe),
        Value::Object(o) => o.values().for_each(assert_js_safe),
        _ => {}
    }
}

/// An error must have a code and a message a person can read, in both languages.
fn typed(e: ApiError) -> bool {
    assert!(!e.code().is_empty(), "an error without a code: {e:?}");
    let _ = e.vendor_message();
    let e = Error::Api(e);
    assert!(
        !e.message(Lang::Zh).is_empty() && !e.message(Lang::En).is_empty(),
        "an error without words: {e:?}"
    );
    false
}

fn outcome<T>(r: Result<T, ApiError>, ok: impl FnOnce(T)) -> bool {
    match r {
        Ok(v) => {
            ok(v);
            true
        }
        Err(e) => typed(e),
    }
}

fn rows<T: Serialize>(r: Result<pbx::Reply<Vec<T>>, ApiError>) -> bool {
    outcome(r, |r| {
        reaches_js(&r.data);
        reaches_js(&r.skipped);
        assert!(r.skipped.reasons.len() <= 3 && r.skipped.count >= r.skipped.reasons.len() as u64);
    })
}

// ---------------------------------------------------------------- decoders

/// One decoder under test: a name, whether its input is JSON (so nesting
/// past the limit must be refused), its seeds, and a run that answers
/// whether the input decoded (`true`) or was refused with a typed error.
struct Target {
    name: &'static str,
    json: bool,
    seeds: Vec<Vec<u8>>,
    run: fn(&Input) -> bool,
}

thread_local! {
    // One feed per worker, kept across frames like a shift's socket.
    static FEED: RefCell<Option<(BillingFeed, u32)>> = const { RefCell::new(None) };
}

struct Offline;

impl HttpClient for Offline {
    async fn send(&self, _req: HttpRequest) -> Result<HttpResponse, String> {
        Err("offline".into())
    }
}

/// `config.json` as the console reads it: the PBX settings and the queues.
#[derive(serde::Deserialize)]
struct ConsoleLike {
    #[serde(flatten)]
    pbx: PbxSettings,
    #[serde(default, deserialize_with = "agent_console::core::pbx::agent_desk::deserialize_queues")]
    queues: Vec<String>,
}

fn targets() -> Vec<Target> {
    let empties = [
        "hangup.json",
        "hold.json",
        "unhold.json",
        "transfer.json",
        "park.json",
        "unpark.json",
        "redirect.json",
        "pickup.json",
        "barge.json",
        "monitor.json",
        "whisper.json",
        "cancel_atxfer.json",
        "agent_login.json",
        "agent_logout.json",
        "agent_pause.json",
        "handset_play.json",
        "voicemail_mark.json",
    ];
    let with = |mut seeds: Vec<Vec<u8>>, extra: &[&str]| {
        seeds.extend(inline(extra));
        seeds
    };
    vec![
        Target {
            name: "pbx token",
            json: true,
            seeds: with(
                pbx(&["token_password.json", "token_refresh.json"]),
                &[
                    r#"{"error":"invalid_client","error_description":"Client authentication failed","message":"x"}"#,
                ],
            ),
            run: |i| {
                outcome(TokenResponse::decode(&i.resp()), |t| {
                    assert!(
                        !t.access_token.is_empty() && t.access_token.bytes().all(|b| b.is_ascii_graphic())
                    );
                    assert!(t.expires_in > 0);
                    let _ = t.refresh();
                })
            },
        },
        Target {
            name: "pbx call/dial",
            json: true,
            seeds: with(pbx(&["dial.json"]), PBX_ERRORS),
            run: |i| outcome(pbx::call::decode_dial(&i.resp()), |r| reaches_js(&r.data)),
        },
        Target {
            name: "pbx empty replies",
            json: true,
            seeds: with(pbx(&empties), PBX_ERRORS),
            run: |i| outcome(pbx::call::decode_empty(&i.resp()), |r| assert!(r.skipped.is_empty())),
        },
        Target {
            name: "pbx status/endpoint",
            json: true,
            seeds: with(pbx(&["status_endpoint.json"]), PBX_ERRORS),
            run: |i| rows(pbx::status::decode_endpoints(&i.resp())),
        },
        Target {
            name: "pbx status/trunk",
            json: true,
            seeds: with(pbx(&["status_trunk.json"]), PBX_ERRORS),
            run: |i| rows(pbx::decode_rows::<TrunkStatus>(&i.resp())),
        },
        Target {
            name: "pbx status/queue",
            json: true,
            seeds: with(pbx(&["status_queue.json"]), PBX_ERRORS),
            run: |i| {
                let r = pbx::decode_rows::<AgentStatus>(&i.resp());
                if let Ok(r) = &r {
                    for a in &r.data {
                        let _ = (a.status.zh(), a.status.en(), a.status.is_paused(), a.status.code());
                    }
                }
                rows(r)
            },
        },
        Target {
            name: "pbx status/wait",
            json: true,
            seeds: with(pbx(&["status_wait.json"]), PBX_ERRORS),
            run: |i| rows(pbx::decode_rows::<WaitingCaller>(&i.resp())),
        },
        Target {
            name: "pbx call/parkList",
            json: true,
            seeds: with(pbx(&["park_list.json"]), PBX_ERRORS),
            run: |i| rows(pbx::decode_rows::<ParkedCall>(&i.resp())),
        },
        Target {
            name: "pbx voicemail",
            json: true,
            seeds: with(pbx(&["voicemail.json"]), PBX_ERRORS),
            run: |i| {
                let mut r = pbx::decode_rows::<Voicemail>(&i.resp());
                if let Ok(r) = &mut r {
                    pbx::voicemail::inbox_order(&mut r.data);
                }
                rows(r)
            },
        },
        Target {
            name: "pbx cdr, cdr/list",
            json: true,
            seeds: with(pbx(&["cdr.json", "cdr_list.json", "cdr_every_column.json"]), PBX_ERRORS),
            run: |i| {
                let r = pbx::decode_rows::<Cdr>(&i.resp());
                if let Ok(r) = &r {
                    for (n, c) in r.data.iter().enumerate() {
                        assert!(!c.uniqueid.trim().is_empty());
                        let _ = (c.calldate_ms(), c.same_record(&r.data[n / 2]), c.disposition.as_wire());
                        if let Ok(url) = cdr::recording_url("https://pbx.example", &c.recording) {
                            assert!(!url.contains("/../") && !url.contains("javascript:"), "{url}");
                        }
                    }
                }
                rows(r)
            },
        },
        Target {
            name: "pbx getAgentStatus",
            json: true,
            seeds: with(pbx(&["agent_status.json"]), PBX_ERRORS),
            run: |i| rows(pbx::agent::decode_agent_status(&i.resp())),
        },
        Target {
            name: "pbx tts/synthesize",
            json: true,
            seeds: with(
                pbx(&["tts.json"]),
                &[
                    r#"{"code":"200","data":{"audio":"UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=","format":"wav"}}"#,
                ],
            ),
            run: |i| {
                outcome(pbx::tts::decode_speech(&i.resp()), |s| {
                    assert!(!s.audio.is_empty());
                    assert!(!s.format.eq_ignore_ascii_case("wav") || s.audio.starts_with(b"RIFF"));
                })
            },
        },
        Target {
            name: "pbx billing push",
            json: true,
            seeds: with(
                pbx(&["billing_push.json"]),
                &[r#"{"type":"ping"}"#, r#"{"type":"billing","data":{}}"#],
            ),
            run: |i| {
                outcome(cdr::decode_push(&i.text()), |f| match f {
                    pbx::PushFrame::Billing(l) => {
                        assert!(l.rows.iter().all(|c| !c.uniqueid.trim().is_empty()));
                        reaches_js(&l.rows);
                    }
                    pbx::PushFrame::Other(_) => {}
                })
            },
        },
        Target {
            name: "core billing feed frames",
            json: true,
            seeds: pbx(&["billing_push.json"]),
            run: |i| {
                let text = i.text();
                FEED.with(|cell| {
                    // Taken out while in use: after a panic the next frame gets a fresh feed.
                    let (mut feed, n) = cell.borrow_mut().take().unwrap_or_else(|| {
                        let mut f = BillingFeed::new(BillingSettings::default(), 0, 7);
                        while f.poll_op().is_some() {}
                        f.socket_opened(Instant(0), 1_750_000_000_000);
                        (f, 0)
                    });
                    feed.socket_frame(&text);
                    let mut trouble = false;
                    while feed.poll_op().is_some() {}
                    while let Some(ev) = feed.poll_event() {
                        if let agent_console::core::pbx::billing::BillingEvent::Trouble(e) = ev {
                            trouble = true;
                            let _ = (e.code(), e.message(Lang::Zh), e.message(Lang::En));
                        }
                    }
                    assert!(feed.store().len() <= feed.store().max_rows());
                    // A fresh feed now and then, so the store does not only ever hold old rows.
                    if n < 4_096 {
                        *cell.borrow_mut() = Some((feed, n + 1));
                    }
                    !trouble
                })
            },
        },
        Target {
            name: "callback call",
            json: true,
            seeds: with(vec![fixture("callback/call.json")], PBX_ERRORS),
            run: |i| {
                outcome(callback::decode_call(&i.resp()), |c| assert!(!c.callidentifier.as_str().is_empty()))
            },
        },
        Target {
            name: "callback endCall",
            json: true,
            seeds: with(inline(&[r#"{"code":200,"success":true,"data":null,"msg":"操作成功"}"#]), PBX_ERRORS),
            run: |i| outcome(callback::decode_end_call(&i.resp()), |()| {}),
        },
        Target {
            name: "callback record",
            json: true,
            seeds: with(vec![fixture("callback/record.json")], PBX_ERRORS),
            run: |i| {
                outcome(callback::decode_recording(&i.resp()), |r| {
                    assert!(r.file_url.starts_with("http://") || r.file_url.starts_with("https://"));
                })
            },
        },
        Target {
            name: "callback webhook",
            json: true,
            seeds: inline(&[
                WEBHOOK,
                r#"{"callidentifier":"8","endTime":"2024-01-02 03:04:05","callDuration":12}"#,
            ]),
            run: |i| {
                outcome(StatusNotification::decode(&i.body), |n| {
                    assert!(!n.callidentifier.is_empty() && parse_cst_ms(n.end_time.trim()).is_some());
                    let _ = (
                        n.answered(),
                        n.reason.as_ref().map(agent_console::i18n::callback::hangup_reason_words),
                    );
                    reaches_js(&n);
                })
            },
        },
        Target {
            name: "core relay status",
            json: true,
            seeds: inline(&[
                r#"{"phase":"talking"}"#,
                &format!(r#"{{"phase":"ended","notification":{WEBHOOK}}}"#),
                r#"{"phase":null,"notification":null}"#,
            ]),
            run: |i| RelayStatus::decode(&i.body).is_ok(),
        },
        Target {
            name: "core signer reply",
            json: false,
            seeds: {
                let (id, secret) = (AppId::parse(APP_ID).unwrap(), AppSecret::parse("secret").unwrap());
                let h = callback::sign(&id, &secret, SIGN_TS);
                inline(&[&h, &format!(r#"{{"authorization":"{h}"}}"#), h.trim_end_matches('=')])
            },
            run: |i| {
                let id = AppId::parse(APP_ID).unwrap();
                // The signer's text as the URL signer reads it (lossy, trimmed).
                match check_authorization(&id, SIGN_TS ^ (i.aux & 1), &i.text()) {
                    Ok(()) => true,
                    Err(e) => {
                        assert!(!e.message(Lang::Zh).is_empty() && !e.code().is_empty());
                        false
                    }
                }
            },
        },
        Target {
            name: "core Date header",
            json: false,
            seeds: inline(&[
                "Sun, 06 Nov 1994 08:49:37 GMT",
                "Wed, 02 Dec 2026 06:57:51 GMT",
                "Fri, 31 Dec 9999 23:59:59 GMT",
            ]),
            run: |i| {
                let text = i.text();
                let mut skew = ClockSkew::default();
                let sent = i.aux >> 1;
                let _ = skew.observe(sent, sent.saturating_add(i.aux & 0xFFFF), Some(&text));
                let _ = skew.timestamp(i.aux);
                parse_http_date_ms(&text).is_some()
            },
        },
        Target {
            name: "api time and duration text",
            json: false,
            seeds: inline(&[
                "2024-01-31 08:00:00",
                "1970-01-01 08:00:00",
                "9999-12-31 23:59:59",
                "00:04:34",
                "1:02:03",
            ]),
            run: |i| {
                let text = i.text();
                let _ = agent_console::api::de::parse_clock_secs(&text);
                match CstDateTime::parse("start", &text) {
                    // Round trip: what is accepted writes back as it was read.
                    Ok(t) => {
                        assert_eq!(t.to_string(), text.trim());
                        true
                    }
                    Err(e) => typed(e.into()),
                }
            },
        },
        Target {
            name: "dapi join",
            json: true,
            seeds: with(
                dapi_f(&["call_user.json", "call_robot.json", "call_token.json", "invite_robot.json"]),
                DAPI_ERRORS,
            ),
            run: |i| outcome(dapi::decode_join(&i.resp()), |j| reaches_js(&j)),
        },
        Target {
            name: "dapi call/msg",
            json: true,
            seeds: with(dapi_f(&["call_msg.json"]), DAPI_ERRORS),
            run: |i| {
                outcome(dapi::decode_messages(&i.resp()), |l| {
                    reaches_js(&l.rows);
                    reaches_js(&l.skipped);
                })
            },
        },
        Target {
            name: "dapi empty replies",
            json: true,
            seeds: with(dapi_f(&["quit_robot.json"]), DAPI_ERRORS),
            run: |i| outcome(dapi::decode_empty(&i.resp()), |()| {}),
        },
        Target {
            name: "dapi system/config",
            json: true,
            seeds: with(dapi_f(&["system_config.json"]), DAPI_ERRORS),
            run: |i| {
                outcome(dapi::decode_config(&i.resp()), |c| {
                    assert!((5..=300).contains(&c.heartbeat_secs()));
                    reaches_js(&c);
                })
            },
        },
        Target {
            name: "dapi calltask/update",
            json: true,
            seeds: with(
                inline(&[r#"{"success":true,"data":{"id":5}}"#, r#"{"success":true,"data":"7"}"#]),
                DAPI_ERRORS,
            ),
            run: |i| outcome(dapi::decode_saved_task(&i.resp()), |_| {}),
        },
        Target {
            name: "dapi calltask/list",
            json: true,
            seeds: with(dapi_f(&["calltask_list.json"]), DAPI_ERRORS),
            run: |i| {
                outcome(dapi::decode_tasks(&i.resp()), |p| {
                    reaches_js(&p);
                    // The page asked for, from any reply (a server that ignores paging).
                    let page = [0, 1, 2, 3, 100, u64::MAX][(i.aux % 6) as usize];
                    let per_page =
                        [0, 1, 10, 20, 50, 1_000, u64::MAX / 2, u64::MAX][((i.aux >> 8) % 8) as usize];
                    if let Some(fit) = dapi::fit_task_page(p.clone(), page, per_page) {
                        assert!(fit.rows.len() as u64 <= per_page.max(p.rows.len() as u64));
                    }
                    let cut = dapi::cut_task_page(p, page, per_page);
                    assert!(cut.rows.len() as u64 <= per_page);
                })
            },
        },
        Target {
            name: "dapi upload",
            json: true,
            seeds: with(
                dapi_f(&["upload.json"]),
                &[r#"{"success":true,"data":["/media/a.wav"]}"#, r#""media/b.wav""#],
            ),
            run: |i| {
                outcome(dapi::decode_upload(&i.resp()), |urls| {
                    for u in urls {
                        let _ = agent_console::api::http::absolute_url("https://rtc.example:8443/api", &u);
                    }
                })
            },
        },
        Target {
            name: "dapi call-record webhook",
            json: true,
            seeds: dapi_f(&["webhook_callrecord.json"]),
            run: |i| {
                outcome(CallRecordPush::parse(&i.body), |p| {
                    for e in &p.callrecord.event {
                        let _ = e.event_code();
                    }
                    reaches_js(&p);
                })
            },
        },
        Target {
            name: "sipcdr GetBill",
            json: true,
            seeds: with(
                vec![fixture("sipcdr/getbill.seed.txt")],
                &[r#"{"ret":200,"data":{"status":3,"desc":"token错误"}}"#, r#"{"ret":"500","msg":"x"}"#],
            ),
            run: |i| outcome(sipcdr::decode_bills(&i.resp()), |p| reaches_js(&p)),
        },
        Target {
            name: "core settings (JS options, config.json)",
            json: true,
            seeds: inline(&[
                r#"{"baseUrl":"https://pbx.example:8443/dscom-api/public","clientId":4,"clientSecret":"s","username":"api","password":"pw","mediaUrl":"https://media.example/","pushUrl":"wss://pbx.example:8282/","spoolDir":"/var/spool/asterisk","language":"zh-CN","queues":[610,"620"]}"#,
                r#"{"baseUrl":"/dscom-api/public","clientId":"4","clientSecret":"s","username":"api","password":"pw","pushUrl":"/push","queues":"610, 620"}"#,
            ]),
            run: |i| {
                let Ok(c) = serde_json::from_slice::<ConsoleLike>(&i.body) else { return false };
                assert!(c.queues.iter().all(|q| !q.is_empty()));
                let clock: agent_console::core::session::Clock = std::rc::Rc::new(|| Instant(0));
                let resolve = |u: &str| format!("https://console.example{u}");
                match c.pbx.open(Offline, clock, resolve) {
                    Ok(o) => {
                        assert!(
                            o.push_url.starts_with("ws://") || o.push_url.starts_with("wss://"),
                            "{}",
                            o.push_url
                        );
                        // Without its trailing slash (`/` itself is kept as ""): a
                        // desk-phone path under it is still absolute.
                        assert!(!o.spool_dir.ends_with('/'), "{}", o.spool_dir);
                        let h = pbx::HandsetPlay::parse("8001", "monitor/x.wav", &o.spool_dir).unwrap();
                        assert!(
                            h.filename.starts_with('/') && !h.filename.starts_with("//"),
                            "{}",
                            h.filename
                        );
                        true
                    }
                    Err(e) => {
                        assert!(!e.message(Lang::En).is_empty());
                        false
                    }
                }
            },
        },
    ]
}

// ---------------------------------------------------------------- driver

/// A panic: where, why, and the input that caused it.
struct Finding {
    target: &'static str,
    message: String,
    input: Input,
    /// A fourth or later of the same words: counted, not saved.
    repeat: bool,
}

/// One decoder's run.
struct Tally {
    name: &'static str,
    inputs: u64,
    ok: u64,
    err: u64,
    findings: Vec<Finding>,
    elapsed: Duration,
    /// Of `elapsed`, making the inputs.
    generating: Duration,
    /// Input bytes in all.
    bytes: u64,
}

impl Tally {
    fn rate(&self) -> f64 {
        self.inputs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

thread_local! {
    // Set while an input runs: the hook then keeps the panic's words
    // instead of printing them, so a finding is reported once, with its input.
    static CAUGHT: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let kept = CAUGHT.with(|c| match &mut *c.borrow_mut() {
                Some(slot) => {
                    *slot = Some(info.to_string());
                    true
                }
                None => false,
            });
            if !kept {
                default(info);
            }
        }));
    });
}

/// Runs one input; `Err` holds the panic's words.
fn run_one(run: fn(&Input) -> bool, input: &Input) -> Result<bool, String> {
    CAUGHT.with(|c| *c.borrow_mut() = Some(None));
    let r = panic::catch_unwind(AssertUnwindSafe(|| run(input)));
    let words = CAUGHT.with(|c| c.borrow_mut().take().flatten());
    r.map_err(|_| words.unwrap_or_else(|| "panic".into()))
}

fn fuzz_target(t: &Target, budget: usize, seed: u64) -> Tally {
    let corpus = Corpus::new(t.seeds.clone());
    let mut rng = Rng::new(seed ^ name_hash(t.name));
    let mut tally = Tally {
        name: t.name,
        inputs: 0,
        ok: 0,
        err: 0,
        findings: Vec::new(),
        elapsed: Duration::ZERO,
        generating: Duration::ZERO,
        bytes: 0,
    };
    let start = WallClock::now();
    for i in 0..budget {
        let g = WallClock::now();
        let input = corpus.input(&mut rng, i, budget);
        tally.generating += g.elapsed();
        tally.bytes += input.body.len() as u64;
        tally.inputs += 1;
        match run_one(t.run, &input) {
            Ok(true) => tally.ok += 1,
            Ok(false) => tally.err += 1,
            Err(message) => {
                // The first few of each kind are enough to fix it.
                let repeat = tally.findings.iter().filter(|f| f.message == message).count() >= 3;
                tally.findings.push(Finding { target: t.name, message, input, repeat });
            }
        }
    }
    tally.elapsed = start.elapsed();
    tally
}

fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3))
}

/// The wasm32 default: what a browser build has for its whole call depth.
const STACK_BYTES: usize = 1024 * 1024;

/// Runs `targets` on worker threads (as many as there are cores), each
/// with a wasm-sized stack.
fn fuzz_all(targets: Vec<Target>, budget: usize, seed: u64) -> Vec<Tally> {
    install_hook();
    let targets = Arc::new(targets);
    let next = Arc::new(AtomicUsize::new(0));
    let out = Arc::new(Mutex::new(Vec::new()));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(targets.len()).max(1);
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (targets, next, out) = (targets.clone(), next.clone(), out.clone());
            std::thread::Builder::new()
                .name(format!("fuzz-{w}"))
                .stack_size(STACK_BYTES)
                .spawn(move || loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(t) = targets.get(k) else { break };
                    let tally = fuzz_target(t, budget, seed);
                    out.lock().unwrap().push((k, tally));
                })
                .unwrap()
        })
        .collect();
    for h in handles {
        h.join().expect("a fuzz worker died (a stack overflow aborts the process instead)");
    }
    let mut tallies = std::mem::take(&mut *out.lock().unwrap());
    tallies.sort_by_key(|(k, _)| *k);
    tallies.into_iter().map(|(_, t)| t).collect()
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().replace('_', "").parse().ok()).unwrap_or(default)
}

fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The input, escaped: printable ASCII as is, the rest as `\xNN`.
fn escape(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7E => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > max {
        let _ = write!(s, "… ({} bytes)", bytes.len());
    }
    s
}

/// Saves findings' inputs under `dir` and returns the report lines.
fn save_findings(findings: &[Finding], dir: &Path) -> Vec<String> {
    let _ = std::fs::create_dir_all(dir);
    let mut lines = Vec::new();
    for (n, f) in findings.iter().enumerate().filter(|(_, f)| !f.repeat) {
        let slug: String =
            f.target.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let path = dir.join(format!("{slug}-{n}.bin"));
        let _ = std::fs::write(&path, &f.input.body);
        lines.push(format!(
            "FINDING {}: {}\n  status {} refused {} aux {}; input {} ({} bytes): {}",
            f.target,
            f.message,
            f.input.status,
            f.input.refused,
            f.input.aux,
            path.display(),
            f.input.body.len(),
            escape(&f.input.body, 400)
        ));
    }
    lines
}

fn summary(tallies: &[Tally], profile: &str, seed: u64) -> String {
    let mut s =
        format!("fuzz ({profile}, seed {seed}): inputs per decoder, inputs/s, decoded/refused, findings\n");
    let (mut inputs, mut secs, mut findings) = (0u64, 0f64, 0usize);
    for t in tallies {
        let _ = writeln!(
            s,
            "fuzz: {:<40} {:>10} inputs {:>9.0}/s  ok {:>8}  err {:>9}  findings {}  (avg {} B, {:.0}% generating)",
            t.name,
            t.inputs,
            t.rate(),
            t.ok,
            t.err,
            t.findings.len(),
            t.bytes / t.inputs.max(1),
            100.0 * t.generating.as_secs_f64() / t.elapsed.as_secs_f64().max(1e-9)
        );
        inputs += t.inputs;
        secs += t.elapsed.as_secs_f64();
        findings += t.findings.len();
    }
    let _ = writeln!(
        s,
        "fuzz: total {} decoders, {inputs} inputs, {:.0} inputs/s per core, {findings} findings",
        tallies.len(),
        inputs as f64 / secs.max(1e-9)
    );
    s
}

/// Every decoder, `FUZZ_INPUTS` inputs each (default 10^5), zero panics.
#[test]
fn every_decoder_survives_hostile_input() {
    let seed = env_num("FUZZ_SEED", 0x5EED);
    let only = std::env::var("FUZZ_ONLY").unwrap_or_default();
    let mut list: Vec<Target> = targets().into_iter().filter(|t| t.name.contains(only.as_str())).collect();
    // `FUZZ_TOTAL` shares a total among the decoders; else `FUZZ_INPUTS` each.
    let budget = match env_num("FUZZ_TOTAL", 0) {
        0 => env_num("FUZZ_INPUTS", 100_000) as usize,
        total => (total as usize).div_ceil(list.len().max(1)),
    };
    if let Ok(replay) = std::env::var("FUZZ_REPLAY") {
        // One saved input through the chosen decoders, panics shown as they happen.
        let body = std::fs::read(&replay).unwrap_or_else(|e| panic!("{replay}: {e}"));
        let status = env_num("FUZZ_STATUS", 200) as u16;
        for t in &list {
            let ok =
                (t.run)(&Input { status, body: body.clone(), refused: false, aux: env_num("FUZZ_AUX", 0) });
            eprintln!("replay {}: {}", t.name, if ok { "decoded" } else { "refused" });
        }
        return;
    }
    assert!(!list.is_empty(), "FUZZ_ONLY={only:?} names no decoder");
    list.sort_by_key(|t| t.name);
    let tallies = fuzz_all(list, budget, seed);
    // scripts/fuzz.sh names its profile; `cargo test` is the debug test profile.
    let profile = std::env::var("FUZZ_PROFILE").unwrap_or_else(|_| "test profile".into());
    let text = summary(&tallies, &profile, seed);
    let findings: Vec<Finding> = tallies.into_iter().flat_map(|t| t.findings).collect();
    let report = save_findings(&findings, &artifacts().join("fuzz-findings"));
    let out =
        std::env::var("FUZZ_SUMMARY").map_or_else(|_| artifacts().join("fuzz-summary.txt"), PathBuf::from);
    let _ = std::fs::write(&out, format!("{text}{}", report.join("\n")));
    eprint!("{text}");
    for line in &report {
        eprintln!("{line}");
    }
    assert!(findings.is_empty(), "{} finding(s); inputs saved, see {}", findings.len(), out.display());
}

/// The generator reaches past the parser: with a fair budget every decoder
/// both accepts and refuses some inputs (a generator that only made syntax
/// errors would prove nothing).
#[test]
fn the_generator_reaches_every_decoders_logic() {
    let tallies = fuzz_all(targets(), 3_000, 1);
    for t in &tallies {
        assert!(t.ok > 0 && t.err > 0, "{}: {} decoded, {} refused of {}", t.name, t.ok, t.err, t.inputs);
    }
}

/// The driver catches a panic, keeps going and reports the input: a
/// decoder that panics on `{` is found.
#[test]
fn the_driver_reports_a_panicking_decoder() {
    let t = Target {
        name: "panics on a brace",
        json: true,
        seeds: inline(&[r#"{"a":1}"#]),
        run: |i| {
            assert!(!i.body.contains(&b'{'), "found a brace");
            true
        },
    };
    let tallies = fuzz_all(vec![t], 2_000, 3);
    let t = &tallies[0];
    assert_eq!(t.inputs, 2_000);
    assert!(!t.findings.is_empty() && t.ok > 0);
    assert!(t.findings[0].message.contains("found a brace"), "{}", t.findings[0].message);
    assert!(t.findings[0].input.body.contains(&b'{'));
    let dir = artifacts().join("fuzz-selftest");
    let lines = save_findings(&t.findings[..1], &dir);
    assert!(lines[0].starts_with("FINDING panics on a brace: "), "{}", lines[0]);
}

/// Nesting far past serde_json's limit (128) is refused by every JSON
/// decoder, at the top and inside the payload, arrays and objects alike,
/// on a wasm-sized stack; nesting within the limit does not overflow it.
#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    install_hook();
    let worker = std::thread::Builder::new().stack_size(STACK_BYTES).spawn(|| {
        let mut failures = Vec::new();
        for t in targets().into_iter().filter(|t| t.json) {
            for depth in [126, 127, 128, 129, 10_000, 100_000] {
                for objects in [false, true] {
                    let deep = nested(depth, objects);
                    let wrapped: Vec<Vec<u8>> = vec![
                        deep.clone(),
                        [br#"{"code":"200","success":true,"type":"billing","data":"#.as_slice(), &deep, b"}"].concat(),
                        [br#"{"code":"200","success":true,"type":"billing","data":[{"uniqueid":"u","id":1,"a":"#.as_slice(), &deep, b"}]}"].concat(),
                    ];
                    for (at, body) in wrapped.into_iter().enumerate() {
                        let input = Input { status: 200, body, refused: false, aux: 0 };
                        match run_one(t.run, &input) {
                            Err(m) => failures.push(format!("{} depth {depth}: panicked: {m}", t.name)),
                            // A bare array of arrays is nothing any decoder reads. Deep
                            // values in a field a decoder ignores may pass: serde_json
                            // skips them without recursing.
                            Ok(true) if depth >= 10_000 && at == 0 && !objects => {
                                failures.push(format!("{} depth {depth}: accepted", t.name))
                            }
                            Ok(_) => {}
                        }
                    }
                }
            }
        }
        failures
    });
    let failures = worker.unwrap().join().expect("deep nesting overflowed the stack");
    // The limit itself: serde_json refuses past 128 levels.
    let e = serde_json::from_slice::<Value>(&nested(129, false)).unwrap_err();
    assert!(e.to_string().contains("recursion limit"), "{e}");
    assert!(serde_json::from_slice::<Value>(&nested(127, false)).is_ok());
    assert!(failures.is_empty(), "{failures:#?}");
}
