//! RTP reception and sending statistics for RTCP reports (RFC 3550 A.1, A.3, A.8).
//!
//! Arrival times are passed in by the caller in RTP clock units, so nothing here reads a clock.
//! A.1's probation (`MIN_SEQUENTIAL`) is not applied: the source is known from signalling, so the
//! first packet starts the statistics.

use crate::rewrite::{MAX_DROPOUT, MAX_MISORDER};
use crate::rtcp::{ReportBlock, SenderInfo, compact_ntp};

const RTP_SEQ_MOD: u32 = 1 << 16;

/// Statistics of one received RTP source (RFC 3550 A.1, A.3, A.8).
#[derive(Debug, Clone, Default)]
pub struct ReceiveStats {
    started: bool,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    bytes: u64,
    transit: Option<u32>,
    /// Jitter scaled by 16 (A.8), reported as `jitter >> 4`.
    jitter_q4: u32,
    /// (LSR, compact NTP arrival time) of the last SR received from this source.
    last_sr: Option<(u32, u32)>,
}

impl ReceiveStats {
    /// Empty statistics; the first packet initialises them.
    pub fn new() -> Self {
        Self::default()
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.transit = None;
    }

    /// Records one packet; `arrival` is the arrival time in RTP clock units. Returns `false` if the
    /// packet was a big sequence jump not (yet) taken as a restart (RFC 3550 A.1 `update_seq`).
    pub fn on_packet(&mut self, seq: u16, rtp_ts: u32, arrival: u32, payload_len: usize) -> bool {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
        } else {
            let udelta = seq.wrapping_sub(self.max_seq);
            if udelta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles = self.cycles.wrapping_add(RTP_SEQ_MOD);
                }
                self.max_seq = seq;
            } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
                if u32::from(seq) == self.bad_seq {
                    // Two sequential packets after a jump: the sender restarted.
                    self.init_seq(seq);
                } else {
                    self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                    return false;
                }
            }
            // Otherwise a duplicate or reordered packet: counted, max_seq unchanged.
        }
        self.received = self.received.wrapping_add(1);
        self.bytes += payload_len as u64;
        let transit = arrival.wrapping_sub(rtp_ts);
        if let Some(prev) = self.transit {
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs();
            // A.8: J += (|D| - J) / 16, in fixed point with 4 fractional bits.
            self.jitter_q4 = self
                .jitter_q4
                .wrapping_add(d)
                .wrapping_sub((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
        true
    }

    /// Records an SR from this source, received at compact NTP time `arrival` (for LSR/DLSR).
    pub fn on_sender_report(&mut self, ntp: u64, arrival: u32) {
        self.last_sr = Some((compact_ntp(ntp), arrival));
    }

    /// Packets received (duplicates included, as in A.1).
    pub fn packets(&self) -> u32 {
        self.received
    }

    /// Payload bytes received.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Extended highest sequence number received (cycles in the high 16 bits).
    pub fn extended_highest_seq(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected from the first to the highest sequence number (A.3).
    pub fn expected(&self) -> u32 {
        if !self.started {
            return 0;
        }
        self.extended_highest_seq()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Cumulative packets lost; negative when duplicates outnumber losses (A.3).
    pub fn lost(&self) -> i64 {
        i64::from(self.expected()) - i64::from(self.received)
    }

    /// Interarrival jitter in RTP clock units (A.8).
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// The report block for this source at compact NTP time `now`, updating the "since last report"
    /// counters (A.3). `None` before the first packet.
    pub fn report_block(&mut self, ssrc: u32, now: u32) -> Option<ReportBlock> {
        if !self.started {
            return None;
        }
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, arrival)) => (lsr, now.wrapping_sub(arrival)),
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            lsr,
            dlsr,
        })
    }
}

/// What we sent, for the SR sender info (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendStats {
    /// Packets sent (wraps at 2^32, as on the wire).
    pub packets: u32,
    /// Payload octets sent (wraps at 2^32, as on the wire).
    pub octets: u32,
    /// Timestamp of the last packet sent, `None` before the first.
    pub last_rtp_ts: Option<u32>,
}

