//! `[auth]`: who may use the signaling WebSocket.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::Value;

use crate::Secret;
use crate::duration::{format_duration, parse_duration};
use crate::raw::{Ctx, Table, parsed, secret, table};

/// Shortest non-empty `auth.token_secret`, in bytes: an HS256 key must be at least as long as the
/// SHA-256 output (RFC 7518 §3.2).
pub const MIN_TOKEN_SECRET_LEN: usize = 32;
/// Default `auth.token_leeway`.
pub const DEFAULT_TOKEN_LEEWAY: Duration = Duration::from_secs(30);
/// Longest `auth.token_leeway`: tokens from the Odoo addon live 5 minutes.
pub const MAX_TOKEN_LEEWAY: Duration = Duration::from_secs(300);

/// `[auth]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// User name -> bearer token, for local development. Tokens are non-empty and distinct.
    pub dev_tokens: BTreeMap<String, Secret>,
    /// HMAC key of the HS256 JWTs `/ws` accepts (issued by the Odoo addon); `None` accepts none.
    pub token_secret: Option<Secret>,
    /// Clock skew tolerated when checking a JWT's `exp` (and `nbf`, `iat`).
    pub token_leeway: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            dev_tokens: BTreeMap::new(),
            token_secret: None,
            token_leeway: DEFAULT_TOKEN_LEEWAY,
        }
    }
}

impl AuthConfig {
    /// The user whose token is `token`. Every token is compared in constant time, with no early exit.
    pub fn user_for_token(&self, token: &str) -> Option<&str> {
        let mut found = None;
        for (user, expected) in &self.dev_tokens {
            if expected.constant_time_eq(token) && !token.is_empty() {
                found = Some(user.as_str());
            }
        }
        found
    }
}

pub(crate) fn build(mut t: Table, ctx: &mut Ctx) -> AuthConfig {
    let d = AuthConfig::default();
    let dev_tokens = t.get(ctx, "dev_tokens", d.dev_tokens, |ctx, key, value| {
        let mut users = Table::new(key, table(ctx, key, value)?);
        let mut tokens: BTreeMap<String, Secret> = BTreeMap::new();
        for (user_key, user, value) in users.drain() {
            let Some(token) = secret(ctx, &user_key, value) else {
                continue;
            };
            if user.trim().is_empty() || user.chars().any(char::is_control) {
                ctx.error(&user_key, "expected a user name, got an empty one");
            } else if token.is_empty() {
                ctx.error(&user_key, "token must not be empty");
            } else if let Some(other) = tokens.iter().find(|(_, t)| **t == token).map(|(u, _)| u) {
                // Naming only the other user: the token itself must not be printed.
                ctx.error(&user_key, format!("same token as user {other:?}"));
            } else {
                tokens.insert(user, token);
            }
        }
        users.finish(ctx);
        Some(tokens)
    });
    let token_secret = t.get(ctx, "token_secret", d.token_secret, token_secret);
    let token_leeway = t.get(ctx, "token_leeway", d.token_leeway, |ctx, key, value| {
        parsed(ctx, key, value, |text| {
            let leeway = parse_duration(text).map_err(|e| e.to_string())?;
            if leeway > MAX_TOKEN_LEEWAY {
                Err(format!(
                    "must be at most {}, got {text:?}",
                    format_duration(MAX_TOKEN_LEEWAY)
                ))
            } else {
                Ok(leeway)
            }
        })
    });
    t.finish(ctx);
    AuthConfig {
        dev_tokens,
        token_secret,
        token_leeway,
    }
}

