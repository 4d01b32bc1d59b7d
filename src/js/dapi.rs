//! `DapiClient` and `Softphone` for JS: the RTC voice-call server's calls,
//! and the call engine run with the embedder's RTC adapter.

use super::{prop, to_js, to_js_error};
use crate::api::dapi::{CallRecordPush, CallTaskInput, Channel, EventCode, JoinInfo, Uid};
use crate::api::http::resolve_link;
use crate::api::{InvalidInput, Problem};
use crate::core::dapi::softphone::{CallId, CallSnapshot, SoftphoneEvent, SoftphoneSettings};
use crate::core::time::Duration;
use crate::core::{DapiSession, Error};
use crate::i18n::Lang;
use crate::transport::softphone::{MediaAdapter, MediaSink, SoftphoneDriver};
use crate::transport::{self, FetchClient};
use futures::future::LocalBoxFuture;
use js_sys::{Array, Function, Promise, Reflect};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

#[wasm_bindgen(typescript_custom_section)]
const TS_DAPI: &'static str = r#"
/** Settings of a `DapiClient`. */
export interface DapiSettings {
  /** The dapi server, e.g. `https://rtc.example`. */
  baseUrl: string;
  /** This user's id as the site assigns it (`1234`, a UUID, an e-mail); not empty, no control characters, at most 256. */
  uid: string | number;
  /** Language of error messages; default `zh-CN`. */
  language?: string;
}
/** Join data, passed to the RTC adapter unchanged. */
export interface DapiJoinInfo { appID: string; channel: string; uid: string; token: string; }
export interface DapiSystemConfig { channelHeartbeat: number; agoraAppid: string; }
/** A recent call message: `uid` is the callee (your own uid: someone is calling you). */
export interface DapiCallMessage {
  id: WireInt; uid: string; channel: string;
  /** 0 new, 1 fetched, 2 ended. */
  status: number;
  statusLabel: string; createtime: string;
  /** The server's primary key (equal to `id` in the seed); null when not sent. */
  pk: WireInt | null;
  extraMsg: string;
}
/** 1 talk started, 2 talk ended, 1000 cancelled, 1001 no answer, 1002 rejected (caller), 1003 rejected (callee), 1006 caller cancelled (callee), 1007 error. */
export type DapiEventCode = 1 | 2 | 1000 | 1001 | 1002 | 1003 | 1006 | 1007;
export interface DapiCallTaskInput {
  /** Give it to update that row; leave it out to insert. */
  id?: number | string;
  dstUids: (string | number)[];
  /** `YYYY-MM-DD HH:MM:SS`, Beijing time. */
  callTime: string;
  taskid: string;
}
export interface DapiCallTask {
  id: WireInt; srcUid: string; dstUid: string[]; callTime: string; taskid: string; toneList: unknown[];
  /** The server's primary key (equal to `id` in the seed); null when not sent. */
  pk: WireInt | null;
}
export interface DapiCallTaskPage {
  rows: DapiCallTask[]; page: number; total: number; perPage: number;
  /** Rows of this page that did not decode and were left out. */
  skipped: SkippedRows;
  /** Rows the server counts but never sends: it ignores paging and answers only its first
   * page (`total` then counts the rows it sends, and pages are cut from them). Else 0. */
  withheld: number;
}
/** How the adapter tells the softphone who is in its channel. Each `join` gets its own; they
 * stay callable for the softphone's life, and news through an earlier call's is ignored. */
export interface RtcAdapterEvents { remoteJoined(uid: string): void; remoteLeft(uid: string): void; }
/** Your RTC (e.g. Agora) behind two calls. */
export interface RtcAdapter {
  join(joinInfo: DapiJoinInfo, events: RtcAdapterEvents): Promise<void>;
  leave(): Promise<void>;
}
export interface SoftphoneOptions {
  /** How often to poll for incoming calls; default 3000. */
  pollPeriodMs?: number;
  /** How long an outgoing call rings before "no answer"; default 45000. */
  ringTimeoutMs?: number;
  language?: string;
}
export type SoftphoneEndReason =
  | { kind: "hangup"; byMe: boolean } | { kind: "cancelled" } | { kind: "noAnswer" } | { kind: "rejected" }
  | { kind: "rejectedByMe" } | { kind: "callerCancelled" } | { kind: "failed"; message: string };
