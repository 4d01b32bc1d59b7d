//! Small pieces the PBX pages share: a per-action in-flight guard, a
//! polling hook that runs only while its page is shown, a ticking clock,
//! error lines, audio playback and Blob URLs.

use agent_console::transport::wall_clock_ms;
use agent_console_core::Error;
use agent_console_wire::de::Skipped;
use agent_console_wire::pbx::EndpointState;
use agent_console_words::Message;
use agent_console_words::{pick, text, Lang, Text};
use gloo_timers::callback::Interval;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::platform::spawn_local;
use yew::prelude::*;

/// A core state machine (a pure `reduce(self, action) -> Self`) as the
/// console holds it: [`Reduced`] gives it Yew's [`Reducible`]. The wrapper is
/// here because the orphan rule forbids implementing Yew's trait on the
/// core's types outside the core, and the core must not know Yew.
pub trait Reduce: Clone {
    /// What the page dispatches.
    type Action;
    /// The state after `action` (the core's reducer).
    fn next(self, action: Self::Action) -> Self;
}

/// A core state behind a Yew reducer handle; reads go straight through
/// (`Deref`) to the core state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reduced<T>(pub T);

impl<T> std::ops::Deref for Reduced<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Reduce> Reducible for Reduced<T> {
    type Action = T::Action;
    fn reduce(self: Rc<Self>, action: T::Action) -> Rc<Self> {
        Rc::new(Reduced(self.0.clone().next(action)))
    }
}

/// Keys of requests in flight. A second click while one is out gets no
/// guard and does nothing, however fast it comes (the button's `disabled`
/// only follows on the next render).
#[derive(Clone, Default)]
pub(crate) struct Busy(Rc<RefCell<BTreeSet<String>>>);

impl Busy {
    /// A guard for `key`, or `None` when a request under `key` is out.
    pub fn start(&self, key: &str) -> Option<BusyGuard> {
        let mut set = self.0.try_borrow_mut().ok()?;
        if !set.insert(key.to_string()) {
            return None;
        }
        Some(BusyGuard(self.0.clone(), key.to_string()))
    }
}

/// Frees its key when dropped (when the request's task ends).
pub(crate) struct BusyGuard(Rc<RefCell<BTreeSet<String>>>, String);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if let Ok(mut set) = self.0.try_borrow_mut() {
            set.remove(&self.1);
        }
    }
}

/// Whether the browser tab is shown (hidden tabs skip polling).
pub(crate) fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() != web_sys::VisibilityState::Hidden)
}

/// Calls `tick` at once and then every `period_ms` while `active` (the
/// page is shown); skips ticks while the browser tab is hidden. The latest
/// `tick` is used, so it may capture fresh state.
#[hook]
pub(crate) fn use_poll(active: bool, period_ms: u32, tick: Rc<dyn Fn()>) {
    let latest = use_mut_ref(|| tick.clone());
    *latest.borrow_mut() = tick;
    use_effect_with((active, period_ms), move |&(active, period)| {
        let timer = active.then(|| {
            let fire = move || {
                if !page_visible() {
                    return;
                }
                // Cloned out first: the call may render, which sets `latest`.
                let f = latest.borrow().clone();
                f();
            };
            fire();
            let fire2 = fire.clone();
            Interval::new(period, fire2)
        });
        move || drop(timer)
    });
}

/// Wall-clock milliseconds, re-rendering every second while `active`.
#[hook]
pub(crate) fn use_now(active: bool) -> u64 {
    let now = use_state(wall_clock_ms);
    {
        let now = now.clone();
        use_effect_with(active, move |&active| {
            let timer = active.then(|| Interval::new(1_000, move || now.set(wall_clock_ms())));
            move || drop(timer)
        });
    }
    (*now).max(wall_clock_ms())
}

/// An error line with a dismiss button (nothing when there is no error).
pub(crate) fn error_line(
    id: &'static str,
    lang: Lang,
    err: Option<&Error>,
    dismiss: Callback<MouseEvent>,
) -> Html {
    let Some(e) = err else { return html! {} };
    html! {
        <div id={id} class="notice error" role="alert" data-code={e.code()} data-field={e.field().unwrap_or("")}>
            <span>{ e.message(lang) }</span>
            <button class="link" onclick={dismiss}>{ pick(lang, "关闭", "Dismiss") }</button>
        </div>
    }
}

