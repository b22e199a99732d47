//! The SDP side of video calls (issue 10): the video m-line of real Chromium, Firefox, Safari,
//! Chrome Android and OBS offers, our `RTP/AVP` video offer toward SIP, the codec chosen from
//! the SIP answer, and inbound video from Asterisk's offer (RFC 3264 §6, RFC 6184 §8, RFC 7741
//! §6, RFC 4585 §4.2). There is no video transcoding: no common codec means an audio call.
//!
//! The Asterisk video SDPs below are written by hand (no video call was captured): the shape of
//! the captured Asterisk 22 audio SDPs (`tests/data/sdp/asterisk22/`), Asterisk's own payload
//! types (H.264 99, VP8 100) and the H.264 fmtp `res_format_attr_h264.c` writes
//! (`packetization-mode=1;profile-level-id=42E01F`, upper case).

use std::fs;
use std::net::SocketAddr;

use gateway_sip::sdp::{
    AudioCodec, BrowserOffer, Direction, MediaLine, NoVideo, OfferedVideo, RtcpFeedback, SipSdp,
    VideoCodec, VideoLine, choose_video_answer, plan_inbound_video, sip_video_offer,
    sip_video_passthrough,
};

fn offer(file: &str) -> BrowserOffer {
    let path = format!(
        "{}/tests/data/sdp/browser-offers/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    BrowserOffer::parse(&fs::read_to_string(path).expect("fixture copied"))
        .expect("browser offer parses")
}

fn video(o: &BrowserOffer) -> &OfferedVideo {
    o.video().expect("the offer has a video m-line")
}

/// (codec, payload type, rtx payload type) of each passthrough format, in offer order.
fn summary(v: &OfferedVideo) -> Vec<(VideoCodec, u8, Option<u8>)> {
    v.codecs.iter().map(|c| (c.codec, c.pt, c.rtx_pt)).collect()
}

const HEAD: &str = "v=0\r\no=- 53655765 2353687639 IN IP4 127.0.0.1\r\ns=Asterisk\r\n\
    c=IN IP4 127.0.0.1\r\nt=0 0\r\n";
const AUDIO: &str = "m=audio 20038 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
    a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=maxptime:60\r\n\
    a=sendrecv\r\n";

/// Asterisk's answer with both video codecs in its own `allow` order (H.264 first).
fn asterisk_answer(video: &str) -> SipSdp {
    SipSdp::parse(&format!("{HEAD}{AUDIO}{video}")).expect("answer parses")
}

const ANSWER_BOTH: &str = "m=video 20040 RTP/AVP 99 100\r\na=rtpmap:99 H264/90000\r\n\
    a=fmtp:99 packetization-mode=1;profile-level-id=42E01F\r\na=rtpmap:100 VP8/90000\r\n\
    a=sendrecv\r\n";

const WITH_FEEDBACK: [RtcpFeedback; 5] = [
    RtcpFeedback::GoogRemb,
    RtcpFeedback::TransportCc,
    RtcpFeedback::CcmFir,
    RtcpFeedback::Nack,
    RtcpFeedback::NackPli,
];

/// Chromium 156 (captured here): VP8 and H.264 42e01f mode 1 pass; H.264 42001f (Baseline
/// without constraint_set1), 4d001f (Main), mode 0, VP9 and AV1 do not (RFC 6184 §8.2.2).
#[test]
fn chromium156_video_line() {
    let o = offer("chromium156-audio-video.sdp");
    let v = video(&o);
    assert_eq!((v.index, v.mid.as_deref()), (1, Some("1")));
    assert_eq!(v.direction, Direction::SendRecv);
    assert_eq!(
        summary(v),
        vec![
            (VideoCodec::Vp8, 96, Some(97)),
            (VideoCodec::H264, 108, Some(109))
        ]
    );
    let h264 = v.find(VideoCodec::H264).unwrap();
    assert_eq!(h264.h264_profile.unwrap().to_string(), "42e01f");
    assert_eq!(
        h264.fmtp.as_deref(),
        Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")
    );
    assert_eq!(h264.feedback, WITH_FEEDBACK);
    assert_eq!(v.find(VideoCodec::Vp8).unwrap().h264_profile, None);
    assert_eq!(v.find(VideoCodec::Vp8).unwrap().feedback, WITH_FEEDBACK);
}

/// Chromium 120 (ex_webrtc): 42e01f mode 1 is PT 106 there; 102 is 42001f, 108 is mode 0.
#[test]
fn chromium120_video_line() {
    let o = offer("ex_webrtc-chromium_audio_video_sdp.txt");
    let v = video(&o);
    assert_eq!(v.mid.as_deref(), Some("1"));
    assert_eq!(
        summary(v),
        vec![
            (VideoCodec::Vp8, 96, Some(97)),
            (VideoCodec::H264, 106, Some(107))
        ]
    );
}

/// Firefox 121: fmtp lines before their rtpmaps, feedback in Firefox's order; PT 97 is H.264
/// without packetization-mode (mode 0, RFC 6184 §8.1) and is left out.
#[test]
fn firefox121_video_line() {
    let o = offer("ex_webrtc-firefox_audio_video_sdp.txt");
    let v = video(&o);
    assert_eq!((v.index, v.mid.as_deref()), (1, Some("1")));
    assert_eq!(v.direction, Direction::SendRecv);
    assert_eq!(
        summary(v),
        vec![
            (VideoCodec::Vp8, 120, Some(124)),
            (VideoCodec::H264, 126, Some(127))
        ]
    );
    assert_eq!(
        v.find(VideoCodec::Vp8).unwrap().feedback,
        [
            RtcpFeedback::Nack,
            RtcpFeedback::NackPli,
            RtcpFeedback::CcmFir,
            RtcpFeedback::GoogRemb,
            RtcpFeedback::TransportCc
        ]
    );
    assert_eq!(
        v.find(VideoCodec::Vp8).unwrap().fmtp.as_deref(),
        Some("max-fs=12288;max-fr=60")
    );
}

/// Safari on macOS: video first (mid 0), recvonly, H.264 before VP8; 640c1f (Constrained High)
/// is not Constrained Baseline.
#[test]
fn safari_video_line() {
    let o = offer("kvs-1v1a1d-safari-mac.txt");
    let v = video(&o);
    assert_eq!((v.index, v.mid.as_deref()), (0, Some("0")));
    assert_eq!(v.direction, Direction::RecvOnly);
    assert_eq!(
        summary(v),
        vec![
            (VideoCodec::H264, 98, Some(99)),
            (VideoCodec::Vp8, 100, Some(101))
        ]
    );
}

/// Chrome on Android: Constrained Baseline at level 2.1 (42e015) passes: the level is not part
/// of the profile (RFC 6184 §8.2.2).
#[test]
fn chrome_android_lower_level() {
    let o = offer("kvs-1v1a1d-chrome-android.txt");
    let v = video(&o);
    assert_eq!(v.direction, Direction::RecvOnly);
    assert_eq!(
        summary(v),
        vec![
            (VideoCodec::Vp8, 96, Some(97)),
            (VideoCodec::H264, 124, Some(121))
        ]
    );
    let h264 = v.find(VideoCodec::H264).unwrap();
    assert_eq!(h264.h264_profile.unwrap().level_idc, 0x15);
}

/// OBS (WHIP): one H.264 format, sendonly, no RTX, no FIR or transport-cc.
#[test]
fn obs_video_line() {
    let o = offer("ex_webrtc-obs_audio_video_sdp.txt");
    let v = video(&o);
    assert_eq!(v.direction, Direction::SendOnly);
    assert_eq!(summary(v), vec![(VideoCodec::H264, 96, None)]);
    assert_eq!(
        v.codecs[0].feedback,
        [
            RtcpFeedback::Nack,
            RtcpFeedback::NackPli,
            RtcpFeedback::GoogRemb
        ]
    );
}

/// An audio-only offer has no video.
#[test]
fn audio_only_offer() {
    assert!(offer("chromium156-audio.sdp").video().is_none());
}

/// Our INVITE's SDP for Chromium's offer: audio as before, then VP8 at 100 and H.264 at 99
/// (Asterisk's own numbers) with `ccm fir` / `nack pli`, in the configured order.
#[test]
fn sip_offer_for_chromium() {
    let o = offer("chromium156-audio-video.sdp");
    let video = sip_video_offer(&o, &VideoCodec::DEFAULT_ORDER, 6002).unwrap();
    let sdp = SipSdp {
        session_id: 1,
        session_version: 2,
        origin_user: "-".into(),
        addr: "127.0.0.1".parse().unwrap(),
        audio: Some(MediaLine::offer(6000, &[AudioCodec::Pcmu])),
        video: Some(video.clone()),
    };
    let text = sdp.to_string();
    let expected_video = "m=video 6002 RTP/AVP 100 99\r\na=rtpmap:100 VP8/90000\r\n\
        a=rtcp-fb:100 ccm fir\r\na=rtcp-fb:100 nack pli\r\na=rtpmap:99 H264/90000\r\n\
        a=fmtp:99 packetization-mode=1;profile-level-id=42e01f\r\na=rtcp-fb:99 ccm fir\r\n\
        a=rtcp-fb:99 nack pli\r\na=sendrecv\r\n";
    assert!(
        text.ends_with(&format!("a=ptime:20\r\na=sendrecv\r\n{expected_video}")),
        "{text}"
    );
    assert_eq!(SipSdp::parse(&text), Ok(sdp));
    assert_eq!(
        video.video_codecs(),
        vec![(VideoCodec::Vp8, 100), (VideoCodec::H264, 99)]
    );

    let h264_first = sip_video_offer(&o, &[VideoCodec::H264, VideoCodec::Vp8], 6002).unwrap();
    let pts: Vec<u8> = h264_first.formats.iter().map(|f| f.pt).collect();
    assert_eq!(pts, [99, 100]);
    let vp8_only = sip_video_offer(&o, &[VideoCodec::Vp8], 6002).unwrap();
    assert_eq!(vp8_only.video_codecs(), vec![(VideoCodec::Vp8, 100)]);
}

/// The SIP offer follows the browser: Safari's recvonly, Chrome Android's level 2.1, and only
/// codecs the browser offered (OBS: H.264 alone).
#[test]
fn sip_offer_follows_the_browser() {
    let safari = sip_video_offer(
        &offer("kvs-1v1a1d-safari-mac.txt"),
        &VideoCodec::DEFAULT_ORDER,
        6002,
    )
    .unwrap();
    assert_eq!(safari.direction, Direction::RecvOnly);
    let android = sip_video_offer(
        &offer("kvs-1v1a1d-chrome-android.txt"),
        &[VideoCodec::H264],
        6002,
    )
    .unwrap();
    assert_eq!(
        android.formats[0].fmtp.as_deref(),
        Some("packetization-mode=1;profile-level-id=42e015")
    );
    let obs = offer("ex_webrtc-obs_audio_video_sdp.txt");
    let line = sip_video_offer(&obs, &VideoCodec::DEFAULT_ORDER, 6002).unwrap();
    assert_eq!(line.video_codecs(), vec![(VideoCodec::H264, 99)]);
    assert_eq!(line.direction, Direction::SendOnly);
    assert_eq!(
        sip_video_offer(&obs, &[VideoCodec::Vp8], 6002),
        Err(NoVideo::NoCommonCodec)
    );
    assert_eq!(
        sip_video_offer(
            &offer("chromium156-audio.sdp"),
            &VideoCodec::DEFAULT_ORDER,
            6002
        ),
        Err(NoVideo::NotOffered)
    );
}

/// RFC 3264 §6.1: the answer's order wins (Asterisk's `allow`); the browser keeps its own PT,
/// its fmtp with the level the phone receives, and the feedback the gateway serves.
#[test]
fn answer_picks_the_first_offered_codec() {
    let o = offer("chromium156-audio-video.sdp");
    let answer = asterisk_answer(ANSWER_BOTH);
    let plan = choose_video_answer(&o, &answer, &VideoCodec::DEFAULT_ORDER).unwrap();
    assert_eq!(plan.codec, VideoCodec::H264);
    assert_eq!(
        (plan.browser.pt, plan.browser.rtx_pt, plan.sip_pt),
        (108, Some(109), 99)
    );
    assert_eq!(
        plan.browser_fmtp.as_deref(),
        Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")
    );
    assert_eq!(
        plan.sip_fmtp.as_deref(),
        Some("packetization-mode=1;profile-level-id=42E01F")
    );
    assert_eq!(
        plan.browser_feedback,
        [
            RtcpFeedback::TransportCc,
            RtcpFeedback::CcmFir,
            RtcpFeedback::Nack,
            RtcpFeedback::NackPli
        ]
    );
    assert!(plan.sip_feedback.is_empty());
    assert_eq!(plan.sip_keyframe_request(), RtcpFeedback::CcmFir);
    assert_eq!(plan.browser_keyframe_request(), RtcpFeedback::NackPli);
    assert_eq!(
        plan.remote_addr,
        "127.0.0.1:20040".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        plan.remote_rtcp,
        "127.0.0.1:20041".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(plan.direction, Direction::SendRecv);

    // We offered VP8 only: Asterisk's H.264 is not ours to pick.
    let vp8 = choose_video_answer(&o, &answer, &[VideoCodec::Vp8]).unwrap();
    assert_eq!(
        (vp8.codec, vp8.browser.pt, vp8.sip_pt),
        (VideoCodec::Vp8, 96, 100)
    );
    assert_eq!(vp8.browser_fmtp, None);
}

/// Chrome Android receives level 2.1 but, with `level-asymmetry-allowed=1`, is told to send
/// what the phone receives (RFC 6184 §8.2.2); Firefox's VP8 keeps its max-fs/max-fr.
#[test]
fn browser_fmtp_in_the_answer() {
    let android = offer("kvs-1v1a1d-chrome-android.txt");
    let answer = asterisk_answer(
        "m=video 20040 RTP/AVP 99\r\na=rtpmap:99 H264/90000\r\n\
         a=fmtp:99 packetization-mode=1;profile-level-id=42E01E\r\na=sendrecv\r\n",
    );
    let plan = choose_video_answer(&android, &answer, &[VideoCodec::H264]).unwrap();
    assert_eq!(
        plan.browser_fmtp.as_deref(),
        Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01e")
    );
    let firefox = offer("ex_webrtc-firefox_audio_video_sdp.txt");
    let plan =
        choose_video_answer(&firefox, &asterisk_answer(ANSWER_BOTH), &[VideoCodec::Vp8]).unwrap();
    assert_eq!(plan.browser_fmtp.as_deref(), Some("max-fs=12288;max-fr=60"));
}

/// Issue 10: an H.264-only browser against a VP8-only answer has no common video codec; the
/// call goes on with audio and the browser's video m-line is rejected.
#[test]
fn h264_only_offer_vs_vp8_only_answer() {
    let obs = offer("ex_webrtc-obs_audio_video_sdp.txt");
    let ours = sip_video_offer(&obs, &VideoCodec::DEFAULT_ORDER, 6002).unwrap();
    let offered: Vec<VideoCodec> = ours.video_codecs().into_iter().map(|(c, _)| c).collect();
    let vp8_only =
        asterisk_answer("m=video 20040 RTP/AVP 100\r\na=rtpmap:100 VP8/90000\r\na=sendrecv\r\n");
    assert_eq!(
        choose_video_answer(&obs, &vp8_only, &offered),
        Err(NoVideo::NoCommonCodec)
    );
    assert_eq!(
        NoVideo::NoCommonCodec.to_string(),
        "no video codec in common"
    );
    // A VP8-only browser against an H.264-only answer, the other way round.
    let h264_only = asterisk_answer(
        "m=video 20040 RTP/AVP 99\r\na=rtpmap:99 H264/90000\r\n\
         a=fmtp:99 packetization-mode=1;profile-level-id=42E01F\r\na=sendrecv\r\n",
    );
    let android = offer("kvs-1v1a1d-chrome-android.txt");
    assert_eq!(
        choose_video_answer(&android, &h264_only, &[VideoCodec::Vp8]),
        Err(NoVideo::NoCommonCodec)
    );
}

/// RFC 3264 §6: port 0 rejects the stream; an answer without the m-line is treated alike.
/// RFC 3264 §8.4: `c=0.0.0.0` is a hold; RFC 3605 `a=rtcp`; RFC 4585 `a=rtcp-fb:*`.
#[test]
fn answer_edge_cases() {
    let o = offer("chromium156-audio-video.sdp");
    let all = &VideoCodec::DEFAULT_ORDER;
    let rejected = asterisk_answer("m=video 0 RTP/AVP 100\r\na=rtpmap:100 VP8/90000\r\n");
    assert_eq!(
        choose_video_answer(&o, &rejected, all),
        Err(NoVideo::Rejected)
    );
    assert_eq!(
        choose_video_answer(&o, &asterisk_answer(""), all),
        Err(NoVideo::Rejected)
    );
    assert_eq!(
        choose_video_answer(
            &offer("chromium156-audio.sdp"),
            &asterisk_answer(ANSWER_BOTH),
            all
        ),
        Err(NoVideo::NotOffered)
    );

    let held = asterisk_answer(
        "m=video 20040 RTP/AVP 100\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:100 VP8/90000\r\n\
         a=rtcp-fb:* ccm fir\r\na=rtcp-fb:* nack pli\r\na=rtcp:20045\r\na=sendrecv\r\n",
    );
    let plan = choose_video_answer(&o, &held, all).unwrap();
    assert_eq!(plan.direction, Direction::SendOnly);
    assert_eq!(
        plan.remote_rtcp,
        "0.0.0.0:20045".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        plan.sip_feedback,
        [RtcpFeedback::CcmFir, RtcpFeedback::NackPli]
    );
    assert_eq!(plan.sip_keyframe_request(), RtcpFeedback::NackPli);
}

/// Asterisk's INVITE with video (VP8, H.264, H.263) to the gateway.
const ASTERISK_OFFER: &str = "m=video 20094 RTP/AVP 100 99 34\r\na=rtpmap:100 VP8/90000\r\n\
    a=rtpmap:99 H264/90000\r\na=fmtp:99 packetization-mode=1;profile-level-id=42E01F\r\n\
    a=rtpmap:34 H263/90000\r\na=sendrecv\r\n";

/// Inbound: what Asterisk offers that can pass through, in its order; H.263 cannot.
#[test]
fn inbound_passthrough_codecs() {
    let sip = asterisk_answer(ASTERISK_OFFER);
    assert_eq!(
        sip_video_passthrough(&sip),
        vec![VideoCodec::Vp8, VideoCodec::H264]
    );
    assert!(sip_video_passthrough(&asterisk_answer("")).is_empty());
    let removed = asterisk_answer("m=video 0 RTP/AVP 100\r\na=rtpmap:100 VP8/90000\r\n");
    assert!(sip_video_passthrough(&removed).is_empty());
    // Asterisk's own H.264 without fmtp means packetization mode 0 (RFC 6184 §8.1).
    let bare = asterisk_answer(
        "m=video 20094 RTP/AVP 99 34\r\na=rtpmap:99 H264/90000\r\na=rtpmap:34 H263/90000\r\n",
    );
    assert!(sip_video_passthrough(&bare).is_empty());
}

/// Inbound with Safari: Asterisk's order wins over the browser's (VP8 though Safari prefers
/// H.264); our 200 answers VP8 alone at Asterisk's PT, recvonly as Safari asked, and without
/// feedback, since Asterisk's offer listed none (RFC 4585 §4.2).
#[test]
fn inbound_answer_for_safari() {
    let sip = asterisk_answer(ASTERISK_OFFER);
    let safari = offer("kvs-1v1a1d-safari-mac.txt");
    let plan = plan_inbound_video(&sip, &safari).unwrap();
    assert_eq!(
        (plan.codec, plan.browser.pt, plan.sip_pt),
        (VideoCodec::Vp8, 100, 100)
    );
    assert_eq!(
        plan.remote_addr,
        "127.0.0.1:20094".parse::<SocketAddr>().unwrap()
    );
    let line = VideoLine::answer(7002, &plan, video(&safari).direction);
    let ours = SipSdp {
        session_id: 9,
        session_version: 9,
        origin_user: "-".into(),
        addr: "127.0.0.1".parse().unwrap(),
        audio: None,
        video: Some(line),
    };
    let text = ours.to_string();
    assert!(
        text.ends_with("m=video 7002 RTP/AVP 100\r\na=rtpmap:100 VP8/90000\r\na=recvonly\r\n"),
        "{text}"
    );
    assert_eq!(SipSdp::parse(&text), Ok(ours));
}

/// Inbound with OBS (H.264 only, sendonly): H.264 at Asterisk's 99 with the browser's level.
#[test]
fn inbound_answer_for_h264_only() {
    let sip = asterisk_answer(ASTERISK_OFFER);
    let obs = offer("ex_webrtc-obs_audio_video_sdp.txt");
    let plan = plan_inbound_video(&sip, &obs).unwrap();
    assert_eq!(
        (plan.codec, plan.browser.pt, plan.sip_pt),
        (VideoCodec::H264, 96, 99)
    );
    let line = VideoLine::answer(7002, &plan, Direction::SendOnly);
    assert_eq!(line.direction, Direction::SendOnly);
    assert_eq!(
        line.formats[0].fmtp.as_deref(),
        Some("packetization-mode=1;profile-level-id=42e01f")
    );
}

/// RFC 6184 §8.2.2: our answer keeps the offer's profile and does not answer a level above the
/// offer's, unless the offer allows level asymmetry.
#[test]
fn inbound_h264_answer_level() {
    let obs = offer("ex_webrtc-obs_audio_video_sdp.txt");
    let low = asterisk_answer(
        "m=video 20094 RTP/AVP 99\r\na=rtpmap:99 H264/90000\r\n\
         a=fmtp:99 packetization-mode=1;profile-level-id=42e00d\r\na=sendrecv\r\n",
    );
    let plan = plan_inbound_video(&low, &obs).unwrap();
    let line = VideoLine::answer(7002, &plan, Direction::SendOnly);
    assert_eq!(
        line.formats[0].fmtp.as_deref(),
        Some("packetization-mode=1;profile-level-id=42e00d")
    );
    let asymmetric = asterisk_answer(
        "m=video 20094 RTP/AVP 99\r\na=rtpmap:99 H264/90000\r\n\
         a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e00d\r\n\
         a=sendrecv\r\n",
    );
    let plan = plan_inbound_video(&asymmetric, &obs).unwrap();
    let line = VideoLine::answer(7002, &plan, Direction::SendOnly);
    assert_eq!(
        line.formats[0].fmtp.as_deref(),
        Some("packetization-mode=1;profile-level-id=42e01f"),
        "the browser's level (3.1) under level-asymmetry-allowed"
    );
}

/// Inbound without a usable video: the browser offered none, no codec in common, or Asterisk
/// removed video (port 0, a re-INVITE). Our answer rejects the line, keeping its formats
/// (RFC 3264 §6), and it round-trips.
#[test]
fn inbound_video_rejected() {
    let sip = asterisk_answer(ASTERISK_OFFER);
    assert_eq!(
        plan_inbound_video(&sip, &offer("chromium156-audio.sdp")),
        Err(NoVideo::Rejected)
    );
    let h263_only =
        asterisk_answer("m=video 20094 RTP/AVP 34\r\na=rtpmap:34 H263/90000\r\na=sendrecv\r\n");
    let chromium = offer("chromium156-audio-video.sdp");
    assert_eq!(
        plan_inbound_video(&h263_only, &chromium),
        Err(NoVideo::NoCommonCodec)
    );
    let removed = asterisk_answer("m=video 0 RTP/AVP 100\r\na=rtpmap:100 VP8/90000\r\n");
    assert_eq!(
        plan_inbound_video(&removed, &chromium),
        Err(NoVideo::NotOffered)
    );

    let offered = sip.video.as_ref().unwrap();
    let ours = SipSdp {
        video: Some(VideoLine::rejected(offered)),
        ..sip.clone()
    };
    let text = ours.to_string();
    assert!(
        text.contains(
            "m=video 0 RTP/AVP 100 99 34\r\na=rtpmap:100 VP8/90000\r\na=rtpmap:99 H264/90000\r\n\
             a=rtpmap:34 H263/90000\r\na=inactive\r\n"
        ),
        "{text}"
    );
    assert_eq!(SipSdp::parse(&text), Ok(ours));
}

/// Parsing Asterisk's video line: wildcard feedback applies to every format, a payload type
/// listed twice is one format, a static video PT needs no rtpmap (RFC 3551 Table 5), a
/// media-level `c=` is kept apart; an unreadable video line is refused like an audio one.
#[test]
fn parses_the_sip_video_line() {
    let sip = asterisk_answer(
        "m=video 20040 RTP/AVP 100 100 34\r\nc=IN IP4 192.0.2.9\r\na=rtpmap:100 VP8/90000\r\n\
         a=rtcp-fb:* ccm fir\r\na=rtcp-fb:100 nack pli\r\na=rtcp-fb:100\r\na=recvonly\r\n",
    );
    let v = sip.video.as_ref().unwrap();
    assert_eq!(v.addr, Some("192.0.2.9".parse().unwrap()));
    assert_eq!(v.direction, Direction::RecvOnly);
    let formats: Vec<(u8, &str, Vec<&str>)> = v
        .formats
        .iter()
        .map(|f| {
            (
                f.pt,
                f.name.as_str(),
                f.rtcp_fb.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        formats,
        vec![
            (100, "VP8", vec!["ccm fir", "nack pli"]),
            (34, "H263", vec!["ccm fir"])
        ]
    );
    assert_eq!(SipSdp::parse(&sip.to_string()).as_ref(), Ok(&sip));
    // Without its own c=, the video line uses the session's, not the audio line's.
    let split = SipSdp::parse(
        "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
         m=audio 4000 RTP/AVP 0\r\nc=IN IP4 192.0.2.2\r\n\
         m=video 4002 RTP/AVP 100\r\na=rtpmap:100 VP8/90000\r\n",
    )
    .unwrap();
    assert_eq!(split.addr, "192.0.2.2".parse::<std::net::IpAddr>().unwrap());
    let v = split.video.as_ref().unwrap();
    assert_eq!(v.addr, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(SipSdp::parse(&split.to_string()).as_ref(), Ok(&split));
    assert!(
        SipSdp::parse(&format!(
            "{HEAD}{AUDIO}m=video 4002 RTP/AVP 96\r\na=rtpmap:96 x\r\n"
        ))
        .is_err()
    );
    // A declined line's formats need no rtpmap (RFC 3264 §6): it parses, stays declined, and
    // prints without an rtpmap it never had.
    let declined = SipSdp::parse(&format!(
        "{HEAD}{AUDIO}m=video 0 RTP/AVP 96\r\na=rtpmap:96 x\r\n"
    ))
    .unwrap();
    assert!(!declined.video.as_ref().unwrap().is_active());
    assert_eq!(SipSdp::parse(&declined.to_string()).as_ref(), Ok(&declined));
}

/// Asterisk declines a video stream it has no codec for with the offered payload type and no
/// `a=rtpmap` (`m=video 0 RTP/AVP 99`): that is "rejected", not an unusable answer.
#[test]
fn declined_without_rtpmap_is_rejected() {
    let o = offer("chromium156-audio-video.sdp");
    let answer = asterisk_answer("m=video 0 RTP/AVP 99\r\n");
    assert_eq!(
        choose_video_answer(&o, &answer, &[VideoCodec::H264]),
        Err(NoVideo::Rejected)
    );
    let printed = answer.to_string();
    assert!(printed.contains("m=video 0 RTP/AVP 99\r\n"), "{printed}");
    assert!(!printed.contains("a=rtpmap:99"), "{printed}");
    assert_eq!(SipSdp::parse(&printed).as_ref(), Ok(&answer));
}
