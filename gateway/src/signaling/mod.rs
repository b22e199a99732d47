//! The signaling API: authenticated WebSocket sessions at `/ws`.

pub mod messages;
pub mod session;
