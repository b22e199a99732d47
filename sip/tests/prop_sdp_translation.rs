//! Property tests of the SDP translation between the browser and SIP legs: a browser offer
//! printed from any list of codecs parses back to those codecs in order (`parse(print(x)) == x`,
//! RFC 8866 §5.14, RFC 3264 §5.1); the codecs chosen toward SIP always follow the configured
//! order and always have a browser-side codec to bridge to (RFC 3264 §6.1); and neither the
//! browser offer parser nor the SIP SDP parser panics on arbitrary text or on a mutated real
//! offer (`tests/data/sdp/browser-offers`).

use gateway_sip::sdp::{
    AudioCodec, BrowserOffer, SipSdp, browser_codec_for, choose_answer_codec, sip_offer_codecs,
};
use proptest::prelude::*;

/// One rtpmap entry of a generated offer: (payload type, encoding name, clock rate, channels).
type Rtpmap = (u8, String, u32, u16);

/// Codecs a browser may list, the gateway's three among them, in any case of the name.
fn rtpmap() -> impl Strategy<Value = (String, u32, u16)> {
    prop_oneof![
        Just(("opus".to_owned(), 48000, 2)),
        Just(("OPUS".to_owned(), 48000, 2)),
        Just(("PCMU".to_owned(), 8000, 1)),
        Just(("pcma".to_owned(), 8000, 1)),
        Just(("G722".to_owned(), 8000, 1)),
        Just(("telephone-event".to_owned(), 8000, 1)),
        Just(("telephone-event".to_owned(), 48000, 1)),
        Just(("red".to_owned(), 48000, 2)),
        ("[A-Za-z][A-Za-z0-9-]{0,8}", 1u32..200_000, 1u16..3),
    ]
}

/// An m-line's codecs with distinct payload types 0..=127.
fn codecs() -> impl Strategy<Value = Vec<Rtpmap>> {
    proptest::collection::vec((0u8..128, rtpmap()), 1..10).prop_map(|v| {
        let mut seen = [false; 128];
        v.into_iter()
            .filter(|(pt, _)| !std::mem::replace(&mut seen[usize::from(*pt)], true))
            .map(|(pt, (name, rate, ch))| (pt, name, rate, ch))
            .collect()
    })
}

/// A browser-style (JSEP, RFC 8829) offer with one audio m-line listing `codecs`.
fn print_offer(codecs: &[Rtpmap]) -> String {
    let pts: Vec<String> = codecs.iter().map(|c| c.0.to_string()).collect();
    let mut sdp = format!(
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
         a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF {}\r\nc=IN IP4 0.0.0.0\r\n\
         a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\na=setup:actpass\r\n\
         a=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n",
        pts.join(" ")
    );
    for (pt, name, rate, ch) in codecs {
        if *ch > 1 {
            sdp.push_str(&format!("a=rtpmap:{pt} {name}/{rate}/{ch}\r\n"));
        } else {
            sdp.push_str(&format!("a=rtpmap:{pt} {name}/{rate}\r\n"));
        }
    }
    sdp
}

const ORDERS: [&[AudioCodec]; 4] = [
    &[AudioCodec::Pcmu, AudioCodec::Pcma],
    &[AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma],
    &[AudioCodec::Pcma, AudioCodec::Opus],
    &[AudioCodec::Opus],
];

fn browser_offers() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sdp/browser-offers");
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no offers in {dir}");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// RFC 8866 §5.14 / RFC 3264 §5.1: the codecs of the audio m-line come back in m-line order
    /// (telephone-event apart, RFC 4733 §7.1.1), with their payload types, names, rates, channels.
    #[test]
    fn offer_codecs_round_trip(codecs in codecs()) {
        let offer = BrowserOffer::parse(&print_offer(&codecs)).expect("a well-formed offer parses");
        let audio = offer.audio();
        let is_event = |name: &str| name.eq_ignore_ascii_case("telephone-event");
        let expected: Vec<(u8, String, u32, u16)> =
            codecs.iter().filter(|c| !is_event(&c.1)).cloned().collect();
        let got: Vec<(u8, String, u32, u16)> = audio
            .codecs
            .iter()
            .map(|c| (c.pt, c.name.clone(), c.clock_rate, c.channels))
            .collect();
        prop_assert_eq!(got, expected);
        let events: Vec<(u8, u32)> =
            codecs.iter().filter(|c| is_event(&c.1)).map(|c| (c.0, c.2)).collect();
        prop_assert_eq!(&audio.telephone_events, &events);
    }

    /// RFC 3264 §6.1: every codec offered toward SIP is in the configured order, once, and can be
    /// bridged: the browser offered it (passthrough) or offered Opus (transcoding).
    #[test]
    fn sip_codecs_follow_the_order_and_can_be_bridged(codecs in codecs(), which in 0usize..4) {
        let offer = BrowserOffer::parse(&print_offer(&codecs)).expect("a well-formed offer parses");
        let order = ORDERS[which];
        match sip_offer_codecs(&offer, order) {
            Ok(chosen) => {
                prop_assert!(!chosen.is_empty());
                let in_order: Vec<AudioCodec> =
                    order.iter().copied().filter(|c| chosen.contains(c)).fold(Vec::new(), |mut v, c| {
                        if !v.contains(&c) { v.push(c); }
                        v
                    });
                prop_assert_eq!(&chosen, &in_order);
                for codec in chosen {
                    let (browser, offered) = browser_codec_for(&offer, codec)
                        .expect("a codec offered toward SIP has a browser-side codec");
                    prop_assert!(browser == codec || browser == AudioCodec::Opus);
                    prop_assert_eq!(offered.audio_codec(), Some(browser));
                }
            }
            Err(_) => {
                let usable = order.iter().any(|&c| {
                    offer.offers(c)
                        || (offer.offers(AudioCodec::Opus) && c != AudioCodec::Opus)
                });
                prop_assert!(!usable, "refused although {order:?} is usable");
            }
        }
    }

    /// Neither parser panics on arbitrary text.
    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in any::<String>()) {
        let _ = BrowserOffer::parse(&text);
        if let Ok(sdp) = SipSdp::parse(&text) {
            let _ = choose_answer_codec(&sdp, &[AudioCodec::Pcmu, AudioCodec::Opus]);
        }
    }

    /// Neither parser, nor the codec choice, panics on a real browser offer with one line cut,
    /// duplicated or overwritten with SDP-like junk.
    #[test]
    fn mutated_real_offers_never_panic(
        pick in any::<prop::sample::Index>(),
        line in any::<prop::sample::Index>(),
        edit in 0u8..3,
        junk in "[a-z]=[ -~]{0,40}",
    ) {
        let offers = browser_offers();
        let offer = pick.get(&offers);
        let mut lines: Vec<&str> = offer.split("\r\n").collect();
        let at = line.index(lines.len());
        match edit {
            0 => { lines.remove(at); }
            1 => { let l = lines[at]; lines.insert(at, l); }
            _ => lines[at] = &junk,
        }
        let mutated = lines.join("\r\n");
        if let Ok(o) = BrowserOffer::parse(&mutated) {
            for order in ORDERS {
                if let Ok(chosen) = sip_offer_codecs(&o, order) {
                    for c in chosen {
                        prop_assert!(browser_codec_for(&o, c).is_some());
                    }
                }
            }
        }
        if let Ok(sdp) = SipSdp::parse(&mutated) {
            let _ = choose_answer_codec(&sdp, &[AudioCodec::Pcmu, AudioCodec::Pcma, AudioCodec::Opus]);
        }
    }
}
