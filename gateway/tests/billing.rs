//! The PBX billing push through the gateway: one upstream socket; each new
//! CDR is kept and sent on `/events` (`billing_cdr`) to the agents of its
//! `src`/`dst` and to supervisors, once; a CDR written while no gateway ran
//! is filled from `cdr/list` when one starts, and a restart on the same
//! database sends nothing twice.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::{config_text, gateway, read_events, temp_dir, vendors, Console, Vendors};

/// A call 8001 → 8002 placed on the sandbox directly (no gateway involved),
/// hung up after it was answered; its uniqueid.
async fn call_behind_the_gateways_back(v: &Vendors) -> String {
    let http = reqwest::Client::new();
    let base = format!("http://{}/dscom-api/public", v.addr);
    let post = |path: String, bearer: Option<String>, body: Value| {
        let mut b = http.post(format!("{base}{path}")).header("content-type", "application/json");
        if let Some(t) = bearer {
            b = b.header("authorization", t);
        }
        async move {
            serde_json::from_str::<Value>(
                &b.body(body.to_string()).send().await.unwrap().text().await.unwrap(),
            )
            .unwrap()
        }
    };
    let tok = post(
        "/oauth/token".into(),
        None,
        json!({"grant_type": "password", "client_id": support::DEMO_CLIENT_ID,
            "client_secret": support::DEMO_CLIENT_SECRET, "username": support::DEMO_USERNAME,
            "password": support::DEMO_PASSWORD, "scope": "*"}),
    )
    .await;
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let d =
        post("/api/v1/call/dial".into(), Some(bearer.clone()), json!({"extension": "8001", "dest": "8002"}))
            .await;
    let id = d["data"]["uniqueid"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    post("/api/v1/call/hangup".into(), Some(bearer), json!({"extension": "8001"})).await;
    id
}

fn rows(events: &[(i64, String)]) -> Vec<Value> {
    events.iter().map(|(_, d)| serde_json::from_str(d).unwrap()).collect()
}

#[tokio::test]
async fn billing_cdrs_reach_the_agents_they_concern_once_and_a_start_fills_what_it_missed() {
    let v = vendors().await;
    // Before any gateway: a CDR it must fill from cdr/list.
    let missed = call_behind_the_gateways_back(&v).await;
    let data = temp_dir("billing");
    let base = gateway(&config_text(&v, &data)).await;
    let mut li = Console::new(&base);
    li.sign_in("li", "li-pass").await;
    let mut li_events = li.events(Some(0)).await;
    let got = read_events(&mut li_events, "billing_cdr", 1, 20).await;
    let got = rows(&got);
    assert!(got.iter().any(|r| r["uniqueid"] == missed.as_str()), "the missed CDR was filled: {got:?}");

    // Live: li's call through the gateway arrives on the push, to li and zhao, not wang.
    let mut zhao = Console::new(&base);
    zhao.sign_in("zhao", "zhao-pass").await;
    let mut wang = Console::new(&base);
    wang.sign_in("wang", "wang-pass").await;
    let mut zhao_events = zhao.events(None).await;
    let mut wang_events = wang.events(None).await;
    let d = li.pbx("POST", "call/dial", Some(json!({"extension": "8001", "dest": "8002"}))).await;
    assert_eq!(d.status, 200, "{}", d.json);
    let live = d.json["data"]["uniqueid"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(li.pbx("POST", "call/hangup", Some(json!({"extension": "8001"}))).await.status, 200);
    let mut found = false;
    for _ in 0..20 {
        let z = rows(&read_events(&mut zhao_events, "billing_cdr", 1, 2).await);
        if z.iter().any(|r| r["uniqueid"] == live.as_str()) {
            found = true;
            break;
        }
    }
    assert!(found, "the supervisor got li's CDR");
    // wang's stream: only rows of 8003 (the sandbox's simulated callers make some).
    let w = rows(&read_events(&mut wang_events, "billing_cdr", 1000, 2).await);
    assert!(w.iter().all(|r| r["src"] == "8003" || r["dst"] == "8003"), "wang got another's row: {w:?}");

    // A restart on the same database re-reads the last hour and sends nothing twice.
    let base2 = gateway(&config_text(&v, &data)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut li2 = Console::new(&base2);
    li2.sign_in("li", "li-pass").await;
    let all = rows(&read_events(&mut li2.events(Some(0)).await, "billing_cdr", 10_000, 3).await);
    for id in [&missed, &live] {
        assert_eq!(all.iter().filter(|r| r["uniqueid"] == id.as_str()).count(), 1, "{id} sent once");
    }
    assert!(all.iter().all(|r| r["src"] == "8001" || r["dst"] == "8001"));
    // The gateway's socket carries its own token; no body a console got has it.
    assert!(v.count("/push/") >= 1, "the gateway opened the push socket");
    for b in li.received.iter().chain(&zhao.received) {
        assert!(!b.contains(support::DEMO_CLIENT_SECRET));
    }
}
