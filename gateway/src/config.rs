//! The operator's TOML file (`gateway --config FILE`): where to listen, the
//! vendors' credentials, and the agents. Unknown keys are an error that names
//! the key, so a typo never silently turns a rule off.

use crate::error::GatewayError;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Days rows are kept unless `retention_days` says.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// The least `retention_days` (more than the sipcdr back-fill's three days).
pub const MIN_RETENTION_DAYS: u32 = 7;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `ADDR:PORT` to listen on (`127.0.0.1:8090`; put TLS in front).
    pub listen: String,
    /// A folder of console files served at `/` (optional).
    #[serde(default)]
    pub www: Option<PathBuf>,
    /// The folder of the SQLite database (created if missing).
    pub data: PathBuf,
    /// Days events, webhooks, billing CDRs and SIP bills are kept (default
    /// 90, at least 7: longer than the sipcdr back-fill, so a pruned bill
    /// is never fetched again). The audit log is kept.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// The PBX (seed 003).
    pub pbx: PbxConfig,
    /// The callback telco API (seed 002).
    #[serde(default)]
    pub callback: Option<CallbackConfig>,
    /// The SIP call-record pull API (seed 004).
    #[serde(default)]
    pub sipcdr: Option<SipcdrConfig>,
    /// The RTC voice-call server (seeds 000, 001).
    #[serde(default)]
    pub dapi: Option<DapiConfig>,
    /// The agents who may sign in.
    #[serde(default, rename = "agent")]
    pub agents: Vec<AgentConfig>,
}

/// `[pbx]`: the API super-user the gateway alone holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbxConfig {
    /// The interface prefix, `https://HOST:PORT/dscom-api/public`.
    pub base_url: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// The API user.
    pub username: String,
    /// Its password.
    pub password: String,
    /// The billing push socket (`wss://HOST:8282/`), optional.
    #[serde(default)]
    pub push_url: Option<String>,
}

/// `[callback]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackConfig {
    /// `http://api.v3.quanmayun.com:9090`.
    pub base_url: String,
    /// The recordings host, optional.
    #[serde(default)]
    pub record_url: Option<String>,
    /// APPID.
    pub app_id: String,
    /// APPSECRET.
    pub app_secret: String,
}

/// `[sipcdr]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipcdrConfig {
    /// The API's URL.
    pub api_url: String,
    /// Its token.
    pub token: String,
    /// Seconds between the gateway's syncs (default 30).
    #[serde(default)]
    pub sync_secs: Option<u64>,
}

/// `[dapi]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DapiConfig {
    /// `https://host`.
    pub base_url: String,
}

/// What an agent may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Acts on the agent's own extension; sees the agent's own records.
    Agent,
    /// Also barges, monitors, whispers, picks up, redirects, and sees
    /// everyone's status, records and the audit log.
    Supervisor,
}

impl Role {
    /// `"agent"` or `"supervisor"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
        }
    }
}

/// One `[[agent]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The sign-in name.
    pub login: String,
    /// An argon2 PHC string (`gateway hash-password`).
    pub password_hash: String,
    /// The agent's own PBX extension (a number or a name).
    pub extension: String,
    /// The agent's PBX agent id (工号), optional.
    #[serde(default)]
    pub agent_id: String,
    /// `agent` or `supervisor`.
    pub role: Role,
    /// The agent's phone for callback calls (the `caller`), optional.
    #[serde(default)]
    pub callback_number: String,
    /// The agent's dapi uid, optional.
    #[serde(default)]
    pub dapi_uid: String,
}

impl Config {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, GatewayError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| GatewayError::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// Parses and checks a config file's text.
    pub fn parse(text: &str) -> Result<Self, GatewayError> {
        let c: Config = toml::from_str(text).map_err(|e| GatewayError::Config(e.to_string()))?;
        c.check()?;
        Ok(c)
    }

