//! Helpers shared by the scenario tests: a test server, a client with short timers, event waits.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use gateway_ami::test_server::TestServer;
use gateway_ami::{AmiClient, AmiConfig, ConnState, Message};
use tokio::sync::broadcast;

pub const USER: &str = "odoo";
pub const SECRET: &str = "odoo-secret";

/// A config for `server` with short timers (tests run in paused time where they can).
pub fn config(server: &TestServer) -> AmiConfig {
    let mut c = AmiConfig::new("pbx", server.addr().to_string(), USER, SECRET);
    c.ping_interval = Some(Duration::from_secs(2));
    c.ping_timeout = Duration::from_secs(1);
    c.action_timeout = Duration::from_secs(3);
    c.reconnect_min = Duration::from_millis(100);
    c.reconnect_max = Duration::from_secs(1);
    c
}

pub async fn server() -> TestServer {
    TestServer::start(USER, SECRET)
        .await
        .expect("bind 127.0.0.1")
}

/// A client logged in to `server`.
pub async fn connected(server: &TestServer) -> AmiClient {
    let client = AmiClient::spawn(config(server));
    client
        .wait_connected(Duration::from_secs(5))
        .await
        .expect("logged in");
    client
}

/// The next event named `name`, within `limit`.
pub async fn next_event(
    rx: &mut broadcast::Receiver<Arc<Message>>,
    name: &str,
    limit: Duration,
) -> Arc<Message> {
    tokio::time::timeout(limit, async {
        loop {
            let ev = rx.recv().await.expect("event stream open");
            if ev.event() == Some(name) {
                return ev;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name} event within {limit:?}"))
}

/// Waits until the state matches `pred`, within `limit`; returns it.
pub async fn wait_state(
    client: &AmiClient,
    limit: Duration,
    pred: impl Fn(&ConnState) -> bool,
) -> ConnState {
    let mut rx = client.state();
    let state = tokio::time::timeout(limit, rx.wait_for(|s| pred(s))).await;
    state
        .expect("state reached in time")
        .expect("client alive")
        .clone()
}

pub fn is_disconnected(s: &ConnState) -> bool {
    matches!(s, ConnState::Disconnected { .. })
}
