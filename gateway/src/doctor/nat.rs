//! NAT traversal: each `stun:` server of `webrtc.ice_servers` answers a Binding request (RFC 8489
//! §6) with this host's public address, and each `turn:` URL of `[webrtc] turn` accepts an
//! Allocate (RFC 5766 §6) with the REST credentials the gateway hands to clients.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use gateway_config::Config;
use rand::RngCore;
use rtc::sansio::Protocol;
use rtc::shared::{TransportContext, TransportMessage, TransportProtocol};
use rtc::turn::client::{Client, ClientConfig, Event};
use tokio::net::UdpSocket;

use super::Check;
use crate::call::stun;

/// How long a STUN or TURN server has to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// The user name inside the doctor's TURN credentials (`<expiry>:doctor`).
const TURN_USER: &str = "doctor";

/// A `stun:`/`turn:` URL: scheme, host, port and `?transport=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IceUrl {
    scheme: String,
    host: String,
    port: u16,
    transport: Option<String>,
}

/// Parses `stun:host[:port]` and `turn:host[:port][?transport=udp|tcp]` (RFC 7064, RFC 7065).
pub(super) fn parse_ice_url(url: &str) -> Option<IceUrl> {
    let (scheme, rest) = url.split_once(':')?;
    let (hostport, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let default_port = if scheme.ends_with('s') { 5349 } else { 3478 };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        (host.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().ok()?),
            None => (hostport.to_owned(), default_port),
        }
    };
    if host.is_empty() {
        return None;
    }
    let transport = query.and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("transport="))
            .map(str::to_ascii_lowercase)
    });
    Some(IceUrl {
        scheme: scheme.to_ascii_lowercase(),
        host,
        port,
        transport,
    })
}

