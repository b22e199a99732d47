//! SIP-side SDP (Asterisk's offers and answers, RFC 8866 / RFC 3264): never panics; what parses
//! prints and parses back to the same value, audio and video m-lines alike (an m-line always
//! prints with a format, RFC 8866 §5.14: fuzz/crashes/sip_sdp/); the audio and video codec
//! choices never panic, and a video codec chosen is one the SDP lists and we asked for.
#![no_main]

use gateway_sip::sdp::{
    AudioCodec, SipSdp, VideoCodec, choose_answer_codec, sip_video_passthrough,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(sdp) = SipSdp::parse(text) else {
        return;
    };
    let _ = choose_answer_codec(
        &sdp,
        &[AudioCodec::Pcmu, AudioCodec::Pcma, AudioCodec::Opus],
    );
    let passthrough = sip_video_passthrough(&sdp);
    for codec in &passthrough {
        assert!(
            VideoCodec::DEFAULT_ORDER.contains(codec),
            "{codec:?} is not a video codec the gateway passes through"
        );
    }
    if let Some(video) = &sdp.video {
        assert!(
            !video.formats.is_empty(),
            "a parsed video m-line has no format"
        );
        if video.is_active() {
            let listed: Vec<VideoCodec> =
                video.video_codecs().into_iter().map(|(c, _)| c).collect();
            assert_eq!(passthrough, listed);
        }
    }
    if let Some(audio) = &sdp.audio {
        assert!(
            !(audio.codecs.is_empty() && audio.telephone_events.is_empty()),
            "a parsed audio m-line has no format"
        );
    }
    let printed = sdp.to_string();
    match SipSdp::parse(&printed) {
        Ok(again) => assert!(
            again == sdp,
            "print/parse changed the SDP:\n{sdp:?}\n{again:?}\nprinted:\n{printed}"
        ),
        Err(e) => panic!("a parsed SDP printed to text that does not parse ({e}):\n{printed}"),
    }
});
