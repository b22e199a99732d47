//! The gateway binary under test: configured by a TOML file the test writes, started with
//! `webrtc-gateway serve --config FILE`, ready once `GET /healthz` answers 200 with `"status": "ok"`.

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ports::{free_tcp_port, free_udp_tcp_port, loopback, rtp_block};
use super::tail;

/// How long the gateway may take to answer `/healthz` after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The dev token of user alice in every test configuration.
pub(crate) const ALICE_TOKEN: &str = "alice-token";

/// Configuration keys a test sets beyond the defaults of every test gateway.
#[derive(Debug, Clone)]
pub(crate) struct GatewayOptions {
    /// `webrtc.ice_servers`, as a TOML value.
    ice_servers: String,
    /// `sip.transport`, and the `;transport=` parameter of `sip.proxy` when set.
    tcp: bool,
    /// `media.rtp_timeout`, as a duration string.
    rtp_timeout: String,
    /// `[sip.users.<name>]` tables: (name, username, password).
    users: Vec<(String, String, String)>,
    /// `sip.trunk`, when set.
    trunk: Option<bool>,
    /// `sip.unregister_grace`, when set.
    unregister_grace: Option<String>,
    /// `sip.options_interval`, when set.
    options_interval: Option<String>,
    /// `sip.register_expires`, when set.
    register_expires: Option<String>,
    /// `log.level`.
    log_level: String,
    /// Further keys as `WEBRTC_GATEWAY__<SECTION>__<KEY>` environment overrides (see [`Self::config_key`]).
    env: Vec<(String, String)>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            ice_servers: "[]".to_owned(),
            tcp: false,
            rtp_timeout: "30s".to_owned(),
            users: Vec::new(),
            trunk: None,
            unregister_grace: None,
            // No OPTIONS keepalive by default: SIPp scenarios are strict and would fail on an
            // unexpected OPTIONS. `sip_keepalive.rs` tests the keepalive itself.
            options_interval: Some("0s".to_owned()),
            register_expires: None,
            log_level: "debug".to_owned(),
            env: Vec::new(),
        }
    }
}

impl GatewayOptions {
    /// `webrtc.ice_servers = [{ urls = ["stun:<server>"] }]`.
    pub(crate) fn stun_server(mut self, server: SocketAddr) -> Self {
        self.ice_servers = format!(r#"[{{ urls = ["stun:{server}"] }}]"#);
        self
    }

    /// `sip.transport = "tcp"` and `sip.proxy = "sip:127.0.0.1:<port>;transport=tcp"`.
    pub(crate) fn sip_over_tcp(mut self) -> Self {
        self.tcp = true;
        self
    }

    /// `media.rtp_timeout`, e.g. `"2s"`.
    pub(crate) fn rtp_timeout(mut self, timeout: &str) -> Self {
        self.rtp_timeout = timeout.to_owned();
        self
    }

    /// A `[sip.users.<name>]` table: the gateway registers `sip_username` with `password` while
    /// user `name` has a device connected (`name` must be a user of `auth.dev_tokens`).
    pub(crate) fn user(mut self, name: &str, sip_username: &str, password: &str) -> Self {
        self.users.push((
            name.to_owned(),
            sip_username.to_owned(),
            password.to_owned(),
        ));
        self
    }

    /// `sip.trunk`: accept INVITEs to `sip:<user>@<gateway>` for any connected user.
    pub(crate) fn trunk(mut self, trunk: bool) -> Self {
        self.trunk = Some(trunk);
        self
    }

    /// `sip.unregister_grace`, e.g. `"1s"`.
    pub(crate) fn unregister_grace(mut self, grace: &str) -> Self {
        self.unregister_grace = Some(grace.to_owned());
        self
    }

    /// `sip.options_interval`, e.g. `"0s"` (no OPTIONS keepalive toward the proxy).
    pub(crate) fn options_interval(mut self, interval: &str) -> Self {
        self.options_interval = Some(interval.to_owned());
        self
    }

    /// `log.level`, a filter directive (default `"debug"`), e.g.
    /// `"debug,gateway::sip_driver=trace"` to log when each SIP datagram arrives.
    pub(crate) fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.to_owned();
        self
    }

