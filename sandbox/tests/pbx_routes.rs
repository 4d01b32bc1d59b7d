//! The PBX routes driven in-process through `app(settings)` with `oneshot`.

use agent_console_sandbox::{
    app, Settings, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_USERNAME,
};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const P: &str = "/dscom-api/public";

/// The CDR keys, in the seed's order (example row plus the table-only fields).
const CDR_KEYS: [&str; 49] = [
    "id",
    "calldate",
    "clid",
    "src",
    "dnid",
    "dst",
    "dept_exten",
    "sipcallid",
    "dcontext",
    "channel",
    "dstchannel",
    "callerip",
    "calledip",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "accountcode",
    "peeraccount",
    "uniqueid",
    "linkedid",
    "userfield",
    "ivrdigit",
    "ivrflow",
    "sequence",
    "billingid",
    "area_code",
    "city",
    "succ",
    "billed",
    "bill",
    "musictype",
    "service_level",
    "agentid",
    "caller_recording",
    "callee_recording",
    "recording",
    "direction",
    "option",
    "numcalls",
    "loadavg",
    "hangupsource",
    "hangupcause",
    "create_time",
];

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

    async fn raw(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let resp = self.app.clone().oneshot(req.body(body.into()).unwrap()).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec())
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (ct, body) = match body {
            Some(v) => (Some("application/json"), Body::from(v.to_string())),
            None => (None, Body::empty()),
        };
        let (status, bytes) = self.raw(method, uri, token, ct, body).await;
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
        (status, v)
    }

    async fn oauth(&self, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, &format!("{P}/oauth/token"), None, Some(body)).await
    }

    async fn login(&self) -> Value {
        let (s, v) = self.oauth(password_grant()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    async fn token(&self) -> String {
        self.login().await["access_token"].as_str().unwrap().to_string()
    }

    /// POST under /api/v1, expecting HTTP 200 (the envelope carries the outcome).
    async fn post(&self, tok: &str, path: &str, body: Value) -> Value {
        let (s, v) = self.call(Method::POST, &format!("{P}/api/v1/{path}"), Some(tok), Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    async fn get(&self, tok: &str, path_query: &str) -> Value {
        let (s, v) = self.call(Method::GET, &format!("{P}/api/v1/{path_query}"), Some(tok), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
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

    async fn state(&self) -> Value {
        self.call(Method::GET, "/sandbox/state", None, None).await.1
    }

    /// Stops the simulated queue callers (docs/pbx-desk.md: they arrive every 8 s), for
    /// tests that move the clock and count calls.
    async fn quiet(&self) {
        let (s, v) =
            self.call(Method::POST, "/sandbox/pbx/settings", None, Some(json!({"autoCallers": false}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    /// The CDR rows in the state dump (the sandbox starts with 40 historic rows).
    async fn cdr(&self) -> Vec<Value> {
        self.state().await["pbx"]["cdr"].as_array().cloned().unwrap_or_default()
    }

    async fn endpoint_state(&self, tok: &str, ext: &str) -> (String, String) {
        let v = self.get(tok, &format!("status/endpoint?page=1&pageSize=10&endpoint={ext}")).await;
        let row = &v["data"][0];
        (row["state"].as_str().unwrap().to_string(), row["channels"].as_str().unwrap().to_string())
    }
}

fn password_grant() -> Value {
    json!({
        "grant_type": "password",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "scope": "*",
    })
}

fn assert_code(v: &Value, code: &str, msg_prefix: &str) {
    assert_eq!(v["code"], code, "{v}");
    assert!(v["msg"].as_str().unwrap().starts_with(msg_prefix), "msg of {v} should start with {msg_prefix}");
    assert_eq!(v["data"], json!([]), "{v}");
    assert_eq!(v["total"], 0, "{v}");
}

fn is_uniqueid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("hwd-") else {
        return false;
    };
    let Some((secs, n)) = rest.split_once('.') else {
        return false;
    };
    let digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    digits(secs) && digits(n)
}

// ---------------------------------------------------------------- OAuth

#[tokio::test]
async fn password_grant_issues_bearer_pair() {
    let sb = Sb::new();
    let v = sb.login().await;
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 1800);
    let access = v["access_token"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 3, "JWT-like: {access}");
    assert!(access.starts_with("eyJ"));
    assert!(v["refresh_token"].as_str().unwrap().starts_with("def50200"));
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys.len(), 4);

    // client_id as a string, as in the seed's first example, and form-encoded.
    let mut body = password_grant();
    body["client_id"] = json!("4");
    assert_eq!(sb.oauth(body).await.0, StatusCode::OK);
    let form = format!(
        "grant_type=password&client_id=4&client_secret={DEMO_CLIENT_SECRET}\
         &username={DEMO_USERNAME}&password={DEMO_PASSWORD}&scope=*"
    );
    let (s, _) = sb
        .raw(Method::POST, &format!("{P}/oauth/token"), None, Some("application/x-www-form-urlencoded"), form)
        .await;
    assert_eq!(s, StatusCode::OK);

    // Each login gets its own token, and it works on the API.
    let a = sb.token().await;
    let b = sb.token().await;
    assert_ne!(a, b);
    assert_eq!(sb.get(&b, "status/endpoint?page=1&pageSize=1").await["code"], "200");
}

#[tokio::test]
async fn wrong_client_is_401_invalid_client() {
    let sb = Sb::new();
    let expected = json!({
        "error": "invalid_client",
        "error_description": "Client authentication failed",
        "message": "Client authentication failed",
    });
    let mut body = password_grant();
    body["client_secret"] = json!("nope");
    assert_eq!(sb.oauth(body).await, (StatusCode::UNAUTHORIZED, expected.clone()));
    let mut body = password_grant();
    body["client_id"] = json!(5);
    assert_eq!(sb.oauth(body).await, (StatusCode::UNAUTHORIZED, expected.clone()));
    let mut body = password_grant();
    body["client_id"] = json!(true);
    assert_eq!(sb.oauth(body).await, (StatusCode::UNAUTHORIZED, expected));
    // A missing client_id is a malformed request instead.
    let mut body = password_grant();
    body.as_object_mut().unwrap().remove("client_id");
    let (s, v) = sb.oauth(body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], "invalid_request");
}

#[tokio::test]
async fn wrong_password_is_400_invalid_grant() {
    let sb = Sb::new();
    let mut body = password_grant();
    body["password"] = json!("654321");
    let (s, v) = sb.oauth(body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({
            "error": "invalid_grant",
            "error_description": "The user credentials were incorrect.",
            "message": "The user credentials were incorrect.",
        })
    );
    let mut body = password_grant();
    body["username"] = json!("user1");
    assert_eq!(sb.oauth(body).await.1["error"], "invalid_grant");
}

#[tokio::test]
async fn the_account_knob_changes_the_password_and_locks_after_refusals() {
    let sb = Sb::new();
    let knob = |body: Value| {
        let sb = &sb;
        async move { sb.call(Method::POST, "/sandbox/pbx/account", None, Some(body)).await }
    };
    let (s, v) = knob(json!({"password": "n3w", "lockoutAfter": 3})).await;
    assert_eq!((s, &v["lockoutAfter"]), (StatusCode::OK, &json!(3)), "{v}");
    // The old password is refused now; the new one works.
    assert_eq!(sb.oauth(password_grant()).await.0, StatusCode::BAD_REQUEST);
    let mut good = password_grant();
    good["password"] = json!("n3w");
    assert_eq!(sb.oauth(good.clone()).await.0, StatusCode::OK);
    // Three refusals in a row lock the account: even the right password is refused.
    for _ in 0..3 {
        assert_eq!(sb.oauth(password_grant()).await.0, StatusCode::BAD_REQUEST);
    }
    assert_eq!(sb.oauth(good.clone()).await.0, StatusCode::BAD_REQUEST);
    let v = sb.call(Method::GET, "/sandbox/pbx/account", None, None).await.1;
    assert_eq!((&v["locked"], &v["passwordGrants"]), (&json!(true), &json!(6)), "{v}");
    // A bad key changes nothing; unlock lets the right password in again.
    assert_eq!(knob(json!({"unlock": true, "lockoutAfter": "x"})).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(knob(json!({"unlock": true})).await.0, StatusCode::OK);
    assert_eq!(sb.oauth(good).await.0, StatusCode::OK);
}

#[tokio::test]
async fn refresh_grant_rotates_the_refresh_token() {
    let sb = Sb::new();
    let first = sb.login().await;
    let refresh = |rt: &Value| {
        json!({
            "grant_type": "refresh_token",
            "refresh_token": rt,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "scope": "",
        })
    };
    let (s, second) = sb.oauth(refresh(&first["refresh_token"])).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    assert_ne!(second["access_token"], first["access_token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let new_access = second["access_token"].as_str().unwrap();
    assert_eq!(sb.get(new_access, "status/endpoint?page=1&pageSize=1").await["code"], "200");
    // The old access token stays valid until its own expiry.
    let old_access = first["access_token"].as_str().unwrap();
    assert_eq!(sb.get(old_access, "status/endpoint?page=1&pageSize=1").await["code"], "200");

    let invalid = json!({
        "error": "invalid_request",
        "error_description": "The refresh token is invalid.",
        "message": "The refresh token is invalid.",
    });
    // Used once: rejected the second time.
    assert_eq!(sb.oauth(refresh(&first["refresh_token"])).await, (StatusCode::UNAUTHORIZED, invalid.clone()));
    assert_eq!(sb.oauth(refresh(&json!("def50200garbage"))).await, (StatusCode::UNAUTHORIZED, invalid));
    // The rotated one works.
    assert_eq!(sb.oauth(refresh(&second["refresh_token"])).await.0, StatusCode::OK);
}

#[tokio::test]
async fn no_refresh_token_mode_issues_empty_string() {
    let sb = Sb::with(Settings { no_refresh_token: true, ..Settings::default() });
    let v = sb.login().await;
    assert_eq!(v["refresh_token"], "");
    let (s, v) = sb
        .oauth(json!({
            "grant_type": "refresh_token",
            "refresh_token": "",
            "client_id": 4,
            "client_secret": DEMO_CLIENT_SECRET,
            "scope": "",
        }))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error_description"], "The refresh token is invalid.");
}

#[tokio::test]
async fn bad_token_requests_are_400() {
    let sb = Sb::new();
    let mut body = password_grant();
    body["grant_type"] = json!("client_credentials");
    let (s, v) = sb.oauth(body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], "unsupported_grant_type");
    assert!(v["message"].is_string());

    for bad in ["not json", "[1,2]", ""] {
        let (s, bytes) =
            sb.raw(Method::POST, &format!("{P}/oauth/token"), None, Some("application/json"), bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["error"], "invalid_request");
    }
}

#[tokio::test]
async fn access_token_expires_after_ttl() {
    let sb = Sb::with(Settings { token_ttl: 60, ..Settings::default() });
    let v = sb.login().await;
    assert_eq!(v["expires_in"], 60);
    let tok = v["access_token"].as_str().unwrap().to_string();
    let uri = format!("{P}/api/v1/status/endpoint?page=1&pageSize=1");
    sb.advance(59.0).await;
    assert_eq!(sb.call(Method::GET, &uri, Some(&tok), None).await.0, StatusCode::OK);
    sb.advance(2.0).await;
    assert_eq!(
        sb.call(Method::GET, &uri, Some(&tok), None).await,
        (StatusCode::UNAUTHORIZED, json!({"message": "Unauthenticated."}))
    );
    // A fresh login works again.
    let tok = sb.token().await;
    assert_eq!(sb.call(Method::GET, &uri, Some(&tok), None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn missing_or_garbage_bearer_is_401() {
    let sb = Sb::new();
    let unauth = (StatusCode::UNAUTHORIZED, json!({"message": "Unauthenticated."}));
    let uri = format!("{P}/api/v1/status/endpoint?page=1&pageSize=1");
    assert_eq!(sb.call(Method::GET, &uri, None, None).await, unauth);
    assert_eq!(sb.call(Method::GET, &uri, Some("garbage"), None).await, unauth);
    let dial = format!("{P}/api/v1/call/dial");
    let body = json!({"extension": "8001", "dest": "8002"});
    assert_eq!(sb.call(Method::POST, &dial, None, Some(body)).await, unauth);
    // Wrong scheme.
    let req = Request::get(&uri)
        .header(header::AUTHORIZATION, "Basic YXBpOjEyMzQ1Ng==")
        .body(Body::empty())
        .unwrap();
    let resp = sb.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------- calls

#[tokio::test]
async fn dial_returns_uniqueid() {
    let sb = Sb::new();
    let tok = sb.token().await;
    let v =
        sb.post(&tok, "call/dial", json!({"extension": "8001", "dest": "8002", "displaycid": "8001"})).await;
    assert_eq!(v["code"], "200");
    assert_eq!(v["msg"], "成功");
    assert_eq!(v["total"], 0);
    let id = v["data"]["uniqueid"].as_str().unwrap();
    assert!(is_uniqueid(id), "{id}");
    let other = sb.dial(&tok, "8003", "+8613800138000").await;
    assert!(is_uniqueid(&other));
    assert_ne!(id, other);
}

#[tokio::test]
async fn dialled_call_rings_then_answers() {
    let sb = Sb::with(Settings { answer_delay_ms: 1500, ..Settings::default() });
    let tok = sb.token().await;
    let id = sb.dial(&tok, "8001", "8002").await;
    let st = sb.state().await;
    assert_eq!(st["pbx"]["calls"][0]["uniqueid"], id.as_str());
    assert_eq!(st["pbx"]["calls"][0]["state"], "ringing");
    sb.advance(2.0).await;
    assert_eq!(sb.state().await["pbx"]["calls"][0]["state"], "answered");
}

#[tokio::test]
async fn endpoint_in_use_during_call_only() {
    let sb = Sb::new();
    let tok = sb.token().await;
    assert_eq!(sb.endpoint_state(&tok, "8001").await.0, "Not in use");
    sb.dial(&tok, "8001", "8002").await;
    // The caller is in use at once; the destination rings, then is in use too.
    assert_eq!(sb.endpoint_state(&tok, "8001").await, ("In use".to_string(), "1 of inf".to_string()));
    assert_eq!(sb.endpoint_state(&tok, "8002").await, ("Ringing".to_string(), "1 of inf".to_string()));
    sb.advance(2.0).await;
    for ext in ["8001", "8002"] {
        assert_eq!(sb.endpoint_state(&tok, ext).await, ("In use".to_string(), "1 of inf".to_string()));
    }
    assert_eq!(sb.endpoint_state(&tok, "8003").await.0, "Not in use");
    let v = sb.post(&tok, "call/hangup", json!({"extension": "8002"})).await;
    assert_eq!(v, json!({"code": "200", "msg": "成功", "data": [], "total": 0}));
    for ext in ["8001", "8002"] {
        assert_eq!(sb.endpoint_state(&tok, ext).await, ("Not in use".to_string(), "0 of inf".to_string()));
    }
}

#[tokio::test]
async fn hangup_after_answer_writes_one_answered_cdr() {
    let sb = Sb::with(Settings { answer_delay_ms: 1000, ..Settings::default() });
    sb.quiet().await;
    let tok = sb.token().await;
    let before = sb.cdr().await.len();
    let id = sb.dial(&tok, "8001", "8002").await;
    sb.advance(11.0).await;
    sb.post(&tok, "call/hangup", json!({"extension": "8001"})).await;

    let st = sb.state().await;
    assert_eq!(st["pbx"]["calls"], json!([]));
    let rows = st["pbx"]["cdr"].as_array().unwrap();
    assert_eq!(rows.len(), before + 1);
    let row = rows.last().unwrap();
    let keys: Vec<&str> = row.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut want: Vec<&str> = CDR_KEYS.to_vec();
    want.push("trunkName");
    let (mut got_sorted, mut want_sorted) = (keys.clone(), want.clone());
    got_sorted.sort_unstable();
    want_sorted.sort_unstable();
    assert_eq!(got_sorted, want_sorted);

    assert_eq!(row["disposition"], "ANSWERED");
    assert_eq!(row["uniqueid"], id.as_str());
    assert_eq!(row["linkedid"], id.as_str());
    assert_eq!(row["src"], "8001");
    assert_eq!(row["dst"], "8002");
    assert_eq!(row["clid"], "\"8001\" <8001>");
    assert_eq!(row["direction"], "inter");
    assert_eq!(row["id"], before as u64 + 1);
    assert!(row["id"].is_number() && row["duration"].is_number() && row["amaflags"].is_number());
    let duration = row["duration"].as_u64().unwrap();
    let billsec = row["billsec"].as_u64().unwrap();
    assert!((10..=12).contains(&duration), "{row}");
    assert!((9..=11).contains(&billsec) && billsec < duration, "{row}");
    assert_eq!(row["hangupsource"], row["channel"]);
    assert!(row["channel"].as_str().unwrap().starts_with("PJSIP/8001-"));
    assert!(row["dstchannel"].as_str().unwrap().starts_with("PJSIP/8002-"));
    let calldate = row["calldate"].as_str().unwrap();
    assert_eq!(calldate.len(), 19, "{calldate}");
    assert_eq!(&calldate[4..5], "-");
    assert_eq!(&calldate[10..11], " ");
    assert!(row["recording"].as_str().unwrap().ends_with(&format!("{id}.wav")));

    // A second hangup finds nothing and writes nothing.
    let v = sb.post(&tok, "call/hangup", json!({"extension": "8001"})).await;
    assert_code(&v, "600002", "挂断异常");
    assert_eq!(sb.cdr().await.len(), before + 1);
}

#[tokio::test]
async fn hangup_while_ringing_is_no_answer() {
    let sb = Sb::with(Settings { answer_delay_ms: 10_000, ..Settings::default() });
    let tok = sb.token().await;
    sb.dial(&tok, "8001", "8003").await;
    sb.advance(3.0).await;
    sb.post(&tok, "call/hangup", json!({"extension": "8001"})).await;
    let row = sb.cdr().await.last().cloned().unwrap();
    assert_eq!(row["disposition"], "NO ANSWER");
    assert_eq!(row["billsec"], 0);
    assert_eq!(row["answer"], Value::Null);
    assert_eq!(row["recording"], "");
    assert!(row["duration"].as_u64().unwrap() >= 2);
}

#[tokio::test]
async fn hangup_by_outside_number() {
    let sb = Sb::new();
    let tok = sb.token().await;
    let v = sb
        .post(
            &tok,
            "call/dial",
            json!({"extension": "8004", "dest": "13800138000", "displaycid": "18551811888"}),
        )
        .await;
    assert_eq!(v["code"], "200");
    sb.advance(5.0).await;
    sb.post(&tok, "call/hangup", json!({"extension": "13800138000"})).await;
    let row = sb.cdr().await.last().cloned().unwrap();
    assert_eq!(row["direction"], "out");
    assert_eq!(row["trunkName"], "trunkHWD");
    assert_eq!(row["src"], "18551811888");
    assert_eq!(row["clid"], " <18551811888>");
    assert_eq!(row["billingid"], "8004");
    assert!(row["dstchannel"].as_str().unwrap().starts_with("PJSIP/trunkHWD-"));
    assert_eq!(row["hangupsource"], row["dstchannel"]);
    assert_eq!(sb.endpoint_state(&tok, "8004").await.0, "Not in use");
}

#[tokio::test]
async fn dial_bad_input_is_600000() {
    let sb = Sb::new();
    let tok = sb.token().await;
    let bodies = [
        json!({"extension": "8001"}),
        json!({"dest": "8002"}),
        json!({"extension": "8001", "dest": ""}),
        json!({"extension": "8001", "dest": "80a2"}),
        json!({"extension": "8001", "dest": "abc"}),
        json!({"extension": "8001", "dest": "1".repeat(33)}),
        json!({"extension": "9999", "dest": "8002"}),
        json!({"extension": 8001, "dest": "8002"}),
        json!({"extension": "8001", "dest": ["8002"]}),
        json!({"extension": "8001", "dest": "8002", "displaycid": "abc"}),
        json!({"extension": "8001", "dest": "8002", "displaycid": 8001}),
        json!({"extension": "8001", "dest": "8001"}),
        json!([1, 2, 3]),
        json!("8001"),
        json!(null),
    ];
    for body in bodies {
        let v = sb.post(&tok, "call/dial", body.clone()).await;
        assert_code(&v, "600000", "呼叫接口参数验证失败");
        assert!(v["msg"].as_str().unwrap().contains(": "), "detail in {v} for {body}");
    }
    for raw in ["not json", "", "{\"extension\":", "extension=8001&dest=8002"] {
        let (s, bytes) = sb
            .raw(Method::POST, &format!("{P}/api/v1/call/dial"), Some(&tok), Some("application/json"), raw)
            .await;
        assert_eq!(s, StatusCode::OK);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_code(&v, "600000", "呼叫接口参数验证失败");
    }
    // Nothing was dialled.
    assert_eq!(sb.state().await["pbx"]["calls"], json!([]));
}

#[tokio::test]
async fn dial_while_busy_is_600001() {
    let sb = Sb::new();
    let tok = sb.token().await;
    sb.dial(&tok, "8001", "8002").await;
    for (ext, dest) in [("8001", "8003"), ("8003", "8002"), ("8002", "8004")] {
        let v = sb.post(&tok, "call/dial", json!({"extension": ext, "dest": dest})).await;
        assert_code(&v, "600001", "呼叫异常");
    }
    // Others are unaffected; 8005 (unregistered) rings, then shows In use while in a call.
    sb.dial(&tok, "8003", "8005").await;
    assert_eq!(sb.endpoint_state(&tok, "8005").await.0, "Ringing");
    sb.advance(2.0).await;
    assert_eq!(sb.endpoint_state(&tok, "8005").await.0, "In use");
}

#[tokio::test]
async fn hangup_errors() {
    let sb = Sb::new();
    let tok = sb.token().await;
    let before = sb.cdr().await;
    let v = sb.post(&tok, "call/hangup", json!({"extension": "8001"})).await;
    assert_code(&v, "600002", "挂断异常");
    let v = sb.post(&tok, "call/hangup", json!({"extension": "13800138000"})).await;
    assert_code(&v, "600002", "挂断异常");
    for body in [json!({}), json!({"extension": ""}), json!({"extension": 8001}), json!([])] {
        let v = sb.post(&tok, "call/hangup", body).await;
        assert_code(&v, "600000", "呼叫接口参数验证失败");
    }
    assert_eq!(sb.cdr().await, before);
}

// ---------------------------------------------------------------- status

#[tokio::test]
async fn endpoint_status_pages_counts_and_filters() {
    let sb = Sb::new();
    let tok = sb.token().await;
    let v = sb.get(&tok, "status/endpoint?page=1&pageSize=10").await;
    assert_eq!(v["code"], "200");
    assert_eq!(v["msg"], "成功");
    assert_eq!(v["total"], 5);
    let rows = v["data"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["endpoint"].as_str().unwrap()).collect();
    assert_eq!(names, ["8001", "8002", "8003", "8004", "8005"]);
    let first = rows[0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(|k| k.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["channels", "cid", "endpoint", "registerIp", "registerPort", "state"]);
    assert_eq!(rows[0]["state"], "Not in use");
    assert_eq!(rows[0]["channels"], "0 of inf");
    assert_eq!(rows[0]["cid"], "8001");
    assert_eq!(rows[0]["registerIp"], "127.0.0.1");
    assert!(rows[0]["registerPort"].is_string());
    assert_eq!(rows[4]["state"], "Unavailable");

    let v = sb.get(&tok, "status/endpoint?page=2&pageSize=2").await;
    assert_eq!(v["total"], 5);
    assert_eq!(v["data"][0]["endpoint"], "8003");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let v = sb.get(&tok, "status/endpoint?page=3&pageSize=2").await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let v = sb.get(&tok, "status/endpoint?page=9&pageSize=2").await;
    assert_eq!((v["data"].clone(), v["total"].clone()), (json!([]), json!(5)));

    let v = sb.get(&tok, "status/endpoint?page=1&pageSize=10&endpoint=8003").await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["data"][0]["endpoint"], "8003");
    let v = sb.get(&tok, "status/endpoint?page=1&pageSize=10&endpoint=").await;
    assert_eq!(v["total"], 5);
    let v = sb.get(&tok, "status/endpoint?page=1&pageSize=10&endpoint=9999").await;
    assert_eq!((v["data"].clone(), v["total"].clone()), (json!([]), json!(0)));
}

#[tokio::test]
async fn endpoint_status_bad_paging_is_error_envelope() {
    let sb = Sb::new();
    let tok = sb.token().await;
    for q in [
        "",
        "?pageSize=10",
        "?page=1",
        "?page=0&pageSize=10",
        "?page=-1&pageSize=10",
        "?page=abc&pageSize=10",
        "?page=1&pageSize=0",
        "?page=1&pageSize=1001",
        "?page=1.5&pageSize=10",
        "?page=99999999999999999999999&pageSize=10",
    ] {
        let v = sb.get(&tok, &format!("status/endpoint{q}")).await;
        assert_code(&v, "400", "参数验证失败: ");
    }
    let v = sb.get(&tok, "status/endpoint?page=1&pageSize=1000").await;
    assert_eq!(v["code"], "200");
}

// ---------------------------------------------------------------- misc

#[tokio::test]
async fn unknown_routes_get_404_envelope() {
    let sb = Sb::new();
    let tok = sb.token().await;
    let envelope = json!({"code": "404", "msg": "接口不存在", "data": [], "total": 0});
    for uri in [
        format!("{P}/api/v1/nope"),
        format!("{P}/api/v1/call/nope"),
        format!("{P}/nope"),
        format!("{P}/api/v2/call/dial"),
    ] {
        assert_eq!(
            sb.call(Method::GET, &uri, None, None).await,
            (StatusCode::NOT_FOUND, envelope.clone()),
            "{uri}"
        );
        assert_eq!(
            sb.call(Method::POST, &uri, Some(&tok), Some(json!({}))).await,
            (StatusCode::NOT_FOUND, envelope.clone()),
            "{uri}"
        );
    }
    // Known path, wrong method.
    let (s, v) = sb.call(Method::GET, &format!("{P}/api/v1/call/dial"), Some(&tok), None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(v["code"], "405");
}

#[tokio::test]
async fn cors_preflight_is_permissive() {
    let sb = Sb::new();
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("{P}/api/v1/call/dial"))
        .header(header::ORIGIN, "http://127.0.0.1:9999")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization,content-type,accept-language")
        .body(Body::empty())
        .unwrap();
    let resp = sb.app.clone().oneshot(req).await.unwrap();
    assert!(resp.status().is_success());
    let h = resp.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let allow = h[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().to_lowercase();
    assert!(allow.contains("authorization") && allow.contains("accept-language"));
    assert!(h[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().contains("POST"));
}

#[tokio::test]
async fn sandbox_routes() {
    let sb = Sb::new();
    let (s, body) = sb.raw(Method::GET, "/sandbox/health", None, None, Body::empty()).await;
    assert_eq!((s, body.as_slice()), (StatusCode::OK, b"ok".as_slice()));
    let before = sb.state().await["clock"]["now_ms"].as_i64().unwrap();
    sb.advance(3600.0).await;
    let st = sb.state().await;
    assert!(st["clock"]["now_ms"].as_i64().unwrap() - before >= 3_600_000);
    assert_eq!(st["pbx"]["extensions"].as_array().unwrap().len(), 5);
    for bad in [json!({"advance_secs": -1}), json!({}), json!({"advance_secs": "5"})] {
        let (s, _) = sb.call(Method::POST, "/sandbox/clock", None, Some(bad)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn www_dir_is_served_as_fallback() {
    let dir = std::env::temp_dir().join(format!("sandbox-www-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>console</h1>").unwrap();
    let sb = Sb::with(Settings { www: Some(dir.clone()), ..Settings::default() });
    let (s, body) = sb.raw(Method::GET, "/", None, None, Body::empty()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, b"<h1>console</h1>");
    let (s, _) = sb.raw(Method::GET, "/index.html", None, None, Body::empty()).await;
    assert_eq!(s, StatusCode::OK);
    // The vendor prefix keeps its own 404 envelope.
    let (s, v) = sb.call(Method::GET, &format!("{P}/nope"), None, None).await;
    assert_eq!((s, v["code"].clone()), (StatusCode::NOT_FOUND, json!("404")));
    let _ = std::fs::remove_dir_all(&dir);
}
