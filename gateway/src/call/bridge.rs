//! The per-call media bridge between the browser leg (decrypted RTP) and the SIP leg (plain RTP).
//! Sans-I/O: packets in, packets out, into caller-provided buffers.
//!
//! Passthrough when both legs use the same codec (SSRC/seq/timestamp/PT rewrite only), Opus <-> G.711
//! transcoding at 8 kHz in 20 ms frames otherwise.

use gateway_media::rtp::{self, RtpFields, RtpHeader};
use gateway_media::{G711Law, G711ToOpus, OpusToG711, Packetizer, StreamRewriter};

/// How the two legs are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeMode {
    /// Same codec on both legs.
    Passthrough,
    /// Opus toward the browser, G.711 with this law toward SIP.
    Transcode(G711Law),
}

/// Per-leg identity the bridge writes.
#[derive(Debug, Clone, Copy)]
pub struct LegIds {
    /// Our SSRC on that leg.
    pub ssrc: u32,
    /// The payload type of the audio codec on that leg.
    pub pt: u8,
    /// First sequence number we use.
    pub seq: u16,
    /// First timestamp we use.
    pub ts: u32,
}

enum Direction {
    Passthrough(StreamRewriter),
    OpusToG711 {
        codec: Box<OpusToG711>,
        out: Packetizer,
    },
    G711ToOpus {
        codec: Box<G711ToOpus>,
        out: Packetizer,
    },
}

/// The bridge of one call.
pub struct Bridge {
    mode: BridgeMode,
    browser_pt: u8,
    sip_pt: u8,
    to_sip: Direction,
    to_browser: Direction,
    scratch: Vec<u8>,
}

/// Opus frames are 20 ms: 960 ticks of the 48 kHz RTP clock.
const OPUS_FRAME_TICKS: u32 = 960;

impl Bridge {
    /// Creates the bridge; fails only if libopus cannot create its coder.
    pub fn new(
        mode: BridgeMode,
        browser: LegIds,
        sip: LegIds,
    ) -> Result<Self, gateway_media::Error> {
        let (to_sip, to_browser) = match mode {
            BridgeMode::Passthrough => (
                Direction::Passthrough(StreamRewriter::new(sip.ssrc, sip.seq, sip.ts)),
                Direction::Passthrough(StreamRewriter::new(browser.ssrc, browser.seq, browser.ts)),
            ),
            BridgeMode::Transcode(law) => (
                Direction::OpusToG711 {
                    codec: Box::new(OpusToG711::new(law)?),
                    out: Packetizer::new(sip.pt, sip.ssrc, sip.seq, sip.ts),
                },
                Direction::G711ToOpus {
                    codec: Box::new(G711ToOpus::new(law)?),
                    out: Packetizer::new(browser.pt, browser.ssrc, browser.seq, browser.ts),
                },
            ),
        };
        Ok(Self {
            mode,
            browser_pt: browser.pt,
            sip_pt: sip.pt,
            to_sip,
            to_browser,
            scratch: vec![0u8; 4096],
        })
    }

    /// The bridge's mode.
    pub fn mode(&self) -> BridgeMode {
        self.mode
    }

    /// A browser packet (already decrypted) to the SIP leg: writes a complete RTP packet into
    /// `out` and returns its length, or 0 when nothing is to be sent (other payload types, or a
    /// packet the transcoder could not decode).
    pub fn browser_to_sip(&mut self, input: RtpFields, payload: &[u8], out: &mut [u8]) -> usize {
        if input.pt != self.browser_pt {
            return 0;
        }
        match &mut self.to_sip {
            Direction::Passthrough(rw) => {
                let mut f = rw.rewrite(input);
                f.pt = self.sip_pt;
                write_packet(&f, payload, out)
            }
            Direction::OpusToG711 { codec, out: pkt } => {
                let n = match codec.transcode(payload, &mut self.scratch) {
                    Ok(n) => n,
                    Err(_) => return 0,
                };
                if n == 0 {
                    return 0;
                }
                let f = pkt.next(n as u32, false);
                write_packet(&f, &self.scratch[..n], out)
            }
            Direction::G711ToOpus { .. } => 0,
        }
    }

