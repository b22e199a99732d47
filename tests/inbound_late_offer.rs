//! Asterisk calls a browser user with an INVITE without SDP (issue 3, late offer, RFC 3261
//! section 13.2.1), trunk mode: the device accepts with its offer; the gateway's 200 OK carries
//! an SDP offer (with PCMU), SIPp's ACK carries the answer (PCMU, RFC 3264 section 6.1), and only
//! then the device gets the `answer` and `connected`; the audio SIPp echoes reaches the device.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::gateway::GatewayOptions;
use support::inbound::{InboundRig, first};
use support::sipp::SippOptions;

/// INVITE without SDP -> accept -> 200 with offer -> ACK with answer -> answer, connected, audio.
#[tokio::test]
async fn late_offer_invite_is_answered_with_an_offer_and_bridged_after_the_ack() {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &InboundRig) -> Result<()> {
    let page = rig.device("page").await?;
    // SIPp talks for 8 s after its ACK, then hangs up.
    let caller = rig
        .call(
            "uac_inbound_late_offer.xml",
            "alice",
            &SippOptions {
                extra: vec!["-d".to_owned(), "8000".to_owned()],
                ..SippOptions::default()
            },
        )
        .await?;
    let incoming = page.wait_incoming(Duration::from_secs(10)).await?;
    let call_id = incoming["call_id"].as_str().unwrap_or_default();
    page.accept(call_id, true).await?;
    let answer = page.wait_answer(call_id, Duration::from_secs(10)).await?;
    let log = rig.caller_log(caller).await;
    let ok = first(&log, |m| !m.sent && m.is_response(200, Some("INVITE")))
        .context("the device got its answer, but SIPp got no 200 OK")?;
    ensure!(
        ok.text.contains("a=rtpmap:0 PCMU/8000"),
        "the 200 OK must carry an SDP offer with PCMU:\n{}",
        ok.text
    );
    ensure!(
        first(&log, |m| m.sent && m.is_request("ACK")).is_some(),
        "the device got the answer before SIPp's ACK brought the SIP answer: {answer}"
    );
    page.wait_state(call_id, "connected", Duration::from_secs(15))
        .await?;
    let stats = page
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[inbound_late_offer] inbound audio: {stats:?}");
    let ended = page
        .wait_state(call_id, "ended", Duration::from_secs(20))
        .await?;
    eprintln!("[inbound_late_offer] {ended}");
    // The scenario exits 0 after 180, 200 (offer), its ACK (answer), its BYE and the 200.
    rig.caller_success(caller, Duration::from_secs(10)).await
}
