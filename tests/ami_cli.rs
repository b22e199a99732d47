//! The AMI command line (issue 6, docs/ami.md), the seed's `salt-call asterisk.manager_action` and
//! event spy: `webrtc-gateway ami '{"Action":"Ping"}'` prints Pong (JSON, YAML-like, over the
//! gateway's API or `--direct` to AMI); `webrtc-gateway events --filter Event=Hangup` prints only
//! Hangup events while the AMI test server replays a whole call (asterisk22/11);
//! `webrtc-gateway originate` makes the gateway send the Originate.

mod support;

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use gateway_ami::test_server::{Capture, TestServer};
use serde_json::Value;
use support::ami::{API_KEY, cli, direct_config, start_pbx, wait_ami_state, with_ami};
use support::gateway::{Gateway, GatewayOptions};
use support::ports::free_udp_port;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn ami_events_and_originate_from_the_command_line() {
    let pbx = start_pbx().await.unwrap_or_else(|e| panic!("{e:#}"));
    let options = with_ami(
        GatewayOptions::default().options_interval("0s"),
        &[("pbx", pbx.addr())],
    );
    let gateway = Gateway::start_with(
        free_udp_port().unwrap_or_else(|e| panic!("{e:#}")),
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = scenario(&gateway, &pbx).await {
        panic!("{e:#}");
    }
}

async fn scenario(gateway: &Gateway, pbx: &TestServer) -> Result<()> {
    wait_ami_state(gateway, "pbx", "connected", Duration::from_secs(10)).await?;
    let url = gateway.base_url();
    let ping = r#"{"Action":"Ping"}"#;

    // Over the API, the key from the environment.
    let (ok, out, err) = cli(
        &["ami", "--url", &url, ping],
        &[("WEBRTC_GATEWAY_API_KEY", API_KEY)],
    )
    .await?;
    ensure!(ok, "ami failed: {err}");
    let reply: Value = serde_json::from_str(&out).with_context(|| format!("not JSON: {out}"))?;
    ensure!(reply["response"]["Ping"] == "Pong", "Pong expected: {out}");

    let (ok, out, err) = cli(
        &["ami", "--url", &url, "--api-key", API_KEY, "--yaml", ping],
        &[],
    )
    .await?;
    ensure!(
        ok && out.lines().any(|l| l.trim() == "Ping: Pong"),
        "YAML-like Pong: {out} {err}"
    );

    // Without a key: the gateway's 401 becomes a failure with its message.
    let (ok, _, err) = cli(&["ami", "--url", &url, ping], &[]).await?;
    ensure!(
        !ok && err.contains("401"),
        "no key must fail with the 401: {err}"
    );

    // Straight to AMI.
    let dir = tempfile::tempdir()?;
    let config = direct_config(dir.path(), &[("pbx", pbx.addr())])?;
    let config = config.to_string_lossy();
    let (ok, out, err) = cli(&["ami", "--direct", "--config", &config, ping], &[]).await?;
    ensure!(ok, "ami --direct failed: {err}");
    let reply: Value = serde_json::from_str(&out).with_context(|| format!("not JSON: {out}"))?;
    ensure!(reply["response"]["Ping"] == "Pong", "Pong expected: {out}");

    events_filtered(&url, pbx).await?;

    let mut actions = pbx.actions();
    let (ok, out, err) = cli(
        &[
            "originate",
            "--url",
            &url,
            "--api-key",
            API_KEY,
            "--user",
            "alice",
            "--number",
            "600",
        ],
        &[],
    )
    .await?;
    ensure!(ok, "originate failed: {err}");
    let reply: Value = serde_json::from_str(&out).with_context(|| format!("not JSON: {out}"))?;
    let id = reply["originate_id"]
        .as_str()
        .context("originate_id")?
        .to_owned();
    let originate = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match actions.recv().await {
                Ok(a) if a.get("Action") == Some("Originate") => return Ok(a),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .context("no Originate within 5 s")??;
    ensure!(
        originate.get("ActionID") == Some(id.as_str())
            && originate.get("Channel") == Some("PJSIP/alice@gateway")
            && originate.get("Exten") == Some("600"),
        "the Originate of the CLI's click-to-call: {originate:?}"
    );
    Ok(())
}

/// `events --filter Event=Hangup` as a child: a replayed call, then a marker Hangup; every printed
/// line is a Hangup, and both Hangups are there.
async fn events_filtered(url: &str, pbx: &TestServer) -> Result<()> {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_webrtc-gateway"))
        .args([
            "events",
            "--url",
            url,
            "--api-key",
            API_KEY,
            "--filter",
            "Event=Hangup",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("spawning webrtc-gateway events")?;
    let mut stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let mut stderr = BufReader::new(child.stderr.take().context("stderr")?).lines();
    let ready = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = stderr.next_line().await? {
            if line.starts_with("listening to pbx") {
                return Ok(());
            }
        }
        bail!("events exited before subscribing")
    })
    .await
    .context("events did not subscribe within 10 s")?;
    ready?;

    pbx.inject_capture(Capture::CallTo600);
    let mut marker = Capture::CallTo600
        .events()
        .into_iter()
        .find(|e| e.event() == Some("Hangup"))
        .context("the capture has a Hangup")?;
    marker.set("Uniqueid", "marker");
    pbx.inject_event(marker);

    let mut printed = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = stdout.next_line().await? {
            let v: Value =
                serde_json::from_str(&line).with_context(|| format!("not JSON: {line}"))?;
            let done = v["event"]["Uniqueid"] == "marker";
            printed.push(v);
            if done {
                return Ok(());
            }
        }
        bail!("events exited early")
    })
    .await;
    let _ = child.kill().await;
    read.with_context(|| {
        format!("the marker Hangup was not printed within 10 s; got {printed:?}")
    })??;
    ensure!(
        printed.len() == 2
            && printed
                .iter()
                .all(|v| v["server"] == "pbx" && v["event"]["Event"] == "Hangup"),
        "only the two Hangups: {printed:?}"
    );
    Ok(())
}
