//! Vendor backends: models, request builders and decoders. Pure.

pub mod de;
mod error;
pub mod http;
pub mod pbx;

pub use error::{ApiError, InvalidInput, Problem};
pub use http::{HttpRequest, HttpResponse, Method};
