//! The agent-console gateway seen from a console: its sign-in (`/session`)
//! and the events it streams (`/events`). Pure: requests are built and
//! replies decoded here; the caller's [`HttpClient`] sends them (the
//! browser's `fetch`, same origin, so the session cookie goes along).

use crate::session::{exchange, HttpClient};
use crate::Error;
use agent_console_wire::callback::StatusNotification;
use agent_console_wire::{ApiError, HttpRequest, HttpResponse, Method};
use serde::{Deserialize, Serialize};

/// Longest profile reply read (a few short fields).
const MAX_PROFILE_BODY: u64 = 16 * 1024;

/// What the agent may do, as the gateway says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Own extension, own calls, own records.
    Agent,
    /// Also barge, monitor, whisper, pick up, every status and record.
    Supervisor,
}

/// The signed-in agent (`POST`/`GET /session`); no secret in it. The
/// gateway answers with this type, the console reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The sign-in name.
    pub login: String,
    /// The agent's own extension.
    pub extension: String,
    /// The PBX agent id (工号).
    #[serde(default)]
    pub agent_id: String,
    /// Agent or supervisor.
    pub role: Role,
    /// The number a click-to-call rings first.
    #[serde(default)]
    pub callback_number: String,
    /// The agent's dapi uid.
    #[serde(default)]
    pub dapi_uid: String,
}

impl Profile {
    /// Whether the supervisor's pages are for this agent.
    pub fn is_supervisor(&self) -> bool {
        self.role == Role::Supervisor
    }
}

fn request(method: Method, base: &str, body: Option<String>) -> HttpRequest {
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    if body.is_some() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    HttpRequest {
        method,
        url: format!("{}/session", base.trim_end_matches('/')),
        headers,
        body,
        max_body: MAX_PROFILE_BODY,
    }
}

/// `POST <base>/session` with the login and password.
pub fn sign_in_request(base: &str, login: &str, password: &str) -> HttpRequest {
    let body = serde_json::json!({ "login": login.trim(), "password": password }).to_string();
    request(Method::Post, base, Some(body))
}

/// `GET <base>/session`: who is signed in (a reload keeps the cookie).
pub fn session_request(base: &str) -> HttpRequest {
    request(Method::Get, base, None)
}

/// `DELETE <base>/session`.
pub fn sign_out_request(base: &str) -> HttpRequest {
    request(Method::Delete, base, None)
}

/// The gateway's refusal, `{code, message}`, as an error carrying its words.
fn refusal(resp: &HttpResponse) -> Error {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Refusal {
        message: String,
    }
    let r: Refusal = serde_json::from_slice(&resp.body).unwrap_or_default();
    Error::Api(ApiError::Http { status: resp.status, message: r.message })
}

/// A profile reply: 2xx with the profile, or the gateway's refusal.
pub fn decode_profile(resp: &HttpResponse) -> Result<Profile, Error> {
    if !(200..300).contains(&resp.status) {
        return Err(refusal(resp));
    }
    serde_json::from_slice(&resp.body).map_err(|e| Error::Api(ApiError::Decode(e.to_string())))
}

/// Signs in; the reply sets the session cookie.
pub async fn sign_in<C: HttpClient + ?Sized>(
    http: &C,
    base: &str,
    login: &str,
    password: &str,
) -> Result<Profile, Error> {
    decode_profile(&exchange(http, sign_in_request(base, login, password)).await?)
}

/// The agent already signed in (`None` when nobody is: HTTP 401).
pub async fn current<C: HttpClient + ?Sized>(http: &C, base: &str) -> Result<Option<Profile>, Error> {
    let resp = exchange(http, session_request(base)).await?;
    if resp.status == 401 {
        return Ok(None);
    }
    decode_profile(&resp).map(Some)
}

/// Ends the session (the cookie is cleared by the reply).
pub async fn sign_out<C: HttpClient + ?Sized>(http: &C, base: &str) -> Result<(), Error> {
    let resp = exchange(http, sign_out_request(base)).await?;
    if (200..300).contains(&resp.status) {
        Ok(())
    } else {
        Err(refusal(&resp))
    }
}

