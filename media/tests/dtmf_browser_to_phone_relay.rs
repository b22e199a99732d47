//! Browser -> phone DTMF: Chromium's telephone-event (126/8000 or 110/48000, RFC 4733) arrives on the
//! WebRTC leg and leaves toward Asterisk as 101/8000, on the timeline of the audio Asterisk receives.

use gateway_media::dtmf::{DtmfEvent, DtmfRelay, EventPacket, TelephoneEvent};
use gateway_media::rewrite::Packetizer;
use gateway_media::rtp::RtpFields;

/// Timestamp of the SIP-side audio stream when the first event packet arrives.
const OUT_TS: u32 = 777_000;

/// One event as a browser sends it: a packet every 20 ms with a growing duration, the marker on the
/// first, then the end packet three times (RFC 4733 §2.5.1.3, §2.5.1.4).
fn browser_event(pt: u8, rate: u32, ts: u32, event: u8, tone_ms: u32) -> Vec<(RtpFields, [u8; 4])> {
    let step = rate / 50;
    let tone = tone_ms * rate / 1000;
    let mut packets = Vec::new();
    let mut duration = step;
    let mut seq = 4000;
    loop {
        let end = duration >= tone;
        let d = duration.min(tone);
        let repeats = if end { 3 } else { 1 };
        for _ in 0..repeats {
            let fields = RtpFields {
                pt,
                marker: packets.is_empty(),
                seq,
                ts,
                ssrc: 0xB0B,
            };
            let ev = TelephoneEvent {
                event,
                end,
                volume: 10,
                duration: d as u16,
            };
            packets.push((fields, ev.to_bytes()));
            seq += 1;
        }
        if end {
            return packets;
        }
        duration += step;
    }
}

/// Relays `input`, advancing the SIP-side packetizer by 20 ms of (suppressed) audio per packet as the
/// call task does, and numbering each event packet in that stream.
fn relay_all(
    relay: &mut DtmfRelay,
    input: &[(RtpFields, [u8; 4])],
    out: &mut Packetizer,
) -> Vec<(RtpFields, TelephoneEvent)> {
    input
        .iter()
        .filter_map(|(fields, payload)| {
            let packet: EventPacket = relay.relay(*fields, payload, out.ts)?;
            let numbered = out.next(0, packet.marker);
            out.skip(160);
            Some((packet.fields(numbered.seq, numbered.ssrc), packet.event()))
        })
        .collect()
}

/// RFC 4733 §2.5.1.3: all packets of one event carry the event's start timestamp, the first one the
/// marker; 8000 -> 8000 keeps the durations; the payload type becomes Asterisk's 101.
#[test]
fn chromium_126_8000_becomes_101_8000() {
    let input = browser_event(126, 8000, 3_000_000, 1, 100);
    let mut relay = DtmfRelay::new(8000, 8000, 101).unwrap();
    let mut out = Packetizer::new(0, 0x5151, 200, OUT_TS);
    let sent = relay_all(&mut relay, &input, &mut out);

    assert_eq!(sent.len(), 7);
    for (i, (fields, ev)) in sent.iter().enumerate() {
        assert_eq!(fields.pt, 101);
        assert_eq!(fields.ts, OUT_TS, "packet {i}");
        assert_eq!(fields.ssrc, 0x5151);
        assert_eq!(fields.seq, 200 + i as u16);
        assert_eq!(fields.marker, i == 0);
        assert_eq!(ev.event, 1);
    }
    let durations: Vec<u16> = sent.iter().map(|(_, e)| e.duration).collect();
    assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
    let ends = sent.iter().filter(|(_, e)| e.end).count();
    assert_eq!(
        ends, 3,
        "all three end packets are relayed (RFC 4733 §2.5.1.4)"
    );

    assert_eq!(
        relay.take_detected(),
        Some(DtmfEvent {
            digit: '1',
            duration_ms: 100,
            ended: true
        })
    );
    assert_eq!(relay.take_detected(), None, "one report per digit");
    assert_eq!(relay.out_end_ts(), Some(OUT_TS + 800));
}

/// A 48 kHz event duration is divided by 6 at 8 kHz (4800 ticks = 100 ms = 800 ticks).
#[test]
fn chromium_110_48000_is_rescaled_to_8000() {
    let input = browser_event(110, 48_000, 96_000, 11, 100);
    let mut relay = DtmfRelay::new(48_000, 8000, 101).unwrap();
    let mut out = Packetizer::new(0, 1, 0, OUT_TS);
    let sent = relay_all(&mut relay, &input, &mut out);

    let input_durations: Vec<u16> = input
        .iter()
        .map(|(_, p)| TelephoneEvent::parse(p).unwrap().duration)
        .collect();
    assert_eq!(input_durations, [960, 1920, 2880, 3840, 4800, 4800, 4800]);
    let durations: Vec<u16> = sent.iter().map(|(_, e)| e.duration).collect();
    assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
    assert!(sent.iter().all(|(f, _)| f.pt == 101 && f.ts == OUT_TS));
    assert_eq!(
        relay.take_detected().map(|d| (d.digit, d.duration_ms)),
        Some(('#', 100))
    );
}

/// "123#" as RTCDTMFSender sends it: each digit is a new event (new timestamp), anchored where the
/// SIP-side stream is when it starts, and reported once.
#[test]
fn a_digit_string_yields_each_digit_once() {
    let mut relay = DtmfRelay::new(8000, 8000, 101).unwrap();
    let mut out = Packetizer::new(0, 1, 0, OUT_TS);
    let mut digits = String::new();
    let mut starts = Vec::new();
    for (i, event) in [1u8, 2, 3, 11].into_iter().enumerate() {
        // 100 ms tone + 70 ms gap at 8 kHz between starts.
        let input = browser_event(126, 8000, 50_000 + i as u32 * 1360, event, 100);
        let sent = relay_all(&mut relay, &input, &mut out);
        starts.push(sent[0].0.ts);
        assert!(sent[0].0.marker);
        assert!(sent.iter().all(|(f, _)| f.ts == sent[0].0.ts));
        // The gap: 70 ms of audio on the SIP side.
        out.skip(560);
        while let Some(d) = relay.take_detected() {
            assert!(d.ended);
            digits.push(d.digit);
        }
    }
    assert_eq!(digits, "123#");
    // Each event starts 7 packets of 20 ms + the gap after the previous one on the output timeline.
    assert_eq!(
        starts,
        [OUT_TS, OUT_TS + 1680, OUT_TS + 3360, OUT_TS + 5040]
    );
}

/// A re-INVITE can change Asterisk's telephone-event payload type and clock mid-call.
#[test]
fn output_payload_type_follows_renegotiation() {
    let mut relay = DtmfRelay::new(48_000, 8000, 101).unwrap();
    let mut out = Packetizer::new(0, 1, 0, OUT_TS);
    relay_all(&mut relay, &browser_event(110, 48_000, 0, 5, 100), &mut out);
    relay.set_output(48_000, 102).unwrap();
    let sent = relay_all(
        &mut relay,
        &browser_event(110, 48_000, 48_000, 6, 100),
        &mut out,
    );
    assert!(sent.iter().all(|(f, _)| f.pt == 102));
    assert_eq!(sent.last().unwrap().1.duration, 4800);
}
