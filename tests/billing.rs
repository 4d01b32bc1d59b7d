//! The billing feed's store under shuffled, duplicated and missing input:
//! a simulated PBX writes CDR rows while its socket drops, frames are lost,
//! duplicated and reordered, and page fetches fail or answer late. At the
//! end the store must hold exactly the server's rows, each once.

use agent_console::api::pbx::{BillingQuery, Cdr, Reply};
use agent_console::api::time::CstDateTime;
use agent_console::core::paging::WalkEnd;
use agent_console::core::pbx::billing::{
    BillingEvent, BillingFeed, BillingOp, BillingSettings, CdrStore, FeedState,
};
use agent_console::core::time::{Duration, Instant};
use agent_console::core::Error;
use agent_console::i18n::Message;
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
        self.page_as(q, false)
    }

    /// A page; with `ignore_page`, page 1 whatever was asked (a PBX that does not page).
    fn page_as(&self, q: &BillingQuery, ignore_page: bool) -> Reply<Vec<Cdr>> {
        let (s, e) = (q.start_time.epoch_ms(), q.end_time.epoch_ms());
        let mut matching: Vec<&Cdr> =
            self.rows.iter().filter(|r| r.calldate_ms().is_some_and(|c| c >= s && c < e)).collect();
        // Rows are kept in id order: `order=desc` reverses it.
        if q.descending {
            matching.reverse();
        }
        let size = q.page.page_size as usize;
        let page = if ignore_page { 1 } else { q.page.page as usize };
        let from = (page - 1) * size;
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

#[test]
fn frames_lost_are_found_by_recent_walks_of_tiny_pages_too() {
    // Recent walks of three rows a page: many pages per walk, rows written
    // between pages (they shift the descending pages), fetches failing.
    let k =
        Knobs { write: 40, drop_socket: 0, connect_fails: 0, lose_frame: 20, dup_frame: 10, fetch_fails: 15 };
    let settings = BillingSettings {
        page_size: 20,
        recent_page_size: 3,
        reconcile_every: Duration::from_secs(10),
        ..BillingSettings::default()
    };
    for seed in 1..=10 {
        let (mut feed, pbx, mut delivered) = simulate(seed, 3000, &k, settings);
        let mut tally = Tally::default();
        let mut now = Instant::from_millis(4_000_000);
        for _ in 0..2 {
            now = now + Duration::from_secs(20);
            feed.handle_timeout(now);
            for ev in drive(&mut feed, &pbx, now, T0 + 4_000_000, false, &mut tally) {
                if let BillingEvent::Records(rows) = ev {
                    delivered.extend(rows.iter().filter_map(|r| r.id));
                }
            }
        }
        assert_exact(seed, &feed, &pbx, &delivered);
    }
}

/// `cdr/list` requests and rows a driver answered.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    requests: u64,
    rows: u64,
}

/// Answers every op of `feed` at once against `pbx` (the socket opens at
/// once) until it asks for nothing more; returns the events.
fn drive(
    feed: &mut BillingFeed,
    pbx: &Pbx,
    now: Instant,
    wall: i64,
    ignore_page: bool,
    tally: &mut Tally,
) -> Vec<BillingEvent> {
    let mut events = Vec::new();
    for _ in 0..10_000 {
        let Some(op) = feed.poll_op() else {
            while let Some(ev) = feed.poll_event() {
                events.push(ev);
            }
            return events;
        };
        match op {
            BillingOp::Connect => feed.socket_opened(now, wall),
            // The socket is closed by the test itself (a token rotation drops it first).
            BillingOp::Close => {}
            BillingOp::Fetch { query, ticket } => {
                let reply = pbx.page_as(&query, ignore_page);
                tally.requests += 1;
                tally.rows += reply.data.len() as u64;
                feed.page_fetched(now, ticket, Ok(reply));
            }
        }
        while let Some(ev) = feed.poll_event() {
            events.push(ev);
        }
    }
    panic!("the feed never stopped asking: {:?}", feed.state());
}

/// A PBX with a row every `every_ms` over `[from, to)`, calls of 30 s.
fn busy_pbx(from: i64, to: i64, every_ms: i64) -> Pbx {
    let mut pbx = Pbx { rows: Vec::new(), next_id: 1 };
    let mut t = from;
    while t < to {
        pbx.rows.push(row(pbx.next_id, t, 30));
        pbx.next_id += 1;
        t += every_ms;
    }
    pbx
}

fn troubles(events: &[BillingEvent]) -> Vec<Error> {
    events
        .iter()
        .filter_map(|e| if let BillingEvent::Trouble(e) = e { Some(e.clone()) } else { None })
        .collect()
}

