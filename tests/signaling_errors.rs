//! Signaling API v1 refusals, over a raw WebSocket (no browser): bad tokens, malformed
//! messages, offers the gateway cannot serve, and an Asterisk that does not answer. The fake
//! Asterisk here is a bare UDP socket on 127.0.0.1 that records whether any SIP arrives.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use support::gateway::{ALICE_TOKEN, Gateway};
use support::ports::{free_udp_port, loopback};
use support::ws::{WsClient, WsEvent};
use tokio::net::UdpSocket;

/// How long "no SIP was sent" is watched for after the gateway refused an offer. The refusal
/// comes after the decision not to call, so anything sent would already be on its way.
const NO_SIP_WINDOW: Duration = Duration::from_secs(1);

/// A real Chromium 156 audio offer (tests/data/sdp, from shared fixtures).
fn chromium_audio_offer() -> Result<String> {
    support::data_file("sdp/chromium156-audio.sdp")
}

/// The Chromium offer without Opus (and RED over it), PCMU or PCMA: G722, CN and
/// telephone-event remain, none of which the gateway's sip_codecs accept.
fn offer_without_common_codec() -> Result<String> {
    let offer = chromium_audio_offer()?;
    let removed: Vec<String> = offer
        .split("\r\n")
        .filter_map(|line| line.strip_prefix("a=rtpmap:"))
        .filter_map(|rest| rest.split_once(' '))
        .filter(|(_, codec)| {
            let name = codec.split('/').next().unwrap_or("").to_ascii_lowercase();
            matches!(name.as_str(), "opus" | "red" | "pcmu" | "pcma")
        })
        .map(|(pt, _)| pt.to_owned())
        .collect();
    ensure!(
        removed.len() == 4,
        "expected opus, red, PCMU, PCMA in the fixture: {removed:?}"
    );
    let is_removed_attr = |line: &str| {
        ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"].iter().any(|prefix| {
            line.strip_prefix(prefix)
                .and_then(|rest| rest.split([' ', ':']).next())
                .is_some_and(|pt| removed.iter().any(|r| r == pt))
        })
    };
    let lines: Vec<String> = offer
        .split("\r\n")
        .filter(|line| !is_removed_attr(line))
        .map(|line| match line.strip_prefix("m=audio ") {
            Some(rest) => {
                let fields: Vec<&str> = rest.split(' ').collect();
                let kept: Vec<&str> = fields
                    .iter()
                    .skip(2)
                    .copied()
                    .filter(|pt| !removed.iter().any(|r| r == pt))
                    .collect();
                format!("m=audio {} {} {}", fields[0], fields[1], kept.join(" "))
            }
            None => line.to_owned(),
        })
        .collect();
    let sdp = lines.join("\r\n");
    ensure!(
        sdp.contains("m=audio 9 UDP/TLS/RTP/SAVPF 9 13 110 126\r\n"),
        "unexpected stripped offer:\n{sdp}"
    );
    Ok(sdp)
}

/// The Chromium audio+video offer with its audio section removed (video only), candidates
/// dropped so nothing points off loopback.
fn offer_without_audio() -> Result<String> {
    let offer = support::data_file("sdp/chromium156-audio-video.sdp")?;
    let mut lines = Vec::new();
    let mut in_audio = false;
    for line in offer.split("\r\n") {
        if line.starts_with("m=") {
            in_audio = line.starts_with("m=audio");
        }
        if in_audio || line.starts_with("a=candidate:") {
            continue;
        }
        let line = match line {
            "a=group:BUNDLE 0 1" => "a=group:BUNDLE 1".to_owned(),
            _ if line.starts_with("c=IN IP4 ") => "c=IN IP4 0.0.0.0".to_owned(),
            _ => match line.strip_prefix("m=video ") {
                Some(rest) => format!("m=video 9 {}", rest.split_once(' ').map_or("", |(_, r)| r)),
                None => line.to_owned(),
            },
        };
        lines.push(line);
    }
    let sdp = lines.join("\r\n");
    ensure!(
        !sdp.contains("m=audio") && sdp.contains("m=video 9 UDP/TLS/RTP/SAVPF"),
        "unexpected video-only offer:\n{sdp}"
    );
    Ok(sdp)
}

/// A UDP socket playing an Asterisk that never answers, recording what arrives.
async fn sip_observer() -> Result<UdpSocket> {
    Ok(UdpSocket::bind(loopback(0)).await?)
}

