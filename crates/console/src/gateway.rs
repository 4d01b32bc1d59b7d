//! The console behind the agent-console gateway (`config.json`
//! `"gateway": true`): who is signed in, and the gateway's event stream.
//! The requests and decoders are `agent_console_core::gateway`'s.

use agent_console_core::gateway::{self, GatewayEvent};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The gateway's root: the page's own origin (the cookie is same-origin).
pub(crate) fn base() -> String {
    agent_console::transport::resolve_url("/").trim_end_matches('/').to_string()
}

/// The gateway's event stream, open while this value lives (`EventSource`
/// reconnects by itself and resumes with `Last-Event-ID`); closed on drop.
#[must_use = "the stream closes when this is dropped"]
pub(crate) struct EventFeed {
    source: web_sys::EventSource,
    _listeners: Vec<Closure<dyn FnMut(web_sys::MessageEvent)>>,
}

impl EventFeed {
    /// Opens `/events` and calls `on_event` with each event of `kinds`
    /// that decodes (an undecodable one is dropped: it cannot be shown).
    pub fn open(kinds: &[&'static str], on_event: impl Fn(GatewayEvent) + 'static) -> Option<Self> {
        Self::open_dyn(kinds, Rc::new(on_event))
    }

    // One copy in the wasm whatever the callers' closures.
    fn open_dyn(kinds: &[&'static str], on_event: Rc<dyn Fn(GatewayEvent)>) -> Option<Self> {
        let source = web_sys::EventSource::new(&gateway::events_url(&base(), None)).ok()?;
        let mut listeners = Vec::new();
        for &kind in kinds {
            let on_event = on_event.clone();
            let listener =
                Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |m: web_sys::MessageEvent| {
                    let Some(data) = m.data().as_string() else { return };
                    if let Ok(Some(e)) = GatewayEvent::decode(kind, &data) {
                        on_event(e);
                    }
                });
            source.add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref()).ok()?;
            listeners.push(listener);
        }
        Some(Self { source, _listeners: listeners })
    }
}

impl Drop for EventFeed {
    fn drop(&mut self) {
        self.source.close();
    }
}
