//! SIPp playing Asterisk: a UAS scenario from `tests/data/sipp/` (or the built-in `uas`) on
//! 127.0.0.1, echoing RTP (`-rtp_echo`, unless told not to), over UDP (or TCP), logging every SIP
//! message to a temp dir.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use super::ports::{free_tcp_port, free_udp_port, rtp_block};
use super::sipp_log::{self, LoggedMessage};
use super::{data_dir, require_program, tail};

/// Where the Debian package `sip-tester` installs SIPp.
const SIPP: &str = "/usr/bin/sipp";
/// SIPp gives up on its own after this long (`-timeout`), whatever the test does.
const SIPP_GLOBAL_TIMEOUT: &str = "120s";

/// Which scenario SIPp runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scenario<'a> {
    /// A file in `tests/data/sipp/`.
    File(&'a str),
    /// SIPp's built-in scenario of that name (`-sn`), e.g. `uas`.
    BuiltIn(&'a str),
}

/// How SIPp runs, beyond its scenario.
#[derive(Debug, Clone)]
pub(crate) struct SippOptions {
    /// Echo the RTP it receives (`-rtp_echo`); without it SIPp sends no media at all.
    pub(crate) rtp_echo: bool,
    /// SIP over TCP, one connection (`-t t1`), instead of UDP.
    pub(crate) tcp: bool,
    /// Further arguments, e.g. `-key name value` for a `[name]` keyword of the scenario.
    pub(crate) extra: Vec<String>,
    /// The local address SIPp binds (`-i`); 127.0.0.1 when `None`. Another loopback address
    /// (127.0.0.2) plays a host that is not the configured Asterisk.
    pub(crate) local_ip: Option<Ipv4Addr>,
}

impl Default for SippOptions {
    fn default() -> Self {
        SippOptions {
            rtp_echo: true,
            tcp: false,
            extra: Vec::new(),
            local_ip: None,
        }
    }
}

/// A running SIPp; killed on drop, and its message log printed if the test is failing.
pub(crate) struct Sipp {
    child: Child,
    dir: TempDir,
    name: String,
    port: u16,
    media_port: u16,
    tcp: bool,
    status: Option<ExitStatus>,
    local_ip: Ipv4Addr,
}

impl Sipp {
    /// Starts SIPp as a UAS with `scenario`, listening on a free UDP port of 127.0.0.1.
    pub(crate) async fn uas(scenario: Scenario<'_>) -> Result<Sipp> {
        Self::spawn(scenario, &[]).await
    }

    /// Starts SIPp with `scenario` and extra arguments (a UAC passes the remote host first).
    pub(crate) async fn spawn(scenario: Scenario<'_>, extra: &[&str]) -> Result<Sipp> {
        let options = SippOptions {
            extra: extra.iter().map(|&a| a.to_owned()).collect(),
            ..SippOptions::default()
        };
        Self::spawn_with(scenario, &options).await
    }

    /// Starts SIPp with `scenario` as `options` say.
    pub(crate) async fn spawn_with(scenario: Scenario<'_>, options: &SippOptions) -> Result<Sipp> {
        let sipp = require_program(SIPP)?;
        let dir = tempfile::Builder::new().prefix("e2e-sipp-").tempdir()?;
        let local_ip = options.local_ip.unwrap_or(Ipv4Addr::LOCALHOST);
        let port = match (options.tcp, options.local_ip) {
            (true, _) => free_tcp_port()?,
            (false, None) => free_udp_port()?,
            (false, Some(ip)) => free_udp_port_on(ip)?,
        };
        // -rtp_echo also echoes on media_port + 2 (video), so give SIPp a block of its own.
        let (media_port, _) = rtp_block()?;
        let mut command = Command::new(&sipp);
        let name = match scenario {
            Scenario::File(file) => {
                let path = data_dir().join("sipp").join(file);
                if !path.is_file() {
                    bail!("no SIPp scenario {}", path.display());
                }
                command.arg("-sf").arg(path);
                file.to_owned()
            }
            Scenario::BuiltIn(name) => {
                command.arg("-sn").arg(name);
                format!("built-in {name}")
            }
        };
        let screen = File::create(dir.path().join("screen.txt"))?;
        command
            .args(&options.extra)
            .arg("-i")
            .arg(local_ip.to_string())
            .arg("-p")
            .arg(port.to_string())
            .args(["-m", "1"]);
        if options.rtp_echo {
            command.arg("-rtp_echo");
        }
        if options.tcp {
            command.args(["-t", "t1"]);
        }
        command
            .arg("-mp")
            .arg(media_port.to_string())
            .args([
                "-nostdin",
                "-timeout",
                SIPP_GLOBAL_TIMEOUT,
                "-timeout_error",
            ])
            .args(["-trace_err", "-trace_msg", "-message_file"])
            .arg(dir.path().join("messages.log"))
            .arg("-error_file")
            .arg(dir.path().join("errors.log"))
            .current_dir(dir.path())
            // The message log's timestamps are local time: make them UTC, so that a test can
            // compare them with other clocks (see sipp_log).
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(screen.try_clone()?)
            .stderr(screen)
            .kill_on_drop(true);
        let child = command
            .spawn()
            .with_context(|| format!("spawning {}", sipp.display()))?;
        let mut sipp = Sipp {
            child,
            dir,
            name,
            port,
            media_port,
            tcp: options.tcp,
            status: None,
            local_ip,
        };
        sipp.wait_listening().await?;
        Ok(sipp)
    }

    /// Waits until SIPp holds its SIP port (binding it ourselves then fails).
    async fn wait_listening(&mut self) -> Result<()> {
        let protocol = if self.tcp { "TCP" } else { "UDP" };
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "SIPp ({}) exited ({status}) at start:\n{}",
                    self.name,
                    self.report()
                );
            }
            let address = SocketAddr::from((self.local_ip, self.port));
            let held = if self.tcp {
                TcpListener::bind(address).is_err()
            } else {
                UdpSocket::bind(address).is_err()
            };
            if held {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!(
            "SIPp ({}) did not bind {protocol} {}:{} within 5 s",
            self.name,
            self.local_ip,
            self.port
        )
    }

    /// SIPp's SIP port on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// SIPp's RTP echo port on 127.0.0.1.
    pub(crate) fn media_port(&self) -> u16 {
        self.media_port
    }

    /// Waits at most `timeout` for SIPp to exit; on timeout SIPp is killed and this fails.
    pub(crate) async fn wait(&mut self, timeout: Duration) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                self.status = Some(status);
                Ok(status)
            }
            Err(_) => {
                let _ = self.child.kill().await;
                bail!(
                    "SIPp ({}) still running after {timeout:?} (scenario not completed):\n{}",
                    self.name,
                    self.report()
                )
            }
        }
    }

    /// How SIPp exited, once [`Sipp::wait`] saw it exit.
    pub(crate) fn exit_status(&self) -> Option<ExitStatus> {
        self.status
    }

    /// Waits at most `timeout` for SIPp to exit 0 (the scenario completed as written).
    pub(crate) async fn expect_success(&mut self, timeout: Duration) -> Result<()> {
        let status = self.wait(timeout).await?;
        if !status.success() {
            bail!(
                "SIPp ({}) failed: {status} (exit 1 = the call failed in the scenario):\n{}",
                self.name,
                self.report()
            );
        }
        Ok(())
    }

    /// Every SIP message SIPp sent and received so far.
    pub(crate) fn messages(&self) -> String {
        self.read("messages.log")
    }

    /// Every SIP message SIPp sent and received so far, parsed, with its time.
    pub(crate) fn logged(&self) -> Vec<LoggedMessage> {
        sipp_log::parse(&self.messages())
    }

    /// The `nth` (from 1) message SIPp received that `wanted` accepts.
    pub(crate) fn nth_received(
        &self,
        nth: usize,
        wanted: impl Fn(&LoggedMessage) -> bool,
    ) -> Option<LoggedMessage> {
        self.logged()
            .into_iter()
            .filter(|m| !m.sent && wanted(m))
            .nth(nth.checked_sub(1)?)
    }

    /// Waits up to `timeout` for the `nth` (from 1) message SIPp received that `wanted` accepts.
    pub(crate) async fn wait_nth_received(
        &self,
        nth: usize,
        timeout: Duration,
        wanted: impl Fn(&LoggedMessage) -> bool,
    ) -> Result<LoggedMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(m) = self.nth_received(nth, &wanted) {
                return Ok(m);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "SIPp did not receive the awaited message (number {nth}) within {timeout:?}; its messages:\n{}",
                    self.messages()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How many INVITEs SIPp sent so far (a UAS scenario's re-INVITEs).
    pub(crate) fn sent_invites(&self) -> usize {
        self.logged()
            .iter()
            .filter(|m| m.sent && m.is_request("INVITE"))
            .count()
    }

    /// The address SIPp sends from (`-i`).
    pub(crate) fn local_ip(&self) -> IpAddr {
        IpAddr::V4(self.local_ip)
    }

    /// The SIP message log, unexpected-message log and screen, for a failure report.
    pub(crate) fn report(&self) -> String {
        format!(
            "--- SIPp messages ---\n{}\n--- SIPp errors ---\n{}\n--- SIPp screen ---\n{}",
            tail(&self.messages(), 48 * 1024),
            tail(&self.read("errors.log"), 8 * 1024),
            tail(&self.read("screen.txt"), 8 * 1024),
        )
    }

    /// Prints [`Sipp::report`] to stderr.
    pub(crate) fn dump(&self) {
        eprintln!(
            "===== SIPp {} ({}) =====\n{}\n===== end of SIPp =====",
            self.name,
            self.dir.path().display(),
            self.report()
        );
    }

    fn read(&self, file: &str) -> String {
        let path: PathBuf = self.dir.path().join(file);
        std::fs::read_to_string(&path).unwrap_or_default()
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if self.status.is_none() {
            // Best effort: kill_on_drop also reaps it.
            let _ = self.child.start_kill();
        }
        if std::thread::panicking() {
            self.dump();
        }
    }
}

/// A UDP port on `ip` that was free a moment ago.
fn free_udp_port_on(ip: Ipv4Addr) -> Result<u16> {
    let socket = UdpSocket::bind(SocketAddr::from((ip, 0)))
        .with_context(|| format!("binding a UDP port on {ip}"))?;
    Ok(socket.local_addr()?.port())
}