    /// Days rows are kept (see [`Config::retention_days`]).
    pub fn retention_days(&self) -> u32 {
        self.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS)
    }

    fn check(&self) -> Result<(), GatewayError> {
        let bad = |m: String| Err(GatewayError::Config(m));
        if self.retention_days() < MIN_RETENTION_DAYS {
            return bad(format!("retention_days {}: at least {MIN_RETENTION_DAYS}", self.retention_days()));
        }
        let mut logins = HashSet::new();
        // Records and events are routed by these: two agents with one would
        // see each other's.
        let (mut extensions, mut uids, mut numbers) = (HashSet::new(), HashSet::new(), HashSet::new());
        for a in &self.agents {
            if a.login.trim().is_empty() || a.login.len() > 64 {
                return bad(format!("agent login {:?}: 1 to 64 characters", a.login));
            }
            if !logins.insert(a.login.as_str()) {
                return bad(format!("agent login {:?} is listed twice", a.login));
            }
            let taken = |set: &mut HashSet<String>, v: &str| {
                !v.trim().is_empty() && !set.insert(v.trim().to_string())
            };
            if taken(&mut extensions, &a.extension) {
                return bad(format!(
                    "agent {:?}: extension {} belongs to another agent",
                    a.login, a.extension
                ));
            }
            if taken(&mut uids, &a.dapi_uid) {
                return bad(format!("agent {:?}: dapi_uid {} belongs to another agent", a.login, a.dapi_uid));
            }
            if taken(&mut numbers, &a.callback_number) {
                return bad(format!(
                    "agent {:?}: callback_number {} belongs to another agent",
                    a.login, a.callback_number
                ));
            }
            if a.extension.trim().is_empty() {
                return bad(format!("agent {:?}: extension is required", a.login));
            }
            if argon2::PasswordHash::new(&a.password_hash).is_err() {
                return bad(format!(
                    "agent {:?}: password_hash is not a PHC string (make one with `gateway hash-password`)",
                    a.login
                ));
            }
        }
        agent_console_wire::pbx::PbxApi::new(&self.pbx.base_url, "zh-CN")
            .map_err(|e| GatewayError::Config(format!("pbx.base_url: {e}")))?;
        Ok(())
    }

    /// The agent who signs in as `login`.
    pub fn agent(&self, login: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.login == login)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$7a0pfb3Hq4e5Fq4nXbVx5mJk3bJ0D5B1L9l9tY9Hq0Q";

    fn base(extra: &str) -> String {
        format!(
            r#"listen = "127.0.0.1:0"
data = "/tmp/x"
[pbx]
base_url = "http://127.0.0.1:8081/dscom-api/public"
client_id = "4"
client_secret = "s"
username = "api"
password = "p"
{extra}"#
        )
    }

    #[test]
    fn a_file_with_agents_reads() {
        let c = Config::parse(&base(&format!(
            "[[agent]]\nlogin = \"li\"\npassword_hash = \"{HASH}\"\nextension = \"8001\"\nrole = \"agent\"\n"
        )))
        .unwrap();
        assert_eq!(c.agents.len(), 1);
        assert_eq!(c.agent("li").map(|a| a.role), Some(Role::Agent));
    }

    #[test]
    fn an_unknown_key_is_an_error_that_names_it() {
        let e = Config::parse(&base("[dapi]\nbase_url = \"http://x\"\nbaseurl = \"y\"\n")).unwrap_err();
        assert!(e.to_string().contains("baseurl"), "{e}");
        let e = Config::parse(&base("").replace("listen", "listne")).unwrap_err();
        assert!(e.to_string().contains("listne"), "{e}");
        let e = Config::parse(&base(&format!(
            "[[agent]]\nlogin = \"li\"\npassword_hash = \"{HASH}\"\nextension = \"8001\"\nrole = \"agent\"\nrights = \"all\"\n"
        )))
        .unwrap_err();
        assert!(e.to_string().contains("rights"), "{e}");
    }

    #[test]
    fn bad_agents_are_refused_with_the_reason() {
        let agent = |login: &str, hash: &str, role: &str| {
            format!("[[agent]]\nlogin = \"{login}\"\npassword_hash = \"{hash}\"\nextension = \"8001\"\nrole = \"{role}\"\n")
        };
        let twice = format!("{}{}", agent("li", HASH, "agent"), agent("li", HASH, "agent"));
        assert!(Config::parse(&base(&twice)).unwrap_err().to_string().contains("twice"));
        let shared = format!("{}{}", agent("li", HASH, "agent"), agent("wang", HASH, "agent"));
        assert!(Config::parse(&base(&shared)).unwrap_err().to_string().contains("extension 8001 belongs"));
        let plain = agent("li", "hunter2", "agent");
        assert!(Config::parse(&base(&plain)).unwrap_err().to_string().contains("hash-password"));
        let role = agent("li", HASH, "admin");
        assert!(Config::parse(&base(&role)).unwrap_err().to_string().contains("admin"));
    }
}