export interface SoftphoneCall {
  callId: number;
  role: "caller" | "callee";
  state: "dialing" | "ringing" | "answering" | "talking" | "ended";
  channel: string | null;
  callees: string[];
  peers: string[];
  robot: boolean;
  robotCall: boolean;
  extraMsg: string;
  /** When the talk started, as a `Date.now()` time: measured on a monotonic clock and
   * converted when this snapshot is made, so `Date.now() - talkStartedMs` is the talk's
   * length right then. After a wall-clock step, take a fresh snapshot (`calls`, the next
   * `state` event) rather than a value kept from before it. */
  talkStartedMs: number | null;
  ended: SoftphoneEndReason | null;
}
export type SoftphoneConnection = { state: "ok" } | { state: "trouble"; failures: number; error: string };
export interface SoftphoneEventMap {
  incoming: SoftphoneCall;
  state: SoftphoneCall;
  ended: SoftphoneCall;
  connection: SoftphoneConnection;
  error: { callId: number; error: AgentConsoleError };
}
/** The call record the dapi server POSTs to your server when a call ends (`parseDapiCallRecord`). */
export interface DapiCallRecord {
  channel: string; dstUid: string[]; id: number; isRobot: boolean; srcUid: string;
  starttime: string; endtime: string;
  event: { id: number; channel: string; code: number; createtime: string; desp: string;
           /** 0 user, 1 robot (read from `sender_type` or the seed's `sender_typ`). */
           senderType: number; record: number; uid: string; }[];
  resource: { captions: DapiResourceItem[]; recording: DapiResourceItem[]; recordingTimestamp: DapiResourceItem[]; };
  count: number; refreshtime: string;
}
export interface DapiResourceItem { user: string; kindLabel: string; content: string; start?: string; end?: string; }
"#;

#[wasm_bindgen]
extern "C" {
    /// `DapiSettings` in TypeScript.
    #[wasm_bindgen(typescript_type = "DapiSettings")]
    pub type DapiSettingsArg;
    /// `DapiCallTaskInput` in TypeScript.
    #[wasm_bindgen(typescript_type = "DapiCallTaskInput")]
    pub type DapiCallTaskArg;
    /// `RtcAdapter` in TypeScript.
    #[wasm_bindgen(typescript_type = "RtcAdapter")]
    pub type RtcAdapterArg;
    /// `SoftphoneOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "SoftphoneOptions")]
    pub type SoftphoneOptionsArg;
    /// A list of uids in TypeScript.
    #[wasm_bindgen(typescript_type = "(string | number)[] | string")]
    pub type UidsArg;
    /// Files in TypeScript.
    #[wasm_bindgen(typescript_type = "Blob | Blob[] | FileList")]
    pub type FilesArg;
}

/// A list of uids from a JS array (strings or numbers) or one string with
/// commas or spaces.
fn uids(v: &JsValue) -> Result<Vec<Uid>, Error> {
    let items: Vec<String> = if Array::is_array(v) {
        let arr: &Array = v.unchecked_ref();
        let mut out = Vec::new();
        for item in arr.iter() {
            let holder = js_sys::Object::new();
            let _ = Reflect::set(&holder, &"dstUids".into(), &item);
            out.push(prop(&holder, "dstUids")?.unwrap_or_default());
        }
        out
    } else if let Some(s) = v.as_string() {
        Uid::split_text(&s)
    } else if v.is_undefined() || v.is_null() {
        Vec::new()
    } else {
        return Err(InvalidInput::new("dstUids", Problem::Malformed, "expected a list of user ids").into());
    };
    Ok(Uid::parse_list("dstUids", &items)?)
}

fn optional_text(v: &JsValue, field: &'static str) -> Result<Option<String>, Error> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string()
        .map(|s| (!s.is_empty()).then_some(s))
        .ok_or_else(|| InvalidInput::new(field, Problem::Malformed, "expected a string").into())
}

fn number_opt(obj: &JsValue, key: &'static str, min: f64, max: f64) -> Result<Option<u64>, Error> {
    let v = Reflect::get(obj, &key.into()).unwrap_or(JsValue::UNDEFINED);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && (min..=max).contains(&n) => Ok(Some(n as u64)),
        _ => Err(InvalidInput::new(
            key,
            Problem::OutOfRange { min: min as u64, max: max as u64 },
            &format!("{v:?}"),
        )
        .into()),
    }
}

/// The dapi server's calls for one user. Every method returns a Promise that
/// rejects with an `AgentConsoleError`; a `success: false` reply has code
/// `refused` and the server's words as its message.
///
/// ```ts
/// const dapi = new DapiClient({ baseUrl: 'https://rtc.example', uid: '1234' });
/// const join = await dapi.callUsers(['1235'], 'from the help desk');
/// await rtc.join(join);                         // Agora, with the data unchanged
/// await dapi.reportEvent(join.channel, 2, 'hung up');
/// ```
#[wasm_bindgen]
pub struct DapiClient {
    session: Rc<DapiSession<FetchClient>>,
    lang: Lang,
}

