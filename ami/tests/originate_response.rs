//! Originate with `Async: true` (asterisk22/07, 08): `Originate successfully queued`, then the call's
//! events and an `OriginateResponse` carrying our ActionID; the hook sees the Originate as sent.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gateway_ami::test_server::OriginatePlan;
use gateway_ami::{Action, Message};

fn originate(channel: &str) -> Action {
    Action::new("Originate")
        .header("Channel", channel)
        .header("Application", "Wait")
        .header("Data", "3")
        .header("Timeout", "20000")
        .header("CallerID", "\"Odoo Click2Call\" <5000>")
        .header("Variable", "GW_TEST=1")
        .header("Variable", "GW_ORIGIN=click_to_call")
        .timeout(Duration::from_secs(30))
}

#[tokio::test(start_paused = true)]
async fn answered_originate_reports_success_and_events_follow_in_order() {
    let server = common::server().await;
    let seen: Arc<Mutex<Vec<Message>>> = Arc::default();
    let hook_seen = Arc::clone(&seen);
    server.on_originate(move |m| {
        hook_seen.lock().unwrap().push(m);
        async { OriginatePlan::Answered }
    });
    let client = common::connected(&server).await;
    let mut events = client.events();

    let result = client
        .originate(originate("PJSIP/webuser@gateway"))
        .await
        .unwrap();
    assert_eq!(
        result.response.get("Message"),
        Some("Originate successfully queued")
    );
    let response = &result.events[0];
    assert_eq!(response.event(), Some("OriginateResponse"));
    assert_eq!(response.action_id(), Some(result.action_id.as_str()));
    assert_eq!(response.get("Response"), Some("Success"));
    assert_eq!(response.get("Reason"), Some("4"));

    let sent = seen.lock().unwrap()[0].clone();
    assert_eq!(sent.get("Async"), Some("true"));
    assert_eq!(
        sent.get_all("Variable").collect::<Vec<_>>(),
        ["GW_TEST=1", "GW_ORIGIN=click_to_call"]
    );

    // Subscribers get the whole call, in the captured order, OriginateResponse included.
    let first = common::next_event(&mut events, "Newchannel", Duration::from_secs(1)).await;
    assert_eq!(first.get("Channel"), Some("PJSIP/gateway-0000000e"));
    common::next_event(&mut events, "OriginateResponse", Duration::from_secs(1)).await;
    let cdr = common::next_event(&mut events, "Cdr", Duration::from_secs(1)).await;
    assert_eq!(cdr.get("Disposition"), Some("ANSWERED"));
}

#[tokio::test(start_paused = true)]
async fn failed_originate_reports_failure_reason_0() {
    let server = common::server().await;
    server.on_originate(|_| async { OriginatePlan::Failed });
    let client = common::connected(&server).await;
    let result = client.originate(originate("PJSIP/alice")).await.unwrap();
    assert_eq!(result.events[0].get("Response"), Some("Failure"));
    assert_eq!(result.events[0].get("Reason"), Some("0"));
    assert_eq!(result.events[0].get("Uniqueid"), Some("<unknown>"));
}

/// asterisk22/08b: a synchronous Originate that fails is the response itself.
#[tokio::test(start_paused = true)]
async fn sync_originate_failure_is_the_response() {
    let server = common::server().await;
    server.on_originate(|_| async { OriginatePlan::Failed });
    let client = common::connected(&server).await;
    let result = client
        .action(originate("PJSIP/alice").header("Async", "false"))
        .await
        .unwrap();
    assert!(!result.is_success());
    assert_eq!(result.response.get("Message"), Some("Originate failed"));
}
