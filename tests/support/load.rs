//! The load generator (`webrtc-gateway-load`, the `load/` crate) driven from a test, and what the
//! gateway holds before and after: open files, RTP ports.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::ports::loopback;

/// Ports above Linux's ephemeral range (32768-60999) and the RTP area of [`super::ports`], so a
/// block here collides with neither.
const HIGH_AREA: (u16, u16) = (61_000, 65_400);

/// How to build the generator when it is missing.
pub(crate) const BUILD_HINT: &str =
    "cargo build -p webrtc-gateway-load (cargo test --workspace builds it)";

/// `len` consecutive UDP ports on 127.0.0.1, all free now: `(first, last)` inclusive.
pub(crate) fn high_port_block(len: u16) -> Result<(u16, u16)> {
    let span = HIGH_AREA.1 - HIGH_AREA.0 - len;
    let start = u16::try_from(std::process::id() % u32::from(span)).context("offset fits u16")?;
    for step in 0..span / len {
        let first = HIGH_AREA.0 + (start + step * len) % span;
        let last = first + len - 1;
        if (first..=last).all(|p| UdpSocket::bind(loopback(p)).is_ok()) {
            return Ok((first, last));
        }
    }
    bail!("no free block of {len} UDP ports in {HIGH_AREA:?} on 127.0.0.1")
}

/// Whether every UDP port of `range` can be bound (the gateway released them all).
pub(crate) fn ports_free(range: (u16, u16)) -> Vec<u16> {
    (range.0..=range.1)
        .filter(|&p| UdpSocket::bind(loopback(p)).is_err())
        .collect()
}

/// Open file descriptors of a process.
pub(crate) fn open_fds(pid: u32) -> Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))
        .with_context(|| format!("reading /proc/{pid}/fd"))?
        .count())
}

/// The generator binary, built next to the gateway binary under test.
pub(crate) fn binary() -> Result<PathBuf> {
    let path =
        PathBuf::from(env!("CARGO_BIN_EXE_webrtc-gateway")).with_file_name("webrtc-gateway-load");
    if path.is_file() {
        Ok(path)
    } else {
        bail!(
            "{} is missing: build it with `{BUILD_HINT}`",
            path.display()
        )
    }
}

/// Every one of `calls` calls of a generator summary connected and none reported an error.
pub(crate) fn ensure_all_connected(summary: &serde_json::Value, calls: u64) -> Result<()> {
    anyhow::ensure!(
        summary["established"] == calls,
        "{} of {calls} calls connected: {summary}",
        summary["established"]
    );
    anyhow::ensure!(
        summary["errors"].as_object().is_some_and(|e| e.is_empty()),
        "errors: {summary}"
    );
    Ok(())
}

/// Runs the generator with `args` (within `limit`) and returns its JSON summary.
pub(crate) async fn run(args: &[String], limit: Duration) -> Result<serde_json::Value> {
    let bin = binary()?;
    let child = tokio::process::Command::new(&bin)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(limit, child)
        .await
        .with_context(|| format!("the load generator did not finish within {limit:?}"))??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("the load generator failed ({}):\n{stderr}", out.status);
    }
    let line = stdout
        .lines()
        .last()
        .with_context(|| format!("no summary line; stderr:\n{stderr}"))?;
    let summary = serde_json::from_str(line).with_context(|| format!("summary {line:?}"))?;
    eprintln!("[load] {stderr}");
    Ok(summary)
}