    /// Any key, e.g. `config_key("odoo.url", "\"http://127.0.0.1:8069\"")` (a TOML value),
    /// passed as the environment override `WEBRTC_GATEWAY__ODOO__URL` so it merges with the file.
    pub(crate) fn config_key(mut self, key: &str, toml_value: &str) -> Self {
        let var = format!(
            "WEBRTC_GATEWAY__{}",
            key.replace('.', "__").to_ascii_uppercase()
        );
        self.env.push((var, toml_value.to_owned()));
        self
    }

    /// `sip.register_expires`, e.g. `"60s"` (the expiry each REGISTER asks for).
    pub(crate) fn register_expires(mut self, expires: &str) -> Self {
        self.register_expires = Some(expires.to_owned());
        self
    }
}

/// A running gateway; killed on drop, and its log printed if the test is failing.
pub(crate) struct Gateway {
    child: Child,
    dir: TempDir,
    log_path: PathBuf,
    http_port: u16,
    sip_port: u16,
    rtp_ports: (u16, u16),
}

impl Gateway {
    /// Starts a gateway whose SIP proxy (the fake Asterisk) is 127.0.0.1:`proxy_port`.
    pub(crate) async fn start(proxy_port: u16) -> Result<Gateway> {
        Self::start_with(proxy_port, &GatewayOptions::default()).await
    }

    /// Starts a gateway like [`Gateway::start`], with `options` applied to its configuration.
    pub(crate) async fn start_with(proxy_port: u16, options: &GatewayOptions) -> Result<Gateway> {
        let binary = PathBuf::from(env!("CARGO_BIN_EXE_webrtc-gateway"));
        let dir = tempfile::Builder::new().prefix("e2e-gateway-").tempdir()?;
        let http_port = free_tcp_port()?;
        // The gateway always listens for SIP on UDP and TCP at the same port: both must be free
        // (a port free for UDP only made a test fail with "Address already in use").
        let sip_port = free_udp_tcp_port()?;
        let rtp_ports = rtp_block()?;
        let config_path = dir.path().join("gateway.toml");
        std::fs::write(
            &config_path,
            config_toml(http_port, sip_port, proxy_port, rtp_ports, options),
        )?;
        let log_path = dir.path().join("gateway.log");
        let log = File::create(&log_path)?;
        let child = Command::new(&binary)
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            // The configuration's `log.level` decides, not the developer's shell.
            .env_remove("RUST_LOG")
            .env("RUST_BACKTRACE", "1")
            .env("NO_COLOR", "1")
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", binary.display()))?;
        let mut gateway = Gateway {
            child,
            dir,
            log_path,
            http_port,
            sip_port,
            rtp_ports,
        };
        gateway.wait_ready().await?;
        Ok(gateway)
    }

