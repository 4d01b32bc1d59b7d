//! The call record the dapi server POSTs to the customer's server when a
//! call ends (seed 000, "外部系统"). For Rust services that receive it.

use crate::dapi::{Channel, EventCode, Uid};
use crate::de::{string_lenient, u64_lenient, vec_lenient};
use crate::ApiError;
use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

/// The whole POST body: `{"callrecord": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecordPush {
    /// The record.
    pub callrecord: CallRecord,
}

impl CallRecordPush {
    /// Decodes a webhook body (JSON). Ids and codes are strict; the rest is
    /// tolerant (numbers as strings, missing lists).
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        serde_json::from_slice(body).map_err(|e| ApiError::Decode(format!("call record: {e}")))
    }
}

fn bool_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    match &v {
        serde_json::Value::Bool(b) => Ok(*b),
        serde_json::Value::Null => Ok(false),
        serde_json::Value::Number(n) => Ok(n.as_f64().is_some_and(|n| n != 0.0)),
        serde_json::Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            _ => Err(serde::de::Error::custom(format!("not a boolean: {s:?}"))),
        },
        _ => Err(serde::de::Error::custom(format!("not a boolean: {v}"))),
    }
}

/// One call, as the server recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct CallRecord {
    /// The call's channel.
    pub channel: Channel,
    /// The callees.
    #[serde(default, deserialize_with = "vec_lenient")]
    pub dst_uid: Vec<Uid>,
    /// Record id (strict).
    #[serde(deserialize_with = "u64_lenient")]
    pub id: u64,
    /// Whether the robot placed the call.
    #[serde(default, deserialize_with = "bool_lenient")]
    pub is_robot: bool,
    /// The caller.
    pub src_uid: Uid,
    /// When the talk started (`YYYY-MM-DD HH:MM:SS`, Beijing time).
    #[serde(default, deserialize_with = "string_lenient")]
    pub starttime: String,
    /// When it ended.
    #[serde(default, deserialize_with = "string_lenient")]
    pub endtime: String,
    /// Every reported event, in order.
    #[serde(default, deserialize_with = "vec_lenient")]
    pub event: Vec<CallRecordEvent>,
    /// Captions and recordings.
    #[serde(default)]
    pub resource: CallResource,
    /// `count` (undocumented; kept).
    #[serde(default, deserialize_with = "u64_lenient")]
    pub count: u64,
    /// When the record last changed.
    #[serde(default, deserialize_with = "string_lenient")]
    pub refreshtime: String,
}

/// Who reported an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderType {
    /// 0: an app user.
    User,
    /// 1: the robot.
    Robot,
    /// Anything else (the sandbox sends 2 for the server itself).
    Other(u64),
}

impl Serialize for SenderType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(match self {
            SenderType::User => 0,
            SenderType::Robot => 1,
            SenderType::Other(n) => *n,
        })
    }
}

impl<'de> Deserialize<'de> for SenderType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match u64_lenient(d)? {
            0 => SenderType::User,
            1 => SenderType::Robot,
            n => SenderType::Other(n),
        })
    }
}

/// One event of a call record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct CallRecordEvent {
    /// Event id (strict).
    #[serde(deserialize_with = "u64_lenient")]
    pub id: u64,
    /// The channel.
    pub channel: Channel,
    /// The code as sent (strict number; may be one the seed does not list).
    #[serde(deserialize_with = "u64_lenient")]
    pub code: u64,
    /// When.
    #[serde(default, deserialize_with = "string_lenient")]
    pub createtime: String,
    /// Free text.
    #[serde(default, deserialize_with = "string_lenient")]
    pub desp: String,
    /// User or robot. The seed spells it `sender_typ` once; both are read.
    #[serde(alias = "sender_typ", default = "default_sender")]
    pub sender_type: SenderType,
    /// The record this event belongs to.
    #[serde(default, deserialize_with = "u64_lenient")]
    pub record: u64,
    /// Who reported it.
    pub uid: Uid,
}

fn default_sender() -> SenderType {
    SenderType::User
}

impl CallRecordEvent {
    /// The documented meaning of `code`, if it has one.
    pub fn event_code(&self) -> Option<EventCode> {
        EventCode::from_code(self.code)
    }
}

/// `resource`: captions, recordings and their timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct CallResource {
    /// Captions (`kind_label: 字幕`).
    #[serde(default, deserialize_with = "vec_lenient")]
    pub captions: Vec<ResourceItem>,
    /// Recordings (`kind_label: 录音`), `content` a path under the server.
    #[serde(default, deserialize_with = "vec_lenient")]
    pub recording: Vec<ResourceItem>,
    /// Recording timestamp files.
    #[serde(default, deserialize_with = "vec_lenient")]
    pub recording_timestamp: Vec<ResourceItem>,
}

/// One caption, recording or timestamp file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct ResourceItem {
    /// Whose.
    #[serde(default, deserialize_with = "string_lenient")]
    pub user: String,
    /// The server's label (`录音`).
    #[serde(default, deserialize_with = "string_lenient")]
    pub kind_label: String,
    /// Text (captions) or a path.
    #[serde(default, deserialize_with = "string_lenient")]
    pub content: String,
    /// Start (captions).
    #[serde(default, deserialize_with = "string_lenient", skip_serializing_if = "String::is_empty")]
    pub start: String,
    /// End (captions).
    #[serde(default, deserialize_with = "string_lenient", skip_serializing_if = "String::is_empty")]
    pub end: String,
}
