//! The PBX through the gateway: every rule allowed and refused (nothing
//! forwarded when refused), the gateway's own token, the audit log, a
//! restart, and no secret in anything a browser receives.

mod support;

use agent_console_sandbox::pbx::{DEMO_CLIENT_SECRET, DEMO_PASSWORD};
use serde_json::json;
use support::{config_text, gateway, temp_dir, vendors, Console};

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_and_answers_the_profile() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("signin"))).await;
    let mut c = Console::new(&base);
    assert_eq!(c.send("GET", "/session", None, &[]).await.status, 401);
    let a = c.sign_in("li", "wrong").await;
    assert_eq!((a.status, a.json["code"].as_str()), (401, Some("bad_credentials")));
    assert!(a.set_cookie.is_none());
    let a = c.sign_in("li", "li-pass").await;
    assert_eq!(a.status, 200);
    let cookie = a.set_cookie.unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert_eq!(
        a.json,
        json!({"login": "li", "extension": "8001", "agentId": "1011", "role": "agent", "callbackNumber": "13800138000", "dapiUid": "1001"})
    );
    assert_eq!(c.send("GET", "/session", None, &[]).await.json["login"], "li");
    assert_eq!(c.send("DELETE", "/session", None, &[]).await.status, 204);
    assert_eq!(c.send("GET", "/session", None, &[]).await.status, 401, "the session ended on the server");
    assert_eq!(c.pbx("GET", "status/endpoint", None).await.status, 401);
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited_even_with_the_right_password_after() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("limit"))).await;
    let mut c = Console::new(&base);
    for _ in 0..5 {
        assert_eq!(c.sign_in("li", "guess").await.status, 401);
    }
    let a = c.sign_in("li", "li-pass").await;
    assert_eq!((a.status, a.json["code"].as_str()), (429, Some("rate_limited")));
    assert!(a.json["message"].as_str().unwrap().contains("min"));
    // Other logins from the same address (an office behind one NAT) still
    // sign in; only a flood from one address is held up.
    let mut wang = Console::new(&base);
    assert_eq!(wang.sign_in("wang", "wang-pass").await.status, 200);
    let mut statuses = Vec::new();
    for i in 0..50 {
        statuses.push(c.sign_in(&format!("nobody{i}"), "x").await.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 45, "5 failures were li's: {statuses:?}");
    assert_eq!(statuses.last(), Some(&429));
    assert_eq!(
        Console::new(&base).sign_in("zhao", "zhao-pass").await.status,
        429,
        "this address is held up now"
    );
}

#[tokio::test]
async fn without_a_session_nothing_reaches_the_pbx_and_the_token_route_is_closed() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("nosession"))).await;
    let mut c = Console::new(&base);
    let a = c.pbx("POST", "call/dial", Some(json!({"extension": "8001", "dest": "8002"}))).await;
    assert_eq!((a.status, a.json["code"].as_str()), (401, Some("401")));
    c.sign_in("li", "li-pass").await;
    let body = json!({"grant_type": "password", "client_id": 4, "client_secret": "x", "username": "api", "password": "x", "scope": "*"});
    let a = c.send("POST", "/dscom-api/public/oauth/token", Some(body), &[]).await;
    assert_eq!(a.status, 404);
    assert_eq!(v.count("call/dial"), 0, "{:?}", v.seen.lock().unwrap());
    // The only token requests are the gateway's own (its billing socket's).
    let seen = v.seen.lock().unwrap().clone();
    let grants: Vec<_> = seen.iter().filter(|s| s.path.contains("oauth/token")).collect();
    assert!(grants.len() <= 1, "{grants:?}");
    assert!(grants
        .iter()
        .all(|g| g.body.contains(support::DEMO_CLIENT_SECRET) && !g.body.contains(r#""client_secret":"x""#)));
}

#[tokio::test]
async fn an_agent_acts_on_the_own_extension_with_the_gateways_token_only() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("own"))).await;
    let mut c = Console::new(&base);
    c.sign_in("li", "li-pass").await;
    let dial = |ext: &str| json!({"extension": ext, "dest": "8003"});
    let a = c
        .send(
            "POST",
            "/dscom-api/public/api/v1/call/dial",
            Some(dial("8001")),
            &[("authorization", "Bearer stolen")],
        )
        .await;
    assert_eq!((a.status, a.json["code"].as_str()), (200, Some("200")), "{}", a.json);
    let sent = v.last("call/dial").unwrap();
    assert!(sent.authorization.starts_with("Bearer ") && sent.authorization != "Bearer stolen", "{sent:?}");
    assert_eq!(v.count("oauth/token"), 1, "one password grant");
    let a = c.pbx("POST", "call/dial", Some(dial("8002"))).await;
    assert_eq!((a.status, a.json["code"].as_str()), (403, Some("403")));
    let msg = a.json["msg"].as_str().unwrap();
    assert!(msg.contains("8001") && msg.contains("own extension") && msg.contains("自己的分机"), "{msg}");
    assert_eq!(v.count("call/dial"), 1, "the refused dial was not forwarded");
    for route in ["call/hangup", "call/hold", "call/park", "agent/pause", "agent/logout"] {
        let a = c.pbx("POST", route, Some(json!({"extension": "8003", "queue": "200", "paused": 1}))).await;
        assert_eq!(a.status, 403, "{route}");
        assert_eq!(v.count(route), 0, "{route}");
    }
    let a = c.pbx("POST", "call/hangup", Some(json!({"extension": "8001"}))).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(v.count("call/hangup"), 1);
}

