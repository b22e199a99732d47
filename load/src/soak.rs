//! The soak report of a churn run (issue 9, point 6): a timeline of the gateway sampled every few
//! seconds, the slope of its memory over the steady state, and the leak checks (open files,
//! threads, calls and WebSocket sessions still counted, RTP ports still bound) once every call
//! has ended. Pure: the samples are taken by `churn`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::procfs::ProcSample;
use crate::report::round3;

/// One sample of the gateway (and of the generator) during a churn run.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Default)]
pub struct Point {
    /// Seconds since the first call started (negative: before it).
    pub t_s: f64,
    /// Gateway VmRSS, KiB.
    pub rss_kib: u64,
    /// Gateway open file descriptors (every RTP/RTCP and WebRTC socket is one).
    pub fds: u64,
    /// Gateway threads.
    pub threads: u64,
    /// Gateway CPU time consumed so far, s.
    pub cpu_s: f64,
    /// Gateway CPU since the previous point, % of one core.
    pub cpu_pct: f64,
    /// `webrtc_gateway_calls_active` (all directions), if `/metrics` answered.
    pub calls_active: Option<i64>,
    /// `webrtc_gateway_ws_sessions`, if `/metrics` answered.
    pub ws_sessions: Option<i64>,
    /// Calls the generator has started.
    pub started: u64,
    /// Calls the generator has finished (hung up, or failed).
    pub finished: u64,
    /// Of those, calls that failed.
    pub failed: u64,
    /// Generator CPU time consumed so far, s.
    pub generator_cpu_s: f64,
    /// Generator CPU since the previous point, % of one core.
    pub generator_cpu_pct: f64,
    /// The machine's 1-minute load average.
    pub loadavg_1m: f64,
}

impl Point {
    /// The gateway part as a [`ProcSample`].
    pub fn proc_sample(&self) -> ProcSample {
        ProcSample {
            cpu: std::time::Duration::from_secs_f64(self.cpu_s.max(0.0)),
            rss_kib: self.rss_kib,
            fds: self.fds,
            threads: self.threads,
        }
    }
}

/// The steady state: every call slot is taken (after one call duration) and new calls still
/// start (before the last one does). Memory should be flat here.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Steady {
    /// Window start, s since the first call.
    pub from_s: f64,
    /// Window end, s.
    pub to_s: f64,
    /// Points in the window.
    pub samples: usize,
    /// RSS at the first point of the window, KiB.
    pub rss_kib_start: u64,
    /// RSS at the last point, KiB.
    pub rss_kib_end: u64,
    /// Lowest RSS in the window, KiB.
    pub rss_kib_min: u64,
    /// Highest RSS in the window, KiB.
    pub rss_kib_max: u64,
    /// Least-squares slope of RSS over the window, KiB per minute.
    pub rss_slope_kib_per_min: f64,
    /// Open files, lowest and highest in the window.
    pub fds_min_max: (u64, u64),
    /// Threads, lowest and highest in the window.
    pub threads_min_max: (u64, u64),
    /// Mean `calls_active` in the window.
    pub calls_active_mean: Option<f64>,
}

impl Steady {
    /// The points of `timeline` within `[from_s, to_s]`; `None` with fewer than two.
    pub fn of(timeline: &[Point], from_s: f64, to_s: f64) -> Option<Steady> {
        let w: Vec<&Point> = timeline
            .iter()
            .filter(|p| p.t_s >= from_s && p.t_s <= to_s)
            .collect();
        let (first, last) = (w.first()?, w.last()?);
        if w.len() < 2 {
            return None;
        }
        let xy: Vec<(f64, f64)> = w.iter().map(|p| (p.t_s / 60.0, p.rss_kib as f64)).collect();
        let min_max = |f: fn(&Point) -> u64| {
            let it = w.iter().map(|p| f(p));
            (it.clone().min().unwrap_or(0), it.max().unwrap_or(0))
        };
        let active: Vec<f64> = w
            .iter()
            .filter_map(|p| p.calls_active.map(|c| c as f64))
            .collect();
        Some(Steady {
            from_s: first.t_s,
            to_s: last.t_s,
            samples: w.len(),
            rss_kib_start: first.rss_kib,
            rss_kib_end: last.rss_kib,
            rss_kib_min: min_max(|p| p.rss_kib).0,
            rss_kib_max: min_max(|p| p.rss_kib).1,
            rss_slope_kib_per_min: round3(slope(&xy)),
            fds_min_max: min_max(|p| p.fds),
            threads_min_max: min_max(|p| p.threads),
            calls_active_mean: (!active.is_empty())
                .then(|| round3(active.iter().sum::<f64>() / active.len() as f64)),
        })
    }
}

