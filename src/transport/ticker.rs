//! A timer that keeps its period in a hidden tab.
//!
//! Chrome throttles main-thread timers of a hidden page to about once a
//! minute after a grace period; timers in a dedicated worker are not
//! throttled, and the worker's `postMessage` wakes the main thread at once.
//! So [`WorkerTimer`] runs the `setTimeout` in a tiny worker and delivers the
//! tick as a message.
//!
//! The worker is a same-origin file (`timer_worker.js`, which wasm-bindgen
//! ships in `snippets/` next to the glue, so `dist/` and `pkg/` both serve it):
//! a strict CSP (`worker-src 'self'`) allows it, where it refuses a Blob URL.
//! A Blob URL is the second try, for pages that bundle the package without
//! its snippets. A worker that is refused often does not throw: its `error`
//! event fires later, or it never starts. So the timer falls back to the main
//! thread on a throw, on `error`, and when the worker has not said `ready`
//! within [`WORKER_START_MS`], re-arming the delay that was pending so no
//! tick is lost. Nothing is posted to a worker before it says `ready`
//! (Chromium drops messages to a module worker whose script has not run);
//! the arming made meanwhile is sent then. RAII like gloo's timers:
//! dropping it cancels.

use gloo_timers::callback::Timeout;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(module = "/src/transport/timer_worker.js")]
extern "C" {
    #[wasm_bindgen(js_name = timerWorkerUrl)]
    fn timer_worker_url() -> String;
}

/// The Blob fallback: the classic-worker twin of `timer_worker.js`.
const WORKER_JS: &str = "let t=null;onmessage=e=>{clearTimeout(t);t=null;if(e.data>=0){t=setTimeout(()=>{t=null;postMessage(0)},e.data)}};postMessage('ready');";

/// How long a worker may take to say `ready` before the next source (or the
/// main thread) is tried. Generous: a cold start on a slow machine takes
/// tens of milliseconds; a refused or broken worker never says it.
pub const WORKER_START_MS: u32 = 5_000;

/// Where a timer worker may come from, tried in order until one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerSource {
    /// A script at this URL, started as a module worker (the file must post
    /// `'ready'`, then re-arm one timeout per message like `timer_worker.js`).
    Module(String),
    /// The same script from a Blob URL, as a classic worker.
    Blob,
}

impl WorkerSource {
    /// The default order: the same-origin file next to the glue, then a Blob URL.
    pub fn defaults() -> Vec<WorkerSource> {
        vec![WorkerSource::Module(timer_worker_url()), WorkerSource::Blob]
    }
}

/// One started worker and what must be released with it.
struct Started {
    worker: web_sys::Worker,
    blob_url: Option<String>,
    _onmessage: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _onerror: Closure<dyn FnMut(web_sys::Event)>,
}

impl Started {
    fn stop(self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
        if let Some(url) = &self.blob_url {
            let _ = web_sys::Url::revoke_object_url(url);
        }
    }
}

struct Inner {
    on_fire: Rc<dyn Fn()>,
    /// Sources not tried yet.
    untried: RefCell<VecDeque<WorkerSource>>,
    /// The worker in use (starting or ready); `None`: the main thread.
    worker: RefCell<Option<Started>>,
    /// Whether the worker in use has said `ready`.
    ready: Cell<bool>,
    /// Falls back when the worker does not say `ready` in time.
    watchdog: RefCell<Option<Timeout>>,
    /// When the armed delay passes (monotonic ms), so a fallback re-arms what
    /// a failed worker would have fired.
    deadline: Cell<Option<u64>>,
    /// The main-thread timeout, once there is no worker.
    pending: RefCell<Option<Timeout>>,
}

/// A re-armable one-shot timer whose ticks arrive on time in hidden tabs.
#[must_use = "dropping the timer cancels it"]
pub struct WorkerTimer {
    inner: Rc<Inner>,
}

impl WorkerTimer {
    /// A disarmed timer that calls `on_fire` when an armed delay passes,
    /// from the [default](WorkerSource::defaults) worker sources.
    pub fn new(on_fire: impl Fn() + 'static) -> Self {
        Self::with_sources(on_fire, WorkerSource::defaults())
    }

    /// Like [`WorkerTimer::new`], trying `sources` in order (none: the main
    /// thread at once).
    pub fn with_sources(on_fire: impl Fn() + 'static, sources: Vec<WorkerSource>) -> Self {
        let inner = Rc::new(Inner {
            on_fire: Rc::new(on_fire),
            untried: RefCell::new(sources.into()),
            worker: RefCell::new(None),
            ready: Cell::new(false),
            watchdog: RefCell::new(None),
            deadline: Cell::new(None),
            pending: RefCell::new(None),
        });
        Inner::start_next(&inner);
        Self { inner }
    }

    /// Whether ticks come from a worker: true from the start, false for good
    /// once the timer fell back to the main thread (on a throw, on `error`, or
    /// [`WORKER_START_MS`] without `ready`), so a refused worker reads false
    /// within that bound instead of true forever.
    pub fn in_worker(&self) -> bool {
        self.inner.worker.borrow().is_some()
    }

