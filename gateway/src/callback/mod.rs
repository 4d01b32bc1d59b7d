//! The callback telco API (seed 002) behind the gateway: the console calls
//! `/api/qmc-call/openapi/v1/…` and `/api/qmc-cdr/openapi/v1/record` on the
//! gateway without any header; the gateway checks the rules, signs with the
//! APPSECRET only it holds, and forwards. The platform's status webhook
//! (`POST /hooks/callback`) is stored and delivered to the agent who started
//! the call.

use crate::config::Role;
use crate::upstream::scalar;
use crate::{lock, now_ms, Shared};
use agent_console_wire::callback::StatusNotification;
use agent_console_wire::callback::{sign, AppId, AppSecret, CallNumber, CALL_PATH, RECORD_PATH};
use agent_console_wire::http::{HttpRequest, Method, DEFAULT_MAX_BODY};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::time::Instant;

/// Most bytes of a console's request or a webhook read.
const MAX_BODY: usize = 16 * 1024;

fn envelope(status: u16, msg: &str) -> Response {
    let body = json!({"code": status, "success": false, "msg": msg, "data": null});
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    (code, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn text(v: &Value, k: &str) -> String {
    scalar(v, k).unwrap_or_default()
}

async fn refused(gw: &Shared, login: &str, action: String, target: String, zh: &str, en: &str) -> Response {
    gw.audit(login, action, target, format!("refused: {en}")).await;
    envelope(403, &format!("{zh}（{en}）"))
}

/// `POST` of one of the three routes, from a console.
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
    let Some(cfg) = gw.config.callback.clone() else {
        return envelope(404, "网关未配置回呼接口（The gateway has no [callback] configured）");
    };
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return envelope(413, "请求过大（The request is too large）");
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return envelope(400, "请求体不是 JSON（The body is not JSON）");
    };
    let action = format!("POST {path}");
    let (url, target) = if path == CALL_PATH {
        let caller = text(&v, "caller");
        let mine = CallNumber::parse("caller", &agent.callback_number).ok();
        let asked = CallNumber::parse("caller", &caller).ok();
        if mine.is_none() || asked != mine {
            let own = if agent.callback_number.is_empty() {
                "未设置".into()
            } else {
                agent.callback_number.clone()
            };
            let en = format!("The caller may only be your own callback number ({})", agent.callback_number);
            return refused(&gw, &login, action, caller, &format!("主叫号码只能是自己的回呼号码 {own}"), &en)
                .await;
        }
        let taken = lock(&gw.calls).take(&login, Instant::now());
        if let Err(wait) = taken {
            let s = wait.as_secs().max(1);
            gw.audit(&login, action, caller, "refused: call rate".into()).await;
            return envelope(
                429,
                &format!("呼叫过于频繁，请 {s} 秒后再试（Too many calls: try again in {s} s）"),
            );
        }
        (
            format!("{}{CALL_PATH}", cfg.base_url.trim_end_matches('/')),
            format!("{caller} -> {}", text(&v, "callee")),
        )
    } else {
        let id = text(&v, "callidentifier");
        let owner = gw.store.callback_owner(id.clone()).await.ok().flatten();
        if agent.role != Role::Supervisor && owner.as_deref() != Some(login.as_str()) {
            let en = "You may act only on callback calls you started";
            return refused(&gw, &login, action, id, "只能操作自己发起的回呼通话", en).await;
        }
        let base =
            if path == RECORD_PATH { cfg.record_url.clone().filter(|u| !u.trim().is_empty()) } else { None };
        let base = base.unwrap_or_else(|| cfg.base_url.clone());
        (format!("{}{path}", base.trim_end_matches('/')), id)
    };
    let (Ok(app_id), Ok(secret)) = (AppId::parse(&cfg.app_id), AppSecret::parse(&cfg.app_secret)) else {
        return envelope(
            500,
            "网关的回呼配置有误（The gateway's [callback] app_id or app_secret is malformed）",
        );
    };
    let ts = u64::try_from(now_ms()).unwrap_or(0);
    let req = HttpRequest {
        method: Method::Post,
        url,
        headers: vec![
            ("Content-Type".into(), "application/json;charset=utf-8".into()),
            ("Accept".into(), "application/json".into()),
            ("Authorization".into(), sign(&app_id, &secret, ts)),
        ],
        body: Some(String::from_utf8_lossy(&bytes).into_owned()),
        max_body: DEFAULT_MAX_BODY,
    };
    let resp = match gw.up.send(&req).await {
        Ok(r) => r,
        Err(e) => {
            gw.audit(&login, action, target, format!("upstream failed: {e}")).await;
            return envelope(
                502,
                &format!("无法连接回呼平台（The callback platform could not be reached: {e}）"),
            );
        }
    };
    let reply: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    if path == CALL_PATH {
        let id = reply.get("data").map(|d| text(d, "callidentifier")).unwrap_or_default();
        if !id.is_empty() {
            if let Err(e) = gw.store.bind_callback(id, login.clone()).await {
                eprintln!("gateway: could not store a callback call: {e}");
            }
        }
    }
    let code = text(&reply, "code");
    gw.audit(&login, action, target, format!("forwarded {} {code}", resp.status)).await;
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, [(header::CONTENT_TYPE, "application/json")], Bytes::from(resp.body)).into_response()
}

/// `POST /hooks/callback`: seed 002's status notification. Stored as
/// received, then delivered to the agent who started the call; answered as
/// the seed says (`{code, msg, data}`; the platform does not re-send).
pub async fn hook(State(gw): State<Shared>, body: Body) -> Response {
    let answer = |code: &str, msg: &str| {
        let body = json!({"code": code, "msg": msg, "data": ""});
        ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
    };
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return answer("413", "body too large");
    };
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    if let Err(e) = gw.store.webhook("callback", raw).await {
        eprintln!("gateway: could not store a callback webhook: {e}");
        return answer("500", "store unavailable");
    }
    let n = match StatusNotification::decode(&bytes) {
        Ok(n) => n,
        Err(e) => return answer("400", &e.to_string()),
    };
    let Ok(Some(login)) = gw.store.callback_owner(n.callidentifier.clone()).await else {
        // Not a call of ours (or started before the gateway): kept, not delivered.
        return answer("200", "ok");
    };
    let data = serde_json::to_string(&n).unwrap_or_default();
    match gw.store.event(login, "callback_status", data).await {
        Ok(e) => gw.hub.publish(e),
        Err(e) => eprintln!("gateway: could not store a callback event: {e}"),
    }
    answer("200", "ok")
}
