//! The supervisor page as a pure reducer: queues with their agents and
//! waiting callers, extension states (to find a ringing or talking target),
//! trunks, and the supervisor's actions (redirect, pickup, barge, monitor,
//! whisper). Time (wall-clock ms) comes in with the actions, so the
//! durations tick between refreshes.

use crate::pbx::agent_desk::{queue_list, reported_queues};
use crate::Error;
use agent_console_wire::pbx::{
    AgentState, AgentStatus, EndpointStatus, TargetAction, TrunkStatus, WaitingCaller,
};
use std::collections::BTreeMap;

/// One queue as last reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueView {
    /// Its agents (`status/queue`).
    pub agents: Vec<AgentStatus>,
    /// Its waiting callers (`status/wait`), by position.
    pub waiting: Vec<WaitingCaller>,
    /// Waiting callers in all (may exceed the page).
    pub waiting_total: u64,
    /// When this was fetched.
    pub at_ms: u64,
    /// Whether it has been fetched at least once.
    pub loaded: bool,
    /// The last refresh failed.
    pub error: Option<Error>,
}

/// Everything the supervisor page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupervisorView {
    /// Queues by number.
    pub queues: BTreeMap<String, QueueView>,
    /// Extension states (`status/endpoint`).
    pub endpoints: Vec<EndpointStatus>,
    /// Trunks (`status/trunk`).
    pub trunks: Vec<TrunkStatus>,
    /// Whether trunks have been fetched at least once.
    pub trunks_loaded: bool,
    /// The last trunk refresh failed.
    pub trunks_error: Option<Error>,
    /// The action in flight and its target.
    pub pending: Option<(TargetAction, String)>,
    /// The last action that succeeded and its target.
    pub done: Option<(TargetAction, String)>,
    /// The last action's failure.
    pub error: Option<Error>,
    /// The queues the PBX reported last (every agent's `getAgentStatus`).
    pub pbx_queues: Vec<String>,
    /// The queues `config.json` names.
    pub configured_queues: Vec<String>,
}

/// Everything that changes the supervisor page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupervisorAction {
    /// A queue refresh arrived.
    Queue {
        /// Which.
        queue: String,
        /// Agents.
        agents: Vec<AgentStatus>,
        /// Waiting callers.
        waiting: Vec<WaitingCaller>,
        /// Waiting in all.
        waiting_total: u64,
        /// Now.
        now_ms: u64,
    },
    /// A queue refresh failed.
    QueueFailed {
        /// Which.
        queue: String,
        /// Why.
        error: Error,
    },
    /// Every agent's `getAgentStatus` rows arrived (the PBX's queues).
    Roster(Vec<AgentStatus>),
    /// The queues `config.json` names.
    Configured(Vec<String>),
    /// Extension states arrived.
    Endpoints(Vec<EndpointStatus>),
    /// Trunks arrived.
    Trunks(Vec<TrunkStatus>),
    /// The trunk refresh failed.
    TrunksFailed(Error),
    /// An action left.
    Started(TargetAction, String),
    /// It succeeded.
    Done,
    /// It failed.
    Failed(Error),
    /// Input refused before any request.
    Refused(Error),
    /// Close the error / confirmation.
    Dismiss,
    /// Signed out.
    Reset,
}

impl SupervisorView {
    /// The state after `action`.
    pub fn reduce(mut self, action: SupervisorAction) -> Self {
        use SupervisorAction::*;
        match action {
            Queue { queue, agents, mut waiting, waiting_total, now_ms } => {
                waiting.sort_by_key(|w| w.serial_no);
                self.queues.insert(
                    queue,
                    QueueView { agents, waiting, waiting_total, at_ms: now_ms, loaded: true, error: None },
                );
            }
            QueueFailed { queue, error } => self.queues.entry(queue).or_default().error = Some(error),
            Roster(rows) => self.pbx_queues = queue_list(reported_queues(&rows), []),
            Configured(queues) => self.configured_queues = queues,
            Endpoints(rows) => self.endpoints = rows,
            Trunks(rows) => {
                self.trunks = rows;
                self.trunks_loaded = true;
                self.trunks_error = None;
            }
            TrunksFailed(e) => self.trunks_error = Some(e),
            Started(a, dest) => {
                self.pending = Some((a, dest));
                self.error = None;
                self.done = None;
            }
            Done => {
                let done = self.pending.take();
                // The caller left the queue: drop it now, the refresh confirms.
                if let Some((TargetAction::Redirect, dest)) = &done {
                    for q in self.queues.values_mut() {
                        q.waiting.retain(|w| &w.callerid != dest && &w.linkedid != dest);
                    }
                }
                self.done = done;
            }
            Failed(e) => {
                self.pending = None;
                self.error = Some(e);
            }
            Refused(e) => {
                self.error = Some(e);
                self.done = None;
            }
            Dismiss => {
                self.error = None;
                self.done = None;
            }
            // Signed out: config.json stays.
            Reset => {
                self =
                    SupervisorView { configured_queues: self.configured_queues, ..SupervisorView::default() }
            }
        }
        self
    }

