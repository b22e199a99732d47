//! Call quality: a MOS estimate from the E-model (ITU-T G.107), per-leg statistics, and one-way audio
//! detection.
//!
//! The E-model is used in the simplified form common in VoIP monitoring: every parameter not
//! measured on the wire keeps its G.107 default, which gives the basic rating `R = 93.2` (G.107 §7.7,
//! Table 3 defaults), and only three impairments vary:
//!
//! `R = 93.2 - Idd(Ta) - Ie,eff`, `Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)` (G.107 §7.4),
//! `Idd` from the absolute one-way delay `Ta` (G.107 §7.3), and `MOS` from `R` (G.107 Annex B).
//!
//! Talker echo (`Idte`) and listener echo (`Idle`) stay at their defaults: echo is cancelled at both
//! ends of this gateway's calls (browser AEC, phone), so delay costs only interactivity.
//!
//! Codec values (`Ie`, `Bpl`) come from ITU-T G.113 Appendix I: G.711 `Ie = 0`, `Bpl = 25.1` with
//! packet loss concealment and `4.3` without. G.113 gives no narrowband value for Opus; this crate
//! treats the gateway's 24 kbit/s mono Opus like G.711 with PLC (`Ie = 0`, `Bpl = 25.1`): it is at
//! least toll quality on the narrowband scale and conceals loss at least as well.
//!
//! Jitter is counted as delay: a receiver's jitter buffer holds about twice the interarrival jitter,
//! so the one-way delay used is `RTT / 2 + 2 * jitter + 20 ms` (one packet of packetization).

use crate::codec::Codec;
use crate::rtcp::ReportBlock;
use crate::stats::ReceiveStats;

/// Basic rating with every G.107 parameter at its default (G.107 Table 3: `Ro - Is - Id` at `T = 0`).
pub const R_DEFAULT: f64 = 93.2;
/// Packetization delay added to the one-way delay (one 20 ms packet).
pub const PACKETIZATION_MS: f64 = 20.0;

/// A codec's equipment impairment factor and packet-loss robustness (ITU-T G.113 Appendix I).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodecImpairment {
    /// Equipment impairment factor `Ie` without loss.
    pub ie: f64,
    /// Packet-loss robustness factor `Bpl`.
    pub bpl: f64,
}

impl CodecImpairment {
    /// G.711 with packet loss concealment (G.113 Appendix I: `Ie = 0`, `Bpl = 25.1`).
    pub const G711_PLC: Self = Self { ie: 0.0, bpl: 25.1 };
    /// G.711 without concealment (G.113 Appendix I: `Ie = 0`, `Bpl = 4.3`).
    pub const G711_NO_PLC: Self = Self { ie: 0.0, bpl: 4.3 };
    /// Opus as this gateway sends it: no G.113 value exists; treated like G.711 with PLC.
    pub const OPUS: Self = Self::G711_PLC;

    /// The impairment assumed for `codec` (receivers are taken to conceal loss: browsers and
    /// Asterisk's jitter buffer do).
    pub fn for_codec(codec: Codec) -> Self {
        match codec {
            Codec::Opus => Self::OPUS,
            Codec::Pcmu | Codec::Pcma => Self::G711_PLC,
        }
    }
}

/// `x` if it is a finite number, otherwise 0 (statistics from the network are never trusted).
fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// Delay impairment `Idd` for an absolute one-way delay `Ta` in ms (G.107 §7.3, `mT = 100`, `sT = 1`):
/// 0 up to 100 ms, then `25 * ((1 + X^6)^(1/6) - 3 * (1 + (X/3)^6)^(1/6) + 2)` with `X = log2(Ta/100)`.
pub fn delay_impairment(ta_ms: f64) -> f64 {
    let ta = finite(ta_ms);
    if ta <= 100.0 {
        return 0.0;
    }
    let x = (ta / 100.0).log2();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// Effective equipment impairment `Ie,eff` (G.107 §7.4) for `loss_pct` percent of packets lost with
/// burst ratio `burst_ratio` (1 for random loss, larger for bursty loss).
pub fn effective_equipment_impairment(
    codec: CodecImpairment,
    loss_pct: f64,
    burst_ratio: f64,
) -> f64 {
    let ppl = finite(loss_pct).clamp(0.0, 100.0);
    let burst = finite(burst_ratio).max(0.01);
    let ie = finite(codec.ie).clamp(0.0, 95.0);
    let bpl = finite(codec.bpl).max(0.01);
    ie + (95.0 - ie) * ppl / (ppl / burst + bpl)
}

/// MOS (conversational quality, 1-4.5) for a rating `R` (G.107 Annex B, B-4).
pub fn r_to_mos(r: f64) -> f64 {
    let r = finite(r);
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7.0e-6
    }
}

/// The rating `R` and its MOS for a codec, a one-way delay (ms), a loss percentage and a burst ratio.
pub fn mos(
    codec: CodecImpairment,
    one_way_delay_ms: f64,
    loss_pct: f64,
    burst_ratio: f64,
) -> (f64, f64) {
    let r = R_DEFAULT
        - delay_impairment(one_way_delay_ms)
        - effective_equipment_impairment(codec, loss_pct, burst_ratio);
    (r, r_to_mos(r))
}

