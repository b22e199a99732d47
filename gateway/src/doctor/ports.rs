//! Ports: `http.listen` (TCP), `sip.listen` (UDP and TCP) and a sample of `media.rtp_ports` must
//! be free — unless this gateway is the one holding them, which `GET /healthz` tells.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use gateway_config::Config;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Check;

/// How long the `/healthz` probe of a running gateway may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `Some(description)` when a webrtc-gateway answers `GET /healthz` on `http.listen`.
pub(super) async fn running_gateway(config: &Config) -> Option<String> {
    let addr = reachable(config.http.listen);
    let probe = async {
        let tcp = TcpStream::connect(addr).await.ok()?;
        match &config.http.tls {
            None => healthz(tcp, addr).await,
            Some(files) => {
                let leaf = crate::tls::load_chain(files).ok()?.into_iter().next()?;
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let client = rustls::ClientConfig::builder_with_provider(provider.clone())
                    .with_safe_default_protocol_versions()
                    .ok()?
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(Pinned { leaf, provider }))
                    .with_no_client_auth();
                let name = ServerName::IpAddress(addr.ip().into());
                let tls = tokio_rustls::TlsConnector::from(Arc::new(client))
                    .connect(name, tcp)
                    .await
                    .ok()?;
                healthz(tls, addr).await
            }
        }
    };
    let status = tokio::time::timeout(PROBE_TIMEOUT, probe).await.ok()??;
    Some(format!(
        "a webrtc-gateway answers GET /healthz on {addr} ({status})"
    ))
}

/// `GET /healthz`: `Some` with the `sip.proxy` field when it says `"status":"ok"`.
async fn healthz<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    addr: SocketAddr,
) -> Option<String> {
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    // A closed TLS stream without close_notify is still a complete response here.
    let _ = (&mut stream)
        .take(64 * 1024)
        .read_to_end(&mut response)
        .await;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    let proxy = json["sip"]["proxy"].as_str().unwrap_or("unknown");
    (json["status"] == "ok").then(|| format!("sip.proxy {proxy}"))
}

/// The address to connect to for a listen address: the wildcard means this host.
fn reachable(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port())
        }
        _ => listen,
    }
}

/// Accepts exactly the configured leaf certificate: the probe talks to this gateway only.
#[derive(Debug)]
struct Pinned {
    leaf: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.leaf.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "not the configured certificate".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// One line per listener, and one for the RTP sample.
pub(super) fn check(config: &Config, running: Option<&str>) -> Vec<Check> {
    let http = config.http.listen;
    let sip = config.sip.listen;
    let mut checks = vec![
        listener(
            "http.listen",
            "tcp",
            http,
            running,
            TcpListener::bind(http).map(drop),
        ),
        listener(
            "sip.listen/udp",
            "udp",
            sip,
            running,
            UdpSocket::bind(sip).map(drop),
        ),
        listener(
            "sip.listen/tcp",
            "tcp",
            sip,
            running,
            TcpListener::bind(sip).map(drop),
        ),
    ];
    checks.push(rtp(config, running));
    checks
}

fn listener(
    name: &str,
    proto: &str,
    addr: SocketAddr,
    running: Option<&str>,
    bound: std::io::Result<()>,
) -> Check {
    let port = addr.port();
    match bound {
        Ok(()) => Check::ok(name, format!("{addr}/{proto} is free")),
        Err(e) if e.kind() == ErrorKind::AddrInUse => match running {
            Some(gateway) => Check::ok(name, format!("{addr}/{proto} in use: {gateway}")),
            None => Check::fail(
                name,
                format!("{addr}/{proto} is in use by another program"),
                format!(
                    "find it with `ss -lpn{} 'sport = :{port}'`, stop it or choose another port",
                    if proto == "udp" { "u" } else { "t" }
                ),
            ),
        },
        Err(e) => Check::fail(
            name,
            format!("cannot bind {addr}/{proto}: {e}"),
            "use an address of this host (`ip -br addr`) or 0.0.0.0; ports below 1024 need CAP_NET_BIND_SERVICE",
        ),
    }
}

/// The first, middle and last ports of `media.rtp_ports`, on `media.ip` and `webrtc.host_ip`.
fn rtp(config: &Config, running: Option<&str>) -> Check {
    const NAME: &str = "media.rtp_ports";
    let range = config.media.rtp_ports;
    let sample = [
        range.start,
        range.start + (range.end - range.start) / 2,
        range.end,
    ];
    let mut ips = vec![config.media.ip, config.webrtc.host_ip];
    ips.dedup();
    let mut busy = Vec::new();
    for ip in &ips {
        for port in sample {
            match UdpSocket::bind((*ip, port)) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::AddrInUse => busy.push(format!("{ip}:{port}")),
                Err(e) => {
                    return Check::fail(
                        NAME,
                        format!("cannot bind {ip}:{port}/udp: {e}"),
                        "media.ip and webrtc.host_ip must be addresses of this host (`ip -br addr`)",
                    );
                }
            }
        }
    }
    let span = format!("{}-{}", range.start, range.end);
    match (busy.is_empty(), running) {
        (true, _) => Check::ok(NAME, format!("{span}/udp: sampled ports are free")),
        (false, Some(_)) => Check::ok(
            NAME,
            format!(
                "{span}/udp: {} in use, by calls of the running gateway",
                busy.join(", ")
            ),
        ),
        (false, None) => Check::fail(
            NAME,
            format!("{span}/udp: {} in use by another program", busy.join(", ")),
            "give the gateway a range of its own, apart from Asterisk's rtp.conf and coturn's relay ports",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port held by another socket is a failure naming `ss`; free ports pass.
    #[test]
    fn busy_and_free_ports() {
        let held = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap();
        let c = listener(
            "sip.listen/udp",
            "udp",
            addr,
            None,
            UdpSocket::bind(addr).map(drop),
        );
        assert_eq!(c.status, super::super::Status::Fail, "{c}");
        assert!(c.fix.as_deref().unwrap().contains("ss -lpnu"), "{c}");
        let c = listener(
            "sip.listen/udp",
            "udp",
            addr,
            Some("gw"),
            UdpSocket::bind(addr).map(drop),
        );
        assert_eq!(c.status, super::super::Status::Ok, "{c}");
        drop(held);
        let c = listener(
            "sip.listen/udp",
            "udp",
            addr,
            None,
            UdpSocket::bind(addr).map(drop),
        );
        assert_eq!(c.status, super::super::Status::Ok, "{c}");
    }

    #[test]
    fn wildcard_listen_is_probed_on_loopback() {
        assert_eq!(
            reachable("0.0.0.0:8080".parse().unwrap()).to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            reachable("[::]:8080".parse().unwrap()).to_string(),
            "[::1]:8080"
        );
        assert_eq!(
            reachable("10.0.0.2:8080".parse().unwrap()).to_string(),
            "10.0.0.2:8080"
        );
    }
}
