//! A presence-like event with `ttl = 60s` is dropped once stale; durable events never are
//! (issue 5, point 2: per-kind policy).
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use std::time::Duration;

use gateway_odoo::{Event, Outbox, OutboxStats, Policy};
use serde_json::json;

fn event(key: &str, policy: Policy, created_at: std::time::SystemTime) -> Event {
    Event {
        key: key.into(),
        group: key.into(),
        kind: "presence".into(),
        policy,
        model: "webrtc.session".into(),
        method: "gateway_report".into(),
        payload: json!({}),
        created_at,
    }
}

#[test]
fn stale_ttl_events_are_dropped_and_durable_ones_kept() {
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    let ttl = Policy::Ttl(Duration::from_secs(60));
    outbox.enqueue(&event("presence-old", ttl, t0)).unwrap();
    outbox.enqueue(&event("cdr", Policy::Durable, t0)).unwrap();
    outbox
        .enqueue(&event("presence-new", ttl, t0 + Duration::from_secs(30)))
        .unwrap();

    // At t0 + 60 s nothing is stale yet.
    let batch = outbox
        .pending_batch(10, t0 + Duration::from_secs(60))
        .unwrap();
    assert_eq!(batch.len(), 3);
    assert_eq!(batch[0].event.policy, ttl);

    // Odoo stays down past the TTL: the old presence event goes, the CDR stays.
    outbox
        .mark_failed(
            &["presence-old".into(), "cdr".into(), "presence-new".into()],
            t0 + Duration::from_secs(61),
        )
        .unwrap();
    let batch = outbox
        .pending_batch(10, t0 + Duration::from_secs(61))
        .unwrap();
    let keys: Vec<&str> = batch.iter().map(|p| p.event.key.as_str()).collect();
    assert_eq!(keys, ["cdr", "presence-new"]);

    let batch = outbox
        .pending_batch(10, t0 + Duration::from_secs(3600))
        .unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].event.key, "cdr");
    assert_eq!(batch[0].event.policy, Policy::Durable);
    assert_eq!(
        outbox.stats().unwrap(),
        OutboxStats {
            backlog: 1,
            delivered: 0,
            failed: 3,
            dropped: 2
        }
    );
}
