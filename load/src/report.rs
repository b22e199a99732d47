//! Per-call results, and the run's summary: one JSON line, and a human table with `--pretty`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::probe::Matching;
use crate::procfs::ProcSample;

/// What one simulated call measured.
#[derive(Debug, Clone, Default)]
pub struct CallResult {
    /// `call` sent -> `answer` received, ms.
    pub answer_ms: Option<f64>,
    /// `call` sent -> the client's ICE and DTLS connected, ms.
    pub ice_dtls_ms: Option<f64>,
    /// `call` sent -> `state` `connected` received, ms.
    pub connected_ms: Option<f64>,
    /// Audio packets sent.
    pub sent: u64,
    /// Distinct audio packets echoed back.
    pub received: u64,
    /// Echoed packets that arrived twice.
    pub duplicates: u64,
    /// Round-trip times, µs.
    pub rtts_us: Vec<u32>,
    /// How echoes were matched.
    pub matching: Matching,
    /// Why the call failed, if it did.
    pub error: Option<String>,
    /// The gateway did not say `ended` within 3 s of the hangup.
    pub no_ended_after_hangup: bool,
}

/// Percentiles of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Pct {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
}

impl Pct {
    /// Nearest-rank percentiles of `samples` (sorted here).
    pub fn of(mut samples: Vec<f64>) -> Pct {
        if samples.is_empty() {
            return Pct::default();
        }
        samples.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let i = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            round3(samples[i - 1])
        };
        Pct {
            n: samples.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: round3(samples[samples.len() - 1]),
        }
    }
}

/// The gateway's resource use, from `/proc/<pid>`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GatewayUsage {
    /// The process observed.
    pub pid: u32,
    /// CPU over the hold window, % of one core.
    pub cpu_pct: f64,
    /// CPU time per call-second over the hold window, ms.
    pub cpu_ms_per_call_second: f64,
    /// VmRSS before the first call, KiB.
    pub rss_kib_before: u64,
    /// VmRSS at the end of the hold window, KiB.
    pub rss_kib_hold: u64,
    /// VmRSS once every call has ended, KiB.
    pub rss_kib_after: u64,
    /// (hold - before) / calls up, KiB.
    pub rss_kib_per_call: f64,
    /// Open files before the first call.
    pub fds_before: u64,
    /// Open files at the end of the hold window.
    pub fds_hold: u64,
    /// Open files once every call has ended.
    pub fds_after: u64,
    /// Threads at the end of the hold window.
    pub threads_hold: u64,
}

/// Process samples around the run, for [`GatewayUsage`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Samples {
    /// Before the first call.
    pub before: ProcSample,
    /// At the start of the hold window.
    pub hold_start: ProcSample,
    /// At its end.
    pub hold_end: ProcSample,
    /// After the last call ended.
    pub after: ProcSample,
    /// Length of the hold window, s.
    pub hold_secs: f64,
}

impl GatewayUsage {
    /// Derives the usage from samples taken with `calls_up` calls connected during the window.
    pub fn from_samples(pid: u32, s: &Samples, calls_up: u64) -> GatewayUsage {
        let cpu = s
            .hold_end
            .cpu
            .saturating_sub(s.hold_start.cpu)
            .as_secs_f64();
        let window = s.hold_secs.max(1e-9);
        let call_seconds = (calls_up as f64 * window).max(1e-9);
        GatewayUsage {
            pid,
            cpu_pct: round3(100.0 * cpu / window),
            cpu_ms_per_call_second: round3(1000.0 * cpu / call_seconds),
            rss_kib_before: s.before.rss_kib,
            rss_kib_hold: s.hold_end.rss_kib,
            rss_kib_after: s.after.rss_kib,
            rss_kib_per_call: round3(
                s.hold_end.rss_kib.saturating_sub(s.before.rss_kib) as f64
                    / (calls_up.max(1) as f64),
            ),
            fds_before: s.before.fds,
            fds_hold: s.hold_end.fds,
            fds_after: s.after.fds,
            threads_hold: s.hold_end.threads,
        }
    }
}

