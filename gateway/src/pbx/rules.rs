//! Who may do what on the PBX (seed 003's `/api/v1/…` routes), decided
//! before anything is forwarded. Pure: the request's method, route, query
//! and JSON body in, a [`Decision`] out. Anything not listed is refused, so a
//! route the PBX adds later is closed until someone opens it here.

use crate::config::Role;
use crate::session::Session;
use crate::upstream::scalar;
use serde_json::Value;

/// The agent a request acts for.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// Own extension.
    pub extension: &'a str,
    /// Own PBX agent id (may be empty).
    pub agent_id: &'a str,
    /// Role.
    pub role: Role,
}

/// Rows of a reply an agent may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnRows {
    /// Call records whose `src` or `dst` is the extension.
    Cdr(String),
    /// Voicemail whose mailbox (`dst`) is the extension; the gateway walks
    /// every page itself so the agent's paging stays right.
    Voicemail(String),
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward as sent.
    Forward,
    /// Forward, then keep only the agent's own rows.
    ForwardOwn(OwnRows),
    /// Refuse (HTTP status, and the words).
    Refuse(Refusal),
}

/// Why a request is refused, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 403, or 429 for a rate limit.
    pub status: u16,
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl Refusal {
    /// A 403 with these words.
    pub fn forbidden(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { status: 403, zh: zh.into(), en: en.into() }
    }

    /// Both languages in one line, for the vendor envelope's `msg`.
    pub fn message(&self) -> String {
        format!("{}（{}）", self.zh, self.en)
    }
}

/// Routes that act on another agent's call: supervisors only.
const SUPERVISOR_CALLS: [&str; 5] =
    ["call/barge", "call/monitor", "call/whisper", "call/pickup", "call/redirect"];

/// Routes whose `extension` is the acting phone: it must be the agent's own.
const OWN_EXTENSION: [&str; 15] = [
    "call/dial",
    "call/transfer",
    "call/cancelAtxfer",
    "call/hangup",
    "call/hold",
    "call/unhold",
    "call/park",
    "call/unpark",
    "call/handsetPlay",
    "agent/login",
    "agent/logout",
    "agent/pause",
    "call/barge",
    "call/monitor",
    "call/whisper",
];

/// Routes counted against the per-agent call rate limit.
pub const RATE_LIMITED: [&str; 2] = ["call/dial", "call/transfer"];

fn field(body: Option<&Value>, name: &str) -> Option<String> {
    scalar(body?, name)
}

fn query<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

fn supervisors_only(route: &str) -> Refusal {
    Refusal::forbidden(format!("仅班长可以使用：{route}"), format!("{route} is for supervisors only"))
}

/// A route the gateway may put in a URL: letters, digits, `_`, `-` and
/// single `/` between segments (the wildcard arrives percent-decoded, so
/// `..`, `?` or `%2F` tricks end here).
fn plain_route(route: &str) -> bool {
    !route.is_empty()
        && route.split('/').all(|seg| !seg.is_empty())
        && route.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'/'))
}

/// Why the request's shape is refused before any rule, if it is: a route
/// that is not plain, a key given twice in the query (the PBX may read the
/// other one), a body on a GET or a query on a POST/PUT (the PBX may merge
/// them with what was checked), a field the rules read that is neither a
/// string nor a number.
fn shape_refusal(
    method: &str,
    route: &str,
    query_pairs: &[(String, String)],
    body: Option<&Value>,
) -> Option<Refusal> {
    if !plain_route(route) {
        return Some(Refusal::forbidden(format!("接口路径不合法：{route}"), format!("Not a route: {route}")));
    }
    let mut keys: Vec<&str> = query_pairs.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    if let Some(w) = keys.windows(2).find(|w| w.first() == w.last()) {
        let k = w.first().copied().unwrap_or("");
        return Some(Refusal::forbidden(
            format!("查询参数 {k} 重复"),
            format!("The query gives {k} more than once"),
        ));
    }
    if method == "GET" && body.is_some() {
        return Some(Refusal::forbidden("GET 请求不能带请求体", "A GET may not carry a body"));
    }
    if method != "GET" && !query_pairs.is_empty() {
        return Some(Refusal::forbidden(
            "该请求的参数应在请求体中",
            "This request takes its parameters in the body, not the query",
        ));
    }
    for k in ["extension", "agentid", "dest", "filename", "src", "dst"] {
        if body
            .and_then(|b| b.get(k))
            .is_some_and(|v| !matches!(v, Value::String(_) | Value::Number(_) | Value::Null))
        {
            return Some(Refusal::forbidden(
                format!("字段 {k} 应为文本或数字"),
                format!("{k} must be text or a number"),
            ));
        }
    }
    None
}

