//! What the gateway needs from a browser's WebRTC offer (RFC 8829 JSEP, RFC 8843 BUNDLE).

use super::{
    AudioCodec, Direction, H264ProfileLevelId, RtcpFeedback, SdpError, VideoCodec, direction_of,
    fmtp_param, formats, port_of, unmarshal,
};

/// The kind of an m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaKind {
    /// `m=audio`.
    Audio,
    /// `m=video`.
    Video,
    /// Anything else (`application`, `image`, …), verbatim.
    Other(String),
}

/// A codec listed in a browser m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedCodec {
    /// RTP payload type.
    pub pt: u8,
    /// Encoding name as written (`opus`, `OPUS`, `PCMU`, …).
    pub name: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count (1 when not written).
    pub channels: u16,
    /// The `a=fmtp` parameters, verbatim.
    pub fmtp: Option<String>,
    /// The `a=rtcp-fb` values for this payload type.
    pub rtcp_fb: Vec<String>,
}

impl OfferedCodec {
    /// The gateway codec this is, if any.
    pub fn audio_codec(&self) -> Option<AudioCodec> {
        AudioCodec::from_rtpmap(&self.name, self.clock_rate)
    }

    /// The video codec this is, if the gateway can pass it through.
    pub fn video_codec(&self) -> Option<VideoCodec> {
        VideoCodec::from_format(&self.name, self.clock_rate, self.fmtp.as_deref())
    }
}

/// A video payload format of the browser's offer that the gateway can pass through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedVideoCodec {
    /// Which codec.
    pub codec: VideoCodec,
    /// The browser's payload type for it.
    pub pt: u8,
    /// The browser's `a=fmtp`, verbatim (the WebRTC leg must register H.264 with it, RFC 6184
    /// §8.2.2: the answer keeps the offer's profile and packetization mode).
    pub fmtp: Option<String>,
    /// The H.264 `profile-level-id` (Constrained Baseline at some level); `None` for VP8.
    pub h264_profile: Option<H264ProfileLevelId>,
    /// The feedback the browser offered for it, each once, in offer order.
    pub feedback: Vec<RtcpFeedback>,
    /// The payload type of its `rtx` (RFC 4588, `apt=<pt>`), if offered.
    pub rtx_pt: Option<u8>,
}

/// The browser's first usable video m-line, as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedVideo {
    /// Its position in [`BrowserOffer::media`] (the answer has one m-line per offered one).
    pub index: usize,
    /// `a=mid`.
    pub mid: Option<String>,
    /// Direction (media level, else session level, else sendrecv).
    pub direction: Direction,
    /// The formats the gateway can pass through, in the browser's preference order: VP8, and
    /// H.264 in packetization mode 1 with a Constrained Baseline profile (any level). A codec
    /// may appear more than once (Chromium offers two VP9s, some offer two such H.264s).
    pub codecs: Vec<OfferedVideoCodec>,
}

impl OfferedVideo {
    /// The first offered format that is `codec`.
    pub fn find(&self, codec: VideoCodec) -> Option<&OfferedVideoCodec> {
        self.codecs.iter().find(|c| c.codec == codec)
    }

    fn of(index: usize, media: &OfferedMedia) -> Self {
        let rtx_for = |pt: u8| {
            media.codecs.iter().find_map(|c| {
                let apt = fmtp_param(c.fmtp.as_deref()?, "apt")?.parse::<u8>().ok()?;
                (c.name.eq_ignore_ascii_case("rtx") && apt == pt).then_some(c.pt)
            })
        };
        let codecs = media
            .codecs
            .iter()
            .filter_map(|c| {
                let codec = c.video_codec()?;
                Some(OfferedVideoCodec {
                    codec,
                    pt: c.pt,
                    fmtp: c.fmtp.clone(),
                    h264_profile: (codec == VideoCodec::H264)
                        .then(|| H264ProfileLevelId::of_fmtp(c.fmtp.as_deref().unwrap_or_default()))
                        .flatten(),
                    feedback: RtcpFeedback::parse_all(c.rtcp_fb.iter().map(String::as_str)),
                    rtx_pt: rtx_for(c.pt),
                })
            })
            .collect();
        Self {
            index,
            mid: media.mid.clone(),
            direction: media.direction,
            codecs,
        }
    }
}

/// One m-line of a browser offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedMedia {
    /// Media kind.
    pub kind: MediaKind,
    /// The m-line port (9 for trickle ICE, 0 for rejected or bundle-only).
    pub port: u16,
    /// `a=mid`.
    pub mid: Option<String>,
    /// `a=bundle-only` (RFC 8843 §6).
    pub bundle_only: bool,
    /// Direction (media level, else session level, else sendrecv).
    pub direction: Direction,
    /// Codecs in preference order, telephone-event excluded.
    pub codecs: Vec<OfferedCodec>,
    /// `telephone-event` entries as (payload type, clock rate), in m-line order (RFC 4733).
    pub telephone_events: Vec<(u8, u32)>,
    /// Both `a=ice-ufrag` and `a=ice-pwd` present (media or session level).
    pub has_ice_credentials: bool,
    /// `a=fingerprint` (media or session level), verbatim.
    pub fingerprint: Option<String>,
    /// `a=setup` (media or session level).
    pub setup: Option<String>,
    /// Number of `a=candidate` lines (non-zero for non-trickle offers).
    pub candidates: usize,
}

