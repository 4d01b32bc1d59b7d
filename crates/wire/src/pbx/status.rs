//! `GET status/endpoint`: registration and busy state of extensions.

use super::types::{Extension, Page};
use super::PbxApi;
use crate::de::string_lenient;
use crate::HttpRequest;
use serde::{Deserialize, Deserializer, Serialize};

/// Query of `status/endpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointFilter {
    /// Which page.
    pub page: Page,
    /// Only this extension.
    pub endpoint: Option<Extension>,
}

/// An extension's state as the PBX reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointState {
    /// `Unavailable`: not registered (离线).
    Unavailable,
    /// `Not in use`: idle (空闲).
    NotInUse,
    /// `In use`: on a call (忙线中).
    InUse,
    /// Any other Asterisk device state (`Ringing`, `On Hold`, …), kept as sent.
    Other(String),
}

impl EndpointState {
    /// Maps the wire text; unknown values are kept, not refused.
    pub fn from_wire(s: &str) -> Self {
        match s.trim() {
            "Unavailable" => Self::Unavailable,
            "Not in use" => Self::NotInUse,
            "In use" => Self::InUse,
            other => Self::Other(other.to_string()),
        }
    }

    /// The wire text (`Not in use`, …); unknown states as sent.
    pub fn as_wire(&self) -> &str {
        match self {
            Self::Unavailable => "Unavailable",
            Self::NotInUse => "Not in use",
            Self::InUse => "In use",
            Self::Other(o) => o,
        }
    }

    /// Whether the extension is busy with a call.
    pub fn is_busy(&self) -> bool {
        !matches!(self, Self::Unavailable | Self::NotInUse)
    }

    /// Whether the device rings: Asterisk's `Ringing`, or `Ring+InUse` (a
    /// second call ringing on a phone already in a call), in any case. The
    /// one rule the desk's call phase, the supervisor's targets and the
    /// console's words share.
    pub fn is_ringing(&self) -> bool {
        matches!(self, Self::Other(s) if s.to_ascii_lowercase().contains("ring"))
    }

    /// Whether it rings while a call is up on it (`Ring+InUse`): the phone
    /// is in a call, so the desk keeps that call's controls.
    pub fn rings_while_in_use(&self) -> bool {
        matches!(self, Self::Other(s) if {
            let s = s.to_ascii_lowercase();
            s.contains("ring") && (s.contains("inuse") || s.contains("in use"))
        })
    }

    /// Whether the call on the device is held: Asterisk's `On Hold`, in any case.
    pub fn is_on_hold(&self) -> bool {
        matches!(self, Self::Other(s) if s.trim().eq_ignore_ascii_case("on hold"))
    }
}

impl Serialize for EndpointState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_wire())
    }
}

impl<'de> Deserialize<'de> for EndpointState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_wire(&string_lenient(d)?))
    }
}

/// One row of `status/endpoint` (serialises in the wire's camelCase).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatus {
    /// The extension.
    #[serde(deserialize_with = "string_lenient")]
    pub endpoint: String,
    /// Its state.
    pub state: EndpointState,
    /// Channel use (`0 of inf`).
    #[serde(default, deserialize_with = "string_lenient")]
    pub channels: String,
    /// Caller id.
    #[serde(default, deserialize_with = "string_lenient")]
    pub cid: String,
    /// Where the phone registered from.
    #[serde(default, deserialize_with = "string_lenient")]
    pub register_ip: String,
    /// Its port.
    #[serde(default, deserialize_with = "string_lenient")]
    pub register_port: String,
}

impl PbxApi {
    /// `GET /api/v1/status/endpoint?page&pageSize&endpoint`.
    pub fn endpoint_status(&self, f: &EndpointFilter) -> HttpRequest {
        let mut q = vec![("page", f.page.page.to_string()), ("pageSize", f.page.page_size.to_string())];
        if let Some(e) = &f.endpoint {
            q.push(("endpoint", e.to_string()));
        }
        self.get("/api/v1/status/endpoint", &q)
    }
}

/// Decodes a `status/endpoint` reply (`data: []` or `null` → no rows; a
/// row that does not decode is skipped and counted).
pub fn decode_endpoints(
    resp: &crate::HttpResponse,
) -> Result<super::Reply<Vec<EndpointStatus>>, crate::ApiError> {
    super::decode_rows(resp)
}

/// One row of `status/trunk` (serialises in the wire's camelCase).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrunkStatus {
    /// The trunk's name (`trunkHWD`).
    #[serde(deserialize_with = "string_lenient")]
    pub endpoint: String,
    /// Its state (the same words as extensions).
    pub state: EndpointState,
    /// Channel use (`0 of inf`).
    #[serde(default, deserialize_with = "string_lenient")]
    pub channels: String,
    /// The far end's address. The example sends `serverIp`, the seed's
    /// table `registerIp`: both are read.
    #[serde(default, alias = "registerIp", deserialize_with = "string_lenient")]
    pub server_ip: String,
    /// The far end's port (`serverPort` or `registerPort`).
    #[serde(default, alias = "registerPort", deserialize_with = "string_lenient")]
    pub server_port: String,
}

/// Query of `status/trunk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkFilter {
    /// Which page.
    pub page: Page,
    /// Only this trunk (the name as configured on the PBX).
    pub trunk_name: Option<String>,
}

impl TrunkFilter {
    /// Checks the optional name under the shared id rule
    /// ([`crate::ids::check_id`]): trunk names are the site's.
    pub fn new(page: Page, trunk_name: Option<&str>) -> Result<Self, crate::InvalidInput> {
        let trunk_name = match trunk_name.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(n) => Some(crate::ids::check_id("trunkName", n)?.to_string()),
        };
        Ok(Self { page, trunk_name })
    }
}

impl PbxApi {
    /// `GET /api/v1/status/trunk?page&pageSize&trunk_name`.
    pub fn trunk_status(&self, f: &TrunkFilter) -> HttpRequest {
        self.get(
            "/api/v1/status/trunk",
            &[
                ("page", f.page.page.to_string()),
                ("pageSize", f.page.page_size.to_string()),
                ("trunk_name", f.trunk_name.clone().unwrap_or_default()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asterisk_device_states_ring_and_hold_by_one_rule() {
        let st = EndpointState::from_wire;
        for ringing in ["Ringing", "Ring+InUse", "Ring+Inuse", "ringing", " RINGING "] {
            assert!(st(ringing).is_ringing(), "{ringing}");
            assert!(!st(ringing).is_on_hold(), "{ringing}");
        }
        assert!(st("Ring+InUse").rings_while_in_use() && st("ring+inuse").rings_while_in_use());
        assert!(!st("Ringing").rings_while_in_use() && !st("In use").rings_while_in_use());
        for held in ["On Hold", "on hold", " ON HOLD "] {
            assert!(st(held).is_on_hold(), "{held}");
            assert!(!st(held).is_ringing(), "{held}");
        }
        for other in ["In use", "Not in use", "Unavailable", "Busy", "Invalid", "Unknown", ""] {
            assert!(!st(other).is_ringing() && !st(other).is_on_hold(), "{other}");
        }
    }
}
