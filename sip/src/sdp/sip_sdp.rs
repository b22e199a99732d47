//! The plain `RTP/AVP` SDP of the SIP leg: written from typed data, parsed from Asterisk
//! (RFC 8866 syntax, RFC 3264 offer/answer, RFC 3551 payload types).

use std::fmt;
use std::net::IpAddr;

use super::{
    AudioCodec, Direction, SdpError, VideoLine, direction_of, formats, no_format, parse_addr,
    port_of, unmarshal,
};

/// Dynamic payload type we give Opus in offers toward SIP (the one Asterisk echoes back).
pub const OPUS_PT: u8 = 107;
/// Payload type we give telephone-event/8000 in offers toward SIP.
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// One `a=rtpmap` entry (with its `a=fmtp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// RTP payload type.
    pub pt: u8,
    /// Encoding name.
    pub name: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channels (written only when not 1).
    pub channels: u16,
    /// Format parameters.
    pub fmtp: Option<String>,
}

impl RtpMap {
    /// The entry we write for `codec` at `pt` (Opus gets `useinbandfec=1`, RFC 7587 §6.1).
    pub fn for_codec(codec: AudioCodec, pt: u8) -> Self {
        Self {
            pt,
            name: codec.encoding_name().to_owned(),
            clock_rate: codec.clock_rate(),
            channels: codec.sdp_channels(),
            fmtp: (codec == AudioCodec::Opus).then(|| "useinbandfec=1".to_owned()),
        }
    }

    /// The gateway codec this entry is, if any.
    pub fn audio_codec(&self) -> Option<AudioCodec> {
        AudioCodec::from_rtpmap(&self.name, self.clock_rate)
    }
}

/// The audio m-line of a SIP-side SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine {
    /// RTP port (0 = rejected).
    pub port: u16,
    /// Codecs in preference order (telephone-event excluded). This and `telephone_events` are
    /// never both empty in a parsed line; a line built so prints as rejected (`m=audio 0
    /// RTP/AVP 0`), since an m-line needs a format (RFC 8866 §5.14).
    pub codecs: Vec<RtpMap>,
    /// telephone-event entries as (payload type, clock rate) (RFC 4733 §7.1.1); Asterisk offers
    /// both 8000 and 48000.
    pub telephone_events: Vec<(u8, u32)>,
    /// Media direction.
    pub direction: Direction,
    /// `a=ptime` in ms.
    pub ptime: Option<u32>,
    /// `a=rtcp` port (RFC 3605), when not RTP port + 1.
    pub rtcp_port: Option<u16>,
}

impl MediaLine {
    /// Our offer toward SIP: `codecs` in order at their static PTs (Opus at [`OPUS_PT`]),
    /// telephone-event at [`TELEPHONE_EVENT_PT`]/8000, ptime 20, sendrecv.
    pub fn offer(port: u16, codecs: &[AudioCodec]) -> Self {
        Self {
            port,
            codecs: codecs
                .iter()
                .map(|&c| RtpMap::for_codec(c, c.static_pt().unwrap_or(OPUS_PT)))
                .collect(),
            telephone_events: vec![(TELEPHONE_EVENT_PT, 8000)],
            direction: Direction::SendRecv,
            ptime: Some(20),
            rtcp_port: None,
        }
    }
}

/// A SIP-side session description with at most one audio and one video stream (printed in
/// that order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipSdp {
    /// `o=` session id.
    pub session_id: u64,
    /// `o=` session version (incremented on every change, RFC 3264 §8).
    pub session_version: u64,
    /// `o=` username (`-` when empty).
    pub origin_user: String,
    /// Connection address (media-level `c=`, else session-level; `0.0.0.0` is legacy hold).
    pub addr: IpAddr,
    /// The first audio m-line, if any.
    pub audio: Option<MediaLine>,
    /// The first video m-line, if any (port 0 when rejected or removed).
    pub video: Option<VideoLine>,
}

