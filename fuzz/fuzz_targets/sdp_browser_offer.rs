//! A browser's SDP offer (RFC 8866, RFC 8829 JSEP) and the codec choice made from it
//! (RFC 3264 §6.1): never panics, and every codec chosen toward SIP is one the gateway can serve.
#![no_main]

use gateway_sip::sdp::{AudioCodec, BrowserOffer, browser_codec_for, sip_offer_codecs};
use libfuzzer_sys::fuzz_target;

const ORDERS: [&[AudioCodec]; 4] = [
    &[AudioCodec::Pcmu, AudioCodec::Pcma],
    &[AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma],
    &[AudioCodec::Pcma],
    &[AudioCodec::Opus],
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(offer) = BrowserOffer::parse(text) else {
        return;
    };
    let audio = offer.audio();
    let _ = audio.codecs.iter().map(|c| c.audio_codec()).count();
    for order in ORDERS {
        let Ok(codecs) = sip_offer_codecs(&offer, order) else {
            continue;
        };
        assert!(!codecs.is_empty(), "Ok(empty) codec list for {order:?}");
        for codec in codecs {
            assert!(
                order.contains(&codec),
                "{codec:?} is not in the SIP order {order:?}"
            );
            let browser = browser_codec_for(&offer, codec);
            assert!(
                browser.is_some(),
                "{codec:?} was offered toward SIP but has no browser-side codec"
            );
        }
    }
});
