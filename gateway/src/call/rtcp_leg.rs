//! RTCP on the plain-RTP SIP leg (RFC 3550 §6): statistics of what we send and receive, the
//! periodic SR/RR we send, and what Asterisk reports back (loss, jitter, RTT).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway_media::quality::{CodecImpairment, LegQuality, QualityStats};
use gateway_media::rtcp::{self, RtcpPacket};
use gateway_media::rtp::RtpHeader;
use gateway_media::{ReceiveStats, SendStats};
use tokio::time::Instant;

/// Seconds between 1900 (NTP epoch) and 1970 (Unix epoch).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// RTCP state of the SIP leg.
pub(crate) struct RtcpLeg {
    ssrc: u32,
    /// Random per call (RFC 7022): the CNAME must not be shared between participants.
    cname: [u8; 16],
    sent: SendStats,
    recv: ReceiveStats,
    remote_ssrc: Option<u32>,
    clock_rate: u32,
    epoch: Instant,
    /// What the peer last reported about our stream: (fraction lost /256, jitter, rtt).
    pub(crate) remote_report: Option<(u8, u32, Option<Duration>)>,
    /// The peer's last report block on our stream, for the quality estimate.
    last_block: Option<gateway_media::ReportBlock>,
}

impl RtcpLeg {
    /// RTCP state for our SSRC on the SIP leg (the bridge writes its own SSRC; this one is only
    /// used for RTCP when it differs, e.g. before the first packet).
    pub(crate) fn new(ssrc: u32, cname_seed: u64) -> Self {
        let mut cname = [0u8; 16];
        for (i, c) in format!("{cname_seed:016x}").bytes().enumerate().take(16) {
            cname[i] = c;
        }
        Self {
            ssrc,
            cname,
            sent: SendStats::default(),
            recv: ReceiveStats::new(),
            remote_ssrc: None,
            clock_rate: 8000,
            epoch: Instant::now(),
            remote_report: None,
            last_block: None,
        }
    }

    /// The call's CNAME (RFC 3550 §6.5.1: one per participant, so the SIP side's video RTCP
    /// uses it too and the peer can pair the two streams).
    pub(crate) fn cname(&self) -> [u8; 16] {
        self.cname
    }

    /// Records an RTP packet we sent to the SIP side.
    pub(crate) fn on_sent(&mut self, packet: &[u8]) {
        if let Ok(h) = RtpHeader::parse(packet) {
            self.ssrc = h.ssrc;
            self.sent.on_packet(h.timestamp, h.payload_len);
        }
    }

    /// Records an RTP packet received from the SIP side.
    pub(crate) fn on_received(&mut self, packet: &[u8], now: Instant) {
        if let Ok(h) = RtpHeader::parse(packet) {
            self.remote_ssrc = Some(h.ssrc);
            let arrival = (now.duration_since(self.epoch).as_secs_f64()
                * f64::from(self.clock_rate)) as u64 as u32;
            self.recv
                .on_packet(h.seq, h.timestamp, arrival, h.payload_len);
        }
    }

    /// Records an RTCP packet received from the SIP side.
    pub(crate) fn on_rtcp(&mut self, packet: &[u8], now: Instant) {
        let Ok(packets) = rtcp::parse_compound(packet) else {
            tracing::trace!("malformed RTCP from the SIP side ignored");
            return;
        };
        let now_compact = compact(ntp_now());
        let _ = now;
        for p in packets {
            let reports = match p {
                RtcpPacket::SenderReport { info, reports, .. } => {
                    self.recv.on_sender_report(info.ntp, now_compact);
                    Some(reports)
                }
                RtcpPacket::ReceiverReport { reports, .. } => Some(reports),
                _ => None,
            };
            for block in reports.into_iter().flatten() {
                if block.ssrc == self.ssrc {
                    let rtt = rtcp::rtt(now_compact, block.lsr, block.dlsr)
                        .map(rtcp::compact_to_duration);
                    self.remote_report = Some((block.fraction_lost, block.jitter, rtt));
                    self.last_block = Some(block);
                }
            }
        }
    }

    /// Packets lost in what the SIP side sent us (RFC 3550 A.3).
    pub(crate) fn lost(&self) -> u64 {
        self.recv.lost().max(0) as u64
    }

