//! Helpers shared by the scenario tests: events, clients, and waiting for a condition.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway_odoo::test_server::{Credentials, TestServer};
use gateway_odoo::{DeliveryConfig, Event, OdooClient, OdooConfig, Policy, Secret};
use serde_json::{Value, json};

/// The five lifecycle kinds of a call, in order.
pub const LIFECYCLE: [&str; 5] = ["initiating", "ringing", "connecting", "connected", "ended"];

/// A fixed wall-clock origin for created_at stamps.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

/// Lifecycle event `seq` of call `call` (key `<call>:<seq>:<kind>`, group = call id).
pub fn lifecycle(call: usize, seq: usize) -> Event {
    let kind = LIFECYCLE[seq % LIFECYCLE.len()];
    let call_id = format!("call-{call}");
    Event {
        key: format!("{call_id}:{seq}:{kind}"),
        group: call_id.clone(),
        kind: kind.into(),
        policy: Policy::Durable,
        model: "webrtc.session".into(),
        method: "gateway_report".into(),
        payload: json!({"call_id": call_id, "event": kind, "direction": "outbound"}),
        created_at: t0() + Duration::from_millis((call * 10 + seq) as u64),
    }
}

/// `calls` calls' worth of lifecycle events, interleaved the way concurrent calls produce them.
pub fn interleaved_calls(calls: usize) -> Vec<Event> {
    (0..LIFECYCLE.len())
        .flat_map(|seq| (0..calls).map(move |call| lifecycle(call, seq)))
        .collect()
}

/// A client for the test server with the default (captured) credentials.
pub fn client(server: &TestServer) -> Arc<OdooClient> {
    client_with_secret(server, &Credentials::default().secret)
}

/// A client for the test server using `secret` as the API key.
pub fn client_with_secret(server: &TestServer, secret: &str) -> Arc<OdooClient> {
    let c = Credentials::default();
    Arc::new(
        OdooClient::new(OdooConfig {
            url: server.url(),
            database: c.database,
            login: c.login,
            secret: Secret::new(secret),
            timeout: Duration::from_secs(5),
        })
        .expect("valid test URL"),
    )
}

/// Fast retries, so outage tests finish in well under a second of backoff.
pub fn fast_config(batch_size: usize) -> DeliveryConfig {
    DeliveryConfig {
        batch_size,
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        blocked_retry: Duration::from_secs(300),
        idle_poll: Duration::from_millis(200),
    }
}

/// Polls `condition` every few milliseconds until it holds; fails the test after 30 s.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Asserts every expected key was applied exactly once, and in order within each group.
pub fn assert_exactly_once_in_order(applied: &[Value], expected: &[Event]) {
    let keys: Vec<&str> = applied
        .iter()
        .map(|e| e["key"].as_str().expect("key"))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for k in &keys {
        assert!(seen.insert(*k), "{k} applied twice");
    }
    assert_eq!(
        keys.len(),
        expected.len(),
        "applied {} of {}",
        keys.len(),
        expected.len()
    );
    let mut per_group: HashMap<&str, Vec<&str>> = HashMap::new();
    for e in applied {
        per_group
            .entry(e["group"].as_str().expect("group"))
            .or_default()
            .push(e["kind"].as_str().expect("kind"));
    }
    for (group, kinds) in per_group {
        assert_eq!(kinds, LIFECYCLE, "order of {group}");
    }
}
