//! The browser gives up while Asterisk rings: SIPp `uas_ring_no_answer` sends 180, the browser
//! hangs up, the gateway CANCELs (RFC 3261 section 9.1), Asterisk answers 200 + 487 and gets
//! the ACK; the browser gets `ended`.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::rig::{CallOptions, CallRig};

/// ringing -> hangup -> CANCEL at SIPp (scenario exits 0) and `state: ended` in the browser.
#[tokio::test]
async fn hangup_while_ringing_cancels_the_invite() {
    let mut rig = CallRig::start("uas_ring_no_answer.xml")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    let ringing = rig.wait_state("ringing", Duration::from_secs(10)).await?;
    eprintln!("[call_cancel] ringing: {ringing}");
    let hangup = rig.hangup().await?;
    eprintln!("[call_cancel] sent {hangup}");
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    let messages = rig.messages().await?;
    ensure!(
        !messages.iter().any(|m| m["type"] == "answer"),
        "a cancelled call must not be answered: {messages:#?}"
    );
    // uas_ring_no_answer exits 0 only after CANCEL, its 200/487 and the ACK.
    rig.sipp.expect_success(Duration::from_secs(10)).await?;
    ensure!(
        rig.sipp.messages().contains("CANCEL sip:"),
        "SIPp saw no CANCEL"
    );
    Ok(())
}