    /// The SIP leg's quality: what we receive, what the peer reports, and the E-model MOS.
    pub(crate) fn quality(&self, codec: CodecImpairment) -> QualityStats {
        let mut q = LegQuality::new(codec, self.clock_rate);
        q.update_receive(&self.recv);
        if let Some(block) = &self.last_block {
            q.on_report_block(block, self.sent.packets);
        }
        if let Some((_, _, Some(rtt))) = self.remote_report {
            q.set_rtt_ms(rtt.as_secs_f64() * 1000.0);
        }
        q.stats()
    }

    /// Writes our periodic SR (or RR) with a report block on what we receive; returns its length.
    pub(crate) fn write_report(&mut self, out: &mut [u8], _now: Instant) -> usize {
        let ntp = ntp_now();
        let block = self
            .remote_ssrc
            .and_then(|s| self.recv.report_block(s, compact(ntp)));
        let info = self
            .sent
            .last_rtp_ts
            .map(|ts| self.sent.sender_info(ntp, ts));
        rtcp::write_compound(out, self.ssrc, info.as_ref(), block.as_ref(), &self.cname)
            .unwrap_or(0)
    }
}

/// The wall clock as a 64-bit NTP timestamp. RTCP needs wall-clock time (RFC 3550 §4); this driver
/// is the one place that reads it.
#[allow(clippy::disallowed_methods)]
fn ntp_now() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() + NTP_UNIX_OFFSET;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

fn compact(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway_media::rtp::{RtpFields, write_header};

    fn rtp(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let mut b = vec![0u8; 12 + 160];
        let f = RtpFields {
            pt: 0,
            marker: false,
            seq,
            ts,
            ssrc,
        };
        write_header(&mut b, &f).unwrap();
        b
    }

    /// RFC 3550 §6.4: a receiver that has not sent sends RR; once it sends, SR with its counts,
    /// each followed by SDES CNAME (§6.1), with a report block on the stream it receives.
    #[test]
    fn reports_rr_then_sr_with_a_block() {
        let mut leg = RtcpLeg::new(0x1111, 1);
        let t = Instant::now();
        let mut out = [0u8; 512];
        // Nothing received, nothing sent: an RR without blocks, then SDES.
        let n = leg.write_report(&mut out, t);
        let kinds: Vec<u8> = rtcp::parse_compound(&out[..n])
            .unwrap()
            .map(|p| match p {
                RtcpPacket::ReceiverReport { .. } => 201,
                RtcpPacket::SenderReport { .. } => 200,
                RtcpPacket::Other { pt, .. } => pt,
                RtcpPacket::Bye { .. } => 203,
            })
            .collect();
        assert_eq!(kinds, vec![201, 202]);

        for i in 0..10u16 {
            leg.on_received(&rtp(100 + i, u32::from(i) * 160, 0xABCD), t);
            leg.on_sent(&rtp(7 + i, u32::from(i) * 160, 0x2222));
        }
        let n = leg.write_report(&mut out, t);
        let mut saw_sr = false;
        for p in rtcp::parse_compound(&out[..n]).unwrap() {
            if let RtcpPacket::SenderReport {
                ssrc,
                info,
                reports,
            } = p
            {
                saw_sr = true;
                assert_eq!(ssrc, 0x2222, "SR is sent under the SSRC we send RTP with");
                assert_eq!(info.packet_count, 10);
                assert_eq!(info.octet_count, 1600);
                let blocks: Vec<_> = reports.collect();
                assert_eq!(blocks.len(), 1);
                assert_eq!(blocks[0].ssrc, 0xABCD);
                assert_eq!(blocks[0].highest_seq, 109);
            }
        }
        assert!(saw_sr);
    }

    /// The peer's report on our stream is kept (fraction lost, jitter); garbage is ignored.
    #[test]
    fn keeps_the_peers_report_on_our_stream() {
        let mut leg = RtcpLeg::new(0x2222, 2);
        let t = Instant::now();
        leg.on_sent(&rtp(1, 0, 0x2222));
        // The peer's RR about SSRC 0x2222: 25% lost, jitter 40.
        let block = gateway_media::ReportBlock {
            ssrc: 0x2222,
            fraction_lost: 64,
            cumulative_lost: 3,
            highest_seq: 10,
            jitter: 40,
            lsr: 0,
            dlsr: 0,
        };
        let mut pkt = [0u8; 128];
        let n = rtcp::write_rr(&mut pkt, 0x9999, &[block]).unwrap();
        leg.on_rtcp(&pkt[..n], t);
        assert_eq!(leg.remote_report.map(|r| (r.0, r.1)), Some((64, 40)));
        leg.on_rtcp(&[0xFF; 7], t);
        assert_eq!(leg.remote_report.map(|r| (r.0, r.1)), Some((64, 40)));
    }
}
