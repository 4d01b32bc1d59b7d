//! The callback API through the gateway: signed by the gateway (the sandbox
//! checks the signature as the platform does), the caller rule, calls owned
//! by the agent who started them, and the status webhook reaching that
//! agent's event stream (live, and replayed after a reconnect).

mod support;

use serde_json::json;
use support::{config_text, gateway, read_events, temp_dir, vendors, Console};

const CALL: &str = "/api/qmc-call/openapi/v1/call";
const END: &str = "/api/qmc-call/openapi/v1/endCall";

#[tokio::test]
async fn a_callback_call_is_signed_by_the_gateway_and_its_status_reaches_the_agent() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("cb"))).await;
    let hook = format!("{base}/hooks/callback");
    let http = reqwest::Client::new();
    let set = http
        .post(format!("http://{}/sandbox/callback/settings", v.addr))
        .header("content-type", "application/json")
        .body(json!({"webhookUrl": hook}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let mut li = Console::new(&base);
    li.sign_in("li", "li-pass").await;
    let mut events = li.events(None).await;
    assert_eq!(events.status(), 200);
    // A browser's own header is not what reaches the platform.
    let a = li
        .send(
            "POST",
            CALL,
            Some(json!({"caller": "13800138000", "callee": "13900139000"})),
            &[("authorization", "forged")],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["code"], 200, "the sandbox accepted the gateway's signature: {}", a.json);
    let id = a.json["data"]["callidentifier"].as_str().unwrap().trim().to_string();
    assert_ne!(v.last("openapi/v1/call").unwrap().authorization, "forged");
    // Another agent may not end it; the agent who started it may.
    let mut wang = Console::new(&base);
    wang.sign_in("wang", "wang-pass").await;
    assert_eq!(wang.send("POST", END, Some(json!({"callidentifier": id})), &[]).await.status, 403);
    assert_eq!(v.count("endCall"), 0);
    let a = li.send("POST", END, Some(json!({"callidentifier": id})), &[]).await;
    assert_eq!(a.status, 200, "{}", a.json);
    let got = read_events(&mut events, "callback_status", 1, 15).await;
    assert_eq!(got.len(), 1, "the webhook reached li's stream");
    let (event_id, data) = &got[0];
    let n: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(n["callidentifier"].as_str().map(str::trim), Some(id.as_str()));
    // wang's stream has nothing of li's; a reconnect after 0 replays li's event.
    assert!(read_events(&mut wang.events(Some(0)).await, "callback_status", 1, 1).await.is_empty());
    let again = read_events(&mut li.events(Some(0)).await, "callback_status", 1, 5).await;
    assert_eq!(again.first().map(|e| e.0), Some(*event_id));
    assert!(
        read_events(&mut li.events(Some(*event_id)).await, "callback_status", 1, 1).await.is_empty(),
        "nothing after it"
    );
}

#[tokio::test]
async fn the_caller_is_the_agents_own_callback_number() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("cbcaller"))).await;
    let mut li = Console::new(&base);
    li.sign_in("li", "li-pass").await;
    let a = li.send("POST", CALL, Some(json!({"caller": "13700137000", "callee": "13900139000"})), &[]).await;
    assert_eq!(a.status, 403);
    assert!(a.json["msg"].as_str().unwrap().contains("13800138000"), "{}", a.json);
    // Spaces and dashes as people type them are the same number.
    let a =
        li.send("POST", CALL, Some(json!({"caller": "138-0013 8000", "callee": "13900139000"})), &[]).await;
    assert_eq!(a.status, 200, "{}", a.json);
    let mut wang = Console::new(&base);
    wang.sign_in("wang", "wang-pass").await;
    let a =
        wang.send("POST", CALL, Some(json!({"caller": "13800138000", "callee": "13900139000"})), &[]).await;
    assert_eq!(a.status, 403, "no callback number configured: nothing may be called");
    assert_eq!(v.count("openapi/v1/call"), 1);
    let a = Console::new(&base)
        .send("POST", CALL, Some(json!({"caller": "13800138000", "callee": "1"})), &[])
        .await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn a_webhook_is_stored_and_answered_as_the_seed_says_even_when_undeliverable() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("cbhook"))).await;
    let http = reqwest::Client::new();
    let post = |body: &'static str| http.post(format!("{base}/hooks/callback")).body(body).send();
    let r = post(r#"{"callidentifier":"not-ours","status":"Disconnected","endTime":"2024-01-31 08:00:00","reason":"HangUp"}"#).await.unwrap();
    let j: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(j, json!({"code": "200", "msg": "ok", "data": ""}));
    let r = post("{not json").await.unwrap();
    let j: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(j["code"], "400");
}