/// Least-squares slope of y over x; 0 when x does not vary.
pub fn slope(xy: &[(f64, f64)]) -> f64 {
    let n = xy.len() as f64;
    if xy.len() < 2 {
        return 0.0;
    }
    let mx = xy.iter().map(|p| p.0).sum::<f64>() / n;
    let my = xy.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = xy.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = xy.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

/// The churn part of the summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SoakReport {
    /// Audio time of each call after it connects, s.
    pub call_duration_s: f64,
    /// Sampling period, s.
    pub sample_interval_s: f64,
    /// Calls that failed (any reason: see `errors`).
    pub calls_failed: u64,
    /// Calls whose hangup got no `ended` within 3 s (stuck on the gateway's side).
    pub hangups_without_ended: u64,
    /// Before the first call.
    pub before: Point,
    /// Once every call had ended and the gateway had released what it could (≤ 10 s).
    pub after: Point,
    /// The steady-state window, if the run was long enough to have one.
    pub steady: Option<Steady>,
    /// RTP ports of `--rtp-ports` free before the run and still bound after it.
    pub rtp_ports_held: Option<Vec<u16>>,
    /// What looks leaked or stuck; empty when every check passed.
    pub problems: Vec<String>,
    /// Every sample, before to after.
    pub timeline: Vec<Point>,
}

impl SoakReport {
    /// Lists the failed checks: something still open after the calls, or calls that did not end.
    pub fn find_problems(&mut self) {
        let (b, a) = (&self.before, &self.after);
        let mut p = Vec::new();
        if a.fds > b.fds {
            p.push(format!("open files {} before, {} after", b.fds, a.fds));
        }
        if a.threads > b.threads {
            p.push(format!("threads {} before, {} after", b.threads, a.threads));
        }
        match (b.calls_active, a.calls_active) {
            (_, Some(n)) if n != 0 => p.push(format!("calls_active {n} after the run")),
            (Some(_), None) => p.push("/metrics did not answer after the run".to_owned()),
            _ => {}
        }
        if let Some(n) = a.ws_sessions.filter(|&n| n > b.ws_sessions.unwrap_or(0)) {
            p.push(format!("ws_sessions {n} after the run"));
        }
        if let Some(held) = self.rtp_ports_held.as_ref().filter(|h| !h.is_empty()) {
            p.push(format!("{} RTP ports still bound: {held:?}", held.len()));
        }
        if self.hangups_without_ended > 0 {
            p.push(format!(
                "{} hangups got no `ended`",
                self.hangups_without_ended
            ));
        }
        self.problems = p;
    }

