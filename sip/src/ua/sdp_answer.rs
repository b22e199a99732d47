//! Answers to the peer's mid-call offers (re-INVITE, UPDATE), made from the gateway's own
//! state: RFC 3264 §6 (an answer has the offer's m-lines; port 0 rejects one), §6.1 (formats
//! and direction of an answer) and §8 (modifying a session; §8.4 adding and removing streams).
//! The peer's offer never dictates our address or port; it may change its own media, the codec
//! (among those the gateway handles) and the direction, and remove or add video: a video line
//! is answered on our video port when the call has one ([`OurVideo`]), else rejected.

use crate::sdp::{
    AudioCodec, Direction, MediaLine, RtcpFeedback, RtpMap, SdpError, SipSdp, VideoCodec,
    VideoFormat, VideoLine,
};

/// What we want for our side of the media, whatever the peer offers: the direction of the last
/// SDP the application gave us as an offer (hold: `sendonly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wish {
    /// We are willing to send media.
    pub(crate) send: bool,
    /// We are willing to receive media.
    pub(crate) recv: bool,
}

impl Wish {
    /// Send and receive.
    pub(crate) const BOTH: Self = Self {
        send: true,
        recv: true,
    };

    /// What an SDP of ours with `direction` asks for.
    pub(crate) fn of(direction: Direction) -> Self {
        Self {
            send: matches!(direction, Direction::SendRecv | Direction::SendOnly),
            recv: matches!(direction, Direction::SendRecv | Direction::RecvOnly),
        }
    }
}

/// What an SDP of ours asks for; one we cannot read asks for both directions.
pub(crate) fn wish_of(sdp: &str) -> Wish {
    SipSdp::parse(sdp)
        .ok()
        .and_then(|s| s.audio)
        .map_or(Wish::BOTH, |a| Wish::of(a.direction))
}

/// Why we cannot answer an offer (the request gets 488, RFC 3261 §14.2, RFC 3311 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unanswerable {
    /// Our own SDP or the offer does not parse, or lacks audio.
    Sdp(SdpError),
    /// The offer has no codec the gateway can send (Opus, PCMU, PCMA).
    NoCodec,
}

/// The direction of an answer to an offer with `offered`, limited by what we `wish`
/// (RFC 3264 §6.1: sendonly -> recvonly, recvonly -> sendonly, inactive -> inactive).
pub(crate) fn answer_direction(offered: Direction, wish: Wish) -> Direction {
    let peer = Wish::of(offered);
    match (peer.recv && wish.send, peer.send && wish.recv) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

/// What the call has of video, to answer a video line with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OurVideo<'a> {
    /// Our video line (port, formats with our fmtp and feedback): the last active one the
    /// application gave; `None` for an audio-only call.
    pub(crate) line: Option<&'a VideoLine>,
    /// The video codec in use, if video flows.
    pub(crate) current: Option<VideoCodec>,
}

/// [`answer_with_video`] for a call whose video is what `local` shows (none in use).
#[cfg(test)]
pub(crate) fn answer(
    local: &str,
    offer: &str,
    current: Option<AudioCodec>,
    wish: Wish,
) -> Result<String, Unanswerable> {
    let line = SipSdp::parse(local)
        .ok()
        .and_then(|s| s.video)
        .filter(VideoLine::is_active);
    let video = OurVideo {
        line: line.as_ref(),
        current: None,
    };
    answer_with_video(local, offer, current, wish, video)
}

