//! The PBX pages: the agent's desk and call controls, the live billing list,
//! the call log, the supervisor's view, voicemail and text to speech.

pub mod agent;
pub mod billing;
pub mod cdr;
pub mod desk;
pub mod supervisor;
pub mod voicemail;