/// `auth.token_secret`: `""` = JWTs off; otherwise at least 32 bytes (RFC 7518 §3.2).
fn token_secret(ctx: &mut Ctx, key: &str, value: Value) -> Option<Option<Secret>> {
    let secret = secret(ctx, key, value)?;
    if secret.is_empty() {
        Some(None)
    } else if secret.expose().len() < MIN_TOKEN_SECRET_LEN {
        ctx.error(
            key,
            format!(
                "must be at least {MIN_TOKEN_SECRET_LEN} bytes for HS256 (RFC 7518 §3.2), \
                 or \"\" to accept no JWTs"
            ),
        );
        None
    } else {
        Some(Some(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn auth(toml: &str) -> AuthConfig {
        Config::from_toml_str(toml, []).expect("valid").auth
    }

    #[test]
    fn tokens_map_to_users() {
        let a = auth("[auth]\ndev_tokens = { alice = \"alice-token\", bob = \"b0b\" }");
        assert_eq!(a.user_for_token("alice-token"), Some("alice"));
        assert_eq!(a.user_for_token("b0b"), Some("bob"));
        assert_eq!(a.user_for_token("alice-token "), None);
        assert_eq!(a.user_for_token(""), None);
        assert_eq!(AuthConfig::default().user_for_token("x"), None);
    }

    #[test]
    fn empty_duplicate_and_non_string_tokens_are_errors_without_the_token() {
        let errors = Config::from_toml_str(
            "[auth.dev_tokens]\nalice = \"s3cret-one\"\nbob = \"s3cret-one\"\ncarol = \"\"\ndave = 12345\n\"\" = \"s3cret-two\"",
            [],
        )
        .expect_err("invalid");
        let text = errors.to_string();
        assert_eq!(
            text,
            "auth.dev_tokens.\"\": expected a user name, got an empty one\n\
             auth.dev_tokens.bob: same token as user \"alice\"\n\
             auth.dev_tokens.carol: token must not be empty\n\
             auth.dev_tokens.dave: expected a string, got integer"
        );
        for secret in ["s3cret", "12345"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn dev_tokens_must_be_a_table() {
        let errors =
            Config::from_toml_str("[auth]\ndev_tokens = [\"x\"]", []).expect_err("invalid");
        assert_eq!(
            errors.to_string(),
            "auth.dev_tokens: expected a table, got an array"
        );
    }

    #[test]
    fn token_secret_and_leeway() {
        let d = AuthConfig::default();
        assert_eq!(d.token_secret, None);
        assert_eq!(d.token_leeway, Duration::from_secs(30));
        let a = auth(
            "[auth]\ntoken_secret = \"0123456789abcdef0123456789abcdef\"\ntoken_leeway = \"0s\"",
        );
        assert_eq!(
            a.token_secret.as_ref().map(Secret::expose),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(a.token_leeway, Duration::ZERO);
        assert_eq!(auth("[auth]\ntoken_secret = \"\"").token_secret, None);
        assert_eq!(
            auth("[auth]\ntoken_leeway = \"5m\"").token_leeway,
            Duration::from_secs(300)
        );
    }

    #[test]
    fn token_secret_and_leeway_rules() {
        let errors = Config::from_toml_str(
            "[auth]\ntoken_secret = \"short-secret-31-bytes-long-xxxx\"\ntoken_leeway = \"301s\"",
            [],
        )
        .expect_err("invalid");
        let text = errors.to_string();
        assert_eq!(
            text,
            "auth.token_secret: must be at least 32 bytes for HS256 (RFC 7518 §3.2), or \"\" to accept no JWTs\n\
             auth.token_leeway: must be at most 5m, got \"301s\""
        );
        assert!(!text.contains("short-secret"), "{text}");
        let errors =
            Config::from_toml_str("[auth]\ntoken_secret = 12345\ntoken_leeway = \"soon\"", [])
                .expect_err("invalid");
        assert_eq!(
            errors.to_string(),
            "auth.token_secret: expected a string, got integer\n\
             auth.token_leeway: expected a duration like \"500ms\", \"30s\", \"5m\" or \"1h\", got \"soon\""
        );
    }

    #[test]
    fn token_secret_from_the_environment_is_kept_verbatim() {
        let secret = "12345678901234567890123456789012";
        let c = Config::from_toml_str(
            "",
            [
                (
                    "WEBRTC_GATEWAY__AUTH__TOKEN_SECRET".to_owned(),
                    secret.to_owned(),
                ),
                (
                    "WEBRTC_GATEWAY__AUTH__TOKEN_LEEWAY".to_owned(),
                    "1m".to_owned(),
                ),
            ],
        )
        .expect("valid");
        assert_eq!(
            c.auth.token_secret.as_ref().map(Secret::expose),
            Some(secret)
        );
        assert_eq!(c.auth.token_leeway, Duration::from_secs(60));
        assert!(!format!("{c:?}").contains(secret));
    }
}
