//! RTCP feedback for the video path on the plain-RTP leg: keyframe requests (PLI, RFC 4585 §6.3.1;
//! FIR, RFC 5104 §4.3.1), receiver bandwidth estimates (REMB, draft-alvestrand-rmcat-remb-03), and
//! recognition of the transport feedback we do not act on (generic NACK, RFC 4585 §6.2.1; transport-wide
//! congestion control, draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
//!
//! Parsing works on the [`RtcpPacket::Other`] packets of [`rtcp::parse_compound`], which has already
//! validated the lengths; writers fill caller buffers and never allocate. To walk every feedback
//! message of a compound packet: `parse_compound(buf)?.filter_map(|p| parse_feedback(&p))`.

use crate::rtcp::{self, RtcpPacket, SsrcList, room, word, write_common};
use crate::{Error, Result};

/// Transport-layer feedback (RFC 4585 §6.1).
pub const PT_RTPFB: u8 = 205;
/// Payload-specific feedback (RFC 4585 §6.1).
pub const PT_PSFB: u8 = 206;
/// FMT of a generic NACK under [`PT_RTPFB`] (RFC 4585 §6.2.1).
pub const FMT_NACK: u8 = 1;
/// FMT of transport-wide congestion control feedback under [`PT_RTPFB`].
pub const FMT_TRANSPORT_CC: u8 = 15;
/// FMT of a picture loss indication under [`PT_PSFB`] (RFC 4585 §6.3.1).
pub const FMT_PLI: u8 = 1;
/// FMT of a full intra request under [`PT_PSFB`] (RFC 5104 §4.3.1).
pub const FMT_FIR: u8 = 4;
/// FMT of application-layer feedback (REMB) under [`PT_PSFB`] (RFC 4585 §6.4).
pub const FMT_AFB: u8 = 15;
/// Bytes of a PLI: header, sender SSRC, media SSRC, no FCI.
pub const PLI_LEN: usize = 12;
/// Bytes of a FIR with one FCI entry.
pub const FIR_LEN: usize = 20;

/// Sender SSRC + media source SSRC, common to every feedback message (RFC 4585 §6.1).
const COMMON_FB_LEN: usize = 8;
const FIR_ENTRY_LEN: usize = 8;
const REMB_ID: [u8; 4] = *b"REMB";
const REMB_MANTISSA_BITS: u32 = 18;

/// One recognised RTCP feedback message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// Picture loss indication: the receiver wants a keyframe (RFC 4585 §6.3.1).
    Pli {
        /// SSRC of the packet sender.
        sender_ssrc: u32,
        /// SSRC of the stream that lost pictures.
        media_ssrc: u32,
    },
    /// Full intra request, first FCI entry (RFC 5104 §4.3.1); see [`fir_entries`] for the others.
    Fir {
        /// SSRC of the packet sender.
        sender_ssrc: u32,
        /// SSRC of the stream that should send a keyframe.
        target_ssrc: u32,
        /// Command sequence number; a repeat of the same number is the same request.
        seq_nr: u8,
    },
    /// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03 §2.2); see [`remb_ssrcs`].
    Remb {
        /// SSRC of the packet sender.
        sender_ssrc: u32,
        /// Estimated total bitrate for the listed streams, in bits per second.
        bitrate_bps: u64,
        /// Number of SSRCs the estimate applies to.
        num_ssrcs: u8,
        /// The first of them, if any.
        first_ssrc: Option<u32>,
    },
    /// Generic NACK (RFC 4585 §6.2.1): recognised, not acted on (no retransmission on this leg).
    Nack {
        /// SSRC of the packet sender.
        sender_ssrc: u32,
        /// SSRC of the stream with losses.
        media_ssrc: u32,
    },
    /// Transport-wide congestion control feedback (RTPFB FMT 15): recognised, not acted on.
    TransportCc {
        /// SSRC of the packet sender.
        sender_ssrc: u32,
        /// Media source SSRC field as sent.
        media_ssrc: u32,
    },
}

