//! The softphone panel: go online as an app user, call users or the robot,
//! get rung (banner + ring tone), answer or reject, talk with a timer,
//! invite or remove the robot, hang up; a connection indicator. State goes
//! through [`agent_console_core::dapi::phone_view`]; calls through the engine driver.

use crate::kit::{Reduce, Reduced};
use crate::signin::load_config;
use crate::DapiRef;
use agent_console::transport::media::{NoMedia, SandboxRtc};
use agent_console::transport::softphone::{MediaAdapter, SoftphoneDriver};
use agent_console::transport::{self};
use agent_console_core::dapi::phone_view::{talk_time, PhoneAction as A, PhoneView};
use agent_console_core::dapi::softphone::{
    CallSnapshot, CallState, Connection, EndReason, Role, SoftphoneSettings,
};
use agent_console_core::{Error, Softphone as Engine};
use agent_console_wire::dapi::Uid;
use agent_console_words::Message;
use agent_console_words::{pick, Lang};
use gloo_timers::callback::Interval;
use std::cell::RefCell;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

impl Reduce for PhoneView {
    type Action = A;
    fn next(self, action: A) -> Self {
        self.reduce(action)
    }
}

/// The ring tone: a 440+480 Hz two-tone, 2 s on, 4 s off, made with Web
/// Audio (no file). Created on the "go online" click, so the browser lets it play.
struct RingTone {
    ctx: web_sys::AudioContext,
    playing: RefCell<Option<(web_sys::OscillatorNode, web_sys::OscillatorNode)>>,
}

impl RingTone {
    fn new() -> Option<Self> {
        let ctx = web_sys::AudioContext::new().ok()?;
        Some(Self { ctx, playing: RefCell::new(None) })
    }

    fn blocked(&self) -> bool {
        self.ctx.state() != web_sys::AudioContextState::Running
    }

    fn resume(&self) {
        let _ = self.ctx.resume();
    }

    fn start(&self) {
        if self.playing.borrow().is_some() {
            return;
        }
        let build =
            || -> Result<(web_sys::OscillatorNode, web_sys::OscillatorNode), wasm_bindgen::JsValue> {
                let gain = self.ctx.create_gain()?;
                let t0 = self.ctx.current_time();
                let g = gain.gain();
                g.set_value_at_time(0.0, t0)?;
                // Schedule a minute of cadence up front: the tone stops when answered.
                for i in 0..10 {
                    let t = t0 + f64::from(i) * 6.0;
                    g.set_value_at_time(0.15, t)?;
                    g.set_value_at_time(0.0, t + 2.0)?;
                }
                gain.connect_with_audio_node(&self.ctx.destination())?;
                let a = self.ctx.create_oscillator()?;
                let b = self.ctx.create_oscillator()?;
                a.frequency().set_value(440.0);
                b.frequency().set_value(480.0);
                a.connect_with_audio_node(&gain)?;
                b.connect_with_audio_node(&gain)?;
                a.start()?;
                b.start()?;
                Ok((a, b))
            };
        if let Ok(pair) = build() {
            *self.playing.borrow_mut() = Some(pair);
        }
    }

    fn stop(&self) {
        if let Some((a, b)) = self.playing.borrow_mut().take() {
            let _ = a.stop();
            let _ = b.stop();
        }
    }
}

fn state_words(lang: Lang, c: &CallSnapshot) -> &'static str {
    match (c.state, c.role) {
        (CallState::Dialing, _) => pick(lang, "正在呼叫…", "Calling…"),
        (CallState::Ringing, Role::Caller) => pick(lang, "对方响铃中", "Ringing"),
        (CallState::Ringing, Role::Callee) => pick(lang, "来电", "Incoming call"),
        (CallState::Answering, _) => pick(lang, "正在接通…", "Connecting…"),
        (CallState::Talking, _) => pick(lang, "通话中", "Talking"),
        (CallState::Ended, _) => pick(lang, "已结束", "Ended"),
    }
}

