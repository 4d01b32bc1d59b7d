// The timer worker of src/transport/ticker.rs, one file in two roles.
// wasm-bindgen copies it next to the glue (snippets/…), so the console's dist/
// and the package's pkg/ both serve it from their own origin, which a strict
// CSP (`worker-src 'self'`) allows where a Blob URL is refused.
// - Imported by the glue (main thread): it only tells its own URL.
// - Started as a module worker (`new Worker(url, { type: 'module' })`): it says
//   'ready', then each message re-arms one timeout (a negative delay disarms)
//   and a passed delay posts 0.

/** The URL to start this file as the timer worker from. */
export function timerWorkerUrl() {
  return import.meta.url;
}

if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  let t = null;
  self.onmessage = (e) => {
    clearTimeout(t);
    t = null;
    if (e.data >= 0) t = setTimeout(() => { t = null; self.postMessage(0); }, e.data);
  };
  self.postMessage('ready');
}
