//! The video m-line of the SIP leg (`m=video <port> RTP/AVP <pts>`): written from typed data,
//! parsed from Asterisk (RFC 8866, RFC 3264, RFC 4585 `a=rtcp-fb`).

use std::fmt;
use std::net::IpAddr;

use super::video_choice::answer_direction;
use super::{
    Direction, H264ProfileLevelId, OfferedVideoCodec, RtcpFeedback, SdpError, VIDEO_CLOCK_RATE,
    VideoCodec, VideoPlan, direction_of, fmtp_param, formats, h264_sip_fmtp, parse_addr, port_of,
};

/// One payload format of a video m-line, with its `a=fmtp` and `a=rtcp-fb` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFormat {
    /// RTP payload type.
    pub pt: u8,
    /// Encoding name.
    pub name: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Format parameters (never empty).
    pub fmtp: Option<String>,
    /// `a=rtcp-fb` values for this payload type, verbatim, in order (`a=rtcp-fb:*` lines are
    /// applied to every format); see [`VideoFormat::feedback`] for the typed ones.
    pub rtcp_fb: Vec<String>,
}

impl VideoFormat {
    /// The entry we write toward SIP for `codec` at `pt`: its fmtp and
    /// [`RtcpFeedback::TOWARD_SIP`].
    pub fn for_codec(codec: VideoCodec, pt: u8) -> Self {
        Self {
            pt,
            name: codec.encoding_name().to_owned(),
            clock_rate: VIDEO_CLOCK_RATE,
            fmtp: codec.sip_fmtp().map(str::to_owned),
            rtcp_fb: RtcpFeedback::TOWARD_SIP
                .iter()
                .map(|f| f.as_str().to_owned())
                .collect(),
        }
    }

    /// The entry we write toward SIP for the browser's format `b` at `pt`: like
    /// [`VideoFormat::for_codec`], H.264 at the level the browser receives.
    pub fn for_browser(b: &OfferedVideoCodec, pt: u8) -> Self {
        let mut format = Self::for_codec(b.codec, pt);
        if let Some(p) = b.h264_profile {
            format.fmtp = Some(h264_sip_fmtp(p.level_idc));
        }
        format
    }

    /// The gateway codec this is, if it can be passed through.
    pub fn video_codec(&self) -> Option<VideoCodec> {
        VideoCodec::from_format(&self.name, self.clock_rate, self.fmtp.as_deref())
    }

    /// The feedback values the gateway knows among [`VideoFormat::rtcp_fb`].
    pub fn feedback(&self) -> Vec<RtcpFeedback> {
        RtcpFeedback::parse_all(self.rtcp_fb.iter().map(String::as_str))
    }
}

/// The video m-line of a SIP-side SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoLine {
    /// RTP port (0 = rejected or removed, RFC 3264 §6, §8.2).
    pub port: u16,
    /// Payload formats in preference order, each payload type once. Never empty in a parsed
    /// line; a line built empty prints as rejected with the static H.263 payload type 34.
    pub formats: Vec<VideoFormat>,
    /// Media direction.
    pub direction: Direction,
    /// `a=rtcp` port (RFC 3605), when not RTP port + 1.
    pub rtcp_port: Option<u16>,
    /// A media-level `c=` address that differs from [`super::SipSdp::addr`] (RFC 8866 §5.7).
    pub addr: Option<IpAddr>,
}

impl VideoLine {
    /// Our offer toward SIP: `codecs` in order at [`VideoCodec::sip_pt`], each with its fmtp
    /// and `ccm fir` / `nack pli`.
    pub fn offer(port: u16, codecs: &[VideoCodec], direction: Direction) -> Self {
        let mut formats: Vec<VideoFormat> = Vec::with_capacity(codecs.len());
        for &c in codecs {
            if !formats.iter().any(|f| f.pt == c.sip_pt()) {
                formats.push(VideoFormat::for_codec(c, c.sip_pt()));
            }
        }
        Self {
            port,
            formats,
            direction,
            rtcp_port: None,
            addr: None,
        }
    }