fn end_words(lang: Lang, r: &EndReason) -> String {
    let s = match r {
        EndReason::Hangup { by_me: true } => pick(lang, "您已挂断", "You hung up"),
        EndReason::Hangup { by_me: false } => pick(lang, "对方已挂断", "The other side hung up"),
        EndReason::Cancelled => pick(lang, "已取消呼叫", "You cancelled the call"),
        EndReason::NoAnswer => pick(lang, "无人接听", "No answer"),
        EndReason::Rejected => pick(lang, "对方拒接", "Rejected by the other side"),
        EndReason::RejectedByMe => pick(lang, "已拒接", "You rejected the call"),
        EndReason::CallerCancelled => pick(lang, "对方已取消", "The caller cancelled"),
        EndReason::Failed { message } => {
            return format!("{}：{message}", pick(lang, "通话失败", "Call failed"));
        }
    };
    s.to_string()
}

fn end_kind(r: &EndReason) -> &'static str {
    match r {
        EndReason::Hangup { .. } => "hangup",
        EndReason::Cancelled => "cancelled",
        EndReason::NoAnswer => "noAnswer",
        EndReason::Rejected => "rejected",
        EndReason::RejectedByMe => "rejectedByMe",
        EndReason::CallerCancelled => "callerCancelled",
        EndReason::Failed { .. } => "failed",
    }
}

/// `?uid=…` of the page URL, if any (two tabs, two users).
fn uid_from_page() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|kv| kv.strip_prefix("uid=").map(str::to_string))
}

/// A button's action on the engine.
type EngineAction = Rc<dyn Fn(&mut Engine, agent_console_core::Instant) -> Result<(), Error>>;

#[derive(Properties, PartialEq)]
pub struct SoftphoneProps {
    pub lang: Lang,
    /// Called with the session when we go online (None when offline).
    pub on_session: Callback<Option<DapiRef>>,
    /// Behind the gateway: the signed-in agent (the uid is the agent's own).
    #[prop_or_default]
    pub profile: Option<Rc<agent_console_core::gateway::Profile>>,
}

