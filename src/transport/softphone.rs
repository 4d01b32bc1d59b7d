//! Runs the sans-IO call engine ([`crate::core::dapi::softphone`]) in a browser:
//! requests over fetch, media through an adapter, timers in a worker (so a
//! hidden tab keeps its heartbeat), and a wake-up on `visibilitychange`,
//! `resume` and `online`. The JS `Softphone` and the console both use it.

use super::ticker::WorkerTimer;
use super::{now, FetchClient};
use crate::api::dapi::JoinInfo;
use crate::core::dapi::softphone::{CallId, MediaEvent, MediaOp, Softphone, SoftphoneEvent, Transmit};
use crate::core::{DapiSession, Error, Instant};
use futures::future::LocalBoxFuture;
use gloo_events::EventListener;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen_futures::spawn_local;

/// The RTC side: joins and leaves channels (Agora in production, a loopback
/// in the sandbox console). Presence news goes back through [`MediaSink`].
pub trait MediaAdapter {
    /// Joins with `info` (passed on unchanged); resolves once joined.
    fn join(&self, info: JoinInfo, events: MediaSink) -> LocalBoxFuture<'static, Result<(), String>>;
    /// Leaves the channel.
    fn leave(&self) -> LocalBoxFuture<'static, ()>;
}

/// Where an adapter reports who entered or left its channel.
#[derive(Clone)]
pub struct MediaSink {
    inner: Weak<Inner>,
    call: CallId,
}

impl MediaSink {
    /// Someone else entered the channel.
    pub fn remote_joined(&self, uid: &str) {
        self.send(MediaEvent::RemoteJoined(uid.to_string()));
    }

    /// Someone else left the channel.
    pub fn remote_left(&self, uid: &str) {
        self.send(MediaEvent::RemoteLeft(uid.to_string()));
    }

    /// The call this sink reports for (news for any other call is stale).
    pub fn call_id(&self) -> CallId {
        self.call
    }

    fn send(&self, e: MediaEvent) {
        let Some(inner) = self.inner.upgrade() else { return };
        // News from a call that is no longer the one we are in is stale.
        let current = inner.engine.borrow().active_call().map(|c| c.call_id);
        if current == Some(self.call) {
            inner.engine.borrow_mut().handle_media(now(), e);
            Inner::run(&inner);
        }
    }
}

struct Inner {
    engine: RefCell<Softphone>,
    session: Rc<DapiSession<FetchClient>>,
    media: Rc<dyn MediaAdapter>,
    sink: Box<dyn Fn(SoftphoneEvent)>,
    timer: RefCell<Option<WorkerTimer>>,
    listeners: RefCell<Vec<EventListener>>,
    running: Cell<bool>,
    again: Cell<bool>,
}

impl Inner {
    /// Drains the engine: sends requests, orders media, delivers news, and
    /// re-arms the timer. Re-entrant calls (a listener acting on news) are
    /// folded into the running loop.
    fn run(this: &Rc<Inner>) {
        if this.running.replace(true) {
            this.again.set(true);
            return;
        }
        loop {
            let (transmits, media, events, timeout) = {
                let mut e = this.engine.borrow_mut();
                let mut t = Vec::new();
                while let Some(x) = e.poll_transmit() {
                    t.push(x);
                }
                let mut m = Vec::new();
                while let Some(x) = e.poll_media() {
                    m.push(x);
                }
                let mut ev = Vec::new();
                while let Some(x) = e.poll_event() {
                    ev.push(x);
                }
                (t, m, ev, e.poll_timeout())
            };
            for t in transmits {
                Self::transmit(this, t);
            }
            for (call, op) in media {
                Self::order_media(this, call, op);
            }
            if let Some(timer) = this.timer.borrow().as_ref() {
                match timeout {
                    Some(at) => {
                        let delay = at.0.saturating_sub(now().0).min(u64::from(u32::MAX));
                        timer.arm(delay as u32);
                    }
                    None => timer.disarm(),
                }
            }
            for ev in events {
                (this.sink)(ev);
            }
            if !this.again.replace(false) {
                break;
            }
        }
        this.running.set(false);
    }

