//! The billing feed's store under shuffled, duplicated and missing input:
//! a simulated PBX writes CDR rows while its socket drops, frames are lost,
//! duplicated and reordered, and page fetches fail or answer late. At the
//! end the store must hold exactly the server's rows, each once.

use agent_console::api::pbx::{BillingQuery, Cdr, Reply};
use agent_console::api::time::CstDateTime;
use agent_console::core::billing::{
    BillingEvent, BillingFeed, BillingOp, BillingSettings, CdrStore, FeedState,
};
use agent_console::core::time::{Duration, Instant};
use agent_console::core::Error;
use serde_json::json;
use std::collections::{BTreeSet, VecDeque};

/// Epoch ms of 2025-06-19 17:00:00 Beijing time.
const T0: i64 = 1_750_323_600_000;

fn row(id: u64, calldate_ms: i64, secs: i64) -> Cdr {
    let calldate = CstDateTime::from_epoch_ms(calldate_ms).to_string();
    let end = CstDateTime::from_epoch_ms(calldate_ms + secs * 1000).to_string();
    serde_json::from_value(json!({
        "id": id, "calldate": calldate, "start": calldate, "end": end,
        "src": "8002", "dst": "8001", "duration": secs, "billsec": secs.to_string(),
        "disposition": "ANSWERED", "uniqueid": format!("hwd-{}.{id}", calldate_ms / 1000),
        "dstchannel": format!("PJSIP/8001-{id:08x}"),
    }))
    .unwrap()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The PBX: its rows in id order, the window rule of `cdr/list`
/// (`start_time <= calldate < end_time`, sorted by id, paged).
struct Pbx {
    rows: Vec<Cdr>,
    next_id: u64,
}

impl Pbx {
    fn page(&self, q: &BillingQuery) -> Reply<Vec<Cdr>> {
        let (s, e) = (q.start_time.epoch_ms(), q.end_time.epoch_ms());
        let matching: Vec<&Cdr> =
            self.rows.iter().filter(|r| r.calldate_ms().is_some_and(|c| c >= s && c < e)).collect();
        let size = q.page.page_size as usize;
        let from = (q.page.page as usize - 1) * size;
        let data = matching.iter().skip(from).take(size).map(|r| (*r).clone()).collect();
        Reply { data, total: matching.len() as u64, msg: "成功".into(), skipped: Default::default() }
    }
}

struct Knobs {
    write: u64,
    drop_socket: u64,
    connect_fails: u64,
    lose_frame: u64,
    dup_frame: u64,
    fetch_fails: u64,
}

/// Runs one simulation; returns the feed for inspection.
fn simulate(seed: u64, steps: u64, k: &Knobs, settings: BillingSettings) -> (BillingFeed, Pbx, Vec<u64>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let floor = T0;
    let mut feed = BillingFeed::new(settings, floor, seed);
    let mut pbx = Pbx { rows: Vec::new(), next_id: 1 };
    // Rows before the floor that must never enter the store.
    for i in 0..5 {
        pbx.rows.push(row(pbx.next_id, floor - 600_000 + i * 1000, 30));
        pbx.next_id += 1;
    }
    let mut socket_open = false;
    let mut opening: Option<u64> = None; // step at which the pending connect resolves
    let mut frames: VecDeque<String> = VecDeque::new();
    let mut fetches: VecDeque<(u64, BillingQuery, u64)> = VecDeque::new(); // (due step, query, ticket)
    let mut delivered_ids = Vec::new();
    let mut healed = false;
    let mut step = 0;
    loop {
        let now = Instant::from_millis(step * 100);
        let wall = T0 + (step as i64) * 100;
        if step == steps {
            healed = true;
        }
        if step > steps + 20_000 {
            panic!("seed {seed}: feed never settled: {:?}", feed.state());
        }
        let (p_write, p_drop, p_cfail, p_lose, p_dup, p_ffail) = if healed {
            (0, 0, 0, 0, 0, 0)
        } else {
            (k.write, k.drop_socket, k.connect_fails, k.lose_frame, k.dup_frame, k.fetch_fails)
        };
        // The PBX writes rows: some for calls that started long ago.
        if rng.chance(p_write) {
            let age = if rng.chance(20) { rng.below(1_800_000) as i64 } else { rng.below(60_000) as i64 };
            let r = row(pbx.next_id, (wall - age).max(floor), age / 1000);
            pbx.next_id += 1;
            pbx.rows.push(r.clone());
            if socket_open && !rng.chance(p_lose) {
                let text = json!({"type": "billing", "data": [r]}).to_string();
                frames.push_back(text.clone());
                if rng.chance(p_dup) {
                    frames.push_back(text);
                }
            }
        }
        // Frames arrive, sometimes reordered.
        if socket_open && frames.len() > 1 && rng.chance(30) {
            let i = rng.below(frames.len() as u64) as usize;
            if let Some(f) = frames.remove(i) {
                frames.push_back(f);
            }
        }
        while socket_open && rng.chance(70) {
            let Some(f) = frames.pop_front() else { break };
            feed.socket_frame(&f);
        }
        if socket_open && rng.chance(p_drop) {
            socket_open = false;
            frames.clear();
            feed.socket_closed(now);
        }
        if let Some(at) = opening {
            if step >= at {
                opening = None;
                if rng.chance(p_cfail) {
                    feed.socket_closed(now);
                } else {
                    socket_open = true;
                    feed.socket_opened(now, wall);
                }
            }
        }
        // Fetches answer late, in order, some failing.
        while fetches.front().is_some_and(|(due, _, _)| *due <= step) {
            let Some((_, q, ticket)) = fetches.pop_front() else { break };
            let outcome =
                if rng.chance(p_ffail) { Err(Error::Network("reset".into())) } else { Ok(pbx.page(&q)) };
            feed.page_fetched(now, ticket, outcome);
        }
        feed.handle_timeout(now);
        while let Some(op) = feed.poll_op() {
            match op {
                BillingOp::Connect => opening = Some(step + 1 + rng.below(5)),
                BillingOp::Close => {
                    if socket_open {
                        socket_open = false;
                        frames.clear();
                        feed.socket_closed(now);
                    }
                }
                BillingOp::Fetch { query, ticket } => {
                    fetches.push_back((step + 1 + rng.below(8), query, ticket))
                }
            }
        }
        while let Some(ev) = feed.poll_event() {
            if let BillingEvent::Records(rows) = ev {
                delivered_ids.extend(rows.iter().filter_map(|r| r.id));
            }
        }
        if healed && feed.state() == FeedState::Live && fetches.is_empty() && frames.is_empty() {
            break;
        }
        step += 1;
    }
    (feed, pbx, delivered_ids)
}

fn assert_exact(seed: u64, feed: &BillingFeed, pbx: &Pbx, delivered: &[u64]) {
    let want: BTreeSet<u64> =
        pbx.rows.iter().filter(|r| r.calldate_ms().is_some_and(|c| c >= T0)).filter_map(|r| r.id).collect();
    let held: Vec<u64> = feed.store().iter().filter_map(|r| r.id).collect();
    let held_set: BTreeSet<u64> = held.iter().copied().collect();
    assert_eq!(held.len(), held_set.len(), "seed {seed}: duplicate rows in the store");
    let missing: Vec<_> = want.difference(&held_set).collect();
    let extra: Vec<_> = held_set.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "seed {seed}: missing {missing:?}, extra {extra:?}");
    let mut d = delivered.to_vec();
    d.sort_unstable();
    d.dedup();
    assert_eq!(d.len(), delivered.len(), "seed {seed}: a row was announced twice");
    assert_eq!(d.into_iter().collect::<BTreeSet<_>>(), want, "seed {seed}: announced rows differ");
}

