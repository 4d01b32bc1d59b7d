//! The RTC voice-call server (seeds 000, 001) behind the gateway:
//! `/dapi/…` forwarded when every uid field of the body is the agent's own
//! `dapi_uid` (callees, `dst_uid`, may be anyone) and every `channel` (and
//! scheduled-call `id`) is one the server gave that agent, `/d/upload` forwarded as
//! sent (bounded), and the call-record webhook (`POST /hooks/dapi`) stored
//! and delivered to the agents it names.

use crate::session::Seen;
use crate::upstream::scalar;
use crate::Shared;
use agent_console_wire::dapi::CallRecordPush;
use agent_console_wire::dapi::MAX_UPLOAD_BYTES;
use agent_console_wire::http::{HttpRequest, Method, DEFAULT_MAX_BODY};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Most bytes of a console's JSON request or a webhook read.
const MAX_BODY: usize = 256 * 1024;

/// The routes opened, and the uid fields each must carry.
const ROUTES: [(&str, &[&str]); 10] = [
    ("call/user", &["src_uid"]),
    ("call/robot", &["src_uid"]),
    ("call/msg", &["uid"]),
    ("call/token", &["uid"]),
    ("call/event", &["uid"]),
    ("call/heartbeat", &["uid"]),
    ("invite/robot", &["uid"]),
    ("quit/robot", &["uid"]),
    ("calltask/update", &["src_uid"]),
    ("calltask/list", &["uid"]),
];

/// Routes that act in an existing channel: it must be one the agent was given.
const IN_CHANNEL: [&str; 5] = ["call/token", "call/event", "call/heartbeat", "invite/robot", "quit/robot"];

/// The channels and scheduled-call ids each agent was given by the server
/// (from `call/user`, `call/robot`, `call/msg`, `call/token`, `calltask/list`
/// replies), bounded per agent. In memory: after a restart an agent's next
/// `call/msg` poll gives the callee's channels back.
#[derive(Default)]
pub struct Known {
    by_login: std::sync::Mutex<std::collections::HashMap<String, (Seen, Seen)>>,
}

impl Known {
    fn channels_has(&self, login: &str, channel: &str) -> bool {
        crate::lock(&self.by_login).get(login).is_some_and(|(c, _)| c.contains(channel))
    }

    fn tasks_has(&self, login: &str, id: &str) -> bool {
        crate::lock(&self.by_login).get(login).is_some_and(|(_, t)| t.contains(id))
    }

