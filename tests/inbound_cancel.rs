//! Asterisk gives up before anyone answers (issue 3), trunk mode: SIPp `uac_inbound_cancel`
//! (as tests/data/asterisk22/ladder-inbound-originate-gw-noanswer-cancel.txt) CANCELs the
//! ringing INVITE; the gateway answers 200 to the CANCEL and 487 to the INVITE (RFC 3261
//! section 9.2), and every ringing device gets `ended` with reason `cancelled`.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::gateway::GatewayOptions;
use support::inbound::{InboundRig, invite_to_response_ms, ms};
use support::sipp::SippOptions;

/// Two devices ring; CANCEL -> 200 + 487 at SIPp, `ended cancelled` on both devices.
#[tokio::test]
async fn cancel_while_ringing_ends_the_call_on_every_device() {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &InboundRig) -> Result<()> {
    let a = rig.device("a").await?;
    let b = rig.device("b").await?;
    let caller = rig
        .call("uac_inbound_cancel.xml", "alice", &SippOptions::default())
        .await?;
    let incoming = a.wait_incoming(Duration::from_secs(10)).await?;
    b.wait_incoming(Duration::from_secs(10)).await?;
    let call_id = incoming["call_id"].as_str().unwrap_or_default();

    // The scenario exits 0 only after 180, its CANCEL, 200 (CANCEL), 487 and its ACK.
    rig.caller_success(caller, Duration::from_secs(15)).await?;
    for device in [&a, &b] {
        let ended = device
            .wait_state(call_id, "ended", Duration::from_secs(10))
            .await?;
        ensure!(
            ended["reason"] == "cancelled",
            "device {}: a CANCELled call ends with reason cancelled: {ended}",
            device.name()
        );
    }
    let log = rig.caller_log(caller).await;
    eprintln!(
        "[inbound_cancel] INVITE -> 180 {} ms, -> 487 {} ms (CANCEL sent 500 ms after the 180)",
        ms(invite_to_response_ms(&log, 180)),
        ms(invite_to_response_ms(&log, 487))
    );
    Ok(())
}
