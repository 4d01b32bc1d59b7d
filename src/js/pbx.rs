//! `PbxClient` for JS.

use super::{from_js, to_js, to_js_error};
use crate::api::de::string_lenient;
use crate::api::pbx::{Dial, EndpointFilter, EndpointStatus, Extension, Hangup, Page};
use crate::core::{Error, PbxSession, PbxSettings};
use crate::i18n::Lang;
use crate::transport::{self, FetchClient};
use js_sys::Promise;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

#[wasm_bindgen(typescript_custom_section)]
const TS_PBX: &'static str = r#"
/** Settings of a `PbxClient`. */
export interface PbxSettings {
  /** The interface prefix: `https://HOST:PORT/dscom-api/public`. */
  baseUrl: string;
  clientId: string | number;
  clientSecret: string;
  username: string;
  password: string;
  /** Root of recording files; default: the origin of `baseUrl`. */
  mediaUrl?: string;
  /** The billing websocket; default `wss://` (`ws://` for an http base) the base's host, port 8282. A path resolves against the page. */
  pushUrl?: string;
  /** Behind the agent-console gateway: the four credentials stay empty; the session cookie authenticates (same origin). */
  gateway?: boolean;
  /** The PBX's recording spool directory, for `playOnHandset`; default `/var/spool/asterisk`. */
  spoolDir?: string;
  /** `Accept-Language` and the language of error messages; default `zh-CN`. */
  language?: string;
}
export interface DialRequest { extension: string; dest: string; displaycid?: string; }
export interface DialResult { uniqueid: string; }
export interface HangupRequest { extension: string; }
export interface EndpointStatusRequest { page: number; pageSize: number; endpoint?: string; }
export interface EndpointStatusRow {
  endpoint: string;
  /** "Unavailable" | "Not in use" | "In use", or another Asterisk state as sent. */
  state: string;
  channels: string;
  cid: string;
  registerIp: string;
  registerPort: string;
}
export interface EndpointStatusPage {
  rows: EndpointStatusRow[]; total: number;
  /** Rows of this page that did not decode and were left out. */
  skipped: SkippedRows;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `PbxSettings` in TypeScript.
    #[wasm_bindgen(typescript_type = "PbxSettings")]
    pub type PbxSettingsArg;
    /// `DialRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "DialRequest")]
    pub type DialArg;
    /// `HangupRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "HangupRequest")]
    pub type HangupArg;
    /// `EndpointStatusRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "EndpointStatusRequest")]
    pub type EndpointStatusArg;
}

#[derive(Deserialize)]
struct DialIn {
    #[serde(default, deserialize_with = "string_lenient")]
    extension: String,
    #[serde(default, deserialize_with = "string_lenient")]
    dest: String,
    #[serde(default)]
    displaycid: Option<String>,
}

#[derive(Deserialize)]
struct HangupIn {
    #[serde(default, deserialize_with = "string_lenient")]
    extension: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndpointStatusIn {
    #[serde(default)]
    page: f64,
    #[serde(default)]
    page_size: f64,
    #[serde(default)]
    endpoint: Option<String>,
}

#[derive(Serialize)]
struct EndpointPageOut {
    rows: Vec<EndpointStatus>,
    total: u64,
    skipped: crate::api::de::Skipped,
}

/// A whole page number from JS (numbers arrive as f64).
pub(super) fn page_number(field: &'static str, v: f64) -> Result<u32, crate::api::InvalidInput> {
    if v.fract() == 0.0 && v >= 1.0 && v <= u32::MAX as f64 {
        Ok(v as u32)
    } else {
        let max = if field == "pageSize" { Page::MAX_SIZE as u64 } else { u32::MAX as u64 };
        Err(crate::api::InvalidInput::new(
            field,
            crate::api::Problem::OutOfRange { min: 1, max },
            &v.to_string(),
        ))
    }
}

/// A PBX account for embedders: every method returns a Promise that
/// rejects with an `AgentConsoleError`.
#[wasm_bindgen]
pub struct PbxClient {
    pub(super) session: Rc<PbxSession<FetchClient>>,
    pub(super) media_url: String,
    pub(super) push_url: String,
    pub(super) spool_dir: String,
    pub(super) lang: Lang,
}

impl PbxClient {
    pub(super) fn run<F, T>(&self, f: impl FnOnce(Rc<PbxSession<FetchClient>>) -> F) -> Promise
    where
        F: Future<Output = Result<T, Error>> + 'static,
        T: Serialize,
    {
        let lang = self.lang;
        let fut = f(self.session.clone());
        future_to_promise(async move {
            match fut.await.and_then(|v| to_js(&v)) {
                Ok(v) => Ok(v),
                Err(e) => Err(to_js_error(&e, lang)),
            }
        })
    }