/// The quiet line under a list when rows of it could not be read (nothing
/// when none were skipped); `data-count` holds the number for tests.
pub(crate) fn skipped_line(id: &'static str, lang: Lang, skipped: &Skipped) -> Html {
    if skipped.is_empty() {
        return html! {};
    }
    let title = skipped.reasons.join("\n");
    html! {
        <p id={id} class="muted small skipped" data-count={skipped.count.to_string()} title={title}>
            { agent_console_words::skipped_rows(skipped, lang) }
        </p>
    }
}

/// The console's audio players (call log, voicemail, TTS).
const AUDIO_IDS: [&str; 3] = ["cdr-audio", "vm-audio", "tts-audio"];

/// Points `audio` at `url` and plays it; a refusal (autoplay, a missing
/// file) is reported to `on_error` instead of becoming an unhandled rejection.
pub(crate) fn play(audio: &NodeRef, url: &str, on_error: Callback<String>) {
    let Some(el) = audio.cast::<web_sys::HtmlAudioElement>() else { return };
    // Every player's `src` passes the one link check (recording paths are
    // checked before this too; a Blob URL passes).
    if agent_console_wire::http::check_link(url).is_err() {
        on_error.emit(format!("{url:?} is not a web address"));
        return;
    }
    // One sound at a time: the console's other players stop.
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        for id in AUDIO_IDS {
            if let Some(other) =
                doc.get_element_by_id(id).and_then(|e| e.dyn_into::<web_sys::HtmlMediaElement>().ok())
            {
                if other.id() != el.id() {
                    let _ = other.pause();
                }
            }
        }
    }
    if el.src() != url {
        el.set_src(url);
    }
    el.set_current_time(0.0);
    match el.play() {
        Ok(p) => spawn_local(async move {
            if let Err(e) = wasm_bindgen_futures::JsFuture::from(p).await {
                let msg = e
                    .dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
                    .or_else(|| e.as_string())
                    .unwrap_or_else(|| "play() refused".into());
                on_error.emit(msg);
            }
        }),
        Err(_) => on_error.emit("play() failed".into()),
    }
}

pub(crate) use agent_console::transport::blob_url;

/// Frees a Blob URL.
pub(crate) fn revoke(url: &str) {
    if url.starts_with("blob:") {
        let _ = web_sys::Url::revoke_object_url(url);
    }
}

/// Offers `text` as a file download named `name` (a Blob URL on a
/// temporary link, revoked after the click).
pub(crate) fn download(text: &str, mime: &str, name: &str) -> Result<(), String> {
    let url = blob_url(text.as_bytes(), mime).ok_or("could not create the file")?;
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let result = (|| {
        let a = doc.create_element("a").map_err(|_| "no link")?;
        a.set_attribute("href", &url).map_err(|_| "no link")?;
        a.set_attribute("download", name).map_err(|_| "no link")?;
        a.set_attribute("hidden", "").map_err(|_| "no link")?;
        let body = doc.body().ok_or("no body")?;
        body.append_child(&a).map_err(|_| "no link")?;
        if let Some(el) = a.dyn_ref::<web_sys::HtmlElement>() {
            el.click();
        }
        a.remove();
        Ok::<(), &str>(())
    })();
    // The click has handed the Blob to the download; free it after a moment
    // (at once when there was no click).
    if result.is_err() {
        revoke(&url);
    } else {
        gloo_timers::callback::Timeout::new(10_000, move || revoke(&url)).forget();
    }
    result.map_err(str::to_string)
}

/// CSS class and words for an extension or trunk state (the desk panel
/// and the supervisor share them).
pub(crate) fn endpoint_words(s: &EndpointState, lang: Lang) -> (&'static str, String) {
    match s {
        EndpointState::Unavailable => ("state off", text(lang, Text::StateUnavailable).to_string()),
        EndpointState::NotInUse => ("state idle", text(lang, Text::StateIdle).to_string()),
        EndpointState::InUse => ("state busy", text(lang, Text::StateInUse).to_string()),
        e if e.is_on_hold() => ("state busy", pick(lang, "保持中", "On hold").to_string()),
        e if e.is_ringing() => ("state ring", pick(lang, "振铃中", "Ringing").to_string()),
        EndpointState::Other(o) => ("state busy", o.clone()),
    }
}
