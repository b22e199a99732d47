//! Hold from the browser: `{"type":"hold"}` makes the gateway re-INVITE Asterisk with
//! `a=sendonly` (RFC 3264 section 8.4; SIPp `uas_hold_from_browser` checks the direction with a
//! regexp and answers `a=recvonly`, like the Asterisk 22 capture
//! ladder-outbound-600-hold-reinvite), the browser gets `state: held`; `{"type":"unhold"}` re-INVITEs with `a=sendrecv` and the
//! echoed audio comes back.

mod support;

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::json;
use support::incall::{self, call_and_connect, hang_up, mark, send_call_message, wait_state_after};
use support::rig::{CallRig, RigOptions};

/// hold -> re-INVITE sendonly at SIPp, `held`; unhold -> re-INVITE sendrecv, `connected`, audio.
#[tokio::test]
async fn hold_and_unhold_reinvite_the_phone() {
    let mut rig = incall::start("uas_hold_from_browser.xml", &RigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    let test = "incall_hold_from_browser";
    call_and_connect(rig, test).await?;
    rig.wait_inbound_energy(0.01, Duration::from_secs(10))
        .await?;

    let before = mark(rig).await?;
    let held_sent = tokio::time::Instant::now();
    send_call_message(rig, "hold", json!({})).await?;
    wait_state_after(rig, before, "held", Duration::from_secs(5)).await?;
    let hold = incall::wait_sipp_message(&rig.sipp, 2, Duration::from_secs(5), |m| {
        !m.sent && m.is_request("INVITE")
    })
    .await?;
    eprintln!(
        "[{test}] hold: `held` and the re-INVITE within {} ms; its SDP direction {}",
        held_sent.elapsed().as_millis(),
        incall::direction(&hold)
    );
    if incall::direction(&hold) != "a=sendonly" {
        bail!("the hold re-INVITE should offer a=sendonly (RFC 3264 section 8.4):\n{hold}");
    }
    let on_hold = incall::inbound(rig).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after_hold = incall::inbound(rig).await?;
    eprintln!(
        "[{test}] energy while held grew by {:.4} in 1.5 s",
        after_hold.total_audio_energy - on_hold.total_audio_energy
    );

    let before = mark(rig).await?;
    send_call_message(rig, "unhold", json!({})).await?;
    wait_state_after(rig, before, "connected", Duration::from_secs(5)).await?;
    let unhold = incall::wait_sipp_message(&rig.sipp, 3, Duration::from_secs(5), |m| {
        !m.sent && m.is_request("INVITE")
    })
    .await?;
    if incall::direction(&unhold) != "a=sendrecv" {
        bail!("the unhold re-INVITE should offer a=sendrecv:\n{unhold}");
    }
    let base = incall::inbound(rig).await?;
    let (resumed, took) =
        incall::wait_energy_growth(rig, &base, 0.01, Duration::from_secs(5)).await?;
    eprintln!(
        "[{test}] unhold: audio energy back {} ms after `connected` ({resumed:?})",
        took.as_millis()
    );
    // SIPp exits 0 only if both re-INVITEs had the expected direction and got their ACKs.
    hang_up(rig).await?;
    Ok(())
}
