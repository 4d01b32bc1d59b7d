//! The voicemail page (the desk's own mailbox, or a supervisor's choice;
//! unread first, play here or on the desk phone, mark read/unread) and the
//! text-to-speech box (synthesise, play from a Blob URL; the old URL is
//! revoked when a new clip replaces it or the box goes away). State goes
//! through [`agent_console_core::pbx::voicemail_view`]'s reducers.

use crate::kit::{blob_url, error_line, play, revoke, skipped_line, use_poll, Busy};
use crate::kit::{Reduce, Reduced};
use crate::signin::load_config;
use crate::Session;
use agent_console::transport::wall_clock_ms;
use agent_console_core::paging::{PageStep, PageWalk};
use agent_console_core::pbx::cdr_view::mmss;
use agent_console_core::pbx::voicemail_view::{
    SpeechClip, TtsAction, TtsView, VoicemailAction as A, VoicemailView, INBOX_DAYS,
};
use agent_console_core::Error;
use agent_console_wire::de::Skipped;
use agent_console_wire::pbx::cdr::recording_url;
use agent_console_wire::pbx::tts::{check_text, MAX_TEXT_CHARS};
use agent_console_wire::pbx::{Extension, HandsetPlay, Page, VoicemailFilter};
use agent_console_wire::time::CstDateTime;
use agent_console_words::{pick, Lang};
use std::cell::Cell;
use std::collections::HashSet;
use std::rc::Rc;
use yew::platform::spawn_local;
use yew::prelude::*;

impl Reduce for VoicemailView {
    type Action = A;
    fn next(self, action: A) -> Self {
        self.reduce(action)
    }
}

impl Reduce for TtsView {
    type Action = TtsAction;
    fn next(self, action: TtsAction) -> Self {
        self.reduce(action)
    }
}

/// How often the inbox refreshes while shown (new messages arrive).
const REFRESH_MS: u32 = 15_000;
/// Most messages loaded (20 pages of 1000).
const MAX_MESSAGES: u64 = 20_000;
/// The mailbox chooser's value for "every mailbox" (no extension is `*`).
const ALL_MAILBOXES: &str = "*";

#[derive(Properties, PartialEq)]
pub struct VoicemailProps {
    pub lang: Lang,
    pub session: Option<Session>,
    /// The desk's extension: its mailbox, and the phone for playback.
    #[prop_or_default]
    pub extension: Option<Extension>,
    #[prop_or(true)]
    pub visible: bool,
}

