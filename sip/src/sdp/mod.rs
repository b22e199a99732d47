//! SDP translation between the WebRTC leg and the plain-RTP SIP leg (RFC 3264, RFC 8866).
//!
//! The browser's SDP is never passed to SIP: [`BrowserOffer`] extracts what the gateway needs
//! from it, [`sip_offer_codecs`] picks what we can offer toward SIP, [`SipSdp`] is the plain
//! `RTP/AVP` SDP we write and the one Asterisk answers with, and [`choose_answer_codec`] /
//! [`browser_codec_for`] decide between passthrough and Opus<->G.711 transcoding.
//!
//! # Video (issue 10)
//!
//! Video is passed through, never transcoded: VP8, and H.264 in packetization mode 1 with a
//! Constrained Baseline `profile-level-id` at any level ([`VideoCodec::from_format`],
//! [`H264ProfileLevelId::is_constrained_baseline`]). [`SipSdp::video`] carries one optional
//! `m=video` line ([`VideoLine`], port 0 when rejected), printed after the audio line.
//!
//! - Outbound: [`BrowserOffer::video`] is the browser's first usable video m-line with the
//!   formats the gateway can pass ([`OfferedVideo`]: mid, direction, payload types, fmtp, RTX,
//!   feedback). [`sip_video_offer`] writes the INVITE's video line from `media.video_codecs`
//!   ([`VideoCodec::DEFAULT_ORDER`]: VP8, H.264) restricted to what the browser offered: VP8
//!   at [`VP8_PT`] (100) and H.264 at [`H264_PT`] (99), Asterisk's own numbers, with
//!   `a=rtcp-fb` `ccm fir` and `nack pli`; H.264 states the browser's level. On the answer,
//!   [`choose_video_answer`] takes the first format of the answer that we offered.
//! - Inbound (and a re-INVITE that adds video): [`sip_video_passthrough`] lists what of
//!   Asterisk's video offer can pass (what the browser should offer video with);
//!   [`plan_inbound_video`] picks the first of them, in Asterisk's order, that the browser
//!   offered; [`VideoLine::answer`] writes our 200's line for it, [`VideoLine::rejected`] the
//!   port-0 line when there is none.
//! - Both give a [`VideoPlan`]: the payload type on each leg (`browser.pt` <-> `sip_pt`, for the
//!   bridge's rewrite), the browser's RTX payload type, the fmtp to register with `rtc` for the
//!   browser's answer (`browser_fmtp`), the feedback to keep toward the browser
//!   ([`RtcpFeedback::TOWARD_BROWSER`]: `transport-cc`, `ccm fir`, `nack`, `nack pli`), how to
//!   ask each leg for a keyframe ([`VideoPlan::sip_keyframe_request`],
//!   [`VideoPlan::browser_keyframe_request`]), and the SIP side's address, RTCP address and
//!   direction.
//! - No video: [`NoVideo`] says why (`NotOffered`, `Rejected`, `NoCommonCodec`, `Unusable`);
//!   the call goes on with audio, the video m-line toward the browser is rejected (port 0)
//!   and the client is told.
//! - Mid-call offers from the SIP side: `ua::sdp_answer` answers a video line iff the offer has
//!   one (RFC 3264 §6): on the call's video port with the codec in use (else the offer's first
//!   codec of ours), or rejected (port 0) when the offer removes video, the call never had a
//!   video port, or no codec is in common. The port is remembered from the last active video
//!   line the application gave, so video removed and added again comes back on it.
//!
//! Not covered here: a second video m-line on either side (only the first is bridged), an SDP
//! whose video m-line comes before its audio one on the SIP side (we always print audio
//! first), and H.264 packetization mode 0.
//!
//! Parsing uses `rtc-sdp` (the SDP layer of the `rtc` stack that also terminates the WebRTC
//! leg), which follows the RFC 8866 line order strictly.

mod browser_offer;
mod codec_choice;
mod sip_sdp;
mod video_choice;
mod video_codec;
mod video_line;

use std::io::Cursor;
use std::net::IpAddr;