/// The decision for `method route` (the part after `/api/v1/`) with `query`
/// and `body`, for `who`, in `session` (what it was shown before).
pub fn decide(
    who: Actor<'_>,
    session: &Session,
    method: &str,
    route: &str,
    query_pairs: &[(String, String)],
    body: Option<&Value>,
) -> Decision {
    if let Some(r) = shape_refusal(method, route, query_pairs, body) {
        return Decision::Refuse(r);
    }
    let supervisor = who.role == Role::Supervisor;
    let own = |v: Option<&str>| v.is_some_and(|v| v == who.extension);
    match (method, route) {
        ("POST", r) if OWN_EXTENSION.contains(&r) || SUPERVISOR_CALLS.contains(&r) => {
            if SUPERVISOR_CALLS.contains(&r) && !supervisor {
                return Decision::Refuse(supervisors_only(r));
            }
            // `pickup`/`redirect` act from the supervisor's phone too, when it names one.
            let ext = field(body, "extension");
            let named = body.and_then(|b| b.get("extension")).is_some_and(|v| !v.is_null());
            let needs_own = OWN_EXTENSION.contains(&r) || named;
            if needs_own && !own(ext.as_deref()) {
                return Decision::Refuse(Refusal::forbidden(
                    format!(
                        "只能操作自己的分机 {}（请求的是 {}）",
                        who.extension,
                        ext.as_deref().unwrap_or("空")
                    ),
                    format!(
                        "You may act only on your own extension {} (the request named {})",
                        who.extension,
                        ext.as_deref().unwrap_or("none")
                    ),
                ));
            }
            if r == "agent/login" && !supervisor {
                // Required and own: an agent without an agent id in the file
                // cannot sign in to queues through the gateway.
                let id = field(body, "agentid");
                if who.agent_id.is_empty() || id.as_deref() != Some(who.agent_id) {
                    return Decision::Refuse(Refusal::forbidden(
                        format!("只能用自己的工号 {} 签入", who.agent_id),
                        format!("You may sign in only as your own agent id {}", who.agent_id),
                    ));
                }
            }
            if r == "call/handsetPlay" && !supervisor {
                let file = field(body, "filename").unwrap_or_default();
                if !session.recordings.ends(&file) {
                    return Decision::Refuse(Refusal::forbidden(
                        "只能在话机上播放自己的录音或留言",
                        "You may play only your own recordings and voicemail on the phone",
                    ));
                }
            }
            Decision::Forward
        }
        ("GET", "agent/getAgentStatus") => {
            let mine = own(query(query_pairs, "extension"))
                || (!who.agent_id.is_empty() && query(query_pairs, "agentid") == Some(who.agent_id));
            if supervisor || mine {
                Decision::Forward
            } else {
                Decision::Refuse(Refusal::forbidden(
                    format!("只能查看自己的座席状态（请加上 extension={}）", who.extension),
                    format!("You may read only your own agent status (add extension={})", who.extension),
                ))
            }
        }
        // Presence, parked and waiting calls: what every desk shows.
        ("GET", "status/endpoint" | "status/wait" | "call/parkList") => Decision::Forward,
        ("GET", "status/queue" | "status/trunk" | "cdr/list") if !supervisor => {
            Decision::Refuse(supervisors_only(route))
        }
        ("GET", "status/queue" | "status/trunk" | "cdr/list") => Decision::Forward,
        ("GET", "cdr") if supervisor => Decision::Forward,
        ("GET", "cdr") => {
            if own(query(query_pairs, "src")) || own(query(query_pairs, "dst")) {
                Decision::ForwardOwn(OwnRows::Cdr(who.extension.to_string()))
            } else {
                Decision::Refuse(Refusal::forbidden(
                    format!("只能查看自己的通话记录（请加上 src={0} 或 dst={0}）", who.extension),
                    format!(
                        "You may read only your own call records (add src={0} or dst={0})",
                        who.extension
                    ),
                ))
            }
        }
        ("GET", "voicemail") if supervisor => Decision::Forward,
        ("GET", "voicemail") => Decision::ForwardOwn(OwnRows::Voicemail(who.extension.to_string())),
        ("PUT", r) if r.starts_with("voicemail/") => {
            let id = r.trim_start_matches("voicemail/");
            let digits = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
            if digits && (supervisor || session.voicemails.contains(id)) {
                Decision::Forward
            } else {
                Decision::Refuse(Refusal::forbidden(
                    "只能标记自己的留言",
                    "You may mark only your own voicemail",
                ))
            }
        }
        ("POST", "tts/synthesize") => Decision::Forward,
        _ => Decision::Refuse(Refusal::forbidden(
            format!("网关未开放该接口：{method} {route}"),
            format!("The gateway does not open {method} {route}"),
        )),
    }
}

