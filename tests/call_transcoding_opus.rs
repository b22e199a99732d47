//! The browser offers Opus only (setCodecPreferences), Asterisk (SIPp `uas_echo_pcmu`) answers
//! PCMU only: the gateway must transcode Opus <-> PCMU both ways, so the echoed tone arrives in
//! the browser as Opus. The offer carries all its candidates (non-trickle; RFC 8838 section 3
//! allows either). RFC 7587 (Opus RTP), RFC 3551 (PCMU).

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::rig::{CallOptions, CallRig};

/// Opus-only browser, PCMU-only SIP side: energy arrives and the browser's codec is Opus.
#[tokio::test]
async fn opus_browser_talks_to_pcmu_asterisk_through_transcoding() {
    let mut rig = CallRig::start("uas_echo_pcmu.xml")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    let offer = rig
        .place_call(&CallOptions {
            trickle: false,
            codecs: vec!["audio/opus"],
            ..CallOptions::default()
        })
        .await?;
    ensure!(
        offer.contains("opus/48000")
            && !offer.contains("PCMU/8000")
            && !offer.contains("PCMA/8000"),
        "the browser's offer should carry Opus only:\n{offer}"
    );
    ensure!(
        offer.contains("a=candidate:"),
        "a non-trickle offer should carry candidates:\n{offer}"
    );

    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    ensure!(
        sdp.contains("opus/48000"),
        "the answer to the browser should pick Opus:\n{sdp}"
    );
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup("call_transcoding_opus").await;

    let stats = rig
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[call_transcoding_opus] inbound audio: {stats:?}");
    ensure!(
        stats
            .mime_type
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("audio/opus")),
        "the browser should receive Opus (transcoded from PCMU), got {stats:?}"
    );

    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await
}
