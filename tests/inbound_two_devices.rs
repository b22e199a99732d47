//! A phone calls a browser user (issue 3), trunk mode: Asterisk (SIPp `uac_inbound_pcmu_bye`,
//! the INVITE of tests/data/asterisk22/ladder-inbound-originate-gw.txt) calls
//! `sip:alice@<gateway>` while alice has two devices connected. Both ring (`incoming`), the
//! gateway sends 180 (RFC 3261 section 13.3.1.1); device A accepts with its offer, device B gets
//! `ended` / `answered_elsewhere`; SIPp gets the 200 with an SDP answer (section 13.3.1.4) and
//! ACKs; the audio SIPp echoes reaches device A; SIPp hangs up (BYE, section 15.1.2) and device
//! A gets `ended`. Prints the ringing latency: SIPp's INVITE to `incoming` in each device.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::gateway::GatewayOptions;
use support::inbound::{InboundRig, first, invite_to_response_ms, ms};
use support::sipp::SippOptions;

/// incoming on A and B -> A accepts -> B answered_elsewhere -> 180/200/ACK -> echo energy in A
/// -> SIPp's BYE -> A ended.
#[tokio::test]
async fn both_devices_ring_the_first_to_accept_takes_the_call() {
    let rig = InboundRig::start(
        &GatewayOptions::default()
            .trunk(true)
            // Logs each SIP datagram's arrival: the start of the ringing latency.
            .log_level("debug,gateway::sip_driver=trace"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &InboundRig) -> Result<()> {
    let a = rig.device("a").await?;
    let b = rig.device("b").await?;
    // SIPp talks for 8 s after its ACK, then hangs up.
    let caller = rig
        .call(
            "uac_inbound_pcmu_bye.xml",
            "alice",
            &SippOptions {
                extra: vec!["-d".to_owned(), "8000".to_owned()],
                ..SippOptions::default()
            },
        )
        .await?;

    let incoming_a = a.wait_incoming(Duration::from_secs(10)).await?;
    let incoming_b = b.wait_incoming(Duration::from_secs(10)).await?;
    let call_id = incoming_a["call_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(
        incoming_b["call_id"] == incoming_a["call_id"],
        "both devices must ring for the same call: {incoming_a} vs {incoming_b}"
    );
    ensure!(
        incoming_a["from"] == "+15551234" && incoming_a["from_name"] == "Jane Caller",
        "incoming should carry the caller's number and display name: {incoming_a}"
    );
    ensure!(
        incoming_a["origin"] == "sip",
        "incoming from Asterisk has origin sip: {incoming_a}"
    );

    let figures = rig.ringing_figures(caller, &[&a, &b]).await?;
    eprintln!("[inbound_two_devices] ringing latency (devices A / B): {figures}");
    ensure!(
        figures
            .to_devices_ms
            .iter()
            .all(|d| d.is_some_and(|d| d < 1000.0)),
        "ringing should reach every device within a second of the INVITE: {figures}"
    );

    a.accept(&call_id, true).await?;
    let ended_b = b
        .wait_state(&call_id, "ended", Duration::from_secs(10))
        .await?;
    ensure!(
        ended_b["reason"] == "answered_elsewhere",
        "device B should stop ringing with answered_elsewhere: {ended_b}"
    );
    let answer = a.wait_answer(&call_id, Duration::from_secs(10)).await?;
    ensure!(
        answer["sdp"]
            .as_str()
            .is_some_and(|sdp| sdp.contains("a=fingerprint:")),
        "the answer to the browser must be a WebRTC (DTLS-SRTP) answer: {answer}"
    );
    a.wait_state(&call_id, "connected", Duration::from_secs(15))
        .await?;

    let log = rig.caller_log(caller).await;
    let ok = first(&log, |m| !m.sent && m.is_response(200, Some("INVITE")))
        .context("SIPp got no 200 OK for its INVITE")?;
    ensure!(
        ok.text.contains("m=audio") && ok.text.contains("RTP/AVP"),
        "the 200 OK must carry an SDP answer:\n{}",
        ok.text
    );
    eprintln!(
        "[inbound_two_devices] INVITE -> 200 OK at SIPp {} ms (device A accepted in between)",
        ms(invite_to_response_ms(&log, 200))
    );
    ensure!(
        first(&log, |m| m.sent && m.is_request("ACK")).is_some(),
        "SIPp sent no ACK"
    );

    let stats = a.wait_inbound_energy(0.01, Duration::from_secs(15)).await?;
    eprintln!("[inbound_two_devices] device A inbound audio: {stats:?}");

    let ended_a = a
        .wait_state(&call_id, "ended", Duration::from_secs(20))
        .await?;
    eprintln!("[inbound_two_devices] device A: {ended_a}");
    rig.caller_success(caller, Duration::from_secs(10)).await?;
    let b_messages = b.messages().await?;
    ensure!(
        !b_messages
            .iter()
            .any(|m| m["type"] == "answer" || m["state"] == "connected"),
        "device B must not join the call: {b_messages:#?}"
    );
    Ok(())
}