#[test]
fn drops_failures_duplicates_and_reordering_lose_nothing() {
    let k =
        Knobs { write: 30, drop_socket: 2, connect_fails: 30, lose_frame: 0, dup_frame: 20, fetch_fails: 25 };
    let settings = BillingSettings { page_size: 7, ..BillingSettings::default() };
    let mut total = 0;
    for seed in 1..=40 {
        let (feed, pbx, delivered) = simulate(seed, 3000, &k, settings);
        assert_exact(seed, &feed, &pbx, &delivered);
        total += feed.store().len();
    }
    assert!(total > 40 * 300, "the simulation wrote too few rows to prove anything: {total}");
}

#[test]
fn frames_lost_on_an_open_socket_are_found_by_the_reconcile() {
    // No drops at all: only the periodic re-read can find the lost frames.
    let k =
        Knobs { write: 30, drop_socket: 0, connect_fails: 0, lose_frame: 15, dup_frame: 0, fetch_fails: 10 };
    let settings = BillingSettings {
        page_size: 50,
        reconcile_every: Duration::from_secs(20),
        ..BillingSettings::default()
    };
    for seed in 1..=10 {
        let (feed, pbx, delivered) = simulate(seed, 3000, &k, settings);
        // The run ends live; one more reconcile after the last write finds the rest.
        let mut feed = feed;
        let mut delivered = delivered;
        let mut now = Instant::from_millis(4_000_000);
        for _ in 0..2 {
            now = now + Duration::from_secs(30);
            feed.handle_timeout(now);
            while let Some(op) = feed.poll_op() {
                if let BillingOp::Fetch { query, ticket } = op {
                    feed.page_fetched(now, ticket, Ok(pbx.page(&query)));
                    while let Some(BillingOp::Fetch { query, ticket }) = feed.poll_op() {
                        feed.page_fetched(now, ticket, Ok(pbx.page(&query)));
                    }
                }
            }
            while let Some(ev) = feed.poll_event() {
                if let BillingEvent::Records(rows) = ev {
                    delivered.extend(rows.iter().filter_map(|r| r.id));
                }
            }
        }
        assert_exact(seed, &feed, &pbx, &delivered);
    }
}

