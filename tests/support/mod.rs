//! Harness of the end-to-end tests: the real gateway binary, SIPp and headless Chromium, all on
//! 127.0.0.1. Every test file includes it with `mod support;`.

// Each test binary uses only part of the harness.
#![allow(dead_code)]

pub(crate) mod ami;
pub(crate) mod baresip;
pub(crate) mod browser;
pub(crate) mod coturn;
pub(crate) mod device;
pub(crate) mod gateway;
pub(crate) mod inbound;
pub(crate) mod incall;
pub(crate) mod load;
pub(crate) mod odoo;
pub(crate) mod page;
pub(crate) mod ports;
pub(crate) mod rig;
pub(crate) mod rtcp;
pub(crate) mod sipp;
pub(crate) mod sipp_log;
pub(crate) mod stub_http;
pub(crate) mod tls;
pub(crate) mod tone;
pub(crate) mod video;
pub(crate) mod ws;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};

/// How to get every program the end-to-end tests drive (Debian/Ubuntu package names).
pub(crate) const INSTALL_HINT: &str = "apt-get install chromium chromium-driver sip-tester baresip-core (or run scripts/install-deps)";

/// `tests/data` of the workspace root.
pub(crate) fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

/// Reads a file under `tests/data`.
pub(crate) fn data_file(relative: &str) -> Result<String> {
    let path = data_dir().join(relative);
    std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}

/// The path of an external program, or an error saying how to install it (never a silent skip).
pub(crate) fn require_program(path: &str) -> Result<PathBuf> {
    let path = PathBuf::from(path);
    if path.is_file() {
        Ok(path)
    } else {
        bail!(
            "{} is missing: the end-to-end tests need it. Install it with `{INSTALL_HINT}`",
            path.display()
        )
    }
}

/// The last `max` bytes of a log, for failure reports (whole lines where possible).
pub(crate) fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    match text[start..].find('\n') {
        Some(newline) => &text[start + newline + 1..],
        None => &text[start..],
    }
}

/// Polls `done` every 50 ms until it holds, within `timeout`; the error names `what`.
pub(crate) async fn wait_until(
    what: &str,
    timeout: Duration,
    done: impl Fn() -> bool,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done() {
        if tokio::time::Instant::now() >= deadline {
            bail!("no {what} within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
