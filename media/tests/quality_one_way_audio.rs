//! Issue 4 point 5: packets arriving from one side only for more than 5 s after connect is one-way
//! audio, reported once as a warning; driven with per-second packet counts in virtual time.

use gateway_media::quality::{OneWayAudio, OneWayDetector, Side};

/// Feeds `seconds` one-second intervals and returns the second (1-based) of each report.
fn feed(d: &mut OneWayDetector, seconds: u32, webrtc: u32, sip: u32) -> Vec<(u32, OneWayAudio)> {
    (1..=seconds)
        .filter_map(|s| d.on_interval(1000, webrtc, sip).map(|r| (s, r)))
        .collect()
}

#[test]
fn browser_audio_without_phone_audio_is_reported_after_5_s() {
    let mut d = OneWayDetector::default();
    assert!(feed(&mut d, 3, 50, 50).is_empty(), "two-way audio");
    let reports = feed(&mut d, 10, 50, 0);
    assert_eq!(
        reports,
        [(
            6,
            OneWayAudio {
                only_from: Side::Webrtc,
                silent_ms: 6000
            }
        )],
        "more than 5 s, reported once"
    );
}

#[test]
fn exactly_5_s_is_not_yet_one_way() {
    let mut d = OneWayDetector::default();
    assert!(feed(&mut d, 5, 0, 50).is_empty());
    assert_eq!(
        d.on_interval(1000, 0, 50),
        Some(OneWayAudio {
            only_from: Side::Sip,
            silent_ms: 6000
        })
    );
}

/// Two-way audio re-arms the detector; silence on both sides (hold, DTX) breaks the count.
#[test]
fn recovery_rearms_and_mutual_silence_resets() {
    let mut d = OneWayDetector::default();
    assert_eq!(feed(&mut d, 6, 0, 50).len(), 1);
    assert!(feed(&mut d, 1, 50, 50).is_empty());
    assert_eq!(feed(&mut d, 4, 50, 0).len(), 0);
    assert!(feed(&mut d, 1, 0, 0).is_empty());
    assert!(
        feed(&mut d, 5, 50, 0).is_empty(),
        "count restarted after mutual silence"
    );
    assert_eq!(feed(&mut d, 1, 50, 0).len(), 1);
    // Switching sides restarts the count.
    let mut d = OneWayDetector::new(2000);
    feed(&mut d, 2, 50, 0);
    assert!(feed(&mut d, 2, 0, 50).is_empty());
    assert_eq!(feed(&mut d, 1, 0, 50)[0].1.only_from, Side::Sip);
    // Hold: the caller resets; one-sided audio is then counted from zero.
    d.reset();
    assert!(feed(&mut d, 2, 0, 50).is_empty());
}

/// Uneven intervals (the driver's tick may be late) are counted by their length.
#[test]
fn intervals_of_any_length() {
    let mut d = OneWayDetector::default();
    assert_eq!(d.on_interval(2500, 10, 0), None);
    assert_eq!(d.on_interval(2500, 10, 0), None);
    assert_eq!(d.on_interval(1, 10, 0).map(|r| r.silent_ms), Some(5001));
}
