//! The gateway's `/metrics` (Prometheus text), fetched over plain HTTP/1.0 on 127.0.0.1: the
//! gauges a soak watches (calls in progress, WebSocket sessions).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest wait for the whole response.
const FETCH_LIMIT: Duration = Duration::from_secs(2);

/// The gauges read from one `/metrics` response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gauges {
    /// `webrtc_gateway_calls_active`, summed over directions.
    pub calls_active: Option<i64>,
    /// `webrtc_gateway_ws_sessions`.
    pub ws_sessions: Option<i64>,
}

/// Fetches `http://<addr>/metrics`; `None` if the gateway does not answer in time.
pub async fn fetch(addr: SocketAddr) -> Option<Gauges> {
    let get = async {
        let mut s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        // HTTP/1.0: the server closes after the response, so reading to the end is the framing
        // (no chunked encoding), and its socket is closed once we see EOF.
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await?;
        let mut body = Vec::with_capacity(8192);
        s.read_to_end(&mut body).await?;
        Ok::<_, std::io::Error>(body)
    };
    let body = tokio::time::timeout(FETCH_LIMIT, get).await.ok()?.ok()?;
    let text = String::from_utf8_lossy(&body);
    if !text.starts_with("HTTP/1.") || !text.lines().next()?.contains(" 200") {
        return None;
    }
    Some(parse(&text))
}

/// Reads the gauges out of an exposition text (labelled series are summed).
pub fn parse(text: &str) -> Gauges {
    Gauges {
        calls_active: sum(text, "webrtc_gateway_calls_active"),
        ws_sessions: sum(text, "webrtc_gateway_ws_sessions"),
    }
}

/// Sum of every sample of `name` (`name 3` or `name{...} 3`); `None` if there is none.
fn sum(text: &str, name: &str) -> Option<i64> {
    let mut total = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        // `name_total ...` is another metric.
        let rest = match rest.as_bytes().first() {
            Some(b'{') => rest.split_once('}').map_or("", |(_, v)| v),
            Some(b' ') => rest,
            _ => continue,
        };
        if let Some(v) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            *total.get_or_insert(0) += v as i64;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_series_are_summed_and_prefixes_are_not_confused() {
        let text = "# HELP webrtc_gateway_calls_active Calls in progress.\n\
                    # TYPE webrtc_gateway_calls_active gauge\n\
                    webrtc_gateway_calls_active{direction=\"outbound\"} 298\n\
                    webrtc_gateway_calls_active{direction=\"inbound\"} 2\n\
                    webrtc_gateway_calls_active_total 99\n\
                    webrtc_gateway_ws_sessions 300\n";
        assert_eq!(
            parse(text),
            Gauges {
                calls_active: Some(300),
                ws_sessions: Some(300),
            }
        );
        assert_eq!(parse("up 1\n"), Gauges::default());
    }

    #[tokio::test]
    async fn a_response_is_fetched_and_parsed() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut req = [0u8; 512];
            let _ = s.read(&mut req).await.unwrap();
            s.write_all(
                b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\n\
                  webrtc_gateway_calls_active{direction=\"outbound\"} 3\n",
            )
            .await
            .unwrap();
        });
        let g = fetch(addr).await.unwrap();
        assert_eq!(g.calls_active, Some(3));
        assert_eq!(g.ws_sessions, None);
    }

    #[tokio::test]
    async fn a_silent_address_gives_none() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        assert_eq!(fetch(addr).await, None);
    }
}
