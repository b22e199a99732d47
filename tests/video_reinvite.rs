//! Asterisk removes video from a connected video call and adds it back (RFC 3264 section 8.4),
//! issue 10. The browser calls 600 with its camera; Asterisk (SIPp `uas_video_reinvite`)
//! answers PCMU audio, echoed by SIPp, and VP8 video on a port the test plays itself
//! ([`VideoEcho`]). Mid-call Asterisk re-INVITEs with `m=video 0`, then with the video line back.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::rig::CallRig;
use support::sipp::Sipp;
use support::video::{
    MediaSection, VideoEcho, call_with_video, echo_rig, inbound_video, section, sip_body,
    wait_frames_decoded, wait_picture,
};
use support::wait_until;
use tokio::time::Instant;

/// Asterisk's payload type for VP8.
const SIP_VP8_PT: &str = "100";
/// SIPp's pause between the ACK and the first re-INVITE (`-d`): time for the test to see video
/// flow first.
const FIRST_REINVITE_AFTER_MS: u32 = 8_000;
/// In-flight packets may still arrive this long after the gateway's 200 to the removal.
const GRACE: Duration = Duration::from_millis(300);
/// How long the test watches the SIP side's video port stay silent after the removal.
const SILENT_WINDOW: Duration = Duration::from_millis(1500);
/// Sequence numbers the video toward Asterisk may skip in all: none are lost on loopback, but
/// the socket buffer may drop a few.
const MAX_SKIPPED: u64 = 5;

