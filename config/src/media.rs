//! `[media]`: RTP ports, codecs offered to Asterisk, and the address written in SIP-side SDP.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use crate::addr::{advertised_ip, resolve_ip};
use crate::raw::{Ctx, Table, array, parsed, string};
use crate::sip::{DEFAULT_SIP_LISTEN, is_sip_user, positive_duration};
use crate::video::{self, DEFAULT_MAX_VIDEO_KBPS, VideoCodec};

/// Lowest allowed `media.rtp_ports` start: ports below are privileged.
pub const MIN_RTP_PORT: u16 = 1024;
/// Fewest ports `media.rtp_ports` may hold: two RTP/RTCP pairs.
pub const MIN_RTP_PORTS: usize = 4;
/// Default `media.echo_number`.
pub const DEFAULT_ECHO_NUMBER: &str = "echo";

/// `[media]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// Ports for RTP (and RTCP) toward Asterisk.
    pub rtp_ports: PortRange,
    /// Codecs offered toward Asterisk, in preference order; non-empty, no duplicates.
    pub sip_codecs: Vec<AudioCodec>,
    /// RTP inactivity after which a call is ended.
    pub rtp_timeout: Duration,
    /// Address in the SIP-side SDP `c=` line: `media.ip`, or else the IP of `sip.listen`.
    pub ip: IpAddr,
    /// Number answered by the gateway itself, looping media back (like Asterisk's `Echo()`);
    /// `None` disables the built-in echo test.
    pub echo_number: Option<String>,
    /// Bitrate cap toward the browser for video (REMB), in kbit/s.
    pub max_video_kbps: u32,
    /// Video codecs offered toward Asterisk, in preference order; non-empty, no duplicates.
    pub video_codecs: Vec<VideoCodec>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            rtp_ports: PortRange {
                start: 20000,
                end: 29999,
            },
            sip_codecs: vec![AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma],
            rtp_timeout: Duration::from_secs(30),
            ip: DEFAULT_SIP_LISTEN.ip(),
            echo_number: Some(DEFAULT_ECHO_NUMBER.to_owned()),
            max_video_kbps: DEFAULT_MAX_VIDEO_KBPS,
            video_codecs: vec![VideoCodec::Vp8, VideoCodec::H264],
        }
    }
}

/// An inclusive range of UDP ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (inclusive).
    pub end: u16,
}

impl PortRange {
    /// Number of ports in the range.
    pub fn len(&self) -> usize {
        if self.start > self.end {
            0
        } else {
            usize::from(self.end - self.start) + 1
        }
    }

    /// Whether the range holds no port (only possible when built by hand with `start > end`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.start..=self.end).contains(&port)
    }
}

impl FromStr for PortRange {
    type Err = String;

    /// `"START-END"`, inclusive, with `1024 <= START <= END` and at least 4 ports.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let format_error = || format!("expected \"START-END\", got {text:?}");
        let (start, end) = text.split_once('-').ok_or_else(format_error)?;
        let port = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u16>().ok())
                .flatten()
        };
        let (start, end) = port(start).zip(port(end)).ok_or_else(format_error)?;
        let range = PortRange { start, end };
        if start < MIN_RTP_PORT {
            Err(format!(
                "start port {start} is below {MIN_RTP_PORT}, got {text:?}"
            ))
        } else if start > end {
            Err(format!("start port is above end port, got {text:?}"))
        } else if range.len() < MIN_RTP_PORTS {
            Err(format!(
                "expected at least {MIN_RTP_PORTS} ports, got {text:?}"
            ))
        } else {
            Ok(range)
        }
    }
}

/// An audio codec the gateway can send toward Asterisk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// Opus (RFC 7587), 48 kHz.
    Opus,
    /// G.711 µ-law, payload type 0.
    Pcmu,
    /// G.711 A-law, payload type 8.
    Pcma,
}

impl AudioCodec {
    /// Configuration name: `"opus"`, `"pcmu"` or `"pcma"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Opus => "opus",
            Self::Pcmu => "pcmu",
            Self::Pcma => "pcma",
        }
    }
}

impl FromStr for AudioCodec {
    type Err = String;

    /// `opus`, `pcmu` or `pcma`, in any case (SDP encoding names are case-insensitive, RFC 4566 §6).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Opus, Self::Pcmu, Self::Pcma]
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("expected \"opus\", \"pcmu\" or \"pcma\", got {text:?}"))
    }
}

