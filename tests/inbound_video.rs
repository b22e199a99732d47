//! Asterisk calls a browser user with video (issue 10), trunk mode. SIPp plays Asterisk
//! (`uac_inbound_video_bye`): its INVITE offers PCMU audio and `m=video <port> RTP/AVP 100`
//! with `a=rtpmap:100 VP8/90000` and `ccm fir`, and SIPp's `-rtp_echo` echoes both streams. The
//! gateway rings alice's device with `call_type: "video"`; the device accepts with the camera
//! (audio + video offer) or without it (audio only), and the gateway's 200 answers Asterisk's
//! video line accordingly (RFC 3264 sections 6 and 6.1).

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::gateway::GatewayOptions;
use support::inbound::{Caller, InboundRig, first};
use support::sipp::SippOptions;
use support::video::{section, sip_body, wait_picture};

/// Asterisk's payload type for VP8 in the INVITE.
const SIP_VP8_PT: &str = "100";

/// The device accepts with its camera: the gateway's 200 accepts the video stream on a port of
/// its own with VP8 at Asterisk's payload type 100 (RFC 3264 section 6.1: the answer uses the
/// offer's payload type), the `answer` to the device has an active VP8 video line, and the
/// device decodes the video it sent, echoed by Asterisk's side: a picture, not black.
#[tokio::test]
async fn an_inbound_video_call_rings_as_video_and_the_echoed_video_is_decoded() {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = video_scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn video_scenario(rig: &InboundRig) -> Result<()> {
    let page = rig.device("page").await?;
    let caller = rig
        .call("uac_inbound_video_bye.xml", "alice", &pause_ms(12_000))
        .await?;
    let incoming = page.wait_incoming_video(Duration::from_secs(10)).await?;
    eprintln!("[inbound_video] {incoming}");
    let call_id = incoming["call_id"].as_str().unwrap_or_default();

    let offer = page.accept_video(call_id, true).await?;
    let offered_vp8 = section(&offer, "video", "the device's offer")?.payload_types_of("VP8");
    ensure!(
        !offered_vp8.is_empty(),
        "Chromium should offer VP8:\n{offer}"
    );
    let answer = page.wait_answer(call_id, Duration::from_secs(10)).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    let video = section(sdp, "video", "the gateway's answer to the device")?;
    let answered_vp8 = video.payload_types_of("VP8");
    ensure!(
        video.port().is_some_and(|p| p != 0)
            && !answered_vp8.is_empty()
            && answered_vp8.iter().all(|pt| offered_vp8.contains(pt))
            && video.payload_types_of("H264").is_empty(),
        "the answer to the device should accept video with VP8 only, at a payload type the device offered ({offered_vp8:?}), Asterisk offering VP8 only:\n{sdp}"
    );

    let ok = ok_to_invite(rig, caller).await?;
    let audio = section(&ok, "audio", "the gateway's 200 to the INVITE")?;
    let video = section(&ok, "video", "the gateway's 200 to the INVITE")?;
    eprintln!(
        "[inbound_video] the 200's media: {} | {} | {}",
        audio.m_line,
        video.m_line,
        video.lines.join(" | ")
    );
    ensure!(
        video.port().is_some_and(|p| p != 0) && video.port() != audio.port(),
        "the 200 should accept video on a port of its own (not 0, not the audio port):\n{ok}"
    );
    ensure!(
        video.m_line.contains(" RTP/AVP ")
            && video.formats() == [SIP_VP8_PT]
            && video
                .attributes("rtpmap")
                .any(|v| v == format!("{SIP_VP8_PT} VP8/90000")),
        "the 200 should answer `m=video <port> RTP/AVP {SIP_VP8_PT}` with `a=rtpmap:{SIP_VP8_PT} VP8/90000` (Asterisk's payload type, RFC 3264 section 6.1):\n{ok}"
    );
    ensure!(
        !video
            .lines
            .iter()
            .any(|l| l == "a=inactive" || l == "a=recvonly" || l == "a=sendonly"),
        "the device sends and receives video, so the 200's video should be sendrecv:\n{ok}"
    );

    page.wait_state(call_id, "connected", Duration::from_secs(15))
        .await?;
    let audio = page
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[inbound_video] device inbound audio: {audio:?}");
    let stats = page
        .wait_frames_decoded(0, Duration::from_secs(15))
        .await
        .context("the device's video should come back through the gateway and SIPp's echo")?;
    let remote = wait_picture(&rig.browser, "remote", Duration::from_secs(10)).await?;
    // Still decoding a second later: a live stream, not one lucky keyframe.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = page.inbound_video().await?;
    eprintln!(
        "[inbound_video] received video: {stats:?}; frame {remote:?}; 1 s later {later:?}; sent {}",
        page.outbound_video().await?
    );
    ensure!(
        stats
            .mime_type
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("video/VP8")),
        "the device should receive VP8: {stats:?}"
    );
    ensure!(
        later.frames_decoded > stats.frames_decoded + 5,
        "the received video should keep being decoded: {stats:?}, 1 s later {later:?}"
    );

    page.wait_state(call_id, "ended", Duration::from_secs(20))
        .await?;
    rig.caller_success(caller, Duration::from_secs(10)).await
}

