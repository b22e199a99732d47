//! RTCP on both legs of a call (RFC 3550 section 6). Toward the browser, the gateway's WebRTC
//! stack sends receiver reports on the audio it receives and sender reports on the audio it
//! sends, so the browser's `getStats()` gains a `remote-inbound-rtp` entry for its outgoing audio,
//! with a round-trip time once a report answers one of the browser's SRs (LSR/DLSR, RFC 3550
//! section 6.4.1), and a `remote-outbound-rtp` for the audio it receives (W3C webrtc-stats: both
//! exist only once such reports arrived). Toward Asterisk, SIPp (`uas_echo_pcmu_rtcp`) answers with
//! `a=rtcp:<port>` (RFC 3605) naming a UDP port this test owns, and the gateway sends a compound
//! packet there every 5 s: an SR or RR first, then an SDES with a CNAME (RFC 3550 section 6.1).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use support::ports::loopback;
use support::rig::{CallOptions, CallRig, RigOptions};
use support::rtcp::split_compound;
use support::sipp::SippOptions;
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// RTCP packet types (RFC 3550 section 12.1).
const PT_SR: u8 = 200;
const PT_RR: u8 = 201;
const PT_SDES: u8 = 202;
/// SDES item CNAME (RFC 3550 section 6.5.1).
const SDES_CNAME: u8 = 1;

/// The browser's getStats() shows remote-inbound-rtp (with an RTT) and remote-outbound-rtp.
#[tokio::test]
async fn browser_gets_receiver_reports_from_the_gateway() {
    let (mut rig, _rtcp) = start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = browser_scenario(&mut rig).await;
    rig.finish(outcome).await;
}

/// SIPp's a=rtcp port receives an RTCP compound (SR/RR + SDES CNAME) within 7 s, then every 5 s.
#[tokio::test]
async fn sip_side_gets_periodic_rtcp_at_its_a_rtcp_port() {
    let (mut rig, rtcp) = start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = sip_scenario(&mut rig, &rtcp).await;
    rig.finish(outcome).await;
}

/// Binds the RTCP port SIPp advertises, then starts the rig with it.
async fn start() -> Result<(CallRig, UdpSocket)> {
    let rtcp = UdpSocket::bind(loopback(0))
        .await
        .context("binding the test's RTCP port")?;
    let port = rtcp.local_addr()?.port();
    let options = RigOptions {
        sipp: SippOptions {
            extra: vec!["-key".to_owned(), "rtcp_port".to_owned(), port.to_string()],
            ..SippOptions::default()
        },
        ..RigOptions::default()
    };
    let rig = CallRig::start_with("uas_echo_pcmu_rtcp.xml", &options).await?;
    Ok((rig, rtcp))
}

async fn connect(rig: &CallRig, test: &str) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup(test).await;
    Ok(())
}

async fn hang_up(rig: &mut CallRig) -> Result<()> {
    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await
}

