//! Zero-copy RTP header parsing and in-place header editing (RFC 3550 §5.1).
//!
//! ```text
//!  0                   1                   2                   3
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers             | (CC of them)
//! | extension profile             | extension length (words)      | (if X)
//! ```

use crate::{Error, Result};

/// Length of the fixed RTP header.
pub const RTP_HEADER_LEN: usize = 12;

/// The header fields the bridge rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RtpFields {
    /// Payload type (7 bits).
    pub pt: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub ts: u32,
    /// Synchronization source.
    pub ssrc: u32,
}

/// A parsed RTP header: field values plus where the payload lies in the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Payload type (7 bits).
    pub pt: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
    /// Number of CSRC identifiers.
    pub csrc_count: u8,
    /// Whether a header extension was present (and skipped).
    pub has_extension: bool,
    /// Padding bytes at the end of the packet, including the count byte (0 without P).
    pub padding_len: u8,
    /// Offset of the payload from the start of the packet.
    pub payload_offset: usize,
    /// Payload length, excluding padding.
    pub payload_len: usize,
}

fn be16(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*buf.get(at)?, *buf.get(at + 1)?]))
}

fn be32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn truncated(needed: usize, len: usize) -> Error {
    Error::Truncated { needed, len }
}

impl RtpHeader {
    /// Parses the header of an RTP packet; never panics, whatever the bytes.
    pub fn parse(buf: &[u8]) -> Result<RtpHeader> {
        let len = buf.len();
        if len < RTP_HEADER_LEN {
            return Err(truncated(RTP_HEADER_LEN, len));
        }
        let version = buf[0] >> 6;
        if version != 2 {
            return Err(Error::BadVersion(version));
        }
        let has_padding = buf[0] & 0x20 != 0;
        let has_extension = buf[0] & 0x10 != 0;
        let csrc_count = buf[0] & 0x0F;
        let mut offset = RTP_HEADER_LEN + 4 * usize::from(csrc_count);
        if has_extension {
            let words = be16(buf, offset + 2).ok_or(truncated(offset + 4, len))?;
            offset += 4 + 4 * usize::from(words);
        }
        if offset > len {
            return Err(truncated(offset, len));
        }
        let padding_len = if has_padding {
            let count = buf[len - 1];
            if count == 0 || usize::from(count) > len - offset {
                return Err(Error::BadPadding(count));
            }
            count
        } else {
            0
        };
        Ok(RtpHeader {
            pt: buf[1] & 0x7F,
            marker: buf[1] & 0x80 != 0,
            seq: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
            csrc_count,
            has_extension,
            padding_len,
            payload_offset: offset,
            payload_len: len - offset - usize::from(padding_len),
        })
    }

    /// The payload bytes of `packet` (the buffer this header was parsed from).
    pub fn payload<'a>(&self, packet: &'a [u8]) -> &'a [u8] {
        packet
            .get(self.payload_offset..self.payload_offset + self.payload_len)
            .unwrap_or(&[])
    }

    /// The rewritable fields of this header.
    pub fn fields(&self) -> RtpFields {
        RtpFields {
            pt: self.pt,
            marker: self.marker,
            seq: self.seq,
            ts: self.timestamp,
            ssrc: self.ssrc,
        }
    }
}

/// Whether a datagram on a muxed RTP/RTCP port is RTCP (RFC 5761 §4: payload type 64-95, i.e. the
/// second byte is 192-223).
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.get(1).is_some_and(|&b| (64..=95).contains(&(b & 0x7F)))
}

fn fixed_header(buf: &mut [u8]) -> Result<&mut [u8; RTP_HEADER_LEN]> {
    let len = buf.len();
    buf.first_chunk_mut::<RTP_HEADER_LEN>()
        .ok_or(truncated(RTP_HEADER_LEN, len))
}

/// Writes the payload type, keeping the marker bit.
pub fn set_pt(buf: &mut [u8], pt: u8) -> Result<()> {
    let h = fixed_header(buf)?;
    h[1] = (h[1] & 0x80) | (pt & 0x7F);
    Ok(())
}

/// Writes the marker bit, keeping the payload type.
pub fn set_marker(buf: &mut [u8], marker: bool) -> Result<()> {
    let h = fixed_header(buf)?;
    h[1] = (h[1] & 0x7F) | if marker { 0x80 } else { 0 };
    Ok(())
}

/// Writes the sequence number.
pub fn set_seq(buf: &mut [u8], seq: u16) -> Result<()> {
    fixed_header(buf)?[2..4].copy_from_slice(&seq.to_be_bytes());
    Ok(())
}

/// Writes the timestamp.
pub fn set_timestamp(buf: &mut [u8], ts: u32) -> Result<()> {
    fixed_header(buf)?[4..8].copy_from_slice(&ts.to_be_bytes());
    Ok(())
}

/// Writes the SSRC.
pub fn set_ssrc(buf: &mut [u8], ssrc: u32) -> Result<()> {
    fixed_header(buf)?[8..12].copy_from_slice(&ssrc.to_be_bytes());
    Ok(())
}

/// Overwrites pt, marker, seq, timestamp and SSRC of an existing packet, keeping V/P/X/CC.
pub fn set_fields(buf: &mut [u8], f: &RtpFields) -> Result<()> {
    let h = fixed_header(buf)?;
    h[1] = (f.pt & 0x7F) | if f.marker { 0x80 } else { 0 };
    h[2..4].copy_from_slice(&f.seq.to_be_bytes());
    h[4..8].copy_from_slice(&f.ts.to_be_bytes());
    h[8..12].copy_from_slice(&f.ssrc.to_be_bytes());
    Ok(())
}

