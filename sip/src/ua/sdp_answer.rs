//! Answers to the peer's mid-call offers (re-INVITE, UPDATE), made from the gateway's own
//! state: RFC 3264 §6.1 (formats and direction of an answer) and §8 (modifying a session).
//! The peer's offer never dictates our address or port; it may change its own media, the codec
//! (among those the gateway handles) and the direction.

use crate::sdp::{AudioCodec, Direction, MediaLine, RtpMap, SdpError, SipSdp};

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

/// Builds our answer to `offer` from `local` (the SDP we last sent): our origin, address, port,
/// ptime and RTCP port; the codec in use (`current`, else the first of `local`) if the offer still
/// has it, else the first offered codec we support, each at the offer's payload type; the
/// offer's telephone-event matching that codec's clock (else 8000 Hz) when we use one; the
/// §6.1 direction. The session version stays when nothing changed and grows by one otherwise
/// (§8). Returns the SDP text, `local` itself when unchanged.
pub(crate) fn answer(
    local: &str,
    offer: &str,
    current: Option<AudioCodec>,
    wish: Wish,
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
        ..ours.clone()
    };
    if answer == ours {
        return Ok(local.to_owned());
    }
    answer.session_version = ours.session_version.wrapping_add(1);
    Ok(answer.to_string())
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