#[test]
fn a_pbx_that_ignores_page_gets_a_bounded_fill_that_ends_live_and_says_so() {
    let hour = 3_600_000;
    let pbx = busy_pbx(T0, T0 + hour, 750); // 4800 rows
    let mut feed = BillingFeed::new(BillingSettings::default(), T0, 3);
    let mut tally = Tally::default();
    let events = drive(&mut feed, &pbx, Instant::from_millis(0), T0 + hour, true, &mut tally);
    println!("ignorePage gap fill: {} cdr/list requests, {} rows served", tally.requests, tally.rows);
    // Page 1, then page "2" (page 1 again): nothing new, stop.
    assert_eq!(tally.requests, 2);
    assert_eq!(feed.state(), FeedState::Live);
    assert_eq!(feed.store().len(), 1000);
    let t = troubles(&events);
    assert!(
        t.iter()
            .any(|e| matches!(e, Error::Truncated { list: "cdr/list", end: WalkEnd::Repeated, rows: 2000 })),
        "{t:?}"
    );
    assert_eq!(t[0].code(), "truncated");
    // The console's list still shows it once the feed is live.
    let mut view = agent_console::core::pbx::billing::BillingView::new(10);
    for ev in events.iter().cloned() {
        view.apply(ev);
    }
    assert_eq!(view.state, FeedState::Live);
    assert!(matches!(view.trouble, Some(Error::Truncated { .. })), "{:?}", view.trouble);
    assert!(t[0].message(agent_console::i18n::Lang::En).contains("may not support paging"));
    // Nothing was certified: the reconcile is bounded as well.
    assert_eq!(feed.certified_id(), None);
    let mut tally = Tally::default();
    let now = Instant::from_millis(400_000);
    feed.handle_timeout(now);
    let events = drive(&mut feed, &pbx, now, T0 + hour + 400_000, true, &mut tally);
    println!("ignorePage reconcile: {} cdr/list requests, {} rows served", tally.requests, tally.rows);
    assert_eq!(tally.requests, 2);
    assert_eq!(feed.state(), FeedState::Live);
    assert!(!troubles(&events).is_empty());
    // The same PBX paging properly: the whole hour, complete, certified.
    let mut feed = BillingFeed::new(BillingSettings::default(), T0, 3);
    let mut tally = Tally::default();
    let events = drive(&mut feed, &pbx, Instant::from_millis(0), T0 + hour, false, &mut tally);
    assert_eq!((tally.requests, feed.store().len()), (5, 4800));
    assert!(troubles(&events).is_empty());
    assert_eq!(feed.certified_id(), Some(4800));
}

/// The cost of one reconcile on a PBX writing a row a second, five minutes
/// after a complete fill, some frames lost, one of them a long call.
fn reconcile_cost(settings: BillingSettings) -> (Tally, BillingFeed, Vec<u64>, Pbx) {
    let hour = 3_600_000;
    let mut pbx = busy_pbx(T0, T0 + hour, 1000);
    let mut feed = BillingFeed::new(settings, T0, 11);
    let mut tally = Tally::default();
    drive(&mut feed, &pbx, Instant::from_millis(0), T0 + hour, false, &mut tally);
    assert_eq!(feed.state(), FeedState::Live);
    // Five minutes: a row a second, pushed, every tenth frame lost; and a
    // call that started 50 minutes ago ends, its frame lost too.
    let mut lost = Vec::new();
    for i in 0..300i64 {
        let r = row(pbx.next_id, T0 + hour + i * 1000, 1);
        pbx.next_id += 1;
        pbx.rows.push(r.clone());
        if i % 10 == 3 {
            lost.push(r.id.unwrap_or(0));
        } else {
            feed.socket_frame(&json!({"type": "billing", "data": [r]}).to_string());
        }
    }
    let long_call = row(pbx.next_id, T0 + hour + 300_000 - 50 * 60_000, 50 * 60);
    pbx.next_id += 1;
    lost.push(long_call.id.unwrap_or(0));
    pbx.rows.push(long_call);
    while feed.poll_event().is_some() {}
    let now = Instant::from_millis(400_000);
    feed.handle_timeout(now);
    let mut tally = Tally::default();
    drive(&mut feed, &pbx, now, T0 + hour + 400_000, false, &mut tally);
    (tally, feed, lost, pbx)
}

