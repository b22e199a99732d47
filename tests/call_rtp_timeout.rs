//! RTP inactivity ends the call on both legs: SIPp (`uas_silent_pcmu`, run without `-rtp_echo`)
//! answers with PCMU and never sends a packet. With `media.rtp_timeout = "2s"` the gateway gives
//! up on the silent SIP leg, sends BYE (RFC 3261 section 15.1.1) and tells the browser the call
//! ended with reason `rtp_timeout`.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::gateway::GatewayOptions;
use support::rig::{CallOptions, CallRig, RigOptions};
use support::sipp::SippOptions;

/// The configured RTP timeout, in milliseconds.
const RTP_TIMEOUT_MS: f64 = 2_000.0;

/// Connected, no RTP from the SIP side -> `ended` (`rtp_timeout`) 2-4 s later, BYE at SIPp.
#[tokio::test]
async fn silent_sip_leg_ends_the_call_after_rtp_timeout() {
    let options = RigOptions {
        gateway: GatewayOptions::default().rtp_timeout("2s"),
        sipp: SippOptions {
            rtp_echo: false,
            ..SippOptions::default()
        },
    };
    let mut rig = CallRig::start_with("uas_silent_pcmu.xml", &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup("call_rtp_timeout").await;

    let ended = rig.wait_state("ended", Duration::from_secs(10)).await?;
    eprintln!("[call_rtp_timeout] ended: {ended}");
    ensure!(
        ended["reason"] == "rtp_timeout",
        "the call should end for RTP inactivity: {ended}"
    );

    let is_ended = |m: &serde_json::Value| m["type"] == "state" && m["state"] == "ended";
    let answer_ms = rig
        .message_at(|m| m["type"] == "answer")
        .await?
        .context("no answer time")?;
    let connected_ms = rig
        .message_at(|m| m["type"] == "state" && m["state"] == "connected")
        .await?
        .context("no connected time")?;
    let ended_ms = rig.message_at(is_ended).await?.context("no ended time")?;
    eprintln!(
        "[call_rtp_timeout] ended {:.0} ms after the answer, {:.0} ms after connected",
        ended_ms - answer_ms,
        ended_ms - connected_ms
    );
    // The SIP leg was answered just before the browser got its answer, so the timeout runs from
    // about then; "connected" follows within a few hundred ms (ICE + DTLS).
    ensure!(
        ended_ms - answer_ms >= RTP_TIMEOUT_MS - 100.0,
        "the call ended {:.0} ms after the answer, before the {RTP_TIMEOUT_MS} ms RTP timeout",
        ended_ms - answer_ms
    );
    ensure!(
        ended_ms - connected_ms <= 2.0 * RTP_TIMEOUT_MS,
        "the call ended {:.0} ms after connected, want at most {} ms",
        ended_ms - connected_ms,
        2.0 * RTP_TIMEOUT_MS
    );

    // uas_silent_pcmu exits 0 only after it received the BYE and answered it.
    rig.sipp.expect_success(Duration::from_secs(10)).await?;
    ensure!(
        rig.sipp.messages().contains("BYE sip:"),
        "SIPp's log should hold the gateway's BYE"
    );
    Ok(())
}
