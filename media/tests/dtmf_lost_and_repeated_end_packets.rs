//! RFC 4733 §2.5.1.4 redundancy and loss: repeated end packets are all relayed but reported once;
//! a digit whose end packets were all lost is still reported, once, when it is clearly over.

use gateway_media::dtmf::{DtmfEvent, DtmfRelay, TelephoneEvent};
use gateway_media::rtp::RtpFields;

fn fields(ts: u32) -> RtpFields {
    RtpFields {
        pt: 126,
        ts,
        ..RtpFields::default()
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

/// A new event (new timestamp) closes one whose end packets never arrived: reported with
/// `ended: false` and the duration seen so far, before the new digit.
#[test]
fn new_event_closes_one_without_end_packets() {
    let mut relay = DtmfRelay::new(8000, 8000, 101).unwrap();
    relay
        .relay(fields(0), &payload(4, false, 160), 100)
        .unwrap();
    relay
        .relay(fields(0), &payload(4, false, 480), 100)
        .unwrap();
    assert_eq!(relay.take_detected(), None);
    relay
        .relay(fields(2000), &payload(4, false, 160), 2100)
        .unwrap();
    relay
        .relay(fields(2000), &payload(4, true, 800), 2100)
        .unwrap();
    assert_eq!(
        relay.take_detected(),
        Some(DtmfEvent {
            digit: '4',
            duration_ms: 60,
            ended: false
        })
    );
    assert_eq!(
        relay.take_detected(),
        Some(DtmfEvent {
            digit: '4',
            duration_ms: 100,
            ended: true
        })
    );
    assert_eq!(relay.take_detected(), None);
}

/// Audio well past an open event (250 ms after its last reported duration) closes it; audio during
/// the event does not.
#[test]
fn later_audio_closes_an_event_without_end_packets() {
    let mut relay = DtmfRelay::new(8000, 8000, 101).unwrap();
    relay
        .relay(fields(8000), &payload(7, false, 800), 0)
        .unwrap();
    relay.on_audio(8000 + 800);
    relay.on_audio(8000 + 800 + 2000);
    assert_eq!(relay.take_detected(), None, "within the margin");
    relay.on_audio(8000 + 800 + 2001);
    assert_eq!(
        relay.take_detected(),
        Some(DtmfEvent {
            digit: '7',
            duration_ms: 100,
            ended: false
        })
    );
    // Late end packets of that event are still relayed but not reported again.
    assert!(
        relay
            .relay(fields(8000), &payload(7, true, 800), 0)
            .is_some()
    );
    relay.on_audio(20_000);
    assert_eq!(relay.take_detected(), None);
}

/// A repeat of the previous event's end packet arriving after the next event started keeps the
/// previous event's timestamp; anything older is dropped.
#[test]
fn late_end_repeat_keeps_its_own_timestamp() {
    let mut relay = DtmfRelay::new(8000, 8000, 101).unwrap();
    relay
        .relay(fields(1000), &payload(1, true, 800), 50_000)
        .unwrap();
    relay
        .relay(fields(3000), &payload(2, false, 160), 52_000)
        .unwrap();
    let late = relay
        .relay(fields(1000), &payload(1, true, 800), 52_160)
        .unwrap();
    assert_eq!((late.ts, late.marker), (50_000, false));
    assert!(late.event().end);
    assert_eq!(
        relay.relay(fields(500), &payload(0, true, 800), 52_160),
        None
    );
    let digits: String = std::iter::from_fn(|| relay.take_detected())
        .map(|d| d.digit)
        .collect();
    assert_eq!(
        digits, "1",
        "'2' has not ended yet and '1' is reported once"
    );
}

/// Timestamps wrap at 2^32 without breaking event boundaries.
#[test]
fn events_across_the_timestamp_wrap() {
    let mut relay = DtmfRelay::new(8000, 8000, 101).unwrap();
    let a = relay
        .relay(
            fields(u32::MAX - 100),
            &payload(3, true, 800),
            u32::MAX - 10,
        )
        .unwrap();
    let b = relay
        .relay(fields(1500), &payload(6, true, 800), 1700)
        .unwrap();
    assert!(a.marker && b.marker);
    assert_eq!((a.ts, b.ts), (u32::MAX - 10, 1700));
    let digits: String = std::iter::from_fn(|| relay.take_detected())
        .map(|d| d.digit)
        .collect();
    assert_eq!(digits, "36");
}
