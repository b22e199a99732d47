//! An ICE restart mid-call (a network change): the browser calls `restartIce()`, sends its new
//! offer as `{"type":"offer","call_id":...}`, and applies the gateway's `answer`, which must carry
//! new ICE credentials (RFC 8839 section 4.4.1.1.1). The SIP leg is untouched: SIPp
//! (`uas_echo_pcmu`) sees no BYE and no re-INVITE, the echoed audio keeps arriving, and the call
//! ends normally afterwards.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::incall::{self, call_and_connect, hang_up, restart_ice};
use support::rig::{CallRig, RigOptions};

/// restartIce + offer -> answer with a new ufrag, ICE connected again, audio grows, no BYE.
#[tokio::test]
async fn ice_restart_keeps_the_call_and_its_audio() {
    let mut rig = incall::start("uas_echo_pcmu.xml", &RigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    let test = "incall_ice_restart";
    call_and_connect(rig, test).await?;
    rig.wait_inbound_energy(0.01, Duration::from_secs(10))
        .await?;
    let restart = restart_ice(rig).await?;
    eprintln!(
        "[{test}] answer {} ms after restartIce(), ICE connected again after {} ms: {} -> {}",
        restart.answered.as_millis(),
        restart.reconnected.as_millis(),
        restart.old,
        restart.new
    );

    let base = incall::inbound(rig).await?;
    let (after, took) =
        incall::wait_energy_growth(rig, &base, 0.05, Duration::from_secs(5)).await?;
    eprintln!(
        "[{test}] audio after the restart: +{:.3} energy in {} ms, {} more packets",
        after.total_audio_energy - base.total_audio_energy,
        took.as_millis(),
        after.packets_received - base.packets_received
    );
    let sip = rig.sipp.logged();
    let invites = sip
        .iter()
        .filter(|m| !m.sent && m.is_request("INVITE"))
        .count();
    let byes = sip.iter().filter(|m| m.is_request("BYE")).count();
    ensure!(
        invites == 1 && byes == 0,
        "an ICE restart must not touch the SIP leg, yet SIPp got {invites} INVITEs and {byes} BYEs:\n{}",
        rig.sipp.messages()
    );
    hang_up(rig).await?;
    Ok(())
}
