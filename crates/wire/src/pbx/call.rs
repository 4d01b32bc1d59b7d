//! Call control: `call/dial`, `call/hangup`.

use super::envelope::{decode, Reply};
use super::types::{Extension, PhoneNumber, Uniqueid};
use super::PbxApi;
use crate::de::{string_lenient, Empty};
use crate::{ApiError, HttpRequest, HttpResponse, InvalidInput};
use serde::Deserialize;
use serde_json::json;

/// `call/dial`: extension `extension` dials `dest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    /// The dialling extension.
    pub extension: Extension,
    /// The number dialled.
    pub dest: PhoneNumber,
    /// Caller id shown on outbound calls.
    pub displaycid: Option<PhoneNumber>,
}

impl Dial {
    /// Checks the three fields as typed by a person.
    pub fn parse(extension: &str, dest: &str, displaycid: Option<&str>) -> Result<Self, InvalidInput> {
        Ok(Self {
            extension: Extension::parse("extension", extension)?,
            dest: PhoneNumber::parse("dest", dest)?,
            displaycid: match displaycid.map(str::trim).filter(|s| !s.is_empty()) {
                Some(c) => Some(PhoneNumber::parse("displaycid", c)?),
                None => None,
            },
        })
    }
}

/// The reply to a dial.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Dialled {
    /// The new call's id.
    #[serde(deserialize_with = "uniqueid")]
    pub uniqueid: Uniqueid,
}

fn uniqueid<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Uniqueid, D::Error> {
    // Strict: a dial that returns no id cannot be followed.
    let s = string_lenient(d)?;
    if s.trim().is_empty() {
        return Err(serde::de::Error::custom("empty uniqueid"));
    }
    Ok(Uniqueid(s))
}

/// `call/hangup`: the target may be an extension or an outside number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hangup {
    /// Extension or outside number whose call ends.
    pub extension: PhoneNumber,
}

impl Hangup {
    /// Checks the target.
    pub fn parse(extension: &str) -> Result<Self, InvalidInput> {
        Ok(Self { extension: PhoneNumber::parse("extension", extension)? })
    }
}

impl PbxApi {
    /// `POST /api/v1/call/dial`.
    pub fn dial(&self, d: &Dial) -> HttpRequest {
        let mut body = json!({ "extension": d.extension, "dest": d.dest });
        if let (Some(cid), Some(obj)) = (&d.displaycid, body.as_object_mut()) {
            obj.insert("displaycid".into(), json!(cid));
        }
        self.post("/api/v1/call/dial", body)
    }

    /// `POST /api/v1/call/hangup`.
    pub fn hangup(&self, h: &Hangup) -> HttpRequest {
        self.post("/api/v1/call/hangup", json!({ "extension": h.extension }))
    }
}

/// Decodes a dial reply.
pub fn decode_dial(resp: &HttpResponse) -> Result<Reply<Dialled>, ApiError> {
    decode(resp)
}

/// Decodes a reply whose `data` carries nothing (`[]`).
pub fn decode_empty(resp: &HttpResponse) -> Result<Reply<Empty>, ApiError> {
    decode(resp)
}
