// Starts the console: imports trunk's wasm-bindgen glue and runs the wasm.
// Trunk's own loader is an inline <script type="module">, which a strict CSP
// (`script-src 'self'`) refuses; Trunk.toml's `pattern_script` replaces it with
// `<script type="module" src="/boot.js" data-js=… data-wasm=…>`, carrying the
// hashed file names, and this same-origin file does what the inline one did.
const tag = document.querySelector('script[data-console-boot]');
if (tag) {
  const { default: init } = await import(tag.dataset.js);
  const wasm = await init({ module_or_path: tag.dataset.wasm });
  dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
}
