//! The PBX (seed 003): token lifecycle, the billing feed and its store, the
//! call-log and voicemail views, the agent desk, the supervisor's view.
//! The session driver itself ([`crate::PbxSession`]) is in `session`, beside
//! the `HttpClient` it drives.

pub mod agent_desk;
pub mod billing;
pub mod cdr_view;
pub mod desk;
pub mod handset;
pub mod settings;
pub mod supervisor;
pub mod token;
pub mod voicemail_view;
