//! When the addon is not installed, Odoo 18 answers `UserError "Object webrtc.session doesn't exist"`
//! (capture object-execute_kw-model-not-found): `/healthz` shows `model_missing`, events stay queued,
//! and nothing is retried in a hot loop.
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use gateway_odoo::test_server::{Credentials, TestServer};
use gateway_odoo::{DeliveryHandle, Health, Outbox, SystemClock};

#[tokio::test]
async fn missing_addon_is_model_missing_and_events_wait() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    server.set_model_installed(false);
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(dir.path()).unwrap());
    let delivery = DeliveryHandle::spawn(
        outbox.clone(),
        common::client(&server),
        common::fast_config(50),
        Arc::new(SystemClock),
    );
    let mut health = delivery.subscribe_health();

    outbox.enqueue_all(&common::interleaved_calls(3)).unwrap();
    delivery.wake();
    health
        .wait_for(|h| *h == Health::ModelMissing)
        .await
        .unwrap();
    common::wait_until("the batch is marked failed", || {
        outbox.stats().unwrap().failed == 15
    })
    .await;
    for _ in 0..20 {
        delivery.wake();
        tokio::task::yield_now().await;
    }
    assert_eq!(server.calls("common.login"), 1);
    assert_eq!(server.calls("object.execute_kw"), 1);
    assert_eq!(outbox.stats().unwrap().backlog, 15);
    assert_eq!(
        outbox.stats().unwrap().failed,
        15,
        "one attempt, then the 5-minute hold"
    );
    delivery.shutdown().await;
}
