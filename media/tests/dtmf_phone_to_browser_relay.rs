//! Phone -> browser DTMF: Asterisk's 101/8000 events (RFC 4733) relayed to the browser as 110/48000
//! (durations x6) or 126/8000, and reported once per digit for the `dtmf` message.

use gateway_media::dtmf::{DtmfEvent, DtmfRelay, TelephoneEvent};
use gateway_media::rtp::RtpFields;

fn fields(ts: u32, marker: bool) -> RtpFields {
    RtpFields {
        pt: 101,
        marker,
        seq: 0,
        ts,
        ssrc: 0xA57,
    }
}

fn payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
    TelephoneEvent {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
}

/// RFC 4733 §5-style sequence at 8000 Hz with 50 ms updates: digit "9" held 200 ms (durations 400,
/// 800, 1200, 1600, then the end packet repeated), then digit "1" at a new timestamp 880 ms later.
/// Relayed to a 48 kHz browser: every duration x6, the second digit anchored where the browser's
/// stream then is.
#[test]
fn rfc4733_example_sequence_to_48khz() {
    let mut relay = DtmfRelay::new(8000, 48_000, 110).unwrap();
    let nine = [
        (400, false),
        (800, false),
        (1200, false),
        (1600, false),
        (1600, true),
        (1600, true),
        (1600, true),
    ];
    let mut out = Vec::new();
    for (i, (d, end)) in nine.into_iter().enumerate() {
        out.push(
            relay
                .relay(fields(0, i == 0), &payload(9, end, d), 10_000)
                .unwrap(),
        );
    }
    let ones = [
        (400, false),
        (800, false),
        (800, true),
        (800, true),
        (800, true),
    ];
    for (i, (d, end)) in ones.into_iter().enumerate() {
        out.push(
            relay
                .relay(fields(7040, i == 0), &payload(1, end, d), 52_240)
                .unwrap(),
        );
    }
    let seen: Vec<(bool, u32, u8, bool, u16)> = out
        .iter()
        .map(|p| {
            let e = p.event();
            (p.marker, p.ts, e.event, e.end, e.duration)
        })
        .collect();
    assert_eq!(
        seen,
        [
            (true, 10_000, 9, false, 2400),
            (false, 10_000, 9, false, 4800),
            (false, 10_000, 9, false, 7200),
            (false, 10_000, 9, false, 9600),
            (false, 10_000, 9, true, 9600),
            (false, 10_000, 9, true, 9600),
            (false, 10_000, 9, true, 9600),
            (true, 52_240, 1, false, 2400),
            (false, 52_240, 1, false, 4800),
            (false, 52_240, 1, true, 4800),
            (false, 52_240, 1, true, 4800),
            (false, 52_240, 1, true, 4800),
        ]
    );
    assert!(out.iter().all(|p| p.pt == 110));
    let detected: Vec<DtmfEvent> = std::iter::from_fn(|| relay.take_detected()).collect();
    assert_eq!(
        detected,
        [
            DtmfEvent {
                digit: '9',
                duration_ms: 200,
                ended: true
            },
            DtmfEvent {
                digit: '1',
                duration_ms: 100,
                ended: true
            },
        ]
    );
}

/// RFC 4733 §2.5.1.3: an output duration beyond 16 bits continues in a new segment whose timestamp is
/// the previous segment's plus its duration; the marker stays on the event's first packet only.
#[test]
fn long_event_is_split_into_segments_at_48khz() {
    let mut relay = DtmfRelay::new(8000, 48_000, 110).unwrap();
    // 1.5 s at 8 kHz = 12000 ticks = 72000 ticks at 48 kHz > 0xFFFF: the second segment starts at
    // 65535 and carries the rest (66240 - 65535 = 705, 72000 - 65535 = 6465).
    let first = relay
        .relay(fields(500, true), &payload(5, false, 160), 0)
        .unwrap();
    assert_eq!(
        (first.marker, first.ts, first.event().duration),
        (true, 0, 960)
    );
    let mid = relay
        .relay(fields(500, false), &payload(5, false, 10_880), 0)
        .unwrap();
    assert_eq!((mid.ts, mid.event().duration), (0, 65_280));
    let split = relay
        .relay(fields(500, false), &payload(5, false, 11_040), 0)
        .unwrap();
    assert_eq!(
        (split.marker, split.ts, split.event().duration),
        (false, 65_535, 705)
    );
    let end = relay
        .relay(fields(500, false), &payload(5, true, 12_000), 0)
        .unwrap();
    assert_eq!(
        (end.ts, end.event().duration, end.event().end),
        (65_535, 6465, true)
    );
    assert_eq!(relay.take_detected().map(|d| d.duration_ms), Some(1500));
}

/// RFC 4733 §2.5.1.3: a sender may itself split a long event into segments (same event, next segment
/// starting where the previous one ended): that is still one digit, on one output timestamp base.
#[test]
fn input_segments_of_one_event_are_one_digit() {
    let mut relay = DtmfRelay::new(8000, 8000, 126).unwrap();
    relay
        .relay(fields(1000, true), &payload(0, false, 160), 40_000)
        .unwrap();
    let full = relay
        .relay(fields(1000, false), &payload(0, false, 0xFFFF), 48_000)
        .unwrap();
    assert_eq!((full.ts, full.event().duration), (40_000, 0xFFFF));
    let next = relay
        .relay(
            fields(1000 + 0xFFFF, false),
            &payload(0, false, 800),
            99_000,
        )
        .unwrap();
    assert!(!next.marker);
    assert_eq!(
        next.ts,
        40_000 + 0xFFFF,
        "the segment keeps its offset from the event start"
    );
    assert_eq!(next.event().duration, 800);
    assert_eq!(relay.take_detected(), None, "not ended yet");
    relay
        .relay(
            fields(1000 + 0xFFFF, false),
            &payload(0, true, 1600),
            99_000,
        )
        .unwrap();
    // (65535 + 1600) ticks at 8 kHz = 8391.9 ms, rounded.
    let d = relay.take_detected().unwrap();
    assert_eq!((d.digit, d.duration_ms, d.ended), ('0', 8392, true));
    assert_eq!(relay.take_detected(), None);
}

/// Events beyond the DTMF digits (16, flash) are relayed but not reported as digits.
#[test]
fn non_digit_events_are_relayed_but_not_reported() {
    let mut relay = DtmfRelay::new(8000, 8000, 126).unwrap();
    let p = relay
        .relay(fields(0, true), &payload(16, true, 800), 5)
        .unwrap();
    assert_eq!(p.event().event, 16);
    assert_eq!(relay.take_detected(), None);
    assert_eq!(
        relay.relay(fields(160, false), &[16, 0x80], 5),
        None,
        "truncated payload"
    );
}
