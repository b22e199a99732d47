//! Call quality in `ended`: after a call with echoed audio (SIPp `uas_echo_pcmu`), the `ended`
//! message carries `stats` with a `webrtc` and a `sip` leg, each with the packets it received,
//! loss, jitter and a MOS estimate from the simplified E-model (ITU-T G.107: R to MOS maps into
//! 1..4.5). RTCP (RFC 3550 section 6.4) feeds the SIP leg's figures.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use support::incall::{self, call_and_connect, hang_up};
use support::rig::{CallRig, RigOptions};

/// ~6 s of echoed audio, hangup -> `ended.stats.{webrtc,sip}`: packets > 0, 1 <= MOS <= 4.5.
#[tokio::test]
async fn ended_carries_quality_stats_for_both_legs() {
    let mut rig = incall::start("uas_echo_pcmu.xml", &RigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    let test = "incall_stats";
    call_and_connect(rig, test).await?;
    rig.wait_inbound_energy(0.01, Duration::from_secs(10))
        .await?;
    // Past the first RTCP interval (5 s), so that reports exist on both legs.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let ended = hang_up(rig).await?;
    eprintln!("[{test}] ended: {ended}");
    let stats = ended.get("stats").context("`ended` carries no stats")?;
    for leg in ["webrtc", "sip"] {
        check_leg(leg, &stats[leg])?;
    }
    Ok(())
}

fn check_leg(name: &str, leg: &Value) -> Result<()> {
    ensure!(leg.is_object(), "stats.{name} is missing: {leg}");
    let packets = leg["packets_received"].as_u64().unwrap_or(0);
    // 6 s and more of 20 ms packets: well over 200.
    ensure!(
        packets > 200,
        "stats.{name}.packets_received should count the ~300 packets of 6 s of audio, got {leg}"
    );
    let mos = leg["mos"].as_f64().unwrap_or(f64::NAN);
    ensure!(
        (1.0..=4.5).contains(&mos),
        "stats.{name}.mos should be within 1..4.5 (G.107 R-to-MOS), got {mos}: {leg}"
    );
    for key in ["packets_lost", "loss_pct", "jitter_ms"] {
        ensure!(
            leg[key].is_number(),
            "stats.{name}.{key} should be a number: {leg}"
        );
    }
    Ok(())
}
