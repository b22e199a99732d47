//! The per-call RTP bridge (RFC 3550 §5.1 rewriting, Opus <-> G.711 transcoding, RFC 4733 relay
//! and generation) fed arbitrary packets from both legs, and the RTCP parser (RFC 3550 §6.4, A.2)
//! and the video feedback parser (RFC 4585 §6, RFC 5104 §4.3.1, REMB) fed arbitrary compound
//! packets. Never panics; every packet the bridge writes is valid RTP on
//! the payload type negotiated for its leg; a parsed RR prints and parses back to the same blocks.
#![no_main]

use gateway::call::bridge::{Bridge, BridgeMode, DtmfSetup, LegIds};
use gateway_media::G711Law;
use gateway_media::feedback;
use gateway_media::rtcp::{self, RtcpPacket};
use gateway_media::rtp::{self, RtpHeader};
use libfuzzer_sys::fuzz_target;
use webrtc_gateway_fuzz::Ops;

const OPUS_PT: u8 = 111;
const TE_PT: u8 = 101;

fn rtcp_packets(data: &[u8]) {
    let _ = rtp::is_rtcp(data);
    let _ = feedback::keyframe_requested(data);
    let Ok(packets) = rtcp::parse_compound(data) else {
        return;
    };
    for p in packets {
        match p {
            RtcpPacket::SenderReport {
                ssrc,
                info,
                reports,
            } => {
                let _ = (ssrc, info);
                for b in reports {
                    let _ = rtcp::rtt(b.lsr.wrapping_add(b.dlsr), b.lsr, b.dlsr)
                        .map(rtcp::compact_to_duration);
                }
            }
            RtcpPacket::ReceiverReport { ssrc, reports } => {
                let blocks: Vec<_> = reports.collect();
                let mut buf = [0u8; 1500];
                let n = match rtcp::write_rr(&mut buf, ssrc, &blocks) {
                    Ok(n) => n,
                    Err(e) => panic!("an RR that parsed cannot be written back: {e}"),
                };
                let again: Vec<_> = match rtcp::parse_compound(&buf[..n]).map(|mut p| p.next()) {
                    Ok(Some(RtcpPacket::ReceiverReport { ssrc: s, reports })) => {
                        assert_eq!(s, ssrc, "RR sender SSRC changed");
                        reports.collect()
                    }
                    other => panic!("a written RR parses as {other:?}"),
                };
                assert_eq!(again, blocks, "RR report blocks changed in print/parse");
            }
            RtcpPacket::Bye { sources, reason } => {
                let _ = (sources.count(), reason.len());
            }
            RtcpPacket::Other { pt, count, body } => {
                let _ = (pt, count, body.len());
                // Video feedback (RFC 4585, RFC 5104, REMB) from the SIP side.
                let other = RtcpPacket::Other { pt, count, body };
                let _ = feedback::parse_feedback(&other);
                let _ = feedback::fir_entries(&other).map(Iterator::count);
                let _ = feedback::remb_ssrcs(&other).map(Iterator::count);
            }
        }
    }
}

/// Checks a packet the bridge wrote toward SIP.
fn check_to_sip(pkt: &[u8], audio_pt: u8, te_pt: Option<u8>) {
    let h = match RtpHeader::parse(pkt) {
        Ok(h) => h,
        Err(e) => panic!("the bridge wrote invalid RTP toward SIP ({e}): {pkt:02x?}"),
    };
    assert!(
        h.pt == audio_pt || Some(h.pt) == te_pt,
        "packet toward SIP on payload type {} (audio {audio_pt}, events {te_pt:?})",
        h.pt
    );
}

