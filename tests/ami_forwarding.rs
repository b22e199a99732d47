//! AMI event forwarding to Odoo (issue 6, docs/ami.md): `[[ami.forward]] event = "Cdr"` with
//! `where = { Disposition = "ANSWERED" }` delivers each matching Cdr (the captured one of
//! asterisk22/11) to the Odoo test server as `asterisk_calls.call.create_cdr(event)`, in order, with
//! a stable key in the context; a Cdr with `NO ANSWER` is not delivered. A rule loaded from Odoo's
//! `webrtc.ami.rule.gateway_rules()` forwards Hangup events with Cause 16 the same way.

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use gateway_ami::Message;
use gateway_ami::test_server::{Capture, TestServer};
use gateway_odoo::test_server::TestServer as Odoo;
use serde_json::json;
use support::ami::{healthz, start_pbx, wait_ami_state, wait_for, with_ami};
use support::gateway::{Gateway, GatewayOptions};
use support::odoo::{good_api_key, start_odoo, with_odoo};
use support::ports::free_udp_port;

const CDR_MODEL: &str = "asterisk_calls.call";
const CDR_METHOD: &str = "create_cdr";

/// The captured Cdr of asterisk22/11 (Disposition ANSWERED), with another UniqueID and disposition.
fn cdr(uniqueid: &str, disposition: &str) -> Message {
    let mut cdr = Capture::CallTo600
        .events()
        .into_iter()
        .find(|e| e.event() == Some("Cdr"))
        .unwrap_or_default();
    cdr.set("UniqueID", uniqueid);
    cdr.set("Disposition", disposition);
    cdr
}

/// ANSWERED Cdrs reach `create_cdr(event)` in order; NO ANSWER does not; Odoo's Hangup rule works too.
#[tokio::test]
async fn matching_events_reach_odoo_and_others_do_not() {
    let pbx = start_pbx().await.unwrap_or_else(|e| panic!("{e:#}"));
    let odoo = start_odoo().await.unwrap_or_else(|e| panic!("{e:#}"));
    odoo.accept_method(CDR_MODEL, CDR_METHOD, json!(true));
    odoo.accept_method("res.partner", "on_hangup", json!(true));
    odoo.accept_method(
        "webrtc.ami.rule",
        "gateway_rules",
        json!([{"id": 1, "name": "normal clearing", "event": "Hangup", "source": "AMI", "server": false,
                "model": "res.partner", "method": "on_hangup", "policy": "durable", "ttl_seconds": false,
                "conditions": {"Cause": "16"}}]),
    );
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
        &format!(
            "[{{ event = \"Cdr\", model = \"{CDR_MODEL}\", method = \"{CDR_METHOD}\", \
             where = {{ Disposition = \"ANSWERED\" }} }}]"
        ),
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
    // The configured rule plus the one from Odoo.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while healthz(gateway).await?["ami_rules"] != 2 {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "Odoo's rule was not loaded: {}",
            healthz(gateway).await?
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // In order on one connection: the NO ANSWER one comes first, so once the second ANSWERED one
    // is delivered, the NO ANSWER one has had every chance to be (wrongly) forwarded.
    pbx.inject_event(cdr("asterisk-testpeer-1.1", "NO ANSWER"));
    pbx.inject_event(cdr("asterisk-testpeer-1.2", "ANSWERED"));
    pbx.inject_event(cdr("asterisk-testpeer-1.3", "ANSWERED"));
    let calls = wait_for("two create_cdr calls", Duration::from_secs(15), || {
        let calls = odoo.method_calls(CDR_MODEL, CDR_METHOD);
        (calls.len() >= 2).then_some(calls)
    })
    .await?;
    ensure!(calls.len() == 2, "exactly the two ANSWERED Cdrs: {calls:?}");
    let ids: Vec<&str> = calls
        .iter()
        .filter_map(|c| c.args[0]["UniqueID"].as_str())
        .collect();
    ensure!(
        ids == ["asterisk-testpeer-1.2", "asterisk-testpeer-1.3"],
        "in order: {ids:?}"
    );
    let first = &calls[0];
    ensure!(
        first.args.len() == 1,
        "create_cdr(event) takes the event only: {:?}",
        first.args
    );
    let event = &first.args[0];
    ensure!(
        event["Event"] == "Cdr"
            && event["Disposition"] == "ANSWERED"
            && event["Destination"] == "600"
            && event["LastApplication"] == "Echo",
        "the event's headers as captured: {event}"
    );
    ensure!(
        first.kwargs["context"]["gateway_event_key"] == "pbx:asterisk-testpeer-1.2:Cdr:0"
            && first.kwargs["context"]["ami_server"] == "pbx",
        "the key and server travel in the context: {}",
        first.kwargs
    );

    // Odoo's rule: Hangup with Cause 16 only (the captured Hangup has Cause 0).
    let mut hangup = Capture::CallTo600
        .events()
        .into_iter()
        .find(|e| e.event() == Some("Hangup"))
        .unwrap_or_default();
    pbx.inject_event(hangup.clone());
    hangup.set("Cause", "16");
    hangup.set("Uniqueid", "asterisk-testpeer-2.1");
    pbx.inject_event(hangup);
    let calls = wait_for("on_hangup", Duration::from_secs(15), || {
        let calls = odoo.method_calls("res.partner", "on_hangup");
        (!calls.is_empty()).then_some(calls)
    })
    .await?;
    ensure!(
        calls.len() == 1 && calls[0].args[0]["Cause"] == "16",
        "only the Cause 16 Hangup: {calls:?}"
    );
    let health = healthz(gateway).await?;
    ensure!(health["ami_events_lost"] == 0, "no event lost: {health}");
    Ok(())
}
