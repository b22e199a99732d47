//! Reading the RTCP the gateway sends, in tests: a compound datagram split into its packets.

use anyhow::{Result, bail};

/// One RTCP packet of a compound: version, packet type, the 5-bit count field (RC/SC, or FMT in
/// feedback messages) and the body after the 4-byte header.
pub(crate) struct Packet<'a> {
    /// Version (2).
    pub(crate) version: u8,
    /// Packet type (200 SR, 201 RR, 202 SDES, 205 RTPFB, 206 PSFB...).
    pub(crate) pt: u8,
    /// Report count, source count, or feedback message type (FMT).
    pub(crate) count: u8,
    /// The packet after its header.
    pub(crate) body: &'a [u8],
}

/// Splits a compound RTCP datagram into its packets (RFC 3550 section 6.4, length in words - 1).
pub(crate) fn split_compound(mut data: &[u8]) -> Result<Vec<Packet<'_>>> {
    let mut packets = Vec::new();
    while !data.is_empty() {
        let Some(header) = data.first_chunk::<4>() else {
            bail!("{} trailing bytes, shorter than an RTCP header", data.len());
        };
        let len = (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1) * 4;
        let Some(packet) = data.get(..len) else {
            bail!("RTCP length {len} overruns the {} bytes left", data.len());
        };
        packets.push(Packet {
            version: header[0] >> 6,
            pt: header[1],
            count: header[0] & 0x1f,
            body: &packet[4..],
        });
        data = &data[len..];
    }
    Ok(packets)
}