impl Feedback {
    /// True for PLI and FIR, the two ways to ask for a keyframe.
    pub fn is_keyframe_request(&self) -> bool {
        matches!(self, Feedback::Pli { .. } | Feedback::Fir { .. })
    }

    /// SSRC of the packet sender.
    pub fn sender_ssrc(&self) -> u32 {
        match *self {
            Feedback::Pli { sender_ssrc, .. }
            | Feedback::Fir { sender_ssrc, .. }
            | Feedback::Remb { sender_ssrc, .. }
            | Feedback::Nack { sender_ssrc, .. }
            | Feedback::TransportCc { sender_ssrc, .. } => sender_ssrc,
        }
    }
}

/// One FCI entry of a FIR (RFC 5104 §4.3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirEntry {
    /// SSRC of the stream that should send a keyframe.
    pub ssrc: u32,
    /// Command sequence number.
    pub seq_nr: u8,
}

/// FCI entries of a FIR, read lazily.
#[derive(Debug, Clone)]
pub struct FirEntries<'a>(std::slice::ChunksExact<'a, u8>);

impl Iterator for FirEntries<'_> {
    type Item = FirEntry;

    fn next(&mut self) -> Option<FirEntry> {
        let entry = self.0.next()?;
        Some(FirEntry {
            ssrc: word(entry, 0),
            seq_nr: *entry.get(4)?,
        })
    }
}

/// Splits a feedback body into (sender SSRC, media SSRC, FCI) if it is a feedback type.
fn split<'a>(packet: &RtcpPacket<'a>) -> Option<(u8, u8, u32, u32, &'a [u8])> {
    let &RtcpPacket::Other { pt, count, body } = packet else {
        return None;
    };
    if pt != PT_RTPFB && pt != PT_PSFB {
        return None;
    }
    let fci = body.get(COMMON_FB_LEN..)?;
    Some((pt, count, word(body, 0), word(body, 4), fci))
}

/// RFC 5104 §4.3.1.2: one or more 8-byte entries, nothing left over.
fn fir_fci(fci: &[u8]) -> Option<FirEntries<'_>> {
    (!fci.is_empty() && fci.len().is_multiple_of(FIR_ENTRY_LEN))
        .then(|| FirEntries(fci.chunks_exact(FIR_ENTRY_LEN)))
}

/// The REMB FCI (draft-alvestrand-rmcat-remb-03 §2.2): bitrate and the SSRC list bytes.
fn remb_fci(fci: &[u8]) -> Option<(u64, u8, &[u8])> {
    let (head, ssrcs) = fci.split_first_chunk::<8>()?;
    if head[..4] != REMB_ID || ssrcs.len() != 4 * usize::from(head[4]) {
        return None;
    }
    let exp = u32::from(head[5] >> 2);
    let mantissa = u64::from(word(head, 4) & ((1 << REMB_MANTISSA_BITS) - 1));
    // A mantissa shifted past bit 63 is no bitrate; libwebrtc rejects it too. exp <= 63, so the
    // shift itself cannot overflow.
    if exp > mantissa.leading_zeros() {
        return None;
    }
    Some((mantissa << exp, head[4], ssrcs))
}

