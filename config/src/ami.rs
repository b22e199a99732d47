//! `[ami]`: the Asterisk Manager Interface servers the gateway logs in to, and how click-to-call
//! originates calls through them. Event forwarding rules are in `ami_forward.rs`.

use std::time::Duration;

use toml::Value;

use crate::Secret;
use crate::ami_forward::{self, ForwardRule};
use crate::duration::{format_duration, parse_duration};
use crate::origin::split_host_port;
use crate::raw::{Ctx, Table, array, boolean, parsed, secret, string, table};
use crate::sip::checked_string;
use crate::sip_inbound::options_interval;

/// Default `ami.originate_channel`.
pub const DEFAULT_ORIGINATE_CHANNEL: &str = "PJSIP/{user}@gateway";
/// Default `ami.originate_context`.
pub const DEFAULT_ORIGINATE_CONTEXT: &str = "from-gateway";
/// Default `ami.originate_timeout`.
pub const DEFAULT_ORIGINATE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `ami.servers[].ping_interval`.
pub const DEFAULT_AMI_PING_INTERVAL: Duration = Duration::from_secs(10);

/// `[ami]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmiConfig {
    /// Servers to connect to (`[[ami.servers]]`); names are unique.
    pub servers: Vec<AmiServer>,
    /// Channel that click-to-call rings first; `{user}` is replaced by the gateway user's SIP name.
    pub originate_channel: String,
    /// Dialplan context where Asterisk dials the number once that channel answers.
    pub originate_context: String,
    /// How long the first leg of a click-to-call may ring.
    pub originate_timeout: Duration,
    /// Which AMI events go to which Odoo methods (`[[ami.forward]]`), in file order.
    pub forward: Vec<ForwardRule>,
}

impl Default for AmiConfig {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            originate_channel: DEFAULT_ORIGINATE_CHANNEL.to_owned(),
            originate_context: DEFAULT_ORIGINATE_CONTEXT.to_owned(),
            originate_timeout: DEFAULT_ORIGINATE_TIMEOUT,
            forward: Vec::new(),
        }
    }
}

impl AmiConfig {
    /// The server called `name`.
    pub fn server(&self, name: &str) -> Option<&AmiServer> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// `originate_channel` with `{user}` replaced by `user`.
    pub fn originate_channel_for(&self, user: &str) -> String {
        self.originate_channel.replace("{user}", user)
    }
}

/// One `[[ami.servers]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmiServer {
    /// Name used in logs, the HTTP API path and `--server`: letters, digits, `-` and `_`.
    pub name: String,
    /// `host:port` of the manager interface (Asterisk's default port is 5038).
    pub address: String,
    /// `manager.conf` user.
    pub username: String,
    /// `manager.conf` secret.
    pub secret: Secret,
    /// Log in with the MD5 challenge instead of sending the secret.
    pub md5: bool,
    /// Interval of `Ping` liveness checks; `None` disables them.
    pub ping_interval: Option<Duration>,
}

/// Reads `[ami]`; `odoo` says whether `[odoo]` is configured (forwarded events go there).
pub(crate) fn build(mut t: Table, ctx: &mut Ctx, odoo: bool) -> AmiConfig {
    let d = AmiConfig::default();
    let servers_key = t.path_of("servers");
    let servers = t.get(ctx, "servers", d.servers, servers);
    let servers_valid = !ctx.errors_under(&servers_key);
    let originate_channel = t.get(ctx, "originate_channel", d.originate_channel, channel);
    let originate_context = t.get(
        ctx,
        "originate_context",
        d.originate_context,
        |ctx, key, v| {
            checked_string(
                ctx,
                key,
                v,
                |s| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control()),
                "a dialplan context name",
            )
        },
    );
    let originate_timeout = t.get(
        ctx,
        "originate_timeout",
        d.originate_timeout,
        |ctx, key, v| {
            let max = Duration::from_secs(600);
            parsed(ctx, key, v, |text| match parse_duration(text) {
                Ok(d) if d.is_zero() || d > max => Err(format!(
                    "must be greater than zero and at most {}, got {text:?}",
                    format_duration(max)
                )),
                Ok(d) => Ok(d),
                Err(e) => Err(e.to_string()),
            })
        },
    );
    let forward_key = t.path_of("forward");
    let names: Option<Vec<&str>> =
        servers_valid.then(|| servers.iter().map(|s| s.name.as_str()).collect());
    let forward = t.get(ctx, "forward", d.forward, |ctx, key, value| {
        ami_forward::rules(ctx, key, value, names.as_deref())
    });
    if !forward.is_empty() {
        if !odoo {
            ctx.error(
                &forward_key,
                "rules deliver events to Odoo, but odoo.url is empty",
            );
        }
        if servers.is_empty() && servers_valid {
            ctx.error(&forward_key, "rules need ami.servers to take events from");
        }
    }
    t.finish(ctx);
    AmiConfig {
        servers,
        originate_channel,
        originate_context,
        originate_timeout,
        forward,
    }
}

