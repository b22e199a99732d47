//! A video call's codec is fixed once answered (issue 10, RFC 3264 sections 6 and 8.4). The
//! browser calls 600 with its camera; Asterisk (SIPp `uas_video_reoffer_h264`) answers PCMU audio,
//! echoed by SIPp, and VP8 at 100 on a video port the test plays itself ([`VideoEcho`]). Mid-call
//! Asterisk re-INVITEs offering video with H.264 only (payload type 99): the browser's leg
//! relays VP8 and the gateway does not transcode video, so it cannot take the new codec.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::rig::{CallOptions, CallRig};
use support::sipp::Sipp;
use support::sipp_log::LoggedMessage;
use support::video::{VideoEcho, echo_rig, inbound_video, section, sip_body, wait_frames_decoded};
use support::wait_until;

/// Asterisk's payload types: VP8 at 100, H.264 at 99.
const SIP_VP8_PT: &str = "100";
const SIP_H264_PT: &str = "99";
/// SIPp's pause between the ACK and its re-INVITE (`-d`): time for the test to see video flow.
const REINVITE_AFTER_MS: u32 = 8_000;
/// In-flight packets may still arrive this long after the gateway's 200 to the re-INVITE.
const GRACE: Duration = Duration::from_millis(300);
/// How long the test watches audio go on (and video stay away) after the re-INVITE.
const WATCH: Duration = Duration::from_millis(1500);