impl SipSdp {
    /// Parses a SIP-side SDP (an answer or an offer from Asterisk).
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let desc = unmarshal(text)?;
        let md = desc
            .media_descriptions
            .iter()
            .find(|m| m.media_name.media == "audio");
        let conn = md
            .and_then(|m| m.connection_information.as_ref())
            .or(desc.connection_information.as_ref())
            .and_then(|c| c.address.as_ref())
            .map(|a| a.address.as_str());
        let addr_text = match (conn, md) {
            (Some(a), _) => a,
            // Without media the address only identifies the session (RFC 8866 §5.2).
            (None, None) => desc.origin.unicast_address.as_str(),
            (None, Some(_)) => {
                return Err(SdpError::Invalid {
                    field: "c=",
                    value: String::new(),
                });
            }
        };
        let addr = parse_addr(addr_text)?;
        let session_direction = desc
            .attributes
            .iter()
            .find_map(|a| Direction::from_attribute(&a.key));

        let audio = match md {
            None => None,
            Some(md) => {
                let mut codecs = Vec::new();
                let mut telephone_events = Vec::new();
                for f in formats(md) {
                    if f.name.eq_ignore_ascii_case("telephone-event") {
                        telephone_events.push((f.pt, f.clock_rate));
                    } else {
                        codecs.push(RtpMap {
                            pt: f.pt,
                            name: f.name,
                            clock_rate: f.clock_rate,
                            channels: f.channels,
                            fmtp: f.fmtp,
                        });
                    }
                }
                if codecs.is_empty() && telephone_events.is_empty() {
                    return Err(no_format(md));
                }
                let value = |key: &str| md.attribute(key).flatten().map(str::trim);
                Some(MediaLine {
                    port: port_of(md)?,
                    codecs,
                    telephone_events,
                    direction: direction_of(md).or(session_direction).unwrap_or_default(),
                    ptime: value("ptime").and_then(|v| v.parse().ok()),
                    rtcp_port: value("rtcp")
                        .and_then(|v| v.split_whitespace().next())
                        .and_then(|p| p.parse().ok()),
                })
            }
        };
        let session_conn = desc
            .connection_information
            .as_ref()
            .and_then(|c| c.address.as_ref())
            .map(|a| a.address.as_str());
        let video = desc
            .media_descriptions
            .iter()
            .find(|m| m.media_name.media == "video")
            .map(|md| VideoLine::parse(md, session_direction, addr, session_conn))
            .transpose()?;
        Ok(Self {
            session_id: desc.origin.session_id,
            session_version: desc.origin.session_version,
            origin_user: desc.origin.username,
            addr,
            audio,
            video,
        })
    }
}

/// Writes the SDP with CRLF line endings (RFC 8866 §5).
impl fmt::Display for SipSdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = match self.addr {
            IpAddr::V4(_) => "IP4",
            IpAddr::V6(_) => "IP6",
        };
        let user = if self.origin_user.is_empty() || self.origin_user.contains(char::is_whitespace)
        {
            "-"
        } else {
            self.origin_user.as_str()
        };
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o={user} {} {} IN {ip} {}\r\n",
            self.session_id, self.session_version, self.addr
        )?;
        write!(f, "s=-\r\nc=IN {ip} {}\r\nt=0 0\r\n", self.addr)?;
        if let Some(m) = &self.audio {
            write_audio(m, f)?;
        }
        match &self.video {
            Some(v) => v.write(f),
            None => Ok(()),
        }
    }
}

