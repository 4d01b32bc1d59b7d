//! Shared by the gateway's tests: the sandbox as the vendors, with every
//! request it receives recorded, and a gateway in front of it.

#![allow(dead_code)]

use agent_console_gateway::config::Config;
use agent_console_gateway::{app, Gateway};
pub use agent_console_sandbox::pbx::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_USERNAME};
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::middleware::{self, Next};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// A request the sandbox received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: String,
    pub body: String,
}

/// The sandbox, recording.
pub struct Vendors {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Vendors {
    /// Requests whose path contains `part`.
    pub fn count(&self, part: &str) -> usize {
        self.seen.lock().unwrap().iter().filter(|s| s.path.contains(part)).count()
    }

    pub fn last(&self, part: &str) -> Option<Seen> {
        self.seen.lock().unwrap().iter().rev().find(|s| s.path.contains(part)).cloned()
    }
}

pub async fn vendors() -> Vendors {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let router = agent_console_sandbox::app(Default::default()).layer(middleware::from_fn(
        move |req: Request, next: Next| {
            let log = log.clone();
            async move {
                let (parts, body) = req.into_parts();
                let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
                log.lock().unwrap().push(Seen {
                    method: parts.method.to_string(),
                    path: parts.uri.to_string(),
                    authorization: parts
                        .headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string(),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                });
                next.run(Request::from_parts(parts, Body::from(bytes))).await
            }
        },
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Vendors { addr, seen }
}

/// A cheap argon2 hash for tests (the gateway accepts any PHC parameters).
pub fn cheap_hash(password: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let params = argon2::Params::new(1024, 1, 1, None).unwrap();
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    a.hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng)).unwrap().to_string()
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gw-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The config text: agent `li` (8001, agent id 1011, callback number
/// 13800138000, dapi uid 1001), supervisor `zhao` (8002), agent `wang`
/// (8003, dapi uid 2002, no callback number).
pub fn config_text(v: &Vendors, data: &std::path::Path) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
data = "{data}"

[pbx]
base_url = "http://{addr}/dscom-api/public"
client_id = "{DEMO_CLIENT_ID}"
client_secret = "{DEMO_CLIENT_SECRET}"
username = "{DEMO_USERNAME}"
password = "{DEMO_PASSWORD}"
push_url = "ws://{addr}/push/"

[callback]
base_url = "http://{addr}"
app_id = "{APPID}"
app_secret = "{APPSECRET}"

[dapi]
base_url = "http://{addr}"

[sipcdr]
api_url = "http://{addr}/sipcdr"
token = "{SIPCDR_TOKEN}"
sync_secs = 1

[[agent]]
login = "li"
password_hash = "{li}"
extension = "8001"
agent_id = "1011"
role = "agent"
callback_number = "13800138000"
dapi_uid = "1001"

[[agent]]
login = "zhao"
password_hash = "{zhao}"
extension = "8002"
agent_id = "1012"
role = "supervisor"

[[agent]]
login = "wang"
password_hash = "{wang}"
extension = "8003"
agent_id = "1013"
role = "agent"
dapi_uid = "2002"
"#,
        data = data.display(),
        addr = v.addr,
        li = cheap_hash("li-pass"),
        zhao = cheap_hash("zhao-pass"),
        wang = cheap_hash("wang-pass"),
        APPID = agent_console_sandbox::callback::DEMO_APPID,
        APPSECRET = agent_console_sandbox::callback::DEMO_APPSECRET,
        SIPCDR_TOKEN = SIPCDR_TOKEN,
    )
}

/// The sandbox's demo sipcdr token, which only the gateway holds.
pub const SIPCDR_TOKEN: &str = "ABCDEFG";

impl Console {
    /// POSTs a GetBill form to the gateway's `/sipcdr` (the console's
    /// request, token field and all).
    pub async fn get_bill(&mut self, fields: &[(&str, &str)]) -> Answer {
        let mut f: Vec<(&str, String)> = vec![("service", agent_console_wire::sipcdr::SERVICE.to_string())];
        f.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
        let (content_type, body) = agent_console_wire::sipcdr::multipart(&f);
        let mut b =
            self.http.post(format!("{}/sipcdr", self.base)).header("content-type", content_type).body(body);
        if let Some(c) = &self.cookie {
            b = b.header("cookie", format!("agc_session={c}"));
        }
        let resp = b.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        self.received.push(text.clone());
        Answer {
            status,
            json: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            set_cookie: None,
        }
    }
}

/// A gateway on a free port for `config`; its base URL.
pub async fn gateway(config: &str) -> String {
    let gw = Gateway::new(Config::parse(config).unwrap()).unwrap();
    Gateway::start(&gw);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = app(gw).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, svc).await.unwrap() });
    format!("http://{addr}")
}

/// A console's view of the gateway: a client that keeps the session cookie
/// and every body it received (to look for secrets in them).
pub struct Console {
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: Option<String>,
    pub received: Vec<String>,
}

pub struct Answer {
    pub status: u16,
    pub json: serde_json::Value,
    pub set_cookie: Option<String>,
}

impl Console {
    pub fn new(base: &str) -> Self {
        Self { base: base.into(), http: reqwest::Client::new(), cookie: None, received: Vec::new() }
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut b = self.http.request(m, format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            b = b.header("cookie", format!("agc_session={c}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if let Some(j) = body {
            b = b.header("content-type", "application/json").body(j.to_string());
        }
        let resp = b.send().await.unwrap();
        let status = resp.status().as_u16();
        let set_cookie = resp.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string());
        let head: String =
            resp.headers().iter().map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or(""))).collect();
        let text = resp.text().await.unwrap();
        self.received.push(head);
        self.received.push(text.clone());
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Answer { status, json, set_cookie }
    }

    pub async fn sign_in(&mut self, login: &str, password: &str) -> Answer {
        let a = self
            .send("POST", "/session", Some(serde_json::json!({"login": login, "password": password})), &[])
            .await;
        if let Some(c) = &a.set_cookie {
            let v = c.split(';').next().unwrap().trim_start_matches("agc_session=").to_string();
            self.cookie = (!v.is_empty()).then_some(v);
        }
        a
    }

    pub async fn pbx(&mut self, method: &str, route: &str, body: Option<serde_json::Value>) -> Answer {
        self.send(method, &format!("/dscom-api/public/api/v1/{route}"), body, &[]).await
    }
}

impl Console {
    /// Opens `/events` (after `after`, if given) and returns the stream's response.
    pub async fn events(&self, after: Option<i64>) -> reqwest::Response {
        let path = match after {
            Some(a) => format!("{}/events?after={a}", self.base),
            None => format!("{}/events", self.base),
        };
        let mut b = self.http.get(path);
        if let Some(c) = &self.cookie {
            b = b.header("cookie", format!("agc_session={c}"));
        }
        b.send().await.unwrap()
    }
}

/// Reads an SSE stream until `want` events of `kind` arrived (or `secs`
/// pass); returns their (id, data).
pub async fn read_events(
    resp: &mut reqwest::Response,
    kind: &str,
    want: usize,
    secs: u64,
) -> Vec<(i64, String)> {
    let mut buf = String::new();
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while got.len() < want {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await else { break };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let field = |name: &str| {
                block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim_start().to_string())
            };
            if field("event:").as_deref() == Some(kind) {
                let id = field("id:").and_then(|i| i.parse().ok()).unwrap_or(-1);
                got.push((id, field("data:").unwrap_or_default()));
            }
        }
    }
    got
}
