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

/// A subscription to the gateway's event stream, open while this value
/// lives. Every page shares one `EventSource` (one connection: a browser
/// allows only six per host over HTTP/1.1), opened by the first
/// subscription and closed with the last; it reconnects by itself and
/// resumes with `Last-Event-ID`.
#[must_use = "the subscription ends when this is dropped"]
pub(crate) struct EventFeed {
    id: u64,
}

type Subscriber = Rc<dyn Fn(GatewayEvent)>;

struct Hub {
    source: web_sys::EventSource,
    listening: Vec<&'static str>,
    _listeners: Vec<Closure<dyn FnMut(web_sys::MessageEvent)>>,
    subs: Vec<(u64, Vec<&'static str>, Subscriber)>,
    next: u64,
}

thread_local! {
    static HUB: std::cell::RefCell<Option<Hub>> = const { std::cell::RefCell::new(None) };
}

impl EventFeed {
    /// Calls `on_event` with each event of `kinds` that decodes (an
    /// undecodable one is dropped: it cannot be shown).
    pub fn open(kinds: &[&'static str], on_event: impl Fn(GatewayEvent) + 'static) -> Option<Self> {
        Self::subscribe(kinds, Rc::new(on_event))
    }

    // One copy in the wasm whatever the callers' closures.
    fn subscribe(kinds: &[&'static str], on_event: Subscriber) -> Option<Self> {
        HUB.with(|cell| {
            let mut hub = cell.borrow_mut();
            if hub.is_none() {
                let source = web_sys::EventSource::new(&gateway::events_url(&base(), None)).ok()?;
                *hub = Some(Hub {
                    source,
                    listening: Vec::new(),
                    _listeners: Vec::new(),
                    subs: Vec::new(),
                    next: 0,
                });
            }
            let h = hub.as_mut()?;
            for &kind in kinds {
                if !h.listening.contains(&kind) {
                    let l =
                        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |m: web_sys::MessageEvent| {
                            deliver(kind, &m)
                        });
                    h.source.add_event_listener_with_callback(kind, l.as_ref().unchecked_ref()).ok()?;
                    h.listening.push(kind);
                    h._listeners.push(l);
                }
            }
            h.next += 1;
            h.subs.push((h.next, kinds.to_vec(), on_event));
            Some(Self { id: h.next })
        })
    }
}

fn deliver(kind: &'static str, m: &web_sys::MessageEvent) {
    let Some(data) = m.data().as_string() else { return };
    let Ok(Some(e)) = GatewayEvent::decode(kind, &data) else { return };
    // Called outside the borrow: a subscriber may end a subscription.
    let to: Vec<Subscriber> = HUB.with(|c| {
        c.borrow()
            .as_ref()
            .map(|h| h.subs.iter().filter(|s| s.1.contains(&kind)).map(|s| s.2.clone()).collect())
            .unwrap_or_default()
    });
    for f in to {
        f(e.clone());
    }
}

impl Drop for EventFeed {
    fn drop(&mut self) {
        let id = self.id;
        let _ = HUB.try_with(|c| {
            let Ok(mut hub) = c.try_borrow_mut() else { return };
            let last = hub.as_mut().is_some_and(|h| {
                h.subs.retain(|s| s.0 != id);
                h.subs.is_empty()
            });
            if last {
                if let Some(h) = hub.take() {
                    h.source.close();
                }
            }
        });
    }
}
