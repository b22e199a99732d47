//! Minimal RTCP for the plain-RTP leg (RFC 3550 §6.4-§6.6): build SR/RR + SDES CNAME (+ BYE),
//! parse compound packets into sender info, report blocks and BYE, and compute the round-trip time.
//!
//! Parsing validates the whole compound packet first (RFC 3550 A.2 checks, plus body lengths), so the
//! iterator then only reads bytes it has checked. Nothing allocates.

use std::time::Duration;

use crate::{Error, Result};

/// Sender report (RFC 3550 §6.4.1).
pub const PT_SR: u8 = 200;
/// Receiver report (RFC 3550 §6.4.2).
pub const PT_RR: u8 = 201;
/// Source description (RFC 3550 §6.5).
pub const PT_SDES: u8 = 202;
/// Goodbye (RFC 3550 §6.6).
pub const PT_BYE: u8 = 203;
/// SDES item type of CNAME (RFC 3550 §6.5.1).
pub const SDES_CNAME: u8 = 1;
/// Bytes of one report block.
pub const REPORT_BLOCK_LEN: usize = 24;
const SENDER_INFO_LEN: usize = 20;
const MAX_COUNT: usize = 31;

/// The sender information section of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp (seconds since 1900 in the high half, fraction in the low half).
    pub ntp: u64,
    /// RTP timestamp corresponding to `ntp`.
    pub rtp_ts: u32,
    /// Packets sent since the start.
    pub packet_count: u32,
    /// Payload octets sent since the start.
    pub octet_count: u32,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire; clamped when written).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (0 if none).
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

impl ReportBlock {
    fn write(&self, out: &mut [u8]) {
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32 & 0xFF_FFFF;
        out[0..4].copy_from_slice(&self.ssrc.to_be_bytes());
        out[4..8].copy_from_slice(&(u32::from(self.fraction_lost) << 24 | lost).to_be_bytes());
        out[8..12].copy_from_slice(&self.highest_seq.to_be_bytes());
        out[12..16].copy_from_slice(&self.jitter.to_be_bytes());
        out[16..20].copy_from_slice(&self.lsr.to_be_bytes());
        out[20..24].copy_from_slice(&self.dlsr.to_be_bytes());
    }

    fn read(b: &[u8; REPORT_BLOCK_LEN]) -> Self {
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Self {
            ssrc: word(0),
            fraction_lost: b[4],
            // Sign-extend the 24-bit field.
            cumulative_lost: ((word(4) << 8) as i32) >> 8,
            highest_seq: word(8),
            jitter: word(12),
            lsr: word(16),
            dlsr: word(20),
        }
    }
}

pub(crate) fn word(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(w) => u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
        None => 0,
    }
}

pub(crate) fn room(buf: &[u8], needed: usize) -> Result<()> {
    if buf.len() < needed {
        return Err(Error::BufferTooSmall {
            needed,
            len: buf.len(),
        });
    }
    Ok(())
}

/// Writes the 4-byte common header; `buf` holds at least 4 bytes and `len` is a multiple of 4.
pub(crate) fn write_common(buf: &mut [u8], count: usize, pt: u8, len: usize) {
    buf[0] = 0x80 | count as u8;
    buf[1] = pt;
    buf[2..4].copy_from_slice(&((len / 4 - 1) as u16).to_be_bytes());
}

fn write_report(
    buf: &mut [u8],
    pt: u8,
    ssrc: u32,
    info: Option<&SenderInfo>,
    blocks: &[ReportBlock],
) -> Result<usize> {
    if blocks.len() > MAX_COUNT {
        return Err(Error::OutOfRange("more than 31 report blocks"));
    }
    let head = 8 + info.map_or(0, |_| SENDER_INFO_LEN);
    let len = head + REPORT_BLOCK_LEN * blocks.len();
    room(buf, len)?;
    write_common(buf, blocks.len(), pt, len);
    buf[4..8].copy_from_slice(&ssrc.to_be_bytes());
    if let Some(i) = info {
        buf[8..16].copy_from_slice(&i.ntp.to_be_bytes());
        buf[16..20].copy_from_slice(&i.rtp_ts.to_be_bytes());
        buf[20..24].copy_from_slice(&i.packet_count.to_be_bytes());
        buf[24..28].copy_from_slice(&i.octet_count.to_be_bytes());
    }
    for (block, out) in blocks
        .iter()
        .zip(buf[head..len].chunks_exact_mut(REPORT_BLOCK_LEN))
    {
        block.write(out);
    }
    Ok(len)
}

