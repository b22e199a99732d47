//! Issue 8, point 5 ("Media safety"), on the browser leg: DTLS and SRTP are accepted only from
//! addresses ICE validated (RFC 8445 §7.3, RFC 7983 §7), only with the certificate whose fingerprint
//! the offer carries (RFC 8122 §5, RFC 5763 §5), and SRTP replays are discarded (RFC 3711 §3.3.2).
//!
//! A `rtc` peer connection plays the browser: it offers, and the two exchange datagrams in memory
//! with made-up 127.0.0.1 addresses while the test moves an explicit clock forward. No sockets.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use gateway::webrtc::{BrowserCodec, CandidatePolicy, LegEvent, LegParams, WebrtcLeg};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_PCMU, MediaEngine};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

const BROWSER: &str = "127.0.0.1:5000";
const GATEWAY: &str = "127.0.0.1:6000";
const STRANGER: &str = "127.0.0.9:4000";
/// Clock step: finer than any ICE, DTLS or SRTP timer that matters here.
const TICK: Duration = Duration::from_millis(5);
/// Longest the tests wait for a connection, in simulated time.
const SETUP_LIMIT: Duration = Duration::from_secs(30);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn pcmu() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_PCMU.to_owned(),
        clock_rate: 8000,
        channels: 1,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

/// The browser: an offering `rtc` peer connection with one PCMU track and one host candidate.
struct Browser {
    pc: RTCPeerConnection,
    sender: RTCRtpSenderId,
}

impl Browser {
    fn new(now: Instant) -> (Self, String) {
        let mut media = MediaEngine::default();
        media
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: pcmu(),
                    payload_type: 0,
                },
                RtpCodecKind::Audio,
            )
            .unwrap();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(media)
            .build(now)
            .unwrap();
        let track = MediaStreamTrack::new(
            "browser".to_owned(),
            "browser-audio".to_owned(),
            "audio".to_owned(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(0x0bad_cafe),
                    ..Default::default()
                },
                codec: pcmu(),
                ..Default::default()
            }],
        );
        let sender = pc.add_track(track).unwrap();
        let host = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: addr(BROWSER).ip().to_string(),
                port: addr(BROWSER).port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .unwrap();
        pc.add_local_candidate(RTCIceCandidate::from(&host).to_json().unwrap())
            .unwrap();
        pc.add_local_candidate(RTCIceCandidateInit::default())
            .unwrap();
        let offer = pc.create_offer(None).unwrap();
        pc.set_local_description(now, offer).unwrap();
        let sdp = pc.local_description().unwrap().sdp;
        (Self { pc, sender }, sdp)
    }
}

/// The browser and the gateway's leg, wired together in memory.
struct Call {
    browser: Browser,
    leg: WebrtcLeg,
    now: Instant,
    /// Every event the leg reported, in order.
    events: Vec<LegEvent>,
    /// Every RTP packet the leg delivered: (sequence number, payload).
    delivered: Vec<(u16, Bytes)>,
    /// Every non-STUN datagram the browser sent, as sent.
    browser_sent: Vec<Vec<u8>>,
    /// A datagram the stranger sends just before the browser's first DTLS reaches the leg: by
    /// then ICE has validated the browser, and DTLS is not up yet.
    stranger_before_dtls: Option<Vec<u8>>,
}

impl Call {
    /// Sets up a call; `tamper` may change the offer on its way to the gateway.
    fn new(tamper: impl FnOnce(String) -> String) -> Self {
        #[allow(clippy::disallowed_methods)] // the origin of virtual time; never read again
        let now = Instant::now();
        let (mut browser, offer) = Browser::new(now);
        let codec = BrowserCodec {
            pt: 0,
            name: "PCMU".to_owned(),
            clock_rate: 8000,
            channels: 1,
            fmtp: None,
        };
        let (leg, answer) = WebrtcLeg::answer(
            now,
            LegParams {
                offer_sdp: &tamper(offer),
                codec: &codec,
                local_addr: addr(GATEWAY),
                advertised: addr(GATEWAY),
                srflx: None,
                telephone_event: None,
                ssrc: 0x600d_f00d,
                candidates: CandidatePolicy::default(),
                video: None,
            },
        )
        .unwrap();
        browser
            .pc
            .set_remote_description(now, RTCSessionDescription::answer(answer).unwrap())
            .unwrap();
        Self {
            browser,
            leg,
            now,
            events: vec![],
            delivered: vec![],
            browser_sent: vec![],
            stranger_before_dtls: None,
        }
    }

