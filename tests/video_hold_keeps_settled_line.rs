//! The browser holds a video call (issue 10, RFC 3264 section 8.4): the gateway's hold re-INVITE
//! shows video as the call has it. The browser calls 600 with its camera; Asterisk (SIPp)
//! answers PCMU audio and VP8 at 100, both echoed by SIPp. Then `{"type":"hold"}` from the
//! browser makes the gateway re-INVITE Asterisk with `a=sendonly`; SIPp checks the offer with
//! regexps and answers `a=recvonly`, and the test reads the offer's media sections.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::json;
use support::incall::{self, hang_up, mark, send_call_message, wait_state_after};
use support::rig::{CallRig, RigOptions};
use support::sipp::SippOptions;
use support::video::{call_with_video, section, section_direction, sip_body, wait_frames_decoded};

/// Asterisk's payload types: VP8 at 100, H.264 at 99.
const SIP_VP8_PT: &str = "100";
const SIP_H264_PT: &str = "99";
/// SIPp's pause between the ACK and its re-INVITE removing video (`-d`).
const REMOVAL_AFTER_MS: u32 = 6_000;

/// RFC 3264 section 8.4: a stream removed by a re-offer with port 0 stays removed until an offer
/// adds it back; an offer that only changes the direction (our hold) must not re-add it.
/// Asterisk (`uas_video_removed_then_hold`) removes video by re-INVITE (`m=video 0`, answered
/// `m=video 0`); then the browser holds. The gateway's hold re-INVITE must offer audio
/// `a=sendonly` and video still at port 0.
#[tokio::test]
async fn hold_after_the_phone_removed_video_keeps_video_removed() {
    let options = RigOptions {
        sipp: SippOptions {
            extra: vec!["-d".to_owned(), REMOVAL_AFTER_MS.to_string()],
            ..SippOptions::default()
        },
        ..RigOptions::default()
    };
    let mut rig = incall::start("uas_video_removed_then_hold.xml", &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = removed_scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn removed_scenario(rig: &mut CallRig) -> Result<()> {
    let test = "video_hold_keeps_settled_line removed";
    video_call(rig).await?;
    let removal_ok = incall::wait_sipp_message(&rig.sipp, 1, Duration::from_secs(20), |m| {
        !m.sent && m.is_response(200, Some("INVITE"))
    })
    .await
    .context("the gateway should answer Asterisk's re-INVITE removing video")?;
    let removal_sdp = sip_body(&removal_ok);
    let removed = section(&removal_sdp, "video", "the gateway's 200 to the removal")?;
    ensure!(
        removed.port() == Some(0),
        "test premise: the gateway's answer to `m=video 0` should say `m=video 0` (RFC 3264 section 8.4):\n{removal_sdp}"
    );
    // SIPp sends its ACK as soon as it has the 200; give it a moment before our re-INVITE.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let hold = hold(rig).await?;
    let sdp = sip_body(&hold);
    let audio = section(&sdp, "audio", "the gateway's hold re-INVITE")?;
    let video = section(&sdp, "video", "the gateway's hold re-INVITE")?;
    eprintln!(
        "[{test}] 200 to the removal: {} ; hold offer: {} {} | {} {}",
        removed.m_line,
        audio.m_line,
        section_direction(&audio),
        video.m_line,
        video.lines.join(" | ")
    );
    ensure!(
        audio.port().is_some_and(|p| p != 0) && section_direction(&audio) == "a=sendonly",
        "the hold re-INVITE should offer audio with a=sendonly (RFC 3264 section 8.4):\n{sdp}"
    );
    ensure!(
        video.port() == Some(0),
        "Asterisk removed video (m=video 0) and nobody added it back, so the hold re-INVITE should keep the video line at port 0 (RFC 3264 section 8.4), has `{}`:\n{sdp}",
        video.m_line
    );

    // SIPp exits 0 only if its own regexps on the hold matched and every ACK came.
    hang_up(rig).await?;
    Ok(())
}

/// RFC 3264 section 8.4 (a new offer of an existing stream) and section 8.3.2 (the codec in use
/// is the answer's): the call settled on VP8 at 100 though the INVITE offered `100 99`; the hold
/// re-INVITE must keep video active on the same port, `a=sendonly`, listing VP8 at 100 alone (an
/// offer of H.264 too would let Asterisk move video to a codec the browser's leg lacks).
#[tokio::test]
async fn hold_of_a_video_call_offers_only_the_settled_codec() {
    let mut rig = incall::start("uas_video_hold.xml", &RigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = settled_scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn settled_scenario(rig: &mut CallRig) -> Result<()> {
    let test = "video_hold_keeps_settled_line settled";
    video_call(rig).await?;
    let invite = incall::wait_sipp_message(&rig.sipp, 1, Duration::from_secs(5), |m| {
        !m.sent && m.is_request("INVITE")
    })
    .await?;
    let invite_sdp = sip_body(&invite);
    let offered = section(&invite_sdp, "video", "the gateway's INVITE")?;
    ensure!(
        offered.formats() == [SIP_VP8_PT, SIP_H264_PT],
        "test premise: the INVITE should offer video `{SIP_VP8_PT} {SIP_H264_PT}` (Chromium offers VP8 and H.264), else the hold's single format proves nothing:\n{invite_sdp}"
    );
    let flowing = wait_frames_decoded(&rig.browser, 0, Duration::from_secs(15))
        .await
        .context("the echoed VP8 should reach the browser before the hold")?;

    let hold = hold(rig).await?;
    let sdp = sip_body(&hold);
    let audio = section(&sdp, "audio", "the gateway's hold re-INVITE")?;
    let video = section(&sdp, "video", "the gateway's hold re-INVITE")?;
    eprintln!(
        "[{test}] INVITE video {} ; video decoded before the hold {flowing:?}; hold offer: {} {} | {} | {}",
        offered.m_line,
        audio.m_line,
        section_direction(&audio),
        video.m_line,
        video.lines.join(" | ")
    );
    ensure!(
        audio.port().is_some_and(|p| p != 0) && section_direction(&audio) == "a=sendonly",
        "the hold re-INVITE should offer audio with a=sendonly (RFC 3264 section 8.4):\n{sdp}"
    );
    ensure!(
        video.port().is_some_and(|p| p != 0) && video.port() == offered.port(),
        "video was not removed, so the hold re-INVITE should keep it active on the INVITE's video port {:?}, has `{}`:\n{sdp}",
        offered.port(),
        video.m_line
    );
    ensure!(
        section_direction(&video) == "a=sendonly",
        "the hold re-INVITE should put video on a=sendonly too, has {}:\n{sdp}",
        section_direction(&video)
    );
    ensure!(
        video.formats() == [SIP_VP8_PT]
            && video.payload_types_of("VP8") == [SIP_VP8_PT]
            && video.payload_types_of("H264").is_empty(),
        "the call settled on VP8 at {SIP_VP8_PT} (Asterisk's answer), so the hold re-INVITE should list that one format, not the INVITE's `{SIP_VP8_PT} {SIP_H264_PT}`; has `{}`:\n{sdp}",
        video.m_line
    );

    hang_up(rig).await?;
    Ok(())
}

/// Places a video call and waits until connected with audio flowing.
async fn video_call(rig: &CallRig) -> Result<()> {
    call_with_video(rig).await?;
    rig.wait_inbound_energy(0.01, Duration::from_secs(10))
        .await?;
    Ok(())
}

/// Sends `hold` from the browser, waits for `held` and returns the gateway's hold re-INVITE as
/// SIPp received it (its second INVITE).
async fn hold(rig: &CallRig) -> Result<String> {
    let before = mark(rig).await?;
    send_call_message(rig, "hold", json!({})).await?;
    wait_state_after(rig, before, "held", Duration::from_secs(5)).await?;
    incall::wait_sipp_message(&rig.sipp, 2, Duration::from_secs(5), |m| {
        !m.sent && m.is_request("INVITE")
    })
    .await
    .context("SIPp should receive the gateway's hold re-INVITE")
}
