//! No silent death: a panic aborts the wasm instance, so Yew renders
//! nothing more and the page would just stop. The hook installed at start
//! logs the panic to the console and puts a bilingual banner with the
//! message and a reload link over the page, built with plain DOM calls (Yew
//! is gone by then), text set through `textContent` only, styled by a class
//! of `www/console.css` (no inline style: the console runs under a strict CSP).
//!
//! The reload control is a link to the page itself, not a button with a
//! handler: it must work with the instance dead, without calling into it.

use wasm_bindgen::prelude::*;

/// The banner's element id (the click-through looks for it).
pub const BANNER_ID: &str = "console-stopped";

/// The banner's heading, both languages: the page language is not known
/// for sure once the console is dead.
pub const STOPPED: &str = "控制台已停止，请重新加载 / The console stopped; reload the page";

/// Installs the hook (through Yew, which would otherwise put its own in
/// when the console renders); the first panic shows the banner, later ones
/// only log.
pub fn install() {
    yew::set_custom_panic_hook(Box::new(|info| {
        let message = info.to_string();
        // With the JS stack, as Yew's default hook gives it, for whoever debugs.
        let stack = js_sys::Reflect::get(&js_sys::Error::new(""), &"stack".into()).unwrap_or_default();
        web_sys::console::error_3(
            &"agent-console: the console stopped:".into(),
            &message.as_str().into(),
            &stack,
        );
        // Nothing here may panic again: every step is allowed to fail.
        let _ = show_banner(&message);
    }));
}

fn show_banner(message: &str) -> Option<()> {
    let document = web_sys::window()?.document()?;
    if document.get_element_by_id(BANNER_ID).is_some() {
        return Some(());
    }
    let make = |tag: &str, class: &str, text: Option<&str>| -> Option<web_sys::Element> {
        let el = document.create_element(tag).ok()?;
        el.set_class_name(class);
        if let Some(t) = text {
            el.set_text_content(Some(t));
        }
        Some(el)
    };
    let banner = make("div", "console-stopped", None)?;
    banner.set_id(BANNER_ID);
    let _ = banner.set_attribute("role", "alert");
    let heading = make("h2", "console-stopped-title", Some(STOPPED))?;
    // The panic's own words (location and message), as text: it may quote
    // anything a server sent.
    let detail = make("pre", "console-stopped-detail", Some(message))?;
    let reload = make("a", "console-stopped-reload", Some("重新加载 / Reload"))?;
    let here = web_sys::window()?.location().href().unwrap_or_default();
    let _ = reload.set_attribute("href", &here);
    let _ = reload.set_attribute("id", "console-stopped-reload");
    for child in [&heading, &detail, &reload] {
        banner.append_child(child).ok()?;
    }
    let body = document.body()?;
    body.insert_before(&banner, body.first_child().as_ref()).ok()?;
    Some(())
}

/// Test-only: panics on purpose, so the click-through can check the banner.
///
/// Exported by the console's wasm module (not the JS package) and in the
/// release build, because the click-through tests the build that ships: a
/// feature-gated export would test a different binary. It is not put on
/// `window`: only the page's own loader holds the module's exports (the
/// test takes them from the `TrunkApplicationStarted` event), and it gives
/// nothing devtools cannot already do to one's own tab.
#[wasm_bindgen(js_name = __test_force_panic)]
#[allow(clippy::panic)] // the whole point: a panic for the hook's test
pub fn test_force_panic() {
    panic!("forced panic for the click-through test (__test_force_panic)");
}
