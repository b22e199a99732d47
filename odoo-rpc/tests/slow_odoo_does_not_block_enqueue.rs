//! A slow Odoo (0.4 s per call, like a cold credential cache: tests/data/timings.json) never blocks
//! `enqueue`: events are committed while the RPC is in flight and go out in the next batch.
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod common;

use std::sync::Arc;
use std::time::Duration;

use gateway_odoo::test_server::{Credentials, TestServer};
use gateway_odoo::{DeliveryHandle, Outbox, SystemClock};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_is_fast_while_a_slow_rpc_is_in_flight() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    server.set_delay(Duration::from_millis(400));
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(dir.path()).unwrap());
    let delivery = DeliveryHandle::spawn(
        outbox.clone(),
        common::client(&server),
        common::fast_config(200),
        Arc::new(SystemClock),
    );

    let events = common::interleaved_calls(20);
    outbox.enqueue(&events[0]).unwrap();
    delivery.wake();
    common::wait_until("the first RPC is in flight", || server.in_flight() == 1).await;

    let mut slowest = Duration::ZERO;
    let mut overlapped = 0;
    for event in &events[1..] {
        let started = Instant::now();
        outbox.enqueue(event).unwrap();
        delivery.wake();
        slowest = slowest.max(started.elapsed());
        overlapped += usize::from(server.in_flight() == 1);
    }
    assert!(
        slowest < Duration::from_millis(200),
        "an enqueue took {slowest:?}"
    );
    assert!(
        overlapped > events.len() / 2,
        "only {overlapped} enqueues overlapped the slow RPC"
    );

    common::wait_until("all delivered", || outbox.stats().unwrap().backlog == 0).await;
    delivery.shutdown().await;
    common::assert_exactly_once_in_order(&server.applied(), &events);
    assert!(
        server.calls("object.execute_kw") <= 3,
        "{}",
        server.calls("object.execute_kw")
    );
}
