//! Measures the delivery rate (events/s) to the test server with batching, and the durable enqueue
//! rate; prints both (issue 5 asks for the figure). Fails if batching stops working.
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use gateway_odoo::test_server::{Credentials, TestServer};
use gateway_odoo::{DeliveryConfig, DeliveryHandle, Outbox, SystemClock};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_delivery_rate() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(dir.path()).unwrap());

    // One enqueue = one committed transaction with a disk sync.
    let single = common::interleaved_calls(40);
    let started = Instant::now();
    for event in &single {
        outbox.enqueue(event).unwrap();
    }
    let enqueue_rate = single.len() as f64 / started.elapsed().as_secs_f64();

    let events: Vec<_> = (40..2040)
        .flat_map(|call| (0..5).map(move |seq| common::lifecycle(call, seq)))
        .collect();
    outbox.enqueue_all(&events).unwrap();
    let total = (single.len() + events.len()) as u64;

    let config = DeliveryConfig {
        batch_size: 200,
        ..DeliveryConfig::default()
    };
    let started = Instant::now();
    let delivery = DeliveryHandle::spawn(
        outbox.clone(),
        common::client(&server),
        config,
        Arc::new(SystemClock),
    );
    common::wait_until("all delivered", || server.applied().len() as u64 == total).await;
    let elapsed = started.elapsed();
    common::wait_until("acknowledged", || outbox.stats().unwrap().backlog == 0).await;
    delivery.shutdown().await;

    let rate = total as f64 / elapsed.as_secs_f64();
    println!(
        "delivered {total} events in {elapsed:?} = {rate:.0} events/s ({} RPCs of up to 200); durable enqueue {enqueue_rate:.0} events/s",
        server.calls("object.execute_kw")
    );
    assert_eq!(server.calls("object.execute_kw"), total.div_ceil(200));
    assert!(
        rate > 1000.0,
        "batched delivery too slow: {rate:.0} events/s"
    );
}