/// `ami.servers`: an array of server tables with unique names.
fn servers(ctx: &mut Ctx, key: &str, value: Value) -> Option<Vec<AmiServer>> {
    let items = array(ctx, key, value)?;
    let mut servers: Vec<(AmiServer, String)> = Vec::new();
    for (item_key, item) in items {
        let Some(server) = server(ctx, &item_key, item) else {
            continue;
        };
        if let Some((_, first)) = servers.iter().find(|(s, _)| s.name == server.name) {
            ctx.error(
                &format!("{item_key}.name"),
                format!("{:?} is already the name of {first}", server.name),
            );
            continue;
        }
        servers.push((server, item_key));
    }
    Some(servers.into_iter().map(|(s, _)| s).collect())
}

/// One server table; `None` when anything in it is invalid (already reported).
fn server(ctx: &mut Ctx, key: &str, value: Value) -> Option<AmiServer> {
    let mut t = Table::new(key, table(ctx, key, value)?);
    let name = t.get(ctx, "name", None, |ctx, key, v| {
        checked_string(
            ctx,
            key,
            v,
            |s| {
                (1..=64).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            },
            "a name of letters, digits, '-' and '_' (at most 64)",
        )
        .map(Some)
    });
    let address = t.get(ctx, "address", None, |ctx, key, v| {
        checked_string(
            ctx,
            key,
            v,
            |s| matches!(split_host_port(s), Some((_, Some(_)))),
            "an address like \"127.0.0.1:5038\" or \"pbx.example.com:5038\"",
        )
        .map(Some)
    });
    let username = t.get(ctx, "username", None, |ctx, key, v| {
        checked_string(
            ctx,
            key,
            v,
            |s| !s.trim().is_empty() && !s.chars().any(char::is_control),
            "a manager.conf user name",
        )
        .map(Some)
    });
    let secret = t.get(ctx, "secret", None, |ctx, key, v| {
        let secret = secret(ctx, key, v)?;
        if secret.is_empty() {
            ctx.error(key, "must not be empty");
            None
        } else if secret.expose().chars().any(char::is_control) {
            // A line break would end the Login action early: AMI header injection.
            ctx.error(key, "must not contain control characters or line breaks");
            None
        } else {
            Some(Some(secret))
        }
    });
    let md5 = t.get(ctx, "md5", false, boolean);
    let ping_interval = t.get(
        ctx,
        "ping_interval",
        Some(DEFAULT_AMI_PING_INTERVAL),
        options_interval,
    );
    let fields_valid = !ctx.errors_under(key);
    let present = [
        ("name", name.is_some()),
        ("address", address.is_some()),
        ("username", username.is_some()),
        ("secret", secret.is_some()),
    ];
    for (field, present) in present {
        let field_key = t.path_of(field);
        if !present && !ctx.has_error(&field_key) {
            ctx.error(
                &field_key,
                "missing: each AMI server needs name, address, username and secret",
            );
        }
    }
    t.finish(ctx);
    if !fields_valid {
        return None;
    }
    Some(AmiServer {
        name: name?,
        address: address?,
        username: username?,
        secret: secret?,
        md5,
        ping_interval,
    })
}

