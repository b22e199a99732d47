//! The SIP side asks for a video keyframe and the browser is asked (issue 10). Asterisk calls a
//! browser user with audio and video (SIPp, trunk mode) and the device accepts with its camera;
//! mid-call Asterisk asks for a keyframe of the video it receives, by SIP INFO
//! `picture_fast_update` (RFC 5168) or by RTCP FIR (RFC 5104 section 4.3.1). The gateway must
//! pass it on to the browser as a PLI (RFC 4585 section 6.3.1): the browser's sender counts it
//! (`outbound-rtp` `pliCount`), and `/metrics` counts it as
//! `webrtc_gateway_keyframe_requests_total{from="sip"}`.
//!
//! The gateway asks the browser for keyframes on its own when video starts and 1 s later, so the
//! tests read the browser's count 3 s after `connected`, before Asterisk asks.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use support::device::Device;
use support::gateway::GatewayOptions;
use support::inbound::{Caller, InboundRig, first};
use support::sipp::SippOptions;
use support::video::{VideoEcho, keyframe_requests_received, rr_fir, section, sip_body};
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// How long after `connected` the gateway's own keyframe requests (at video start and 1 s
/// later) are surely counted by the browser.
const SETTLE: Duration = Duration::from_secs(3);
/// How long the browser may take to count the PLI after Asterisk asked.
const RELAY_TIMEOUT: Duration = Duration::from_secs(3);
/// The keyframe series of `/metrics` this file checks.
const FROM_SIP: &str = "webrtc_gateway_keyframe_requests_total{from=\"sip\"}";

