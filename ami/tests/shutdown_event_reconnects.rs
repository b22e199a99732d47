//! `core stop gracefully` (asterisk22/12): `Event: Shutdown` is delivered to subscribers, the client
//! treats it as a connection loss and reconnects when Asterisk is back.

mod common;

use std::time::Duration;

use gateway_ami::ConnState;

#[tokio::test(start_paused = true)]
async fn shutdown_event_then_reconnect() {
    let server = common::server().await;
    let client = common::connected(&server).await;
    let mut events = client.events();

    let stopping = tokio::spawn({
        let server = server.clone();
        async move { server.shutdown_asterisk().await }
    });
    // The client reacts to the event itself, before Asterisk closes the socket ~0.1 s later.
    let state = common::wait_state(&client, Duration::from_secs(1), common::is_disconnected).await;
    assert_eq!(
        state,
        ConnState::Disconnected {
            reason: "Asterisk is shutting down".into()
        }
    );
    let ev = common::next_event(&mut events, "Shutdown", Duration::from_secs(1)).await;
    assert_eq!(ev.get("Shutdown"), Some("Cleanly"));
    assert_eq!(ev.get("Restart"), Some("False"));
    stopping.await.unwrap();

    server.restart().await.unwrap();
    client.wait_connected(Duration::from_secs(5)).await.unwrap();
}