/// Builds our answer to `offer` from `local` (the SDP we last sent): our origin, address, port,
/// ptime and RTCP port; the codec in use (`current`, else the first of `local`) if the offer still
/// has it, else the first offered codec we support, each at the offer's payload type; the
/// offer's telephone-event matching that codec's clock (else 8000 Hz) when we use one; the
/// §6.1 direction. A video line answers the offer's, if it has one ([`answer_video`]). The
/// session version stays when nothing changed and grows by one otherwise (§8). Returns the
/// SDP text, `local` itself when unchanged.
pub(crate) fn answer_with_video(
    local: &str,
    offer: &str,
    current: Option<AudioCodec>,
    wish: Wish,
    video: OurVideo<'_>,
) -> Result<String, Unanswerable> {
    let ours = SipSdp::parse(local).map_err(Unanswerable::Sdp)?;
    let theirs = SipSdp::parse(offer).map_err(Unanswerable::Sdp)?;
    let our_audio = ours
        .audio
        .as_ref()
        .ok_or(Unanswerable::Sdp(SdpError::NoAudio))?;
    let offered = theirs
        .audio
        .as_ref()
        .ok_or(Unanswerable::Sdp(SdpError::NoAudio))?;
    let in_use = current.or_else(|| our_audio.codecs.iter().find_map(RtpMap::audio_codec));
    let find = |codec: AudioCodec| {
        offered
            .codecs
            .iter()
            .find(|r| r.audio_codec() == Some(codec))
    };
    let chosen = in_use
        .and_then(|c| find(c).map(|r| (c, r)))
        .or_else(|| {
            offered
                .codecs
                .iter()
                .find_map(|r| r.audio_codec().map(|c| (c, r)))
        })
        .ok_or(Unanswerable::NoCodec)?;
    let (codec, offered_map) = chosen;
    // Our own entry for the codec keeps our fmtp; the payload type is the offer's (§6.1).
    let mut map = our_audio
        .codecs
        .iter()
        .find(|r| r.audio_codec() == Some(codec))
        .cloned()
        .unwrap_or_else(|| RtpMap::for_codec(codec, offered_map.pt));
    map.pt = offered_map.pt;
    let events = &offered.telephone_events;
    let telephone_event = events
        .iter()
        .find(|t| t.1 == codec.clock_rate())
        .or_else(|| events.iter().find(|t| t.1 == 8000))
        .filter(|_| !our_audio.telephone_events.is_empty())
        .copied();
    let mut answer = SipSdp {
        audio: Some(MediaLine {
            port: our_audio.port,
            codecs: vec![map],
            telephone_events: telephone_event.into_iter().collect(),
            direction: answer_direction(offered.direction, wish),
            ptime: our_audio.ptime,
            rtcp_port: our_audio.rtcp_port,
        }),
        video: theirs
            .video
            .as_ref()
            .map(|offered| answer_video(offered, video, wish)),
        ..ours.clone()
    };
    if answer == ours {
        return Ok(local.to_owned());
    }
    answer.session_version = ours.session_version.wrapping_add(1);
    Ok(answer.to_string())
}

/// The answer to the offer's video line (RFC 3264 §6, §8.4): rejected (port 0) when the offer
/// removes video, when the call has no video port, or when the offer has none of our codecs;
/// else on our port with the codec in use if still offered, else the first offered codec of
/// our line, at the offer's payload type with our fmtp and feedback, in the §6.1 direction.
fn answer_video(offered: &VideoLine, ours: OurVideo<'_>, wish: Wish) -> VideoLine {
    let Some(line) = ours.line.filter(|_| offered.is_active()) else {
        return VideoLine::rejected(offered);
    };
    let our_codecs: Vec<VideoCodec> = line.video_codecs().into_iter().map(|(c, _)| c).collect();
    let theirs = offered.video_codecs();
    let chosen = ours
        .current
        .filter(|c| our_codecs.contains(c))
        .and_then(|c| theirs.iter().find(|(o, _)| *o == c))
        .or_else(|| theirs.iter().find(|(o, _)| our_codecs.contains(o)));
    let Some(&(codec, pt)) = chosen else {
        return VideoLine::rejected(offered);
    };
    // Our own entry for the codec keeps our fmtp and feedback; the payload type is the offer's.
    let mut format = line
        .formats
        .iter()
        .find(|f| f.video_codec() == Some(codec))
        .cloned()
        .unwrap_or_else(|| VideoFormat::for_codec(codec, pt));
    format.pt = pt;
    // RFC 4585 §4.2: the answer keeps only feedback the offer listed for the format.
    let offered_fb = offered
        .formats
        .iter()
        .find(|f| f.pt == pt)
        .map(VideoFormat::feedback)
        .unwrap_or_default();
    format
        .rtcp_fb
        .retain(|fb| RtcpFeedback::parse(fb).is_some_and(|f| offered_fb.contains(&f)));
    VideoLine {
        port: line.port,
        formats: vec![format],
        direction: answer_direction(offered.direction, wish),
        rtcp_port: line.rtcp_port,
        addr: line.addr,
    }
}

