//! Odoo in the end-to-end tests: gateway-odoo's Odoo 18 double, the gateway keys that point at it,
//! many short calls over a raw WebSocket (no browser: the `answer` comes without ICE and the call
//! is hung up at once), and checks of what Odoo applied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use gateway_odoo::test_server::{Credentials, TestServer};
use serde_json::{Value, json};

use super::gateway::{ALICE_TOKEN, Gateway, GatewayOptions};
use super::ports::{free_udp_port, rtp_block};
use super::ws::WsClient;
use super::{require_program, tail};

/// The events every short call reports: no media, so never `connected`.
pub(crate) const SHORT_CALL_KINDS: [&str; 4] = ["initiating", "ringing", "connecting", "ended"];

/// SIPp's built-in `uas` (180, 200 with PCMU SDP, waits for BYE) for many calls; the harness's
/// [`super::sipp::Sipp`] stops after one call (`-m 1`).
pub(crate) struct ManyCallsUas {
    child: tokio::process::Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl ManyCallsUas {
    /// Starts SIPp on a free UDP port of 127.0.0.1, ending after `calls` calls.
    pub(crate) async fn start(calls: usize) -> Result<ManyCallsUas> {
        let sipp = require_program("/usr/bin/sipp")?;
        let dir = tempfile::Builder::new().prefix("e2e-sipp-uas-").tempdir()?;
        let port = free_udp_port()?;
        let (media_port, _) = rtp_block()?;
        let screen = std::fs::File::create(dir.path().join("screen.txt"))?;
        let child = tokio::process::Command::new(sipp)
            .args(["-sn", "uas", "-i", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .args(["-m", &calls.to_string(), "-mp", &media_port.to_string()])
            .args(["-nostdin", "-timeout", "600s", "-trace_err", "-error_file"])
            .arg(dir.path().join("errors.log"))
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(screen.try_clone()?)
            .stderr(screen)
            .kill_on_drop(true)
            .spawn()
            .context("spawning SIPp")?;
        // SIPp binds its port a moment after it starts: wait until the port is taken.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            if tokio::time::Instant::now() >= deadline {
                bail!("SIPp did not bind 127.0.0.1:{port} within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(ManyCallsUas { child, dir, port })
    }

    /// Its SIP port (the gateway's `sip.proxy`).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for ManyCallsUas {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            let screen =
                std::fs::read_to_string(self.dir.path().join("screen.txt")).unwrap_or_default();
            eprintln!(
                "===== SIPp uas screen =====\n{}\n=====",
                tail(&screen, 8 * 1024)
            );
        }
    }
}

/// Starts the Odoo double with the captures' `gw` database and `admin`/`admin` user.
pub(crate) async fn start_odoo() -> Result<TestServer> {
    TestServer::start(Credentials::default())
        .await
        .context("starting the Odoo test server")
}

/// `[odoo]` pointing at `server_url` as the `admin` user with `api_key`, and `[storage] data_dir`.
pub(crate) fn with_odoo(
    options: GatewayOptions,
    server_url: &str,
    api_key: &str,
    data_dir: &Path,
) -> GatewayOptions {
    let quoted = |text: &str| format!("{text:?}");
    options
        .config_key("odoo.url", &quoted(server_url))
        .config_key("odoo.database", &quoted(&Credentials::default().database))
        .config_key("odoo.login", &quoted(&Credentials::default().login))
        .config_key("odoo.api_key", &quoted(api_key))
        .config_key("odoo.users_from_odoo", "false")
        .config_key("storage.data_dir", &quoted(&data_dir.display().to_string()))
}

/// The API key the double accepts.
pub(crate) fn good_api_key() -> String {
    Credentials::default().secret
}

/// The Chromium 156 audio offer of tests/data/sdp.
fn offer() -> Result<String> {
    super::data_file("sdp/chromium156-audio.sdp")
}

/// Places `n` calls to 600 one after the other as alice, each hung up as soon as its `answer`
/// arrives, and waits for each `ended`; returns the call ids.
pub(crate) async fn short_calls(gateway: &Gateway, n: usize) -> Result<Vec<String>> {
    let sdp = offer()?;
    let mut ws = WsClient::connect(&gateway.ws_url(Some(ALICE_TOKEN))).await?;
    ws.expect_hello().await?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let reference = format!("r{i}");
        ws.send_json(&json!({"type": "call", "ref": reference, "to": "600", "sdp": sdp, "call_type": "audio"}))
            .await?;
        let (answer, _) = ws
            .wait_for("answer", Duration::from_secs(10), |m| {
                m["type"] == "answer" && m["ref"] == reference.as_str()
            })
            .await
            .with_context(|| format!("call {i}"))?;
        let call_id = answer["call_id"]
            .as_str()
            .with_context(|| format!("answer without call_id: {answer}"))?
            .to_owned();
        ws.send_json(&json!({"type": "hangup", "call_id": call_id}))
            .await?;
        ws.wait_for("ended", Duration::from_secs(10), |m| {
            m["type"] == "state" && m["call_id"] == call_id.as_str() && m["state"] == "ended"
        })
        .await
        .with_context(|| format!("call {i} ({call_id})"))?;
        ids.push(call_id);
    }
    Ok(ids)
}

/// Polls until Odoo has applied at least `n` events, within `timeout`.
pub(crate) async fn wait_applied(
    server: &TestServer,
    n: usize,
    timeout: Duration,
) -> Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let applied = server.applied();
        if applied.len() >= n {
            return Ok(applied);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "Odoo applied {} of {n} events within {timeout:?} ({} requests, {} duplicates)",
                applied.len(),
                server.requests(),
                server.duplicates()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The applied events grouped by call, checking that every key is `<call_id>:<seq>` with `seq`
/// counting 0, 1, 2, ... in the order applied (so: in order per call, none missing, none twice).
pub(crate) fn by_call(applied: &[Value]) -> Result<BTreeMap<String, Vec<Value>>> {
    let mut calls: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for event in applied {
        let group = event["group"]
            .as_str()
            .with_context(|| format!("event without group: {event}"))?;
        let events = calls.entry(group.to_owned()).or_default();
        let seq = events.len();
        ensure!(
            event["key"] == format!("{group}:{seq}").as_str() && event["payload"]["seq"] == seq,
            "event {} of call {group} is out of order or repeated: {event}",
            seq
        );
        ensure!(
            event["payload"]["call_id"] == group,
            "payload call_id differs from the group: {event}"
        );
        events.push(event.clone());
    }
    Ok(calls)
}

/// The kinds of a call's events, in order.
pub(crate) fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["kind"].as_str()).collect()
}

