//! DTMF from the phone reaches the browser's client as `{"type":"dtmf","digit":"5"}`. Asterisk
//! (SIPp `uas_pcmu_dtmf_test_media`) answers PCMU with telephone-event 101 at a UDP port this
//! test owns; the test plays the phone's media from it: a PCMU tone every 20 ms to the gateway's
//! RTP address (read from the INVITE's SDP), then one RFC 4733 event for digit 5 in the same
//! stream (marker on its first packet, one timestamp, growing duration, three end packets:
//! RFC 4733 section 2.5.1). The digit must be reported once, not once per packet.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::incall::phone::{PCMU_PT, PhoneMedia, PhoneMode, gateway_rtp_addr};
use support::incall::{self, call_and_connect, hang_up, mark, wait_after};
use support::rig::{CallRig, RigOptions};
use support::sipp::SippOptions;

/// The telephone-event payload type of the phone's SDP.
const TE_PT: u8 = 101;

/// The phone's event for 5 -> one `dtmf` message with digit 5 for the call.
#[tokio::test]
async fn phone_digit_is_reported_to_the_browser_once() {
    let (mut rig, phone) = start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig, &phone).await;
    rig.finish(outcome).await;
}

async fn start() -> Result<(CallRig, PhoneMedia)> {
    let phone = PhoneMedia::bind(PhoneMode::Tone, TE_PT).await?;
    let options = RigOptions {
        sipp: SippOptions {
            rtp_echo: false,
            extra: vec![
                "-key".to_owned(),
                "rtp_port".to_owned(),
                phone.port().to_string(),
            ],
            ..SippOptions::default()
        },
        ..RigOptions::default()
    };
    let rig = incall::start("uas_pcmu_dtmf_test_media.xml", &options).await?;
    Ok((rig, phone))
}

async fn scenario(rig: &mut CallRig, phone: &PhoneMedia) -> Result<()> {
    let test = "incall_dtmf_phone_to_browser";
    let call_id = call_and_connect(rig, test).await?;
    let gateway = gateway_rtp_addr(&rig.sipp)?;
    eprintln!("[{test}] the gateway's SIP-side RTP address (from its INVITE): {gateway}");
    phone.send_to(gateway)?;
    // The phone's tone reaches the browser: the stream the event goes into is up.
    let audio = rig
        .wait_inbound_energy(0.01, Duration::from_secs(10))
        .await?;
    eprintln!("[{test}] the phone's tone in the browser: {audio:?}");
    let (from_browser, source) = phone.count(PCMU_PT);
    eprintln!("[{test}] {from_browser} PCMU packets from the gateway (from {source:?}) so far");
    ensure!(
        source == Some(gateway),
        "the gateway should send its RTP from the address of its SDP {gateway}, sent from {source:?}"
    );

    let before = mark(rig).await?;
    let sent_at = tokio::time::Instant::now();
    phone.send_digit('5', 200)?;
    let (_, dtmf) = wait_after(rig, before, "dtmf 5", Duration::from_secs(5), |m| {
        m["type"] == "dtmf"
    })
    .await?;
    eprintln!(
        "[{test}] the browser got {dtmf} {} ms after the event started",
        sent_at.elapsed().as_millis()
    );
    ensure!(
        dtmf["digit"] == "5" && dtmf["call_id"] == call_id.as_str(),
        "want {{type: dtmf, call_id: {call_id}, digit: 5}}, got {dtmf}"
    );
    // 200 ms of event and three end packets take 260 ms; give stragglers 1 s more.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let digits: Vec<_> = rig.messages().await?[before..]
        .iter()
        .filter(|m| m["type"] == "dtmf")
        .cloned()
        .collect();
    ensure!(
        digits.len() == 1,
        "one event (11 packets, 3 of them end packets) should be reported once, got {digits:?}"
    );
    hang_up(rig).await?;
    Ok(())
}
