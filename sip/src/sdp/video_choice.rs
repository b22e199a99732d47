//! Video codec choice across the two legs. There is no video transcoding: a video stream
//! flows only when both sides have the same codec, and the gateway rewrites payload types,
//! SSRCs and sequence numbers (RFC 3264 §6.1 for the offer/answer rules).

use std::net::{IpAddr, SocketAddr};

use super::{
    BrowserOffer, Direction, H264ProfileLevelId, OfferedVideoCodec, RtcpFeedback, SipSdp,
    VideoCodec, VideoFormat, VideoLine, fmtp_param, with_profile_level_id,
};

/// Why a call goes on without video; the caller rejects the video m-line (port 0) of the leg
/// that offered it and tells the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoVideo {
    /// The offer has no usable video m-line (none, or port 0): an audio call.
    #[error("no video offered")]
    NotOffered,
    /// The other side turned video down: port 0 or no video m-line in the SIP answer, or (for
    /// an inbound call) no video in the browser's offer.
    #[error("video rejected")]
    Rejected,
    /// No codec both sides offered (VP8, H.264 mode 1 Constrained Baseline).
    #[error("no video codec in common")]
    NoCommonCodec,
    /// The SIP video line cannot be used as written (port 65535 without `a=rtcp`).
    #[error("unusable video m-line")]
    Unusable,
}

/// How one video stream crosses the gateway: the same codec on both legs, at each leg's
/// payload type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoPlan {
    /// The codec, the same on both legs.
    pub codec: VideoCodec,
    /// The browser's format for it as offered: payload type, fmtp, RTX payload type, feedback.
    pub browser: OfferedVideoCodec,
    /// The fmtp for the WebRTC answer (and the codec registered with `rtc`): the browser's,
    /// with, for H.264, the level the SIP side receives (the SIP format's level under
    /// `level-asymmetry-allowed=1`, else the lower of the two; RFC 6184 §8.2.2). The profile
    /// and packetization mode stay the browser's, as an answer must keep them.
    pub browser_fmtp: Option<String>,
    /// The feedback to keep in the answer to the browser: what it offered among
    /// [`RtcpFeedback::TOWARD_BROWSER`].
    pub browser_feedback: Vec<RtcpFeedback>,
    /// The payload type on the SIP leg.
    pub sip_pt: u8,
    /// The SIP side's fmtp for `sip_pt`.
    pub sip_fmtp: Option<String>,
    /// The feedback the SIP side listed for `sip_pt` (often none on plain `RTP/AVP`).
    pub sip_feedback: Vec<RtcpFeedback>,
    /// Where to send video RTP.
    pub remote_addr: SocketAddr,
    /// Where to send video RTCP (`a=rtcp`, else RTP port + 1; RFC 3605, RFC 3550 §11).
    pub remote_rtcp: SocketAddr,
    /// The SIP side's direction; `c=0.0.0.0` (legacy hold, RFC 3264 §8.4) removes its receive
    /// side.
    pub direction: Direction,
}

impl VideoPlan {
    /// How to ask the SIP side for a keyframe when the browser asks the gateway for one (PLI or
    /// FIR): PLI if the SIP side listed `nack pli`, else FIR (RFC 5104 §3.5.1), which Asterisk
    /// accepts and sends itself.
    pub fn sip_keyframe_request(&self) -> RtcpFeedback {
        if self.sip_feedback.contains(&RtcpFeedback::NackPli) {
            RtcpFeedback::NackPli
        } else {
            RtcpFeedback::CcmFir
        }
    }

    /// How to ask the browser for a keyframe when the SIP side asks for one: FIR if only that
    /// was negotiated, else PLI (every browser offers it).
    pub fn browser_keyframe_request(&self) -> RtcpFeedback {
        let has = |f| self.browser_feedback.contains(&f);
        if has(RtcpFeedback::CcmFir) && !has(RtcpFeedback::NackPli) {
            RtcpFeedback::CcmFir
        } else {
            RtcpFeedback::NackPli
        }
    }
}

/// Outbound: the video m-line of our SIP offer, `order` (`media.video_codecs`) filtered to the
/// codecs the browser offered, at [`VideoCodec::sip_pt`], with the browser's direction.
pub fn sip_video_offer(
    offer: &BrowserOffer,
    order: &[VideoCodec],
    port: u16,
) -> Result<VideoLine, NoVideo> {
    let video = offer.video().ok_or(NoVideo::NotOffered)?;
    let mut formats: Vec<VideoFormat> = Vec::with_capacity(order.len());
    for &c in order {
        if let Some(b) = video.find(c)
            && !formats.iter().any(|f| f.pt == c.sip_pt())
        {
            formats.push(VideoFormat::for_browser(b, c.sip_pt()));
        }
    }
    if formats.is_empty() {
        return Err(NoVideo::NoCommonCodec);
    }
    Ok(VideoLine {
        port,
        formats,
        direction: video.direction,
        rtcp_port: None,
        addr: None,
    })
}

