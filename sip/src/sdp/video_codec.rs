//! The video codecs the gateway passes through unchanged (no video transcoding): VP8 (RFC 7741)
//! and H.264 in packetization mode 1, Constrained Baseline (RFC 6184), and the RTCP feedback
//! (RFC 4585, RFC 5104) that goes with them.

use std::fmt;

/// Payload type we give VP8 in offers toward SIP: Asterisk's own static mapping
/// (`main/rtp_engine.c`), so its answers and its own offers use the same number.
pub const VP8_PT: u8 = 100;
/// Payload type we give H.264 in offers toward SIP (Asterisk's own mapping too).
pub const H264_PT: u8 = 99;
/// The `a=fmtp` we write for H.264 toward SIP by default: Constrained Baseline level 3.1, mode
/// 1, in the parameter order Asterisk writes (`res_format_attr_h264.c`). Offers and answers
/// made from a browser's format carry that browser's level instead ([`h264_sip_fmtp`]).
pub const H264_FMTP: &str = "packetization-mode=1;profile-level-id=42e01f";
/// RTP clock rate of every video payload format here (RFC 7741 §6.1, RFC 6184 §8.2.1).
pub const VIDEO_CLOCK_RATE: u32 = 90_000;

/// A video codec the gateway can pass through between the browser and SIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// VP8 (RFC 7741).
    Vp8,
    /// H.264 (RFC 6184), packetization mode 1, a Constrained Baseline profile-level-id.
    H264,
}

impl VideoCodec {
    /// The default order of `media.video_codecs`: VP8 first (every browser has it).
    pub const DEFAULT_ORDER: [Self; 2] = [Self::Vp8, Self::H264];

    /// The encoding name as written in `a=rtpmap`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Self::Vp8 => "VP8",
            Self::H264 => "H264",
        }
    }

    /// The payload type we use for it in offers toward SIP ([`VP8_PT`], [`H264_PT`]).
    pub fn sip_pt(self) -> u8 {
        match self {
            Self::Vp8 => VP8_PT,
            Self::H264 => H264_PT,
        }
    }

    /// The `a=fmtp` we write for it toward SIP.
    pub fn sip_fmtp(self) -> Option<&'static str> {
        match self {
            Self::Vp8 => None,
            Self::H264 => Some(H264_FMTP),
        }
    }

    /// Recognises a payload format the gateway can pass through: `VP8/90000`, or `H264/90000`
    /// with `packetization-mode=1` and a Constrained Baseline `profile-level-id`
    /// ([`H264ProfileLevelId::is_constrained_baseline`]). Names are case-insensitive
    /// (RFC 4855 §3).
    pub fn from_format(name: &str, clock_rate: u32, fmtp: Option<&str>) -> Option<Self> {
        if clock_rate != VIDEO_CLOCK_RATE {
            return None;
        }
        if name.eq_ignore_ascii_case("VP8") {
            return Some(Self::Vp8);
        }
        if !name.eq_ignore_ascii_case("H264") {
            return None;
        }
        let fmtp = fmtp.unwrap_or_default();
        // RFC 6184 §8.1: packetization-mode absent means 0, which is not what we pass.
        let mode_1 = fmtp_param(fmtp, "packetization-mode") == Some("1");
        let cb = H264ProfileLevelId::of_fmtp(fmtp).is_some_and(|p| p.is_constrained_baseline());
        (mode_1 && cb).then_some(Self::H264)
    }
}

/// The H.264 `a=fmtp` we write toward SIP for a browser that receives up to `level_idc`:
/// Constrained Baseline (`42e0`) at that level, mode 1 (RFC 6184 §8.1).
pub fn h264_sip_fmtp(level_idc: u8) -> String {
    format!(
        "packetization-mode=1;profile-level-id={}",
        H264ProfileLevelId::constrained_baseline(level_idc)
    )
}

/// `fmtp` with its `profile-level-id` set to `p` (added at the end when absent), the other
/// parameters kept in order.
pub fn with_profile_level_id(fmtp: &str, p: H264ProfileLevelId) -> String {
    let mut found = false;
    let mut parts: Vec<String> = fmtp
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, _)) if k.trim().eq_ignore_ascii_case("profile-level-id") => {
                found = true;
                format!("{}={p}", k.trim())
            }
            _ => part.to_owned(),
        })
        .collect();
    if !found {
        parts.push(format!("profile-level-id={p}"));
    }
    parts.join(";")
}

/// The value of `name` in an `a=fmtp` parameter list (`k=v;k=v`, names case-insensitive).
pub fn fmtp_param<'a>(fmtp: &'a str, name: &str) -> Option<&'a str> {
    fmtp.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// An H.264 `profile-level-id` (RFC 6184 §8.1): profile_idc, profile-iop (the constraint
/// flags) and level_idc, each one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct H264ProfileLevelId {
    /// `profile_idc` (66 Baseline, 77 Main, 88 Extended, 100 High, ...).
    pub profile_idc: u8,
    /// `profile-iop`: constraint_set0..5 flags, high bit first.
    pub profile_iop: u8,
    /// `level_idc` (31 = level 3.1).
    pub level_idc: u8,
}

