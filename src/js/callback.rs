//! `CallbackClient` for JS: the two-way callback API, signed by the
//! embedder's signer (a function or a URL on its own server) or, where the
//! page is trusted, by the secret.

use super::{prop, to_js, to_js_error};
use crate::api::callback::{AppId, AppSecret, CallIdentifier, CallRequest, CallbackApi};
use crate::api::{InvalidInput, Problem};
use crate::core::{AnySigner, CallbackSession, Error, SecretSigner, Signer, UrlSigner};
use crate::i18n::Lang;
use crate::transport::{self, FetchClient};
use js_sys::{Function, Promise, Reflect};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

#[wasm_bindgen(typescript_custom_section)]
const TS_CALLBACK: &'static str = r#"
/**
 * Returns the `Authorization` header value for a timestamp (ms since the
 * epoch): `base64("APPID:ts:" + md5_hex("APPID:APPSECRET:ts"))`, computed
 * on a server that holds the secret.
 */
export type CallbackSignerFn = (timestampMs: number) => string | Promise<string>;
/** Settings of a `CallbackClient`: give `signer` (browsers) or `appSecret` (trusted code only). */
export interface CallbackSettings {
  /** The call host, e.g. `http://api.v3.quanmayun.com:9090`. */
  baseUrl: string;
  /** The recording host; default: `baseUrl`. */
  recordUrl?: string;
  appId: string | number;
  /** Signs in this page. Never use it in a page people can open: the secret would be readable. */
  appSecret?: string;
  /** A function, or a URL answering `GET url?timestamp=MS` with `{"authorization": "…"}` or the value as text. */
  signer?: CallbackSignerFn | string;
  /** Language of error messages; default `zh-CN`. */
  language?: string;
}
export interface CallbackCallRequest { caller: string; callee: string; outCallId?: string; }
export interface CallbackCallResult { callidentifier: string; }
export interface CallbackRecording { fileUrl: string; }
/** The status notification the platform POSTs to your server when a call ends. */
export interface CallbackStatusNotification {
  callidentifier: string;
  status: "Disconnected" | string;
  answerTime?: string;
  startTime?: string;
  endTime: string;
  reason?: "HangUp" | "CallerBusy" | "CallerNoAnswer" | "CallerFailure" | "CallerAbandon"
    | "CalleeBusy" | "CalleeNoAnswer" | "CalleeFailure" | "Other" | string;
  /** Seconds, as a string. */
  callDuration?: string;
  recordingResult?: "success" | "fail";
  outCallId?: string;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `CallbackSettings` in TypeScript.
    #[wasm_bindgen(typescript_type = "CallbackSettings")]
    pub type CallbackSettingsArg;
    /// `CallbackCallRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "CallbackCallRequest")]
    pub type CallbackCallArg;
}

/// The signer a JS caller chose.
enum JsSigner {
    Rust(AnySigner<FetchClient>),
    Function(Function),
}

impl Signer for JsSigner {
    async fn authorization(&self, timestamp_ms: u64) -> Result<String, Error> {
        match self {
            JsSigner::Rust(s) => s.authorization(timestamp_ms).await,
            JsSigner::Function(f) => {
                let describe = |e: JsValue| {
                    e.dyn_ref::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                        .or_else(|| e.as_string())
                        .unwrap_or_else(|| "it threw".into())
                };
                // Timestamps are far below 2^53: exact as a JS number.
                let mut v = f
                    .call1(&JsValue::NULL, &JsValue::from_f64(timestamp_ms as f64))
                    .map_err(|e| Error::Signer(describe(e)))?;
                if let Some(p) = v.dyn_ref::<Promise>() {
                    v = JsFuture::from(p.clone()).await.map_err(|e| Error::Signer(describe(e)))?;
                }
                v.as_string().ok_or_else(|| Error::Signer("the function did not return a string".into()))
            }
        }
    }
}

/// The two-way callback API for embedders. Every method returns a Promise
/// that rejects with an `AgentConsoleError`.
///
/// ```ts
/// const cb = new CallbackClient({
///   baseUrl: 'https://callback.example', appId: '1696054309969104898',
///   signer: '/api/callback-sign',          // your server holds the secret
/// });
/// const { callidentifier } = await cb.call({ caller: '13800000000', callee: '13912345678' });
/// await cb.endCall(callidentifier);
/// const { fileUrl } = await cb.recording(callidentifier);
/// ```
#[wasm_bindgen]
pub struct CallbackClient {
    session: Rc<CallbackSession<FetchClient, JsSigner>>,
    lang: Lang,
}

