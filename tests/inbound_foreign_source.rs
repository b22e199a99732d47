//! Trunk mode is no open relay (issue 3): an INVITE to `sip:alice@<gateway>` from 127.0.0.2,
//! which is not the configured Asterisk (`sip.proxy` on 127.0.0.1, no `sip.trunk_sources`), gets
//! `403 Forbidden` (RFC 3261 section 21.4.4) without ringing, and alice's device hears nothing of
//! it; the same INVITE from 127.0.0.1 then rings the device (so the device would have seen the
//! first one).

mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Result, ensure};
use support::gateway::GatewayOptions;
use support::inbound::{InboundRig, invite_to_response_ms, ms};
use support::sipp::SippOptions;

/// 127.0.0.2 -> 403, no incoming; 127.0.0.1 -> the device rings (exactly once).
#[tokio::test]
async fn invite_from_an_address_that_is_not_asterisk_gets_403() {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &InboundRig) -> Result<()> {
    let page = rig.device("page").await?;
    let foreign = rig
        .call(
            "uac_inbound_refused_403.xml",
            "alice",
            &SippOptions {
                local_ip: Some(Ipv4Addr::new(127, 0, 0, 2)),
                ..SippOptions::default()
            },
        )
        .await?;
    // The scenario exits 0 only for a 403 without a 180 before it.
    rig.caller_success(foreign, Duration::from_secs(15)).await?;
    eprintln!(
        "[inbound_foreign_source] 127.0.0.2: INVITE -> 403 {} ms",
        ms(invite_to_response_ms(&rig.caller_log(foreign).await, 403))
    );

    // The gateway handles INVITEs in order: once the next one rings, the first would have too.
    let asterisk = rig
        .call(
            "uac_inbound_refused_486.xml",
            "alice",
            &SippOptions::default(),
        )
        .await?;
    let incoming = page.wait_incoming(Duration::from_secs(10)).await?;
    let messages = page.messages().await?;
    let rung = messages.iter().filter(|m| m["type"] == "incoming").count();
    ensure!(
        rung == 1,
        "only the INVITE from Asterisk's address may ring the device: {messages:#?}"
    );
    let call_id = incoming["call_id"].as_str().unwrap_or_default();
    page.reject(call_id, "busy").await?;
    rig.caller_success(asterisk, Duration::from_secs(10)).await
}
