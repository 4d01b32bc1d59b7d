//! Runs a [`BillingFeed`] in the browser: a `WebSocket` for the push, the
//! session for tokens and `cdr/list` pages, a worker timer for reconnects.

use super::ticker::WorkerTimer;
use super::{now, wall_clock_ms, FetchClient};
use crate::api::pbx::cdr::MAX_PUSH_FRAME_BYTES;
use crate::api::pbx::PbxApi;
use crate::core::pbx::billing::{BillingEvent, BillingFeed, BillingOp, BillingSettings};
use crate::core::{Error, PbxSession};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

/// How often the driver looks whether the session's token changed.
const TOKEN_CHECK_MS: u64 = 15_000;

struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Detach first: a close event after the closures are freed would
        // call into freed memory.
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

struct Inner {
    feed: RefCell<BillingFeed>,
    session: Rc<PbxSession<FetchClient>>,
    push_url: String,
    sink: Box<dyn Fn(BillingEvent)>,
    socket: RefCell<Option<Socket>>,
    // Which connect attempt is current: events of an older socket are stale.
    generation: Cell<u64>,
    token_used: RefCell<Option<String>>,
    next_token_check: Cell<u64>,
    timer: RefCell<Option<WorkerTimer>>,
    running: Cell<bool>,
    again: Cell<bool>,
}

impl Inner {
    fn run(this: &Rc<Inner>) {
        if this.running.replace(true) {
            this.again.set(true);
            return;
        }
        loop {
            let (ops, events, timeout) = {
                let mut f = this.feed.borrow_mut();
                let mut ops = Vec::new();
                while let Some(op) = f.poll_op() {
                    ops.push(op);
                }
                let mut ev = Vec::new();
                while let Some(e) = f.poll_event() {
                    ev.push(e);
                }
                (ops, ev, f.poll_timeout())
            };
            for op in ops {
                match op {
                    BillingOp::Connect => Self::connect(this),
                    BillingOp::Close => {
                        // Dropping closes it; the feed already counts it closed
                        // or will be told now.
                        let had = this.socket.borrow_mut().take().is_some();
                        if had {
                            this.generation.set(this.generation.get() + 1);
                            this.feed.borrow_mut().socket_closed(now());
                        }
                    }
                    BillingOp::Fetch { query, ticket } => {
                        let weak = Rc::downgrade(this);
                        let session = this.session.clone();
                        spawn_local(async move {
                            let outcome = session.billing_cdr(&query).await;
                            let Some(inner) = weak.upgrade() else { return };
                            inner.feed.borrow_mut().page_fetched(now(), ticket, outcome);
                            Inner::run(&inner);
                        });
                    }
                }
            }
            if let Some(timer) = this.timer.borrow().as_ref() {
                let t = now().0;
                let check = this.next_token_check.get().max(t);
                let due = timeout.map_or(check, |at| at.0.min(check));
                timer.arm(due.saturating_sub(t).min(u64::from(u32::MAX)) as u32);
            }
            for e in events {
                (this.sink)(e);
            }
            if !this.again.replace(false) {
                break;
            }
        }
        this.running.set(false);
    }

    fn connect(this: &Rc<Inner>) {
        this.socket.borrow_mut().take();
        let generation = this.generation.get() + 1;
        this.generation.set(generation);
        let weak = Rc::downgrade(this);
        let session = this.session.clone();
        let push_url = this.push_url.clone();
        spawn_local(async move {
            let token = session.token().await;
            let Some(inner) = weak.upgrade() else { return };
            if inner.generation.get() != generation {
                return;
            }
            let opened = token.and_then(|t| {
                let url = PbxApi::billing_push_url(&push_url, &t);
                let ws = WebSocket::new(&url).map_err(|e| {
                    Error::Network(
                        e.as_string().unwrap_or_else(|| "the websocket could not be opened".into()),
                    )
                })?;
                Ok((t, ws))
            });
            match opened {
                Ok((token, ws)) => {
                    *inner.token_used.borrow_mut() = Some(token);
                    let sock = Self::wire(&weak, generation, ws);
                    *inner.socket.borrow_mut() = Some(sock);
                }
                Err(e) => {
                    (inner.sink)(BillingEvent::Trouble(e));
                    inner.feed.borrow_mut().socket_closed(now());
                    Inner::run(&inner);
                }
            }
        });
    }

