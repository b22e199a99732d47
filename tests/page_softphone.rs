//! The softphone page at `/` (issue 7, point 2) in real headless Chromium, used like a person
//! would on a phone-sized window: connect with the token, dial 600 on the dial pad, call, see
//! `connected` with a live timer and a quality figure (MOS), hang up, see `ended`. SIPp plays
//! Asterisk (`uas_echo_pcmu.xml`) and must receive the BYE (RFC 3261 §15.1.1).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::browser::Browser;
use support::gateway::{ALICE_TOKEN, Gateway};
use support::page::{click, goto, screenshot, text, wait_text, window_size};
use support::sipp::{Scenario, Sipp};

/// Dial pad -> connected (timer and MOS shown) -> hang up -> ended, and SIPp got the BYE.
#[tokio::test]
async fn dial_pad_call_shows_connected_quality_and_ends() {
    let browser = Browser::launch().await.unwrap_or_else(|e| panic!("{e:#}"));
    let mut sipp = Sipp::uas(Scenario::File("uas_echo_pcmu.xml"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let gateway = Gateway::start(sipp.port())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&browser, &mut sipp, &gateway).await;
    match outcome {
        Ok(()) => browser.close().await.unwrap_or_else(|e| panic!("{e:#}")),
        // The gateway and SIPp print their logs when dropped during this panic.
        Err(e) => panic!("{e:#}"),
    }
}

async fn scenario(browser: &Browser, sipp: &mut Sipp, gateway: &Gateway) -> Result<()> {
    window_size(browser, 390, 844).await?;
    goto(
        browser,
        &format!("{}/?token={ALICE_TOKEN}", gateway.base_url()),
    )
    .await?;
    // The page keeps the token from the URL in the token field.
    wait_text(
        browser,
        "#token",
        "the token",
        Duration::from_secs(10),
        |t| t == ALICE_TOKEN,
    )
    .await?;
    click(browser, "#connect").await?;
    wait_text(browser, "#conn", "online", Duration::from_secs(10), |t| {
        t.starts_with("online")
    })
    .await?;

    for digit in ["6", "0", "0"] {
        click(browser, &format!("#dialpad button[data-digit=\"{digit}\"]")).await?;
    }
    let number = text(browser, "#number").await?;
    ensure!(
        number == "600",
        "the dial pad typed {number:?}, want \"600\""
    );
    click(browser, "#call").await?;
    wait_text(
        browser,
        "#state",
        "connected",
        Duration::from_secs(20),
        |t| t == "connected",
    )
    .await?;

    let mos = wait_text(
        browser,
        "#quality #mos",
        "a MOS figure",
        Duration::from_secs(6),
        |t| t.parse::<f64>().is_ok(),
    )
    .await?;
    let mos: f64 = mos.parse()?;
    ensure!((1.0..=4.5).contains(&mos), "MOS {mos} outside 1..4.5");
    let loss = text(browser, "#quality #loss").await?;
    let jitter = text(browser, "#quality #jitter").await?;
    ensure!(
        loss.ends_with('%') && jitter.ends_with("ms"),
        "loss {loss:?}, jitter {jitter:?}"
    );
    let first = text(browser, "#timer").await?;
    let later = wait_text(
        browser,
        "#timer",
        "the timer advancing",
        Duration::from_secs(3),
        |t| t != first,
    )
    .await?;
    ensure!(later > first, "the timer went from {first} to {later}");
    eprintln!(
        "[page_softphone] connected: MOS {mos}, loss {loss}, jitter {jitter}, timer {first} -> {later}"
    );

    let shot = screenshot_path();
    screenshot(browser, &shot).await?;
    eprintln!(
        "[page_softphone] screenshot (390x844, connected): {}",
        shot.display()
    );

    click(browser, "#hangup").await?;
    wait_text(browser, "#state", "ended", Duration::from_secs(10), |t| {
        t == "ended"
    })
    .await?;
    sipp.expect_success(Duration::from_secs(10))
        .await
        .context("SIPp's scenario ends with the BYE it receives")?;
    let bye = sipp.logged().iter().any(|m| !m.sent && m.is_request("BYE"));
    ensure!(bye, "SIPp never received a BYE:\n{}", sipp.messages());
    Ok(())
}

/// Where the screenshot goes: this test's directory under cargo's temp dir for tests, kept
/// after the run so that a person can look at it.
fn screenshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("page_softphone")
        .join("softphone-390x844-connected.png")
}