/// The summary line of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Calls attempted.
    pub calls: u32,
    /// Calls that reached `connected`.
    pub established: u64,
    /// Calls that failed, by reason.
    pub errors: BTreeMap<String, u64>,
    /// Number dialled.
    pub number: String,
    /// Codec offered.
    pub codec: String,
    /// Ramp rate, calls/s.
    pub rate: f64,
    /// Hold, s.
    pub hold_s: f64,
    /// `call` -> `answer`, ms.
    pub setup_answer_ms: Pct,
    /// `call` -> client ICE+DTLS connected, ms.
    pub setup_ice_dtls_ms: Pct,
    /// `call` -> `state connected`, ms.
    pub setup_connected_ms: Pct,
    /// Audio packets sent by all calls.
    pub packets_sent: u64,
    /// Distinct packets echoed back.
    pub packets_received: u64,
    /// Sent but never echoed.
    pub packets_lost: u64,
    /// Lost / sent, %.
    pub loss_pct: f64,
    /// Packets echoed twice.
    pub duplicates: u64,
    /// RTT through the gateway and the echo, ms.
    pub rtt_ms: Pct,
    /// How echoes were matched: `stamp` (exact), `order` (transcoding) or `mixed`.
    pub rtt_matching: String,
    /// RTT of a plain UDP echo measured alongside, ms.
    pub baseline_rtt_ms: Pct,
    /// (RTT through the gateway - baseline RTT) / 2 at p50 and p99, ms.
    pub added_one_way_ms: AddedLatency,
    /// The gateway's resources, with `--gateway-pid`.
    pub gateway: Option<GatewayUsage>,
    /// The generator's own CPU over the hold window, % of one core.
    pub generator_cpu_pct: f64,
    /// Churn mode (`--call-duration`): the soak timeline and leak checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub churn: Option<crate::soak::SoakReport>,
}

/// The one-way latency the gateway adds.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq)]
pub struct AddedLatency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl AddedLatency {
    /// Half the difference of the gateway and baseline round trips, per percentile.
    pub fn from(rtt: &Pct, baseline: &Pct) -> AddedLatency {
        AddedLatency {
            p50: round3(((rtt.p50 - baseline.p50) / 2.0).max(0.0)),
            p99: round3(((rtt.p99 - baseline.p99) / 2.0).max(0.0)),
        }
    }
}

/// Folds the per-call results together.
pub fn aggregate(results: &[CallResult]) -> (Pct, Pct, Pct, Pct, String, BTreeMap<String, u64>) {
    let pick = |f: fn(&CallResult) -> Option<f64>| Pct::of(results.iter().filter_map(f).collect());
    let rtts = Pct::of(
        results
            .iter()
            .flat_map(|r| r.rtts_us.iter().map(|&us| f64::from(us) / 1000.0))
            .collect(),
    );
    let mut kinds: Vec<Matching> = results
        .iter()
        .map(|r| r.matching)
        .filter(|m| *m != Matching::None)
        .collect();
    kinds.dedup();
    let matching = match kinds.as_slice() {
        [] => "none",
        [Matching::Stamp] => "stamp",
        [Matching::Order] => "order",
        _ => "mixed",
    };
    let mut errors = BTreeMap::new();
    for e in results.iter().filter_map(|r| r.error.as_ref()) {
        *errors.entry(e.clone()).or_insert(0) += 1;
    }
    (
        pick(|r| r.answer_ms),
        pick(|r| r.ice_dtls_ms),
        pick(|r| r.connected_ms),
        rtts,
        matching.to_owned(),
        errors,
    )
}