fn run<T, F>(lang: Lang, f: F) -> Promise
where
    F: std::future::Future<Output = Result<T, Error>> + 'static,
    T: serde::Serialize,
{
    future_to_promise(async move { f.await.and_then(|v| to_js(&v)).map_err(|e| to_js_error(&e, lang)) })
}

fn done<F>(lang: Lang, f: F) -> Promise
where
    F: std::future::Future<Output = Result<(), Error>> + 'static,
{
    future_to_promise(async move { f.await.map(|()| JsValue::UNDEFINED).map_err(|e| to_js_error(&e, lang)) })
}

#[wasm_bindgen]
impl DapiClient {
    /// Checks the settings; throws `invalid_input` naming the bad field.
    #[wasm_bindgen(constructor)]
    pub fn new(settings: DapiSettingsArg) -> Result<DapiClient, JsValue> {
        let obj: JsValue = settings.into();
        let lang = prop(&obj, "language").ok().flatten().map(|l| Lang::from_tag(&l)).unwrap_or_default();
        let build = || -> Result<DapiClient, Error> {
            if !obj.is_object() {
                return Err(InvalidInput::new("settings", Problem::Malformed, "expected an object").into());
            }
            let base = prop(&obj, "baseUrl")?.unwrap_or_default();
            let uid = Uid::parse("uid", &prop(&obj, "uid")?.unwrap_or_default())?;
            Ok(DapiClient { session: Rc::new(transport::open_dapi(&base, uid)?), lang })
        };
        build().map_err(|e| to_js_error(&e, lang))
    }

    fn reject(&self, e: Error) -> Promise {
        Promise::reject(&to_js_error(&e, self.lang))
    }

    /// Checks `channel`, then runs `f` with the session and the channel.
    fn on_channel<T, F, Fut>(&self, channel: &str, f: F) -> Promise
    where
        T: serde::Serialize,
        F: FnOnce(Rc<DapiSession<FetchClient>>, Channel) -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>> + 'static,
    {
        match Channel::parse(channel) {
            Ok(ch) => run(self.lang, f(self.session.clone(), ch)),
            Err(e) => self.reject(e.into()),
        }
    }

    /// This user's id.
    #[wasm_bindgen(getter)]
    pub fn uid(&self) -> String {
        self.session.uid().as_str().to_string()
    }

    /// `GET /dapi/system/config`.
    ///
    /// ```ts
    /// const { channelHeartbeat } = await dapi.config();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DapiSystemConfig>")]
    pub fn config(&self) -> Promise {
        let s = self.session.clone();
        run(self.lang, async move { s.config().await })
    }

    /// Rings one or several users; resolves to our join data for the channel.
    ///
    /// ```ts
    /// const join = await dapi.callUsers(['1235', '1236'], 'meeting');
    /// ```
    #[wasm_bindgen(js_name = callUsers, unchecked_return_type = "Promise<DapiJoinInfo>")]
    pub fn call_users(&self, dst_uids: UidsArg, extra_msg: JsValue) -> Promise {
        let args = (|| Ok::<_, Error>((uids(&dst_uids.into())?, optional_text(&extra_msg, "extraMsg")?)))();
        let (dst, extra) = match args {
            Ok(a) => a,
            Err(e) => return self.reject(e),
        };
        let s = self.session.clone();
        run(self.lang, async move { s.call_users(&dst, extra.as_deref()).await })
    }

    /// A demo call the server's robot answers with audio.
    #[wasm_bindgen(js_name = callRobot, unchecked_return_type = "Promise<DapiJoinInfo>")]
    pub fn call_robot(&self) -> Promise {
        let s = self.session.clone();
        run(self.lang, async move { s.call_robot().await })
    }

