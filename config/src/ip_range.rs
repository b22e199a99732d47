//! IP address ranges: one address (`"192.0.2.10"`) or a CIDR block (`"198.51.100.0/24"`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use toml::Value;

use crate::raw::{Ctx, array, parsed};

/// An IPv4 or IPv6 network: the addresses whose first `prefix` bits equal those of `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRange {
    /// Network address; its bits after `prefix` are zero when parsed.
    pub addr: IpAddr,
    /// Prefix length: 0–32 for IPv4, 0–128 for IPv6 (a larger value counts as the full length).
    pub prefix: u8,
}

impl IpRange {
    /// The range holding only `addr`.
    pub fn host(addr: IpAddr) -> Self {
        Self {
            addr,
            prefix: max_prefix(addr),
        }
    }

    /// Whether `ip` is in the range. An IPv4-mapped IPv6 address (`::ffff:192.0.2.10`, as a
    /// dual-stack socket reports IPv4 peers) also matches as the IPv4 address it maps.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_exactly(ip) || self.contains_exactly(ip.to_canonical())
    }

    fn contains_exactly(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = v4_mask(self.prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = v6_mask(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// 32 for IPv4, 128 for IPv6.
fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// The first `prefix` bits set (all 32 when `prefix` is larger).
fn v4_mask(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

/// The first `prefix` bits set (all 128 when `prefix` is larger).
fn v6_mask(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

/// `addr` with every bit after `prefix` cleared.
fn network(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => IpAddr::V4((u32::from(a) & v4_mask(prefix)).into()),
        IpAddr::V6(a) => IpAddr::V6((u128::from(a) & v6_mask(prefix)).into()),
    }
}

impl fmt::Display for IpRange {
    /// `addr` alone for a single address, else `addr/prefix`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix >= max_prefix(self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl FromStr for IpRange {
    type Err = String;

    /// `"ip"` or `"ip/prefix"`. Rejects bits set after the prefix (a likely typo), a `/0` range
    /// (every address: an open relay) and the unspecified address alone (no request comes from it).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(
            text,
            "which would let anyone place calls through the gateway; list the addresses of Asterisk",
            false,
        )
    }
}

/// A range of addresses to refuse (`webrtc.deny_candidates`): like [`IpRange::from_str`], but the
/// unspecified address alone is allowed, and `/0` is refused because it would refuse every call.
pub(crate) fn parse_deny_range(text: &str) -> Result<IpRange, String> {
    parse(text, "so no call could ever connect", true)
}

/// `"ip"` or `"ip/prefix"`; `every_address` ends the message refusing a `/0`.
fn parse(text: &str, every_address: &str, allow_unspecified: bool) -> Result<IpRange, String> {
    let format_error = || {
        format!(
            "expected an IP address or a CIDR range like \"192.0.2.10\" or \"198.51.100.0/24\", got {text:?}"
        )
    };
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| format_error())?;
    let max = max_prefix(addr);
    let prefix = match prefix {
        None => max,
        Some(p) => {
            let digits = !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit());
            match p.parse::<u8>() {
                Ok(p) if digits && p <= max => p,
                _ => {
                    let family = if addr.is_ipv4() { "IPv4" } else { "IPv6" };
                    return Err(format!(
                        "prefix length must be 0-{max} for {family}, got {text:?}"
                    ));
                }
            }
        }
    };
    if prefix == 0 {
        return Err(format!("{text:?} matches every address, {every_address}"));
    }
    if addr.is_unspecified() && prefix == max && !allow_unspecified {
        return Err(format!(
            "{text:?} is the unspecified address; no request comes from it"
        ));
    }
    let net = network(addr, prefix);
    if net != addr {
        return Err(format!(
            "{text:?} has bits set after the prefix; did you mean \"{net}/{prefix}\"?"
        ));
    }
    Ok(IpRange { addr, prefix })
}

