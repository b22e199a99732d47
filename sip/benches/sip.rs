//! Per-message costs of the signaling path: SIP parse and serialize (`gateway_sip::message`, the
//! rsip wrapper) on Asterisk 22 captures, and the SDP translation of one call (the browser's
//! offer parsed, the SIP offer printed, Asterisk's answer parsed, the codec chosen).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_sip::message;
use gateway_sip::sdp::{
    AudioCodec, BrowserOffer, MediaLine, SipSdp, browser_codec_for, choose_answer_codec,
    sip_offer_codecs,
};

const INVITE: &[u8] =
    include_bytes!("../tests/data/asterisk22/outbound-600-alaw-01-gw2ast-invite-sdp.sip");
const OK_200: &[u8] =
    include_bytes!("../tests/data/asterisk22/outbound-600-alaw-03-ast2gw-200-ok-invite-sdp.sip");
const CHROMIUM_OFFER: &str = include_str!("../tests/data/sdp/browser-offers/chromium156-audio.sdp");

fn sip(c: &mut Criterion) {
    for (name, bytes) in [("INVITE with SDP", INVITE), ("200 OK with SDP", OK_200)] {
        c.bench_function(&format!("sip parse {name}"), |b| {
            b.iter(|| message::parse(black_box(bytes)))
        });
        let Ok(msg) = message::parse(bytes) else {
            panic!("the capture {name} must parse");
        };
        c.bench_function(&format!("sip serialize {name}"), |b| {
            b.iter(|| message::to_bytes(black_box(&msg)))
        });
    }
}

fn sdp(c: &mut Criterion) {
    let Ok(answer_msg) = message::parse(OK_200) else {
        panic!("the 200 OK capture must parse");
    };
    let answer_text = String::from_utf8_lossy(message::body(&answer_msg)).into_owned();
    let order = [AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma];
    c.bench_function("sdp BrowserOffer::parse (Chromium 156 audio)", |b| {
        b.iter(|| BrowserOffer::parse(black_box(CHROMIUM_OFFER)))
    });
    c.bench_function("sdp SipSdp::parse (Asterisk 200 OK)", |b| {
        b.iter(|| SipSdp::parse(black_box(&answer_text)))
    });
    c.bench_function(
        "sdp translate one call (offer in -> SIP offer out -> answer codec)",
        |b| {
            b.iter(|| {
                let offer = BrowserOffer::parse(black_box(CHROMIUM_OFFER)).ok()?;
                let codecs = sip_offer_codecs(&offer, &order).ok()?;
                let local = SipSdp {
                    session_id: 1,
                    session_version: 1,
                    origin_user: "-".to_owned(),
                    addr: [127, 0, 0, 1].into(),
                    audio: Some(MediaLine::offer(20_000, &codecs)),
                    video: None,
                };
                let printed = local.to_string();
                let answer = SipSdp::parse(&answer_text).ok()?;
                let chosen = choose_answer_codec(&answer, &codecs).ok()?;
                Some((printed, browser_codec_for(&offer, chosen.sip_codec)))
            })
        },
    );
}

criterion_group!(benches, sip, sdp);
criterion_main!(benches);
