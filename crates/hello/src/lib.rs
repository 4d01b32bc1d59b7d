//! # agent-console-hello
//!
//! The smallest Yew page, built like the console (trunk, release, wasm-opt
//! -Oz, the same loader): `make bench-cdr` times its first paint beside the
//! console's, so the ratio says what the console adds over Yew itself.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[function_component(Hello)]
fn hello() -> Html {
    html! { <h1 id="hello">{ "你好 / Hello" }</h1> }
}

/// Entry point trunk calls when the wasm loads.
#[wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<Hello>::new().render();
}