/// Recognises a feedback message; `None` for other packet types, unknown FMTs and malformed FCI.
///
/// RFC 4585 §6.3.1.2 says a PLI has no FCI; like libwebrtc we ignore any that is there, because a
/// missed keyframe request freezes the picture while a spurious one only costs a keyframe.
pub fn parse_feedback(packet: &RtcpPacket<'_>) -> Option<Feedback> {
    let (pt, fmt, sender_ssrc, media_ssrc, fci) = split(packet)?;
    match (pt, fmt) {
        (PT_PSFB, FMT_PLI) => Some(Feedback::Pli {
            sender_ssrc,
            media_ssrc,
        }),
        (PT_PSFB, FMT_FIR) => {
            let first = fir_fci(fci)?.next()?;
            Some(Feedback::Fir {
                sender_ssrc,
                target_ssrc: first.ssrc,
                seq_nr: first.seq_nr,
            })
        }
        (PT_PSFB, FMT_AFB) => {
            let (bitrate_bps, num_ssrcs, ssrcs) = remb_fci(fci)?;
            Some(Feedback::Remb {
                sender_ssrc,
                bitrate_bps,
                num_ssrcs,
                first_ssrc: (!ssrcs.is_empty()).then(|| word(ssrcs, 0)),
            })
        }
        // RFC 4585 §6.2.1: at least one 4-byte PID + BLP entry.
        (PT_RTPFB, FMT_NACK) => {
            (!fci.is_empty() && fci.len().is_multiple_of(4)).then_some(Feedback::Nack {
                sender_ssrc,
                media_ssrc,
            })
        }
        // Base sequence, status count, reference time and feedback count come first: 8 bytes.
        (PT_RTPFB, FMT_TRANSPORT_CC) => (fci.len() >= 8).then_some(Feedback::TransportCc {
            sender_ssrc,
            media_ssrc,
        }),
        _ => None,
    }
}

/// All FCI entries of a FIR; `None` if `packet` is not a well-formed FIR.
pub fn fir_entries<'a>(packet: &RtcpPacket<'a>) -> Option<FirEntries<'a>> {
    match split(packet)? {
        (PT_PSFB, FMT_FIR, _, _, fci) => fir_fci(fci),
        _ => None,
    }
}

/// The SSRCs a REMB applies to; `None` if `packet` is not a well-formed REMB.
pub fn remb_ssrcs<'a>(packet: &RtcpPacket<'a>) -> Option<SsrcList<'a>> {
    match split(packet)? {
        (PT_PSFB, FMT_AFB, _, _, fci) => {
            remb_fci(fci).map(|(_, _, ssrcs)| SsrcList(ssrcs.chunks_exact(4)))
        }
        _ => None,
    }
}

/// True when `compound` is a valid RTCP packet holding a PLI or a FIR (for any SSRC). Never panics.
pub fn keyframe_requested(compound: &[u8]) -> bool {
    rtcp::parse_compound(compound).is_ok_and(|mut packets| {
        packets.any(|p| parse_feedback(&p).is_some_and(|f| f.is_keyframe_request()))
    })
}

/// Writes sender SSRC and media SSRC after the header; `buf` holds at least 12 bytes.
fn write_fb_head(buf: &mut [u8], fmt: u8, pt: u8, len: usize, sender: u32, media: u32) {
    write_common(buf, usize::from(fmt), pt, len);
    buf[4..8].copy_from_slice(&sender.to_be_bytes());
    buf[8..12].copy_from_slice(&media.to_be_bytes());
}

/// Writes a PLI (RFC 4585 §6.3.1); returns its length, [`PLI_LEN`].
pub fn write_pli(buf: &mut [u8], sender_ssrc: u32, media_ssrc: u32) -> Result<usize> {
    room(buf, PLI_LEN)?;
    write_fb_head(buf, FMT_PLI, PT_PSFB, PLI_LEN, sender_ssrc, media_ssrc);
    Ok(PLI_LEN)
}

/// Writes a FIR with one entry (RFC 5104 §4.3.1); returns its length, [`FIR_LEN`]. The caller
/// increments `seq_nr` for each new request and repeats it for a retransmission (§4.3.1.2).
pub fn write_fir(buf: &mut [u8], sender_ssrc: u32, target_ssrc: u32, seq_nr: u8) -> Result<usize> {
    room(buf, FIR_LEN)?;
    // §4.3.1.2: the media source SSRC field is unused and set to 0.
    write_fb_head(buf, FMT_FIR, PT_PSFB, FIR_LEN, sender_ssrc, 0);
    buf[12..16].copy_from_slice(&target_ssrc.to_be_bytes());
    buf[16..20].copy_from_slice(&[seq_nr, 0, 0, 0]);
    Ok(FIR_LEN)
}