/// Removal: the gateway's 200 declines video (`m=video 0`, RFC 3264 section 8.4: a stream is
/// removed by setting its port to 0 in a new offer, and the answer must too) and no video from
/// the browser reaches the SIP side's video port, while audio still flows both ways. Re-adding:
/// the gateway's 200 has an active VP8 line at Asterisk's payload type on the same port as in
/// its first SDP (the port was never released), the browser's video reaches Asterisk's port
/// again, and the browser decodes the echoed video again: a picture, not black. No RTCP goes to
/// the removed stream (RFC 3264 section 6), and the video toward Asterisk, which keeps its SSRC,
/// goes on without a sequence-number gap (RFC 3550 section 5.1), else it counts as loss.
#[tokio::test]
async fn removing_and_re_adding_video_by_re_invite_stops_and_resumes_video() {
    let after = FIRST_REINVITE_AFTER_MS.to_string();
    let (echo, mut rig) = echo_rig("uas_video_reinvite.xml", &["-d", &after]).await;
    let outcome = scenario(&mut rig, &echo).await;
    if outcome.is_err() {
        eprintln!("[video_reinvite] echo: {}", echo.summary());
    }
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig, echo: &VideoEcho) -> Result<()> {
    call_with_video(rig).await?;

    let invite = rig
        .sipp
        .nth_received(1, |m| m.is_request("INVITE"))
        .context("SIPp received no INVITE")?;
    let first_sdp = sip_body(&invite.text);
    let first_video = section(&first_sdp, "video", "the gateway's INVITE")?;
    let first_port = first_video
        .port()
        .filter(|p| *p != 0)
        .with_context(|| format!("the gateway's INVITE should offer video:\n{first_sdp}"))?;

    // Video flows both ways before Asterisk touches it.
    wait_until(
        "video RTP at the SIP side's video port",
        Duration::from_secs(10),
        || echo.received() > 0,
    )
    .await?;
    let flowing = wait_frames_decoded(&rig.browser, 0, Duration::from_secs(15))
        .await
        .context("the echoed video should reach the browser before the re-INVITEs")?;
    ensure!(
        rig.sipp.sent_invites() == 0,
        "test timing: SIPp re-INVITEd before video was seen flowing; raise FIRST_REINVITE_AFTER_MS"
    );
    let jumps_before = echo.seq_jumps();
    eprintln!(
        "[video_reinvite] before: {} packets at the SIP side's video port ({jumps_before:?}); browser {flowing:?}",
        echo.received()
    );

    // Removal.
    let removal = rig
        .sipp
        .wait_nth_received(1, Duration::from_secs(15), |m| {
            m.is_response(200, Some("INVITE"))
        })
        .await?;
    let removal_sdp = sip_body(&removal.text);
    let audio = section(&removal_sdp, "audio", "the gateway's 200 to the removal")?;
    let video = section(&removal_sdp, "video", "the gateway's 200 to the removal")?;
    eprintln!(
        "[video_reinvite] 200 to the removal: {} | {}",
        audio.m_line, video.m_line
    );
    ensure!(
        video.port() == Some(0) && audio.port().is_some_and(|p| p != 0),
        "the answer to a re-INVITE with `m=video 0` should keep audio and say `m=video 0` (RFC 3264 section 8.4):\n{removal_sdp}"
    );
    tokio::time::sleep(GRACE).await;
    let removed_at = Instant::now();
    let port_before = echo.received();
    let video_before = inbound_video(&rig.browser).await?;
    let audio_before = rig.inbound_audio().await?;
    tokio::time::sleep(SILENT_WINDOW).await;
    let port_after = echo.received();
    let video_after = inbound_video(&rig.browser).await?;
    let audio_after = rig.inbound_audio().await?;
    eprintln!(
        "[video_reinvite] removed, over {SILENT_WINDOW:?}: {} packets at the SIP side's video port ({port_before} -> {port_after}); browser received video packets {} -> {}; browser audio packets {} -> {}, energy {:.4} -> {:.4}",
        port_after - port_before,
        video_before.packets_received,
        video_after.packets_received,
        audio_before.packets_received,
        audio_after.packets_received,
        audio_before.total_audio_energy,
        audio_after.total_audio_energy
    );
    ensure!(
        port_after == port_before,
        "video removed by Asterisk (m=video 0) should no longer reach its video port: {} packets arrived in the {SILENT_WINDOW:?} after the gateway's 200 (+{GRACE:?})",
        port_after - port_before
    );
    ensure!(
        audio_after.packets_received > audio_before.packets_received
            && audio_after.total_audio_energy > audio_before.total_audio_energy,
        "audio should still flow while video is removed: {audio_before:?} -> {audio_after:?}"
    );
    ensure!(
        rig.sipp.sent_invites() == 1,
        "test timing: SIPp re-added video before the silent window ended"
    );

    // Re-adding.
    let readd = rig
        .sipp
        .wait_nth_received(2, Duration::from_secs(15), |m| {
            m.is_response(200, Some("INVITE"))
        })
        .await?;
    // Until SIPp sent the re-add, on the test's clock (SIPp logs the wall clock).
    let readd_sent = sent_nth_invite(&rig.sipp, 2).context("SIPp logged no second re-INVITE")?;
    let readded_at = instant_of_unix_ms(readd_sent);
    let rtcp_while_removed = echo
        .rtcp()
        .iter()
        .filter(|r| r.at >= removed_at && r.at < readded_at)
        .count();
    eprintln!(
        "[video_reinvite] RTCP at the SIP side's video RTCP port while video was removed ({} ms): {rtcp_while_removed} datagrams",
        readded_at.saturating_duration_since(removed_at).as_millis()
    );
    ensure!(
        rtcp_while_removed == 0,
        "no RTCP may be sent for a removed stream (RFC 3264 section 6), yet {rtcp_while_removed} datagrams reached the SIP side's video RTCP port while video was removed"
    );
    let readd_sdp = sip_body(&readd.text);
    let video = section(&readd_sdp, "video", "the gateway's 200 to the re-add")?;
    eprintln!(
        "[video_reinvite] 200 to the re-add: {} | {} (first SDP's video port {first_port})",
        video.m_line,
        video.lines.join(" | ")
    );
    check_readded(&video, first_port, &readd_sdp)?;
    let port_at_readd = echo.received();
    let decoded_at_readd = inbound_video(&rig.browser).await?;
    wait_until(
        "video RTP at the SIP side's video port again after the re-add",
        Duration::from_secs(5),
        || echo.received() > port_at_readd,
    )
    .await?;
    let resumed = wait_frames_decoded(
        &rig.browser,
        decoded_at_readd.frames_decoded,
        Duration::from_secs(10),
    )
    .await
    .context("the browser should decode the echoed video again after the re-add")?;
    let picture = wait_picture(&rig.browser, "remote", Duration::from_secs(10)).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = inbound_video(&rig.browser).await?;
    eprintln!(
        "[video_reinvite] re-added: {} packets at the SIP side's video port since; browser {decoded_at_readd:?} -> {resumed:?}, 1 s later {later:?}; frame {picture:?}",
        echo.received() - port_at_readd
    );
    ensure!(
        later.frames_decoded > resumed.frames_decoded + 5,
        "the video should keep being decoded after the re-add: {resumed:?}, 1 s later {later:?}"
    );
    let jumps_after = echo.seq_jumps();
    let skipped = jumps_after.skipped - jumps_before.skipped;
    eprintln!(
        "[video_reinvite] the gateway's video toward Asterisk skipped {skipped} sequence numbers across the removal (largest step {}); the browser counts {} received packets lost ({} before the removal)",
        jumps_after.largest, later.packets_lost, flowing.packets_lost
    );

    rig.hangup().await?;
    let ended = rig.wait_state("ended", Duration::from_secs(10)).await?;
    eprintln!("[video_reinvite] {ended}");
    rig.sipp.expect_success(Duration::from_secs(10)).await?;

    // Last, so that the checks above report first: the stream toward Asterisk keeps its SSRC
    // across the removal, so its sequence numbers must go on without a gap (RFC 3550 section
    // 5.1: one per packet sent); a gap is counted as loss by Asterisk's RTCP (section 6.4.1,
    // A.3), by the browser that gets it back here, and in the call's `ended` report.
    ensure!(
        skipped <= MAX_SKIPPED,
        "after video was removed and re-added, the gateway's video RTP toward Asterisk (same SSRC) skipped {skipped} sequence numbers (largest step {}), one per packet the browser sent while video was removed: Asterisk counts them as lost, the browser (receiving the echo) reports {} video packets lost and the call's `ended` report says video_sip loss {}% on a loopback call",
        jumps_after.largest,
        later.packets_lost,
        ended["stats"]["video_sip"]["loss_pct"]
    );
    Ok(())
}

