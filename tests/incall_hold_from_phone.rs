//! Asterisk changes the session from its side with re-INVITEs (SIPp `uas_hold_from_phone`,
//! modelled on the Asterisk 22 capture ladder-outbound-609-reinvite-from-asterisk; RFC 3261
//! section 14.2, RFC 3264 sections 6.1 and 8.4): hold with `a=sendonly` must be answered
//! `a=recvonly` and shown as `state: held`; resume with `a=sendrecv` answered `a=sendrecv`,
//! `connected` again and the echoed audio back; then the phone moves its RTP to another port
//! (a UDP socket of this test that echoes): the gateway's RTP must follow it there, and the
//! browser hears the echo from the new port.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::incall::phone::{PCMU_PT, PhoneMedia, PhoneMode};
use support::incall::{self, call_and_connect, direction, hang_up, mark, wait_state_after};
use support::rig::{CallRig, RigOptions};
use support::sipp::SippOptions;
use support::sipp_log::LoggedMessage;

/// The phone's telephone-event payload type.
const TE_PT: u8 = 101;

/// sendonly -> recvonly + held; sendrecv -> connected + audio; new port -> RTP there + audio.
#[tokio::test]
async fn phone_hold_resume_and_port_change_are_followed() {
    let (mut rig, moved) = start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig, &moved).await;
    rig.finish(outcome).await;
}

async fn start() -> Result<(CallRig, PhoneMedia)> {
    let moved = PhoneMedia::bind(PhoneMode::Echo, TE_PT).await?;
    let options = RigOptions {
        sipp: SippOptions {
            extra: vec![
                "-key".to_owned(),
                "rtp_port2".to_owned(),
                moved.port().to_string(),
            ],
            ..SippOptions::default()
        },
        ..RigOptions::default()
    };
    let rig = incall::start("uas_hold_from_phone.xml", &options).await?;
    Ok((rig, moved))
}

/// The gateway's answer (200 to the `n`-th INVITE SIPp sent, 1 = the hold), as text.
async fn answer_to_reinvite(rig: &CallRig, n: usize) -> Result<String> {
    incall::wait_sipp_message(&rig.sipp, n, Duration::from_secs(5), |m: &LoggedMessage| {
        !m.sent && m.is_response(200, Some("INVITE"))
    })
    .await
}

async fn scenario(rig: &mut CallRig, moved: &PhoneMedia) -> Result<()> {
    let test = "incall_hold_from_phone";
    call_and_connect(rig, test).await?;
    let from = mark(rig).await?;
    rig.wait_inbound_energy(0.01, Duration::from_secs(10))
        .await?;

    // Hold: the scenario sends it 4 s after the ACK.
    let (at, _) = wait_state_after(rig, from, "held", Duration::from_secs(10)).await?;
    let hold = answer_to_reinvite(rig, 1).await?;
    eprintln!("[{test}] hold answered with {}", direction(&hold));
    ensure!(
        direction(&hold) == "a=recvonly",
        "a=sendonly must be answered a=recvonly (RFC 3264 section 6.1):\n{hold}"
    );
    let held = incall::inbound(rig).await?;

    // Resume, 3 s later.
    let (at, _) = wait_state_after(rig, at + 1, "connected", Duration::from_secs(8)).await?;
    let resume = answer_to_reinvite(rig, 2).await?;
    ensure!(
        direction(&resume) == "a=sendrecv",
        "a=sendrecv must be answered a=sendrecv:\n{resume}"
    );
    let resumed_base = incall::inbound(rig).await?;
    eprintln!(
        "[{test}] energy during the hold grew by {:.4}",
        resumed_base.total_audio_energy - held.total_audio_energy
    );
    let (resumed, took) =
        incall::wait_energy_growth(rig, &resumed_base, 0.01, Duration::from_secs(3)).await?;
    eprintln!(
        "[{test}] resume: audio back {} ms after `connected` ({resumed:?})",
        took.as_millis()
    );

    // The move to the test's port, 4 s after the resume.
    wait_state_after(rig, at + 1, "connected", Duration::from_secs(10)).await?;
    let moved_answer = answer_to_reinvite(rig, 3).await?;
    ensure!(
        direction(&moved_answer) == "a=sendrecv",
        "the re-INVITE moving the port must be answered a=sendrecv:\n{moved_answer}"
    );
    moved
        .wait_packets(PCMU_PT, 25, Duration::from_secs(5))
        .await?;
    let (count, source) = moved.count(PCMU_PT);
    let (low, high) = rig.gateway.rtp_ports();
    ensure!(
        source.is_some_and(|s| (low..=high).contains(&s.port())),
        "the RTP at the new port should come from the gateway's ports {low}-{high}, came from {source:?}"
    );
    let base = incall::inbound(rig).await?;
    let (after, took) =
        incall::wait_energy_growth(rig, &base, 0.01, Duration::from_secs(5)).await?;
    eprintln!(
        "[{test}] port change: {count} packets at the new port {}, browser audio back within {} ms ({after:?})",
        moved.port(),
        took.as_millis()
    );
    // SIPp exits 0 only if each answer had the direction its regexp wants.
    hang_up(rig).await?;
    Ok(())
}
