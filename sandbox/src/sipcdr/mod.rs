//! The SIP call-record API (seed 004): `POST /sipcdr` with `service=App.Sip_Cdr.GetBill`,
//! a PhalApi service, so the `{ret, data, msg}` envelope and its `非法请求：…` errors are
//! PhalApi's. Decisions the seed leaves open follow `docs/callback-sipcdr.md`.
//!
//! Bills come from [`bills::BillBook`] (deterministic, one every 30 s of sandbox clock);
//! the only state is which bills each token has fetched (`syncflag`) and the failure
//! knob.

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};

use crate::clock::parse_cst;
use crate::AppState;

pub mod bills;

pub use bills::{Bill, BillBook};

/// The one service this API has.
pub const SERVICE: &str = "App.Sip_Cdr.GetBill";
/// The demo tokens: the seed's `ABCDEFG` and a second one, each with its own read state.
pub const DEMO_TOKENS: [&str; 2] = ["ABCDEFG", "HIJKLMN"];
/// Largest `itemsperpage` (the seed's maximum).
pub const MAX_ITEMS_PER_PAGE: i64 = 1000;
/// Largest `count` the failure knob accepts.
const MAX_FAIL_COUNT: u64 = 1_000_000;

/// The sipcdr server's mutable state.
#[derive(Debug)]
pub struct SipcdrState {
    /// The bill generator.
    pub book: BillBook,
    /// Bill ids each token has fetched with `syncflag` 1.
    pub fetched: HashMap<String, BTreeSet<u64>>,
    /// How many of the next GetBill calls answer HTTP 500.
    pub fail_remaining: u64,
    /// Whether those failures mark the bills fetched first (a lost reply).
    pub fail_after_marking: bool,
    /// GetBill calls answered so far (any outcome).
    pub requests: u64,
}

impl SipcdrState {
    /// Fresh state for a sandbox started at `start_ms` (sandbox clock).
    pub fn new(start_ms: i64) -> Self {
        Self {
            book: BillBook::new(start_ms),
            fetched: HashMap::new(),
            fail_remaining: 0,
            fail_after_marking: false,
            requests: 0,
        }
    }

    /// A JSON view for `GET /sandbox/state`: counts only (the bills are generated).
    pub fn dump(&self, now_ms: i64) -> Value {
        let count = self.book.count(now_ms);
        let fetched: HashMap<&str, usize> = self.fetched.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
        json!({
            "bills": count,
            "firstId": (count > 0).then_some(bills::FIRST_BILL_ID),
            "latestId": count.checked_sub(1).map(|n| bills::FIRST_BILL_ID.saturating_add(n)),
            "fetched": fetched,
            "requests": self.requests,
            "fail": {"count": self.fail_remaining, "afterMarking": self.fail_after_marking},
        })
    }
}

/// `POST /sipcdr` and `POST /sipcdr/` (the seed's `apiUrl`).
pub fn router() -> Router<AppState> {
    Router::new().route("/sipcdr", post(get_bill)).route("/sipcdr/", post(get_bill))
}

/// Sandbox-only routes, relative to `/sandbox`: `POST /sipcdr/fail {count, afterMarking?}`.
pub fn sandbox_router() -> Router<AppState> {
    Router::new().route("/sipcdr/fail", post(fail_knob))
}

/// The PhalApi envelope, keys in its order.
#[derive(Debug, Serialize)]
struct Envelope<T: Serialize> {
    ret: u16,
    data: T,
    msg: String,
}

/// `data` of a successful GetBill.
#[derive(Debug, Serialize)]
struct GetBillData {
    status: u8,
    desc: &'static str,
    result: BillPage,
    reqtime: i64,
    rsptime: i64,
}

#[derive(Debug, Serialize)]
struct BillPage {
    totalitems: u64,
    currentpage: u64,
    itemsperpage: u64,
    bills: Vec<Bill>,
}

/// An error envelope: PhalApi answers HTTP 200 and puts the outcome in `ret`.
fn refuse(ret: u16, msg: impl Into<String>) -> Response {
    Json(Envelope { ret, data: json!({}), msg: msg.into() }).into_response()
}

/// 400 `非法请求：<detail>`.
fn illegal(detail: impl AsRef<str>) -> Response {
    refuse(400, format!("非法请求：{}", detail.as_ref()))
}

