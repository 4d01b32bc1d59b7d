//! The upload box (dapi `POST /d/upload`): choose files, upload them with a
//! progress bar, and get their links. State changes go through
//! [`agent_console_core::dapi::uploads`]; this component holds the chosen files and
//! sends them.

use crate::kit::{Reduce, Reduced};
use crate::DapiRef;
use agent_console::transport;
use agent_console_core::dapi::uploads::{UploadAction as A, UploadState};
use agent_console_wire::http::resolve_link;
use agent_console_words::Message;
use agent_console_words::{pick, Lang};
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

impl Reduce for UploadState {
    type Action = A;
    fn next(self, action: A) -> Self {
        self.reduce(action)
    }
}

/// The box's inputs.
#[derive(Properties, PartialEq)]
pub struct UploadProps {
    /// Display language.
    pub lang: Lang,
    /// The app user's dapi session; `None` until the softphone is online.
    pub session: Option<DapiRef>,
}

/// The files of a file input (none if it has no list).
fn chosen_files(input: &HtmlInputElement) -> Vec<web_sys::File> {
    match input.files() {
        Some(list) => (0..list.length()).filter_map(|i| list.get(i)).collect(),
        None => Vec::new(),
    }
}

/// The upload box.
#[function_component(UploadBox)]
pub fn upload_box(props: &UploadProps) -> Html {
    let lang = props.lang;
    let state = use_reducer(|| Reduced(UploadState::default()));
    // The chosen files (browser objects stay out of the pure state).
    let files = use_mut_ref(Vec::<web_sys::File>::new);

    let Some(session) = props.session.clone() else {
        return html! {
            <section id="upload" class="card">
                <h2>{ pick(lang, "上传文件", "Upload files") }</h2>
                <p id="upload-offline" class="muted">{ pick(lang, "先在软电话中上线", "Go online in the softphone first") }</p>
            </section>
        };
    };

    // Upload links are resolved against it (and checked) where they are shown.
    let base = session.0.api().base_url().to_string();
    let on_choose = {
        let (d, files) = (state.dispatcher(), files.clone());
        Callback::from(move |e: Event| {
            let chosen = chosen_files(&e.target_unchecked_into::<HtmlInputElement>());
            d.dispatch(A::Chose(chosen.iter().map(|f| f.name()).collect()));
            *files.borrow_mut() = chosen;
        })
    };
    let on_start = {
        let (state, files) = (state.clone(), files.clone());
        Callback::from(move |_: MouseEvent| {
            if !state.can_start() {
                return;
            }
            let blobs: Vec<web_sys::Blob> = files.borrow().iter().cloned().map(web_sys::Blob::from).collect();
            if blobs.is_empty() {
                return;
            }
            state.dispatch(A::Started);
            let d = state.dispatcher();
            let session = session.clone();
            spawn_local(async move {
                let progress = {
                    let d = d.clone();
                    move |loaded: f64, total: f64| d.dispatch(A::Progress { loaded, total })
                };
                // Too much for one upload is refused before a byte is sent.
                match transport::upload::upload_files(session.0.api(), &blobs, progress).await {
                    // Kept as the server sent them: resolved (or refused) where shown.
                    Ok(urls) => d.dispatch(A::Done(urls)),
                    Err(e) => d.dispatch(A::Failed(e)),
                }
            });
        })
    };

    let error = state.error.as_ref().map(|e| {
        let d = state.dispatcher();
        html! {
            <div id="upload-error" class="notice error" role="alert" data-code={e.code()}>
                <span>{ e.message(lang) }</span>
                <button type="button" class="link" onclick={Callback::from(move |_| d.dispatch(A::DismissError))}>{ pick(lang, "关闭", "Dismiss") }</button>
            </div>
        }
    });
    let chosen_text = match (state.chosen.len(), lang) {
        (0, _) => pick(lang, "未选择文件", "No file chosen").to_string(),
        (n, Lang::Zh) => format!("已选择 {n} 个文件"),
        (1, Lang::En) => "1 file chosen".to_string(),
        (n, Lang::En) => format!("{n} files chosen"),
    };
    let percent_text = if state.uploading && !state.total_known {
        pick(lang, "上传中…", "Uploading…").to_string()
    } else {
        format!("{}%", state.percent)
    };
    let urls = state.urls.iter().map(|u| match resolve_link(&base, u) {
        Ok(href) => html! {
            <li><a href={href.clone()} target="_blank" rel="noopener noreferrer">{ href }</a></li>
        },
        // A `javascript:` or `data:` "link" from the server is shown, never followed.
        Err(_) => html! {
            <li class="unsafe-url"><span>{ u }</span>{ " " }
                <span class="muted small">{ pick(lang, "（不是网页地址，未设为链接）", "(not a web address; not linked)") }</span></li>
        },
    });

    html! {
        <section id="upload" class="card">
            <h2>{ pick(lang, "上传文件", "Upload files") }</h2>
            { for error }
            <label for="upload-files">{ pick(lang, "选择文件（每次最多 10 MB）", "Choose files (up to 10 MB per upload)") }
                <input id="upload-files" type="file" multiple=true onchange={on_choose} disabled={state.uploading} /></label>
            <p id="upload-chosen" class="muted small" data-count={state.chosen.len().to_string()}>{ chosen_text }</p>
            <div class="upload-bar">
                <button id="upload-start" type="button" class="primary" onclick={on_start} disabled={!state.can_start()}>{
                    if state.uploading { pick(lang, "上传中…", "Uploading…") } else { pick(lang, "上传", "Upload") }
                }</button>
                <progress id="upload-progress" max="100" value={state.percent.to_string()}
                    aria-label={pick(lang, "上传进度", "Upload progress")}></progress>
                <span id="upload-percent" class="muted small" data-percent={state.percent.to_string()}>{ percent_text }</span>
            </div>
            if !state.urls.is_empty() {
                <p class="muted small">{ pick(lang, "文件链接：", "File links:") }</p>
            }
            <ul id="upload-urls">{ for urls }</ul>
        </section>
    }
}
