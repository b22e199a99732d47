//! Real browser offers (Chromium 120/156, Firefox 121, Safari, Chrome Android, OBS WHIP) parse
//! into what the gateway needs (RFC 8829 JSEP, RFC 8843 BUNDLE, RFC 4733 telephone-event).

use std::fs;

use gateway_sip::sdp::{AudioCodec, BrowserOffer, Direction, MediaKind};

fn offer(file: &str) -> BrowserOffer {
    let path = format!(
        "{}/tests/data/sdp/browser-offers/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    BrowserOffer::parse(&fs::read_to_string(path).expect("fixture copied"))
        .expect("browser offer parses")
}

fn codec_summary(o: &BrowserOffer) -> Vec<(u8, String, u32, u16)> {
    o.audio()
        .codecs
        .iter()
        .map(|c| (c.pt, c.name.clone(), c.clock_rate, c.channels))
        .collect()
}

/// Chromium 156 (captured here): opus first with fmtp and transport-cc, both telephone-events.
#[test]
fn chromium156_audio() {
    let o = offer("chromium156-audio.sdp");
    assert_eq!(o.media.len(), 1);
    assert_eq!(o.bundle, vec!["0"]);
    let a = o.audio();
    assert_eq!(a.kind, MediaKind::Audio);
    assert_eq!(a.mid.as_deref(), Some("0"));
    assert_eq!(a.direction, Direction::SendRecv);
    assert_eq!(a.port, 9);
    let pts: Vec<u8> = a.codecs.iter().map(|c| c.pt).collect();
    assert_eq!(pts, vec![111, 63, 9, 0, 8, 13]);
    let opus = a.find(AudioCodec::Opus).unwrap();
    assert_eq!((opus.pt, opus.clock_rate, opus.channels), (111, 48000, 2));
    assert_eq!(opus.fmtp.as_deref(), Some("minptime=10;useinbandfec=1"));
    assert_eq!(opus.rtcp_fb, vec!["transport-cc"]);
    assert_eq!(a.find(AudioCodec::Pcmu).map(|c| c.pt), Some(0));
    assert_eq!(a.find(AudioCodec::Pcma).map(|c| c.pt), Some(8));
    assert_eq!(a.telephone_events, vec![(110, 48000), (126, 8000)]);
    assert!(a.has_ice_credentials);
    assert!(
        a.fingerprint
            .as_deref()
            .is_some_and(|f| f.starts_with("sha-256 BC:F7"))
    );
    assert_eq!(a.setup.as_deref(), Some("actpass"));
    assert_eq!(a.candidates, 0, "trickle offer: no candidates in the SDP");
}

/// Chromium 156 with video, gathered before sending: candidates are in the SDP.
#[test]
fn chromium156_audio_video() {
    let o = offer("chromium156-audio-video.sdp");
    assert_eq!(o.bundle, vec!["0", "1"]);
    assert_eq!(o.media[1].kind, MediaKind::Video);
    assert_eq!(o.media[1].mid.as_deref(), Some("1"));
    assert_eq!(o.audio().candidates, 4);
    assert_eq!(o.audio().telephone_events, vec![(110, 48000), (126, 8000)]);
    assert!(o.offers(AudioCodec::Opus));
}

/// Chromium 120 (ex_webrtc fixture).
#[test]
fn chromium120_audio_video() {
    let o = offer("ex_webrtc-chromium_audio_video_sdp.txt");
    assert_eq!(o.bundle, vec!["0", "1"]);
    assert_eq!(codec_summary(&o)[0], (111, "opus".into(), 48000, 2));
    assert!(o.offers(AudioCodec::Pcmu) && o.offers(AudioCodec::Pcma));
}

/// Firefox 121: LF line endings, opus at 109, `G722/8000/1`, telephone-event 101 only.
#[test]
fn firefox121() {
    let o = offer("ex_webrtc-firefox_audio_video_sdp.txt");
    assert_eq!(
        codec_summary(&o),
        vec![
            (109, "opus".into(), 48000, 2),
            (9, "G722".into(), 8000, 1),
            (0, "PCMU".into(), 8000, 1),
            (8, "PCMA".into(), 8000, 1),
        ]
    );
    assert_eq!(o.audio().telephone_events, vec![(101, 8000)]);
    assert!(o.audio().has_ice_credentials);
    assert!(o.audio().fingerprint.is_some());
}

/// Safari on macOS puts video first: the audio m-line is mid 1.
#[test]
fn safari_mac_video_first() {
    let o = offer("kvs-1v1a1d-safari-mac.txt");
    assert_eq!(o.media[0].kind, MediaKind::Video);
    assert_eq!(o.media[2].kind, MediaKind::Other("application".into()));
    assert_eq!(o.audio().mid.as_deref(), Some("1"));
    assert_eq!(
        o.audio().telephone_events,
        vec![(110, 48000), (113, 16000), (126, 8000)]
    );
    assert!(o.offers(AudioCodec::Opus));
}

/// Chrome on Android (KVS fixture): video recvonly does not change the audio direction.
#[test]
fn chrome_android() {
    let o = offer("kvs-1v1a1d-chrome-android.txt");
    assert_eq!(o.media[1].direction, Direction::RecvOnly);
    assert_eq!(o.audio().direction, Direction::SendRecv);
    assert_eq!(o.bundle, vec!["0", "1", "2"]);
}

/// OBS (WHIP): `OPUS` in capitals, sendonly, session-level ICE credentials, host candidates.
#[test]
fn obs_whip_sendonly() {
    let o = offer("ex_webrtc-obs_audio_video_sdp.txt");
    let a = o.audio();
    assert_eq!(a.direction, Direction::SendOnly);
    assert_eq!(
        a.find(AudioCodec::Opus).map(|c| c.name.as_str()),
        Some("OPUS")
    );
    assert!(a.has_ice_credentials);
    assert_eq!(a.setup.as_deref(), Some("actpass"));
    assert_eq!(a.candidates, 3);
    assert!(!o.offers(AudioCodec::Pcmu));
}