    /// Recent call messages (about a minute): incoming calls and our own.
    ///
    /// ```ts
    /// const ringing = (await dapi.callMessages()).filter(m => m.uid === dapi.uid && m.status < 2);
    /// ```
    /// The array also carries `skipped` (`{count, reasons}`): messages that
    /// did not decode and were left out.
    #[wasm_bindgen(
        js_name = callMessages,
        unchecked_return_type = "Promise<DapiCallMessage[] & { skipped: SkippedRows }>"
    )]
    pub fn call_messages(&self) -> Promise {
        let (s, lang) = (self.session.clone(), self.lang);
        future_to_promise(async move {
            let listed = s.messages().await.map_err(|e| to_js_error(&e, lang))?;
            super::to_js_listed(&listed.rows, &listed.skipped).map_err(|e| to_js_error(&e, lang))
        })
    }

    /// Join data for an existing channel (how a callee answers).
    #[wasm_bindgen(js_name = channelToken, unchecked_return_type = "Promise<DapiJoinInfo>")]
    pub fn channel_token(&self, channel: &str) -> Promise {
        self.on_channel(channel, |s, ch| async move { s.channel_token(&ch).await })
    }

    /// Reports a call event (`DapiEventCode`).
    ///
    /// ```ts
    /// await dapi.reportEvent(join.channel, 1000, 'cancelled');
    /// ```
    #[wasm_bindgen(js_name = reportEvent, unchecked_return_type = "Promise<void>")]
    pub fn report_event(&self, channel: &str, code: f64, desp: JsValue) -> Promise {
        let args = (|| -> Result<_, Error> {
            let ch = Channel::parse(channel)?;
            let code = (code.fract() == 0.0 && code >= 0.0)
                .then(|| EventCode::from_code(code as u64))
                .flatten()
                .ok_or_else(|| {
                    InvalidInput::new(
                        "code",
                        Problem::NotOneOf { allowed: "1, 2, 1000, 1001, 1002, 1003, 1006, 1007" },
                        &code.to_string(),
                    )
                })?;
            Ok((ch, code, optional_text(&desp, "desp")?))
        })();
        let (ch, code, desp) = match args {
            Ok(a) => a,
            Err(e) => return self.reject(e),
        };
        let s = self.session.clone();
        done(self.lang, async move { s.report_event(&ch, code, desp.as_deref()).await })
    }

    /// Asks the robot into a channel; resolves to our join data.
    #[wasm_bindgen(js_name = inviteRobot, unchecked_return_type = "Promise<DapiJoinInfo>")]
    pub fn invite_robot(&self, channel: &str) -> Promise {
        self.on_channel(channel, |s, ch| async move { s.invite_robot(&ch).await })
    }

    /// Takes the robot out of a channel.
    #[wasm_bindgen(js_name = quitRobot, unchecked_return_type = "Promise<void>")]
    pub fn quit_robot(&self, channel: &str) -> Promise {
        match Channel::parse(channel) {
            Ok(ch) => {
                let s = self.session.clone();
                done(self.lang, async move { s.quit_robot(&ch).await })
            }
            Err(e) => self.reject(e.into()),
        }
    }

    /// Tells the server we are still in `channel` (the `Softphone` does this for you).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn heartbeat(&self, channel: &str) -> Promise {
        match Channel::parse(channel) {
            Ok(ch) => {
                let s = self.session.clone();
                done(self.lang, async move { s.heartbeat(&ch).await })
            }
            Err(e) => self.reject(e.into()),
        }
    }

    /// Saves a scheduled call (insert without `id`, update with it);
    /// resolves to `{ id }` (`null` if the server did not say).
    ///
    /// ```ts
    /// const { id } = await dapi.saveCallTask({ dstUids: ['1235'], callTime: '2026-12-01 09:30:00', taskid: 'T-7' });
    /// ```
    #[wasm_bindgen(js_name = saveCallTask, unchecked_return_type = "Promise<{ id: number | null }>")]
    pub fn save_call_task(&self, task: DapiCallTaskArg) -> Promise {
        let obj: JsValue = task.into();
        let input = (|| -> Result<CallTaskInput, Error> {
            if !obj.is_object() {
                return Err(InvalidInput::new("task", Problem::Malformed, "expected an object").into());
            }
            let dst = Reflect::get(&obj, &"dstUids".into()).unwrap_or(JsValue::UNDEFINED);
            let dst: Vec<String> = uids(&dst)?.iter().map(|u| u.as_str().to_string()).collect();
            Ok(CallTaskInput::parse(
                prop(&obj, "id")?.as_deref(),
                &dst,
                &prop(&obj, "callTime")?.unwrap_or_default(),
                &prop(&obj, "taskid")?.unwrap_or_default(),
            )?)
        })();
        let input = match input {
            Ok(i) => i,
            Err(e) => return self.reject(e),
        };
        #[derive(serde::Serialize)]
        struct Saved {
            id: Option<u64>,
        }
        let s = self.session.clone();
        run(self.lang, async move { s.save_task(&input).await.map(|id| Saved { id }) })
    }

    /// One page of our scheduled calls (`page` from 1, `pageSize` 1-100, default 20).
    /// From a server that ignores paging, the page is cut from what it sends.
    #[wasm_bindgen(js_name = callTasks, unchecked_return_type = "Promise<DapiCallTaskPage>")]
    pub fn call_tasks(&self, page: Option<f64>, page_size: Option<f64>) -> Promise {
        let check = |v: Option<f64>, field: &'static str, max: f64, default: u64| -> Result<u64, Error> {
            match v {
                None => Ok(default),
                Some(n) if n.fract() == 0.0 && (1.0..=max).contains(&n) => Ok(n as u64),
                Some(n) => Err(InvalidInput::new(
                    field,
                    Problem::OutOfRange { min: 1, max: max as u64 },
                    &n.to_string(),
                )
                .into()),
            }
        };
        let args =
            check(page, "page", 1e9, 1).and_then(|p| Ok((p, check(page_size, "pageSize", 100.0, 20)?)));
        let (page, per_page) = match args {
            Ok(a) => a,
            Err(e) => return self.reject(e),
        };
        let s = self.session.clone();
        run(self.lang, async move { s.tasks(page, per_page).await })
    }

    /// Uploads one file or several; always resolves to an array of URLs
    /// (absolute, resolved against `baseUrl`; a reply URL that is not a web
    /// address, such as `javascript:`, rejects with `decode`). `onProgress(loaded, total)`
    /// follows the upload. Files over 10 MB together are refused before
    /// anything is sent (`invalid_input`, field `files`).
    ///
    /// ```ts
    /// const [url] = await dapi.upload(input.files, (done, total) => bar.value = done / total);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<string[]>")]
    pub fn upload(&self, files: FilesArg, on_progress: Option<Function>) -> Promise {
        let blobs = match blobs(&files.into()) {
            Ok(b) => b,
            Err(e) => return self.reject(e),
        };
        let session = self.session.clone();
        let base = self.session.api().base_url().to_string();
        let lang = self.lang;
        future_to_promise(async move {
            let progress = move |loaded: f64, total: f64| {
                if let Some(f) = &on_progress {
                    let _ = f.call2(&JsValue::NULL, &loaded.into(), &total.into());
                }
            };
            let result = async {
                let urls = transport::upload::upload_files(session.api(), &blobs, progress).await?;
                // A URL that is not a web address (`javascript:`, `data:`) is
                // refused, never handed on for an embedder to put into a link.
                urls.iter()
                    .map(|u| {
                        resolve_link(&base, u).map_err(|_| {
                            Error::from(crate::api::ApiError::Decode(format!(
                                "upload reply: {u:?} is not a web address"
                            )))
                        })
                    })
                    .collect::<Result<Vec<_>, Error>>()
            };
            result.await.and_then(|v| to_js(&v)).map_err(|e| to_js_error(&e, lang))
        })
    }
}

