//! The gateway asks an inbound video call's caller for keyframes by SIP INFO when its SDP lists
//! no RTCP keyframe feedback (issue 10, RFC 5168). Asterisk calls a browser user with audio and
//! VP8 video (SIPp `uac_inbound_video_no_feedback`, trunk mode, no `a=rtcp-fb` line) and the
//! device accepts with its camera.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use support::gateway::GatewayOptions;
use support::inbound::{InboundRig, first};
use support::sipp::SippOptions;
use support::sipp_log::LoggedMessage;
use support::video::{section, sip_body};
use tokio::time::Instant;

/// How long after `connected` the gateway's own requests (at video start and 1 s later) are
/// surely sent.
const SETTLE: Duration = Duration::from_millis(2500);
/// The gateway's own keyframe requests in `/metrics`.
const FROM_GATEWAY: &str = "webrtc_gateway_keyframe_requests_total{from=\"gateway\"}";

/// RFC 5168 section 7.1: a video update request is an INFO with `Content-Type:
/// application/media_control+xml` and a `<picture_fast_update/>` body. The caller's offer lists
/// no `ccm fir` or `nack pli` (RFC 4585 section 4.2, RFC 5104 section 7.1), so it may know only
/// that: when video starts the gateway must send it at least one such in-dialog INFO (same
/// Call-ID, the caller's tag as To tag), which SIPp answers 200; the call then ends normally
/// (the device hangs up, SIPp answers the BYE).
#[tokio::test]
async fn an_inbound_video_call_without_rtcp_feedback_gets_info_picture_fast_update() {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &InboundRig) -> Result<()> {
    let test = "inbound_video_keyframe_info";
    let page = rig.device("page").await?;
    let caller = rig
        .call(
            "uac_inbound_video_no_feedback.xml",
            "alice",
            &SippOptions::default(),
        )
        .await?;
    let incoming = page.wait_incoming_video(Duration::from_secs(10)).await?;
    let call_id = incoming["call_id"].as_str().unwrap_or_default().to_owned();
    page.accept_video(&call_id, true).await?;
    let answer = page.wait_answer(&call_id, Duration::from_secs(10)).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    ensure!(
        section(sdp, "video", "the gateway's answer to the device")?
            .port()
            .is_some_and(|p| p != 0),
        "the answer to the device should accept video:\n{sdp}"
    );
    page.wait_state(&call_id, "connected", Duration::from_secs(15))
        .await?;
    let connected = Instant::now();

    let log = rig.caller_log(caller).await;
    let invite = first(&log, |m| m.sent && m.is_request("INVITE"))
        .context("SIPp logged no INVITE")?
        .clone();
    let invite_sdp = sip_body(&invite.text);
    ensure!(
        !invite_sdp.contains("a=rtcp-fb"),
        "test premise: the caller's offer should list no RTCP feedback:\n{invite_sdp}"
    );
    let ok = first(&log, |m| !m.sent && m.is_response(200, Some("INVITE")))
        .context("SIPp received no 200 to its INVITE")?
        .clone();
    let ok_sdp = sip_body(&ok.text);
    let video = section(&ok_sdp, "video", "the gateway's 200 to the INVITE")?;
    ensure!(
        video.port().is_some_and(|p| p != 0),
        "the device accepted with its camera, so the 200 should accept video:\n{ok_sdp}"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let first_info = loop {
        let log = rig.caller_log(caller).await;
        if let Some(info) = log.iter().find(|m| !m.sent && m.is_request("INFO")) {
            break info.clone();
        }
        if Instant::now() >= deadline {
            bail!(
                "the caller's SDP lists no RTCP keyframe feedback, yet SIPp received no INFO within 10 s of connected (the gateway asks for a keyframe when video starts, RFC 5168 section 7.1)"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep_until(connected + SETTLE).await;
    let video_stats = page.inbound_video().await?;
    let log = rig.caller_log(caller).await;
    let infos: Vec<&LoggedMessage> = log
        .iter()
        .filter(|m| !m.sent && m.is_request("INFO"))
        .collect();
    let answered = log
        .iter()
        .filter(|m| m.sent && m.is_response(200, Some("INFO")))
        .count();
    let ack_at = first(&log, |m| m.sent && m.is_request("ACK")).map(|m| m.at_unix_ms);
    let at: Vec<String> = infos
        .iter()
        .map(|m| ack_at.map_or("-".to_owned(), |a| format!("{:.0}", m.at_unix_ms - a)))
        .collect();
    let own = rig.gateway.metric(FROM_GATEWAY).await?;
    eprintln!(
        "[{test}] 200's video: {} | {}; INFOs received by SIPp {} (ms after its ACK: {}), answered 200: {answered}; {FROM_GATEWAY} {own}; device video {video_stats:?}\nfirst INFO:\n{}",
        video.m_line,
        video.lines.join(" | "),
        infos.len(),
        at.join(", "),
        first_info.text
    );
    let call_header = invite.header("Call-ID");
    let caller_tag = invite
        .header("From")
        .and_then(|f| f.split(";tag=").nth(1).map(str::to_owned));
    for info in &infos {
        let content_type = info.header("Content-Type").unwrap_or_default();
        ensure!(
            content_type.eq_ignore_ascii_case("application/media_control+xml"),
            "the gateway's INFO should have Content-Type application/media_control+xml (RFC 5168 section 7.1), has {content_type:?}:\n{}",
            info.text
        );
        ensure!(
            sip_body(&info.text).contains("<picture_fast_update/>"),
            "the gateway's INFO should carry a <picture_fast_update/> body (RFC 5168 section 7.1):\n{}",
            info.text
        );
        let to_tag = info
            .header("To")
            .and_then(|t| t.split(";tag=").nth(1).map(str::to_owned));
        ensure!(
            info.header("Call-ID") == call_header && to_tag.is_some() && to_tag == caller_tag,
            "the INFO should be in the call's dialog (Call-ID {call_header:?}, To tag {caller_tag:?} = the caller's From tag):\n{}",
            info.text
        );
    }
    ensure!(
        answered == infos.len(),
        "SIPp should have answered every INFO with 200: {} INFOs, {answered} answers",
        infos.len()
    );

    page.hangup(&call_id).await?;
    page.wait_state(&call_id, "ended", Duration::from_secs(10))
        .await?;
    rig.caller_success(caller, Duration::from_secs(10)).await
}