    /// Gives `data` to the leg as if it came from `from`, then collects what the leg reports.
    fn deliver(&mut self, from: &str, data: &[u8]) {
        self.leg.handle_datagram(self.now, addr(from), data);
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(ev) = self.leg.poll_event() {
            self.events.push(ev);
        }
        while let Some(p) = self.leg.poll_rtp() {
            self.delivered.push((p.header.sequence_number, p.payload));
        }
    }

    /// Carries datagrams both ways until neither side has more to send.
    fn exchange(&mut self) {
        loop {
            let mut moved = false;
            while let Some(m) = self.browser.pc.poll_write() {
                moved = true;
                assert_eq!(m.transport.peer_addr, addr(GATEWAY));
                if !matches!(m.message.first(), Some(0..=3)) {
                    self.browser_sent.push(m.message.to_vec());
                }
                if matches!(m.message.first(), Some(20..=63))
                    && let Some(d) = self.stranger_before_dtls.take()
                {
                    assert!(!self.leg.is_connected());
                    self.deliver(STRANGER, &d);
                }
                self.deliver(BROWSER, &m.message);
            }
            while let Some((to, data)) = self.leg.poll_transmit() {
                moved = true;
                assert_eq!(to, addr(BROWSER));
                let msg = TaggedBytesMut {
                    now: self.now,
                    transport: TransportContext {
                        local_addr: addr(BROWSER),
                        peer_addr: addr(GATEWAY),
                        ecn: None,
                        transport_protocol: TransportProtocol::UDP,
                    },
                    message: data,
                };
                let _ = self.browser.pc.handle_read(msg);
            }
            while self.browser.pc.poll_event().is_some() {}
            while self.browser.pc.poll_read().is_some() {}
            self.collect();
            if !moved {
                return;
            }
        }
    }

    /// Moves the clock one tick and lets both sides act on it.
    fn tick(&mut self) {
        self.now += TICK;
        let _ = self.browser.pc.handle_timeout(self.now);
        self.leg.handle_timeout(self.now);
        self.exchange();
    }

    /// Runs until `done` holds or `limit` of simulated time passes; returns whether it held.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let end = self.now + limit;
        self.exchange();
        while !done(self) {
            if self.now >= end {
                return false;
            }
            self.tick();
        }
        true
    }

    fn connect(&mut self) {
        let up = self.run_until(SETUP_LIMIT, |c| c.leg.is_connected());
        assert!(up, "not connected; leg events {:?}", self.events);
        // Let the last handshake flight and the SRTP keys settle on both sides.
        self.run_until(Duration::from_millis(200), |_| false);
    }

    /// The browser sends RTP packet `seq`; returns the SRTP datagram without delivering it.
    fn browser_rtp(&mut self, seq: u16) -> Vec<u8> {
        let packet = rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                payload_type: 0,
                sequence_number: seq,
                timestamp: u32::from(seq) * 160,
                ssrc: 0x0bad_cafe,
                ..Default::default()
            },
            payload: Bytes::from(vec![0xff; 160]),
        };
        let now = self.now;
        let mut sender = self.browser.pc.rtp_sender(self.browser.sender).unwrap();
        sender.write_rtp(now, packet).unwrap();
        let mut rtp = None;
        while let Some(m) = self.browser.pc.poll_write() {
            if matches!(m.message.first(), Some(128..=191)) && rtp.is_none() {
                rtp = Some(m.message.to_vec());
            } else {
                self.deliver(BROWSER, &m.message);
            }
        }
        rtp.expect("the browser sent no SRTP")
    }
}

/// A DTLS 1.2 ClientHello record (RFC 6347 §4.2.1, §4.3.2): content type 22, version 254.253,
/// epoch 0, handshake type 1; the body is a well-formed hello offering one cipher suite.
fn client_hello() -> Vec<u8> {
    let mut hello = vec![0xfe, 0xfd]; // client_version
    hello.extend_from_slice(&[0x42; 32]); // random
    hello.push(0); // session_id
    hello.push(0); // cookie
    hello.extend_from_slice(&[0, 2, 0xc0, 0x2b]); // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    hello.extend_from_slice(&[1, 0]); // compression: null
    let len = hello.len() as u32;
    let mut hs = vec![1]; // client_hello
    hs.extend_from_slice(&len.to_be_bytes()[1..]);
    hs.extend_from_slice(&[0, 0]); // message_seq
    hs.extend_from_slice(&[0, 0, 0]); // fragment_offset
    hs.extend_from_slice(&len.to_be_bytes()[1..]); // fragment_length
    hs.extend_from_slice(&hello);
    let mut record = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0];
    record.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    record.extend_from_slice(&hs);
    record
}