    /// Like `run`, for calls that resolve to nothing (`Promise<void>`).
    pub(super) fn run_void<F>(&self, f: impl FnOnce(Rc<PbxSession<FetchClient>>) -> F) -> Promise
    where
        F: Future<Output = Result<(), Error>> + 'static,
    {
        let lang = self.lang;
        let fut = f(self.session.clone());
        future_to_promise(
            async move { fut.await.map(|()| JsValue::UNDEFINED).map_err(|e| to_js_error(&e, lang)) },
        )
    }

    /// Like `run`, for lists that resolve to an array: the array also
    /// carries `skipped` (`{count, reasons}`).
    pub(super) fn run_listed<F, T>(&self, f: impl FnOnce(Rc<PbxSession<FetchClient>>) -> F) -> Promise
    where
        F: Future<Output = Result<crate::api::pbx::Reply<Vec<T>>, Error>> + 'static,
        T: Serialize,
    {
        let lang = self.lang;
        let fut = f(self.session.clone());
        future_to_promise(async move {
            match fut.await.and_then(|r| super::to_js_listed(&r.data, &r.skipped)) {
                Ok(v) => Ok(v),
                Err(e) => Err(to_js_error(&e, lang)),
            }
        })
    }

    pub(super) fn reject(&self, e: Error) -> Promise {
        Promise::reject(&to_js_error(&e, self.lang))
    }
}

#[wasm_bindgen]
impl PbxClient {
    /// Checks the settings; throws an `AgentConsoleError` (`invalid_input`)
    /// naming the bad field. No request is sent until `login()` or a call.
    ///
    /// ```ts
    /// const pbx = new PbxClient({ baseUrl: '/dscom-api/public', clientId: 4, clientSecret, username: 'api', password });
    /// ```
    #[wasm_bindgen(constructor)]
    pub fn new(settings: PbxSettingsArg) -> Result<PbxClient, JsValue> {
        Self::build(settings.into()).map_err(|(e, lang)| to_js_error(&e, lang))
    }

    fn build(v: JsValue) -> Result<PbxClient, (Error, Lang)> {
        let s: PbxSettings = from_js("settings", v).map_err(|e| (e, Lang::Zh))?;
        let lang = s.lang();
        let opened = transport::open_pbx(&s).map_err(|e| (e, lang))?;
        Ok(PbxClient {
            session: Rc::new(opened.session),
            media_url: opened.media_url,
            push_url: opened.push_url,
            spool_dir: opened.spool_dir,
            lang,
        })
    }

    /// Gets a token (password grant). Later calls refresh it by themselves.
    ///
    /// ```ts
    /// await pbx.login();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn login(&self) -> Promise {
        self.run_void(|s| async move { s.login().await })
    }

    /// `call/dial`: `extension` rings, then dials `dest`.
    ///
    /// ```ts
    /// const { uniqueid } = await pbx.dial({ extension: '8001', dest: '8002' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DialResult>")]
    pub fn dial(&self, req: DialArg) -> Promise {
        let d = from_js::<DialIn>("dial", req.into())
            .and_then(|d| Ok(Dial::parse(&d.extension, &d.dest, d.displaycid.as_deref())?));
        match d {
            Ok(d) => self.run(|s| async move { s.dial(&d).await }),
            Err(e) => self.reject(e),
        }
    }

    /// `call/hangup`: ends the call of an extension or an outside number.
    ///
    /// ```ts
    /// await pbx.hangup({ extension: '8001' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn hangup(&self, req: HangupArg) -> Promise {
        let h = from_js::<HangupIn>("hangup", req.into()).and_then(|h| Ok(Hangup::parse(&h.extension)?));
        match h {
            Ok(h) => self.run_void(|s| async move { s.hangup(&h).await }),
            Err(e) => self.reject(e),
        }
    }

    /// `status/endpoint`: one page of extension states.
    ///
    /// ```ts
    /// const { rows, total } = await pbx.endpointStatus({ page: 1, pageSize: 50 });
    /// ```
    #[wasm_bindgen(js_name = endpointStatus, unchecked_return_type = "Promise<EndpointStatusPage>")]
    pub fn endpoint_status(&self, req: EndpointStatusArg) -> Promise {
        let f = from_js::<EndpointStatusIn>("endpointStatus", req.into()).and_then(|q| {
            let page = Page::new(page_number("page", q.page)?, page_number("pageSize", q.page_size)?)?;
            let endpoint = match q.endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                Some(e) => Some(Extension::parse("endpoint", e)?),
                None => None,
            };
            Ok(EndpointFilter { page, endpoint })
        });
        let f = match f {
            Ok(f) => f,
            Err(e) => return self.reject(e),
        };
        self.run(|s| async move {
            let page = s.endpoint_status(&f).await?;
            Ok(EndpointPageOut { rows: page.data, total: page.total, skipped: page.skipped })
        })
    }

    /// The media root recordings are fetched from.
    #[wasm_bindgen(getter = mediaUrl)]
    pub fn media_url(&self) -> String {
        self.media_url.clone()
    }
}
