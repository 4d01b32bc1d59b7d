//! The PBX desk routes of docs/pbx-desk.md (transfers, parking, pickup, listeners,
//! agents, queue/trunk/wait status, voicemail, CDR lists, TTS, the billing websocket,
//! the moving simulation and the fault knobs), driven in-process through
//! `app(settings)` with `oneshot`, and over real TCP for the websocket.

use std::time::Duration;

use agent_console_sandbox::clock::format_cst;
use agent_console_sandbox::envelope::PbxCode;
use agent_console_sandbox::{
    app, Settings, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_USERNAME,
};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::Engine;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const P: &str = "/dscom-api/public";
const SPOOL: &str = "/var/spool/asterisk/";

struct Sb {
    app: Router,
}

impl Sb {
    fn new() -> Self {
        Self::with(Settings::default())
    }

    fn with(settings: Settings) -> Self {
        Self { app: app(settings) }
    }

    /// A sandbox without the simulated queue callers (they would move agents around).
    async fn quiet() -> (Self, String) {
        let sb = Self::new();
        sb.settings(json!({"autoCallers": false})).await;
        let tok = sb.token().await;
        (sb, tok)
    }

    async fn raw(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Body,
    ) -> (StatusCode, Vec<u8>, String) {
        let mut req =
            Request::builder().method(method).uri(uri).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let resp = self.app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec(), ct)
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let body = body.map(|v| Body::from(v.to_string())).unwrap_or_else(Body::empty);
        let (status, bytes, _) = self.raw(method, uri, token, body).await;
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes)));
        (status, v)
    }

    async fn token(&self) -> String {
        let body = json!({
            "grant_type": "password", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
            "username": DEMO_USERNAME, "password": DEMO_PASSWORD, "scope": "*",
        });
        let (s, v) = self.call(Method::POST, &format!("{P}/oauth/token"), None, Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["access_token"].as_str().unwrap().to_string()
    }

    /// POST under /api/v1, expecting HTTP 200 (the envelope carries the outcome).
    async fn post(&self, tok: &str, path: &str, body: Value) -> Value {
        let (s, v) = self.call(Method::POST, &format!("{P}/api/v1/{path}"), Some(tok), Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        v
    }

    /// POST that must succeed with `{code:"200", data:[]}`.
    async fn ok(&self, tok: &str, path: &str, body: Value) {
        let v = self.post(tok, path, body.clone()).await;
        assert_eq!(v, json!({"code": "200", "msg": "成功", "data": [], "total": 0}), "{path} {body}");
    }

    /// POST that must fail with `code`.
    async fn fails(&self, tok: &str, path: &str, body: Value, code: PbxCode) {
        let v = self.post(tok, path, body.clone()).await;
        assert_code(&v, code, &format!("{path} {body}"));
    }

    async fn get(&self, tok: &str, path_query: &str) -> Value {
        let uri = format!("{P}/api/v1/{}", path_query.replace(' ', "%20"));
        let (s, v) = self.call(Method::GET, &uri, Some(tok), None).await;
        assert_eq!(s, StatusCode::OK, "{path_query}: {v}");
        v
    }

    async fn put(&self, tok: &str, path: &str, body: Value) -> Value {
        let (s, v) = self.call(Method::PUT, &format!("{P}/api/v1/{path}"), Some(tok), Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        v
    }

    async fn settings(&self, body: Value) -> Value {
        let (s, v) = self.call(Method::POST, "/sandbox/pbx/settings", None, Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    async fn sandbox_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, &format!("/sandbox/pbx/{path}"), None, Some(body)).await
    }

    async fn caller(&self, number: &str) -> Value {
        let (s, v) = self.sandbox_post("callers", json!({ "number": number })).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    async fn ring(&self, from: &str, to: &str) -> String {
        let (s, v) = self.sandbox_post("ring", json!({"from": from, "to": to})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["uniqueid"].as_str().unwrap().to_string()
    }

    async fn dial(&self, tok: &str, ext: &str, dest: &str) -> String {
        let v = self.post(tok, "call/dial", json!({"extension": ext, "dest": dest})).await;
        assert_eq!(v["code"], "200", "{v}");
        v["data"]["uniqueid"].as_str().unwrap().to_string()
    }

    async fn advance(&self, secs: f64) {
        let (s, v) =
            self.call(Method::POST, "/sandbox/clock", None, Some(json!({ "advance_secs": secs }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    async fn now_ms(&self) -> i64 {
        self.call(Method::GET, "/sandbox/clock", None, None).await.1["now_ms"].as_i64().unwrap()
    }

    async fn pbx(&self) -> Value {
        self.call(Method::GET, "/sandbox/state", None, None).await.1["pbx"].clone()
    }

    async fn calls(&self) -> Vec<Value> {
        self.pbx().await["calls"].as_array().cloned().unwrap()
    }

    async fn cdr(&self) -> Vec<Value> {
        self.pbx().await["cdr"].as_array().cloned().unwrap()
    }

    async fn last_cdr(&self) -> Value {
        self.cdr().await.last().cloned().unwrap()
    }

    async fn state_of(&self, tok: &str, ext: &str) -> (String, String) {
        let v = self.get(tok, &format!("status/endpoint?page=1&pageSize=10&endpoint={ext}")).await;
        let row = &v["data"][0];
        (row["state"].as_str().unwrap().to_string(), row["channels"].as_str().unwrap().to_string())
    }

    async fn ds(&self, tok: &str, ext: &str) -> String {
        self.state_of(tok, ext).await.0
    }

    async fn agent(&self, tok: &str, queue: &str, ext: &str) -> Value {
        let v = self.get(tok, &format!("agent/getAgentStatus?queue={queue}&extension={ext}")).await;
        v["data"][queue][ext].clone()
    }

    async fn wait(&self, tok: &str) -> Value {
        self.get(tok, "status/wait?page=1&pageSize=50&queue_num=200").await
    }

    async fn logout_robots(&self, tok: &str) {
        for ext in ["8002", "8003"] {
            self.ok(tok, "agent/logout", json!({"extension": ext, "queue": "200"})).await;
        }
    }
}

fn assert_code(v: &Value, code: PbxCode, ctx: &str) {
    assert_eq!(v["code"], code.code(), "{ctx}: {v}");
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.starts_with(code.text()), "{ctx}: msg {msg} should start with {}", code.text());
    assert_eq!(v["data"], json!([]), "{ctx}: {v}");
    assert_eq!(v["total"], 0, "{ctx}: {v}");
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

fn all_strings(v: &Value) -> bool {
    v.as_object().unwrap().values().all(Value::is_string)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A complete 8 kHz mono 16-bit WAV: returns its data length in bytes.
fn wav_data_len(w: &[u8]) -> usize {
    assert!(w.len() >= 44, "too short for a WAV");
    assert_eq!(&w[0..4], b"RIFF");
    assert_eq!(&w[8..16], b"WAVEfmt ");
    assert_eq!(u32_at(w, 24), 8000);
    assert_eq!(&w[36..40], b"data");
    assert_eq!(u32_at(w, 4) as usize, w.len() - 8);
    assert_eq!(u32_at(w, 40) as usize, w.len() - 44);
    w.len() - 44
}

// ---------------------------------------------------------------- codes

#[test]
fn every_code_of_the_seed_table_is_known() {
    let codes: Vec<&str> = PbxCode::TABLE.iter().map(|c| c.code()).collect();
    let expected = [
        "510000", "510001", "600000", "600001", "600002", "600003", "600004", "600005", "600006", "600007",
        "600008", "600009", "600010", "600011", "600012", "600013", "600014", "600015", "600016", "600017",
        "600018", "600019", "600020", "600021", "600022", "610000", "610001", "610002", "610003", "610004",
        "610005", "610006", "610007",
    ];
    assert_eq!(codes, expected);
    assert_eq!(PbxCode::UnparkFailed.text(), "驻留通话已挂断");
    assert_eq!(PbxCode::AgentLoginParams.text(), "座席签入参数有误");
}

// ---------------------------------------------------------------- transfers

#[tokio::test]
async fn transfer_rejects_bad_input_and_impossible_moves() {
    let (sb, tok) = Sb::quiet().await;
    use PbxCode::{CancelAtxferFailed, TransferFailed, TransferParams};
    for body in [
        json!({}),
        json!({"type": "sideways", "extension": "8001", "dest": "8002"}),
        json!({"type": 1, "extension": "8001", "dest": "8002"}),
        json!({"type": "blind", "dest": "8002"}),
        json!({"type": "blind", "extension": "8001"}),
        json!({"type": "blind", "extension": "8001", "dest": ""}),
        json!({"type": "attended", "extension": "8001", "dest": "abc"}),
        json!({"type": "app", "extension": "8001", "dest": "ext-queues"}),
        json!({"type": "app", "extension": "8001", "dest": "a,b"}),
        json!({"type": "app", "extension": "8001", "dest": "ext-queues,200,x"}),
        json!([]),
    ] {
        sb.fails(&tok, "call/transfer", body, TransferParams).await;
    }
    // No call to transfer; unknown app targets.
    sb.fails(
        &tok,
        "call/transfer",
        json!({"type": "blind", "extension": "8001", "dest": "8002"}),
        TransferFailed,
    )
    .await;
    sb.fails(
        &tok,
        "call/transfer",
        json!({"type": "app", "extension": "8001", "dest": "nope,s,1"}),
        TransferFailed,
    )
    .await;
    sb.fails(
        &tok,
        "call/transfer",
        json!({"type": "app", "extension": "8001", "dest": "ext-queues,999,1"}),
        TransferFailed,
    )
    .await;
    // In a call: the destination must be someone else, reachable and free.
    sb.dial(&tok, "8001", "8004").await;
    sb.fails(
        &tok,
        "call/transfer",
        json!({"type": "blind", "extension": "8001", "dest": "8003"}),
        TransferFailed,
    )
    .await;
    sb.advance(2.0).await;
    for dest in ["8004", "8001", "8005"] {
        let body = json!({"type": "blind", "extension": "8001", "dest": dest});
        sb.fails(&tok, "call/transfer", body, TransferFailed).await;
    }
    sb.fails(&tok, "call/cancelAtxfer", json!({}), TransferParams).await;
    sb.fails(&tok, "call/cancelAtxfer", json!({"extension": 8001}), TransferParams).await;
    sb.fails(&tok, "call/cancelAtxfer", json!({"extension": "8001"}), CancelAtxferFailed).await;
    assert_eq!(sb.calls().await.len(), 1, "nothing changed");
}

#[tokio::test]
async fn blind_transfer_hands_the_other_party_on() {
    let (sb, tok) = Sb::quiet().await;
    let id = sb.dial(&tok, "8001", "13800138000").await;
    sb.advance(2.0).await;
    sb.ok(&tok, "call/transfer", json!({"type": "blind", "extension": "8001", "dest": "8004"})).await;
    // The first leg is written, hung up by the transferer.
    let first = sb.last_cdr().await;
    assert_eq!((first["uniqueid"].as_str(), first["dst"].as_str()), (Some(id.as_str()), Some("13800138000")));
    assert!(first["hangupsource"].as_str().unwrap().starts_with("PJSIP/8001-"), "{first}");
    assert_eq!(first["disposition"], "ANSWERED");
    // The outside party now rings 8004, then talks to it.
    let calls = sb.calls().await;
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!((c["a"]["number"].as_str(), c["b"]["number"].as_str()), (Some("13800138000"), Some("8004")));
    assert_eq!((c["linkedid"].as_str(), c["state"].as_str()), (Some(id.as_str()), Some("ringing")));
    assert_eq!(sb.ds(&tok, "8001").await, "Not in use");
    assert_eq!(sb.ds(&tok, "8004").await, "Ringing");
    sb.advance(2.0).await;
    assert_eq!(sb.ds(&tok, "8004").await, "In use");
    // 8004 is a simulated agent: it hangs up by itself after talkMs ± 50 %.
    sb.advance(31.0).await;
    assert_eq!(sb.calls().await, Vec::<Value>::new());
    let second = sb.last_cdr().await;
    assert_eq!((second["src"].as_str(), second["dst"].as_str()), (Some("13800138000"), Some("8004")));
    assert_eq!((second["linkedid"].as_str(), second["direction"].as_str()), (Some(id.as_str()), Some("in")));

    // Blind to an outside number: the extension left behind now calls out via the trunk.
    sb.dial(&tok, "8002", "8003").await;
    sb.advance(2.0).await;
    sb.ok(&tok, "call/transfer", json!({"type": "blind", "extension": "8003", "dest": "13900000000"})).await;
    let c = sb.calls().await[0].clone();
    assert_eq!((c["a"]["number"].as_str(), c["b"]["kind"].as_str()), (Some("8002"), Some("outside")));
    let v = sb.get(&tok, "status/trunk?page=1&pageSize=10&trunk_name=trunkHWD").await;
    assert_eq!(
        (v["data"][0]["state"].as_str(), v["data"][0]["channels"].as_str()),
        (Some("In use"), Some("1 of inf"))
    );
}

#[tokio::test]
async fn attended_transfer_consults_cancels_and_completes() {
    let (sb, tok) = Sb::quiet().await;
    let id = sb.dial(&tok, "8001", "13800138000").await;
    sb.advance(2.0).await;
    sb.ok(&tok, "call/transfer", json!({"type": "attended", "extension": "8001", "dest": "8002"})).await;
    let calls = sb.calls().await;
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0]["held"].as_bool(), calls[0]["held_by"].as_str()), (Some(true), Some("8001")));
    assert_eq!(
        (calls[1]["origin"].as_str(), calls[1]["consult_of"].as_str()),
        (Some("consult"), Some(id.as_str()))
    );
    assert_eq!(sb.state_of(&tok, "8001").await, ("In use".to_string(), "2 of inf".to_string()));
    assert_eq!(sb.ds(&tok, "8002").await, "Ringing");
    // One consultation at a time.
    let again = json!({"type": "attended", "extension": "8001", "dest": "8003"});
    sb.fails(&tok, "call/transfer", again, PbxCode::TransferFailed).await;

    // Cancel: the consultation ends and the first call resumes.
    sb.advance(2.0).await;
    sb.ok(&tok, "call/cancelAtxfer", json!({"extension": "8001"})).await;
    let consult = sb.last_cdr().await;
    assert_eq!((consult["src"].as_str(), consult["dst"].as_str()), (Some("8001"), Some("8002")));
    assert_eq!(consult["linkedid"], id.as_str());
    let calls = sb.calls().await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["held"], false);
    assert_eq!(sb.state_of(&tok, "8001").await, ("In use".to_string(), "1 of inf".to_string()));
    assert_eq!(sb.ds(&tok, "8002").await, "Not in use");
    sb.fails(&tok, "call/cancelAtxfer", json!({"extension": "8001"}), PbxCode::CancelAtxferFailed).await;

    // The consulted party hangs up: the first call resumes by itself.
    sb.ok(&tok, "call/transfer", json!({"type": "attended", "extension": "8001", "dest": "8003"})).await;
    sb.advance(2.0).await;
    sb.ok(&tok, "call/hangup", json!({"extension": "8003"})).await;
    let calls = sb.calls().await;
    assert_eq!((calls.len(), calls[0]["held"].as_bool()), (1, Some(false)));

    // Consult again and hang up: the transfer completes.
    sb.ok(&tok, "call/transfer", json!({"type": "attended", "extension": "8001", "dest": "8002"})).await;
    sb.advance(2.0).await;
    sb.ok(&tok, "call/hangup", json!({"extension": "8001"})).await;
    let first = sb.last_cdr().await;
    assert_eq!(first["uniqueid"], id.as_str());
    assert!(first["hangupsource"].as_str().unwrap().starts_with("PJSIP/8001-"));
    let calls = sb.calls().await;
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!((c["a"]["number"].as_str(), c["b"]["number"].as_str()), (Some("13800138000"), Some("8002")));
    assert_eq!((c["origin"].as_str(), c["state"].as_str()), (Some("transfer"), Some("answered")));
    assert_eq!(sb.ds(&tok, "8001").await, "Not in use");
    sb.ok(&tok, "call/hangup", json!({"extension": "8002"})).await;
    let last = sb.last_cdr().await;
    assert_eq!((last["src"].as_str(), last["dst"].as_str()), (Some("13800138000"), Some("8002")));
    assert_eq!((last["linkedid"].as_str(), last["direction"].as_str()), (Some(id.as_str()), Some("in")));
}

#[tokio::test]
async fn app_transfers_go_back_to_the_queue_or_to_an_ivr() {
    let (sb, tok) = Sb::quiet().await;
    sb.logout_robots(&tok).await;
    sb.caller("18300000009").await;
    sb.ring("18300000001", "8001").await;
    sb.ok(&tok, "call/pickup", json!({"extension": "8001", "dest": "8001"})).await;
    sb.advance(1.0).await;
    sb.ok(&tok, "call/transfer", json!({"type": "app", "extension": "8001", "dest": "ext-queues,200,1"}))
        .await;
    assert_eq!(sb.ds(&tok, "8001").await, "Not in use");
    let leg = sb.last_cdr().await;
    assert_eq!(
        (leg["src"].as_str(), leg["dst"].as_str(), leg["disposition"].as_str()),
        (Some("18300000001"), Some("8001"), Some("ANSWERED"))
    );
    // Priority 1 puts it ahead of the caller who was already waiting.
    let v = sb.wait(&tok).await;
    assert_eq!(v["total"], 2);
    let first = &v["data"][0];
    assert_eq!((first["serialNo"].as_str(), first["callerid"].as_str()), (Some("1"), Some("18300000001")));
    assert_eq!((first["prio"].as_str(), first["waitTime"].as_str()), (Some("1"), Some("0:00")));
    assert_eq!(v["data"][1]["prio"], "0");
    assert_eq!(first["linkedid"], leg["linkedid"]);

    // To an IVR: the caller leaves, the call ends with lastapp BackGround.
    sb.ring("18300000002", "8001").await;
    sb.ok(&tok, "call/pickup", json!({"extension": "8001", "dest": "8001"})).await;
    sb.ok(&tok, "call/transfer", json!({"type": "app", "extension": "8001", "dest": "aa_1001315,s,1"})).await;
    let ivr = sb.last_cdr().await;
    assert_eq!((ivr["src"].as_str(), ivr["lastapp"].as_str()), (Some("18300000002"), Some("BackGround")));
    assert!(ivr["hangupsource"].as_str().unwrap().starts_with("PJSIP/trunkHWD-"), "{ivr}");
    assert_eq!(sb.calls().await, Vec::<Value>::new());
}

// ---------------------------------------------------------------- hold

#[tokio::test]
async fn hold_and_unhold_show_on_the_endpoint() {
    let (sb, tok) = Sb::quiet().await;
    for body in [json!({}), json!({"extension": ""}), json!({"extension": 8001}), json!("x")] {
        sb.fails(&tok, "call/hold", body.clone(), PbxCode::CallParams).await;
        sb.fails(&tok, "call/unhold", body, PbxCode::CallParams).await;
    }
    sb.fails(&tok, "call/hold", json!({"extension": "8001"}), PbxCode::HoldFailed).await;
    sb.fails(&tok, "call/unhold", json!({"extension": "8001"}), PbxCode::UnholdFailed).await;
    sb.dial(&tok, "8001", "8002").await;
    // Still ringing: nothing to hold.
    sb.fails(&tok, "call/hold", json!({"extension": "8001"}), PbxCode::HoldFailed).await;
    sb.advance(2.0).await;
    sb.ok(&tok, "call/hold", json!({"extension": "8001"})).await;
    assert_eq!(sb.ds(&tok, "8001").await, "On Hold");
    assert_eq!(sb.ds(&tok, "8002").await, "In use");
    assert_eq!(sb.calls().await[0]["held"], true);
    sb.fails(&tok, "call/hold", json!({"extension": "8001"}), PbxCode::HoldFailed).await;
    // Either party may take it off hold.
    sb.ok(&tok, "call/unhold", json!({"extension": "8002"})).await;
    sb.fails(&tok, "call/unhold", json!({"extension": "8001"}), PbxCode::UnholdFailed).await;
    assert_eq!(sb.ds(&tok, "8001").await, "In use");
}

// ---------------------------------------------------------------- parking

const PARK_KEYS: [&str; 19] = [
    "parkeeChannel",
    "parkeeChannelState",
    "parkeeChannelStateDesc",
    "parkeeCallerIDNum",
    "parkeeCallerIDName",
    "parkeeConnectedLineNum",
    "parkeeConnectedLineName",
    "parkeeLanguage",
    "parkeeAccountCode",
    "parkeeContext",
    "parkeeExten",
    "parkeePriority",
    "parkeeUniqueid",
    "parkeeLinkedid",
    "parkerDialString",
    "parkingLot",
    "parkingSpace",
    "parkingTimeout",
    "parkingDuration",
];

#[tokio::test]
async fn park_list_unpark_and_park_timeout() {
    let (sb, tok) = Sb::quiet().await;
    sb.fails(&tok, "call/park", json!({}), PbxCode::CallParams).await;
    sb.fails(&tok, "call/park", json!({"extension": "8001"}), PbxCode::ParkFailed).await;
    assert_eq!(
        sb.get(&tok, "call/parkList").await,
        json!({"code": "200", "msg": "成功", "data": [], "total": 0})
    );

    let uid = sb.ring("18312345678", "8001").await;
    sb.fails(&tok, "call/park", json!({"extension": "8001"}), PbxCode::ParkFailed).await;
    sb.ok(&tok, "call/pickup", json!({"extension": "8001", "dest": "8001"})).await;
    sb.ok(&tok, "call/park", json!({"extension": "8001"})).await;
    assert_eq!(sb.ds(&tok, "8001").await, "Not in use");
    let v = sb.get(&tok, "call/parkList").await;
    assert_eq!((v["code"].as_str(), v["total"].as_u64()), (Some("200"), Some(0)));
    let row = v["data"][0].clone();
    assert_eq!(keys(&row), sorted(&PARK_KEYS));
    assert!(all_strings(&row), "{row}");
    assert_eq!(row["parkingSpace"], "701");
    assert_eq!(row["parkeeCallerIDNum"], "18312345678");
    assert_eq!(row["parkeeConnectedLineNum"], "8001");
    assert_eq!(row["parkerDialString"], "PJSIP/8001");
    assert_eq!(
        (row["parkingLot"].as_str(), row["parkeeChannelStateDesc"].as_str()),
        (Some("default"), Some("Up"))
    );
    assert_eq!(row["parkeeLinkedid"], uid.as_str());
    assert!(row["parkeeChannel"].as_str().unwrap().starts_with("PJSIP/trunkHWD-"));
    assert_eq!((row["parkingDuration"].as_str(), row["parkingTimeout"].as_str()), (Some("0"), Some("600")));
    sb.advance(12.0).await;
    let row = sb.get(&tok, "call/parkList?extension=8001").await["data"][0].clone();
    assert_eq!((row["parkingDuration"].as_str(), row["parkingTimeout"].as_str()), (Some("12"), Some("588")));
    assert_eq!(sb.get(&tok, "call/parkList?extension=8002").await["data"], json!([]));
    let v = sb.get(&tok, "status/trunk?page=1&pageSize=1").await;
    assert_eq!(v["data"][0]["state"], "In use", "a parked outside caller holds a trunk channel");

    // An extension can be parked too: it shows On Hold.
    sb.dial(&tok, "8002", "8003").await;
    sb.advance(2.0).await;
    sb.ok(&tok, "call/park", json!({"extension": "8002"})).await;
    assert_eq!(sb.ds(&tok, "8003").await, "On Hold");
    assert_eq!(sb.get(&tok, "call/parkList?extension=8002").await["data"][0]["parkingSpace"], "702");

    for body in [
        json!({}),
        json!({"extension": "8004"}),
        json!({"dest": "701"}),
        json!({"extension": "8004", "dest": 701}),
    ] {
        sb.fails(&tok, "call/unpark", body, PbxCode::UnparkParams).await;
    }
    sb.fails(&tok, "call/unpark", json!({"extension": "8004", "dest": "709"}), PbxCode::UnparkFailed).await;
    sb.fails(&tok, "call/unpark", json!({"extension": "8005", "dest": "701"}), PbxCode::UnparkFailed).await;
    // By space, then by the parked number.
    sb.ok(&tok, "call/unpark", json!({"extension": "8004", "dest": "701"})).await;
    let c = sb.calls().await.into_iter().find(|c| c["b"]["number"] == "8004").unwrap();
    assert_eq!((c["a"]["number"].as_str(), c["state"].as_str()), (Some("18312345678"), Some("answered")));
    sb.ok(&tok, "call/unpark", json!({"extension": "8001", "dest": "8003"})).await;
    assert_eq!(sb.ds(&tok, "8003").await, "In use");
    assert_eq!(sb.get(&tok, "call/parkList").await["data"], json!([]));
    sb.fails(&tok, "call/unpark", json!({"extension": "8001", "dest": "8003"}), PbxCode::UnparkFailed).await;

    // Ten minutes parked: the call hangs up and leaves a CDR row.
    sb.ok(&tok, "call/hangup", json!({"extension": "8001"})).await;
    sb.ring("18399999999", "8001").await;
    sb.ok(&tok, "call/pickup", json!({"extension": "8001", "dest": "8001"})).await;
    sb.ok(&tok, "call/park", json!({"extension": "8001"})).await;
    sb.advance(601.0).await;
    assert_eq!(sb.get(&tok, "call/parkList").await["data"], json!([]));
    let row = sb.cdr().await.into_iter().rev().find(|r| r["src"] == "18399999999").unwrap();
    assert_eq!((row["lastapp"].as_str(), row["dst"].as_str()), (Some("Park"), Some("701")));
    sb.fails(&tok, "call/unpark", json!({"extension": "8001", "dest": "18399999999"}), PbxCode::UnparkFailed)
        .await;
    // A parked caller who hangs up is gone too.
    sb.ring("18388888888", "8001").await;
    sb.ok(&tok, "call/pickup", json!({"extension": "8001", "dest": "8001"})).await;
    sb.ok(&tok, "call/park", json!({"extension": "8001"})).await;
    sb.ok(&tok, "call/hangup", json!({"extension": "18388888888"})).await;
    sb.fails(&tok, "call/unpark", json!({"extension": "8001", "dest": "701"}), PbxCode::UnparkFailed).await;
}

// ---------------------------------------------------------------- redirect, pickup

#[tokio::test]
async fn redirect_answers_a_waiting_caller() {
    let (sb, tok) = Sb::quiet().await;
    sb.logout_robots(&tok).await;
    let c = sb.caller("18311112222").await;
    assert_eq!(
        (c["serialNo"].as_str(), c["callerid"].as_str(), c["queue"].as_str()),
        (Some("1"), Some("18311112222"), Some("200"))
    );
    let v = sb.wait(&tok).await;
    assert_eq!(v["total"], 1);
    let row = &v["data"][0];
    assert_eq!(
        keys(row),
        sorted(&["serialNo", "callerid", "channel", "linkedid", "queue", "waitTime", "prio", "ivr", "ac"])
    );
    assert!(all_strings(row));
    assert_eq!(
        (row["waitTime"].as_str(), row["ac"].as_str(), row["ivr"].as_str()),
        (Some("0:00"), Some("0755"), Some(""))
    );
    sb.advance(5.0).await;
    assert_eq!(sb.wait(&tok).await["data"][0]["waitTime"], "0:05");

    for body in [
        json!({}),
        json!({"extension": "8001"}),
        json!({"dest": "18311112222"}),
        json!({"extension": "8001", "dest": 1}),
    ] {
        sb.fails(&tok, "call/redirect", body, PbxCode::RedirectParams).await;
    }
    for (ext, dest) in [("8001", "18300000000"), ("8009", "18311112222"), ("8005", "18311112222")] {
        sb.fails(&tok, "call/redirect", json!({"extension": ext, "dest": dest}), PbxCode::RedirectFailed)
            .await;
    }
    sb.ok(&tok, "call/redirect", json!({"extension": "8001", "dest": "18311112222"})).await;
    assert_eq!(sb.wait(&tok).await, json!({"code": "200", "msg": "成功", "data": [], "total": 0}));
    assert_eq!(sb.ds(&tok, "8001").await, "In use");
    let call = sb.calls().await[0].clone();
    assert_eq!(
        (call["a"]["number"].as_str(), call["b"]["number"].as_str(), call["state"].as_str()),
        (Some("18311112222"), Some("8001"), Some("answered"))
    );

    // By linkedid too.
    let c = sb.caller("18333334444").await;
    sb.ok(&tok, "call/redirect", json!({"extension": "8004", "dest": c["linkedid"]})).await;
    assert_eq!(sb.wait(&tok).await["total"], 0);

    sb.advance(3.0).await;
    sb.ok(&tok, "call/hangup", json!({"extension": "18311112222"})).await;
    let row = sb.cdr().await.into_iter().rev().find(|r| r["src"] == "18311112222").unwrap();
    assert_eq!(
        (row["dst"].as_str(), row["direction"].as_str(), row["disposition"].as_str()),
        (Some("8001"), Some("in"), Some("ANSWERED"))
    );
    assert!(row["duration"].as_u64().unwrap() >= 8, "the leg started when the caller arrived: {row}");

    // A caller who hangs up while waiting abandons the queue: NO ANSWER, lastapp Queue.
    sb.caller("18355550000").await;
    sb.ok(&tok, "call/hangup", json!({"extension": "18355550000"})).await;
    let row = sb.last_cdr().await;
    assert_eq!(
        (row["src"].as_str(), row["disposition"].as_str(), row["lastapp"].as_str()),
        (Some("18355550000"), Some("NO ANSWER"), Some("Queue"))
    );
}

#[tokio::test]
async fn pickup_answers_a_ring_made_with_the_sandbox() {
    let (sb, tok) = Sb::quiet().await;
    for body in [
        json!({"from": "abc", "to": "8003"}),
        json!({"from": "13900001111", "to": "9999"}),
        json!({"from": "8002", "to": "8003"}),
        json!({"to": "8003"}),
        json!([]),
    ] {
        assert_eq!(sb.sandbox_post("ring", body.clone()).await.0, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(
        sb.sandbox_post("ring", json!({"from": "13900001111", "to": "8005"})).await.0,
        StatusCode::CONFLICT
    );
    let uid = sb.ring("13900001111", "8003").await;
    assert_eq!(
        sb.sandbox_post("ring", json!({"from": "13900002222", "to": "8003"})).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(sb.state_of(&tok, "8003").await, ("Ringing".to_string(), "1 of inf".to_string()));
    let agent = sb.agent(&tok, "200", "8003").await;
    assert_eq!(
        (agent["status"].as_str(), agent["statusDesc"].as_str(), agent["dsStatus"].as_str()),
        (Some("2"), Some("Ringing"), Some("6"))
    );

    for body in [
        json!({}),
        json!({"extension": "8001"}),
        json!({"dest": "8003"}),
        json!({"extension": ["8001"], "dest": "8003"}),
    ] {
        sb.fails(&tok, "call/pickup", body, PbxCode::PickupParams).await;
    }
    for (ext, dest) in [("8001", "8002"), ("8005", "8003"), ("8009", "8003")] {
        sb.fails(&tok, "call/pickup", json!({"extension": ext, "dest": dest}), PbxCode::PickupFailed).await;
    }
    sb.ok(&tok, "call/pickup", json!({"extension": "8001", "dest": "8003"})).await;
    assert_eq!(sb.ds(&tok, "8001").await, "In use");
    assert_eq!(sb.ds(&tok, "8003").await, "Not in use");
    let c = sb.calls().await[0].clone();
    assert_eq!(
        (c["uniqueid"].as_str(), c["b"]["number"].as_str(), c["state"].as_str()),
        (Some(uid.as_str()), Some("8001"), Some("answered"))
    );
    sb.fails(&tok, "call/pickup", json!({"extension": "8002", "dest": "8003"}), PbxCode::PickupFailed).await;
    sb.advance(4.0).await;
    sb.ok(&tok, "call/hangup", json!({"extension": "8001"})).await;
    let row = sb.last_cdr().await;
    assert_eq!(
        (row["src"].as_str(), row["dst"].as_str(), row["direction"].as_str()),
        (Some("13900001111"), Some("8003"), Some("in"))
    );
    assert!(row["dstchannel"].as_str().unwrap().starts_with("PJSIP/8001-"), "{row}");
    let billsec = row["billsec"].as_u64().unwrap();
    assert!((4..=5).contains(&billsec), "whole seconds of the printed times: {row}");

    // Nobody picks up: after the 45 s dial timeout the ring ends as NO ANSWER.
    sb.ring("13900003333", "8004").await;
    sb.advance(46.0).await;
    assert_eq!(sb.calls().await, Vec::<Value>::new());
    let row = sb.last_cdr().await;
    assert_eq!((row["src"].as_str(), row["disposition"].as_str()), (Some("13900003333"), Some("NO ANSWER")));
}

// ---------------------------------------------------------------- listeners

#[tokio::test]
async fn barge_monitor_and_whisper_join_an_answered_call() {
    let (sb, tok) = Sb::quiet().await;
    let routes = [
        ("call/barge", PbxCode::BargeParams, PbxCode::BargeFailed),
        ("call/monitor", PbxCode::MonitorParams, PbxCode::MonitorFailed),
        ("call/whisper", PbxCode::WhisperParams, PbxCode::WhisperFailed),
    ];
    sb.dial(&tok, "8002", "13800000002").await;
    for (path, params, failed) in routes {
        for body in [
            json!({}),
            json!({"extension": "8001"}),
            json!({"dest": "8002"}),
            json!({"extension": "8001", "dest": "8001"}),
        ] {
            sb.fails(&tok, path, body, params).await;
        }
        // Not answered yet, or not in a call at all.
        sb.fails(&tok, path, json!({"extension": "8001", "dest": "8002"}), failed).await;
        sb.fails(&tok, path, json!({"extension": "8001", "dest": "8004"}), failed).await;
    }
    sb.advance(2.0).await;
    sb.ok(&tok, "call/monitor", json!({"extension": "8001", "dest": "8002"})).await;
    sb.ok(&tok, "call/whisper", json!({"extension": "8003", "dest": "8002"})).await;
    sb.ok(&tok, "call/barge", json!({"extension": "8004", "dest": "13800000002"})).await;
    sb.fails(&tok, "call/barge", json!({"extension": "8005", "dest": "8002"}), PbxCode::BargeFailed).await;
    sb.fails(&tok, "call/monitor", json!({"extension": "8001", "dest": "8002"}), PbxCode::MonitorFailed)
        .await;
    for ext in ["8001", "8003", "8004"] {
        assert_eq!(sb.state_of(&tok, ext).await, ("In use".to_string(), "1 of inf".to_string()), "{ext}");
    }
    let listeners = sb.calls().await[0]["listeners"].as_array().cloned().unwrap();
    let modes: Vec<(&str, &str)> =
        listeners.iter().map(|l| (l["extension"].as_str().unwrap(), l["mode"].as_str().unwrap())).collect();
    assert_eq!(modes, [("8001", "monitor"), ("8003", "whisper"), ("8004", "barge")]);
    assert_eq!(sb.agent(&tok, "200", "8003").await["status"], "1");
    // A listener hanging up leaves alone (its ChanSpy leg is written).
    sb.ok(&tok, "call/hangup", json!({"extension": "8003"})).await;
    let spy = sb.last_cdr().await;
    assert_eq!(
        (spy["src"].as_str(), spy["lastapp"].as_str(), spy["lastdata"].as_str()),
        (Some("8003"), Some("ChanSpy"), Some("PJSIP/8002,qw"))
    );
    assert_eq!(sb.calls().await[0]["listeners"].as_array().unwrap().len(), 2);
    // Either party hanging up ends the whole call, listeners too.
    let before = sb.cdr().await.len();
    sb.ok(&tok, "call/hangup", json!({"extension": "13800000002"})).await;
    assert_eq!(sb.calls().await, Vec::<Value>::new());
    assert_eq!(sb.cdr().await.len(), before + 3);
    for ext in ["8001", "8002", "8004"] {
        assert_eq!(sb.ds(&tok, ext).await, "Not in use", "{ext}");
    }
}

// ---------------------------------------------------------------- agents

const AGENT_KEYS: [&str; 16] = [
    "agentid",
    "interfaceType",
    "extension",
    "queue",
    "penalty",
    "current",
    "linkedid",
    "dsStatus",
    "dsStatusDuration",
    "direction",
    "status",
    "statusDesc",
    "statusDuration",
    "callsCurrent",
    "callsTotal",
    "login",
];

#[tokio::test]
async fn agents_sign_in_pause_and_sign_out() {
    let (sb, tok) = Sb::quiet().await;
    let v = sb.get(&tok, "agent/getAgentStatus").await;
    assert_eq!((v["code"].as_str(), v["total"].as_u64()), (Some("200"), Some(0)));
    let a = &v["data"]["200"]["8002"];
    assert_eq!(keys(a), sorted(&AGENT_KEYS));
    assert!(all_strings(a), "{a}");
    assert_eq!(
        (a["agentid"].as_str(), a["status"].as_str(), a["statusDesc"].as_str()),
        (Some("1012"), Some("0"), Some("Ready"))
    );
    assert_eq!((a["dsStatus"].as_str(), a["interfaceType"].as_str()), (Some("1"), Some("PJSIP")));
    assert_eq!(a["callsTotal"], a["login"]);
    assert_eq!(v["data"]["200"]["8001"]["status"], "-1");
    assert_eq!(v["data"]["300"]["8004"]["status"], "-1");
    let v = sb.get(&tok, "agent/getAgentStatus?agentid=1012").await;
    assert_eq!(keys(&v["data"]), ["200"]);
    assert_eq!(keys(&v["data"]["200"]), ["8002"]);
    assert_eq!(sb.get(&tok, "agent/getAgentStatus?queue=999").await["data"], json!([]));

    use PbxCode::{AgentLoginFailed, AgentLoginParams};
    let login = |agentid: Value, ext: &str, queue: &str| json!({"agentid": agentid, "extension": ext, "queue": queue});
    for body in [
        json!({}),
        json!({"agentid": "1011", "extension": "8001"}),
        json!({"agentid": 1011, "extension": "8001", "queue": "200"}),
        json!({"agentid": "1011", "extension": "8001", "queue": "200", "penalty": 100}),
        json!({"agentid": "1011", "extension": "8001", "queue": "200", "penalty": -1}),
        json!({"agentid": "1011", "extension": "8001", "queue": "200", "penalty": "x"}),
        json!({"agentid": "1011", "extension": "8001", "queue": "200", "paused": 3}),
        json!({"agentid": "1011", "extension": "8001", "queue": "200", "paused": "abc"}),
    ] {
        sb.fails(&tok, "agent/login", body, AgentLoginParams).await;
    }
    for body in [
        login(json!("9999"), "8001", "200"),
        login(json!("1011"), "8009", "200"),
        login(json!("1011"), "8001", "999"),
        login(json!("1012"), "8002", "200"),
        login(json!("1012"), "8004", "200"),
    ] {
        sb.fails(&tok, "agent/login", body, AgentLoginFailed).await;
    }
    sb.ok(
        &tok,
        "agent/login",
        json!({"agentid": "1011", "extension": "8001", "queue": "200", "penalty": 2, "paused": 0}),
    )
    .await;
    let a = sb.agent(&tok, "200", "8001").await;
    assert_eq!(
        (a["status"].as_str(), a["penalty"].as_str(), a["login"].as_str()),
        (Some("0"), Some("2"), Some("0"))
    );
    assert_eq!(a["statusDuration"], "00:00:00");
    sb.advance(5.0).await;
    assert_eq!(sb.agent(&tok, "200", "8001").await["statusDuration"], "00:00:05");

    use PbxCode::{AgentPauseFailed, AgentPauseParams};
    for body in [
        json!({"extension": "8001", "queue": "200"}),
        json!({"extension": "8001", "queue": "200", "paused": 7}),
        json!({"extension": "8001", "paused": 4}),
        json!({"queue": "200", "paused": 4}),
        json!({"extension": "8001", "queue": "200", "paused": 4, "reason": 5}),
    ] {
        sb.fails(&tok, "agent/pause", body, AgentPauseParams).await;
    }
    sb.fails(
        &tok,
        "agent/pause",
        json!({"extension": "8004", "queue": "200", "paused": 4}),
        AgentPauseFailed,
    )
    .await;
    sb.fails(
        &tok,
        "agent/pause",
        json!({"extension": "8001", "queue": "300", "paused": 4}),
        AgentPauseFailed,
    )
    .await;
    sb.ok(
        &tok,
        "agent/pause",
        json!({"extension": "8001", "paused": 5, "queue": "200", "reason": "PublicBreak"}),
    )
    .await;
    let a = sb.agent(&tok, "200", "8001").await;
    assert_eq!(
        (a["status"].as_str(), a["statusDesc"].as_str(), a["statusDuration"].as_str()),
        (Some("5"), Some("PublicBreak"), Some("00:00:00"))
    );

    // status/queue: the same roster, in the seed's Chinese words.
    let v = sb.get(&tok, "status/queue?queue_num=200").await;
    assert_eq!(v["total"], 4);
    let rows = v["data"].as_array().unwrap();
    let r = rows.iter().find(|r| r["extension"] == "8001").unwrap();
    let mut want: Vec<&str> = AGENT_KEYS.to_vec();
    want.extend(["dsStatusDesc", "sampleTime"]);
    assert_eq!(keys(r), sorted(&want));
    assert_eq!((r["status"].as_str(), r["dsStatus"].as_str()), (Some("公事暂休"), Some("空闲")));
    assert!(r["statusDesc"].as_str().unwrap().starts_with("公事暂休(00:00:"), "{r}");
    assert!(r["dsStatusDesc"].as_str().unwrap().starts_with("空闲("), "{r}");
    assert_eq!(r["sampleTime"], Value::Null);
    let statuses: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["公事暂休", "就绪", "就绪", "未登录"]);
    assert_code(&sb.get(&tok, "status/queue").await, PbxCode::BadQuery, "no queue_num");
    assert_eq!(sb.get(&tok, "status/queue?queue_num=999").await["data"], json!([]));

    use PbxCode::{AgentLogoutFailed, AgentLogoutParams};
    sb.fails(&tok, "agent/logout", json!({}), AgentLogoutParams).await;
    sb.fails(&tok, "agent/logout", json!({"extension": "8001"}), AgentLogoutParams).await;
    sb.fails(&tok, "agent/logout", json!({"extension": "8004", "queue": "200"}), AgentLogoutFailed).await;
    sb.fails(&tok, "agent/logout", json!({"extension": "8004", "queue": "all"}), AgentLogoutFailed).await;
    sb.ok(&tok, "agent/logout", json!({"extension": "8001", "queue": "all"})).await;
    assert_eq!(sb.agent(&tok, "200", "8001").await["status"], "-1");
    // Signing in to the other queue adds the agent there.
    sb.ok(&tok, "agent/login", json!({"agentid": "1013", "extension": "8003", "queue": "300"})).await;
    assert_eq!(sb.agent(&tok, "300", "8003").await["status"], "0");
}

// ---------------------------------------------------------------- the moving simulation

#[tokio::test]
async fn a_caller_waits_rings_an_agent_talks_and_leaves_a_recorded_cdr() {
    let sb = Sb::new();
    let tok = sb.token().await;
    for ext in ["8002", "8003"] {
        sb.ok(&tok, "agent/pause", json!({"extension": ext, "queue": "200", "paused": 4})).await;
    }
    assert_eq!(sb.wait(&tok).await["total"], 0);
    // Callers arrive every callerEveryMs (8 s by default).
    sb.advance(8.0).await;
    let v = sb.wait(&tok).await;
    assert_eq!(v["total"], 1, "{v}");
    let caller = v["data"][0].clone();
    let number = caller["callerid"].as_str().unwrap().to_string();
    assert!(number.starts_with("1831234") && number.len() == 11, "{caller}");
    assert!(caller["channel"].as_str().unwrap().starts_with("PJSIP/trunkHWD-"));
    assert_eq!((caller["waitTime"].as_str(), caller["prio"].as_str()), (Some("0:00"), Some("0")));
    sb.settings(json!({"callerEveryMs": 600_000})).await;
    sb.advance(5.0).await;
    assert_eq!(sb.wait(&tok).await["data"][0]["waitTime"], "0:05");
    let v = sb.get(&tok, "status/trunk?page=1&pageSize=10").await;
    assert_eq!(
        (v["data"][0]["state"].as_str(), v["data"][0]["channels"].as_str()),
        (Some("In use"), Some("1 of inf"))
    );

    // A ready agent is rung at once, answers after ringMs, then talks.
    sb.ok(&tok, "agent/pause", json!({"extension": "8002", "queue": "200", "paused": 0})).await;
    assert_eq!(sb.ds(&tok, "8002").await, "Ringing");
    assert_eq!(sb.agent(&tok, "200", "8002").await["status"], "2");
    assert_eq!(sb.wait(&tok).await["total"], 1, "still queued while the agent rings");
    sb.advance(3.0).await;
    assert_eq!(sb.ds(&tok, "8002").await, "In use");
    let a = sb.agent(&tok, "200", "8002").await;
    assert_eq!(
        (a["status"].as_str(), a["current"].as_str(), a["direction"].as_str()),
        (Some("1"), Some(number.as_str()), Some("1"))
    );
    assert_eq!(a["callsCurrent"], "1");
    assert_eq!(sb.wait(&tok).await["total"], 0);

    // talkMs ± 50 %: at least 10 s, at most 30 s; then 3 s of wrap-up.
    sb.advance(9.0).await;
    assert_eq!(sb.agent(&tok, "200", "8002").await["status"], "1");
    let mut ended = false;
    for _ in 0..22 {
        sb.advance(1.0).await;
        if sb.calls().await.is_empty() {
            ended = true;
            break;
        }
    }
    assert!(ended, "the call ended within talkMs * 1.5");
    let a = sb.agent(&tok, "200", "8002").await;
    assert_eq!((a["status"].as_str(), a["statusDesc"].as_str()), (Some("3"), Some("WrapUp")));
    sb.advance(3.0).await;
    assert_eq!(sb.agent(&tok, "200", "8002").await["status"], "0");

    let row = sb.last_cdr().await;
    assert_eq!(
        (row["src"].as_str(), row["dst"].as_str(), row["direction"].as_str()),
        (Some(number.as_str()), Some("200"), Some("in"))
    );
    assert_eq!(
        (row["disposition"].as_str(), row["lastapp"].as_str(), row["agentid"].as_str()),
        (Some("ANSWERED"), Some("Queue"), Some("1012"))
    );
    assert!(row["dstchannel"].as_str().unwrap().starts_with("PJSIP/8002-"));
    // Waited 5 s, rang 3 s, talked at least 10 s.
    assert!(row["duration"].as_u64().unwrap() >= 5 + 3 + 10, "{row}");
    let recording = row["recording"].as_str().unwrap();
    let uid = row["uniqueid"].as_str().unwrap();
    assert!(
        recording.starts_with("monitor/") && recording.ends_with(&format!("-{number}-8002-{uid}.wav")),
        "{recording}"
    );
    let (s, wav, ct) = sb.raw(Method::GET, &format!("/{recording}"), None, Body::empty()).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "audio/wav"));
    let data = wav_data_len(&wav);
    assert!((2 * 16_000..=6 * 16_000).contains(&data) && data % 16_000 == 0, "{data}");
    let v = sb.get(&tok, &format!("cdr?page=1&pageSize=5&direction=in&src={number}")).await;
    assert_eq!(v["total"], 1);
}

#[tokio::test]
async fn a_caller_waiting_too_long_leaves_a_voicemail() {
    let (sb, tok) = Sb::quiet().await;
    let window = "start=2000-01-01 00:00:00&end=2100-01-01 00:00:00";
    let v = sb.get(&tok, &format!("voicemail?page=1&pageSize=10&{window}")).await;
    assert_eq!(v["total"], 5);
    let row = &v["data"][0];
    assert_eq!(
        keys(row),
        sorted(&[
            "id",
            "calldate",
            "callerid",
            "dst",
            "is_read",
            "duration",
            "hangup_time",
            "recording",
            "uniqueid"
        ])
    );
    assert!(row["id"].is_u64() && row["duration"].is_u64() && row["calldate"].is_string());
    assert_eq!(sb.get(&tok, &format!("voicemail?page=1&pageSize=10&{window}&is_read=yes")).await["total"], 2);
    assert_eq!(sb.get(&tok, &format!("voicemail?page=1&pageSize=10&{window}&is_read=no")).await["total"], 3);
    assert_eq!(sb.get(&tok, &format!("voicemail?page=1&pageSize=10&{window}&is_read=")).await["total"], 5);

    sb.settings(json!({"voicemailAfterMs": 20_000})).await;
    sb.logout_robots(&tok).await;
    sb.caller("18355556666").await;
    sb.advance(19.0).await;
    assert_eq!(sb.wait(&tok).await["total"], 1);
    sb.advance(2.0).await;
    assert_eq!(sb.wait(&tok).await["total"], 0, "left the queue for the voicemail");
    assert_eq!(sb.get(&tok, "status/trunk?page=1&pageSize=1").await["data"][0]["state"], "In use");
    sb.advance(8.0).await;
    let v = sb.get(&tok, &format!("voicemail?page=1&pageSize=10&{window}")).await;
    assert_eq!(v["total"], 6);
    let vm = v["data"][0].clone();
    assert_eq!(
        (vm["callerid"].as_str(), vm["dst"].as_str(), vm["is_read"].as_str()),
        (Some("18355556666"), Some("8001"), Some("no"))
    );
    let secs = vm["duration"].as_u64().unwrap();
    assert!((3..=8).contains(&secs), "{vm}");
    let recording = vm["recording"].as_str().unwrap();
    assert!(recording.starts_with("voicemail/") && recording.contains("-18355556666-8001-"), "{recording}");
    let (s, wav, ct) = sb.raw(Method::GET, &format!("/{recording}"), None, Body::empty()).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "audio/wav"));
    assert_eq!(wav_data_len(&wav), secs as usize * 16_000);
    let row = sb.last_cdr().await;
    assert_eq!(
        (row["src"].as_str(), row["disposition"].as_str(), row["lastapp"].as_str()),
        (Some("18355556666"), Some("NO ANSWER"), Some("VoiceMail"))
    );
    assert_eq!(row["uniqueid"], vm["uniqueid"]);

    let id = vm["id"].as_u64().unwrap();
    assert_eq!(sb.put(&tok, &format!("voicemail/{id}"), json!({"is_read": "yes"})).await["code"], "200");
    assert_eq!(sb.get(&tok, &format!("voicemail?page=1&pageSize=10&{window}&is_read=yes")).await["total"], 3);
    assert_eq!(sb.put(&tok, &format!("voicemail/{id}"), json!({"is_read": "no"})).await["code"], "200");
    for (path, body) in [
        ("voicemail/abc".to_string(), json!({"is_read": "yes"})),
        (format!("voicemail/{id}"), json!({"is_read": "maybe"})),
        (format!("voicemail/{id}"), json!({})),
        (format!("voicemail/{id}"), json!({"is_read": true})),
    ] {
        assert_code(&sb.put(&tok, &path, body).await, PbxCode::VoicemailParams, &path);
    }
    assert_code(
        &sb.put(&tok, "voicemail/99999", json!({"is_read": "yes"})).await,
        PbxCode::VoicemailFailed,
        "99999",
    );
    for q in [
        "voicemail?page=1&pageSize=10",
        "voicemail?page=1&pageSize=10&start=2000-01-01 00:00:00",
        "voicemail?page=1&pageSize=10&start=yesterday&end=2100-01-01 00:00:00",
        "voicemail?page=0&pageSize=10&start=2000-01-01 00:00:00&end=2100-01-01 00:00:00",
        "voicemail?page=1&pageSize=10&start=2000-01-01 00:00:00&end=2100-01-01 00:00:00&is_read=x",
    ] {
        assert_code(&sb.get(&tok, q).await, PbxCode::BadQuery, q);
    }
    for uri in ["/voicemail/nope.wav", "/monitor/20240101/nope.wav", "/monitor/"] {
        assert_eq!(sb.raw(Method::GET, uri, None, Body::empty()).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn the_console_agent_is_rung_not_answered_and_times_out() {
    let (sb, tok) = Sb::quiet().await;
    sb.logout_robots(&tok).await;
    sb.ok(&tok, "agent/login", json!({"agentid": "1011", "extension": "8001", "queue": "200"})).await;
    sb.caller("18377778888").await;
    assert_eq!(sb.ds(&tok, "8001").await, "Ringing");
    assert_eq!(sb.agent(&tok, "200", "8001").await["status"], "2");
    sb.advance(14.0).await;
    assert_eq!(sb.ds(&tok, "8001").await, "Ringing", "never auto-answered");
    sb.advance(2.0).await;
    let a = sb.agent(&tok, "200", "8001").await;
    assert_eq!((a["status"].as_str(), a["statusDesc"].as_str()), (Some("8"), Some("RingTimeout")));
    assert_eq!(sb.ds(&tok, "8001").await, "Not in use");
    let v = sb.wait(&tok).await;
    assert_eq!((v["total"].as_u64(), v["data"][0]["serialNo"].as_str()), (Some(1), Some("1")));
    sb.advance(5.0).await;
    assert_eq!(sb.agent(&tok, "200", "8001").await["status"], "2", "rung again after the timeout status");
    // The console answers the queued caller with redirect.
    sb.ok(&tok, "call/redirect", json!({"extension": "8001", "dest": "18377778888"})).await;
    assert_eq!(sb.ds(&tok, "8001").await, "In use");
    assert_eq!(sb.agent(&tok, "200", "8001").await["status"], "1");
    assert_eq!(sb.wait(&tok).await["total"], 0);
    // A manual call never ends by itself; hanging up leaves 3 s of wrap-up.
    sb.advance(120.0).await;
    assert_eq!(sb.calls().await.len(), 1);
    sb.ok(&tok, "call/hangup", json!({"extension": "8001"})).await;
    assert_eq!(sb.agent(&tok, "200", "8001").await["status"], "3");
}

#[tokio::test]
async fn a_zero_ring_time_answers_at_once_and_rejection_keeps_the_caller() {
    let (sb, tok) = Sb::quiet().await;
    sb.logout_robots(&tok).await;
    sb.settings(json!({"ringMs": 0})).await;
    sb.caller("18366660000").await;
    sb.ok(&tok, "agent/login", json!({"agentid": "1014", "extension": "8004", "queue": "200"})).await;
    assert_eq!(sb.ds(&tok, "8004").await, "In use");
    assert_eq!(sb.wait(&tok).await["total"], 0);
    assert_eq!(sb.agent(&tok, "200", "8004").await["status"], "1");
    sb.ok(&tok, "call/hangup", json!({"extension": "8004"})).await;
    // An agent hanging up a ringing queue call rejects it: the caller stays queued and
    // the agent is not offered another call for 5 s.
    sb.settings(json!({"ringMs": 10_000})).await;
    sb.advance(3.0).await;
    sb.caller("18366661111").await;
    assert_eq!(sb.ds(&tok, "8004").await, "Ringing");
    sb.ok(&tok, "call/hangup", json!({"extension": "8004"})).await;
    assert_eq!(sb.ds(&tok, "8004").await, "Not in use");
    assert_eq!(sb.wait(&tok).await["data"][0]["callerid"], "18366661111");
    sb.advance(5.0).await;
    assert_eq!(sb.ds(&tok, "8004").await, "Ringing");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_callers() {
    let numbers = |sb: Sb| async move {
        let tok = sb.token().await;
        sb.advance(8.0).await;
        sb.advance(8.0).await;
        let v = sb.get(&tok, "status/wait?page=1&pageSize=10&queue_num=200").await;
        let mut n: Vec<String> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["callerid"].as_str().unwrap().to_string())
            .collect();
        n.extend(sb.cdr().await.iter().take(5).map(|r| r["src"].as_str().unwrap().to_string()));
        n
    };
    let a = numbers(Sb::new()).await;
    let b = numbers(Sb::new()).await;
    assert_eq!(a, b);
    assert!(a.len() >= 6, "{a:?}");
    let c = numbers(Sb::with(Settings { pbx_seed: 99, ..Settings::default() })).await;
    assert_ne!(a, c);
}

// ---------------------------------------------------------------- lists

#[tokio::test]
async fn cdr_list_filters_pages_and_validates() {
    let (sb, tok) = Sb::quiet().await;
    let v = sb.get(&tok, "cdr?page=1&pageSize=100").await;
    assert_eq!(v["total"], 40);
    let rows = v["data"].as_array().unwrap();
    assert_eq!(rows.len(), 40);
    assert_eq!(keys(&rows[0]).len(), 50);
    assert!(rows.windows(2).all(|w| w[0]["calldate"].as_str() >= w[1]["calldate"].as_str()), "newest first");
    assert!(rows.iter().all(|r| r["id"].is_u64() && r["duration"].is_u64() && r["billsec"].is_u64()));
    assert!(rows.iter().any(|r| r["direction"] == "in") && rows.iter().any(|r| r["direction"] == "out"));
    assert_eq!(sb.get(&tok, "cdr?page=3&pageSize=15").await["data"].as_array().unwrap().len(), 10);

    let count = |q: String| {
        let sb = &sb;
        let tok = &tok;
        async move { sb.get(tok, &format!("cdr?page=1&pageSize=1000{q}")).await["total"].as_u64().unwrap() }
    };
    let answered = count("&disposition=ANSWERED".into()).await;
    assert_eq!(answered, count("&disposition=ANSWERD".into()).await);
    let unanswered = count("&disposition=NO ANSWER".into()).await
        + count("&disposition=BUSY".into()).await
        + count("&disposition=FAILED".into()).await;
    assert_eq!(answered + unanswered, 40);
    let inbound = count("&direction=in".into()).await;
    assert_eq!(inbound + count("&direction=out".into()).await + count("&direction=inter".into()).await, 40);
    let src = rows.iter().find(|r| r["direction"] == "in").unwrap()["src"].as_str().unwrap().to_string();
    // src and dst match the whole number.
    let v = sb.get(&tok, &format!("cdr?page=1&pageSize=100&src={src}")).await;
    let by_src = v["data"].as_array().unwrap();
    assert!(!by_src.is_empty() && by_src.iter().all(|r| r["src"] == src.as_str()), "{v}");
    assert_eq!(count(format!("&src={}", &src[..7])).await, 0);
    for dst in ["200", "8002"] {
        let want = rows.iter().filter(|r| r["dst"] == dst).count() as u64;
        assert_eq!(count(format!("&dst={dst}")).await, want, "dst {dst}");
    }
    // start and end select by calldate, both inclusive.
    let t = rows[9]["calldate"].as_str().unwrap().to_string();
    let from = count(format!("&start={t}")).await;
    let to = count(format!("&end={t}")).await;
    let at = rows.iter().filter(|r| r["calldate"] == t.as_str()).count() as u64;
    assert_eq!(from + to, 40 + at);
    assert_eq!(count(format!("&start={t}&end={t}")).await, at);

    for q in [
        "cdr",
        "cdr?pageSize=10",
        "cdr?page=0&pageSize=10",
        "cdr?page=1&pageSize=1001",
        "cdr?page=1&pageSize=10&start=2024-02-30 00:00:00",
        "cdr?page=1&pageSize=10&end=now",
        "cdr?page=1&pageSize=10&disposition=WHAT",
        "cdr?page=1&pageSize=10&direction=sideways",
    ] {
        assert_code(&sb.get(&tok, q).await, PbxCode::BadQuery, q);
    }
}

#[tokio::test]
async fn billing_list_selects_a_half_open_window_pages_and_sorts() {
    let (sb, tok) = Sb::quiet().await;
    for bad in [json!({"count": 20_001}), json!({"count": "x"}), json!({"count": 5, "days": 0}), json!({})] {
        assert_eq!(sb.sandbox_post("cdr/bulk", bad.clone()).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (s, v) = sb.sandbox_post("cdr/bulk", json!({"count": 300, "days": 2})).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"added": 300, "total": 340})));
    let now = sb.now_ms().await;
    let (start, end) = (format_cst(now - 3 * 86_400_000), format_cst(now + 60_000));
    let window = format!("start_time={start}&end_time={end}");

    let (s, body, _) = sb
        .raw(
            Method::GET,
            &format!("{P}/api/v1/cdr/list?{}", window.replace(' ', "%20")),
            Some(&tok),
            Body::empty(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.contains(r#""data":[{"id":"#), "id comes first: {}", &text[..200]);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["total"], 340);
    let rows = v["data"].as_array().unwrap();
    assert_eq!(rows.len(), 340, "page_size defaults to 1000");
    let billing_keys = [
        "id",
        "calldate",
        "clid",
        "src",
        "dnid",
        "dst",
        "dcontext",
        "channel",
        "dstchannel",
        "lastapp",
        "lastdata",
        "start",
        "answer",
        "end",
        "duration",
        "billsec",
        "disposition",
        "uniqueid",
        "linkedid",
        "billingid",
        "recording",
        "direction",
        "hangupsource",
    ];
    assert_eq!(keys(&rows[0]), sorted(&billing_keys));
    assert!(rows.windows(2).all(|w| w[0]["id"].as_u64() < w[1]["id"].as_u64()), "id asc by default");

    let page = sb.get(&tok, &format!("cdr/list?page=4&page_size=100&{window}")).await;
    assert_eq!((page["total"].as_u64(), page["data"].as_array().unwrap().len()), (Some(340), 40));
    // `ignorePage`: every page is page 1, `total` as before (here and in `GET cdr`).
    sb.settings(json!({"ignorePage": true})).await;
    let first = sb.get(&tok, &format!("cdr/list?page=1&page_size=100&{window}")).await;
    let fourth = sb.get(&tok, &format!("cdr/list?page=4&page_size=100&{window}")).await;
    assert_eq!((fourth["total"].as_u64(), fourth["data"].as_array().unwrap().len()), (Some(340), 100));
    assert_eq!(first["data"], fourth["data"]);
    let cdr1 = sb.get(&tok, "cdr?page=1&pageSize=50").await;
    let cdr3 = sb.get(&tok, "cdr?page=3&pageSize=50").await;
    assert_eq!(cdr1["data"], cdr3["data"]);
    sb.settings(json!({"ignorePage": false})).await;
    let page = sb.get(&tok, &format!("cdr/list?page=4&page_size=100&{window}")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 40);
    let desc = sb.get(&tok, &format!("cdr/list?{window}&sort_by=calldate&order=desc")).await;
    let d = desc["data"].as_array().unwrap();
    assert!(d.windows(2).all(|w| w[0]["calldate"].as_str() >= w[1]["calldate"].as_str()));
    let by_answer = sb.get(&tok, &format!("cdr/list?{window}&sort_by=answer")).await;
    let a = by_answer["data"].as_array().unwrap();
    assert!(a[0]["answer"].is_null(), "unanswered rows sort first");
    assert!(a.last().unwrap()["answer"].is_string());

    // start_time inclusive, end_time exclusive.
    let t = d[100]["calldate"].as_str().unwrap().to_string();
    let at = d.iter().filter(|r| r["calldate"] == t.as_str()).count() as u64;
    let before =
        sb.get(&tok, &format!("cdr/list?start_time={start}&end_time={t}")).await["total"].as_u64().unwrap();
    let after =
        sb.get(&tok, &format!("cdr/list?start_time={t}&end_time={end}")).await["total"].as_u64().unwrap();
    assert_eq!(before + after, 340);
    assert_eq!(sb.get(&tok, &format!("cdr/list?start_time={t}&end_time={t}")).await["total"], 0);
    assert!(after >= at);

    for q in [
        format!("cdr/list?end_time={end}"),
        format!("cdr/list?start_time={start}"),
        format!("cdr/list?start_time={start}&end_time=tomorrow"),
        format!("cdr/list?{window}&page_size=1001"),
        format!("cdr/list?{window}&page_size=0"),
        format!("cdr/list?{window}&page=-1"),
        format!("cdr/list?{window}&sort_by=duration"),
        format!("cdr/list?{window}&order=up"),
    ] {
        assert_code(&sb.get(&tok, &q).await, PbxCode::BadQuery, &q);
    }

    let (s, keys_v) = sb.call(Method::GET, "/sandbox/pbx/cdr/keys", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let k = keys_v.as_array().unwrap();
    assert_eq!(k.len(), 340);
    assert_eq!(keys(&k[0]), ["calldate", "id", "uniqueid"]);
    assert!(k.windows(2).all(|w| w[0]["calldate"].as_str() <= w[1]["calldate"].as_str()), "oldest first");
}

#[tokio::test]
async fn trunk_and_wait_status_page_and_validate() {
    let (sb, tok) = Sb::quiet().await;
    let v = sb.get(&tok, "status/trunk?page=1&pageSize=10").await;
    assert_eq!(v["total"], 2);
    let hwd = &v["data"][0];
    assert_eq!(keys(hwd), sorted(&["endpoint", "state", "channels", "serverIp", "serverPort"]));
    assert_eq!(
        (hwd["endpoint"].as_str(), hwd["state"].as_str(), hwd["channels"].as_str()),
        (Some("trunkHWD"), Some("Not in use"), Some("0 of inf"))
    );
    assert_eq!(v["data"][1]["state"], "Unavailable");
    let v = sb.get(&tok, "status/trunk?page=1&pageSize=10&trunk_name=Backup").await;
    assert_eq!((v["total"].as_u64(), v["data"][0]["endpoint"].as_str()), (Some(1), Some("trunkBackup")));
    let v = sb.get(&tok, "status/trunk?page=2&pageSize=1").await;
    assert_eq!((v["total"].as_u64(), v["data"][0]["endpoint"].as_str()), (Some(2), Some("trunkBackup")));
    sb.dial(&tok, "8001", "13800000000").await;
    assert_eq!(sb.get(&tok, "status/trunk?page=1&pageSize=1").await["data"][0]["state"], "In use");

    sb.logout_robots(&tok).await;
    for n in ["18300000001", "18300000002", "18300000003"] {
        sb.caller(n).await;
    }
    let v = sb.get(&tok, "status/wait?page=2&pageSize=2&queue_num=200").await;
    assert_eq!((v["total"].as_u64(), v["data"][0]["serialNo"].as_str()), (Some(3), Some("3")));
    assert_eq!(sb.get(&tok, "status/wait?page=1&pageSize=2&queue_num=300").await["total"], 0);
    for q in [
        "status/wait?page=1&pageSize=10",
        "status/wait?queue_num=200",
        "status/trunk",
        "status/trunk?page=1&pageSize=0",
    ] {
        assert_code(&sb.get(&tok, q).await, PbxCode::BadQuery, q);
    }
    for bad in [
        json!({"number": "abc"}),
        json!({"queue": "999"}),
        json!({"number": "8002"}),
        json!({"number": 5}),
        json!([]),
    ] {
        assert_eq!(sb.sandbox_post("callers", bad.clone()).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(sb.sandbox_post("callers", json!({"number": "18300000001"})).await.0, StatusCode::CONFLICT);
    let (s, v) = sb.sandbox_post("callers", json!({"queue": "300"})).await;
    assert_eq!((s, v["queue"].as_str()), (StatusCode::OK, Some("300")));
}

// ---------------------------------------------------------------- handset, TTS

#[tokio::test]
async fn handset_play_rings_the_phone_and_plays_a_known_recording() {
    let (sb, tok) = Sb::quiet().await;
    let rows = sb.cdr().await;
    let rec =
        rows.iter().find_map(|r| r["recording"].as_str().filter(|s| !s.is_empty())).unwrap().to_string();
    let file = format!("{SPOOL}{rec}");
    use PbxCode::{HandsetPlayFailed, HandsetPlayParams};
    for body in [
        json!({}),
        json!({"extension": "8001"}),
        json!({"filename": file}),
        json!({"extension": "8001", "filename": rec}),
        json!({"extension": "8001", "filename": SPOOL}),
        json!({"extension": "8001", "filename": format!("/tmp/{rec}")}),
    ] {
        sb.fails(&tok, "call/handsetPlay", body, HandsetPlayParams).await;
    }
    for body in [
        json!({"extension": "8001", "filename": format!("{SPOOL}monitor/nope.wav")}),
        json!({"extension": "8009", "filename": file}),
        json!({"extension": "8005", "filename": file}),
    ] {
        sb.fails(&tok, "call/handsetPlay", body, HandsetPlayFailed).await;
    }
    let before = sb.cdr().await.len();
    sb.ok(&tok, "call/handsetPlay", json!({"extension": "8001", "filename": file})).await;
    assert_eq!(sb.ds(&tok, "8001").await, "Ringing");
    sb.fails(&tok, "call/handsetPlay", json!({"extension": "8001", "filename": file}), HandsetPlayFailed)
        .await;
    sb.advance(2.0).await;
    assert_eq!(sb.ds(&tok, "8001").await, "In use");
    sb.advance(7.0).await;
    assert_eq!(sb.ds(&tok, "8001").await, "Not in use", "hung up after the recording");
    assert_eq!(sb.cdr().await.len(), before, "playback legs write no CDR");
    // Voicemail files can be played too.
    let v =
        sb.get(&tok, "voicemail?page=1&pageSize=1&start=2000-01-01 00:00:00&end=2100-01-01 00:00:00").await;
    let vm = v["data"][0]["recording"].as_str().unwrap();
    sb.ok(&tok, "call/handsetPlay", json!({"extension": "8002", "filename": format!("{SPOOL}{vm}")})).await;
}

#[tokio::test]
async fn handset_play_takes_the_seeds_example_body() {
    let (sb, tok) = Sb::quiet().await;
    // Seed 003's request example, verbatim: the sandbox has that recording.
    let seed = json!({
        "extension": "8001",
        "filename": "/var/spool/asterisk/monitor/20250723/20250723-095212-8001-8006-hwd-1753235532.67.wav"
    });
    sb.ok(&tok, "call/handsetPlay", seed).await;
    assert_eq!(sb.ds(&tok, "8001").await, "Ringing");
}

#[tokio::test]
async fn tts_returns_a_wav_whose_length_follows_the_text() {
    let (sb, tok) = Sb::quiet().await;
    let synth = |text: Value| {
        let sb = &sb;
        let tok = &tok;
        async move { sb.post(tok, "tts/synthesize", json!({ "text": text })).await }
    };
    let decode = |v: &Value| {
        assert_eq!(v["code"], "200", "{v}");
        assert_eq!(
            (v["data"]["format"].as_str(), v["data"]["vendor"].as_str()),
            (Some("wav"), Some("sandbox-tts"))
        );
        base64::engine::general_purpose::STANDARD.decode(v["data"]["audio"].as_str().unwrap()).unwrap()
    };
    let a = decode(&synth(json!("测试语音合成")).await);
    assert_eq!(wav_data_len(&a), 18 * 640, "18 UTF-8 bytes, 40 ms (320 samples) each");
    assert_eq!(a, decode(&synth(json!("测试语音合成")).await));
    let b = decode(&synth(json!("a")).await);
    assert_eq!(wav_data_len(&b), 640);
    assert_ne!(decode(&synth(json!("b")).await), b);
    assert_eq!(wav_data_len(&decode(&synth(json!("字".repeat(500))).await)), 1500 * 640);
    for bad in [json!("字".repeat(501)), json!(""), json!("   "), json!(5), Value::Null] {
        assert_code(&synth(bad.clone()).await, PbxCode::CallParams, &format!("{bad}"));
    }
    assert_code(&sb.post(&tok, "tts/synthesize", json!({})).await, PbxCode::CallParams, "{}");
}

// ---------------------------------------------------------------- knobs and robustness

#[tokio::test]
async fn settings_validate_and_fail_share_answers_503_first() {
    let sb = Sb::new();
    let (s, v) = sb.call(Method::GET, "/sandbox/pbx/settings", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        json!({
            "callerEveryMs": 8000, "maxWaiting": 6, "ringMs": 3000, "talkMs": 20000, "voicemailAfterMs": 60000,
            "autoCallers": true, "dropSocketsEveryMs": 0, "failShare": 0.0, "cdrEveryMs": 0,
            "hugeNumbers": false, "oddRow": false, "ignorePage": false,
            "bigReplyBytes": 0, "bigReplyChunked": false,
        })
    );
    for bad in [
        json!({"failShare": 2}),
        json!({"failShare": "x"}),
        json!({"callerEveryMs": 5}),
        json!({"autoCallers": "yes"}),
        json!({"ringMs": -1}),
        json!({"dropSocketsEveryMs": 50}),
        json!({"nope": 1}),
        json!({"hugeNumbers": 1}),
        json!({"oddRow": "yes"}),
        json!({"ignorePage": 1}),
        json!({"bigReplyBytes": 67_108_865}),
        json!({"bigReplyBytes": -1}),
        json!({"bigReplyChunked": 1}),
        json!([]),
    ] {
        let (s, v) = sb.call(Method::POST, "/sandbox/pbx/settings", None, Some(bad.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert!(v["error"].is_string());
    }
    let tok = sb.token().await;
    let v = sb.settings(json!({"failShare": 1.0, "autoCallers": false})).await;
    assert_eq!(
        (v["failShare"].as_f64(), v["autoCallers"].as_bool(), v["ringMs"].as_u64()),
        (Some(1.0), Some(false), Some(3000))
    );
    let uri = format!("{P}/api/v1/status/endpoint?page=1&pageSize=10");
    for token in [Some(tok.as_str()), None] {
        let (s, v) = sb.call(Method::GET, &uri, token, None).await;
        assert_eq!((s, v), (StatusCode::SERVICE_UNAVAILABLE, json!({"message": "Service Unavailable"})));
    }
    let (s, _) = sb
        .call(
            Method::POST,
            &format!("{P}/api/v1/call/dial"),
            Some(&tok),
            Some(json!({"extension": "8001", "dest": "8002"})),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sb.calls().await, Vec::<Value>::new(), "nothing was done");
    sb.token().await;
    sb.settings(json!({"failShare": 0.5})).await;
    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(sb.call(Method::GET, &uri, Some(&tok), None).await.0);
    }
    assert!(statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::SERVICE_UNAVAILABLE));
    sb.settings(json!({"failShare": 0})).await;
    assert_eq!(sb.call(Method::GET, &uri, Some(&tok), None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn garbage_never_breaks_a_route() {
    let (sb, tok) = Sb::quiet().await;
    let posts = [
        "call/dial",
        "call/hangup",
        "call/transfer",
        "call/cancelAtxfer",
        "call/hold",
        "call/unhold",
        "call/park",
        "call/unpark",
        "call/redirect",
        "call/pickup",
        "call/barge",
        "call/monitor",
        "call/whisper",
        "call/handsetPlay",
        "agent/login",
        "agent/logout",
        "agent/pause",
        "tts/synthesize",
    ];
    let bodies = [
        "",
        "null",
        "[]",
        "\"x\"",
        "{\"extension\":{},\"dest\":[],\"type\":null}",
        "{\"extension\":\"\u{0}\",\"dest\":\"8002\",\"paused\":1e300,\"penalty\":18446744073709551616}",
        "{\"extension\":\"8001\",\"dest\":\"8002\",\"queue\":\"200\",\"agentid\":\"1011\",\"paused\":-9223372036854775808}",
        "{",
    ];
    for path in posts {
        for body in bodies {
            let (s, bytes, _) =
                sb.raw(Method::POST, &format!("{P}/api/v1/{path}"), Some(&tok), Body::from(body)).await;
            assert_eq!(s, StatusCode::OK, "{path} {body}");
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            assert!(v["code"].is_string() && v["msg"].is_string(), "{path} {body}: {v}");
        }
    }
    for q in [
        "status/endpoint?page=%FF&pageSize=10",
        "status/wait?page=1&pageSize=1&queue_num=%00",
        "cdr/list?start_time=%FF%FE&end_time=x",
        "cdr?page=1&pageSize=10&src=%E4",
        "agent/getAgentStatus?queue=%FF",
        "call/parkList?extension=%FF",
    ] {
        let (s, bytes, _) = sb.raw(Method::GET, &format!("{P}/api/v1/{q}"), Some(&tok), Body::empty()).await;
        assert_eq!(s, StatusCode::OK, "{q}");
        assert!(serde_json::from_slice::<Value>(&bytes).unwrap()["code"].is_string());
    }
    let (s, bytes, _) =
        sb.raw(Method::PUT, &format!("{P}/api/v1/voicemail/%FF"), Some(&tok), Body::from("{}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_code(&serde_json::from_slice(&bytes).unwrap(), PbxCode::VoicemailParams, "%FF");
    for path in ["callers", "ring", "cdr/bulk", "settings"] {
        for body in ["null", "{", "{\"count\":-1,\"from\":{},\"number\":[]}"] {
            let (s, _, _) =
                sb.raw(Method::POST, &format!("/sandbox/pbx/{path}"), None, Body::from(body)).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{path} {body}");
        }
    }
    // A huge clock jump is cheap and leaves a consistent state.
    sb.settings(json!({"autoCallers": true})).await;
    sb.advance(100.0 * 365.0 * 86_400.0).await;
    let tok = sb.token().await;
    assert_eq!(sb.get(&tok, "status/endpoint?page=1&pageSize=10").await["total"], 5);
    assert!(sb.wait(&tok).await["total"].as_u64().unwrap() <= 6, "maxWaiting holds");
}

// ---------------------------------------------------------------- billing websocket

/// Serves `sb` on a random local port; returns `host:port`.
async fn serve(sb: &Sb) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = sb.app.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame as JSON, within `secs`.
async fn next_frame(ws: &mut Ws, secs: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.expect("a frame in time");
        match msg.expect("socket open").expect("no socket error") {
            tokio_tungstenite::tungstenite::Message::Text(t) => {
                return serde_json::from_str(t.as_str()).unwrap()
            }
            _ => continue,
        }
    }
}

fn http_status(e: tokio_tungstenite::tungstenite::Error) -> u16 {
    match e {
        tokio_tungstenite::tungstenite::Error::Http(resp) => resp.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test]
async fn the_billing_socket_refuses_bad_tokens_and_pushes_new_rows() {
    let (sb, tok) = Sb::quiet().await;
    let addr = serve(&sb).await;
    for url in [
        format!("ws://{addr}/push/?user_id=billing&token=nope"),
        format!("ws://{addr}/push/?user_id=other&token={tok}"),
        format!("ws://{addr}/push/?token={tok}"),
    ] {
        let err = tokio_tungstenite::connect_async(url.as_str()).await.expect_err("refused");
        assert_eq!(http_status(err), 401, "{url}");
    }
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/push/?user_id=billing&token={tok}"))
            .await
            .expect("connects");
    // Let the socket register before the row is written.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let id = sb.dial(&tok, "8001", "8002").await;
    sb.advance(3.0).await;
    sb.ok(&tok, "call/hangup", json!({"extension": "8001"})).await;
    let row = sb.last_cdr().await;
    let frame = next_frame(&mut ws, 3).await;
    assert_eq!(frame["type"], "billing");
    let data = frame["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{frame}");
    assert_eq!((data[0]["id"].clone(), data[0]["uniqueid"].as_str()), (row["id"].clone(), Some(id.as_str())));
    assert_eq!(
        (data[0]["duration"].clone(), data[0]["hangupsource"].clone()),
        (row["duration"].clone(), row["hangupsource"].clone())
    );
    assert_eq!(keys(&data[0]).len(), 23);
    // The path without the slash works too; the plain HTTP GET is not an upgrade.
    assert!(tokio_tungstenite::connect_async(format!("ws://{addr}/push?user_id=billing&token={tok}"))
        .await
        .is_ok());
    let (s, _, _) =
        sb.raw(Method::GET, &format!("/push/?user_id=billing&token={tok}"), None, Body::empty()).await;
    assert!(s.is_client_error(), "{s}");
    assert!(!sb.pbx().await["push"]["sockets"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn huge_numbers_reach_both_cdr_lists_and_the_push_exactly() {
    const TWO_53: u64 = 1 << 53;
    let (sb, tok) = Sb::quiet().await;
    let addr = serve(&sb).await;
    let url = format!("ws://{addr}/push/?user_id=billing&token={tok}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sb.settings(json!({"hugeNumbers": true})).await["hugeNumbers"], true);
    let uniqueid = sb.dial(&tok, "8001", "8002").await;
    sb.advance(3.0).await;
    sb.ok(&tok, "call/hangup", json!({"extension": "8001"})).await;
    let row = sb.last_cdr().await;
    let id = row["id"].as_u64().expect("a whole id");
    let duration = row["duration"].as_u64().expect("a whole duration");
    assert!(id > TWO_53 && duration > TWO_53 && duration - TWO_53 < 60, "{row}");
    assert_eq!(row["uniqueid"], uniqueid.as_str());
    // The push: the same digits (serde_json reads them exactly).
    let frame = next_frame(&mut ws, 3).await;
    let pushed = &frame["data"][0];
    assert_eq!((pushed["id"].as_u64(), pushed["duration"].as_u64()), (Some(id), Some(duration)), "{frame}");
    // cdr/list and GET cdr.
    let now = sb.now_ms().await;
    let q = format!(
        "cdr/list?start_time={}&end_time={}&sort_by=id&order=desc",
        format_cst(now - 3_600_000),
        format_cst(now + 60_000)
    );
    let list = sb.get(&tok, &q).await;
    let listed = &list["data"][0];
    assert_eq!((listed["id"].as_u64(), listed["duration"].as_u64()), (Some(id), Some(duration)), "{list}");
    let page = sb.get(&tok, "cdr?page=1&pageSize=1").await;
    assert_eq!(
        (page["data"][0]["id"].as_u64(), page["data"][0]["duration"].as_u64()),
        (Some(id), Some(duration))
    );
    // Off again: small numbers, and every id still unique.
    sb.settings(json!({"hugeNumbers": false})).await;
    sb.dial(&tok, "8001", "8002").await;
    sb.advance(3.0).await;
    sb.ok(&tok, "call/hangup", json!({"extension": "8001"})).await;
    let small = sb.last_cdr().await;
    assert!(small["id"].as_u64().unwrap() < TWO_53 && small["duration"].as_u64().unwrap() < 60, "{small}");
    let ids: Vec<u64> = sb.cdr().await.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    let unique: std::collections::BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len());
}

#[tokio::test]
async fn synthetic_rows_are_pushed_and_the_drop_knob_closes_sockets() {
    let (sb, tok) = Sb::quiet().await;
    let addr = serve(&sb).await;
    let url = format!("ws://{addr}/push/?user_id=billing&token={tok}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    sb.settings(json!({"cdrEveryMs": 200})).await;
    sb.advance(1.0).await;
    let frame = next_frame(&mut ws, 2).await;
    let rows = frame["data"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["direction"] == "inter" && r["disposition"] == "ANSWERED"), "{frame}");
    let first_id = rows[0]["id"].as_u64().unwrap();
    assert!(sb.cdr().await.iter().any(|r| r["id"] == first_id));

    sb.settings(json!({"cdrEveryMs": 0, "dropSocketsEveryMs": 100})).await;
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the socket was dropped");
    assert!(sb.pbx().await["push"]["dropped"].as_u64().unwrap() >= 1);
}

/// Kills the child process it holds (started by the test itself) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_the_push_port() {
    use std::io::BufRead;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let push_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_sandbox"))
            .args(["--port", "0", "--push-port", &push_port.to_string(), "--pbx-no-callers"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("sandbox listening on http://").unwrap().to_string();
    let body = json!({
        "grant_type": "password", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
        "username": DEMO_USERNAME, "password": DEMO_PASSWORD, "scope": "*",
    })
    .to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "POST {P}/oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).await.unwrap();
    let json_start = reply.find('{').unwrap();
    let tok: Value = serde_json::from_str(&reply[json_start..]).unwrap();
    let tok = tok["access_token"].as_str().unwrap();
    let url = format!("ws://127.0.0.1:{push_port}/?user_id=billing&token={tok}");
    assert!(tokio_tungstenite::connect_async(url.as_str()).await.is_ok(), "push port accepts the token");
    let bad = format!("ws://127.0.0.1:{push_port}/?user_id=billing&token=x");
    assert_eq!(http_status(tokio_tungstenite::connect_async(bad.as_str()).await.err().unwrap()), 401);
}

/// `--pbx-queues 610,620`: a site whose queues are not the seed's 200 and 300. Every
/// route uses the PBX's own numbers (agents, status, callers, app transfers), and 200
/// is unknown there.
#[tokio::test]
async fn queue_numbers_come_from_the_command_line() {
    use clap::Parser;
    let parsed = Settings::try_parse_from(["sandbox", "--pbx-queues", "610,620"]).unwrap();
    assert_eq!(parsed.pbx_queues, ["610", "620"]);
    assert_eq!(
        Settings::try_parse_from(["sandbox"]).unwrap().pbx_queues,
        ["200", "300"],
        "the seed's by default"
    );
    assert!(Settings::try_parse_from(["sandbox", "--pbx-queues", "610,,620"]).is_err());
    assert!(Settings::try_parse_from(["sandbox", "--pbx-queues", "6 10"]).is_err());

    let sb = Sb::with(parsed);
    sb.settings(json!({"autoCallers": false})).await;
    let tok = sb.token().await;
    let all = sb.get(&tok, "agent/getAgentStatus").await;
    let queues: Vec<&String> = all["data"].as_object().unwrap().keys().collect();
    assert_eq!(queues, ["610", "620"], "getAgentStatus is keyed by the PBX's queues: {all}");
    assert_eq!(all["data"]["610"]["8002"]["status"], "0", "the robots are ready in the first queue");
    assert_eq!(sb.get(&tok, "status/queue?queue_num=620").await["data"].as_array().unwrap().len(), 2);
    assert_eq!(sb.get(&tok, "status/queue?queue_num=200").await["data"], json!([]));
    sb.fails(
        &tok,
        "agent/login",
        json!({"agentid": "1011", "extension": "8001", "queue": "200"}),
        PbxCode::AgentLoginFailed,
    )
    .await;
    sb.ok(&tok, "agent/login", json!({"agentid": "1011", "extension": "8001", "queue": "620", "paused": 4}))
        .await;
    assert_eq!(sb.agent(&tok, "620", "8001").await["status"], "4", "signed in already paused");

    // Callers arrive in the first queue; the robots answer them there.
    let c = sb.caller("18300000009").await;
    assert_eq!(c["queue"], "610");
    assert_eq!(sb.get(&tok, "status/wait?page=1&pageSize=10&queue_num=610").await["total"], 1);
    assert_eq!(sb.get(&tok, "status/wait?page=1&pageSize=10&queue_num=200").await["total"], 0);
    sb.advance(4.0).await;
    let answered = sb.calls().await;
    assert!(answered.iter().any(|c| c.to_string().contains("18300000009")), "offered in 610: {answered:?}");

    // An app transfer into a queue takes the PBX's numbers only.
    sb.ring("18300000001", "8001").await;
    sb.ok(&tok, "call/pickup", json!({"extension": "8001", "dest": "8001"})).await;
    sb.advance(1.0).await;
    sb.fails(
        &tok,
        "call/transfer",
        json!({"type": "app", "extension": "8001", "dest": "ext-queues,200,1"}),
        PbxCode::TransferFailed,
    )
    .await;
    sb.ok(&tok, "call/transfer", json!({"type": "app", "extension": "8001", "dest": "ext-queues,620,1"}))
        .await;
    let w = sb.get(&tok, "status/wait?page=1&pageSize=10&queue_num=620").await;
    assert_eq!(w["data"][0]["callerid"], "18300000001", "{w}");
    sb.ok(&tok, "agent/logout", json!({"extension": "8001", "queue": "all"})).await;
}

/// `agent/pause` without `reason` stores none (the seed makes it optional); a reason
/// given is kept as sent.
#[tokio::test]
async fn a_pause_keeps_the_reason_as_sent() {
    let (sb, tok) = Sb::quiet().await;
    let reason = |pbx: Value| {
        pbx["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["extension"] == "8001" && m["queue"] == "200")
            .map(|m| m["reason"].clone())
            .unwrap()
    };
    sb.ok(&tok, "agent/login", json!({"agentid": "1011", "extension": "8001", "queue": "200"})).await;
    sb.ok(&tok, "agent/pause", json!({"extension": "8001", "paused": 4, "queue": "200", "reason": "午饭"}))
        .await;
    assert_eq!(reason(sb.pbx().await), "午饭");
    sb.ok(&tok, "agent/pause", json!({"extension": "8001", "paused": 5, "queue": "200"})).await;
    assert_eq!(reason(sb.pbx().await), "");
    assert_eq!(sb.agent(&tok, "200", "8001").await["status"], "5");
}

/// `POST /sandbox/pbx/voicemail` leaves a message in any extension's mailbox; the
/// `voicemail` list holds every mailbox's messages, as a real PBX's does.
#[tokio::test]
async fn voicemail_of_every_mailbox_is_listed() {
    let (sb, tok) = Sb::quiet().await;
    let window = "start=2000-01-01 00:00:00&end=2100-01-01 00:00:00";
    let (s, m) = sb.sandbox_post("voicemail", json!({"mailbox": "8002", "callerid": "13900000007"})).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(
        (m["dst"].as_str(), m["callerid"].as_str(), m["is_read"].as_str()),
        (Some("8002"), Some("13900000007"), Some("no"))
    );
    let rec = m["recording"].as_str().unwrap();
    assert!(rec.starts_with("voicemail/") && rec.contains("-13900000007-8002-"), "{rec}");
    let v = sb.get(&tok, &format!("voicemail?page=1&pageSize=100&{window}")).await;
    assert_eq!(v["total"], 6);
    let mut boxes: Vec<&str> =
        v["data"].as_array().unwrap().iter().filter_map(|r| r["dst"].as_str()).collect();
    boxes.sort_unstable();
    boxes.dedup();
    assert_eq!(boxes, ["8001", "8002"]);
    let (s, _, _) = sb.raw(Method::GET, &format!("/{rec}"), None, Body::empty()).await;
    assert_eq!(s, StatusCode::OK, "its recording is served");
    sb.ok(&tok, "call/handsetPlay", json!({"extension": "8003", "filename": format!("{SPOOL}{rec}")})).await;
    for bad in [
        json!({}),
        json!({"mailbox": "9999"}),
        json!({"mailbox": "8002", "secs": 0}),
        json!({"mailbox": "8002", "callerid": "x"}),
    ] {
        let (s, v) = sb.sandbox_post("voicemail", bad.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
}

// ---------------------------------------------------------------- issue 11, points 5 and 6

/// The `oddRow` knob: every list keeps its rows and total, and its last row lacks the
/// field a client cannot do without (or sends a word for a count, for agent rows).
#[tokio::test]
async fn the_odd_row_knob_spoils_one_row_of_every_list() {
    let (sb, tok) = Sb::quiet().await;
    // Something in each list: waiting callers (nobody ready to take them), a parked call.
    sb.logout_robots(&tok).await;
    sb.caller("13800000001").await;
    sb.caller("13800000002").await;
    sb.dial(&tok, "8004", "13900000002").await;
    sb.advance(3.0).await;
    sb.ok(&tok, "call/park", json!({"extension": "8004"})).await;
    let lists = [
        ("status/endpoint?page=1&pageSize=50", "state"),
        ("status/trunk?page=1&pageSize=50", "state"),
        ("status/wait?page=1&pageSize=50&queue_num=200", "callerid"),
        ("call/parkList", "parkingSpace"),
        ("voicemail?page=1&pageSize=50&start=2000-01-01 00:00:00&end=2100-01-01 00:00:00", "id"),
        ("cdr?page=1&pageSize=50", "uniqueid"),
        (
            "cdr/list?page=1&page_size=50&start_time=2000-01-01 00:00:00&end_time=2100-01-01 00:00:00",
            "uniqueid",
        ),
    ];
    let mut before = Vec::new();
    for (path, key) in lists {
        let v = sb.get(&tok, path).await;
        let rows = v["data"].as_array().cloned().unwrap_or_default();
        assert!(!rows.is_empty(), "{path}: {v}");
        assert!(
            rows.iter().all(|r| r.get(key).is_some()),
            "{path}: every row has {key} while the knob is off"
        );
        before.push((rows.len(), v["total"].clone()));
    }
    let v = sb.settings(json!({"oddRow": true})).await;
    assert_eq!(v["oddRow"], true);
    for ((path, key), (len, total)) in lists.iter().zip(before) {
        let v = sb.get(&tok, path).await;
        let rows = v["data"].as_array().cloned().unwrap_or_default();
        assert_eq!((rows.len(), &v["total"]), (len, &total), "{path}: same rows, same total");
        assert!(rows.last().unwrap().get(*key).is_none(), "{path}: the last row lacks {key}");
        assert!(rows[..len - 1].iter().all(|r| r.get(*key).is_some()), "{path}: the others keep it");
    }
    // Agent rows have no required field: one sends a word for its penalty.
    let q = sb.get(&tok, "status/queue?queue_num=200").await;
    let rows = q["data"].as_array().unwrap();
    assert_eq!(rows.last().unwrap()["penalty"], "n/a", "{q}");
    assert!(rows[..rows.len() - 1].iter().all(|r| r["penalty"] != "n/a"));
    let a = sb.get(&tok, "agent/getAgentStatus").await;
    let odd: Vec<&Value> = a["data"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|q| q.as_object().unwrap().values())
        .filter(|r| r["penalty"] == "n/a")
        .collect();
    assert_eq!(odd.len(), 1, "{a}");
    // Off again: every row whole.
    sb.settings(json!({"oddRow": false})).await;
    let v = sb.get(&tok, "call/parkList").await;
    assert!(v["data"][0]["parkingSpace"].is_string(), "{v}");
}

/// `--pbx-extension alice`: a named PJSIP endpoint, as real sites have, that can be
/// dialled, dial out, be monitored and sign in to a queue.
#[tokio::test]
async fn a_named_extension_is_an_extension() {
    let sb = Sb::with(Settings { pbx_extensions: vec!["alice".into()], ..Settings::default() });
    sb.settings(json!({"autoCallers": false})).await;
    let tok = sb.token().await;
    let v = sb.get(&tok, "status/endpoint?page=1&pageSize=50&endpoint=alice").await;
    assert_eq!(
        (v["data"][0]["endpoint"].as_str(), v["data"][0]["state"].as_str()),
        (Some("alice"), Some("Not in use"))
    );
    // The default demo is unchanged.
    let plain = Sb::new();
    let ptok = plain.token().await;
    assert_eq!(plain.get(&ptok, "status/endpoint?page=1&pageSize=50").await["total"], 5);
    assert_eq!(sb.get(&tok, "status/endpoint?page=1&pageSize=50").await["total"], 6);
    // Dialled by name, and dialling out.
    sb.dial(&tok, "8001", "alice").await;
    assert_eq!(sb.ds(&tok, "alice").await, "Ringing");
    sb.advance(3.0).await;
    assert_eq!(sb.ds(&tok, "alice").await, "In use");
    sb.ok(&tok, "call/monitor", json!({"extension": "8003", "dest": "alice"})).await;
    sb.ok(&tok, "call/hangup", json!({"extension": "alice"})).await;
    sb.ok(&tok, "agent/login", json!({"agentid": "1014", "extension": "alice", "queue": "200"})).await;
    assert_eq!(sb.agent(&tok, "200", "alice").await["agentid"], "1014");
    // Names that are not extensions, or that would change a dial string, are refused.
    sb.fails(&tok, "call/dial", json!({"extension": "8001", "dest": "bob"}), PbxCode::CallParams).await;
    assert!(agent_console_sandbox::pbx::parse_extension_name("a&b").is_err());
    assert!(agent_console_sandbox::pbx::parse_extension_name("8009").is_err());
    assert_eq!(agent_console_sandbox::pbx::parse_extension_name(" reception.1 ").unwrap(), "reception.1");
}

/// The `bigReplyBytes` knob: `status/trunk` and `tts/synthesize` replies are padded with
/// JSON whitespace to the size asked (still valid), declaring it or, with
/// `bigReplyChunked`, streamed without a length; other routes are untouched.
#[tokio::test]
async fn big_reply_pads_two_routes_declared_or_streamed() {
    let (sb, tok) = Sb::quiet().await;
    let get = |uri: &str, tok: &str| {
        Request::builder()
            .method(Method::GET)
            .uri(format!("{P}/api/v1/{uri}"))
            .header(header::AUTHORIZATION, format!("Bearer {tok}"))
            .body(Body::empty())
            .unwrap()
    };
    let plain = sb.app.clone().oneshot(get("status/trunk?page=1&pageSize=20", &tok)).await.unwrap();
    let plain = plain.into_body().collect().await.unwrap().to_bytes().len();
    for chunked in [false, true] {
        sb.settings(json!({"bigReplyBytes": 300_000, "bigReplyChunked": chunked})).await;
        let resp = sb.app.clone().oneshot(get("status/trunk?page=1&pageSize=20", &tok)).await.unwrap();
        let declared = resp.headers().get(header::CONTENT_LENGTH).map(|v| v.to_str().unwrap().to_string());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 300_000, "chunked {chunked}");
        assert_eq!(declared, (!chunked).then(|| "300000".to_string()), "chunked {chunked}");
        let v: Value = serde_json::from_slice(&bytes).expect("still JSON");
        assert_eq!(v["code"], "200", "{v}");
        let (s, v) = sb
            .call(Method::POST, &format!("{P}/api/v1/tts/synthesize"), Some(&tok), Some(json!({"text": "x"})))
            .await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::OK, Some("200")));
        // Another route is not padded.
        let (_, bytes, _) = sb
            .raw(Method::GET, &format!("{P}/api/v1/status/queue?queue=200"), Some(&tok), Body::empty())
            .await;
        assert!(bytes.len() < 100_000, "status/queue: {} bytes", bytes.len());
    }
    sb.settings(json!({"bigReplyBytes": 0})).await;
    let resp = sb.app.clone().oneshot(get("status/trunk?page=1&pageSize=20", &tok)).await.unwrap();
    assert_eq!(resp.into_body().collect().await.unwrap().to_bytes().len(), plain, "off again");
}