/// The device accepts without a camera (an audio-only offer): the gateway's 200 declines
/// Asterisk's video stream with port 0 (RFC 3264 section 6) and the call goes on with audio.
#[tokio::test]
async fn an_inbound_video_call_accepted_without_camera_declines_video_and_audio_flows() {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = audio_only_scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn audio_only_scenario(rig: &InboundRig) -> Result<()> {
    let page = rig.device("page").await?;
    let caller = rig
        .call("uac_inbound_video_bye.xml", "alice", &pause_ms(8_000))
        .await?;
    let incoming = page.wait_incoming_video(Duration::from_secs(10)).await?;
    let call_id = incoming["call_id"].as_str().unwrap_or_default();

    let offer = page.accept(call_id, true).await?;
    ensure!(
        !offer.contains("m=video"),
        "accepting without a camera should offer audio only:\n{offer}"
    );
    let answer = page.wait_answer(call_id, Duration::from_secs(10)).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    ensure!(
        section(sdp, "audio", "the gateway's answer to the device")?
            .port()
            .is_some_and(|p| p != 0)
            && !sdp.contains("m=video"),
        "the answer to an audio-only offer should have active audio and no video:\n{sdp}"
    );

    let ok = ok_to_invite(rig, caller).await?;
    let audio = section(&ok, "audio", "the gateway's 200 to the INVITE")?;
    let video = section(&ok, "video", "the gateway's 200 to the INVITE")?;
    eprintln!(
        "[inbound_video audio-only] the 200's media: {} | {}",
        audio.m_line, video.m_line
    );
    ensure!(
        audio.port().is_some_and(|p| p != 0),
        "the 200 should accept audio:\n{ok}"
    );
    ensure!(
        video.port() == Some(0),
        "the device has no camera in the call, so the 200 should decline video with `m=video 0` (RFC 3264 section 6):\n{ok}"
    );

    page.wait_state(call_id, "connected", Duration::from_secs(15))
        .await?;
    let stats = page
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[inbound_video audio-only] device inbound audio: {stats:?}");
    let warnings: Vec<_> = page
        .messages()
        .await?
        .into_iter()
        .filter(|m| m["type"] == "warning")
        .collect();
    eprintln!("[inbound_video audio-only] warnings to the device: {warnings:?}");

    page.wait_state(call_id, "ended", Duration::from_secs(20))
        .await?;
    rig.caller_success(caller, Duration::from_secs(10)).await
}

/// SIPp run with `-d ms` (its `<pause/>`).
fn pause_ms(ms: u32) -> SippOptions {
    SippOptions {
        extra: vec!["-d".to_owned(), ms.to_string()],
        ..SippOptions::default()
    }
}

/// The SDP of the gateway's 200 to `caller`'s INVITE, as SIPp received it.
async fn ok_to_invite(rig: &InboundRig, caller: Caller) -> Result<String> {
    let log = rig.caller_log(caller).await;
    let ok = first(&log, |m| !m.sent && m.is_response(200, Some("INVITE")))
        .context("SIPp received no 200 to its INVITE")?;
    Ok(sip_body(&ok.text))
}
