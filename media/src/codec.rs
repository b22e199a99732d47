//! The audio codecs the gateway negotiates and their RTP parameters.

use crate::g711::G711Law;

/// An audio codec the gateway can send, receive or transcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Opus (RFC 7587), the browser side.
    Opus,
    /// G.711 μ-law (RFC 3551 §4.5.14).
    Pcmu,
    /// G.711 A-law (RFC 3551 §4.5.14).
    Pcma,
}

impl Codec {
    /// RTP clock rate in Hz (RFC 7587 §4.1: Opus always uses 48000, whatever the decode rate).
    pub const fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::Pcmu | Codec::Pcma => 8_000,
        }
    }

    /// Static RTP payload type from RFC 3551 Table 4, `None` for dynamically assigned codecs.
    pub const fn static_payload_type(self) -> Option<u8> {
        match self {
            Codec::Opus => None,
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
        }
    }

    /// Channel count for the SDP `a=rtpmap` line (RFC 7587 §7 mandates `opus/48000/2` even for mono).
    pub const fn channels(self) -> u8 {
        match self {
            Codec::Opus => 2,
            Codec::Pcmu | Codec::Pcma => 1,
        }
    }

    /// Encoding name as written in SDP `a=rtpmap`.
    pub const fn encoding_name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// Looks a codec up by its SDP encoding name, ignoring ASCII case (RFC 4566 §6: names are
    /// case-insensitive).
    pub fn from_name(name: &str) -> Option<Codec> {
        [Codec::Opus, Codec::Pcmu, Codec::Pcma]
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(name))
    }

    /// RTP timestamp ticks covering `ms` milliseconds of audio.
    pub const fn ticks_per_ms(self, ms: u32) -> u32 {
        self.clock_rate() / 1000 * ms
    }

    /// The G.711 law of this codec, `None` for Opus.
    pub const fn g711_law(self) -> Option<G711Law> {
        match self {
            Codec::Opus => None,
            Codec::Pcmu => Some(G711Law::Ulaw),
            Codec::Pcma => Some(G711Law::Alaw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3551 Table 4 (PCMU 0, PCMA 8, 8000 Hz) and RFC 7587 §4.1/§7 (opus/48000/2, dynamic PT).
    #[test]
    fn rtp_parameters_match_the_rfcs() {
        assert_eq!(Codec::Pcmu.static_payload_type(), Some(0));
        assert_eq!(Codec::Pcma.static_payload_type(), Some(8));
        assert_eq!(Codec::Opus.static_payload_type(), None);
        assert_eq!(Codec::Opus.clock_rate(), 48_000);
        assert_eq!(Codec::Pcmu.clock_rate(), 8_000);
        assert_eq!(Codec::Pcma.clock_rate(), 8_000);
        assert_eq!(Codec::Opus.channels(), 2);
        assert_eq!(Codec::Pcma.channels(), 1);
        assert_eq!(Codec::Opus.ticks_per_ms(20), 960);
        assert_eq!(Codec::Pcmu.ticks_per_ms(20), 160);
        assert_eq!(Codec::Pcmu.g711_law(), Some(G711Law::Ulaw));
        assert_eq!(Codec::Pcma.g711_law(), Some(G711Law::Alaw));
        assert_eq!(Codec::Opus.g711_law(), None);
    }

    /// RFC 4566 §6: encoding names compare case-insensitively (Chromium writes `opus`, Asterisk `PCMU`).
    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(Codec::from_name("opus"), Some(Codec::Opus));
        assert_eq!(Codec::from_name("OPUS"), Some(Codec::Opus));
        assert_eq!(Codec::from_name("pcmu"), Some(Codec::Pcmu));
        assert_eq!(Codec::from_name("PCMA"), Some(Codec::Pcma));
        assert_eq!(Codec::from_name("G722"), None);
        assert_eq!(Codec::from_name(""), None);
        for c in [Codec::Opus, Codec::Pcmu, Codec::Pcma] {
            assert_eq!(Codec::from_name(c.encoding_name()), Some(c));
        }
    }
}