/// RFC 3264 section 8.4 lets a re-offer change a stream's codec, and section 6 lets the
/// answerer reject a stream it cannot take (port 0). The call settled on VP8 (the INVITE offered
/// `100 99`, Asterisk's 200 took VP8 at 100); Asterisk's re-INVITE offers video with H.264 only.
/// The gateway's 200 must reject video (`m=video 0`) and keep audio, audio must keep reaching the
/// browser (its received energy grows), no more video may reach Asterisk's video port (the
/// stream is rejected), and the call goes on and ends normally.
#[tokio::test]
async fn a_re_offer_with_only_another_video_codec_is_answered_with_video_rejected() {
    let after = REINVITE_AFTER_MS.to_string();
    let (echo, mut rig) = echo_rig("uas_video_reoffer_h264.xml", &["-d", &after]).await;
    let outcome = scenario(&mut rig, &echo).await;
    if outcome.is_err() {
        eprintln!("[video_codec_fixed_once_answered] echo: {}", echo.summary());
    }
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig, echo: &VideoEcho) -> Result<()> {
    let test = "video_codec_fixed_once_answered";
    rig.place_call(&CallOptions {
        video: true,
        ..CallOptions::default()
    })
    .await?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    let video = section(sdp, "video", "the gateway's answer to the browser")?;
    ensure!(
        video.port().is_some_and(|p| p != 0)
            && !video.payload_types_of("VP8").is_empty()
            && video.payload_types_of("H264").is_empty(),
        "Asterisk took VP8, so the answer to the browser should accept video with VP8 alone:\n{sdp}"
    );
    rig.wait_state("connected", Duration::from_secs(15)).await?;

    // The INVITE offered both codecs: only the answer made the call VP8.
    let invite = rig
        .sipp
        .nth_received(1, |m| m.is_request("INVITE"))
        .context("SIPp received no INVITE")?;
    let invite_sdp = sip_body(&invite.text);
    let offered = section(&invite_sdp, "video", "the gateway's INVITE")?;
    ensure!(
        offered.formats() == [SIP_VP8_PT, SIP_H264_PT],
        "test premise: the INVITE should offer video `{SIP_VP8_PT} {SIP_H264_PT}` (Chromium offers VP8 and H.264), so that a re-offer of H.264 alone names a codec the gateway once offered:\n{invite_sdp}"
    );

    wait_until(
        "video RTP at the SIP side's video port",
        Duration::from_secs(10),
        || echo.received() > 0,
    )
    .await?;
    let flowing = wait_frames_decoded(&rig.browser, 0, Duration::from_secs(15))
        .await
        .context("the echoed VP8 should reach the browser before the re-INVITE")?;
    ensure!(
        rig.sipp.sent_invites() == 0,
        "test timing: SIPp re-INVITEd before video was seen flowing; raise REINVITE_AFTER_MS"
    );
    eprintln!(
        "[{test}] INVITE video {} ; VP8 flowing: {} packets at the SIP side's video port, browser {flowing:?}",
        offered.m_line,
        echo.received()
    );

    let ok = rig
        .sipp
        .wait_nth_received(1, Duration::from_secs(20), |m| {
            m.is_response(200, Some("INVITE"))
        })
        .await?;
    let reoffer = sent_reinvite(&rig.sipp).context("SIPp logged no re-INVITE")?;
    let reoffer_sdp = sip_body(&reoffer.text);
    let ok_sdp = sip_body(&ok.text);
    let audio = section(&ok_sdp, "audio", "the gateway's 200 to the re-INVITE")?;
    let video = section(&ok_sdp, "video", "the gateway's 200 to the re-INVITE")?;
    eprintln!(
        "[{test}] re-offer video: {} ; the gateway's 200: {} | {} | {} ({:.0} ms after the re-INVITE)",
        section(&reoffer_sdp, "video", "SIPp's re-INVITE")?.m_line,
        audio.m_line,
        video.m_line,
        video.lines.join(" | "),
        ok.at_unix_ms - reoffer.at_unix_ms
    );
    ensure!(
        video.port() == Some(0),
        "the call's video codec is VP8 (fixed by the first answer, and the browser's leg cannot change it without transcoding), so the answer to a re-offer of video with H.264 only should reject video with `m=video 0` (RFC 3264 sections 6 and 8.4), has {}:\n{ok_sdp}",
        video.m_line
    );
    ensure!(
        audio.port().is_some_and(|p| p != 0),
        "the answer should keep audio (non-zero port):\n{ok_sdp}"
    );

    tokio::time::sleep(GRACE).await;
    let port_before = echo.received();
    let audio_before = rig.inbound_audio().await?;
    let video_before = inbound_video(&rig.browser).await?;
    tokio::time::sleep(WATCH).await;
    let port_after = echo.received();
    let audio_after = rig.inbound_audio().await?;
    let video_after = inbound_video(&rig.browser).await?;
    eprintln!(
        "[{test}] over {WATCH:?} after the 200 (+{GRACE:?}): browser audio packets {} -> {}, energy {:.4} -> {:.4}; video packets at the SIP side's video port {port_before} -> {port_after}; browser video packets {} -> {}",
        audio_before.packets_received,
        audio_after.packets_received,
        audio_before.total_audio_energy,
        audio_after.total_audio_energy,
        video_before.packets_received,
        video_after.packets_received
    );
    ensure!(
        audio_after.packets_received > audio_before.packets_received
            && audio_after.total_audio_energy > audio_before.total_audio_energy,
        "audio should keep flowing after video was rejected: {audio_before:?} -> {audio_after:?}"
    );
    ensure!(
        port_after == port_before,
        "the gateway rejected the video stream (m=video 0), yet {} video packets reached Asterisk's video port in the {WATCH:?} after its 200 (+{GRACE:?}): a rejected stream carries no media (RFC 3264 section 6)",
        port_after - port_before
    );

    rig.hangup().await?;
    let ended = rig.wait_state("ended", Duration::from_secs(10)).await?;
    eprintln!("[{test}] {ended}");
    rig.sipp.expect_success(Duration::from_secs(10)).await
}

/// SIPp's re-INVITE, once sent.
fn sent_reinvite(sipp: &Sipp) -> Option<LoggedMessage> {
    sipp.logged()
        .into_iter()
        .find(|m| m.sent && m.is_request("INVITE"))
}