fn blobs(v: &JsValue) -> Result<Vec<web_sys::Blob>, Error> {
    let bad = || {
        Error::from(InvalidInput::new(
            "files",
            Problem::Malformed,
            "expected a File, a Blob or a list of them",
        ))
    };
    let list: Vec<JsValue> = if let Some(b) = v.dyn_ref::<web_sys::Blob>() {
        vec![b.clone().into()]
    } else if let Some(fl) = v.dyn_ref::<web_sys::FileList>() {
        (0..fl.length()).filter_map(|i| fl.get(i)).map(JsValue::from).collect()
    } else if Array::is_array(v) {
        v.unchecked_ref::<Array>().iter().collect()
    } else {
        return Err(bad());
    };
    let out: Vec<web_sys::Blob> = list
        .into_iter()
        .map(|x| x.dyn_into::<web_sys::Blob>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if out.is_empty() {
        return Err(InvalidInput::new("files", Problem::Required, "").into());
    }
    Ok(out)
}

/// Decodes the call record the dapi server POSTs when a call ends (JSON
/// text); reads both `sender_type` and the seed's `sender_typ`.
///
/// ```ts
/// app.post('/dapi-hook', (req, res) => { const rec = parseDapiCallRecord(req.body); … });
/// ```
#[wasm_bindgen(js_name = parseDapiCallRecord, unchecked_return_type = "DapiCallRecord")]
pub fn parse_dapi_call_record(body: &str) -> Result<JsValue, JsValue> {
    CallRecordPush::parse(body.as_bytes())
        .map_err(Error::from)
        .and_then(|p| to_js(&p.callrecord))
        .map_err(|e| to_js_error(&e, Lang::default()))
}

/// Presence news from the adapter, `(callId, uid)`; each join hands it out
/// bound to its call.
type PresenceFn = Closure<dyn Fn(JsValue, JsValue)>;

/// A uid as the adapter gives it (Agora's may be a number).
fn uid_text(uid: &JsValue) -> Option<String> {
    uid.as_string().or_else(|| uid.as_f64().filter(|n| n.is_finite()).map(|n| format!("{n:.0}")))
}

/// The embedder's RTC adapter object, and the two functions behind every
/// `events` object it is handed.
struct JsAdapter {
    obj: JsValue,
    // The sink of the latest join; news for any other call is stale.
    sink: Rc<RefCell<Option<MediaSink>>>,
    // Made once, for the adapter's (the Softphone's) whole life: a handler
    // left over from an earlier call (an SDK keeps every handler a `join`
    // added) must keep working, and do nothing, rather than throw "closure
    // invoked after being dropped" and stop the SDK's emitter before the
    // current call's handler.
    on_join: PresenceFn,
    on_left: PresenceFn,
}

impl JsAdapter {
    fn new(obj: JsValue) -> Self {
        let sink: Rc<RefCell<Option<MediaSink>>> = Rc::new(RefCell::new(None));
        let presence = |joined: bool| {
            let sink = sink.clone();
            Closure::<dyn Fn(JsValue, JsValue)>::new(move |call: JsValue, uid: JsValue| {
                // Cloned out of the cell: handling the news may order the
                // next join, which replaces the sink.
                let current = sink.borrow().clone();
                let Some(current) = current else { return };
                if call.as_f64() != Some(current.call_id() as f64) {
                    return;
                }
                if let Some(u) = uid_text(&uid) {
                    if joined {
                        current.remote_joined(&u);
                    } else {
                        current.remote_left(&u);
                    }
                }
            })
        };
        let (on_join, on_left) = (presence(true), presence(false));
        Self { obj, sink, on_join, on_left }
    }

    fn method(&self, name: &str) -> Option<Function> {
        Reflect::get(&self.obj, &name.into()).ok().and_then(|f| f.dyn_into::<Function>().ok())
    }

    /// A fresh `events` object for `call`'s join.
    fn events(&self, call: CallId) -> JsValue {
        let id = JsValue::from_f64(call as f64);
        let bound = |f: &PresenceFn| f.as_ref().unchecked_ref::<Function>().bind1(&JsValue::NULL, &id);
        let events = js_sys::Object::new();
        let _ = Reflect::set(&events, &"remoteJoined".into(), &bound(&self.on_join));
        let _ = Reflect::set(&events, &"remoteLeft".into(), &bound(&self.on_left));
        events.into()
    }
}

async fn settle(v: Result<JsValue, JsValue>) -> Result<(), String> {
    let describe = |e: JsValue| {
        e.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_else(|| "the adapter failed".into())
    };
    let v = v.map_err(describe)?;
    if let Some(p) = v.dyn_ref::<Promise>() {
        JsFuture::from(p.clone()).await.map_err(describe)?;
    }
    Ok(())
}

impl MediaAdapter for Rc<JsAdapter> {
    fn join(&self, info: JoinInfo, sink: MediaSink) -> LocalBoxFuture<'static, Result<(), String>> {
        let this = self.clone();
        Box::pin(async move {
            let events = this.events(sink.call_id());
            *this.sink.borrow_mut() = Some(sink);
            let info = to_js(&info).map_err(|e| e.to_string())?;
            let join = this.method("join").ok_or("the adapter has no join()")?;
            settle(join.call2(&this.obj, &info, &events)).await
        })
    }

    fn leave(&self) -> LocalBoxFuture<'static, ()> {
        let this = self.clone();
        Box::pin(async move {
            if let Some(leave) = this.method("leave") {
                let _ = settle(leave.call0(&this.obj)).await;
            }
        })
    }
}