fuzz_target!(|data: &[u8]| {
    let mut ops = Ops::new(data);
    let Some(setup) = ops.byte() else {
        return;
    };
    let (mode, browser_pt, mut sip_pt) = match setup % 3 {
        0 => (BridgeMode::Passthrough, 0, 0),
        1 => (BridgeMode::Transcode(G711Law::Ulaw), OPUS_PT, 0),
        _ => (BridgeMode::Transcode(G711Law::Alaw), OPUS_PT, 8),
    };
    let browser_rate = if setup & 0x10 != 0 { 48000 } else { 8000 };
    let mut dtmf = DtmfSetup {
        browser: (setup & 0x04 != 0).then_some((TE_PT, browser_rate)),
        sip: (setup & 0x08 != 0).then_some((TE_PT, 8000)),
    };
    let ids = |ssrc, pt| LegIds {
        ssrc,
        pt,
        seq: 0xFFF0,
        ts: 0xFFFF_FF00,
    };
    let Ok(mut bridge) = Bridge::new(mode, ids(0x1111, browser_pt), ids(0x2222, sip_pt), dtmf)
    else {
        return;
    };
    // Payload types toward SIP follow every renegotiation (`set_sip_pt`, `set_sip_law`), for
    // relayed and transcoded audio and generated digits alike (two bugs the inputs in
    // fuzz/crashes/rtp_bridge/ found, fixed).
    let mut out = vec![0u8; 2048];
    let mut now_ms: u64 = 0;
    while let Some(op) = ops.byte() {
        match op % 8 {
            0 => {
                let pkt = ops.chunk16();
                let Ok(h) = RtpHeader::parse(pkt) else {
                    continue;
                };
                let mut f = h.fields();
                if op & 0x10 != 0 {
                    f.pt = browser_pt;
                } else if op & 0x20 != 0 {
                    f.pt = TE_PT;
                }
                let n = bridge.browser_to_sip(now_ms, f, h.payload(pkt), &mut out);
                assert!(n <= out.len(), "wrote {n} bytes into {}", out.len());
                if n > 0 {
                    check_to_sip(&out[..n], sip_pt, dtmf.sip.map(|t| t.0));
                }
            }
            1 => {
                let mut pkt = ops.chunk16().to_vec();
                if pkt.len() > 1 && op & 0x30 != 0 {
                    let pt = if op & 0x10 != 0 { sip_pt } else { TE_PT };
                    pkt[1] = (pkt[1] & 0x80) | pt;
                }
                let te = dtmf.browser.map(|t| t.0);
                bridge.sip_to_browser(&pkt, |f, payload| {
                    assert!(
                        f.pt == browser_pt || Some(f.pt) == te,
                        "packet toward the browser on payload type {} (audio {browser_pt}, events {te:?})",
                        f.pt
                    );
                    assert!(payload.len() <= 4096, "a {}-byte payload toward the browser", payload.len());
                });
            }
            2 => rtcp_packets(ops.chunk16()),
            3 => {
                let digits = String::from_utf8_lossy(ops.chunk8()).into_owned();
                let _ = bridge.send_digits(&digits);
            }
            4 => {
                now_ms += u64::from(ops.u16().unwrap_or(20));
                let mut polls = 0u32;
                loop {
                    let n = bridge.poll_dtmf(now_ms, &mut out);
                    if n == 0 {
                        break;
                    }
                    check_to_sip(&out[..n], sip_pt, dtmf.sip.map(|t| t.0));
                    polls += 1;
                    assert!(polls < 100_000, "DTMF generation never runs dry");
                }
                let _ = bridge.next_dtmf_due();
            }
            5 => {
                let pt = ops.byte().unwrap_or(0) & 0x7F;
                let te = (op & 0x80 != 0).then(|| (ops.byte().unwrap_or(TE_PT) & 0x7F, 8000));
                if bridge.set_sip_pt(pt, te).is_ok() {
                    sip_pt = pt;
                    if te.is_some() && dtmf.sip.is_some() {
                        dtmf.sip = te;
                    }
                }
            }
            6 => {
                if matches!(bridge.mode(), BridgeMode::Transcode(_)) {
                    let (law, pt) = if op & 0x80 != 0 {
                        (G711Law::Alaw, 8)
                    } else {
                        (G711Law::Ulaw, 0)
                    };
                    if bridge.set_sip_law(law, pt).is_ok() {
                        sip_pt = pt;
                    }
                }
            }
            _ => {
                while bridge.take_phone_digit().is_some() {}
                while bridge.take_browser_digit().is_some() {}
            }
        }
    }
});
