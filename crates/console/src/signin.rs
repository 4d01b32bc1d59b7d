//! The sign-in form, pre-filled from `config.json` (settings, not code).

use crate::kit::Reduced;
use crate::Session;
use agent_console::transport::{self, FetchClient};
use agent_console_core::gateway::{self, Profile};
use agent_console_core::pbx::desk::{DeskAction, DeskState};
use agent_console_core::{Error, PbxSettings};
use agent_console_wire::de::string_lenient;
use agent_console_wire::pbx::Extension;
use agent_console_words::{pick, text, Text};
use serde::Deserialize;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

/// Console settings served beside the page as `config.json`: the PBX
/// settings plus the agent's extension. A deployment edits that file;
/// credentials may be left empty there.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct ConsoleConfig {
    /// Where the PBX is and which account to use.
    #[serde(flatten)]
    pub pbx: PbxSettings,
    /// The agent's extension.
    #[serde(deserialize_with = "string_lenient")]
    pub extension: String,
    /// The agent id (工号) pre-filled in the queue sign-in.
    #[serde(rename = "agentId", deserialize_with = "string_lenient")]
    pub agent_id: String,
    /// Queues to offer besides those the PBX reports (one nobody has
    /// joined yet is reported by no route): `[610, "620"]` or `"610,620"`.
    #[serde(deserialize_with = "agent_console_core::pbx::agent_desk::deserialize_queues")]
    pub queues: Vec<String>,
    /// This desk is a supervisor's: the voicemail page offers every mailbox.
    pub supervisor: bool,
    /// The click-to-call page's defaults.
    pub callback: CallbackConfig,
    /// The SIP call-records page's settings.
    pub sipcdr: SipCdrConfig,
    /// The softphone's settings.
    #[serde(default)]
    pub dapi: DapiConfig,
}

/// Softphone settings from `config.json`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DapiConfig {
    /// The dapi server (a path resolves against the page).
    #[serde(deserialize_with = "string_lenient")]
    pub base_url: String,
    /// The uid pre-filled in the "go online" form (`?uid=` in the page URL wins).
    #[serde(deserialize_with = "string_lenient")]
    pub uid: String,
    /// Use the sandbox's loopback RTC (only the sandbox has it).
    pub loopback: bool,
}

/// Click-to-call defaults from `config.json`. There is deliberately no
/// secret here: the console signs through `signerUrl`; a secret can only be
/// typed in, and lives in memory.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CallbackConfig {
    /// The call host.
    #[serde(deserialize_with = "string_lenient")]
    pub base_url: String,
    /// The recording host (empty: the call host).
    #[serde(deserialize_with = "string_lenient")]
    pub record_url: String,
    /// The account id.
    #[serde(deserialize_with = "string_lenient")]
    pub app_id: String,
    /// The embedder's signer.
    #[serde(deserialize_with = "string_lenient")]
    pub signer_url: String,
    /// The embedder's status relay (webhooks it received).
    #[serde(deserialize_with = "string_lenient")]
    pub status_url: String,
    /// The agent's own phone number, rung first.
    #[serde(deserialize_with = "string_lenient")]
    pub agent_number: String,
}

/// SIP call-record settings from `config.json`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SipCdrConfig {
    /// Where GetBill is POSTed.
    #[serde(deserialize_with = "string_lenient")]
    pub api_url: String,
    /// The API token.
    #[serde(deserialize_with = "string_lenient")]
    pub token: String,
}

impl ConsoleConfig {
    /// Fills only the fields the agent has not typed into yet.
    fn fill_blanks(&mut self, from: ConsoleConfig) {
        for (mine, theirs) in [
            (&mut self.pbx.base_url, from.pbx.base_url),
            (&mut self.pbx.client_id, from.pbx.client_id),
            (&mut self.pbx.client_secret, from.pbx.client_secret),
            (&mut self.pbx.username, from.pbx.username),
            (&mut self.pbx.password, from.pbx.password),
            (&mut self.extension, from.extension),
        ] {
            if mine.is_empty() {
                *mine = theirs;
            }
        }
        self.pbx.media_url = self.pbx.media_url.take().or(from.pbx.media_url);
        self.pbx.push_url = self.pbx.push_url.take().or(from.pbx.push_url);
        self.pbx.spool_dir = self.pbx.spool_dir.take().or(from.pbx.spool_dir);
        if self.agent_id.is_empty() {
            self.agent_id = from.agent_id;
        }
        self.pbx.language = self.pbx.language.take().or(from.pbx.language);
    }
}

thread_local! {
    // The pages mount after sign-in: they reuse what the sign-in form loaded.
    static LOADED: std::cell::RefCell<Option<ConsoleConfig>> = const { std::cell::RefCell::new(None) };
}

