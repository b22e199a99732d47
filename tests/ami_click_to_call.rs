//! Click-to-call end to end (issue 6, docs/ami.md): `POST /api/v1/originate` returns the originate
//! id at once; the AMI test server (playing Asterisk 22) receives the `Originate` with the user's
//! channel, the number, and `Variable: PJSIP_HEADER(add,X-WebRTC-Originate)=<id>`; its Originate hook
//! then plays the first leg: SIPp sends the INVITE carrying `X-WebRTC-Originate: <id>` to the
//! gateway for alice (trunk mode, RFC 3261 section 13.3.1); headless Chromium gets `incoming` with
//! `origin: click_to_call`, accepts, and hears the audio SIPp echoes. The hook then reports the
//! captured `OriginateResponse` (asterisk22/07, Success, Reason 4), which reaches the Odoo test
//! server as `res_model.res_method(result, pass_back)` with `pass_back` intact, and the call's Odoo
//! session gets Asterisk's Uniqueid in an `update` event.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use gateway_ami::Message;
use gateway_ami::test_server::{OriginatePlan, TestServer};
use gateway_odoo::test_server::TestServer as Odoo;
use serde_json::{Value, json};
use support::ami::{post, start_pbx, wait_ami_state, wait_for, with_ami};
use support::gateway::GatewayOptions;
use support::inbound::InboundRig;
use support::odoo::{good_api_key, start_odoo, with_odoo};
use support::sipp::SippOptions;
use tokio::sync::{mpsc, oneshot};

const RES_MODEL: &str = "crm.phonecall";
const RES_METHOD: &str = "originate_call_response";

type Originated = (Message, oneshot::Sender<OriginatePlan>);

#[tokio::test]
async fn click_to_call_rings_the_browser_and_calls_back_odoo() {
    let pbx = start_pbx().await.unwrap_or_else(|e| panic!("{e:#}"));
    // The hook hands each Originate to the test, and reports what the test decides.
    let (tx, originated) = mpsc::unbounded_channel::<Originated>();
    pbx.on_originate(move |action| {
        let tx = tx.clone();
        async move {
            let (plan_tx, plan_rx) = oneshot::channel();
            if tx.send((action, plan_tx)).is_err() {
                return OriginatePlan::Failed;
            }
            plan_rx.await.unwrap_or(OriginatePlan::Failed)
        }
    });
    let odoo = start_odoo().await.unwrap_or_else(|e| panic!("{e:#}"));
    odoo.accept_method(RES_MODEL, RES_METHOD, json!(true));
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let options = with_odoo(
        with_ami(
            GatewayOptions::default().trunk(true),
            &[("pbx", pbx.addr())],
        ),
        &odoo.url(),
        &good_api_key(),
        data.path(),
    );
    let rig = InboundRig::start(&options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&rig, &pbx, &odoo, originated).await;
    rig.finish(outcome).await;
}

