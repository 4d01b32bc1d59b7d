//! Call control beyond dial and hang-up: transfer, hold, park, pickup,
//! redirect, and the supervisor's barge / monitor / whisper.

use super::types::{Extension, PhoneNumber};
use super::PbxApi;
use crate::de::string_lenient;
use crate::{HttpRequest, InvalidInput, Problem};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt;

/// How `call/transfer` moves the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferType {
    /// `blind`: hand the other party to `dest` at once.
    Blind,
    /// `attended`: consult `dest` first; hang up to complete, or cancel.
    Attended,
    /// `app`: send the other party into a dial-plan application (IVR, queue).
    App,
}

impl TransferType {
    /// Reads `blind`, `attended` or `app`.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        match value.trim() {
            "blind" => Ok(Self::Blind),
            "attended" => Ok(Self::Attended),
            "app" => Ok(Self::App),
            "" => Err(InvalidInput::new("type", Problem::Required, value)),
            _ => Err(InvalidInput::new("type", Problem::NotOneOf { allowed: "blind, attended, app" }, value)),
        }
    }

    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blind => "blind",
            Self::Attended => "attended",
            Self::App => "app",
        }
    }
}

/// A dial-plan destination `context,exten,priority` (`aa_1001315,s,1` for an
/// IVR, `ext-queues,200,1` for queue 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AppDest(String);

impl AppDest {
    /// Checks the three comma-separated parts: letters, digits, `_` and `-`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        let v = value.trim();
        if v.is_empty() {
            return Err(InvalidInput::new(field, Problem::Required, value));
        }
        let parts: Vec<&str> = v.split(',').collect();
        let part_ok =
            |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if parts.len() != 3 || v.len() > 80 || !parts.iter().all(|p| part_ok(p)) {
            return Err(InvalidInput::new(field, Problem::Malformed, v));
        }
        Ok(Self(v.to_string()))
    }

    /// The queue `queue` (`ext-queues,200,1`).
    pub fn queue(queue: &super::QueueNumber) -> Self {
        Self(format!("ext-queues,{queue},1"))
    }

    /// The IVR (auto attendant) `name` (`aa_1001315,s,1`).
    pub fn ivr(name: &str) -> Result<Self, InvalidInput> {
        Self::parse("dest", &format!("{},s,1", name.trim()))
    }

    /// As sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a transfer goes: a number for blind/attended, an app for `app`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferDest {
    /// An extension or outside number.
    Number(PhoneNumber),
    /// A dial-plan application.
    App(AppDest),
}

impl fmt::Display for TransferDest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => f.write_str(n.as_str()),
            Self::App(a) => f.write_str(a.as_str()),
        }
    }
}

/// `call/transfer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Blind, attended or app.
    pub kind: TransferType,
    /// The extension doing the transfer.
    pub extension: Extension,
    /// Where the call goes.
    pub dest: TransferDest,
}

impl Transfer {
    /// Checks the three fields; `dest` must fit `kind`.
    pub fn parse(kind: &str, extension: &str, dest: &str) -> Result<Self, InvalidInput> {
        let kind = TransferType::parse(kind)?;
        let extension = Extension::parse("extension", extension)?;
        let dest = match kind {
            TransferType::App => TransferDest::App(AppDest::parse("dest", dest)?),
            _ => TransferDest::Number(PhoneNumber::parse("dest", dest)?),
        };
        Ok(Self { kind, extension, dest })
    }
}

/// The actions that name one extension: `call/hold`, `call/unhold`,
/// `call/park`, `call/cancelAtxfer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionAction {
    /// `call/hold`.
    Hold,
    /// `call/unhold`.
    Unhold,
    /// `call/park`: the other party waits in a parking space.
    Park,
    /// `call/cancelAtxfer`: end the consultation of an attended transfer.
    CancelAttendedTransfer,
}

impl ExtensionAction {
    fn path(self) -> &'static str {
        match self {
            Self::Hold => "/api/v1/call/hold",
            Self::Unhold => "/api/v1/call/unhold",
            Self::Park => "/api/v1/call/park",
            Self::CancelAttendedTransfer => "/api/v1/call/cancelAtxfer",
        }
    }
}

/// The actions `{extension, dest}`: `extension` acts on `dest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetAction {
    /// `call/unpark`: take back the parked caller `dest` (number or space).
    Unpark,
    /// `call/redirect`: answer the queued caller `dest`.
    Redirect,
    /// `call/pickup`: answer the ringing extension `dest`'s call.
    Pickup,
    /// `call/barge`: join `dest`'s call, heard by both sides.
    Barge,
    /// `call/monitor`: listen to `dest`'s call.
    Monitor,
    /// `call/whisper`: talk to `dest` only (coach); the other side does not hear.
    Whisper,
}