/// Writes a sender report; returns its length.
pub fn write_sr(
    buf: &mut [u8],
    ssrc: u32,
    info: &SenderInfo,
    blocks: &[ReportBlock],
) -> Result<usize> {
    write_report(buf, PT_SR, ssrc, Some(info), blocks)
}

/// Writes a receiver report; returns its length.
pub fn write_rr(buf: &mut [u8], ssrc: u32, blocks: &[ReportBlock]) -> Result<usize> {
    write_report(buf, PT_RR, ssrc, None, blocks)
}

/// Writes an SDES packet with one chunk holding only a CNAME (RFC 3550 §6.5.1); returns its length.
pub fn write_sdes_cname(buf: &mut [u8], ssrc: u32, cname: &[u8]) -> Result<usize> {
    let text_len =
        u8::try_from(cname.len()).map_err(|_| Error::OutOfRange("CNAME over 255 bytes"))?;
    // SSRC, type, length, text, then at least one null octet ending the item list, padded to 4.
    let len = (4 + 4 + 2 + cname.len() + 1).next_multiple_of(4);
    room(buf, len)?;
    write_common(buf, 1, PT_SDES, len);
    buf[4..8].copy_from_slice(&ssrc.to_be_bytes());
    buf[8] = SDES_CNAME;
    buf[9] = text_len;
    buf[10..10 + cname.len()].copy_from_slice(cname);
    buf[10 + cname.len()..len].fill(0);
    Ok(len)
}

/// Writes a BYE for `ssrc` with an optional reason (RFC 3550 §6.6); returns its length.
pub fn write_bye(buf: &mut [u8], ssrc: u32, reason: &[u8]) -> Result<usize> {
    let reason_len =
        u8::try_from(reason.len()).map_err(|_| Error::OutOfRange("BYE reason over 255 bytes"))?;
    let len = if reason.is_empty() {
        8
    } else {
        (8 + 1 + reason.len()).next_multiple_of(4)
    };
    room(buf, len)?;
    write_common(buf, 1, PT_BYE, len);
    buf[4..8].copy_from_slice(&ssrc.to_be_bytes());
    if !reason.is_empty() {
        buf[8] = reason_len;
        buf[9..9 + reason.len()].copy_from_slice(reason);
        buf[9 + reason.len()..len].fill(0);
    }
    Ok(len)
}

/// Writes the periodic compound packet: SR if `sender` is given, else RR, with `block` if we
/// receive, then SDES CNAME (RFC 3550 §6.1); returns its length.
pub fn write_compound(
    buf: &mut [u8],
    ssrc: u32,
    sender: Option<&SenderInfo>,
    block: Option<&ReportBlock>,
    cname: &[u8],
) -> Result<usize> {
    let blocks = block.map(std::slice::from_ref).unwrap_or(&[]);
    let n = write_report(
        buf,
        if sender.is_some() { PT_SR } else { PT_RR },
        ssrc,
        sender,
        blocks,
    )?;
    let m = write_sdes_cname(&mut buf[n..], ssrc, cname)?;
    Ok(n + m)
}

/// Report blocks of an SR or RR, read lazily.
#[derive(Debug, Clone)]
pub struct ReportBlocks<'a>(std::slice::ChunksExact<'a, u8>);

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        let chunk = self.0.next()?;
        chunk
            .first_chunk::<REPORT_BLOCK_LEN>()
            .map(ReportBlock::read)
    }
}

/// SSRC/CSRC list of a BYE (or the SSRCs of a REMB, see [`crate::feedback::remb_ssrcs`]), read lazily.
#[derive(Debug, Clone)]
pub struct SsrcList<'a>(pub(crate) std::slice::ChunksExact<'a, u8>);

impl Iterator for SsrcList<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        self.0.next().map(|w| word(w, 0))
    }
}