/// Loads `config.json` beside the page once (a later call reuses a good
/// load); defaults when it is missing or unreadable, retried next time.
pub(crate) async fn load_config() -> ConsoleConfig {
    if let Some(c) = LOADED.with(|l| l.borrow().clone()) {
        return c;
    }
    let mut fallback = ConsoleConfig::default();
    fallback.pbx.base_url = "/dscom-api/public".into();
    let loaded = match gloo_net::http::Request::get("config.json").send().await {
        Ok(r) if r.ok() => r.json::<ConsoleConfig>().await.ok(),
        _ => None,
    };
    match loaded {
        Some(c) => {
            LOADED.with(|l| *l.borrow_mut() = Some(c.clone()));
            c
        }
        None => fallback,
    }
}

#[derive(Properties, PartialEq)]
pub struct SignInProps {
    pub desk: UseReducerHandle<Reduced<DeskState>>,
    pub on_signed_in: Callback<Session>,
}

fn field(
    id: &'static str,
    label: &'static str,
    value: &str,
    kind: &'static str,
    oninput: Callback<InputEvent>,
) -> Html {
    html! {
        <label for={id}>{ label }
            <input id={id} name={id} type={kind} value={value.to_string()} {oninput} autocomplete="off" />
        </label>
    }
}

/// Opens the PBX session behind the gateway for `profile` (no request sent).
fn open_behind_gateway(cfg: &ConsoleConfig, profile: Profile) -> Result<(Session, Extension), Error> {
    let mut pbx = cfg.pbx.clone();
    pbx.gateway = true;
    let opened = transport::open_pbx(&pbx)?;
    let ext = Extension::parse("extension", &profile.extension)?;
    let session = Session {
        pbx: Rc::new(opened.session),
        media_url: opened.media_url.into(),
        push_url: opened.push_url.into(),
        spool_dir: opened.spool_dir.into(),
        profile: Some(Rc::new(profile)),
    };
    Ok((session, ext))
}

/// The console's sign-in: the gateway's (the agent's own login) when
/// `config.json` says `"gateway": true`, else the PBX account's form.
#[function_component(SignIn)]
pub fn sign_in(props: &SignInProps) -> Html {
    let mode = use_state(|| None::<ConsoleConfig>);
    {
        let mode = mode.clone();
        use_effect_with((), move |_| {
            spawn_local(async move { mode.set(Some(load_config().await)) });
        });
    }
    match &*mode {
        None => html! { <p class="muted">{ text(props.desk.lang, Text::SigningIn) }</p> },
        Some(c) if c.pbx.gateway => html! {
            <GatewaySignIn desk={props.desk.clone()} on_signed_in={props.on_signed_in.clone()} cfg={c.clone()} />
        },
        Some(_) => {
            html! { <DirectSignIn desk={props.desk.clone()} on_signed_in={props.on_signed_in.clone()} /> }
        }
    }
}

#[derive(Properties, PartialEq)]
struct GatewayProps {
    desk: UseReducerHandle<Reduced<DeskState>>,
    on_signed_in: Callback<Session>,
    cfg: ConsoleConfig,
}