type Listeners = Rc<RefCell<BTreeMap<String, Vec<Function>>>>;

/// The call engine for embedders: polls for incoming calls, rings, answers,
/// reports every event once, heartbeats from a worker (on time in hidden
/// tabs), and drives your RTC adapter.
///
/// ```ts
/// let events = null; // the latest join's: add the SDK's handlers once, not on every join
/// agora.on('user-joined', u => events?.remoteJoined(String(u.uid)));
/// agora.on('user-left', u => events?.remoteLeft(String(u.uid)));
/// const phone = new Softphone(dapi, {
///   join: (info, ev) => { events = ev; return agora.join(info.appID, info.channel, info.token, info.uid); },
///   leave: () => agora.leave(),
/// });
/// phone.on('incoming', call => showBanner(call));
/// phone.on('ended', call => console.log(call.ended));
/// phone.start();
/// const id = await phone.call(['1235']);
/// ```
#[wasm_bindgen]
pub struct Softphone {
    driver: SoftphoneDriver,
    listeners: Listeners,
    lang: Lang,
}

#[wasm_bindgen]
impl Softphone {
    /// Wires the engine to `dapi` and `rtcAdapter` (an object with `join`
    /// and `leave`). Call `start()` to begin polling.
    #[wasm_bindgen(constructor)]
    pub fn new(
        dapi: &DapiClient,
        rtc_adapter: RtcAdapterArg,
        options: Option<SoftphoneOptionsArg>,
    ) -> Result<Softphone, JsValue> {
        let opts: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        let lang = if opts.is_object() {
            prop(&opts, "language").ok().flatten().map(|l| Lang::from_tag(&l)).unwrap_or(dapi.lang)
        } else {
            dapi.lang
        };
        let build = || -> Result<Softphone, Error> {
            let mut settings = SoftphoneSettings::default();
            if opts.is_object() {
                if let Some(ms) = number_opt(&opts, "pollPeriodMs", 500.0, 600_000.0)? {
                    settings.poll_period = Duration::from_millis(ms);
                }
                if let Some(ms) = number_opt(&opts, "ringTimeoutMs", 5_000.0, 600_000.0)? {
                    settings.ring_timeout = Duration::from_millis(ms);
                }
            }
            let obj: JsValue = rtc_adapter.into();
            let adapter = Rc::new(JsAdapter::new(obj));
            if adapter.method("join").is_none() || adapter.method("leave").is_none() {
                return Err(
                    InvalidInput::new("rtcAdapter", Problem::Malformed, "needs join() and leave()").into()
                );
            }
            let engine = crate::core::Softphone::with_seed(
                dapi.session.uid().clone(),
                settings,
                crate::transport::jitter_seed(),
            );
            let listeners: Listeners = Rc::new(RefCell::new(BTreeMap::new()));
            let l = listeners.clone();
            let sink = move |ev: SoftphoneEvent| deliver(&l, ev, lang);
            let driver = SoftphoneDriver::new(engine, dapi.session.clone(), Rc::new(adapter), sink);
            Ok(Softphone { driver, listeners, lang })
        };
        build().map_err(|e| to_js_error(&e, lang))
    }