/// Before the connection is up, a ClientHello from an address that never passed an ICE check is
/// dropped by the leg, and the real handshake completes undisturbed.
#[test]
fn stranger_client_hello_before_connection_is_dropped() {
    let mut call = Call::new(|offer| offer);
    // Before any ICE check.
    call.deliver(STRANGER, &client_hello());
    assert_eq!(call.leg.dropped_unvalidated(), 1);
    // With the browser validated and a pair selected, but DTLS not up yet.
    call.stranger_before_dtls = Some(client_hello());
    call.connect();
    assert!(
        call.stranger_before_dtls.is_none(),
        "the browser sent no DTLS"
    );
    assert_eq!(call.events, [LegEvent::Connected]);
    assert_eq!(
        call.leg.dropped_unvalidated(),
        2,
        "the browser's own DTLS was dropped"
    );
}

/// After the connection is up, DTLS and SRTP from a stranger are dropped before they reach the
/// stack, while the very same SRTP bytes from the validated address are delivered.
#[test]
fn stranger_dtls_and_srtp_after_connection_are_dropped() {
    let mut call = Call::new(|offer| offer);
    call.connect();
    let dtls = call
        .browser_sent
        .iter()
        .rev()
        .find(|d| matches!(d[0], 20..=63))
        .expect("the browser sent DTLS")
        .clone();
    let srtp = call.browser_rtp(7);
    let before = call.leg.dropped_unvalidated();

    call.deliver(STRANGER, &dtls);
    call.deliver(STRANGER, &srtp);
    call.exchange();
    assert_eq!(call.leg.dropped_unvalidated(), before + 2);
    assert!(call.delivered.is_empty(), "{:?}", call.delivered);
    assert_eq!(call.events, [LegEvent::Connected]);

    call.deliver(BROWSER, &srtp);
    call.deliver(BROWSER, &dtls);
    call.exchange();
    assert_eq!(call.leg.dropped_unvalidated(), before + 2);
    assert_eq!(call.delivered.len(), 1);
    assert_eq!(call.delivered[0].0, 7);
    assert_eq!(call.events, [LegEvent::Connected]);
}

/// A certificate that does not match the offer's `a=fingerprint` never gets the leg connected,
/// while the unaltered offer does (RFC 8122 §5).
#[test]
fn certificate_must_match_the_offer_fingerprint() {
    let mut good = Call::new(|offer| offer);
    assert!(good.run_until(SETUP_LIMIT, |c| c.leg.is_connected()));

    let mut bad = Call::new(alter_fingerprint);
    let connected = bad.run_until(SETUP_LIMIT, |c| c.leg.is_connected());
    assert!(!connected, "connected despite a wrong fingerprint");
    assert!(!bad.events.contains(&LegEvent::Connected));
    assert!(bad.delivered.is_empty());
}

/// The offer with the first hex byte of its `a=fingerprint` changed.
fn alter_fingerprint(offer: String) -> String {
    let line = offer
        .lines()
        .find(|l| l.starts_with("a=fingerprint:sha-256 "))
        .expect("the offer has a sha-256 fingerprint");
    let at = offer.find(line).unwrap() + "a=fingerprint:sha-256 ".len();
    let byte = &offer[at..at + 2];
    let changed = if byte == "00" { "01" } else { "00" };
    format!("{}{changed}{}", &offer[..at], &offer[at + 2..])
}

/// The leg delivers an SRTP packet once; the same datagram again is a replay and delivers nothing
/// (RFC 3711 §3.3.2).
#[test]
fn srtp_replay_is_discarded() {
    let mut call = Call::new(|offer| offer);
    call.connect();
    let first = call.browser_rtp(100);
    call.deliver(BROWSER, &first);
    assert_eq!(call.delivered.len(), 1);
    call.deliver(BROWSER, &first);
    call.exchange();
    assert_eq!(call.delivered.len(), 1, "a replayed packet was delivered");
    // The stream itself goes on.
    let next = call.browser_rtp(101);
    call.deliver(BROWSER, &next);
    let seqs: Vec<u16> = call.delivered.iter().map(|d| d.0).collect();
    assert_eq!(seqs, [100, 101]);
}
