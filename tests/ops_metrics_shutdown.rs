//! Observability and graceful shutdown (issue 9, points 4-5): `/metrics` counts a call in
//! progress, `/readyz` is ready; on SIGTERM new calls are refused while the call in progress goes
//! on, `/readyz` says so, and once that call ends the gateway exits by itself.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::json;
use support::gateway::{ALICE_TOKEN, Gateway};
use support::sipp::{Scenario, Sipp};
use support::ws::WsClient;

const T: Duration = Duration::from_secs(10);

fn chromium_offer() -> Result<String> {
    support::data_file("sdp/chromium156-audio.sdp")
}

#[tokio::test]
async fn metrics_readyz_and_graceful_shutdown() {
    let mut sipp = Sipp::uas(Scenario::File("uas_echo_pcmu.xml"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let mut gw = Gateway::start(sipp.port())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut gw, &mut sipp).await;
    if let Err(e) = outcome {
        gw.dump();
        sipp.dump();
        panic!("{e:#}");
    }
}

async fn scenario(gw: &mut Gateway, sipp: &mut Sipp) -> Result<()> {
    let (code, body) = gw.get("/readyz").await?;
    ensure!(code == 200, "/readyz before any call: {code} {body}");

    let mut ws = WsClient::connect(&gw.ws_url(Some(ALICE_TOKEN))).await?;
    ws.expect_hello().await?;
    ws.send_json(&json!({"type":"call","ref":"c1","to":"600","sdp":chromium_offer()?}))
        .await?;
    let (answer, _) = ws.wait_for("answer", T, |m| m["type"] == "answer").await?;
    let call_id = answer["call_id"].as_str().context("call_id")?.to_owned();

    let (_, metrics) = gw.get("/metrics").await?;
    ensure!(
        metrics.contains("webrtc_gateway_calls_active{direction=\"outbound\"} 1"),
        "one outbound call should be active:\n{metrics}"
    );
    ensure!(
        metrics.contains("webrtc_gateway_ws_sessions 1"),
        "one WebSocket session:\n{metrics}"
    );

    gw.terminate();
    // Draining: a new call is refused, the one in progress goes on, /readyz says why.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws.send_json(&json!({"type":"call","ref":"c2","to":"600","sdp":chromium_offer()?}))
        .await?;
    let (refused, _) = ws
        .wait_for("refusal", T, |m| m["type"] == "error" && m["ref"] == "c2")
        .await?;
    ensure!(refused["code"] == "unavailable", "{refused}");
    let (code, body) = gw.get("/readyz").await?;
    ensure!(
        code == 503 && body.contains("shutting down"),
        "/readyz while draining: {code} {body}"
    );
    ensure!(
        gw.wait_exit(Duration::from_millis(500)).await.is_none(),
        "the gateway must wait for the call in progress"
    );

    ws.send_json(&json!({"type":"hangup","call_id":call_id}))
        .await?;
    ws.wait_for("ended", T, |m| {
        m["type"] == "state" && m["state"] == "ended"
    })
    .await?;
    let code = gw
        .wait_exit(Duration::from_secs(10))
        .await
        .context("the gateway did not exit after its last call ended")?;
    ensure!(code == 0, "exit code {code}");
    sipp.expect_success(T).await
}
