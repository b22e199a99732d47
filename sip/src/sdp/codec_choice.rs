//! Codec choice across the two legs: passthrough when both sides share a codec, otherwise
//! Opus on the browser side transcoded to G.711 on the SIP side (RFC 3264 §6.1).

use std::net::SocketAddr;

use super::{AudioCodec, BrowserOffer, Direction, OfferedCodec, SdpError, SipSdp};

/// The codecs to offer toward SIP, in `sip_order`: one the browser offered (passthrough), or
/// PCMU/PCMA when the browser offered Opus (transcoding). Empty -> [`SdpError::NoCommonCodec`].
pub fn sip_offer_codecs(
    offer: &BrowserOffer,
    sip_order: &[AudioCodec],
) -> Result<Vec<AudioCodec>, SdpError> {
    let has_opus = offer.offers(AudioCodec::Opus);
    let mut out: Vec<AudioCodec> = Vec::with_capacity(sip_order.len());
    for &codec in sip_order {
        let transcodable = has_opus && matches!(codec, AudioCodec::Pcmu | AudioCodec::Pcma);
        if !out.contains(&codec) && (offer.offers(codec) || transcodable) {
            out.push(codec);
        }
    }
    if out.is_empty() {
        return Err(SdpError::NoCommonCodec);
    }
    Ok(out)
}

/// What the SIP answer settled for the SIP leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The codec the SIP side will send and expect.
    pub sip_codec: AudioCodec,
    /// Its payload type in the answer.
    pub sip_pt: u8,
    /// Where to send RTP.
    pub remote_addr: SocketAddr,
    /// Where to send RTCP (`a=rtcp`, else RTP port + 1; RFC 3605, RFC 3550 §11).
    pub remote_rtcp: SocketAddr,
    /// The telephone-event (payload type, clock rate) to use (RFC 4733).
    pub telephone_event: Option<(u8, u32)>,
    /// The remote's direction; `c=0.0.0.0` (legacy hold, RFC 3264 §8.4) removes its receive side.
    pub direction: Direction,
}

/// Picks the SIP side's codec: the first codec in the answer's order that we offered.
pub fn choose_answer_codec(
    answer: &SipSdp,
    offered: &[AudioCodec],
) -> Result<Negotiated, SdpError> {
    let audio = answer.audio.as_ref().ok_or(SdpError::NoAudio)?;
    if audio.port == 0 {
        return Err(SdpError::AudioRejected);
    }
    let (sip_codec, sip_pt) = audio
        .codecs
        .iter()
        .find_map(|r| {
            r.audio_codec()
                .filter(|c| offered.contains(c))
                .map(|c| (c, r.pt))
        })
        .ok_or(SdpError::NoCommonCodec)?;
    let rtcp_port = match audio.rtcp_port {
        Some(p) => p,
        None => audio.port.checked_add(1).ok_or(SdpError::Invalid {
            field: "m= port",
            value: audio.port.to_string(),
        })?,
    };
    // Prefer the event clock that matches the codec (RFC 4733 §2.1), then 8000 Hz.
    let te = &audio.telephone_events;
    let telephone_event = te
        .iter()
        .find(|t| t.1 == sip_codec.clock_rate())
        .or_else(|| te.iter().find(|t| t.1 == 8000))
        .or_else(|| te.first())
        .copied();
    let direction = if answer.addr.is_unspecified() {
        match audio.direction {
            Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
            Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
        }
    } else {
        audio.direction
    };
    Ok(Negotiated {
        sip_codec,
        sip_pt,
        remote_addr: SocketAddr::new(answer.addr, audio.port),
        remote_rtcp: SocketAddr::new(answer.addr, rtcp_port),
        telephone_event,
        direction,
    })
}

/// The browser-side codec for `sip_codec`: the same codec if the browser offered it
/// (passthrough), else Opus (transcoding); `None` if neither was offered.
pub fn browser_codec_for(
    offer: &BrowserOffer,
    sip_codec: AudioCodec,
) -> Option<(AudioCodec, OfferedCodec)> {
    let audio = offer.audio();
    audio
        .find(sip_codec)
        .map(|c| (sip_codec, c.clone()))
        .or_else(|| {
            audio
                .find(AudioCodec::Opus)
                .map(|c| (AudioCodec::Opus, c.clone()))
        })
}
