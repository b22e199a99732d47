//! `[sip]`: the gateway's SIP user agent toward Asterisk.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use crate::addr::socket_addr;
use crate::duration::{format_duration, parse_duration};
use crate::ip_range::IpRange;
use crate::pattern::Pattern;
use crate::proxy::{DEFAULT_SIP_PORT, SipProxy, is_valid_uri_host};
use crate::raw::{Ctx, Table, boolean, parsed, secret, string};
use crate::sip_inbound::{
    self, DEFAULT_OPTIONS_INTERVAL, DEFAULT_REGISTER_EXPIRES, DEFAULT_UNREGISTER_GRACE,
};
use crate::sip_policy::{
    self, DEFAULT_BLOCK_FOR, DEFAULT_MAX_CALLS_PER_USER, DEFAULT_RATE_LIMIT_PER_IP,
    DEFAULT_SESSION_TIMER,
};
use crate::{Secret, SipUser, sip_users};

/// Default `sip.listen`.
pub const DEFAULT_SIP_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5080);

/// Characters allowed in the user part of a SIP URI besides letters and digits (RFC 3261 §25.1,
/// `unreserved` and `user-unreserved`, plus `%` for escapes).
const USER_EXTRA_CHARS: &str = "-_.!~*'()&=+$,;?/%";

/// `[sip]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipConfig {
    /// Local address for SIP over UDP and TCP.
    pub listen: SocketAddr,
    /// Transport toward the proxy.
    pub transport: SipTransport,
    /// Where INVITEs go (Asterisk).
    pub proxy: SipProxy,
    /// Host of request-URIs: `sip:<number>@<domain>`.
    pub domain: String,
    /// User part of `From`; also the digest user name when challenged.
    pub username: String,
    /// Digest password; may be empty when Asterisk does not challenge.
    pub password: Secret,
    /// Display name in `From`, if any.
    pub display_name: Option<String>,
    /// `User-Agent` header value.
    pub user_agent: String,
    /// RFC 3261 timers.
    pub timers: SipTimers,
    /// Trunk mode: INVITEs to `sip:<user>@<gateway>` from a trunk source reach any connected user.
    pub trunk: bool,
    /// Addresses trunk-mode INVITEs may come from; empty means the proxy's resolved address(es).
    pub trunk_sources: Vec<IpRange>,
    /// `Expires` asked for in each user's REGISTER (whole seconds, 60 s to 24 h).
    pub register_expires: Duration,
    /// How long after a user's last device disconnects the user is unregistered.
    pub unregister_grace: Duration,
    /// Interval of OPTIONS keepalives toward the proxy; `None` when disabled.
    pub options_interval: Option<Duration>,
    /// Gateway user name -> the SIP account registered for that user.
    pub users: BTreeMap<String, SipUser>,
    /// Numbers a browser may dial; matched against the whole number (see
    /// [`SipConfig::is_allowed_number`]).
    pub allowed_numbers: Pattern,
    /// Calls one gateway user may have at once (all devices together).
    pub max_calls_per_user: u32,
    /// SIP requests per second accepted from one source IP; `None` = no limit.
    pub rate_limit_per_ip: Option<u32>,
    /// How long a source that exceeded `rate_limit_per_ip` is then ignored; `None` = throttle only.
    pub block_for: Option<Duration>,
    /// RFC 4028 session interval the gateway asks for (`Session-Expires`); `None` = no session timer.
    pub session_timer: Option<Duration>,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_SIP_LISTEN,
            transport: SipTransport::Udp,
            proxy: SipProxy {
                host: "127.0.0.1".to_owned(),
                port: DEFAULT_SIP_PORT,
                transport: None,
                uri: "sip:127.0.0.1:5060".to_owned(),
            },
            domain: "127.0.0.1".to_owned(),
            username: "gateway".to_owned(),
            password: Secret::default(),
            display_name: None,
            user_agent: default_user_agent(),
            timers: SipTimers::default(),
            trunk: false,
            trunk_sources: Vec::new(),
            register_expires: DEFAULT_REGISTER_EXPIRES,
            unregister_grace: DEFAULT_UNREGISTER_GRACE,
            options_interval: Some(DEFAULT_OPTIONS_INTERVAL),
            users: BTreeMap::new(),
            allowed_numbers: sip_policy::default_allowed_numbers(),
            max_calls_per_user: DEFAULT_MAX_CALLS_PER_USER,
            rate_limit_per_ip: Some(DEFAULT_RATE_LIMIT_PER_IP),
            block_for: Some(DEFAULT_BLOCK_FOR),
            session_timer: Some(DEFAULT_SESSION_TIMER),
        }
    }
}

