//! `[http] tls_cert`/`tls_key` (issue 7, point 4): the gateway serves `https` and `wss` with the
//! configured certificate (RFC 8446 via rustls), so the page, `/healthz` and the signaling
//! WebSocket (RFC 6455 §3, `wss` URI) work for a client that trusts it.

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use futures_util::StreamExt;
use support::gateway::ALICE_TOKEN;
use support::tls::{SelfSigned, TlsGateway, client_builder, connect, https_get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// https `/healthz` and `/`, then `wss://.../ws?token=` receives `hello`.
#[tokio::test]
async fn https_and_wss_with_a_self_signed_certificate() {
    let gateway = TlsGateway::start()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = scenario(&gateway).await {
        panic!("{e:#}\n===== gateway log =====\n{}", gateway.log());
    }
}

async fn scenario(gateway: &TlsGateway) -> Result<()> {
    let trusted = gateway.cert.client_config()?;
    let port = gateway.port();

    let (status, body) = https_get(port, trusted.clone(), "/healthz").await?;
    ensure!(status == 200, "https /healthz answered {status}: {body}");
    let health: serde_json::Value = serde_json::from_str(&body)?;
    ensure!(health["status"] == "ok", "https /healthz: {health}");
    let (status, page) = https_get(port, trusted.clone(), "/").await?;
    ensure!(
        status == 200 && page.contains("id=\"dialpad\""),
        "https / answered {status} without the softphone page"
    );

    let url = format!("wss://127.0.0.1:{port}/ws?token={ALICE_TOKEN}");
    let tls = connect(port, trusted.clone()).await?;
    let (mut ws, response) = tokio_tungstenite::client_async(url.as_str(), tls)
        .await
        .with_context(|| format!("WebSocket handshake with {url}"))?;
    ensure!(response.status() == 101, "{url}: {}", response.status());
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .context("no message on wss within 10 s")?
        .context("the wss stream ended before hello")??;
    let hello: serde_json::Value = serde_json::from_str(first.to_text()?)?;
    ensure!(hello["type"] == "hello", "first wss message: {hello}");
    ensure!(hello["user"] == "alice", "hello names alice: {hello}");
    Ok(())
}

/// The listener speaks TLS only, with that certificate: a client trusting another certificate
/// fails the handshake, and plain HTTP gets no HTTP answer.
#[tokio::test]
async fn only_tls_with_the_configured_certificate() {
    let gateway = TlsGateway::start()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = refusals(&gateway).await {
        panic!("{e:#}\n===== gateway log =====\n{}", gateway.log());
    }
}

async fn refusals(gateway: &TlsGateway) -> Result<()> {
    let port = gateway.port();
    let other_dir = tempfile::tempdir()?;
    let other = SelfSigned::write(other_dir.path(), 365)?;
    match connect(port, other.client_config()?).await {
        Ok(_) => bail!("a client trusting another certificate completed the handshake"),
        Err(e) => ensure!(
            format!("{e:#}").contains("certificate"),
            "the handshake failed, but not on the certificate: {e:#}"
        ),
    }
    let untrusting = std::sync::Arc::new(
        client_builder()?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    );
    ensure!(connect(port, untrusting).await.is_err());

    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut answer)).await;
    ensure!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP got an HTTP answer on the TLS port: {}",
        String::from_utf8_lossy(&answer)
    );
    Ok(())
}
