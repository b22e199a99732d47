//! `[sip]` keys for calls toward the gateway: trunk mode and its allowed sources, per-user REGISTER
//! timing, and the OPTIONS keepalive toward the proxy.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use toml::Value;

use crate::duration::{format_duration, parse_duration};
use crate::ip_range::{IpRange, range_list};
use crate::raw::{Ctx, parsed};
use crate::sip::SipConfig;

/// Default `sip.register_expires`.
pub const DEFAULT_REGISTER_EXPIRES: Duration = Duration::from_secs(300);
/// Shortest `sip.register_expires`: registrars commonly refuse less (RFC 3261 §10.2.8 `Min-Expires`).
pub const MIN_REGISTER_EXPIRES: Duration = Duration::from_secs(60);
/// Longest `sip.register_expires`.
pub const MAX_REGISTER_EXPIRES: Duration = Duration::from_secs(24 * 3600);
/// Default `sip.unregister_grace`.
pub const DEFAULT_UNREGISTER_GRACE: Duration = Duration::from_secs(30);
/// Default `sip.options_interval`.
pub const DEFAULT_OPTIONS_INTERVAL: Duration = Duration::from_secs(30);
/// Shortest enabled `sip.options_interval`.
pub const MIN_OPTIONS_INTERVAL: Duration = Duration::from_secs(1);

impl SipConfig {
    /// Whether a request from `source` comes from an allowed trunk peer: one of `sip.trunk_sources`,
    /// or, when that list is empty, one of `proxy_addrs` (the proxy's host, resolved by the caller).
    /// Says nothing about whether trunk mode is on: check `sip.trunk` too.
    pub fn is_trunk_source(&self, source: IpAddr, proxy_addrs: &[IpAddr]) -> bool {
        if self.trunk_sources.is_empty() {
            proxy_addrs
                .iter()
                .any(|&proxy| IpRange::host(proxy).contains(source))
        } else {
            self.trunk_sources.iter().any(|r| r.contains(source))
        }
    }
}

/// `sip.trunk_sources`: IP addresses and CIDR ranges, no duplicates.
pub(crate) fn trunk_sources(ctx: &mut Ctx, key: &str, value: Value) -> Option<Vec<IpRange>> {
    range_list(ctx, key, value, IpRange::from_str)
}

/// `sip.register_expires`: whole seconds (the `Expires` header counts seconds), 60s to 24h.
pub(crate) fn register_expires(ctx: &mut Ctx, key: &str, value: Value) -> Option<Duration> {
    parsed(ctx, key, value, |text| {
        let expires = parse_duration(text).map_err(|e| e.to_string())?;
        if !(MIN_REGISTER_EXPIRES..=MAX_REGISTER_EXPIRES).contains(&expires) {
            Err(format!(
                "must be between {} and {}, got {text:?}",
                format_duration(MIN_REGISTER_EXPIRES),
                format_duration(MAX_REGISTER_EXPIRES)
            ))
        } else if expires.subsec_nanos() != 0 {
            Err(format!(
                "must be whole seconds (the Expires header counts seconds), got {text:?}"
            ))
        } else {
            Ok(expires)
        }
    })
}

/// Any duration, zero included.
pub(crate) fn any_duration(ctx: &mut Ctx, key: &str, value: Value) -> Option<Duration> {
    parsed(ctx, key, value, parse_duration)
}

