//! Errors of the `sip` crate.

/// Everything that can go wrong in the `sip` crate; other modules add their own variants here.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// rsip could not tokenize or convert the bytes into a SIP message.
    #[error("malformed SIP message: {0}")]
    Parse(String),
    /// A header RFC 3261 §8.1.1 makes mandatory is absent.
    #[error("missing mandatory header {0}")]
    MissingHeader(&'static str),
    /// A header is present but its value does not parse.
    #[error("invalid {header} header: {reason}")]
    InvalidHeader {
        /// The header name.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Content-Length announces more bytes than the message carries (RFC 3261 §18.3).
    #[error("Content-Length {declared} exceeds the {actual} body bytes received")]
    BodyTooShort {
        /// Value of the Content-Length header.
        declared: usize,
        /// Bytes actually present after the header block.
        actual: usize,
    },
    /// A response's Status-Code is not three digits from 100 to 699 (RFC 3261 §7.2, §25.1).
    #[error("status code {0:?} is not three digits from 100 to 699 (RFC 3261 §25.1)")]
    InvalidStatusCode(String),
    /// The top Via's branch does not start with the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7).
    #[error("top Via branch is missing or not RFC 3261 compliant (z9hG4bK)")]
    NoRfc3261Branch,
}