    fn wire(weak: &Weak<Inner>, generation: u64, ws: WebSocket) -> Socket {
        let current = {
            let weak = weak.clone();
            move || weak.upgrade().filter(|i| i.generation.get() == generation)
        };
        let on_open = {
            let current = current.clone();
            Closure::<dyn FnMut(Event)>::new(move |_| {
                if let Some(inner) = current() {
                    inner.feed.borrow_mut().socket_opened(now(), wall_clock_ms() as i64);
                    Inner::run(&inner);
                }
            })
        };
        let on_message = {
            let current = current.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
                let Some(inner) = current() else { return };
                // Binary frames are not part of the protocol: ignored.
                let Some(frame) = m.data().dyn_ref::<js_sys::JsString>().cloned() else { return };
                // A frame of more UTF-16 units than the cap has more UTF-8
                // bytes too: copy only the cap and one unit into wasm memory,
                // and the feed's rule (decode_push) refuses it as too large.
                let cap = u32::try_from(MAX_PUSH_FRAME_BYTES).unwrap_or(u32::MAX);
                let frame = if frame.length() > cap { frame.slice(0, cap.saturating_add(1)) } else { frame };
                if let Some(text) = frame.as_string() {
                    inner.feed.borrow_mut().socket_frame(&text);
                    Inner::run(&inner);
                }
            })
        };
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_| {
            if let Some(inner) = current() {
                // Dropping it from inside its own handler is safe: wasm-bindgen
                // frees a closure only once no call of it is running.
                inner.socket.borrow_mut().take();
                inner.generation.set(generation + 1);
                inner.feed.borrow_mut().socket_closed(now());
                Inner::run(&inner);
            }
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Socket { ws, _on_open: on_open, _on_message: on_message, _on_close: on_close }
    }

    fn tick(this: &Rc<Inner>) {
        let t = now();
        if t.0 >= this.next_token_check.get() {
            this.next_token_check.set(t.0 + TOKEN_CHECK_MS);
            let used = this.token_used.borrow().clone();
            // A token refreshed by any call of the session: reconnect with it.
            if let (Some(current), Some(used)) = (this.session.current_token(), used) {
                if current != used && this.socket.borrow().is_some() {
                    this.generation.set(this.generation.get() + 1);
                    this.socket.borrow_mut().take();
                    this.feed.borrow_mut().token_changed(t);
                    // token_changed queued a Close for a socket already dropped.
                }
            }
        }
        this.feed.borrow_mut().handle_timeout(t);
        Inner::run(this);
    }
}

/// A running billing subscription. Dropping it closes the socket and stops
/// the timer.
#[must_use = "the subscription stops when dropped"]
pub struct BillingDriver {
    inner: Rc<Inner>,
}

impl BillingDriver {
    /// The "live billing" use case of the JS package's `subscribeBilling`
    /// and the console's list: a feed with the default settings holding rows
    /// from `floor_ms` (epoch ms), its retries jittered per page
    /// ([`super::jitter_seed`]), started against the push at `push_url`.
    pub fn subscribe(
        session: Rc<PbxSession<FetchClient>>,
        push_url: String,
        floor_ms: i64,
        sink: impl Fn(BillingEvent) + 'static,
    ) -> Self {
        let feed = BillingFeed::new(BillingSettings::default(), floor_ms, super::jitter_seed());
        Self::start(feed, session, push_url, sink)
    }

    /// Starts `feed` against `session`'s push at `push_url`
    /// (`wss://HOST:8282/`); `sink` receives every event.
    pub fn start(
        feed: BillingFeed,
        session: Rc<PbxSession<FetchClient>>,
        push_url: String,
        sink: impl Fn(BillingEvent) + 'static,
    ) -> Self {
        let inner = Rc::new(Inner {
            feed: RefCell::new(feed),
            session,
            push_url,
            sink: Box::new(sink),
            socket: RefCell::new(None),
            generation: Cell::new(0),
            token_used: RefCell::new(None),
            next_token_check: Cell::new(now().0 + TOKEN_CHECK_MS),
            timer: RefCell::new(None),
            running: Cell::new(false),
            again: Cell::new(false),
        });
        let weak = Rc::downgrade(&inner);
        let timer = WorkerTimer::new(move || {
            if let Some(inner) = weak.upgrade() {
                Inner::tick(&inner);
            }
        });
        *inner.timer.borrow_mut() = Some(timer);
        Inner::run(&inner);
        Self { inner }
    }

    /// Runs `f` on the feed (to read the store or the state).
    pub fn with<R>(&self, f: impl FnOnce(&BillingFeed) -> R) -> R {
        f(&self.inner.feed.borrow())
    }

    /// Stops for good: closes the socket; no reconnect.
    pub fn stop(&self) {
        self.inner.feed.borrow_mut().stop();
        self.inner.generation.set(self.inner.generation.get() + 1);
        self.inner.socket.borrow_mut().take();
        if let Some(t) = self.inner.timer.borrow().as_ref() {
            t.disarm();
        }
        Inner::run(&self.inner);
    }
}

impl Drop for BillingDriver {
    fn drop(&mut self) {
        self.inner.socket.borrow_mut().take();
        self.inner.timer.borrow_mut().take();
    }
}
