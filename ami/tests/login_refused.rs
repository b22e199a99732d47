//! Login refused (asterisk22/02-login-failure): Asterisk answers `Authentication failed` about 1 s later
//! and closes. The client reports it, fails actions fast, and keeps retrying until the login works.

mod common;

use std::time::Duration;

use gateway_ami::{AmiClient, AmiError, ConnState};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn login_refused_then_accepted() {
    let server = common::server().await;
    server.set_refuse_login(true);
    let start = Instant::now();
    let client = AmiClient::spawn(common::config(&server));
    let state = common::wait_state(&client, Duration::from_secs(5), common::is_disconnected).await;
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Asterisk delays a failed login by ~1 s"
    );
    assert_eq!(
        state,
        ConnState::Disconnected {
            reason: "login failed: Authentication failed".into()
        }
    );

    let err = client.command("core show version").await.unwrap_err();
    assert!(
        matches!(err, AmiError::NotConnected { ref reason, .. } if reason.contains("Authentication failed")),
        "{err}"
    );

    server.set_refuse_login(false);
    client.wait_connected(Duration::from_secs(5)).await.unwrap();
    assert!(server.action_count("Login") >= 2);
}
