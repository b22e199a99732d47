//! Video calls (issue 10). The browser calls 600 with its fake microphone and fake camera (a
//! moving test pattern) and `call_type: "video"`; the gateway offers Asterisk (SIPp) audio and
//! video over plain RTP (RFC 3264 section 5: an `m=video` line after `m=audio`, VP8 at payload
//! type 100 (RFC 7741) and H.264 packetization mode 1 at 99 (RFC 6184), keeping only codecs the
//! browser offered, with `a=rtcp-fb` `ccm fir` and `nack pli` (RFC 4585 section 4.2, RFC 5104
//! section 7.1)), and answers the browser with the codec Asterisk accepted. Video then goes
//! browser -> gateway (DTLS-SRTP) -> SIP side (RTP) -> gateway -> browser.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use gateway_odoo::test_server::TestServer;
use serde_json::json;
use support::browser::Browser;
use support::gateway::{ALICE_TOKEN, Gateway};
use support::odoo::{by_call, good_api_key, start_odoo, wait_applied, with_odoo};
use support::rig::{CallOptions, CallRig};
use support::rtcp::split_compound;
use support::sipp::{Scenario, Sipp};
use support::stub_http::StubHttp;
use support::video::{
    MediaSection, VideoEcho, echo_rig, frame, inbound_video, media_sections, outbound_video,
    section, sip_body, wait_frames_decoded, wait_picture,
};
use support::ws::WsClient;
use tokio::time::Instant;

/// The SIP side's payload types of the contract: VP8 at 100, H.264 at 99 (Asterisk's own).
const SIP_VP8_PT: &str = "100";
const SIP_H264_PT: &str = "99";
/// RTCP packet types (RFC 3550 section 12.1, RFC 4585 section 6.1).
const PT_SR: u8 = 200;
const PT_RR: u8 = 201;
const PT_PSFB: u8 = 206;
/// Payload-specific feedback formats: PLI (RFC 4585 section 6.3.1), FIR (RFC 5104 section 4.3.1).
const FMT_PLI: u8 = 1;
const FMT_FIR: u8 = 4;
/// The longest video outage the keyframe test waits for Chromium to ask for a keyframe in.
const MAX_OUTAGE: Duration = Duration::from_secs(8);

/// Harness self-test, no gateway: two RTCPeerConnections of one page send the fake camera to each
/// other over 127.0.0.1; the local preview and the received video both show a picture (not
/// black), and the receiver decodes frames. Guards the frame check the call tests rely on.
#[tokio::test]
async fn fake_camera_shows_a_picture_through_a_loopback_call_in_chromium() {
    let page = StubHttp::start().await.expect("stub HTTP server");
    let browser = Browser::launch().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = loopback_scenario(&browser, &page).await;
    if let Err(e) = outcome {
        browser.dump().await;
        panic!("{e:#}");
    }
    browser.close().await.unwrap_or_else(|e| panic!("{e:#}"));
}