/// The gateway's video line after the re-add: active on the port of its first SDP, VP8 at
/// Asterisk's payload type, sending and receiving.
fn check_readded(video: &MediaSection, first_port: u16, sdp: &str) -> Result<()> {
    ensure!(
        video.port() == Some(first_port),
        "the answer re-adding video should use the gateway's video port of its first SDP, {first_port} (RFC 3264 section 8.4), has {:?}:\n{sdp}",
        video.port()
    );
    ensure!(
        video.formats() == [SIP_VP8_PT]
            && video
                .attributes("rtpmap")
                .any(|v| v == format!("{SIP_VP8_PT} VP8/90000")),
        "the answer re-adding video should have VP8 at Asterisk's payload type {SIP_VP8_PT}:\n{sdp}"
    );
    ensure!(
        !video
            .lines
            .iter()
            .any(|l| l == "a=inactive" || l == "a=recvonly" || l == "a=sendonly"),
        "the re-added video should be sendrecv again:\n{sdp}"
    );
    Ok(())
}

/// When SIPp sent its `nth` (from 1) re-INVITE: ms since the Unix epoch.
fn sent_nth_invite(sipp: &Sipp, nth: usize) -> Option<f64> {
    sipp.logged()
        .into_iter()
        .filter(|m| m.sent && m.is_request("INVITE"))
        .nth(nth - 1)
        .map(|m| m.at_unix_ms)
}

/// The [`Instant`] of a wall-clock time (ms since the Unix epoch) in the recent past.
fn instant_of_unix_ms(unix_ms: f64) -> Instant {
    // SIPp's log has only the wall clock.
    #[allow(clippy::disallowed_methods)]
    let now_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let ago = Duration::from_secs_f64(((now_unix_ms - unix_ms) / 1000.0).max(0.0));
    Instant::now() - ago
}