/// Asterisk sends an in-dialog INFO `application/media_control+xml` with the RFC 5168 section
/// 7.1 `picture_fast_update` body (as chan_pjsip does for a video update); the gateway answers
/// 200 and sends the browser a PLI.
#[tokio::test]
async fn sip_info_picture_fast_update_makes_the_gateway_send_the_browser_a_pli() {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = info_scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn info_scenario(rig: &InboundRig) -> Result<()> {
    let page = rig.device("page").await?;
    // The INFO goes 8 s after the ACK: the count is read 3 s after connected, well before.
    let caller = rig
        .call(
            "uac_inbound_video_info.xml",
            "alice",
            &sipp_options(8_000, Vec::new()),
        )
        .await?;
    let (call_id, _) = accept_video_call(&page).await?;
    let connected = Instant::now();
    page.wait_frames_decoded(0, Duration::from_secs(15))
        .await
        .context("the echoed video should flow before Asterisk asks for a keyframe")?;
    tokio::time::sleep_until(connected + SETTLE).await;
    let before = keyframe_requests_received(&page.outbound_video().await?)?;
    let sip_before = rig.gateway.metric(FROM_SIP).await?;
    ensure!(
        info_sent(rig, caller).await.is_none(),
        "test timing: SIPp sent its INFO before the test read the browser's PLI count (3 s after connected); raise the -d pause"
    );

    let deadline = Instant::now() + Duration::from_secs(15);
    let info_at = loop {
        if let Some(at) = info_sent(rig, caller).await {
            break at;
        }
        if Instant::now() >= deadline {
            bail!("SIPp sent no INFO within 15 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let after = wait_keyframe_requests_above(&page, before, RELAY_TIMEOUT)
        .await
        .context("the INFO picture_fast_update should reach the browser as a PLI")?;
    let relayed_ms = unix_ms() - info_at;
    let log = rig.caller_log(caller).await;
    let ok = first(&log, |m| !m.sent && m.is_response(200, Some("INFO")));
    ensure!(
        ok.is_some(),
        "the gateway should answer the INFO picture_fast_update with 200 (RFC 5168 section 6)"
    );
    let sip_after = rig.gateway.metric(FROM_SIP).await?;
    eprintln!(
        "[video_keyframe_from_sip info] browser sender keyframe requests (PLI + FIR): {before} before the INFO, {after} seen {relayed_ms:.0} ms after SIPp sent it; {FROM_SIP}: {sip_before} -> {sip_after}"
    );
    ensure!(
        sip_after > sip_before,
        "{FROM_SIP} should count the INFO: {sip_before} before, {sip_after} after"
    );

    page.wait_state(&call_id, "ended", Duration::from_secs(20))
        .await?;
    rig.caller_success(caller, Duration::from_secs(10)).await
}

/// Asterisk's video RTCP sends the gateway a compound RR + FIR (RFC 5104 section 4.3.1, PT 206
/// FMT 4) naming the SSRC of the video it receives from the gateway, at the gateway's video RTCP
/// port (the 200's video port + 1: no `a=rtcp`, RFC 3550 section 11); the gateway sends the
/// browser a PLI. The test plays Asterisk's video port itself (`-key vport N`) to learn that
/// SSRC.
#[tokio::test]
async fn rtcp_fir_from_the_sip_side_makes_the_gateway_send_the_browser_a_pli() {
    let echo = VideoEcho::start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = fir_scenario(&rig, &echo).await;
    if outcome.is_err() {
        eprintln!(
            "[video_keyframe_from_sip fir] echo: {} echoed, SSRCs {:08x?}",
            echo.echoed(),
            echo.ssrcs()
        );
    }
    rig.finish(outcome).await;
}

async fn fir_scenario(rig: &InboundRig, echo: &VideoEcho) -> Result<()> {
    let page = rig.device("page").await?;
    let vport = vec![
        "-key".to_owned(),
        "vport".to_owned(),
        echo.rtp_port().to_string(),
    ];
    let caller = rig
        .call(
            "uac_inbound_video_keyed.xml",
            "alice",
            &sipp_options(12_000, vport),
        )
        .await?;
    let (call_id, _) = accept_video_call(&page).await?;
    let connected = Instant::now();
    let log = rig.caller_log(caller).await;
    let ok = first(&log, |m| !m.sent && m.is_response(200, Some("INVITE")))
        .context("SIPp received no 200 to its INVITE")?;
    let ok = sip_body(&ok.text);
    let video = section(&ok, "video", "the gateway's 200 to the INVITE")?;
    let rtcp_port = match video.attributes("rtcp").next() {
        Some(rtcp) => rtcp
            .split_whitespace()
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .with_context(|| format!("unparsable a=rtcp:{rtcp}"))?,
        None => video
            .port()
            .filter(|p| *p != 0)
            .with_context(|| format!("the 200 should accept video:\n{ok}"))?
            .checked_add(1)
            .context("video port 65535")?,
    };
    page.wait_frames_decoded(0, Duration::from_secs(15))
        .await
        .context("the echoed video should flow before Asterisk asks for a keyframe")?;
    tokio::time::sleep_until(connected + SETTLE).await;
    let target = *echo
        .ssrcs()
        .first()
        .context("no video RTP from the gateway reached the SIP side's video port")?;
    let before = keyframe_requests_received(&page.outbound_video().await?)?;
    let sip_before = rig.gateway.metric(FROM_SIP).await?;

    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let fir = rr_fir(0x5150_0001, target, 1);
    socket
        .send_to(&fir, ("127.0.0.1", rtcp_port))
        .await
        .with_context(|| format!("sending the FIR to 127.0.0.1:{rtcp_port}"))?;
    let sent = Instant::now();
    let after = wait_keyframe_requests_above(&page, before, RELAY_TIMEOUT)
        .await
        .with_context(|| {
            format!(
                "an RTCP FIR for SSRC {target:08x} at the gateway's video RTCP port {rtcp_port} should reach the browser as a PLI"
            )
        })?;
    let relayed_ms = sent.elapsed().as_millis();
    let sip_after = rig.gateway.metric(FROM_SIP).await?;
    eprintln!(
        "[video_keyframe_from_sip fir] {} ({} bytes) for SSRC {target:08x} to port {rtcp_port}; browser sender keyframe requests: {before} before, {after} within {relayed_ms} ms; {FROM_SIP}: {sip_before} -> {sip_after}",
        video.m_line,
        fir.len()
    );
    ensure!(
        sip_after > sip_before,
        "{FROM_SIP} should count the FIR: {sip_before} before, {sip_after} after"
    );

    page.wait_state(&call_id, "ended", Duration::from_secs(20))
        .await?;
    rig.caller_success(caller, Duration::from_secs(10)).await
}

/// SIPp with `-d ms` (its `<pause/>`) and `extra` arguments.
fn sipp_options(pause_ms: u32, mut extra: Vec<String>) -> SippOptions {
    extra.extend(["-d".to_owned(), pause_ms.to_string()]);
    SippOptions {
        extra,
        ..SippOptions::default()
    }
}

/// Waits for the incoming video call, accepts it with the camera and waits until connected;
/// returns the call id and the gateway's answer.
async fn accept_video_call(page: &Device<'_>) -> Result<(String, Value)> {
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
    Ok((call_id, answer))
}

/// Polls until the device's video sender has received more than `before` keyframe requests.
async fn wait_keyframe_requests_above(
    page: &Device<'_>,
    before: u64,
    timeout: Duration,
) -> Result<u64> {
    let deadline = Instant::now() + timeout;
    loop {
        let now = keyframe_requests_received(&page.outbound_video().await?)?;
        if now > before {
            return Ok(now);
        }
        if Instant::now() >= deadline {
            bail!(
                "the browser's video sender received no new PLI/FIR within {timeout:?} (still {now}); its outbound-rtp: {}",
                page.outbound_video().await?
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// When SIPp sent its INFO (ms since the Unix epoch), if it did.
async fn info_sent(rig: &InboundRig, caller: Caller) -> Option<f64> {
    let log = rig.caller_log(caller).await;
    first(&log, |m| m.sent && m.is_request("INFO")).map(|m| m.at_unix_ms)
}

/// Now, in ms since the Unix epoch (the clock of SIPp's message log).
fn unix_ms() -> f64 {
    // The test compares with SIPp's log, which has only the wall clock.
    #[allow(clippy::disallowed_methods)]
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}
