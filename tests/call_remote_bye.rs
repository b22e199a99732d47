//! Asterisk hangs up: SIPp `uas_bye_after` answers, then sends BYE after ~4 s (RFC 3261 section
//! 15.1.2); the gateway answers it and tells the browser the call ended.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::rig::{CallOptions, CallRig};

/// Connected, then Asterisk's BYE -> `state: ended` in the browser; SIPp got its 200 OK.
#[tokio::test]
async fn asterisk_bye_ends_the_browser_call() {
    let mut rig = CallRig::start("uas_bye_after.xml")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup("call_remote_bye").await;

    // The scenario pauses 4 s after the ACK before its BYE.
    let ended = rig.wait_state("ended", Duration::from_secs(15)).await?;
    eprintln!("[call_remote_bye] ended: {ended}");
    ensure!(
        ended["call_id"] == answer["call_id"],
        "ended should name the answered call: {ended} vs {answer}"
    );
    // uas_bye_after exits 0 only once its BYE got a 200 OK.
    rig.sipp.expect_success(Duration::from_secs(10)).await
}