/// REMB exponent and mantissa: the largest mantissa that fits 18 bits, rounding down.
fn remb_exp_mantissa(bitrate_bps: u64) -> (u32, u32) {
    let exp = (u64::BITS - bitrate_bps.leading_zeros()).saturating_sub(REMB_MANTISSA_BITS);
    // exp <= 46 and the shifted value has at most 18 significant bits, so it fits a u32.
    (exp, (bitrate_bps >> exp) as u32)
}

/// Writes a REMB (draft-alvestrand-rmcat-remb-03 §2.2) for `ssrcs`; returns its length. The
/// bitrate is rounded down to what the 6-bit exponent and 18-bit mantissa can carry.
pub fn write_remb(
    buf: &mut [u8],
    sender_ssrc: u32,
    bitrate_bps: u64,
    ssrcs: &[u32],
) -> Result<usize> {
    let num = u8::try_from(ssrcs.len()).map_err(|_| Error::OutOfRange("REMB over 255 SSRCs"))?;
    let len = 4 + COMMON_FB_LEN + 8 + 4 * ssrcs.len();
    room(buf, len)?;
    // Media source SSRC is always 0 (§2.2).
    write_fb_head(buf, FMT_AFB, PT_PSFB, len, sender_ssrc, 0);
    buf[12..16].copy_from_slice(&REMB_ID);
    let (exp, mantissa) = remb_exp_mantissa(bitrate_bps);
    buf[16..20].copy_from_slice(&(u32::from(num) << 24 | exp << 18 | mantissa).to_be_bytes());
    for (ssrc, out) in ssrcs.iter().zip(buf[20..len].chunks_exact_mut(4)) {
        out.copy_from_slice(&ssrc.to_be_bytes());
    }
    Ok(len)
}