    fn transmit(this: &Rc<Inner>, t: Transmit) {
        let weak = Rc::downgrade(this);
        let session = this.session.clone();
        spawn_local(async move {
            let result = session.execute(&t.op).await;
            let Some(inner) = weak.upgrade() else { return };
            inner.engine.borrow_mut().handle_reply(now(), t.id, result);
            Inner::run(&inner);
        });
    }

    fn order_media(this: &Rc<Inner>, call: CallId, op: MediaOp) {
        let weak = Rc::downgrade(this);
        let media = this.media.clone();
        match op {
            MediaOp::Join(info) => {
                let sink = MediaSink { inner: weak.clone(), call };
                spawn_local(async move {
                    let result = media.join(info, sink).await;
                    let Some(inner) = weak.upgrade() else { return };
                    inner.engine.borrow_mut().media_joined(now(), call, result);
                    Inner::run(&inner);
                });
            }
            MediaOp::Leave => spawn_local(async move { media.leave().await }),
        }
    }
}

/// A running softphone: the engine plus its browser I/O. Dropping it stops
/// the timer and the page listeners (calls in progress are not reported:
/// call [`SoftphoneDriver::stop`] first).
pub struct SoftphoneDriver {
    inner: Rc<Inner>,
}

impl SoftphoneDriver {
    /// Wires `engine` to `session`, `media`, and `sink` (which receives
    /// every piece of news).
    pub fn new(
        engine: Softphone,
        session: Rc<DapiSession<FetchClient>>,
        media: Rc<dyn MediaAdapter>,
        sink: impl Fn(SoftphoneEvent) + 'static,
    ) -> Self {
        let inner = Rc::new(Inner {
            engine: RefCell::new(engine),
            session,
            media,
            sink: Box::new(sink),
            timer: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
            running: Cell::new(false),
            again: Cell::new(false),
        });
        let weak = Rc::downgrade(&inner);
        let timer = WorkerTimer::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.engine.borrow_mut().handle_timeout(now());
                Inner::run(&inner);
            }
        });
        *inner.timer.borrow_mut() = Some(timer);
        Self::listen(&inner);
        Self { inner }
    }

    fn listen(inner: &Rc<Inner>) {
        let wake = {
            let weak = Rc::downgrade(inner);
            move || {
                if let Some(inner) = weak.upgrade() {
                    inner.engine.borrow_mut().wake(now());
                    Inner::run(&inner);
                }
            }
        };
        let Some(window) = web_sys::window() else { return };
        let mut listeners = Vec::new();
        if let Some(doc) = window.document() {
            let w = wake.clone();
            let d = doc.clone();
            listeners.push(EventListener::new(&doc, "visibilitychange", move |_| {
                if d.visibility_state() == web_sys::VisibilityState::Visible {
                    w();
                }
            }));
            // Chrome fires `resume` on the document after unfreezing a page.
            let w = wake.clone();
            listeners.push(EventListener::new(&doc, "resume", move |_| w()));
        }
        let w = wake.clone();
        listeners.push(EventListener::new(&window, "online", move |_| w()));
        listeners.push(EventListener::new(&window, "pageshow", move |_| wake()));
        *inner.listeners.borrow_mut() = listeners;
    }

    /// Runs `f` on the engine with the current time, then does what it asked.
    pub fn act<T>(&self, f: impl FnOnce(&mut Softphone, Instant) -> Result<T, Error>) -> Result<T, Error> {
        let r = f(&mut self.inner.engine.borrow_mut(), now());
        Inner::run(&self.inner);
        r
    }

    /// Reads the engine.
    pub fn with<T>(&self, f: impl FnOnce(&Softphone) -> T) -> T {
        f(&self.inner.engine.borrow())
    }

    /// Whether the timer runs in a worker (false: main-thread fallback).
    pub fn timer_in_worker(&self) -> bool {
        self.inner.timer.borrow().as_ref().is_some_and(WorkerTimer::in_worker)
    }
}

impl Drop for SoftphoneDriver {
    fn drop(&mut self) {
        self.inner.timer.borrow_mut().take();
        self.inner.listeners.borrow_mut().clear();
    }
}