/// One-way delay the E-model is given: half the RTT (0 if unknown), plus a jitter buffer of twice the
/// jitter, plus one packet of packetization.
pub fn effective_delay_ms(rtt_ms: Option<f64>, jitter_ms: f64) -> f64 {
    finite(rtt_ms.unwrap_or(0.0)).max(0.0) / 2.0
        + 2.0 * finite(jitter_ms).max(0.0)
        + PACKETIZATION_MS
}

/// Quality of one leg, as sent to the client in `ended` and kept for the report.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QualityStats {
    /// Packets the gateway received on this leg.
    pub packets_received: u64,
    /// Packets the gateway expected but did not receive (negative with duplicates, RFC 3550 A.3).
    pub packets_lost: i64,
    /// `packets_lost` as a percentage of the packets expected.
    pub loss_pct: f64,
    /// Interarrival jitter of what the gateway receives, in ms.
    pub jitter_ms: f64,
    /// Loss the peer reports for what the gateway sends (RTCP RR), in percent.
    pub remote_loss_pct: Option<f64>,
    /// Jitter the peer reports for what the gateway sends (RTCP RR), in ms.
    pub remote_jitter_ms: Option<f64>,
    /// Round-trip time on this leg (RTCP, RFC 3550 §6.4.1), in ms.
    pub rtt_ms: Option<f64>,
    /// E-model rating of the worse direction.
    pub r: f64,
    /// MOS of the worse direction (1-4.5).
    pub mos: f64,
}

/// Collects one leg's statistics and estimates its MOS.
#[derive(Debug, Clone)]
pub struct LegQuality {
    codec: CodecImpairment,
    clock_rate: u32,
    burst_ratio: f64,
    received: u64,
    expected: u64,
    lost: i64,
    jitter_ticks: u32,
    remote_loss_pct: Option<f64>,
    remote_jitter_ticks: Option<u32>,
    rtt_ms: Option<f64>,
}

impl LegQuality {
    /// A leg carrying `codec` at RTP clock `clock_rate` (for jitter in ms), assuming random loss.
    pub fn new(codec: CodecImpairment, clock_rate: u32) -> Self {
        Self {
            codec,
            clock_rate: clock_rate.max(1),
            burst_ratio: 1.0,
            received: 0,
            expected: 0,
            lost: 0,
            jitter_ticks: 0,
            remote_loss_pct: None,
            remote_jitter_ticks: None,
            rtt_ms: None,
        }
    }

    /// Sets the burst ratio (G.107 `BurstR`) if the caller measures it.
    pub fn set_burst_ratio(&mut self, burst_ratio: f64) {
        self.burst_ratio = burst_ratio;
    }

    /// Follows a codec change (re-INVITE).
    pub fn set_codec(&mut self, codec: CodecImpairment, clock_rate: u32) {
        self.codec = codec;
        self.clock_rate = clock_rate.max(1);
    }

    /// Takes the current totals of what the gateway receives on this leg.
    pub fn update_receive(&mut self, stats: &ReceiveStats) {
        self.received = u64::from(stats.packets());
        self.expected = u64::from(stats.expected());
        self.lost = stats.lost();
        self.jitter_ticks = stats.jitter();
    }

    /// Takes the peer's report on what the gateway sends; `packets_sent` is the gateway's count of
    /// packets sent so far, used to turn cumulative loss into a percentage.
    pub fn on_report_block(&mut self, block: &ReportBlock, packets_sent: u32) {
        let pct = if packets_sent > 0 {
            f64::from(block.cumulative_lost.max(0)) * 100.0 / f64::from(packets_sent)
        } else {
            f64::from(block.fraction_lost) * 100.0 / 256.0
        };
        self.remote_loss_pct = Some(pct.min(100.0));
        self.remote_jitter_ticks = Some(block.jitter);
    }

    /// Records a round-trip time measured on this leg.
    pub fn set_rtt_ms(&mut self, rtt_ms: f64) {
        if rtt_ms.is_finite() && rtt_ms >= 0.0 {
            self.rtt_ms = Some(rtt_ms);
        }
    }

    fn ticks_to_ms(&self, ticks: u32) -> f64 {
        f64::from(ticks) * 1000.0 / f64::from(self.clock_rate)
    }

