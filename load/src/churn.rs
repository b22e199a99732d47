//! Churn (soak) mode, issue 9 point 6: a new call every 1/`--rate` s until `--calls` have
//! started, each sending audio for `--call-duration` after it connects and then hanging up on its
//! own, so about rate x duration calls are up at any time and the run lasts calls/rate +
//! duration. The gateway is sampled every `--sample-interval` (RSS, open files, threads,
//! `/metrics`) into a timeline; after the last call the leak checks compare it with before.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::args::{Churn, Plan};
use crate::audio::Frames;
use crate::call::{self, MediaWindow};
use crate::gateway_metrics;
use crate::procfs;
use crate::report::{CallResult, GatewayUsage, Samples, Summary, round3};
use crate::run::{call_spec, start_baseline, summarize};
use crate::soak::{Point, SoakReport, Steady};

/// Once the first call has had its full duration every slot is taken; the steady state starts
/// this long after that, to let the setups of that moment finish.
const STEADY_SETTLE: Duration = Duration::from_secs(5);
/// Longest wait after the last call for the gateway to be back to its open files and no call.
const RELEASE_LIMIT: Duration = Duration::from_secs(10);
/// Time to take the samples before the first call starts.
const LEAD: Duration = Duration::from_millis(200);

/// Runs a churn plan to its end.
pub async fn run(plan: &Plan, churn: &Churn) -> anyhow::Result<Summary> {
    let frames = Arc::new(Frames::new(plan.codec)?);
    let ports_before = churn.rtp_ports.map(ports_in_use);
    let epoch = Instant::now() + LEAD;
    let mut sampler = Sampler {
        pid: plan.gateway_pid,
        http: plan.http_addr,
        epoch,
        prev: None,
    };
    let before = sampler.point(Progress::default()).await;

    // Steady state: every slot taken, new calls still starting.
    let steady_from = churn.call_duration + STEADY_SETTLE;
    let steady_to = plan.ramp();
    let has_steady = steady_to >= steady_from + churn.sample_interval;
    let (base_from, base_to) = if has_steady {
        (steady_from, steady_to)
    } else {
        (Duration::ZERO, plan.ramp() + churn.call_duration)
    };
    let (own_echo, baseline) = start_baseline(plan, epoch, epoch + base_from, epoch + base_to)?;

    let mut timeline = vec![before];
    let mut calls = JoinSet::new();
    let mut results: Vec<CallResult> = Vec::with_capacity(plan.calls as usize);
    let mut progress = Progress::default();
    let mut next_sample = epoch + churn.sample_interval;
    while progress.started < u64::from(plan.calls) || !calls.is_empty() {
        let i = progress.started as u32;
        let start_at = epoch + plan.start_offset(i);
        tokio::select! {
            biased;
            Some(r) = calls.join_next(), if !calls.is_empty() => {
                let r: CallResult = r?;
                progress.finished += 1;
                progress.failed += u64::from(r.error.is_some());
                results.push(r);
            }
            _ = tokio::time::sleep_until(next_sample) => {
                timeline.push(sampler.point(progress).await);
                next_sample += churn.sample_interval;
            }
            _ = tokio::time::sleep_until(start_at), if i < plan.calls => {
                let spec = call_spec(plan, i, &frames, epoch, MediaWindow::For(churn.call_duration));
                calls.spawn(call::run(spec));
                progress.started += 1;
            }
        }
    }
    let base = baseline.await??;
    drop(own_echo);

    // Closing sockets and sessions takes the gateway a moment.
    let deadline = Instant::now() + RELEASE_LIMIT;
    let after = loop {
        let p = sampler.point(progress).await;
        let released = (plan.gateway_pid.is_none() || p.fds <= before.fds)
            && p.calls_active.is_none_or(|n| n == 0);
        if released || Instant::now() >= deadline {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    timeline.push(after);
    let rtp_ports_held = match (churn.rtp_ports, ports_before) {
        (Some(range), Some(before)) => Some(
            ports_in_use(range)
                .into_iter()
                .filter(|p| !before.contains(p))
                .collect(),
        ),
        _ => None,
    };

    let steady = if has_steady {
        Steady::of(
            &timeline,
            steady_from.as_secs_f64(),
            steady_to.as_secs_f64(),
        )
    } else {
        None
    };
    // CPU over the steady state (else the whole run), per call-second of the calls then up.
    let window: Vec<&Point> = match &steady {
        Some(s) => timeline
            .iter()
            .filter(|p| p.t_s >= s.from_s && p.t_s <= s.to_s)
            .collect(),
        None => timeline.iter().collect(),
    };
    let (first, last) = match (window.first(), window.last()) {
        (Some(f), Some(l)) => (**f, **l),
        _ => (before, after),
    };
    let secs = (last.t_s - first.t_s).max(1e-9);
    let calls_up = mean_calls_up(&window);
    let gateway = plan.gateway_pid.map(|pid| {
        let samples = Samples {
            before: before.proc_sample(),
            hold_start: first.proc_sample(),
            hold_end: last.proc_sample(),
            after: after.proc_sample(),
            hold_secs: secs,
        };
        GatewayUsage::from_samples(pid, &samples, calls_up)
    });
    let generator_cpu_pct = round3(100.0 * (last.generator_cpu_s - first.generator_cpu_s) / secs);

    let mut soak = SoakReport {
        call_duration_s: churn.call_duration.as_secs_f64(),
        sample_interval_s: churn.sample_interval.as_secs_f64(),
        calls_failed: progress.failed,
        hangups_without_ended: results.iter().filter(|r| r.no_ended_after_hangup).count() as u64,
        before,
        after,
        steady,
        rtp_ports_held,
        problems: Vec::new(),
        timeline,
    };
    soak.find_problems();
    let mut summary = summarize(
        plan,
        &results,
        &base,
        churn.call_duration,
        gateway,
        generator_cpu_pct,
    );
    summary.churn = Some(soak);
    Ok(summary)
}

/// The generator's count of calls so far.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    started: u64,
    finished: u64,
    failed: u64,
}

/// Takes [`Point`]s of the gateway and the generator.
struct Sampler {
    pid: Option<u32>,
    http: SocketAddr,
    epoch: Instant,
    prev: Option<Point>,
}

impl Sampler {
    async fn point(&mut self, progress: Progress) -> Point {
        let now = Instant::now();
        let gw = self
            .pid
            .and_then(|p| procfs::sample(Some(p)))
            .unwrap_or_default();
        let own = procfs::sample(None).unwrap_or_default();
        // After /proc: the fetch's own connection must not count as an open file.
        let gauges = gateway_metrics::fetch(self.http).await.unwrap_or_default();
        let t_s = if now >= self.epoch {
            now.duration_since(self.epoch).as_secs_f64()
        } else {
            -self.epoch.duration_since(now).as_secs_f64()
        };
        let mut p = Point {
            t_s: round3(t_s),
            rss_kib: gw.rss_kib,
            fds: gw.fds,
            threads: gw.threads,
            cpu_s: round3(gw.cpu.as_secs_f64()),
            cpu_pct: 0.0,
            calls_active: gauges.calls_active,
            ws_sessions: gauges.ws_sessions,
            started: progress.started,
            finished: progress.finished,
            failed: progress.failed,
            generator_cpu_s: round3(own.cpu.as_secs_f64()),
            generator_cpu_pct: 0.0,
            loadavg_1m: procfs::loadavg_1m(),
        };
        if let Some(prev) = &self.prev {
            let dt = (p.t_s - prev.t_s).max(1e-9);
            p.cpu_pct = round3(100.0 * (p.cpu_s - prev.cpu_s) / dt);
            p.generator_cpu_pct = round3(100.0 * (p.generator_cpu_s - prev.generator_cpu_s) / dt);
        }
        self.prev = Some(p);
        p
    }
}

/// Mean number of calls up over the points: the gateway's count, else the generator's.
fn mean_calls_up(points: &[&Point]) -> u64 {
    if points.is_empty() {
        return 0;
    }
    let sum: f64 = points
        .iter()
        .map(|p| {
            p.calls_active
                .map_or(p.started.saturating_sub(p.finished) as f64, |n| n as f64)
        })
        .sum();
    (sum / points.len() as f64).round() as u64
}

/// The UDP ports of `range` that cannot be bound on 127.0.0.1 now.
fn ports_in_use((first, last): (u16, u16)) -> BTreeSet<u16> {
    (first..=last)
        .filter(|&p| StdUdpSocket::bind((Ipv4Addr::LOCALHOST, p)).is_err())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_port_is_in_use_and_a_released_one_is_not() {
        let sock = StdUdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = sock.local_addr().unwrap().port();
        assert!(ports_in_use((port, port)).contains(&port));
        drop(sock);
        assert!(ports_in_use((port, port)).is_empty());
    }

    #[test]
    fn calls_up_prefer_the_gateway_count() {
        let p = |active: Option<i64>, started, finished| Point {
            calls_active: active,
            started,
            finished,
            ..Point::default()
        };
        let (a, b) = (p(Some(300), 500, 190), p(Some(302), 600, 290));
        assert_eq!(mean_calls_up(&[&a, &b]), 301);
        let (c, d) = (p(None, 500, 200), p(None, 600, 296));
        assert_eq!(mean_calls_up(&[&c, &d]), 302);
        assert_eq!(mean_calls_up(&[]), 0);
    }
}
