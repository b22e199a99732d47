//! Early media: Asterisk (SIPp `uas_early_media_echo`, modelled on the Asterisk 22 capture
//! ladder-outbound-608-early-media) sends 183 Session Progress with a PCMU SDP, echoes RTP for
//! ~3.5 s, then 200 OK. The browser gets its `answer` and `state: early_media` from the 183
//! (RFC 3261 section 13.2.1; early media, RFC 3960 section 3) and hears audio before `connected`.

mod support;

use std::time::Duration;

use anyhow::{Result, bail, ensure};
use support::incall;
use support::rig::{CallOptions, CallRig, RigOptions};

/// 183+SDP -> answer + early_media, audio energy > 0.01 while not yet connected, then connected.
#[tokio::test]
async fn audio_flows_before_the_answer() {
    let mut rig = incall::start("uas_early_media_echo.xml", &RigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    let test = "incall_early_media";
    rig.place_call(&CallOptions::default()).await?;
    rig.wait_answer(Duration::from_secs(10)).await?;
    let early = rig
        .wait_state("early_media", Duration::from_secs(10))
        .await?;
    ensure!(
        early["sip_code"] == 183,
        "early_media should come from the 183: {early}"
    );
    // Poll energy and messages together: the energy must cross 0.01 while `connected` has not
    // arrived yet.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let audio = loop {
        let messages = rig.messages().await?;
        let connected = messages
            .iter()
            .any(|m| m["type"] == "state" && m["state"] == "connected");
        let audio = rig.inbound_audio().await?;
        if audio.total_audio_energy > 0.01 {
            ensure!(
                !connected,
                "the browser was connected before it heard early media ({audio:?}); messages: {messages:#?}"
            );
            break audio;
        }
        if connected {
            bail!(
                "connected before any early media energy arrived: {audio:?}; messages: {messages:#?}"
            );
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("no early media energy within 10 s: {audio:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let early_at = rig
        .message_at(|m| m["type"] == "state" && m["state"] == "early_media")
        .await?;
    rig.wait_state("connected", Duration::from_secs(10)).await?;
    let connected_at = rig
        .message_at(|m| m["type"] == "state" && m["state"] == "connected")
        .await?;
    eprintln!(
        "[{test}] call -> early_media {early_at:?} ms, early audio seen ({audio:?}), call -> connected {connected_at:?} ms"
    );
    let sipp = rig.sipp.logged();
    let sent_183 = sipp
        .iter()
        .filter(|m| m.sent && m.is_response(183, Some("INVITE")))
        .count();
    let ok_at = sipp
        .iter()
        .find(|m| m.sent && m.is_response(200, Some("INVITE")))
        .map(|m| m.at_unix_ms);
    let first_183 = sipp
        .iter()
        .find(|m| m.sent && m.is_response(183, Some("INVITE")))
        .map(|m| m.at_unix_ms);
    if let (Some(a), Some(b)) = (first_183, ok_at) {
        eprintln!(
            "[{test}] SIPp: {sent_183} x 183, 200 OK {:.0} ms after the first 183",
            b - a
        );
    }
    incall::hang_up(rig).await?;
    Ok(())
}
