//! The gateway is killed with SIGKILL while delivering; after a restart nothing is lost and nothing
//! is applied twice: the batch Odoo applied but the gateway never saw acknowledged is sent again and
//! ignored by key (issue 5, CI point 3).
//!
//! The test re-runs its own binary as the "gateway" child (selected by an environment variable).
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gateway_odoo::test_server::{Credentials, TestServer};
use gateway_odoo::{DeliveryHandle, Outbox, SystemClock};

const TEST: &str = "kill_9_mid_delivery_loses_nothing_and_applies_nothing_twice";
const CHILD_DIR: &str = "GATEWAY_ODOO_CHILD_DIR";
const CHILD_URL: &str = "GATEWAY_ODOO_CHILD_URL";

/// The child: deliver the outbox in `dir` to the server at `url` until killed.
fn child(dir: &str, url: &str) -> ! {
    let runtime = tokio::runtime::Runtime::new().expect("child runtime");
    runtime.block_on(async {
        let outbox = Arc::new(Outbox::open(std::path::Path::new(dir)).expect("child outbox"));
        let client = Arc::new(
            gateway_odoo::OdooClient::new(gateway_odoo::OdooConfig {
                url: url.into(),
                database: "gw".into(),
                login: "admin".into(),
                secret: gateway_odoo::Secret::new("admin"),
                timeout: Duration::from_secs(5),
            })
            .expect("child client"),
        );
        let _delivery = DeliveryHandle::spawn(
            outbox,
            client,
            common::fast_config(25),
            Arc::new(SystemClock),
        );
        std::future::pending::<()>().await;
    });
    unreachable!("the child runs until it is killed")
}

#[test]
fn kill_9_mid_delivery_loses_nothing_and_applies_nothing_twice() {
    if let (Ok(dir), Ok(url)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_URL)) {
        child(&dir, &url);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = TestServer::start(Credentials::default()).await.unwrap();
        // Odoo applies a batch, then takes 30 ms to answer: a kill lands between apply and ack.
        server.set_delay(Duration::from_millis(30));
        let dir = tempfile::tempdir().unwrap();
        let events = common::interleaved_calls(100);
        Outbox::open(dir.path()).unwrap().enqueue_all(&events).unwrap();

        let mut gateway = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_URL, server.url())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        common::wait_until("the child delivered some batches", || server.applied().len() >= 150).await;
        gateway.kill().unwrap(); // SIGKILL
        let status = gateway.wait().unwrap();
        assert!(!status.success(), "the child was killed, not finished: {status:?}");
        // A request the child sent just before dying may still be handled; let it finish.
        common::wait_until("the server is idle", || server.in_flight() == 0).await;
        let applied_before = server.applied().len();
        assert!(applied_before < events.len(), "killed mid-delivery");

        // Restart: reopen the same outbox file.
        let outbox = Arc::new(Outbox::open(dir.path()).unwrap());
        let left = outbox.stats().unwrap().backlog;
        assert!(left > 0 && left as usize >= events.len() - applied_before, "backlog after kill: {left}");
        server.set_delay(Duration::ZERO);
        let delivery =
            DeliveryHandle::spawn(outbox.clone(), common::client(&server), common::fast_config(25), Arc::new(SystemClock));
        common::wait_until("backlog drained", || outbox.stats().unwrap().backlog == 0).await;
        delivery.shutdown().await;

        common::assert_exactly_once_in_order(&server.applied(), &events);
        println!(
            "killed after {applied_before} applied; {left} left in the outbox; {} redelivered and ignored by key",
            server.duplicates()
        );
        // Only what was in flight at the kill (at most one batch) is sent twice, with the same keys.
        assert!(server.duplicates() <= 25, "{} redelivered", server.duplicates());
    });
}
