//! Media without I/O.
//!
//! Everything here works on raw RTP/RTCP bytes and sample buffers handed in by the caller: no sockets,
//! no clock reads (times come in as RTP-clock or NTP values), no async runtime, no logging on the media
//! path. Per-packet functions write into caller-provided buffers and never allocate.
//!
//! - [`g711`]: ITU-T G.711 μ-law and A-law (the G.191 reference algorithm).
//! - [`codec`]: the codecs the gateway negotiates and their RTP parameters.
//! - [`opus`]: safe wrappers around libopus for mono narrowband voice.
//! - [`transcode`]: Opus <-> G.711 for the "browser has Opus, phone has only G.711" case.
//! - [`rtp`]: zero-copy RTP header view and in-place header editing (RFC 3550 §5.1).
//! - [`rewrite`]: SSRC/sequence/timestamp rewriting for passthrough, PT mapping, packetizing.
//! - [`rtcp`]: SR/RR/SDES/BYE building and parsing, RTT (RFC 3550 §6.4).
//! - [`feedback`]: RTCP feedback for video: PLI, FIR, REMB (RFC 4585 §6, RFC 5104 §4.3.1).
//! - [`stats`]: receive/send statistics (RFC 3550 A.1, A.3, A.8).
//! - [`ports`]: RTP/RTCP port pair allocation.
//! - [`dtmf`]: RFC 4733 telephone events: payload, relay between legs, generator.
//! - [`quality`]: E-model (ITU-T G.107) MOS estimate, per-leg quality, one-way audio detection.

pub mod codec;
pub mod dtmf;
pub mod feedback;
pub mod g711;
pub mod opus;
pub mod ports;
pub mod quality;
pub mod rewrite;
pub mod rtcp;
pub mod rtp;
pub mod stats;
pub mod transcode;

pub use codec::Codec;
pub use dtmf::{DtmfEvent, DtmfGenerator, DtmfRelay, EventPacket, TelephoneEvent};
pub use feedback::Feedback;
pub use g711::G711Law;
pub use opus::{OpusDecoder, OpusEncoder};
pub use ports::{PortAllocator, PortLease, PortRange};
pub use quality::{CodecImpairment, LegQuality, OneWayDetector, QualityStats};
pub use rewrite::{Packetizer, PtMap, StreamRewriter};
pub use rtcp::{ReportBlock, RtcpPacket, SenderInfo};
pub use rtp::{RtpFields, RtpHeader};
pub use stats::{ReceiveStats, SendStats};
pub use transcode::{G711ToOpus, OpusToG711};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the media crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is shorter than its own headers say it must be.
    #[error("truncated packet: need {needed} bytes, have {len}")]
    Truncated {
        /// Bytes the headers require.
        needed: usize,
        /// Bytes actually present.
        len: usize,
    },
    /// The RTP/RTCP version field is not 2.
    #[error("unsupported RTP/RTCP version {0}")]
    BadVersion(u8),
    /// The padding count is zero or larger than the room left for it.
    #[error("invalid padding length {0}")]
    BadPadding(u8),
    /// An RTCP length field does not line up with the compound packet.
    #[error("RTCP length field invalid: {words} words at offset {offset} of {len} bytes")]
    BadRtcpLength {
        /// The length field (32-bit words minus one).
        words: u16,
        /// Offset of the offending packet in the compound packet.
        offset: usize,
        /// Total length of the compound packet.
        len: usize,
    },
    /// The compound RTCP packet is empty.
    #[error("empty RTCP packet")]
    EmptyRtcp,
    /// The caller's output buffer cannot hold the result.
    #[error("output buffer too small: need {needed} bytes, have {len}")]
    BufferTooSmall {
        /// Bytes (or samples) needed.
        needed: usize,
        /// Bytes (or samples) available.
        len: usize,
    },
    /// A field does not fit its wire representation (e.g. more than 31 report blocks).
    #[error("value out of range: {0}")]
    OutOfRange(&'static str),
    /// An empty Opus payload (RFC 6716 §3 packets are at least one byte).
    #[error("empty Opus payload")]
    EmptyPayload,
    /// libopus reported an error.
    #[error("libopus {function}: {code:?}")]
    Opus {
        /// The libopus function that failed.
        function: &'static str,
        /// The libopus error code.
        code: ::opus::ErrorCode,
    },
    /// A port range without a single even RTP port followed by its RTCP port.
    #[error("invalid port range {start}..={end}: needs an even port and the one after it")]
    InvalidPortRange {
        /// First port of the range.
        start: u16,
        /// Last port of the range (inclusive).
        end: u16,
    },
}

impl From<::opus::Error> for Error {
    fn from(e: ::opus::Error) -> Self {
        Error::Opus {
            function: e.function(),
            code: e.code(),
        }
    }
}
