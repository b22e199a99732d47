//! A browser calls 600 through the gateway (SIPp `uas_echo_pcmu` plays Asterisk, with 180 Ringing
//! and echoed PCMU), talks, hangs up; Odoo receives the call's five lifecycle reports in order:
//! initiating, ringing, connecting, connected, ended, with who called whom, the SIP codes, the
//! hangup reason, the billable duration and the quality stats (issue 5, docs/odoo.md), each one
//! acceptable to the addon's own validator.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use gateway_odoo::test_server::TestServer;
use serde_json::Value;
use support::odoo::{
    addon_accepts, by_call, good_api_key, kinds, start_odoo, wait_applied, with_odoo,
};
use support::rig::{CallOptions, CallRig, RigOptions};

/// Five events in order with the right fields for one browser call.
#[tokio::test]
async fn a_call_reports_its_five_states_to_odoo() {
    let odoo = start_odoo().await.unwrap_or_else(|e| panic!("{e:#}"));
    let data = tempfile::tempdir().expect("data dir");
    let options = RigOptions {
        gateway: with_odoo(
            Default::default(),
            &odoo.url(),
            &good_api_key(),
            data.path(),
        ),
        ..RigOptions::default()
    };
    let mut rig = CallRig::start_with("uas_echo_pcmu.xml", &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig, &odoo).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig, odoo: &TestServer) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let call_id = answer["call_id"].as_str().unwrap_or_default().to_owned();
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;

    let applied = wait_applied(odoo, 5, Duration::from_secs(15)).await?;
    let calls = by_call(&applied)?;
    let events = calls
        .get(&call_id)
        .with_context(|| format!("no events for {call_id}: {applied:#?}"))?;
    eprintln!(
        "[odoo_lifecycle] Odoo received: {:#}",
        Value::from(events.clone())
    );
    ensure!(
        kinds(events) == ["initiating", "ringing", "connecting", "connected", "ended"],
        "lifecycle out of order: {:?}",
        kinds(events)
    );
    let p = |i: usize| &events[i]["payload"];
    let first = p(0);
    ensure!(
        first["direction"] == "outbound"
            && first["user"] == "alice"
            && first["remote"] == "600"
            && first["call_type"] == "audio",
        "initiating names direction, user, remote and call type: {first}"
    );
    ensure!(
        p(1)["sip_code"] == 180
            && p(1)["sip_call_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
        "ringing carries 180 and the SIP Call-ID: {}",
        p(1)
    );
    ensure!(p(3)["sip_code"] == 200, "connected carries 200: {}", p(3));
    let ended = p(4);
    ensure!(
        ended["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "ended carries a reason: {ended}"
    );
    let duration = ended["duration"].as_f64().unwrap_or(-1.0);
    ensure!(
        duration > 0.0 && duration < 60.0,
        "ended carries the billable duration: {ended}"
    );
    for leg in ["webrtc", "sip"] {
        let mos = &ended["stats"][leg]["mos"];
        ensure!(
            mos.as_f64().is_some_and(|m| (1.0..=5.0).contains(&m)),
            "ended carries the {leg} leg's MOS: {ended}"
        );
    }
    let mut times: Vec<&str> = Vec::new();
    for event in events {
        let at = event["payload"]["at"].as_str().unwrap_or_default();
        ensure!(
            at.len() == 24 && at.ends_with('Z'),
            "at is RFC 3339 UTC with milliseconds: {event}"
        );
        times.push(at);
    }
    ensure!(times.is_sorted(), "times follow the lifecycle: {times:?}");
    addon_accepts(events.as_slice())?;
    ensure!(
        odoo.duplicates() == 0 && applied.len() == 5,
        "each event once: {applied:#?}"
    );
    Ok(())
}
