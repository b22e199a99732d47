//! A browser calls 600; Asterisk (SIPp `uas_echo_pcmu`) answers with PCMU only and echoes the
//! RTP. The gateway answers the browser with PCMU too, so audio passes through without
//! transcoding; the browser hangs up and Asterisk gets the BYE (RFC 3261 section 15.1.1).

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::rig::{CallOptions, CallRig};

/// Answer, connected, echoed PCMU audio within 15 s, then hangup -> ended, BYE at SIPp.
#[tokio::test]
async fn pcmu_call_passes_echoed_audio_through_and_hangs_up() {
    let mut rig = CallRig::start("uas_echo_pcmu.xml")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    ensure!(
        sdp.contains("PCMU/8000"),
        "the answer to the browser should have PCMU:\n{sdp}"
    );
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup("call_passthrough_pcmu").await;

    let stats = rig
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[call_passthrough_pcmu] inbound audio: {stats:?}");
    ensure!(
        stats
            .mime_type
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("audio/PCMU")),
        "the browser should receive PCMU (passthrough), got {stats:?}"
    );

    // Issue 9 asks for AES-GCM when the browser offers it. The gateway (DTLS client) offers
    // AES-GCM first, then AES-CM; Chromium 156 (DTLS server, its own preference decides) picks
    // AES-CM-80. Pinned so a change of either side is noticed: getting GCM from Chromium would
    // mean offering no AES-CM, which refuses any client without GCM (see docs/performance.md).
    let cipher = rig
        .browser
        .eval(
            "return (async () => { const r = await window.__gw.pc.getStats(); let c = null; \
             r.forEach((s) => { if (s.type === 'transport') c = s.srtpCipher; }); return c; })();",
            vec![],
        )
        .await?;
    eprintln!("[call_passthrough_pcmu] SRTP cipher: {cipher}");
    ensure!(
        cipher == "SRTP_AES128_CM_HMAC_SHA1_80",
        "Chromium chose {cipher}, not the AES-CM-80 seen so far: check the SRTP profile order"
    );

    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    // uas_echo_pcmu exits 0 only after it received the BYE and answered it.
    rig.sipp.expect_success(Duration::from_secs(10)).await
}
