//! `[http]`: the listener for the signaling WebSocket, the page, the HTTP API and the health check,
//! and who may use them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use toml::Value;

use crate::Secret;
use crate::addr::socket_addr;
use crate::duration::{format_duration, parse_duration};
use crate::origin::Origin;
use crate::raw::{Ctx, Table, array, integer_in, parsed, secret};
use crate::storage::path;

/// Default `http.listen`.
pub const DEFAULT_HTTP_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// Default `http.resume_grace`.
pub const DEFAULT_RESUME_GRACE: Duration = Duration::from_secs(20);
/// Longest `http.resume_grace`: calls stay up that long with nobody listening.
pub const MAX_RESUME_GRACE: Duration = Duration::from_secs(600);
/// Shortest `http.api_keys` entry, in characters.
pub const MIN_API_KEY_LEN: usize = 16;
/// Default `http.max_sessions`.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;

/// `[http]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Address serving `GET /ws` (signaling), `GET /` (page), `/api/v1/...` and `/healthz`.
    pub listen: SocketAddr,
    /// How long a dropped WebSocket session may be resumed (its calls stay up); `None` disables resuming.
    pub resume_grace: Option<Duration>,
    /// Origins allowed to open `/ws`; empty allows any origin.
    pub allowed_origins: Vec<Origin>,
    /// Bearer keys for the HTTP API (`/api/v1/...`); distinct, at least 16 characters each.
    /// Empty means the API refuses every request.
    pub api_keys: Vec<Secret>,
    /// Certificate and key for `https`/`wss`; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Most signaling sessions open at once.
    pub max_sessions: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_HTTP_LISTEN,
            resume_grace: Some(DEFAULT_RESUME_GRACE),
            allowed_origins: Vec::new(),
            api_keys: Vec::new(),
            tls: None,
            max_sessions: DEFAULT_MAX_SESSIONS,
        }
    }
}

/// PEM files for TLS (`http.tls_cert`, `http.tls_key`); read when the server starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key of the leaf certificate.
    pub key: PathBuf,
}

impl HttpConfig {
    /// Whether a WebSocket handshake with this `Origin` header value may proceed: any origin when
    /// `allowed_origins` is empty, else one equal to an entry once both are normalized.
    pub fn is_origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.is_empty()
            || origin
                .parse::<Origin>()
                .is_ok_and(|o| self.allowed_origins.contains(&o))
    }

    /// Whether `candidate` is one of `api_keys`. Every key is compared in constant time, with no
    /// early exit.
    pub fn is_api_key(&self, candidate: &str) -> bool {
        let mut found = false;
        for key in &self.api_keys {
            found |= key.constant_time_eq(candidate);
        }
        found && !candidate.is_empty()
    }
}

pub(crate) fn build(mut t: Table, ctx: &mut Ctx) -> HttpConfig {
    let d = HttpConfig::default();
    let listen = t.get(ctx, "listen", d.listen, socket_addr);
    let resume_grace = t.get(ctx, "resume_grace", d.resume_grace, resume_grace);
    let allowed_origins = t.get(ctx, "allowed_origins", d.allowed_origins, origins);
    let api_keys = t.get(ctx, "api_keys", d.api_keys, api_keys);
    let cert_key = t.path_of("tls_cert");
    let key_key = t.path_of("tls_key");
    let cert = t.get(ctx, "tls_cert", None, |ctx, key, value| {
        path(ctx, key, value).map(Some)
    });
    let key = t.get(ctx, "tls_key", None, |ctx, key, value| {
        path(ctx, key, value).map(Some)
    });
    let tls = match (cert.flatten(), key.flatten()) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        (Some(_), None) if !ctx.has_error(&key_key) => {
            ctx.error(
                &key_key,
                "missing: http.tls_cert is set, so the key file is needed too",
            );
            None
        }
        (None, Some(_)) if !ctx.has_error(&cert_key) => {
            ctx.error(
                &cert_key,
                "missing: http.tls_key is set, so the certificate file is needed too",
            );
            None
        }
        _ => None,
    };
    let max_sessions = t.get(ctx, "max_sessions", d.max_sessions, |ctx, key, value| {
        integer_in(ctx, key, value, 1..=1_000_000)
    });
    t.finish(ctx);
    HttpConfig {
        listen,
        resume_grace,
        allowed_origins,
        api_keys,
        tls,
        max_sessions,
    }
}

/// `http.resume_grace`: `"0s"` disables resuming; otherwise at most 10 minutes.
fn resume_grace(ctx: &mut Ctx, key: &str, value: Value) -> Option<Option<Duration>> {
    parsed(ctx, key, value, |text| {
        let grace = parse_duration(text).map_err(|e| e.to_string())?;
        if grace > MAX_RESUME_GRACE {
            Err(format!(
                "must be at most {} (\"0s\" disables resuming), got {text:?}",
                format_duration(MAX_RESUME_GRACE)
            ))
        } else {
            Ok(Some(grace).filter(|g| !g.is_zero()))
        }
    })
}