impl SendStats {
    /// Records one sent packet.
    pub fn on_packet(&mut self, rtp_ts: u32, payload_len: usize) {
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload_len as u32);
        self.last_rtp_ts = Some(rtp_ts);
    }

    /// Whether anything has been sent (an SR is due rather than an RR, RFC 3550 §6.4).
    pub fn is_sending(&self) -> bool {
        self.last_rtp_ts.is_some()
    }

    /// Sender info for an SR at NTP time `ntp`, whose RTP timestamp the caller maps to `rtp_ts`.
    pub fn sender_info(&self, ntp: u64, rtp_ts: u32) -> SenderInfo {
        SenderInfo {
            ntp,
            rtp_ts,
            packet_count: self.packets,
            octet_count: self.octets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(stats: &mut ReceiveStats, seqs: impl IntoIterator<Item = u16>) {
        for seq in seqs {
            let ts = u32::from(seq) * 160;
            stats.on_packet(seq, ts, ts, 160);
        }
    }

    /// RFC 3550 A.3: expected, lost and fraction lost (in 1/256) between two reports.
    #[test]
    fn counts_loss_per_interval() {
        let mut s = ReceiveStats::new();
        assert_eq!(s.report_block(1, 0), None);
        feed(&mut s, (0..10).filter(|&q| q != 3 && q != 7));
        assert_eq!(s.packets(), 8);
        assert_eq!(s.bytes(), 8 * 160);
        assert_eq!(s.expected(), 10);
        assert_eq!(s.lost(), 2);
        let block = s.report_block(0xABCD, 0).unwrap();
        assert_eq!(block.ssrc, 0xABCD);
        assert_eq!(block.fraction_lost, (2 * 256 / 10) as u8);
        assert_eq!(block.cumulative_lost, 2);
        assert_eq!(block.highest_seq, 9);
        // Next interval without loss: fraction 0, cumulative stays.
        feed(&mut s, 10..20);
        let block = s.report_block(0xABCD, 0).unwrap();
        assert_eq!((block.fraction_lost, block.cumulative_lost), (0, 2));
        // Duplicates make the interval's loss negative: fraction is 0, cumulative may go down.
        feed(&mut s, [19, 19, 19]);
        let block = s.report_block(0xABCD, 0).unwrap();
        assert_eq!((block.fraction_lost, block.cumulative_lost), (0, -1));
    }

    /// RFC 3550 A.1: the extended sequence number counts wrap-arounds; reordering across the wrap
    /// does not add a cycle.
    #[test]
    fn extends_sequence_numbers_across_wrap() {
        let mut s = ReceiveStats::new();
        feed(&mut s, [65_533, 65_534, 0, 65_535, 1]);
        assert_eq!(s.extended_highest_seq(), 65_536 + 1);
        assert_eq!(s.expected(), 5);
        assert_eq!(s.lost(), 0);
    }

    /// RFC 3550 A.1: one packet far away is ignored; two sequential ones restart the statistics.
    #[test]
    fn big_jump_restarts_only_when_confirmed() {
        let mut s = ReceiveStats::new();
        feed(&mut s, 100..110);
        assert!(!s.on_packet(40_000, 0, 0, 160));
        assert!(s.on_packet(110, 0, 0, 160));
        assert_eq!(s.packets(), 11);
        assert!(!s.on_packet(50_000, 0, 0, 160));
        assert!(s.on_packet(50_001, 0, 0, 160));
        assert_eq!(s.packets(), 1);
        assert_eq!(s.expected(), 1);
        assert_eq!(s.extended_highest_seq(), 50_001);
    }

    /// RFC 3550 A.8: J(i) = J(i-1) + (|D(i-1,i)| - J(i-1)) / 16.
    #[test]
    fn jitter_follows_the_rfc_estimator() {
        let mut s = ReceiveStats::new();
        // Constant transit: no jitter.
        for i in 0..10u32 {
            s.on_packet(i as u16, i * 160, 1000 + i * 160, 160);
        }
        assert_eq!(s.jitter(), 0);
        // Each packet arrives 160 ticks later relative to its timestamp than the previous one.
        let mut s = ReceiveStats::new();
        let mut expected = 0.0f64;
        for i in 0..200u32 {
            s.on_packet(i as u16, i * 160, i * 320, 160);
            if i > 0 {
                expected += (160.0 - expected) / 16.0;
            }
            // The report truncates the fixed-point value, so allow one unit plus rounding.
            assert!((f64::from(s.jitter()) - expected).abs() < 1.5, "packet {i}");
        }
        assert!(s.jitter() >= 159);
    }

    /// RFC 3550 §6.4.1: LSR is the middle of the SR's NTP time, DLSR the delay since it arrived.
    #[test]
    fn report_block_carries_lsr_and_dlsr() {
        let mut s = ReceiveStats::new();
        feed(&mut s, 0..3);
        s.on_sender_report(0xE1B2_C3D4_8000_0000, 0x0001_0000);
        let block = s.report_block(5, 0x0002_8000).unwrap();
        assert_eq!(block.lsr, 0xC3D4_8000);
        assert_eq!(block.dlsr, 0x0001_8000);
    }

    #[test]
    fn send_stats_feed_the_sender_info() {
        let mut s = SendStats::default();
        assert!(!s.is_sending());
        s.on_packet(160, 160);
        s.on_packet(320, 80);
        assert!(s.is_sending());
        assert_eq!(s.last_rtp_ts, Some(320));
        let info = s.sender_info(42, 480);
        assert_eq!(
            (info.ntp, info.rtp_ts, info.packet_count, info.octet_count),
            (42, 480, 2, 240)
        );
    }
}
