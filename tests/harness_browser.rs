//! Harness self-test: headless Chromium, chromedriver, the fake 1 kHz microphone and the stats
//! reader of tests/data/client.js work on this machine. Two RTCPeerConnections of one page call
//! each other over 127.0.0.1 and the receiving one must report audio energy (RFC 8834 section 4:
//! `totalAudioEnergy` of inbound-rtp stats).

mod support;

use std::time::Duration;

use support::browser::Browser;
use support::rig::wait_energy;
use support::stub_http::StubHttp;

/// A loopback call inside Chromium carries the fake tone: energy > 0.01 within 15 s.
#[tokio::test]
async fn chromium_loopback_call_receives_the_fake_tone() {
    let page = StubHttp::start().await.expect("stub HTTP server");
    let browser = Browser::launch().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = async {
        browser.open(&page.url()).await?;
        browser
            .eval("return window.__gw.loopback();", vec![])
            .await?;
        let stats = wait_energy(&browser, 0.01, Duration::from_secs(15)).await?;
        eprintln!("loopback call inbound audio: {stats:?}");
        anyhow::ensure!(
            stats.packets_received > 0,
            "energy without packets: {stats:?}"
        );
        // The tone peaks at -6 dBFS: audioLevel (linear, 1.0 = full scale) is about 0.5.
        anyhow::ensure!(
            (0.35..0.65).contains(&stats.audio_level),
            "the fake microphone should play the -6 dBFS tone: {stats:?}"
        );
        anyhow::ensure!(
            stats
                .mime_type
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("audio/opus")),
            "Chromium's default audio codec should be Opus: {stats:?}"
        );
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        browser.dump().await;
        panic!("{e:#}");
    }
    browser.close().await.unwrap_or_else(|e| panic!("{e:#}"));
}