#[tokio::test]
async fn supervisor_actions_status_and_records_follow_the_role() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("roles"))).await;
    let mut agent = Console::new(&base);
    agent.sign_in("li", "li-pass").await;
    let mut sup = Console::new(&base);
    sup.sign_in("zhao", "zhao-pass").await;
    for route in ["call/barge", "call/monitor", "call/whisper", "call/pickup", "call/redirect"] {
        let a = agent.pbx("POST", route, Some(json!({"extension": "8001", "dest": "8003"}))).await;
        assert_eq!(a.status, 403, "{route}");
        assert!(a.json["msg"].as_str().unwrap().contains("supervisors"), "{route}");
        assert_eq!(v.count(route), 0, "{route}");
        let a = sup.pbx("POST", route, Some(json!({"extension": "8002", "dest": "8003"}))).await;
        assert_ne!(a.status, 403, "{route}: {}", a.json);
        assert_eq!(v.count(route), 1, "{route}");
    }
    assert_eq!(agent.pbx("GET", "agent/getAgentStatus", None).await.status, 403);
    assert_eq!(agent.pbx("GET", "agent/getAgentStatus?extension=8001", None).await.status, 200);
    assert_eq!(sup.pbx("GET", "agent/getAgentStatus", None).await.status, 200);
    assert_eq!(agent.pbx("GET", "status/queue?queue_num=200", None).await.status, 403);
    assert_eq!(agent.pbx("GET", "status/endpoint?page=1&pageSize=50", None).await.status, 200);
    let before = v.count("/api/v1/cdr?");
    assert_eq!(agent.pbx("GET", "cdr?page=1&pageSize=100", None).await.status, 403);
    assert_eq!(agent.pbx("GET", "cdr/list?page=1&page_size=100", None).await.status, 403);
    assert_eq!(v.count("/api/v1/cdr?"), before, "refused record reads were not forwarded");
    let a = agent.pbx("GET", "cdr?page=1&pageSize=100&src=8001", None).await;
    assert_eq!(a.status, 200);
    for row in a.json["data"].as_array().unwrap() {
        assert!(row["src"] == "8001" || row["dst"] == "8001", "{row}");
    }
    let all = sup.pbx("GET", "cdr?page=1&pageSize=100", None).await;
    assert_eq!(all.status, 200);
    assert!(
        all.json["data"].as_array().unwrap().iter().any(|r| r["src"] != "8001" && r["dst"] != "8001"),
        "the demo has others' calls"
    );
    // The audit log: supervisors only, refused actions included.
    assert_eq!(agent.send("GET", "/audit", None, &[]).await.status, 403);
    let log = sup.send("GET", "/audit?limit=1000", None, &[]).await.json;
    let rows = log.as_array().unwrap();
    let barge = rows.iter().find(|r| r["login"] == "li" && r["action"] == "POST call/barge").unwrap();
    assert!(barge["result"].as_str().unwrap().starts_with("refused"), "{barge}");
    assert_eq!(barge["target"], "8001 -> 8003");
    assert!(rows.iter().any(|r| r["login"] == "zhao"
        && r["action"] == "POST call/barge"
        && r["result"].as_str().unwrap().starts_with("forwarded")));
}

#[tokio::test]
async fn a_foreign_origin_is_refused_before_anything() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("origin"))).await;
    let mut c = Console::new(&base);
    c.sign_in("li", "li-pass").await;
    let host = base.trim_start_matches("http://").to_string();
    let dial = json!({"extension": "8001", "dest": "8003"});
    let a = c
        .send(
            "POST",
            "/dscom-api/public/api/v1/call/dial",
            Some(dial.clone()),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!((a.status, a.json["code"].as_str()), (403, Some("foreign_origin")));
    assert_eq!(v.count("call/dial"), 0);
    let own = format!("http://{host}");
    let a =
        c.send("POST", "/dscom-api/public/api/v1/call/dial", Some(dial), &[("origin", own.as_str())]).await;
    assert_eq!(a.status, 200, "{}", a.json);
}

