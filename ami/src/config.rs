//! Configuration of one AMI server connection (`[[ami.servers]]`).

use std::time::Duration;

use crate::frame::Limits;

/// A secret (AMI password) that never shows in `Debug` or logs.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself; only for putting it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How to reach and keep one Asterisk Manager Interface.
#[derive(Debug, Clone)]
pub struct AmiConfig {
    /// Server name used in logs, errors and the API (`[[ami.servers]] name`).
    pub name: String,
    /// `host:port`, e.g. `127.0.0.1:5038`.
    pub address: String,
    /// `manager.conf` user.
    pub username: String,
    /// `manager.conf` secret.
    pub secret: Secret,
    /// Log in with the MD5 challenge (`Action: Challenge`, then `Key: md5(challenge + secret)`).
    pub md5: bool,
    /// The Login `Events:` value (`on`, `off`, or a class list such as `call,system`).
    pub events: String,
    /// How often to send `Ping`; `None` disables liveness checks.
    pub ping_interval: Option<Duration>,
    /// A `Ping` unanswered after this long means the connection is dead (half-open TCP): reconnect.
    pub ping_timeout: Duration,
    /// Default time limit for an action's reply (events of a list included).
    pub action_timeout: Duration,
    /// Time limit for TCP connect, and for banner + login.
    pub connect_timeout: Duration,
    /// First reconnect delay (before jitter).
    pub reconnect_min: Duration,
    /// Largest reconnect delay (before jitter).
    pub reconnect_max: Duration,
    /// Framing limits.
    pub limits: Limits,
    /// Capacity of the event broadcast channel (a subscriber lagging further loses the oldest events).
    pub event_buffer: usize,
}

impl AmiConfig {
    /// A configuration with the defaults: events on, ping every 10 s (5 s timeout), 10 s action timeout,
    /// 5 s connect timeout, reconnect between 0.5 s and 30 s.
    pub fn new(
        name: impl Into<String>,
        address: impl Into<String>,
        username: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Self {
        Self {
            name: name.into(),
            address: address.into(),
            username: username.into(),
            secret: secret.into(),
            md5: false,
            events: "on".into(),
            ping_interval: Some(Duration::from_secs(10)),
            ping_timeout: Duration::from_secs(5),
            action_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            limits: Limits::default(),
            event_buffer: 4096,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let cfg = AmiConfig::new("pbx", "127.0.0.1:5038", "odoo", "odoo-secret");
        assert!(!format!("{cfg:?}").contains("odoo-secret"));
    }
}
