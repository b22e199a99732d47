//! The connection is cut in the middle of an event: the half event is never delivered, the client
//! reconnects, and the next complete event arrives.

mod common;

use std::time::Duration;

use gateway_ami::Message;

#[tokio::test(start_paused = true)]
async fn half_event_is_dropped_and_client_reconnects() {
    let server = common::server().await;
    let client = common::connected(&server).await;
    let mut events = client.events();

    server.cut_mid_event();
    common::wait_state(&client, Duration::from_secs(1), common::is_disconnected).await;
    client.wait_connected(Duration::from_secs(5)).await.unwrap();
    assert_eq!(server.connections(), 2);

    server.inject_event(
        Message::new()
            .with("Event", "Newchannel")
            .with("Channel", "PJSIP/after-cut"),
    );
    let ev = common::next_event(&mut events, "Newchannel", Duration::from_secs(1)).await;
    assert_eq!(
        ev.get("Channel"),
        Some("PJSIP/after-cut"),
        "the half event was not delivered"
    );
}