pub(crate) fn build(mut t: Table, ctx: &mut Ctx, sip_listen: Option<SocketAddr>) -> MediaConfig {
    let d = MediaConfig::default();
    let rtp_ports = t.get(ctx, "rtp_ports", d.rtp_ports, |ctx, key, value| {
        parsed(ctx, key, value, PortRange::from_str)
    });
    let sip_codecs = t.get(ctx, "sip_codecs", d.sip_codecs, |ctx, key, value| {
        codec_list(ctx, key, value, AudioCodec::name)
    });
    let rtp_timeout = t.get(ctx, "rtp_timeout", d.rtp_timeout, positive_duration);
    let ip_key = t.path_of("ip");
    let explicit_ip = t.get(ctx, "ip", None, advertised_ip);
    let ip = if ctx.has_error(&ip_key) {
        d.ip
    } else {
        resolve_ip(ctx, &ip_key, explicit_ip, "sip.listen", sip_listen, d.ip)
    };
    let echo_number = t.get(ctx, "echo_number", d.echo_number, echo_number);
    let max_video_kbps = t.get(
        ctx,
        "max_video_kbps",
        d.max_video_kbps,
        video::max_video_kbps,
    );
    let video_codecs = t.get(ctx, "video_codecs", d.video_codecs, |ctx, key, value| {
        codec_list(ctx, key, value, VideoCodec::name)
    });
    t.finish(ctx);
    MediaConfig {
        rtp_ports,
        sip_codecs,
        rtp_timeout,
        ip,
        echo_number,
        max_video_kbps,
        video_codecs,
    }
}

/// `media.echo_number`: a SIP user part (it is dialled like any number), or `""` to disable.
fn echo_number(ctx: &mut Ctx, key: &str, value: toml::Value) -> Option<Option<String>> {
    let number = string(ctx, key, value)?;
    if number.is_empty() {
        Some(None)
    } else if is_sip_user(&number) {
        Some(Some(number))
    } else {
        ctx.error(
            key,
            format!("expected a number or name that can be dialled (a SIP user part), or \"\" to disable, got {number:?}"),
        );
        None
    }
}

