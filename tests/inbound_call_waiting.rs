//! Call waiting (issue 3), trunk mode: alice's one device is in a call with caller A (SIPp
//! `uac_inbound_pcmu_hold_on`) when caller B (SIPp `uac_inbound_pcmu_bye`, another port) calls
//! her: the device gets a second `incoming` with another call id while call 1 stays connected.
//! The device holds call 1 (`{"type":"hold"}`: the gateway re-INVITEs A with `a=sendonly`, RFC
//! 3264 section 8.4, and A answers `a=recvonly`), then accepts call 2 (200 with an SDP answer to
//! B, RFC 3261 section 13.3.1.4), whose echoed audio reaches the device; both callers hang up
//! (BYE, RFC 3261 section 15.1.2) and the device gets `ended` for each call.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use support::device::Device;
use support::gateway::GatewayOptions;
use support::inbound::{Caller, InboundRig, first};
use support::sipp::SippOptions;

/// A calls, the device accepts; B calls, the device rings again; hold 1 (re-INVITE sendonly at
/// A), accept 2, audio on 2; A's BYE ends 1, B's BYE ends 2.
#[tokio::test]
async fn a_second_call_rings_the_busy_device_which_holds_the_first_and_takes_it() {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &InboundRig) -> Result<()> {
    let page = rig.device("page").await?;

    // Call 1. A hangs up 10 s after the ACK of the hold re-INVITE: time for call 2 to connect.
    let caller_a = rig
        .call("uac_inbound_pcmu_hold_on.xml", "alice", &pause_ms(10_000))
        .await?;
    let incoming_1 = page.wait_incoming(Duration::from_secs(10)).await?;
    let call_1 = call_id(&incoming_1)?;
    page.accept(&call_1, true).await?;
    page.wait_answer(&call_1, Duration::from_secs(10)).await?;
    page.wait_state(&call_1, "connected", Duration::from_secs(15))
        .await?;
    let audio_1 = page
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[inbound_call_waiting] call 1 connected, audio {audio_1:?}");

    // Call 2 while call 1 is up. B hangs up 8 s after its ACK.
    let caller_b = rig
        .call("uac_inbound_pcmu_bye.xml", "alice", &pause_ms(8_000))
        .await?;
    let incoming_2 = page
        .wait_message("a second incoming", Duration::from_secs(10), |m| {
            m["type"] == "incoming" && m["call_id"] != call_1.as_str()
        })
        .await?;
    let call_2 = call_id(&incoming_2)?;
    eprintln!("[inbound_call_waiting] call waiting: {incoming_2}");
    let messages = page.messages().await?;
    ensure!(
        !messages
            .iter()
            .any(|m| m["call_id"] == call_1.as_str() && m["state"] == "ended"),
        "the second call must not end the first: {messages:#?}"
    );
    // B hears ringing while alice is in call 1.
    wait_response(rig, caller_b, 180).await?;

    // Hold call 1: `held`, and A got a re-INVITE offering a=sendonly (its scenario checks it).
    send(rig, &page, json!({"type": "hold", "call_id": call_1})).await?;
    page.wait_state(&call_1, "held", Duration::from_secs(5))
        .await?;
    let reinvite = wait_request(rig, caller_a, "INVITE").await?;
    ensure!(
        reinvite.contains("a=sendonly"),
        "the hold re-INVITE should offer a=sendonly (RFC 3264 section 8.4):\n{reinvite}"
    );

    // Take call 2.
    page.accept(&call_2, true).await?;
    page.wait_answer(&call_2, Duration::from_secs(10)).await?;
    page.wait_state(&call_2, "connected", Duration::from_secs(15))
        .await?;
    let log_b = rig.caller_log(caller_b).await;
    let ok = first(&log_b, |m| !m.sent && m.is_response(200, Some("INVITE")))
        .context("B got no 200 OK for its INVITE")?;
    ensure!(
        ok.text.contains("m=audio") && ok.text.contains("RTP/AVP"),
        "the 200 OK to B must carry an SDP answer:\n{}",
        ok.text
    );
    // The page's device now measures call 2's peer connection: fresh statistics.
    let audio_2 = page
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[inbound_call_waiting] call 2 connected, audio {audio_2:?}");
    let messages = page.messages().await?;
    ensure!(
        !messages
            .iter()
            .any(|m| m["call_id"] == call_1.as_str() && m["state"] == "ended"),
        "call 1 should still be up (held) when call 2 connects; A's pause is too short? {messages:#?}"
    );

    // Both callers hang up.
    let ended_1 = page
        .wait_state(&call_1, "ended", Duration::from_secs(20))
        .await?;
    let ended_2 = page
        .wait_state(&call_2, "ended", Duration::from_secs(20))
        .await?;
    eprintln!("[inbound_call_waiting] ended: {ended_1} / {ended_2}");
    ensure!(
        ended_1["reason"] == "remote_hangup" && ended_2["reason"] == "remote_hangup",
        "each call should end by its caller's BYE: {ended_1} / {ended_2}"
    );
    // Each scenario exits 0 only after its BYE got its 200 (and A's only after a sendonly re-INVITE).
    rig.caller_success(caller_a, Duration::from_secs(10))
        .await?;
    rig.caller_success(caller_b, Duration::from_secs(10))
        .await?;
    Ok(())
}

/// SIPp options with `-d <ms>`: the length of the scenario's `<pause/>`.
fn pause_ms(ms: u32) -> SippOptions {
    SippOptions {
        extra: vec!["-d".to_owned(), ms.to_string()],
        ..SippOptions::default()
    }
}

/// The `call_id` of an `incoming`.
fn call_id(incoming: &Value) -> Result<String> {
    incoming["call_id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("incoming without call_id: {incoming}"))
}

/// Sends `msg` on `device`'s WebSocket as it is.
async fn send(rig: &InboundRig, device: &Device<'_>, msg: Value) -> Result<()> {
    rig.browser
        .eval(
            "window.__gw.devices[arguments[0]].ws.send(JSON.stringify(arguments[1])); return true;",
            vec![json!(device.name()), msg.clone()],
        )
        .await
        .with_context(|| format!("device {}: sending {msg}", device.name()))?;
    Ok(())
}

/// Polls `caller`'s log (at most 5 s) for the first `method` request it received; its text.
async fn wait_request(rig: &InboundRig, caller: Caller, method: &str) -> Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let log = rig.caller_log(caller).await;
        if let Some(m) = first(&log, |m| !m.sent && m.is_request(method)) {
            return Ok(m.text.clone());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{caller:?} received no {method} within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `caller`'s log (at most 5 s) for a received response `code` to its INVITE.
async fn wait_response(rig: &InboundRig, caller: Caller, code: u16) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let log = rig.caller_log(caller).await;
        if first(&log, |m| !m.sent && m.is_response(code, Some("INVITE"))).is_some() {
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{caller:?} received no {code} within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
