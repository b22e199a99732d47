//! Errors returned to callers of the AMI client.

use std::time::Duration;

use crate::action::ActionError;
use crate::frame::FrameError;

/// Why an action or command did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmiError {
    /// The client is not logged in right now (connecting, or waiting to reconnect): fails at once.
    #[error("AMI server {server:?} is not connected ({reason})")]
    NotConnected {
        /// Server name.
        server: String,
        /// Why (the last disconnect reason, or "connecting").
        reason: String,
    },
    /// The connection was lost while the action was in flight.
    #[error("AMI server {server:?} disconnected before the reply ({reason})")]
    Disconnected {
        /// Server name.
        server: String,
        /// Why the connection ended.
        reason: String,
    },
    /// No complete reply within the time limit.
    #[error("AMI action {action:?} on {server:?} timed out after {after:?}")]
    Timeout {
        /// Server name.
        server: String,
        /// Action name.
        action: String,
        /// The time limit.
        after: Duration,
    },
    /// The action could not be serialized.
    #[error("invalid AMI action: {0}")]
    InvalidAction(#[from] ActionError),
    /// The caller's ActionID is already in flight on this connection.
    #[error("ActionID {0:?} is already in use")]
    DuplicateActionId(String),
    /// The reply was dropped by the framing limits (e.g. a 100 KB line).
    #[error("the reply could not be framed: {0}")]
    Framing(FrameError),
    /// Asterisk answered `Response: Error` (for helpers that need success, e.g. [`crate::AmiClient::command`]).
    #[error("AMI action {action:?} failed: {message}")]
    ActionFailed {
        /// Action name.
        action: String,
        /// The `Message:` header.
        message: String,
        /// Command output lines, if any (`No such command ...`).
        output: Vec<String>,
    },
    /// The client was shut down.
    #[error("the AMI client was shut down")]
    Closed,
}
