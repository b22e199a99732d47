//! Asterisk rejects the call: SIPp `uas_busy_486` answers 100 then 486 Busy Here (RFC 3261
//! section 21.4.24); the browser gets `ended` with sip_code 486 and never an answer.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::rig::{CallOptions, CallRig};

/// 486 from Asterisk -> `state: ended`, `sip_code: 486`; SIPp got its ACK.
#[tokio::test]
async fn busy_here_ends_the_call_with_486() {
    let mut rig = CallRig::start("uas_busy_486.xml")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    let ended = rig.wait_state("ended", Duration::from_secs(10)).await?;
    eprintln!("[call_busy] ended: {ended}");
    ensure!(
        ended["sip_code"] == 486,
        "ended should carry sip_code 486: {ended}"
    );
    let messages = rig.messages().await?;
    ensure!(
        !messages.iter().any(|m| m["type"] == "answer"),
        "a rejected call must not be answered: {messages:#?}"
    );
    // uas_busy_486 exits 0 only after the ACK of its 486.
    rig.sipp.expect_success(Duration::from_secs(10)).await
}
