//! Harness self-test: every SIPp scenario that plays Asterisk (tests/data/sipp/uas_*.xml) runs
//! to completion against a SIPp UAC playing the gateway (tests/data/sipp/uac_*.xml), on
//! 127.0.0.1. The UAS scenarios model the Asterisk 22 ladders in tests/data/asterisk22/.

mod support;

use std::net::UdpSocket;
use std::time::Duration;

use anyhow::{Result, bail, ensure};
use support::ports::loopback;
use support::sipp::{Scenario, Sipp};

const DONE: Duration = Duration::from_secs(30);

/// Starts `uas`, runs `uac` (with `uac_args`) against it and waits for both to exit.
async fn run_pair(server: Sipp, uac: &str, uac_args: &[&str]) -> Result<(Sipp, Sipp)> {
    let mut server = server;
    let remote = format!("127.0.0.1:{}", server.port());
    let mut args = vec![remote.as_str(), "-s", "600"];
    args.extend_from_slice(uac_args);
    let mut client = Sipp::spawn(Scenario::File(uac), &args).await?;
    client.wait(DONE).await?;
    server.wait(DONE).await?;
    Ok((server, client))
}

/// Both SIPps exited 0.
fn ensure_success(server: &Sipp, client: &Sipp) -> Result<()> {
    for (role, sipp) in [("UAS", server), ("UAC", client)] {
        if !sipp.exit_status().is_some_and(|s| s.success()) {
            bail!(
                "the {role} failed ({:?}):\n{}",
                sipp.exit_status(),
                sipp.report()
            );
        }
    }
    Ok(())
}

/// The messages the UAS sent or received contain `needle`.
fn ensure_logged(server: &Sipp, needle: &str) -> Result<()> {
    ensure!(
        server.messages().contains(needle),
        "the UAS message log lacks {needle:?}:\n{}",
        server.report()
    );
    Ok(())
}

/// RFC 3261 section 13.3.1.4 / 15.1.2: PCMU-only 200 OK, ACK, caller's BYE gets 200; and the
/// RTP echo port sends datagrams back to their sender.
#[tokio::test]
async fn uas_echo_pcmu_answers_pcmu_echoes_rtp_and_takes_the_bye() -> Result<()> {
    let server = Sipp::uas(Scenario::File("uas_echo_pcmu.xml")).await?;
    let probe = UdpSocket::bind(loopback(0))?;
    probe.set_read_timeout(Some(Duration::from_secs(5)))?;
    let packet = [
        0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78, 0xff, 0xff,
    ];
    probe.send_to(&packet, loopback(server.media_port()))?;
    let mut echoed = [0u8; 64];
    let (len, from) = probe.recv_from(&mut echoed)?;
    ensure!(echoed[..len] == packet, "echo changed the datagram");
    ensure!(
        from == loopback(server.media_port()),
        "echo came from {from}"
    );

    let (server, client) = run_pair(server, "uac_call_bye.xml", &[]).await?;
    ensure_success(&server, &client)?;
    ensure_logged(&server, "m=audio")?;
    ensure_logged(&server, "RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")?;
    ensure_logged(&server, "CSeq: 2 BYE")
}

/// RFC 3261 section 15.1.2: the callee's BYE, sent to the caller's Contact after ~4 s.
#[tokio::test]
async fn uas_bye_after_hangs_up_towards_the_callers_contact() -> Result<()> {
    let server = Sipp::uas(Scenario::File("uas_bye_after.xml")).await?;
    let (server, client) = run_pair(server, "uac_call_wait_bye.xml", &[]).await?;
    ensure_success(&server, &client)?;
    ensure_logged(
        &server,
        &format!("BYE sip:gateway@127.0.0.1:{} SIP/2.0", client.port()),
    )
}

/// RFC 3261 section 17.1.1.3: 486 Busy Here, ACKed.
#[tokio::test]
async fn uas_busy_486_rejects_and_takes_the_ack() -> Result<()> {
    let server = Sipp::uas(Scenario::File("uas_busy_486.xml")).await?;
    let (server, client) = run_pair(server, "uac_busy.xml", &[]).await?;
    ensure_success(&server, &client)?;
    ensure_logged(&server, "SIP/2.0 486 Busy Here")
}

/// RFC 3261 section 9.2: CANCEL after 180 gets 200 (CANCEL) and 487 (INVITE), then the ACK.
#[tokio::test]
async fn uas_ring_no_answer_takes_the_cancel() -> Result<()> {
    let server = Sipp::uas(Scenario::File("uas_ring_no_answer.xml")).await?;
    let (server, client) = run_pair(server, "uac_cancel.xml", &[]).await?;
    ensure_success(&server, &client)?;
    ensure_logged(&server, "SIP/2.0 487 Request Terminated")?;
    ensure_logged(
        &server,
        "CSeq: 1 INVITE\r\nServer: Asterisk-TestPeer\r\nAllow:",
    )
}

/// RFC 3261 section 22.2: 401 challenge, then the INVITE with valid credentials gets 200.
#[tokio::test]
async fn uas_auth_401_accepts_valid_credentials() -> Result<()> {
    let server = Sipp::uas(Scenario::File("uas_auth_401.xml")).await?;
    let (server, client) =
        run_pair(server, "uac_auth.xml", &["-au", "gateway", "-ap", "secret"]).await?;
    ensure_success(&server, &client)?;
    ensure_logged(&server, "WWW-Authenticate: Digest realm=\"asterisk\"")?;
    ensure_logged(&server, "Authorization: Digest username=\"gateway\"")
}

/// RFC 3261 section 22.2: a wrong password gets 403, and the scenario (hence SIPp) fails, so a
/// passing e2e digest test really means the gateway's credentials were right.
#[tokio::test]
async fn uas_auth_401_rejects_a_wrong_password() -> Result<()> {
    let server = Sipp::uas(Scenario::File("uas_auth_401.xml")).await?;
    let (server, client) =
        run_pair(server, "uac_auth.xml", &["-au", "gateway", "-ap", "wrong"]).await?;
    ensure!(
        client.exit_status().is_some_and(|s| s.success()),
        "the UAC should take the 403:\n{}",
        client.report()
    );
    ensure!(
        server.exit_status().is_some_and(|s| !s.success()),
        "the UAS must fail on bad credentials:\n{}",
        server.report()
    );
    ensure_logged(&server, "SIP/2.0 403 Forbidden")
}
