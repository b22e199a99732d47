//! Per-packet costs of the gateway's media path: SRTP protect/unprotect through `rtc::srtp` (the
//! AES-CM/HMAC-SHA1 and AES-GCM profiles, with the crypto provider the gateway's `rtc` uses), the
//! bridge (passthrough rewrite, Opus <-> G.711 transcoding), both together as one direction of a
//! call, and a loopback UDP send + receive for scale.

use std::hint::black_box;
use std::net::UdpSocket;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::call::bridge::{Bridge, BridgeMode, DtmfSetup, LegIds};
use gateway_media::G711Law;
use gateway_media::opus::{MAX_PACKET_BYTES, OpusEncoder};
use gateway_media::rtp::{self, RtpFields};
use rtc::srtp::context::Context;
use rtc::srtp::protection_profile::ProtectionProfile;

const PROFILES: [(&str, ProtectionProfile); 2] = [
    (
        "AES_CM_128_HMAC_SHA1_80",
        ProtectionProfile::Aes128CmHmacSha1_80,
    ),
    ("AEAD_AES_128_GCM", ProtectionProfile::AeadAes128Gcm),
];

fn context(profile: ProtectionProfile) -> Context {
    let provider = match rtc::crypto::default_provider() {
        Ok(p) => p,
        Err(e) => panic!("rtc has no built-in crypto provider: {e}"),
    };
    let key: Vec<u8> = (0..profile.key_len() as u8).collect();
    let salt: Vec<u8> = (0..profile.salt_len() as u8).map(|b| b ^ 0x5A).collect();
    match Context::new(&key, &salt, profile, None, None, provider.crypto()) {
        Ok(c) => c,
        Err(e) => panic!("SRTP context for {profile:?}: {e}"),
    }
}

/// A 20 ms RTP packet: 12-byte header and `payload_len` bytes.
fn rtp_packet(pt: u8, seq: u16, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0x55u8; 12 + payload_len];
    let f = RtpFields {
        pt,
        marker: false,
        seq,
        ts: u32::from(seq) * 160,
        ssrc: 0x1234_5678,
    };
    if rtp::write_header(&mut p, &f).is_err() {
        panic!("a 12-byte header fits");
    }
    p
}

fn ids(pt: u8, ssrc: u32) -> LegIds {
    LegIds {
        ssrc,
        pt,
        seq: 100,
        ts: 1000,
    }
}

fn srtp(c: &mut Criterion) {
    let plain = rtp_packet(0, 1, 160);
    for (name, profile) in PROFILES {
        let mut tx = context(profile);
        c.bench_function(&format!("srtp protect 172 B RTP {name}"), |b| {
            b.iter(|| tx.encrypt_rtp(black_box(&plain)))
        });
        let mut rx = context(profile);
        let protected = match context(profile).encrypt_rtp(&plain) {
            Ok(p) => p,
            Err(e) => panic!("protect: {e}"),
        };
        c.bench_function(&format!("srtp unprotect 172 B RTP {name}"), |b| {
            b.iter(|| rx.decrypt_rtp(black_box(&protected)))
        });
    }
}

fn bridge(c: &mut Criterion) {
    let mut out = [0u8; 1500];
    // Passthrough PCMU: the browser's PT 0 to Asterisk's PT 0.
    let mut pass = match Bridge::new(
        BridgeMode::Passthrough,
        ids(0, 1),
        ids(0, 2),
        DtmfSetup::default(),
    ) {
        Ok(b) => b,
        Err(e) => panic!("bridge: {e}"),
    };
    let payload = [0x55u8; 160];
    let mut seq = 0u16;
    c.bench_function("bridge passthrough browser->sip per packet", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            let f = RtpFields {
                pt: 0,
                marker: false,
                seq,
                ts: u32::from(seq) * 160,
                ssrc: 9,
            };
            pass.browser_to_sip(u64::from(seq) * 20, f, black_box(&payload), &mut out)
        })
    });
    let sip_packet = rtp_packet(0, 1, 160);
    c.bench_function("bridge passthrough sip->browser per packet", |b| {
        b.iter(|| {
            let mut n = 0;
            pass.sip_to_browser(black_box(&sip_packet), |f, p| n = f.seq as usize + p.len());
            n
        })
    });

    // Transcoding: Opus (PT 111) toward the browser, PCMU toward Asterisk.
    let mut tc = match Bridge::new(
        BridgeMode::Transcode(G711Law::Ulaw),
        ids(111, 1),
        ids(0, 2),
        DtmfSetup::default(),
    ) {
        Ok(b) => b,
        Err(e) => panic!("bridge: {e}"),
    };
    let opus = opus_frame();
    c.bench_function(
        "bridge transcode opus->pcmu (browser->sip) per packet",
        |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                let f = RtpFields {
                    pt: 111,
                    marker: false,
                    seq,
                    ts: u32::from(seq) * 960,
                    ssrc: 9,
                };
                tc.browser_to_sip(u64::from(seq) * 20, f, black_box(&opus), &mut out)
            })
        },
    );
    let mut sip_seq = 0u16;
    c.bench_function(
        "bridge transcode pcmu->opus (sip->browser) per packet",
        |b| {
            b.iter(|| {
                sip_seq = sip_seq.wrapping_add(1);
                let p = rtp_packet(0, sip_seq, 160);
                let mut n = 0;
                tc.sip_to_browser(black_box(&p), |_, p| n += p.len());
                n
            })
        },
    );
}