/// Writes a fresh 12-byte header (V=2, no padding, extension or CSRCs); returns 12.
pub fn write_header(buf: &mut [u8], f: &RtpFields) -> Result<usize> {
    fixed_header(buf)?[0] = 0x80;
    set_fields(buf, f)?;
    Ok(RTP_HEADER_LEN)
}

/// Reads the SSRC of an RTP packet without a full parse, `None` if too short.
pub fn peek_ssrc(buf: &[u8]) -> Option<u32> {
    be32(buf, 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 3550 §5.1: fixed header, 2 CSRCs, a one-word extension and 3 bytes of padding.
    #[test]
    fn parses_csrcs_extension_and_padding() {
        let mut p = vec![
            0xB2, 0xE0, 0x12, 0x34, // V=2 P=1 X=1 CC=2, M=1 PT=96, seq 0x1234
            0xDE, 0xAD, 0xBE, 0xEF, // ts
            0x01, 0x02, 0x03, 0x04, // ssrc
            0, 0, 0, 1, 0, 0, 0, 2, // CSRCs
            0xBE, 0xDE, 0x00, 0x01, 0xAA, 0xBB, 0xCC, 0xDD, // extension, 1 word
        ];
        p.extend_from_slice(&[9, 8, 7, 6, 5]);
        p.extend_from_slice(&[0, 0, 3]);
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(h.pt, 96);
        assert!(h.marker);
        assert_eq!(h.seq, 0x1234);
        assert_eq!(h.timestamp, 0xDEAD_BEEF);
        assert_eq!(h.ssrc, 0x0102_0304);
        assert_eq!(h.csrc_count, 2);
        assert!(h.has_extension);
        assert_eq!(h.padding_len, 3);
        assert_eq!(h.payload_offset, 28);
        assert_eq!(h.payload(&p), &[9, 8, 7, 6, 5]);
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(
            RtpHeader::parse(&[0x80; 11]),
            Err(Error::Truncated {
                needed: 12,
                len: 11
            })
        );
        let mut p = [0u8; 12];
        p[0] = 0x40;
        assert_eq!(RtpHeader::parse(&p), Err(Error::BadVersion(1)));
        p[0] = 0x81; // one CSRC missing
        assert!(matches!(RtpHeader::parse(&p), Err(Error::Truncated { .. })));
        p[0] = 0x90; // extension header missing
        assert!(matches!(RtpHeader::parse(&p), Err(Error::Truncated { .. })));
        let mut p = [0x80u8; 14];
        p[0] = 0xA0;
        p[13] = 0;
        assert_eq!(RtpHeader::parse(&p), Err(Error::BadPadding(0)));
        p[13] = 3;
        assert_eq!(RtpHeader::parse(&p), Err(Error::BadPadding(3)));
        p[13] = 2;
        assert_eq!(RtpHeader::parse(&p).unwrap().payload_len, 0);
    }

    /// RFC 5761 §4: PT 64-95 (second byte 192-223 with the marker bit) are RTCP; SR=200, RR=201.
    #[test]
    fn demuxes_rtcp_from_rtp() {
        assert!(is_rtcp(&[0x80, 200]));
        assert!(is_rtcp(&[0x81, 201]));
        assert!(is_rtcp(&[0x80, 192]));
        assert!(is_rtcp(&[0x80, 223]));
        assert!(!is_rtcp(&[0x80, 0]));
        assert!(!is_rtcp(&[0x80, 111]));
        assert!(!is_rtcp(&[0x80, 0x80 | 96]));
        assert!(!is_rtcp(&[0x80, 224]));
        assert!(!is_rtcp(&[0x80]));
    }

    #[test]
    fn setters_edit_in_place() {
        let mut p = [0u8; 20];
        let f = RtpFields {
            pt: 111,
            marker: true,
            seq: 65535,
            ts: 0xFFFF_FFFF,
            ssrc: 42,
        };
        assert_eq!(write_header(&mut p, &f).unwrap(), 12);
        assert_eq!(p[..2], [0x80, 0x80 | 111]);
        set_pt(&mut p, 0).unwrap();
        assert_eq!(p[1], 0x80);
        set_marker(&mut p, false).unwrap();
        set_pt(&mut p, 8).unwrap();
        set_seq(&mut p, 7).unwrap();
        set_timestamp(&mut p, 160).unwrap();
        set_ssrc(&mut p, 0xCAFE_BABE).unwrap();
        let h = RtpHeader::parse(&p).unwrap();
        let expected = RtpFields {
            pt: 8,
            marker: false,
            seq: 7,
            ts: 160,
            ssrc: 0xCAFE_BABE,
        };
        assert_eq!(h.fields(), expected);
        assert_eq!(h.payload_len, 8);
        assert_eq!(peek_ssrc(&p), Some(0xCAFE_BABE));
        assert!(set_seq(&mut p[..11], 1).is_err());
        assert!(write_header(&mut [0u8; 4], &f).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(h) = RtpHeader::parse(&bytes) {
                prop_assert!(h.payload_offset + h.payload_len + usize::from(h.padding_len) == bytes.len());
                let _ = h.payload(&bytes);
            }
            let _ = is_rtcp(&bytes);
        }

        #[test]
        fn write_then_parse_round_trips(
            pt in 0u8..128, marker: bool, seq: u16, ts: u32, ssrc: u32,
            payload in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let f = RtpFields { pt, marker, seq, ts, ssrc };
            let mut buf = vec![0u8; RTP_HEADER_LEN + payload.len()];
            let n = write_header(&mut buf, &f).unwrap();
            buf[n..].copy_from_slice(&payload);
            let h = RtpHeader::parse(&buf).unwrap();
            prop_assert_eq!(h.fields(), f);
            prop_assert_eq!(h.payload(&buf), &payload[..]);
        }
    }
}