pub use browser_offer::{
    BrowserOffer, MediaKind, OfferedCodec, OfferedMedia, OfferedVideo, OfferedVideoCodec,
};
pub use codec_choice::{Negotiated, browser_codec_for, choose_answer_codec, sip_offer_codecs};
pub use sip_sdp::{MediaLine, OPUS_PT, RtpMap, SipSdp, TELEPHONE_EVENT_PT};
pub use video_choice::{
    NoVideo, VideoPlan, choose_video_answer, plan_inbound_video, sip_video_offer,
    sip_video_passthrough,
};
pub use video_codec::{
    H264_FMTP, H264_PT, H264ProfileLevelId, RtcpFeedback, VIDEO_CLOCK_RATE, VP8_PT, VideoCodec,
    fmtp_param, h264_sip_fmtp, with_profile_level_id,
};
use video_line::no_format;
pub use video_line::{VideoFormat, VideoLine};

/// Why an SDP could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The text is not a syntactically valid session description.
    #[error("not a valid session description: {0}")]
    Syntax(String),
    /// There is no audio m-line.
    #[error("no audio m-line")]
    NoAudio,
    /// The audio m-line has port 0 (rejected or disabled, RFC 3264 §6).
    #[error("audio m-line rejected (port 0)")]
    AudioRejected,
    /// No codec both sides can use.
    #[error("no codec in common")]
    NoCommonCodec,
    /// A field has a value we cannot use.
    #[error("invalid {field}: {value:?}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// The offending value.
        value: String,
    },
}

/// An audio codec the gateway can send toward SIP (passthrough or transcoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// Opus (RFC 7587), 48 kHz, 2 channels in SDP.
    Opus,
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
}

impl AudioCodec {
    /// The RTP clock rate in Hz.
    pub fn clock_rate(self) -> u32 {
        match self {
            Self::Opus => 48000,
            Self::Pcmu | Self::Pcma => 8000,
        }
    }

    /// The static payload type (RFC 3551 §6), `None` for dynamic ones.
    pub fn static_pt(self) -> Option<u8> {
        match self {
            Self::Opus => None,
            Self::Pcmu => Some(0),
            Self::Pcma => Some(8),
        }
    }

    /// The encoding name as written in `a=rtpmap`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Self::Opus => "opus",
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
        }
    }

    /// The channel count written in `a=rtpmap` (RFC 7587 §7 requires `/2` for Opus).
    pub fn sdp_channels(self) -> u16 {
        match self {
            Self::Opus => 2,
            Self::Pcmu | Self::Pcma => 1,
        }
    }

    /// Recognises an rtpmap encoding name (case-insensitive, RFC 4855 §3) and clock rate.
    pub fn from_rtpmap(name: &str, clock_rate: u32) -> Option<Self> {
        [Self::Opus, Self::Pcmu, Self::Pcma]
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(name) && c.clock_rate() == clock_rate)
    }
}

/// Media direction attribute (RFC 3264 §5.1); absent means `SendRecv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// `a=sendrecv`.
    #[default]
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    fn from_attribute(key: &str) -> Option<Self> {
        [
            Self::SendRecv,
            Self::SendOnly,
            Self::RecvOnly,
            Self::Inactive,
        ]
        .into_iter()
        .find(|d| d.as_str() == key)
    }
}

/// Encoding name, clock rate and channels of a static payload type used without `a=rtpmap`
/// (RFC 3551 §6, Table 4, audio).
fn static_rtpmap(pt: u8) -> Option<(&'static str, u32, u16)> {
    Some(match pt {
        0 => ("PCMU", 8000, 1),
        3 => ("GSM", 8000, 1),
        4 => ("G723", 8000, 1),
        8 => ("PCMA", 8000, 1),
        9 => ("G722", 8000, 1),
        13 => ("CN", 8000, 1),
        18 => ("G729", 8000, 1),
        _ => return None,
    })
}

/// The same for video (RFC 3551 §6, Table 5).
fn static_video_rtpmap(pt: u8) -> Option<(&'static str, u32, u16)> {
    Some(match pt {
        26 => ("JPEG", 90000, 1),
        31 => ("H261", 90000, 1),
        32 => ("MPV", 90000, 1),
        33 => ("MP2T", 90000, 1),
        34 => ("H263", 90000, 1),
        _ => return None,
    })
}

/// One payload type of an m-line, assembled from the format list and its attributes.
struct Format {
    pt: u8,
    name: String,
    clock_rate: u32,
    channels: u16,
    fmtp: Option<String>,
    rtcp_fb: Vec<String>,
}