/// One direction of a passthrough call as the gateway does it: unprotect the browser's packet,
/// bridge it, and (the other way) bridge Asterisk's packet and protect it.
fn call_path(c: &mut Criterion) {
    let mut out = [0u8; 1500];
    for (name, profile) in PROFILES {
        let mut pass = match Bridge::new(
            BridgeMode::Passthrough,
            ids(0, 1),
            ids(0, 2),
            DtmfSetup::default(),
        ) {
            Ok(b) => b,
            Err(e) => panic!("bridge: {e}"),
        };
        let protected = match context(profile).encrypt_rtp(&rtp_packet(0, 7, 160)) {
            Ok(p) => p,
            Err(e) => panic!("protect: {e}"),
        };
        let mut rx = context(profile);
        let mut tx = context(profile);
        c.bench_function(
            &format!("call path browser->sip (unprotect + bridge) {name}"),
            |b| {
                b.iter(|| {
                    let Ok(plain) = rx.decrypt_rtp(black_box(&protected)) else {
                        return 0;
                    };
                    let f = RtpFields {
                        pt: 0,
                        marker: false,
                        seq: 7,
                        ts: 1120,
                        ssrc: 9,
                    };
                    pass.browser_to_sip(140, f, &plain[12..], &mut out)
                })
            },
        );
        let sip_packet = rtp_packet(0, 1, 160);
        c.bench_function(
            &format!("call path sip->browser (bridge + protect) {name}"),
            |b| {
                b.iter(|| {
                    let mut n = 0;
                    pass.sip_to_browser(black_box(&sip_packet), |f, p| {
                        let mut pkt = [0u8; 172];
                        if rtp::write_header(&mut pkt, &f).is_ok() {
                            pkt[12..12 + p.len()].copy_from_slice(p);
                            n = tx.encrypt_rtp(&pkt[..12 + p.len()]).map_or(0, |b| b.len());
                        }
                    });
                    n
                })
            },
        );
    }
}

fn udp(c: &mut Criterion) {
    let (Ok(a), Ok(b)) = (
        UdpSocket::bind("127.0.0.1:0"),
        UdpSocket::bind("127.0.0.1:0"),
    ) else {
        panic!("binding loopback UDP sockets");
    };
    let Ok(to) = b.local_addr() else {
        panic!("a bound socket has an address");
    };
    let packet = [0u8; 172];
    let mut buf = [0u8; 2048];
    c.bench_function("udp loopback send + recv 172 B", |bench| {
        bench.iter(|| {
            let _ = a.send_to(black_box(&packet), to);
            b.recv_from(&mut buf).map_or(0, |(n, _)| n)
        })
    });
}

fn opus_frame() -> Vec<u8> {
    let pcm: Vec<i16> = (0..160)
        .map(|i| {
            (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * f64::from(i) / 8000.0).sin()) as i16
        })
        .collect();
    let mut enc = match OpusEncoder::new(8000) {
        Ok(e) => e,
        Err(e) => panic!("opus encoder: {e}"),
    };
    let mut buf = [0u8; MAX_PACKET_BYTES];
    match enc.encode(&pcm, &mut buf) {
        Ok(n) => buf[..n].to_vec(),
        Err(e) => panic!("opus encode: {e}"),
    }
}

criterion_group!(benches, srtp, bridge, call_path, udp);
criterion_main!(benches);
