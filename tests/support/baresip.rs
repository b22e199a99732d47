//! baresip (Debian package `baresip-core`) as a real SIP phone on 127.0.0.1: configured from
//! tests/data/baresip/ (a WAV tone as its microphone, what it receives recorded by `sndfile`),
//! dialling one URI at start (`-e "/dial <uri>"`). It hangs up when the tone file ends.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use super::ports::{free_udp_port, rtp_block};
use super::tone::write_tone_wav_at;
use super::{data_file, tail};

/// Where the Debian package `baresip-core` installs baresip.
const BARESIP: &str = "/usr/bin/baresip";
/// The modules the configuration loads, all from `baresip-core`.
const MODULES: &str = "/usr/lib/baresip/modules";
/// The tone baresip sends: 440 Hz, so it cannot be mistaken for the browser's 1 kHz.
pub(crate) const BARESIP_TONE_HZ: f64 = 440.0;

/// A running baresip; killed on drop, and its output printed if the test is failing.
pub(crate) struct Baresip {
    child: Child,
    dir: TempDir,
    sip_port: u16,
    status: Option<ExitStatus>,
}

impl Baresip {
    /// Starts baresip dialling `uri`, sending a `tone_seconds` long tone (the call lasts that
    /// long once answered), quitting after `quit_after` whatever happens (`-t`).
    pub(crate) fn dial(uri: &str, tone_seconds: u32, quit_after: Duration) -> Result<Baresip> {
        let baresip = PathBuf::from(BARESIP);
        if !baresip.is_file() || !Path::new(MODULES).join("aufile.so").is_file() {
            bail!(
                "{BARESIP} or its modules in {MODULES} are missing: the end-to-end tests need them. \
                 Install them with `apt-get install baresip-core`"
            );
        }
        let dir = tempfile::Builder::new().prefix("e2e-baresip-").tempdir()?;
        let config_dir = dir.path().join("config");
        let recordings = dir.path().join("recordings");
        std::fs::create_dir_all(&config_dir)?;
        std::fs::create_dir_all(&recordings)?;
        let tone = dir.path().join("tone-440hz-6dbfs-8khz.wav");
        write_tone_wav_at(&tone, 8000, BARESIP_TONE_HZ, -6.0, tone_seconds)?;
        let sip_port = free_udp_port()?;
        let (rtp_first, rtp_last) = rtp_block()?;
        let fill = |template: &str| {
            template
                .replace("{sip_port}", &sip_port.to_string())
                .replace("{rtp_first}", &rtp_first.to_string())
                .replace("{rtp_last}", &rtp_last.to_string())
                .replace("{tone}", &tone.display().to_string())
                .replace("{recordings}", &recordings.display().to_string())
        };
        std::fs::write(
            config_dir.join("config"),
            fill(&data_file("baresip/config")?),
        )?;
        std::fs::write(
            config_dir.join("accounts"),
            fill(&data_file("baresip/accounts")?),
        )?;
        let output = File::create(dir.path().join("baresip.log"))?;
        let child = Command::new(&baresip)
            .arg("-f")
            .arg(&config_dir)
            .arg("-e")
            .arg(format!("/dial {uri}"))
            .arg("-t")
            .arg(quit_after.as_secs().max(1).to_string())
            // SIP trace in its output, for failure reports.
            .arg("-s")
            // baresip looks for files under $HOME when -f is incomplete: keep it in the temp dir.
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .process_group(0)
            .spawn()
            .with_context(|| format!("spawning {}", baresip.display()))?;
        Ok(Baresip {
            child,
            dir,
            sip_port,
            status: None,
        })
    }

    /// baresip's SIP port on 127.0.0.1.
    pub(crate) fn sip_port(&self) -> u16 {
        self.sip_port
    }

    /// Asks baresip to quit (SIGTERM: it hangs up and closes its recordings), then waits at most
    /// `timeout` for it to exit.
    pub(crate) async fn quit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        if self.status.is_none()
            && let Ok(pid) = i32::try_from(self.child.id())
        {
            // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet
            // (status is None), so the pid cannot have been reused.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        self.wait(timeout).await
    }

    /// How baresip exited, if it has.
    pub(crate) fn exited(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }

    /// Waits at most `timeout` for baresip to exit.
    pub(crate) async fn wait(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.status {
                return Ok(status);
            }
            if let Some(status) = self.child.try_wait()? {
                self.status = Some(status);
                return Ok(status);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "baresip still running after {timeout:?}; its output:\n{}",
                    tail(&self.log(), 16 * 1024)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The recording of what baresip received (sndfile's `*-dec.wav`), once it exists.
    pub(crate) fn received_recording(&self) -> Result<Option<PathBuf>> {
        self.recording("-dec.wav")
    }

    /// The recording of what baresip sent (sndfile's `*-enc.wav`), once it exists.
    pub(crate) fn sent_recording(&self) -> Result<Option<PathBuf>> {
        self.recording("-enc.wav")
    }

    fn recording(&self, suffix: &str) -> Result<Option<PathBuf>> {
        let mut found = None;
        for entry in std::fs::read_dir(self.dir.path().join("recordings"))? {
            let path = entry?.path();
            if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
            {
                found = Some(path);
            }
        }
        Ok(found)
    }

    /// Everything baresip printed so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("baresip.log"))
            .unwrap_or_else(|e| format!("<no log: {e}>"))
    }

    /// Prints the end of baresip's output to stderr.
    pub(crate) fn dump(&self) {
        eprintln!(
            "===== baresip ({}) =====\n{}\n===== end of baresip =====",
            self.dir.path().display(),
            tail(&self.log(), 32 * 1024)
        );
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        if self.status.is_none() {
            // Best effort: it may have exited already.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            self.dump();
        }
    }
}
