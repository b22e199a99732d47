//! Odoo is down while the gateway handles many calls: every lifecycle report waits in the durable
//! outbox (`outbox status` shows the backlog, `/healthz` shows `unreachable`), and once Odoo is back
//! every event is delivered exactly once, in order per call, in batches (issue 5, "Odoo down for
//! 200 calls' worth of events, then up").

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use support::gateway::{Gateway, GatewayOptions};
use support::odoo::{
    ManyCallsUas, SHORT_CALL_KINDS, addon_accepts, expect_short_calls, good_api_key, short_calls,
    start_odoo, wait_applied, wait_backlog, wait_odoo_health, with_odoo,
};

/// Calls placed while Odoo is down.
const CALLS: usize = 200;

/// 200 calls' events (800) wait for Odoo, then arrive once each, in order per call.
#[tokio::test]
async fn events_wait_for_odoo_and_arrive_once_in_order() {
    let odoo = start_odoo().await.unwrap_or_else(|e| panic!("{e:#}"));
    odoo.stop().await;
    let data = tempfile::tempdir().expect("data dir");
    let sipp = ManyCallsUas::start(CALLS)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let options = with_odoo(
        GatewayOptions::default().log_level("info"),
        &odoo.url(),
        &good_api_key(),
        data.path(),
    );
    let gateway = Gateway::start_with(sipp.port(), &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = scenario(&gateway, &odoo, data.path()).await {
        panic!("{e:#}");
    }
}

async fn scenario(
    gateway: &Gateway,
    odoo: &gateway_odoo::test_server::TestServer,
    data: &std::path::Path,
) -> Result<()> {
    let started = tokio::time::Instant::now();
    let ids = short_calls(gateway, CALLS).await?;
    let calls_took = started.elapsed();
    let events = CALLS * SHORT_CALL_KINDS.len();
    let status = wait_backlog(data, events as u64, Duration::from_secs(10)).await?;
    eprintln!(
        "[odoo_outage] {CALLS} calls in {calls_took:?} with Odoo down; outbox status:\n{status}"
    );
    wait_odoo_health(gateway, "unreachable", Duration::from_secs(10)).await?;
    ensure!(
        odoo.applied().is_empty(),
        "nothing can reach a stopped Odoo"
    );

    odoo.restart().await?;
    let back = tokio::time::Instant::now();
    // The first batch lands after the backoff in progress; from then on the backlog drains.
    let first = wait_applied(odoo, 1, Duration::from_secs(120)).await?.len();
    let draining = tokio::time::Instant::now();
    let applied = wait_applied(odoo, events, Duration::from_secs(30)).await?;
    let drained_in = draining.elapsed();
    let delivered_in = back.elapsed();
    expect_short_calls(&applied, &ids)?;
    addon_accepts(&applied)?;
    ensure!(
        odoo.applied().len() == events && odoo.duplicates() == 0,
        "exactly once: {} applied, {} duplicates",
        odoo.applied().len(),
        odoo.duplicates()
    );
    let batches = odoo.calls("object.execute_kw");
    ensure!(
        batches <= (events / 200 + 1) as u64,
        "events travel in batches of up to 200: {batches} execute_kw for {events} events"
    );
    wait_backlog(data, 0, Duration::from_secs(10)).await?;
    let health = wait_odoo_health(gateway, "ok", Duration::from_secs(10)).await?;
    eprintln!(
        "[odoo_outage] {events} events delivered {delivered_in:?} after Odoo came back \
         (backoff included), in {batches} execute_kw; after the first batch ({first} events) \
         the other {} took {drained_in:?} ({:.0} events/s); /healthz: {health}",
        events - first,
        (events - first) as f64 / drained_in.as_secs_f64().max(0.001),
    );
    Ok(())
}
