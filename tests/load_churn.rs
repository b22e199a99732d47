//! The soak in miniature (issue 9, point 6; the full one is `scripts/soak`): calls through the
//! debug gateway to the built-in echo that come and go on their own (the load generator's churn
//! mode, `--call-duration`), over an RTP port range small enough that the allocator wraps around
//! twice. Once they have all ended the gateway holds no more open files, threads, calls,
//! WebSocket sessions or RTP ports than before, and every hangup was answered by `ended`.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::gateway::{ALICE_TOKEN, Gateway, GatewayOptions};
use support::load;
use support::ports::free_udp_port;

const CALLS: u64 = 20;

#[tokio::test]
async fn churned_calls_leave_nothing_behind() {
    if let Err(e) = scenario().await {
        panic!("{e:#}");
    }
}

async fn scenario() -> Result<()> {
    // 20 pairs; each call takes two (SIP side, WebRTC) and about 6 calls are up at a time, so the
    // 40 leases of the run go twice round the range: one never given back would fail a call.
    let rtp = load::high_port_block(40)?;
    let range = format!("{}-{}", rtp.0, rtp.1);
    let options = GatewayOptions::default()
        .log_level("info")
        .config_key("media.rtp_ports", &format!("\"{range}\""))
        .config_key("media.sip_codecs", r#"["pcmu"]"#)
        .config_key("sip.max_calls_per_user", "100")
        .config_key("limits.ws_connections_per_ip_per_min", "0");
    let gateway = Gateway::start_with(free_udp_port()?, &options).await?;
    let pid = gateway.pid().to_string();
    let args: Vec<String> = [
        "--url",
        &gateway.ws_url(None),
        "--token",
        ALICE_TOKEN,
        "--calls",
        &CALLS.to_string(),
        "--rate",
        "5/s",
        "--call-duration",
        "1s",
        "--sample-interval",
        "1s",
        "--rtp-ports",
        &range,
        "--number",
        "echo",
        "--codec",
        "pcmu",
        "--gateway-pid",
        &pid,
        "--pretty",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let s = load::run(&args, Duration::from_secs(90)).await?;

    load::ensure_all_connected(&s, CALLS)?;
    ensure!(
        s["packets_received"].as_u64().unwrap_or(0) > 0,
        "no audio came back: {s}"
    );
    let churn = &s["churn"];
    ensure!(
        churn["problems"].as_array().is_some_and(|p| p.is_empty()),
        "leak checks failed: {}",
        churn["problems"]
    );
    ensure!(churn["hangups_without_ended"] == 0, "stuck calls: {churn}");
    ensure!(
        churn["after"]["calls_active"] == 0,
        "calls_active after the run: {churn}"
    );
    ensure!(
        churn["timeline"].as_array().is_some_and(|t| t.len() >= 4),
        "the gateway should have been sampled every second: {churn}"
    );
    let log = gateway.log();
    let ended = log.lines().filter(|l| l.contains("call ended")).count() as u64;
    ensure!(
        ended == CALLS,
        "{ended} calls logged `call ended`, expected {CALLS}"
    );
    Ok(())
}