impl OfferedMedia {
    /// The first offered codec that is `codec`.
    pub fn find(&self, codec: AudioCodec) -> Option<&OfferedCodec> {
        self.codecs.iter().find(|c| c.audio_codec() == Some(codec))
    }
}

/// A parsed browser offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserOffer {
    /// Every m-line, in order.
    pub media: Vec<OfferedMedia>,
    /// The mids of `a=group:BUNDLE` (empty when absent).
    pub bundle: Vec<String>,
    audio: usize,
    video: Option<OfferedVideo>,
}

impl BrowserOffer {
    /// Parses a browser offer; fails if it is not SDP or has no usable audio m-line.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let desc = unmarshal(text)?;
        let session_attr = |key: &str| desc.attribute(key).map(|v| v.trim().to_owned());
        let session_direction = desc
            .attributes
            .iter()
            .find_map(|a| Direction::from_attribute(&a.key));
        let session_ice = desc.has_attribute("ice-ufrag") && desc.has_attribute("ice-pwd");
        let bundle = desc
            .attributes
            .iter()
            .filter(|a| a.key == "group")
            .filter_map(|a| a.value.as_deref())
            .find_map(|v| v.strip_prefix("BUNDLE"))
            .map(|mids| mids.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();

        let mut media = Vec::with_capacity(desc.media_descriptions.len());
        for md in &desc.media_descriptions {
            let kind = match md.media_name.media.as_str() {
                "audio" => MediaKind::Audio,
                "video" => MediaKind::Video,
                other => MediaKind::Other(other.to_owned()),
            };
            let attr = |key: &str| {
                md.attribute(key)
                    .map(|v| v.unwrap_or_default().trim().to_owned())
            };
            let mut codecs = Vec::new();
            let mut telephone_events = Vec::new();
            for f in formats(md) {
                if f.name.eq_ignore_ascii_case("telephone-event") {
                    telephone_events.push((f.pt, f.clock_rate));
                } else {
                    codecs.push(OfferedCodec {
                        pt: f.pt,
                        name: f.name,
                        clock_rate: f.clock_rate,
                        channels: f.channels,
                        fmtp: f.fmtp,
                        rtcp_fb: f.rtcp_fb,
                    });
                }
            }
            media.push(OfferedMedia {
                kind,
                port: port_of(md)?,
                mid: attr("mid"),
                bundle_only: md.has_attribute("bundle-only"),
                direction: direction_of(md).or(session_direction).unwrap_or_default(),
                codecs,
                telephone_events,
                has_ice_credentials: session_ice
                    || (md.has_attribute("ice-ufrag") && md.has_attribute("ice-pwd")),
                fingerprint: attr("fingerprint").or_else(|| session_attr("fingerprint")),
                setup: attr("setup").or_else(|| session_attr("setup")),
                candidates: md
                    .attributes
                    .iter()
                    .filter(|a| a.key == "candidate")
                    .count(),
            });
        }

        if !media.iter().any(|m| m.kind == MediaKind::Audio) {
            return Err(SdpError::NoAudio);
        }
        let audio = media
            .iter()
            .position(|m| m.kind == MediaKind::Audio && (m.port != 0 || m.bundle_only))
            .ok_or(SdpError::AudioRejected)?;
        let video = media
            .iter()
            .position(|m| m.kind == MediaKind::Video && (m.port != 0 || m.bundle_only))
            .map(|i| OfferedVideo::of(i, &media[i]));
        Ok(Self {
            media,
            bundle,
            audio,
            video,
        })
    }

    /// The first usable audio m-line (parse guarantees there is one).
    pub fn audio(&self) -> &OfferedMedia {
        &self.media[self.audio]
    }

    /// Whether the browser offered `codec` on its audio m-line.
    pub fn offers(&self, codec: AudioCodec) -> bool {
        self.audio().find(codec).is_some()
    }

    /// The first video m-line that is not rejected (port 0 without `a=bundle-only`), if any.
    /// Later video m-lines (a second camera, screen sharing) are not bridged.
    pub fn video(&self) -> Option<&OfferedVideo> {
        self.video.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

    /// RFC 3264 §6: port 0 rejects the stream; RFC 8843 §6: bundle-only keeps it.
    #[test]
    fn audio_port_zero() {
        let rejected = format!("{HEAD}m=audio 0 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n");
        assert_eq!(BrowserOffer::parse(&rejected), Err(SdpError::AudioRejected));
        let bundled = format!(
            "{HEAD}m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\n\
             m=audio 0 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\na=bundle-only\r\n"
        );
        let offer = BrowserOffer::parse(&bundled).unwrap();
        assert_eq!(offer.audio().mid.as_deref(), Some("a"));
        assert!(offer.offers(AudioCodec::Pcmu));
    }

    /// An offer without audio cannot be bridged to a phone.
    #[test]
    fn no_audio() {
        let video = format!("{HEAD}m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n");
        assert_eq!(BrowserOffer::parse(&video), Err(SdpError::NoAudio));
        assert!(matches!(
            BrowserOffer::parse("hello"),
            Err(SdpError::Syntax(_))
        ));
        assert!(matches!(BrowserOffer::parse(""), Err(SdpError::Syntax(_))));
    }
}
