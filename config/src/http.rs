//! `[http]`: the listener for the signaling WebSocket, the page and the health check.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::addr::socket_addr;
use crate::raw::{Ctx, Table};

/// Default `http.listen`.
pub const DEFAULT_HTTP_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// `[http]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Address serving `GET /ws` (signaling), `GET /` (page) and `/healthz`.
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_HTTP_LISTEN,
        }
    }
}

pub(crate) fn build(mut t: Table, ctx: &mut Ctx) -> HttpConfig {
    let listen = t.get(ctx, "listen", DEFAULT_HTTP_LISTEN, socket_addr);
    t.finish(ctx);
    HttpConfig { listen }
}

#[cfg(test)]
mod tests {
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
}