#[test]
fn a_reconcile_reads_the_rows_written_since_the_last_not_the_hour() {
    let recent = BillingSettings::default();
    let whole = BillingSettings { recent_page_size: 0, ..BillingSettings::default() };
    let (before, ..) = reconcile_cost(whole);
    let (after, feed, lost, pbx) = reconcile_cost(recent);
    println!(
        "reconcile, 3900 rows in the window, 301 new (31 pushed frames lost): \
         whole-window re-read {} requests / {} rows; recent walk {} requests / {} rows",
        before.requests, before.rows, after.requests, after.rows
    );
    assert_eq!(feed.state(), FeedState::Live);
    let held: BTreeSet<u64> = feed.store().iter().filter_map(|r| r.id).collect();
    assert!(lost.iter().all(|id| held.contains(id)), "a lost row (or the long call) was not found");
    assert_eq!(held.len(), pbx.rows.len());
    // O(new rows): the 301 new rows plus at most one page of 200.
    assert!(after.rows <= 301 + 200, "{after:?}");
    assert!(after.requests <= 3, "{after:?}");
    assert!(before.rows >= 3600, "the old way read the hour: {before:?}");
    assert_eq!(feed.certified_id(), pbx.rows.iter().filter_map(|r| r.id).max());
}

#[test]
fn a_long_call_ending_in_a_token_rotation_is_found_by_the_recent_walk() {
    let hour = 3_600_000;
    let mut pbx = busy_pbx(T0, T0 + hour, 2000);
    let mut feed = BillingFeed::new(BillingSettings::default(), T0, 5);
    let mut tally = Tally::default();
    drive(&mut feed, &pbx, Instant::from_millis(0), T0 + hour, false, &mut tally);
    let certified = feed.certified_id();
    assert!(certified.is_some());
    // The rotation: the socket is dropped; while it reconnects the PBX
    // writes a call that started 50 minutes ago (no frame: no socket).
    let now = Instant::from_millis(60_000);
    feed.token_changed(now);
    assert_eq!(feed.poll_op(), Some(BillingOp::Close));
    assert_eq!(feed.poll_op(), Some(BillingOp::Connect));
    let long_call = row(pbx.next_id, T0 + hour - 50 * 60_000, 50 * 60);
    let long_id = long_call.id;
    pbx.next_id += 1;
    pbx.rows.push(long_call);
    feed.socket_opened(now, T0 + hour + 60_000);
    let Some(BillingOp::Fetch { query, ticket }) = feed.poll_op() else {
        panic!("no walk after the rotation")
    };
    // The recent walk: the long window, newest id first, small pages.
    assert!(query.descending && query.page.page_size == 200 && query.page.page == 1, "{query:?}");
    assert!(query.start_time.epoch_ms() <= T0 + hour - 50 * 60_000);
    let reply = pbx.page(&query);
    feed.page_fetched(now, ticket, Ok(reply));
    assert_eq!(feed.poll_op(), None, "one page reached the certified rows");
    assert_eq!(feed.state(), FeedState::Live);
    assert!(feed.store().iter().any(|r| r.id == long_id), "the long call was missed");
    assert!(feed.certified_id() > certified);
    // A real close still owes the whole window, ascending.
    feed.socket_closed(Instant::from_millis(70_000));
    feed.handle_timeout(Instant::from_millis(200_000));
    assert_eq!(feed.poll_op(), Some(BillingOp::Connect));
    feed.socket_opened(Instant::from_millis(200_000), T0 + hour + 200_000);
    let Some(BillingOp::Fetch { query, .. }) = feed.poll_op() else { panic!("no gap fill") };
    assert!(!query.descending && query.page.page_size == 1000);
}

#[test]
fn reconciles_of_two_consoles_do_not_stay_in_step() {
    let at = |seed: u64| {
        let mut feed = BillingFeed::new(BillingSettings::default(), T0, seed);
        feed.poll_op();
        feed.socket_opened(Instant(0), T0);
        let Some(BillingOp::Fetch { ticket, .. }) = feed.poll_op() else { panic!() };
        let empty = Reply { data: vec![], total: 0, msg: String::new(), skipped: Default::default() };
        feed.page_fetched(Instant(0), ticket, Ok(empty));
        feed.poll_timeout().map(|t| t.0).unwrap_or(0)
    };
    let times: BTreeSet<u64> = (1..=20).map(at).collect();
    assert!(times.len() > 15, "{times:?}");
    // Within ±25 % of five minutes.
    assert!(times.iter().all(|t| (225_000..=375_000).contains(t)), "{times:?}");
}