/// Outbound: the video codec of the call from the SIP answer, the first format in the answer's
/// order that is a codec we `offered`, mapped to the browser's format for it.
pub fn choose_video_answer(
    offer: &BrowserOffer,
    answer: &SipSdp,
    offered: &[VideoCodec],
) -> Result<VideoPlan, NoVideo> {
    let browser = offer.video().ok_or(NoVideo::NotOffered)?;
    let line = answer
        .video
        .as_ref()
        .filter(|v| v.is_active())
        .ok_or(NoVideo::Rejected)?;
    line.formats
        .iter()
        .find_map(|f| {
            let codec = f.video_codec().filter(|c| offered.contains(c))?;
            let b = browser.find(codec)?;
            Some((codec, f, b))
        })
        .ok_or(NoVideo::NoCommonCodec)
        .and_then(|(codec, f, b)| plan(codec, b, f, line, answer.addr))
}

/// Inbound: the codecs of the SIP side's video offer the gateway can pass through, in its
/// order; what the browser should offer video with. Empty when there is no active video line.
pub fn sip_video_passthrough(sip_offer: &SipSdp) -> Vec<VideoCodec> {
    sip_offer
        .video
        .as_ref()
        .filter(|v| v.is_active())
        .map(|v| v.video_codecs().into_iter().map(|(c, _)| c).collect())
        .unwrap_or_default()
}

/// Inbound (and a re-INVITE that adds video): the first codec in the SIP offer's order that
/// the browser offered too, at the SIP offer's payload type. Answer it with
/// [`VideoLine::answer`], or reject it with [`VideoLine::rejected`] on `Err`.
pub fn plan_inbound_video(sip_offer: &SipSdp, offer: &BrowserOffer) -> Result<VideoPlan, NoVideo> {
    let line = sip_offer
        .video
        .as_ref()
        .filter(|v| v.is_active())
        .ok_or(NoVideo::NotOffered)?;
    let browser = offer.video().ok_or(NoVideo::Rejected)?;
    line.formats
        .iter()
        .find_map(|f| {
            let codec = f.video_codec()?;
            Some((codec, f, browser.find(codec)?))
        })
        .ok_or(NoVideo::NoCommonCodec)
        .and_then(|(codec, f, b)| plan(codec, b, f, line, sip_offer.addr))
}

fn plan(
    codec: VideoCodec,
    browser: &OfferedVideoCodec,
    sip: &VideoFormat,
    line: &VideoLine,
    session_addr: IpAddr,
) -> Result<VideoPlan, NoVideo> {
    let addr = line.addr.unwrap_or(session_addr);
    let rtcp_port = match line.rtcp_port {
        Some(p) => p,
        None => line.port.checked_add(1).ok_or(NoVideo::Unusable)?,
    };
    let direction = if addr.is_unspecified() {
        match line.direction {
            Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
            Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
        }
    } else {
        line.direction
    };
    Ok(VideoPlan {
        codec,
        browser_fmtp: browser_fmtp(browser, sip.fmtp.as_deref()),
        browser_feedback: RtcpFeedback::TOWARD_BROWSER
            .into_iter()
            .filter(|f| browser.feedback.contains(f))
            .collect(),
        browser: browser.clone(),
        sip_pt: sip.pt,
        sip_fmtp: sip.fmtp.clone(),
        sip_feedback: sip.feedback(),
        remote_addr: SocketAddr::new(addr, line.port),
        remote_rtcp: SocketAddr::new(addr, rtcp_port),
        direction,
    })
}

/// See [`VideoPlan::browser_fmtp`].
fn browser_fmtp(browser: &OfferedVideoCodec, sip_fmtp: Option<&str>) -> Option<String> {
    let (Some(ours), Some(fmtp)) = (browser.h264_profile, browser.fmtp.as_deref()) else {
        return browser.fmtp.clone();
    };
    let Some(theirs) = H264ProfileLevelId::of_fmtp(sip_fmtp.unwrap_or_default()) else {
        return browser.fmtp.clone();
    };
    let asymmetry = fmtp_param(fmtp, "level-asymmetry-allowed") == Some("1");
    let level_idc = if asymmetry {
        theirs.level_idc
    } else {
        theirs.level_idc.min(ours.level_idc)
    };
    Some(with_profile_level_id(
        fmtp,
        H264ProfileLevelId { level_idc, ..ours },
    ))
}

/// The direction of an answer to an `offered` one when we `want` a direction ourselves
/// (RFC 3264 §6.1).
pub(super) fn answer_direction(offered: Direction, want: Direction) -> Direction {
    let sends = |d: Direction| matches!(d, Direction::SendRecv | Direction::SendOnly);
    let recvs = |d: Direction| matches!(d, Direction::SendRecv | Direction::RecvOnly);
    match (recvs(offered) && sends(want), sends(offered) && recvs(want)) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3264 §6.1: each offered direction and what we want give the answer's direction.
    #[test]
    fn answer_directions() {
        use Direction::*;
        for (offered, want, expected) in [
            (SendRecv, SendRecv, SendRecv),
            (SendRecv, RecvOnly, RecvOnly),
            (SendRecv, SendOnly, SendOnly),
            (SendOnly, SendRecv, RecvOnly),
            (RecvOnly, SendRecv, SendOnly),
            (SendOnly, SendOnly, Inactive),
            (Inactive, SendRecv, Inactive),
            (SendRecv, Inactive, Inactive),
        ] {
            assert_eq!(
                answer_direction(offered, want),
                expected,
                "{offered:?} {want:?}"
            );
        }
    }
}
