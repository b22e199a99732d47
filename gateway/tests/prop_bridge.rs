//! Property tests of the per-call RTP bridge on hostile packets: arbitrary bytes from the SIP leg,
//! arbitrary header fields and payloads from the browser leg, in passthrough and in Opus <-> G.711
//! transcoding, with and without RFC 4733 telephone-events, never panic; every packet written
//! toward SIP is valid RTP (RFC 3550 §5.1) on the SIP leg's payload types, every packet toward the
//! browser is on the browser leg's; and in passthrough an audio payload crosses byte for byte.
//!
//! Cases come from a seeded ChaCha20 generator (the gateway crate has no proptest), so every run
//! checks the same cases and a failure names the case that broke.

use gateway::call::bridge::{Bridge, BridgeMode, DtmfSetup, LegIds};
use gateway_media::G711Law;
use gateway_media::rtp::{self, RtpFields, RtpHeader};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

const CASES: usize = 256;
const OPUS: u8 = 111;
const TE: u8 = 101;

fn bytes(rng: &mut ChaCha20Rng, max: usize) -> Vec<u8> {
    let mut v = vec![0u8; rng.gen_range(0..=max)];
    rng.fill_bytes(&mut v);
    v
}

/// A bridge in one of the modes the gateway uses, and its (browser, SIP) audio payload types.
fn bridge(rng: &mut ChaCha20Rng) -> (Bridge, u8, u8, DtmfSetup) {
    let (mode, browser_pt, sip_pt) = match rng.gen_range(0..4) {
        0 => (BridgeMode::Passthrough, 0, 0),
        1 => (BridgeMode::Passthrough, 8, 8),
        2 => (BridgeMode::Transcode(G711Law::Ulaw), OPUS, 0),
        _ => (BridgeMode::Transcode(G711Law::Alaw), OPUS, 8),
    };
    let rate = if rng.r#gen() { 48000 } else { 8000 };
    let dtmf = DtmfSetup {
        browser: rng.r#gen::<bool>().then_some((TE, rate)),
        sip: rng.r#gen::<bool>().then_some((TE, 8000)),
    };
    let mut ids = |pt| LegIds {
        ssrc: rng.r#gen(),
        pt,
        seq: rng.r#gen(),
        ts: rng.r#gen(),
    };
    let (b, s) = (ids(browser_pt), ids(sip_pt));
    let bridge = Bridge::new(mode, b, s, dtmf).expect("libopus creates its coders");
    (bridge, browser_pt, sip_pt, dtmf)
}

/// A browser packet's fields: mostly on the negotiated payload types, sometimes any.
fn browser_fields(rng: &mut ChaCha20Rng, audio_pt: u8) -> RtpFields {
    let pt = match rng.gen_range(0..4) {
        0 | 1 => audio_pt,
        2 => TE,
        _ => rng.gen_range(0..128),
    };
    RtpFields {
        pt,
        marker: rng.r#gen(),
        seq: rng.r#gen(),
        ts: rng.r#gen(),
        ssrc: rng.r#gen(),
    }
}

/// A SIP packet: arbitrary bytes, or a valid header on a likely payload type with any payload.
fn sip_packet(rng: &mut ChaCha20Rng, audio_pt: u8) -> Vec<u8> {
    if rng.gen_ratio(1, 4) {
        return bytes(rng, 64);
    }
    let pt = if rng.r#gen() { audio_pt } else { TE };
    let f = RtpFields {
        pt,
        marker: rng.r#gen(),
        seq: rng.r#gen(),
        ts: rng.r#gen(),
        ssrc: rng.r#gen(),
    };
    let mut pkt = vec![0u8; 12];
    rtp::write_header(&mut pkt, &f).expect("12 bytes hold a header");
    pkt.extend(bytes(rng, 480));
    pkt
}

fn check_to_sip(case: usize, pkt: &[u8], sip_pt: u8, dtmf: DtmfSetup) {
    let h = RtpHeader::parse(pkt)
        .unwrap_or_else(|e| panic!("case {case}: invalid RTP toward SIP ({e}): {pkt:02x?}"));
    let te = dtmf.sip.map(|t| t.0);
    assert!(
        h.pt == sip_pt || Some(h.pt) == te,
        "case {case}: toward SIP on PT {}",
        h.pt
    );
}

