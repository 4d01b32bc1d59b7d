//! Session logic: pure, sans-IO. Time comes in as [`Instant`] values; I/O
//! goes through [`HttpClient`], which each platform implements.

pub mod agent_desk;
pub mod backoff;
pub mod billing;
pub mod call_records;
pub mod call_tasks;
pub mod callback;
pub mod cdr_view;
pub mod click_to_call;
pub mod dapi;
pub mod desk;
mod error;
pub mod handset;
pub mod paging;
pub mod phone_view;
pub mod session;
pub mod settings;
pub mod sipcdr;
pub mod softphone;
pub mod supervisor;
pub mod time;
pub mod token;
pub mod uploads;
pub mod voicemail_view;

pub use billing::{BillingEvent, BillingFeed, BillingOp, BillingSettings, BillingView, CdrStore, FeedState};
pub use callback::{AnySigner, CallbackSession, ClockSkew, SecretSigner, Signer, UrlSigner};
pub use dapi::DapiSession;
pub use error::Error;
pub use session::{Clock, HttpClient, PbxSession};
pub use settings::{Opened, PbxSettings};
pub use sipcdr::{BillSync, SipCdrSession};
pub use softphone::{Softphone, SoftphoneEvent, SoftphoneSettings};
pub use time::Instant;
pub use token::{TokenEvent, TokenManager, TokenTicket};
