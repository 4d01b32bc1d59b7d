//! A PBX session: the token machine driven over an injected [`HttpClient`]
//! and clock. No I/O of its own, so it runs the same in a browser (fetch)
//! and in native tests (a scripted client).

use crate::pbx::token::TokenManager;
use crate::time::Instant;
use crate::Error;
use agent_console_wire::pbx::{
    self, AgentFilter, AgentLogin, AgentPause, AgentStatus, BillingQuery, Cdr, CdrFilter, Credentials, Dial,
    Dialled, EndpointFilter, EndpointStatus, Extension, ExtensionAction, HandsetPlay, Hangup, Page,
    ParkedCall, PbxApi, QueueNumber, QueueTarget, Reply, Speech, Target, TargetAction, TokenResponse,
    Transfer, TrunkFilter, TrunkStatus, Voicemail, VoicemailFilter, WaitingCaller,
};
use agent_console_wire::{ApiError, HttpRequest, HttpResponse};
use futures::lock::Mutex;
use std::cell::RefCell;
use std::rc::Rc;

/// Sends one HTTP request. `Err` means no HTTP answer at all (network).
#[allow(async_fn_in_trait)] // single-threaded (wasm) by design: no Send bound wanted
pub trait HttpClient {
    /// Sends `req` and returns the status and body.
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String>;
}

impl<T: HttpClient> HttpClient for Rc<T> {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        (**self).send(req).await
    }
}

/// Sends `req` through `http` and holds the reply to the request's cap
/// ([`HttpRequest::max_body`]): a longer body, or one the transport stopped
/// reading, is [`agent_console_wire::ApiError::TooLarge`], whatever the transport.
pub async fn exchange<C: HttpClient + ?Sized>(http: &C, req: HttpRequest) -> Result<HttpResponse, Error> {
    let limit = req.max_body;
    let resp = http.send(req).await.map_err(Error::Network)?;
    resp.check_size(limit)?;
    Ok(resp)
}

/// Told when the server refuses the credentials.
type RejectedHook = Rc<dyn Fn(&Error)>;

/// A clock on the caller's monotonic scale.
pub type Clock = Rc<dyn Fn() -> Instant>;

/// One PBX account's session: token lifecycle plus the typed calls.
pub struct PbxSession<C> {
    api: PbxApi,
    // `None`: behind the gateway, which holds the account and adds its own
    // token; the browser's session cookie is the only credential here.
    creds: Option<Credentials>,
    // Behind the gateway: it answered 401 (the agent's session ended).
    gateway_refused: std::cell::Cell<bool>,
    http: C,
    clock: Clock,
    tokens: RefCell<TokenManager>,
    // Set by `logout`: tasks still holding the session get `SignedOut`
    // instead of quietly signing in again.
    closed: std::cell::Cell<bool>,
    // Callers queue here while one of them fetches a token: never two token
    // requests at once, and the others reuse the result.
    token_gate: Mutex<()>,
    // Told once when the credentials latch trips (the console signs out).
    on_rejected: RefCell<Option<RejectedHook>>,
}

impl<C: HttpClient> PbxSession<C> {
    /// A session for `creds` at `api`, sending through `http`.
    pub fn new(api: PbxApi, creds: Credentials, http: C, clock: Clock) -> Self {
        Self::with_creds(api, Some(creds), http, clock)
    }

    fn with_creds(api: PbxApi, creds: Option<Credentials>, http: C, clock: Clock) -> Self {
        // Each console's own retry jitter: its clock reading at creation.
        let seed = clock().0 ^ 0x5DEE_CE66_D1CE_4E5B;
        Self {
            api,
            creds,
            gateway_refused: std::cell::Cell::new(false),
            http,
            clock,
            tokens: RefCell::new(TokenManager::with_seed(seed)),
            closed: std::cell::Cell::new(false),
            token_gate: Mutex::new(()),
            on_rejected: RefCell::new(None),
        }
    }

    /// A session behind the agent-console gateway: no credentials and no
    /// token here (the gateway adds its own); the browser's session cookie
    /// goes with each same-origin request. A 401 means the agent's gateway
    /// session ended: every later call fails with
    /// [`Error::CredentialsRejected`] and the rejected hook is told once.
    pub fn behind_gateway(api: PbxApi, http: C, clock: Clock) -> Self {
        Self::with_creds(api, None, http, clock)
    }