    /// A SIP-leg RTP packet to the browser: calls `emit(fields, payload)` for each packet to send
    /// (none for foreign payload types, several when a long G.711 packet yields several Opus frames).
    pub fn sip_to_browser(&mut self, packet: &[u8], mut emit: impl FnMut(RtpFields, &[u8])) {
        let Ok(header) = RtpHeader::parse(packet) else {
            return;
        };
        let input = header.fields();
        if input.pt != self.sip_pt {
            return;
        }
        let payload = header.payload(packet);
        match &mut self.to_browser {
            Direction::Passthrough(rw) => {
                let mut f = rw.rewrite(input);
                f.pt = self.browser_pt;
                emit(f, payload);
            }
            Direction::G711ToOpus { codec, out: pkt } => {
                codec.push(payload);
                while let Ok(Some(n)) = codec.pop_frame(&mut self.scratch) {
                    let f = pkt.next(OPUS_FRAME_TICKS, false);
                    emit(f, &self.scratch[..n]);
                }
            }
            Direction::OpusToG711 { .. } => {}
        }
    }
}

fn write_packet(f: &RtpFields, payload: &[u8], out: &mut [u8]) -> usize {
    let Ok(h) = rtp::write_header(out, f) else {
        return 0;
    };
    let end = h + payload.len();
    if end > out.len() {
        return 0;
    }
    out[h..end].copy_from_slice(payload);
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ssrc: u32, pt: u8) -> LegIds {
        LegIds {
            ssrc,
            pt,
            seq: 1000,
            ts: 5000,
        }
    }

    fn sip_packet(seq: u16, ts: u32, ssrc: u32, pt: u8, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; 12 + payload.len()];
        let f = RtpFields {
            pt,
            marker: false,
            seq,
            ts,
            ssrc,
        };
        let n = write_packet(&f, payload, &mut buf);
        buf.truncate(n);
        buf
    }

    /// Passthrough rewrites SSRC, sequence, timestamp and PT, and keeps the payload intact.
    #[test]
    fn passthrough_rewrites_both_ways() {
        let mut b = Bridge::new(BridgeMode::Passthrough, ids(0xB0B, 0), ids(0x51b, 0)).unwrap();
        let mut out = [0u8; 1500];
        let payload = [0x55u8; 160];
        let input = RtpFields {
            pt: 0,
            marker: true,
            seq: 40000,
            ts: 123,
            ssrc: 0xdead,
        };
        let n = b.browser_to_sip(input, &payload, &mut out);
        let h = RtpHeader::parse(&out[..n]).unwrap();
        assert_eq!((h.ssrc, h.seq, h.pt), (0x51b, 1000, 0));
        assert_eq!(h.payload(&out[..n]), &payload[..]);
        let n2 = b.browser_to_sip(
            RtpFields {
                seq: 40001,
                ts: 283,
                ..input
            },
            &payload,
            &mut out,
        );
        let h2 = RtpHeader::parse(&out[..n2]).unwrap();
        assert_eq!(h2.seq, 1001);
        assert_eq!(h2.timestamp.wrapping_sub(h.timestamp), 160);

        let mut seen = Vec::new();
        b.sip_to_browser(&sip_packet(7, 9, 0xfeed, 0, &payload), |f, p| {
            seen.push((f, p.len()))
        });
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (seen[0].0.ssrc, seen[0].0.seq, seen[0].0.pt),
            (0xB0B, 1000, 0)
        );
        // Other payload types (e.g. comfort noise, PT 13) are not forwarded.
        b.sip_to_browser(&sip_packet(8, 169, 0xfeed, 13, &[1]), |_, _| {
            panic!("forwarded CN")
        });
        assert_eq!(
            b.browser_to_sip(RtpFields { pt: 126, ..input }, &payload, &mut out),
            0
        );
    }

    /// Transcoding: G.711 from SIP becomes Opus frames for the browser (960 ticks each), and Opus
    /// from the browser becomes 160-byte G.711 packets.
    #[test]
    fn transcoding_both_ways() {
        let mut b =
            Bridge::new(BridgeMode::Transcode(G711Law::Ulaw), ids(1, 111), ids(2, 0)).unwrap();
        let mut frames = Vec::new();
        for i in 0..3u16 {
            let pkt = sip_packet(i, u32::from(i) * 160, 9, 0, &[0xFFu8; 160]);
            b.sip_to_browser(&pkt, |f, p| frames.push((f, p.to_vec())));
        }
        assert_eq!(frames.len(), 3);
        assert!(frames.iter().all(|(f, _)| f.pt == 111 && f.ssrc == 1));
        assert_eq!(frames[1].0.ts.wrapping_sub(frames[0].0.ts), 960);

        let mut out = [0u8; 1500];
        let input = RtpFields {
            pt: 111,
            marker: false,
            seq: 1,
            ts: 0,
            ssrc: 77,
        };
        let n = b.browser_to_sip(input, &frames[0].1, &mut out);
        assert_eq!(n, 12 + 160);
        let h = RtpHeader::parse(&out[..n]).unwrap();
        assert_eq!((h.pt, h.ssrc), (0, 2));
    }
}
