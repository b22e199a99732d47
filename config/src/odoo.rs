//! `[odoo]`: the Odoo database the gateway reports calls to (JSON-RPC as a technical user), and
//! whether users' SIP credentials come from it. Off unless `url` is set.

use std::time::Duration;

use toml::Value;

use crate::Secret;
use crate::duration::{format_duration, parse_duration};
use crate::origin::split_host_port;
use crate::raw::{Ctx, Table, boolean, integer_in, parsed, secret, string};

/// Default `odoo.timeout`.
pub const DEFAULT_ODOO_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest `odoo.timeout`.
pub const MAX_ODOO_TIMEOUT: Duration = Duration::from_secs(300);
/// Default `odoo.batch_size`.
pub const DEFAULT_ODOO_BATCH_SIZE: usize = 200;

/// `[odoo]` section, present when `odoo.url` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdooConfig {
    /// Base URL without a trailing `/`, e.g. `http://odoo.lan:8069` (requests go to `{url}/jsonrpc`).
    pub url: String,
    /// Database name.
    pub database: String,
    /// Login of the technical user the gateway acts as.
    pub login: String,
    /// That user's API key or password.
    pub credential: OdooCredential,
    /// Time limit of one JSON-RPC exchange (connect included).
    pub timeout: Duration,
    /// Most events sent in one RPC.
    pub batch_size: usize,
    /// Take users' SIP credentials from Odoo when they connect, instead of `sip.users`.
    pub users_from_odoo: bool,
}

/// How the technical user authenticates: exactly one of `odoo.api_key` and `odoo.password`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OdooCredential {
    /// An Odoo API key (preferred: revocable, scoped to the user).
    ApiKey(Secret),
    /// The user's password.
    Password(Secret),
}

impl OdooCredential {
    /// The secret sent as the JSON-RPC password argument (Odoo accepts either there).
    pub fn secret(&self) -> &Secret {
        match self {
            Self::ApiKey(s) | Self::Password(s) => s,
        }
    }
}

/// Reads `[odoo]`. `sip_users` says whether `sip.users` has entries, which `users_from_odoo` replaces.
pub(crate) fn build(mut t: Table, ctx: &mut Ctx, sip_users: bool) -> Option<OdooConfig> {
    let url_key = t.path_of("url");
    let url = t.get(ctx, "url", None, url);
    let text = |ctx: &mut Ctx, key: &str, value: Value| {
        let text = string(ctx, key, value)?;
        if text.chars().any(char::is_control) || (text.trim().is_empty() && !text.is_empty()) {
            ctx.error(
                key,
                format!("expected a name without control characters, got {text:?}"),
            );
            return None;
        }
        Some(text)
    };
    let database_key = t.path_of("database");
    let database = t.get(ctx, "database", String::new(), text);
    let login_key = t.path_of("login");
    let login = t.get(ctx, "login", String::new(), text);
    let api_key_key = t.path_of("api_key");
    let api_key = t.get(ctx, "api_key", Secret::default(), secret);
    let password_key = t.path_of("password");
    let password = t.get(ctx, "password", Secret::default(), secret);
    let timeout = t.get(ctx, "timeout", DEFAULT_ODOO_TIMEOUT, |ctx, key, value| {
        parsed(ctx, key, value, |text| match parse_duration(text) {
            Ok(d) if d.is_zero() || d > MAX_ODOO_TIMEOUT => Err(format!(
                "must be greater than zero and at most {}, got {text:?}",
                format_duration(MAX_ODOO_TIMEOUT)
            )),
            Ok(d) => Ok(d),
            Err(e) => Err(e.to_string()),
        })
    });
    let batch_size = t.get(
        ctx,
        "batch_size",
        DEFAULT_ODOO_BATCH_SIZE,
        |ctx, key, value| integer_in(ctx, key, value, 1..=10_000),
    );
    let users_key = t.path_of("users_from_odoo");
    let users_from_odoo = t.get(ctx, "users_from_odoo", true, boolean);
    t.finish(ctx);

    let Some(url) = url else {
        let set: Vec<&str> = [
            (&database_key, !database.is_empty()),
            (&login_key, !login.is_empty()),
            (&api_key_key, !api_key.is_empty()),
            (&password_key, !password.is_empty()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key.as_str()))
        .collect();
        if !set.is_empty() && !ctx.has_error(&url_key) {
            ctx.error(
                &url_key,
                format!(
                    "missing: {} set, but nothing is sent to Odoo without a url",
                    set.join(", ")
                ),
            );
        }
        return None;
    };
    let mut complete = true;
    for (key, value, what) in [
        (&database_key, &database, "the database name"),
        (&login_key, &login, "the technical user's login"),
    ] {
        if value.is_empty() && !ctx.has_error(key) {
            ctx.error(
                key,
                format!("missing: odoo.url is set, so {what} is needed"),
            );
        }
        complete &= !value.is_empty();
    }
    let credential = match (api_key.is_empty(), password.is_empty()) {
        (false, true) => Some(OdooCredential::ApiKey(api_key)),
        (true, false) => Some(OdooCredential::Password(password)),
        (false, false) => {
            ctx.error(
                &password_key,
                "set only one of odoo.api_key and odoo.password",
            );
            None
        }
        (true, true) => {
            if !ctx.has_error(&api_key_key) && !ctx.has_error(&password_key) {
                ctx.error(
                    &api_key_key,
                    "missing: odoo.url is set, so odoo.api_key (preferred) or odoo.password is needed",
                );
            }
            None
        }
    };
    if users_from_odoo && sip_users {
        ctx.error(
            &users_key,
            "is true, so Odoo provides the SIP accounts and sip.users would be ignored; \
             remove sip.users or set users_from_odoo = false",
        );
    }
    let credential = credential.filter(|_| complete)?;
    Some(OdooConfig {
        url,
        database,
        login,
        credential,
        timeout,
        batch_size,
        users_from_odoo,
    })
}