    /// Listens for `incoming`, `state`, `ended`, `connection` or `error`.
    ///
    /// ```ts
    /// phone.on('connection', c => badge.textContent = c.state === 'ok' ? '●' : 'connection trouble');
    /// ```
    pub fn on(&self, event_name: &str, callback: Function) -> Result<(), JsValue> {
        if !matches!(event_name, "incoming" | "state" | "ended" | "connection" | "error") {
            let e = InvalidInput::new(
                "eventName",
                Problem::NotOneOf { allowed: "incoming, state, ended, connection, error" },
                event_name,
            );
            return Err(to_js_error(&e.into(), self.lang));
        }
        self.listeners.borrow_mut().entry(event_name.to_string()).or_default().push(callback);
        Ok(())
    }

    /// Stops calling `callback` for `eventName`.
    pub fn off(&self, event_name: &str, callback: &Function) {
        if let Some(list) = self.listeners.borrow_mut().get_mut(event_name) {
            list.retain(|f| f != callback);
        }
    }

    /// Starts polling for incoming calls (and reads the server's heartbeat period).
    pub fn start(&self) {
        let _ = self.driver.act(|e, now| {
            e.start(now);
            Ok(())
        });
    }

    /// Hangs up the call we are in (reporting it) and stops polling.
    pub fn stop(&self) {
        let _ = self.driver.act(|e, now| {
            e.stop(now);
            Ok(())
        });
    }

    fn settle<T: serde::Serialize>(&self, r: Result<T, Error>) -> Promise {
        match r.and_then(|v| to_js(&v)) {
            Ok(v) => Promise::resolve(&v),
            Err(e) => Promise::reject(&to_js_error(&e, self.lang)),
        }
    }

    /// Calls one or several users; resolves to the call's id at once (news
    /// follows as `state` events).
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn call(&self, dst_uids: UidsArg, extra_msg: JsValue) -> Promise {
        let r = uids(&dst_uids.into())
            .and_then(|dst| Ok((dst, optional_text(&extra_msg, "extraMsg")?)))
            .and_then(|(dst, extra)| self.driver.act(|e, now| e.call(now, dst, extra)));
        self.settle(r)
    }