    /// The leg's statistics now; the MOS is that of the worse of its two directions.
    pub fn stats(&self) -> QualityStats {
        let loss_pct = if self.expected > 0 {
            (self.lost.max(0) as f64 * 100.0 / self.expected as f64).min(100.0)
        } else {
            0.0
        };
        let jitter_ms = self.ticks_to_ms(self.jitter_ticks);
        let remote_jitter_ms = self.remote_jitter_ticks.map(|j| self.ticks_to_ms(j));
        let estimate = |loss: f64, jitter: f64| {
            mos(
                self.codec,
                effective_delay_ms(self.rtt_ms, jitter),
                loss,
                self.burst_ratio,
            )
        };
        let mut worst = estimate(loss_pct, jitter_ms);
        if let Some(remote_loss) = self.remote_loss_pct {
            let remote = estimate(remote_loss, remote_jitter_ms.unwrap_or(0.0));
            if remote.0 < worst.0 {
                worst = remote;
            }
        }
        QualityStats {
            packets_received: self.received,
            packets_lost: self.lost,
            loss_pct,
            jitter_ms,
            remote_loss_pct: self.remote_loss_pct,
            remote_jitter_ms,
            rtt_ms: self.rtt_ms,
            r: worst.0,
            mos: worst.1,
        }
    }
}

/// A side of the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The browser (WebRTC) leg.
    Webrtc,
    /// The phone (SIP) leg.
    Sip,
}

/// Audio arrives from one side only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneWayAudio {
    /// The side audio still arrives from.
    pub only_from: Side,
    /// How long the other side has sent nothing, in ms.
    pub silent_ms: u64,
}

/// Default time one side must be silent while the other sends before it is reported (issue 4: 5 s).
pub const ONE_WAY_THRESHOLD_MS: u64 = 5_000;

/// Detects one-way audio from packet counts per interval, in virtual time.
///
/// Reports once when packets arrive from one side only for more than the threshold; re-arms when
/// both sides send again. Intervals where neither side sends (both on hold, silence suppression on
/// both) reset the count without re-arming. The caller [`Self::reset`]s it when one-way media is
/// expected (hold, `sendonly`/`recvonly`).
#[derive(Debug, Clone)]
pub struct OneWayDetector {
    threshold_ms: u64,
    one_sided: Option<(Side, u64)>,
    reported: bool,
}

impl Default for OneWayDetector {
    fn default() -> Self {
        Self::new(ONE_WAY_THRESHOLD_MS)
    }
}

impl OneWayDetector {
    /// A detector reporting after more than `threshold_ms` of one-sided audio.
    pub fn new(threshold_ms: u64) -> Self {
        Self {
            threshold_ms,
            one_sided: None,
            reported: false,
        }
    }

    /// Feeds the packets received from each side during the last `elapsed_ms`.
    pub fn on_interval(
        &mut self,
        elapsed_ms: u64,
        from_webrtc: u32,
        from_sip: u32,
    ) -> Option<OneWayAudio> {
        let side = match (from_webrtc > 0, from_sip > 0) {
            (true, true) => {
                self.one_sided = None;
                self.reported = false;
                return None;
            }
            (false, false) => {
                self.one_sided = None;
                return None;
            }
            (true, false) => Side::Webrtc,
            (false, true) => Side::Sip,
        };
        let silent_ms = match self.one_sided {
            Some((s, ms)) if s == side => ms.saturating_add(elapsed_ms),
            _ => elapsed_ms,
        };
        self.one_sided = Some((side, silent_ms));
        if silent_ms > self.threshold_ms && !self.reported {
            self.reported = true;
            return Some(OneWayAudio {
                only_from: side,
                silent_ms,
            });
        }
        None
    }

    /// Forgets everything (after hold, a re-INVITE or an ICE restart).
    pub fn reset(&mut self) {
        self.one_sided = None;
        self.reported = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// G.107 Annex B: MOS 1 below R = 0 and 4.5 from R = 100.
    #[test]
    fn mos_is_bounded() {
        assert_eq!(r_to_mos(-5.0), 1.0);
        assert_eq!(r_to_mos(0.0), 1.0);
        assert_eq!(r_to_mos(100.0), 4.5);
        assert_eq!(r_to_mos(f64::NAN), 1.0);
    }

    /// G.107 §7.3: no delay impairment up to 100 ms.
    #[test]
    fn delay_below_100_ms_costs_nothing() {
        assert_eq!(delay_impairment(0.0), 0.0);
        assert_eq!(delay_impairment(100.0), 0.0);
        assert!(delay_impairment(101.0) > 0.0);
    }

    proptest! {
        /// Whatever the statistics, the estimate stays within the MOS scale and never panics.
        #[test]
        fn estimate_stays_on_the_scale(delay: f64, loss: f64, burst: f64, ie: f64, bpl: f64) {
            let (_, m) = mos(CodecImpairment { ie, bpl }, delay, loss, burst);
            prop_assert!((1.0..=4.5).contains(&m));
        }

        /// More loss or more delay never improves the rating.
        #[test]
        fn impairments_are_monotonic(delay in 0.0f64..1000.0, loss in 0.0f64..50.0, extra in 0.1f64..50.0) {
            let c = CodecImpairment::G711_PLC;
            let (r, _) = mos(c, delay, loss, 1.0);
            prop_assert!(mos(c, delay, loss + extra, 1.0).0 < r);
            prop_assert!(mos(c, delay + extra * 10.0, loss, 1.0).0 <= r);
        }
    }
}
