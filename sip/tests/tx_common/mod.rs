//! Shared by the transaction scenario tests: virtual time and the real Asterisk 22 captures.

#![allow(dead_code)] // each test file uses its own subset

use std::time::{Duration, Instant};

use gateway_sip::message;
use rsip::{Request, Response, SipMessage};

/// The origin of virtual time; the tests never read the clock again.
#[allow(clippy::disallowed_methods)]
pub(crate) fn t0() -> Instant {
    Instant::now()
}

/// `n` milliseconds.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A captured message from `tests/data/asterisk22/`.
pub(crate) fn fixture(name: &str) -> SipMessage {
    let path = format!(
        "{}/tests/data/asterisk22/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    message::parse(&std::fs::read(&path).unwrap()).unwrap()
}

/// A captured request.
pub(crate) fn req(name: &str) -> Request {
    Request::try_from(fixture(name)).unwrap()
}

/// A captured response.
pub(crate) fn resp(name: &str) -> Response {
    Response::try_from(fixture(name)).unwrap()
}
