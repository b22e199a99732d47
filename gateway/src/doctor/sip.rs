//! Asterisk: one SIP OPTIONS (RFC 3261 §11) to `sip.proxy` from an ephemeral port, over the
//! configured transport; any final response within 2 s means Asterisk is there.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use gateway_config::{Config, SipTransport};
use gateway_sip::message;
use rand::RngCore;
use rand::SeedableRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::Check;

/// How long Asterisk has to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest response read.
const MAX_RESPONSE: usize = 64 * 1024;
const NAME: &str = "sip.proxy";

/// Sends the OPTIONS and explains the outcome.
pub(super) async fn check(config: &Config) -> Check {
    let proxy = &config.sip.proxy;
    let target = match crate::sip_driver::resolve_proxy(config).await {
        Ok(addr) => addr,
        Err(e) => {
            return Check::fail(
                NAME,
                format!("{}: {e}", proxy.uri),
                "sip.proxy must name Asterisk's host (DNS name or address) and port",
            );
        }
    };
    let transport = proxy.transport.unwrap_or(config.sip.transport);
    let mut rng = rand_chacha::ChaCha8Rng::from_entropy();
    let outcome = tokio::time::timeout(ANSWER_TIMEOUT, async {
        match transport {
            SipTransport::Udp => over_udp(config, target, &mut rng).await,
            SipTransport::Tcp => over_tcp(config, target, &mut rng).await,
        }
    })
    .await;
    let name = transport.name();
    let fix = format!(
        "start Asterisk, or correct sip.proxy; on Asterisk `pjsip show transports` must list {name} on port {}, \
         and firewalls must pass {}/{name} between the hosts",
        target.port(),
        target.port()
    );
    match outcome {
        Ok(Ok(answer)) => Check::ok(
            NAME,
            format!(
                "{} ({target}/{name}) answered OPTIONS: {} {}{}",
                proxy.uri,
                answer.code,
                answer.reason,
                answer.server.map(|s| format!(", {s}")).unwrap_or_default()
            ),
        ),
        Ok(Err(e)) => Check::fail(NAME, format!("{} ({target}/{name}): {e}", proxy.uri), fix),
        Err(_) => Check::fail(
            NAME,
            format!(
                "{} ({target}/{name}): no answer to OPTIONS within {ANSWER_TIMEOUT:?}",
                proxy.uri
            ),
            fix,
        ),
    }
}

async fn over_udp(
    config: &Config,
    target: SocketAddr,
    rng: &mut impl RngCore,
) -> std::io::Result<Answer> {
    let any: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .map_err(std::io::Error::other)?;
    let socket = UdpSocket::bind(any).await?;
    // Connected, so an ICMP port unreachable comes back as "connection refused".
    socket.connect(target).await?;
    let local = socket.local_addr()?;
    let (request, call_id) = options_request(config, local, "UDP", rng)?;
    socket.send(&request).await?;
    let mut buf = vec![0u8; MAX_RESPONSE];
    loop {
        let n = socket.recv(&mut buf).await.map_err(refused)?;
        if let Some(answer) = parse_answer(&buf[..n], &call_id) {
            return Ok(answer);
        }
    }
}

