//! dapi through the gateway: uid fields are the agent's own, uploads pass
//! bounded, and the call-record webhook reaches the agents it names.

mod support;

use serde_json::json;
use support::{config_text, gateway, read_events, temp_dir, vendors, Console};

#[tokio::test]
async fn uid_fields_are_the_agents_own_and_nothing_else_is_forwarded() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("dapi"))).await;
    let mut li = Console::new(&base);
    li.sign_in("li", "li-pass").await;
    let a =
        li.send("POST", "/dapi/call/user", Some(json!({"src_uid": "1001", "dst_uid": ["2002"]})), &[]).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["success"], true, "{}", a.json);
    let a =
        li.send("POST", "/dapi/call/user", Some(json!({"src_uid": "2002", "dst_uid": ["1001"]})), &[]).await;
    assert_eq!((a.status, a.json["success"].as_bool()), (403, Some(false)));
    let a = li.send("POST", "/dapi/call/msg", Some(json!({"uid": "2002"})), &[]).await;
    assert_eq!(a.status, 403);
    assert_eq!(v.count("/dapi/call/user"), 1);
    assert_eq!(v.count("/dapi/call/msg"), 0);
    let a = li.send("GET", "/dapi/system/config", None, &[]).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert!(
        a.json["data"]["channel_heartbeat"].is_number() || a.json["data"]["channel_heartbeat"].is_string(),
        "{}",
        a.json
    );
}

#[tokio::test]
async fn an_upload_is_forwarded_as_sent() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("upload"))).await;
    let mut li = Console::new(&base);
    li.sign_in("li", "li-pass").await;
    let boundary = "XyZ";
    let body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n");
    let resp = li
        .http
        .post(format!("{base}/d/upload"))
        .header("cookie", format!("agc_session={}", li.cookie.clone().unwrap()))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let j: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    // One file, one URL (seed 001), as the server answered it.
    assert!(j.to_string().contains("general_upload"), "{j}");
    assert_eq!(v.count("/d/upload"), 1);
    let anon = reqwest::Client::new().post(format!("{base}/d/upload")).body("x").send().await.unwrap();
    assert_eq!(anon.status(), 401);
}

#[tokio::test]
async fn a_call_record_reaches_the_caller_and_the_callees_streams() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("dapihook"))).await;
    let mut li = Console::new(&base);
    li.sign_in("li", "li-pass").await;
    let mut wang = Console::new(&base);
    wang.sign_in("wang", "wang-pass").await;
    let mut zhao = Console::new(&base);
    zhao.sign_in("zhao", "zhao-pass").await;
    let (mut li_ev, mut wang_ev) = (li.events(None).await, wang.events(None).await);
    let record = json!({"callrecord": {"channel": "ch-1", "dst_uid": ["2002"], "id": 7, "is_robot": false, "src_uid": "1001",
        "starttime": "2024-01-31 08:00:00", "endtime": "2024-01-31 08:01:00", "event": [], "pk": 7, "count": 1}});
    let r = reqwest::Client::new()
        .post(format!("{base}/hooks/dapi"))
        .header("content-type", "application/json")
        .body(record.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for ev in [&mut li_ev, &mut wang_ev] {
        let got = read_events(ev, "dapi_record", 1, 5).await;
        assert_eq!(got.len(), 1);
        let r: serde_json::Value = serde_json::from_str(&got[0].1).unwrap();
        assert_eq!(r["channel"], "ch-1");
    }
    assert!(
        read_events(&mut zhao.events(Some(0)).await, "dapi_record", 1, 1).await.is_empty(),
        "not zhao's call"
    );
}

