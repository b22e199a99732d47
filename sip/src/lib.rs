//! SIP without I/O.
pub mod auth;
mod checks;
mod normalize;
pub mod salvage;
pub mod error;
pub mod message;
pub mod sdp;
pub mod transaction;

pub use error::Error;
pub mod dialog;
pub mod framing;
pub mod registration;
pub mod ua;