    /// Our answer to the SIP side's video offer with `plan` (from
    /// [`super::plan_inbound_video`]): the chosen codec alone at the offer's payload type with
    /// our fmtp and feedback, in the direction RFC 3264 §6.1 gives the offer's and the
    /// browser's.
    /// The feedback is what we support among what the offer listed for the format: an answer
    /// does not add feedback the offerer did not offer (RFC 4585 §4.2).
    /// For H.264 the answer keeps the offer's profile and answers a level the offer allows: the
    /// lower of the offer's and the browser's, unless the offer has `level-asymmetry-allowed=1`
    /// (RFC 6184 §8.2.2).
    pub fn answer(port: u16, plan: &VideoPlan, browser_direction: Direction) -> Self {
        let mut format = VideoFormat::for_browser(&plan.browser, plan.sip_pt);
        if let (Some(ours), Some(offered)) = (
            plan.browser.h264_profile,
            plan.sip_fmtp
                .as_deref()
                .and_then(H264ProfileLevelId::of_fmtp),
        ) {
            let asymmetry = plan
                .sip_fmtp
                .as_deref()
                .and_then(|f| fmtp_param(f, "level-asymmetry-allowed"))
                == Some("1");
            let level_idc = if asymmetry {
                ours.level_idc
            } else {
                ours.level_idc.min(offered.level_idc)
            };
            format.fmtp = Some(format!(
                "packetization-mode=1;profile-level-id={}",
                H264ProfileLevelId {
                    level_idc,
                    ..offered
                }
            ));
        }
        format
            .rtcp_fb
            .retain(|fb| RtcpFeedback::parse(fb).is_some_and(|f| plan.sip_feedback.contains(&f)));
        Self {
            port,
            formats: vec![format],
            direction: answer_direction(plan.direction, browser_direction),
            rtcp_port: None,
            addr: None,
        }
    }

    /// The answer that rejects `offered` (RFC 3264 §6: port 0, the formats still listed, as
    /// SDP requires at least one).
    pub fn rejected(offered: &VideoLine) -> Self {
        Self {
            port: 0,
            formats: offered
                .formats
                .iter()
                .map(|f| VideoFormat {
                    pt: f.pt,
                    name: f.name.clone(),
                    clock_rate: f.clock_rate,
                    fmtp: None,
                    rtcp_fb: Vec::new(),
                })
                .collect(),
            direction: Direction::Inactive,
            rtcp_port: None,
            addr: None,
        }
    }

    /// Whether the stream is in use (port not 0).
    pub fn is_active(&self) -> bool {
        self.port != 0
    }

    /// The codecs of this line the gateway can pass through, each once, in line order, with
    /// their payload types.
    pub fn video_codecs(&self) -> Vec<(VideoCodec, u8)> {
        let mut out: Vec<(VideoCodec, u8)> = Vec::new();
        for f in &self.formats {
            if let Some(c) = f.video_codec()
                && !out.iter().any(|(seen, _)| *seen == c)
            {
                out.push((c, f.pt));
            }
        }
        out
    }

