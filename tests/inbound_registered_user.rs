//! A user with a SIP account of their own (issue 3), not trunk mode: alice's device connects,
//! the gateway REGISTERs `[sip.users.alice]` with Asterisk (SIPp `uas_registrar_once`: 401, then
//! 200, RFC 3261 sections 10.2 and 22.2) with a Contact at the gateway; Asterisk's INVITE to that
//! registered contact (Request-URI = the Contact, as in
//! tests/data/asterisk22/ladder-inbound-dial-700-alice.txt) rings alice's device, which answers;
//! audio flows until Asterisk hangs up.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::gateway::GatewayOptions;
use support::inbound::{InboundRig, first};
use support::sipp::SippOptions;

/// registered -> INVITE to the Contact -> incoming -> accept -> connected, audio -> BYE -> ended.
#[tokio::test]
async fn invite_to_the_registered_contact_rings_the_users_device() {
    let options = GatewayOptions::default()
        .user("alice", "alice", "alice-sip-secret")
        // SIPp plays only the registrar: an OPTIONS keepalive would be an unexpected message.
        .options_interval("0s")
        // Logs each SIP datagram's arrival: the start of the ringing latency.
        .log_level("debug,gateway::sip_driver=trace");
    let rig = InboundRig::start_with_registrar("uas_registrar_once.xml", &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &InboundRig) -> Result<()> {
    let page = rig.device("page").await?;
    page.wait_message("registration registered", Duration::from_secs(10), |m| {
        m["type"] == "registration" && m["state"] == "registered"
    })
    .await?;
    rig.registrar_success(Duration::from_secs(10)).await?;
    let log = rig.registrar_log().await;
    let contact = first(&log, |m| !m.sent && m.is_request("REGISTER"))
        .and_then(|m| m.header("Contact"))
        .context("the registrar logged no REGISTER Contact")?;
    // uac_inbound_pcmu_bye sends to sip:[service]@[remote_ip]:[remote_port].
    let request_uri = format!("<sip:alice@127.0.0.1:{}>", rig.gateway.sip_port());
    ensure!(
        contact == request_uri,
        "the registered Contact {contact} should be the gateway's address {request_uri}"
    );

    let caller = rig
        .call(
            "uac_inbound_pcmu_bye.xml",
            "alice",
            &SippOptions {
                extra: vec!["-d".to_owned(), "6000".to_owned()],
                ..SippOptions::default()
            },
        )
        .await?;
    let incoming = page.wait_incoming(Duration::from_secs(10)).await?;
    let call_id = incoming["call_id"].as_str().unwrap_or_default();
    let figures = rig.ringing_figures(caller, &[&page]).await?;
    eprintln!("[inbound_registered_user] ringing latency: {figures}");
    page.accept(call_id, true).await?;
    page.wait_answer(call_id, Duration::from_secs(10)).await?;
    page.wait_state(call_id, "connected", Duration::from_secs(15))
        .await?;
    let stats = page
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[inbound_registered_user] inbound audio: {stats:?}");
    page.wait_state(call_id, "ended", Duration::from_secs(20))
        .await?;
    rig.caller_success(caller, Duration::from_secs(10)).await
}
