//! Media adapters for the softphone ([`MediaAdapter`]) that need no RTC
//! SDK: the sandbox's stand-in for the RTC network, and no media at all.
//! Browser code like the rest of the transports, so the console and an
//! embedder's page use the same one.

use super::softphone::{MediaAdapter, MediaSink};
use super::FetchClient;
use crate::api::dapi::JoinInfo;
use crate::api::{HttpRequest, HttpResponse, Method};
use crate::core::HttpClient;
use futures::future::LocalBoxFuture;
use gloo_timers::callback::Interval;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

/// How often the loopback asks the sandbox who is in the channel.
const PRESENCE_POLL_MS: u32 = 1_000;

/// The sandbox's stand-in for the RTC network (`/sandbox/dapi/rtc/…`, see
/// `docs/dapi.md`): joining checks the token like Agora would, presence is
/// polled, and the robot's audio plays through an `<audio>` element.
#[derive(Clone)]
pub struct SandboxRtc(Rc<LoopbackState>);

struct LoopbackState {
    base: String,
    state: RefCell<Option<LoopbackCall>>,
}

struct LoopbackCall {
    channel: String,
    uid: String,
    _presence: Interval,
    audio: Option<web_sys::HtmlAudioElement>,
}

impl LoopbackState {
    fn post(&self, path: &str, body: serde_json::Value) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url: format!("{}{path}", self.base),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(body.to_string()),
            max_body: crate::api::http::DEFAULT_MAX_BODY,
        }
    }
}

fn ok_status(r: &HttpResponse) -> Result<(), String> {
    if (200..300).contains(&r.status) {
        Ok(())
    } else {
        Err(format!("RTC join refused (HTTP {})", r.status))
    }
}

#[derive(serde::Deserialize, Default)]
struct Presence {
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    robot: bool,
}

impl MediaAdapter for SandboxRtc {
    fn join(&self, info: JoinInfo, sink: MediaSink) -> LocalBoxFuture<'static, Result<(), String>> {
        let this = self.0.clone();
        Box::pin(async move {
            let body = serde_json::json!({"channel": info.channel, "uid": info.uid, "token": info.token});
            let resp = FetchClient.send(this.post("/sandbox/dapi/rtc/join", body)).await?;
            ok_status(&resp)?;
            let me = info.uid.as_str().to_string();
            // Channel names are the server's (any printable text): one path segment.
            let channel = String::from(js_sys::encode_uri_component(info.channel.as_str()));
            let url = format!("{}/sandbox/dapi/rtc/{channel}", this.base);
            let robot_wav = format!("{}/sandbox/dapi/robot.wav", this.base);
            let seen: Rc<RefCell<BTreeSet<String>>> = Rc::default();
            let weak = Rc::downgrade(&this);
            let busy = Rc::new(std::cell::Cell::new(false));
            let presence = Interval::new(PRESENCE_POLL_MS, move || {
                if busy.replace(true) {
                    return;
                }
                let (url, me, seen, sink, weak, busy, wav) = (
                    url.clone(),
                    me.clone(),
                    seen.clone(),
                    sink.clone(),
                    weak.clone(),
                    busy.clone(),
                    robot_wav.clone(),
                );
                wasm_bindgen_futures::spawn_local(async move {
                    let req = HttpRequest {
                        method: Method::Get,
                        url,
                        headers: vec![],
                        body: None,
                        max_body: crate::api::http::DEFAULT_MAX_BODY,
                    };
                    if let Ok(resp) = FetchClient.send(req).await {
                        if let Ok(p) = serde_json::from_slice::<Presence>(&resp.body) {
                            let now: BTreeSet<String> = p
                                .members
                                .into_iter()
                                .filter(|m| *m != me)
                                .chain(p.robot.then(|| "robot".to_string()))
                                .collect();
                            let before = seen.replace(now.clone());
                            for u in now.difference(&before) {
                                sink.remote_joined(u);
                            }
                            for u in before.difference(&now) {
                                sink.remote_left(u);
                            }
                            if let Some(lb) = weak.upgrade() {
                                lb.robot_audio(p.robot, &wav);
                            }
                        }
                    }
                    busy.set(false);
                });
            });
            *this.state.borrow_mut() = Some(LoopbackCall {
                channel: info.channel.as_str().to_string(),
                uid: info.uid.as_str().to_string(),
                _presence: presence,
                audio: None,
            });
            Ok(())
        })
    }

    fn leave(&self) -> LocalBoxFuture<'static, ()> {
        let this = self.0.clone();
        Box::pin(async move {
            let call = this.state.borrow_mut().take();
            if let Some(c) = call {
                if let Some(a) = &c.audio {
                    let _ = a.pause();
                    a.remove();
                }
                let body = serde_json::json!({"channel": c.channel, "uid": c.uid});
                let _ = FetchClient.send(this.post("/sandbox/dapi/rtc/leave", body)).await;
            }
        })
    }
}

impl LoopbackState {
    fn robot_audio(&self, present: bool, wav: &str) {
        let mut state = self.state.borrow_mut();
        let Some(call) = state.as_mut() else { return };
        match (present, &call.audio) {
            (true, None) => {
                if let Ok(a) = web_sys::HtmlAudioElement::new_with_src(wav) {
                    a.set_loop(true);
                    a.set_id("sp-robot-audio");
                    // In the page, so it can be found (and played after a click).
                    if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
                        let _ = body.append_child(&a);
                    }
                    // Playing may be refused before a click; the panel offers one.
                    let _ = a.play();
                    call.audio = Some(a);
                }
            }
            (false, Some(a)) => {
                let _ = a.pause();
                a.remove();
                call.audio = None;
            }
            _ => {}
        }
    }
}

/// No media: where the console has no RTC (a real dapi server without the
/// sandbox loopback), joining succeeds and nobody is heard.
pub struct NoMedia;

impl MediaAdapter for NoMedia {
    fn join(&self, _: JoinInfo, _: MediaSink) -> LocalBoxFuture<'static, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    fn leave(&self) -> LocalBoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

impl SandboxRtc {
    /// The stand-in of the sandbox at `base` (its origin, `http://127.0.0.1:8081`).
    pub fn new(base: &str) -> Self {
        SandboxRtc(Rc::new(LoopbackState {
            base: base.trim_end_matches('/').to_string(),
            state: RefCell::new(None),
        }))
    }
}
