//! Per-user registration (issue 3): alice's first device makes the gateway REGISTER alice's SIP
//! account with Asterisk (SIPp `uas_registrar_refresh`): the REGISTER is challenged (401) and
//! authorized with digest (RFC 3261 section 22.2), the registrar binds it for only 4 s, and the
//! gateway must refresh before that runs out (section 10.2.4). When the device leaves, the gateway
//! unREGISTERs (Expires: 0, section 10.2.2) once `sip.unregister_grace` (1 s) has passed, not
//! before. The device gets `registration registered`; the password never leaves the gateway
//! in clear.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use support::gateway::GatewayOptions;
use support::inbound::InboundRig;
use support::sipp_log::LoggedMessage;

/// What the registrar grants (Contact `;expires=4` in uas_registrar_refresh.xml).
const GRANTED_MS: f64 = 4000.0;
/// `sip.unregister_grace` of this test.
const GRACE_MS: f64 = 1000.0;
/// The password of alice's SIP account, known to the scenario's `<verifyauth>`.
const PASSWORD: &str = "alice-sip-secret";

/// 401 -> authorized REGISTER -> 200 (4 s) -> refresh before 4 s -> device leaves ->
/// unREGISTER 1 s later.
#[tokio::test]
async fn registers_with_digest_refreshes_before_expiry_and_unregisters_after_the_grace() {
    let options = GatewayOptions::default()
        .user("alice", "alice", PASSWORD)
        .unregister_grace("1s")
        .register_expires("60s")
        // SIPp plays only the registrar: an OPTIONS keepalive would be an unexpected message.
        .options_interval("0s");
    let rig = InboundRig::start_with_registrar("uas_registrar_refresh.xml", &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &InboundRig) -> Result<()> {
    let page = rig.device("page").await?;
    let registered = page
        .wait_message("registration registered", Duration::from_secs(10), |m| {
            m["type"] == "registration" && m["state"] == "registered"
        })
        .await?;
    eprintln!("[register_digest_refresh] {registered}");

    // At least one refresh of the 4 s binding, and its timing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = rig.registrar_log().await;
        if !refresh_delays(&log).is_empty() {
            break log;
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("no refresh REGISTER within 10 s of the grant; registrar saw:\n{log:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let delays = refresh_delays(&log);
    eprintln!(
        "[register_digest_refresh] granted {GRANTED_MS} ms; REGISTER again after {:?} ms",
        delays.iter().map(|d| d.round()).collect::<Vec<_>>()
    );
    for delay in &delays {
        ensure!(
            (1000.0..GRANTED_MS).contains(delay),
            "each refresh must come before the granted {GRANTED_MS} ms run out (and not in a loop): {delays:?}"
        );
    }
    check_registers(rig, &log).await?;
    ensure!(
        !log.iter()
            .any(|m| !m.sent && m.is_request("REGISTER") && is_unregister(m)),
        "the gateway unREGISTERed while alice's device was still connected"
    );

    // The device leaves: nothing for the grace period, then the unREGISTER.
    page.close().await?;
    let closed_at = rig
        .browser
        .eval("return performance.timeOrigin + performance.now();", vec![])
        .await?
        .as_f64()
        .context("the page's clock")?;
    rig.registrar_success(Duration::from_secs(10))
        .await
        .context("the registrar should see the unREGISTER and exit 0")?;
    let log = rig.registrar_log().await;
    let unregister = log
        .iter()
        .find(|m| !m.sent && m.is_request("REGISTER") && is_unregister(m))
        .context("the registrar saw no REGISTER with Expires: 0")?;
    let after_close = unregister.at_unix_ms - closed_at;
    eprintln!(
        "[register_digest_refresh] unREGISTER {after_close:.0} ms after the device closed (grace {GRACE_MS} ms)"
    );
    ensure!(
        after_close >= GRACE_MS - 50.0,
        "the unREGISTER came {after_close:.0} ms after the device left, before the {GRACE_MS} ms grace"
    );
    ensure!(
        after_close <= GRACE_MS + 2000.0,
        "the unREGISTER came {after_close:.0} ms after the device left, long after the {GRACE_MS} ms grace"
    );
    let contact = unregister.header("Contact").unwrap_or_default();
    ensure!(
        contact.contains(";expires=0") || unregister.header("Expires").as_deref() == Some("0"),
        "the unREGISTER must remove the binding: {}",
        unregister.text
    );
    Ok(())
}

/// Milliseconds from each 200 OK granting the binding to the next REGISTER received.
fn refresh_delays(log: &[LoggedMessage]) -> Vec<f64> {
    let mut delays = Vec::new();
    let mut granted_at = None;
    for m in log {
        if m.sent && m.is_response(200, Some("REGISTER")) && !is_unregister(m) {
            granted_at = Some(m.at_unix_ms);
        } else if !m.sent
            && m.is_request("REGISTER")
            && let Some(at) = granted_at.take()
        {
            delays.push(m.at_unix_ms - at);
        }
    }
    delays
}

/// A REGISTER (or its 200) removing the binding: `Expires: 0`.
fn is_unregister(m: &LoggedMessage) -> bool {
    m.header("Expires").as_deref() == Some("0")
}

/// The REGISTERs bind alice's account at the gateway's address, each one sent in answer to a
/// 401 carries a digest for user alice, and the password itself appears nowhere.
async fn check_registers(rig: &InboundRig, log: &[LoggedMessage]) -> Result<()> {
    let contact = format!("<sip:alice@127.0.0.1:{}>", rig.gateway.sip_port());
    let mut challenged = false;
    let mut count = 0;
    for m in log {
        if m.sent {
            challenged = m.is_response(401, Some("REGISTER"));
            continue;
        }
        if !m.is_request("REGISTER") {
            continue;
        }
        count += 1;
        ensure!(
            m.header("Contact").as_deref() == Some(contact.as_str()),
            "REGISTER {count}: Contact should be {contact}: {}",
            m.text
        );
        ensure!(
            m.header("To")
                .is_some_and(|to| to.contains("sip:alice@127.0.0.1")),
            "REGISTER {count}: To should be alice's address of record: {}",
            m.text
        );
        ensure!(
            !m.text.contains(PASSWORD),
            "REGISTER {count} carries the password in clear"
        );
        if count == 1 {
            ensure!(
                m.header("Authorization").is_none(),
                "the first REGISTER has no challenge to answer yet: {}",
                m.text
            );
        }
        if challenged {
            ensure!(
                m.header("Authorization")
                    .is_some_and(|a| a.contains("username=\"alice\"")),
                "REGISTER {count} should answer the 401 as alice: {}",
                m.text
            );
        }
    }
    ensure!(count >= 3, "want 3 REGISTERs or more: {log:#?}");
    let devices = rig
        .browser
        .eval("return JSON.stringify(window.__gw.devicesState());", vec![])
        .await?;
    ensure!(
        !devices.to_string().contains(PASSWORD),
        "the password reached the browser"
    );
    Ok(())
}
