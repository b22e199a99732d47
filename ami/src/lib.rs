//! Asterisk Manager Interface (AMI) client.
//!
//! - [`frame`] / [`Decoder`]: sans-I/O framing of banner, responses, events and legacy `Follows` output.
//! - [`Message`]: ordered headers with repeated keys and case-insensitive lookup; JSON view.
//! - [`Action`]: built in code or from a JSON object; `Secret`/`Key` redacted in `Debug`.
//! - [`Session`]: the sans-I/O connection core (login, ActionID correlation, lists, ping, timeouts).
//! - [`AmiClient`]: the tokio driver per server (reconnect with jittered backoff, events broadcast).
//! - `test_server` (feature `test-server`): an AMI server replaying real Asterisk 22 transcripts.

pub mod action;
pub mod backoff;
pub mod client;
pub mod config;
pub mod connection;
pub mod decoder;
pub mod error;
pub mod frame;
pub mod message;
#[cfg(feature = "test-server")]
pub mod test_server;

pub use action::{Action, ActionError, Completion};
pub use backoff::Backoff;
pub use client::{ActionResult, CloseReason, Output, Session};
pub use config::{AmiConfig, Secret};
pub use connection::{AmiClient, ConnState};
pub use decoder::Decoder;
pub use error::AmiError;
pub use frame::{Frame, FrameError, Limits, Parsed};
pub use message::{Message, MessageKind};
