//! Asterisk adds and removes video in an answered call with re-INVITEs (RFC 3264 §6: the
//! answer has the offer's m-lines; §8.4: adding and removing streams), answered from the
//! gateway's own state: video on the port the call had, or rejected with port 0 when the call
//! never had video. Built on the `outbound-609-reinvite-from-asterisk` ladder with video lines
//! written by hand in Asterisk's shape (H.264 99, VP8 100, `42E01F`; no video call was
//! captured).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::message;
use gateway_sip::sdp::{Direction, SipSdp, VideoCodec, VideoLine};
use gateway_sip::ua::SessionEvent;
use rsip::Method;
use ua_common::{
    ASTERISK_609_SDP, Harness, OFFER, answered_609, asterisk_609_bye, asterisk_reinvite,
    asterisk_reinvite_ack, capture, header, reply, reply_from, request, response, with_body,
};

/// Asterisk's video line: H.264 then VP8, its own payload types.
const ASTERISK_VIDEO: &str = "m=video 20078 RTP/AVP 99 100\r\na=rtpmap:99 H264/90000\r\n\
    a=fmtp:99 packetization-mode=1;profile-level-id=42E01F\r\na=rtpmap:100 VP8/90000\r\n\
    a=sendrecv\r\n";

/// Our offer of a video call: the ladder's audio, VP8 and H.264 on port 6002.
fn our_video_offer() -> String {
    let mut sdp = SipSdp::parse(OFFER).unwrap();
    sdp.video = Some(VideoLine::offer(
        6002,
        &VideoCodec::DEFAULT_ORDER,
        Direction::SendRecv,
    ));
    sdp.to_string()
}

/// Asterisk's SDP with session version `version` and `video` after its audio.
fn asterisk_sdp(version: u64, video: &str) -> String {
    format!(
        "{}{video}",
        ASTERISK_609_SDP.replace("2353687639", &version.to_string())
    )
}

/// A video call to 609 answered by Asterisk with H.264 only (its first codec); returns our
/// INVITE.
fn answered_with_video(h: &mut Harness, handle: u64) -> rsip::Request {
    h.ua.invite(h.now, handle, "609", &our_video_offer())
        .unwrap();
    let invite = request(&h.sent()[0]);
    h.receive(&reply(
        "outbound-609-reinvite-from-asterisk-02-ast2gw-100-trying-invite.sip",
        &invite,
    ));
    let h264 = "m=video 20078 RTP/AVP 99\r\na=rtpmap:99 H264/90000\r\n\
        a=fmtp:99 packetization-mode=1;profile-level-id=42E01F\r\na=sendrecv\r\n";
    let ok = with_body(
        &capture("outbound-609-reinvite-from-asterisk-03-ast2gw-200-ok-invite-sdp.sip"),
        &asterisk_sdp(2353687639, h264),
    );
    h.receive(&reply_from(&ok, &invite));
    assert!(matches!(
        h.events(handle)[..],
        [SessionEvent::Answered { .. }]
    ));
    assert_eq!(h.sent().len(), 1, "the ACK");
    invite
}

