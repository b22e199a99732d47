//! Issue 10 point 2: "periodic keyframe request on call start and after an ICE restart". A video
//! call (Chromium's fake camera, SIPp answering VP8 and echoing it) restarts ICE mid-call
//! (RFC 8839 section 4.4.1.1.1): the gateway asks both sides for a keyframe again, so the browser
//! gets a PLI (RFC 4585 section 6.3.1) from it after the restart, and video keeps decoding.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use support::incall::{self, restart_ice};
use support::rig::{CallOptions, CallRig, RigOptions};
use support::video::{
    inbound_video, keyframe_requests_received, outbound_video, wait_frames_decoded,
};

const GATEWAY_REQUESTS: &str = "webrtc_gateway_keyframe_requests_total{from=\"gateway\"}";

/// Video call, settle, restartIce + offer -> answer; the gateway's own keyframe requests grow by
/// two (at the restart and 1 s later), the browser's pliCount grows, frames keep decoding.
#[tokio::test]
async fn ice_restart_asks_both_sides_for_a_keyframe() {
    let mut rig = incall::start("uas_echo_video.xml", &RigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    let test = "video_ice_restart";
    rig.place_call(&CallOptions {
        video: true,
        ..CallOptions::default()
    })
    .await?;
    rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    wait_frames_decoded(&rig.browser, 0, Duration::from_secs(15))
        .await
        .context("video should come back through the gateway before the restart")?;
    // The requests of the video start (at once and 1 s later) are over after 2.5 s.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let own_before = rig.gateway.metric(GATEWAY_REQUESTS).await?;
    let plis_before = keyframe_requests_received(&outbound_video(&rig.browser).await?)?;
    let frames_before = inbound_video(&rig.browser).await?.frames_decoded;
    ensure!(
        own_before >= 2.0,
        "the gateway should have asked for keyframes at video start (twice per side counted once each), {GATEWAY_REQUESTS} = {own_before}"
    );

    restart_ice(rig).await?;

    // Two more of the gateway's own requests (at the restart, 1 s later), and a PLI at the browser.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let (own_after, plis_after) = loop {
        let own = rig.gateway.metric(GATEWAY_REQUESTS).await?;
        let plis = keyframe_requests_received(&outbound_video(&rig.browser).await?)?;
        if own >= own_before + 2.0 && plis > plis_before {
            break (own, plis);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "5 s after the restart: {GATEWAY_REQUESTS} {own_before} -> {own} (want +2), browser pliCount {plis_before} -> {plis} (want more)"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let decoding = wait_frames_decoded(&rig.browser, frames_before, Duration::from_secs(10))
        .await
        .context("video should keep decoding after the ICE restart")?;
    eprintln!(
        "[{test}] gateway keyframe requests {own_before} -> {own_after}, browser pliCount {plis_before} -> {plis_after}, frames decoded {frames_before} -> {}",
        decoding.frames_decoded
    );
    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await
}