    /// The queues the page shows: the PBX's and config.json's (see
    /// [`queue_list`]), plus any already fetched.
    pub fn queue_list(&self) -> Vec<String> {
        queue_list(
            self.pbx_queues.iter().map(String::as_str).chain(self.queues.keys().map(String::as_str)),
            self.configured_queues.iter().map(String::as_str),
        )
    }

    /// The waiting callers of every listed queue, queue by queue, each by
    /// position.
    pub fn waiting(&self) -> Vec<(String, &WaitingCaller)> {
        self.queue_list()
            .into_iter()
            .filter_map(|q| self.queues.get(&q).map(|v| (q, v)))
            .flat_map(|(q, v)| v.waiting.iter().map(move |w| (q.clone(), w)))
            .collect()
    }

    /// Seconds an agent has been in its state at `now_ms`.
    pub fn agent_secs(&self, queue: &str, a: &AgentStatus, now_ms: u64) -> u64 {
        a.status_duration.saturating_add(self.elapsed(queue, now_ms))
    }

    /// Seconds a caller has waited at `now_ms`.
    pub fn wait_secs(&self, queue: &str, w: &WaitingCaller, now_ms: u64) -> u64 {
        w.wait_time.saturating_add(self.elapsed(queue, now_ms))
    }

    fn elapsed(&self, queue: &str, now_ms: u64) -> u64 {
        self.queues.get(queue).map_or(0, |q| now_ms.saturating_sub(q.at_ms) / 1000)
    }

