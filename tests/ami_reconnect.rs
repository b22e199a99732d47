//! AMI reconnect as the gateway's operator sees it (issue 6): Asterisk is killed (the AMI test server
//! stops listening and closes every connection), `/healthz` shows the server disconnected and an
//! action through the API fails at once with 503; Asterisk comes back on the same port, and within
//! 5 s `/healthz` shows it connected again, actions work, and event forwarding resumes.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use gateway_ami::test_server::{Capture, TestServer};
use gateway_odoo::test_server::TestServer as Odoo;
use serde_json::json;
use support::ami::{post, start_pbx, wait_ami_state, wait_for, with_ami};
use support::gateway::{Gateway, GatewayOptions};
use support::odoo::{good_api_key, start_odoo, with_odoo};
use support::ports::free_udp_port;

/// Kill, fast 503, restart, connected within 5 s, forwarding again.
#[tokio::test]
async fn asterisk_restart_is_survived() {
    let pbx = start_pbx().await.unwrap_or_else(|e| panic!("{e:#}"));
    let odoo = start_odoo().await.unwrap_or_else(|e| panic!("{e:#}"));
    odoo.accept_method("asterisk_calls.call", "create_cdr", json!(true));
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let options = with_odoo(
        with_ami(
            GatewayOptions::default().options_interval("0s"),
            &[("pbx", pbx.addr())],
        ),
        &odoo.url(),
        &good_api_key(),
        data.path(),
    )
    .config_key(
        "ami.forward",
        "[{ event = \"Cdr\", model = \"asterisk_calls.call\", method = \"create_cdr\" }]",
    );
    let gateway = Gateway::start_with(
        free_udp_port().unwrap_or_else(|e| panic!("{e:#}")),
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = scenario(&gateway, &pbx, &odoo).await {
        panic!("{e:#}");
    }
}

async fn scenario(gateway: &Gateway, pbx: &TestServer, odoo: &Odoo) -> Result<()> {
    wait_ami_state(gateway, "pbx", "connected", Duration::from_secs(10)).await?;
    let logins_before = pbx.action_count("Login");

    pbx.stop();
    wait_ami_state(gateway, "pbx", "disconnected", Duration::from_secs(5)).await?;
    let started = tokio::time::Instant::now();
    let (status, body) = post(
        gateway,
        "/api/v1/ami/pbx/action",
        &json!({"Action": "Ping"}),
    )
    .await?;
    let took = started.elapsed();
    ensure!(
        status == 503,
        "an action during the outage answers 503: {status} {body}"
    );
    ensure!(
        took < Duration::from_secs(1),
        "the outage answer must come at once, took {took:?}"
    );

    pbx.restart().await?;
    let back = wait_ami_state(gateway, "pbx", "connected", Duration::from_secs(5)).await?;
    eprintln!("[ami_reconnect] connected again {back:?} after the restart");
    ensure!(
        pbx.action_count("Login") > logins_before,
        "the gateway logged in again"
    );

    let (status, body) = post(
        gateway,
        "/api/v1/ami/pbx/action",
        &json!({"Action": "Ping"}),
    )
    .await?;
    ensure!(
        status == 200 && body["response"]["Ping"] == "Pong",
        "Ping after the restart: {status} {body}"
    );

    pbx.inject_capture(Capture::CallTo600);
    let calls = wait_for("the Cdr after the restart", Duration::from_secs(15), || {
        let calls = odoo.method_calls("asterisk_calls.call", "create_cdr");
        (!calls.is_empty()).then_some(calls)
    })
    .await?;
    ensure!(
        calls[0].args[0]["UniqueID"] == "asterisk-testpeer-1795220434.21",
        "the captured Cdr is forwarded: {:?}",
        calls[0].args
    );
    Ok(())
}
