//! Multipart upload with progress (`XMLHttpRequest`: fetch cannot report
//! upload progress). The browser builds the body from `File`/`Blob`s.

use crate::api::HttpResponse;
use futures::channel::oneshot;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The upload use case, the same for the JS package's `DapiClient.upload`
/// and the console's upload box: files over the limit together are refused
/// before a byte is sent (`File.size`), the rest posted with progress, the
/// reply held to its cap and decoded into the URLs as the server sent them
/// (callers resolve each with [`crate::api::http::resolve_link`] where they
/// show it or hand it on).
pub async fn upload_files(
    api: &crate::api::dapi::DapiApi,
    files: &[web_sys::Blob],
    on_progress: impl Fn(f64, f64) + 'static,
) -> Result<Vec<String>, crate::core::Error> {
    use crate::api::dapi::{check_upload_sizes, decode_upload, UPLOAD_REPLY_MAX_BODY};
    check_upload_sizes(&sizes(files))?;
    let resp = upload(&api.upload_url(), files, UPLOAD_REPLY_MAX_BODY, on_progress)
        .await
        .map_err(crate::core::Error::Network)?;
    Ok(decode_upload(&resp)?)
}

/// Longest an upload may take before it is abandoned.
pub const UPLOAD_TIMEOUT_MS: u32 = 300_000;

/// Aborts the request if the future is dropped before it finished.
struct AbortOnDrop(web_sys::XmlHttpRequest, bool);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if !self.1 {
            let _ = self.0.abort();
        }
    }
}

/// The sizes (`Blob.size`, bytes) of `files`, for
/// [`crate::api::dapi::check_upload_sizes`] before sending.
pub fn sizes(files: &[web_sys::Blob]) -> Vec<f64> {
    files.iter().map(web_sys::Blob::size).collect()
}

/// POSTs `files` (each as its own part, field `file`, `file1`, …) to `url`.
/// `on_progress(loaded, total)` follows the upload. `Err` means no HTTP
/// answer (network, timeout, abort). A reply body over `max_body` bytes is
/// not read: the request is aborted and the response comes back with
/// [`HttpResponse::body_refused`] set.
pub async fn upload(
    url: &str,
    files: &[web_sys::Blob],
    max_body: u64,
    on_progress: impl Fn(f64, f64) + 'static,
) -> Result<HttpResponse, String> {
    let form = web_sys::FormData::new().map_err(|e| format!("{e:?}"))?;
    for (i, blob) in files.iter().enumerate() {
        let field = if i == 0 { "file".to_string() } else { format!("file{i}") };
        let name =
            blob.dyn_ref::<web_sys::File>().map(|f| f.name()).unwrap_or_else(|| format!("upload{i}.bin"));
        form.append_with_blob_and_filename(&field, blob, &name).map_err(|e| format!("{e:?}"))?;
    }
    let xhr = web_sys::XmlHttpRequest::new().map_err(|e| format!("{e:?}"))?;
    xhr.open("POST", url).map_err(|e| format!("{e:?}"))?;
    xhr.set_timeout(UPLOAD_TIMEOUT_MS);
    xhr.set_response_type(web_sys::XmlHttpRequestResponseType::Arraybuffer);
    let (tx, rx) = oneshot::channel::<Result<(), String>>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let finish = |outcome: Result<(), String>| {
        let tx = tx.clone();
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |_| {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(outcome.clone());
            }
        })
    };
    let onload = finish(Ok(()));
    let onerror = finish(Err("network error".into()));
    let ontimeout = finish(Err("timed out".into()));
    let onabort = finish(Err("aborted".into()));
    let onprogress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
        on_progress(e.loaded(), if e.length_computable() { e.total() } else { 0.0 });
    });
    // The reply's download: abort once it declares or brings more than
    // `max_body` (XHR buffers the whole body otherwise).
    let over = Rc::new(Cell::new(None::<u16>));
    let ondownload = {
        let (over, x) = (over.clone(), xhr.clone());
        let cap = max_body as f64;
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.loaded() > cap || (e.length_computable() && e.total() > cap) {
                over.set(Some(x.status().unwrap_or(0)));
                let _ = x.abort();
            }
        })
    };
    xhr.set_onprogress(Some(ondownload.as_ref().unchecked_ref()));
    xhr.set_onload(Some(onload.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    xhr.set_ontimeout(Some(ontimeout.as_ref().unchecked_ref()));
    xhr.set_onabort(Some(onabort.as_ref().unchecked_ref()));
    if let Ok(up) = xhr.upload() {
        up.set_onprogress(Some(onprogress.as_ref().unchecked_ref()));
    }
    let mut guard = AbortOnDrop(xhr.clone(), false);
    xhr.send_with_opt_form_data(Some(&form)).map_err(|e| format!("{e:?}"))?;
    let outcome = rx.await.unwrap_or_else(|_| Err("cancelled".into()));
    guard.1 = true;
    // Detach before the closures drop, so no late event calls a freed closure.
    xhr.set_onprogress(None);
    xhr.set_onload(None);
    xhr.set_onerror(None);
    xhr.set_ontimeout(None);
    xhr.set_onabort(None);
    if let Ok(up) = xhr.upload() {
        up.set_onprogress(None);
    }
    drop(ondownload);
    if let Some(status) = over.get() {
        drop((onload, onerror, ontimeout, onabort, onprogress));
        return Ok(HttpResponse { body_refused: true, ..HttpResponse::new(status, Vec::new()) });
    }
    outcome?;
    let status = xhr.status().map_err(|e| format!("{e:?}"))?;
    let body = xhr.response().ok().map(|r| js_sys::Uint8Array::new(&r).to_vec()).unwrap_or_default();
    drop((onload, onerror, ontimeout, onabort, onprogress));
    // A body that came in one event past the count above.
    let refused = u64::try_from(body.len()).unwrap_or(u64::MAX) > max_body;
    Ok(HttpResponse {
        body_refused: refused,
        ..HttpResponse::new(status, if refused { Vec::new() } else { body })
    })
}