/// Writes the audio m-line and its attributes.
fn write_audio(m: &MediaLine, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if m.codecs.is_empty() && m.telephone_events.is_empty() {
        // Unreachable from parse; a line without formats cannot carry media.
        return write!(f, "m=audio 0 RTP/AVP 0\r\na=inactive\r\n");
    }
    write!(f, "m=audio {} RTP/AVP", m.port)?;
    for pt in m
        .codecs
        .iter()
        .map(|c| c.pt)
        .chain(m.telephone_events.iter().map(|t| t.0))
    {
        write!(f, " {pt}")?;
    }
    write!(f, "\r\n")?;
    for c in &m.codecs {
        write!(f, "a=rtpmap:{} {}/{}", c.pt, c.name, c.clock_rate)?;
        if c.channels != 1 {
            write!(f, "/{}", c.channels)?;
        }
        write!(f, "\r\n")?;
        if let Some(fmtp) = &c.fmtp {
            write!(f, "a=fmtp:{} {fmtp}\r\n", c.pt)?;
        }
    }
    for (pt, rate) in &m.telephone_events {
        write!(
            f,
            "a=rtpmap:{pt} telephone-event/{rate}\r\na=fmtp:{pt} 0-16\r\n"
        )?;
    }
    if let Some(ptime) = m.ptime {
        write!(f, "a=ptime:{ptime}\r\n")?;
    }
    if let Some(rtcp) = m.rtcp_port {
        write!(f, "a=rtcp:{rtcp}\r\n")?;
    }
    write!(f, "a={}\r\n", m.direction.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::VideoFormat;
    use proptest::prelude::*;

    /// The offer we send matches the one the captures show Asterisk accepting
    /// (outbound-600-multi-01, fmtp reduced to useinbandfec=1; RFC 7587 §7).
    #[test]
    fn writes_plain_rtp_avp_offer() {
        let sdp = SipSdp {
            session_id: 53655765,
            session_version: 2353687637,
            origin_user: "gwtest".into(),
            addr: "127.0.0.1".parse().unwrap(),
            audio: Some(MediaLine::offer(
                6000,
                &[AudioCodec::Opus, AudioCodec::Pcma, AudioCodec::Pcmu],
            )),
            video: None,
        };
        let expected = "v=0\r\no=gwtest 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
            c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 107 8 0 101\r\n\
            a=rtpmap:107 opus/48000/2\r\na=fmtp:107 useinbandfec=1\r\na=rtpmap:8 PCMA/8000\r\n\
            a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n\
            a=ptime:20\r\na=sendrecv\r\n";
        assert_eq!(sdp.to_string(), expected);
    }

    /// RFC 8866 §5.7: c= at media level overrides the session level; a=rtcp (RFC 3605).
    #[test]
    fn media_level_connection_and_rtcp() {
        let text = "v=0\r\no=- 1 2 IN IP6 ::1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
            m=audio 7000 RTP/AVP 0\r\nc=IN IP6 2001:db8::5\r\na=rtcp:7003\r\na=inactive\r\n";
        let sdp = SipSdp::parse(text).unwrap();
        assert_eq!(sdp.addr, "2001:db8::5".parse::<IpAddr>().unwrap());
        let audio = sdp.audio.unwrap();
        assert_eq!(audio.rtcp_port, Some(7003));
        assert_eq!(audio.direction, Direction::Inactive);
        assert_eq!(audio.codecs[0].name, "PCMU");
    }

    /// RFC 8866 §5.7: an audio stream needs a connection address somewhere.
    #[test]
    fn missing_connection_is_an_error() {
        let text = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n";
        assert!(matches!(SipSdp::parse(text), Err(SdpError::Invalid { .. })));
    }

    /// RFC 8866 §5.14, §6.6: an audio m-line none of whose formats has a usable rtpmap is
    /// refused (fuzz/crashes/sip_sdp/crash-92c3c702-mline-no-format), a partly readable one
    /// keeps what it can; an empty line we build prints as a rejected one, still valid SDP.
    #[test]
    fn audio_line_without_a_readable_format() {
        let head = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
        for formats in [
            "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 AppleLossless\r\n",
            "m=audio 4000 RTP/AVP 96 97\r\na=rtpmap:96 x/y\r\n",
            "m=audio 4000 RTP/AVP x\r\n",
        ] {
            assert!(
                matches!(
                    SipSdp::parse(&format!("{head}{formats}")),
                    Err(SdpError::Invalid {
                        field: "m= formats",
                        ..
                    })
                ),
                "{formats:?}"
            );
        }
        let partial = format!("{head}m=audio 4000 RTP/AVP 96 0\r\na=rtpmap:96 AppleLossless\r\n");
        let audio = SipSdp::parse(&partial).unwrap().audio.unwrap();
        assert_eq!(audio.codecs.len(), 1);
        assert_eq!(audio.codecs[0].name, "PCMU");

        let mut built = SipSdp::parse(&partial).unwrap();
        if let Some(a) = built.audio.as_mut() {
            a.codecs.clear();
        }
        let printed = built.to_string();
        assert!(
            printed.ends_with("m=audio 0 RTP/AVP 0\r\na=inactive\r\n"),
            "{printed}"
        );
        assert!(SipSdp::parse(&printed).is_ok());
    }

    fn rtpmap() -> impl Strategy<Value = RtpMap> {
        (
            "[A-Za-z][A-Za-z0-9.-]{0,11}",
            1u32..200_000,
            1u16..9,
            proptest::option::of("[a-z0-9=;-]{1,24}"),
        )
            .prop_map(|(name, clock_rate, channels, fmtp)| RtpMap {
                pt: 0,
                name,
                clock_rate,
                channels,
                fmtp,
            })
            .prop_filter("telephone-event is kept apart", |r| {
                !r.name.eq_ignore_ascii_case("telephone-event")
            })
    }

    fn direction() -> impl Strategy<Value = Direction> {
        prop_oneof![
            Just(Direction::SendRecv),
            Just(Direction::SendOnly),
            Just(Direction::RecvOnly),
            Just(Direction::Inactive)
        ]
    }

    fn video_format() -> impl Strategy<Value = VideoFormat> {
        (
            "[A-Za-z][A-Za-z0-9.-]{0,11}",
            1u32..200_000,
            proptest::option::of("[a-z0-9=;-]{1,24}"),
            proptest::collection::vec("[a-z][a-z0-9-]{0,8}( [a-z0-9-]{1,8})?", 0..4),
        )
            .prop_map(|(name, clock_rate, fmtp, rtcp_fb)| VideoFormat {
                pt: 0,
                name,
                clock_rate,
                fmtp,
                rtcp_fb,
            })
    }

    fn video_line() -> impl Strategy<Value = VideoLine> {
        (
            any::<u16>(),
            proptest::collection::vec(video_format(), 1..5),
            proptest::sample::subsequence((0u8..128).collect::<Vec<_>>(), 5),
            direction(),
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<IpAddr>()),
        )
            .prop_map(|(port, mut formats, pts, direction, rtcp_port, addr)| {
                formats.truncate(pts.len());
                for (f, pt) in formats.iter_mut().zip(pts) {
                    f.pt = pt;
                }
                VideoLine {
                    port,
                    formats,
                    direction,
                    rtcp_port,
                    addr,
                }
            })
    }

    fn sip_sdp() -> impl Strategy<Value = SipSdp> {
        let direction = direction();
        let media = (
            any::<u16>(),
            proptest::collection::vec(rtpmap(), 1..5),
            proptest::collection::vec(1u32..100_000, 0..3),
            proptest::sample::subsequence((0u8..128).collect::<Vec<_>>(), 8),
            direction,
            proptest::option::of(1u32..1000),
            proptest::option::of(any::<u16>()),
        )
            .prop_map(
                |(port, mut codecs, te_rates, pts, direction, ptime, rtcp_port)| {
                    // Distinct payload types for every entry: codecs first, then telephone-events.
                    let mut pts = pts.into_iter();
                    codecs.truncate(pts.len().saturating_sub(te_rates.len()));
                    for c in &mut codecs {
                        c.pt = pts.next().unwrap_or_default();
                    }
                    let telephone_events = te_rates
                        .iter()
                        .map(|&r| (pts.next().unwrap_or_default(), r))
                        .collect();
                    MediaLine {
                        port,
                        codecs,
                        telephone_events,
                        direction,
                        ptime,
                        rtcp_port,
                    }
                },
            );
        (
            any::<u64>(),
            any::<u64>(),
            "[A-Za-z0-9_.-]{1,12}",
            any::<IpAddr>(),
            proptest::option::of(media),
            proptest::option::of(video_line()),
        )
            .prop_map(
                |(session_id, session_version, origin_user, addr, audio, mut video)| {
                    // A media-level address equal to the session's is not written apart.
                    if let Some(v) = video.as_mut() {
                        v.addr = v.addr.filter(|a| *a != addr);
                    }
                    SipSdp {
                        session_id,
                        session_version,
                        origin_user,
                        addr,
                        audio,
                        video,
                    }
                },
            )
    }

    proptest! {
        /// parse(print(x)) == x for everything we write (STYLE.md §5).
        #[test]
        fn print_parse_round_trip(sdp in sip_sdp()) {
            let text = sdp.to_string();
            prop_assert_eq!(SipSdp::parse(&text), Ok(sdp), "{}", text);
        }

        /// Arbitrary input never panics.
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = SipSdp::parse(&s);
            let _ = SipSdp::parse(&format!("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n{s}"));
        }

        /// Line-structured garbage (the shape parsers choke on) never panics either.
        #[test]
        fn sdp_like_lines_never_panic(lines in proptest::collection::vec("[vosctmabk]=[ -~]{0,30}", 0..12)) {
            let _ = SipSdp::parse(&lines.join("\r\n"));
            let _ = super::super::BrowserOffer::parse(&lines.join("\n"));
        }
    }
}
