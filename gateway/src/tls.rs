//! `https`/`wss` on the HTTP listener (`[http] tls_cert`, `tls_key`): the rustls server
//! configuration (ring provider, HTTP/1.1 only so WebSocket upgrades work), a listener that
//! completes TLS handshakes off the accept loop, and the certificate facts `doctor` reports.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gateway_config::TlsFiles;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the HTTP server to take them.
const ACCEPT_QUEUE: usize = 64;

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file cannot be read or holds no valid PEM.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The certificate file holds no `CERTIFICATE` block.
    #[error("{0}: no PEM CERTIFICATE block")]
    NoCertificate(PathBuf),
    /// rustls refused the pair (most often: the key is not the certificate's).
    #[error("certificate and key do not go together: {0}")]
    Mismatch(String),
    /// The leaf certificate is not valid X.509.
    #[error("{path}: not a valid X.509 certificate: {reason}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        reason: String,
    },
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// The certificate chain of `files.cert`, leaf first.
pub fn load_chain(files: &TlsFiles) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| file_error(&files.cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(&files.cert, e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(files.cert.clone()));
    }
    Ok(chain)
}

/// The rustls server configuration for `files`: the chain, its key (checked to match), ALPN
/// `http/1.1`.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = load_chain(files)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| file_error(&files.key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Mismatch(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What `doctor` says about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// The leaf's subject, e.g. `CN=gw.example.com`.
    pub subject: String,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
}

/// The subject and validity period of the leaf certificate of `files`.
pub fn certificate_facts(files: &TlsFiles) -> Result<CertificateFacts, TlsError> {
    let chain = load_chain(files)?;
    let invalid = |reason: String| TlsError::Certificate {
        path: files.cert.clone(),
        reason,
    };
    let (_, cert) =
        x509_parser::parse_x509_certificate(&chain[0]).map_err(|e| invalid(e.to_string()))?;
    let at = |t: x509_parser::time::ASN1Time| {
        let secs = t.timestamp();
        match u64::try_from(secs) {
            Ok(s) => SystemTime::UNIX_EPOCH + Duration::from_secs(s),
            Err(_) => SystemTime::UNIX_EPOCH,
        }
    };
    Ok(CertificateFacts {
        subject: cert.subject().to_string(),
        not_before: at(cert.validity().not_before),
        not_after: at(cert.validity().not_after),
    })
}

/// A TCP listener serving TLS: a task accepts connections (with `TCP_NODELAY`) and runs each
/// handshake in its own task, so a slow client never holds up the others.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `listener` with `config` (needs a Tokio runtime).
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(ACCEPT_QUEUE);
        let acceptor = tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), tx));
        Ok(Self {
            local,
            ready,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "accepting a TLS connection failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        // TCP_NODELAY on every WebSocket: Nagle's algorithm costs ~40 ms per call setup.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = ready.send((stream, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept task is gone only once the listener is dropped: nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A missing file, a file without PEM blocks and a key of another certificate are each
    /// named in the error.
    #[test]
    fn unusable_files_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let missing = TlsFiles {
            cert: dir.path().join("nope.pem"),
            key: dir.path().join("nope.key"),
        };
        let e = server_config(&missing).unwrap_err().to_string();
        assert!(e.contains("nope.pem"), "{e}");
        let empty = TlsFiles {
            cert: write(dir.path(), "empty.pem", "not pem\n"),
            key: write(dir.path(), "empty.key", "not pem\n"),
        };
        let e = server_config(&empty).unwrap_err();
        assert!(matches!(e, TlsError::NoCertificate(_)), "{e}");
        assert!(certificate_facts(&empty).is_err());
    }

    /// A matching pair loads, with the leaf's subject and validity; a key of another
    /// certificate is refused.
    #[test]
    fn matching_pair_loads_and_a_foreign_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let make = |name: &str| {
            let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            params.not_before = rcgen::date_time_ymd(2025, 1, 1);
            params.not_after = rcgen::date_time_ymd(2026, 1, 1);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            (
                write(dir.path(), &format!("{name}.pem"), &cert.pem()),
                write(dir.path(), &format!("{name}.key"), &key.serialize_pem()),
            )
        };
        let (cert_a, key_a) = make("a.example");
        let (_, key_b) = make("b.example");
        let good = TlsFiles {
            cert: cert_a.clone(),
            key: key_a,
        };
        assert!(server_config(&good).is_ok());
        let facts = certificate_facts(&good).unwrap();
        assert_eq!(facts.subject, "CN=a.example");
        assert_eq!(
            facts.not_after.duration_since(facts.not_before).unwrap(),
            Duration::from_secs(365 * 86_400)
        );
        let foreign = TlsFiles {
            cert: cert_a,
            key: key_b,
        };
        let e = server_config(&foreign).unwrap_err();
        assert!(matches!(e, TlsError::Mismatch(_)), "{e}");
    }
}
