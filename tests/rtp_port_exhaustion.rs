//! Issue 8, point 4: exhausting the RTP port range refuses new calls cleanly without harming the
//! call in progress. The range holds two port pairs, exactly what one call takes (one pair toward
//! SIP, one for WebRTC). While the load generator's DTLS-SRTP client holds a call to SIPp's RTP
//! echo, a second browser call gets `unavailable` + `ended` 503 and sends no INVITE, and an
//! INVITE from Asterisk gets 503 without ringing. Meanwhile a stranger on Asterisk's own address
//! sprays RTP at the call's SIP-side port (RTP bleed, point 5): the gateway latched onto SIPp's
//! source and drops it. The first call loses no audio and receives nothing it did not send; once
//! it ends its ports serve the next call.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::json;
use support::gateway::{ALICE_TOKEN, Gateway, GatewayOptions};
use support::load;
use support::sipp::{Scenario, Sipp, SippOptions};
use support::ws::WsClient;

#[tokio::test]
async fn a_full_port_range_refuses_new_calls_and_keeps_the_call_in_progress() {
    let asterisk = Sipp::uas(Scenario::File("uas_echo_pcmu.xml"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let block = load::high_port_block(6).unwrap_or_else(|e| panic!("{e:#}"));
    let first = block.0 + block.0 % 2;
    // Trunk mode: Asterisk's INVITE for `alice` rings alice's devices (no registration).
    let options = GatewayOptions::default()
        .trunk(true)
        .config_key("media.rtp_ports", &format!("\"{}-{}\"", first, first + 3))
        .config_key("media.sip_codecs", r#"["pcmu"]"#);
    let gateway = Gateway::start_with(asterisk.port(), &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = scenario(&gateway, &asterisk).await {
        gateway.dump();
        asterisk.dump();
        panic!("{e:#}");
    }
}

async fn active_calls(gateway: &Gateway) -> Result<String> {
    let (_, metrics) = gateway.get("/metrics").await?;
    Ok(metrics
        .lines()
        .filter(|l| l.starts_with("webrtc_gateway_calls_active{"))
        .collect::<Vec<_>>()
        .join(", "))
}

async fn scenario(gateway: &Gateway, asterisk: &Sipp) -> Result<()> {
    // A device of alice, for the refused calls (and to be rung by Asterisk's INVITE).
    let mut device = WsClient::connect(&gateway.ws_url(Some(ALICE_TOKEN))).await?;
    device.expect_hello().await?;

    // The call in progress: one DTLS-SRTP client with real audio, 10 s, through SIPp's echo.
    let args: Vec<String> = [
        "--url",
        &gateway.ws_url(None),
        "--token",
        ALICE_TOKEN,
        "--calls",
        "1",
        "--hold",
        "10s",
        "--number",
        "600",
        "--codec",
        "pcmu",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let in_progress = tokio::spawn(async move { load::run(&args, Duration::from_secs(60)).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !active_calls(gateway)
        .await?
        .contains("direction=\"outbound\"} 1")
    {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the first call did not start: {}",
            active_calls(gateway).await?
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // RTP bleed: 200 packets from another port of Asterisk's address, at the SIP-side port the
    // gateway put in its INVITE.
    let invite = asterisk.messages();
    let port: u16 = invite
        .lines()
        .find_map(|l| l.trim().strip_prefix("m=audio "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .context("no m=audio port in the INVITE SIPp received")?;
    let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    for seq in 0..200u16 {
        let mut packet = vec![0x80, 0x00];
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        packet.extend_from_slice(&0xBAD0_BEEFu32.to_be_bytes());
        packet.extend_from_slice(&[0x55; 160]);
        stranger.send_to(&packet, ("127.0.0.1", port)).await?;
        if seq % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // A second browser call: refused with a reason, nothing sent to SIP.
    let invites_before = asterisk.messages().matches("INVITE sip:").count();
    let sdp = support::data_file("sdp/chromium156-audio.sdp")?;
    device
        .send_json(&json!({"type": "call", "ref": "second", "to": "601", "sdp": sdp, "call_type": "audio"}))
        .await?;
    let (error, _) = device
        .wait_for("unavailable", Duration::from_secs(10), |m| {
            m["type"] == "error" && m["ref"] == "second"
        })
        .await?;
    ensure!(
        error["code"] == "unavailable"
            && error["message"]
                .as_str()
                .is_some_and(|m| m.contains("port range exhausted")),
        "the refusal should say why: {error}"
    );
    let (ended, _) = device
        .wait_for("ended", Duration::from_secs(10), |m| {
            m["type"] == "state" && m["state"] == "ended" && m["ref"] == "second"
        })
        .await?;
    ensure!(ended["sip_code"] == 503, "ended with 503: {ended}");

    // Asterisk calls alice: 503 without ringing (the scenario exits 0 only for that).
    let mut caller = Sipp::spawn_with(
        Scenario::File("uac_inbound_503.xml"),
        &SippOptions {
            rtp_echo: false,
            extra: vec![
                format!("127.0.0.1:{}", gateway.sip_port()),
                "-s".to_owned(),
                "alice".to_owned(),
            ],
            ..SippOptions::default()
        },
    )
    .await?;
    caller
        .expect_success(Duration::from_secs(15))
        .await
        .context("Asterisk's INVITE should get 503")?;
    let rung = device
        .wait_for("incoming", Duration::from_millis(300), |m| {
            m["type"] == "incoming"
        })
        .await;
    ensure!(
        rung.is_err(),
        "the refused INVITE rang the device: {rung:?}"
    );

    // The call in progress was not harmed.
    let summary = in_progress.await.context("the load task")??;
    eprintln!("[rtp_port_exhaustion] call in progress: {summary}");
    load::ensure_all_connected(&summary, 1).context("the call in progress")?;
    let sent = summary["packets_sent"].as_u64().unwrap_or(0);
    ensure!(sent >= 450, "too few packets sent: {summary}");
    let loss = summary["loss_pct"].as_f64().unwrap_or(100.0);
    ensure!(loss <= 0.1, "the call in progress lost {loss} %: {summary}");
    let received = summary["packets_received"].as_u64().unwrap_or(u64::MAX);
    ensure!(
        received <= sent && summary["duplicates"] == 0,
        "the stranger's RTP reached the browser leg ({received} received, {sent} sent): {summary}"
    );
    let invites = asterisk.messages().matches("INVITE sip:").count();
    ensure!(
        invites == invites_before,
        "the refused call sent an INVITE ({invites_before} -> {invites})"
    );
    ensure!(
        gateway.log().contains("RTP port range exhausted"),
        "the refusal should be logged"
    );

    // The first call's ports went back to the range: the built-in echo can take them.
    device
        .send_json(&json!({"type": "call", "ref": "after", "to": "echo", "sdp": sdp, "call_type": "audio"}))
        .await?;
    device
        .wait_for("the answer after", Duration::from_secs(10), |m| {
            m["ref"] == "after" && (m["type"] == "answer" || m["type"] == "error")
        })
        .await
        .and_then(|(m, _)| {
            ensure!(m["type"] == "answer", "the call after the first ended: {m}");
            Ok(())
        })?;
    Ok(())
}
