//! Echo probes: each audio payload carries a stamp (magic, sequence, send time) in its last 16
//! bytes, so an echoed packet gives its round-trip time. Sans-I/O: times are passed in, in µs
//! since the start of the run.
//!
//! A passthrough gateway forwards the payload untouched, so the stamp comes back. A transcoding
//! gateway (Opus <-> G.711) re-encodes the audio and the stamp is lost; the echo still returns one
//! packet per packet sent, in order, so the k-th packet received is matched with the k-th sent by
//! the gateway's RTP sequence number ("order" matching, exact only without loss on the way in).

/// Length of the stamp at the end of the payload.
pub const STAMP_LEN: usize = 16;
const MAGIC: [u8; 4] = *b"WGLP";

/// Writes the stamp into the last [`STAMP_LEN`] bytes of `payload` (which must be that long).
pub fn stamp(payload: &mut [u8], seq: u32, sent_us: u64) {
    let Some(start) = payload.len().checked_sub(STAMP_LEN) else {
        return;
    };
    let s = &mut payload[start..];
    s[..4].copy_from_slice(&MAGIC);
    s[4..8].copy_from_slice(&seq.to_be_bytes());
    s[8..16].copy_from_slice(&sent_us.to_be_bytes());
}

/// Reads a stamp back: `(seq, sent_us)`, or `None` if the payload carries none.
pub fn read_stamp(payload: &[u8]) -> Option<(u32, u64)> {
    let start = payload.len().checked_sub(STAMP_LEN)?;
    let s = &payload[start..];
    if s[..4] != MAGIC {
        return None;
    }
    let seq = u32::from_be_bytes([s[4], s[5], s[6], s[7]]);
    let mut t = [0u8; 8];
    t.copy_from_slice(&s[8..16]);
    Some((seq, u64::from_be_bytes(t)))
}

/// How the round-trip times of a call were matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matching {
    /// No packet came back yet.
    #[default]
    None,
    /// By the stamp in the payload (passthrough).
    Stamp,
    /// By arrival order (transcoding).
    Order,
}

/// The probe state of one call.
#[derive(Debug, Default)]
pub struct Probe {
    sent_at: Vec<u64>,
    received: u64,
    duplicates: u64,
    got: Vec<bool>,
    first_rtp_seq: Option<u16>,
    rtp_cycles: u32,
    last_rtp_seq: u16,
    /// Round-trip times, µs.
    pub rtts_us: Vec<u32>,
    /// How packets were matched.
    pub matching: Matching,
}

impl Probe {
    /// Records a packet sent at `now_us`; returns its probe sequence number (for [`stamp`]).
    pub fn on_send(&mut self, now_us: u64) -> u32 {
        self.sent_at.push(now_us);
        self.got.push(false);
        (self.sent_at.len() - 1) as u32
    }

    /// Number of packets sent.
    pub fn sent(&self) -> u64 {
        self.sent_at.len() as u64
    }

    /// Number of distinct packets that came back.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets that came back twice.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// An echoed packet arrived at `now_us` with RTP sequence number `rtp_seq`.
    pub fn on_receive(&mut self, now_us: u64, rtp_seq: u16, payload: &[u8]) {
        let index = match read_stamp(payload) {
            Some((seq, _)) => {
                self.matching = Matching::Stamp;
                seq
            }
            None => {
                if self.matching != Matching::Stamp {
                    self.matching = Matching::Order;
                }
                self.order_index(rtp_seq)
            }
        };
        let Some(&sent) = self.sent_at.get(index as usize) else {
            return;
        };
        if let Some(got) = self.got.get_mut(index as usize) {
            if *got {
                self.duplicates += 1;
                return;
            }
            *got = true;
        }
        self.received += 1;
        let rtt = now_us.saturating_sub(sent);
        self.rtts_us.push(u32::try_from(rtt).unwrap_or(u32::MAX));
    }

    /// The index of the packet sent that this RTP sequence number stands for, counting from the
    /// first one received (extended over wrap-arounds).
    fn order_index(&mut self, rtp_seq: u16) -> u32 {
        let Some(first) = self.first_rtp_seq else {
            self.first_rtp_seq = Some(rtp_seq);
            self.last_rtp_seq = rtp_seq;
            return 0;
        };
        if rtp_seq < self.last_rtp_seq && self.last_rtp_seq - rtp_seq > 0x8000 {
            self.rtp_cycles += 1;
        }
        self.last_rtp_seq = rtp_seq;
        let extended = (self.rtp_cycles << 16) | u32::from(rtp_seq);
        extended.wrapping_sub(u32::from(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_survives_the_round_trip() {
        let mut payload = [0xFFu8; 160];
        stamp(&mut payload, 42, 1_234_567);
        assert_eq!(read_stamp(&payload), Some((42, 1_234_567)));
        assert_eq!(
            &payload[..144],
            &[0xFF; 144][..],
            "the audio before it is kept"
        );
        assert_eq!(read_stamp(&[0u8; 160]), None);
        assert_eq!(read_stamp(&[0u8; 3]), None);
    }

    #[test]
    fn stamped_echoes_give_rtts_and_count_duplicates_once() {
        let mut p = Probe::default();
        let mut payloads = Vec::new();
        for t in [0u64, 20_000, 40_000] {
            let seq = p.on_send(t);
            let mut b = vec![0u8; 160];
            stamp(&mut b, seq, t);
            payloads.push(b);
        }
        p.on_receive(1_500, 900, &payloads[0]);
        p.on_receive(41_000, 902, &payloads[2]);
        p.on_receive(41_100, 902, &payloads[2]);
        assert_eq!(p.sent(), 3);
        assert_eq!(p.received(), 2);
        assert_eq!(p.duplicates(), 1);
        assert_eq!(p.rtts_us, vec![1_500, 1_000]);
        assert_eq!(p.matching, Matching::Stamp);
    }

    #[test]
    fn unstamped_echoes_are_matched_by_order_across_a_sequence_wrap() {
        let mut p = Probe::default();
        for i in 0..4u64 {
            p.on_send(i * 20_000);
        }
        p.on_receive(2_000, 65_534, b"opus");
        p.on_receive(22_000, 65_535, b"opus");
        p.on_receive(62_500, 1, b"opus");
        assert_eq!(p.matching, Matching::Order);
        assert_eq!(p.received(), 3);
        assert_eq!(p.rtts_us, vec![2_000, 2_000, 2_500]);
    }
}
