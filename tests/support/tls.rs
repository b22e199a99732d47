//! TLS in the end-to-end tests: self-signed certificates made with rcgen, a rustls client that
//! trusts exactly one of them, and a gateway serving https/wss (the plain-HTTP readiness probe of
//! [`super::gateway::Gateway`] cannot reach it, so it is started here).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use rustls::pki_types::{CertificateDer, ServerName};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::gateway::ALICE_TOKEN;
use super::ports::{free_tcp_port, free_udp_port, loopback, rtp_block};
use super::tail;

/// A self-signed certificate for `localhost` and 127.0.0.1, as PEM files in `dir`.
pub(crate) struct SelfSigned {
    /// `cert.pem`.
    pub(crate) cert: PathBuf,
    /// `key.pem`.
    pub(crate) key: PathBuf,
    /// The certificate, for a client's root store.
    pub(crate) der: CertificateDer<'static>,
}

impl SelfSigned {
    /// Writes a certificate valid from a day ago for `valid_days` days into `dir`.
    pub(crate) fn write(dir: &Path, valid_days: u64) -> Result<SelfSigned> {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "webrtc-gateway test");
        // The test's one wall-clock read: a certificate's validity is wall-clock time.
        #[allow(clippy::disallowed_methods)]
        let now = SystemTime::now();
        const DAY: Duration = Duration::from_secs(86_400);
        params.not_before = (now - DAY).into();
        params.not_after = (now + DAY * u32::try_from(valid_days)?).into();
        let key = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem())?;
        std::fs::write(&key_path, key.serialize_pem())?;
        Ok(SelfSigned {
            cert: cert_path,
            key: key_path,
            der: cert.der().clone(),
        })
    }

    /// A rustls client configuration whose only trust anchor is this certificate.
    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone())?;
        Ok(Arc::new(
            client_builder()?
                .with_root_certificates(roots)
                .with_no_client_auth(),
        ))
    }
}

/// A rustls client builder on the ring provider.
pub(crate) fn client_builder()
-> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?)
}

/// A TLS connection to 127.0.0.1:`port`, verified against `config` for the name 127.0.0.1.
pub(crate) async fn connect(
    port: u16,
    config: Arc<rustls::ClientConfig>,
) -> Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(loopback(port)).await?;
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let stream = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .context("TLS handshake: no result within 5 s")??;
    Ok(stream)
}

/// `GET path` over https: (status, body).
pub(crate) async fn https_get(
    port: u16,
    config: Arc<rustls::ClientConfig>,
    path: &str,
) -> Result<(u16, String)> {
    let mut stream = connect(port, config).await?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // The server may close without close_notify once the body is sent; what came is the answer.
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no HTTP status in {head:?}"))?;
    Ok((status, body.to_owned()))
}

/// A gateway serving https/wss with a self-signed certificate; killed on drop.
pub(crate) struct TlsGateway {
    child: Child,
    dir: TempDir,
    port: u16,
    /// The certificate it serves.
    pub(crate) cert: SelfSigned,
}

impl TlsGateway {
    /// Starts the gateway with `[http] tls_cert`/`tls_key` set; ready once https `/healthz` says ok.
    pub(crate) async fn start() -> Result<TlsGateway> {
        let dir = tempfile::Builder::new().prefix("e2e-tls-").tempdir()?;
        let cert = SelfSigned::write(dir.path(), 365)?;
        let port = free_tcp_port()?;
        let (first, last) = rtp_block()?;
        let config = format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\ntls_cert = {cert:?}\ntls_key = {key:?}\n\n\
             [sip]\nlisten = \"127.0.0.1:{sip}\"\nproxy = \"sip:127.0.0.1:{proxy}\"\n\
             domain = \"127.0.0.1\"\nusername = \"gateway\"\npassword = \"secret\"\noptions_interval = \"0s\"\n\n\
             [media]\nrtp_ports = \"{first}-{last}\"\n\n\
             [auth]\ndev_tokens = {{ alice = \"{ALICE_TOKEN}\" }}\n",
            cert = cert.cert.display().to_string(),
            key = cert.key.display().to_string(),
            sip = free_udp_port()?,
            proxy = free_udp_port()?,
        );
        let config_path = dir.path().join("gateway.toml");
        std::fs::write(&config_path, config)?;
        let log = File::create(dir.path().join("gateway.log"))?;
        let child = Command::new(env!("CARGO_BIN_EXE_webrtc-gateway"))
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("spawning webrtc-gateway")?;
        let mut gateway = TlsGateway {
            child,
            dir,
            port,
            cert,
        };
        gateway.wait_ready().await?;
        Ok(gateway)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let config = self.cert.client_config()?;
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait()? {
                bail!("the gateway exited ({status}) at start:\n{}", self.log());
            }
            if let Ok((200, body)) = https_get(self.port, config.clone(), "/healthz").await
                && body.contains("\"status\":\"ok\"")
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "the gateway did not answer https GET /healthz within 20 s:\n{}",
            self.log()
        )
    }

    /// Its https/wss port on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Everything the gateway logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log"))
            .unwrap_or_else(|e| format!("<no log: {e}>"))
    }
}

impl Drop for TlsGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "===== gateway log =====\n{}\n===== end of gateway log =====",
                tail(&self.log(), 32 * 1024)
            );
        }
    }
}
