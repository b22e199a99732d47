//! An event is on disk once `enqueue` returns: a child that enqueues and is killed with SIGKILL
//! (no close, no destructor) leaves every acknowledged event in the reopened outbox, in order.
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use gateway_odoo::{Event, Outbox, Policy};
use serde_json::json;

const TEST: &str = "acknowledged_enqueues_survive_sigkill";
const CHILD_DIR: &str = "GATEWAY_ODOO_ENQUEUE_CHILD_DIR";

fn event(i: u64) -> Event {
    Event {
        key: format!("call-{i}:0:initiating"),
        group: format!("call-{i}"),
        kind: "initiating".into(),
        policy: Policy::Durable,
        model: "webrtc.session".into(),
        method: "gateway_report".into(),
        payload: json!({"n": i}),
        created_at: UNIX_EPOCH + Duration::from_secs(1_790_000_000 + i),
    }
}

/// The child: enqueue events one by one, acknowledging each on stdout, until killed.
fn child(dir: &str) -> ! {
    let outbox = Outbox::open(std::path::Path::new(dir)).expect("child outbox");
    for i in 0.. {
        outbox.enqueue(&event(i)).expect("child enqueue");
        println!("acked {i}");
    }
    unreachable!("the child runs until it is killed")
}

#[test]
fn acknowledged_enqueues_survive_sigkill() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        child(&dir);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut gateway = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked = 0u64;
    for line in BufReader::new(gateway.stdout.take().unwrap()).lines() {
        if let Some(n) = line.unwrap().strip_prefix("acked ") {
            acked = n.parse::<u64>().unwrap() + 1;
            if acked == 50 {
                gateway.kill().unwrap(); // SIGKILL, mid-stream
                break;
            }
        }
    }
    gateway.wait().unwrap();
    assert_eq!(acked, 50);

    let outbox = Outbox::open(dir.path()).unwrap();
    let pending = outbox
        .pending_batch(100_000, UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        .unwrap();
    assert!(
        pending.len() as u64 >= acked,
        "{} events on disk, {acked} acknowledged",
        pending.len()
    );
    for (i, p) in pending.iter().enumerate() {
        assert_eq!(p.event, event(i as u64), "event {i}");
    }
}