    /// Polls `/healthz` until it says ok; fails early if the process exits.
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the gateway exited ({status}) before /healthz answered; its log:\n{}",
                    self.log()
                );
            }
            if let Ok(Ok((200, body))) =
                tokio::time::timeout(Duration::from_secs(2), self.get("/healthz")).await
                && serde_json::from_str::<serde_json::Value>(&body)
                    .is_ok_and(|v| v["status"] == "ok")
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "the gateway did not answer GET /healthz with 200 and status ok within {READY_TIMEOUT:?}; its log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One series (`name{labels}`) of `/metrics` now.
    pub(crate) async fn metric(&self, series: &str) -> Result<f64> {
        let (_, text) = self.get("/metrics").await?;
        super::video::metric(&text, series)
    }

    /// A plain HTTP/1.1 GET on the gateway's HTTP port: (status, body).
    pub(crate) async fn get(&self, path: &str) -> Result<(u16, String)> {
        let mut stream = TcpStream::connect(loopback(self.http_port)).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.http_port
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("no HTTP status in {head:?}"))?;
        Ok((status, body.to_owned()))
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The signaling WebSocket URL, with `?token=` when a token is given.
    pub(crate) fn ws_url(&self, token: Option<&str>) -> String {
        match token {
            Some(token) => format!("ws://127.0.0.1:{}/ws?token={token}", self.http_port),
            None => format!("ws://127.0.0.1:{}/ws", self.http_port),
        }
    }

    /// The gateway's process id (for `/proc/<pid>`: open files, memory, CPU).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The gateway's SIP port on 127.0.0.1.
    pub(crate) fn sip_port(&self) -> u16 {
        self.sip_port
    }

    /// The RTP range the gateway was given (inclusive).
    pub(crate) fn rtp_ports(&self) -> (u16, u16) {
        self.rtp_ports
    }

    /// Everything the gateway wrote to stdout and stderr so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_else(|e| format!("<no log: {e}>"))
    }

    /// When the gateway logged its first line containing `needle`: ms since the Unix epoch, read
    /// from the line's RFC 3339 timestamp (the human log format).
    pub(crate) fn log_time_ms(&self, needle: &str) -> Option<f64> {
        self.log()
            .lines()
            .find(|line| line.contains(needle))
            .and_then(|line| line.split_whitespace().next())
            .and_then(super::sipp_log::utc_ms)
    }

    /// Prints the end of the gateway's log to stderr (shown by the test harness on failure).
    pub(crate) fn dump(&self) {
        eprintln!(
            "===== gateway log ({}) =====\n{}\n===== end of gateway log =====",
            self.dir.path().display(),
            tail(&self.log(), 64 * 1024)
        );
    }
}

impl Gateway {
    /// Sends SIGTERM (graceful shutdown).
    pub(crate) fn terminate(&self) {
        // SAFETY: kill(2) with a pid we spawned and own; no memory is involved.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
    }

    /// Waits up to `timeout` for the process to exit; its exit code, or `None` if still running.
    pub(crate) async fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // Best effort: the process may already be gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            self.dump();
        }
    }
}

/// The configuration file of one test's gateway.
fn config_toml(
    http_port: u16,
    sip_port: u16,
    proxy_port: u16,
    rtp: (u16, u16),
    options: &GatewayOptions,
) -> String {
    let (transport, proxy_params) = if options.tcp {
        ("tcp", ";transport=tcp")
    } else {
        ("udp", "")
    };
    let mut sip_extra = String::new();
    if let Some(trunk) = options.trunk {
        sip_extra.push_str(&format!("trunk = {trunk}\n"));
    }
    for (key, value) in [
        ("unregister_grace", &options.unregister_grace),
        ("options_interval", &options.options_interval),
        ("register_expires", &options.register_expires),
    ] {
        if let Some(value) = value {
            sip_extra.push_str(&format!("{key} = \"{value}\"\n"));
        }
    }
    let mut users = String::new();
    for (name, username, password) in &options.users {
        users.push_str(&format!(
            "\n[sip.users.{name}]\nusername = \"{username}\"\npassword = \"{password}\"\n"
        ));
    }
    format!(
        r#"[http]
listen = "127.0.0.1:{http_port}"

[webrtc]
ice_servers = {ice_servers}

[sip]
listen = "127.0.0.1:{sip_port}"
transport = "{transport}"
proxy = "sip:127.0.0.1:{proxy_port}{proxy_params}"
domain = "127.0.0.1"
username = "gateway"
password = "secret"
{sip_extra}
[media]
rtp_ports = "{first}-{last}"
sip_codecs = ["opus", "pcmu", "pcma"]
rtp_timeout = "{rtp_timeout}"

[auth]
dev_tokens = {{ alice = "{ALICE_TOKEN}" }}

[log]
level = "{log_level}"
{users}"#,
        first = rtp.0,
        last = rtp.1,
        ice_servers = options.ice_servers,
        rtp_timeout = options.rtp_timeout,
        log_level = options.log_level,
    )
}