/// Checks that exactly the calls `ids` were applied, each with [`SHORT_CALL_KINDS`].
pub(crate) fn expect_short_calls(applied: &[Value], ids: &[String]) -> Result<()> {
    let calls = by_call(applied)?;
    ensure!(
        calls.len() == ids.len() && ids.iter().all(|id| calls.contains_key(id)),
        "Odoo has {} calls, expected the {} placed",
        calls.len(),
        ids.len()
    );
    for (id, events) in &calls {
        ensure!(
            kinds(events) == SHORT_CALL_KINDS,
            "call {id} reported {:?}",
            kinds(events)
        );
    }
    Ok(())
}

/// `webrtc-gateway outbox status` for `data_dir`: (backlog, its whole output).
pub(crate) fn outbox_status(data_dir: &Path) -> Result<(u64, String)> {
    let dir = tempfile::tempdir()?;
    let config: PathBuf = dir.path().join("status.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n",
            data_dir.display().to_string()
        ),
    )?;
    let output = Command::new(env!("CARGO_BIN_EXE_webrtc-gateway"))
        .args(["outbox", "status", "--config"])
        .arg(&config)
        .output()
        .context("running webrtc-gateway outbox status")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "outbox status failed ({}): {}{}",
        output.status,
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    let backlog = text
        .lines()
        .find_map(|l| l.strip_prefix("backlog: "))
        .and_then(|n| n.trim().parse().ok())
        .with_context(|| format!("no backlog line in:\n{text}"))?;
    Ok((backlog, text))
}

/// Polls `outbox status` until the backlog is `n`, within `timeout`.
pub(crate) async fn wait_backlog(data_dir: &Path, n: u64, timeout: Duration) -> Result<String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let (backlog, text) = outbox_status(data_dir)?;
        if backlog == n {
            return Ok(text);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("the outbox backlog stayed at {backlog}, expected {n}:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `/healthz` of the gateway as JSON.
pub(crate) async fn healthz(gateway: &Gateway) -> Result<Value> {
    let (status, body) = gateway.get("/healthz").await?;
    ensure!(status == 200, "/healthz answered {status}: {body}");
    serde_json::from_str(&body).with_context(|| format!("/healthz body: {body}"))
}

/// Polls `/healthz` until `odoo` is `health`, within `timeout`; returns the body.
pub(crate) async fn wait_odoo_health(
    gateway: &Gateway,
    health: &str,
    timeout: Duration,
) -> Result<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let body = healthz(gateway).await?;
        if body["odoo"] == health {
            return Ok(body);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("/healthz odoo did not become {health} within {timeout:?}: {body}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs every event through the addon's own validator (`odoo/mobile_webrtc/lib/gateway_event.py`,
/// `validate_event`), as the real `gateway_report` does: a malformed event is skipped by Odoo.
pub(crate) fn addon_accepts(events: &[Value]) -> Result<()> {
    use std::io::Write as _;
    // `lib` is a package with relative imports; it imports nothing from Odoo.
    let addon = Path::new(env!("CARGO_MANIFEST_DIR")).join("odoo/mobile_webrtc");
    let script = "import json, sys\n\
        sys.path.insert(0, sys.argv[1])\n\
        from lib import gateway_event\n\
        for raw in json.load(sys.stdin):\n\
        \x20   event, reason = gateway_event.validate_event(raw)\n\
        \x20   if reason:\n\
        \x20       print('%s: %s' % (raw.get('key'), reason))\n";
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&addon)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running python3 (apt-get install python3)")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(Value::from(events.to_vec()).to_string().as_bytes())?;
    }
    let output = child.wait_with_output()?;
    let problems = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success() && problems.trim().is_empty(),
        "the addon would refuse events:\n{problems}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
