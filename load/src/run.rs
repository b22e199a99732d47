//! A whole run: ramp the calls up, hold them, sample the gateway and the generator over the hold,
//! measure the baseline alongside, and fold the results into a [`Summary`]. With
//! `--call-duration` the calls churn instead: see [`crate::churn`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::args::{Codec, Plan};
use crate::audio::Frames;
use crate::baseline::{self, Echo};
use crate::call::{self, CallSpec, MediaWindow};
use crate::probe::Probe;
use crate::procfs::{self, ProcSample};
use crate::report::{self, AddedLatency, CallResult, GatewayUsage, Pct, Samples, Summary};

/// Time after the ramp for the last calls to connect before the hold window opens.
const SETTLE: Duration = Duration::from_secs(2);
/// Longest wait after the calls end for the gateway to release their resources.
const RELEASE_LIMIT: Duration = Duration::from_secs(5);

/// Runs the plan to its end.
pub async fn run(plan: Plan) -> anyhow::Result<Summary> {
    if let Some(churn) = plan.churn.clone() {
        return crate::churn::run(&plan, &churn).await;
    }
    let frames = Arc::new(Frames::new(plan.codec)?);
    let sample_gw = || plan.gateway_pid.and_then(|p| procfs::sample(Some(p)));
    let mut samples = Samples {
        before: sample_gw().unwrap_or_default(),
        ..Samples::default()
    };
    let epoch = Instant::now();
    let hold_start = epoch + plan.ramp() + SETTLE;
    let media_end = hold_start + plan.hold;

    let (own_echo, baseline) = start_baseline(&plan, epoch, hold_start, media_end)?;

    let mut calls = JoinSet::new();
    for i in 0..plan.calls {
        let spec = call_spec(&plan, i, &frames, epoch, MediaWindow::Until(media_end));
        let at = epoch + plan.start_offset(i);
        calls.spawn(async move {
            tokio::time::sleep_until(at).await;
            call::run(spec).await
        });
    }

    tokio::time::sleep_until(hold_start).await;
    samples.hold_start = sample_gw().unwrap_or_default();
    let own_start = procfs::sample(None).unwrap_or_default();
    let t0 = Instant::now();
    tokio::time::sleep_until(media_end).await;
    samples.hold_end = sample_gw().unwrap_or_default();
    let own_end = procfs::sample(None).unwrap_or_default();
    samples.hold_secs = t0.elapsed().as_secs_f64();

    let mut results = Vec::with_capacity(plan.calls as usize);
    while let Some(r) = calls.join_next().await {
        results.push(r?);
    }
    let base = baseline.await??;
    drop(own_echo);
    samples.after = wait_release(&plan, &samples.before).await;

    let established = results.iter().filter(|r| r.connected_ms.is_some()).count() as u64;
    let gateway = plan
        .gateway_pid
        .map(|pid| GatewayUsage::from_samples(pid, &samples, established));
    let generator_cpu_pct = report::round3(
        100.0 * own_end.cpu.saturating_sub(own_start.cpu).as_secs_f64()
            / samples.hold_secs.max(1e-9),
    );
    Ok(summarize(
        &plan,
        &results,
        &base,
        plan.hold,
        gateway,
        generator_cpu_pct,
    ))
}

/// The baseline flow from `start` to `end`, to the generator's own UDP echo (returned, to be
/// dropped after the flow) or to `--baseline`.
pub(crate) type Baseline = tokio::task::JoinHandle<std::io::Result<Probe>>;

/// Starts the baseline measurement over `[start, end]`.
pub(crate) fn start_baseline(
    plan: &Plan,
    epoch: Instant,
    start: Instant,
    end: Instant,
) -> anyhow::Result<(Option<Echo>, Baseline)> {
    let own_echo = match plan.baseline {
        Some(_) => None,
        None => Some(Echo::start()?),
    };
    let echo_addr: SocketAddr = match (&own_echo, plan.baseline) {
        (_, Some(a)) => a,
        (Some(e), None) => e.addr(),
        (None, None) => anyhow::bail!("no baseline echo"),
    };
    let handle = tokio::spawn(baseline::measure(echo_addr, epoch, start, end));
    Ok((own_echo, handle))
}

/// What call `i` of the plan does.
pub(crate) fn call_spec(
    plan: &Plan,
    i: u32,
    frames: &Arc<Frames>,
    epoch: Instant,
    media: MediaWindow,
) -> CallSpec {
    let token = &plan.tokens[i as usize % plan.tokens.len()];
    CallSpec {
        url: format!("{}?token={token}", plan.url),
        number: plan.number.clone(),
        codec: plan.codec,
        frames: Arc::clone(frames),
        epoch,
        media,
        ice_check_interval: plan.ice_check_interval,
    }
}

/// Folds the calls' results and the baseline into the summary line (`churn` left empty).
pub(crate) fn summarize(
    plan: &Plan,
    results: &[CallResult],
    base: &Probe,
    hold: Duration,
    gateway: Option<GatewayUsage>,
    generator_cpu_pct: f64,
) -> Summary {
    let established = results.iter().filter(|r| r.connected_ms.is_some()).count() as u64;
    let (answer, ice_dtls, connected, rtt, matching, errors) = report::aggregate(results);
    let sent: u64 = results.iter().map(|r| r.sent).sum();
    let received: u64 = results.iter().map(|r| r.received).sum();
    let baseline_rtt = Pct::of(
        base.rtts_us
            .iter()
            .map(|&us| f64::from(us) / 1000.0)
            .collect(),
    );
    let lost = sent.saturating_sub(received);
    Summary {
        calls: plan.calls,
        established,
        errors,
        number: plan.number.clone(),
        codec: match plan.codec {
            Codec::Opus => "opus",
            Codec::Pcmu => "pcmu",
        }
        .to_owned(),
        rate: plan.rate,
        hold_s: hold.as_secs_f64(),
        setup_answer_ms: answer,
        setup_ice_dtls_ms: ice_dtls,
        setup_connected_ms: connected,
        packets_sent: sent,
        packets_received: received,
        packets_lost: lost,
        loss_pct: if sent == 0 {
            0.0
        } else {
            report::round3(100.0 * lost as f64 / sent as f64)
        },
        duplicates: results.iter().map(|r| r.duplicates).sum(),
        added_one_way_ms: AddedLatency::from(&rtt, &baseline_rtt),
        rtt_ms: rtt,
        rtt_matching: matching,
        baseline_rtt_ms: baseline_rtt,
        gateway,
        generator_cpu_pct,
        churn: None,
    }
}

/// Samples the gateway once its open files are back to where they were before the run (or after
/// [`RELEASE_LIMIT`]): closing sockets and sessions takes the gateway a moment.
async fn wait_release(plan: &Plan, before: &ProcSample) -> ProcSample {
    let Some(pid) = plan.gateway_pid else {
        return ProcSample::default();
    };
    let deadline = Instant::now() + RELEASE_LIMIT;
    loop {
        let s = procfs::sample(Some(pid)).unwrap_or_default();
        if s.fds <= before.fds || Instant::now() >= deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