/// One packet of a compound RTCP packet.
#[derive(Debug, Clone)]
pub enum RtcpPacket<'a> {
    /// SR: sender info and report blocks.
    SenderReport {
        /// SSRC of the sender.
        ssrc: u32,
        /// Sender information.
        info: SenderInfo,
        /// Reception report blocks.
        reports: ReportBlocks<'a>,
    },
    /// RR: report blocks only.
    ReceiverReport {
        /// SSRC of the packet sender.
        ssrc: u32,
        /// Reception report blocks.
        reports: ReportBlocks<'a>,
    },
    /// BYE: the sources leaving, and an optional reason.
    Bye {
        /// Sources leaving.
        sources: SsrcList<'a>,
        /// Reason text (empty if none).
        reason: &'a [u8],
    },
    /// Any other packet type (SDES, APP, feedback...), unparsed.
    Other {
        /// Packet type.
        pt: u8,
        /// The 5-bit count field.
        count: u8,
        /// Body after the 4-byte common header, without padding.
        body: &'a [u8],
    },
}

/// The packets of a validated compound RTCP packet.
#[derive(Debug, Clone)]
pub struct RtcpPackets<'a> {
    rest: &'a [u8],
}

/// Validates a compound RTCP packet (RFC 3550 A.2, plus the body length each type needs) and
/// returns an iterator over its packets. Never panics, whatever the bytes.
pub fn parse_compound(buf: &[u8]) -> Result<RtcpPackets<'_>> {
    if buf.is_empty() {
        return Err(Error::EmptyRtcp);
    }
    let mut offset = 0;
    while offset < buf.len() {
        let rest = &buf[offset..];
        let (body_len, count, pt) = packet_header(rest, offset, buf.len())?;
        let needed = match pt {
            PT_SR => 4 + SENDER_INFO_LEN + REPORT_BLOCK_LEN * count,
            PT_RR => 4 + REPORT_BLOCK_LEN * count,
            PT_BYE => 4 * count,
            _ => 0,
        };
        // RFC 3550 A.2: only the last packet of a compound packet may be padded.
        if body_len.total != body_len.unpadded && offset + 4 + body_len.total != buf.len() {
            return Err(Error::BadPadding(rest[3 + body_len.total]));
        }
        if body_len.unpadded < needed {
            return Err(Error::Truncated {
                needed: offset + 4 + needed,
                len: buf.len(),
            });
        }
        if pt == PT_BYE && body_len.unpadded > 4 * count {
            let reason_len = usize::from(rest[4 + 4 * count]);
            if 1 + reason_len > body_len.unpadded - 4 * count {
                return Err(Error::Truncated {
                    needed: offset + 4 + 4 * count + 1 + reason_len,
                    len: buf.len(),
                });
            }
        }
        offset += 4 + body_len.total;
    }
    Ok(RtcpPackets { rest: buf })
}

struct BodyLen {
    total: usize,
    unpadded: usize,
}

/// Checks one packet's common header; returns its body length, count and type.
fn packet_header(rest: &[u8], offset: usize, len: usize) -> Result<(BodyLen, usize, u8)> {
    let Some(&[b0, pt, l0, l1]) = rest.first_chunk::<4>() else {
        return Err(Error::Truncated {
            needed: offset + 4,
            len,
        });
    };
    if b0 >> 6 != 2 {
        return Err(Error::BadVersion(b0 >> 6));
    }
    let words = u16::from_be_bytes([l0, l1]);
    let total = 4 * usize::from(words);
    if total > rest.len() - 4 {
        return Err(Error::BadRtcpLength { words, offset, len });
    }
    let unpadded = if b0 & 0x20 != 0 {
        let pad = if total == 0 { 0 } else { rest[3 + total] };
        if pad == 0 || usize::from(pad) > total {
            return Err(Error::BadPadding(pad));
        }
        total - usize::from(pad)
    } else {
        total
    };
    Ok((BodyLen { total, unpadded }, usize::from(b0 & 0x1F), pt))
}

impl<'a> Iterator for RtcpPackets<'a> {
    type Item = RtcpPacket<'a>;

