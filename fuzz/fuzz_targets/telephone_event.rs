//! RFC 4733 telephone events: the payload parser, the relay between legs (clock rescaling, long
//! events, lost end packets) and the generator of client digits, driven by an operation sequence.
//! Never panics; a parsed payload prints back to itself; relayed packets carry the output payload
//! type and the input's event code; the generator always runs dry.
#![no_main]

use gateway_media::rtp::RtpFields;
use gateway_media::{DtmfGenerator, DtmfRelay, TelephoneEvent};
use libfuzzer_sys::fuzz_target;
use webrtc_gateway_fuzz::Ops;

const RATES: [u32; 4] = [8000, 16000, 48000, 1];

fn rate(ops: &mut Ops<'_>) -> u32 {
    match ops.byte() {
        Some(b) if b < 0xF0 => RATES[usize::from(b) % RATES.len()],
        _ => ops.u16().map_or(8000, |r| u32::from(r) << 8),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut ops = Ops::new(data);
    let (in_rate, out_rate) = (rate(&mut ops), rate(&mut ops));
    let out_pt = ops.byte().unwrap_or(101);
    let Ok(mut relay) = DtmfRelay::new(in_rate, out_rate, out_pt) else {
        return;
    };
    let Ok(mut generator) = DtmfGenerator::new(out_rate, out_pt) else {
        return;
    };
    let mut expected_pt = out_pt & 0x7F;
    let mut now_ms: u64 = 0;
    let mut out_ts: u32 = 0;
    while let Some(op) = ops.byte() {
        match op % 6 {
            0 => {
                let ts = u32::from_be_bytes([
                    op,
                    ops.byte().unwrap_or(0),
                    ops.byte().unwrap_or(0),
                    ops.byte().unwrap_or(0),
                ]);
                let payload = ops.chunk8();
                if let Ok(ev) = TelephoneEvent::parse(payload) {
                    assert_eq!(
                        TelephoneEvent::from_bytes(&ev.to_bytes()),
                        ev,
                        "payload round trip"
                    );
                }
                let input = RtpFields {
                    pt: 101,
                    marker: op & 0x80 != 0,
                    seq: 0,
                    ts,
                    ssrc: 1,
                };
                if let Some(pkt) = relay.relay(input, payload, out_ts) {
                    assert_eq!(
                        pkt.pt, expected_pt,
                        "relayed packet on the wrong payload type"
                    );
                    let ev = TelephoneEvent::parse(payload).map(|e| e.event);
                    assert_eq!(
                        Ok(pkt.event().event),
                        ev,
                        "relayed packet changed the event code"
                    );
                }
                while relay.take_detected().is_some() {}
                let _ = relay.out_end_ts();
            }
            1 => {
                let ts = u32::from(ops.u16().unwrap_or(0)) << u32::from(op >> 4);
                relay.on_audio(ts);
            }
            2 => {
                let digits = String::from_utf8_lossy(ops.chunk8()).into_owned();
                let _ = generator.push_digits(&digits);
            }
            3 => {
                now_ms += u64::from(ops.u16().unwrap_or(20));
                out_ts = out_ts.wrapping_add(160);
                let mut polls = 0u32;
                while generator.poll(now_ms, out_ts).is_some() {
                    polls += 1;
                    assert!(
                        polls < 100_000,
                        "the generator never runs dry at {now_ms} ms"
                    );
                }
                let _ = (generator.next_due(), generator.is_sending());
            }
            4 => {
                let tone = u32::from(ops.u16().unwrap_or(100));
                let gap = u32::from(ops.u16().unwrap_or(50));
                generator = generator.clone().with_timing(tone, gap);
                if op & 0x80 != 0 {
                    generator.clear();
                }
            }
            _ => {
                let r = rate(&mut ops);
                let pt = ops.byte().unwrap_or(101);
                if relay.set_output(r, pt).is_ok() {
                    expected_pt = pt & 0x7F;
                }
            }
        }
    }
    // Time runs on: every queued digit is played out and the generator falls idle.
    let mut steps = 0u32;
    while let Some(due) = generator.next_due() {
        now_ms = now_ms.max(due);
        while generator.poll(now_ms, out_ts).is_some() {}
        steps += 1;
        // 64 digits of at most 65535 ms at one packet per 20 ms, plus pauses: under 250 000.
        assert!(steps < 1_000_000, "the generator never falls idle");
    }
});