/// The human table of `--pretty`.
pub fn table(s: &Summary) -> String {
    let mut t = String::new();
    let pct = |p: &Pct| format!("p50 {:>8.3}  p99 {:>8.3}  max {:>8.3}", p.p50, p.p99, p.max);
    let _ = writeln!(
        t,
        "calls {} -> {} connected   number {}   codec {}   rate {}/s   {} {}s",
        s.calls,
        s.established,
        s.number,
        s.codec,
        s.rate,
        if s.churn.is_some() {
            "each call"
        } else {
            "hold"
        },
        s.hold_s
    );
    let _ = writeln!(t, "setup answer ms     {}", pct(&s.setup_answer_ms));
    let _ = writeln!(t, "setup ICE+DTLS ms   {}", pct(&s.setup_ice_dtls_ms));
    let _ = writeln!(t, "setup connected ms  {}", pct(&s.setup_connected_ms));
    let _ = writeln!(
        t,
        "echo RTT ms         {}  ({})",
        pct(&s.rtt_ms),
        s.rtt_matching
    );
    let _ = writeln!(t, "baseline RTT ms     {}", pct(&s.baseline_rtt_ms));
    let _ = writeln!(
        t,
        "added one-way ms    p50 {:>8.3}  p99 {:>8.3}",
        s.added_one_way_ms.p50, s.added_one_way_ms.p99
    );
    let _ = writeln!(
        t,
        "packets sent {}  received {}  lost {} ({:.4} %)  duplicates {}",
        s.packets_sent, s.packets_received, s.packets_lost, s.loss_pct, s.duplicates
    );
    if let Some(g) = &s.gateway {
        let _ = writeln!(
            t,
            "gateway cpu {:.1} %  ({:.3} ms per call-second)  rss {} -> {} -> {} KiB ({:.1} KiB/call)  fds {} -> {} -> {}",
            g.cpu_pct,
            g.cpu_ms_per_call_second,
            g.rss_kib_before,
            g.rss_kib_hold,
            g.rss_kib_after,
            g.rss_kib_per_call,
            g.fds_before,
            g.fds_hold,
            g.fds_after
        );
    }
    let _ = writeln!(t, "generator cpu {:.1} %", s.generator_cpu_pct);
    for (e, n) in &s.errors {
        let _ = writeln!(t, "error x{n}: {e}");
    }
    if let Some(c) = &s.churn {
        t.push_str(&c.table());
    }
    t
}

/// Rounds to µs precision for readable JSON.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let p = Pct::of((1..=100).map(f64::from).collect());
        assert_eq!((p.n, p.p50, p.p99, p.max), (100, 50.0, 99.0, 100.0));
        let one = Pct::of(vec![7.0]);
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
        assert_eq!(Pct::of(vec![]), Pct::default());
    }

    #[test]
    fn added_latency_is_half_the_extra_round_trip_and_never_negative() {
        let rtt = Pct {
            n: 10,
            p50: 1.0,
            p99: 3.0,
            max: 4.0,
        };
        let base = Pct {
            n: 10,
            p50: 0.2,
            p99: 3.5,
            max: 5.0,
        };
        assert_eq!(
            AddedLatency::from(&rtt, &base),
            AddedLatency { p50: 0.4, p99: 0.0 }
        );
    }

    #[test]
    fn gateway_cpu_is_per_call_second_over_the_hold() {
        let sample = |cpu_ms: u64, rss_kib: u64| ProcSample {
            cpu: Duration::from_millis(cpu_ms),
            rss_kib,
            fds: 10,
            threads: 3,
        };
        let s = Samples {
            before: sample(0, 10_000),
            hold_start: sample(1_000, 20_000),
            hold_end: sample(3_000, 22_800),
            after: sample(3_100, 12_000),
            hold_secs: 10.0,
        };
        let g = GatewayUsage::from_samples(1, &s, 100);
        assert_eq!(g.cpu_pct, 20.0);
        assert_eq!(g.cpu_ms_per_call_second, 2.0);
        assert_eq!(g.rss_kib_per_call, 128.0);
    }

    #[test]
    fn errors_are_counted_by_reason_and_matching_is_named() {
        let ok = CallResult {
            answer_ms: Some(2.0),
            matching: Matching::Stamp,
            rtts_us: vec![1000, 3000],
            ..CallResult::default()
        };
        let failed = CallResult {
            error: Some("no answer".into()),
            ..CallResult::default()
        };
        let (answer, _, _, rtt, matching, errors) =
            aggregate(&[ok.clone(), failed.clone(), failed]);
        assert_eq!(answer.n, 1);
        assert_eq!(rtt.p50, 1.0);
        assert_eq!(matching, "stamp");
        assert_eq!(errors.get("no answer"), Some(&2));
    }
}
