//! Keyframe requests at the gateway's SIP-side video RTCP port that do not come from the call's
//! SIP side, or do not name the video the gateway sends, are ignored (issue 10; hostile input as
//! in issue 8): otherwise anyone who can reach the port could make the browser encode keyframes
//! at will. The browser calls 600 with its camera; Asterisk (SIPp `uas_echo_video_keyed`)
//! answers VP8 at 100 on a video port the test plays itself ([`VideoEcho`]) at 127.0.0.1.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use support::rig::CallRig;
use support::video::{
    VideoEcho, call_with_video, echo_rig, keyframe_requests_received, outbound_video, rr_fir,
    rtcp_port, section, sip_body, wait_frames_decoded,
};
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// How long after `connected` the gateway's own keyframe requests to the browser (at video
/// start and 1 s later) are surely counted by it.
const SETTLE: Duration = Duration::from_secs(3);
/// How long an ignored request is watched for an effect.
const WATCH: Duration = Duration::from_secs(2);
/// How long the browser may take to count the relayed request of the control.
const RELAY_TIMEOUT: Duration = Duration::from_secs(3);
/// The SIP side's keyframe requests in `/metrics`.
const FROM_SIP: &str = "webrtc_gateway_keyframe_requests_total{from=\"sip\"}";
/// Not the call's SIP side: another loopback address.
const STRANGER: &str = "127.0.0.2";
/// The call's SIP side: the address of Asterisk's SDP (`c=`), where the test's echo runs.
const SIP_SIDE: &str = "127.0.0.1";

/// RFC 5104 section 4.3.1.2: a FIR names the media sender it asks in its FCI; RFC 4961
/// (symmetric RTP): the SIP side is the address its media comes from, and plain RTCP carries
/// nothing else to authenticate it, so only that address is a source of keyframe requests. Three RR+FIR compounds go to the gateway's
/// video RTCP port (the INVITE's video port + 1): from 127.0.0.2 naming the gateway's video SSRC,
/// and from 127.0.0.1 naming another SSRC, must each leave
/// `webrtc_gateway_keyframe_requests_total{from="sip"}` at 0 and the browser's sender without a
/// new PLI for 2 s; then the control, from 127.0.0.1 naming the gateway's SSRC, must be counted
/// and reach the browser as a PLI.
#[tokio::test]
async fn keyframe_requests_from_a_stranger_or_for_another_stream_are_ignored() {
    let (echo, mut rig) = echo_rig("uas_echo_video_keyed.xml", &[]).await;
    let outcome = scenario(&mut rig, &echo).await;
    if outcome.is_err() {
        eprintln!("[video_keyframe_from_stranger] echo: {}", echo.summary());
    }
    rig.finish(outcome).await;
}

/// What the test watches after each request.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    /// `keyframe_requests_total{from="sip"}`.
    from_sip: f64,
    /// PLI + FIR the browser's video sender received.
    browser: u64,
}

async fn scenario(rig: &mut CallRig, echo: &VideoEcho) -> Result<()> {
    let test = "video_keyframe_from_stranger";
    call_with_video(rig).await?;
    let connected = Instant::now();

    let invite = rig
        .sipp
        .logged()
        .into_iter()
        .find(|m| !m.sent && m.is_request("INVITE"))
        .context("SIPp received no INVITE")?;
    let invite_sdp = sip_body(&invite.text);
    let video = section(&invite_sdp, "video", "the gateway's INVITE")?;
    let port = rtcp_port(&video)?;
    wait_frames_decoded(&rig.browser, 0, Duration::from_secs(15))
        .await
        .context("the echoed video should flow before the keyframe requests")?;
    tokio::time::sleep_until(connected + SETTLE).await;
    let ours = *echo
        .ssrcs()
        .first()
        .context("no video RTP from the gateway reached the SIP side's video port")?;
    let start = seen(rig).await?;
    ensure!(
        start.from_sip == 0.0,
        "test premise: nobody on the SIP side asked for a keyframe yet, {FROM_SIP} is {}",
        start.from_sip
    );

    // A stranger names our SSRC.
    let stranger = UdpSocket::bind((STRANGER, 0))
        .await
        .with_context(|| format!("binding {STRANGER}:0 (a loopback address)"))?;
    stranger
        .send_to(&rr_fir(0x5354_5247, ours, 1), (SIP_SIDE, port))
        .await?;
    let after_stranger = watch(rig, start, WATCH).await?;
    eprintln!(
        "[{test}] RR+FIR for SSRC {ours:08x} from {} to the gateway's video RTCP port {port} ({}): {start:?} -> {after_stranger:?} over {WATCH:?}",
        stranger.local_addr()?,
        video.m_line
    );
    ensure!(
        after_stranger == start,
        "a FIR from {STRANGER}, which is not the call's SIP side ({SIP_SIDE}), should be ignored; over {WATCH:?} {FROM_SIP} went {} -> {} and the browser's sender PLI+FIR {} -> {}",
        start.from_sip,
        after_stranger.from_sip,
        start.browser,
        after_stranger.browser
    );

    // The SIP side's address names another stream.
    let sip_side = UdpSocket::bind((SIP_SIDE, 0)).await?;
    let other = ours.wrapping_add(1);
    sip_side
        .send_to(&rr_fir(0x5354_5247, other, 2), (SIP_SIDE, port))
        .await?;
    let after_other = watch(rig, start, WATCH).await?;
    eprintln!(
        "[{test}] RR+FIR for SSRC {other:08x} (not ours) from {}: {start:?} -> {after_other:?} over {WATCH:?}",
        sip_side.local_addr()?
    );
    ensure!(
        after_other == start,
        "a FIR naming SSRC {other:08x}, not the gateway's video SSRC {ours:08x}, should be ignored (RFC 5104 section 4.3.1.2); over {WATCH:?} {FROM_SIP} went {} -> {} and the browser's sender PLI+FIR {} -> {}",
        start.from_sip,
        after_other.from_sip,
        start.browser,
        after_other.browser
    );

    // The control: the SIP side names our SSRC.
    sip_side
        .send_to(&rr_fir(0x5354_5247, ours, 3), (SIP_SIDE, port))
        .await?;
    let sent = Instant::now();
    let control = loop {
        let now = seen(rig).await?;
        if now.from_sip >= 1.0 && now.browser > start.browser {
            break now;
        }
        if sent.elapsed() >= RELAY_TIMEOUT {
            bail!(
                "control: a FIR for SSRC {ours:08x} from the SIP side's address {SIP_SIDE} should be counted in {FROM_SIP} and reach the browser as a PLI within {RELAY_TIMEOUT:?}: {start:?} -> {now:?} (the test cannot tell an ignored request from one it does not see)"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "[{test}] control: RR+FIR for SSRC {ours:08x} from {}: {start:?} -> {control:?} within {} ms",
        sip_side.local_addr()?,
        sent.elapsed().as_millis()
    );

    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await
}

/// The metric and the browser's count now.
async fn seen(rig: &CallRig) -> Result<Seen> {
    Ok(Seen {
        from_sip: rig.gateway.metric(FROM_SIP).await?,
        browser: keyframe_requests_received(&outbound_video(&rig.browser).await?)?,
    })
}

/// Polls for `window`, returning at the first change from `start` (else what was seen last).
async fn watch(rig: &CallRig, start: Seen, window: Duration) -> Result<Seen> {
    let until = Instant::now() + window;
    loop {
        let now = seen(rig).await?;
        if now != start || Instant::now() >= until {
            return Ok(now);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