/// `sip.options_interval`: `"0s"` (any zero) disables the keepalive; otherwise at least 1s.
pub(crate) fn options_interval(ctx: &mut Ctx, key: &str, value: Value) -> Option<Option<Duration>> {
    parsed(ctx, key, value, |text| {
        let interval = parse_duration(text).map_err(|e| e.to_string())?;
        if interval.is_zero() {
            Ok(None)
        } else if interval < MIN_OPTIONS_INTERVAL {
            Err(format!(
                "must be \"0s\" (disabled) or at least {}, got {text:?}",
                format_duration(MIN_OPTIONS_INTERVAL)
            ))
        } else {
            Ok(Some(interval))
        }
    })
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

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("valid IP")
    }

    #[test]
    fn defaults_leave_trunk_mode_off_and_keepalive_on() {
        let s = SipConfig::default();
        assert!(!s.trunk);
        assert!(s.trunk_sources.is_empty());
        assert_eq!(s.register_expires, Duration::from_secs(300));
        assert_eq!(s.unregister_grace, Duration::from_secs(30));
        assert_eq!(s.options_interval, Some(Duration::from_secs(30)));
        assert!(s.users.is_empty());
    }

    #[test]
    fn every_inbound_key_is_read() {
        let s = sip(r#"
            trunk = true
            trunk_sources = ["192.0.2.10", "198.51.100.0/24", "2001:db8::/32"]
            register_expires = "1h"
            unregister_grace = "0s"
            options_interval = "0s"
        "#);
        assert!(s.trunk);
        let sources: Vec<String> = s.trunk_sources.iter().map(ToString::to_string).collect();
        assert_eq!(sources, ["192.0.2.10", "198.51.100.0/24", "2001:db8::/32"]);
        assert_eq!(s.register_expires, Duration::from_secs(3600));
        assert_eq!(s.unregister_grace, Duration::ZERO);
        assert_eq!(s.options_interval, None);
        assert_eq!(
            sip("options_interval = \"1m\"\nunregister_grace = \"1500ms\"").options_interval,
            Some(Duration::from_secs(60))
        );
    }

    /// Issue 3: in trunk mode an INVITE from any other address than Asterisk's gets 403.
    #[test]
    fn trunk_sources_default_to_the_proxy_addresses() {
        let proxy = [ip("192.0.2.1"), ip("2001:db8::1")];
        let s = sip("trunk = true");
        assert!(s.is_trunk_source(ip("192.0.2.1"), &proxy));
        assert!(s.is_trunk_source(ip("::ffff:192.0.2.1"), &proxy));
        assert!(s.is_trunk_source(ip("2001:db8::1"), &proxy));
        assert!(!s.is_trunk_source(ip("192.0.2.2"), &proxy));
        assert!(!s.is_trunk_source(ip("192.0.2.1"), &[]));

        let s = sip("trunk_sources = [\"198.51.100.0/24\"]");
        assert!(s.is_trunk_source(ip("198.51.100.77"), &proxy));
        assert!(!s.is_trunk_source(ip("192.0.2.1"), &proxy));
    }

    #[test]
    fn each_inbound_key_is_validated() {
        let cases = [
            (
                "trunk = \"yes\"",
                "sip.trunk: expected true or false, got string \"yes\"",
            ),
            (
                "trunk_sources = \"192.0.2.1\"",
                "sip.trunk_sources: expected an array, got string \"192.0.2.1\"",
            ),
            (
                "trunk_sources = [\"pbx.example.com\", 5]",
                "sip.trunk_sources[0]: expected an IP address or a CIDR range like \"192.0.2.10\" or \
                 \"198.51.100.0/24\", got \"pbx.example.com\"\n\
                 sip.trunk_sources[1]: expected a string, got integer 5",
            ),
            (
                "trunk_sources = [\"192.0.2.0/24\", \"192.0.2.0/24\"]",
                "sip.trunk_sources[1]: duplicate of sip.trunk_sources[0] (\"192.0.2.0/24\")",
            ),
            (
                "trunk_sources = [\"0.0.0.0/0\"]",
                "sip.trunk_sources[0]: \"0.0.0.0/0\" matches every address, which would let anyone \
                 place calls through the gateway; list the addresses of Asterisk",
            ),
            (
                "register_expires = \"59s\"",
                "sip.register_expires: must be between 1m and 24h, got \"59s\"",
            ),
            (
                "register_expires = \"25h\"",
                "sip.register_expires: must be between 1m and 24h, got \"25h\"",
            ),
            (
                "register_expires = \"90500ms\"",
                "sip.register_expires: must be whole seconds (the Expires header counts seconds), \
                 got \"90500ms\"",
            ),
            (
                "register_expires = 300",
                "sip.register_expires: expected a string, got integer 300",
            ),
            (
                "unregister_grace = \"-1s\"",
                "sip.unregister_grace: expected a duration like \"500ms\", \"30s\", \"5m\" or \"1h\", \
                 got \"-1s\"",
            ),
            (
                "options_interval = \"500ms\"",
                "sip.options_interval: must be \"0s\" (disabled) or at least 1s, got \"500ms\"",
            ),
            (
                "options_interval = \"off\"",
                "sip.options_interval: expected a duration like \"500ms\", \"30s\", \"5m\" or \"1h\", \
                 got \"off\"",
            ),
        ];
        for (toml, expected) in cases {
            assert_eq!(sip_errors(toml), expected, "{toml}");
        }
    }

    #[test]
    fn register_expires_bounds_are_inclusive() {
        assert_eq!(
            sip("register_expires = \"60s\"").register_expires,
            MIN_REGISTER_EXPIRES
        );
        assert_eq!(
            sip("register_expires = \"24h\"").register_expires,
            MAX_REGISTER_EXPIRES
        );
        assert_eq!(
            sip("options_interval = \"1000ms\"").options_interval,
            Some(MIN_OPTIONS_INTERVAL)
        );
    }

    #[test]
    fn inbound_keys_are_set_from_the_environment() {
        let vars = [
            ("WEBRTC_GATEWAY__SIP__TRUNK", "true"),
            (
                "WEBRTC_GATEWAY__SIP__TRUNK_SOURCES",
                "[\"192.0.2.10\", \"192.0.2.128/25\"]",
            ),
            ("WEBRTC_GATEWAY__SIP__REGISTER_EXPIRES", "600s"),
            ("WEBRTC_GATEWAY__SIP__UNREGISTER_GRACE", "1m"),
            ("WEBRTC_GATEWAY__SIP__OPTIONS_INTERVAL", "0s"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let s = Config::from_toml_str("", vars).expect("valid").sip;
        assert!(s.trunk);
        assert_eq!(s.trunk_sources.len(), 2);
        assert_eq!(s.register_expires, Duration::from_secs(600));
        assert_eq!(s.unregister_grace, Duration::from_secs(60));
        assert_eq!(s.options_interval, None);

        let vars = [("WEBRTC_GATEWAY__SIP__TRUNK_SOURCES", "192.0.2.10")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            Config::from_toml_str("", vars)
                .expect_err("not an array")
                .to_string(),
            "sip.trunk_sources: expected an array, got string \"192.0.2.10\" \
             (set by WEBRTC_GATEWAY__SIP__TRUNK_SOURCES)"
        );
    }
}