impl H264ProfileLevelId {
    /// `42e01f`: Constrained Baseline, level 3.1 (what we offer toward SIP).
    pub const CONSTRAINED_BASELINE_3_1: Self = Self {
        profile_idc: 0x42,
        profile_iop: 0xe0,
        level_idc: 0x1f,
    };

    /// Constrained Baseline (`42e0`) at `level_idc`. Level 1b (`42f00b`) is not written: no
    /// browser offers it.
    pub fn constrained_baseline(level_idc: u8) -> Self {
        Self {
            level_idc,
            ..Self::CONSTRAINED_BASELINE_3_1
        }
    }

    /// Parses the six hex digits (either case; Asterisk writes `42E01F`).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(text.get(i..i + 2)?, 16).ok();
        Some(Self {
            profile_idc: byte(0)?,
            profile_iop: byte(2)?,
            level_idc: byte(4)?,
        })
    }

    /// The `profile-level-id` of an fmtp line; absent means Baseline level 1 (RFC 6184 §8.1),
    /// malformed means none.
    pub fn of_fmtp(fmtp: &str) -> Option<Self> {
        match fmtp_param(fmtp, "profile-level-id") {
            Some(v) => Self::parse(v),
            None => Some(Self {
                profile_idc: 0x42,
                profile_iop: 0x00,
                level_idc: 0x0a,
            }),
        }
    }

    /// Whether a decoder of this profile takes a Constrained Baseline stream and a Constrained
    /// Baseline encoder may send under it, i.e. whether the stream can be passed through
    /// against our `42e01f`. The profile part must denote Constrained Baseline (H.264 A.2.1.1,
    /// the classification libwebrtc applies): Baseline with constraint_set1, Main with
    /// constraint_set0, or Extended with both; the low four flag bits must be clear. The level
    /// is not compared: RFC 6184 §8.2.2 makes it the changeable part of the parameter, and with
    /// `level-asymmetry-allowed` each side states the level it receives.
    pub fn is_constrained_baseline(self) -> bool {
        let iop = self.profile_iop;
        match self.profile_idc {
            0x42 => iop & 0x4f == 0x40,
            0x4d => iop & 0x8f == 0x80,
            0x58 => iop & 0xcf == 0xc0,
            _ => false,
        }
    }
}

impl fmt::Display for H264ProfileLevelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}{:02x}{:02x}",
            self.profile_idc, self.profile_iop, self.level_idc
        )
    }
}

/// An `a=rtcp-fb` value the gateway knows (RFC 4585 §4.2, RFC 5104 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RtcpFeedback {
    /// `nack`: generic NACK, retransmission (RFC 4585 §6.2.1).
    Nack,
    /// `nack pli`: picture loss indication, a keyframe request (RFC 4585 §6.3.1).
    NackPli,
    /// `ccm fir`: full intra request, a keyframe request (RFC 5104 §3.5.1).
    CcmFir,
    /// `goog-remb`: receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb).
    GoogRemb,
    /// `transport-cc`: transport-wide congestion control feedback
    /// (draft-holmer-rmcat-transport-wide-cc-extensions).
    TransportCc,
}

impl RtcpFeedback {
    /// Every value, in the order browsers list them.
    pub const ALL: [Self; 5] = [
        Self::GoogRemb,
        Self::TransportCc,
        Self::CcmFir,
        Self::Nack,
        Self::NackPli,
    ];

    /// What we write toward SIP for each video format: the two keyframe requests, which the
    /// gateway relays between the legs (plain RTP has no retransmission or congestion feedback).
    pub const TOWARD_SIP: [Self; 2] = [Self::CcmFir, Self::NackPli];

    /// What the gateway's WebRTC leg serves, so what its answer may keep of the browser's:
    /// keyframe requests (relayed), and `nack` and `transport-cc`, which `rtc` 0.21 handles on
    /// its own with `register_default_interceptors` (NACK responder and generator, TWCC
    /// receiver). `goog-remb` is left out: nothing on the gateway computes REMB.
    pub const TOWARD_BROWSER: [Self; 4] =
        [Self::TransportCc, Self::CcmFir, Self::Nack, Self::NackPli];