/// The request's parameters as PHP's `$_REQUEST` would hold them: the query string, then
/// the body (`multipart/form-data` or `x-www-form-urlencoded`), later values winning.
/// Uploaded files are ignored, as they land in `$_FILES`.
async fn read_params(req: Request) -> Result<HashMap<String, String>, String> {
    let mut params: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if content_type.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(req, &()).await.map_err(|e| format!("表单格式错误：{e}"))?;
        while let Some(field) = form.next_field().await.map_err(|e| format!("表单格式错误：{e}"))? {
            let Some(name) = field.name().map(str::to_string) else {
                continue;
            };
            if field.file_name().is_some() {
                continue;
            }
            let value = field.text().await.map_err(|e| format!("表单格式错误：{e}"))?;
            params.insert(name, value);
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let body = Bytes::from_request(req, &()).await.map_err(|e| format!("无法读取请求体：{e}"))?;
        params.extend(form_urlencoded::parse(&body).into_owned());
    }
    Ok(params)
}

/// A parameter's trimmed value; blank counts as absent (PHP's `empty()` defaults).
fn param<'a>(p: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    p.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// A validated GetBill request.
#[derive(Debug)]
struct BillQuery {
    token: String,
    from_ms: i64,
    to_ms: i64,
    syncflag: i64,
    direction: i64,
    callmethod: i64,
    currentpage: u64,
    itemsperpage: u64,
    extnumbers: Vec<String>,
    destnumber: Option<String>,
    userid: Option<String>,
    memberid: Option<String>,
    chengshudu: Option<String>,
    customuuid: Option<String>,
}

impl BillQuery {
    /// Parses and checks every parameter but `service` and `token`; `Err` is the 400.
    fn parse(p: &HashMap<String, String>, token: &str) -> Result<Self, String> {
        let time = |key: &str| -> Result<i64, String> {
            let raw = param(p, key).ok_or_else(|| format!("缺少必要参数{key}"))?;
            parse_cst(raw).ok_or_else(|| format!("{key} 格式应为 yyyy-mm-dd hh:mm:ss"))
        };
        let int = |key: &str, default: i64, allowed: std::ops::RangeInclusive<i64>| -> Result<i64, String> {
            let Some(raw) = param(p, key) else {
                return Ok(default);
            };
            match raw.parse::<i64>() {
                Ok(n) if allowed.contains(&n) => Ok(n),
                Ok(_) if key == "itemsperpage" => {
                    Err(format!("itemsperpage 须在 1-{MAX_ITEMS_PER_PAGE} 之间"))
                }
                Ok(_) => Err(format!("{key} 只能是 {}-{}", allowed.start(), allowed.end())),
                Err(_) => Err(format!("{key} 必须是整数")),
            }
        };
        let from_ms = time("starttime")?;
        let to_ms = time("endtime")?;
        if to_ms < from_ms {
            return Err("endtime 不能早于 starttime".to_string());
        }
        let syncflag = int("syncflag", 1, 1..=3)?;
        let direction = int("direction", 3, 1..=3)?;
        let callmethod = int("callmethod", 3, 0..=6)?;
        let currentpage = int("currentpage", 1, 1..=i64::MAX)?;
        let itemsperpage = int("itemsperpage", 10, 1..=MAX_ITEMS_PER_PAGE)?;
        let text = |key: &str| param(p, key).map(str::to_string);
        Ok(Self {
            token: token.to_string(),
            from_ms,
            to_ms,
            syncflag,
            direction,
            callmethod,
            // Both positive by the ranges above.
            currentpage: currentpage.unsigned_abs(),
            itemsperpage: itemsperpage.unsigned_abs(),
            extnumbers: param(p, "extnumber")
                .map(|s| s.split(',').map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect())
                .unwrap_or_default(),
            destnumber: text("destnumber"),
            userid: text("userid"),
            memberid: text("memberid"),
            chengshudu: text("chengshudu"),
            customuuid: text("customuuid"),
        })
    }