    /// Reads the first video m-line. `sdp_addr` is [`super::SipSdp::addr`] (the audio line's
    /// address), `session_conn` the session-level `c=` if any: the video line's own `c=`, else
    /// the session's, is kept apart when it differs from `sdp_addr` (RFC 8866 §5.7).
    pub(super) fn parse(
        md: &::sdp::MediaDescription,
        session_direction: Option<Direction>,
        sdp_addr: IpAddr,
        session_conn: Option<&str>,
    ) -> Result<Self, SdpError> {
        let mut out: Vec<VideoFormat> = Vec::new();
        for f in formats(md) {
            // A payload type listed twice is one format (RFC 8866 §5.14).
            if out.iter().any(|seen| seen.pt == f.pt) {
                continue;
            }
            let mut rtcp_fb = Vec::new();
            for a in md.attributes.iter().filter(|a| a.key == "rtcp-fb") {
                let Some((pt, value)) = a
                    .value
                    .as_deref()
                    .and_then(|v| v.trim().split_once(char::is_whitespace))
                else {
                    continue;
                };
                let value = value.trim();
                let applies = pt == "*" || pt.parse::<u8>().is_ok_and(|p| p == f.pt);
                if applies && !value.is_empty() {
                    rtcp_fb.push(value.to_owned());
                }
            }
            out.push(VideoFormat {
                pt: f.pt,
                name: f.name,
                clock_rate: f.clock_rate,
                fmtp: f.fmtp.filter(|v| !v.is_empty()),
                rtcp_fb,
            });
        }
        if out.is_empty() {
            // A declined stream (RFC 3264 §6) lists the offer's payload types and nothing else:
            // Asterisk answers `m=video 0 RTP/AVP 99` with no `a=rtpmap`. Its formats mean
            // nothing, so the first one is kept, unnamed, just to print the line again.
            let first = md
                .media_name
                .formats
                .iter()
                .find_map(|f| f.parse::<u8>().ok());
            match (port_of(md)?, first) {
                (0, Some(pt)) if pt < 128 => out.push(VideoFormat {
                    pt,
                    name: String::new(),
                    clock_rate: 90_000,
                    fmtp: None,
                    rtcp_fb: Vec::new(),
                }),
                _ => return Err(no_format(md)),
            }
        }
        let conn = md
            .connection_information
            .as_ref()
            .and_then(|c| c.address.as_ref())
            .map(|a| a.address.as_str())
            .or(session_conn);
        let addr = match conn {
            Some(a) => Some(parse_addr(a)?).filter(|a| *a != sdp_addr),
            None => None,
        };
        let value = |key: &str| md.attribute(key).flatten().map(str::trim);
        Ok(Self {
            port: port_of(md)?,
            formats: out,
            direction: direction_of(md).or(session_direction).unwrap_or_default(),
            rtcp_port: value("rtcp")
                .and_then(|v| v.split_whitespace().next())
                .and_then(|p| p.parse().ok()),
            addr,
        })
    }

    /// Writes the m-line and its attributes (RFC 8866 §5: `c=` before `a=`).
    pub(super) fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.formats.is_empty() {
            // Unreachable from parse; a line without formats cannot carry media.
            return write!(f, "m=video 0 RTP/AVP 34\r\na=inactive\r\n");
        }
        write!(f, "m=video {} RTP/AVP", self.port)?;
        for v in &self.formats {
            write!(f, " {}", v.pt)?;
        }
        write!(f, "\r\n")?;
        if let Some(addr) = self.addr {
            let ip = match addr {
                IpAddr::V4(_) => "IP4",
                IpAddr::V6(_) => "IP6",
            };
            write!(f, "c=IN {ip} {addr}\r\n")?;
        }
        for v in &self.formats {
            // An unnamed format is one of a declined line's (see `parse`): no rtpmap to write.
            if v.name.is_empty() {
                continue;
            }
            write!(f, "a=rtpmap:{} {}/{}\r\n", v.pt, v.name, v.clock_rate)?;
            if let Some(fmtp) = &v.fmtp {
                write!(f, "a=fmtp:{} {fmtp}\r\n", v.pt)?;
            }
            for fb in &v.rtcp_fb {
                write!(f, "a=rtcp-fb:{} {fb}\r\n", v.pt)?;
            }
        }
        if let Some(rtcp) = self.rtcp_port {
            write!(f, "a=rtcp:{rtcp}\r\n")?;
        }
        write!(f, "a={}\r\n", self.direction.as_str())
    }
}

/// The error for an m-line none of whose formats can be read: RFC 8866 §5.14 requires one, and
/// a dynamic payload type means nothing without an `a=rtpmap` with a clock rate (§6.6).
pub(super) fn no_format(md: &::sdp::MediaDescription) -> SdpError {
    SdpError::Invalid {
        field: "m= formats",
        value: md.media_name.formats.join(" "),
    }
}
