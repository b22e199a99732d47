//! `{"type":"dtmf","digits":"12#"}` from the client: RFC 4733 packets generated in virtual time —
//! a packet every 20 ms per digit, the end packet three times (RFC 4733 §2.5.1.4), then a gap.

use gateway_media::dtmf::{DigitsError, DtmfGenerator, EventPacket, MAX_QUEUED_DIGITS};

/// Drives the generator like the call task: poll at each deadline, with the SIP-side audio timestamp
/// advancing at 8 kHz in step with virtual time. Returns (time, packet) pairs.
fn run(generator: &mut DtmfGenerator, rate: u32, ts_base: u32) -> Vec<(u64, EventPacket)> {
    let mut sent = Vec::new();
    while let Some(due) = generator.next_due() {
        let ts_now = ts_base.wrapping_add((due * u64::from(rate) / 1000) as u32);
        while let Some(p) = generator.poll(due, ts_now) {
            sent.push((due, p));
        }
        assert!(sent.len() < 1000, "generator never goes idle");
    }
    sent
}

/// One digit at the defaults: 100 ms tone as packets at 0, 20, 40, 60 ms (durations 20-80 ms), the
/// end (100 ms) at 80, 100 and 120 ms; all on one timestamp, the marker on the first.
#[test]
fn one_digit_at_default_timing() {
    let mut g = DtmfGenerator::new(8000, 101).unwrap();
    assert_eq!(g.next_due(), None);
    g.push_digits("5").unwrap();
    assert_eq!(g.next_due(), Some(0));
    let sent = run(&mut g, 8000, 10_000);
    let seen: Vec<(u64, bool, u32, u8, bool, u16)> = sent
        .iter()
        .map(|(t, p)| {
            let e = p.event();
            (*t, p.marker, p.ts, e.event, e.end, e.duration)
        })
        .collect();
    assert_eq!(
        seen,
        [
            (0, true, 10_000, 5, false, 160),
            (20, false, 10_000, 5, false, 320),
            (40, false, 10_000, 5, false, 480),
            (60, false, 10_000, 5, false, 640),
            (80, false, 10_000, 5, true, 800),
            (100, false, 10_000, 5, true, 800),
            (120, false, 10_000, 5, true, 800),
        ]
    );
    assert!(
        sent.iter()
            .all(|(_, p)| p.pt == 101 && p.event().volume == 10)
    );
    assert!(!g.is_sending());
}

/// "12#": the next digit starts 50 ms after the previous tone ended (150 ms after its start), with a
/// new timestamp taken from the audio stream at that moment; audio is suppressed only while a tone
/// is being sent.
#[test]
fn digits_follow_each_other_after_the_gap() {
    let mut g = DtmfGenerator::new(8000, 101).unwrap();
    g.push_digits("12#").unwrap();
    assert!(g.poll(0, 0).is_some());
    assert!(g.is_sending());
    assert_eq!(g.poll(19, 152), None, "not due yet");
    assert_eq!(g.next_due(), Some(20));
    let sent = run(&mut g, 8000, 0);
    let starts: Vec<(u64, u32, u8)> = sent
        .iter()
        .filter(|(_, p)| p.marker)
        .map(|(t, p)| (*t, p.ts, p.event().event))
        .collect();
    assert_eq!(starts, [(150, 1200, 2), (300, 2400, 11)]);
    let ends = sent.iter().filter(|(_, p)| p.event().end).count();
    assert_eq!(ends, 9, "three end packets per digit");
    assert_eq!(sent.last().map(|(t, _)| *t), Some(420));
}

/// A caller that wakes up late gets the latest update instead of a burst of stale ones, then the
/// three end packets.
#[test]
fn late_polls_merge_updates_but_keep_all_end_packets() {
    let mut g = DtmfGenerator::new(8000, 101).unwrap();
    g.push_digits("0").unwrap();
    let first = g.poll(0, 0).unwrap();
    assert!(first.marker);
    let late = g.poll(70, 560).unwrap();
    assert_eq!(
        (late.marker, late.event().duration, late.event().end),
        (false, 640, false)
    );
    assert_eq!(g.poll(70, 560), None);
    let ends: Vec<u16> = std::iter::from_fn(|| g.poll(500, 4000))
        .map(|p| {
            assert!(p.event().end);
            p.event().duration
        })
        .collect();
    assert_eq!(ends, [800, 800, 800]);
    assert!(!g.is_sending());
}

/// `,` pauses two seconds (as RTCDTMFSender); lowercase letters are accepted.
#[test]
fn comma_pauses_two_seconds() {
    let mut g = DtmfGenerator::new(8000, 101).unwrap();
    g.push_digits("1,d").unwrap();
    let sent = run(&mut g, 8000, 0);
    let starts: Vec<(u64, u8)> = sent
        .iter()
        .filter(|(_, p)| p.marker)
        .map(|(t, p)| (*t, p.event().event))
        .collect();
    assert_eq!(starts, [(0, 1), (2150, 15)]);
}

/// At a 48 kHz clock durations are in 48 kHz ticks; tone and gap are configurable.
#[test]
fn custom_timing_at_48khz() {
    let mut g = DtmfGenerator::new(48_000, 110).unwrap().with_timing(40, 30);
    g.push_digits("*9").unwrap();
    let sent = run(&mut g, 48_000, 0);
    let first: Vec<(u64, bool, u16)> = sent
        .iter()
        .take(4)
        .map(|(t, p)| (*t, p.event().end, p.event().duration))
        .collect();
    assert_eq!(
        first,
        [
            (0, false, 960),
            (20, true, 1920),
            (40, true, 1920),
            (60, true, 1920)
        ]
    );
    // Next start: max(tone 40 + gap 30, last end packet + 20) = 80 ms.
    let second = sent
        .iter()
        .find(|(_, p)| p.marker && p.event().event == 9)
        .unwrap();
    assert_eq!((second.0, second.1.ts), (80, 3840));
    assert!(sent.iter().all(|(_, p)| p.pt == 110));
}

/// Input from the client is validated as a whole: a bad character or too many digits queue nothing.
#[test]
fn bad_digit_strings_are_refused() {
    let mut g = DtmfGenerator::new(8000, 101).unwrap();
    assert_eq!(g.push_digits("12x"), Err(DigitsError::InvalidDigit('x')));
    assert_eq!(g.next_due(), None);
    let many = "1".repeat(MAX_QUEUED_DIGITS + 1);
    assert_eq!(g.push_digits(&many), Err(DigitsError::TooMany));
    g.push_digits(&many[1..]).unwrap();
    assert_eq!(g.push_digits("2"), Err(DigitsError::TooMany));
    g.clear();
    assert_eq!(g.next_due(), None);
}
