//! Half-open TCP (Asterisk host gone without a FIN): the socket stays open but nothing answers. The
//! keep-alive Ping goes unanswered, the client drops the connection and reconnects.

mod common;

use std::time::Duration;

use gateway_ami::ConnState;

#[tokio::test(start_paused = true)]
async fn silent_peer_is_detected_by_ping_timeout() {
    let server = common::server().await;
    let client = common::connected(&server).await;
    server.set_unresponsive(true);
    // ping_interval 2 s + ping_timeout 1 s.
    let state = common::wait_state(&client, Duration::from_secs(4), common::is_disconnected).await;
    assert_eq!(
        state,
        ConnState::Disconnected {
            reason: "ping timed out".into()
        }
    );

    server.set_unresponsive(false);
    client.wait_connected(Duration::from_secs(5)).await.unwrap();
    assert_eq!(server.connections(), 2);
}
