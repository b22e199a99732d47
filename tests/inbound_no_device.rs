//! Asterisk calls a gateway user who has no device connected (issue 3): the gateway answers
//! `480 Temporarily Unavailable` (RFC 3261 section 21.4.18) at once, without ringing, both in
//! trunk mode and for a user with a SIP account of their own (`[sip.users.alice]`).

mod support;

use std::time::Duration;

use anyhow::Result;
use support::gateway::{Gateway, GatewayOptions};
use support::inbound::{invite_to_response_ms, ms};
use support::ports::free_udp_port;
use support::sipp::{Scenario, Sipp, SippOptions};

/// Trunk mode, INVITE to sip:alice@gateway, no device: 480, no 180.
#[tokio::test]
async fn trunk_invite_for_a_user_without_devices_gets_480() {
    run(&GatewayOptions::default().trunk(true), "trunk")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
}

/// alice registers her own account while a device is connected; with none, her INVITE gets 480.
#[tokio::test]
async fn invite_for_a_registering_user_without_devices_gets_480() {
    let options = GatewayOptions::default().user("alice", "alice", "alice-sip-secret");
    run(&options, "registering user")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
}

async fn run(options: &GatewayOptions, what: &str) -> Result<()> {
    // Nobody answers at the proxy's port; the caller shares its address, 127.0.0.1.
    let gateway = Gateway::start_with(free_udp_port()?, options).await?;
    let mut caller = Sipp::spawn_with(
        Scenario::File("uac_inbound_refused_480.xml"),
        &SippOptions {
            extra: vec![
                format!("127.0.0.1:{}", gateway.sip_port()),
                "-s".to_owned(),
                "alice".to_owned(),
            ],
            ..SippOptions::default()
        },
    )
    .await?;
    // uac_inbound_refused_480 exits 0 only for a 480 without a 180 before it.
    caller.expect_success(Duration::from_secs(15)).await?;
    eprintln!(
        "[inbound_no_device] {what}: INVITE -> 480 at SIPp {} ms",
        ms(invite_to_response_ms(&caller.logged(), 480))
    );
    Ok(())
}
