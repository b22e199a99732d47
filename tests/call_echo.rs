//! The built-in echo destination (issue 7, point 6): a call to `echo` is answered inside the
//! gateway and its media loops through the whole path — SRTP, the bridge and the SIP-side
//! sockets — without any SIP traffic, so a newcomer hears themselves with no Asterisk installed.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::rig::{CallOptions, CallRig};

/// `echo` answers, the browser's own tone comes back, hangup ends it, and no SIP is sent.
#[tokio::test]
async fn echo_destination_loops_the_browsers_audio_back() {
    let mut rig = CallRig::start("uas_echo_pcmu.xml")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    rig.place_call(&CallOptions {
        to: "echo",
        ..CallOptions::default()
    })
    .await?;
    rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup("call_echo").await;
    let stats = rig
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[call_echo] inbound audio: {stats:?}");
    rig.hangup().await?;
    let ended = rig.wait_state("ended", Duration::from_secs(10)).await?;
    ensure!(
        ended["reason"] == "normal_clearing",
        "the echo call should end normally: {ended}"
    );
    let sip = rig.sipp.logged();
    ensure!(
        sip.is_empty(),
        "an echo call must not send SIP; SIPp saw {} messages",
        sip.len()
    );
    Ok(())
}
