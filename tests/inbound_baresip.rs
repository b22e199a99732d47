//! A real SIP phone calls a browser user (issue 3), trunk mode: baresip (Debian `baresip-core`)
//! dials `sip:alice@<gateway>` sending a 440 Hz tone from a WAV file; alice's device accepts. The
//! device must receive audio energy (baresip's tone, through the gateway), and baresip's
//! recording of what it received must hold the browser's 1 kHz fake-microphone tone, forwarded
//! by the gateway. baresip hangs up when its tone file ends (BYE, RFC 3261 section 15.1.1) and
//! the device gets `ended`.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use support::baresip::{BARESIP_TONE_HZ, Baresip};
use support::gateway::GatewayOptions;
use support::inbound::InboundRig;
use support::tone::Wav;

/// How long baresip's tone lasts: the call lasts that long once answered.
const TONE_SECONDS: u32 = 8;
/// The browser's fake microphone tone (support::browser).
const BROWSER_TONE_HZ: f64 = 1000.0;

/// baresip -> gateway -> device accepts -> audio both ways -> baresip hangs up -> ended.
#[tokio::test]
async fn baresip_calls_a_browser_user_and_audio_flows_both_ways() {
    let rig = InboundRig::start(&GatewayOptions::default().trunk(true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let mut baresip = None;
    let outcome = scenario(&rig, &mut baresip).await;
    if outcome.is_err()
        && let Some(baresip) = &baresip
    {
        baresip.dump();
    }
    rig.finish(outcome).await;
}

async fn scenario(rig: &InboundRig, slot: &mut Option<Baresip>) -> Result<()> {
    let page = rig.device("page").await?;
    let uri = format!("sip:alice@127.0.0.1:{}", rig.gateway.sip_port());
    let baresip = slot.insert(Baresip::dial(&uri, TONE_SECONDS, Duration::from_secs(60))?);

    // Ring within 15 s; fail at once if baresip gave up (e.g. a configuration it refuses).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let incoming = loop {
        match page.wait_incoming(Duration::from_millis(500)).await {
            Ok(incoming) => break incoming,
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => {
                if let Some(status) = baresip.exited()? {
                    bail!("baresip exited ({status}) before alice's device rang");
                }
            }
        }
    };
    eprintln!("[inbound_baresip] {incoming}");
    ensure!(
        incoming["from"] == "baresip" && incoming["from_name"] == "Baresip Phone",
        "incoming should name baresip's account: {incoming}"
    );
    let call_id = incoming["call_id"].as_str().unwrap_or_default();
    page.accept(call_id, true).await?;
    page.wait_answer(call_id, Duration::from_secs(10)).await?;
    page.wait_state(call_id, "connected", Duration::from_secs(15))
        .await?;
    let stats = page
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[inbound_baresip] device inbound audio (baresip's tone): {stats:?}");

    let ended = page
        .wait_state(
            call_id,
            "ended",
            Duration::from_secs(u64::from(TONE_SECONDS) + 10),
        )
        .await?;
    eprintln!("[inbound_baresip] {ended}");
    baresip.quit(Duration::from_secs(10)).await?;

    let path = baresip
        .received_recording()?
        .context("baresip recorded nothing it received (no sndfile *-dec.wav)")?;
    let received = Wav::read(&path)?;
    let (rms, browser_share, own_share) = (
        received.rms(),
        received.tone_share(BROWSER_TONE_HZ),
        received.tone_share(BARESIP_TONE_HZ),
    );
    eprintln!(
        "[inbound_baresip] baresip received {:.1} s at {} Hz: RMS {rms:.4}, {:.0} % of the power at {BROWSER_TONE_HZ} Hz, {:.0} % at {BARESIP_TONE_HZ} Hz",
        received.seconds(),
        received.rate,
        browser_share * 100.0,
        own_share * 100.0
    );
    ensure!(
        rms > 0.01,
        "baresip's recording of what it received is silent (RMS {rms:.5}): {}",
        path.display()
    );
    ensure!(
        browser_share > 0.5,
        "what baresip received should be mostly the browser's {BROWSER_TONE_HZ} Hz tone, but only {:.0} % of its power is there",
        browser_share * 100.0
    );
    Ok(())
}
