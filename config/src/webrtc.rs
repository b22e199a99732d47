//! `[webrtc]`: ICE servers and the addresses put in ICE candidates.

use std::net::{IpAddr, SocketAddr};

use toml::Value;

use crate::Secret;
use crate::addr::{advertised_ip, resolve_ip};
use crate::http::DEFAULT_HTTP_LISTEN;
use crate::ip_range::{IpRange, parse_deny_range, range_list};
use crate::raw::{Ctx, Table, array, secret, string, table};
use crate::turn::{self, TurnConfig};

/// URL schemes accepted in `webrtc.ice_servers[].urls` (RFC 7064, RFC 7065).
pub const ICE_URL_SCHEMES: [&str; 4] = ["stun:", "stuns:", "turn:", "turns:"];

/// `[webrtc]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebrtcConfig {
    /// STUN/TURN servers handed to the gateway's ICE agent (and to the browser page).
    pub ice_servers: Vec<IceServer>,
    /// 1:1 NAT address advertised in ICE candidates, if any.
    pub public_ip: Option<IpAddr>,
    /// Address of host candidates: `webrtc.host_ip`, or else the IP of `http.listen`.
    pub host_ip: IpAddr,
    /// TURN server whose time-limited credentials every client is given; `None` when not used.
    pub turn: Option<TurnConfig>,
    /// Remote ICE candidates in these ranges are ignored, besides those always ignored
    /// (unspecified, multicast, broadcast, link-local, mDNS names).
    pub deny_candidates: Vec<IpRange>,
}

impl Default for WebrtcConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            public_ip: None,
            host_ip: DEFAULT_HTTP_LISTEN.ip(),
            turn: None,
            deny_candidates: Vec::new(),
        }
    }
}

impl WebrtcConfig {
    /// Whether a remote candidate address falls in `deny_candidates`.
    pub fn is_denied_candidate(&self, ip: IpAddr) -> bool {
        self.deny_candidates.iter().any(|r| r.contains(ip))
    }
}

/// One STUN or TURN server, as in the W3C `RTCIceServer` dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:`, `stuns:`, `turn:` or `turns:` URLs; never empty.
    pub urls: Vec<String>,
    /// TURN user name.
    pub username: Option<String>,
    /// TURN credential.
    pub credential: Option<Secret>,
}

impl IceServer {
    /// Whether any URL is a TURN URL (which needs a username and credential).
    pub fn is_turn(&self) -> bool {
        self.urls
            .iter()
            .any(|u| u.starts_with("turn:") || u.starts_with("turns:"))
    }
}

pub(crate) fn build(mut t: Table, ctx: &mut Ctx, http_listen: Option<SocketAddr>) -> WebrtcConfig {
    let ice_servers = t.get(ctx, "ice_servers", Vec::new(), |ctx, key, value| {
        let items = array(ctx, key, value)?;
        let servers = items
            .into_iter()
            .filter_map(|(key, item)| ice_server(ctx, &key, item))
            .collect();
        Some(servers)
    });
    let public_ip = t.get(ctx, "public_ip", None, advertised_ip);
    let host_ip_key = t.path_of("host_ip");
    let explicit_host_ip = t.get(ctx, "host_ip", None, advertised_ip);
    let host_ip = if ctx.has_error(&host_ip_key) {
        DEFAULT_HTTP_LISTEN.ip()
    } else {
        resolve_ip(
            ctx,
            &host_ip_key,
            explicit_host_ip,
            "http.listen",
            http_listen,
            DEFAULT_HTTP_LISTEN.ip(),
        )
    };
    let turn = t.get(ctx, "turn", None, |ctx, key, value| {
        turn::turn(ctx, key, value).map(Some)
    });
    let deny_candidates = t.get(ctx, "deny_candidates", Vec::new(), |ctx, key, value| {
        range_list(ctx, key, value, parse_deny_range)
    });
    t.finish(ctx);
    WebrtcConfig {
        ice_servers,
        public_ip,
        host_ip,
        turn,
        deny_candidates,
    }
}

/// One `[[webrtc.ice_servers]]` entry; `None` when it is not a table (already reported).
fn ice_server(ctx: &mut Ctx, key: &str, value: Value) -> Option<IceServer> {
    let mut t = Table::new(key, table(ctx, key, value)?);
    let urls_key = t.path_of("urls");
    let urls = t.get(ctx, "urls", None, |ctx, key, value| {
        let items = array(ctx, key, value)?;
        if items.is_empty() {
            ctx.error(key, "expected at least one URL");
        }
        let urls = items
            .into_iter()
            .filter_map(|(key, item)| ice_url(ctx, &key, item))
            .collect();
        Some(Some(urls))
    });
    let urls = urls.unwrap_or_else(|| {
        ctx.error(
            &urls_key,
            "missing (each ICE server needs urls = [\"stun:host:port\"])",
        );
        Vec::new()
    });
    let credentials_key = [t.path_of("username"), t.path_of("credential")];
    let username = t.get(ctx, "username", None, |ctx, key, value| {
        string(ctx, key, value).map(|s| Some(s).filter(|s| !s.is_empty()))
    });
    let credential = t.get(ctx, "credential", None, |ctx, key, value| {
        secret(ctx, key, value).map(|s| Some(s).filter(|s| !s.is_empty()))
    });
    t.finish(ctx);
    let server = IceServer {
        urls,
        username,
        credential,
    };
    let credentials_invalid = credentials_key.iter().any(|k| ctx.has_error(k));
    let credentials_missing = server.username.is_none() || server.credential.is_none();
    if server.is_turn() && credentials_missing && !credentials_invalid {
        ctx.error(
            key,
            "turn: and turns: URLs need a username and a credential",
        );
    }
    Some(server)
}

