//! The gateway is killed with SIGKILL while reports are pending, one batch even applied by Odoo but
//! not yet acknowledged; a new gateway on the same `[storage] data_dir` delivers the rest: nothing
//! is lost, and what is sent twice is applied once, by key (issue 5, docs/odoo.md "gateway_report").

mod support;

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, ensure};
use gateway_odoo::test_server::TestServer;
use support::gateway::{Gateway, GatewayOptions};
use support::odoo::{
    ManyCallsUas, SHORT_CALL_KINDS, expect_short_calls, good_api_key, short_calls, start_odoo,
    wait_applied, wait_backlog, wait_odoo_health, with_odoo,
};

/// Calls whose events reach a slow Odoo in one batch that is applied but not yet acknowledged.
const CALLS: usize = 20;
/// Calls placed while that batch is in flight: their events never leave the outbox before the kill.
const LATER_CALLS: usize = 5;
/// How long the slow Odoo holds its answer: the kill lands inside this window.
const SLOW_ANSWER: Duration = Duration::from_secs(30);

/// SIGKILL with the events in the outbox and a batch unacknowledged; the restart delivers all.
#[tokio::test]
async fn kill_9_loses_nothing_and_applies_nothing_twice() {
    let odoo = start_odoo().await.unwrap_or_else(|e| panic!("{e:#}"));
    let data = tempfile::tempdir().expect("data dir");
    let sipp = ManyCallsUas::start(CALLS + LATER_CALLS)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let options = with_odoo(
        GatewayOptions::default().log_level("info"),
        &odoo.url(),
        &good_api_key(),
        data.path(),
    )
    // Longer than the slow answer: the gateway itself never gives up on the batch in flight.
    .config_key("odoo.timeout", "\"60s\"");
    let first = Gateway::start_with(sipp.port(), &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let ids = match before_kill(&first, &odoo, data.path()).await {
        Ok(ids) => ids,
        Err(e) => panic!("{e:#}"),
    };
    // Gateway's drop is SIGKILL (`Child::kill`): no shutdown code runs.
    drop(first);
    odoo.set_delay(Duration::ZERO);
    let second = Gateway::start_with(sipp.port(), &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = after_restart(&odoo, data.path(), &ids).await {
        second.dump();
        panic!("{e:#}");
    }
}

/// Logs in, places the calls with Odoo down, then lets one batch reach a slow Odoo (the login is
/// cached, only the batch is slow); returns the call ids.
async fn before_kill(gateway: &Gateway, odoo: &TestServer, data: &Path) -> Result<Vec<String>> {
    wait_odoo_health(gateway, "ok", Duration::from_secs(10)).await?;
    odoo.stop().await;
    let ids = short_calls(gateway, CALLS).await?;
    let events = CALLS * SHORT_CALL_KINDS.len();
    let status = wait_backlog(data, events as u64, Duration::from_secs(10)).await?;
    eprintln!("[odoo_kill9] before the kill:\n{status}");
    odoo.set_delay(SLOW_ANSWER);
    odoo.restart().await?;
    // Applied by Odoo, the answer still held back: the gateway has not marked them delivered.
    wait_applied(odoo, events, Duration::from_secs(90)).await?;
    ensure!(
        odoo.in_flight() == 1,
        "the batch's answer should still be in flight"
    );
    let mut ids = ids;
    ids.extend(short_calls(gateway, LATER_CALLS).await?);
    let all = ids.len() * SHORT_CALL_KINDS.len();
    let status = wait_backlog(data, all as u64, Duration::from_secs(10)).await?;
    eprintln!("[odoo_kill9] at the kill (the first {events} applied, unacknowledged):\n{status}");
    ensure!(
        odoo.applied().len() == events && odoo.in_flight() == 1,
        "the later calls' events wait behind the batch in flight"
    );
    Ok(ids)
}

async fn after_restart(odoo: &TestServer, data: &Path, ids: &[String]) -> Result<()> {
    let events = ids.len() * SHORT_CALL_KINDS.len();
    wait_backlog(data, 0, Duration::from_secs(90)).await?;
    let applied = odoo.applied();
    expect_short_calls(&applied, ids)?;
    ensure!(
        applied.len() == events,
        "each event applied once: {} applied for {events}",
        applied.len()
    );
    let unacknowledged = (CALLS * SHORT_CALL_KINDS.len()) as u64;
    ensure!(
        odoo.duplicates() == unacknowledged,
        "the unacknowledged batch is sent again after the restart and ignored by key: \
         {} duplicates, expected {unacknowledged}",
        odoo.duplicates()
    );
    Ok(())
}