/// `ami.originate_channel`: one `{user}` placeholder and no other `{...}`, no control characters.
fn channel(ctx: &mut Ctx, key: &str, value: Value) -> Option<String> {
    let text = string(ctx, key, value)?;
    let without_user = text.replace("{user}", "");
    let problem = if !text.contains("{user}") {
        Some("must contain {user}, replaced by the user to ring")
    } else if without_user.contains(['{', '}']) {
        Some("has a placeholder other than {user}")
    } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("must not contain spaces or control characters")
    } else {
        None
    };
    match problem {
        Some(problem) => {
            ctx.error(key, format!("{problem}, got {text:?}"));
            None
        }
        None => Some(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn ami(toml: &str) -> AmiConfig {
        Config::from_toml_str(toml, []).expect("valid").ami
    }

    fn ami_errors(toml: &str) -> String {
        Config::from_toml_str(toml, [])
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn defaults() {
        let a = AmiConfig::default();
        assert!(a.servers.is_empty());
        assert!(a.forward.is_empty());
        assert_eq!(a.originate_channel, "PJSIP/{user}@gateway");
        assert_eq!(a.originate_channel_for("alice"), "PJSIP/alice@gateway");
        assert_eq!(a.originate_context, "from-gateway");
        assert_eq!(a.originate_timeout, Duration::from_secs(30));
        assert_eq!(a.server("pbx"), None);
    }

    #[test]
    fn servers_and_originate_keys_are_read() {
        let a = ami(r#"
            [ami]
            originate_channel = "Local/{user}@click-to-call"
            originate_context = "outbound"
            originate_timeout = "45s"
            [[ami.servers]]
            name = "pbx"
            address = "127.0.0.1:5038"
            username = "gateway"
            secret = "ami-secret-1"
            [[ami.servers]]
            name = "pbx-2"
            address = "[2001:db8::5]:5038"
            username = "gw"
            secret = "ami-secret-2"
            md5 = true
            ping_interval = "0s"
        "#);
        assert_eq!(a.servers.len(), 2);
        let pbx = a.server("pbx").expect("pbx");
        assert_eq!(pbx.address, "127.0.0.1:5038");
        assert_eq!(pbx.username, "gateway");
        assert_eq!(pbx.secret.expose(), "ami-secret-1");
        assert!(!pbx.md5);
        assert_eq!(pbx.ping_interval, Some(Duration::from_secs(10)));
        let pbx2 = a.server("pbx-2").expect("pbx-2");
        assert!(pbx2.md5);
        assert_eq!(pbx2.ping_interval, None);
        assert_eq!(a.originate_channel_for("1001"), "Local/1001@click-to-call");
        assert_eq!(a.originate_context, "outbound");
        assert_eq!(a.originate_timeout, Duration::from_secs(45));
    }

    #[test]
    fn server_rules() {
        let text = ami_errors(
            r#"
            [[ami.servers]]
            name = "pbx"
            address = "127.0.0.1:5038"
            username = "gw"
            secret = "s"
            [[ami.servers]]
            name = "pbx"
            address = "127.0.0.1:5039"
            username = "gw"
            secret = "s"
            [[ami.servers]]
            name = "a b"
            address = "127.0.0.1"
            username = ""
            secret = ""
            md5 = "yes"
            ping_interval = "500ms"
            [[ami.servers]]
            address = "pbx.example.com:5038"
            [[ami.servers]]
            name = "x"
            address = "pbx:5038"
            username = "u"
            secret = "line1\r\nAction: Originate"
            extra = 1
            "#,
        );
        assert_eq!(
            text,
            "ami.servers[1].name: \"pbx\" is already the name of ami.servers[0]\n\
             ami.servers[2].name: expected a name of letters, digits, '-' and '_' (at most 64), got \"a b\"\n\
             ami.servers[2].address: expected an address like \"127.0.0.1:5038\" or \"pbx.example.com:5038\", got \"127.0.0.1\"\n\
             ami.servers[2].username: expected a manager.conf user name, got \"\"\n\
             ami.servers[2].secret: must not be empty\n\
             ami.servers[2].md5: expected true or false, got string \"yes\"\n\
             ami.servers[2].ping_interval: must be \"0s\" (disabled) or at least 1s, got \"500ms\"\n\
             ami.servers[3].name: missing: each AMI server needs name, address, username and secret\n\
             ami.servers[3].username: missing: each AMI server needs name, address, username and secret\n\
             ami.servers[3].secret: missing: each AMI server needs name, address, username and secret\n\
             ami.servers[4].secret: must not contain control characters or line breaks\n\
             ami.servers[4].extra: unknown key"
        );
        assert!(!text.contains("Originate"), "{text}");
        assert_eq!(
            ami_errors("[ami]\nservers = { name = \"pbx\" }"),
            "ami.servers: expected an array, got a table"
        );
    }

    #[test]
    fn originate_rules() {
        let cases = [
            (
                "originate_channel = \"PJSIP/gateway\"",
                "ami.originate_channel: must contain {user}, replaced by the user to ring, got \"PJSIP/gateway\"",
            ),
            (
                "originate_channel = \"PJSIP/{user}@{trunk}\"",
                "ami.originate_channel: has a placeholder other than {user}, got \"PJSIP/{user}@{trunk}\"",
            ),
            (
                "originate_channel = \"PJSIP/{user} x\"",
                "ami.originate_channel: must not contain spaces or control characters, got \"PJSIP/{user} x\"",
            ),
            (
                "originate_context = \"\"",
                "ami.originate_context: expected a dialplan context name, got \"\"",
            ),
            (
                "originate_timeout = \"0s\"",
                "ami.originate_timeout: must be greater than zero and at most 10m, got \"0s\"",
            ),
        ];
        for (toml, expected) in cases {
            assert_eq!(ami_errors(&format!("[ami]\n{toml}")), expected, "{toml}");
        }
    }

    /// `[[ami.servers]]` cannot be written as one variable per field from nothing (an array has no
    /// names), but a whole array can be set in one variable and its secrets in others.
    #[test]
    fn servers_from_the_environment() {
        let c = Config::from_toml_str(
            "[[ami.servers]]\nname = \"pbx\"\naddress = \"127.0.0.1:5038\"\nusername = \"gw\"\nsecret = \"from-file\"",
            env(&[
                ("WEBRTC_GATEWAY__AMI__SERVERS__0__SECRET", "from-env-271828"),
                ("WEBRTC_GATEWAY__AMI__SERVERS__0__MD5", "true"),
                ("WEBRTC_GATEWAY__AMI__ORIGINATE_CONTEXT", "ctx"),
            ]),
        )
        .expect("valid");
        let pbx = c.ami.server("pbx").expect("pbx");
        assert_eq!(pbx.secret.expose(), "from-env-271828");
        assert!(pbx.md5);
        assert_eq!(c.ami.originate_context, "ctx");
        assert!(!format!("{c:?}").contains("from-env-271828"));

        let c = Config::from_toml_str(
            "",
            env(&[
                (
                    "WEBRTC_GATEWAY__AMI__SERVERS",
                    "[{ name = \"pbx\", address = \"10.0.0.2:5038\", username = \"gw\" }]",
                ),
                ("WEBRTC_GATEWAY__AMI__SERVERS__0__SECRET", "31415"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.ami.servers[0].secret.expose(), "31415");

        let e = Config::from_toml_str(
            "",
            env(&[
                (
                    "WEBRTC_GATEWAY__AMI__SERVERS",
                    "[{ name = \"pbx\", address = \"10.0.0.2:5038\", username = \"gw\" }]",
                ),
                ("WEBRTC_GATEWAY__AMI__SERVERS__0__SECRET", ""),
                ("WEBRTC_GATEWAY__AMI__SERVERS__1__SECRET", "x"),
            ]),
        )
        .expect_err("invalid");
        assert_eq!(
            e.to_string(),
            "ami.servers: has 1 entries, so WEBRTC_GATEWAY__AMI__SERVERS__1__SECRET names one that \
             does not exist (set the whole array from one variable first)\n\
             ami.servers[0].secret: must not be empty (set by WEBRTC_GATEWAY__AMI__SERVERS__0__SECRET)"
        );
    }
}
