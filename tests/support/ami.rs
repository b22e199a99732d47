//! The Asterisk Manager Interface in the end-to-end tests: gateway-ami's Asterisk 22-like test
//! server, the gateway keys that point at it (`ami.servers`, `http.api_keys`), a small HTTP client
//! for the gateway's `/api/v1` and `/healthz`, and the `webrtc-gateway` CLI as a child process.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use gateway_ami::test_server::TestServer;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::gateway::{Gateway, GatewayOptions};

/// The `manager.conf` user of the test server (as in the captures).
pub(crate) const AMI_USER: &str = "odoo";
/// Its secret (the captures' documented test secret).
pub(crate) const AMI_SECRET: &str = "odoo-secret";
/// The API key every AMI test gateway accepts (`http.api_keys`, at least 16 characters).
pub(crate) const API_KEY: &str = "ami-test-api-key-0123456789";

/// Starts the AMI test server on a free port of 127.0.0.1.
pub(crate) async fn start_pbx() -> Result<TestServer> {
    TestServer::start(AMI_USER, AMI_SECRET)
        .await
        .context("starting the AMI test server")
}

/// `ami.servers` with these (name, address) pairs, pinging every second, and `http.api_keys`.
pub(crate) fn with_ami(options: GatewayOptions, servers: &[(&str, SocketAddr)]) -> GatewayOptions {
    let list: Vec<String> = servers
        .iter()
        .map(|(name, addr)| {
            format!(
                "{{ name = \"{name}\", address = \"{addr}\", username = \"{AMI_USER}\", \
                 secret = \"{AMI_SECRET}\", ping_interval = \"1s\" }}"
            )
        })
        .collect();
    options
        .config_key("ami.servers", &format!("[{}]", list.join(", ")))
        .config_key("http.api_keys", &format!("[\"{API_KEY}\"]"))
}

/// The same servers as a configuration file for `--direct` (written into `dir`).
pub(crate) fn direct_config(
    dir: &std::path::Path,
    servers: &[(&str, SocketAddr)],
) -> Result<std::path::PathBuf> {
    let mut text = String::new();
    for (name, addr) in servers {
        text.push_str(&format!(
            "[[ami.servers]]\nname = \"{name}\"\naddress = \"{addr}\"\nusername = \"{AMI_USER}\"\n\
             secret = \"{AMI_SECRET}\"\n"
        ));
    }
    let path = dir.join("direct.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// One HTTP/1.1 request to the gateway (`Connection: close`): (status, JSON body or the raw text).
pub(crate) async fn request(
    gateway: &Gateway,
    method: &str,
    path: &str,
    api_key: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, Value)> {
    let addr = gateway.base_url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(key) = api_key {
        head.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .with_context(|| format!("{method} {path}: no complete answer within 30 s"))??;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("no HTTP status in {head:?}"))?;
    let value = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
    Ok((status, value))
}

/// `POST path` with the test API key and a JSON body.
pub(crate) async fn post(gateway: &Gateway, path: &str, body: &Value) -> Result<(u16, Value)> {
    request(
        gateway,
        "POST",
        path,
        Some(API_KEY),
        Some(&body.to_string()),
    )
    .await
}

/// `/healthz` as JSON.
pub(crate) async fn healthz(gateway: &Gateway) -> Result<Value> {
    let (status, body) = request(gateway, "GET", "/healthz", None, None).await?;
    ensure!(status == 200, "/healthz answered {status}: {body}");
    Ok(body)
}

/// Polls `/healthz` until `ami.<server>` is `state`, within `timeout`; returns how long it took.
pub(crate) async fn wait_ami_state(
    gateway: &Gateway,
    server: &str,
    state: &str,
    timeout: Duration,
) -> Result<Duration> {
    let start = tokio::time::Instant::now();
    loop {
        let body = healthz(gateway).await?;
        if body["ami"][server] == state {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= timeout {
            bail!("/healthz ami.{server} did not become {state} within {timeout:?}: {body}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `check` every 10 ms until it gives `Some`, within `timeout`.
pub(crate) async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(found) = check() {
            return Ok(found);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("{what}: not within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `webrtc-gateway <args>` to completion within 30 s: (success, stdout, stderr).
pub(crate) async fn cli(args: &[&str], env: &[(&str, &str)]) -> Result<(bool, String, String)> {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_webrtc-gateway"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), child)
        .await
        .with_context(|| format!("webrtc-gateway {args:?} did not finish within 30 s"))??;
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}