/// Whether row `r` of a reply belongs to the agent.
pub fn row_is_own(own: &OwnRows, r: &Value) -> bool {
    let is = |k: &str, ext: &str| field(Some(r), k).is_some_and(|v| v == ext);
    match own {
        OwnRows::Cdr(ext) => is("src", ext) || is("dst", ext),
        OwnRows::Voicemail(ext) => is("dst", ext),
    }
}

/// The text of a target for the audit log: the request's `extension`, then
/// `dest`, then the query's `extension`.
pub fn target(query_pairs: &[(String, String)], body: Option<&Value>) -> String {
    let e = field(body, "extension").unwrap_or_default();
    let d = field(body, "dest").unwrap_or_default();
    match (e.is_empty(), d.is_empty()) {
        (false, false) => format!("{e} -> {d}"),
        (false, true) => e,
        (true, false) => d,
        (true, true) => query(query_pairs, "extension").unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentConfig;
    use serde_json::json;
    use std::time::Instant;

    fn session(role: Role) -> Session {
        let a = AgentConfig {
            login: "li".into(),
            password_hash: String::new(),
            extension: "8001".into(),
            agent_id: "1011".into(),
            role,
            callback_number: String::new(),
            dapi_uid: String::new(),
        };
        Session::new(&a, Instant::now())
    }

    fn agent() -> Actor<'static> {
        Actor { extension: "8001", agent_id: "1011", role: Role::Agent }
    }

    fn sup() -> Actor<'static> {
        Actor { extension: "8009", agent_id: "", role: Role::Supervisor }
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn refused(d: &Decision) -> bool {
        matches!(d, Decision::Refuse(_))
    }

    #[test]
    fn call_control_only_on_the_agents_own_extension() {
        let s = session(Role::Agent);
        for r in OWN_EXTENSION.iter().filter(|r| !SUPERVISOR_CALLS.contains(r) && **r != "call/handsetPlay") {
            let mine = json!({"extension": "8001", "dest": "13800138000", "agentid": "1011"});
            assert_eq!(decide(agent(), &s, "POST", r, &[], Some(&mine)), Decision::Forward, "{r}");
            let theirs = json!({"extension": "8002", "dest": "8001"});
            assert!(refused(&decide(agent(), &s, "POST", r, &[], Some(&theirs))), "{r}");
            assert!(refused(&decide(agent(), &s, "POST", r, &[], None)), "{r} without a body");
            let number = json!({"extension": 8001, "agentid": 1011});
            assert_eq!(
                decide(agent(), &s, "POST", r, &[], Some(&number)),
                Decision::Forward,
                "{r} as a number"
            );
        }
        let other_id = json!({"extension": "8001", "agentid": "1012", "queue": "200"});
        assert!(refused(&decide(agent(), &s, "POST", "agent/login", &[], Some(&other_id))));
    }

    #[test]
    fn supervisor_actions_are_for_supervisors() {
        let s = session(Role::Agent);
        let body = json!({"extension": "8001", "dest": "8002"});
        for r in SUPERVISOR_CALLS {
            match decide(agent(), &s, "POST", r, &[], Some(&body)) {
                Decision::Refuse(why) => {
                    assert!(why.en.contains("supervisors") && why.zh.contains("班长"), "{r}")
                }
                d => panic!("{r}: {d:?}"),
            }
            let body = json!({"extension": "8009", "dest": "8002"});
            assert_eq!(decide(sup(), &s, "POST", r, &[], Some(&body)), Decision::Forward, "{r}");
            let borrowed = json!({"extension": "8003", "dest": "8002"});
            assert!(refused(&decide(sup(), &s, "POST", r, &[], Some(&borrowed))), "{r} from another phone");
        }
        let no_ext = json!({"dest": "8002"});
        assert_eq!(decide(sup(), &s, "POST", "call/pickup", &[], Some(&no_ext)), Decision::Forward);
    }

    #[test]
    fn status_and_records_follow_the_role() {
        let s = session(Role::Agent);
        let none: &[(String, String)] = &[];
        assert!(refused(&decide(agent(), &s, "GET", "agent/getAgentStatus", none, None)));
        let mine = q(&[("extension", "8001")]);
        assert_eq!(decide(agent(), &s, "GET", "agent/getAgentStatus", &mine, None), Decision::Forward);
        let by_id = q(&[("agentid", "1011")]);
        assert_eq!(decide(agent(), &s, "GET", "agent/getAgentStatus", &by_id, None), Decision::Forward);
        assert_eq!(decide(sup(), &s, "GET", "agent/getAgentStatus", none, None), Decision::Forward);
        for r in ["status/queue", "status/trunk", "cdr/list"] {
            assert!(refused(&decide(agent(), &s, "GET", r, none, None)), "{r}");
            assert_eq!(decide(sup(), &s, "GET", r, none, None), Decision::Forward, "{r}");
        }
        for r in ["status/endpoint", "status/wait", "call/parkList"] {
            assert_eq!(decide(agent(), &s, "GET", r, none, None), Decision::Forward, "{r}");
        }
        assert!(refused(&decide(agent(), &s, "GET", "cdr", none, None)));
        assert!(refused(&decide(agent(), &s, "GET", "cdr", &q(&[("src", "8002")]), None)));
        let own = Decision::ForwardOwn(OwnRows::Cdr("8001".into()));
        assert_eq!(decide(agent(), &s, "GET", "cdr", &q(&[("dst", "8001")]), None), own);
        assert_eq!(decide(sup(), &s, "GET", "cdr", none, None), Decision::Forward);
        let own = Decision::ForwardOwn(OwnRows::Voicemail("8001".into()));
        assert_eq!(decide(agent(), &s, "GET", "voicemail", none, None), own);
    }

    #[test]
    fn shown_things_only_voicemail_marks_and_phone_playback() {
        let mut s = session(Role::Agent);
        let read = json!({"is_read": "yes"});
        assert!(refused(&decide(agent(), &s, "PUT", "voicemail/38", &[], Some(&read))));
        s.voicemails.insert("38");
        assert_eq!(decide(agent(), &s, "PUT", "voicemail/38", &[], Some(&read)), Decision::Forward);
        assert!(refused(&decide(agent(), &s, "PUT", "voicemail/39", &[], Some(&read))));
        let play = json!({"extension": "8001", "filename": "/var/spool/asterisk/monitor/a.wav"});
        assert!(refused(&decide(agent(), &s, "POST", "call/handsetPlay", &[], Some(&play))));
        s.recordings.insert("monitor/a.wav");
        assert_eq!(decide(agent(), &s, "POST", "call/handsetPlay", &[], Some(&play)), Decision::Forward);
    }

    #[test]
    fn shapes_the_pbx_might_read_otherwise_are_refused() {
        let s = session(Role::Supervisor);
        let a = session(Role::Agent);
        let mine = json!({"extension": "8001"});
        // A body on a GET, a repeated key, a query on a POST.
        assert!(refused(&decide(
            agent(),
            &a,
            "GET",
            "agent/getAgentStatus",
            &q(&[("extension", "8001")]),
            Some(&json!({"extension": "8002"}))
        )));
        let twice = q(&[("extension", "8001"), ("extension", "8002")]);
        assert!(refused(&decide(agent(), &a, "GET", "agent/getAgentStatus", &twice, None)));
        let login = json!({"extension": "8001", "queue": "200"});
        assert!(
            refused(&decide(agent(), &a, "POST", "agent/login", &q(&[("agentid", "1012")]), Some(&login))),
            "agentid by query"
        );
        assert!(
            refused(&decide(agent(), &a, "POST", "agent/login", &[], Some(&login))),
            "agentid is required"
        );
        // Arrays and objects where the rules read text.
        let arr = json!({"extension": ["8001", "8002"]});
        assert!(refused(&decide(sup(), &s, "POST", "call/pickup", &[], Some(&arr))));
        let obj = json!({"extension": "8001", "agentid": {"x": 1}});
        assert!(refused(&decide(agent(), &a, "POST", "agent/login", &[], Some(&obj))));
        // Routes that would change the URL.
        for r in [
            "voicemail/..%2F..%2Foauth%2Ftoken",
            "voicemail/../../oauth/token",
            "voicemail/1?x=1",
            "call//dial",
            "call/dial/",
        ] {
            assert!(refused(&decide(sup(), &s, "PUT", r, &[], Some(&json!({"is_read": "yes"})))), "{r}");
        }
        assert!(refused(&decide(sup(), &s, "PUT", "voicemail/abc", &[], Some(&json!({"is_read": "yes"})))));
        assert_eq!(
            decide(sup(), &s, "PUT", "voicemail/38", &[], Some(&json!({"is_read": "yes"}))),
            Decision::Forward
        );
        assert_eq!(decide(agent(), &a, "POST", "call/dial", &[], Some(&mine)), Decision::Forward);
    }

    #[test]
    fn anything_unlisted_is_refused() {
        let s = session(Role::Supervisor);
        for (m, r) in [("GET", "call/dial"), ("DELETE", "voicemail/1"), ("POST", "admin/users"), ("GET", "")]
        {
            assert!(refused(&decide(sup(), &s, m, r, &[], None)), "{m} {r}");
        }
    }

    #[test]
    fn rows_and_targets() {
        let own = OwnRows::Cdr("8001".into());
        assert!(row_is_own(&own, &json!({"src": "8001", "dst": "8002"})));
        assert!(row_is_own(&own, &json!({"src": "13800138000", "dst": 8001})));
        assert!(!row_is_own(&own, &json!({"src": "8002", "dst": "8003"})));
        assert!(!row_is_own(&own, &json!("8001")));
        let vm = OwnRows::Voicemail("8001".into());
        assert!(row_is_own(&vm, &json!({"callerid": "8014", "dst": "8001"})));
        assert!(!row_is_own(&vm, &json!({"callerid": "8001", "dst": "8013"})));
        assert_eq!(target(&[], Some(&json!({"extension": "8001", "dest": "8002"}))), "8001 -> 8002");
        assert_eq!(target(&q(&[("extension", "8001")]), None), "8001");
    }
}
