//! Several AMI servers at once (`[[ami.servers]]`): each client has its own connection, state and event
//! stream; an outage of one does not touch the other.

mod common;

use std::time::Duration;

use gateway_ami::{AmiClient, AmiError, ConnState, Message};

#[tokio::test(start_paused = true)]
async fn two_servers_are_independent() {
    let (a, b) = (common::server().await, common::server().await);
    let mut config_b = common::config(&b);
    config_b.name = "branch".into();
    let client_a = common::connected(&a).await;
    let client_b = AmiClient::spawn(config_b);
    client_b
        .wait_connected(Duration::from_secs(5))
        .await
        .unwrap();
    let (mut events_a, mut events_b) = (client_a.events(), client_b.events());

    b.inject_event(Message::new().with("Event", "Cdr").with("Source", "from-b"));
    a.inject_event(Message::new().with("Event", "Cdr").with("Source", "from-a"));
    let got_a = common::next_event(&mut events_a, "Cdr", Duration::from_secs(1)).await;
    let got_b = common::next_event(&mut events_b, "Cdr", Duration::from_secs(1)).await;
    assert_eq!(
        (got_a.get("Source"), got_b.get("Source")),
        (Some("from-a"), Some("from-b"))
    );

    b.stop();
    common::wait_state(&client_b, Duration::from_secs(2), common::is_disconnected).await;
    assert!(
        matches!(client_b.command("core show version").await, Err(AmiError::NotConnected { server, .. }) if server == "branch")
    );
    assert!(matches!(
        *client_a.state().borrow(),
        ConnState::Connected { .. }
    ));
    assert_eq!(
        client_a.command("core show version").await.unwrap().len(),
        1
    );
}