fn ice_url(ctx: &mut Ctx, key: &str, value: Value) -> Option<String> {
    let url = string(ctx, key, value)?;
    let scheme_ok = ICE_URL_SCHEMES
        .iter()
        .any(|s| url.starts_with(s) && url.len() > s.len());
    if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        ctx.error(
            key,
            format!("expected a URL starting with stun:, stuns:, turn: or turns:, got {url:?}"),
        );
        return None;
    }
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn webrtc(toml: &str) -> WebrtcConfig {
        Config::from_toml_str(toml, []).expect("valid").webrtc
    }

    fn webrtc_errors(toml: &str) -> String {
        Config::from_toml_str(toml, [])
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn ice_servers_stun_and_turn() {
        let w = webrtc(
            r#"
            [[webrtc.ice_servers]]
            urls = ["stun:stun.example.org:3478", "stuns:stun.example.org"]
            [[webrtc.ice_servers]]
            urls = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]
            username = "user"
            credential = "pass"
            "#,
        );
        assert_eq!(w.ice_servers.len(), 2);
        assert!(!w.ice_servers[0].is_turn());
        assert_eq!(w.ice_servers[0].username, None);
        assert!(w.ice_servers[1].is_turn());
        assert_eq!(w.ice_servers[1].username.as_deref(), Some("user"));
        assert_eq!(
            w.ice_servers[1].credential.as_ref().map(Secret::expose),
            Some("pass")
        );
    }

    #[test]
    fn ice_server_rules() {
        let text = webrtc_errors(
            r#"
            [webrtc]
            ice_servers = [
                { urls = ["http://stun.example.org"] },
                { urls = [] },
                { username = "u" },
                { urls = ["turn:t.example.org"], credential = "only-cred" },
                { urls = ["stun:s"], extra = 1 },
                "stun:s",
            ]
            "#,
        );
        assert_eq!(
            text,
            "webrtc.ice_servers[0].urls[0]: expected a URL starting with stun:, stuns:, turn: or turns:, got \"http://stun.example.org\"\n\
             webrtc.ice_servers[1].urls: expected at least one URL\n\
             webrtc.ice_servers[2].urls: missing (each ICE server needs urls = [\"stun:host:port\"])\n\
             webrtc.ice_servers[3]: turn: and turns: URLs need a username and a credential\n\
             webrtc.ice_servers[4].extra: unknown key\n\
             webrtc.ice_servers[5]: expected a table, got string \"stun:s\""
        );
        assert!(!text.contains("only-cred"));
    }

    #[test]
    fn host_ip_defaults_to_the_http_listener() {
        assert_eq!(
            webrtc("[http]\nlisten = \"192.0.2.7:8080\"")
                .host_ip
                .to_string(),
            "192.0.2.7"
        );
        let w = webrtc(
            "[http]\nlisten = \"[::]:8080\"\n[webrtc]\nhost_ip = \"192.0.2.8\"\npublic_ip = \"203.0.113.1\"",
        );
        assert_eq!(w.host_ip.to_string(), "192.0.2.8");
        assert_eq!(
            w.public_ip.map(|ip| ip.to_string()).as_deref(),
            Some("203.0.113.1")
        );
        assert_eq!(webrtc("[webrtc]\npublic_ip = \"\"").public_ip, None);
    }

    #[test]
    fn address_rules() {
        assert_eq!(
            webrtc_errors("[http]\nlisten = \"[::]:8080\""),
            "webrtc.host_ip: is empty and http.listen ([::]:8080) listens on all addresses; \
             set webrtc.host_ip to the address peers should send to"
        );
        assert_eq!(
            webrtc_errors("[webrtc]\npublic_ip = \"0.0.0.0\"\nhost_ip = \"host\""),
            "webrtc.public_ip: 0.0.0.0 is an unspecified address; give the address peers should send to\n\
             webrtc.host_ip: expected an IP address like \"192.0.2.10\" (or \"\" for none), got \"host\""
        );
    }

    #[test]
    fn deny_candidates_are_ranges() {
        let w = webrtc("[webrtc]\ndeny_candidates = [\"10.0.0.0/8\", \"0.0.0.0\", \"fd00::/8\"]");
        let ip = |t: &str| t.parse::<IpAddr>().expect("IP");
        assert!(w.is_denied_candidate(ip("10.1.2.3")));
        assert!(w.is_denied_candidate(ip("::ffff:10.1.2.3")));
        assert!(w.is_denied_candidate(ip("fd12::1")));
        assert!(!w.is_denied_candidate(ip("192.0.2.1")));
        assert!(!WebrtcConfig::default().is_denied_candidate(ip("10.1.2.3")));
        assert_eq!(
            webrtc_errors(
                "[webrtc]\ndeny_candidates = [\"10.0.0.0/8\", \"10.0.0.0/8\", \"0.0.0.0/0\", \"host\"]"
            ),
            "webrtc.deny_candidates[1]: duplicate of webrtc.deny_candidates[0] (\"10.0.0.0/8\")\n\
             webrtc.deny_candidates[2]: \"0.0.0.0/0\" matches every address, so no call could ever connect\n\
             webrtc.deny_candidates[3]: expected an IP address or a CIDR range like \"192.0.2.10\" or \"198.51.100.0/24\", got \"host\""
        );
        let c = Config::from_toml_str(
            "",
            [(
                "WEBRTC_GATEWAY__WEBRTC__DENY_CANDIDATES".to_owned(),
                "[\"192.168.0.0/16\"]".to_owned(),
            )],
        )
        .expect("valid");
        assert_eq!(c.webrtc.deny_candidates[0].to_string(), "192.168.0.0/16");
    }
}