async fn scenario(
    rig: &InboundRig,
    pbx: &TestServer,
    odoo: &Odoo,
    mut originated: mpsc::UnboundedReceiver<Originated>,
) -> Result<()> {
    wait_ami_state(&rig.gateway, "pbx", "connected", Duration::from_secs(10)).await?;
    let page = rig.device("page").await?;
    let pass_back = json!({"uid": 2, "lead": [7, "ACME"], "note": "é"});

    let started = tokio::time::Instant::now();
    let (status, reply) = post(
        &rig.gateway,
        "/api/v1/originate",
        &json!({"user": "alice", "number": "600", "caller_id": "\"Odoo Click2Call\" <5000>",
                "res_model": RES_MODEL, "res_method": RES_METHOD, "pass_back": pass_back}),
    )
    .await?;
    let took = started.elapsed();
    ensure!(status == 202, "originate answered {status}: {reply}");
    ensure!(
        took < Duration::from_secs(1),
        "the API must not wait for the call, took {took:?}"
    );
    let id = reply["originate_id"]
        .as_str()
        .context("originate_id")?
        .to_owned();

    let (action, plan) = tokio::time::timeout(Duration::from_secs(5), originated.recv())
        .await
        .context("the AMI server saw no Originate within 5 s")?
        .context("the Originate hook is gone")?;
    let header = format!("PJSIP_HEADER(add,X-WebRTC-Originate)={id}");
    ensure!(
        action.get("Channel") == Some("PJSIP/alice@gateway")
            && action.get("Exten") == Some("600")
            && action.get("Context") == Some("from-gateway")
            && action.get("Priority") == Some("1")
            && action.is("Async", "true")
            && action.get("ActionID") == Some(id.as_str())
            && action.get_all("Variable").any(|v| v == header),
        "the Originate: {action:?}"
    );
    ensure!(pbx.action_count("Originate") == 1, "one Originate");

    // Asterisk's first leg: the INVITE to alice with the originate id.
    let caller = rig
        .call(
            "uac_click_to_call.xml",
            "alice",
            &SippOptions {
                extra: ["-d", "5000", "-key", "originate_id", id.as_str()]
                    .map(str::to_owned)
                    .to_vec(),
                ..SippOptions::default()
            },
        )
        .await?;
    let incoming = page.wait_incoming(Duration::from_secs(10)).await?;
    ensure!(
        incoming["origin"] == "click_to_call" && incoming["from"] == "5000",
        "the browser should see a click-to-call from 5000: {incoming}"
    );
    let call_id = incoming["call_id"].as_str().unwrap_or_default().to_owned();
    page.accept(&call_id, true).await?;
    page.wait_answer(&call_id, Duration::from_secs(10)).await?;
    page.wait_state(&call_id, "connected", Duration::from_secs(15))
        .await?;
    let audio = page
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[ami_click_to_call] inbound audio: {audio:?}");

    // The user answered: Asterisk reports the OriginateResponse (then dials 600).
    plan.send(OriginatePlan::Answered)
        .map_err(|_| anyhow::anyhow!("the Originate hook stopped waiting"))?;
    let calls = wait_for(
        "the OriginateResponse callback",
        Duration::from_secs(15),
        || {
            let calls = odoo.method_calls(RES_MODEL, RES_METHOD);
            (!calls.is_empty()).then_some(calls)
        },
    )
    .await?;
    ensure!(calls.len() == 1, "one callback: {calls:?}");
    let args = &calls[0].args;
    ensure!(args.len() == 2, "res_method(result, pass_back): {args:?}");
    let result = &args[0];
    ensure!(
        result["Event"] == "OriginateResponse"
            && result["Response"] == "Success"
            && result["Reason"] == "4"
            && result["ActionID"] == id.as_str()
            && result["Uniqueid"] == "asterisk-testpeer-1795220347.14",
        "the result is the OriginateResponse's headers: {result}"
    );
    ensure!(
        args[1] == pass_back,
        "pass_back intact: {} vs {pass_back}",
        args[1]
    );
    ensure!(
        calls[0].kwargs["context"]["originate_id"] == id.as_str(),
        "the originate id in the context: {}",
        calls[0].kwargs
    );

    // Asterisk's Uniqueid joined to the call's Odoo session.
    let update = wait_for(
        "the update with the Uniqueid",
        Duration::from_secs(15),
        || {
            odoo.applied()
                .into_iter()
                .find(|e| e["kind"] == "update" && e["group"] == call_id.as_str())
        },
    )
    .await?;
    ensure!(
        update["payload"]["uniqueid"] == "asterisk-testpeer-1795220347.14",
        "the update names the Uniqueid: {update}"
    );
    let initiating: Vec<Value> = odoo
        .applied()
        .into_iter()
        .filter(|e| e["group"] == call_id.as_str() && e["kind"] == "initiating")
        .collect();
    ensure!(
        initiating.len() == 1,
        "the session exists before its update: {initiating:?}"
    );

    page.wait_state(&call_id, "ended", Duration::from_secs(20))
        .await?;
    rig.caller_success(caller, Duration::from_secs(10)).await
}
