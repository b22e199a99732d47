//! SIP without I/O.
pub mod auth;
mod checks;
pub mod error;
pub mod media_control;
pub mod message;
mod normalize;
pub mod salvage;
pub mod sdp;
pub mod transaction;

pub use error::Error;
pub mod dialog;
pub mod framing;
pub mod registration;
pub mod ua;
