//! Asterisk changes an answered call with re-INVITEs (RFC 3261 §14.2), answered from the
//! gateway's own state (RFC 3264 §6.1 directions, §8 versions): hold and resume from the phone,
//! a move to a new port and codec, and an offer we cannot take (488, the call stays up). Built
//! on the `outbound-609-reinvite-from-asterisk` ladder with Asterisk's SDP edited per step.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::message;
use gateway_sip::sdp::{AudioCodec, Direction, SipSdp};
use gateway_sip::ua::{EndCause, SessionEvent};
use rsip::Method;
use ua_common::{
    ASTERISK_609_SDP, Harness, answered_609, asterisk_609_bye, asterisk_reinvite,
    asterisk_reinvite_ack, header, response,
};

/// Asterisk's SDP with session version `version`, `line` replaced by `with`.
fn asterisk_sdp(version: u64, line: &str, with: &str) -> String {
    ASTERISK_609_SDP
        .replace("2353687639", &version.to_string())
        .replace(line, with)
}

/// Sends re-INVITE `n` offering `sdp`; returns our one response, its SDP parsed.
fn reinvite(h: &mut Harness, invite: &rsip::Request, n: u32, sdp: &str) -> rsip::Response {
    h.receive(&asterisk_reinvite(invite, n, sdp));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let resp = response(&sent[0]);
    assert_eq!(message::cseq(&resp).unwrap(), (14953 + n, Method::Invite));
    resp
}

fn sdp_of(resp: &rsip::Response) -> SipSdp {
    assert_eq!(
        header(resp, "Content-Type").as_deref(),
        Some("application/sdp")
    );
    SipSdp::parse(std::str::from_utf8(&resp.body).unwrap()).unwrap()
}

/// RFC 3264 §8.4 / §6.1: the phone holds (sendonly) -> we answer recvonly; it resumes
/// (sendrecv) -> sendrecv; each answer keeps our address/port/codec and raises our version by
/// one; the application hears each new remote SDP once (a retransmission is not news).
#[test]
fn hold_and_resume_from_the_phone() {
    let mut h = Harness::udp();
    let invite = answered_609(&mut h, 61);

    let hold = asterisk_sdp(2353687640, "a=sendrecv", "a=sendonly");
    let ok = reinvite(&mut h, &invite, 0, &hold);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(
        header(&ok, "Contact").as_deref(),
        Some("<sip:gwtest@127.0.0.1:5080>")
    );
    let ours = sdp_of(&ok);
    assert_eq!(ours.session_version, 2353687638, "OFFER's version + 1");
    assert_eq!(ours.origin_user, "gwtest");
    let audio = ours.audio.unwrap();
    assert_eq!(audio.direction, Direction::RecvOnly);
    assert_eq!(audio.port, 6000);
    assert_eq!(audio.codecs[0].pt, 0);
    assert_eq!(audio.telephone_events, vec![(101, 8000)]);
    assert_eq!(
        h.events(61),
        vec![SessionEvent::RemoteSdp {
            sdp: hold.clone(),
            offer: true
        }]
    );
    // Our 200 is retransmitted until the ACK (§13.3.1.4), then no more.
    let again = h.advance(std::time::Duration::from_millis(500));
    assert_eq!(again.len(), 1, "{again:?}");
    h.receive(&asterisk_reinvite_ack(&invite, 0));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(61), vec![]);

    let resume = asterisk_sdp(2353687641, "", "");
    let ok = reinvite(&mut h, &invite, 2, &resume);
    let ours = sdp_of(&ok);
    assert_eq!(ours.session_version, 2353687639);
    assert_eq!(ours.audio.unwrap().direction, Direction::SendRecv);
    assert_eq!(
        h.events(61),
        vec![SessionEvent::RemoteSdp {
            sdp: resume,
            offer: true
        }]
    );
    h.receive(&asterisk_reinvite_ack(&invite, 2));

    h.receive(&asterisk_609_bye(&invite, 14957));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert_eq!(
        h.events(61),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "remote_hangup"
        })]
    );
    h.assert_drains_to_nothing();
}

/// RFC 3264 §8.3.1 / §8.3.2: the phone moves its media (new port) and codec (PCMA only): the
/// application gets the new SDP to follow, and we answer PCMA at the offered payload type. An
/// offer with no codec we handle (G.722 only) is refused with 488 (§14.2): the call and our
/// previous session stay, and a later offer is still answered from them.
#[test]
fn media_change_and_unacceptable_offer() {
    let mut h = Harness::udp();
    let invite = answered_609(&mut h, 62);

    let moved = asterisk_sdp(
        2353687640,
        "m=audio 20076 RTP/AVP 0 101",
        "m=audio 20200 RTP/AVP 8 101",
    )
    .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000");
    let ok = reinvite(&mut h, &invite, 0, &moved);
    assert_eq!(ok.status_code.code(), 200);
    let audio = sdp_of(&ok).audio.unwrap();
    assert_eq!(audio.codecs.len(), 1);
    assert_eq!(audio.codecs[0].pt, 8);
    assert_eq!(audio.codecs[0].audio_codec(), Some(AudioCodec::Pcma));
    assert_eq!(audio.port, 6000);
    assert_eq!(audio.direction, Direction::SendRecv);
    assert_eq!(
        h.events(62),
        vec![SessionEvent::RemoteSdp {
            sdp: moved,
            offer: true
        }]
    );
    h.receive(&asterisk_reinvite_ack(&invite, 0));

    let g722 = asterisk_sdp(
        2353687641,
        "m=audio 20076 RTP/AVP 0 101",
        "m=audio 20076 RTP/AVP 9 101",
    )
    .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:9 G722/8000");
    let refused = reinvite(&mut h, &invite, 2, &g722);
    assert_eq!(refused.status_code.code(), 488);
    assert!(refused.body.is_empty());
    assert_eq!(h.events(62), vec![]);
    // Asterisk ACKs the 488 inside its transaction (same branch): absorbed.
    h.receive(&ua_common::asterisk_reinvite_tx_ack(&invite, 2));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.ua.session_count(), 1);

    // The session is still the PCMA one: an unchanged re-offer gets it again.
    let ok = reinvite(
        &mut h,
        &invite,
        3,
        &asterisk_sdp(
            2353687640,
            "m=audio 20076 RTP/AVP 0 101",
            "m=audio 20200 RTP/AVP 0 8 101",
        )
        .replace(
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000",
        ),
    );
    let audio = sdp_of(&ok).audio.unwrap();
    assert_eq!(audio.codecs[0].audio_codec(), Some(AudioCodec::Pcma));
    let _ = h.events(62);
    h.receive(&asterisk_reinvite_ack(&invite, 3));

    h.receive(&asterisk_609_bye(&invite, 14957));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert!(matches!(h.events(62)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();
}
