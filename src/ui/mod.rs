//! The Yew console (feature `ui`). Views and effects only: state changes go
//! through [`crate::core::desk`]'s pure reducer, requests through
//! [`crate::core::PbxSession`].

mod desk;
mod signin;

use crate::core::desk::{DeskAction, DeskState};
use crate::core::PbxSession;
use crate::i18n::{text, Lang, Text};
use crate::transport::FetchClient;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// The session the console talks through, shared by its components;
/// equal when it is the same session.
#[derive(Clone)]
pub(crate) struct Session(pub Rc<PbxSession<FetchClient>>);

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for Session {
    type Target = PbxSession<FetchClient>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Reducible for DeskState {
    type Action = DeskAction;
    fn reduce(self: Rc<Self>, action: DeskAction) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

/// The whole console.
#[function_component(App)]
pub fn app() -> Html {
    let desk = use_reducer(DeskState::default);
    let session = use_state(|| None::<Session>);
    let lang = desk.lang;

    let toggle_lang = {
        let desk = desk.dispatcher();
        Callback::from(move |_| {
            desk.dispatch(DeskAction::SetLang(if lang == Lang::Zh { Lang::En } else { Lang::Zh }))
        })
    };
    let on_signed_in = {
        let session = session.clone();
        Callback::from(move |s: Session| session.set(Some(s)))
    };
    let on_sign_out = {
        let session = session.clone();
        let desk = desk.dispatcher();
        Callback::from(move |_| {
            if let Some(s) = session.as_ref() {
                s.logout();
            }
            session.set(None);
            desk.dispatch(DeskAction::SignOut);
        })
    };

    html! {
        <div class="console" lang={lang.tag()}>
            <header class="topbar">
                <h1>{ text(lang, Text::Title) }</h1>
                <button id="lang-toggle" class="link" onclick={toggle_lang}>{ text(lang, Text::Language) }</button>
            </header>
            <desk::NoticeBar desk={desk.clone()} />
            {
                match (session.as_ref(), desk.extension.as_ref()) {
                    (Some(s), Some(_)) => html! {
                        <desk::Desk desk={desk.clone()} session={s.clone()} on_sign_out={on_sign_out} />
                    },
                    _ => html! { <signin::SignIn desk={desk.clone()} on_signed_in={on_signed_in} /> },
                }
            }
        </div>
    }
}

/// Entry point trunk calls when the console's wasm loads.
#[wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<App>::new().render();
}