/// `http.allowed_origins`: origins, no duplicates once normalized.
fn origins(ctx: &mut Ctx, key: &str, value: Value) -> Option<Vec<Origin>> {
    let items = array(ctx, key, value)?;
    let mut origins: Vec<(Origin, String)> = Vec::new();
    let mut valid = true;
    for (item_key, item) in items {
        let Some(origin) = parsed(ctx, &item_key, item, Origin::from_str) else {
            valid = false;
            continue;
        };
        if let Some((_, first)) = origins.iter().find(|(o, _)| *o == origin) {
            ctx.error(&item_key, format!("duplicate of {first} (\"{origin}\")"));
            valid = false;
            continue;
        }
        origins.push((origin, item_key));
    }
    valid.then(|| origins.into_iter().map(|(o, _)| o).collect())
}

/// `http.api_keys`: secrets of at least 16 characters, distinct, printable.
fn api_keys(ctx: &mut Ctx, key: &str, value: Value) -> Option<Vec<Secret>> {
    let items = match value {
        Value::Array(_) => array(ctx, key, value)?,
        other => {
            // The kind only: a mistaken `api_keys = "key"` must not be printed.
            ctx.error(
                key,
                format!(
                    "expected an array of strings, got {}",
                    crate::raw::kind(&other)
                ),
            );
            return None;
        }
    };
    let mut keys: Vec<(Secret, String)> = Vec::new();
    let mut valid = true;
    for (item_key, item) in items {
        let Some(api_key) = secret(ctx, &item_key, item) else {
            valid = false;
            continue;
        };
        let problem = if api_key.expose().chars().count() < MIN_API_KEY_LEN {
            Some(format!(
                "must be at least {MIN_API_KEY_LEN} characters long"
            ))
        } else if api_key
            .expose()
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            Some(
                "must not contain spaces or control characters (it is sent in a header)".to_owned(),
            )
        } else {
            keys.iter()
                .find(|(k, _)| *k == api_key)
                .map(|(_, first)| format!("same key as {first}"))
        };
        match problem {
            Some(problem) => {
                ctx.error(&item_key, problem);
                valid = false;
            }
            None => keys.push((api_key, item_key)),
        }
    }
    valid.then(|| keys.into_iter().map(|(k, _)| k).collect())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::{MAX_RESUME_GRACE, Origin, TlsFiles};
    use crate::Config;

    #[test]
    fn listen_accepts_ipv4_and_ipv6() {
        let c = Config::from_toml_str("[http]\nlisten = \"[::1]:9000\"", []).expect("valid");
        assert_eq!(c.http.listen.to_string(), "[::1]:9000");
        let c = Config::from_toml_str(
            "[http]\nlisten = \"0.0.0.0:0\"\n[webrtc]\nhost_ip = \"10.0.0.2\"",
            [],
        )
        .expect("valid");
        assert_eq!(c.http.listen.port(), 0);
    }

    #[test]
    fn listen_rejects_a_host_name_or_missing_port() {
        for bad in ["localhost:8080", "127.0.0.1", ":8080", "127.0.0.1:70000"] {
            let errors =
                Config::from_toml_str(&format!("[http]\nlisten = {bad:?}"), []).expect_err(bad);
            assert_eq!(
                errors.to_string(),
                format!(
                    "http.listen: expected an address like \"127.0.0.1:8080\" or \"[::1]:8080\", got {bad:?}"
                )
            );
        }
    }

    fn http(toml: &str) -> super::HttpConfig {
        Config::from_toml_str(&format!("[http]\n{toml}"), [])
            .expect("valid")
            .http
    }

    fn http_errors(toml: &str) -> String {
        Config::from_toml_str(&format!("[http]\n{toml}"), [])
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn defaults_of_the_new_keys() {
        let h = super::HttpConfig::default();
        assert_eq!(h.resume_grace, Some(Duration::from_secs(20)));
        assert!(h.allowed_origins.is_empty());
        assert!(h.api_keys.is_empty());
        assert_eq!(h.tls, None);
        assert_eq!(h.max_sessions, 10_000);
        assert!(h.is_origin_allowed("https://anything.example"));
        assert!(h.is_origin_allowed("null"));
        assert!(!h.is_api_key(""));
        assert!(!h.is_api_key("0123456789abcdef"));
    }

    #[test]
    fn every_new_key_is_read() {
        let h = http(
            r#"
            resume_grace = "0s"
            allowed_origins = ["https://App.Example.com:443", "http://127.0.0.1:8080", "capacitor://localhost"]
            api_keys = ["0123456789abcdef", "fedcba9876543210-second"]
            tls_cert = "/etc/gw/cert.pem"
            tls_key = "/etc/gw/key.pem"
            max_sessions = 1
            "#,
        );
        assert_eq!(h.resume_grace, None);
        let origins: Vec<&str> = h.allowed_origins.iter().map(Origin::as_str).collect();
        assert_eq!(
            origins,
            [
                "https://app.example.com",
                "http://127.0.0.1:8080",
                "capacitor://localhost"
            ]
        );
        assert!(h.is_origin_allowed("https://app.example.com"));
        assert!(h.is_origin_allowed("HTTPS://APP.EXAMPLE.COM"));
        assert!(h.is_origin_allowed("http://127.0.0.1:8080"));
        assert!(!h.is_origin_allowed("http://127.0.0.1:8081"));
        assert!(!h.is_origin_allowed("https://evil.example.com"));
        assert!(!h.is_origin_allowed("null"));
        assert!(!h.is_origin_allowed(""));
        assert!(h.is_api_key("0123456789abcdef"));
        assert!(h.is_api_key("fedcba9876543210-second"));
        assert!(!h.is_api_key("0123456789abcdeF"));
        assert!(!h.is_api_key("0123456789abcde"));
        assert_eq!(
            h.tls,
            Some(TlsFiles {
                cert: PathBuf::from("/etc/gw/cert.pem"),
                key: PathBuf::from("/etc/gw/key.pem"),
            })
        );
        assert_eq!(h.max_sessions, 1);
        assert_eq!(
            http("resume_grace = \"10m\"").resume_grace,
            Some(MAX_RESUME_GRACE)
        );
        assert_eq!(http("tls_cert = \"\"\ntls_key = \"\"").tls, None);
    }

    #[test]
    fn each_new_key_is_validated() {
        let cases = [
            (
                "resume_grace = \"601s\"",
                "http.resume_grace: must be at most 10m (\"0s\" disables resuming), got \"601s\"",
            ),
            (
                "resume_grace = 20",
                "http.resume_grace: expected a string, got integer 20",
            ),
            (
                "allowed_origins = [\"https://a.example\", \"https://A.example:443\", \"*\"]",
                "http.allowed_origins[1]: duplicate of http.allowed_origins[0] (\"https://a.example\")\n\
                 http.allowed_origins[2]: expected an origin like \"https://app.example.com\", got \"*\"",
            ),
            (
                "allowed_origins = \"https://a.example\"",
                "http.allowed_origins: expected an array, got string \"https://a.example\"",
            ),
            (
                "tls_cert = \"/etc/gw/cert.pem\"",
                "http.tls_key: missing: http.tls_cert is set, so the key file is needed too",
            ),
            (
                "tls_key = \"/etc/gw/key.pem\"",
                "http.tls_cert: missing: http.tls_key is set, so the certificate file is needed too",
            ),
            (
                "tls_cert = \"a\\nb\"\ntls_key = \"k\"",
                "http.tls_cert: expected a file system path without control characters, got \"a\\nb\"",
            ),
            (
                "max_sessions = 0",
                "http.max_sessions: expected an integer from 1 to 1000000, got 0",
            ),
        ];
        for (toml, expected) in cases {
            assert_eq!(http_errors(toml), expected, "{toml}");
        }
    }

    #[test]
    fn api_key_rules_never_show_the_key() {
        let text = http_errors(
            "api_keys = [\"short-key-15chr\", \"0123456789abcdef\", \"0123456789abcdef\", \"with space 123456\", 1234567890123456789]",
        );
        assert_eq!(
            text,
            "http.api_keys[0]: must be at least 16 characters long\n\
             http.api_keys[2]: same key as http.api_keys[1]\n\
             http.api_keys[3]: must not contain spaces or control characters (it is sent in a header)\n\
             http.api_keys[4]: expected a string, got integer"
        );
        for secret in [
            "short-key",
            "0123456789abcdef",
            "with space",
            "1234567890123456789",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(
            http_errors("api_keys = \"0123456789abcdef\""),
            "http.api_keys: expected an array of strings, got string"
        );
    }

    #[test]
    fn new_keys_from_the_environment() {
        let vars = [
            ("WEBRTC_GATEWAY__HTTP__RESUME_GRACE", "45s"),
            (
                "WEBRTC_GATEWAY__HTTP__ALLOWED_ORIGINS",
                "[\"https://app.example.com\"]",
            ),
            (
                "WEBRTC_GATEWAY__HTTP__API_KEYS",
                "[\"placeholder-key-0000\"]",
            ),
            ("WEBRTC_GATEWAY__HTTP__API_KEYS__0", "1234567890123456"),
            ("WEBRTC_GATEWAY__HTTP__TLS_CERT", "cert.pem"),
            ("WEBRTC_GATEWAY__HTTP__TLS_KEY", "key.pem"),
            ("WEBRTC_GATEWAY__HTTP__MAX_SESSIONS", "500"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let c = Config::from_toml_str("", vars).expect("valid");
        let h = &c.http;
        assert_eq!(h.resume_grace, Some(Duration::from_secs(45)));
        assert!(h.is_origin_allowed("https://app.example.com"));
        // A numeric key given for a string is its text, and an index replaces one entry.
        assert!(h.is_api_key("1234567890123456"));
        assert!(!h.is_api_key("placeholder-key-0000"));
        assert_eq!(
            h.tls.as_ref().map(|t| t.key.clone()),
            Some(PathBuf::from("key.pem"))
        );
        assert_eq!(h.max_sessions, 500);
        assert!(!format!("{c:?}").contains("1234567890123456"));
    }
}
