//! One app user's dapi client: the typed calls over an injected
//! [`HttpClient`], and [`DapiSession::execute`], which carries out the call
//! engine's [`Op`]s.

pub mod call_tasks;
pub mod phone_view;
pub mod softphone;
pub mod uploads;

use crate::dapi::softphone::{Op, Reply};
use crate::session::HttpClient;
use crate::Error;
use agent_console_wire::dapi::{
    self, CallMessage, CallTaskInput, CallTaskPage, Channel, DapiApi, EventCode, JoinInfo, SystemConfig, Uid,
};
use agent_console_wire::de::Listed;
use agent_console_wire::{HttpRequest, HttpResponse, InvalidInput, Problem};

/// Largest `perpage` for the task list.
pub const TASKS_PER_PAGE_MAX: u64 = 100;

/// The dapi calls of one user (`uid`).
pub struct DapiSession<C> {
    api: DapiApi,
    uid: Uid,
    http: C,
}

impl<C: HttpClient> DapiSession<C> {
    /// A session for `uid` at `api`.
    pub fn new(api: DapiApi, uid: Uid, http: C) -> Self {
        Self { api, uid, http }
    }

    /// Our uid.
    pub fn uid(&self) -> &Uid {
        &self.uid
    }

    /// The request builder.
    pub fn api(&self) -> &DapiApi {
        &self.api
    }

    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, Error> {
        crate::session::exchange(&self.http, req).await
    }

    /// `GET /dapi/system/config`.
    pub async fn config(&self) -> Result<SystemConfig, Error> {
        Ok(dapi::decode_config(&self.send(self.api.config()).await?)?)
    }

    /// `POST /dapi/call/user`: our join data for the new channel.
    pub async fn call_users(&self, dst: &[Uid], extra_msg: Option<&str>) -> Result<JoinInfo, Error> {
        if dst.is_empty() {
            return Err(InvalidInput::new("dstUids", Problem::Required, "").into());
        }
        if let Some(m) = extra_msg {
            if m.chars().count() > dapi::EXTRA_MSG_MAX {
                return Err(InvalidInput::new(
                    "extraMsg",
                    Problem::TooLong { max: dapi::EXTRA_MSG_MAX as u64 },
                    m,
                )
                .into());
            }
        }
        Ok(dapi::decode_join(&self.send(self.api.call_users(&self.uid, dst, extra_msg)).await?)?)
    }

    /// `POST /dapi/call/robot`.
    pub async fn call_robot(&self) -> Result<JoinInfo, Error> {
        Ok(dapi::decode_join(&self.send(self.api.call_robot(&self.uid)).await?)?)
    }

    /// `POST /dapi/call/msg`: the messages that decoded, and a count of
    /// those that did not.
    pub async fn messages(&self) -> Result<Listed<CallMessage>, Error> {
        Ok(dapi::decode_messages(&self.send(self.api.messages(&self.uid)).await?)?)
    }

    /// `POST /dapi/call/token`.
    pub async fn channel_token(&self, channel: &Channel) -> Result<JoinInfo, Error> {
        Ok(dapi::decode_join(&self.send(self.api.channel_token(&self.uid, channel)).await?)?)
    }

    /// `POST /dapi/call/event`.
    pub async fn report_event(
        &self,
        channel: &Channel,
        code: EventCode,
        desp: Option<&str>,
    ) -> Result<(), Error> {
        Ok(dapi::decode_empty(&self.send(self.api.event(&self.uid, channel, code, desp)).await?)?)
    }

    /// `POST /dapi/call/heartbeat`.
    pub async fn heartbeat(&self, channel: &Channel) -> Result<(), Error> {
        Ok(dapi::decode_empty(&self.send(self.api.heartbeat(&self.uid, channel)).await?)?)
    }

    /// `POST /dapi/invite/robot`.
    pub async fn invite_robot(&self, channel: &Channel) -> Result<JoinInfo, Error> {
        Ok(dapi::decode_join(&self.send(self.api.invite_robot(&self.uid, channel)).await?)?)
    }

    /// `POST /dapi/quit/robot`.
    pub async fn quit_robot(&self, channel: &Channel) -> Result<(), Error> {
        Ok(dapi::decode_empty(&self.send(self.api.quit_robot(&self.uid, channel)).await?)?)
    }

    /// `POST /dapi/calltask/update`: the row id, if the server said.
    pub async fn save_task(&self, task: &CallTaskInput) -> Result<Option<u64>, Error> {
        Ok(dapi::decode_saved_task(&self.send(self.api.save_task(&self.uid, task)).await?)?)
    }

    /// `POST /dapi/calltask/list`, page from 1, 1-100 rows per page. From a
    /// server that ignores `page`/`perpage` the page is cut out of its reply
    /// ([`dapi::fit_task_page`]): no row shows on two pages, and `withheld`
    /// counts the rows it will not send.
    pub async fn tasks(&self, page: u64, per_page: u64) -> Result<CallTaskPage, Error> {
        if page == 0 {
            return Err(InvalidInput::new("page", Problem::OutOfRange { min: 1, max: u64::MAX }, "0").into());
        }
        if !(1..=TASKS_PER_PAGE_MAX).contains(&per_page) {
            return Err(InvalidInput::new(
                "pageSize",
                Problem::OutOfRange { min: 1, max: TASKS_PER_PAGE_MAX },
                &per_page.to_string(),
            )
            .into());
        }
        let reply = dapi::decode_tasks(&self.send(self.api.tasks(&self.uid, page, per_page)).await?)?;
        if let Some(fitted) = dapi::fit_task_page(reply, page, per_page) {
            return Ok(fitted);
        }
        // It paged by its own size: read its first page, asked as the seed does
        // (page 1 of 20 sends the bare `{uid}`), and cut ours out of that.
        let first = dapi::decode_tasks(&self.send(self.api.tasks(&self.uid, 1, 20)).await?)?;
        Ok(dapi::cut_task_page(first, page, per_page))
    }

    /// Carries out one request of the call engine.
    pub async fn execute(&self, op: &Op) -> Result<Reply, Error> {
        Ok(match op {
            Op::Config => Reply::Config(self.config().await?),
            // The engine rings what decoded; an odd row must not stop the poll.
            Op::Messages => Reply::Messages(self.messages().await?.rows),
            Op::CallUsers { dst, extra_msg } => {
                Reply::Join(self.call_users(dst, extra_msg.as_deref()).await?)
            }
            Op::CallRobot => Reply::Join(self.call_robot().await?),
            Op::Token(ch) => Reply::Join(self.channel_token(ch).await?),
            Op::Event { channel, code, desp } => {
                self.report_event(channel, *code, Some(desp)).await?;
                Reply::Done
            }
            Op::Heartbeat(ch) => {
                self.heartbeat(ch).await?;
                Reply::Done
            }
            Op::InviteRobot(ch) => Reply::Join(self.invite_robot(ch).await?),
            Op::QuitRobot(ch) => {
                self.quit_robot(ch).await?;
                Reply::Done
            }
        })
    }
}
