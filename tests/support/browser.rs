//! Headless Chromium driven through chromedriver (WebDriver, via fantoccini), with a fake
//! microphone playing a 1 kHz tone and `tests/data/client.js` injected into the page.
//!
//! One browser at a time per test binary (a global async mutex): the CI machine has 2 cores and
//! a second Chromium would starve the media paths under test.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::{Mutex, MutexGuard};

use super::ports::{free_tcp_port, loopback};
use super::tone::write_tone_wav;
use super::{data_file, require_program, tail};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Bound on any single WebDriver command, so a stuck browser fails the test instead of hanging it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(45);

static ONE_BROWSER_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A headless Chromium session; chromedriver and Chromium are killed on drop.
pub(crate) struct Browser {
    client: Option<Client>,
    driver: Child,
    dir: TempDir,
    _turn: MutexGuard<'static, ()>,
}

impl Browser {
    /// Waits for this test binary's browser turn, then starts chromedriver and Chromium.
    pub(crate) async fn launch() -> Result<Browser> {
        let turn = ONE_BROWSER_AT_A_TIME.lock().await;
        let chromium = require_program(CHROMIUM)?;
        let chromedriver = require_program(CHROMEDRIVER)?;
        let dir = tempfile::Builder::new().prefix("e2e-browser-").tempdir()?;
        let tone = dir.path().join("tone-1khz-6dbfs.wav");
        write_tone_wav(&tone, 1000.0, -6.0, 3)?;
        let port = free_tcp_port()?;
        let output = File::create(dir.path().join("chromedriver.out"))?;
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                dir.path().join("chromedriver.log").display()
            ))
            .arg("--enable-chrome-logs")
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            // Its own process group, so that Drop can kill Chromium along with it.
            .process_group(0)
            .spawn()
            .with_context(|| format!("spawning {}", chromedriver.display()))?;
        let mut browser = Browser {
            client: None,
            driver,
            dir,
            _turn: turn,
        };
        browser.wait_driver(port).await?;
        let capabilities = capabilities(&chromium, &tone, browser.dir.path());
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(capabilities);
        let url = format!("http://127.0.0.1:{port}");
        let client = tokio::time::timeout(COMMAND_TIMEOUT, builder.connect(&url))
            .await
            .map_err(|_| anyhow!("Chromium did not start within {COMMAND_TIMEOUT:?}"))?
            .map_err(|e| {
                anyhow!(
                    "starting Chromium through chromedriver: {e}\n{}",
                    browser.driver_log()
                )
            })?;
        browser.client = Some(client);
        Ok(browser)
    }

    async fn wait_driver(&mut self, port: u16) -> Result<()> {
        for _ in 0..200 {
            if let Some(status) = self.driver.try_wait()? {
                bail!(
                    "chromedriver exited ({status}) at start:\n{}",
                    self.driver_log()
                );
            }
            if tokio::net::TcpStream::connect(loopback(port)).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("chromedriver did not listen on 127.0.0.1:{port} within 10 s")
    }

    fn client(&self) -> Result<&Client> {
        self.client
            .as_ref()
            .context("the browser session is closed")
    }

    /// The WebDriver session itself, for what [`Browser::eval`] cannot do: real clicks, the
    /// window size, screenshots (tests/support/page.rs).
    pub(crate) fn webdriver(&self) -> Result<&Client> {
        self.client()
    }

    /// Navigates to `url` (http://127.0.0.1:..., a secure context) and injects the test client.
    pub(crate) async fn open(&self, url: &str) -> Result<()> {
        let client = self.client()?;
        tokio::time::timeout(COMMAND_TIMEOUT, client.goto(url))
            .await
            .map_err(|_| anyhow!("loading {url} took more than {COMMAND_TIMEOUT:?}"))?
            .map_err(|e| anyhow!("loading {url}: {e}"))?;
        let script = data_file("client.js")?;
        self.eval(&script, vec![]).await?;
        let ready = self
            .eval("return typeof window.__gw === 'object';", vec![])
            .await?;
        if ready != Value::Bool(true) {
            bail!("tests/data/client.js did not define window.__gw");
        }
        Ok(())
    }

    /// Runs `script` as a function body (`arguments[i]` = `args[i]`); a returned Promise is awaited.
    pub(crate) async fn eval(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        let client = self.client()?;
        tokio::time::timeout(COMMAND_TIMEOUT, client.execute(script, args))
            .await
            .map_err(|_| {
                anyhow!(
                    "script took more than {COMMAND_TIMEOUT:?}: {}",
                    first_line(script)
                )
            })?
            .map_err(|e| anyhow!("script failed: {e}: {}", first_line(script)))
    }

    /// Everything the test client recorded: server messages, notes, timing.
    pub(crate) async fn client_state(&self) -> Result<Value> {
        self.eval(
            "return window.__gw ? {events: window.__gw.events, log: window.__gw.log, timing: window.__gw.timing} : null;",
            vec![],
        )
        .await
    }

    /// Prints the client's recorded state and the end of chromedriver's log to stderr.
    pub(crate) async fn dump(&self) {
        let state = match self.client_state().await {
            Ok(state) => serde_json::to_string_pretty(&state).unwrap_or_default(),
            Err(e) => format!("<unavailable: {e}>"),
        };
        eprintln!(
            "===== browser test client state =====\n{state}\n===== chromedriver log (end) =====\n{}\n===== end of browser =====",
            tail(&self.driver_log(), 16 * 1024)
        );
    }

    fn driver_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default()
    }

    /// Ends the WebDriver session (Chromium exits), then stops chromedriver.
    pub(crate) async fn close(mut self) -> Result<()> {
        if let Some(client) = self.client.take() {
            tokio::time::timeout(COMMAND_TIMEOUT, client.close())
                .await
                .map_err(|_| anyhow!("closing Chromium took more than {COMMAND_TIMEOUT:?}"))?
                .map_err(|e| anyhow!("closing Chromium: {e}"))?;
        }
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.driver.id()) {
            // SAFETY: kill(2) with a negative pid signals the process group chromedriver leads
            // (spawned with process_group(0)): chromedriver and the Chromium it started.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.driver.wait();
    }
}

/// WebDriver capabilities: headless Chromium with fake media devices and a fresh profile.
fn capabilities(chromium: &Path, tone: &Path, dir: &Path) -> serde_json::Map<String, Value> {
    let args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--use-fake-device-for-media-stream".to_owned(),
        "--use-fake-ui-for-media-stream".to_owned(),
        "--allow-loopback-in-peer-connection".to_owned(),
        "--autoplay-policy=no-user-gesture-required".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--disable-breakpad".to_owned(),
        "--disable-crash-reporter".to_owned(),
        format!("--user-data-dir={}", dir.join("profile").display()),
        format!("--use-file-for-fake-audio-capture={}", tone.display()),
    ];
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium.display().to_string(), "args": args },
        "timeouts": { "script": 40_000, "pageLoad": 20_000 },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

fn first_line(script: &str) -> &str {
    script.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
}
