//! While Asterisk is down (and while reconnecting), actions fail at once with `NotConnected` naming the
//! server and the reason; they never hang.

mod common;

use std::time::Duration;

use gateway_ami::{Action, AmiError};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn actions_fail_at_once_during_the_outage() {
    let server = common::server().await;
    let client = common::connected(&server).await;
    server.stop();
    common::wait_state(&client, Duration::from_secs(2), common::is_disconnected).await;

    // Across several reconnect attempts (Connecting and Disconnected alike), every action fails at once.
    for _ in 0..20 {
        let start = Instant::now();
        let err = client.action(Action::new("Ping")).await.unwrap_err();
        assert_eq!(start.elapsed(), Duration::ZERO, "failed without waiting");
        match err {
            AmiError::NotConnected { server, reason } => {
                assert_eq!(server, "pbx");
                assert!(!reason.is_empty());
            }
            other => panic!("expected NotConnected, got {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(format!("{}", client.command("x").await.unwrap_err()).contains("not connected"));
}