    /// Extensions that are ringing: agents with status 2 and endpoints
    /// whose state says ringing.
    pub fn ringing(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .queues
            .values()
            .flat_map(|q| q.agents.iter())
            .filter(|a| a.status == AgentState::Ringing)
            .map(|a| a.extension.clone())
            .chain(self.endpoints.iter().filter(|e| e.state.is_ringing()).map(|e| e.endpoint.clone()))
            .filter(|e| !e.is_empty())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Extensions in an answered call: talking agents and busy endpoints.
    pub fn talking(&self) -> Vec<String> {
        let ringing = self.ringing();
        let mut out: Vec<String> = self
            .queues
            .values()
            .flat_map(|q| q.agents.iter())
            .filter(|a| {
                matches!(a.status, AgentState::Talking | AgentState::OutboundWork | AgentState::Pickup)
            })
            .map(|a| a.extension.clone())
            .chain(self.endpoints.iter().filter(|e| e.state.is_busy()).map(|e| e.endpoint.clone()))
            .filter(|e| !e.is_empty() && !ringing.contains(e))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every extension the page knows, for the target picker, except `own`.
    pub fn targets(&self, own: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .endpoints
            .iter()
            .map(|e| e.endpoint.clone())
            .chain(self.queues.values().flat_map(|q| q.agents.iter().map(|a| a.extension.clone())))
            .filter(|e| !e.is_empty() && e != own)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The target the picker shows when the supervisor has chosen none: a
    /// ringing extension, else one in a call, else the first known.
    pub fn default_target(&self, own: &str) -> Option<String> {
        let not_own = |v: Vec<String>| v.into_iter().find(|e| e != own);
        not_own(self.ringing())
            .or_else(|| not_own(self.talking()))
            .or_else(|| self.targets(own).into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agent(ext: &str, status: &str, secs: u64) -> AgentStatus {
        serde_json::from_value(
            json!({"extension": ext, "queue": "200", "status": status, "statusDuration": secs}),
        )
        .unwrap()
    }

    fn caller(n: u64, num: &str, wait: &str) -> WaitingCaller {
        serde_json::from_value(
            json!({"serialNo": n, "callerid": num, "linkedid": format!("l{n}"), "waitTime": wait}),
        )
        .unwrap()
    }

    fn endpoint(ext: &str, state: &str) -> EndpointStatus {
        serde_json::from_value(json!({"endpoint": ext, "state": state})).unwrap()
    }

    fn loaded() -> SupervisorView {
        SupervisorView::default().reduce(SupervisorAction::Queue {
            queue: "200".into(),
            agents: vec![agent("8002", "通话中", 30), agent("8003", "振铃", 2), agent("8004", "就绪", 100)],
            waiting: vec![caller(2, "18312340002", "0:05"), caller(1, "18312340001", "1:10")],
            waiting_total: 2,
            now_ms: 10_000,
        })
    }

    #[test]
    fn queues_sort_callers_and_tick() {
        let s = loaded();
        let q = &s.queues["200"];
        assert!(q.loaded);
        assert_eq!(q.waiting[0].callerid, "18312340001");
        assert_eq!(s.wait_secs("200", &q.waiting[0], 12_500), 72);
        assert_eq!(s.agent_secs("200", &q.agents[0], 10_999), 30);
        assert_eq!(s.agent_secs("300", &q.agents[0], 99_999), 30);
        let s = s
            .reduce(SupervisorAction::QueueFailed { queue: "300".into(), error: Error::Network("x".into()) });
        assert!(s.queues["300"].error.is_some() && !s.queues["300"].loaded);
        // A failed refresh keeps the rows of before.
        let s = s
            .reduce(SupervisorAction::QueueFailed { queue: "200".into(), error: Error::Network("x".into()) });
        assert_eq!(s.queues["200"].agents.len(), 3);
    }

    #[test]
    fn targets_ringing_and_talking() {
        let s = loaded().reduce(SupervisorAction::Endpoints(vec![
            endpoint("8001", "Not in use"),
            endpoint("8005", "Ringing"),
            endpoint("8002", "In use"),
            endpoint("8003", "In use"),
        ]));
        assert_eq!(s.ringing(), vec!["8003".to_string(), "8005".to_string()]);
        assert_eq!(s.talking(), vec!["8002".to_string()]);
        assert_eq!(s.targets("8001"), vec!["8002", "8003", "8004", "8005"]);
        assert_eq!(s.default_target("8001").as_deref(), Some("8003"));
        assert_eq!(s.default_target("8003").as_deref(), Some("8005"));
        assert_eq!(SupervisorView::default().default_target("8001"), None);
    }

    #[test]
    fn redirect_removes_the_caller_and_failures_show() {
        let s = loaded().reduce(SupervisorAction::Started(TargetAction::Redirect, "18312340001".into()));
        assert!(s.pending.is_some());
        let s = s.reduce(SupervisorAction::Done);
        assert_eq!(s.pending, None);
        assert_eq!(s.done, Some((TargetAction::Redirect, "18312340001".into())));
        assert_eq!(s.queues["200"].waiting.len(), 1);
        let s = s.reduce(SupervisorAction::Started(TargetAction::Barge, "8002".into()));
        assert_eq!(s.done, None);
        let e = Error::Api(agent_console_wire::ApiError::Vendor {
            code: "600011".into(),
            message: String::new(),
        });
        let s = s.reduce(SupervisorAction::Failed(e));
        assert_eq!(s.pending, None);
        assert_eq!(s.error.as_ref().map(|e| e.code()), Some("600011".into()));
        let s = s.reduce(SupervisorAction::Dismiss);
        assert_eq!(s.error, None);
        assert_eq!(s.reduce(SupervisorAction::Reset), SupervisorView::default());
    }

    #[test]
    fn the_queues_are_the_pbx_s_and_config_s() {
        let s = SupervisorView::default();
        assert!(s.queue_list().is_empty());
        let roster: Vec<AgentStatus> = ["620", "610", "620"]
            .iter()
            .map(|q| serde_json::from_value(json!({"extension": "8002", "queue": q, "status": "0"})).unwrap())
            .collect();
        let s = s
            .reduce(SupervisorAction::Roster(roster))
            .reduce(SupervisorAction::Configured(vec!["630".into()]));
        assert_eq!(s.queue_list(), ["610", "620", "630"]);
        let s = s.reduce(SupervisorAction::Queue {
            queue: "630".into(),
            agents: vec![],
            waiting: vec![caller(2, "18312340002", "0:05"), caller(1, "18312340001", "1:10")],
            waiting_total: 2,
            now_ms: 1_000,
        });
        let w: Vec<(String, String)> =
            s.waiting().into_iter().map(|(q, w)| (q, w.callerid.clone())).collect();
        assert_eq!(w, [("630".to_string(), "18312340001".to_string()), ("630".into(), "18312340002".into())]);
        let s = s.reduce(SupervisorAction::Reset);
        assert_eq!(s.queue_list(), ["630"], "config.json outlives a sign-out");
    }

    #[test]
    fn trunks() {
        let t: TrunkStatus =
            serde_json::from_value(json!({"endpoint": "trunkHWD", "state": "In use"})).unwrap();
        let s = SupervisorView::default().reduce(SupervisorAction::TrunksFailed(Error::Network("x".into())));
        assert!(s.trunks_error.is_some());
        let s = s.reduce(SupervisorAction::Trunks(vec![t]));
        assert!(s.trunks_loaded && s.trunks_error.is_none());
    }
}
