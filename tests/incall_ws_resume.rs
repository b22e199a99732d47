//! The signaling WebSocket is lost mid-call while the peer connection stays up: the page talks to
//! the gateway through a TCP relay of this test, which drops the connection as a network change
//! would (no Close frame; a clean Close from the client ends its calls at once by design).
//! Resumed within the grace period (20 s) by a new WebSocket whose first message is
//! `{"type":"resume","session_id":...}`, the session goes on: `resumed` lists the call, audio
//! continues, hangup works. Not resumed, the gateway ends the call with a BYE once the grace is
//! over (RFC 3261 section 15.1.1).

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::json;
use support::gateway::ALICE_TOKEN;
use support::incall::relay::TcpRelay;
use support::incall::{self, call_and_connect_via, hang_up, mark, wait_after};
use support::rig::{CallRig, RigOptions};

/// The gateway's default resume grace (`http.resume_grace`).
const GRACE: Duration = Duration::from_secs(20);

/// Connection lost, new WebSocket + resume -> `resumed` with the call; audio goes on; hangup.
#[tokio::test]
async fn resumed_session_keeps_the_call() {
    let (mut rig, relay) = start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = resumed(&mut rig, &relay).await;
    rig.finish(outcome).await;
}

/// Connection lost, no resume -> SIPp gets a BYE about 20 s later.
#[tokio::test]
async fn call_ends_with_bye_after_the_grace() {
    let (mut rig, relay) = start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = not_resumed(&mut rig, &relay).await;
    rig.finish(outcome).await;
}

async fn start() -> Result<(CallRig, TcpRelay)> {
    let rig = incall::start("uas_echo_pcmu.xml", &RigOptions::default()).await?;
    let http_port = rig
        .gateway
        .base_url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("the gateway's HTTP port")?;
    let relay = TcpRelay::start(http_port).await?;
    Ok((rig, relay))
}

/// Connected through the relay, with echoed audio; returns the call id.
async fn connect(rig: &CallRig, relay: &TcpRelay, test: &str) -> Result<String> {
    let url = format!("ws://127.0.0.1:{}/ws?token={ALICE_TOKEN}", relay.port());
    let call_id = call_and_connect_via(rig, &url, test).await?;
    rig.wait_inbound_energy(0.01, Duration::from_secs(10))
        .await?;
    Ok(call_id)
}

/// Cuts the relay and waits until the page saw its WebSocket close; returns the lost session's id.
async fn lose_signaling(rig: &CallRig, relay: &TcpRelay, test: &str) -> Result<String> {
    let watching = rig
        .browser
        .eval("return window.__gw.watchSignalingLoss();", vec![])
        .await?;
    relay.cut();
    let lost = rig
        .browser
        .eval("return window.__gw.signalingLost;", vec![])
        .await?;
    eprintln!("[{test}] the page's WebSocket is gone: {lost}");
    ensure!(
        lost["wasClean"] == false,
        "the cut should close the WebSocket abnormally (no Close frame): {lost}"
    );
    watching["sessionId"]
        .as_str()
        .map(str::to_owned)
        .context("no session id")
}

async fn resumed(rig: &mut CallRig, relay: &TcpRelay) -> Result<()> {
    let test = "incall_ws_resume resumed";
    let call_id = connect(rig, relay, test).await?;
    let session = lose_signaling(rig, relay, test).await?;
    let lost = tokio::time::Instant::now();
    // Stay away for a while: the call must stay up meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = mark(rig).await?;
    let url = rig.gateway.ws_url(Some(ALICE_TOKEN));
    rig.browser
        .eval(
            "return window.__gw.resumeSignaling(arguments[0], arguments[1]);",
            vec![json!(url), json!(session)],
        )
        .await?;
    let (_, resumed) = wait_after(rig, before, "resumed", Duration::from_secs(5), |m| {
        m["type"] == "resumed"
    })
    .await?;
    eprintln!(
        "[{test}] resumed {} ms after the loss: {resumed}",
        lost.elapsed().as_millis()
    );
    ensure!(
        resumed["session_id"] == session.as_str(),
        "resumed should name the lost session {session}: {resumed}"
    );
    let calls: Vec<&str> = resumed["calls"]
        .as_array()
        .map(|c| c.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    ensure!(
        calls == [call_id.as_str()],
        "resumed should list the call {call_id}: {resumed}"
    );
    ensure!(
        !rig.sipp.logged().iter().any(|m| m.is_request("BYE")),
        "the call must stay up while the session is detached:\n{}",
        rig.sipp.messages()
    );
    let base = incall::inbound(rig).await?;
    let (after, took) =
        incall::wait_energy_growth(rig, &base, 0.05, Duration::from_secs(5)).await?;
    eprintln!(
        "[{test}] audio after the resume: +{:.3} in {} ms",
        after.total_audio_energy - base.total_audio_energy,
        took.as_millis()
    );
    // The hangup goes over the new WebSocket; `ended` comes back on it.
    hang_up(rig).await?;
    Ok(())
}

async fn not_resumed(rig: &mut CallRig, relay: &TcpRelay) -> Result<()> {
    let test = "incall_ws_resume not resumed";
    connect(rig, relay, test).await?;
    lose_signaling(rig, relay, test).await?;
    let lost = tokio::time::Instant::now();
    let bound = GRACE + Duration::from_secs(10);
    let bye_after = loop {
        if rig
            .sipp
            .logged()
            .iter()
            .any(|m| !m.sent && m.is_request("BYE"))
        {
            break lost.elapsed();
        }
        if lost.elapsed() >= bound {
            bail!("no BYE at SIPp within {bound:?} of the WebSocket's loss (grace {GRACE:?})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "[{test}] BYE at SIPp {} ms after the WebSocket was lost (grace {GRACE:?})",
        bye_after.as_millis()
    );
    ensure!(
        bye_after >= GRACE - Duration::from_secs(1) && bye_after <= GRACE + Duration::from_secs(5),
        "the BYE should come once the {GRACE:?} grace is over, came after {bye_after:?}"
    );
    rig.sipp.expect_success(Duration::from_secs(10)).await
}