#[tokio::test]
async fn parallel_webhooks_reach_a_stream_all_once_and_in_order() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("dapiorder"))).await;
    let mut li = Console::new(&base);
    li.sign_in("li", "li-pass").await;
    let mut stream = li.events(None).await;
    let mut posts = Vec::new();
    for i in 0..60u64 {
        let url = format!("{base}/hooks/dapi");
        posts.push(tokio::spawn(async move {
            let record = json!({"callrecord": {"channel": format!("ch-{i}"), "dst_uid": ["3003"], "id": i, "src_uid": "1001"}});
            let r = reqwest::Client::new().post(url).header("content-type", "application/json").body(record.to_string()).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }));
    }
    for p in posts {
        p.await.unwrap();
    }
    let got = read_events(&mut stream, "dapi_record", 60, 10).await;
    assert_eq!(got.len(), 60);
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "in id order, none twice");
    let mut channels: Vec<String> = got
        .iter()
        .map(|(_, d)| {
            serde_json::from_str::<serde_json::Value>(d).unwrap()["channel"].as_str().unwrap().to_string()
        })
        .collect();
    channels.sort();
    channels.dedup();
    assert_eq!(channels.len(), 60, "every record, once");
    // Signed out: the stream ends at its next wake.
    li.send("DELETE", "/session", None, &[]).await;
    let r = reqwest::Client::new()
        .post(format!("{base}/hooks/dapi"))
        .header("content-type", "application/json")
        .body(
            json!({"callrecord": {"channel": "late", "dst_uid": [], "id": 99, "src_uid": "1001"}})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(read_events(&mut stream, "dapi_record", 1, 3).await.is_empty(), "nothing after sign-out");
}

#[tokio::test]
async fn channels_and_scheduled_calls_are_the_ones_the_server_gave_the_agent() {
    let v = vendors().await;
    let base = gateway(&config_text(&v, &temp_dir("dapichan"))).await;
    let mut li = Console::new(&base);
    li.sign_in("li", "li-pass").await;
    let mut wang = Console::new(&base);
    wang.sign_in("wang", "wang-pass").await;
    let a =
        li.send("POST", "/dapi/call/user", Some(json!({"src_uid": "1001", "dst_uid": ["2002"]})), &[]).await;
    let channel = a.json["data"]["channel"].as_str().unwrap().to_string();
    let beat = |uid: &str, ch: &str| json!({"uid": uid, "channel": ch});
    assert_eq!(li.send("POST", "/dapi/call/heartbeat", Some(beat("1001", &channel)), &[]).await.status, 200);
    let a = li.send("POST", "/dapi/call/heartbeat", Some(beat("1001", "ch_not_mine")), &[]).await;
    assert_eq!(a.status, 403, "{}", a.json);
    assert!(a.json["msg"].as_str().unwrap().contains("ch_not_mine"));
    // The callee may join once the server listed the call for it.
    assert_eq!(wang.send("POST", "/dapi/call/token", Some(beat("2002", &channel)), &[]).await.status, 403);
    let msgs = wang.send("POST", "/dapi/call/msg", Some(json!({"uid": "2002"})), &[]).await;
    assert!(msgs.json["data"].to_string().contains(&channel), "{}", msgs.json);
    let a = wang.send("POST", "/dapi/call/token", Some(beat("2002", &channel)), &[]).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(v.count("/dapi/call/heartbeat"), 1);
    // Scheduled calls: new ones freely, existing ones only the agent's own.
    let task =
        json!({"src_uid": "1001", "dst_uid": ["2002"], "call_time": "2030-01-31 08:00:00", "taskid": "t1"});
    assert_eq!(li.send("POST", "/dapi/calltask/update", Some(task.clone()), &[]).await.status, 200);
    let list = li.send("POST", "/dapi/calltask/list", Some(json!({"uid": "1001"})), &[]).await;
    let id = list.json["data"]["rows"][0]["id"].clone();
    assert!(!id.is_null(), "{}", list.json);
    let mut mine = task.clone();
    mine["id"] = id;
    assert_eq!(li.send("POST", "/dapi/calltask/update", Some(mine), &[]).await.status, 200);
    let mut theirs = task;
    theirs["id"] = json!(987654);
    assert_eq!(li.send("POST", "/dapi/calltask/update", Some(theirs), &[]).await.status, 403);
}
