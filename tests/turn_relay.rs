//! TURN (issue 7, point 3): with `[webrtc] turn` the gateway hands the browser time-limited TURN
//! REST credentials in `hello`; coturn (`use-auth-secret`) accepts them, and a Chromium forced to
//! `iceTransportPolicy: "relay"` connects its call to SIPp through the relay (RFC 8656 §5, a
//! `relay` local candidate on the selected pair) with audio flowing both ways.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::json;
use support::coturn::Coturn;
use support::gateway::{ALICE_TOKEN, GatewayOptions};
use support::rig::{CallRig, RigOptions};

const TURN_SECRET: &str = "turn-relay-test-secret";

/// Relay-only call: hello carries the TURN server, the selected pair is relay <-> the gateway's
/// host candidate, and the echoed tone comes back.
#[tokio::test]
async fn relay_only_call_connects_through_coturn() {
    let coturn = Coturn::start(TURN_SECRET)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let turn = format!(
        "{{ urls = [\"{}\"], secret = \"{}\", ttl = \"1h\" }}",
        coturn.turn_url(),
        coturn.secret()
    );
    let options = RigOptions {
        gateway: GatewayOptions::default().config_key("webrtc.turn", &turn),
        ..RigOptions::default()
    };
    let rig = CallRig::start_with("uas_echo_pcmu.xml", &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&rig, &coturn).await;
    if outcome.is_err() {
        eprintln!(
            "===== coturn log =====\n{}",
            support::tail(&coturn.log(), 16 * 1024)
        );
    }
    rig.finish(outcome).await;
}

async fn scenario(rig: &CallRig, coturn: &Coturn) -> Result<()> {
    let opts = json!({
        "wsUrl": rig.gateway.ws_url(Some(ALICE_TOKEN)),
        "to": "600",
        "ref": "c1",
        "callType": "audio",
        "trickle": true,
        "codecs": [],
        "iceTransportPolicy": "relay",
    });
    rig.browser
        .eval("return window.__gw.start(arguments[0]);", vec![opts])
        .await
        .context("placing the relay-only call")?;
    let hello = rig
        .wait_message("hello", Duration::from_secs(5), |m| m["type"] == "hello")
        .await?;
    let server = &hello["ice_servers"][0];
    ensure!(
        server["urls"][0] == coturn.turn_url().as_str(),
        "hello's ice_servers: {hello}"
    );
    let username = server["username"].as_str().unwrap_or_default();
    ensure!(
        username.ends_with(":alice") && server["credential"].is_string(),
        "REST credentials <expiry>:alice in hello: {hello}"
    );

    rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(20)).await?;
    rig.report_setup("turn_relay").await;
    let stats = rig
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    // Media may use two nominated pairs, one per direction (Chromium renominates, the gateway
    // may keep sending on the first): poll until the transport counts bytes both ways, then
    // require every pair that carried media to be relayed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let pair = loop {
        let pair = rig
            .browser
            .eval("return window.__gw.selectedPair();", vec![])
            .await?;
        let flowing = |key: &str| pair[key].as_u64().is_some_and(|b| b > 0);
        if (flowing("transportBytesReceived") && flowing("transportBytesSent"))
            || tokio::time::Instant::now() >= deadline
        {
            break pair;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("[turn_relay] selected pair: {pair:#}\n[turn_relay] inbound audio: {stats:?}");
    ensure!(
        pair["local"]["candidateType"] == "relay",
        "the selected pair's local candidate is not relay: {pair}"
    );
    ensure!(
        pair["local"]["port"] != json!(coturn.port()),
        "the relay address is coturn's relay port, not its listening port: {pair}"
    );
    ensure!(
        pair["transportBytesReceived"].as_u64().unwrap_or(0) > 0
            && pair["transportBytesSent"].as_u64().unwrap_or(0) > 0,
        "media does not flow both ways: {pair}"
    );
    let active = pair["active"].as_array().cloned().unwrap_or_default();
    ensure!(
        !active.is_empty()
            && active
                .iter()
                .all(|p| p["local"]["candidateType"] == "relay"),
        "a pair that carried media is not relayed: {pair}"
    );
    let log = coturn.log();
    ensure!(
        log.contains("ALLOCATE") || log.contains("allocation"),
        "coturn logged no allocation"
    );

    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    Ok(())
}