/// A non-empty list of codecs without duplicates, in preference order.
fn codec_list<C>(
    ctx: &mut Ctx,
    key: &str,
    value: toml::Value,
    name: fn(&C) -> &'static str,
) -> Option<Vec<C>>
where
    C: FromStr<Err = String> + PartialEq,
{
    let items = array(ctx, key, value)?;
    if items.is_empty() {
        ctx.error(key, "expected at least one codec");
        return None;
    }
    let mut codecs: Vec<(C, String)> = Vec::new();
    let mut valid = true;
    for (item_key, item) in items {
        let Some(codec) = parsed(ctx, &item_key, item, C::from_str) else {
            valid = false;
            continue;
        };
        if let Some((_, first)) = codecs.iter().find(|(c, _)| *c == codec) {
            ctx.error(
                &item_key,
                format!("duplicate of {first} ({:?})", name(&codec)),
            );
            valid = false;
            continue;
        }
        codecs.push((codec, item_key));
    }
    valid.then(|| codecs.into_iter().map(|(c, _)| c).collect())
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
    fn port_range_parsing() {
        assert_eq!(
            "1024-1027".parse(),
            Ok(PortRange {
                start: 1024,
                end: 1027
            })
        );
        assert_eq!(
            "65532-65535".parse(),
            Ok(PortRange {
                start: 65532,
                end: 65535
            })
        );
        let range = PortRange {
            start: 20000,
            end: 29999,
        };
        assert_eq!(range.len(), 10000);
        assert!(!range.is_empty());
        assert!(range.contains(20000) && range.contains(29999));
        assert!(!range.contains(19999) && !range.contains(30000));
        assert!(PortRange { start: 2, end: 1 }.is_empty());
    }

    #[test]
    fn port_range_rules() {
        let cases = [
            ("abc", "expected \"START-END\", got \"abc\""),
            ("20000", "expected \"START-END\", got \"20000\""),
            ("20000-", "expected \"START-END\", got \"20000-\""),
            ("-20000", "expected \"START-END\", got \"-20000\""),
            ("20000-70000", "expected \"START-END\", got \"20000-70000\""),
            ("+2000-3000", "expected \"START-END\", got \"+2000-3000\""),
            ("80-20000", "start port 80 is below 1024, got \"80-20000\""),
            (
                "30000-20000",
                "start port is above end port, got \"30000-20000\"",
            ),
            (
                "20000-20002",
                "expected at least 4 ports, got \"20000-20002\"",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                text.parse::<PortRange>(),
                Err(expected.to_owned()),
                "{text}"
            );
        }
        assert_eq!(
            media_errors("rtp_ports = \"abc\""),
            "media.rtp_ports: expected \"START-END\", got \"abc\""
        );
    }

    #[test]
    fn codecs_in_order_and_case_insensitive() {
        let c =
            Config::from_toml_str("[media]\nsip_codecs = [\"PCMA\", \"opus\"]", []).expect("valid");
        assert_eq!(c.media.sip_codecs, [AudioCodec::Pcma, AudioCodec::Opus]);
        assert_eq!(AudioCodec::Pcmu.name(), "pcmu");
    }

    #[test]
    fn codec_list_rules() {
        assert_eq!(
            media_errors("sip_codecs = []"),
            "media.sip_codecs: expected at least one codec"
        );
        assert_eq!(
            media_errors("sip_codecs = [\"pcmu\", \"g729\", \"pcmu\"]"),
            "media.sip_codecs[1]: expected \"opus\", \"pcmu\" or \"pcma\", got \"g729\"\n\
             media.sip_codecs[2]: duplicate of media.sip_codecs[0] (\"pcmu\")"
        );
        assert_eq!(
            media_errors("sip_codecs = \"pcmu\""),
            "media.sip_codecs: expected an array, got string \"pcmu\""
        );
    }

    #[test]
    fn rtp_timeout_must_be_positive() {
        assert_eq!(
            media_errors("rtp_timeout = \"0s\""),
            "media.rtp_timeout: must be greater than zero, got \"0s\""
        );
        let c = Config::from_toml_str("[media]\nrtp_timeout = \"2m\"", []).expect("valid");
        assert_eq!(c.media.rtp_timeout, Duration::from_secs(120));
    }

    #[test]
    fn ip_defaults_to_the_sip_listener() {
        let c = Config::from_toml_str("[sip]\nlisten = \"10.1.2.3:5080\"", []).expect("valid");
        assert_eq!(c.media.ip.to_string(), "10.1.2.3");
        let c = Config::from_toml_str(
            "[sip]\nlisten = \"0.0.0.0:5080\"\n[media]\nip = \"10.9.9.9\"",
            [],
        )
        .expect("valid");
        assert_eq!(c.media.ip.to_string(), "10.9.9.9");
    }

    #[test]
    fn ip_rules() {
        let errors =
            Config::from_toml_str("[sip]\nlisten = \"0.0.0.0:5080\"", []).expect_err("unspecified");
        assert_eq!(
            errors.to_string(),
            "media.ip: is empty and sip.listen (0.0.0.0:5080) listens on all addresses; \
             set media.ip to the address peers should send to"
        );
        assert_eq!(
            media_errors("ip = \"::\""),
            "media.ip: :: is an unspecified address; give the address peers should send to"
        );
        assert_eq!(
            media_errors("ip = \"pbx\""),
            "media.ip: expected an IP address like \"192.0.2.10\" (or \"\" for none), got \"pbx\""
        );
        // An invalid listener is reported once, not again through media.ip.
        let errors = Config::from_toml_str("[sip]\nlisten = \"x\"", []).expect_err("invalid");
        assert_eq!(errors.errors.len(), 1);
    }

    #[test]
    fn echo_number_is_a_dialable_name_or_off() {
        assert_eq!(MediaConfig::default().echo_number.as_deref(), Some("echo"));
        let m = |toml: &str| {
            Config::from_toml_str(&format!("[media]\n{toml}"), [])
                .expect("valid")
                .media
        };
        assert_eq!(
            m("echo_number = \"9196\"").echo_number.as_deref(),
            Some("9196")
        );
        assert_eq!(m("echo_number = \"\"").echo_number, None);
        for bad in ["echo test", "echo@pbx", "é"] {
            assert_eq!(
                media_errors(&format!("echo_number = {bad:?}")),
                format!(
                    "media.echo_number: expected a number or name that can be dialled (a SIP user part), \
                     or \"\" to disable, got {bad:?}"
                )
            );
        }
        let c = Config::from_toml_str(
            "",
            [(
                "WEBRTC_GATEWAY__MEDIA__ECHO_NUMBER".to_owned(),
                "600".to_owned(),
            )],
        )
        .expect("valid");
        assert_eq!(c.media.echo_number.as_deref(), Some("600"));
    }
}