/// The voicemail inbox.
#[function_component(VoicemailPage)]
pub fn voicemail_page(props: &VoicemailProps) -> Html {
    let lang = props.lang;
    let state = use_reducer(|| Reduced(VoicemailView::default()));
    let busy = use_state(Busy::default);
    // Messages the PBX sent that could not be read (a quiet line under the list).
    let skipped = use_state_eq(Skipped::default);
    let audio = use_node_ref();
    {
        // A new sign-in starts from nothing, showing its own mailbox.
        let d = state.dispatcher();
        use_effect_with((props.session.clone(), props.extension.clone()), move |(session, ext)| {
            d.dispatch(A::Reset);
            let own = ext.as_ref().map(|e| e.to_string()).unwrap_or_default();
            // Behind the gateway the role says (the gateway enforces it too).
            let role = session.as_ref().and_then(|s| s.profile.as_ref().map(|p| p.is_supervisor()));
            spawn_local(async move {
                let supervisor = match role {
                    Some(r) => r,
                    None => load_config().await.supervisor,
                };
                d.dispatch(A::Setup { own, supervisor });
            });
        });
    }
    let load: Rc<dyn Fn()> = {
        let (d, busy, session) = (state.dispatcher(), (*busy).clone(), props.session.clone());
        let skipped_state = skipped.clone();
        Rc::new(move || {
            let Some(session) = session.clone() else { return };
            let Some(guard) = busy.start("load") else { return };
            let now = wall_clock_ms() as i64;
            let start = CstDateTime::from_epoch_ms(now - INBOX_DAYS * 86_400_000).to_string();
            let end = CstDateTime::from_epoch_ms(now + 86_400_000).to_string();
            d.dispatch(A::LoadStarted);
            let d = d.clone();
            let skipped_state = skipped_state.clone();
            spawn_local(async move {
                let _guard = guard;
                let mut all = Vec::new();
                let mut left_out = Skipped::default();
                let mut walk = PageWalk::with_cap(1000, MAX_MESSAGES);
                let mut ids = HashSet::new();
                loop {
                    let page = walk.page();
                    let f = match VoicemailFilter::parse(Page { page, page_size: 1000 }, &start, &end, None) {
                        Ok(f) => f,
                        Err(e) => return d.dispatch(A::LoadFailed(e.into())),
                    };
                    match session.voicemails(&f).await {
                        Ok(r) => {
                            // A skipped row still filled the page: count it.
                            let sent = (r.data.len() as u64).saturating_add(r.skipped.count);
                            left_out.merge(&r.skipped);
                            let step = walk.page_read(sent, r.data.iter().map(|m| m.id), Some(r.total));
                            // A page the PBX repeated would list its messages twice.
                            all.extend(r.data.into_iter().filter(|m| ids.insert(m.id)));
                            if let PageStep::Done(end) = step {
                                if *skipped_state != left_out {
                                    skipped_state.set(left_out);
                                }
                                d.dispatch(A::Loaded(all));
                                if !end.is_complete() {
                                    let cut =
                                        Error::Truncated { list: "voicemail", end, rows: walk.rows_read() };
                                    d.dispatch(A::LoadFailed(cut));
                                }
                                break;
                            }
                        }
                        Err(e) => break d.dispatch(A::LoadFailed(e)),
                    }
                }
            });
        })
    };
    use_poll(props.visible && props.session.is_some(), REFRESH_MS, load.clone());

    let Some(session) = props.session.clone() else {
        return html! {
            <main id="voicemail">
                <section class="card"><h2>{ pick(lang, "语音信箱", "Voicemail") }</h2>
                    <p id="vm-signed-out" class="muted">{ pick(lang, "请先在“坐席”页登录分机，再查看留言。", "Sign in on the Desk tab first to see voicemail.") }</p>
                </section>
            </main>
        };
    };
    let refresh = {
        let load = load.clone();
        Callback::from(move |_: MouseEvent| load())
    };
    let dismiss = {
        let d = state.dispatcher();
        Callback::from(move |_| d.dispatch(A::Dismiss))
    };
    let own = props.extension.as_ref().map(|e| e.to_string()).unwrap_or_default();
    let items = state.shown().into_iter().map(|m| {
        let id = m.id;
        let on_handset = {
            let (state, busy, session, rec, own) =
                (state.clone(), (*busy).clone(), session.clone(), m.recording.clone(), own.clone());
            Callback::from(move |_: MouseEvent| {
                // As the call log does for recordings: the spool path of the file.
                let h = match HandsetPlay::parse(&own, &rec, &session.spool_dir) {
                    Ok(h) => h,
                    Err(e) => return state.dispatch(A::Refused(e.into())),
                };
                let Some(guard) = busy.start("handset") else { return };
                state.dispatch(A::HandsetStarted(id));
                let (d, session) = (state.dispatcher(), session.clone());
                spawn_local(async move {
                    let r = session.handset_play(&h).await;
                    drop(guard);
                    match r {
                        Ok(()) => d.dispatch(A::HandsetDone),
                        Err(e) => d.dispatch(A::HandsetFailed(e)),
                    }
                });
            })
        };
        let on_play = {
            let (state, audio, media, rec) = (state.clone(), audio.clone(), session.media_url.clone(), m.recording.clone());
            Callback::from(move |_: MouseEvent| match recording_url(&media, &rec) {
                Ok(url) => {
                    state.dispatch(A::Playing(id));
                    let d = state.dispatcher();
                    play(&audio, &url, Callback::from(move |msg: String| d.dispatch(A::Refused(Error::Network(msg)))));
                }
                Err(e) => state.dispatch(A::Refused(e.into())),
            })
        };
        let read = !m.is_read;
        let on_mark = {
            let (state, busy, session) = (state.clone(), (*busy).clone(), session.clone());
            Callback::from(move |_: MouseEvent| {
                let Some(guard) = busy.start("mark") else { return };
                state.dispatch(A::MarkStarted(id));
                let (d, session) = (state.dispatcher(), session.clone());
                spawn_local(async move {
                    let r = session.mark_voicemail(id, read).await;
                    drop(guard);
                    match r {
                        Ok(()) => d.dispatch(A::Marked { id, read }),
                        Err(e) => d.dispatch(A::MarkFailed(e)),
                    }
                });
            })
        };
        let marking = state.marking == Some(id);
        let playing = state.playing == Some(id);
        html! {
            <li data-id={id.to_string()} data-read={m.is_read.to_string()} data-dst={m.dst.clone()} class={classes!((!m.is_read).then_some("unread"), playing.then_some("playing"))}>
                <span class={classes!("badge", m.is_read.then_some("read"))}>{ if m.is_read { pick(lang, "已读", "Read") } else { pick(lang, "未读", "New") } }</span>
                <strong class="vm-caller">{ &m.callerid }</strong>
                if state.mailbox.as_deref() != Some(m.dst.trim()) {
                    <span class="vm-dst muted small">{ pick(lang, "信箱 ", "mailbox ") }{ &m.dst }</span>
                }
                <span class="muted small">{ &m.calldate }</span>
                <span class="timer">{ mmss(m.duration) }</span>
                <button class="vm-play" type="button" onclick={on_play} disabled={m.recording.trim().is_empty()}>
                    { if playing { pick(lang, "播放中", "Playing") } else { pick(lang, "播放", "Play") } }</button>
                <button class="vm-handset link" type="button" onclick={on_handset}
                    disabled={m.recording.trim().is_empty() || state.handset.pending.is_some()}
                    title={pick(lang, "在话机上播放留言", "Play on the desk phone")}>
                    { if state.handset.pending == Some(id) { pick(lang, "呼叫话机…", "Ringing the phone…") } else { pick(lang, "话机播放", "On phone") } }</button>
                <button class="vm-mark link" type="button" onclick={on_mark} disabled={state.marking.is_some()} data-to={read.to_string()}>
                    { if marking { pick(lang, "处理中…", "Working…") } else if read { pick(lang, "标为已读", "Mark read") } else { pick(lang, "标为未读", "Mark unread") } }</button>
            </li>
        }
    });
    let unread = state.unread();
    let mailboxes = state.mailboxes();
    let on_mailbox = {
        let d = state.dispatcher();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            d.dispatch(A::ShowMailbox((v != ALL_MAILBOXES).then_some(v)))
        })
    };
    let shown_mailbox = state.mailbox.clone().unwrap_or_else(|| ALL_MAILBOXES.to_string());
    html! {
        <main id="voicemail">
            <section class="card">
                <h2>{ pick(lang, "语音信箱", "Voicemail") }
                    <span id="vm-unread" class="muted small" data-count={unread.to_string()}>{
                        if lang == Lang::Zh { format!(" · {unread} 条未读") } else { format!(" · {unread} unread") } }</span></h2>
                { error_line("vm-error", lang, state.error.as_ref(), dismiss) }
                <div class="row">
                    <button id="vm-refresh" type="button" onclick={refresh} disabled={state.loading}>
                        { if state.loading { pick(lang, "刷新中…", "Refreshing…") } else { pick(lang, "刷新", "Refresh") } }</button>
                    if !mailboxes.is_empty() {
                        <label for="vm-mailbox">{ pick(lang, "信箱", "Mailbox") }
                            <select id="vm-mailbox" onchange={on_mailbox}>
                                { for mailboxes.iter().map(|b| html! {
                                    <option value={b.clone()} selected={*b == shown_mailbox}>{
                                        if *b == state.own { format!("{b}{}", pick(lang, "（本分机）", " (mine)")) } else { b.clone() } }</option>
                                }) }
                                <option value={ALL_MAILBOXES} selected={shown_mailbox == ALL_MAILBOXES}>{ pick(lang, "全部信箱", "Every mailbox") }</option>
                            </select></label>
                    }
                </div>
                if state.handset.done.is_some() {
                    <p id="vm-handset-done" class="notice info">{ pick(lang, "已在话机上播放留言。", "The message plays on the desk phone.") }</p>
                }
                 <audio id="vm-audio" ref={audio.clone()} controls=true preload="none" />
                if !state.loaded {
                    <p class="muted small">{ pick(lang, "加载中…", "Loading…") }</p>
                } else if state.shown().is_empty() && state.error.is_none() {
                    <p id="vm-empty" class="muted">{ if lang == Lang::Zh { format!("最近 {INBOX_DAYS} 天没有留言。") } else { format!("No voicemail in the last {INBOX_DAYS} days.") } }</p>
                }
                <ul id="vm-list" class="plain-list">{ for items }</ul>
                { skipped_line("vm-skipped", lang, &skipped) }
            </section>
        </main>
    }
}

