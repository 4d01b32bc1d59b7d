//! # agent-console-ui
//!
//! The Yew console (trunk builds it: `index.html`). Views and effects only:
//! state changes go through `agent_console_core::pbx::desk`'s pure reducer,
//! requests through `agent_console_core::PbxSession` over the browser
//! transports of `agent-console`. A wasm-only crate: natively it is empty.
#![cfg(target_arch = "wasm32")]
// Nothing from outside may panic (a panic kills the whole wasm instance).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![deny(clippy::await_holding_refcell_ref)]

// Shared by every page.
pub mod fatal;
mod gateway;
mod kit;
mod signin;

// One folder per vendor backend, as in the wire and core layers.
mod callback;
mod dapi;
mod pbx;
mod sipcdr;

use crate::kit::{Reduce, Reduced};
use agent_console::transport::FetchClient;
use agent_console_core::pbx::desk::{DeskAction, DeskState};
use agent_console_core::PbxSession;
use agent_console_words::{pick, text, Lang, Text};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use yew::platform::spawn_local;
use yew::prelude::*;

/// The session the console talks through, shared by its components, with
/// the root its recordings are under; equal when it is the same session.
#[derive(Clone)]
pub(crate) struct Session {
    /// The PBX session.
    pub pbx: Rc<PbxSession<FetchClient>>,
    /// Root URL of recordings (`mediaUrl`, default the PBX's origin).
    pub media_url: Rc<str>,
    /// The billing websocket (`pushUrl`), without the query.
    pub push_url: Rc<str>,
    /// The PBX's spool directory (`spoolDir`), for the desk phone.
    pub spool_dir: Rc<str>,
    /// Behind the gateway: the signed-in agent (`None`: direct mode).
    pub profile: Option<Rc<agent_console_core::gateway::Profile>>,
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.pbx, &other.pbx)
    }
}

impl std::ops::Deref for Session {
    type Target = PbxSession<FetchClient>;
    fn deref(&self) -> &Self::Target {
        &self.pbx
    }
}

/// The app user's dapi session (set when the softphone goes online),
/// shared by the softphone, scheduled-calls and upload pages; equal when
/// it is the same session.
#[derive(Clone)]
pub(crate) struct DapiRef(pub Rc<agent_console_core::DapiSession<FetchClient>>);

impl PartialEq for DapiRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// A page's session, opened from its settings (or the reason it could not
/// be); equal when it is the same session, so effects re-run only on a new one.
pub(crate) struct Held<T>(pub Option<Result<Rc<T>, agent_console_core::Error>>);

impl<T> Clone for Held<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> PartialEq for Held<T> {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(Ok(a)), Some(Ok(b))) => Rc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl<T> Held<T> {
    /// The session, if it is open.
    pub fn session(&self) -> Option<Rc<T>> {
        match &self.0 {
            Some(Ok(s)) => Some(s.clone()),
            _ => None,
        }
    }
}

impl Reduce for DeskState {
    type Action = DeskAction;
    fn next(self, action: DeskAction) -> Self {
        self.reduce(action)
    }
}

/// The console's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Desk,
    ClickToCall,
    Records,
    Phone,
    Tasks,
    Supervisor,
    PbxCdr,
    Voicemail,
}

