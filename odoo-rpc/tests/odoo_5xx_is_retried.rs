//! HTTP 5xx (a proxy in front of a restarting Odoo) is retryable: health `unreachable`, backoff,
//! then delivery once Odoo answers again.
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use gateway_odoo::test_server::{Credentials, TestServer};
use gateway_odoo::{DeliveryHandle, Health, Outbox, SystemClock};

#[tokio::test]
async fn bad_gateway_is_retried_until_odoo_answers() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    server.set_failure(Some(502));
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(dir.path()).unwrap());
    let delivery = DeliveryHandle::spawn(
        outbox.clone(),
        common::client(&server),
        common::fast_config(50),
        Arc::new(SystemClock),
    );
    let mut health = delivery.subscribe_health();
    let events = common::interleaved_calls(4);
    outbox.enqueue_all(&events).unwrap();
    delivery.wake();

    health
        .wait_for(|h| *h == Health::Unreachable)
        .await
        .unwrap();
    common::wait_until("a few retries", || server.requests() >= 3).await;
    server.set_failure(None);
    health.wait_for(|h| *h == Health::Ok).await.unwrap();
    common::wait_until("all delivered", || outbox.stats().unwrap().backlog == 0).await;
    delivery.shutdown().await;
    common::assert_exactly_once_in_order(&server.applied(), &events);
}
