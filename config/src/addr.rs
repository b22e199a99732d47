//! Addresses: listeners, and the IPs advertised to peers, which default to a listener's IP.

use std::net::{IpAddr, SocketAddr};

use crate::raw::{Ctx, parsed};

/// Parses `"ip:port"` (`"[v6]:port"` for IPv6), naming what was expected.
pub(crate) fn socket_addr(ctx: &mut Ctx, key: &str, value: toml::Value) -> Option<SocketAddr> {
    parsed(ctx, key, value, |text| {
        text.parse::<SocketAddr>().map_err(|_| {
            format!("expected an address like \"127.0.0.1:8080\" or \"[::1]:8080\", got {text:?}")
        })
    })
}

/// Parses an IP address that peers will be sent; `""` means "not set".
/// `0.0.0.0` and `::` are rejected: a peer cannot send anything to them.
pub(crate) fn advertised_ip(
    ctx: &mut Ctx,
    key: &str,
    value: toml::Value,
) -> Option<Option<IpAddr>> {
    parsed(ctx, key, value, |text| {
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<IpAddr>() {
            Ok(ip) if ip.is_unspecified() => Err(format!(
                "{ip} is an unspecified address; give the address peers should send to"
            )),
            Ok(ip) => Ok(Some(ip)),
            Err(_) => Err(format!(
                "expected an IP address like \"192.0.2.10\" (or \"\" for none), got {text:?}"
            )),
        }
    })
}

/// The IP to advertise: `explicit` if set, else the IP of the listener `listen_key`.
/// `listen` is `None` when the listener itself was invalid (already reported).
pub(crate) fn resolve_ip(
    ctx: &mut Ctx,
    key: &str,
    explicit: Option<IpAddr>,
    listen_key: &str,
    listen: Option<SocketAddr>,
    fallback: IpAddr,
) -> IpAddr {
    match (explicit, listen) {
        (Some(ip), _) => ip,
        (None, Some(listen)) if listen.ip().is_unspecified() => {
            ctx.error(
                key,
                format!(
                    "is empty and {listen_key} ({listen}) listens on all addresses; \
                     set {key} to the address peers should send to"
                ),
            );
            fallback
        }
        (None, Some(listen)) => listen.ip(),
        (None, None) => fallback,
    }
}
