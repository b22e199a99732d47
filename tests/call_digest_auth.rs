//! Asterisk challenges the INVITE: SIPp `uas_auth_401` sends 401 with an MD5, qop="auth"
//! Digest challenge; the gateway ACKs, re-sends the INVITE with Authorization for user gateway /
//! password secret (RFC 3261 section 22.2, RFC 2617 section 3.2.2), which SIPp's <verifyauth>
//! checks: only valid credentials get the 200 OK.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::rig::{CallOptions, CallRig};

/// The challenged call connects; after hangup SIPp (which fails on bad credentials) exits 0.
#[tokio::test]
async fn digest_challenged_invite_connects() {
    let mut rig = CallRig::start("uas_auth_401.xml")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup("call_digest_auth").await;
    let sip = rig.sipp.messages();
    ensure!(
        sip.contains("Authorization: Digest") && sip.contains("username=\"gateway\""),
        "the second INVITE should carry the gateway's credentials"
    );
    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await
}