/// The payload types of `md` in m-line order; formats without a usable rtpmap are skipped.
fn formats(md: &::sdp::MediaDescription) -> Vec<Format> {
    let static_table = match md.media_name.media.as_str() {
        "video" => static_video_rtpmap,
        _ => static_rtpmap,
    };
    let mut out = Vec::new();
    for f in &md.media_name.formats {
        let Ok(pt) = f.parse::<u8>() else { continue };
        let rtpmap = attr_for_pt(md, "rtpmap", pt).next();
        let (name, clock_rate, channels) = match rtpmap {
            Some(v) => {
                let mut parts = v.split('/');
                let name = parts.next().unwrap_or_default().trim().to_owned();
                let Some(Ok(rate)) = parts.next().map(|r| r.trim().parse::<u32>()) else {
                    continue;
                };
                let channels = match parts.next() {
                    Some(c) => match c.trim().parse::<u16>() {
                        Ok(c) => c,
                        Err(_) => continue,
                    },
                    None => 1,
                };
                (name, rate, channels)
            }
            None => match static_table(pt) {
                Some((n, r, c)) => (n.to_owned(), r, c),
                None => continue,
            },
        };
        if name.is_empty() {
            continue;
        }
        out.push(Format {
            pt,
            name,
            clock_rate,
            channels,
            fmtp: attr_for_pt(md, "fmtp", pt).next().map(str::to_owned),
            rtcp_fb: attr_for_pt(md, "rtcp-fb", pt).map(str::to_owned).collect(),
        });
    }
    out
}

/// Values of `a=<key>:<pt> <value>` attributes for one payload type.
fn attr_for_pt<'a>(
    md: &'a ::sdp::MediaDescription,
    key: &'a str,
    pt: u8,
) -> impl Iterator<Item = &'a str> + 'a {
    md.attributes.iter().filter_map(move |a| {
        if a.key != key {
            return None;
        }
        let v = a.value.as_deref()?.trim_start();
        let (p, rest) = v.split_once(char::is_whitespace)?;
        (p.parse::<u8>().ok()? == pt).then_some(rest.trim())
    })
}

/// The direction attribute of `md`, if any.
fn direction_of(md: &::sdp::MediaDescription) -> Option<Direction> {
    md.attributes
        .iter()
        .find_map(|a| Direction::from_attribute(&a.key))
}

/// Parses SDP text with rtc-sdp.
fn unmarshal(text: &str) -> Result<::sdp::SessionDescription, SdpError> {
    if !text.trim_start().starts_with("v=") {
        return Err(SdpError::Syntax("does not start with v=".to_owned()));
    }
    ::sdp::SessionDescription::unmarshal(&mut Cursor::new(text.trim_start().as_bytes()))
        .map_err(|e| SdpError::Syntax(e.to_string()))
}

/// A `c=` address; multicast ones carry "/ttl", the unicast part is all we need.
fn parse_addr(text: &str) -> Result<IpAddr, SdpError> {
    let host = text.split('/').next().unwrap_or_default();
    host.parse::<IpAddr>().map_err(|_| SdpError::Invalid {
        field: "c= address",
        value: text.to_owned(),
    })
}

/// The media port as u16 (rtc-sdp stores an isize).
fn port_of(md: &::sdp::MediaDescription) -> Result<u16, SdpError> {
    u16::try_from(md.media_name.port.value).map_err(|_| SdpError::Invalid {
        field: "m= port",
        value: md.media_name.port.value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4855 §3: encoding names are case-insensitive; the clock rate must match.
    #[test]
    fn codec_from_rtpmap() {
        assert_eq!(
            AudioCodec::from_rtpmap("OPUS", 48000),
            Some(AudioCodec::Opus)
        );
        assert_eq!(
            AudioCodec::from_rtpmap("pcmu", 8000),
            Some(AudioCodec::Pcmu)
        );
        assert_eq!(
            AudioCodec::from_rtpmap("PCMA", 8000),
            Some(AudioCodec::Pcma)
        );
        assert_eq!(AudioCodec::from_rtpmap("opus", 8000), None);
        assert_eq!(AudioCodec::from_rtpmap("G722", 8000), None);
    }

    /// RFC 3551 §6: a static payload type may appear without an rtpmap.
    #[test]
    fn static_payload_without_rtpmap() {
        let sdp = unmarshal(
            "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 0 96 x\r\n",
        )
        .unwrap();
        let f = formats(&sdp.media_descriptions[0]);
        let got: Vec<(u8, &str)> = f.iter().map(|f| (f.pt, f.name.as_str())).collect();
        assert_eq!(got, vec![(8, "PCMA"), (0, "PCMU")]);
    }
}
