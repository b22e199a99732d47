//! A raw WebSocket client of the signaling API, for tests that need no browser.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A handshake request for `url` carrying `Origin: origin`.
fn origin_request(
    url: &str,
    origin: &str,
) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Origin", origin.parse().context("an Origin header value")?);
    Ok(request)
}

/// What the server did next.
#[derive(Debug)]
pub(crate) enum WsEvent {
    /// A JSON text frame.
    Json(Value),
    /// The connection closed: the close code, if a close frame carried one, and its reason.
    Closed(Option<u16>, String),
}

/// One signaling connection.
pub(crate) struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    /// Opens `url` (ws://127.0.0.1:...), within 10 s.
    pub(crate) async fn connect(url: &str) -> Result<WsClient> {
        let (stream, _response) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(url),
        )
        .await
        .map_err(|_| anyhow!("WebSocket {url}: no handshake within 10 s"))?
        .with_context(|| format!("WebSocket handshake with {url}"))?;
        Ok(WsClient { stream })
    }

    /// Opens `url` with an `Origin` header, within 10 s.
    pub(crate) async fn connect_from(url: &str, origin: &str) -> Result<WsClient> {
        let request = origin_request(url, origin)?;
        let (stream, _response) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(request),
        )
        .await
        .map_err(|_| anyhow!("WebSocket {url}: no handshake within 10 s"))?
        .with_context(|| format!("WebSocket handshake with {url}"))?;
        Ok(WsClient { stream })
    }

    /// The HTTP status a handshake with `url` ends in (101 when the WebSocket opens), sending
    /// `Origin: origin` when given; the connection is dropped either way.
    pub(crate) async fn handshake_status(url: &str, origin: Option<&str>) -> Result<u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let request = match origin {
            Some(origin) => origin_request(url, origin)?,
            None => url.into_client_request()?,
        };
        let outcome = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(request),
        )
        .await
        .map_err(|_| anyhow!("WebSocket {url}: no handshake within 10 s"))?;
        match outcome {
            Ok((_stream, response)) => Ok(response.status().as_u16()),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Ok(response.status().as_u16())
            }
            Err(e) => Err(e).with_context(|| format!("WebSocket handshake with {url}")),
        }
    }

    /// Sends `value` as a JSON text frame.
    pub(crate) async fn send_json(&mut self, value: &Value) -> Result<()> {
        self.send_text(&value.to_string()).await
    }

    /// Sends a text frame as is (also for malformed input).
    pub(crate) async fn send_text(&mut self, text: &str) -> Result<()> {
        self.stream
            .send(Message::text(text))
            .await
            .context("sending a WebSocket text frame")
    }

    /// The next JSON frame or the close, within `timeout` (pings and pongs are skipped).
    pub(crate) async fn next_event(&mut self, timeout: Duration) -> Result<WsEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .map_err(|_| anyhow!("no WebSocket frame from the gateway within {timeout:?}"))?;
            match frame {
                None => return Ok(WsEvent::Closed(None, String::new())),
                Some(Err(e)) => return Ok(WsEvent::Closed(None, format!("transport error: {e}"))),
                Some(Ok(Message::Text(text))) => {
                    let value = serde_json::from_str(text.as_str()).with_context(|| {
                        format!("the gateway sent a text frame that is not JSON: {text}")
                    })?;
                    return Ok(WsEvent::Json(value));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Ok(match frame {
                        Some(frame) => {
                            WsEvent::Closed(Some(frame.code.into()), frame.reason.to_string())
                        }
                        None => WsEvent::Closed(None, String::new()),
                    });
                }
                Some(Ok(Message::Binary(bytes))) => {
                    bail!(
                        "the gateway sent a binary frame of {} bytes; API v1 is JSON text",
                        bytes.len()
                    )
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            }
        }
    }

    /// The next JSON message within `timeout`; a close is an error.
    pub(crate) async fn next_json(&mut self, timeout: Duration) -> Result<Value> {
        match self.next_event(timeout).await? {
            WsEvent::Json(value) => Ok(value),
            WsEvent::Closed(code, reason) => {
                bail!("the gateway closed the WebSocket (code {code:?}, reason {reason:?})")
            }
        }
    }

    /// Reads messages until one satisfies `wanted`, within `timeout`; returns it and those before it.
    pub(crate) async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<(Value, Vec<Value>)> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = match self.next_json(left).await {
                Ok(message) => message,
                Err(e) => bail!("waiting for {what}: {e:#}; received before: {before:?}"),
            };
            if wanted(&message) {
                return Ok((message, before));
            }
            before.push(message);
        }
    }

    /// Receives `hello` first, as every connection must.
    pub(crate) async fn expect_hello(&mut self) -> Result<Value> {
        let hello = self.next_json(Duration::from_secs(10)).await?;
        if hello["type"] != "hello" {
            bail!("the first message is not hello: {hello}");
        }
        Ok(hello)
    }
}