/// `odoo.url`: `""` (off) or `http(s)://host[:port][/path]` without user, query or fragment.
fn url(ctx: &mut Ctx, key: &str, value: Value) -> Option<Option<String>> {
    let url = string(ctx, key, value)?;
    if url.is_empty() {
        return Some(None);
    }
    let scheme_end = url.find("://").unwrap_or(0);
    let scheme = url.get(..scheme_end).unwrap_or("");
    let rest = url.get(scheme_end + 3..).unwrap_or("");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    // A user part or a query may hold a password or token: such text is not printed.
    if authority.contains('@') {
        ctx.error(
            key,
            "must not contain a user or password; use odoo.login and odoo.api_key",
        );
        return None;
    }
    if path.contains(['?', '#']) {
        ctx.error(
            key,
            "must not have a query or fragment; use odoo.database for the database",
        );
        return None;
    }
    let valid = (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && split_host_port(authority).is_some()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        ctx.error(
            key,
            format!(
                "expected a URL like \"http://odoo.example.com:8069\" (or \"\" for no Odoo), got {url:?}"
            ),
        );
        return None;
    }
    Some(Some(url.trim_end_matches('/').to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn odoo(toml: &str) -> Option<OdooConfig> {
        Config::from_toml_str(toml, []).expect("valid").odoo
    }

    fn odoo_errors(toml: &str) -> String {
        Config::from_toml_str(toml, [])
            .expect_err("invalid")
            .to_string()
    }

    const COMPLETE: &str = "[odoo]\nurl = \"http://odoo.lan:8069/\"\ndatabase = \"prod\"\n\
                            login = \"gateway\"\napi_key = \"odoo-api-key-1\"\n";

    #[test]
    fn off_without_a_url() {
        assert_eq!(Config::default().odoo, None);
        assert_eq!(odoo("[odoo]\nurl = \"\"\ntimeout = \"5s\""), None);
    }

    #[test]
    fn every_key_is_read() {
        let o = odoo(&format!(
            "{COMPLETE}timeout = \"30s\"\nbatch_size = 50\nusers_from_odoo = false"
        ))
        .expect("odoo on");
        assert_eq!(o.url, "http://odoo.lan:8069");
        assert_eq!(o.database, "prod");
        assert_eq!(o.login, "gateway");
        assert_eq!(
            o.credential,
            OdooCredential::ApiKey(Secret::new("odoo-api-key-1"))
        );
        assert_eq!(o.credential.secret().expose(), "odoo-api-key-1");
        assert_eq!(o.timeout, Duration::from_secs(30));
        assert_eq!(o.batch_size, 50);
        assert!(!o.users_from_odoo);
        let o = odoo(
            "[odoo]\nurl = \"https://erp.example.com/odoo\"\ndatabase = \"d\"\nlogin = \"l\"\npassword = \"pw\"",
        )
        .expect("odoo on");
        assert_eq!(o.url, "https://erp.example.com/odoo");
        assert_eq!(o.credential, OdooCredential::Password(Secret::new("pw")));
        assert_eq!(o.timeout, Duration::from_secs(10));
        assert_eq!(o.batch_size, 200);
        assert!(o.users_from_odoo);
    }

    #[test]
    fn each_key_is_validated() {
        let cases = [
            (
                "[odoo]\nurl = \"ftp://odoo\"",
                "odoo.url: expected a URL like \"http://odoo.example.com:8069\" (or \"\" for no Odoo), got \"ftp://odoo\"",
            ),
            (
                "[odoo]\nurl = \"odoo.lan:8069\"",
                "odoo.url: expected a URL like \"http://odoo.example.com:8069\" (or \"\" for no Odoo), got \"odoo.lan:8069\"",
            ),
            (
                "[odoo]\nurl = \"http://odoo.lan/?token=x\"",
                "odoo.url: must not have a query or fragment; use odoo.database for the database",
            ),
            (
                "[odoo]\nurl = \"http://odoo.lan:0\"",
                "odoo.url: expected a URL like \"http://odoo.example.com:8069\" (or \"\" for no Odoo), got \"http://odoo.lan:0\"",
            ),
            (
                "[odoo]\nurl = \"http://admin:hunter2@odoo.lan\"",
                "odoo.url: must not contain a user or password; use odoo.login and odoo.api_key",
            ),
            (
                "[odoo]\nurl = \"http://odoo.lan\"\npassword = \"p\"",
                "odoo.database: missing: odoo.url is set, so the database name is needed\n\
                 odoo.login: missing: odoo.url is set, so the technical user's login is needed",
            ),
            (
                "[odoo]\nurl = \"http://odoo.lan\"\ndatabase = \"d\"\nlogin = \"l\"",
                "odoo.api_key: missing: odoo.url is set, so odoo.api_key (preferred) or odoo.password is needed",
            ),
            (
                "[odoo]\nurl = \"http://odoo.lan\"\ndatabase = \"d\"\nlogin = \"l\"\napi_key = \"k\"\npassword = \"p\"",
                "odoo.password: set only one of odoo.api_key and odoo.password",
            ),
            (
                "[odoo]\ndatabase = \"d\"\napi_key = \"k\"",
                "odoo.url: missing: odoo.database, odoo.api_key set, but nothing is sent to Odoo without a url",
            ),
            (
                "[odoo]\ndatabase = \"d\\n\"",
                "odoo.database: expected a name without control characters, got \"d\\n\"",
            ),
            (
                "[odoo]\ntimeout = \"0s\"",
                "odoo.timeout: must be greater than zero and at most 5m, got \"0s\"",
            ),
            (
                "[odoo]\nbatch_size = 0",
                "odoo.batch_size: expected an integer from 1 to 10000, got 0",
            ),
            (
                "[odoo]\nusers_from_odoo = \"yes\"",
                "odoo.users_from_odoo: expected true or false, got string \"yes\"",
            ),
            (
                "[sip.users.alice]\npassword = \"p\"\n[odoo]\nurl = \"http://o\"\ndatabase = \"d\"\nlogin = \"l\"\napi_key = \"k\"",
                "odoo.users_from_odoo: is true, so Odoo provides the SIP accounts and sip.users would be \
                 ignored; remove sip.users or set users_from_odoo = false",
            ),
        ];
        for (toml, expected) in cases {
            assert_eq!(odoo_errors(toml), expected, "{toml}");
        }
    }

    #[test]
    fn secrets_never_show_and_come_from_the_environment() {
        let vars = [
            ("WEBRTC_GATEWAY__ODOO__URL", "http://127.0.0.1:8069"),
            ("WEBRTC_GATEWAY__ODOO__DATABASE", "2024"),
            ("WEBRTC_GATEWAY__ODOO__LOGIN", "gateway"),
            ("WEBRTC_GATEWAY__ODOO__API_KEY", "0123456789"),
            ("WEBRTC_GATEWAY__ODOO__BATCH_SIZE", "10"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let c = Config::from_toml_str("", vars).expect("valid");
        let o = c.odoo.as_ref().expect("odoo on");
        assert_eq!(o.database, "2024");
        assert_eq!(o.credential.secret().expose(), "0123456789");
        assert_eq!(o.batch_size, 10);
        assert!(!format!("{c:?}").contains("0123456789"));
        let e = odoo_errors("[odoo]\napi_key = 4242424242\npassword = [\"hunter2\"]");
        assert_eq!(
            e,
            "odoo.api_key: expected a string, got integer\nodoo.password: expected a string, got array"
        );
    }
}