    /// Remembers what a reply to `route` gave `login`.
    fn learn(&self, login: &str, route: &str, reply: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(reply) else { return };
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        let mut map = crate::lock(&self.by_login);
        let (channels, tasks) = map.entry(login.to_string()).or_default();
        match route {
            "calltask/list" => {
                let rows = data.get("rows").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
                rows.iter().filter_map(|r| scalar(r, "id")).for_each(|id| tasks.insert(&id));
            }
            "calltask/update" => {
                if let Some(id) = scalar(&data, "id") {
                    tasks.insert(&id);
                }
            }
            _ => {
                let rows: Vec<&Value> = match &data {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                rows.iter().filter_map(|r| scalar(r, "channel")).for_each(|c| channels.insert(&c));
            }
        }
    }
}

fn envelope(status: u16, msg: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    (code, Json(json!({"success": false, "msg": msg, "data": null}))).into_response()
}

/// Why `route` with `body` is refused for the agent whose uid is `uid`
/// (`None`: forward). Pure, for the tests.
pub fn refusal(route: &str, body: &Value, uid: &str) -> Option<(String, String)> {
    let Some((_, fields)) = ROUTES.iter().find(|(r, _)| *r == route) else {
        return Some((format!("网关未开放该接口：{route}"), format!("The gateway does not open {route}")));
    };
    if uid.is_empty() {
        return Some(("该账号没有设置 dapi_uid".into(), "This account has no dapi_uid".into()));
    }
    for f in fields.iter() {
        if scalar(body, f).as_deref() != Some(uid) {
            return Some((
                format!("{f} 只能是自己的 uid {uid}"),
                format!("{f} may only be your own uid {uid}"),
            ));
        }
    }
    None
}

/// `POST /dapi/…` and `GET /dapi/system/config`, from a console.
pub async fn proxy(
    State(gw): State<Shared>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().to_string();
    let Some((_, agent)) = gw.signed_in_agent(&headers) else {
        return envelope(401, "请先登录（Sign in first）");
    };
    let login = agent.login.clone();
    let Some(cfg) = gw.config.dapi.clone() else {
        return envelope(404, "网关未配置 dapi（The gateway has no [dapi] configured）");
    };
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return envelope(413, "请求过大（The request is too large）");
    };
    let route = path.trim_start_matches("/dapi/");
    let url = format!("{}{path}", cfg.base_url.trim_end_matches('/'));
    let req = if route == "system/config" {
        HttpRequest { method: Method::Get, url, headers: vec![], body: None, max_body: DEFAULT_MAX_BODY }
    } else {
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
            return envelope(400, "请求体不是 JSON（The body is not JSON）");
        };
        let owned = refusal(route, &v, &agent.dapi_uid).or_else(|| {
            let channel = scalar(&v, "channel").unwrap_or_default();
            if IN_CHANNEL.contains(&route) && !gw.dapi_known.channels_has(&login, &channel) {
                return Some((
                    format!("频道 {channel} 不是你的通话"),
                    format!("Channel {channel} is not one of your calls"),
                ));
            }
            let id = scalar(&v, "id").filter(|i| !i.is_empty());
            match id {
                Some(id) if route == "calltask/update" && !gw.dapi_known.tasks_has(&login, &id) => Some((
                    format!("预约呼叫 {id} 不是你的"),
                    format!("Scheduled call {id} is not one of yours"),
                )),
                _ => None,
            }
        });
        if owned.is_none() && matches!(route, "call/user" | "call/robot") {
            let taken = crate::lock(&gw.calls).take(&login, std::time::Instant::now());
            if let Err(wait) = taken {
                let s = wait.as_secs().max(1);
                gw.audit(&login, format!("POST {path}"), agent.dapi_uid.clone(), "refused: call rate".into())
                    .await;
                return envelope(
                    429,
                    &format!("呼叫过于频繁，请 {s} 秒后再试（Too many calls: try again in {s} s）"),
                );
            }
        }
        if let Some((zh, en)) = owned {
            gw.audit(&login, format!("POST {path}"), agent.dapi_uid.clone(), format!("refused: {en}")).await;
            return envelope(403, &format!("{zh}（{en}）"));
        }
        HttpRequest {
            method: Method::Post,
            url,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(String::from_utf8_lossy(&bytes).into_owned()),
            max_body: DEFAULT_MAX_BODY,
        }
    };
    let route = route.to_string();
    forward(&gw, &login, &route, format!("{} {path}", if req.body.is_some() { "POST" } else { "GET" }), req)
        .await
}

async fn forward(gw: &Shared, login: &str, route: &str, action: String, req: HttpRequest) -> Response {
    match gw.up.send(&req).await {
        Ok(resp) => {
            if (200..300).contains(&resp.status) {
                gw.dapi_known.learn(login, route, &resp.body);
            }
            // Heartbeats and polls are the bulk: not worth an audit row each.
            if !action.ends_with("call/heartbeat") && !action.ends_with("call/msg") {
                gw.audit(login, action, String::new(), format!("forwarded {}", resp.status)).await;
            }
            let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, [(header::CONTENT_TYPE, "application/json")], Bytes::from(resp.body)).into_response()
        }
        Err(e) => {
            gw.audit(login, action, String::new(), format!("upstream failed: {e}")).await;
            envelope(502, &format!("无法连接 dapi 服务器（The dapi server could not be reached: {e}）"))
        }
    }
}

