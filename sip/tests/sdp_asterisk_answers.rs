//! Asterisk 22 SDP (answers in 200/183, and its own offers) parse with the captured values,
//! and the SIP leg's codec is chosen from them (RFC 3264 §6.1, RFC 4733, RFC 3605).

use std::fs;
use std::net::{IpAddr, SocketAddr};

use gateway_sip::sdp::{AudioCodec, Direction, MediaLine, SdpError, SipSdp, choose_answer_codec};

fn sdp_of(file: &str) -> SipSdp {
    let path = format!(
        "{}/tests/data/sdp/asterisk22/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = fs::read_to_string(path).expect("fixture copied into tests/data/sdp/asterisk22");
    let (_, body) = text
        .split_once("\r\n\r\n")
        .expect("SIP message with a body");
    SipSdp::parse(body).expect("Asterisk SDP parses")
}

fn audio(s: &SipSdp) -> &MediaLine {
    s.audio.as_ref().expect("SDP has an audio m-line")
}

/// (payload type, encoding name, clock rate, channels).
type Codec<'a> = (u8, &'a str, u32, u16);

fn codec_list(m: &MediaLine) -> Vec<Codec<'_>> {
    m.codecs
        .iter()
        .map(|c| (c.pt, c.name.as_str(), c.clock_rate, c.channels))
        .collect()
}

