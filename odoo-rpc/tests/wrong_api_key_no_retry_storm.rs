//! A wrong API key is reported loudly (`/healthz` shows `access_denied`) and retried only slowly:
//! enqueues and wake-ups during the hold do not reach Odoo (issue 5: "no retry storm").
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod common;

use std::sync::Arc;
use std::time::Duration;

use gateway_odoo::test_server::{Credentials, TestServer};
use gateway_odoo::{DeliveryHandle, Health, Outbox, SystemClock};

#[tokio::test]
async fn wrong_key_shows_access_denied_and_odoo_sees_one_login() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(dir.path()).unwrap());
    let client = common::client_with_secret(&server, "revoked-api-key");
    let delivery = DeliveryHandle::spawn(
        outbox.clone(),
        client,
        common::fast_config(50),
        Arc::new(SystemClock),
    );
    let mut health = delivery.subscribe_health();

    outbox.enqueue(&common::lifecycle(0, 0)).unwrap();
    delivery.wake();
    health
        .wait_for(|h| *h == Health::AccessDenied)
        .await
        .unwrap();
    assert_eq!(delivery.health().as_str(), "access_denied");

    // A busy gateway keeps enqueueing and waking the task for a while; none of it may reach Odoo.
    // (The wait bounds the observation window; a hot loop would send hundreds of logins in it.)
    for call in 1..=100 {
        outbox.enqueue(&common::lifecycle(call, 0)).unwrap();
        delivery.wake();
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.requests(),
        1,
        "one refused login, then a 5-minute hold"
    );
    assert_eq!(server.calls("common.login"), 1);
    assert!(server.applied().is_empty());
    let stats = outbox.stats().unwrap();
    assert_eq!((stats.backlog, stats.failed), (101, 1));
    delivery.shutdown().await;
}
