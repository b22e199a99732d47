//! Devices decline an inbound call (issue 3), trunk mode: when every ringing device rejected,
//! the gateway answers Asterisk with `486 Busy Here` for `busy` (RFC 3261 section 21.4.24) or
//! `603 Decline` for `decline` (section 21.6.2), after its 180; one device's reject only stops
//! that device ringing: the other still gets the call and can take it.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::gateway::GatewayOptions;
use support::inbound::{InboundRig, invite_to_response_ms, ms};
use support::sipp::SippOptions;

/// The only device rejects with `busy`: 486.
#[tokio::test]
async fn the_only_device_rejecting_busy_gives_486() {
    run_single("busy", "uac_inbound_refused_486.xml").await;
}

/// The only device rejects with `decline`: 603.
#[tokio::test]
async fn the_only_device_rejecting_decline_gives_603() {
    run_single("decline", "uac_inbound_refused_603.xml").await;
}

/// Device A rejects; B keeps ringing, accepts, and the call connects.
#[tokio::test]
async fn one_device_rejecting_leaves_the_other_ringing() {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = one_of_two(&rig).await;
    rig.finish(outcome).await;
}

async fn run_single(reason: &str, scenario: &str) {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = single(&rig, reason, scenario).await;
    rig.finish(outcome).await;
}

async fn single(rig: &InboundRig, reason: &str, scenario: &str) -> Result<()> {
    let page = rig.device("page").await?;
    let caller = rig.call(scenario, "alice", &SippOptions::default()).await?;
    let incoming = page.wait_incoming(Duration::from_secs(10)).await?;
    let call_id = incoming["call_id"].as_str().unwrap_or_default();
    page.reject(call_id, reason).await?;
    // The scenario exits 0 only after 180 then the expected final response.
    rig.caller_success(caller, Duration::from_secs(10)).await?;
    let log = rig.caller_log(caller).await;
    eprintln!(
        "[inbound_reject] {reason}: INVITE -> 180 {} ms, -> final {} ms",
        ms(invite_to_response_ms(&log, 180)),
        ms(invite_to_response_ms(&log, 486).or(invite_to_response_ms(&log, 603)))
    );
    let ended = page
        .wait_state(call_id, "ended", Duration::from_secs(5))
        .await?;
    eprintln!("[inbound_reject] {reason}: the device got {ended}");
    Ok(())
}

async fn one_of_two(rig: &InboundRig) -> Result<()> {
    let a = rig.device("a").await?;
    let b = rig.device("b").await?;
    let caller = rig
        .call(
            "uac_inbound_pcmu_bye.xml",
            "alice",
            &SippOptions {
                extra: vec!["-d".to_owned(), "1000".to_owned()],
                ..SippOptions::default()
            },
        )
        .await?;
    let incoming = a.wait_incoming(Duration::from_secs(10)).await?;
    b.wait_incoming(Duration::from_secs(10)).await?;
    let call_id = incoming["call_id"].as_str().unwrap_or_default();

    a.reject(call_id, "busy").await?;
    let ended_a = a
        .wait_state(call_id, "ended", Duration::from_secs(10))
        .await?;
    eprintln!("[inbound_reject] device A after its reject: {ended_a}");
    let b_messages = b.messages().await?;
    ensure!(
        !b_messages.iter().any(|m| m["state"] == "ended"),
        "device A's reject must not stop device B ringing: {b_messages:#?}"
    );
    let log = rig.caller_log(caller).await;
    ensure!(
        !log.iter().any(|m| !m.sent && m.is_response(486, None)),
        "one device's reject must not refuse the call while another rings"
    );

    b.accept(call_id, true).await?;
    b.wait_answer(call_id, Duration::from_secs(10)).await?;
    b.wait_state(call_id, "connected", Duration::from_secs(15))
        .await?;
    b.wait_state(call_id, "ended", Duration::from_secs(15))
        .await?;
    // uac_inbound_pcmu_bye exits 0 after 180, 200 (answered by B), ACK, its BYE and the 200.
    rig.caller_success(caller, Duration::from_secs(10)).await
}
