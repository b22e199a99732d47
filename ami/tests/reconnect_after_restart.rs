//! Asterisk killed and restarted on the same port: the client notices, reconnects with backoff within
//! 5 s, and events flow again.

mod common;

use std::time::Duration;

use gateway_ami::Message;

#[tokio::test(start_paused = true)]
async fn back_within_five_seconds_and_events_resume() {
    let server = common::server().await;
    let client = common::connected(&server).await;
    let mut events = client.events();

    server.stop();
    common::wait_state(&client, Duration::from_secs(2), common::is_disconnected).await;
    // Stay down across several backoff rounds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(server.connections(), 1);

    server.restart().await.unwrap();
    let back = tokio::time::Instant::now();
    client.wait_connected(Duration::from_secs(5)).await.unwrap();
    assert!(back.elapsed() <= Duration::from_secs(5));
    assert_eq!(server.action_count("Login"), 2);

    server.inject_event(
        Message::new()
            .with("Event", "Cdr")
            .with("Disposition", "ANSWERED"),
    );
    let cdr = common::next_event(&mut events, "Cdr", Duration::from_secs(1)).await;
    assert_eq!(cdr.get("Disposition"), Some("ANSWERED"));
    assert_eq!(client.command("core show version").await.unwrap().len(), 1);
}
