//! A SIP scanner burst (issue 8): SIPp on 127.0.0.2, which is not Asterisk, sends OPTIONS and
//! INVITEs at 200 calls/s (`scanner_options_invite.xml`, 800 requests) while a WebSocket call
//! from 127.0.0.1 goes on. The scanner's first requests are answered 403 (RFC 3261 §21.4.4),
//! the rest throttled, then the source is blocked with one log line; no INVITE reaches a user's
//! device or Asterisk, and the legitimate call is answered.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use support::gateway::{ALICE_TOKEN, Gateway, GatewayOptions};
use support::sipp::{Scenario, Sipp};
use support::ws::{WsClient, WsEvent};
use tokio::process::Command;

const BLOCK_LINE: &str = "SIP source exceeds the request rate; blocked";

#[tokio::test]
async fn scanner_burst_is_refused_throttled_and_blocked_while_a_call_connects() {
    let asterisk = Sipp::uas(Scenario::File("uas_echo_pcmu.xml"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    // Trunk mode: an INVITE to sip:alice@<gateway> from Asterisk would ring alice's devices.
    let options = GatewayOptions::default().trunk(true);
    let gateway = Gateway::start_with(asterisk.port(), &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&gateway, &asterisk).await;
    if outcome.is_err() {
        gateway.dump();
        asterisk.dump();
    }
    outcome.unwrap_or_else(|e| panic!("{e:#}"));
}

/// Every JSON message of `ws` until it is quiet for `quiet`.
async fn drain(ws: &mut WsClient, quiet: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(WsEvent::Json(v)) = ws.next_event(quiet).await {
        out.push(v);
    }
    out
}

async fn scenario(gateway: &Gateway, asterisk: &Sipp) -> Result<()> {
    let mut device = WsClient::connect(&gateway.ws_url(Some(ALICE_TOKEN))).await?;
    device.expect_hello().await?;
    let mut caller = WsClient::connect(&gateway.ws_url(Some(ALICE_TOKEN))).await?;
    caller.expect_hello().await?;

    let sipp = support::require_program("/usr/bin/sipp")?;
    let dir = tempfile::Builder::new().prefix("e2e-scanner-").tempdir()?;
    let scenario = support::data_dir().join("sipp/scanner_options_invite.xml");
    let mut scanner = Command::new(sipp)
        .arg("-sf")
        .arg(&scenario)
        .args(["-i", "127.0.0.2", "-p", "0", "-r", "200", "-m", "400"])
        .args(["-nostdin", "-timeout", "30s", "-trace_msg", "-message_file"])
        .arg(dir.path().join("messages.log"))
        .arg(format!("127.0.0.1:{}", gateway.sip_port()))
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("spawning SIPp as the scanner")?;

    // The legitimate call, during the burst.
    let sdp = support::data_file("sdp/chromium156-audio.sdp")?;
    caller
        .send_json(
            &json!({"type": "call", "ref": "legit", "to": "600", "sdp": sdp, "call_type": "audio"}),
        )
        .await?;
    caller
        .wait_for("answer", Duration::from_secs(10), |m| {
            m["type"] == "answer" && m["ref"] == "legit"
        })
        .await
        .context("the legitimate call during the scan")?;

    tokio::time::timeout(Duration::from_secs(40), scanner.wait())
        .await
        .context("the scanner did not finish within 40 s")??;

    let scanned = std::fs::read_to_string(dir.path().join("messages.log")).unwrap_or_default();
    let sent = scanned.matches("message sent").count();
    // SIPp logs each message in an entry of its own, headed "UDP message received"; a response
    // its scenario did not expect is logged a second time, headed "Unexpected UDP message".
    let forbidden = scanned
        .split("-----------------------------------------------")
        .filter(|e| {
            e.contains("message received")
                && !e.contains("Unexpected")
                && e.contains("SIP/2.0 403 Forbidden")
        })
        .count();
    eprintln!("[sip_scanner] scanner sent {sent} requests, received {forbidden} 403s");
    ensure!(sent >= 700, "the scanner sent only {sent} requests");
    ensure!(forbidden >= 1, "no 403 reached the scanner");
    // 40 requests of burst plus the refill (20/s) until the block, about 0.3 s in.
    ensure!(
        forbidden <= 100,
        "{forbidden} answers: the rate limit should have dropped most of the burst"
    );
    ensure!(
        !scanned.contains("SIP/2.0 100") && !scanned.contains("SIP/2.0 200"),
        "the scanner got something other than 403"
    );

    let seen: Vec<Value> = drain(&mut device, Duration::from_millis(500))
        .await
        .into_iter()
        .chain(drain(&mut caller, Duration::from_millis(100)).await)
        .collect();
    let incoming = seen.iter().filter(|m| m["type"] == "incoming").count();
    ensure!(
        incoming == 0,
        "{incoming} incoming calls reached alice: {seen:?}"
    );

    let invites_at_asterisk = asterisk.messages().matches("INVITE sip:").count();
    ensure!(
        invites_at_asterisk >= 1 && !asterisk.messages().contains("friendly-scanner"),
        "Asterisk should see the legitimate INVITE and nothing of the scanner"
    );

    let log = gateway.log();
    let blocks = log.matches(BLOCK_LINE).count();
    ensure!(blocks == 1, "expected one block log line, found {blocks}");
    ensure!(
        log.lines()
            .any(|l| l.contains(BLOCK_LINE) && l.contains("127.0.0.2")),
        "the block line should name 127.0.0.2"
    );
    ensure!(!log.contains("panicked"), "the gateway panicked");

    // The metric agrees with what the scanner saw.
    let (status, metrics) = gateway.get("/metrics").await?;
    ensure!(status == 200, "/metrics answered {status}");
    let value = |name: &str| -> Result<f64> {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .with_context(|| format!("{name} missing from /metrics"))?;
        Ok(line[name.len() + 1..].trim().parse()?)
    };
    let blocks = value("webrtc_gateway_sip_blocks_total")?;
    let throttled = value("webrtc_gateway_sip_throttled_total")?;
    let dropped = value("webrtc_gateway_sip_blocked_dropped_total")?;
    let refused = value("webrtc_gateway_sip_forbidden_total")?;
    eprintln!(
        "[sip_scanner] metrics: {blocks} blocks, {throttled} throttled, {dropped} dropped while blocked, {refused} forbidden"
    );
    ensure!(blocks == 1.0, "sip_blocks_total = {blocks}");
    ensure!(
        refused == forbidden as f64,
        "sip_forbidden_total = {refused}, the scanner received {forbidden} 403s"
    );
    ensure!(
        throttled + dropped + refused >= sent as f64,
        "every scanner request is counted somewhere: {throttled} + {dropped} + {refused} < {sent}"
    );
    Ok(())
}