impl TargetAction {
    /// Every action, for tests and menus.
    pub const ALL: [TargetAction; 6] =
        [Self::Unpark, Self::Redirect, Self::Pickup, Self::Barge, Self::Monitor, Self::Whisper];

    fn path(self) -> &'static str {
        match self {
            Self::Unpark => "/api/v1/call/unpark",
            Self::Redirect => "/api/v1/call/redirect",
            Self::Pickup => "/api/v1/call/pickup",
            Self::Barge => "/api/v1/call/barge",
            Self::Monitor => "/api/v1/call/monitor",
            Self::Whisper => "/api/v1/call/whisper",
        }
    }

    /// The method name (`unpark`, …), as the JS API and the console use it.
    pub fn name(self) -> &'static str {
        self.path().rsplit('/').next().unwrap_or("")
    }
}

/// `{extension, dest}` checked: both numbers (a parking space, a queued
/// caller's number or an extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The acting extension.
    pub extension: Extension,
    /// What it acts on.
    pub dest: PhoneNumber,
}

impl Target {
    /// Checks both fields.
    pub fn parse(extension: &str, dest: &str) -> Result<Self, InvalidInput> {
        Ok(Self {
            extension: Extension::parse("extension", extension)?,
            dest: PhoneNumber::parse("dest", dest)?,
        })
    }
}

/// One parked call of `call/parkList` (every field a string, as sent).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkedCall {
    /// The parked channel (`PJSIP/trunkHWD-00000111`).
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_channel: String,
    /// Its state number.
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_channel_state: String,
    /// Its state (`Up`).
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_channel_state_desc: String,
    /// The parked party's number.
    #[serde(rename = "parkeeCallerIDNum", default, deserialize_with = "string_lenient")]
    pub parkee_caller_id_num: String,
    /// The parked party's name.
    #[serde(rename = "parkeeCallerIDName", default, deserialize_with = "string_lenient")]
    pub parkee_caller_id_name: String,
    /// The extension that parked it.
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_connected_line_num: String,
    /// That extension's name.
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_connected_line_name: String,
    /// 被驻留系统语言: the parked channel's language (`cn`).
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_language: String,
    /// `parkeeAccountCode` (-): the parked channel's account code.
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_account_code: String,
    /// Dial-plan context before parking.
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_context: String,
    /// Extension before parking (the queue, for queue calls).
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_exten: String,
    /// 驻留前优先级: dial-plan priority before parking (`7`), as sent.
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_priority: String,
    /// The parked call's uniqueid.
    #[serde(deserialize_with = "string_lenient")]
    pub parkee_uniqueid: String,
    /// Its linkedid.
    #[serde(default, deserialize_with = "string_lenient")]
    pub parkee_linkedid: String,
    /// Who parked it (`PJSIP/8001`).
    #[serde(default, deserialize_with = "string_lenient")]
    pub parker_dial_string: String,
    /// Parking lot.
    #[serde(default, deserialize_with = "string_lenient")]
    pub parking_lot: String,
    /// Parking space (`701`): dial it, or pass it to `unpark`.
    #[serde(deserialize_with = "string_lenient")]
    pub parking_space: String,
    /// Seconds it may stay parked (Asterisk may send a huge number).
    #[serde(default, deserialize_with = "string_lenient")]
    pub parking_timeout: String,
    /// Seconds parked so far.
    #[serde(default, deserialize_with = "crate::de::u64_lenient")]
    pub parking_duration: u64,
}

impl PbxApi {
    /// `POST /api/v1/call/transfer`.
    pub fn transfer(&self, t: &Transfer) -> HttpRequest {
        self.post(
            "/api/v1/call/transfer",
            json!({ "type": t.kind.as_str(), "extension": t.extension, "dest": t.dest.to_string() }),
        )
    }

    /// `POST` one of hold / unhold / park / cancelAtxfer with `{extension}`.
    pub fn extension_action(&self, action: ExtensionAction, extension: &Extension) -> HttpRequest {
        self.post(action.path(), json!({ "extension": extension }))
    }

    /// `POST` one of unpark / redirect / pickup / barge / monitor / whisper.
    pub fn target_action(&self, action: TargetAction, t: &Target) -> HttpRequest {
        self.post(action.path(), json!({ "extension": t.extension, "dest": t.dest }))
    }

    /// `GET /api/v1/call/parkList[?extension]` (the seed's GET "body" goes
    /// in the query: browsers cannot send a GET body).
    pub fn parked_calls(&self, extension: Option<&Extension>) -> HttpRequest {
        let q: Vec<(&str, String)> = extension.map(|e| ("extension", e.to_string())).into_iter().collect();
        self.get("/api/v1/call/parkList", &q)
    }
}