/// The agent's own login and password, checked by the gateway; a reload
/// finds the session still open (`GET /session`) and skips the form.
#[function_component(GatewaySignIn)]
fn gateway_sign_in(props: &GatewayProps) -> Html {
    let login = use_state(String::new);
    let password = use_state(String::new);
    let in_flight = use_mut_ref(|| false);
    let finish = {
        let (desk, on_signed_in, cfg) =
            (props.desk.dispatcher(), props.on_signed_in.clone(), props.cfg.clone());
        Callback::from(move |profile: Profile| match open_behind_gateway(&cfg, profile) {
            Ok((session, ext)) => {
                on_signed_in.emit(session);
                desk.dispatch(DeskAction::SignedIn(ext));
            }
            Err(e) => desk.dispatch(DeskAction::SignInFailed(e)),
        })
    };
    {
        let finish = finish.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                if let Ok(Some(p)) = gateway::current(&FetchClient, &crate::gateway::base()).await {
                    finish.emit(p);
                }
            });
        });
    }
    let onsubmit = {
        let (login, password, desk, in_flight) =
            (login.clone(), password.clone(), props.desk.dispatcher(), in_flight.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if std::mem::replace(&mut *in_flight.borrow_mut(), true) {
                return;
            }
            desk.dispatch(DeskAction::SignInStarted);
            let (l, p, desk, finish, in_flight) =
                ((*login).clone(), (*password).clone(), desk.clone(), finish.clone(), in_flight.clone());
            spawn_local(async move {
                match gateway::sign_in(&FetchClient, &crate::gateway::base(), &l, &p).await {
                    Ok(profile) => finish.emit(profile),
                    Err(err) => desk.dispatch(DeskAction::SignInFailed(err)),
                }
                *in_flight.borrow_mut() = false;
            });
        })
    };
    let set = |h: &UseStateHandle<String>| {
        let h = h.clone();
        Callback::from(move |e: InputEvent| h.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let lang = props.desk.lang;
    let busy = props.desk.pending.sign_in;
    html! {
        <form id="signin" class="card signin" data-mode="gateway" {onsubmit}>
            <h2>{ text(lang, Text::SignIn) }</h2>
            { field("login", pick(lang, "登录名", "Login"), &login, "text", set(&login)) }
            { field("password", text(lang, Text::Password), &password, "password", set(&password)) }
            <button id="signin-submit" type="submit" disabled={busy}>
                { text(lang, if busy { Text::SigningIn } else { Text::SignIn }) }
            </button>
        </form>
    }
}

#[function_component(DirectSignIn)]
fn direct_sign_in(props: &SignInProps) -> Html {
    let cfg = use_state(ConsoleConfig::default);
    let in_flight = use_mut_ref(|| false);
    {
        let cfg = cfg.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                let loaded = load_config().await;
                // The agent may have typed while it loaded: keep that.
                let mut c = (*cfg).clone();
                c.fill_blanks(loaded);
                cfg.set(c);
            });
        });
    }
    let lang = props.desk.lang;
    let setter = |f: fn(&mut ConsoleConfig, String)| {
        let cfg = cfg.clone();
        Callback::from(move |e: InputEvent| {
            let mut c = (*cfg).clone();
            f(&mut c, e.target_unchecked_into::<HtmlInputElement>().value());
            cfg.set(c);
        })
    };
    let onsubmit = {
        let cfg = cfg.clone();
        let desk = props.desk.dispatcher();
        let on_signed_in = props.on_signed_in.clone();
        let in_flight = in_flight.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // A second click while signing in does nothing.
            if std::mem::replace(&mut *in_flight.borrow_mut(), true) {
                return;
            }
            let c = (*cfg).clone();
            let built = (|| -> Result<(Session, Extension), Error> {
                let opened = transport::open_pbx(&c.pbx)?;
                let ext = Extension::parse("extension", &c.extension)?;
                let session = Session {
                    pbx: Rc::new(opened.session),
                    media_url: opened.media_url.into(),
                    push_url: opened.push_url.into(),
                    spool_dir: opened.spool_dir.into(),
                    profile: None,
                };
                Ok((session, ext))
            })();
            let (session, ext) = match built {
                Ok(v) => v,
                Err(err) => {
                    *in_flight.borrow_mut() = false;
                    desk.dispatch(DeskAction::Refused(err));
                    return;
                }
            };
            desk.dispatch(DeskAction::SignInStarted);
            let desk = desk.clone();
            let on_signed_in = on_signed_in.clone();
            let in_flight = in_flight.clone();
            spawn_local(async move {
                match session.login().await {
                    Ok(()) => {
                        on_signed_in.emit(session);
                        desk.dispatch(DeskAction::SignedIn(ext));
                    }
                    Err(err) => desk.dispatch(DeskAction::SignInFailed(err)),
                }
                *in_flight.borrow_mut() = false;
            });
        })
    };
    let busy = props.desk.pending.sign_in;
    html! {
        <form id="signin" class="card signin" {onsubmit}>
            <h2>{ text(lang, Text::Settings) }</h2>
            { field("baseUrl", text(lang, Text::BaseUrl), &cfg.pbx.base_url, "text", setter(|c, v| c.pbx.base_url = v)) }
            { field("clientId", text(lang, Text::ClientId), &cfg.pbx.client_id, "text", setter(|c, v| c.pbx.client_id = v)) }
            { field("clientSecret", text(lang, Text::ClientSecret), &cfg.pbx.client_secret, "password", setter(|c, v| c.pbx.client_secret = v)) }
            { field("username", text(lang, Text::Username), &cfg.pbx.username, "text", setter(|c, v| c.pbx.username = v)) }
            { field("password", text(lang, Text::Password), &cfg.pbx.password, "password", setter(|c, v| c.pbx.password = v)) }
            { field("extension", text(lang, Text::Extension), &cfg.extension, "text", setter(|c, v| c.extension = v)) }
            <button id="signin-submit" type="submit" disabled={busy}>
                { text(lang, if busy { Text::SigningIn } else { Text::SignIn }) }
            </button>
        </form>
    }
}
