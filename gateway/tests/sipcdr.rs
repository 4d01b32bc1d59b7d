//! SIP call records through the gateway: only the gateway asks the server
//! with `syncflag=1` (its background sync fills SQLite); consoles get
//! answers from the store, an agent only the agent's own extension's bills,
//! and `syncflag` per login, so one agent's sync takes nothing from another.
//! A restart keeps the bills and each login's marks.

mod support;

use agent_console_wire::time::CstDateTime;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::{config_text, gateway, temp_dir, vendors, Console};

fn window() -> (String, String) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    (
        CstDateTime::from_epoch_ms(now - 12 * 3_600_000).to_string(),
        // Ended an hour ago: no bill joins the window while the test runs.
        CstDateTime::from_epoch_ms(now - 3_600_000).to_string(),
    )
}

fn bills(a: &support::Answer) -> Vec<serde_json::Value> {
    a.json["data"]["result"]["bills"].as_array().cloned().unwrap_or_default()
}

fn total(a: &support::Answer) -> u64 {
    a.json["data"]["result"]["totalitems"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn bills_are_synced_by_the_gateway_and_served_per_agent_with_marks_per_login() {
    let v = vendors().await;
    let data = temp_dir("sip");
    let base = gateway(&config_text(&v, &data)).await;
    let (start, end) = window();
    let w = [
        ("starttime", start.as_str()),
        ("endtime", end.as_str()),
        ("callmethod", "0"),
        ("itemsperpage", "1000"),
    ];
    let mut zhao = Console::new(&base);
    zhao.sign_in("zhao", "zhao-pass").await;
    // The back-fill and the first syncs fill the store: read until it holds
    // still (a new bill comes every 30 s of the sandbox's clock).
    let mut seen = 0;
    for _ in 0..60 {
        let a = zhao.get_bill(&[&w[..], &[("syncflag", "3"), ("extnumber", "8001")]].concat()).await;
        assert_eq!(a.status, 200, "{}", a.json);
        let now = total(&a);
        if now > 0 && now == seen {
            break;
        }
        seen = now;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    assert!(seen > 10, "8001's bills of the last 12 h reached the store: {seen}");

    let mut li = Console::new(&base);
    li.sign_in("li", "li-pass").await;
    // An agent's empty extnumber means the agent's own; a forged token goes nowhere.
    let a = li.get_bill(&[&w[..], &[("syncflag", "3"), ("token", "li-forged")]].concat()).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(total(&a), seen, "li sees exactly 8001's bills");
    assert!(bills(&a).iter().all(|b| b["extnumber"] == "8001"));
    // Another extension is refused.
    let a = li.get_bill(&[&w[..], &[("syncflag", "3"), ("extnumber", "8001,8002")]].concat()).await;
    assert_eq!(a.status, 403, "{}", a.json);
    assert_eq!(a.json["ret"], 403);

    // li's sync: everything once, then nothing new.
    let first = li.get_bill(&[&w[..], &[("syncflag", "1")]].concat()).await;
    assert_eq!(bills(&first).len() as u64, seen);
    let again = li.get_bill(&[&w[..], &[("syncflag", "1")]].concat()).await;
    assert_eq!(total(&again), 0, "li's second sync has nothing new");
    assert_eq!(total(&li.get_bill(&[&w[..], &[("syncflag", "2")]].concat()).await), seen);
    // The supervisor's marks are the supervisor's: li took nothing from zhao.
    let z = zhao.get_bill(&[&w[..], &[("syncflag", "1"), ("extnumber", "8001")]].concat()).await;
    assert_eq!(total(&z), seen, "zhao still gets 8001's bills once");
    let mut wang = Console::new(&base);
    wang.sign_in("wang", "wang-pass").await;
    let wb = wang.get_bill(&[&w[..], &[("syncflag", "1")]].concat()).await;
    assert!(!bills(&wb).is_empty() && bills(&wb).iter().all(|b| b["extnumber"] == "8003"));

    // Upstream, only the gateway's token, and no console's request forwarded.
    let seen_up = v.seen.lock().unwrap().clone();
    let up: Vec<_> = seen_up.iter().filter(|s| s.path.starts_with("/sipcdr")).collect();
    assert!(!up.is_empty());
    assert!(up.iter().all(|s| s.body.contains(support::SIPCDR_TOKEN) && !s.body.contains("li-forged")));
    // Bad forms get the seed's envelope with words.
    let bad = li.get_bill(&[("starttime", "yesterday"), ("endtime", end.as_str())]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.json["msg"].as_str().unwrap().contains("starttime"), "{}", bad.json);

    // A restart on the same database keeps the bills and li's marks.
    let base2 = gateway(&config_text(&v, &data)).await;
    let mut li2 = Console::new(&base2);
    li2.sign_in("li", "li-pass").await;
    assert_eq!(total(&li2.get_bill(&[&w[..], &[("syncflag", "2")]].concat()).await), seen);
    assert_eq!(total(&li2.get_bill(&[&w[..], &[("syncflag", "1")]].concat()).await), 0);
    assert!(
        li.received.iter().chain(&li2.received).all(|b| !b.contains(support::SIPCDR_TOKEN)),
        "no token in any body"
    );

    // Without a session: 401.
    assert_eq!(Console::new(&base).get_bill(&w).await.status, 401);
}