async fn resolve(url: &IceUrl) -> std::io::Result<SocketAddr> {
    tokio::net::lookup_host((url.host.as_str(), url.port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{} does not resolve", url.host)))
}

async fn ephemeral_socket(target: SocketAddr) -> std::io::Result<UdpSocket> {
    let any = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    UdpSocket::bind(any).await
}

/// One line per `stun:` URL of `webrtc.ice_servers`; a skip when there is none.
pub(super) async fn stun(config: &Config) -> Vec<Check> {
    let urls: Vec<&String> = config
        .webrtc
        .ice_servers
        .iter()
        .flat_map(|s| &s.urls)
        .filter(|u| u.to_ascii_lowercase().starts_with("stun:"))
        .collect();
    if urls.is_empty() {
        return vec![Check::skip("stun", "no stun: URL in webrtc.ice_servers")];
    }
    let mut checks = Vec::new();
    for url in urls {
        let name = format!("stun {url}");
        let fix = "check the URL, and that this host may send UDP to it (firewall, egress rules)";
        let outcome = async {
            let parsed =
                parse_ice_url(url).ok_or_else(|| std::io::Error::other("not a stun: URL"))?;
            let target = resolve(&parsed).await?;
            let socket = ephemeral_socket(target).await?;
            let mut tid = [0u8; 12];
            rand::thread_rng().fill_bytes(&mut tid);
            let request = stun::binding_request(tid);
            let mut buf = [0u8; 1500];
            // Three tries, 500 ms apart at first (RFC 8489 §6.2.1 retransmits from 500 ms).
            for wait in [500u64, 1000, 1500] {
                socket.send_to(&request, target).await?;
                let deadline = tokio::time::Instant::now() + Duration::from_millis(wait);
                while let Ok(received) =
                    tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await
                {
                    let (n, _) = received?;
                    if let Some(mapped) = stun::parse_binding_response(&buf[..n], &tid) {
                        return Ok((target, mapped));
                    }
                }
            }
            Err(std::io::Error::other("no Binding response in 3 s"))
        };
        checks.push(match outcome.await {
            Ok((target, mapped)) => {
                let mut detail = format!(
                    "{target} says this host's public address is {}",
                    mapped.ip()
                );
                if let Some(public) = config.webrtc.public_ip
                    && public != mapped.ip()
                {
                    detail.push_str(&format!(
                        " (webrtc.public_ip is {public}: behind another NAT, or set wrong)"
                    ));
                }
                Check::ok(name, detail)
            }
            Err(e) => Check::fail(name, e.to_string(), fix),
        });
    }
    checks
}

/// One line per `turn:` URL of `[webrtc] turn`; a skip when TURN is not configured.
pub(super) async fn turn(config: &Config, now: SystemTime) -> Vec<Check> {
    let Some(turn) = &config.webrtc.turn else {
        return vec![Check::skip("turn", "no [webrtc] turn")];
    };
    let now_unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let expiry = now_unix + turn.ttl.as_secs();
    let (username, password) =
        crate::turn::credentials(turn.secret.expose().as_bytes(), TURN_USER, expiry);
    let mut checks = Vec::new();
    for url in &turn.urls {
        let name = format!("turn {url}");
        let parsed = parse_ice_url(url);
        let Some(parsed) = parsed
            .filter(|u| u.scheme == "turn" && u.transport.as_deref().is_none_or(|t| t == "udp"))
        else {
            checks.push(Check::skip(name, "only turn: over UDP is checked"));
            continue;
        };
        let outcome = tokio::time::timeout(
            ANSWER_TIMEOUT,
            allocate(&parsed, username.clone(), password.clone()),
        )
        .await
        .unwrap_or_else(|_| Err(format!("no answer to Allocate in {ANSWER_TIMEOUT:?}")));
        checks.push(match outcome {
            Ok(relayed) => Check::ok(
                name,
                format!("Allocate with the REST credentials accepted: relay address {relayed}"),
            ),
            Err(e) if e.contains("401") || e.contains("Unauthorized") => Check::fail(
                name,
                format!("credentials refused: {e}"),
                "coturn needs `use-auth-secret` and `static-auth-secret` equal to webrtc.turn.secret, \
                 and a clock in sync with this host (NTP)",
            ),
            Err(e) => Check::fail(
                name,
                e,
                "start coturn, check the URL, and that UDP to its port (3478) passes the firewall",
            ),
        });
    }
    checks
}

/// One Allocate with long-term credentials (401 with realm and nonce first, RFC 5389 §10.2),
/// then a Refresh with lifetime 0 to release the relay: the relayed address, or why not.
async fn allocate(url: &IceUrl, username: String, password: String) -> Result<SocketAddr, String> {
    let target = resolve(url).await.map_err(|e| e.to_string())?;
    let socket = ephemeral_socket(target).await.map_err(|e| e.to_string())?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let provider = rtc::crypto::default_provider().map_err(|e| e.to_string())?;
    let mut client = Client::new(
        ClientConfig {
            turn_serv_addr: target.to_string(),
            local_addr: local,
            transport_protocol: TransportProtocol::UDP,
            username,
            password,
            software: "webrtc-gateway doctor".into(),
            ..ClientConfig::default()
        },
        provider,
    )
    .map_err(|e| e.to_string())?;
    client
        .allocate(tokio::time::Instant::now().into_std())
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 1500];
    loop {
        while let Some(out) = client.poll_write() {
            socket
                .send_to(&out.message, out.transport.peer_addr)
                .await
                .map_err(|e| e.to_string())?;
        }
        while let Some(event) = client.poll_event() {
            match event {
                Event::AllocateResponse(_, relayed) => {
                    release(&mut client, &socket, relayed).await;
                    return Ok(relayed);
                }
                Event::AllocateError(_, e) => return Err(e.to_string()),
                Event::TransactionTimeout(_) => return Err("Allocate timed out".into()),
                _ => {}
            }
        }
        let wake = client
            .poll_timeout()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(|| tokio::time::Instant::now() + ANSWER_TIMEOUT);
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                let (n, from) = received.map_err(|e| e.to_string())?;
                let message = TransportMessage {
                    now: tokio::time::Instant::now().into_std(),
                    transport: TransportContext {
                        local_addr: local,
                        peer_addr: from,
                        transport_protocol: TransportProtocol::UDP,
                        ecn: None,
                    },
                    message: BytesMut::from(&buf[..n]),
                };
                // A stray datagram is not the server's answer: ignore what the client refuses.
                let _ = client.handle_read(message);
            }
            _ = tokio::time::sleep_until(wake) => {
                let _ = client.handle_timeout(tokio::time::Instant::now().into_std());
            }
        }
    }
}

/// Best effort: a Refresh with lifetime 0, so the relay is not held for its full lifetime.
async fn release(client: &mut Client, socket: &UdpSocket, relayed: SocketAddr) {
    let now = tokio::time::Instant::now().into_std();
    if let Ok(mut relay) = client.relay(relayed)
        && relay.close(now).is_ok()
    {
        while let Some(out) = client.poll_write() {
            let _ = socket.send_to(&out.message, out.transport.peer_addr).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7064 §3.1 and RFC 7065 §3.1 URI forms, with the default ports.
    #[test]
    fn ice_urls() {
        let u = parse_ice_url("turn:127.0.0.1:3479?transport=udp").unwrap();
        assert_eq!(
            (u.scheme.as_str(), u.host.as_str(), u.port),
            ("turn", "127.0.0.1", 3479)
        );
        assert_eq!(u.transport.as_deref(), Some("udp"));
        let u = parse_ice_url("stun:stun.example.org").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.transport),
            ("stun.example.org", 3478, None)
        );
        let u = parse_ice_url("turns:[2001:db8::1]?transport=tcp").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("2001:db8::1", 5349));
        assert!(parse_ice_url("stun:").is_none());
        assert!(parse_ice_url("stun:host:port").is_none());
        assert!(parse_ice_url("nonsense").is_none());
    }
}
