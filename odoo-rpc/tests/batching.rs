//! Events go to Odoo in batches: one `execute_kw(webrtc.session, gateway_report, [events])` per
//! batch, never one RPC per event (issue 5: each RPC may cost ~0.4 s of hashing on a cold cache).
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use gateway_odoo::test_server::{Credentials, TestServer};
use gateway_odoo::{DeliveryHandle, Outbox, SystemClock};

#[tokio::test]
async fn five_hundred_events_take_one_login_and_five_rpcs() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(dir.path()).unwrap());
    let events = common::interleaved_calls(100);
    outbox.enqueue_all(&events).unwrap();

    let delivery = DeliveryHandle::spawn(
        outbox.clone(),
        common::client(&server),
        common::fast_config(100),
        Arc::new(SystemClock),
    );
    common::wait_until("all delivered", || outbox.stats().unwrap().backlog == 0).await;
    delivery.shutdown().await;

    assert_eq!(server.calls("common.login"), 1);
    assert_eq!(server.calls("object.execute_kw"), 5);
    assert_eq!(server.requests(), 6);
    common::assert_exactly_once_in_order(&server.applied(), &events);
    let first = &server.applied()[0];
    assert_eq!(first["key"], "call-0:0:initiating");
    assert_eq!(first["payload"]["event"], "initiating");
    assert!(
        first["created_at"].as_f64().unwrap() > 1.7e9,
        "created_at is Unix seconds: {first}"
    );
    let stats = outbox.stats().unwrap();
    assert_eq!((stats.delivered, stats.failed, stats.dropped), (500, 0, 0));
}