async fn over_tcp(
    config: &Config,
    target: SocketAddr,
    rng: &mut impl RngCore,
) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect(target).await.map_err(refused)?;
    stream.set_nodelay(true)?;
    let local = stream.local_addr()?;
    let (request, call_id) = options_request(config, local, "TCP", rng)?;
    stream.write_all(&request).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Ok(Some((skip, len))) = gateway_sip::framing::next_message(&buf, MAX_RESPONSE) {
            let answer = parse_answer(&buf[skip..skip + len], &call_id);
            buf.drain(..skip + len);
            if let Some(answer) = answer {
                return Ok(answer);
            }
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() > MAX_RESPONSE {
            return Err(std::io::Error::other(
                "the connection closed without an answer",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn refused(e: std::io::Error) -> std::io::Error {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        std::io::Error::other("connection refused: nothing listens there")
    } else {
        e
    }
}

/// An out-of-dialog OPTIONS from `local` like the keepalive's, and its Call-ID.
pub(super) fn options_request(
    config: &Config,
    local: SocketAddr,
    via: &str,
    rng: &mut impl RngCore,
) -> std::io::Result<(Bytes, String)> {
    let sip = &config.sip;
    let branch = message::new_branch(rng);
    let tag = message::new_tag(rng);
    let call_id = message::new_call_id(rng, &local.ip().to_string());
    let text = format!(
        "OPTIONS sip:{domain} SIP/2.0\r\n\
         Via: SIP/2.0/{via} {local};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@{domain}>;tag={tag}\r\n\
         To: <sip:{domain}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Contact: <sip:{user}@{local}>\r\n\
         Accept: application/sdp\r\n\
         User-Agent: {agent}\r\n\
         Content-Length: 0\r\n\r\n",
        domain = sip.domain,
        user = sip.username,
        agent = sip.user_agent,
    );
    // Parsed back, so a domain or user name that makes an invalid request fails here.
    let parsed = message::parse(text.as_bytes())
        .map_err(|e| std::io::Error::other(format!("cannot build OPTIONS: {e}")))?;
    Ok((message::to_bytes(&parsed), call_id))
}

/// A final response to our OPTIONS.
struct Answer {
    /// Status code.
    code: u16,
    /// Reason phrase.
    reason: String,
    /// `Server` or `User-Agent`, if given.
    server: Option<String>,
}

/// `Some` when `data` is a final response with our Call-ID.
fn parse_answer(data: &[u8], call_id: &str) -> Option<Answer> {
    let msg = message::parse(data).ok()?;
    let code = message::status_code(&msg)?;
    if code < 200 || message::call_id(&msg).ok()? != call_id {
        return None;
    }
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let reason = lines
        .next()?
        .splitn(3, ' ')
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    let server = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| {
            name.eq_ignore_ascii_case("server") || name.eq_ignore_ascii_case("user-agent")
        })
        .map(|(_, value)| value.trim().to_owned());
    Some(Answer {
        code,
        reason,
        server,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request is a valid OPTIONS (RFC 3261 §11.1) with the configured identity, and only a
    /// final response with its Call-ID counts as the answer.
    #[test]
    fn options_request_and_its_answer() {
        let config = Config::from_toml_str(
            "[sip]\nproxy = \"sip:127.0.0.1:5060\"\ndomain = \"pbx.example\"\nusername = \"gw\"\npassword = \"x\"",
            [],
        )
        .unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let local: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let (bytes, call_id) = options_request(&config, local, "UDP", &mut rng).unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(
            text.starts_with("OPTIONS sip:pbx.example SIP/2.0\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK"),
            "{text}"
        );
        assert!(text.contains("From: <sip:gw@pbx.example>;tag="), "{text}");
        let response = |code: &str, id: &str| {
            format!(
                "SIP/2.0 {code}\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bKx\r\n\
                 From: <sip:gw@pbx.example>;tag=a\r\nTo: <sip:pbx.example>;tag=b\r\n\
                 Call-ID: {id}\r\nCSeq: 1 OPTIONS\r\nServer: Asterisk PBX 22.5.2\r\nContent-Length: 0\r\n\r\n"
            )
        };
        let ok = parse_answer(response("200 OK", &call_id).as_bytes(), &call_id).unwrap();
        assert_eq!((ok.code, ok.reason.as_str()), (200, "OK"));
        assert_eq!(ok.server.as_deref(), Some("Asterisk PBX 22.5.2"));
        assert!(parse_answer(response("100 Trying", &call_id).as_bytes(), &call_id).is_none());
        assert!(parse_answer(response("200 OK", "other").as_bytes(), &call_id).is_none());
        assert!(parse_answer(b"garbage", &call_id).is_none());
    }
}