/// The softphone panel.
#[function_component(SoftphonePanel)]
pub fn softphone_panel(props: &SoftphoneProps) -> Html {
    let lang = props.lang;
    let view = use_reducer(|| Reduced(PhoneView::default()));
    let uid_input = use_state(String::new);
    let dst = use_state(String::new);
    let extra = use_state(String::new);
    let driver = use_mut_ref(|| None::<Rc<SoftphoneDriver>>);
    // Drivers replaced by "go online again", kept until their last reports
    // are answered: dropping one would stop its report queue.
    let retired = use_mut_ref(Vec::<Rc<SoftphoneDriver>>::new);
    let tone = use_mut_ref(|| None::<Rc<RingTone>>);
    // The talk timer's clock: the engine's (monotonic) scale, like talk_started_ms.
    let now_ms = use_state(|| transport::now().0);
    {
        let uid_input = uid_input.clone();
        use_effect_with(props.profile.clone(), move |profile| {
            // Behind the gateway the uid is the agent's (it refuses any other).
            match profile.as_ref().map(|p| p.dapi_uid.clone()).filter(|u| !u.is_empty()) {
                Some(uid) => uid_input.set(uid),
                None => spawn_local(async move {
                    let cfg = load_config().await.dapi;
                    if uid_input.is_empty() {
                        uid_input.set(uid_from_page().unwrap_or(cfg.uid));
                    }
                }),
            }
        });
    }
    // The talk timer: a display tick while a call is up.
    let talking = view.active().is_some_and(|c| c.state == CallState::Talking);
    {
        let now_ms = now_ms.clone();
        use_effect_with(talking, move |on| {
            let t = on.then(|| Interval::new(1_000, move || now_ms.set(transport::now().0)));
            move || drop(t)
        });
    }
    // Ring while a call rings us.
    {
        let (tone, dispatch) = (tone.clone(), view.dispatcher());
        use_effect_with(view.should_ring(), move |ring| {
            if let Some(t) = tone.borrow().as_ref() {
                if *ring {
                    t.start();
                    dispatch.dispatch(A::SoundBlocked(t.blocked()));
                } else {
                    t.stop();
                }
            }
        });
    }
    // Going away: hang up (reported) and stop.
    {
        let driver = driver.clone();
        use_effect_with((), move |_| {
            move || {
                if let Some(d) = driver.borrow_mut().take() {
                    let _ = d.act(|e, now| {
                        e.stop(now);
                        Ok(())
                    });
                }
            }
        });
    }

    let act = {
        let (driver, dispatch) = (driver.clone(), view.dispatcher());
        move |f: EngineAction| {
            let (driver, dispatch) = (driver.clone(), dispatch.clone());
            Callback::from(move |_: MouseEvent| {
                let d = driver.borrow().clone();
                let Some(d) = d else { return dispatch.dispatch(A::Failed(Error::InvalidState("stopped"))) };
                if let Err(e) = d.act(|e, now| f(e, now)) {
                    dispatch.dispatch(A::Failed(e));
                }
            })
        }
    };

    let go_online = {
        let (driver, retired, tone, dispatch, uid_input, on_session) = (
            driver.clone(),
            retired.clone(),
            tone.clone(),
            view.dispatcher(),
            uid_input.clone(),
            props.on_session.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let uid = match Uid::parse("uid", &uid_input) {
                Ok(u) => u,
                Err(e) => return dispatch.dispatch(A::Failed(e.into())),
            };
            // The click is the user gesture the browser wants before audio.
            if tone.borrow().is_none() {
                *tone.borrow_mut() = RingTone::new().map(Rc::new);
            }
            let (driver, retired, dispatch, on_session) =
                (driver.clone(), retired.clone(), dispatch.clone(), on_session.clone());
            spawn_local(async move {
                let cfg = load_config().await.dapi;
                let base = transport::resolve_url(if cfg.base_url.is_empty() { "/" } else { &cfg.base_url });
                let session = match transport::open_dapi(&base, uid.clone()) {
                    Ok(s) => Rc::new(s),
                    Err(e) => return dispatch.dispatch(A::Failed(e)),
                };
                let old = driver.borrow_mut().take();
                if let Some(old) = old {
                    let _ = old.act(|e, now| {
                        e.stop(now);
                        Ok(())
                    });
                    retired.borrow_mut().push(old);
                }
                retired.borrow_mut().retain(|d| !d.with(|e| e.reports_flushed()));
                let media: Rc<dyn MediaAdapter> =
                    if cfg.loopback { Rc::new(SandboxRtc::new(&base)) } else { Rc::new(NoMedia) };
                let sink = {
                    let dispatch = dispatch.clone();
                    move |ev| dispatch.dispatch(A::Event(ev))
                };
                let d = SoftphoneDriver::new(
                    Engine::with_seed(
                        uid.clone(),
                        SoftphoneSettings::default(),
                        agent_console::transport::jitter_seed(),
                    ),
                    session.clone(),
                    media,
                    sink,
                );
                dispatch.dispatch(A::Online(uid.as_str().to_string()));
                let _ = d.act(|e, now| {
                    e.start(now);
                    Ok(())
                });
                *driver.borrow_mut() = Some(Rc::new(d));
                on_session.emit(Some(DapiRef(session)));
            });
        })
    };
    let go_offline = {
        let (driver, dispatch) = (driver.clone(), view.dispatcher());
        Callback::from(move |_: MouseEvent| {
            // The driver stays alive so the end of a call still gets reported.
            if let Some(d) = driver.borrow().as_ref() {
                let _ = d.act(|e, now| {
                    e.stop(now);
                    Ok(())
                });
            }
            dispatch.dispatch(A::Offline);
        })
    };
    let on_call = {
        let (driver, dispatch, dst, extra) = (driver.clone(), view.dispatcher(), dst.clone(), extra.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let d = driver.borrow().clone();
            let Some(d) = d else { return dispatch.dispatch(A::Failed(Error::InvalidState("stopped"))) };
            let r = Uid::parse_list("dstUids", &Uid::split_text(&dst)).map_err(Error::from).and_then(|to| {
                let extra = (!extra.trim().is_empty()).then(|| extra.trim().to_string());
                d.act(|e, now| e.call(now, to, extra))
            });
            if let Err(e) = r {
                dispatch.dispatch(A::Failed(e));
            }
        })
    };
    let text_input = |h: &UseStateHandle<String>| {
        let h = h.clone();
        Callback::from(move |e: InputEvent| h.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let enable_sound = {
        let (tone, dispatch) = (tone.clone(), view.dispatcher());
        Callback::from(move |_: MouseEvent| {
            if tone.borrow().is_none() {
                *tone.borrow_mut() = RingTone::new().map(Rc::new);
            }
            if let Some(t) = tone.borrow().as_ref() {
                t.resume();
            }
            if let Some(a) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("sp-robot-audio"))
            {
                let _ = wasm_bindgen::JsCast::unchecked_into::<web_sys::HtmlMediaElement>(a).play();
            }
            dispatch.dispatch(A::SoundBlocked(false));
        })
    };

    let online = view.online_as.is_some();
    let conn = match &view.connection {
        None | Some(Connection::Ok) => html! {
            <span id="sp-conn" class="conn ok" data-state="ok">{ if online { pick(lang, "● 已连接", "● Connected") } else { pick(lang, "○ 离线", "○ Offline") } }</span>
        },
        Some(Connection::Trouble { failures, error }) => html! {
            <span id="sp-conn" class="conn trouble" data-state="trouble" title={error.clone()}>
                { format!("{} ({failures})", pick(lang, "⚠ 连接异常，正在重试", "⚠ Connection trouble, retrying")) }
            </span>
        },
    };

    let ringing = view.ringing();
    let banners = ringing.iter().map(|c| {
        let id = c.call_id;
        let answer = act(Rc::new(move |e, now| e.answer(now, id)));
        let reject = act(Rc::new(move |e, now| e.reject(now, id)));
        html! {
            <div class="incoming" data-call-id={id.to_string()} role="alert">
                <strong>{ pick(lang, "来电", "Incoming call") }</strong>
                <span class="sp-extra">{ if c.extra_msg.is_empty() { c.channel.clone().unwrap_or_default() } else { c.extra_msg.clone() } }</span>
                <button class="sp-answer primary" onclick={answer}>{ pick(lang, "接听", "Answer") }</button>
                <button class="sp-reject danger" onclick={reject}>{ pick(lang, "拒接", "Reject") }</button>
            </div>
        }
    });

    let panel = view.active().map(|c| {
        let timer = c.talk_started_ms.map(|t| talk_time(t, (*now_ms).max(t))).unwrap_or_default();
        let with = if c.robot_call {
            pick(lang, "机器人", "Robot").to_string()
        } else if !c.peers.is_empty() {
            c.peers.join(", ")
        } else {
            c.callees.join(", ")
        };
        let in_channel = matches!(c.state, CallState::Ringing | CallState::Talking);
        html! {
            <div id="sp-call-panel" class="call-box" data-state={format!("{:?}", c.state).to_lowercase()}>
                <div><strong id="sp-call-state">{ state_words(lang, c) }</strong>{ " " }<span id="sp-with">{ with }</span></div>
                <div id="sp-timer" class="timer">{ timer }</div>
                if c.robot { <div id="sp-robot-in">{ pick(lang, "机器人在通话中", "The robot is in the call") }</div> }
                <div class="actions">
                    if in_channel && !c.robot {
                        <button id="sp-invite-robot" onclick={act(Rc::new(|e, now| e.invite_robot(now)))}>{ pick(lang, "邀请机器人", "Invite robot") }</button>
                    }
                    if in_channel && c.robot && !c.robot_call {
                        <button id="sp-quit-robot" onclick={act(Rc::new(|e, now| e.quit_robot(now)))}>{ pick(lang, "移除机器人", "Remove robot") }</button>
                    }
                    <button id="sp-hangup" class="danger" onclick={act(Rc::new(|e, now| e.hangup(now)))}>
                        { if c.state == CallState::Ringing || c.state == CallState::Dialing { pick(lang, "取消", "Cancel") } else { pick(lang, "挂断", "Hang up") } }
                    </button>
                </div>
            </div>
        }
    });

    let recent = view.recent.iter().map(|c| {
        let reason = c.ended.as_ref();
        html! {
            <li data-reason={reason.map(end_kind).unwrap_or("")} data-code={reason.map(|r| r.code().code().to_string()).unwrap_or_default()}>
                { format!("{} · {}", c.channel.clone().unwrap_or_default(), reason.map(|r| end_words(lang, r)).unwrap_or_default()) }
            </li>
        }
    });

    html! {
        <section id="softphone" class="panel">
            <h2>{ pick(lang, "软电话", "Softphone") }{ " " }{ conn }</h2>
            <form id="sp-online-form" class="row" onsubmit={go_online}>
                <label for="sp-uid">{ pick(lang, "我的用户 ID", "My user id") }
                    <input id="sp-uid" value={(*uid_input).clone()} oninput={text_input(&uid_input)} autocomplete="off" readonly={props.profile.is_some()} />
                </label>
                <button id="sp-online" type="submit">{ if online { pick(lang, "重新上线", "Go online again") } else { pick(lang, "上线", "Go online") } }</button>
                if online { <button id="sp-offline" type="button" onclick={go_offline}>{ pick(lang, "下线", "Go offline") }</button> }
                if let Some(u) = &view.online_as { <span id="sp-online-as">{ format!("{} {u}", pick(lang, "当前：", "Online as")) }</span> }
            </form>
            if view.sound_blocked {
                <button id="sp-sound-enable" class="primary" onclick={enable_sound}>{ pick(lang, "点击启用声音", "Click to enable sound") }</button>
            }
            <div id="sp-incoming">{ for banners }</div>
            { panel.unwrap_or_default() }
            <form id="sp-call-form" class="row" onsubmit={on_call}>
                <label for="sp-dst">{ pick(lang, "呼叫用户（多个用逗号分隔）", "Call users (comma separated)") }
                    <input id="sp-dst" value={(*dst).clone()} oninput={text_input(&dst)} autocomplete="off" />
                </label>
                <label for="sp-extra">{ pick(lang, "附言", "Message") }
                    <input id="sp-extra" value={(*extra).clone()} oninput={text_input(&extra)} autocomplete="off" />
                </label>
                <button id="sp-call" type="submit" class="primary" disabled={!online || view.active().is_some()}>{ pick(lang, "呼叫", "Call") }</button>
                <button id="sp-call-robot" type="button" disabled={!online || view.active().is_some()} onclick={act(Rc::new(|e, now| e.call_robot(now).map(|_| ())))}>{ pick(lang, "呼叫机器人", "Call the robot") }</button>
            </form>
            if let Some(e) = &view.error {
                <div id="sp-error" class="error" data-code={e.code()} role="alert">
                    { e.message(lang) }{ " " }
                    <button class="link" onclick={{ let d = view.dispatcher(); Callback::from(move |_| d.dispatch(A::Dismiss)) }}>{ pick(lang, "关闭", "Dismiss") }</button>
                </div>
            }
            if !view.recent.is_empty() {
                <h3>{ pick(lang, "最近通话", "Recent calls") }</h3>
                <ul id="sp-recent">{ for recent }</ul>
            }
        </section>
    }
}