    fn next(&mut self) -> Option<RtcpPacket<'a>> {
        let (body_len, count, pt) = packet_header(self.rest, 0, self.rest.len()).ok()?;
        let body = self.rest.get(4..4 + body_len.unpadded)?;
        self.rest = self.rest.get(4 + body_len.total..)?;
        let blocks = |from: usize| {
            let end = (from + REPORT_BLOCK_LEN * count).min(body.len());
            ReportBlocks(
                body.get(from..end)
                    .unwrap_or(&[])
                    .chunks_exact(REPORT_BLOCK_LEN),
            )
        };
        Some(match pt {
            PT_SR => RtcpPacket::SenderReport {
                ssrc: word(body, 0),
                info: SenderInfo {
                    ntp: u64::from(word(body, 4)) << 32 | u64::from(word(body, 8)),
                    rtp_ts: word(body, 12),
                    packet_count: word(body, 16),
                    octet_count: word(body, 20),
                },
                reports: blocks(4 + SENDER_INFO_LEN),
            },
            PT_RR => RtcpPacket::ReceiverReport {
                ssrc: word(body, 0),
                reports: blocks(4),
            },
            PT_BYE => {
                let list = body.get(..4 * count).unwrap_or(&[]);
                let tail = body.get(4 * count..).unwrap_or(&[]);
                let reason = match tail.split_first() {
                    Some((&n, text)) => text.get(..usize::from(n)).unwrap_or(&[]),
                    None => &[],
                };
                RtcpPacket::Bye {
                    sources: SsrcList(list.chunks_exact(4)),
                    reason,
                }
            }
            _ => RtcpPacket::Other {
                pt,
                count: count as u8,
                body,
            },
        })
    }
}