/// Writes a minimal compound feedback packet (RFC 4585 §3.1 a): an RR without report blocks, an
/// SDES CNAME, then what `fb` writes into the rest of `buf` (e.g. [`write_pli`]); returns the
/// total length.
pub fn write_rr_with(
    buf: &mut [u8],
    sender_ssrc: u32,
    cname: &[u8],
    fb: impl FnOnce(&mut [u8]) -> Result<usize>,
) -> Result<usize> {
    let n = rtcp::write_compound(buf, sender_ssrc, None, None, cname)?;
    // write_compound checked n <= buf.len().
    let rest = &mut buf[n..];
    let room_left = rest.len();
    let m = fb(rest)?;
    if m > room_left {
        return Err(Error::OutOfRange(
            "feedback writer claims more bytes than it had",
        ));
    }
    Ok(n + m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{PT_RR, PT_SDES, parse_compound};
    use proptest::prelude::*;

    const SENDER: u32 = 0x1122_3344;
    const MEDIA: u32 = 0x5566_7788;

    /// The first packet of `bytes`, as feedback.
    fn parse_one(bytes: &[u8]) -> Option<Feedback> {
        parse_feedback(&parse_compound(bytes).ok()?.next()?)
    }

    /// RFC 4585 §6.1 common format with §6.3.1.2's PLI: FMT 1, PT 206, length 2, no FCI.
    const HAND_PLI: [u8; 12] = [
        0x81, 0xCE, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44, // V=2 FMT=1 PT=206 len=2, sender SSRC
        0x55, 0x66, 0x77, 0x88, // media source SSRC
    ];

    /// RFC 5104 §4.3.1.1: FMT 4, media source SSRC 0, one FCI entry (SSRC, seq nr, reserved).
    const HAND_FIR: [u8; 20] = [
        0x84, 0xCE, 0x00, 0x04, 0x11, 0x22, 0x33, 0x44, // V=2 FMT=4 PT=206 len=4, sender SSRC
        0x00, 0x00, 0x00, 0x00, 0x55, 0x66, 0x77, 0x88, // media SSRC 0, FCI SSRC
        0x07, 0x00, 0x00, 0x00, // seq nr 7, reserved
    ];

    /// draft-alvestrand-rmcat-remb-03 §2.2, 1.5 Mbit/s for two SSRCs: 1 500 000 needs 21 bits, so
    /// exp = 3 and mantissa = 187 500 (0x2DC6C); 2 << 24 | 3 << 18 | 0x2DC6C = 0x020EDC6C.
    const HAND_REMB: [u8; 28] = [
        0x8F, 0xCE, 0x00, 0x06, 0x11, 0x22, 0x33,
        0x44, // V=2 FMT=15 PT=206 len=6, sender SSRC
        0x00, 0x00, 0x00, 0x00, b'R', b'E', b'M', b'B', // media SSRC 0, identifier
        0x02, 0x0E, 0xDC, 0x6C, 0x55, 0x66, 0x77, 0x88, // num 2, exp 3, mantissa; SSRC 1
        0x99, 0xAA, 0xBB, 0xCC, // SSRC 2
    ];

    /// RFC 4585 §6.3.1: the PLI matches the hand-built bytes both ways.
    #[test]
    fn pli_matches_the_rfc_layout() {
        let mut buf = [0u8; 32];
        assert_eq!(write_pli(&mut buf, SENDER, MEDIA), Ok(PLI_LEN));
        assert_eq!(buf[..PLI_LEN], HAND_PLI);
        let pli = parse_one(&HAND_PLI).unwrap();
        assert_eq!(
            pli,
            Feedback::Pli {
                sender_ssrc: SENDER,
                media_ssrc: MEDIA
            }
        );
        assert!(pli.is_keyframe_request());
        assert_eq!(pli.sender_ssrc(), SENDER);
        assert!(write_pli(&mut buf[..11], SENDER, MEDIA).is_err());
    }

    /// RFC 5104 §4.3.1: the FIR matches the hand-built bytes both ways.
    #[test]
    fn fir_matches_the_rfc_layout() {
        let mut buf = [0u8; 32];
        assert_eq!(write_fir(&mut buf, SENDER, MEDIA, 7), Ok(FIR_LEN));
        assert_eq!(buf[..FIR_LEN], HAND_FIR);
        let fir = parse_one(&HAND_FIR).unwrap();
        assert_eq!(
            fir,
            Feedback::Fir {
                sender_ssrc: SENDER,
                target_ssrc: MEDIA,
                seq_nr: 7
            }
        );
        assert!(fir.is_keyframe_request());
        assert_eq!(
            write_fir(&mut buf[..19], SENDER, MEDIA, 7),
            Err(Error::BufferTooSmall {
                needed: 20,
                len: 19
            })
        );
    }

    /// RFC 5104 §4.3.1.1: one FIR may address several streams; each entry is a keyframe request.
    #[test]
    fn fir_with_several_entries() {
        let mut fir = [0u8; 28];
        fir[..20].copy_from_slice(&HAND_FIR);
        fir[3] = 6;
        fir[20..].copy_from_slice(&[0xAA, 0xBB, 0xCC, 0xDD, 9, 0, 0, 0]);
        let packet = parse_compound(&fir).unwrap().next().unwrap();
        let entries: Vec<_> = fir_entries(&packet).unwrap().collect();
        assert_eq!(
            entries,
            [
                FirEntry {
                    ssrc: MEDIA,
                    seq_nr: 7
                },
                FirEntry {
                    ssrc: 0xAABB_CCDD,
                    seq_nr: 9
                }
            ]
        );
        assert!(matches!(
            parse_feedback(&packet),
            Some(Feedback::Fir {
                target_ssrc: MEDIA,
                ..
            })
        ));
        assert!(keyframe_requested(&fir));
        let pli = parse_compound(&HAND_PLI).unwrap().next().unwrap();
        assert!(fir_entries(&pli).is_none());
    }

    /// draft-alvestrand-rmcat-remb-03 §2.2: exponent, mantissa and SSRC list.
    #[test]
    fn remb_matches_the_hand_computed_bytes() {
        let mut buf = [0u8; 64];
        let ssrcs = [MEDIA, 0x99AA_BBCC];
        assert_eq!(write_remb(&mut buf, SENDER, 1_500_000, &ssrcs), Ok(28));
        assert_eq!(buf[..28], HAND_REMB);
        let packet = parse_compound(&HAND_REMB).unwrap().next().unwrap();
        let remb = parse_feedback(&packet).unwrap();
        assert_eq!(
            remb,
            Feedback::Remb {
                sender_ssrc: SENDER,
                bitrate_bps: 1_500_000,
                num_ssrcs: 2,
                first_ssrc: Some(MEDIA)
            }
        );
        assert!(!remb.is_keyframe_request());
        assert_eq!(remb_ssrcs(&packet).unwrap().collect::<Vec<_>>(), ssrcs);
        assert!(write_remb(&mut buf[..27], SENDER, 1, &ssrcs).is_err());
        assert_eq!(
            write_remb(&mut [0u8; 2048], SENDER, 1, &[0; 256]),
            Err(Error::OutOfRange("REMB over 255 SSRCs"))
        );
    }

    /// draft-alvestrand-rmcat-remb-03 §2.2: the largest 18-bit mantissa, never rounding up.
    #[test]
    fn remb_exponent_and_mantissa() {
        assert_eq!(remb_exp_mantissa(0), (0, 0));
        assert_eq!(remb_exp_mantissa(0x3_FFFF), (0, 0x3_FFFF));
        assert_eq!(remb_exp_mantissa(0x4_0000), (1, 0x2_0000));
        assert_eq!(remb_exp_mantissa(1_500_000), (3, 187_500));
        // 1 000 003 needs 20 bits: exp 2, mantissa 250 000, sent as 1 000 000.
        assert_eq!(remb_exp_mantissa(1_000_003), (2, 250_000));
        assert_eq!(remb_exp_mantissa(u64::MAX), (46, 0x3_FFFF));
        let mut buf = [0u8; 20];
        write_remb(&mut buf, SENDER, u64::MAX, &[]).unwrap();
        assert_eq!(
            parse_one(&buf),
            Some(Feedback::Remb {
                sender_ssrc: SENDER,
                bitrate_bps: 0x3_FFFF << 46,
                num_ssrcs: 0,
                first_ssrc: None
            })
        );
        // exp 63 with a 2-bit mantissa does not fit 64 bits.
        buf[16..20].copy_from_slice(&[0x00, 0xFC, 0x00, 0x02]);
        assert_eq!(parse_one(&buf), None);
        buf[16..20].copy_from_slice(&[0x00, 0xFC, 0x00, 0x01]);
        assert!(
            matches!(parse_one(&buf), Some(Feedback::Remb { bitrate_bps, .. }) if bitrate_bps == 1 << 63)
        );
    }

    /// RFC 4585 §3.1 a: RR, SDES CNAME, then the feedback; it is a keyframe request.
    #[test]
    fn compound_rr_sdes_pli() {
        let mut buf = [0u8; 64];
        let n = write_rr_with(&mut buf, SENDER, b"gw", |b| write_pli(b, SENDER, MEDIA)).unwrap();
        // RR 8 bytes, SDES 4 + SSRC + type, length, "gw", null, padded to 16, PLI 12.
        assert_eq!(n, 8 + 16 + 12);
        assert_eq!(buf[..8], [0x80, 0xC9, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44]);
        assert_eq!(buf[24..n], HAND_PLI);
        let mut packets = parse_compound(&buf[..n]).unwrap();
        assert!(matches!(
            packets.next(),
            Some(RtcpPacket::ReceiverReport { ssrc: SENDER, .. })
        ));
        assert!(matches!(
            packets.next(),
            Some(RtcpPacket::Other { pt: PT_SDES, .. })
        ));
        assert_eq!(
            packets.next().as_ref().and_then(parse_feedback),
            Some(Feedback::Pli {
                sender_ssrc: SENDER,
                media_ssrc: MEDIA
            })
        );
        assert!(keyframe_requested(&buf[..n]));
        assert_eq!(buf[0] & 0x1F, 0);
        assert_eq!(buf[1], PT_RR);

        let n = write_rr_with(&mut buf, SENDER, b"gw", |b| write_fir(b, SENDER, MEDIA, 1)).unwrap();
        assert!(keyframe_requested(&buf[..n]));
        let n = write_rr_with(&mut buf, SENDER, b"gw", |b| write_remb(b, SENDER, 1, &[])).unwrap();
        assert!(!keyframe_requested(&buf[..n]));
        // Room for RR + SDES but not the PLI.
        assert!(write_rr_with(&mut buf[..25], SENDER, b"gw", |b| write_pli(b, 1, 2)).is_err());
        assert!(write_rr_with(&mut buf[..25], SENDER, b"gw", |_| Ok(6)).is_err());
    }

    /// RFC 5506 §3: a reduced-size PLI on its own is still a keyframe request; garbage is not.
    #[test]
    fn keyframe_requested_on_odd_input() {
        assert!(keyframe_requested(&HAND_PLI));
        assert!(!keyframe_requested(&[]));
        assert!(!keyframe_requested(&HAND_PLI[..11]));
        assert!(!keyframe_requested(&[0xFF; 40]));
        assert!(!keyframe_requested(&HAND_REMB));
        // A PLI followed by a broken packet: the whole compound packet is invalid (RFC 3550 A.2).
        let mut p = [0u8; 16];
        p[..12].copy_from_slice(&HAND_PLI);
        p[12..].copy_from_slice(&[0x81, 0xCE, 0x00, 0x02]);
        assert!(!keyframe_requested(&p));
    }

    /// RFC 4585 §6.1, §6.2.1, RFC 5104 §4.3.1.2, REMB §2.2: short or misaligned FCI is rejected.
    #[test]
    fn wrong_lengths_are_not_feedback() {
        fn other(pt: u8, count: u8, body: &[u8]) -> Option<Feedback> {
            parse_feedback(&RtcpPacket::Other { pt, count, body })
        }
        // Shorter than sender + media SSRC.
        assert_eq!(other(PT_PSFB, FMT_PLI, &HAND_PLI[4..11]), None);
        // FIR without an entry, and with a partial one.
        assert_eq!(other(PT_PSFB, FMT_FIR, &HAND_FIR[4..12]), None);
        assert_eq!(other(PT_PSFB, FMT_FIR, &HAND_FIR[4..16]), None);
        assert_eq!(
            other(
                PT_PSFB,
                FMT_FIR,
                &[HAND_FIR[4..].as_ref(), &[0; 4]].concat()
            ),
            None
        );
        // REMB claiming 3 SSRCs with 2, with 2 plus trailing bytes, and with the wrong identifier.
        let mut remb = HAND_REMB;
        remb[16] = 3;
        assert_eq!(other(PT_PSFB, FMT_AFB, &remb[4..]), None);
        assert_eq!(
            other(
                PT_PSFB,
                FMT_AFB,
                &[HAND_REMB[4..].as_ref(), &[0; 4]].concat()
            ),
            None
        );
        let mut remb = HAND_REMB;
        remb[15] = b'X';
        assert_eq!(other(PT_PSFB, FMT_AFB, &remb[4..]), None);
        assert_eq!(other(PT_PSFB, FMT_AFB, &HAND_REMB[4..19]), None);
        // NACK needs at least one PID + BLP entry.
        let nack = [0, 0, 0, 1, 0, 0, 0, 2, 0x12, 0x34, 0x00, 0x05];
        assert_eq!(
            other(PT_RTPFB, FMT_NACK, &nack),
            Some(Feedback::Nack {
                sender_ssrc: 1,
                media_ssrc: 2
            })
        );
        assert_eq!(other(PT_RTPFB, FMT_NACK, &nack[..8]), None);
        assert_eq!(other(PT_RTPFB, FMT_NACK, &nack[..10]), None);
        // Transport-wide CC: recognised once the fixed part of its FCI is there.
        let twcc = [0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            other(PT_RTPFB, FMT_TRANSPORT_CC, &twcc),
            Some(Feedback::TransportCc {
                sender_ssrc: 1,
                media_ssrc: 2
            })
        );
        assert_eq!(other(PT_RTPFB, FMT_TRANSPORT_CC, &twcc[..15]), None);
        // Unknown FMTs and non-feedback packet types.
        assert_eq!(other(PT_PSFB, 2, &HAND_PLI[4..]), None);
        assert_eq!(other(PT_RTPFB, FMT_PLI + 2, &nack), None);
        assert_eq!(other(PT_SDES, FMT_PLI, &HAND_PLI[4..]), None);
        assert_eq!(parse_one(&[0x80, 0xC9, 0, 1, 0, 0, 0, 1]), None);
        assert!(
            remb_ssrcs(&RtcpPacket::Other {
                pt: PT_PSFB,
                count: FMT_PLI,
                body: &HAND_REMB[4..]
            })
            .is_none()
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let _ = keyframe_requested(&bytes);
            if let Ok(packets) = parse_compound(&bytes) {
                for p in packets {
                    let _ = parse_feedback(&p);
                }
            }
        }

        #[test]
        fn never_panics_on_arbitrary_feedback_bodies(
            pt in 205u8..=206, count in 0u8..32, body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let packet = RtcpPacket::Other { pt, count, body: &body };
            let _ = parse_feedback(&packet);
            let _ = fir_entries(&packet).map(Iterator::count);
            let _ = remb_ssrcs(&packet).map(Iterator::count);
        }

        #[test]
        fn pli_and_fir_round_trip(sender: u32, media: u32, seq_nr: u8) {
            let mut buf = [0u8; 20];
            let n = write_pli(&mut buf, sender, media).unwrap();
            prop_assert_eq!(parse_one(&buf[..n]), Some(Feedback::Pli { sender_ssrc: sender, media_ssrc: media }));
            let n = write_fir(&mut buf, sender, media, seq_nr).unwrap();
            prop_assert_eq!(
                parse_one(&buf[..n]),
                Some(Feedback::Fir { sender_ssrc: sender, target_ssrc: media, seq_nr })
            );
        }

        #[test]
        fn remb_round_trips_rounding_down(
            sender: u32, bitrate: u64, ssrcs in proptest::collection::vec(any::<u32>(), 0..8),
        ) {
            let mut buf = [0u8; 64];
            let n = write_remb(&mut buf, sender, bitrate, &ssrcs).unwrap();
            let packet = parse_compound(&buf[..n]).unwrap().next().unwrap();
            let Some(Feedback::Remb { sender_ssrc, bitrate_bps, num_ssrcs, first_ssrc }) =
                parse_feedback(&packet)
            else {
                panic!("expected REMB");
            };
            let (exp, mantissa) = remb_exp_mantissa(bitrate);
            prop_assert_eq!(sender_ssrc, sender);
            prop_assert_eq!(bitrate_bps, u64::from(mantissa) << exp);
            prop_assert!(bitrate_bps <= bitrate && mantissa < 1 << 18);
            // The mantissa is the largest that fits: one more exponent step would lose a bit.
            prop_assert!(exp == 0 || bitrate >> (exp - 1) >= 1 << 18);
            prop_assert_eq!(usize::from(num_ssrcs), ssrcs.len());
            prop_assert_eq!(first_ssrc, ssrcs.first().copied());
            prop_assert_eq!(remb_ssrcs(&packet).unwrap().collect::<Vec<_>>(), ssrcs);
        }
    }
}