async fn loopback_scenario(browser: &Browser, page: &StubHttp) -> Result<()> {
    browser.open(&page.url()).await?;
    let capabilities = browser
        .eval("return window.__gw.videoCapabilities();", vec![])
        .await?;
    let mimes: Vec<&str> = capabilities
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["mimeType"].as_str()).collect())
        .unwrap_or_default();
    eprintln!("[call_video loopback] Chromium's video codecs: {mimes:?}");
    for wanted in ["video/VP8", "video/H264"] {
        ensure!(
            mimes.contains(&wanted),
            "Chromium cannot receive {wanted} (the tests need it): {capabilities:#}"
        );
    }
    browser
        .eval("return window.__gw.videoLoopback();", vec![])
        .await?;
    let local = wait_picture(browser, "local", Duration::from_secs(10)).await?;
    eprintln!("[call_video loopback] local preview: {local:?}");
    let stats = wait_frames_decoded(browser, 10, Duration::from_secs(15)).await?;
    let remote = wait_picture(browser, "remote", Duration::from_secs(10)).await?;
    eprintln!("[call_video loopback] received video: {stats:?}, frame {remote:?}");
    ensure!(
        stats
            .mime_type
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("video/VP8")),
        "Chromium's default video codec should be VP8: {stats:?}"
    );
    // The check tells black from a picture: a disabled camera track sends black frames.
    browser
        .eval(
            "window.__gw.videos.local.srcObject.getVideoTracks()[0].enabled = false; return true;",
            vec![],
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let black = loop {
        let measured = frame(browser, "remote").await?;
        if !measured.is_picture() {
            break measured;
        }
        if Instant::now() >= deadline {
            bail!(
                "the received video stayed a picture 5 s after the camera was disabled: {measured:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("[call_video loopback] received video, camera disabled: {black:?}");
    Ok(())
}

/// Audio and video to Asterisk, which answers VP8 and echoes both (SIPp `-rtp_echo` echoes
/// `media_port` and `media_port + 2`). The INVITE offers `m=video <port> RTP/AVP 100 99` with
/// feedback (RFC 3264 section 5.1, RFC 4585 section 4.2); the answer to the browser keeps VP8
/// only, at the browser's own payload type (RFC 3264 section 6.1); the browser decodes its own
/// echoed video and it is a picture, not black.
#[tokio::test]
async fn video_call_offers_vp8_and_h264_and_passes_echoed_video_through() {
    let mut rig = CallRig::start("uas_echo_video.xml")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = echo_scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn echo_scenario(rig: &mut CallRig) -> Result<()> {
    let offer = rig.place_call(&video_call(Vec::new())).await?;
    let offered = section(&offer, "video", "the browser's offer")?;
    let offered_vp8 = offered.payload_types_of("VP8");
    ensure!(
        !offered_vp8.is_empty(),
        "Chromium should offer VP8:\n{offer}"
    );
    let local = wait_picture(&rig.browser, "local", Duration::from_secs(10)).await?;
    eprintln!("[call_video echo] local preview: {local:?}");

    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    let video = section(sdp, "video", "the gateway's answer to the browser")?;
    ensure!(
        video.port().is_some_and(|p| p != 0),
        "the answer to the browser should accept video (non-zero port), Asterisk accepted VP8:\n{sdp}"
    );
    let answered_vp8 = video.payload_types_of("VP8");
    ensure!(
        !answered_vp8.is_empty()
            && answered_vp8.iter().all(|pt| offered_vp8.contains(pt))
            && video.payload_types_of("H264").is_empty(),
        "the answer to the browser should have VP8 at a payload type the browser offered ({offered_vp8:?}) and no H.264, the only codec Asterisk accepted being VP8:\n{sdp}"
    );
    check_invite(&rig.sipp, &offer, true)?;

    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup("call_video echo").await;
    let audio = rig
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[call_video echo] inbound audio: {audio:?}");
    let stats = wait_frames_decoded(&rig.browser, 0, Duration::from_secs(15))
        .await
        .context("the video the browser sent should come back through the gateway and SIPp")?;
    let remote = wait_picture(&rig.browser, "remote", Duration::from_secs(10)).await?;
    // Still decoding a second later: a live stream, not one lucky keyframe.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = inbound_video(&rig.browser).await?;
    eprintln!(
        "[call_video echo] received video: {stats:?}; frame {remote:?}; 1 s later {later:?}; sent {}",
        outbound_video(&rig.browser).await?
    );
    ensure!(
        stats
            .mime_type
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("video/VP8")),
        "the browser should receive VP8: {stats:?}"
    );
    ensure!(
        later.frames_decoded > stats.frames_decoded + 5,
        "the received video should keep being decoded: {stats:?}, 1 s later {later:?}"
    );
    // Asterisk's answer listed no RTCP keyframe feedback, so the gateway's own keyframe
    // requests at video start also go as SIP INFO picture_fast_update (RFC 5168 section 7.1).
    let infos = rig
        .sipp
        .logged()
        .into_iter()
        .filter(|m| !m.sent && m.is_request("INFO"))
        .filter(|m| {
            m.text
                .to_ascii_lowercase()
                .contains("content-type: application/media_control+xml")
                && sip_body(&m.text).contains("<picture_fast_update/>")
        })
        .count();
    ensure!(
        infos >= 1,
        "SIPp should have received an INFO picture_fast_update (its SDP listed no ccm fir / nack pli):\n{}",
        rig.sipp.messages()
    );
    eprintln!("[call_video echo] INFO picture_fast_update received by SIPp: {infos}");

    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await
}

/// Asterisk answers H.264 only (`uas_echo_video_h264`, PT 99, packetization-mode 1, Constrained
/// Baseline 42e01f; RFC 6184 section 8.2.2): the answer to the browser keeps H.264 alone at one of
/// its payload types, with its own profile and packetization mode, and the echoed H.264 decodes.
#[tokio::test]
async fn h264_answer_passes_echoed_h264_through() {
    let mut rig = CallRig::start("uas_echo_video_h264.xml")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = h264_scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn h264_scenario(rig: &mut CallRig) -> Result<()> {
    let offer = rig.place_call(&video_call(Vec::new())).await?;
    let offered_h264 = section(&offer, "video", "the browser's offer")?.payload_types_of("H264");
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    let video = section(sdp, "video", "the gateway's answer to the browser")?;
    let answered = video.payload_types_of("H264");
    ensure!(
        video.port().is_some_and(|p| p != 0)
            && answered.len() == 1
            && offered_h264.contains(&answered[0])
            && video.payload_types_of("VP8").is_empty(),
        "the answer should keep one H.264 format the browser offered ({offered_h264:?}) and no VP8:\n{sdp}"
    );
    let fmtp = video
        .attributes("fmtp")
        .find(|f| f.starts_with(&format!("{} ", answered[0])))
        .unwrap_or_default()
        .to_owned();
    ensure!(
        fmtp.contains("packetization-mode=1") && fmtp.contains("profile-level-id=42"),
        "the H.264 format answered should be packetization-mode 1 Constrained Baseline: {fmtp:?}"
    );
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    let stats = wait_frames_decoded(&rig.browser, 0, Duration::from_secs(15))
        .await
        .context("the H.264 video the browser sent should come back through the gateway")?;
    let remote = wait_picture(&rig.browser, "remote", Duration::from_secs(10)).await?;
    eprintln!("[call_video h264] answered fmtp {fmtp:?}; received {stats:?}; frame {remote:?}");
    ensure!(
        stats
            .mime_type
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("video/H264")),
        "the browser should receive H.264: {stats:?}"
    );
    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await
}

/// The browser offers video with H.264 only; Asterisk (`uas_video_declined`) has VP8 only and
/// declines the video stream with port 0 (RFC 3264 section 6). The call goes on with audio, the
/// browser's answer rejects video (`m=video 0`), and the client gets a `no_video` warning.
#[tokio::test]
async fn video_without_a_common_codec_is_declined_and_audio_still_flows() {
    let mut rig = CallRig::start("uas_video_declined.xml")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = declined_scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn declined_scenario(rig: &mut CallRig) -> Result<()> {
    let offer = rig.place_call(&video_call(vec!["video/H264"])).await?;
    let offered = section(&offer, "video", "the browser's offer")?;
    ensure!(
        offered.payload_types_of("VP8").is_empty() && !offered.payload_types_of("H264").is_empty(),
        "setCodecPreferences should leave H.264 only in the browser's video offer:\n{offer}"
    );

    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let call_id = answer["call_id"].as_str().unwrap_or_default().to_owned();
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    let audio = section(sdp, "audio", "the gateway's answer to the browser")?;
    let video = section(sdp, "video", "the gateway's answer to the browser")?;
    ensure!(
        audio.port().is_some_and(|p| p != 0) && video.port() == Some(0),
        "the answer to the browser should keep audio and reject video (m=video 0), Asterisk declined it:\n{sdp}"
    );
    check_invite(&rig.sipp, &offer, false)?;

    let warning = rig
        .wait_message("a no_video warning", Duration::from_secs(10), |m| {
            m["type"] == "warning"
        })
        .await?;
    eprintln!("[call_video declined] warning: {warning}");
    ensure!(
        warning["code"] == "no_video"
            && warning["call_id"] == call_id.as_str()
            && warning["message"]
                .as_str()
                .is_some_and(|m| !m.trim().is_empty()),
        "want {{type: warning, call_id: {call_id}, code: no_video, message: <text>}}, got {warning}"
    );

    rig.wait_state("connected", Duration::from_secs(15)).await?;
    let stats = rig
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[call_video declined] inbound audio: {stats:?}");

    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await
}

/// A keyframe request from the browser reaches the SIP side (RFC 5104 section 3.5.1): the test
/// plays Asterisk's video port itself (`uas_echo_video_keyed`, `-key vport N`), echoes the video
/// for 4 s, then drops it until Chromium, short of decodable frames, asks the gateway for a
/// keyframe (PLI or FIR, RFC 4585 section 3.6.2), and echoes again. The gateway sends the SIP side a FIR (RFC 5104 section 4.3.1: PT 206,
/// FMT 4; Asterisk's answer has no `nack pli`) to its video RTCP port (no `a=rtcp`: RTP port + 1,
/// RFC 3550 section 11), in a compound packet that starts with an SR or RR (RFC 3550 section
/// 6.1), and counts it in `webrtc_gateway_keyframe_requests_total{from="browser"}`. The gateway's
/// own requests at video start come before the outage, so only those after it count.
#[tokio::test]
async fn browser_keyframe_request_reaches_the_sip_side_as_rtcp_fir() {
    let (echo, mut rig) = echo_rig("uas_echo_video_keyed.xml", &[]).await;
    let outcome = keyframe_scenario(&mut rig, &echo).await;
    if outcome.is_err() {
        eprintln!(
            "[call_video keyframe] echo: {}, RTCP: {:#?}",
            echo.summary(),
            echo.rtcp()
                .iter()
                .map(|r| format!("{} from {}", describe(&r.data), r.from))
                .collect::<Vec<_>>()
        );
    }
    rig.finish(outcome).await;
}

async fn keyframe_scenario(rig: &mut CallRig, echo: &VideoEcho) -> Result<()> {
    rig.place_call(&video_call(Vec::new())).await?;
    rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while echo.echoed() == 0 {
        if Instant::now() >= deadline {
            bail!(
                "no video RTP from the gateway at the SIP side's video port {} within 10 s of connected",
                echo.rtp_port()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let flowing = wait_frames_decoded(&rig.browser, 0, Duration::from_secs(15))
        .await
        .context("the echoed video should reach the browser before the drop")?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = inbound_video(&rig.browser).await?;
    let sent_before = outbound_video(&rig.browser).await?;

    // Chromium asks for a keyframe once it has had no decodable frame for a while (about 3 s)
    // while the stream is active; lost packets alone only bring NACKs, and a keyframe of its
    // own encoder (a resolution step) can end a short outage first. So the outage lasts until
    // Chromium asks: no keyframe can reach it meanwhile.
    echo.set_echo(false);
    let drop_began = Instant::now();
    let asked = loop {
        let now = inbound_video(&rig.browser).await?;
        if now.keyframe_requests() > before.keyframe_requests() {
            break now;
        }
        if drop_began.elapsed() >= MAX_OUTAGE {
            bail!(
                "Chromium sent the gateway no PLI/FIR during a {MAX_OUTAGE:?} video outage, so the test cannot tell whether the gateway relays them: before {before:?}, now {now:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let asked_after = drop_began.elapsed();
    echo.set_echo(true);

    let deadline = Instant::now() + Duration::from_secs(3);
    let (request, fci) = loop {
        let found = echo
            .rtcp()
            .into_iter()
            .filter(|r| r.at >= drop_began)
            .find_map(|r| keyframe_request(&r.data).map(|fci| (r, fci)));
        if let Some(found) = found {
            break found;
        }
        if Instant::now() >= deadline {
            bail!(
                "Chromium asked the gateway for a keyframe {} ms into the outage ({asked:?}), but no FIR or PLI reached the SIP side's video RTCP port {} within 3 s",
                asked_after.as_millis(),
                echo.rtp_port() + 1,
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "[call_video keyframe] video flowing {flowing:?}; before the outage {before:?} (sent {sent_before}); Chromium asked {} ms into it ({asked:?}); {} from {} {} ms into it; sent now {}",
        asked_after.as_millis(),
        describe(&request.data),
        request.from,
        (request.at - drop_began).as_millis(),
        outbound_video(&rig.browser).await?,
    );
    let packets = split_compound(&request.data)?;
    ensure!(
        packets
            .first()
            .is_some_and(|p| p.pt == PT_SR || p.pt == PT_RR),
        "the keyframe request should be in a compound packet starting with SR or RR: {}",
        describe(&request.data)
    );
    ensure!(
        packets
            .iter()
            .any(|p| p.pt == PT_PSFB && p.count == FMT_FIR),
        "Asterisk's answer has no `nack pli`, so the request should be a FIR (FMT 4): {}",
        describe(&request.data)
    );
    let ssrcs = echo.ssrcs();
    ensure!(
        !fci.is_empty() && fci.iter().all(|ssrc| ssrcs.contains(ssrc)),
        "the request should name the SSRC of the SIP side's video ({ssrcs:08x?}), named {fci:08x?}"
    );
    let (low, high) = rig.gateway.rtp_ports();
    ensure!(
        (low..=high).contains(&request.from.port()),
        "RTCP should come from the gateway's media ports {low}-{high}, came from {}",
        request.from
    );

    let from_browser = rig
        .gateway
        .metric("webrtc_gateway_keyframe_requests_total{from=\"browser\"}")
        .await?;
    eprintln!("[call_video keyframe] keyframe requests from the browser: {from_browser}");
    ensure!(
        from_browser > 0.0,
        "keyframe_requests_total{{from=\"browser\"}} should count the relayed request, it is {from_browser}"
    );

    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await
}

/// The first report of a video call to Odoo says `call_type: "video"` (docs/odoo.md). No
/// browser: the captured Chromium offer over a raw WebSocket, hung up once answered.
#[tokio::test]
async fn a_video_call_reports_call_type_video_to_odoo() {
    let odoo = start_odoo().await.unwrap_or_else(|e| panic!("{e:#}"));
    let data = tempfile::tempdir().expect("data dir");
    let sipp = Sipp::uas(Scenario::File("uas_echo_video.xml"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let options = with_odoo(
        Default::default(),
        &odoo.url(),
        &good_api_key(),
        data.path(),
    );
    let gateway = Gateway::start_with(sipp.port(), &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = odoo_scenario(&gateway, &odoo).await {
        panic!("{e:#}");
    }
}

async fn odoo_scenario(gateway: &Gateway, odoo: &TestServer) -> Result<()> {
    let sdp = support::data_file("sdp/chromium156-audio-video.sdp")?;
    let mut ws = WsClient::connect(&gateway.ws_url(Some(ALICE_TOKEN))).await?;
    ws.expect_hello().await?;
    ws.send_json(
        &json!({"type": "call", "ref": "v1", "to": "600", "sdp": sdp, "call_type": "video"}),
    )
    .await?;
    let (answer, _) = ws
        .wait_for("answer", Duration::from_secs(10), |m| m["type"] == "answer")
        .await?;
    let call_id = answer["call_id"]
        .as_str()
        .with_context(|| format!("answer without call_id: {answer}"))?
        .to_owned();
    ws.send_json(&json!({"type": "hangup", "call_id": call_id}))
        .await?;
    ws.wait_for("ended", Duration::from_secs(10), |m| {
        m["type"] == "state" && m["state"] == "ended"
    })
    .await?;
    let applied = wait_applied(odoo, 1, Duration::from_secs(15)).await?;
    let calls = by_call(&applied)?;
    let first = calls
        .get(&call_id)
        .and_then(|events| events.first())
        .with_context(|| format!("no events for {call_id}: {applied:#?}"))?;
    eprintln!("[call_video odoo] first report: {first}");
    ensure!(
        first["payload"]["call_type"] == "video",
        "the first report of a video call should say call_type video: {first}"
    );
    Ok(())
}

/// A video call with Chromium's default offer, or video restricted to `video_codecs`.
fn video_call(video_codecs: Vec<&'static str>) -> CallOptions {
    CallOptions {
        video: true,
        video_codecs,
        ..CallOptions::default()
    }
}

/// Checks the gateway's INVITE as SIPp received it: `m=audio` then `m=video` on a real port over
/// RTP/AVP, with VP8 at 100 and H.264 (packetization mode 1, a baseline profile) at 99 in that
/// order (config `media.video_codecs` default), each only if `browser_offer` had it, and
/// `ccm fir` and `nack pli` feedback. `expect_vp8` says the browser offered VP8.
fn check_invite(sipp: &Sipp, browser_offer: &str, expect_vp8: bool) -> Result<()> {
    let invite = sipp
        .logged()
        .into_iter()
        .find(|m| !m.sent && m.is_request("INVITE"))
        .context("SIPp received no INVITE")?;
    let sdp = sip_body(&invite.text);
    let sections = media_sections(&sdp);
    let kinds: Vec<&str> = sections.iter().map(MediaSection::kind).collect();
    ensure!(
        kinds == ["audio", "video"],
        "the INVITE should offer m=audio then m=video, offered {kinds:?}:\n{sdp}"
    );
    let video = &sections[1];
    let offered = section(browser_offer, "video", "the browser's offer")?;
    let browser_h264 = offered.attributes("fmtp").any(|f| {
        f.contains("packetization-mode=1")
            && offered
                .payload_types_of("H264")
                .iter()
                .any(|pt| f.starts_with(&format!("{pt} ")))
    });
    let mut want: Vec<&str> = Vec::new();
    if expect_vp8 {
        want.push(SIP_VP8_PT);
    }
    if browser_h264 {
        want.push(SIP_H264_PT);
    }
    ensure!(
        video.port().is_some_and(|p| p != 0)
            && video.m_line.contains(" RTP/AVP ")
            && video.formats() == want,
        "the INVITE's video line should be `m=video <port> RTP/AVP {}`:\n{sdp}",
        want.join(" ")
    );
    if expect_vp8 {
        ensure!(
            video.payload_types_of("VP8") == [SIP_VP8_PT]
                && video
                    .attributes("rtpmap")
                    .any(|v| v == format!("{SIP_VP8_PT} VP8/90000")),
            "the INVITE should map VP8 at 100 (a=rtpmap:100 VP8/90000):\n{sdp}"
        );
    } else {
        ensure!(
            video.payload_types_of("VP8").is_empty(),
            "the browser offered no VP8, so the INVITE should not:\n{sdp}"
        );
    }
    if browser_h264 {
        let fmtp = video
            .attributes("fmtp")
            .find_map(|f| f.strip_prefix(&format!("{SIP_H264_PT} ")))
            .unwrap_or_default();
        ensure!(
            video
                .attributes("rtpmap")
                .any(|v| v == format!("{SIP_H264_PT} H264/90000"))
                && fmtp.contains("packetization-mode=1")
                && fmtp.contains("profile-level-id=42"),
            "the INVITE should map H.264 at 99 with packetization-mode=1 and a baseline profile-level-id:\n{sdp}"
        );
    }
    for feedback in ["ccm fir", "nack pli"] {
        ensure!(
            video.attributes("rtcp-fb").any(|v| v.ends_with(feedback)),
            "the INVITE's video should offer `a=rtcp-fb:... {feedback}`:\n{sdp}"
        );
    }
    eprintln!(
        "[call_video] the INVITE's video: {} | {}",
        video.m_line,
        video.lines.join(" | ")
    );
    Ok(())
}

/// The media SSRCs a FIR or PLI in `data` asks about: a FIR's FCI entries (RFC 5104 section
/// 4.3.1.1: SSRC, seq nr, 3 reserved bytes, after the sender and a zero media SSRC) or a PLI's
/// media source SSRC (RFC 4585 section 6.1); `None` if the datagram has neither.
fn keyframe_request(data: &[u8]) -> Option<Vec<u32>> {
    let packets = split_compound(data).ok()?;
    let ssrc = |b: &[u8]| -> Option<u32> { Some(u32::from_be_bytes(*b.first_chunk::<4>()?)) };
    packets.iter().find_map(|p| match (p.pt, p.count) {
        (PT_PSFB, FMT_FIR) => p
            .body
            .get(8..)
            .map(|fci| fci.chunks_exact(8).filter_map(ssrc).collect::<Vec<_>>()),
        (PT_PSFB, FMT_PLI) => p.body.get(4..8).and_then(ssrc).map(|s| vec![s]),
        _ => None,
    })
}

/// "RR + SDES + FIR"-style summary of a compound, for messages.
fn describe(data: &[u8]) -> String {
    let Ok(packets) = split_compound(data) else {
        return format!("malformed RTCP {data:02x?}");
    };
    packets
        .iter()
        .map(|p| match (p.pt, p.count) {
            (PT_SR, _) => "SR".to_owned(),
            (PT_RR, _) => "RR".to_owned(),
            (202, _) => "SDES".to_owned(),
            (203, _) => "BYE".to_owned(),
            (205, 1) => "NACK".to_owned(),
            (PT_PSFB, FMT_PLI) => "PLI".to_owned(),
            (PT_PSFB, FMT_FIR) => "FIR".to_owned(),
            (PT_PSFB, 15) => "REMB".to_owned(),
            (pt, fmt) => format!("PT {pt}/{fmt}"),
        })
        .collect::<Vec<_>>()
        .join(" + ")
}