/// `webrtc-gateway/<version>`.
pub fn default_user_agent() -> String {
    format!("webrtc-gateway/{}", env!("CARGO_PKG_VERSION"))
}

/// SIP transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl SipTransport {
    /// Lower-case name as written in configuration and in `transport=` URI parameters.
    pub fn name(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
        }
    }
}

impl FromStr for SipTransport {
    type Err = String;

    /// `udp` or `tcp`, in any case (URI parameter values are case-insensitive, RFC 3261 §19.1.4).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("udp") {
            Ok(Self::Udp)
        } else if text.eq_ignore_ascii_case("tcp") {
            Ok(Self::Tcp)
        } else {
            Err(format!("expected \"udp\" or \"tcp\", got {text:?}"))
        }
    }
}

/// RFC 3261 §17 timer values (Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipTimers {
    /// RTT estimate (default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses (default 4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (default 5 s).
    pub t4: Duration,
}

impl Default for SipTimers {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

pub(crate) fn build(mut t: Table, ctx: &mut Ctx) -> SipConfig {
    let d = SipConfig::default();
    let listen = t.get(ctx, "listen", d.listen, socket_addr);
    let transport = t.get(ctx, "transport", d.transport, |ctx, key, value| {
        parsed(ctx, key, value, SipTransport::from_str)
    });
    let proxy_key = t.path_of("proxy");
    let proxy = t.get(ctx, "proxy", d.proxy, |ctx, key, value| {
        parsed(ctx, key, value, SipProxy::from_str)
    });
    let transport_valid = !ctx.has_error(&t.path_of("transport"));
    if let Some(uri_transport) = proxy
        .transport
        .filter(|&p| transport_valid && p != transport)
    {
        ctx.error(
            &proxy_key,
            format!(
                "transport={} conflicts with sip.transport = \"{}\"; make them agree",
                uri_transport.name(),
                transport.name()
            ),
        );
    }
    let domain = t.get(ctx, "domain", d.domain, |ctx, key, value| {
        checked_string(
            ctx,
            key,
            value,
            is_valid_uri_host,
            "a host name or IP address",
        )
    });
    let username = t.get(ctx, "username", d.username, |ctx, key, value| {
        checked_string(ctx, key, value, is_sip_user, "a SIP user name")
    });
    let password = t.get(ctx, "password", d.password, secret);
    let display_name = t.get(ctx, "display_name", d.display_name, |ctx, key, value| {
        let name = checked_string(
            ctx,
            key,
            value,
            is_display_name,
            "a display name without '\"' or '\\'",
        )?;
        Some(Some(name).filter(|n| !n.is_empty()))
    });
    let user_agent = t.get(ctx, "user_agent", d.user_agent, |ctx, key, value| {
        checked_string(
            ctx,
            key,
            value,
            |s| !s.trim().is_empty() && !s.chars().any(char::is_control),
            "a non-empty header value",
        )
    });
    let timers = SipTimers {
        t1: t.get(ctx, "t1", d.timers.t1, positive_duration),
        t2: t.get(ctx, "t2", d.timers.t2, positive_duration),
        t4: t.get(ctx, "t4", d.timers.t4, positive_duration),
    };
    let (t1_key, t2_key) = (t.path_of("t1"), t.path_of("t2"));
    if timers.t2 < timers.t1 && !ctx.has_error(&t1_key) && !ctx.has_error(&t2_key) {
        ctx.error(
            &t2_key,
            format!(
                "must be at least sip.t1 ({}), got {}",
                format_duration(timers.t1),
                format_duration(timers.t2)
            ),
        );
    }
    let trunk = t.get(ctx, "trunk", d.trunk, boolean);
    let trunk_sources = t.get(
        ctx,
        "trunk_sources",
        d.trunk_sources,
        sip_inbound::trunk_sources,
    );
    let register_expires = t.get(
        ctx,
        "register_expires",
        d.register_expires,
        sip_inbound::register_expires,
    );
    let unregister_grace = t.get(
        ctx,
        "unregister_grace",
        d.unregister_grace,
        sip_inbound::any_duration,
    );
    let options_interval = t.get(
        ctx,
        "options_interval",
        d.options_interval,
        sip_inbound::options_interval,
    );
    let users = t.get(ctx, "users", d.users, sip_users::users);
    let allowed_numbers = t.get(
        ctx,
        "allowed_numbers",
        d.allowed_numbers,
        sip_policy::allowed_numbers,
    );
    let max_calls_per_user = t.get(
        ctx,
        "max_calls_per_user",
        d.max_calls_per_user,
        sip_policy::max_calls_per_user,
    );
    let rate_limit_per_ip = t.get(
        ctx,
        "rate_limit_per_ip",
        d.rate_limit_per_ip,
        sip_policy::optional_rate,
    );
    let block_for = t.get(ctx, "block_for", d.block_for, sip_policy::block_for);
    let session_timer = t.get(
        ctx,
        "session_timer",
        d.session_timer,
        sip_policy::session_timer,
    );
    t.finish(ctx);
    SipConfig {
        listen,
        transport,
        proxy,
        domain,
        username,
        password,
        display_name,
        user_agent,
        timers,
        trunk,
        trunk_sources,
        register_expires,
        unregister_grace,
        options_interval,
        users,
        allowed_numbers,
        max_calls_per_user,
        rate_limit_per_ip,
        block_for,
        session_timer,
    }
}

/// A duration greater than zero.
pub(crate) fn positive_duration(ctx: &mut Ctx, key: &str, value: toml::Value) -> Option<Duration> {
    parsed(ctx, key, value, |text| match parse_duration(text) {
        Ok(d) if d.is_zero() => Err(format!("must be greater than zero, got {text:?}")),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    })
}

/// A string that `valid` accepts; otherwise an error saying `expected <expected>, got "<text>"`.
pub(crate) fn checked_string(
    ctx: &mut Ctx,
    key: &str,
    value: toml::Value,
    valid: impl FnOnce(&str) -> bool,
    expected: &str,
) -> Option<String> {
    let text = string(ctx, key, value)?;
    if valid(&text) {
        Some(text)
    } else {
        ctx.error(key, format!("expected {expected}, got {text:?}"));
        None
    }
}

/// Whether `user` is a SIP URI user part (RFC 3261 §25.1), without escapes being checked.
pub(crate) fn is_sip_user(user: &str) -> bool {
    !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || USER_EXTRA_CHARS.contains(c))
}