    /// Whether the worker in use has said `ready` (its script runs).
    pub fn worker_started(&self) -> bool {
        self.inner.ready.get() && self.in_worker()
    }

    /// Fires once after `delay_ms`, replacing any earlier arming.
    pub fn arm(&self, delay_ms: u32) {
        self.inner.deadline.set(Some(super::now().0.saturating_add(u64::from(delay_ms))));
        self.inner.send(f64::from(delay_ms));
    }

    /// Cancels the armed delay, if any.
    pub fn disarm(&self) {
        self.inner.deadline.set(None);
        self.inner.send(-1.0);
    }
}

impl Inner {
    /// Arms (`delay_ms >= 0`) or disarms the worker, or the main thread without one.
    fn send(self: &Rc<Self>, delay_ms: f64) {
        if let Some(w) = self.worker.borrow().as_ref() {
            // Not to a worker still starting: Chromium drops what is posted to
            // a module worker before its script runs. `ready` sends the
            // arming then, from `deadline`.
            if self.ready.get() {
                let _ = w.worker.post_message(&JsValue::from_f64(delay_ms));
            }
            return;
        }
        let timeout = (delay_ms >= 0.0).then(|| {
            let weak = Rc::downgrade(self);
            Timeout::new(delay_ms as u32, move || {
                if let Some(inner) = weak.upgrade() {
                    inner.fire();
                }
            })
        });
        *self.pending.borrow_mut() = timeout;
    }

    fn fire(&self) {
        self.deadline.set(None);
        (self.on_fire)();
    }

    /// Starts the next untried source; with none left, moves to the main thread
    /// and re-arms the delay that was pending.
    fn start_next(inner: &Rc<Self>) {
        if let Some(failed) = inner.worker.borrow_mut().take() {
            failed.stop();
        }
        inner.ready.set(false);
        loop {
            let next = inner.untried.borrow_mut().pop_front();
            let Some(source) = next else { break };
            if let Some(started) = Self::start(inner, &source) {
                *inner.worker.borrow_mut() = Some(started);
                let weak = Rc::downgrade(inner);
                *inner.watchdog.borrow_mut() = Some(Timeout::new(WORKER_START_MS, move || {
                    if let Some(inner) = weak.upgrade() {
                        if !inner.ready.get() {
                            Self::start_next(&inner);
                        }
                    }
                }));
                break;
            }
        }
        if inner.worker.borrow().is_none() {
            inner.watchdog.borrow_mut().take();
        }
        // What the failed worker had armed goes to the main thread (a new
        // worker gets it when it says `ready`).
        inner.rearm();
    }

    /// Sends the pending arming again, as what is left of it.
    fn rearm(self: &Rc<Self>) {
        if let Some(at) = self.deadline.get() {
            let left = at.saturating_sub(super::now().0);
            self.send(left.min(u64::from(u32::MAX)) as f64);
        }
    }

    /// One worker from `source`, or `None` if the browser refuses it at once.
    fn start(inner: &Rc<Self>, source: &WorkerSource) -> Option<Started> {
        let (worker, blob_url) = match source {
            WorkerSource::Module(url) => {
                let opts = web_sys::WorkerOptions::new();
                opts.set_type(web_sys::WorkerType::Module);
                (web_sys::Worker::new_with_options(url, &opts).ok()?, None)
            }
            WorkerSource::Blob => {
                let parts = js_sys::Array::of1(&JsValue::from_str(WORKER_JS));
                let opts = web_sys::BlobPropertyBag::new();
                opts.set_type("text/javascript");
                let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).ok()?;
                let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
                match web_sys::Worker::new(&url) {
                    Ok(w) => (w, Some(url)),
                    Err(_) => {
                        let _ = web_sys::Url::revoke_object_url(&url);
                        return None;
                    }
                }
            }
        };
        let weak: Weak<Self> = Rc::downgrade(inner);
        let onmessage = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let Some(inner) = weak.upgrade() else { return };
            if e.data().as_string().as_deref() == Some("ready") {
                inner.ready.set(true);
                inner.watchdog.borrow_mut().take();
                inner.rearm();
            } else {
                inner.fire();
            }
        });
        let weak: Weak<Self> = Rc::downgrade(inner);
        // A worker that cannot load (refused by the CSP, not found, not a
        // script) or that throws: either way its ticks would stop.
        let onerror = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
            if let Some(inner) = weak.upgrade() {
                Self::start_next(&inner);
            }
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        Some(Started { worker, blob_url, _onmessage: onmessage, _onerror: onerror })
    }
}

impl Drop for WorkerTimer {
    fn drop(&mut self) {
        if let Some(w) = self.inner.worker.borrow_mut().take() {
            w.stop();
        }
        self.inner.watchdog.borrow_mut().take();
        self.inner.pending.borrow_mut().take();
    }
}
