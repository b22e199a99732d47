//! A server-reflexive candidate when `webrtc.ice_servers` names a STUN server. The test runs its
//! own STUN server on 127.0.0.1: it answers each Binding request (RFC 8489 section 6) with a
//! success response whose XOR-MAPPED-ADDRESS (section 14.2) is the request's source port on
//! 127.0.0.2, a "public" address that is visibly not the host's yet still on loopback. The
//! gateway asks it from the call's WebRTC socket, so the answer to the browser carries a host
//! candidate and a `typ srflx raddr ... rport ...` candidate on the same port (RFC 8445 section
//! 5.1.1.2, RFC 8839 section 5.1); and `hello.ice_servers` passes the server on to the browser.
//! When the server stays silent, the gateway answers with its host candidate alone, late by at
//! most its short STUN wait.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::json;
use support::gateway::GatewayOptions;
use support::ports::loopback;
use support::rig::{CallOptions, CallRig, RigOptions};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The address the STUN server reports as everyone's public IP.
const MAPPED_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// RFC 8489 section 5: the magic cookie of every STUN message.
const MAGIC_COOKIE: u32 = 0x2112_A442;
/// RFC 8489 section 18.2: Binding request and Binding success response.
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
/// RFC 8489 section 18.3: XOR-MAPPED-ADDRESS.
const XOR_MAPPED_ADDRESS: u16 = 0x0020;
/// The longest the SIP answer may wait for the browser's answer when STUN is silent.
const SILENT_STUN_BUDGET_MS: f64 = 1_000.0;

/// STUN answers -> the answer SDP has host and srflx (127.0.0.2) candidates; audio flows.
#[tokio::test]
async fn stun_reply_adds_a_server_reflexive_candidate() {
    let mut stun = StunServer::start(true)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let mut rig = start(&stun).await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = answering_scenario(&mut rig, &mut stun).await;
    rig.finish(outcome).await;
}

/// STUN never answers -> host candidates only, the answer within 1 s of the SIP answer.
#[tokio::test]
async fn silent_stun_server_delays_the_answer_by_at_most_a_second() {
    let mut stun = StunServer::start(false)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let mut rig = start(&stun).await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = silent_scenario(&mut rig, &mut stun).await;
    rig.finish(outcome).await;
}

async fn start(stun: &StunServer) -> Result<CallRig> {
    let options = RigOptions {
        gateway: GatewayOptions::default().stun_server(stun.addr),
        ..RigOptions::default()
    };
    CallRig::start_with("uas_echo_pcmu.xml", &options).await
}

async fn answering_scenario(rig: &mut CallRig, stun: &mut StunServer) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    check_hello(rig, stun).await?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let from = stun.gateway_request(rig).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    let srflx = candidates(sdp, "srflx");
    eprintln!(
        "[call_stun_srflx] the gateway asked from {from}; answer candidates:\n{}",
        sdp.lines()
            .filter(|l| l.starts_with("a=candidate:"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    ensure!(
        has_host_candidate(sdp, from),
        "the answer should hold a host candidate on {from} (the socket that asked STUN):\n{sdp}"
    );
    let wanted = (SocketAddr::from((MAPPED_IP, from.port())), Some(from));
    ensure!(
        srflx.iter().any(|c| (c.addr, c.related) == wanted),
        "the answer should hold `typ srflx` {} raddr {from}:\n{sdp}",
        wanted.0
    );

    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup("call_stun_srflx").await;
    let stats = rig
        .wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;
    eprintln!("[call_stun_srflx] inbound audio: {stats:?}");
    hang_up(rig).await
}

async fn silent_scenario(rig: &mut CallRig, stun: &mut StunServer) -> Result<()> {
    rig.place_call(&CallOptions::default()).await?;
    check_hello(rig, stun).await?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let from = stun.gateway_request(rig).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    ensure!(
        has_host_candidate(sdp, from),
        "the answer should hold a host candidate on {from}:\n{sdp}"
    );
    ensure!(
        candidates(sdp, "srflx").is_empty(),
        "no STUN reply, so no srflx candidate expected:\n{sdp}"
    );

    let log = rig.gateway.log();
    let sip_answer_ms = logged_ms(&log, "SIP answered", "sip_answer_ms=")
        .context("the gateway logged no `SIP answered ... sip_answer_ms=`")?;
    let answer_ms = logged_ms(&log, "answer sent to the browser", " answer_ms=")
        .context("the gateway logged no `answer sent to the browser ... answer_ms=`")?;
    eprintln!(
        "[call_stun_srflx] silent STUN: SIP answered at {sip_answer_ms:.0} ms, browser answer sent at {answer_ms:.0} ms (call start = 0)"
    );
    ensure!(
        answer_ms - sip_answer_ms <= SILENT_STUN_BUDGET_MS,
        "the answer went out {:.0} ms after the SIP answer, want at most {SILENT_STUN_BUDGET_MS} ms",
        answer_ms - sip_answer_ms
    );

    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup("call_stun_srflx silent").await;
    hang_up(rig).await
}

/// `hello.ice_servers` hands the configured STUN server to the browser.
async fn check_hello(rig: &CallRig, stun: &StunServer) -> Result<()> {
    let messages = rig.messages().await?;
    let hello = messages
        .iter()
        .find(|m| m["type"] == "hello")
        .context("no hello")?;
    let wanted = json!([{ "urls": [format!("stun:{}", stun.addr)] }]);
    ensure!(
        hello["ice_servers"] == wanted,
        "hello.ice_servers should be {wanted}, got {hello}"
    );
    Ok(())
}

async fn hang_up(rig: &mut CallRig) -> Result<()> {
    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await
}

/// One `a=candidate` line, as far as the test needs it.
#[derive(Debug)]
struct Candidate {
    addr: SocketAddr,
    related: Option<SocketAddr>,
}

/// The UDP candidates of `kind` (`host`, `srflx`) in `sdp` (RFC 8839 section 5.1 grammar:
/// foundation component transport priority address port "typ" type ["raddr" a "rport" p]).
fn candidates(sdp: &str, kind: &str) -> Vec<Candidate> {
    sdp.lines()
        .filter_map(|line| line.strip_prefix("a=candidate:"))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if !fields.get(2)?.eq_ignore_ascii_case("udp")
                || *fields.get(6)? != "typ"
                || *fields.get(7)? != kind
            {
                return None;
            }
            let addr = SocketAddr::new(fields.get(4)?.parse().ok()?, fields.get(5)?.parse().ok()?);
            let value = |name: &str| {
                let at = fields.iter().position(|f| *f == name)?;
                fields.get(at + 1).copied()
            };
            let related = value("raddr")
                .zip(value("rport"))
                .and_then(|(ip, port)| Some(SocketAddr::new(ip.parse().ok()?, port.parse().ok()?)));
            Some(Candidate { addr, related })
        })
        .collect()
}