    /// The human part of `--pretty`: the timeline, the steady state and the checks.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let opt = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        let _ = writeln!(
            t,
            "churn: each call {}s of audio, sampled every {}s",
            self.call_duration_s, self.sample_interval_s
        );
        let _ = writeln!(
            t,
            "{:>7} {:>9} {:>6} {:>7} {:>7} {:>6} {:>5} {:>7} {:>6} {:>6} {:>7} {:>5}",
            "t s",
            "rss KiB",
            "fds",
            "threads",
            "gw cpu%",
            "active",
            "ws",
            "started",
            "ended",
            "failed",
            "gen cpu",
            "load"
        );
        for p in &self.timeline {
            let _ = writeln!(
                t,
                "{:>7.1} {:>9} {:>6} {:>7} {:>7.1} {:>6} {:>5} {:>7} {:>6} {:>6} {:>7.1} {:>5.2}",
                p.t_s,
                p.rss_kib,
                p.fds,
                p.threads,
                p.cpu_pct,
                opt(p.calls_active),
                opt(p.ws_sessions),
                p.started,
                p.finished,
                p.failed,
                p.generator_cpu_pct,
                p.loadavg_1m
            );
        }
        match &self.steady {
            Some(s) => {
                let _ = writeln!(
                    t,
                    "steady {:.0}-{:.0}s ({} samples): rss {} -> {} KiB (min {}, max {}), slope {:+.1} KiB/min; fds {}-{}, threads {}-{}, calls active mean {}",
                    s.from_s,
                    s.to_s,
                    s.samples,
                    s.rss_kib_start,
                    s.rss_kib_end,
                    s.rss_kib_min,
                    s.rss_kib_max,
                    s.rss_slope_kib_per_min,
                    s.fds_min_max.0,
                    s.fds_min_max.1,
                    s.threads_min_max.0,
                    s.threads_min_max.1,
                    s.calls_active_mean
                        .map_or_else(|| "-".to_owned(), |m| format!("{m:.1}"))
                );
            }
            None => {
                let _ = writeln!(t, "steady: run too short for a steady-state window");
            }
        }
        let (b, a) = (&self.before, &self.after);
        let _ = writeln!(
            t,
            "before -> after: rss {} -> {} KiB, fds {} -> {}, threads {} -> {}, calls_active {} -> {}, ws_sessions {} -> {}",
            b.rss_kib,
            a.rss_kib,
            b.fds,
            a.fds,
            b.threads,
            a.threads,
            opt(b.calls_active),
            opt(a.calls_active),
            opt(b.ws_sessions),
            opt(a.ws_sessions)
        );
        if let Some(held) = &self.rtp_ports_held {
            let _ = writeln!(t, "RTP ports still bound after the run: {}", held.len());
        }
        let _ = writeln!(
            t,
            "calls failed {}, hangups without `ended` {}",
            self.calls_failed, self.hangups_without_ended
        );
        if self.problems.is_empty() {
            let _ = writeln!(t, "leak checks: all passed");
        }
        for p in &self.problems {
            let _ = writeln!(t, "PROBLEM: {p}");
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t_s: f64, rss_kib: u64, fds: u64) -> Point {
        Point {
            t_s,
            rss_kib,
            fds,
            threads: 4,
            calls_active: Some(300),
            ..Point::default()
        }
    }

    #[test]
    fn the_slope_is_per_minute_over_the_window_only() {
        // +60 KiB per 10 s inside the window = 360 KiB/min; the ramp before it is ignored.
        let mut tl = vec![point(0.0, 10_000, 14), point(10.0, 60_000, 900)];
        tl.extend(
            (0..10u32).map(|i| point(40.0 + 10.0 * f64::from(i), 80_000 + 60 * u64::from(i), 1214)),
        );
        let s = Steady::of(&tl, 35.0, 130.0).expect("a window");
        assert_eq!(s.samples, 10);
        assert_eq!((s.from_s, s.to_s), (40.0, 130.0));
        assert!((s.rss_slope_kib_per_min - 360.0).abs() < 1e-6, "{s:?}");
        assert_eq!((s.rss_kib_start, s.rss_kib_end), (80_000, 80_540));
        assert_eq!(s.fds_min_max, (1214, 1214));
        assert_eq!(s.calls_active_mean, Some(300.0));
        assert_eq!(Steady::of(&tl, 200.0, 300.0), None);
    }

    #[test]
    fn a_flat_series_has_no_slope() {
        assert_eq!(slope(&[(1.0, 5.0), (2.0, 5.0), (3.0, 5.0)]), 0.0);
        assert_eq!(slope(&[(1.0, 5.0)]), 0.0);
        assert_eq!(slope(&[(1.0, 5.0), (1.0, 7.0)]), 0.0);
    }

    #[test]
    fn leftovers_after_the_run_are_problems() {
        let before = Point {
            calls_active: Some(0),
            ws_sessions: Some(0),
            ..point(-0.1, 10_000, 14)
        };
        let mut r = SoakReport {
            call_duration_s: 30.0,
            sample_interval_s: 10.0,
            calls_failed: 0,
            hangups_without_ended: 0,
            before,
            after: before,
            steady: None,
            rtp_ports_held: Some(vec![]),
            problems: vec![],
            timeline: vec![],
        };
        r.find_problems();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        r.after.fds = 16;
        r.after.calls_active = Some(1);
        r.rtp_ports_held = Some(vec![20002, 20003]);
        r.hangups_without_ended = 1;
        r.find_problems();
        assert_eq!(r.problems.len(), 4, "{:?}", r.problems);
        assert!(
            r.table()
                .contains("PROBLEM: open files 14 before, 16 after")
        );
    }
}