/// The first datagram to arrive within `window`, as text, or None.
async fn first_datagram(socket: &UdpSocket, window: Duration) -> Result<Option<String>> {
    let mut buf = vec![0u8; 65_536];
    match tokio::time::timeout(window, socket.recv_from(&mut buf)).await {
        Err(_) => Ok(None),
        Ok(received) => {
            let (len, _) = received?;
            Ok(Some(String::from_utf8_lossy(&buf[..len]).into_owned()))
        }
    }
}

/// Connects as alice and takes the hello.
async fn connect_alice(gateway: &Gateway) -> Result<WsClient> {
    let mut ws = WsClient::connect(&gateway.ws_url(Some(ALICE_TOKEN))).await?;
    let hello = ws.expect_hello().await?;
    ensure!(hello["user"] == "alice", "hello should name alice: {hello}");
    ensure!(
        hello["session_id"].is_string(),
        "hello without session_id: {hello}"
    );
    ensure!(
        hello["ice_servers"].is_array(),
        "hello without ice_servers: {hello}"
    );
    Ok(ws)
}

fn call(sdp: &str) -> Value {
    json!({"type": "call", "ref": "c1", "to": "600", "sdp": sdp, "call_type": "audio"})
}

/// The next message must be an `error`; returns it.
async fn expect_error(ws: &mut WsClient) -> Result<Value> {
    let (error, before) = ws
        .wait_for("an error", Duration::from_secs(10), |m| {
            m["type"] == "error"
        })
        .await?;
    ensure!(before.is_empty(), "messages before the error: {before:?}");
    ensure!(
        error["message"].is_string(),
        "an error carries a message: {error}"
    );
    Ok(error)
}

/// Expects the connection to be closed with `code` before any message.
async fn expect_close(url: &str, code: u16) -> Result<()> {
    let mut ws = WsClient::connect(url).await?;
    match ws.next_event(Duration::from_secs(10)).await? {
        WsEvent::Closed(Some(got), _) if got == code => Ok(()),
        other => bail!("expected close code {code} and nothing else, got {other:?}"),
    }
}

