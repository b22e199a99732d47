//! A wrong Odoo API key: the gateway says so once, clearly, in its log and in `/healthz`
//! (`"odoo": "access_denied"`), keeps the reports in the outbox, and does not hammer Odoo with
//! retries (issue 5: "Wrong API key: clear log line and /healthz shows Odoo access_denied; no retry
//! storm (count requests)").

mod support;

use std::time::Duration;

use anyhow::{Result, ensure};
use gateway_odoo::test_server::TestServer;
use support::gateway::{Gateway, GatewayOptions};
use support::odoo::{
    ManyCallsUas, SHORT_CALL_KINDS, short_calls, start_odoo, wait_backlog, wait_odoo_health,
    with_odoo,
};

/// The wrong key; it must never appear in the log.
const WRONG_KEY: &str = "wrong-key-3f9a0c-must-not-be-logged";
/// Calls whose reports Odoo refuses.
const CALLS: usize = 10;
/// How long Odoo's request count is watched after the refusals. The gateway is another process,
/// so its retry timer cannot be driven from here: a short real window it is.
const WATCH: Duration = Duration::from_secs(3);
/// The most requests allowed in all: the start-up login, one refused delivery attempt (its login),
/// and slack for one more.
const MAX_REQUESTS: u64 = 4;

#[tokio::test]
async fn wrong_api_key_shows_in_healthz_without_a_retry_storm() {
    let odoo = start_odoo().await.unwrap_or_else(|e| panic!("{e:#}"));
    let data = tempfile::tempdir().expect("data dir");
    let sipp = ManyCallsUas::start(CALLS)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let options = with_odoo(
        GatewayOptions::default().log_level("info"),
        &odoo.url(),
        WRONG_KEY,
        data.path(),
    );
    let gateway = Gateway::start_with(sipp.port(), &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = scenario(&gateway, &odoo, data.path()).await {
        panic!("{e:#}");
    }
}

async fn scenario(gateway: &Gateway, odoo: &TestServer, data: &std::path::Path) -> Result<()> {
    // Before any call: the start-up login is refused.
    let health = wait_odoo_health(gateway, "access_denied", Duration::from_secs(10)).await?;
    eprintln!("[odoo_access_denied] /healthz: {health}");
    let events = CALLS * SHORT_CALL_KINDS.len();
    short_calls(gateway, CALLS).await?;
    wait_backlog(data, events as u64, Duration::from_secs(10)).await?;
    // The delivery task tries once for the new events, is refused, and backs off for minutes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while odoo.calls("common.login") < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ensure!(
        odoo.calls("common.login") >= 2,
        "the delivery task should have tried to log in for the new events"
    );
    let before = odoo.requests();
    tokio::time::sleep(WATCH).await;
    let after = odoo.requests();
    eprintln!(
        "[odoo_access_denied] {after} requests to Odoo in all, {} during the last {WATCH:?}",
        after - before
    );
    ensure!(
        after <= MAX_REQUESTS,
        "a refused key must not cause a retry storm: {after} requests"
    );
    ensure!(
        odoo.applied().is_empty(),
        "nothing is applied with a wrong key"
    );
    let health = wait_odoo_health(gateway, "access_denied", Duration::from_secs(1)).await?;
    ensure!(
        health["outbox"]["backlog"] == events,
        "the refused reports stay in the outbox: {health}"
    );
    let log = gateway.log();
    ensure!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains("access_denied") && l.contains("[odoo]")),
        "one clear ERROR line naming access_denied and the [odoo] settings"
    );
    ensure!(!log.contains(WRONG_KEY), "the API key must never be logged");
    Ok(())
}