/// RFC 3550 §5.1: whatever arrives on either leg, the bridge keeps each leg on its own payload
/// types and writes only valid RTP, without panicking.
#[test]
fn arbitrary_packets_both_ways_never_panic() {
    let mut rng = ChaCha20Rng::seed_from_u64(0xB41D6E);
    let mut out = vec![0u8; 2048];
    for case in 0..CASES {
        let (mut bridge, browser_pt, sip_pt, dtmf) = bridge(&mut rng);
        let mut now_ms = 0u64;
        for _ in 0..40 {
            match rng.gen_range(0..4) {
                0 => {
                    let f = browser_fields(&mut rng, browser_pt);
                    let payload = bytes(&mut rng, 400);
                    let n = bridge.browser_to_sip(now_ms, f, &payload, &mut out);
                    if n > 0 {
                        check_to_sip(case, &out[..n], sip_pt, dtmf);
                    }
                }
                1 => {
                    let pkt = sip_packet(&mut rng, sip_pt);
                    let te = dtmf.browser.map(|t| t.0);
                    bridge.sip_to_browser(&pkt, |f, _| {
                        assert!(
                            f.pt == browser_pt || Some(f.pt) == te,
                            "case {case}: toward the browser on PT {}",
                            f.pt
                        );
                    });
                }
                2 => {
                    let digits: String = (0..rng.gen_range(0..4))
                        .map(|_| char::from(rng.gen_range(b' '..b'~')))
                        .collect();
                    let _ = bridge.send_digits(&digits);
                }
                _ => {
                    now_ms += rng.gen_range(0..200);
                    loop {
                        let n = bridge.poll_dtmf(now_ms, &mut out);
                        if n == 0 {
                            break;
                        }
                        check_to_sip(case, &out[..n], sip_pt, dtmf);
                    }
                }
            }
            while bridge.take_phone_digit().is_some() {}
            while bridge.take_browser_digit().is_some() {}
        }
    }
}

/// Passthrough (same codec on both legs): an audio payload crosses unchanged both ways, on the
/// other leg's payload type.
#[test]
fn passthrough_audio_crosses_byte_for_byte() {
    let mut rng = ChaCha20Rng::seed_from_u64(0xB41D6F);
    let mut out = vec![0u8; 2048];
    for case in 0..CASES {
        let pt = if rng.r#gen() { 0 } else { 8 };
        let ids = |rng: &mut ChaCha20Rng| LegIds {
            ssrc: rng.r#gen(),
            pt,
            seq: rng.r#gen(),
            ts: rng.r#gen(),
        };
        let (b, s) = (ids(&mut rng), ids(&mut rng));
        let mut bridge = Bridge::new(BridgeMode::Passthrough, b, s, DtmfSetup::default())
            .expect("passthrough needs no coder");
        for _ in 0..8 {
            let payload = bytes(&mut rng, 400);
            let f = RtpFields {
                pt,
                marker: rng.r#gen(),
                seq: rng.r#gen(),
                ts: rng.r#gen(),
                ssrc: rng.r#gen(),
            };
            let n = bridge.browser_to_sip(0, f, &payload, &mut out);
            let h = RtpHeader::parse(&out[..n]).unwrap_or_else(|e| panic!("case {case}: {e}"));
            assert_eq!((h.pt, h.ssrc), (pt, s.ssrc), "case {case}");
            assert_eq!(
                h.payload(&out[..n]),
                &payload[..],
                "case {case}: payload changed toward SIP"
            );

            let mut pkt = vec![0u8; 12];
            rtp::write_header(&mut pkt, &f).expect("12 bytes hold a header");
            pkt.extend_from_slice(&payload);
            let mut emitted = Vec::new();
            bridge.sip_to_browser(&pkt, |g, p| emitted.push((g, p.to_vec())));
            assert_eq!(emitted.len(), 1, "case {case}: one packet in, one out");
            assert_eq!(
                (emitted[0].0.pt, emitted[0].0.ssrc),
                (pt, b.ssrc),
                "case {case}"
            );
            assert_eq!(
                emitted[0].1, payload,
                "case {case}: payload changed toward the browser"
            );
        }
    }
}
