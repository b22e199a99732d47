//! Codec choice toward SIP and back to the browser: passthrough when the browser offered the
//! SIP codec, Opus<->G.711 transcoding otherwise, an error when neither works (RFC 3264 §5.1).

use gateway_sip::sdp::{
    AudioCodec::{self, Opus, Pcma, Pcmu},
    BrowserOffer, SdpError, browser_codec_for, sip_offer_codecs,
};

/// A browser-style offer whose audio m-line lists `rtpmaps` ("PT NAME/RATE[/CH]").
fn offer_with(rtpmaps: &[&str]) -> BrowserOffer {
    let pts: Vec<&str> = rtpmaps
        .iter()
        .map(|r| r.split(' ').next().expect("split yields at least one item"))
        .collect();
    let mut sdp = format!(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
         m=audio 9 UDP/TLS/RTP/SAVPF {}\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n",
        pts.join(" ")
    );
    for r in rtpmaps {
        sdp.push_str(&format!("a=rtpmap:{r}\r\n"));
    }
    BrowserOffer::parse(&sdp).expect("test offer parses")
}

const OPUS: &str = "111 opus/48000/2";
const PCMU: &str = "0 PCMU/8000";
const PCMA: &str = "8 PCMA/8000";
const G722: &str = "9 G722/8000";
const EVENT: &str = "126 telephone-event/8000";

/// The table of offers toward SIP for each browser offer and configured SIP order.
#[test]
fn sip_offer_table() {
    type Row<'a> = (
        &'a [&'a str],
        &'a [AudioCodec],
        Result<Vec<AudioCodec>, SdpError>,
    );
    let rows: [Row<'_>; 8] = [
        // Opus-only browser, PCMU-only SIP config: transcode.
        (&[OPUS], &[Pcmu], Ok(vec![Pcmu])),
        // Config order wins over browser order; Opus passthrough stays possible.
        (
            &[OPUS, PCMU, PCMA],
            &[Pcma, Opus, Pcmu],
            Ok(vec![Pcma, Opus, Pcmu]),
        ),
        // PCMU-only browser: passthrough PCMU; PCMA and Opus are impossible without Opus.
        (&[PCMU, EVENT], &[Opus, Pcma, Pcmu], Ok(vec![Pcmu])),
        (&[PCMA], &[Pcmu, Pcma], Ok(vec![Pcma])),
        // Duplicates in the config are offered once.
        (&[OPUS], &[Pcmu, Pcmu, Opus], Ok(vec![Pcmu, Opus])),
        // Nothing usable.
        (
            &[G722, EVENT],
            &[Opus, Pcmu, Pcma],
            Err(SdpError::NoCommonCodec),
        ),
        (&[PCMU], &[Pcma, Opus], Err(SdpError::NoCommonCodec)),
        (&[OPUS], &[], Err(SdpError::NoCommonCodec)),
    ];
    for (browser, config, expected) in rows {
        let got = sip_offer_codecs(&offer_with(browser), config);
        assert_eq!(got, expected, "browser {browser:?} config {config:?}");
    }
}

/// Passthrough when the browser offered the SIP codec, Opus (transcoding) otherwise.
#[test]
fn browser_side_codec() {
    let all = offer_with(&[OPUS, PCMU, PCMA]);
    let (c, offered) = browser_codec_for(&all, Pcmu).unwrap();
    assert_eq!((c, offered.pt), (Pcmu, 0));
    let (c, offered) = browser_codec_for(&all, Opus).unwrap();
    assert_eq!((c, offered.pt, offered.channels), (Opus, 111, 2));

    let opus_only = offer_with(&[OPUS]);
    let (c, offered) = browser_codec_for(&opus_only, Pcma).unwrap();
    assert_eq!((c, offered.pt), (Opus, 111));

    let pcmu_only = offer_with(&[PCMU]);
    assert_eq!(browser_codec_for(&pcmu_only, Pcma), None);
    assert_eq!(
        browser_codec_for(&pcmu_only, Pcmu).map(|(c, _)| c),
        Some(Pcmu)
    );
}

/// An offer without audio is refused before any codec choice.
#[test]
fn offer_without_audio() {
    let video = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
                 m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\n";
    assert_eq!(BrowserOffer::parse(video), Err(SdpError::NoAudio));
}