    /// Calls the server's robot (demo audio).
    #[wasm_bindgen(js_name = callRobot, unchecked_return_type = "Promise<number>")]
    pub fn call_robot(&self) -> Promise {
        self.settle(self.driver.act(|e, now| e.call_robot(now)))
    }

    /// Answers a ringing call (`callId` from the `incoming` event).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn answer(&self, call_id: f64) -> Promise {
        self.settle(self.driver.act(|e, now| e.answer(now, call_id as u64)))
    }

    /// Rejects a ringing call.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn reject(&self, call_id: f64) -> Promise {
        self.settle(self.driver.act(|e, now| e.reject(now, call_id as u64)))
    }

    /// Hangs up (or cancels) the call we are in.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn hangup(&self) -> Promise {
        self.settle(self.driver.act(|e, now| e.hangup(now)))
    }

    /// Asks the robot into the call we are in.
    #[wasm_bindgen(js_name = inviteRobot, unchecked_return_type = "Promise<void>")]
    pub fn invite_robot(&self) -> Promise {
        self.settle(self.driver.act(|e, now| e.invite_robot(now)))
    }

    /// Takes the robot out of the call we are in.
    #[wasm_bindgen(js_name = quitRobot, unchecked_return_type = "Promise<void>")]
    pub fn quit_robot(&self) -> Promise {
        self.settle(self.driver.act(|e, now| e.quit_robot(now)))
    }

    /// Every call still remembered (live ones and the last ended ones).
    #[wasm_bindgen(getter, unchecked_return_type = "SoftphoneCall[]")]
    pub fn calls(&self) -> JsValue {
        let calls: Vec<_> = self.driver.with(|e| e.calls().map(for_js).collect());
        to_js(&calls).unwrap_or(JsValue::NULL)
    }

    /// The link's health.
    #[wasm_bindgen(getter, unchecked_return_type = "SoftphoneConnection")]
    pub fn connection(&self) -> JsValue {
        let c = self.driver.with(|e| e.connection().clone());
        to_js(&c).unwrap_or(JsValue::NULL)
    }

    /// Whether timers run in a worker (they keep time in hidden tabs). False
    /// once they fell back to the main thread: a worker refused (a CSP without
    /// `worker-src 'self'`, `snippets/` not served) or not started within 5 s.
    #[wasm_bindgen(getter, js_name = timerInWorker)]
    pub fn timer_in_worker(&self) -> bool {
        self.driver.timer_in_worker()
    }

    /// The heartbeat period in use, ms (from the server's config).
    #[wasm_bindgen(getter, js_name = heartbeatPeriodMs)]
    pub fn heartbeat_period_ms(&self) -> f64 {
        self.driver.with(|e| e.heartbeat_period().0 as f64)
    }
}

/// A call as JS sees it: `talkStartedMs` moved from the engine's monotonic
/// scale to `Date.now()`'s, counted back from now so the talk's length is
/// right whatever the wall clock did meanwhile.
fn for_js(c: &CallSnapshot) -> CallSnapshot {
    let mut c = c.clone();
    c.talk_started_ms = c.talk_started_ms.map(|t| {
        let ago = transport::now().0.saturating_sub(t);
        transport::wall_clock_ms().saturating_sub(ago)
    });
    c
}

fn deliver(listeners: &Listeners, ev: SoftphoneEvent, lang: Lang) {
    let (name, payload) = match &ev {
        SoftphoneEvent::Incoming(c) => ("incoming", to_js(&for_js(c))),
        SoftphoneEvent::State(c) => ("state", to_js(&for_js(c))),
        SoftphoneEvent::Ended(c) => ("ended", to_js(&for_js(c))),
        SoftphoneEvent::Connection(c) => ("connection", to_js(c)),
        SoftphoneEvent::Failed { call_id, error } => {
            let o = js_sys::Object::new();
            let _ = Reflect::set(&o, &"callId".into(), &JsValue::from_f64(*call_id as f64));
            let _ = Reflect::set(&o, &"error".into(), &to_js_error(error, lang));
            ("error", Ok(o.into()))
        }
    };
    let Ok(payload) = payload else { return };
    // Clone the list: a listener may add or remove listeners.
    let list: Vec<Function> = listeners.borrow().get(name).cloned().unwrap_or_default();
    for f in list {
        if let Err(e) = f.call1(&JsValue::NULL, &payload) {
            web_sys::console::error_2(&"agent-console: a softphone listener threw".into(), &e);
        }
    }
}