    /// The attribute value (`nack pli`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nack => "nack",
            Self::NackPli => "nack pli",
            Self::CcmFir => "ccm fir",
            Self::GoogRemb => "goog-remb",
            Self::TransportCc => "transport-cc",
        }
    }

    /// Recognises an attribute value (the part after the payload type); tokens are compared
    /// exactly, runs of whitespace between them are allowed.
    pub fn parse(value: &str) -> Option<Self> {
        let mut words = value.split_whitespace();
        let first = words.next()?;
        let second = words.next();
        if words.next().is_some() {
            return None;
        }
        Some(match (first, second) {
            ("nack", None) => Self::Nack,
            ("nack", Some("pli")) => Self::NackPli,
            ("ccm", Some("fir")) => Self::CcmFir,
            ("goog-remb", None) => Self::GoogRemb,
            ("transport-cc", None) => Self::TransportCc,
            _ => return None,
        })
    }

    /// The values of `raw` the gateway knows, each once, in order.
    pub fn parse_all<'a>(raw: impl IntoIterator<Item = &'a str>) -> Vec<Self> {
        let mut out = Vec::new();
        for fb in raw.into_iter().filter_map(Self::parse) {
            if !out.contains(&fb) {
                out.push(fb);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6184 §8.1: three hex bytes; absent means Baseline level 1.
    #[test]
    fn profile_level_id_parses() {
        assert_eq!(
            H264ProfileLevelId::parse("42E01F"),
            Some(H264ProfileLevelId::CONSTRAINED_BASELINE_3_1)
        );
        assert_eq!(
            H264ProfileLevelId::CONSTRAINED_BASELINE_3_1.to_string(),
            "42e01f"
        );
        for bad in ["", "42e01", "42e01f0", "42g01f", "+2e01f", "42é01"] {
            assert_eq!(H264ProfileLevelId::parse(bad), None, "{bad:?}");
        }
        let default = H264ProfileLevelId::of_fmtp("packetization-mode=1").unwrap();
        assert_eq!(default.to_string(), "42000a");
        assert_eq!(H264ProfileLevelId::of_fmtp("profile-level-id=zz"), None);
    }

    /// H.264 A.2.1.1 as libwebrtc classifies it: only Constrained Baseline passes, at any level.
    #[test]
    fn constrained_baseline_at_any_level() {
        let cb = |s: &str| {
            H264ProfileLevelId::parse(s)
                .unwrap()
                .is_constrained_baseline()
        };
        for yes in [
            "42e01f", "42e00a", "42e034", "42c01f", "42401f", "42f00b", "4de01f", "58c01f",
        ] {
            assert!(cb(yes), "{yes}");
        }
        for no in [
            "42001f", "42801f", "4d001f", "640c1f", "64001f", "42e11f", "f4001f",
        ] {
            assert!(!cb(no), "{no}");
        }
    }

    /// RFC 6184 §8.1: mode 1 only (absent is mode 0); RFC 7741 §6.1: VP8 at 90 kHz.
    #[test]
    fn recognised_formats() {
        let f = VideoCodec::from_format;
        assert_eq!(f("vp8", 90000, None), Some(VideoCodec::Vp8));
        assert_eq!(f("VP8", 48000, None), None);
        assert_eq!(f("VP9", 90000, None), None);
        let chromium = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
        assert_eq!(f("H264", 90000, Some(chromium)), Some(VideoCodec::H264));
        assert_eq!(f("h264", 90000, Some(H264_FMTP)), Some(VideoCodec::H264));
        let asterisk = "packetization-mode=1;profile-level-id=42E01F";
        assert_eq!(f("H264", 90000, Some(asterisk)), Some(VideoCodec::H264));
        assert_eq!(
            f("H264", 90000, Some("profile-level-id=42e01f")),
            None,
            "mode 0"
        );
        assert_eq!(f("H264", 90000, Some("packetization-mode=1")), None);
        assert_eq!(f("H264", 90000, None), None);
        assert_eq!(
            f(
                "H264",
                90000,
                Some("packetization-mode=1;profile-level-id=640c1f")
            ),
            None
        );
        assert_eq!(
            f(
                "H264",
                90000,
                Some(" Packetization-Mode = 1 ; profile-level-id = 42e01f ")
            ),
            Some(VideoCodec::H264)
        );
    }

    /// RFC 6184 §8.1: our fmtp carries the browser's level; a profile-level-id is replaced in
    /// place, or added.
    #[test]
    fn fmtp_writing() {
        assert_eq!(h264_sip_fmtp(0x1f), H264_FMTP);
        assert_eq!(
            h264_sip_fmtp(0x15),
            "packetization-mode=1;profile-level-id=42e015"
        );
        let p = H264ProfileLevelId::parse("42e01e").unwrap();
        assert_eq!(
            with_profile_level_id(
                "level-asymmetry-allowed=1;packetization-mode=1;Profile-Level-Id=42e01f",
                p
            ),
            "level-asymmetry-allowed=1;packetization-mode=1;Profile-Level-Id=42e01e"
        );
        assert_eq!(
            with_profile_level_id("packetization-mode=1;", p),
            "packetization-mode=1;profile-level-id=42e01e"
        );
    }

    /// RFC 4585 §4.2 and RFC 5104 §7.1 values; unknown ones are skipped, duplicates folded.
    #[test]
    fn feedback_values() {
        for fb in RtcpFeedback::ALL {
            assert_eq!(RtcpFeedback::parse(fb.as_str()), Some(fb));
        }
        assert_eq!(
            RtcpFeedback::parse("nack  pli"),
            Some(RtcpFeedback::NackPli)
        );
        for other in [
            "",
            "nack sli",
            "ccm tmmbr",
            "trr-int 5",
            "NACK",
            "nack pli x",
        ] {
            assert_eq!(RtcpFeedback::parse(other), None, "{other:?}");
        }
        assert_eq!(
            RtcpFeedback::parse_all(["nack", "ccm tmmbr", "nack", "nack pli"]),
            vec![RtcpFeedback::Nack, RtcpFeedback::NackPli]
        );
    }
}