    /// Whether `b` passes the time window and every filter (not `syncflag`).
    fn matches(&self, b: &Bill) -> bool {
        let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        (self.from_ms..=self.to_ms).contains(&b.start_ms)
            && match self.direction {
                1 => b.direction == "callin",
                2 => b.direction == "callout",
                _ => true,
            }
            && (self.callmethod == 0 || i64::from(b.callmethod) == self.callmethod)
            && (self.extnumbers.is_empty() || self.extnumbers.contains(&b.extnumber))
            && same(&self.destnumber, &b.destnumber)
            && same(&self.userid, &b.userid)
            && same(&self.memberid, &b.memberid)
            && same(&self.chengshudu, &b.chengshudu)
            && same(&self.customuuid, &b.customuuid)
    }
}

/// `POST /sipcdr`: `App.Sip_Cdr.GetBill` (see the module docs and docs/callback-sipcdr.md).
pub async fn get_bill(State(state): State<AppState>, req: Request) -> Response {
    let reqtime = state.clock.now_ms().div_euclid(1000);
    let params = match read_params(req).await {
        Ok(p) => p,
        Err(e) => return illegal(e),
    };
    // PhalApi also takes the short `s`.
    let service = param(&params, "service").or_else(|| param(&params, "s"));
    match service {
        None => return illegal("缺少必要参数service"),
        Some(s) if s != SERVICE => return illegal(format!("接口服务{s}不存在")),
        Some(_) => {}
    }
    let failure = {
        let mut s = state.sipcdr();
        s.requests = s.requests.saturating_add(1);
        (s.fail_remaining > 0).then(|| {
            s.fail_remaining -= 1;
            s.fail_after_marking
        })
    };
    if failure == Some(false) {
        return server_error();
    }
    let reply = answer(&state, &params, reqtime);
    if failure == Some(true) {
        // The bills were marked fetched above, then the reply is "lost".
        return server_error();
    }
    reply
}

/// What PHP sends for an uncaught error: HTTP 500, no body.
fn server_error() -> Response {
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

fn answer(state: &AppState, params: &HashMap<String, String>, reqtime: i64) -> Response {
    let token = match param(params, "token") {
        Some(t) if DEMO_TOKENS.contains(&t) => t,
        _ => return refuse(401, "token无效"),
    };
    let q = match BillQuery::parse(params, token) {
        Ok(q) => q,
        Err(e) => return illegal(e),
    };
    let now = state.clock.now_ms();
    let mut s = state.sipcdr();
    let book = s.book;
    let fetched = s.fetched.entry(q.token.clone()).or_default();
    let skip = (q.currentpage - 1).saturating_mul(q.itemsperpage);
    let mut total: u64 = 0;
    let mut page: Vec<Bill> = Vec::new();
    for n in book.candidates(q.from_ms, q.to_ms, now) {
        let b = book.bill(n);
        if !q.matches(&b) {
            continue;
        }
        let seen = fetched.contains(&b.id);
        let selected = match q.syncflag {
            1 => !seen,
            2 => seen,
            _ => true,
        };
        if !selected {
            continue;
        }
        if total >= skip && (page.len() as u64) < q.itemsperpage {
            page.push(b);
        }
        total += 1;
    }
    if q.syncflag == 1 {
        fetched.extend(page.iter().map(|b| b.id));
    }
    let data = GetBillData {
        status: 0,
        desc: "获取成功",
        result: BillPage {
            totalitems: total,
            currentpage: q.currentpage,
            itemsperpage: q.itemsperpage,
            bills: page,
        },
        reqtime,
        rsptime: now.div_euclid(1000),
    };
    Json(Envelope { ret: 200, data, msg: String::new() }).into_response()
}

/// `POST /sandbox/sipcdr/fail {"count": N, "afterMarking"?: bool}`: the next N GetBill
/// calls answer HTTP 500; with `afterMarking` they first do their work (a `syncflag` 1
/// call marks its page fetched), so the reply is lost after the server moved on.
async fn fail_knob(State(state): State<AppState>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        let count = v.get("count")?.as_u64().filter(|c| *c <= MAX_FAIL_COUNT)?;
        let after = match v.get("afterMarking") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return None,
        };
        Some((count, after))
    });
    let Some((count, after)) = parsed else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "expected {\"count\": N, \"afterMarking\": bool} with 0 <= N <= 1000000"})),
        )
            .into_response();
    };
    let mut s = state.sipcdr();
    s.fail_remaining = count;
    s.fail_after_marking = after;
    Json(json!({"count": count, "afterMarking": after})).into_response()
}