#[test]
fn without_the_lookback_a_long_call_ending_in_a_gap_would_be_missed() {
    // The lookback is what catches rows whose calldate precedes the gap.
    let k =
        Knobs { write: 30, drop_socket: 3, connect_fails: 20, lose_frame: 0, dup_frame: 0, fetch_fails: 0 };
    let no_lookback = BillingSettings { lookback: Duration(0), page_size: 20, ..BillingSettings::default() };
    let missed = (1..=20).any(|seed| {
        let (feed, pbx, _) = simulate(seed, 3000, &k, no_lookback);
        let want = pbx.rows.iter().filter(|r| r.calldate_ms().is_some_and(|c| c >= T0)).count();
        feed.store().len() < want
    });
    assert!(missed, "the simulation never produced the case the lookback exists for");
}

#[test]
fn store_merges_push_and_list_copies_of_one_row() {
    let mut store = CdrStore::new(T0);
    let mut pushed = row(1, T0 + 1000, 10);
    pushed.id = None;
    assert!(store.insert(pushed.clone()));
    assert!(!store.insert(pushed));
    // The list's copy carries the id: same record, the id is taken.
    assert!(!store.insert(row(1, T0 + 1000, 10)));
    assert_eq!(store.iter().next().and_then(|r| r.id), Some(1));
    // Another row of the same call (same uniqueid, other id) is kept.
    let mut second = row(2, T0 + 1000, 10);
    second.uniqueid = row(1, T0 + 1000, 10).uniqueid;
    assert!(store.insert(second));
    assert_eq!(store.len(), 2);
    // Before the floor: refused.
    assert!(!store.insert(row(3, T0 - 1, 10)));
    // Shuffled input comes out in calldate order.
    for (i, t) in [50, 10, 30].iter().enumerate() {
        store.insert(row(10 + i as u64, T0 + t * 1000, 1));
    }
    let times: Vec<i64> = store.iter().filter_map(|r| r.calldate_ms()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted);
}

#[test]
fn stop_closes_and_never_reconnects() {
    let mut feed = BillingFeed::new(BillingSettings::default(), T0, 1);
    assert_eq!(feed.poll_op(), Some(BillingOp::Connect));
    feed.socket_opened(Instant(0), T0);
    assert!(matches!(feed.poll_op(), Some(BillingOp::Fetch { .. })));
    feed.stop();
    assert_eq!(feed.poll_op(), Some(BillingOp::Close));
    feed.socket_closed(Instant(10));
    feed.handle_timeout(Instant(1_000_000));
    assert_eq!(feed.poll_op(), None);
    assert_eq!(feed.poll_timeout(), None);
    assert_eq!(feed.state(), FeedState::Stopped);
}