/// The `/events` URL, resuming after event `after` when given.
pub fn events_url(base: &str, after: Option<i64>) -> String {
    let base = base.trim_end_matches('/');
    match after {
        Some(id) => format!("{base}/events?after={id}"),
        None => format!("{base}/events"),
    }
}

/// One event of `/events`, by its SSE `event:` name.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum GatewayEvent {
    /// `callback_status`: seed 002's status notification of the agent's call.
    CallbackStatus(StatusNotification),
    /// `dapi_record`: seed 000's call record (kept as sent).
    DapiRecord(serde_json::Value),
    /// `billing_cdr`: a CDR of the PBX's billing push (or the gateway's fill).
    BillingCdr(Box<agent_console_wire::pbx::Cdr>),
}

impl GatewayEvent {
    /// Decodes an event; `Ok(None)` for a kind this console does not know
    /// (a newer gateway), an error for a known kind that does not decode.
    pub fn decode(kind: &str, data: &str) -> Result<Option<Self>, Error> {
        match kind {
            "callback_status" => StatusNotification::decode(data.as_bytes())
                .map(|n| Some(Self::CallbackStatus(n)))
                .map_err(Error::Api),
            // Through the push frames' own row decoder (one copy of Cdr's
            // lenient decode in the wasm, not two).
            "billing_cdr" => {
                let v: serde_json::Value =
                    serde_json::from_str(data).map_err(|e| Error::Api(ApiError::Decode(e.to_string())))?;
                let listed =
                    agent_console_wire::de::Listed::<agent_console_wire::pbx::Cdr>::from_items(vec![v]);
                match listed.rows.into_iter().next() {
                    Some(row) => Ok(Some(Self::BillingCdr(Box::new(row)))),
                    None => Err(Error::Api(ApiError::Decode("billing_cdr: not a CDR".into()))),
                }
            }
            "dapi_record" => serde_json::from_str(data)
                .map(|v| Some(Self::DapiRecord(v)))
                .map_err(|e| Error::Api(ApiError::Decode(e.to_string()))),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_decodes_and_a_refusal_keeps_the_gateways_words() {
        let ok = HttpResponse::new(
            200,
            r#"{"login":"li","extension":"8001","agentId":"1011","role":"agent","callbackNumber":"138","dapiUid":"u-1"}"#,
        );
        let p = decode_profile(&ok).unwrap();
        assert_eq!((p.extension.as_str(), p.is_supervisor()), ("8001", false));
        let no = HttpResponse::new(
            401,
            r#"{"code":"bad_credentials","message":"登录名或密码错误（Wrong login or password）"}"#,
        );
        match decode_profile(&no) {
            Err(Error::Api(ApiError::Http { status: 401, message })) => {
                assert!(message.contains("Wrong login"))
            }
            other => panic!("{other:?}"),
        }
        assert!(decode_profile(&HttpResponse::new(200, "<html>")).is_err());
        assert!(decode_profile(&HttpResponse::new(200, r#"{"login":"x","extension":"1","role":"boss"}"#))
            .is_err());
    }

    #[test]
    fn requests_and_events() {
        let r = sign_in_request("/", " li ", "p\"w");
        assert_eq!((r.method, r.url.as_str()), (Method::Post, "/session"));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(r.body.as_deref().unwrap()).unwrap()["login"],
            "li"
        );
        assert_eq!(events_url("https://gw.example/", Some(7)), "https://gw.example/events?after=7");
        assert_eq!(GatewayEvent::decode("billing_cdr_v9", "{}").unwrap(), None);
        assert!(GatewayEvent::decode("callback_status", "not json").is_err());
        let row =
            r#"{"id":7,"uniqueid":"hwd-1.1","calldate":"2026-12-01 10:00:00","src":"8001","dst":"8002"}"#;
        match GatewayEvent::decode("billing_cdr", row).unwrap() {
            Some(GatewayEvent::BillingCdr(c)) => {
                assert_eq!((c.src.as_str(), c.uniqueid.as_str()), ("8001", "hwd-1.1"))
            }
            other => panic!("{other:?}"),
        }
        assert!(GatewayEvent::decode("billing_cdr", "[]").is_err());
    }
}
