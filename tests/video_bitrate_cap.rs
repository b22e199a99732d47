//! Issue 10 point 2: the gateway caps the video the browser sends at `media.max_video_kbps`,
//! with `b=AS` in the answer's video section (RFC 4566 section 5.8) and REMB
//! (draft-alvestrand-rmcat-remb). What the user would notice: the browser's video send rate.
//! A control run with a high cap shows the measurement can see the difference.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::gateway::GatewayOptions;
use support::rig::{CallOptions, CallRig, RigOptions};
use support::video::{outbound_video, section, wait_frames_decoded};

/// How long the browser's encoder may take to settle on a rate, then how long it is measured.
const WARM_UP: Duration = Duration::from_secs(4);
const MEASURE: Duration = Duration::from_secs(4);

/// The video kbit/s the browser sends once settled under `cap` (`media.max_video_kbps`), and its
/// last outbound video statistics.
async fn send_rate(cap: u32) -> (f64, String) {
    let options = RigOptions {
        gateway: GatewayOptions::default().config_key("media.max_video_kbps", &cap.to_string()),
        ..RigOptions::default()
    };
    let mut rig = CallRig::start_with("uas_echo_video.xml", &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = measure(&mut rig, cap).await;
    let measured = outcome.as_ref().ok().cloned();
    // Panics with the logs of every peer when the call failed.
    rig.finish(outcome.map(|_| ())).await;
    measured.unwrap_or_default()
}

async fn measure(rig: &mut CallRig, cap: u32) -> Result<(f64, String)> {
    rig.place_call(&CallOptions {
        video: true,
        ..CallOptions::default()
    })
    .await?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    let video = section(sdp, "video", "the gateway's answer to the browser")?;
    let bandwidth = format!("b=AS:{cap}");
    ensure!(
        video.lines.iter().any(|l| l == &bandwidth),
        "the answer's video section should carry {bandwidth}:\n{sdp}"
    );
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    wait_frames_decoded(&rig.browser, 0, Duration::from_secs(15))
        .await
        .context("video should flow")?;
    tokio::time::sleep(WARM_UP).await;
    let before = outbound_video(&rig.browser).await?;
    tokio::time::sleep(MEASURE).await;
    let after = outbound_video(&rig.browser).await?;
    let bytes =
        after["bytesSent"].as_f64().unwrap_or(0.0) - before["bytesSent"].as_f64().unwrap_or(0.0);
    let kbps = bytes * 8.0 / MEASURE.as_secs_f64() / 1000.0;
    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await?;
    Ok((kbps, format!("{after}")))
}

/// A cap of 150 kbit/s holds the browser's video to about that (payload bytes; 25 % margin for
/// the encoder's overshoot), where a cap of 3000 lets it send well above it.
#[tokio::test]
async fn the_browser_sends_video_under_the_cap() {
    let (capped, capped_stats) = send_rate(150).await;
    let (free, free_stats) = send_rate(3000).await;
    eprintln!(
        "[video_bitrate_cap] cap 150: {capped:.0} kbit/s ({capped_stats}); cap 3000: {free:.0} kbit/s ({free_stats})"
    );
    assert!(
        capped > 20.0 && capped <= 150.0 * 1.25,
        "with media.max_video_kbps = 150 the browser sent {capped:.0} kbit/s of video"
    );
    assert!(
        free > capped * 1.6,
        "the control (cap 3000) sent {free:.0} kbit/s, not clearly more than {capped:.0}: the measurement cannot tell a cap"
    );
}
