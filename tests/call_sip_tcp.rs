//! SIP over TCP toward Asterisk: the gateway is configured with `sip.transport = "tcp"` and a
//! `;transport=tcp` proxy, SIPp (`uas_echo_pcmu_tcp`, `-t t1`) answers with PCMU and echoes the
//! RTP. The INVITE goes over a TCP connection with a `SIP/2.0/TCP` Via (RFC 3261 sections 18.1.1
//! and 20.42), and the BYE after the browser's hangup takes the same transport (section 15.1.1).

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::gateway::GatewayOptions;
use support::rig::{CallOptions, CallRig, RigOptions};
use support::sipp::SippOptions;

/// Connected over SIP/TCP, echoed audio arrives, hangup -> BYE at SIPp over TCP.
#[tokio::test]
async fn call_over_sip_tcp_connects_passes_audio_and_hangs_up() {
    let options = RigOptions {
        gateway: GatewayOptions::default().sip_over_tcp(),
        sipp: SippOptions {
            tcp: true,
            ..SippOptions::default()
        },
    };
    let mut rig = CallRig::start_with("uas_echo_pcmu_tcp.xml", &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig).await;
    rig.finish(outcome).await;
}

async fn scenario(rig: &mut CallRig) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup("call_sip_tcp").await;

    let stats = rig
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[call_sip_tcp] inbound audio: {stats:?}");

    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    // uas_echo_pcmu_tcp exits 0 only after it received the BYE and answered it.
    rig.sipp.expect_success(Duration::from_secs(10)).await?;

    let log = rig.sipp.messages();
    let invite = received_request(&log, "INVITE").context("SIPp logged no INVITE")?;
    // RFC 3261 section 18.1.1: the sent-by is where the gateway accepts SIP, not the
    // connection's ephemeral port.
    let sent_by = format!("SIP/2.0/TCP 127.0.0.1:{};", rig.gateway.sip_port());
    ensure!(
        via(invite).is_some_and(|v| v.starts_with(&sent_by)),
        "the INVITE's Via should start with {sent_by:?}:\n{invite}"
    );
    eprintln!(
        "[call_sip_tcp] INVITE Via as SIPp received it: {}",
        via(invite).unwrap_or("-")
    );
    let bye = received_request(&log, "BYE").context("SIPp logged no BYE")?;
    ensure!(
        via(bye).is_some_and(|v| v.starts_with("SIP/2.0/TCP ")),
        "the BYE's Via should say SIP/2.0/TCP:\n{bye}"
    );
    for (what, message) in [("INVITE", invite), ("BYE", bye)] {
        ensure!(
            message.contains("TCP message received"),
            "SIPp should have received the {what} over TCP:\n{message}"
        );
    }
    Ok(())
}

/// The first entry of SIPp's message log (`-trace_msg`) for a received request of `method`:
/// entries start with a dashed line, then "<transport> message received [n] bytes :", a blank
/// line and the message.
fn received_request<'a>(log: &'a str, method: &str) -> Option<&'a str> {
    log.split("-----------------------------------------------")
        .filter(|entry| entry.contains("message received"))
        .find(|entry| {
            entry
                .lines()
                .skip_while(|l| !l.contains("message received"))
                .skip(1)
                .find(|l| !l.trim().is_empty())
                .is_some_and(|request_line| request_line.starts_with(&format!("{method} ")))
        })
}

/// The value of the message's (first) Via header.
fn via(message: &str) -> Option<&str> {
    message.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name.eq_ignore_ascii_case("via") || name == "v").then(|| value.trim())
    })
}
