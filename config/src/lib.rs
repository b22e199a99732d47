//! Typed configuration for webrtc-gateway.
//!
//! One TOML file (or the embedded defaults), overridden by `WEBRTC_GATEWAY__<SECTION>__<KEY>`
//! environment variables, parsed into a validated [`Config`]. Loading reports every problem at once,
//! each with the key it concerns; secrets are never part of an error or a `Debug` print.

mod addr;
mod ami;
mod ami_forward;
mod auth;
mod duration;
mod env;
mod error;
mod http;
mod ip_range;
mod limits;
mod log;
mod media;
mod odoo;
mod origin;
mod pattern;
mod proxy;
mod raw;
mod secret;
mod sip;
mod sip_inbound;
mod sip_policy;
mod sip_users;
mod storage;
mod turn;
mod video;
mod webrtc;

use std::path::Path;

pub use ami::{
    AmiConfig, AmiServer, DEFAULT_AMI_PING_INTERVAL, DEFAULT_ORIGINATE_CHANNEL,
    DEFAULT_ORIGINATE_CONTEXT, DEFAULT_ORIGINATE_TIMEOUT,
};
pub use ami_forward::{Condition, DeliveryPolicy, ForwardRule};
pub use auth::{AuthConfig, DEFAULT_TOKEN_LEEWAY, MAX_TOKEN_LEEWAY, MIN_TOKEN_SECRET_LEN};
pub use duration::{DurationError, format_duration, parse_duration};
pub use env::ENV_PREFIX;
pub use error::{ConfigError, ConfigErrors};
pub use http::{
    DEFAULT_HTTP_LISTEN, DEFAULT_MAX_SESSIONS, DEFAULT_RESUME_GRACE, HttpConfig, MAX_RESUME_GRACE,
    MIN_API_KEY_LEN, TlsFiles,
};
pub use ip_range::IpRange;
pub use limits::LimitsConfig;
pub use log::{DEFAULT_LOG_LEVEL, LogConfig, LogFormat};
pub use media::{
    AudioCodec, DEFAULT_ECHO_NUMBER, MIN_RTP_PORT, MIN_RTP_PORTS, MediaConfig, PortRange,
};
pub use odoo::{
    DEFAULT_ODOO_BATCH_SIZE, DEFAULT_ODOO_TIMEOUT, MAX_ODOO_TIMEOUT, OdooConfig, OdooCredential,
};
pub use origin::Origin;
pub use pattern::Pattern;
pub use proxy::{DEFAULT_SIP_PORT, ProxyUriError, SipProxy};
pub use secret::Secret;
pub use sip::{DEFAULT_SIP_LISTEN, SipConfig, SipTimers, SipTransport, default_user_agent};
pub use sip_inbound::{
    DEFAULT_OPTIONS_INTERVAL, DEFAULT_REGISTER_EXPIRES, DEFAULT_UNREGISTER_GRACE,
    MAX_REGISTER_EXPIRES, MIN_OPTIONS_INTERVAL, MIN_REGISTER_EXPIRES,
};
pub use sip_policy::{
    DEFAULT_ALLOWED_NUMBERS, DEFAULT_BLOCK_FOR, DEFAULT_MAX_CALLS_PER_USER,
    DEFAULT_RATE_LIMIT_PER_IP, DEFAULT_SESSION_TIMER, MIN_SESSION_TIMER,
};
pub use sip_users::SipUser;
pub use storage::{DEFAULT_DATA_DIR, StorageConfig};
pub use turn::{DEFAULT_TURN_TTL, MAX_TURN_TTL, MIN_TURN_TTL, TurnConfig};
pub use video::{DEFAULT_MAX_VIDEO_KBPS, MAX_VIDEO_KBPS, MIN_VIDEO_KBPS, VideoCodec};
pub use webrtc::{ICE_URL_SCHEMES, IceServer, WebrtcConfig};

use raw::{Ctx, Table};