#[test]
fn the_store_stays_bounded_over_a_shift_and_refuses_rows_it_let_go() {
    // Ten hours, 100 000 rows (one every 360 ms), in write order.
    let mut store = CdrStore::new(T0);
    let mut let_go_row = None;
    for i in 0..100_000i64 {
        let r = row(i as u64 + 1, T0 + i * 360, 20);
        if i == 50_000 {
            let_go_row = Some(r.clone());
        }
        assert!(store.insert(r));
        assert!(store.len() <= agent_console::core::pbx::billing::STORE_ROWS);
    }
    println!("store after 100000 rows: {} held, {} let go", store.len(), store.let_go());
    assert_eq!(store.len(), agent_console::core::pbx::billing::STORE_ROWS);
    assert_eq!(store.let_go(), 95_000);
    // Re-sent rows that were let go are not new: by id, and without one.
    let old = let_go_row.unwrap();
    assert!(!store.insert(old.clone()));
    let mut no_id = old;
    no_id.id = None;
    assert!(!store.insert(no_id));
    // The oldest held, re-sent, is a duplicate too.
    let oldest = store.iter().next().cloned().unwrap();
    assert!(!store.insert(oldest));
    // A long call that started five hours ago and ends now is new.
    let now = T0 + 100_000 * 360;
    let long = row(200_000, now - 5 * 3_600_000, 5 * 3600);
    assert!(store.insert(long.clone()));
    assert!(!store.insert(long));
    // At the settled edge: a different row that ended in the same
    // millisecond as the last one let go is new; that one is not.
    let mut small = CdrStore::bounded(T0, 2, Duration::from_secs(7200));
    let a = row(1, T0, 10);
    let mut b = row(2, T0, 10);
    b.uniqueid = "other".into();
    assert!(
        small.insert(a.clone())
            && small.insert(row(3, T0 + 5_000, 10))
            && small.insert(row(4, T0 + 6_000, 10))
    );
    assert_eq!(small.settled_ms(), Some(T0 + 10_000));
    assert!(!small.insert(a));
    assert!(small.insert(b), "a new row of the settled millisecond is kept");
    // By age: rows that ended two hours before the newest are let go.
    let mut aged = CdrStore::new(T0);
    aged.insert(row(1, T0, 10));
    aged.insert(row(2, T0 + 3 * 3_600_000, 10));
    assert_eq!(aged.len(), 1);
    assert!(!aged.insert(row(1, T0, 10)));
}

#[test]
fn a_feed_over_a_shift_keeps_its_store_bounded() {
    let (recent, max_len) = shift(BillingSettings::default(), 10);
    assert!(max_len <= agent_console::core::pbx::billing::STORE_ROWS);
    // About 120 reconciles, each a page or two: far from an hour of rows each.
    assert!(recent.rows < 120 * 400, "{recent:?}");
    println!(
        "ten hours, a row a second, reconcile every ~5 min: recent walks {} cdr/list requests / {} rows",
        recent.requests, recent.rows
    );
    // The old way (whole-window re-reads), over the last two of those hours
    // against the same two of the recent walks.
    let (whole, _) = shift(BillingSettings { recent_page_size: 0, ..BillingSettings::default() }, 2);
    let (recent2, _) = shift(BillingSettings::default(), 2);
    println!(
        "two hours: recent walks {} requests / {} rows; whole-window re-reads {} requests / {} rows",
        recent2.requests, recent2.rows, whole.requests, whole.rows
    );
    assert!(whole.rows > 4 * recent2.rows, "{whole:?} vs {recent2:?}");
}

/// `hours` of a row a second, pushed, with the feed's reconciles: what
/// `cdr/list` served, and the most rows the store held.
fn shift(settings: BillingSettings, hours: u64) -> (Tally, usize) {
    let mut feed = BillingFeed::new(settings, T0, 9);
    let mut pbx = Pbx { rows: Vec::new(), next_id: 1 };
    let mut tally = Tally::default();
    drive(&mut feed, &pbx, Instant(0), T0, false, &mut tally);
    let mut max_len = 0;
    let mut announced = 0usize;
    // Ten seconds a step: ten rows, pushed in one frame (the PBX batches too).
    for step in 0..hours * 360 {
        let batch: Vec<Cdr> = (0..10)
            .map(|i| {
                let r = row(pbx.next_id, T0 + (step * 10 + i) as i64 * 1000, 1);
                pbx.next_id += 1;
                r
            })
            .collect();
        pbx.rows.extend(batch.iter().cloned());
        // Rows three hours old are outside every window: the test PBX forgets
        // them (it scans all it holds per page).
        if pbx.rows.len() > 3 * 3600 + 1800 {
            pbx.rows.drain(..1800);
        }
        feed.socket_frame(&json!({"type": "billing", "data": batch}).to_string());
        let s = step * 10 + 9;
        let now = Instant::from_millis(s * 1000);
        feed.handle_timeout(now);
        for ev in drive(&mut feed, &pbx, now, T0 + s as i64 * 1000, false, &mut tally) {
            if let BillingEvent::Records(rows) = ev {
                announced += rows.len();
            }
        }
        max_len = max_len.max(feed.store().len());
    }
    println!("{hours}-hour feed: store at most {max_len} rows, {} held at the end", feed.store().len());
    assert_eq!(announced as u64, hours * 3600, "each row announced once");
    (tally, max_len)
}
