//! coturn (the Debian package's `/usr/bin/turnserver`) on 127.0.0.1 for the TURN tests: TURN REST
//! credentials (`use-auth-secret`), loopback peers allowed, a relay port block of its own, its log
//! on stdout captured into a temp dir. Configured from `tests/data/coturn/turnserver.conf`.

use std::fs::File;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use super::ports::{free_udp_tcp_port, loopback, rtp_block};
use super::{data_file, require_program, tail};

const TURNSERVER: &str = "/usr/bin/turnserver";

/// A running coturn; killed on drop, and its log printed if the test is failing.
pub(crate) struct Coturn {
    child: Child,
    dir: TempDir,
    port: u16,
    secret: String,
}

impl Coturn {
    /// Starts coturn on a free port of 127.0.0.1 with `static-auth-secret = secret`.
    pub(crate) async fn start(secret: &str) -> Result<Coturn> {
        let turnserver = require_program(TURNSERVER)?;
        let dir = tempfile::Builder::new().prefix("e2e-coturn-").tempdir()?;
        let port = free_udp_tcp_port()?;
        let (min_port, max_port) = rtp_block()?;
        let config = data_file("coturn/turnserver.conf")?
            .replace("{port}", &port.to_string())
            .replace("{min_port}", &min_port.to_string())
            .replace("{max_port}", &max_port.to_string())
            .replace("{secret}", secret)
            .replace("{dir}", &dir.path().display().to_string());
        let config_path = dir.path().join("turnserver.conf");
        std::fs::write(&config_path, config)?;
        let log = File::create(dir.path().join("turnserver.log"))?;
        let child = Command::new(&turnserver)
            .arg("-c")
            .arg(&config_path)
            .args(["--log-file", "stdout"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawning {}", turnserver.display()))?;
        let mut coturn = Coturn {
            child,
            dir,
            port,
            secret: secret.to_owned(),
        };
        coturn.wait_listening().await?;
        Ok(coturn)
    }

    /// Waits until coturn holds its UDP port (binding it ourselves then fails).
    async fn wait_listening(&mut self) -> Result<()> {
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait()? {
                bail!("coturn exited ({status}) at start:\n{}", self.log());
            }
            if std::net::UdpSocket::bind(loopback(self.port)).is_err() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!(
            "coturn did not bind UDP 127.0.0.1:{} within 10 s:\n{}",
            self.port,
            self.log()
        )
    }

    /// Its listening port (UDP and TCP) on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// `turn:127.0.0.1:<port>?transport=udp`.
    pub(crate) fn turn_url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=udp", self.port)
    }

    /// `stun:127.0.0.1:<port>` (coturn answers Binding requests too).
    pub(crate) fn stun_url(&self) -> String {
        format!("stun:127.0.0.1:{}", self.port)
    }

    /// The shared secret of its TURN REST credentials.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// Everything coturn logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("turnserver.log"))
            .unwrap_or_else(|e| format!("<no log: {e}>"))
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "===== coturn log ({}) =====\n{}\n===== end of coturn log =====",
                self.dir.path().display(),
                tail(&self.log(), 32 * 1024)
            );
        }
    }
}
