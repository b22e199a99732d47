//! An m-line none of whose formats can be read is refused by the SIP-side parser, so nothing
//! parsed can print as an m-line without a format (RFC 8866 §5.14: at least one format; §6.6:
//! a dynamic payload type needs an `a=rtpmap` with a clock rate). Found by the `sip_sdp` fuzz
//! target (`fuzz/crashes/sip_sdp/crash-92c3c702-mline-no-format`, copied to
//! `tests/data/sdp/fuzz/`): `a=rtpmap:96 AppleLossless` printed as `m=audio 0 RTP/AVP`.

use std::fs;
use std::path::Path;

use gateway_sip::sdp::{SdpError, SipSdp};

fn data(path: &str) -> String {
    fs::read_to_string(format!(
        "{}/tests/data/sdp/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture copied into tests/data/sdp")
}

/// The crash input itself: an audio m-line whose only format has no clock rate.
#[test]
fn fuzz_crash_input_is_refused() {
    let text = data("fuzz/crash-92c3c702-mline-no-format");
    assert_eq!(
        SipSdp::parse(&text),
        Err(SdpError::Invalid {
            field: "m= formats",
            value: "96".to_owned()
        })
    );
}

/// The same for an active video m-line, and for format tokens that are not payload types at
/// all. (A declined video line, port 0, is kept with its first payload type unnamed: Asterisk
/// declines with `m=video 0 RTP/AVP 99` and no rtpmap; see `sdp_video.rs`.)
#[test]
fn video_and_non_numeric_formats_are_refused() {
    let head = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
        m=audio 4000 RTP/AVP 0\r\n";
    for video in [
        "m=video 5002 RTP/AVP 96\r\na=rtpmap:96 VP8\r\n",
        "m=video 5000 RTP/AVP 96\r\n",
        "m=video 0 RTP/AVP vp8\r\n",
        "m=video 5000 RTP/AVP vp8\r\na=rtpmap:96 VP8/90000\r\n",
    ] {
        assert!(
            matches!(
                SipSdp::parse(&format!("{head}{video}")),
                Err(SdpError::Invalid {
                    field: "m= formats",
                    ..
                })
            ),
            "{video:?}"
        );
    }
}

/// Whatever parses among all the SDP test data prints with a format on every m-line, and
/// parses back to the same value.
#[test]
fn every_printed_mline_has_a_format() {
    let root = format!("{}/tests/data/sdp", env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["browser-offers", "sdp-transform", "asterisk22", "fuzz"] {
        for entry in fs::read_dir(Path::new(&root).join(dir)).unwrap() {
            let text = fs::read_to_string(entry.unwrap().path()).unwrap();
            // Asterisk captures are whole SIP messages.
            let body = text
                .split_once("\r\n\r\n")
                .map_or(text.as_str(), |(_, b)| b);
            let Ok(sdp) = SipSdp::parse(body) else {
                continue;
            };
            let printed = sdp.to_string();
            for line in printed.lines().filter(|l| l.starts_with("m=")) {
                assert!(line.split(' ').count() >= 4, "{line:?} in\n{printed}");
            }
            assert_eq!(SipSdp::parse(&printed).as_ref(), Ok(&sdp), "{printed}");
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} SDPs parsed");
}