/// The whole gateway configuration, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// `[http]`: signaling WebSocket, page, HTTP API and who may use them.
    pub http: HttpConfig,
    /// `[webrtc]`: ICE, TURN credentials, candidate filtering.
    pub webrtc: WebrtcConfig,
    /// `[sip]`: the user agent toward Asterisk.
    pub sip: SipConfig,
    /// `[media]`: RTP toward Asterisk.
    pub media: MediaConfig,
    /// `[auth]`: signaling users.
    pub auth: AuthConfig,
    /// `[log]`: tracing output.
    pub log: LogConfig,
    /// `[storage]`: files on disk (the outbox).
    pub storage: StorageConfig,
    /// `[odoo]`: where calls are reported; `None` unless `odoo.url` is set.
    pub odoo: Option<OdooConfig>,
    /// `[ami]`: Asterisk Manager Interface servers, click-to-call, event forwarding.
    pub ami: AmiConfig,
    /// `[limits]`: message sizes and connection rates.
    pub limits: LimitsConfig,
}

impl Config {
    /// Loads `path` (or the embedded defaults when `None`) with overrides from `env`
    /// (pass `std::env::vars()`), reporting every problem found.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        let Some(path) = path else {
            return Self::from_source("", "<defaults>", env);
        };
        let origin = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_source(&text, &origin, env),
            Err(e) => Err(ConfigErrors::from(vec![ConfigError::new(
                origin,
                format!("cannot read the configuration file: {e}"),
            )])),
        }
    }

    /// Parses TOML text with overrides from `env`, reporting every problem found.
    pub fn from_toml_str(
        toml: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        Self::from_source(toml, "<toml>", env)
    }

    /// `origin` names the text in a syntax error (the file path).
    fn from_source(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        let mut root: toml::Table = text
            .parse()
            .map_err(|e| ConfigErrors::from(vec![syntax_error(origin, text, &e)]))?;
        let mut errors = Vec::new();
        let origins = env::apply(&mut root, env, &mut errors);
        let mut ctx = Ctx::new(errors, origins);
        let config = build(Table::new("", root), &mut ctx);
        let errors = ctx.into_errors();
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors::from(errors))
        }
    }
}

/// Builds every section; problems go to `ctx` and the affected values fall back to defaults.
fn build(mut root: Table, ctx: &mut Ctx) -> Config {
    let http = http::build(root.table(ctx, "http"), ctx);
    let http_listen = (!ctx.has_error("http.listen")).then_some(http.listen);
    let webrtc = webrtc::build(root.table(ctx, "webrtc"), ctx, http_listen);
    let sip = sip::build(root.table(ctx, "sip"), ctx);
    let sip_listen = (!ctx.has_error("sip.listen")).then_some(sip.listen);
    let media = media::build(root.table(ctx, "media"), ctx, sip_listen);
    let auth = auth::build(root.table(ctx, "auth"), ctx);
    let log = log::build(root.table(ctx, "log"), ctx);
    let storage = storage::build(root.table(ctx, "storage"), ctx);
    let odoo = odoo::build(root.table(ctx, "odoo"), ctx, !sip.users.is_empty());
    let odoo_set = odoo.is_some() || ctx.errors_under("odoo");
    let ami = ami::build(root.table(ctx, "ami"), ctx, odoo_set);
    let limits = limits::build(root.table(ctx, "limits"), ctx);
    root.finish(ctx);
    Config {
        http,
        webrtc,
        sip,
        media,
        auth,
        log,
        storage,
        odoo,
        ami,
        limits,
    }
}

