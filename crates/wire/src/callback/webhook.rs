//! The status notification the platform POSTs to the customer's server when
//! a call ends (seed 002, 3.2). Typed for Rust services that receive it.

use crate::de::string_lenient;
use crate::time::parse_cst_ms;
use crate::ApiError;
use serde::{Deserialize, Serialize};

/// Why a call ended (`reason`). Unknown words are kept in [`HangupReason::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HangupReason {
    /// `HangUp`: a normal hang-up after talking.
    HangUp,
    /// `CallerBusy`: the agent's phone was busy.
    CallerBusy,
    /// `CallerNoAnswer`: the agent did not answer.
    CallerNoAnswer,
    /// `CallerFailure`: the agent's leg failed for another reason.
    CallerFailure,
    /// `CallerAbandon`: the agent hung up while the customer was rung.
    CallerAbandon,
    /// `CalleeBusy`: the customer was busy.
    CalleeBusy,
    /// `CalleeNoAnswer`: the customer did not answer.
    CalleeNoAnswer,
    /// `CalleeFailure`: the customer's leg failed for another reason.
    CalleeFailure,
    /// `Other`.
    Other,
    /// A word the seed does not list, as sent.
    Unknown(String),
}

impl HangupReason {
    /// Every documented reason, in the seed's order.
    pub const ALL: [HangupReason; 9] = [
        HangupReason::HangUp,
        HangupReason::CallerBusy,
        HangupReason::CallerNoAnswer,
        HangupReason::CallerFailure,
        HangupReason::CallerAbandon,
        HangupReason::CalleeBusy,
        HangupReason::CalleeNoAnswer,
        HangupReason::CalleeFailure,
        HangupReason::Other,
    ];

    /// From the wire word.
    pub fn from_wire(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|r| r.as_wire() == s.trim())
            .unwrap_or_else(|| HangupReason::Unknown(s.to_string()))
    }

    /// The wire word.
    pub fn as_wire(&self) -> &str {
        match self {
            HangupReason::HangUp => "HangUp",
            HangupReason::CallerBusy => "CallerBusy",
            HangupReason::CallerNoAnswer => "CallerNoAnswer",
            HangupReason::CallerFailure => "CallerFailure",
            HangupReason::CallerAbandon => "CallerAbandon",
            HangupReason::CalleeBusy => "CalleeBusy",
            HangupReason::CalleeNoAnswer => "CalleeNoAnswer",
            HangupReason::CalleeFailure => "CalleeFailure",
            HangupReason::Other => "Other",
            HangupReason::Unknown(s) => s,
        }
    }
}

impl Serialize for HangupReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_wire())
    }
}

impl<'de> Deserialize<'de> for HangupReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_wire(&string_lenient(d)?))
    }
}

/// `recordingResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingResult {
    /// The call was recorded.
    Success,
    /// Recording failed.
    Fail,
}

/// The notification body. Times are `yyyy-MM-dd HH:mm:ss`, Beijing time, as
/// sent; [`StatusNotification::decode`] checks them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusNotification {
    /// The call's id, as returned by `call`.
    #[serde(deserialize_with = "string_lenient")]
    pub callidentifier: String,
    /// Always `Disconnected` in the seed.
    #[serde(default, deserialize_with = "string_lenient")]
    pub status: String,
    /// When both sides were connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_time: Option<String>,
    /// When the caller answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When the call ended.
    #[serde(default, deserialize_with = "string_lenient")]
    pub end_time: String,
    /// Why it ended (absent in some deliveries: then `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<HangupReason>,
    /// Talk time in seconds (a string on the wire; numbers accepted).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_u64_lenient")]
    pub call_duration: Option<u64>,
    /// Whether the recording worked (`None` when absent or not a word
    /// the seed lists; case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "recording_result_lenient")]
    pub recording_result: Option<RecordingResult>,
    /// The pass-through id given to `call`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_call_id: Option<String>,
}

fn recording_result_lenient<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<RecordingResult>, D::Error> {
    let s = string_lenient(d)?;
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "success" => Some(RecordingResult::Success),
        "fail" => Some(RecordingResult::Fail),
        _ => None,
    })
}

fn opt_u64_lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s = string_lenient(d)?;
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| serde::de::Error::custom(format!("callDuration {s:?} is not seconds")))
}

impl StatusNotification {
    /// Decodes a webhook body. Strict on the id and the end time, tolerant of
    /// numbers sent as strings, missing optional fields and empty strings.
    pub fn decode(body: &[u8]) -> Result<Self, ApiError> {
        let mut n: Self = serde_json::from_slice(body).map_err(|e| ApiError::Decode(e.to_string()))?;
        n.callidentifier = n.callidentifier.trim().to_string();
        if n.callidentifier.is_empty() {
            return Err(ApiError::Decode("callidentifier is missing".into()));
        }
        if parse_cst_ms(n.end_time.trim()).is_none() {
            return Err(ApiError::Decode(format!("endTime {:?} is not yyyy-MM-dd HH:mm:ss", n.end_time)));
        }
        for t in [&mut n.answer_time, &mut n.start_time] {
            if t.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *t = None;
            }
        }
        Ok(n)
    }

    /// Whether the two sides talked.
    pub fn answered(&self) -> bool {
        self.answer_time.is_some()
    }
}