/// Starts a gateway whose SIP proxy is 127.0.0.1:`proxy_port`, or panics with why.
async fn start_gateway(proxy_port: u16) -> Gateway {
    Gateway::start(proxy_port)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Panics with the error; called while the gateway is alive, so its log gets printed.
fn check(outcome: Result<()>) {
    if let Err(e) = outcome {
        panic!("{e:#}");
    }
}

/// API v1: a missing or unknown token is refused with close code 4401 and nothing else.
#[tokio::test]
async fn missing_or_bad_token_is_closed_with_4401() {
    let observer = sip_observer().await.expect("UDP socket on 127.0.0.1");
    let gateway = start_gateway(observer.local_addr().expect("bound").port()).await;
    check(bad_tokens(&gateway).await);
}

async fn bad_tokens(gateway: &Gateway) -> Result<()> {
    expect_close(&gateway.ws_url(None), 4401)
        .await
        .context("no token")?;
    expect_close(&gateway.ws_url(Some("not-a-token")), 4401)
        .await
        .context("bad token")?;
    expect_close(&gateway.ws_url(Some("")), 4401)
        .await
        .context("empty token")
}

/// API v1: unparsable and unknown messages get `error` bad_request, and the session keeps
/// working: a following valid call reaches Asterisk as an INVITE (RFC 3261 section 13.2.1).
#[tokio::test]
async fn malformed_messages_get_bad_request_and_the_session_survives() {
    let observer = sip_observer().await.expect("UDP socket on 127.0.0.1");
    let gateway = start_gateway(observer.local_addr().expect("bound").port()).await;
    check(malformed_then_valid(&gateway, &observer).await);
}

async fn malformed_then_valid(gateway: &Gateway, observer: &UdpSocket) -> Result<()> {
    let mut ws = connect_alice(gateway).await?;
    for garbage in [
        "this is not json {",
        r#"{"type":"dance"}"#,
        r#"{"no_type":true}"#,
        r#"{"type":"call","ref":"c9"}"#,
        "[1,2,3]",
    ] {
        ws.send_text(garbage).await?;
        let error = expect_error(&mut ws)
            .await
            .with_context(|| format!("after {garbage:?}"))?;
        ensure!(error["code"] == "bad_request", "{garbage:?} -> {error}");
    }
    ws.send_json(&call(&chromium_audio_offer()?)).await?;
    let invite = first_datagram(observer, Duration::from_secs(10))
        .await?
        .context("no SIP request reached Asterisk after the valid call")?;
    ensure!(
        invite.starts_with("INVITE sip:600@"),
        "expected an INVITE to 600:\n{invite}"
    );
    Ok(())
}

/// An offer without an audio m-line is refused with `error` and causes no SIP traffic.
#[tokio::test]
async fn offer_without_audio_is_refused_without_sip() {
    let observer = sip_observer().await.expect("UDP socket on 127.0.0.1");
    let gateway = start_gateway(observer.local_addr().expect("bound").port()).await;
    check(
        refused_offer(
            &gateway,
            &observer,
            &offer_without_audio().expect("fixture"),
            &["bad_sdp", "no_common_codec"],
        )
        .await,
    );
}

/// An audio offer with no codec in common with sip_codecs (opus, pcmu, pcma) is refused with
/// `no_common_codec` and causes no SIP traffic (RFC 3264 section 6: nothing to answer with).
#[tokio::test]
async fn offer_without_common_codec_is_refused_without_sip() {
    let observer = sip_observer().await.expect("UDP socket on 127.0.0.1");
    let gateway = start_gateway(observer.local_addr().expect("bound").port()).await;
    let offer = offer_without_common_codec().expect("fixture");
    check(refused_offer(&gateway, &observer, &offer, &["no_common_codec"]).await);
}

/// Sends `offer`, expects `error` with ref c1 and one of `codes`, and no SIP within the window.
async fn refused_offer(
    gateway: &Gateway,
    observer: &UdpSocket,
    offer: &str,
    codes: &[&str],
) -> Result<()> {
    let mut ws = connect_alice(gateway).await?;
    ws.send_json(&call(offer)).await?;
    let error = expect_error(&mut ws).await?;
    eprintln!("[signaling_errors] refused offer -> {error}");
    ensure!(
        error["ref"] == "c1",
        "the error should name the call's ref: {error}"
    );
    ensure!(
        error["code"]
            .as_str()
            .is_some_and(|code| codes.contains(&code)),
        "code should be one of {codes:?}: {error}"
    );
    if let Some(sip) = first_datagram(observer, NO_SIP_WINDOW).await? {
        bail!("the gateway sent SIP for a refused offer:\n{sip}");
    }
    Ok(())
}

/// Nothing listens on the proxy port: the INVITE times out (timer B = 64*T1 = 32 s, RFC 3261
/// section 17.1.1.2) or fails at once on the ICMP error; either way the call ends with 408 or
/// 503 within 40 s and the signaling does not hang.
#[tokio::test]
async fn unreachable_asterisk_ends_the_call_with_408_or_503() {
    let nobody = free_udp_port().expect("a free UDP port on 127.0.0.1");
    let gateway = start_gateway(nobody).await;
    check(call_into_the_void(&gateway).await);
}

async fn call_into_the_void(gateway: &Gateway) -> Result<()> {
    let mut ws = connect_alice(gateway).await?;
    let sent = tokio::time::Instant::now();
    ws.send_json(&call(&chromium_audio_offer()?)).await?;
    let (ended, before) = ws
        .wait_for("state ended", Duration::from_secs(40), |m| {
            m["type"] == "state" && m["state"] == "ended"
        })
        .await?;
    eprintln!(
        "[signaling_errors] unreachable Asterisk: ended after {} ms: {ended} (before: {before:?})",
        sent.elapsed().as_millis()
    );
    ensure!(
        ended["sip_code"] == 408 || ended["sip_code"] == 503,
        "ended should carry sip_code 408 or 503: {ended}"
    );
    ensure!(
        !before
            .iter()
            .any(|m| m["type"] == "answer" || m["type"] == "error"),
        "no answer or error expected before ended: {before:?}"
    );
    Ok(())
}

/// The refused offers are the real Chromium offer minus exactly what each test removes.
#[test]
fn refused_offers_are_derived_from_the_chromium_fixture() {
    let original = chromium_audio_offer().expect("fixture");
    let no_codec = offer_without_common_codec().expect("derived");
    assert!(!no_codec.contains("opus") && !no_codec.contains("PCMU") && !no_codec.contains("PCMA"));
    assert!(no_codec.contains("a=rtpmap:9 G722/8000"));
    assert_eq!(
        original
            .lines()
            .filter(|l| l.starts_with("a=fingerprint:"))
            .count(),
        no_codec
            .lines()
            .filter(|l| l.starts_with("a=fingerprint:"))
            .count()
    );
    let no_audio = offer_without_audio().expect("derived");
    assert!(no_audio.contains("a=group:BUNDLE 1\r\n") && no_audio.contains("a=mid:1"));
    assert!(!no_audio.contains("a=candidate:") && !no_audio.contains("192.0.2.2"));
}
