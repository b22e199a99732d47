//! The outbound proxy URI, `sip:host[:port][;transport=udp|tcp]` (RFC 3261 §19.1.1).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::SipTransport;

/// Default SIP port when the URI has none (RFC 3261 §19.1.2).
pub const DEFAULT_SIP_PORT: u16 = 5060;

/// Where INVITEs go (Asterisk), parsed from `sip.proxy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipProxy {
    /// Host name or IP address; an IPv6 address is stored without brackets.
    pub host: String,
    /// Port, 5060 when the URI has none.
    pub port: u16,
    /// The URI's `transport` parameter, if any.
    pub transport: Option<SipTransport>,
    /// The URI as written in the configuration.
    pub uri: String,
}

impl SipProxy {
    /// `host:port`, with an IPv6 host in brackets, ready for resolution or a `Route` header.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Why a proxy URI was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyUriError {
    /// Not a `sip:` URI.
    #[error("expected a URI like \"sip:host[:port][;transport=udp|tcp]\", got {0:?}")]
    Scheme(String),
    /// `sips:` asks for TLS, which the gateway does not speak toward the proxy.
    #[error("sips: (TLS) is not supported, use sip: with transport udp or tcp, got {0:?}")]
    Sips(String),
    /// The URI names a user; the proxy is addressed by host only.
    #[error("expected no user part (user@), got {0:?}")]
    UserPart(String),
    /// The host is missing or not a host name or IP address.
    #[error("invalid host {host:?} in {uri:?}")]
    Host { host: String, uri: String },
    /// The port is not a number from 1 to 65535.
    #[error("invalid port {port:?} in {uri:?}")]
    Port { port: String, uri: String },
    /// A parameter other than `transport=udp|tcp`.
    #[error("unsupported URI parameter {param:?} in {uri:?} (only transport=udp|tcp)")]
    Parameter { param: String, uri: String },
}

impl FromStr for SipProxy {
    type Err = ProxyUriError;

    fn from_str(uri: &str) -> Result<Self, Self::Err> {
        let rest = strip_prefix_ignore_case(uri, "sip:").ok_or_else(|| {
            if strip_prefix_ignore_case(uri, "sips:").is_some() {
                ProxyUriError::Sips(uri.to_owned())
            } else {
                ProxyUriError::Scheme(uri.to_owned())
            }
        })?;
        let mut parts = rest.split(';');
        let host_port = parts.next().unwrap_or_default();
        if host_port.contains('@') {
            return Err(ProxyUriError::UserPart(uri.to_owned()));
        }
        let (host, port) = split_host_port(host_port, uri)?;
        let mut transport = None;
        for param in parts {
            let parsed = param.split_once('=').and_then(|(name, value)| {
                if !name.eq_ignore_ascii_case("transport") || transport.is_some() {
                    return None;
                }
                value.parse::<SipTransport>().ok()
            });
            match parsed {
                Some(t) => transport = Some(t),
                None => {
                    return Err(ProxyUriError::Parameter {
                        param: param.to_owned(),
                        uri: uri.to_owned(),
                    });
                }
            }
        }
        Ok(SipProxy {
            host,
            port,
            transport,
            uri: uri.to_owned(),
        })
    }
}

fn split_host_port(host_port: &str, uri: &str) -> Result<(String, u16), ProxyUriError> {
    let host_error = |host: &str| ProxyUriError::Host {
        host: host.to_owned(),
        uri: uri.to_owned(),
    };
    let (host, port_text) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (inside, after) = bracketed
            .split_once(']')
            .ok_or_else(|| host_error(host_port))?;
        if inside.parse::<Ipv6Addr>().is_err() {
            return Err(host_error(inside));
        }
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| host_error(host_port))?,
            ),
        };
        (inside, port)
    } else {
        let (host, port) = match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        if !is_valid_host(host) {
            return Err(host_error(host));
        }
        (host, port)
    };
    let port = match port_text {
        None => DEFAULT_SIP_PORT,
        Some(text) => parse_port(text).ok_or_else(|| ProxyUriError::Port {
            port: text.to_owned(),
            uri: uri.to_owned(),
        })?,
    };
    Ok((host.to_owned(), port))
}

fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|&port| port != 0)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// A host name (RFC 1123 labels) or an IPv4 address, as allowed in a SIP URI host without brackets.
pub(crate) fn is_valid_host(host: &str) -> bool {
    if host.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A host name, an IPv4 address or a bracketed IPv6 address: the host part of a request-URI.
pub(crate) fn is_valid_uri_host(host: &str) -> bool {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inside) => inside.parse::<Ipv6Addr>().is_ok(),
        None => is_valid_host(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn proxy(uri: &str) -> SipProxy {
        uri.parse().expect(uri)
    }

    /// RFC 3261 §19.1.2: a SIP URI without a port means 5060.
    #[test]
    fn default_port_is_5060() {
        let p = proxy("sip:127.0.0.1");
        assert_eq!(
            (p.host.as_str(), p.port, p.transport),
            ("127.0.0.1", 5060, None)
        );
        assert_eq!(p.uri, "sip:127.0.0.1");
        assert_eq!(p.host_port(), "127.0.0.1:5060");
    }

    /// RFC 3261 §19.1.1: `sip:host:port;transport=tcp`.
    #[test]
    fn host_port_and_transport() {
        let p = proxy("sip:asterisk.example.com:5070;transport=tcp");
        assert_eq!(p.host, "asterisk.example.com");
        assert_eq!(p.port, 5070);
        assert_eq!(p.transport, Some(SipTransport::Tcp));
        assert_eq!(
            proxy("SIP:pbx;Transport=UDP").transport,
            Some(SipTransport::Udp)
        );
    }

    /// RFC 3261 §19.1.1 / RFC 3986: an IPv6 host is written in brackets.
    #[test]
    fn ipv6_host() {
        let p = proxy("sip:[::1]:5080");
        assert_eq!((p.host.as_str(), p.port), ("::1", 5080));
        assert_eq!(p.host_port(), "[::1]:5080");
        assert_eq!(proxy("sip:[2001:db8::5]").port, 5060);
    }

    fn variant(error: &ProxyUriError) -> &'static str {
        match error {
            ProxyUriError::Scheme(_) => "Scheme",
            ProxyUriError::Sips(_) => "Sips",
            ProxyUriError::UserPart(_) => "UserPart",
            ProxyUriError::Host { .. } => "Host",
            ProxyUriError::Port { .. } => "Port",
            ProxyUriError::Parameter { .. } => "Parameter",
        }
    }

    #[test]
    fn rejects_bad_uris() {
        let cases = [
            ("127.0.0.1:5060", "Scheme"),
            ("http://pbx", "Scheme"),
            ("sips:pbx", "Sips"),
            ("sip:1000@pbx", "UserPart"),
            ("sip:", "Host"),
            ("sip:pb x", "Host"),
            ("sip:-pbx", "Host"),
            ("sip:[::1", "Host"),
            ("sip:[nope]", "Host"),
            ("sip:[::1]5060", "Host"),
            ("sip:pbx:", "Port"),
            ("sip:pbx:0", "Port"),
            ("sip:pbx:65536", "Port"),
            ("sip:pbx:+80", "Port"),
            ("sip:pbx;lr", "Parameter"),
            ("sip:pbx;transport=tls", "Parameter"),
            ("sip:pbx;transport=udp;transport=tcp", "Parameter"),
            ("sip:pbx;", "Parameter"),
        ];
        for (uri, expected) in cases {
            let error = uri.parse::<SipProxy>().expect_err(uri);
            assert_eq!(variant(&error), expected, "{uri}: {error}");
        }
    }

    #[test]
    fn error_message_names_the_uri() {
        let error = "sip:pbx:99999".parse::<SipProxy>().expect_err("bad port");
        assert_eq!(
            error.to_string(),
            "invalid port \"99999\" in \"sip:pbx:99999\""
        );
    }

    #[test]
    fn uri_hosts() {
        for good in ["pbx", "pbx.example.com", "10.0.0.1", "[::1]", "a-b.c"] {
            assert!(is_valid_uri_host(good), "{good}");
        }
        for bad in ["", "a..b", "a b", "::1", "[x]", "a_b", "pbx.", "-a"] {
            assert!(!is_valid_uri_host(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "(?i:sips?:)?.{0,40}") {
            let _ = text.parse::<SipProxy>();
        }

        #[test]
        fn parses_what_it_is_given(host in "[a-z][a-z0-9]{0,10}(\\.[a-z][a-z0-9]{0,10}){0,3}", port in 1u16..) {
            let p: SipProxy = format!("sip:{host}:{port}").parse().expect("valid uri");
            prop_assert_eq!(p.host, host);
            prop_assert_eq!(p.port, port);
        }
    }
}
