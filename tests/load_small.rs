//! A small load through the debug gateway (issue 9, "CI runs a small load"): 20 WebRTC calls for
//! 10 s to the built-in echo, placed by the load generator. A correctness check, not a timing
//! check: audio is not lost beyond 0.1 %, and once the calls end the gateway holds no more open
//! files and no RTP port than before.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::gateway::{ALICE_TOKEN, Gateway, GatewayOptions};
use support::load;
use support::ports::free_udp_port;

const CALLS: u64 = 20;

/// RFC 3550 §6.4.1 counts loss as expected minus received; the echo returns every packet sent, so
/// anything missing was dropped by the gateway (or its sockets).
#[tokio::test]
async fn twenty_echo_calls_lose_no_audio_and_leak_nothing() {
    if let Err(e) = scenario().await {
        panic!("{e:#}");
    }
}

async fn scenario() -> Result<()> {
    // Each call takes two port pairs: one toward SIP, one for WebRTC.
    let rtp = load::high_port_block(100)?;
    let options = GatewayOptions::default()
        .log_level("info")
        .config_key("media.rtp_ports", &format!("\"{}-{}\"", rtp.0, rtp.1))
        .config_key("media.sip_codecs", r#"["pcmu"]"#)
        .config_key("sip.max_calls_per_user", "100")
        .config_key("limits.ws_connections_per_ip_per_min", "0");
    let gateway = Gateway::start_with(free_udp_port()?, &options).await?;
    let pid = gateway.pid();
    let fds_before = load::open_fds(pid)?;

    let args: Vec<String> = [
        "--url",
        &gateway.ws_url(None),
        "--token",
        ALICE_TOKEN,
        "--calls",
        &CALLS.to_string(),
        "--rate",
        "10/s",
        "--hold",
        "10s",
        "--number",
        "echo",
        "--codec",
        "pcmu",
        "--gateway-pid",
        &pid.to_string(),
        "--pretty",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let s = load::run(&args, Duration::from_secs(90)).await?;

    load::ensure_all_connected(&s, CALLS)?;
    let sent = s["packets_sent"].as_u64().unwrap_or(0);
    // 20 calls x 50 packets/s for at least the 10 s hold.
    ensure!(sent >= CALLS * 50 * 10, "too few packets sent: {s}");
    let loss = s["loss_pct"].as_f64().unwrap_or(100.0);
    ensure!(loss <= 0.1, "loss {loss} % > 0.1 %: {s}");
    ensure!(
        s["rtt_matching"] == "stamp",
        "passthrough keeps the payload: {s}"
    );

    // Leaks: the generator waited for the gateway's open files to drop back; check it ourselves.
    let mut fds_after = load::open_fds(pid)?;
    for _ in 0..50 {
        if fds_after <= fds_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        fds_after = load::open_fds(pid)?;
    }
    ensure!(
        fds_after <= fds_before,
        "the gateway holds {fds_after} open files after the calls, {fds_before} before"
    );
    let held = load::ports_free(rtp);
    ensure!(
        held.is_empty(),
        "RTP ports still bound after the calls: {held:?}"
    );
    let log = gateway.log();
    let ended = log.lines().filter(|l| l.contains("call ended")).count() as u64;
    ensure!(
        ended == CALLS,
        "{ended} calls logged `call ended`, expected {CALLS}"
    );
    // Twenty healthy calls are worth no warning (rtc-dtls used to warn once per call).
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ")).collect();
    ensure!(
        warnings.is_empty(),
        "warnings in a healthy run: {warnings:#?}"
    );
    let (status, body) = gateway.get("/healthz").await?;
    ensure!(status == 200, "/healthz answered {status}: {body}");
    Ok(())
}
