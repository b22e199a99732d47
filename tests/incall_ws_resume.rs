//! The signaling WebSocket drops mid-call (the page's `ws.close()`, as a network change would)
//! while the peer connection stays up. Resumed within the grace period (20 s) with a new
//! WebSocket whose first message is `{"type":"resume","session_id":...}`, the session goes on:
//! `resumed` lists the call, audio continues, hangup works. Not resumed, the gateway ends the
//! call with a BYE once the grace is over (RFC 3261 section 15.1.1).

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::json;
use support::gateway::ALICE_TOKEN;
use support::incall::{self, call_and_connect, hang_up, mark, wait_after};
use support::rig::{CallRig, RigOptions};

/// The gateway's resume grace period (gateway::signaling::session::RESUME_GRACE).
const GRACE: Duration = Duration::from_secs(20);

/// close, new WebSocket + resume -> `resumed` with the call; audio goes on; hangup ends it.
#[tokio::test]
async fn resumed_session_keeps_the_call() {
    let mut rig = start().await;
    let outcome = resumed(&mut rig).await;
    rig.finish(outcome).await;
}

/// close, no resume -> SIPp gets a BYE about 20 s later.
#[tokio::test]
async fn call_ends_with_bye_after_the_grace() {
    let mut rig = start().await;
    let outcome = not_resumed(&mut rig).await;
    rig.finish(outcome).await;
}

async fn start() -> CallRig {
    incall::start("uas_echo_pcmu.xml", &RigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

async fn resumed(rig: &mut CallRig) -> Result<()> {
    let test = "incall_ws_resume resumed";
    let call_id = call_and_connect(rig, test).await?;
    rig.wait_inbound_energy(0.01, Duration::from_secs(10))
        .await?;
    let dropped = rig
        .browser
        .eval("return window.__gw.dropSignaling();", vec![])
        .await?;
    let session = dropped["sessionId"]
        .as_str()
        .context("no session id")?
        .to_owned();
    let closed = tokio::time::Instant::now();
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
        "[{test}] resumed {} ms after the close: {resumed}",
        closed.elapsed().as_millis()
    );
    ensure!(
        resumed["session_id"] == session.as_str(),
        "resumed should name the old session {session}: {resumed}"
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

async fn not_resumed(rig: &mut CallRig) -> Result<()> {
    let test = "incall_ws_resume not resumed";
    call_and_connect(rig, test).await?;
    rig.wait_inbound_energy(0.01, Duration::from_secs(10))
        .await?;
    rig.browser
        .eval("return window.__gw.dropSignaling();", vec![])
        .await?;
    let closed = tokio::time::Instant::now();
    let bound = GRACE + Duration::from_secs(10);
    let bye_after = loop {
        if rig
            .sipp
            .logged()
            .iter()
            .any(|m| !m.sent && m.is_request("BYE"))
        {
            break closed.elapsed();
        }
        if closed.elapsed() >= bound {
            bail!("no BYE at SIPp within {bound:?} of the WebSocket's close (grace {GRACE:?})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "[{test}] BYE at SIPp {} ms after the WebSocket closed (grace {GRACE:?})",
        bye_after.as_millis()
    );
    ensure!(
        bye_after >= GRACE - Duration::from_secs(1) && bye_after <= GRACE + Duration::from_secs(5),
        "the BYE should come once the {GRACE:?} grace is over, came after {bye_after:?}"
    );
    rig.sipp.expect_success(Duration::from_secs(10)).await
}
