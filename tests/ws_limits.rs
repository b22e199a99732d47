//! Issue 8, points 3, 4 and 6 at the signaling door, without a browser: the WebSocket `Origin`
//! check, the per-IP connection rate, the session ceiling, the per-user call limit, the dial plan
//! pattern with header injection attempts, and the frame and SDP line size limits. Each refusal is
//! a clear answer, and nothing refused reaches the SIP side (a UDP socket plays an Asterisk that
//! records what arrives and never answers).

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use support::gateway::{ALICE_TOKEN, Gateway, GatewayOptions};
use support::ws::WsClient;
use tokio::net::UdpSocket;

/// Starts a gateway in front of a silent Asterisk, with `options`.
async fn gateway_with(options: GatewayOptions) -> Result<(Gateway, UdpSocket)> {
    let asterisk = UdpSocket::bind("127.0.0.1:0").await?;
    let gateway = Gateway::start_with(asterisk.local_addr()?.port(), &options).await?;
    Ok((gateway, asterisk))
}

/// Every datagram that reaches the silent Asterisk within `window`, as text.
async fn datagrams(socket: &UdpSocket, window: Duration) -> Vec<String> {
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok(Ok((n, _))) = tokio::time::timeout(window, socket.recv_from(&mut buf)).await {
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    seen
}

async fn alice(gateway: &Gateway) -> Result<WsClient> {
    let mut ws = WsClient::connect(&gateway.ws_url(Some(ALICE_TOKEN))).await?;
    ws.expect_hello().await?;
    Ok(ws)
}

fn call(reference: &str, to: &str, sdp: &str) -> Value {
    json!({"type": "call", "ref": reference, "to": to, "sdp": sdp, "call_type": "audio"})
}

/// The next `error`, within 10 s (other messages before it are allowed and returned with it).
async fn next_error(ws: &mut WsClient) -> Result<Value> {
    let (error, _) = ws
        .wait_for("an error", Duration::from_secs(10), |m| {
            m["type"] == "error"
        })
        .await?;
    Ok(error)
}

fn check(outcome: Result<()>, gateway: &Gateway) {
    if let Err(e) = outcome {
        gateway.dump();
        panic!("{e:#}");
    }
}

/// `[http] allowed_origins`: a page from another site cannot open `/ws` with a visitor's token
/// (403 before the upgrade); the configured origin and clients that send no Origin can.
#[tokio::test]
async fn only_allowed_origins_open_the_websocket() {
    let options = GatewayOptions::default()
        .config_key("http.allowed_origins", r#"["https://phone.example.com"]"#);
    let (gateway, _asterisk) = gateway_with(options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    check(origins(&gateway).await, &gateway);
}

async fn origins(gateway: &Gateway) -> Result<()> {
    let url = gateway.ws_url(Some(ALICE_TOKEN));
    for origin in [
        "https://evil.example.net",
        "https://phone.example.com.evil.example.net",
        "http://phone.example.com",
        "null",
    ] {
        let status = WsClient::handshake_status(&url, Some(origin)).await?;
        ensure!(status == 403, "Origin {origin}: expected 403, got {status}");
    }
    let mut ws = WsClient::connect_from(&url, "https://phone.example.com").await?;
    ws.expect_hello().await.context("the allowed origin")?;
    let mut ws = WsClient::connect(&url).await?;
    ws.expect_hello()
        .await
        .context("no Origin (not a browser)")?;
    ensure!(
        gateway.log().contains("origin not in http.allowed_origins"),
        "the refusal should be logged"
    );
    Ok(())
}

/// `limits.ws_connections_per_ip_per_min` and `http.max_sessions`: a loop opening sockets is
/// refused with 429 (logged and counted), and sessions beyond the ceiling with 503, while the
/// sessions already open keep working.
#[tokio::test]
async fn connection_rate_and_session_ceiling() {
    let options = GatewayOptions::default()
        .config_key("limits.ws_connections_per_ip_per_min", "6")
        .config_key("http.max_sessions", "3");
    let (gateway, _asterisk) = gateway_with(options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    check(rate_and_ceiling(&gateway).await, &gateway);
}

async fn rate_and_ceiling(gateway: &Gateway) -> Result<()> {
    let url = gateway.ws_url(Some(ALICE_TOKEN));
    // Three sessions fill the ceiling: the fourth handshake gets 503.
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(alice(gateway).await?);
    }
    let status = WsClient::handshake_status(&url, None).await?;
    ensure!(status == 503, "a 4th session: expected 503, got {status}");
    // Two more attempts fill the rate (6 per minute); the 7th and later get 429, whatever the
    // token, before any session work.
    for attempt in 5..=6 {
        let status = WsClient::handshake_status(&url, None).await?;
        ensure!(
            status == 503,
            "attempt {attempt}: expected 503, got {status}"
        );
    }
    for attempt in 7..=10 {
        let status = WsClient::handshake_status(&gateway.ws_url(Some("junk")), None).await?;
        ensure!(
            status == 429,
            "attempt {attempt}: expected 429, got {status}"
        );
    }
    // The open sessions are unharmed.
    for ws in &mut open {
        ws.send_json(&json!({"type": "hangup", "call_id": "none"}))
            .await?;
        let error = next_error(ws).await?;
        ensure!(error["code"] == "unknown_call", "unexpected: {error}");
    }
    let (_, metrics) = gateway.get("/metrics").await?;
    ensure!(
        metrics.contains("webrtc_gateway_ws_rate_refused_total 4"),
        "the metric should count 4 refusals:\n{metrics}"
    );
    let log = gateway.log();
    ensure!(
        log.matches("over limits.ws_connections_per_ip_per_min")
            .count()
            == 4
            && log.contains("source=127.0.0.1"),
        "one log line per refusal, naming the source"
    );
    Ok(())
}

/// `sip.allowed_numbers` and header injection: a number with CR, LF or NUL, a SIP URI, or
/// anything outside the pattern is refused with `invalid_number`, and no INVITE leaves; then
/// `sip.max_calls_per_user`: a second call while the first rings is refused, the first goes on.
#[tokio::test]
async fn numbers_are_checked_and_calls_per_user_are_limited() {
    let options = GatewayOptions::default().config_key("sip.max_calls_per_user", "1");
    let (gateway, asterisk) = gateway_with(options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    check(numbers_and_calls(&gateway, &asterisk).await, &gateway);
}

async fn numbers_and_calls(gateway: &Gateway, asterisk: &UdpSocket) -> Result<()> {
    let sdp = support::data_file("sdp/chromium156-audio.sdp")?;
    let mut ws = alice(gateway).await?;
    let hostile = [
        "600\r\nX-Injected: 1",
        "600\nVia: SIP/2.0/UDP 10.0.0.1",
        "600\r",
        "600\u{0}",
        "sip:600@evil.example.net",
        "600@evil.example.net",
        "600;transport=tcp",
        "<sip:600@127.0.0.1>",
        "\"Boss\" 600",
        "",
        "123456789012345678901234567890123",
    ];
    for (i, to) in hostile.iter().enumerate() {
        let reference = format!("bad{i}");
        ws.send_json(&call(&reference, to, &sdp)).await?;
        let error = next_error(&mut ws).await?;
        ensure!(
            error["code"] == "invalid_number" && error["ref"] == reference.as_str(),
            "{to:?}: expected invalid_number, got {error}"
        );
    }
    let leaked = datagrams(asterisk, Duration::from_millis(300)).await;
    ensure!(leaked.is_empty(), "refused numbers reached SIP: {leaked:?}");

    // One call rings (the silent Asterisk never answers); a second one is over the limit.
    ws.send_json(&call("first", "600", &sdp)).await?;
    let invites = datagrams(asterisk, Duration::from_millis(500)).await;
    ensure!(
        invites.iter().any(|m| m.starts_with("INVITE sip:600@")),
        "the first call's INVITE should reach SIP: {invites:?}"
    );
    ws.send_json(&call("second", "601", &sdp)).await?;
    let error = next_error(&mut ws).await?;
    ensure!(
        error["ref"] == "second" && error["code"] == "unavailable",
        "the second call should be refused: {error}"
    );
    ensure!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("max_calls_per_user")),
        "the refusal names the limit: {error}"
    );
    let after = datagrams(asterisk, Duration::from_millis(300)).await;
    ensure!(
        !after.iter().any(|m| m.starts_with("INVITE sip:601@")),
        "the refused call reached SIP"
    );
    // A second device of the same user is bound by the same limit.
    let mut other = alice(gateway).await?;
    other.send_json(&call("third", "602", &sdp)).await?;
    let error = next_error(&mut other).await?;
    ensure!(
        error["ref"] == "third" && error["code"] == "unavailable",
        "the limit is per user, not per device: {error}"
    );
    Ok(())
}

/// `limits.max_json_frame` and `limits.max_sdp_line`: an oversized frame and an SDP with an
/// overlong line get an `error`, reach nothing, and the session keeps serving.
#[tokio::test]
async fn oversized_frames_and_sdp_lines_are_refused() {
    let options = GatewayOptions::default()
        .config_key("limits.max_json_frame", "16384")
        .config_key("limits.max_sdp_line", "512");
    let (gateway, asterisk) = gateway_with(options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    check(sizes(&gateway, &asterisk).await, &gateway);
}

async fn sizes(gateway: &Gateway, asterisk: &UdpSocket) -> Result<()> {
    let sdp = support::data_file("sdp/chromium156-audio.sdp")?;
    let mut ws = alice(gateway).await?;

    let padding = "x".repeat(20_000);
    let big = json!({"type": "call", "ref": "big", "to": "600", "sdp": sdp, "call_type": "audio", "pad": padding});
    ws.send_json(&big).await?;
    let error = next_error(&mut ws).await?;
    ensure!(
        error["code"] == "bad_request"
            && error["message"]
                .as_str()
                .is_some_and(|m| m.contains("too large")),
        "an oversized frame: {error}"
    );

    let long_line = format!("a=x-padding:{}", "y".repeat(600));
    let long_sdp = sdp.replacen(
        "a=msid-semantic",
        &format!("{long_line}\r\na=msid-semantic"),
        1,
    );
    ensure!(
        long_sdp != sdp,
        "the fixture has no msid-semantic line to pad before"
    );
    ws.send_json(&call("long", "600", &long_sdp)).await?;
    let error = next_error(&mut ws).await?;
    ensure!(
        error["code"] == "bad_sdp"
            && error["ref"] == "long"
            && error["message"]
                .as_str()
                .is_some_and(|m| m.contains("max_sdp_line")),
        "an overlong SDP line: {error}"
    );
    let leaked = datagrams(asterisk, Duration::from_millis(300)).await;
    ensure!(leaked.is_empty(), "refused calls reached SIP: {leaked:?}");

    // The same session still places a call.
    ws.send_json(&call("ok", "600", &sdp)).await?;
    let invites = datagrams(asterisk, Duration::from_millis(1000)).await;
    ensure!(
        invites.iter().any(|m| m.starts_with("INVITE sip:600@")),
        "the valid call should reach SIP: {invites:?}"
    );
    Ok(())
}
