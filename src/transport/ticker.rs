//! A timer that keeps its period in a hidden tab.
//!
//! Chrome throttles main-thread timers of a hidden page to about once a
//! minute after a grace period; timers in a dedicated worker are not
//! throttled, and the worker's `postMessage` wakes the main thread at once.
//! So [`WorkerTimer`] runs the `setTimeout` in a tiny worker (made from a
//! Blob URL, no extra file to serve) and delivers the tick as a message.
//! Where workers are unavailable (a strict CSP), it falls back to a
//! main-thread timer. RAII like gloo's timers: dropping it cancels.

use gloo_timers::callback::Timeout;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The worker: each message re-arms one timeout (a negative delay disarms).
const WORKER_JS: &str =
    "let t=null;onmessage=e=>{clearTimeout(t);t=null;if(e.data>=0){t=setTimeout(()=>{t=null;postMessage(0)},e.data)}};";

enum Backend {
    Worker { worker: web_sys::Worker, url: String, _onmessage: Closure<dyn FnMut(web_sys::MessageEvent)> },
    MainThread { pending: RefCell<Option<Timeout>> },
}

/// A re-armable one-shot timer whose ticks arrive on time in hidden tabs.
#[must_use = "dropping the timer cancels it"]
pub struct WorkerTimer {
    backend: Backend,
    on_fire: Rc<dyn Fn()>,
}

impl WorkerTimer {
    /// A disarmed timer that calls `on_fire` when an armed delay passes.
    pub fn new(on_fire: impl Fn() + 'static) -> Self {
        let on_fire: Rc<dyn Fn()> = Rc::new(on_fire);
        let backend =
            Self::worker(on_fire.clone()).unwrap_or(Backend::MainThread { pending: RefCell::new(None) });
        Self { backend, on_fire }
    }

    fn worker(on_fire: Rc<dyn Fn()>) -> Option<Backend> {
        let parts = js_sys::Array::of1(&JsValue::from_str(WORKER_JS));
        let opts = web_sys::BlobPropertyBag::new();
        opts.set_type("text/javascript");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).ok()?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
        let worker = match web_sys::Worker::new(&url) {
            Ok(w) => w,
            Err(_) => {
                let _ = web_sys::Url::revoke_object_url(&url);
                return None;
            }
        };
        let onmessage = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| on_fire());
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        Some(Backend::Worker { worker, url, _onmessage: onmessage })
    }

    /// Whether ticks come from a worker (false: the main-thread fallback).
    pub fn in_worker(&self) -> bool {
        matches!(self.backend, Backend::Worker { .. })
    }

    /// Fires once after `delay_ms`, replacing any earlier arming.
    pub fn arm(&self, delay_ms: u32) {
        match &self.backend {
            Backend::Worker { worker, .. } => {
                let _ = worker.post_message(&JsValue::from_f64(f64::from(delay_ms)));
            }
            Backend::MainThread { pending } => {
                let f = self.on_fire.clone();
                *pending.borrow_mut() = Some(Timeout::new(delay_ms, move || f()));
            }
        }
    }

    /// Cancels the armed delay, if any.
    pub fn disarm(&self) {
        match &self.backend {
            Backend::Worker { worker, .. } => {
                let _ = worker.post_message(&JsValue::from_f64(-1.0));
            }
            Backend::MainThread { pending } => {
                pending.borrow_mut().take();
            }
        }
    }
}

impl Drop for WorkerTimer {
    fn drop(&mut self) {
        if let Backend::Worker { worker, url, .. } = &self.backend {
            worker.set_onmessage(None);
            worker.terminate();
            let _ = web_sys::Url::revoke_object_url(url);
        }
    }
}