fn has_host_candidate(sdp: &str, addr: SocketAddr) -> bool {
    candidates(sdp, "host").iter().any(|c| c.addr == addr)
}

/// The number after `key` on the first log line containing `message`.
fn logged_ms(log: &str, message: &str, key: &str) -> Option<f64> {
    let line = log.lines().find(|l| l.contains(message))?;
    let value = &line[line.find(key)? + key.len()..];
    value.split_whitespace().next()?.parse().ok()
}

/// A STUN server on 127.0.0.1 that reports every request's source port on [`MAPPED_IP`], or
/// stays silent; it passes the source of each Binding request to the test.
struct StunServer {
    addr: SocketAddr,
    requests: mpsc::UnboundedReceiver<SocketAddr>,
    seen: Vec<SocketAddr>,
    task: JoinHandle<()>,
}

impl StunServer {
    async fn start(answer: bool) -> Result<StunServer> {
        let socket = UdpSocket::bind(loopback(0))
            .await
            .context("binding the STUN server")?;
        let addr = socket.local_addr()?;
        let (tx, requests) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let Some(tid) = binding_request_tid(&buf[..n]) else {
                    continue;
                };
                let _ = tx.send(from);
                if answer {
                    let mapped = SocketAddr::from((MAPPED_IP, from.port()));
                    let _ = socket.send_to(&binding_success(tid, mapped), from).await;
                }
            }
        });
        Ok(StunServer {
            addr,
            requests,
            seen: Vec::new(),
            task,
        })
    }

    /// The source of the Binding request from the gateway's media ports (the browser, given
    /// the same server in `hello`, may ask too, from its own ports), within 5 s.
    async fn gateway_request(&mut self, rig: &CallRig) -> Result<SocketAddr> {
        let (low, high) = rig.gateway.rtp_ports();
        let from_gateway =
            |a: &SocketAddr| a.ip().is_loopback() && (low..=high).contains(&a.port());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(found) = self.seen.iter().find(|a| from_gateway(a)) {
                return Ok(*found);
            }
            match tokio::time::timeout_at(deadline, self.requests.recv()).await {
                Ok(Some(from)) => self.seen.push(from),
                _ => anyhow::bail!(
                    "the STUN server got no Binding request from the gateway's media ports {low}-{high}; requests came from {:?}",
                    self.seen
                ),
            }
        }
    }
}

impl Drop for StunServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The transaction id of a Binding request (RFC 8489 section 5: type, length, cookie, id).
fn binding_request_tid(data: &[u8]) -> Option<[u8; 12]> {
    let header = data.first_chunk::<20>()?;
    let is_request = u16::from_be_bytes([header[0], header[1]]) == BINDING_REQUEST
        && header[4..8] == MAGIC_COOKIE.to_be_bytes();
    is_request.then(|| {
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&header[8..20]);
        tid
    })
}

/// A Binding success response with one IPv4 XOR-MAPPED-ADDRESS (RFC 8489 section 14.2: port
/// XOR the cookie's top 16 bits, address XOR the cookie).
fn binding_success(tid: [u8; 12], mapped: SocketAddr) -> Vec<u8> {
    let SocketAddr::V4(mapped) = mapped else {
        return Vec::new();
    };
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let mut m = Vec::with_capacity(32);
    m.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
    m.extend_from_slice(&12u16.to_be_bytes());
    m.extend_from_slice(&cookie);
    m.extend_from_slice(&tid);
    m.extend_from_slice(&XOR_MAPPED_ADDRESS.to_be_bytes());
    m.extend_from_slice(&8u16.to_be_bytes());
    m.extend_from_slice(&[0, 0x01]);
    m.extend_from_slice(&(mapped.port() ^ (MAGIC_COOKIE >> 16) as u16).to_be_bytes());
    let ip = mapped.ip().octets();
    m.extend((0..4).map(|i| ip[i] ^ cookie[i]));
    m
}