    /// Whether the gateway holds the PBX account (see [`PbxSession::behind_gateway`]).
    pub fn is_behind_gateway(&self) -> bool {
        self.creds.is_none()
    }

    /// The session with its token-retry jitter seeded with `seed` rather
    /// than the clock reading at creation (which consoles opened together
    /// share). For a session that has not asked for a token yet: a token
    /// already held would be forgotten.
    pub fn with_jitter_seed(self, seed: u64) -> Self {
        Self { tokens: RefCell::new(TokenManager::with_seed(seed)), ..self }
    }

    /// The request builder this session uses.
    pub fn api(&self) -> &PbxApi {
        &self.api
    }

    /// A valid access token: the held one, or a fresh one.
    pub async fn token(&self) -> Result<String, Error> {
        if self.closed.get() {
            return Err(Error::SignedOut);
        }
        let Some(creds) = self.creds.as_ref() else {
            return Err(Error::InvalidState("the gateway holds the PBX token"));
        };
        let now = (self.clock)();
        {
            let t = self.tokens.borrow();
            // A still-valid token serves while it is not due, and while
            // someone else is already refreshing it: only callers without a
            // usable token wait for the refresh.
            if !t.wants_token(now) || t.is_requesting() {
                if let Some(tok) = t.valid_token(now) {
                    return Ok(tok.to_string());
                }
            }
        }
        // Refused credentials or a backoff: fail fast with that, sending nothing.
        {
            let t = self.tokens.borrow();
            if let Some(e) =
                t.blocked(now).filter(|_| t.credentials_rejected() || t.valid_token(now).is_none())
            {
                return Err(e);
            }
        }
        let _gate = self.token_gate.lock().await;
        if self.closed.get() {
            return Err(Error::SignedOut);
        }
        let now = (self.clock)();
        self.tokens.borrow_mut().handle_timeout(now);
        let was_rejected = self.tokens.borrow().credentials_rejected();
        let mut last_err = None;
        // At most two rounds: a refused refresh falls back to the password grant.
        for _ in 0..2 {
            let ticket = self.tokens.borrow_mut().poll_request(now);
            let Some(ticket) = ticket else { break };
            let req = self.api.token(creds, &ticket.grant);
            let outcome = match exchange(&self.http, req).await {
                Ok(resp) => TokenResponse::decode(&resp).map_err(Error::Api),
                Err(e) => Err(e),
            };
            let mut tokens = self.tokens.borrow_mut();
            match outcome {
                Ok(t) => {
                    tokens.handle_response((self.clock)(), ticket, Ok(t));
                    break;
                }
                Err(e) => {
                    let refresh = matches!(ticket.grant, pbx::TokenGrant::Refresh(_));
                    tokens.handle_response((self.clock)(), ticket, Err(e.clone()));
                    last_err = Some(e);
                    // Only a refused refresh (the machine dropped the refresh
                    // token) is worth a second, password, round.
                    if !refresh || tokens.has_refresh_token() {
                        break;
                    }
                }
            }
        }
        let now = (self.clock)();
        if !was_rejected && self.tokens.borrow().credentials_rejected() {
            let hook = self.on_rejected.borrow().clone();
            let refusal = self.tokens.borrow().blocked(now);
            if let (Some(hook), Some(e)) = (hook, refusal) {
                hook(&e);
            }
        }
        let tokens = self.tokens.borrow();
        match (tokens.valid_token(now), last_err) {
            // Refused now: this caller fails like every later one, even while
            // the old token has minutes left.
            (_, Some(e)) if tokens.credentials_rejected() => Err(tokens.blocked(now).unwrap_or(e)),
            (Some(tok), _) => Ok(tok.to_string()),
            (None, Some(e)) => Err(e),
            // Another caller's request failed while we queued: share its failure.
            (None, None) => Err(tokens
                .blocked(now)
                .unwrap_or(Error::Api(ApiError::Http { status: 401, message: "no valid token".into() }))),
        }
    }