/// The whole console.
#[function_component(App)]
pub fn app() -> Html {
    let desk = use_reducer(|| Reduced(DeskState::default()));
    let session = use_state(|| None::<Session>);
    let tab = use_state(|| Tab::Desk);
    let dapi = use_state(|| None::<DapiRef>);
    let behind_gateway = use_state(|| false);
    {
        let behind_gateway = behind_gateway.clone();
        use_effect_with((), move |_| {
            spawn_local(async move { behind_gateway.set(signin::load_config().await.pbx.gateway) });
        });
    }
    let lang = desk.lang;
    let on_dapi = {
        let dapi = dapi.clone();
        Callback::from(move |s: Option<DapiRef>| dapi.set(s))
    };

    let toggle_lang = {
        let desk = desk.dispatcher();
        Callback::from(move |_| {
            desk.dispatch(DeskAction::SetLang(if lang == Lang::Zh { Lang::En } else { Lang::Zh }))
        })
    };
    let on_signed_in = {
        let session = session.clone();
        let desk = desk.dispatcher();
        Callback::from(move |s: Session| {
            // Refused credentials stop every poller (the core latches); the
            // agent is back at the form with the server's words.
            let (session_hook, desk) = (session.clone(), desk.clone());
            s.pbx.on_credentials_rejected(move |e| {
                session_hook.set(None);
                desk.dispatch(DeskAction::CredentialsRejected(e.clone()));
            });
            session.set(Some(s))
        })
    };
    let on_sign_out = {
        let session = session.clone();
        let desk = desk.dispatcher();
        Callback::from(move |_| {
            if let Some(s) = session.as_ref() {
                s.logout();
                if s.profile.is_some() {
                    // The gateway ends its session (and clears the cookie).
                    spawn_local(async move {
                        let _ = agent_console_core::gateway::sign_out(&FetchClient, &gateway::base()).await;
                    });
                }
            }
            session.set(None);
            desk.dispatch(DeskAction::SignOut);
        })
    };

    let go = |t: Tab| {
        let tab = tab.clone();
        Callback::from(move |_: MouseEvent| tab.set(t))
    };
    let cls = |t: Tab| if *tab == t { "tab active" } else { "tab" };
    // Every page stays mounted (hidden when not shown), so a call,
    // a sync's memory or a filter survives a tab switch. Only the
    // desk needs the PBX sign-in.
    let desk_page = match (session.as_ref(), desk.extension.as_ref()) {
        (Some(s), Some(_)) => html! {
            <pbx::desk::Desk desk={desk.clone()} session={s.clone()} on_sign_out={on_sign_out} visible={*tab == Tab::Desk} />
        },
        _ => html! { <signin::SignIn desk={desk.clone()} on_signed_in={on_signed_in} /> },
    };

    // The PBX pages work with the desk's sign-in.
    let pbx = desk.extension.as_ref().and(session.as_ref()).cloned();
    let ext = desk.extension.clone();
    // Behind the gateway the pages follow the agent's role, and nothing
    // but the sign-in shows before it.
    let profile = pbx.as_ref().and_then(|s| s.profile.clone());
    let pages = !*behind_gateway || profile.is_some();
    let supervisor_tab = !*behind_gateway || profile.as_ref().is_some_and(|p| p.is_supervisor());

    html! {
        <div class="console" lang={lang.tag()}>
            <header class="topbar">
                <h1>{ text(lang, Text::Title) }</h1>
                <button id="lang-toggle" class="link" onclick={toggle_lang}>{ text(lang, Text::Language) }</button>
            </header>
            <pbx::desk::NoticeBar desk={desk.clone()} />
                    if !pages {
                        { desk_page }
                    } else {
                    <>
                        <nav class="tabs">
                            <button id="tab-desk" class={cls(Tab::Desk)} onclick={go(Tab::Desk)}>{ pick(lang, "坐席", "Desk") }</button>
                            <button id="tab-callback" class={cls(Tab::ClickToCall)} onclick={go(Tab::ClickToCall)}>{ pick(lang, "双向回呼", "Click to call") }</button>
                            <button id="tab-records" class={cls(Tab::Records)} onclick={go(Tab::Records)}>{ pick(lang, "通话记录", "Call records") }</button>
                            <button id="tab-phone" class={cls(Tab::Phone)} onclick={go(Tab::Phone)}>{ pick(lang, "软电话", "Softphone") }</button>
                            <button id="tab-tasks" class={cls(Tab::Tasks)} onclick={go(Tab::Tasks)}>{ pick(lang, "定时呼叫", "Scheduled calls") }</button>
                            if supervisor_tab {
                                <button id="tab-supervisor" class={cls(Tab::Supervisor)} onclick={go(Tab::Supervisor)}>{ pick(lang, "班长席", "Supervisor") }</button>
                            }
                            <button id="tab-cdr" class={cls(Tab::PbxCdr)} onclick={go(Tab::PbxCdr)}>{ pick(lang, "呼叫详单", "PBX call log") }</button>
                            <button id="tab-voicemail" class={cls(Tab::Voicemail)} onclick={go(Tab::Voicemail)}>{ pick(lang, "语音信箱", "Voicemail") }</button>
                        </nav>
                        <div hidden={*tab != Tab::Desk}>{ desk_page }</div>
                        <div hidden={*tab != Tab::ClickToCall}><callback::ClickToCall lang={lang} profile={profile.clone()} /></div>
                        <div hidden={*tab != Tab::Records}><sipcdr::CallRecords lang={lang} behind_gateway={profile.is_some()} /></div>
                        <div hidden={*tab != Tab::Phone}>
                            <dapi::softphone::SoftphonePanel lang={lang} on_session={on_dapi} profile={profile.clone()} />
                            <dapi::upload::UploadBox lang={lang} session={(*dapi).clone()} />
                        </div>
                        <div hidden={*tab != Tab::Tasks}>
                            <dapi::tasks::CallTasks lang={lang} session={(*dapi).clone()} />
                        </div>
                        if supervisor_tab {
                            <div hidden={*tab != Tab::Supervisor}>
                                <pbx::supervisor::Supervisor lang={lang} session={pbx.clone()} extension={ext.clone()} visible={*tab == Tab::Supervisor} />
                            </div>
                        }
                        <div hidden={*tab != Tab::PbxCdr}>
                            <pbx::billing::BillingList lang={lang} session={pbx.clone()} extension={ext.clone()} visible={*tab == Tab::PbxCdr} />
                            <pbx::cdr::PbxCdr lang={lang} session={pbx.clone()} extension={ext.clone()} visible={*tab == Tab::PbxCdr} />
                        </div>
                        <div hidden={*tab != Tab::Voicemail}>
                            <pbx::voicemail::VoicemailPage lang={lang} session={pbx.clone()} extension={ext.clone()} visible={*tab == Tab::Voicemail} />
                            <pbx::voicemail::TtsBox lang={lang} session={pbx} />
                        </div>
                    </>
                    }
        </div>
    }
}

/// Entry point trunk calls when the console's wasm loads.
#[wasm_bindgen(start)]
pub fn start() {
    // First: a panic anywhere later shows the "console stopped" banner.
    fatal::install();
    yew::Renderer::<App>::new().render();
}
