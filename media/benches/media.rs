//! Per-frame and per-packet costs of the media hot path.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_media::dtmf::{DtmfRelay, TelephoneEvent};
use gateway_media::feedback;
use gateway_media::g711::{decode_alaw, decode_ulaw, encode_alaw, encode_ulaw};
use gateway_media::opus::{MAX_PACKET_BYTES, OpusDecoder, OpusEncoder};
use gateway_media::rewrite::StreamRewriter;
use gateway_media::rtp::{self, RtpFields, RtpHeader};
use gateway_media::transcode::{FRAME_SAMPLES, G711ToOpus, OpusToG711};
use gateway_media::{G711Law, Result};

fn tone() -> [i16; FRAME_SAMPLES] {
    std::array::from_fn(|i| {
        (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()) as i16
    })
}

fn g711(c: &mut Criterion) {
    let pcm = tone();
    let mut codes = [0u8; FRAME_SAMPLES];
    let mut back = [0i16; FRAME_SAMPLES];
    c.bench_function("g711 ulaw encode 20 ms", |b| {
        b.iter(|| encode_ulaw(black_box(&pcm), &mut codes))
    });
    encode_ulaw(&pcm, &mut codes);
    c.bench_function("g711 ulaw decode 20 ms", |b| {
        b.iter(|| decode_ulaw(black_box(&codes), &mut back))
    });
    c.bench_function("g711 alaw encode 20 ms", |b| {
        b.iter(|| encode_alaw(black_box(&pcm), &mut codes))
    });
    encode_alaw(&pcm, &mut codes);
    c.bench_function("g711 alaw decode 20 ms", |b| {
        b.iter(|| decode_alaw(black_box(&codes), &mut back))
    });
}

fn opus(c: &mut Criterion) -> Result<()> {
    let pcm = tone();
    let mut enc = OpusEncoder::new(8000)?;
    let mut dec = OpusDecoder::new(8000)?;
    let mut packet = [0u8; MAX_PACKET_BYTES];
    let mut out = [0i16; 960];
    c.bench_function("opus encode 20 ms @ 8 kHz", |b| {
        b.iter(|| enc.encode(black_box(&pcm), &mut packet))
    });
    let n = enc.encode(&pcm, &mut packet)?;
    c.bench_function("opus decode 20 ms @ 8 kHz", |b| {
        b.iter(|| dec.decode(black_box(&packet[..n]), &mut out))
    });

    let mut to_opus = G711ToOpus::new(G711Law::Ulaw)?;
    let mut to_g711 = OpusToG711::new(G711Law::Ulaw)?;
    let mut codes = [0u8; FRAME_SAMPLES];
    encode_ulaw(&pcm, &mut codes);
    c.bench_function("transcode g711 -> opus 20 ms", |b| {
        b.iter(|| {
            to_opus.push(black_box(&codes));
            to_opus.pop_frame(&mut packet)
        })
    });
    let mut g711_out = [0u8; 960];
    c.bench_function("transcode opus -> g711 20 ms", |b| {
        b.iter(|| to_g711.transcode(black_box(&packet[..n]), &mut g711_out))
    });
    Ok(())
}

fn rewrite(c: &mut Criterion) {
    let mut packet = [0u8; 172];
    let mut fields = RtpFields {
        pt: 0,
        marker: false,
        seq: 1,
        ts: 160,
        ssrc: 7,
    };
    let mut rewriter = StreamRewriter::new(0xABCD, 100, 1000);
    c.bench_function("rtp parse + rewrite + write per packet", |b| {
        b.iter(|| {
            fields.seq = fields.seq.wrapping_add(1);
            fields.ts = fields.ts.wrapping_add(160);
            rtp::write_header(&mut packet, &fields)?;
            let header = RtpHeader::parse(black_box(&packet))?;
            let out = rewriter.rewrite(header.fields());
            rtp::set_fields(&mut packet, &out)
        })
    });
}

fn dtmf(c: &mut Criterion) -> Result<()> {
    let mut relay = DtmfRelay::new(48_000, 8000, 101)?;
    let mut fields = RtpFields {
        pt: 110,
        marker: false,
        seq: 1,
        ts: 0,
        ssrc: 7,
    };
    let mut duration = 0u16;
    c.bench_function("dtmf relay 48 kHz -> 8 kHz per packet", |b| {
        b.iter(|| {
            duration = duration.wrapping_add(960);
            if duration < 960 {
                fields.ts = fields.ts.wrapping_add(100_000);
            }
            let payload = TelephoneEvent {
                event: 5,
                end: false,
                volume: 10,
                duration,
            }
            .to_bytes();
            let out = relay.relay(fields, black_box(&payload), 1234);
            relay.take_detected();
            out
        })
    });
    Ok(())
}

fn rtcp_feedback(c: &mut Criterion) -> Result<()> {
    let mut buf = [0u8; 64];
    let n = feedback::write_rr_with(&mut buf, 1, b"gw@host", |b| feedback::write_pli(b, 1, 2))?;
    c.bench_function("rtcp keyframe_requested RR + SDES + PLI", |b| {
        b.iter(|| feedback::keyframe_requested(black_box(&buf[..n])))
    });
    Ok(())
}

fn all(c: &mut Criterion) {
    g711(c);
    if let Err(e) = opus(c) {
        panic!("opus benchmarks failed: {e}");
    }
    rewrite(c);
    if let Err(e) = dtmf(c) {
        panic!("dtmf benchmarks failed: {e}");
    }
    if let Err(e) = rtcp_feedback(c) {
        panic!("rtcp feedback benchmarks failed: {e}");
    }
}

criterion_group!(benches, all);
criterion_main!(benches);