/// `POST /d/upload`: the multipart body forwarded as sent, at most
/// [`MAX_UPLOAD_BYTES`] of files plus room for the form's own lines.
pub async fn upload(State(gw): State<Shared>, headers: HeaderMap, body: Body) -> Response {
    let Some((_, login, _)) = gw.signed_in(&headers) else {
        return envelope(401, "请先登录（Sign in first）");
    };
    let Some(cfg) = gw.config.dapi.clone() else {
        return envelope(404, "网关未配置 dapi（The gateway has no [dapi] configured）");
    };
    let cap = usize::try_from(MAX_UPLOAD_BYTES).unwrap_or(usize::MAX).saturating_add(64 * 1024);
    let Ok(bytes) = to_bytes(body, cap).await else {
        return envelope(413, "上传文件过大（The upload is too large）");
    };
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if !content_type.starts_with("multipart/form-data") {
        return envelope(400, "上传须为 multipart/form-data（An upload must be multipart/form-data）");
    }
    // The wire's request carries text bodies; an upload is bytes, so it goes
    // out through reqwest directly, with the same cap on the reply.
    let url = format!("{}/d/upload", cfg.base_url.trim_end_matches('/'));
    match gw.up.send_bytes(&url, &content_type, bytes.to_vec(), DEFAULT_MAX_BODY).await {
        Ok(resp) => {
            gw.audit(
                &login,
                "POST /d/upload".into(),
                format!("{} bytes", bytes.len()),
                format!("forwarded {}", resp.status),
            )
            .await;
            let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, [(header::CONTENT_TYPE, "application/json")], Bytes::from(resp.body)).into_response()
        }
        Err(e) => {
            envelope(502, &format!("无法连接 dapi 服务器（The dapi server could not be reached: {e}）"))
        }
    }
}

/// `POST /hooks/dapi`: seed 000's call record. Stored as received, then
/// delivered to every agent whose `dapi_uid` is the caller or a callee.
pub async fn hook(State(gw): State<Shared>, body: Body) -> Response {
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return envelope(413, "body too large");
    };
    if let Err(e) = gw.store.webhook("dapi", String::from_utf8_lossy(&bytes).into_owned()).await {
        eprintln!("gateway: could not store a dapi webhook: {e}");
        return envelope(500, "store unavailable");
    }
    let push = match CallRecordPush::parse(&bytes) {
        Ok(p) => p,
        Err(e) => return envelope(400, &e.to_string()),
    };
    let r = &push.callrecord;
    let uids: Vec<&str> =
        std::iter::once(r.src_uid.as_str()).chain(r.dst_uid.iter().map(|u| u.as_str())).collect();
    let data = serde_json::to_string(r).unwrap_or_default();
    for a in gw.config.agents.iter().filter(|a| !a.dapi_uid.is_empty() && uids.contains(&a.dapi_uid.as_str()))
    {
        match gw.store.event(a.login.clone(), "dapi_record", data.clone()).await {
            Ok(e) => gw.hub.publish(e),
            Err(e) => eprintln!("gateway: could not store a dapi event: {e}"),
        }
    }
    (StatusCode::OK, Json(json!({"success": true, "data": null}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_fields_must_be_the_agents_own() {
        let ok = json!({"src_uid": "1001", "dst_uid": ["2002", "3003"]});
        assert_eq!(refusal("call/user", &ok, "1001"), None);
        let theirs = json!({"src_uid": "2002", "dst_uid": ["1001"]});
        assert!(refusal("call/user", &theirs, "1001").is_some_and(|(_, en)| en.contains("src_uid")));
        assert!(refusal("call/heartbeat", &json!({"uid": "2002", "channel": "c"}), "1001").is_some());
        assert_eq!(refusal("call/heartbeat", &json!({"uid": 1001, "channel": "c"}), "1001"), None);
        assert!(refusal("call/msg", &json!({}), "1001").is_some(), "a missing uid is refused");
        assert!(refusal("admin/wipe", &ok, "1001").is_some(), "unlisted routes are closed");
        assert!(refusal("call/msg", &json!({"uid": ""}), "").is_some(), "no uid configured");
        let uuid = "0b9e6f1c-3f1e-4c9a-9d55-1f7c2e8a4b10";
        assert_eq!(refusal("calltask/list", &json!({"uid": uuid}), uuid), None);
    }
}