/// Re-INVITE `n` offering `sdp`, ACKed; returns our 200's SDP, text and parsed.
fn reinvite(h: &mut Harness, invite: &rsip::Request, n: u32, sdp: &str) -> (String, SipSdp) {
    h.receive(&asterisk_reinvite(invite, n, sdp));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ok = response(&sent[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(message::cseq(&ok).unwrap(), (14953 + n, Method::Invite));
    assert_eq!(
        header(&ok, "Content-Type").as_deref(),
        Some("application/sdp")
    );
    h.receive(&asterisk_reinvite_ack(invite, n));
    assert_eq!(h.sent(), vec![]);
    let text = String::from_utf8(ok.body.clone()).unwrap();
    let parsed = SipSdp::parse(&text).unwrap();
    (text, parsed)
}

/// (port, payload types, direction) of a video line.
fn summary(v: &VideoLine) -> (u16, Vec<u8>, Direction) {
    (
        v.port,
        v.formats.iter().map(|f| f.pt).collect(),
        v.direction,
    )
}

/// RFC 3264 §8.4 / §6.1: in a video call, Asterisk's offers are answered with exactly their
/// m-lines: video kept on our port 6002 with the codec in use (H.264, though VP8 comes first
/// in the offer) and the §6.1 direction; video removed (port 0) is rejected; added again, it
/// is answered on port 6002 again; an offer without video gets an answer without video. Each
/// change raises our version by one.
#[test]
fn video_removed_and_added_again() {
    let mut h = Harness::udp();
    let invite = answered_with_video(&mut h, 71);

    let vp8_first = ASTERISK_VIDEO
        .replace("RTP/AVP 99 100", "RTP/AVP 100 99")
        .replace("a=sendrecv", "a=sendonly");
    let offer = asterisk_sdp(2353687640, &vp8_first);
    let (_, ours) = reinvite(&mut h, &invite, 0, &offer);
    assert_eq!(ours.session_version, 2353687638);
    let video = ours.video.unwrap();
    assert_eq!(summary(&video), (6002, vec![99], Direction::RecvOnly));
    assert_eq!(
        video.formats[0].fmtp.as_deref(),
        Some("packetization-mode=1;profile-level-id=42e01f"),
        "our fmtp"
    );
    assert_eq!(ours.audio.unwrap().port, 6000);
    assert_eq!(
        h.events(71),
        vec![SessionEvent::RemoteSdp {
            sdp: offer,
            offer: true
        }]
    );

    let removed = asterisk_sdp(
        2353687641,
        &ASTERISK_VIDEO.replace("video 20078", "video 0"),
    );
    let (text, ours) = reinvite(&mut h, &invite, 1, &removed);
    assert_eq!(ours.session_version, 2353687639);
    assert_eq!(
        summary(&ours.video.unwrap()),
        (0, vec![99, 100], Direction::Inactive)
    );
    assert!(text.contains("\r\nm=video 0 RTP/AVP 99 100\r\n"), "{text}");
    let _ = h.events(71);

    let back = asterisk_sdp(2353687642, ASTERISK_VIDEO);
    let (_, ours) = reinvite(&mut h, &invite, 2, &back);
    assert_eq!(ours.session_version, 2353687640);
    assert_eq!(
        summary(&ours.video.unwrap()),
        (6002, vec![99], Direction::SendRecv)
    );
    let _ = h.events(71);

    // The same offer again (a new version, same media) changes nothing of ours.
    let (_, ours) = reinvite(
        &mut h,
        &invite,
        3,
        &asterisk_sdp(2353687643, ASTERISK_VIDEO),
    );
    assert_eq!(ours.session_version, 2353687640);
    let _ = h.events(71);

    let (text, ours) = reinvite(&mut h, &invite, 4, &asterisk_sdp(2353687644, ""));
    assert_eq!(ours.session_version, 2353687641);
    assert_eq!(ours.video, None);
    assert!(!text.contains("m=video"), "{text}");
    let _ = h.events(71);

    h.receive(&asterisk_609_bye(&invite, 14960));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert!(matches!(h.events(71)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();
}

/// RFC 3264 §6 / §8.4: an audio-only call offered video by Asterisk rejects it (port 0, its
/// formats listed) and keeps its audio; a video call offered only codecs we do not pass
/// (H.263, H.264 mode 0) rejects it too.
#[test]
fn video_refused_without_port_or_codec() {
    let mut h = Harness::udp();
    let invite = answered_609(&mut h, 72);
    let (text, ours) = reinvite(
        &mut h,
        &invite,
        0,
        &asterisk_sdp(2353687640, ASTERISK_VIDEO),
    );
    assert_eq!(
        summary(&ours.video.unwrap()),
        (0, vec![99, 100], Direction::Inactive)
    );
    let audio = ours.audio.unwrap();
    assert_eq!((audio.port, audio.direction), (6000, Direction::SendRecv));
    let (head, video) = text.split_once("m=video").unwrap();
    assert!(head.contains("m=audio 6000 RTP/AVP 0 101\r\n"), "{text}");
    assert!(video.starts_with(" 0 RTP/AVP 99 100\r\n"), "{text}");
    let _ = h.events(72);
    h.receive(&asterisk_609_bye(&invite, 14955));
    let _ = h.sent();
    assert!(matches!(h.events(72)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();

    let mut h = Harness::udp();
    let invite = answered_with_video(&mut h, 73);
    let other = "m=video 20078 RTP/AVP 34 99\r\na=rtpmap:34 H263/90000\r\n\
        a=rtpmap:99 H264/90000\r\na=fmtp:99 packetization-mode=0;profile-level-id=42E01F\r\n\
        a=sendrecv\r\n";
    let (_, ours) = reinvite(&mut h, &invite, 0, &asterisk_sdp(2353687640, other));
    assert_eq!(
        summary(&ours.video.unwrap()),
        (0, vec![34, 99], Direction::Inactive)
    );
    assert_eq!(ours.audio.unwrap().port, 6000);
    let _ = h.events(73);
    h.receive(&asterisk_609_bye(&invite, 14955));
    let _ = h.sent();
    assert!(matches!(h.events(73)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();
}
