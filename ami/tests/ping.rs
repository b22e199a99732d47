//! Ping (asterisk22/03-ping): `Response: Success` / `Ping: Pong` / `Timestamp`; the client also pings by
//! itself every `ping_interval`.

mod common;

use std::time::Duration;

use gateway_ami::Action;

#[tokio::test(start_paused = true)]
async fn ping_pong_and_periodic_pings() {
    let server = common::server().await;
    let client = common::connected(&server).await;
    let result = client.action(Action::new("Ping")).await.unwrap();
    assert!(result.is_success());
    assert_eq!(result.response.get("Ping"), Some("Pong"));
    assert!(
        result
            .response
            .get("Timestamp")
            .unwrap()
            .starts_with("17952204")
    );
    assert_eq!(result.response.action_id(), Some(result.action_id.as_str()));

    let mut actions = server.actions();
    let before = server.action_count("Ping");
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(3), async {
            while actions.recv().await.unwrap().get("Action") != Some("Ping") {}
        })
        .await
        .expect("a keep-alive Ping every 2 s");
    }
    assert!(server.action_count("Ping") >= before + 2);
    assert!(matches!(
        *client.state().borrow(),
        gateway_ami::ConnState::Connected { .. }
    ));
}