#[derive(Properties, PartialEq)]
pub struct TtsProps {
    pub lang: Lang,
    pub session: Option<Session>,
}

/// Type a text, synthesise it and hear it.
#[function_component(TtsBox)]
pub fn tts_box(props: &TtsProps) -> Html {
    let lang = props.lang;
    let state = use_reducer(|| Reduced(TtsView::default()));
    let busy = use_state(Busy::default);
    let audio = use_node_ref();
    // False once the box is gone: a synthesis answered after that makes no
    // Blob URL (nobody would show, or free, it).
    let mounted = use_mut_ref(|| Rc::new(Cell::new(true))).borrow().clone();
    {
        let mounted = mounted.clone();
        use_effect_with((), move |_| move || mounted.set(false));
    }
    {
        // Each new clip plays; the clip it replaces (and the last one, when
        // the box goes away) frees its Blob URL.
        let (audio, d) = (audio.clone(), state.dispatcher());
        let url = state.clip.as_ref().map(|c| c.url.clone());
        use_effect_with(url, move |url| {
            if let Some(u) = url {
                play(
                    &audio,
                    u,
                    Callback::from(move |m: String| d.dispatch(TtsAction::Failed(Error::Network(m)))),
                );
            }
            let url = url.clone();
            move || {
                if let Some(u) = url {
                    revoke(&u);
                }
            }
        });
    }
    let Some(session) = props.session.clone() else {
        return html! {
            <section id="tts" class="card"><h2>{ pick(lang, "文字转语音", "Text to speech") }</h2>
                <p class="muted">{ pick(lang, "请先在“坐席”页登录分机。", "Sign in on the Desk tab first.") }</p>
            </section>
        };
    };
    let oninput = {
        let d = state.dispatcher();
        Callback::from(move |e: InputEvent| {
            // A <textarea>'s value (web-sys's HtmlTextAreaElement is not enabled).
            let value = e
                .target()
                .and_then(|t| js_sys::Reflect::get(&t, &"value".into()).ok())
                .and_then(|v| v.as_string())
                .unwrap_or_default();
            d.dispatch(TtsAction::SetText(value))
        })
    };
    let go = {
        let (state, busy, mounted) = (state.clone(), (*busy).clone(), mounted.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = match check_text(&state.text) {
                Ok(t) => t.to_string(),
                Err(err) => return state.dispatch(TtsAction::Failed(err.into())),
            };
            let Some(guard) = busy.start("tts") else { return };
            state.dispatch(TtsAction::Started);
            let (d, session, mounted) = (state.dispatcher(), session.clone(), mounted.clone());
            spawn_local(async move {
                let r = session.synthesize(&text).await;
                drop(guard);
                if !mounted.get() {
                    return;
                }
                match r {
                    Ok(speech) => match blob_url(&speech.audio, speech.mime()) {
                        Some(url) => d.dispatch(TtsAction::Done(SpeechClip {
                            url,
                            bytes: speech.audio.len(),
                            format: speech.format,
                            vendor: speech.vendor,
                            text,
                        })),
                        None => d.dispatch(TtsAction::Failed(Error::InvalidState("blob"))),
                    },
                    Err(e) => d.dispatch(TtsAction::Failed(e)),
                }
            });
        })
    };
    let dismiss = {
        let d = state.dispatcher();
        Callback::from(move |_| d.dispatch(TtsAction::Dismiss))
    };
    let count = state.text.trim().chars().count();
    let info = state.clip.as_ref().map(|c| {
        html! {
            <p id="tts-info" class="muted small" data-bytes={c.bytes.to_string()} data-vendor={c.vendor.clone()}>{
                if lang == Lang::Zh { format!("{}：{} 字节，{}（{}）", c.text, c.bytes, c.format, c.vendor) }
                else { format!("{}: {} bytes, {} ({})", c.text, c.bytes, c.format, c.vendor) }
            }</p>
        }
    });
    html! {
        <form id="tts" class="card" onsubmit={go}>
            <h2>{ pick(lang, "文字转语音", "Text to speech") }</h2>
            { error_line("tts-error", lang, state.error.as_ref(), dismiss) }
            <label for="tts-text">{ pick(lang, "文本", "Text") }
                <textarea id="tts-text" rows="3" maxlength={MAX_TEXT_CHARS.to_string()} value={state.text.clone()} {oninput}
                    placeholder={pick(lang, "您好，欢迎致电。", "Hello, thank you for calling.")} /></label>
            <div class="row">
                <button id="tts-go" type="submit" class="primary" disabled={state.pending}>
                    { if state.pending { pick(lang, "合成中…", "Synthesising…") } else { pick(lang, "合成并播放", "Synthesise and play") } }</button>
                <span class="muted small">{ format!("{count} / {MAX_TEXT_CHARS}") }</span>
            </div>
            { for info }
            <audio id="tts-audio" ref={audio} controls=true src={state.clip.as_ref().map(|c| c.url.clone()).filter(|u| agent_console_wire::http::check_link(u).is_ok())} />
        </form>
    }
}