#[tokio::test]
async fn calls_are_rate_limited_per_agent() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("rate"))).await;
    let mut c = Console::new(&base);
    c.sign_in("li", "li-pass").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let a = c.pbx("POST", "call/dial", Some(json!({"extension": "8001", "dest": "8003"}))).await;
        statuses.push(a.status);
        c.pbx("POST", "call/hangup", Some(json!({"extension": "8001"}))).await;
    }
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 1, "{statuses:?}");
    assert_eq!(v.count("call/dial"), 5);
}

#[tokio::test]
async fn an_agents_voicemail_is_the_own_mailbox_paged_right_and_marks_only_it() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("vm"))).await;
    let mut sup = Console::new(&base);
    sup.sign_in("zhao", "zhao-pass").await;
    let q = "voicemail?page=1&pageSize=1000&start=2000-01-01%2000:00:00&end=2100-01-01%2000:00:00";
    let all = sup.pbx("GET", q, None).await.json;
    let rows = all["data"].as_array().unwrap().clone();
    let mut agent = Console::new(&base);
    agent.sign_in("li", "li-pass").await;
    let mine = agent.pbx("GET", q, None).await.json;
    let want: Vec<_> = rows.iter().filter(|r| r["dst"] == "8001").collect();
    assert_eq!(mine["total"], json!(want.len()), "{mine}");
    assert!(mine["data"].as_array().unwrap().iter().all(|r| r["dst"] == "8001"));
    if let Some(other) = rows.iter().find(|r| r["dst"] != "8001") {
        let a =
            agent.pbx("PUT", &format!("voicemail/{}", other["id"]), Some(json!({"is_read": "yes"}))).await;
        assert_eq!(a.status, 403);
    }
    if let Some(own) = want.first() {
        let a = agent.pbx("PUT", &format!("voicemail/{}", own["id"]), Some(json!({"is_read": "yes"}))).await;
        assert_eq!(a.status, 200, "{}", a.json);
    }
    assert!(!rows.is_empty(), "the sandbox's demo has voicemail");
}

#[tokio::test]
async fn no_secret_reaches_the_browser_and_the_audit_log_survives_a_restart() {
    let v = vendors().await;
    let data = temp_dir("restart");
    let config = config_text(&v, &data);
    let base = gateway(&config).await;
    let mut c = Console::new(&base);
    c.sign_in("li", "wrong").await;
    c.sign_in("li", "li-pass").await;
    c.send("GET", "/session", None, &[]).await;
    c.pbx("POST", "call/dial", Some(json!({"extension": "8001", "dest": "8003"}))).await;
    c.pbx("POST", "call/dial", Some(json!({"extension": "8002", "dest": "8003"}))).await;
    c.pbx("GET", "status/endpoint?page=1&pageSize=50", None).await;
    c.pbx("GET", "cdr?page=1&pageSize=10&src=8001", None).await;
    c.pbx("POST", "tts/synthesize", Some(json!({"text": "您好"}))).await;
    let token = v.last("call/dial").unwrap().authorization.trim_start_matches("Bearer ").to_string();
    assert!(!token.is_empty());
    let hashes: Vec<String> = config
        .lines()
        .filter_map(|l| l.strip_prefix("password_hash = "))
        .map(|h| h.trim_matches('"').to_string())
        .collect();
    let mut secrets = vec![DEMO_CLIENT_SECRET.to_string(), DEMO_PASSWORD.to_string(), token];
    secrets.extend(hashes);
    for body in &c.received {
        for s in &secrets {
            assert!(!body.contains(s.as_str()), "a secret reached the browser: {s} in {body}");
        }
    }
    // A second gateway on the same database (a restart) has the log.
    let base2 = gateway(&config).await;
    let mut sup = Console::new(&base2);
    sup.sign_in("zhao", "zhao-pass").await;
    let log = sup.send("GET", "/audit?limit=1000", None, &[]).await.json;
    let rows = log.as_array().unwrap();
    assert!(rows.iter().any(|r| r["login"] == "li"
        && r["action"] == "POST call/dial"
        && r["result"].as_str().unwrap().starts_with("forwarded 200")));
    assert!(rows.iter().any(|r| r["login"] == "li"
        && r["action"] == "POST call/dial"
        && r["result"].as_str().unwrap().starts_with("refused")));
    assert!(rows.iter().any(|r| r["login"] == "li"
        && r["action"] == "POST /session"
        && r["result"].as_str().unwrap().starts_with("refused")));
}
