//! The sdp-transform parser fixtures (odd, non-WebRTC and invalid SDP) never panic either
//! parser, and give the outcome their content calls for (RFC 8866 §5 line order is enforced).

use std::fs;

use gateway_sip::sdp::{BrowserOffer, SdpError, SipSdp};

fn read(file: &str) -> String {
    fs::read_to_string(format!(
        "{}/tests/data/sdp/sdp-transform/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture copied into tests/data/sdp/sdp-transform")
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Audio,
    NoAudio,
    Rejected,
    Syntax,
}

fn browser_outcome(text: &str) -> Outcome {
    match BrowserOffer::parse(text) {
        Ok(_) => Outcome::Audio,
        Err(SdpError::NoAudio) => Outcome::NoAudio,
        Err(SdpError::AudioRejected) => Outcome::Rejected,
        Err(SdpError::Syntax(_)) => Outcome::Syntax,
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

/// Every fixture, with why it ends where it does.
#[test]
fn every_fixture_has_the_expected_outcome() {
    use Outcome::*;
    let table = [
        ("alac.sdp", Rejected), // m=audio 0
        ("bfcp.sdp", Audio),
        ("dante-aes67.sdp", Audio),
        ("extmap-encrypt.sdp", Syntax), // c= after t= (RFC 8866 §5 order)
        ("hacky.sdp", Audio),
        ("icelite.sdp", Audio),
        ("invalid.sdp", Syntax), // deliberately invalid (f= line)
        ("jsep.sdp", Audio),
        ("jssip.sdp", Audio),
        ("mediaclk-avbtp.sdp", Syntax), // c= after t=
        ("mediaclk-ptp-v2-w-rate.sdp", Syntax),
        ("mediaclk-ptp-v2.sdp", Syntax),
        ("mediaclk-rtp.sdp", Syntax),
        ("normal.sdp", Syntax), // c= after t=
        ("onvif.sdp", Syntax),  // no t= line
        ("rtcp-fb.sdp", Audio),
        ("sctp-dtls-26.sdp", NoAudio), // data channel only
        ("simulcast.sdp", Syntax),     // c= after t=
        ("ssrc.sdp", Audio),
        ("st2022-6.sdp", NoAudio), // video only
        ("st2110-20.sdp", NoAudio),
        ("tcp-active.sdp", Syntax), // no t= line
        ("tcp-passive.sdp", Syntax),
        ("ts-refclk-media.sdp", Audio),
        ("ts-refclk-sess.sdp", Audio),
    ];
    let dir = format!(
        "{}/tests/data/sdp/sdp-transform",
        env!("CARGO_MANIFEST_DIR")
    );
    let on_disk = fs::read_dir(dir).unwrap().filter(|e| {
        e.as_ref()
            .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sdp"))
    });
    assert_eq!(
        on_disk.count(),
        table.len(),
        "every fixture is in the table"
    );
    for (file, expected) in table {
        let text = read(file);
        assert_eq!(browser_outcome(&text), expected, "{file}");
        // The SIP-side parser agrees on what is SDP at all, and refuses an m-line without a
        // readable format (alac: `a=rtpmap:96 AppleLossless`, no clock rate; RFC 8866 §6.6).
        let sip_refuses = expected == Syntax || file == "alac.sdp";
        assert_eq!(SipSdp::parse(&text).is_err(), sip_refuses, "{file}");
    }
}

/// Odd but valid details: jssip's offer (a SIP.js-era WebRTC offer) keeps ISAC/CN in order.
#[test]
fn jssip_offer_details() {
    let o = BrowserOffer::parse(&read("jssip.sdp")).unwrap();
    let names: Vec<&str> = o.audio().codecs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["opus", "ISAC", "ISAC", "PCMU", "PCMA", "CN", "CN", "CN"]
    );
    assert_eq!(o.audio().telephone_events, vec![(126, 8000)]);
    assert_eq!(o.audio().candidates, 6);
}

/// Truncating any fixture at any line never panics.
#[test]
fn truncations_never_panic() {
    let dir = format!(
        "{}/tests/data/sdp/sdp-transform",
        env!("CARGO_MANIFEST_DIR")
    );
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for n in 0..=lines.len() {
            let cut = lines[..n].join("\r\n");
            let _ = BrowserOffer::parse(&cut);
            let _ = SipSdp::parse(&cut);
        }
    }
}
