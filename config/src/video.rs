//! `[media]` keys for video calls: the video codecs offered toward Asterisk and the bitrate cap.

use std::str::FromStr;

use toml::Value;

use crate::raw::{Ctx, integer_in};

/// Default `media.max_video_kbps`.
pub const DEFAULT_MAX_VIDEO_KBPS: u32 = 1500;
/// Lowest `media.max_video_kbps`: below this no codec keeps a picture.
pub const MIN_VIDEO_KBPS: u32 = 32;
/// Highest `media.max_video_kbps`.
pub const MAX_VIDEO_KBPS: u32 = 50_000;

/// A video codec relayed between the browser and Asterisk (never transcoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// VP8 (RFC 7741).
    Vp8,
    /// H.264 (RFC 6184), packetization-mode=1, profile-level-id 42e01f.
    H264,
}

impl VideoCodec {
    /// Configuration name: `"vp8"` or `"h264"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Vp8 => "vp8",
            Self::H264 => "h264",
        }
    }
}

impl FromStr for VideoCodec {
    type Err = String;

    /// `vp8` or `h264`, in any case (SDP encoding names are case-insensitive, RFC 4566 §6).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Vp8, Self::H264]
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("expected \"vp8\" or \"h264\", got {text:?}"))
    }
}

/// `media.max_video_kbps`: 32 to 50000.
pub(crate) fn max_video_kbps(ctx: &mut Ctx, key: &str, value: Value) -> Option<u32> {
    integer_in(
        ctx,
        key,
        value,
        i64::from(MIN_VIDEO_KBPS)..=i64::from(MAX_VIDEO_KBPS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn media_errors(toml: &str) -> String {
        Config::from_toml_str(&format!("[media]\n{toml}"), [])
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn video_keys_are_read() {
        let m = Config::from_toml_str(
            "[media]\nvideo_codecs = [\"H264\"]\nmax_video_kbps = 2500",
            [],
        )
        .expect("valid")
        .media;
        assert_eq!(m.video_codecs, [VideoCodec::H264]);
        assert_eq!(m.max_video_kbps, 2500);
        let d = Config::default().media;
        assert_eq!(d.video_codecs, [VideoCodec::Vp8, VideoCodec::H264]);
        assert_eq!(d.max_video_kbps, 1500);
        assert_eq!(VideoCodec::H264.name(), "h264");
    }

    #[test]
    fn video_codec_rules() {
        let cases = [
            (
                "video_codecs = []",
                "media.video_codecs: expected at least one codec",
            ),
            (
                "video_codecs = [\"vp8\", \"vp9\", \"VP8\"]",
                "media.video_codecs[1]: expected \"vp8\" or \"h264\", got \"vp9\"\n\
                 media.video_codecs[2]: duplicate of media.video_codecs[0] (\"vp8\")",
            ),
            (
                "video_codecs = \"vp8\"",
                "media.video_codecs: expected an array, got string \"vp8\"",
            ),
        ];
        for (toml, expected) in cases {
            assert_eq!(media_errors(toml), expected, "{toml}");
        }
    }

    #[test]
    fn max_video_kbps_rules() {
        for bad in ["31", "50001", "-1", "\"1500\"", "1500.0"] {
            let shown = match bad {
                "\"1500\"" => "string \"1500\"".to_owned(),
                "1500.0" => "float 1500".to_owned(),
                other => other.to_owned(),
            };
            assert_eq!(
                media_errors(&format!("max_video_kbps = {bad}")),
                format!("media.max_video_kbps: expected an integer from 32 to 50000, got {shown}"),
                "{bad}"
            );
        }
        for good in [32, 50_000] {
            let m = Config::from_toml_str(&format!("[media]\nmax_video_kbps = {good}"), [])
                .expect("valid")
                .media;
            assert_eq!(m.max_video_kbps, good);
        }
    }

    #[test]
    fn video_keys_from_the_environment() {
        let c = Config::from_toml_str(
            "",
            [
                (
                    "WEBRTC_GATEWAY__MEDIA__VIDEO_CODECS".to_owned(),
                    "[\"h264\", \"vp8\"]".to_owned(),
                ),
                (
                    "WEBRTC_GATEWAY__MEDIA__MAX_VIDEO_KBPS".to_owned(),
                    "800".to_owned(),
                ),
            ],
        )
        .expect("valid");
        assert_eq!(c.media.video_codecs, [VideoCodec::H264, VideoCodec::Vp8]);
        assert_eq!(c.media.max_video_kbps, 800);
    }
}