const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Answers to single-codec offers: Asterisk reuses the offer's o= id, bumps the version.
#[test]
fn single_codec_answers() {
    let cases: [(&str, u16, Codec<'_>); 4] = [
        (
            "outbound-600-ulaw-03-ast2gw-200-ok-invite-sdp.sip",
            20078,
            (0, "PCMU", 8000, 1),
        ),
        (
            "outbound-600-alaw-03-ast2gw-200-ok-invite-sdp.sip",
            20026,
            (8, "PCMA", 8000, 1),
        ),
        (
            "outbound-600-g722-03-ast2gw-200-ok-invite-sdp.sip",
            20096,
            (9, "G722", 8000, 1),
        ),
        (
            "outbound-600-opus-03-ast2gw-200-ok-invite-sdp.sip",
            20030,
            (107, "opus", 48000, 2),
        ),
    ];
    for (file, port, codec) in cases {
        let s = sdp_of(file);
        assert_eq!(
            (s.session_id, s.session_version),
            (53655765, 2353687639),
            "{file}"
        );
        assert_eq!(s.origin_user, "-");
        assert_eq!(s.addr, LOCALHOST);
        let a = audio(&s);
        assert_eq!(a.port, port, "{file}");
        assert_eq!(codec_list(a), vec![codec], "{file}");
        assert_eq!(
            a.codecs[0].fmtp, None,
            "Asterisk sends no fmtp for opus: {file}"
        );
        assert_eq!(a.telephone_events, vec![(101, 8000)]);
        assert_eq!(
            (a.ptime, a.direction, a.rtcp_port),
            (Some(20), Direction::SendRecv, None)
        );
    }
}

/// outbound-600-multi: offered 107 9 8 0, Asterisk answers all four in its own order.
#[test]
fn multi_codec_answer_order_and_choice() {
    let s = sdp_of("outbound-600-multi-03-ast2gw-200-ok-invite-sdp.sip");
    assert_eq!(
        codec_list(audio(&s)),
        vec![
            (0, "PCMU", 8000, 1),
            (8, "PCMA", 8000, 1),
            (9, "G722", 8000, 1),
            (107, "opus", 48000, 2)
        ]
    );
    // The first codec of the answer that we offered wins.
    let n =
        choose_answer_codec(&s, &[AudioCodec::Opus, AudioCodec::Pcma, AudioCodec::Pcmu]).unwrap();
    assert_eq!((n.sip_codec, n.sip_pt), (AudioCodec::Pcmu, 0));
    assert_eq!(n.remote_addr, SocketAddr::new(LOCALHOST, 20038));
    assert_eq!(n.remote_rtcp, SocketAddr::new(LOCALHOST, 20039));
    assert_eq!(n.telephone_event, Some((101, 8000)));
    assert_eq!(n.direction, Direction::SendRecv);
    let n = choose_answer_codec(&s, &[AudioCodec::Opus]).unwrap();
    assert_eq!((n.sip_codec, n.sip_pt), (AudioCodec::Opus, 107));
    assert_eq!(
        n.telephone_event,
        Some((101, 8000)),
        "no 48 kHz event in the answer"
    );
}

/// The opus-only answer negotiates Opus passthrough at PT 107.
#[test]
fn opus_answer_choice() {
    let s = sdp_of("outbound-600-opus-03-ast2gw-200-ok-invite-sdp.sip");
    let n = choose_answer_codec(&s, &[AudioCodec::Opus, AudioCodec::Pcmu]).unwrap();
    assert_eq!((n.sip_codec, n.sip_pt), (AudioCodec::Opus, 107));
    assert_eq!(
        choose_answer_codec(
            &sdp_of("outbound-600-g722-03-ast2gw-200-ok-invite-sdp.sip"),
            &[AudioCodec::Pcmu]
        ),
        Err(SdpError::NoCommonCodec)
    );
}

/// Asterisk's own offers (AMI Originate, Dial to the gateway): six formats, telephone-event at
/// 8000 (101) and 48000 (102); o= version equals the id.
#[test]
fn asterisk_offers() {
    for file in [
        "inbound-originate-gw-01-ast2gw-invite-sdp.sip",
        "inbound-dial-9webuser-gw-03-ast2gw-invite-sdp.sip",
    ] {
        let s = sdp_of(file);
        assert_eq!(s.session_id, s.session_version, "{file}");
        let a = audio(&s);
        assert_eq!(
            codec_list(a),
            vec![
                (0, "PCMU", 8000, 1),
                (8, "PCMA", 8000, 1),
                (9, "G722", 8000, 1),
                (107, "opus", 48000, 2)
            ]
        );
        assert_eq!(a.telephone_events, vec![(101, 8000), (102, 48000)]);
        let n = choose_answer_codec(&s, &[AudioCodec::Opus]).unwrap();
        assert_eq!(
            n.telephone_event,
            Some((102, 48000)),
            "event clock follows the codec (RFC 4733 §2.1)"
        );
        let n = choose_answer_codec(&s, &[AudioCodec::Pcma]).unwrap();
        assert_eq!((n.sip_pt, n.telephone_event), (8, Some((101, 8000))));
    }
    let s = sdp_of("inbound-originate-gw-01-ast2gw-invite-sdp.sip");
    assert_eq!((s.session_id, audio(&s).port), (111429448, 20092));
}

/// outbound-600-hold-reinvite: our sendonly re-INVITE is answered recvonly, then sendrecv again,
/// with the o= version incremented each time (RFC 3264 §8.4).
#[test]
fn hold_reinvite_answers() {
    let held = sdp_of("outbound-600-hold-reinvite-06-ast2gw-200-ok-invite-sdp.sip");
    let resumed = sdp_of("outbound-600-hold-reinvite-09-ast2gw-200-ok-invite-sdp.sip");
    assert_eq!(held.session_version, 2353687640);
    assert_eq!(resumed.session_version, 2353687641);
    assert_eq!(audio(&held).direction, Direction::RecvOnly);
    assert_eq!(audio(&resumed).direction, Direction::SendRecv);
    let n = choose_answer_codec(&held, &[AudioCodec::Pcmu]).unwrap();
    assert_eq!(n.direction, Direction::RecvOnly);
}

/// outbound-608-early-media: both 183s and the 200 carry the same SDP (same port).
#[test]
fn early_media_183_then_200() {
    let first = sdp_of("outbound-608-early-media-03-ast2gw-183-session-progress-invite-sdp.sip");
    let second = sdp_of("outbound-608-early-media-04-ast2gw-183-session-progress-invite-sdp.sip");
    let ok = sdp_of("outbound-608-early-media-05-ast2gw-200-ok-invite-sdp.sip");
    assert_eq!(first, second);
    assert_eq!(first, ok);
    assert_eq!(audio(&ok).port, 20076);
}

/// RFC 3264 §8.4: c=0.0.0.0 (legacy hold) — the remote does not want to receive.
#[test]
fn legacy_hold_connection_address() {
    let text = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n\
                m=audio 20000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";
    let s = SipSdp::parse(text).unwrap();
    assert!(s.addr.is_unspecified());
    let n = choose_answer_codec(&s, &[AudioCodec::Pcmu]).unwrap();
    assert_eq!(n.direction, Direction::SendOnly);
    assert_eq!(
        (n.sip_codec, n.sip_pt),
        (AudioCodec::Pcmu, 0),
        "static PT without rtpmap"
    );
}

/// RFC 3264 §6: port 0 rejects the stream; a=rtcp overrides port + 1 (RFC 3605).
#[test]
fn rejected_stream_and_rtcp_attribute() {
    let head = "v=0\r\no=- 1 2 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n";
    let rejected = SipSdp::parse(&format!("{head}m=audio 0 RTP/AVP 0\r\n")).unwrap();
    assert_eq!(
        choose_answer_codec(&rejected, &[AudioCodec::Pcmu]),
        Err(SdpError::AudioRejected)
    );
    let no_audio = SipSdp::parse(head).unwrap();
    assert_eq!(
        choose_answer_codec(&no_audio, &[AudioCodec::Pcmu]),
        Err(SdpError::NoAudio)
    );
    let rtcp = SipSdp::parse(&format!(
        "{head}m=audio 30000 RTP/AVP 8\r\na=rtcp:30011 IN IP4 192.0.2.7\r\na=sendonly\r\n"
    ))
    .unwrap();
    let n = choose_answer_codec(&rtcp, &[AudioCodec::Pcma]).unwrap();
    assert_eq!(n.remote_rtcp, "192.0.2.7:30011".parse().unwrap());
    assert_eq!(
        (n.direction, n.telephone_event),
        (Direction::SendOnly, None)
    );
}

/// What we write toward SIP is byte-identical to the captured PCMU offer Asterisk accepted
/// (outbound-600-ulaw-01), and parses back to the same value.
#[test]
fn our_pcmu_offer_matches_capture() {
    let ours = SipSdp {
        session_id: 53655765,
        session_version: 2353687637,
        origin_user: "gwtest".into(),
        addr: LOCALHOST,
        audio: Some(MediaLine::offer(6000, &[AudioCodec::Pcmu])),
        video: None,
    };
    let path = format!(
        "{}/tests/data/sdp/asterisk22/outbound-600-ulaw-01-gw2ast-invite-sdp.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = fs::read_to_string(path).unwrap();
    let (_, captured) = text.split_once("\r\n\r\n").unwrap();
    assert_eq!(ours.to_string(), captured);
    assert_eq!(SipSdp::parse(captured), Ok(ours));
}
