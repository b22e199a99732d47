//! Web origins (`scheme://host[:port]`, RFC 6454 §6.1) for `http.allowed_origins`.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use crate::proxy::is_valid_host;

/// A web origin in the form a browser sends it in the `Origin` header: lower-case scheme and host,
/// and no port when it is the scheme's default (RFC 6454 §6.1), so that equal origins compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    /// The serialized origin, e.g. `https://app.example.com` or `http://127.0.0.1:8080`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Origin {
    type Err = String;

    /// `scheme://host[:port]`: any URI scheme (mobile shells use `capacitor://localhost`), a host name,
    /// IPv4 address or `[IPv6]`, and no user, path, query or fragment. `null` is not an origin.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let format_error =
            || format!("expected an origin like \"https://app.example.com\", got {text:?}");
        let (scheme, rest) = text.split_once("://").ok_or_else(format_error)?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok {
            return Err(format_error());
        }
        if rest.contains(['/', '?', '#']) {
            return Err(format!(
                "an origin has no path, query or fragment (no trailing \"/\"), got {text:?}"
            ));
        }
        if rest.contains('@') {
            return Err(format!("an origin has no user part, got {text:?}"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(format_error)?;
        let scheme = scheme.to_ascii_lowercase();
        let host = host.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        };
        Ok(match port.filter(|&p| Some(p) != default_port) {
            Some(port) => Self(format!("{scheme}://{host}:{port}")),
            None => Self(format!("{scheme}://{host}")),
        })
    }
}

/// `host` or `host:port`, with the host a name, IPv4 address or bracketed IPv6 address.
pub(crate) fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(after_bracket) = text.strip_prefix('[') {
        let end = after_bracket.find(']')? + 2;
        let (host, after) = text.split_at(end);
        host[1..end - 1].parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (host, port)
    } else {
        let (host, port) = match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        };
        if !is_valid_host(host) {
            return None;
        }
        (host, port)
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|&p| p != 0)?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn origin(text: &str) -> String {
        text.parse::<Origin>().expect(text).to_string()
    }

    /// RFC 6454 §6.1: scheme and host lower-case, the default port omitted.
    #[test]
    fn origins_are_serialized_like_browsers_send_them() {
        assert_eq!(origin("https://app.example.com"), "https://app.example.com");
        assert_eq!(
            origin("HTTPS://App.Example.COM:443"),
            "https://app.example.com"
        );
        assert_eq!(origin("http://127.0.0.1:80"), "http://127.0.0.1");
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(
            origin("https://[2001:DB8::1]:8443"),
            "https://[2001:db8::1]:8443"
        );
        assert_eq!(origin("capacitor://localhost"), "capacitor://localhost");
        assert_eq!(origin("http://localhost:443"), "http://localhost:443");
    }

    #[test]
    fn rejects_what_is_not_an_origin() {
        let format =
            |t: &str| format!("expected an origin like \"https://app.example.com\", got {t:?}");
        for bad in [
            "app.example.com",
            "null",
            "*",
            "https://*.example.com",
            "https://",
            "https://app.example.com:",
            "https://app.example.com:0",
            "https://app.example.com:70000",
            "https://app.example.com:8a",
            "https://[::1",
            "https://[nope]",
            "https://[::1]x",
            "1http://x",
            "ht tp://x",
        ] {
            assert_eq!(bad.parse::<Origin>(), Err(format(bad)), "{bad}");
        }
        assert_eq!(
            "https://app.example.com/".parse::<Origin>(),
            Err("an origin has no path, query or fragment (no trailing \"/\"), got \"https://app.example.com/\"".to_owned())
        );
        assert_eq!(
            "https://u@app.example.com".parse::<Origin>(),
            Err("an origin has no user part, got \"https://u@app.example.com\"".to_owned())
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_parses_its_own_output(text in "[a-zA-Z:/\\[\\]0-9.@]{0,30}") {
            if let Ok(o) = text.parse::<Origin>() {
                prop_assert_eq!(o.as_str().parse::<Origin>(), Ok(o.clone()));
            }
        }
    }
}