/// Our offer in the 2xx to a re-INVITE without SDP (RFC 3264 §8): `local` with the direction
/// we wish for, its version grown by one if that changes it.
pub(crate) fn offer_from(local: &str, wish: Wish) -> String {
    let Ok(ours) = SipSdp::parse(local) else {
        return local.to_owned();
    };
    let mut offer = ours.clone();
    if let Some(audio) = offer.audio.as_mut() {
        audio.direction = answer_direction(Direction::SendRecv, wish);
    }
    if offer == ours {
        return local.to_owned();
    }
    offer.session_version = ours.session_version.wrapping_add(1);
    offer.to_string()
}

/// `sdp` with its session version grown by one (RFC 3264 §8: a new offer in the session), or
/// unchanged if it does not parse (the peer will judge it).
pub(crate) fn next_version(sdp: &str, previous: Option<&str>) -> String {
    let (Ok(mut new), Some(Ok(old))) = (SipSdp::parse(sdp), previous.map(SipSdp::parse)) else {
        return sdp.to_owned();
    };
    if new.session_id != old.session_id || new.session_version > old.session_version {
        return sdp.to_owned();
    }
    new.session_version = old.session_version.wrapping_add(1);
    new.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::VideoCodec;

    const LOCAL: &str = "v=0\r\no=gwtest 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
        c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n";

    /// Asterisk's re-INVITE offer of `outbound-609-reinvite-from-asterisk-05`.
    const OFFER: &str = "v=0\r\no=- 53655765 2353687639 IN IP4 127.0.0.1\r\ns=Asterisk\r\n\
        c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20076 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=maxptime:140\r\n\
        a=sendrecv\r\n";

    /// RFC 3264 §6.1: each offered direction gets its answer; a wish to hold narrows it.
    #[test]
    fn answer_directions() {
        use Direction::*;
        let hold = Wish::of(SendOnly);
        for (offered, to_all, to_hold) in [
            (SendRecv, SendRecv, SendOnly),
            (SendOnly, RecvOnly, Inactive),
            (RecvOnly, SendOnly, SendOnly),
            (Inactive, Inactive, Inactive),
        ] {
            assert_eq!(answer_direction(offered, Wish::BOTH), to_all, "{offered:?}");
            assert_eq!(answer_direction(offered, hold), to_hold, "{offered:?}");
        }
        assert_eq!(answer_direction(SendRecv, Wish::of(Inactive)), Inactive);
    }

    /// RFC 3264 §8: an offer that changes nothing on our side gets our SDP unchanged, same
    /// version.
    #[test]
    fn unchanged_session_keeps_our_sdp() {
        assert_eq!(answer(LOCAL, OFFER, None, Wish::BOTH).unwrap(), LOCAL);
    }

    /// RFC 3264 §8.4: hold from the peer (sendonly) is answered recvonly with version + 1.
    #[test]
    fn hold_offer_gets_recvonly_and_a_new_version() {
        let offer = OFFER.replace("a=sendrecv", "a=sendonly");
        let got = SipSdp::parse(&answer(LOCAL, &offer, None, Wish::BOTH).unwrap()).unwrap();
        assert_eq!(got.session_version, 2353687638);
        let audio = got.audio.unwrap();
        assert_eq!(audio.direction, Direction::RecvOnly);
        assert_eq!(audio.port, 6000);
        assert_eq!(got.addr.to_string(), "127.0.0.1");
    }

    /// RFC 3264 §8.3.2: a new codec in the offer: we follow it at the offer's payload type,
    /// keeping our fmtp; telephone-event follows the codec's clock (RFC 4733 §2.1).
    #[test]
    fn codec_change_is_followed() {
        let offer = "v=0\r\no=- 1 5 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
            m=audio 30000 RTP/AVP 9 111 8 101 102\r\na=rtpmap:111 opus/48000/2\r\n\
            a=rtpmap:101 telephone-event/8000\r\na=rtpmap:102 telephone-event/48000\r\na=sendrecv\r\n";
        let got = SipSdp::parse(&answer(LOCAL, offer, None, Wish::BOTH).unwrap()).unwrap();
        let audio = got.audio.unwrap();
        // G722 (9) is not ours; Opus is the first codec we support.
        assert_eq!(audio.codecs.len(), 1);
        assert_eq!(audio.codecs[0].pt, 111);
        assert_eq!(audio.codecs[0].audio_codec(), Some(AudioCodec::Opus));
        assert_eq!(audio.telephone_events, vec![(102, 48000)]);
        // The codec in use wins when still offered.
        let got = answer(LOCAL, offer, Some(AudioCodec::Pcma), Wish::BOTH).unwrap();
        let audio = SipSdp::parse(&got).unwrap().audio.unwrap();
        assert_eq!(audio.codecs[0].pt, 8);
        assert_eq!(audio.telephone_events, vec![(101, 8000)]);
    }

    /// RFC 3261 §14.2 / RFC 3264 §6: nothing we can send -> no answer (488).
    #[test]
    fn unsupported_codec_cannot_be_answered() {
        let offer = OFFER
            .replace("RTP/AVP 0 101", "RTP/AVP 9 101")
            .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:9 G722/8000");
        assert_eq!(
            answer(LOCAL, &offer, None, Wish::BOTH),
            Err(Unanswerable::NoCodec)
        );
        assert!(matches!(
            answer(LOCAL, "garbage", None, Wish::BOTH),
            Err(Unanswerable::Sdp(_))
        ));
    }

    /// Our SDP of a video call: [`LOCAL`] with VP8 and H.264 on port 6002, as we offer them
    /// (`VideoLine::offer`: `ccm fir`, `nack pli`, H.264 `42e01f`).
    fn local_video() -> String {
        let mut sdp = SipSdp::parse(LOCAL).unwrap();
        sdp.video = Some(VideoLine::offer(
            6002,
            &VideoCodec::DEFAULT_ORDER,
            Direction::SendRecv,
        ));
        sdp.to_string()
    }

    /// [`OFFER`] with Asterisk's video line (VP8 100 first, then H.264 99, `42E01F`), `edit`
    /// applied to that line.
    fn video_offer(edit: impl Fn(String) -> String) -> String {
        let video = "m=video 20078 RTP/AVP 100 99\r\na=rtpmap:100 VP8/90000\r\n\
            a=rtpmap:99 H264/90000\r\na=fmtp:99 packetization-mode=1;profile-level-id=42E01F\r\n\
            a=sendrecv\r\n";
        format!("{OFFER}{}", edit(video.to_owned()))
    }

    fn ours(video: &VideoLine) -> OurVideo<'_> {
        OurVideo {
            line: Some(video),
            current: None,
        }
    }

    fn parse(sdp: &str) -> SipSdp {
        SipSdp::parse(sdp).unwrap()
    }

    /// RFC 3264 §6: the answer has the offer's m-lines: audio-only offers get audio-only
    /// answers, byte for byte what they were before video existed (our SDP printed with the
    /// new direction and version).
    #[test]
    fn audio_only_offers_get_audio_only_answers() {
        let hold = OFFER.replace("a=sendrecv", "a=sendonly");
        assert_eq!(
            answer(LOCAL, &hold, None, Wish::BOTH).unwrap(),
            LOCAL
                .replace("2353687637", "2353687638")
                .replace("a=sendrecv", "a=recvonly")
        );
        let inactive = OFFER.replace("a=sendrecv", "a=inactive");
        assert_eq!(
            answer(LOCAL, &inactive, None, Wish::BOTH).unwrap(),
            LOCAL
                .replace("2353687637", "2353687638")
                .replace("a=sendrecv", "a=inactive")
        );
        // A video call whose peer now offers audio only: the answer drops the video line.
        let local = local_video();
        let got = answer(&local, OFFER, None, Wish::BOTH).unwrap();
        assert_eq!(got, LOCAL.replace("2353687637", "2353687638"));
    }

    /// RFC 3264 §6.1: an active video offer in a video call is answered on our port with one
    /// codec, the first of the offer's order we have, at the offer's payload type with our fmtp
    /// and the feedback of ours the offer listed (RFC 4585 §4.2), in the §6.1 direction.
    #[test]
    fn video_offer_answered_on_our_port() {
        let local = local_video();
        let line = parse(&local).video.unwrap();
        // H.264 first, at another payload type and another level.
        let offer = video_offer(|v| {
            v.replace(" 100 99", " 126 100")
                .replace(":99 ", ":126 ")
                .replace("42E01F", "42e028")
        });
        let got = parse(&answer_with_video(&local, &offer, None, Wish::BOTH, ours(&line)).unwrap());
        let video = got.video.unwrap();
        assert_eq!(video.port, 6002);
        assert_eq!(video.direction, Direction::SendRecv);
        assert_eq!(video.formats.len(), 1);
        let format = &video.formats[0];
        assert_eq!((format.pt, format.name.as_str()), (126, "H264"));
        assert_eq!(
            format.fmtp.as_deref(),
            Some("packetization-mode=1;profile-level-id=42e01f"),
            "our fmtp"
        );
        // RFC 4585 §4.2: no feedback offered, none answered.
        assert!(format.rtcp_fb.is_empty(), "{:?}", format.rtcp_fb);
        let with_fir =
            video_offer(|v| v.replace("a=sendrecv", "a=rtcp-fb:* ccm fir\r\na=sendrecv"));
        let fb =
            parse(&answer_with_video(&local, &with_fir, None, Wish::BOTH, ours(&line)).unwrap())
                .video
                .unwrap()
                .formats[0]
                .rtcp_fb
                .clone();
        assert_eq!(fb, vec!["ccm fir"], "only what was offered");
        // Audio is answered as before.
        assert_eq!(got.audio.unwrap().port, 6000);
        assert_eq!(got.session_version, 2353687638);

        // The codec in use wins over the offer's order; sendonly is answered recvonly.
        let offer = video_offer(|v| v.replace("a=sendrecv", "a=sendonly"));
        let video = OurVideo {
            line: Some(&line),
            current: Some(VideoCodec::H264),
        };
        let got = parse(&answer_with_video(&local, &offer, None, Wish::BOTH, video).unwrap());
        let video = got.video.unwrap();
        assert_eq!(video.formats[0].pt, 99);
        assert_eq!(video.direction, Direction::RecvOnly);
        // Without a codec in use, the offer's first codec we have: VP8.
        let got = parse(&answer_with_video(&local, &offer, None, Wish::BOTH, ours(&line)).unwrap());
        let video = got.video.unwrap();
        assert_eq!(
            (video.formats[0].pt, video.formats[0].fmtp.clone()),
            (100, None)
        );
        // Our wish to hold narrows the video direction as it does audio's.
        let sendrecv = video_offer(|v| v);
        let hold = Wish::of(Direction::SendOnly);
        let got = parse(&answer_with_video(&local, &sendrecv, None, hold, ours(&line)).unwrap());
        assert_eq!(got.video.unwrap().direction, Direction::SendOnly);
    }

    /// RFC 3264 §8: the same video offer again changes nothing: our SDP, same version.
    #[test]
    fn unchanged_video_answer_keeps_the_version() {
        let local = local_video();
        let line = parse(&local).video.unwrap();
        let offer = video_offer(|v| v);
        let first = answer_with_video(&local, &offer, None, Wish::BOTH, ours(&line)).unwrap();
        let again = answer_with_video(&first, &offer, None, Wish::BOTH, ours(&line)).unwrap();
        assert_eq!(again, first);
        let removed = video_offer(|v| v.replace("m=video 20078", "m=video 0"));
        let first = answer_with_video(&local, &removed, None, Wish::BOTH, ours(&line)).unwrap();
        let again = answer_with_video(&first, &removed, None, Wish::BOTH, ours(&line)).unwrap();
        assert_eq!(again, first);
    }

    /// RFC 3264 §8.4: the peer removes video (port 0): our line is rejected (port 0); it adds
    /// video again: answered on the port we had, from our remembered line, though the SDP we
    /// answer from has video rejected.
    #[test]
    fn video_removed_then_added_again() {
        let local = local_video();
        let line = parse(&local).video.unwrap();
        let removed = video_offer(|v| v.replace("m=video 20078", "m=video 0"));
        let a1 = answer_with_video(&local, &removed, None, Wish::BOTH, ours(&line)).unwrap();
        let got = parse(&a1);
        assert_eq!(got.session_version, 2353687638);
        let video = got.video.unwrap();
        assert!(!video.is_active());
        assert_eq!(video.port, 0);
        assert_eq!(
            video.formats.iter().map(|f| f.pt).collect::<Vec<_>>(),
            vec![100, 99]
        );
        assert!(a1.contains("m=video 0 RTP/AVP 100 99\r\n"), "{a1}");

        let back = video_offer(|v| v);
        let a2 = answer_with_video(&a1, &back, None, Wish::BOTH, ours(&line)).unwrap();
        let got = parse(&a2);
        assert_eq!(got.session_version, 2353687639);
        let video = got.video.unwrap();
        assert_eq!(video.port, 6002);
        assert_eq!(video.formats[0].pt, 100);
        assert_eq!(video.direction, Direction::SendRecv);
    }

    /// RFC 3264 §6: a video offer in an audio-only call, or one with no codec of ours, is
    /// rejected with port 0; audio goes on.
    #[test]
    fn video_without_port_or_codec_is_rejected() {
        let offer = video_offer(|v| v);
        let none = OurVideo {
            line: None,
            current: None,
        };
        let got = parse(&answer_with_video(LOCAL, &offer, None, Wish::BOTH, none).unwrap());
        assert_eq!(got.audio.unwrap().port, 6000);
        let video = got.video.unwrap();
        assert_eq!((video.port, video.direction), (0, Direction::Inactive));
        // The test wrapper takes the video of `local`: none here either.
        assert_eq!(
            parse(&answer(LOCAL, &offer, None, Wish::BOTH).unwrap())
                .video
                .unwrap()
                .port,
            0
        );

        let local = local_video();
        let line = parse(&local).video.unwrap();
        let h263 = format!(
            "{OFFER}m=video 20078 RTP/AVP 34 99\r\na=rtpmap:34 H263/90000\r\n\
             a=rtpmap:99 H264/90000\r\na=fmtp:99 packetization-mode=0;profile-level-id=42E01F\r\n"
        );
        let got = parse(&answer_with_video(&local, &h263, None, Wish::BOTH, ours(&line)).unwrap());
        let video = got.video.unwrap();
        assert_eq!(video.port, 0);
        assert_eq!(
            video.formats.iter().map(|f| f.pt).collect::<Vec<_>>(),
            vec![34, 99]
        );
        // Only VP8 on our line (an inbound call answered with VP8): an H.264-only offer fails.
        let vp8 = VideoLine::offer(6002, &[VideoCodec::Vp8], Direction::SendRecv);
        let h264 = video_offer(|v| {
            v.replace(" 100 99", " 99")
                .replace("a=rtpmap:100 VP8/90000\r\n", "")
        });
        let got = parse(&answer_with_video(&local, &h264, None, Wish::BOTH, ours(&vp8)).unwrap());
        assert_eq!(got.video.unwrap().port, 0);
    }

    /// RFC 3264 §8: a new offer of ours grows the version past the one we last sent.
    #[test]
    fn offers_grow_the_version() {
        let hold = LOCAL.replace("a=sendrecv", "a=sendonly");
        let got = SipSdp::parse(&next_version(&hold, Some(LOCAL))).unwrap();
        assert_eq!(got.session_version, 2353687638);
        let ahead = hold.replace("2353687637", "2353687640");
        assert_eq!(next_version(&ahead, Some(LOCAL)), ahead);
        assert_eq!(next_version(&hold, None), hold);
    }
}