/// `line L, column C: <message>` on one line; the source text is not quoted, as it may hold secrets.
fn syntax_error(origin: &str, text: &str, error: &toml::de::Error) -> ConfigError {
    let message = error
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let location = match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!(" at line {line}, column {column}")
        }
        None => String::new(),
    };
    ConfigError::new(origin, format!("TOML syntax error{location}: {message}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn errors(toml: &str, vars: &[(&str, &str)]) -> ConfigErrors {
        Config::from_toml_str(toml, env(vars)).expect_err("configuration should be rejected")
    }

    #[test]
    fn empty_file_and_no_file_give_the_defaults() {
        assert_eq!(Config::from_toml_str("", []), Ok(Config::default()));
        assert_eq!(Config::load(None, []), Ok(Config::default()));
    }

    #[test]
    fn default_values() {
        let c = Config::default();
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(c.http.listen, SocketAddr::new(localhost, 8080));
        assert!(c.webrtc.ice_servers.is_empty());
        assert_eq!(c.webrtc.public_ip, None);
        assert_eq!(c.webrtc.host_ip, localhost);
        assert_eq!(c.sip.listen, SocketAddr::new(localhost, 5080));
        assert_eq!(c.sip.transport, SipTransport::Udp);
        assert_eq!(c.sip.proxy.uri, "sip:127.0.0.1:5060");
        assert_eq!(c.sip.proxy.host_port(), "127.0.0.1:5060");
        assert_eq!(c.sip.domain, "127.0.0.1");
        assert_eq!(c.sip.username, "gateway");
        assert!(c.sip.password.is_empty());
        assert_eq!(c.sip.display_name, None);
        assert_eq!(
            c.sip.user_agent,
            format!("webrtc-gateway/{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            c.sip.timers,
            SipTimers {
                t1: Duration::from_millis(500),
                t2: Duration::from_secs(4),
                t4: Duration::from_secs(5)
            }
        );
        assert_eq!(
            c.media.rtp_ports,
            PortRange {
                start: 20000,
                end: 29999
            }
        );
        assert_eq!(
            c.media.sip_codecs,
            [AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma]
        );
        assert_eq!(c.media.rtp_timeout, Duration::from_secs(30));
        assert_eq!(c.media.ip, localhost);
        assert!(!c.sip.trunk);
        assert!(c.sip.trunk_sources.is_empty());
        assert_eq!(c.sip.register_expires, Duration::from_secs(300));
        assert_eq!(c.sip.unregister_grace, Duration::from_secs(30));
        assert_eq!(c.sip.options_interval, Some(Duration::from_secs(30)));
        assert!(c.sip.users.is_empty());
        assert!(c.auth.dev_tokens.is_empty());
        assert_eq!(c.log.level, "info");
        assert_eq!(c.log.format, LogFormat::Text);
        // Keys added for issues 4-10: off, empty, or the values the issues name.
        assert_eq!(c.http.resume_grace, Some(Duration::from_secs(20)));
        assert!(c.http.allowed_origins.is_empty() && c.http.api_keys.is_empty());
        assert_eq!(c.http.tls, None);
        assert_eq!(c.http.max_sessions, 10_000);
        assert_eq!(c.auth.token_secret, None);
        assert_eq!(c.auth.token_leeway, Duration::from_secs(30));
        assert_eq!(c.media.echo_number.as_deref(), Some("echo"));
        assert_eq!(c.media.max_video_kbps, 1500);
        assert_eq!(c.media.video_codecs, [VideoCodec::Vp8, VideoCodec::H264]);
        assert_eq!(c.webrtc.turn, None);
        assert!(c.webrtc.deny_candidates.is_empty());
        assert_eq!(c.sip.allowed_numbers.as_str(), "^[0-9+*#]{1,32}$");
        assert_eq!(c.sip.max_calls_per_user, 4);
        assert_eq!(c.sip.rate_limit_per_ip, Some(20));
        assert_eq!(c.sip.block_for, Some(Duration::from_secs(60)));
        assert_eq!(c.sip.session_timer, Some(Duration::from_secs(1800)));
        assert_eq!(c.storage.data_dir, std::path::PathBuf::from("./data"));
        assert_eq!(c.odoo, None);
        assert_eq!(c.ami, AmiConfig::default());
        assert!(c.ami.servers.is_empty() && c.ami.forward.is_empty());
        assert_eq!(
            (
                c.limits.max_sip_message,
                c.limits.max_json_frame,
                c.limits.max_sdp_line,
                c.limits.max_ami_line,
                c.limits.ws_connections_per_ip_per_min
            ),
            (65_535, 262_144, 4096, 32_768, Some(60))
        );
    }

    #[test]
    fn every_problem_is_reported_in_one_pass() {
        let e = errors(
            r#"
            typo_section = 1
            [http]
            listen = "nope"
            [sip]
            lisen = "127.0.0.1:5080"
            transport = "sctp"
            t1 = "fast"
            [media]
            rtp_ports = "abc"
            sip_codecs = []
            [log]
            format = "xml"
            "#,
            &[],
        );
        let keys: Vec<&str> = e.errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "http.listen",
                "sip.transport",
                "sip.t1",
                "sip.lisen",
                "media.rtp_ports",
                "media.sip_codecs",
                "log.format",
                "typo_section",
            ]
        );
        let text = e.to_string();
        assert!(
            text.contains("sip.lisen: unknown key (did you mean \"sip.listen\"?)"),
            "{text}"
        );
        assert!(
            text.contains("media.rtp_ports: expected \"START-END\", got \"abc\""),
            "{text}"
        );
        assert!(text.contains("typo_section: unknown key"), "{text}");
        assert_eq!(text.lines().count(), keys.len());
    }

    #[test]
    fn a_section_that_is_not_a_table_is_an_error() {
        assert_eq!(
            errors("sip = 5", &[]).to_string(),
            "sip: expected a table, got integer 5"
        );
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let e = errors("[sip]\npassword = \"hunter2\"\nlisten = = 1\n", &[]);
        assert_eq!(e.errors.len(), 1);
        let error = &e.errors[0];
        assert_eq!(error.key, "<toml>");
        assert!(
            error
                .message
                .starts_with("TOML syntax error at line 3, column 10: "),
            "{error}"
        );
        assert!(!error.message.contains('\n'));
        assert!(!error.message.contains("hunter2"));
    }

    #[test]
    fn env_overrides_a_scalar_and_wins_over_the_file() {
        let c = Config::from_toml_str(
            "[sip]\nusername = \"from-file\"",
            env(&[
                ("WEBRTC_GATEWAY__SIP__USERNAME", "from-env"),
                ("WEBRTC_GATEWAY__SIP__T1", "250ms"),
                ("WEBRTC_GATEWAY__HTTP__LISTEN", "127.0.0.1:9999"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.sip.username, "from-env");
        assert_eq!(c.sip.timers.t1, Duration::from_millis(250));
        assert_eq!(c.http.listen.port(), 9999);
    }

    #[test]
    fn env_numbers_for_string_keys_keep_their_text() {
        let c = Config::from_toml_str(
            "",
            env(&[
                ("WEBRTC_GATEWAY__SIP__PASSWORD", "007"),
                ("WEBRTC_GATEWAY__SIP__USERNAME", "1000"),
                ("WEBRTC_GATEWAY__AUTH__DEV_TOKENS__BOB", "1e3"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.sip.password.expose(), "007");
        assert_eq!(c.sip.username, "1000");
        assert_eq!(c.auth.user_for_token("1e3"), Some("bob"));
    }

    #[test]
    fn env_overrides_an_array_and_a_map_entry() {
        let c = Config::from_toml_str(
            "[auth]\ndev_tokens = { alice = \"alice-token\" }",
            env(&[
                ("WEBRTC_GATEWAY__MEDIA__SIP_CODECS", "[\"pcmu\"]"),
                ("WEBRTC_GATEWAY__AUTH__DEV_TOKENS__BOB", "tok"),
                (
                    "WEBRTC_GATEWAY__WEBRTC__ICE_SERVERS",
                    "[{ urls = [\"stun:stun.example.org:3478\"] }]",
                ),
            ]),
        )
        .expect("valid");
        assert_eq!(c.media.sip_codecs, [AudioCodec::Pcmu]);
        let users: Vec<&str> = c.auth.dev_tokens.keys().map(String::as_str).collect();
        assert_eq!(users, ["alice", "bob"]);
        assert_eq!(c.auth.user_for_token("tok"), Some("bob"));
        assert_eq!(c.webrtc.ice_servers[0].urls, ["stun:stun.example.org:3478"]);
    }

    #[test]
    fn env_errors_name_the_variable() {
        let e = errors(
            "",
            &[
                ("WEBRTC_GATEWAY__SIP__LISEN", "127.0.0.1:5080"),
                ("WEBRTC_GATEWAY__MEDIA__RTP_TIMEOUT", "0s"),
            ],
        );
        assert_eq!(
            e.to_string(),
            "sip.lisen: unknown key (did you mean \"sip.listen\"?) (set by WEBRTC_GATEWAY__SIP__LISEN)\n\
             media.rtp_timeout: must be greater than zero, got \"0s\" (set by WEBRTC_GATEWAY__MEDIA__RTP_TIMEOUT)"
        );
    }

    #[test]
    fn secrets_never_appear_in_debug_or_errors() {
        let c = Config::from_toml_str(
            r#"
            [sip]
            password = "sip-pass-123"
            [sip.users.bob]
            password = "bob-sip-pass-321"
            [auth]
            dev_tokens = { alice = "alice-tok-456" }
            token_secret = "jwt-secret-0123456789abcdef0123456789"
            [http]
            api_keys = ["api-key-0123456789"]
            [webrtc]
            turn = { urls = ["turn:t"], secret = "turn-rest-secret-1" }
            [[webrtc.ice_servers]]
            urls = ["turn:turn.example.org:3478"]
            username = "u"
            credential = "turn-cred-789"
            [odoo]
            url = "http://odoo:8069"
            database = "d"
            login = "l"
            api_key = "odoo-key-246"
            users_from_odoo = false
            [[ami.servers]]
            name = "pbx"
            address = "127.0.0.1:5038"
            username = "gw"
            secret = "ami-secret-135"
            "#,
            [],
        )
        .expect("valid");
        let debug = format!("{c:?} {c:#?}");
        for secret in [
            "sip-pass-123",
            "bob-sip-pass-321",
            "alice-tok-456",
            "turn-cred-789",
            "jwt-secret",
            "api-key-0123456789",
            "turn-rest-secret-1",
            "odoo-key-246",
            "ami-secret-135",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
        assert!(debug.contains("[redacted]"));

        let e = errors(
            "[sip]\npassword = [\"sip-pass-123\"]\n[[webrtc.ice_servers]]\nurls = [\"turn:t\"]\ncredential = 42424242\n",
            &[("WEBRTC_GATEWAY__AUTH__DEV_TOKENS", "[\"alice-tok-456\"]")],
        );
        let text = format!("{e} {e:?}");
        for secret in ["sip-pass-123", "alice-tok-456", "42424242"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(e.errors.len(), 3, "{text}");

        // The new secret keys: wrong types, too short, in the environment.
        let e = errors(
            "[auth]\ntoken_secret = \"jwt-short\"\n[http]\napi_keys = [\"api-short\", 98765432109876]\n\
             [webrtc]\nturn = { urls = [\"turn:t\"], secret = 11235813 }\n\
             [odoo]\nurl = \"http://o\"\ndatabase = \"d\"\nlogin = \"l\"\napi_key = \"odoo-k1\"\npassword = \"odoo-p2\"\n\
             [[ami.servers]]\nname = \"pbx\"\naddress = \"h:1\"\nusername = \"u\"\nsecret = [\"ami-s3\"]",
            &[("WEBRTC_GATEWAY__ODOO__API_KEY", "[\"odoo-env-k4\"]")],
        );
        let text = format!("{e} {e:?}");
        for secret in [
            "jwt-short",
            "api-short",
            "98765432109876",
            "11235813",
            "odoo-k1",
            "odoo-p2",
            "ami-s3",
            "odoo-env-k4",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(e.errors.len(), 6, "{text}");
    }

    #[test]
    fn load_reads_a_file_and_reports_a_missing_one() {
        let dir = std::env::temp_dir().join(format!("gateway-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("gateway.toml");
        std::fs::write(&path, "[log]\nlevel = \"debug\"\n[sip]\nlisten = \"bad\"").expect("write");
        let e = Config::load(Some(&path), []).expect_err("bad listen");
        assert!(e.has_key("sip.listen"));
        std::fs::write(&path, "[log]\nlevel = \"debug\"\n").expect("write");
        let c = Config::load(Some(&path), env(&[("WEBRTC_GATEWAY__LOG__FORMAT", "json")]))
            .expect("valid");
        assert_eq!(
            (c.log.level.as_str(), c.log.format),
            ("debug", LogFormat::Json)
        );
        std::fs::write(&path, "[log\n").expect("write");
        let e = Config::load(Some(&path), []).expect_err("syntax");
        assert_eq!(e.errors[0].key, path.display().to_string());
        std::fs::remove_dir_all(&dir).expect("cleanup");

        let missing = dir.join("missing.toml");
        let e = Config::load(Some(&missing), []).expect_err("missing");
        assert_eq!(e.errors[0].key, missing.display().to_string());
        assert!(
            e.errors[0]
                .message
                .starts_with("cannot read the configuration file: ")
        );
    }

    #[test]
    fn a_map_of_tokens_is_data_not_schema() {
        let c = Config::from_toml_str("[auth.dev_tokens]\n\"a.b\" = \"x\"\nlisten = \"y\"", [])
            .expect("user names are free-form");
        let expected: BTreeMap<String, Secret> = [
            ("a.b".to_owned(), Secret::new("x")),
            ("listen".to_owned(), Secret::new("y")),
        ]
        .into();
        assert_eq!(c.auth.dev_tokens, expected);
    }

    const KEYS: &[(&str, &[&str])] = &[
        (
            "http",
            &[
                "listen",
                "resume_grace",
                "allowed_origins",
                "api_keys",
                "tls_cert",
                "tls_key",
                "max_sessions",
            ],
        ),
        (
            "webrtc",
            &[
                "ice_servers",
                "public_ip",
                "host_ip",
                "turn",
                "deny_candidates",
            ],
        ),
        (
            "sip",
            &[
                "listen",
                "transport",
                "proxy",
                "domain",
                "username",
                "password",
                "display_name",
                "user_agent",
                "t1",
                "t2",
                "t4",
                "trunk",
                "trunk_sources",
                "register_expires",
                "unregister_grace",
                "options_interval",
                "users",
                "allowed_numbers",
                "max_calls_per_user",
                "rate_limit_per_ip",
                "block_for",
                "session_timer",
            ],
        ),
        (
            "media",
            &[
                "rtp_ports",
                "sip_codecs",
                "rtp_timeout",
                "ip",
                "echo_number",
                "max_video_kbps",
                "video_codecs",
            ],
        ),
        ("auth", &["dev_tokens", "token_secret", "token_leeway"]),
        ("log", &["level", "format"]),
        ("storage", &["data_dir"]),
        (
            "odoo",
            &[
                "url",
                "database",
                "login",
                "api_key",
                "password",
                "timeout",
                "batch_size",
                "users_from_odoo",
            ],
        ),
        (
            "ami",
            &[
                "servers",
                "originate_channel",
                "originate_context",
                "originate_timeout",
                "forward",
            ],
        ),
        (
            "limits",
            &[
                "max_sip_message",
                "max_json_frame",
                "max_sdp_line",
                "max_ami_line",
                "ws_connections_per_ip_per_min",
            ],
        ),
    ];

    fn value_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            ".{0,12}".prop_map(|s| format!("{s:?}")),
            any::<i64>().prop_map(|i| i.to_string()),
            Just("true".to_owned()),
            Just("[\"opus\", \"pcmu\"]".to_owned()),
            Just("[{ urls = [\"turn:x\"] }]".to_owned()),
            Just("{ a = \"b\" }".to_owned()),
            "[0-9]{1,6}-[0-9]{1,6}".prop_map(|s| format!("{s:?}")),
            "[0-9]{1,4}(ms|s|m|h)".prop_map(|s| format!("{s:?}")),
            "sip:[a-z0-9:;=\\[\\]@.]{0,16}".prop_map(|s| format!("{s:?}")),
            "[0-9a-f:./]{0,20}".prop_map(|s| format!("[{s:?}]")),
            Just("{ alice = { password = \"p\", username = \"1001\" } }".to_owned()),
            Just("{ a = { password = \"\" }, b = { username = \"a\", password = 5 } }".to_owned()),
            Just(
                "[{ name = \"pbx\", address = \"h:1\", username = \"u\", secret = \"s\" }]"
                    .to_owned()
            ),
            Just(
                "[{ event = \"Cdr\", model = \"m\", method = \"f\", where = { A = \"re:(\" } }]"
                    .to_owned()
            ),
            Just("{ urls = [\"turn:t\"], secret = \"s\", ttl = \"2h\" }".to_owned()),
            "(ttl:|re:|https?://)[a-z0-9:./\\[\\](]{0,12}".prop_map(|s| format!("{s:?}")),
        ]
    }

    proptest! {
        /// Arbitrary text must give `Ok` or `Err`, never a panic.
        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = Config::from_toml_str(&text, []);
        }

        /// Well-formed TOML with real keys and random values exercises every validator.
        #[test]
        fn never_panics_on_random_values(
            picks in proptest::collection::vec((0usize..KEYS.len(), 0usize..22, value_strategy()), 0..8),
            env_value in value_strategy(),
        ) {
            let mut text = String::new();
            for (section, key, value) in &picks {
                let (name, keys) = KEYS[*section];
                let key = keys[key % keys.len()];
                text.push_str(&format!("[{name}]\n{key} = {value}\n"));
            }
            // Repeated sections are a TOML error; that path is fine too.
            let vars = env(&[
                ("WEBRTC_GATEWAY__SIP__PROXY", &env_value),
                ("WEBRTC_GATEWAY__SIP__USERS__ALICE__USERNAME", &env_value),
                ("WEBRTC_GATEWAY__AMI__SERVERS__0__SECRET", &env_value),
                ("WEBRTC_GATEWAY__AMI__FORWARD__0__WHERE__X", &env_value),
            ]);
            let _ = Config::from_toml_str(&text, vars);
        }
    }
}
