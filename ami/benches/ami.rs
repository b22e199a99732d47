//! Per-frame cost of AMI framing on a real Asterisk 22 transcript (one call's events to 600).

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gateway_ami::{Decoder, Frame, Limits, Parsed};

const EVENTS: &[u8] = include_bytes!("../tests/data/asterisk22/11-events-call-to-600.ami");

/// Frames (banner + messages) in the transcript, counted once so throughput is per frame.
fn frame_count() -> u64 {
    let limits = Limits::default();
    let mut cursor = Cursor::new(EVENTS);
    let mut n = 0;
    while let Ok(p) = Frame::parse(&mut cursor, &limits) {
        if matches!(p, Parsed::Frame(_)) {
            n += 1;
        }
    }
    n
}

fn ami(c: &mut Criterion) {
    let limits = Limits::default();
    let frames = frame_count();
    let mut g = c.benchmark_group("ami");
    g.throughput(Throughput::Elements(frames));
    g.bench_function(format!("Frame::parse a call's {frames} frames"), |b| {
        b.iter(|| {
            let mut cursor = Cursor::new(black_box(EVENTS));
            let mut n = 0u32;
            while let Ok(p) = Frame::parse(&mut cursor, &limits) {
                n += u32::from(matches!(p, Parsed::Frame(_)));
            }
            n
        })
    });
    g.bench_function(format!("Decoder feed + next_frame, {frames} frames"), |b| {
        b.iter(|| {
            let mut d = Decoder::new(Limits::default());
            d.feed(black_box(EVENTS));
            let mut n = 0u32;
            while let Some(f) = d.next_frame() {
                n += u32::from(f.is_ok());
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, ami);
criterion_main!(benches);