/// A list of ranges read with `parse`, no duplicates.
pub(crate) fn range_list(
    ctx: &mut Ctx,
    key: &str,
    value: Value,
    parse: fn(&str) -> Result<IpRange, String>,
) -> Option<Vec<IpRange>> {
    let items = array(ctx, key, value)?;
    let mut ranges: Vec<(IpRange, String)> = Vec::new();
    let mut valid = true;
    for (item_key, item) in items {
        let Some(range) = parsed(ctx, &item_key, item, parse) else {
            valid = false;
            continue;
        };
        if let Some((_, first)) = ranges.iter().find(|(r, _)| *r == range) {
            ctx.error(&item_key, format!("duplicate of {first} (\"{range}\")"));
            valid = false;
            continue;
        }
        ranges.push((range, item_key));
    }
    valid.then(|| ranges.into_iter().map(|(r, _)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn range(text: &str) -> IpRange {
        text.parse().expect("valid range")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("valid IP")
    }

    #[test]
    fn a_bare_address_is_a_single_host() {
        let r = range("192.0.2.10");
        assert_eq!(r, IpRange::host(ip("192.0.2.10")));
        assert_eq!(r.prefix, 32);
        assert!(r.contains(ip("192.0.2.10")));
        assert!(!r.contains(ip("192.0.2.11")));
        assert_eq!(r.to_string(), "192.0.2.10");
        assert_eq!(range("2001:db8::1").prefix, 128);
        assert_eq!(range("2001:db8::1").to_string(), "2001:db8::1");
    }

    #[test]
    fn cidr_ranges_match_their_prefix() {
        let r = range("198.51.100.0/24");
        assert!(r.contains(ip("198.51.100.0")));
        assert!(r.contains(ip("198.51.100.255")));
        assert!(!r.contains(ip("198.51.101.0")));
        assert!(!r.contains(ip("2001:db8::1")));
        assert_eq!(r.to_string(), "198.51.100.0/24");
        let r = range("0.0.0.0/1");
        assert!(r.contains(ip("127.255.255.255")));
        assert!(!r.contains(ip("128.0.0.0")));
        assert!(range("128.0.0.0/1").contains(ip("255.255.255.255")));
        let r = range("2001:db8::/32");
        assert!(r.contains(ip("2001:db8:ffff::1")));
        assert!(!r.contains(ip("2001:db9::1")));
        assert!(!r.contains(ip("198.51.100.1")));
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        let r = range("192.0.2.0/24");
        assert!(r.contains(ip("::ffff:192.0.2.7")));
        assert!(!r.contains(ip("::ffff:192.0.3.7")));
        assert!(range("::ffff:192.0.2.7").contains(ip("::ffff:192.0.2.7")));
    }

    #[test]
    fn an_out_of_range_prefix_built_by_hand_counts_as_full_length() {
        let r = IpRange {
            addr: ip("192.0.2.1"),
            prefix: 200,
        };
        assert!(r.contains(ip("192.0.2.1")));
        assert!(!r.contains(ip("192.0.2.2")));
        assert_eq!(r.to_string(), "192.0.2.1");
    }

    #[test]
    fn rejects_bad_ranges() {
        let cases = [
            (
                "pbx.example.com",
                "expected an IP address or a CIDR range like \"192.0.2.10\" or \"198.51.100.0/24\", got \"pbx.example.com\"",
            ),
            (
                "192.0.2.1:5060",
                "expected an IP address or a CIDR range like \"192.0.2.10\" or \"198.51.100.0/24\", got \"192.0.2.1:5060\"",
            ),
            (
                "10.0.0.0/33",
                "prefix length must be 0-32 for IPv4, got \"10.0.0.0/33\"",
            ),
            (
                "10.0.0.0/",
                "prefix length must be 0-32 for IPv4, got \"10.0.0.0/\"",
            ),
            (
                "10.0.0.0/+8",
                "prefix length must be 0-32 for IPv4, got \"10.0.0.0/+8\"",
            ),
            (
                "2001:db8::/129",
                "prefix length must be 0-128 for IPv6, got \"2001:db8::/129\"",
            ),
            (
                "10.0.0.5/8",
                "\"10.0.0.5/8\" has bits set after the prefix; did you mean \"10.0.0.0/8\"?",
            ),
            (
                "2001:db8::1/32",
                "\"2001:db8::1/32\" has bits set after the prefix; did you mean \"2001:db8::/32\"?",
            ),
            (
                "0.0.0.0/0",
                "\"0.0.0.0/0\" matches every address, which would let anyone place calls through \
                 the gateway; list the addresses of Asterisk",
            ),
            (
                "::/0",
                "\"::/0\" matches every address, which would let anyone place calls through the \
                 gateway; list the addresses of Asterisk",
            ),
            (
                "0.0.0.0",
                "\"0.0.0.0\" is the unspecified address; no request comes from it",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<IpRange>(), Err(expected.to_owned()), "{text}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(text in "[0-9a-f:./]{0,45}") {
            let _ = text.parse::<IpRange>();
        }

        /// A parsed range contains its own network address, and printing it parses back to it.
        #[test]
        fn parse_of_display_is_identity(bits in any::<u32>(), prefix in 1u8..=32) {
            let net = std::net::Ipv4Addr::from(bits & v4_mask(prefix));
            let r: IpRange = format!("{net}/{prefix}").parse().expect("valid");
            prop_assert!(r.contains(IpAddr::V4(net)));
            prop_assert_eq!(r.to_string().parse::<IpRange>(), Ok(r));
        }
    }

    #[test]
    fn deny_ranges_allow_the_unspecified_address_but_not_everything() {
        assert_eq!(
            parse_deny_range("0.0.0.0"),
            Ok(IpRange::host(ip("0.0.0.0")))
        );
        assert_eq!(
            parse_deny_range("10.0.0.0/8"),
            Ok(IpRange {
                addr: ip("10.0.0.0"),
                prefix: 8
            })
        );
        assert_eq!(
            parse_deny_range("::/0"),
            Err("\"::/0\" matches every address, so no call could ever connect".to_owned())
        );
        assert_eq!(
            parse_deny_range("10.0.0.1/8"),
            Err(
                "\"10.0.0.1/8\" has bits set after the prefix; did you mean \"10.0.0.0/8\"?"
                    .to_owned()
            )
        );
    }
}