fn is_display_name(name: &str) -> bool {
    !name
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn sip(toml: &str) -> SipConfig {
        Config::from_toml_str(&format!("[sip]\n{toml}"), [])
            .expect("valid")
            .sip
    }

    fn sip_errors(toml: &str) -> String {
        Config::from_toml_str(&format!("[sip]\n{toml}"), [])
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn every_key_is_read() {
        let s = sip(r#"
            listen = "10.0.0.5:5070"
            transport = "tcp"
            proxy = "sip:pbx.example.com:5061;transport=tcp"
            domain = "pbx.example.com"
            username = "webrtc-gw"
            password = "pw"
            display_name = "Web Caller"
            user_agent = "gw/1"
            t1 = "1s"
            t2 = "8s"
            t4 = "10s"
        "#);
        assert_eq!(s.listen.port(), 5070);
        assert_eq!(s.transport, SipTransport::Tcp);
        assert_eq!(
            (s.proxy.host.as_str(), s.proxy.port),
            ("pbx.example.com", 5061)
        );
        assert_eq!(s.domain, "pbx.example.com");
        assert_eq!(s.username, "webrtc-gw");
        assert_eq!(s.password.expose(), "pw");
        assert_eq!(s.display_name.as_deref(), Some("Web Caller"));
        assert_eq!(s.user_agent, "gw/1");
        assert_eq!(s.timers.t1, Duration::from_secs(1));
        assert_eq!(s.timers.t2, Duration::from_secs(8));
        assert_eq!(s.timers.t4, Duration::from_secs(10));
    }

    #[test]
    fn empty_display_name_means_none() {
        assert_eq!(sip("display_name = \"\"").display_name, None);
    }

    #[test]
    fn proxy_transport_must_agree_with_sip_transport() {
        assert_eq!(
            sip_errors("proxy = \"sip:pbx;transport=tcp\""),
            "sip.proxy: transport=tcp conflicts with sip.transport = \"udp\"; make them agree"
        );
        assert_eq!(
            sip("proxy = \"sip:pbx;transport=udp\"").proxy.transport,
            Some(SipTransport::Udp)
        );
    }

    #[test]
    fn each_key_is_validated() {
        let cases = [
            (
                "listen = \"x\"",
                "sip.listen: expected an address like \"127.0.0.1:8080\" or \"[::1]:8080\", got \"x\"",
            ),
            (
                "transport = \"tls\"",
                "sip.transport: expected \"udp\" or \"tcp\", got \"tls\"",
            ),
            (
                "proxy = \"pbx:5060\"",
                "sip.proxy: expected a URI like \"sip:host[:port][;transport=udp|tcp]\", got \"pbx:5060\"",
            ),
            (
                "domain = \"pbx example\"",
                "sip.domain: expected a host name or IP address, got \"pbx example\"",
            ),
            (
                "domain = \"\"",
                "sip.domain: expected a host name or IP address, got \"\"",
            ),
            (
                "username = \"a b\"",
                "sip.username: expected a SIP user name, got \"a b\"",
            ),
            (
                "username = \"a@b\"",
                "sip.username: expected a SIP user name, got \"a@b\"",
            ),
            (
                "password = 5",
                "sip.password: expected a string, got integer",
            ),
            (
                "display_name = \"say \\\"hi\\\"\"",
                "sip.display_name: expected a display name without '\"' or '\\', got \"say \\\"hi\\\"\"",
            ),
            (
                "user_agent = \" \"",
                "sip.user_agent: expected a non-empty header value, got \" \"",
            ),
            (
                "t1 = \"0ms\"",
                "sip.t1: must be greater than zero, got \"0ms\"",
            ),
            ("t2 = 4", "sip.t2: expected a string, got integer 4"),
            (
                "t4 = \"5 s\"",
                "sip.t4: expected a duration like \"500ms\", \"30s\", \"5m\" or \"1h\", got \"5 s\"",
            ),
            (
                "t1 = \"5s\"",
                "sip.t2: must be at least sip.t1 (5s), got 4s",
            ),
        ];
        for (toml, expected) in cases {
            assert_eq!(sip_errors(toml), expected, "{toml}");
        }
    }

    /// RFC 3261 §17.1.1.1: T2 caps the retransmit interval that starts at T1, so T2 >= T1.
    #[test]
    fn t2_check_is_skipped_when_t1_is_invalid() {
        assert_eq!(sip_errors("t1 = \"x\"\nt2 = \"1ms\"").lines().count(), 1);
    }
}
