//! Voicemail: the message list and marking a message read.

use super::types::Page;
use super::PbxApi;
use crate::de::{string_lenient, u64_lenient};
use crate::time::CstDateTime;
use crate::{HttpRequest, InvalidInput, Problem};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

/// Query of `GET voicemail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoicemailFilter {
    /// Which page.
    pub page: Page,
    /// From (inclusive).
    pub start: CstDateTime,
    /// To (inclusive).
    pub end: CstDateTime,
    /// Only read (`Some(true)`) or unread (`Some(false)`) messages.
    pub is_read: Option<bool>,
}

impl VoicemailFilter {
    /// Checks the times (`YYYY-MM-DD HH:MM:SS`, `end` not before `start`).
    pub fn parse(page: Page, start: &str, end: &str, is_read: Option<bool>) -> Result<Self, InvalidInput> {
        let (start, end) = time_window(start, end, "start", "end")?;
        Ok(Self { page, start, end, is_read })
    }
}

/// Checks a required time window; `end` may not precede `start`.
pub(crate) fn time_window(
    start: &str,
    end: &str,
    start_field: &'static str,
    end_field: &'static str,
) -> Result<(CstDateTime, CstDateTime), InvalidInput> {
    let s = CstDateTime::parse(start_field, start)?;
    let e = CstDateTime::parse(end_field, end)?;
    if e < s {
        return Err(InvalidInput::new(end_field, Problem::Before { other: start_field }, end));
    }
    Ok((s, e))
}

/// One voicemail message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Voicemail {
    /// Its id (for marking it read). Strict: a message without one cannot be marked.
    #[serde(deserialize_with = "u64_lenient")]
    pub id: u64,
    /// When it was left.
    #[serde(default, deserialize_with = "string_lenient")]
    pub calldate: String,
    /// Who left it.
    #[serde(default, deserialize_with = "string_lenient")]
    pub callerid: String,
    /// The mailbox (extension).
    #[serde(default, deserialize_with = "string_lenient")]
    pub dst: String,
    /// Whether it has been listened to (`yes`/`no` on the wire).
    #[serde(default, deserialize_with = "yes_no")]
    pub is_read: bool,
    /// Seconds.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub duration: u64,
    /// When the message ended.
    #[serde(default, deserialize_with = "string_lenient")]
    pub hangup_time: String,
    /// The WAV, relative to the media root.
    #[serde(default, deserialize_with = "string_lenient")]
    pub recording: String,
    /// The call's uniqueid.
    #[serde(default, deserialize_with = "string_lenient")]
    pub uniqueid: String,
}

fn yes_no<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = string_lenient(d)?;
    Ok(matches!(s.trim().to_ascii_lowercase().as_str(), "yes" | "1" | "true"))
}

/// Orders messages for the inbox: unread first, then newest first.
pub fn inbox_order(list: &mut [Voicemail]) {
    list.sort_by(|a, b| {
        a.is_read.cmp(&b.is_read).then_with(|| b.calldate.cmp(&a.calldate)).then(b.id.cmp(&a.id))
    });
}

impl PbxApi {
    /// `GET /api/v1/voicemail?page&pageSize&start&end&is_read`.
    pub fn voicemails(&self, f: &VoicemailFilter) -> HttpRequest {
        let is_read = match f.is_read {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        self.get(
            "/api/v1/voicemail",
            &[
                ("page", f.page.page.to_string()),
                ("pageSize", f.page.page_size.to_string()),
                ("start", f.start.to_string()),
                ("end", f.end.to_string()),
                ("is_read", is_read.to_string()),
            ],
        )
    }

    /// `PUT /api/v1/voicemail/:id {is_read}`.
    pub fn mark_voicemail(&self, id: u64, read: bool) -> HttpRequest {
        self.request(
            crate::Method::Put,
            &format!("/api/v1/voicemail/{id}"),
            &[],
            Some(json!({ "is_read": if read { "yes" } else { "no" } })),
        )
    }
}