#[wasm_bindgen]
impl CallbackClient {
    /// Checks the settings; throws an `AgentConsoleError` (`invalid_input`)
    /// naming the bad field. Give exactly one of `signer` and `appSecret`.
    #[wasm_bindgen(constructor)]
    pub fn new(settings: CallbackSettingsArg) -> Result<CallbackClient, JsValue> {
        let obj: JsValue = settings.into();
        let lang = prop(&obj, "language").ok().flatten().map(|l| Lang::from_tag(&l)).unwrap_or_default();
        Self::build(&obj, lang).map_err(|e| to_js_error(&e, lang))
    }

    fn build(obj: &JsValue, lang: Lang) -> Result<CallbackClient, Error> {
        if !obj.is_object() {
            return Err(InvalidInput::new("settings", Problem::Malformed, "expected an object").into());
        }
        let base = prop(obj, "baseUrl")?.unwrap_or_default();
        let record = prop(obj, "recordUrl")?.unwrap_or_default();
        let api = CallbackApi::new(&transport::resolve_url(&base), &transport::resolve_url(&record))?;
        let app_id = AppId::parse(&prop(obj, "appId")?.unwrap_or_default())?;
        let signer_val = Reflect::get(obj, &"signer".into()).unwrap_or(JsValue::UNDEFINED);
        let secret = prop(obj, "appSecret")?;
        let signer = match (signer_val.dyn_ref::<Function>(), signer_val.as_string(), secret) {
            (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "signer",
                    Problem::Malformed,
                    "give signer or appSecret, not both",
                )
                .into())
            }
            (Some(f), _, None) => JsSigner::Function(f.clone()),
            (None, Some(url), None) if !url.trim().is_empty() => JsSigner::Rust(AnySigner::Url(
                UrlSigner::new("signer", &transport::resolve_url(&url), FetchClient)?,
            )),
            (None, _, Some(secret)) => JsSigner::Rust(AnySigner::Secret(SecretSigner::new(
                app_id.clone(),
                AppSecret::parse(&secret)?,
            ))),
            _ => return Err(InvalidInput::new("signer", Problem::Required, "").into()),
        };
        let session = CallbackSession::new(api, app_id, FetchClient, signer, Rc::new(transport::wall_now));
        Ok(CallbackClient { session: Rc::new(session), lang })
    }

    fn reject(&self, e: Error) -> Promise {
        Promise::reject(&to_js_error(&e, self.lang))
    }

    /// Starts a call: the platform rings `caller`, then bridges `callee`.
    ///
    /// ```ts
    /// const { callidentifier } = await cb.call({ caller: '13800000000', callee: '13912345678', outCallId: 'order-7' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<CallbackCallResult>")]
    pub fn call(&self, req: CallbackCallArg) -> Promise {
        let obj: JsValue = req.into();
        let r = (|| -> Result<CallRequest, Error> {
            let caller = prop(&obj, "caller")?.unwrap_or_default();
            let callee = prop(&obj, "callee")?.unwrap_or_default();
            Ok(CallRequest::parse(&caller, &callee, prop(&obj, "outCallId")?.as_deref())?)
        })();
        let r = match r {
            Ok(r) => r,
            Err(e) => return self.reject(e),
        };
        let (s, lang) = (self.session.clone(), self.lang);
        future_to_promise(async move {
            s.call(&r).await.and_then(|v| to_js(&v)).map_err(|e| to_js_error(&e, lang))
        })
    }

    /// Ends a call.
    ///
    /// ```ts
    /// await cb.endCall(callidentifier);
    /// ```
    #[wasm_bindgen(js_name = endCall, unchecked_return_type = "Promise<void>")]
    pub fn end_call(&self, callidentifier: &str) -> Promise {
        let id = match CallIdentifier::parse(callidentifier) {
            Ok(id) => id,
            Err(e) => return self.reject(e.into()),
        };
        let (s, lang) = (self.session.clone(), self.lang);
        future_to_promise(async move {
            s.end_call(&id).await.map(|()| JsValue::UNDEFINED).map_err(|e| to_js_error(&e, lang))
        })
    }

    /// The recording's URL, once the call has ended (valid three days).
    ///
    /// ```ts
    /// const { fileUrl } = await cb.recording(callidentifier);
    /// new Audio(fileUrl).play();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<CallbackRecording>")]
    pub fn recording(&self, callidentifier: &str) -> Promise {
        let id = match CallIdentifier::parse(callidentifier) {
            Ok(id) => id,
            Err(e) => return self.reject(e.into()),
        };
        let (s, lang) = (self.session.clone(), self.lang);
        future_to_promise(async move {
            s.recording(&id).await.and_then(|v| to_js(&v)).map_err(|e| to_js_error(&e, lang))
        })
    }

    /// The estimated offset of the server's clock from this machine's, in
    /// ms (0 until a reply with a readable `Date` header arrived).
    #[wasm_bindgen(getter = clockOffsetMs)]
    pub fn clock_offset_ms(&self) -> f64 {
        self.session.clock_offset_ms() as f64
    }
}