#[test]
fn token_change_reconnects_at_once_and_fills_the_gap() {
    let mut feed = BillingFeed::new(BillingSettings::default(), T0, 1);
    assert_eq!(feed.poll_op(), Some(BillingOp::Connect));
    feed.socket_opened(Instant(0), T0);
    let Some(BillingOp::Fetch { ticket, .. }) = feed.poll_op() else { panic!("no fill") };
    feed.page_fetched(
        Instant(5),
        ticket,
        Ok(Reply {
            data: vec![row(1, T0 + 5000, 60)],
            total: 1,
            msg: String::new(),
            skipped: Default::default(),
        }),
    );
    assert_eq!(feed.state(), FeedState::Live);
    feed.token_changed(Instant(100));
    assert_eq!(feed.poll_op(), Some(BillingOp::Close));
    assert_eq!(feed.poll_op(), Some(BillingOp::Connect));
    feed.socket_opened(Instant(200), T0 + 200_000);
    let Some(BillingOp::Fetch { query, .. }) = feed.poll_op() else {
        panic!("no fill after the token change")
    };
    // The window starts a lookback before the newest row's end, never before the floor.
    assert_eq!(query.start_time.epoch_ms(), T0);
    assert_eq!(query.page.page, 1);
}

#[test]
fn a_late_answer_to_an_abandoned_fill_is_ignored() {
    let mut feed = BillingFeed::new(BillingSettings::default(), T0, 1);
    feed.poll_op();
    feed.socket_opened(Instant(0), T0);
    let Some(BillingOp::Fetch { ticket: old, .. }) = feed.poll_op() else { panic!() };
    feed.socket_closed(Instant(10));
    feed.handle_timeout(Instant(60_000));
    assert_eq!(feed.poll_op(), Some(BillingOp::Connect));
    feed.socket_opened(Instant(60_001), T0);
    let Some(BillingOp::Fetch { ticket: new, .. }) = feed.poll_op() else { panic!() };
    assert_ne!(old, new);
    feed.page_fetched(
        Instant(60_002),
        old,
        Ok(Reply { data: vec![], total: 0, msg: String::new(), skipped: Default::default() }),
    );
    assert_eq!(feed.state(), FeedState::Filling, "the stale answer must not finish the new fill");
    feed.page_fetched(
        Instant(60_003),
        new,
        Ok(Reply { data: vec![], total: 0, msg: String::new(), skipped: Default::default() }),
    );
    assert_eq!(feed.state(), FeedState::Live);
}

#[test]
fn rows_that_do_not_decode_fill_their_page_and_are_reported_not_dropped_unseen() {
    let settings = BillingSettings { page_size: 3, ..BillingSettings::default() };
    let mut feed = BillingFeed::new(settings, T0, 7);
    assert_eq!(feed.poll_op(), Some(BillingOp::Connect));
    feed.socket_opened(Instant::from_millis(0), T0 + 60_000);
    let Some(BillingOp::Fetch { ticket, .. }) = feed.poll_op() else { panic!("a fill starts") };
    // Two rows and one the decoder left out: a full page, so there may be more.
    let mut skipped = agent_console::api::de::Skipped::default();
    skipped.add(1, "missing field `uniqueid`");
    let reply = Reply {
        data: vec![row(1, T0 + 1_000, 5), row(3, T0 + 3_000, 5)],
        total: 4,
        msg: "成功".into(),
        skipped,
    };
    feed.page_fetched(Instant::from_millis(10), ticket, Ok(reply));
    assert!(matches!(feed.poll_op(), Some(BillingOp::Fetch { .. })), "page 2 is asked for");
    let mut trouble = Vec::new();
    while let Some(e) = feed.poll_event() {
        if let BillingEvent::Trouble(e) = e {
            trouble.push(e.to_string());
        }
    }
    assert!(trouble.iter().any(|t| t.contains("1 billing row(s) could not be read")), "{trouble:?}");
    // The same for a push frame: its good row is stored, the odd one reported.
    let frame = json!({"type": "billing", "data": [row(9, T0 + 9_000, 5), {"id": 10}]}).to_string();
    feed.socket_frame(&frame);
    let mut stored = false;
    let mut reported = false;
    while let Some(e) = feed.poll_event() {
        match e {
            BillingEvent::Records(rows) => stored |= rows.iter().any(|r| r.id == Some(9)),
            BillingEvent::Trouble(e) => reported |= e.to_string().contains("push: 1 billing row"),
            _ => {}
        }
    }
    assert!(stored && reported, "stored {stored}, reported {reported}");
    assert_ne!(feed.poll_op(), Some(BillingOp::Close), "an odd row is no reason to reconnect");
}