/// The compact (middle 32 bits) form of a 64-bit NTP timestamp, as used in LSR/DLSR.
pub const fn compact_ntp(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Round-trip time from a report block (RFC 3550 §6.4.1): `now - LSR - DLSR` in 1/65536 s, where
/// `now` is the compact NTP time the block arrived. `None` without an SR (LSR 0) or if negative.
pub fn rtt(now: u32, lsr: u32, dlsr: u32) -> Option<u32> {
    if lsr == 0 {
        return None;
    }
    let rtt = now.wrapping_sub(lsr).wrapping_sub(dlsr);
    // A "negative" result (clock steps, bogus DLSR) wraps to a huge value.
    (rtt < 0x8000_0000).then_some(rtt)
}

/// Converts a compact NTP duration (1/65536 s units) to a [`Duration`].
pub fn compact_to_duration(compact: u32) -> Duration {
    Duration::from_micros(u64::from(compact) * 1_000_000 / 65_536)
}

/// Converts a [`Duration`] to compact NTP units (1/65536 s), saturating, for DLSR.
pub fn duration_to_compact(d: Duration) -> u32 {
    let units = d.as_micros().saturating_mul(65_536) / 1_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_block() -> ReportBlock {
        ReportBlock {
            ssrc: 0x5566_7788,
            fraction_lost: 25,
            cumulative_lost: 3,
            highest_seq: 0x0001_0010,
            jitter: 12,
            lsr: 0xC3D4_8000,
            dlsr: 0x0001_8000,
        }
    }

    fn sample_info() -> SenderInfo {
        SenderInfo {
            ntp: 0xE1B2_C3D4_8000_0000,
            rtp_ts: 160_000,
            packet_count: 1000,
            octet_count: 160_000,
        }
    }

    /// The SR + SDES layout of RFC 3550 §6.4.1 and §6.5.1, written out by hand.
    const HAND_SR_SDES: [u8; 72] = [
        0x81, 0xC8, 0x00, 0x0C, 0x11, 0x22, 0x33, 0x44, // V=2 RC=1 PT=200 len=12, SSRC
        0xE1, 0xB2, 0xC3, 0xD4, 0x80, 0x00, 0x00, 0x00, // NTP
        0x00, 0x02, 0x71, 0x00, 0x00, 0x00, 0x03, 0xE8, // RTP ts 160000, 1000 packets
        0x00, 0x02, 0x71, 0x00, // 160000 octets
        0x55, 0x66, 0x77, 0x88, 0x19, 0x00, 0x00, 0x03, // block: SSRC, fraction 25, lost 3
        0x00, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x0C, // highest seq, jitter
        0xC3, 0xD4, 0x80, 0x00, 0x00, 0x01, 0x80, 0x00, // LSR, DLSR 1.5 s
        0x81, 0xCA, 0x00, 0x04, 0x11, 0x22, 0x33, 0x44, // SDES SC=1 len=4, SSRC
        0x01, 0x07, b'g', b'w', b'@', b'h', b'o', b's', // CNAME "gw@host"
        b't', 0x00, 0x00, 0x00, // end of items, pad to 32 bits
    ];

    #[test]
    fn writes_the_hand_computed_compound_packet() {
        let mut buf = [0u8; 128];
        let n = write_compound(
            &mut buf,
            0x1122_3344,
            Some(&sample_info()),
            Some(&sample_block()),
            b"gw@host",
        )
        .unwrap();
        assert_eq!(buf[..n], HAND_SR_SDES);
        assert!(write_compound(&mut buf[..30], 1, Some(&sample_info()), None, b"x").is_err());
    }

    #[test]
    fn parses_the_hand_computed_compound_packet() {
        let mut packets = parse_compound(&HAND_SR_SDES).unwrap();
        let Some(RtcpPacket::SenderReport {
            ssrc,
            info,
            mut reports,
        }) = packets.next()
        else {
            panic!("expected SR");
        };
        assert_eq!(ssrc, 0x1122_3344);
        assert_eq!(info, sample_info());
        assert_eq!(reports.next(), Some(sample_block()));
        assert_eq!(reports.next(), None);
        let Some(RtcpPacket::Other { pt, count, body }) = packets.next() else {
            panic!("expected SDES");
        };
        assert_eq!((pt, count, body.len()), (PT_SDES, 1, 16));
        assert!(packets.next().is_none());
    }

    /// RFC 3550 §6.4.2 (RR without blocks when receiving nothing) and §6.6 (BYE with reason).
    #[test]
    fn rr_and_bye_round_trip() {
        let mut buf = [0u8; 64];
        let n = write_compound(&mut buf, 9, None, None, b"a").unwrap();
        assert_eq!(buf[..8], [0x80, 0xC9, 0x00, 0x01, 0, 0, 0, 9]);
        let m = write_bye(&mut buf[n..], 9, b"bye").unwrap();
        assert_eq!(
            buf[n..n + m],
            [0x81, 0xCB, 0, 2, 0, 0, 0, 9, 3, b'b', b'y', b'e']
        );
        let mut packets = parse_compound(&buf[..n + m]).unwrap();
        assert!(matches!(
            packets.next(),
            Some(RtcpPacket::ReceiverReport { ssrc: 9, reports }) if reports.clone().count() == 0
        ));
        assert!(matches!(
            packets.next(),
            Some(RtcpPacket::Other { pt: PT_SDES, .. })
        ));
        let Some(RtcpPacket::Bye { sources, reason }) = packets.next() else {
            panic!("expected BYE");
        };
        assert_eq!(sources.collect::<Vec<_>>(), vec![9]);
        assert_eq!(reason, b"bye");
        assert_eq!(write_bye(&mut buf, 9, b"").unwrap(), 8);
    }

    /// RFC 3550 §6.4.1: cumulative lost is a 24-bit signed field.
    #[test]
    fn cumulative_lost_is_signed_24_bit_and_clamped() {
        let mut buf = [0u8; 64];
        for (lost, wire, back) in [
            (-1, [0xFF, 0xFF, 0xFF], -1),
            (10_000_000, [0x7F, 0xFF, 0xFF], 0x7F_FFFF),
            (-10_000_000, [0x80, 0x00, 0x00], -0x80_0000),
        ] {
            let block = ReportBlock {
                cumulative_lost: lost,
                ..ReportBlock::default()
            };
            let n = write_rr(&mut buf, 1, &[block]).unwrap();
            assert_eq!(buf[13..16], wire);
            let Some(RtcpPacket::ReceiverReport { mut reports, .. }) =
                parse_compound(&buf[..n]).unwrap().next()
            else {
                panic!("expected RR");
            };
            assert_eq!(reports.next().unwrap().cumulative_lost, back);
        }
        assert!(write_rr(&mut buf, 1, &[ReportBlock::default(); 32]).is_err());
    }

    /// RFC 3550 §6.4.1 worked example: A=0xb710:8000, LSR=0xb705:2000, DLSR=0x0005:4000 gives
    /// a delay of 0x0006:2000 (6.125 s).
    #[test]
    fn rtt_matches_the_rfc_example() {
        let rtt_units = rtt(0xB710_8000, 0xB705_2000, 0x0005_4000).unwrap();
        assert_eq!(rtt_units, 0x0006_2000);
        assert_eq!(compact_to_duration(rtt_units), Duration::from_millis(6125));
        assert_eq!(rtt(0xB710_8000, 0, 0x0005_4000), None);
        assert_eq!(rtt(0xB705_2000, 0xB705_2000, 1), None);
        assert_eq!(compact_ntp(0xE1B2_C3D4_8000_0000), 0xC3D4_8000);
        assert_eq!(
            duration_to_compact(Duration::from_millis(1500)),
            0x0001_8000
        );
        assert_eq!(duration_to_compact(Duration::from_secs(1 << 20)), u32::MAX);
    }

    /// RFC 3550 A.2 validity checks: version, lengths, padding only on the last packet.
    #[test]
    fn rejects_invalid_compound_packets() {
        assert_eq!(parse_compound(&[]).err(), Some(Error::EmptyRtcp));
        let mut p = HAND_SR_SDES;
        p[0] = 0x41;
        assert_eq!(parse_compound(&p).err(), Some(Error::BadVersion(1)));
        assert!(matches!(
            parse_compound(&HAND_SR_SDES[..70]),
            Err(Error::BadRtcpLength { .. })
        ));
        assert!(matches!(
            parse_compound(&HAND_SR_SDES[..54]),
            Err(Error::Truncated { .. })
        ));
        // SR claiming 2 blocks but long enough for one.
        let mut p = HAND_SR_SDES;
        p[0] = 0x82;
        assert!(matches!(parse_compound(&p), Err(Error::Truncated { .. })));
        // Padding on the first packet of two.
        let mut p = HAND_SR_SDES;
        p[0] |= 0x20;
        p[51] = 4;
        assert!(matches!(parse_compound(&p), Err(Error::BadPadding(4))));
        // Padding on the last packet is fine: SDES body shrinks by 4.
        let mut p = HAND_SR_SDES;
        p[52] |= 0x20;
        p[71] = 4;
        let sdes = parse_compound(&p).unwrap().nth(1).unwrap();
        assert!(matches!(sdes, RtcpPacket::Other { body, .. } if body.len() == 12));
        // BYE whose reason length runs past the packet.
        let bye = [0x81, 0xCB, 0, 2, 0, 0, 0, 9, 7, b'b', b'y', b'e'];
        assert!(matches!(parse_compound(&bye), Err(Error::Truncated { .. })));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
            if let Ok(packets) = parse_compound(&bytes) {
                for p in packets {
                    match p {
                        RtcpPacket::SenderReport { reports, .. }
                        | RtcpPacket::ReceiverReport { reports, .. } => { let _ = reports.count(); }
                        RtcpPacket::Bye { sources, .. } => { let _ = sources.count(); }
                        RtcpPacket::Other { .. } => {}
                    }
                }
            }
        }

        #[test]
        fn sr_write_then_parse_round_trips(
            ssrc: u32, ntp: u64, rtp_ts: u32, packet_count: u32, octet_count: u32,
            bssrc: u32, fraction_lost: u8, cumulative_lost in -0x80_0000i32..=0x7F_FFFF,
            highest_seq: u32, jitter: u32, lsr: u32, dlsr: u32,
        ) {
            let info = SenderInfo { ntp, rtp_ts, packet_count, octet_count };
            let block = ReportBlock {
                ssrc: bssrc, fraction_lost, cumulative_lost, highest_seq, jitter, lsr, dlsr,
            };
            let mut buf = [0u8; 128];
            let n = write_compound(&mut buf, ssrc, Some(&info), Some(&block), b"cname").unwrap();
            let mut packets = parse_compound(&buf[..n]).unwrap();
            let Some(RtcpPacket::SenderReport { ssrc: s, info: i, mut reports }) = packets.next()
            else {
                panic!("expected SR");
            };
            prop_assert_eq!((s, i), (ssrc, info));
            prop_assert_eq!(reports.next(), Some(block));
        }
    }
}
