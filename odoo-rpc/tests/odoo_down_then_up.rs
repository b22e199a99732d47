//! Odoo down for 200 calls' worth of lifecycle events (1000 events), then up: every event is
//! delivered exactly once, in order per call, with backoff while down (issue 5, CI point 3).
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use gateway_odoo::test_server::{Credentials, TestServer};
use gateway_odoo::{DeliveryHandle, Health, Outbox, SystemClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_then_recovery_delivers_everything_once_in_order() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    server.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(dir.path()).unwrap());
    let delivery = DeliveryHandle::spawn(
        outbox.clone(),
        common::client(&server),
        common::fast_config(200),
        Arc::new(SystemClock),
    );

    // Calls keep happening while Odoo is down: each report is enqueued as it occurs.
    let events = common::interleaved_calls(200);
    for chunk in events.chunks(50) {
        outbox.enqueue_all(chunk).unwrap();
        delivery.wake();
    }
    common::wait_until("several failed attempts", || {
        outbox.stats().unwrap().failed >= 600
    })
    .await;
    assert_eq!(delivery.health(), Health::Unreachable);
    assert_eq!(server.requests(), 0, "nothing reached the stopped server");
    assert_eq!(outbox.stats().unwrap().backlog, 1000);

    server.restart().await.unwrap();
    common::wait_until("backlog drained", || outbox.stats().unwrap().backlog == 0).await;
    assert_eq!(delivery.health(), Health::Ok);
    delivery.shutdown().await;

    common::assert_exactly_once_in_order(&server.applied(), &events);
    assert_eq!(server.duplicates(), 0);
    assert!(
        server.calls("object.execute_kw") <= 6,
        "batched: {}",
        server.calls("object.execute_kw")
    );
    assert_eq!(outbox.stats().unwrap().delivered, 1000);
}
