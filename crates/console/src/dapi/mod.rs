//! The dapi pages: the softphone (app users' voice calls), scheduled calls
//! and uploads.

pub mod softphone;
pub mod tasks;
pub mod upload;
