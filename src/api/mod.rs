//! Vendor backends: models, request builders and decoders. Pure.

pub mod callback;
pub mod dapi;
pub mod de;
pub mod envelope;
mod error;
pub mod http;
pub mod ids;
pub mod js_int;
pub mod pbx;
pub mod sipcdr;
pub mod time;

pub use error::{bytes_text, ApiError, InvalidInput, Problem};
pub use http::{HttpRequest, HttpResponse, Method};