    /// Signs in: makes sure a valid token is held. An explicit sign-in is
    /// what lifts the credentials latch and any backoff.
    pub async fn login(&self) -> Result<(), Error> {
        if self.creds.is_none() {
            // The sign-in was the gateway's (`POST /session`).
            return if self.closed.get() { Err(Error::SignedOut) } else { Ok(()) };
        }
        self.tokens.borrow_mut().allow_retry();
        self.token().await.map(|_| ())
    }

    /// Calls `f` once each time the server refuses the credentials after a
    /// successful sign-in would have let calls through (a console returns to
    /// its sign-in form).
    pub fn on_credentials_rejected(&self, f: impl Fn(&Error) + 'static) {
        *self.on_rejected.borrow_mut() = Some(Rc::new(f));
    }

    /// Whether the server refused the credentials: every call fails with
    /// [`Error::CredentialsRejected`] until [`PbxSession::login`].
    pub fn credentials_rejected(&self) -> bool {
        self.gateway_refused.get() || self.tokens.borrow().credentials_rejected()
    }

    /// Forgets the tokens and closes the session: later calls fail with
    /// [`Error::SignedOut`].
    pub fn logout(&self) {
        self.closed.set(true);
        self.tokens.borrow_mut().logout();
    }

    /// Sends an authenticated request; after a 401 it drops the token,
    /// fetches a fresh one and retries once.
    pub async fn send(&self, req: HttpRequest) -> Result<HttpResponse, Error> {
        if self.creds.is_none() {
            return self.send_through_gateway(req).await;
        }
        let mut retried = false;
        loop {
            let token = self.token().await?;
            let mut r = req.clone();
            r.set_header("Authorization", format!("Bearer {token}"));
            let resp = exchange(&self.http, r).await?;
            if resp.status == 401 && !retried {
                self.tokens.borrow_mut().handle_unauthorized(&token);
                retried = true;
                continue;
            }
            return Ok(resp);
        }
    }

    async fn send_through_gateway(&self, req: HttpRequest) -> Result<HttpResponse, Error> {
        let refusal = || {
            Error::CredentialsRejected(ApiError::Http {
                status: 401,
                message: "网关登录已失效，请重新登录（the gateway session ended: sign in again）".into(),
            })
        };
        if self.closed.get() {
            return Err(Error::SignedOut);
        }
        if self.gateway_refused.get() {
            return Err(refusal());
        }
        let resp = exchange(&self.http, req).await?;
        if resp.status != 401 {
            return Ok(resp);
        }
        let e = refusal();
        if !self.gateway_refused.replace(true) {
            let hook = self.on_rejected.borrow().clone();
            if let Some(hook) = hook {
                hook(&e);
            }
        }
        Err(e)
    }

    /// `call/dial`.
    pub async fn dial(&self, d: &Dial) -> Result<Dialled, Error> {
        let resp = self.send(self.api.dial(d)).await?;
        Ok(pbx::call::decode_dial(&resp)?.data)
    }

    /// `call/hangup`.
    pub async fn hangup(&self, h: &Hangup) -> Result<(), Error> {
        let resp = self.send(self.api.hangup(h)).await?;
        pbx::call::decode_empty(&resp)?;
        Ok(())
    }

    /// `status/endpoint`: one page of rows plus the total.
    pub async fn endpoint_status(&self, f: &EndpointFilter) -> Result<Reply<Vec<EndpointStatus>>, Error> {
        let resp = self.send(self.api.endpoint_status(f)).await?;
        Ok(pbx::status::decode_endpoints(&resp)?)
    }

    /// The held access token if it is still valid, without fetching one
    /// (the billing socket compares it with the one it connected with).
    pub fn current_token(&self) -> Option<String> {
        let now = (self.clock)();
        self.tokens.borrow().valid_token(now).map(str::to_string)
    }

    async fn call_empty(&self, req: HttpRequest) -> Result<(), Error> {
        let resp = self.send(req).await?;
        pbx::call::decode_empty(&resp)?;
        Ok(())
    }

    async fn call_rows<T: serde::de::DeserializeOwned>(
        &self,
        req: HttpRequest,
    ) -> Result<Reply<Vec<T>>, Error> {
        let resp = self.send(req).await?;
        Ok(pbx::decode_rows(&resp)?)
    }

