//! An ICE restart mid-call (a network change): the browser calls `restartIce()`, sends its new
//! offer as `{"type":"offer","call_id":...}`, and applies the gateway's `answer`, which must carry
//! new ICE credentials (RFC 8839 section 4.4.1.1.1). The SIP leg is untouched: SIPp
//! (`uas_echo_pcmu`) sees no BYE and no re-INVITE, the echoed audio keeps arriving, and the call
//! ends normally afterwards.

mod support;

use std::time::Duration;

use anyhow::{Result, bail, ensure};
use support::incall::{self, call_and_connect, hang_up, ice_state, mark, wait_after};
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
    let old = ice_state(rig).await?;

    let before = mark(rig).await?;
    let started = tokio::time::Instant::now();
    let ufrags = rig
        .browser
        .eval("return window.__gw.restartIce();", vec![])
        .await?;
    ensure!(
        ufrags["before"] != ufrags["after"],
        "restartIce() should give the browser's offer a new ufrag: {ufrags}"
    );
    let (_, answer) = wait_after(
        rig,
        before,
        "answer to the new offer",
        Duration::from_secs(10),
        |m| m["type"] == "answer",
    )
    .await?;
    let answered = started.elapsed();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let new = loop {
        let now = ice_state(rig).await?;
        let restarted = now["remoteUfrag"] != old["remoteUfrag"]
            && now["signalingState"] == "stable"
            && (now["iceConnectionState"] == "connected"
                || now["iceConnectionState"] == "completed");
        if restarted {
            break now;
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "10 s after the new offer, no restarted ICE session: before {old}, now {now}; the gateway's answer: {answer}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "[{test}] answer {} ms after restartIce(), ICE connected again after {} ms: {old} -> {new}",
        answered.as_millis(),
        started.elapsed().as_millis()
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