async fn browser_scenario(rig: &mut CallRig) -> Result<()> {
    connect(rig, "call_rtcp browser").await?;
    let connected = Instant::now();
    let mut first_report = None;
    let deadline = connected + Duration::from_secs(12);
    let stats = loop {
        let stats = rig.rtcp_stats().await?;
        let report = &stats["remoteInbound"][0];
        if report.is_object() && first_report.is_none() {
            first_report = Some(connected.elapsed());
        }
        // The RTT needs a receiver report whose LSR/DLSR answer one of the browser's SRs.
        let rtt_measured = report["roundTripTimeMeasurements"]
            .as_u64()
            .is_some_and(|n| n > 0);
        if rtt_measured && stats["remoteOutbound"][0].is_object() {
            break stats;
        }
        if Instant::now() >= deadline {
            bail!(
                "12 s after connected the browser's getStats() lacks a remote-inbound-rtp with a round-trip time (the gateway's receiver reports) or a remote-outbound-rtp (its sender reports):\n{stats:#}"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let report = &stats["remoteInbound"][0];
    eprintln!(
        "[call_rtcp browser] first remote-inbound-rtp {} ms after connected, a round-trip time after {} ms: {report}",
        first_report.map_or(0, |d| d.as_millis()),
        connected.elapsed().as_millis(),
    );
    eprintln!(
        "[call_rtcp browser] remote-outbound-rtp: {}",
        stats["remoteOutbound"][0]
    );
    let outbound_ssrc = stats["outbound"][0]["ssrc"].as_u64();
    ensure!(
        outbound_ssrc.is_some() && report["ssrc"].as_u64() == outbound_ssrc,
        "the receiver report should be about the browser's outgoing audio: {stats:#}"
    );
    ensure!(
        report["packetsLost"].is_number() && report["fractionLost"].is_number(),
        "remote-inbound-rtp should carry the report's loss figures: {report:#}"
    );
    // On loopback the round trip is a few ms; a wrong LSR/DLSR gives seconds or nonsense.
    let rtt = report["roundTripTime"].as_f64().unwrap_or(f64::NAN);
    ensure!(
        (0.0..0.5).contains(&rtt),
        "the round-trip time from the gateway's receiver reports should be under 0.5 s on loopback, got {rtt} s: {report:#}"
    );
    let inbound_ssrc = stats["inbound"][0]["ssrc"].as_u64();
    ensure!(
        inbound_ssrc.is_some() && stats["remoteOutbound"][0]["ssrc"].as_u64() == inbound_ssrc,
        "the sender report should be about the audio the browser receives: {stats:#}"
    );
    hang_up(rig).await
}

async fn sip_scenario(rig: &mut CallRig, rtcp: &UdpSocket) -> Result<()> {
    connect(rig, "call_rtcp sip").await?;
    let connected = Instant::now();
    let (first, from) = recv_rtcp(rtcp, Duration::from_secs(7)).await?;
    let first_at = connected.elapsed();
    let (second, _) = recv_rtcp(rtcp, Duration::from_secs(7)).await?;
    let interval = connected.elapsed() - first_at;
    eprintln!(
        "[call_rtcp sip] RTCP from {from}: first {} ms after connected ({} bytes, {}), next {} ms later ({} bytes, {})",
        first_at.as_millis(),
        first.len(),
        describe(&first),
        interval.as_millis(),
        second.len(),
        describe(&second),
    );
    let (low, high) = rig.gateway.rtp_ports();
    ensure!(
        from.ip() == loopback(0).ip() && (low..=high).contains(&from.port()),
        "RTCP should come from the gateway's media ports {low}-{high}, came from {from}"
    );
    for packet in [&first, &second] {
        check_compound(packet)?;
    }
    ensure!(
        (Duration::from_secs(4)..=Duration::from_millis(6500)).contains(&interval),
        "RTCP reports should be about 5 s apart, got {interval:?}"
    );
    hang_up(rig).await
}

/// The next datagram on the test's RTCP port, within `timeout`.
async fn recv_rtcp(socket: &UdpSocket, timeout: Duration) -> Result<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 2048];
    let (n, from) = tokio::time::timeout(timeout, socket.recv_from(&mut buf))
        .await
        .map_err(|_| anyhow::anyhow!("no RTCP at SIPp's a=rtcp port within {timeout:?}"))??;
    buf.truncate(n);
    Ok((buf, from))
}

/// Checks a compound begins with an SR or RR and holds an SDES whose chunk for the same SSRC
/// carries a non-empty CNAME (RFC 3550 section 6.1).
fn check_compound(data: &[u8]) -> Result<()> {
    let packets = split_compound(data)?;
    let first = packets.first().context("empty RTCP datagram")?;
    ensure!(
        packets.iter().all(|p| p.version == 2),
        "every RTCP packet should be version 2: {}",
        describe(data)
    );
    ensure!(
        first.pt == PT_SR || first.pt == PT_RR,
        "a compound should begin with SR (200) or RR (201): {}",
        describe(data)
    );
    let reporter = first
        .body
        .first_chunk::<4>()
        .context("report without SSRC")?;
    let sdes = packets
        .iter()
        .find(|p| p.pt == PT_SDES)
        .with_context(|| format!("no SDES (202) in the compound: {}", describe(data)))?;
    ensure!(sdes.count >= 1, "SDES without chunks: {}", describe(data));
    let (ssrc, items) = sdes
        .body
        .split_first_chunk::<4>()
        .context("SDES chunk without SSRC")?;
    ensure!(
        ssrc == reporter,
        "the SDES chunk should describe the reporter's SSRC: {}",
        describe(data)
    );
    let cname = match items {
        [SDES_CNAME, len, rest @ ..] => rest.get(..usize::from(*len)),
        _ => None,
    };
    match cname {
        Some(cname) if !cname.is_empty() => Ok(()),
        _ => bail!(
            "the SDES chunk should start with a non-empty CNAME: {}",
            describe(data)
        ),
    }
}

/// "SR(1 blocks) + SDES(cname \"...\")"-style summary of a compound, for messages.
fn describe(data: &[u8]) -> String {
    let Ok(packets) = split_compound(data) else {
        return format!("malformed RTCP {data:02x?}");
    };
    let parts: Vec<String> = packets
        .iter()
        .map(|p| match p.pt {
            PT_SR => format!("SR({} blocks)", p.count),
            PT_RR => format!("RR({} blocks)", p.count),
            PT_SDES => {
                let cname = match p.body.get(4..) {
                    Some([SDES_CNAME, len, rest @ ..]) => rest
                        .get(..usize::from(*len))
                        .map(|c| String::from_utf8_lossy(c).into_owned()),
                    _ => None,
                };
                format!("SDES(cname {cname:?})")
            }
            other => format!("PT {other}"),
        })
        .collect();
    parts.join(" + ")
}