    /// `call/transfer`.
    pub async fn transfer(&self, t: &Transfer) -> Result<(), Error> {
        self.call_empty(self.api.transfer(t)).await
    }

    /// `call/hold`, `call/unhold`, `call/park` or `call/cancelAtxfer`.
    pub async fn extension_action(
        &self,
        action: ExtensionAction,
        extension: &Extension,
    ) -> Result<(), Error> {
        self.call_empty(self.api.extension_action(action, extension)).await
    }

    /// `call/unpark`, `redirect`, `pickup`, `barge`, `monitor` or `whisper`.
    pub async fn target_action(&self, action: TargetAction, t: &Target) -> Result<(), Error> {
        self.call_empty(self.api.target_action(action, t)).await
    }

    /// `call/parkList` (rows that do not decode are in `skipped`).
    pub async fn parked_calls(&self, extension: Option<&Extension>) -> Result<Reply<Vec<ParkedCall>>, Error> {
        self.call_rows(self.api.parked_calls(extension)).await
    }

    /// `agent/login`.
    pub async fn agent_login(&self, l: &AgentLogin) -> Result<(), Error> {
        self.call_empty(self.api.agent_login(l)).await
    }

    /// `agent/logout`.
    pub async fn agent_logout(&self, extension: &Extension, queue: &QueueTarget) -> Result<(), Error> {
        self.call_empty(self.api.agent_logout(extension, queue)).await
    }

    /// `agent/pause`.
    pub async fn agent_pause(&self, p: &AgentPause) -> Result<(), Error> {
        self.call_empty(self.api.agent_pause(p)).await
    }

    /// `agent/getAgentStatus`, flattened to one row per (queue, extension)
    /// (agents that do not decode are in `skipped`).
    pub async fn agent_status(&self, f: &AgentFilter) -> Result<Reply<Vec<AgentStatus>>, Error> {
        let resp = self.send(self.api.agent_status(f)).await?;
        Ok(pbx::agent::decode_agent_status(&resp)?)
    }

    /// `status/queue`: the agents of one queue (rows that do not decode are
    /// in `skipped`).
    pub async fn queue_status(&self, queue: &QueueNumber) -> Result<Reply<Vec<AgentStatus>>, Error> {
        self.call_rows(self.api.queue_status(queue)).await
    }

    /// `status/trunk`.
    pub async fn trunk_status(&self, f: &TrunkFilter) -> Result<Reply<Vec<TrunkStatus>>, Error> {
        self.call_rows(self.api.trunk_status(f)).await
    }

    /// `status/wait`: callers waiting in a queue.
    pub async fn waiting_callers(
        &self,
        page: Page,
        queue: &QueueNumber,
    ) -> Result<Reply<Vec<WaitingCaller>>, Error> {
        self.call_rows(self.api.waiting_callers(page, queue)).await
    }

    /// `GET voicemail`.
    pub async fn voicemails(&self, f: &VoicemailFilter) -> Result<Reply<Vec<Voicemail>>, Error> {
        self.call_rows(self.api.voicemails(f)).await
    }

    /// `PUT voicemail/:id`.
    pub async fn mark_voicemail(&self, id: u64, read: bool) -> Result<(), Error> {
        self.call_empty(self.api.mark_voicemail(id, read)).await
    }

    /// `GET cdr`.
    pub async fn cdr(&self, f: &CdrFilter) -> Result<Reply<Vec<Cdr>>, Error> {
        self.call_rows(self.api.cdr(f)).await
    }

    /// `GET cdr/list`.
    pub async fn billing_cdr(&self, q: &BillingQuery) -> Result<Reply<Vec<Cdr>>, Error> {
        self.call_rows(self.api.billing_cdr(q)).await
    }

    /// `call/handsetPlay`.
    pub async fn handset_play(&self, h: &HandsetPlay) -> Result<(), Error> {
        self.call_empty(self.api.handset_play(h)).await
    }

    /// `tts/synthesize`.
    pub async fn synthesize(&self, text: &str) -> Result<Speech, Error> {
        let text = pbx::tts::check_text(text)?;
        let resp = self.send(self.api.synthesize(text)).await?;
        Ok(pbx::tts::decode_speech(&resp)?)
    }
}
