//! `[auth]`: who may use the signaling WebSocket.

use std::collections::BTreeMap;

use crate::Secret;
use crate::raw::{Ctx, Table, secret, table};

/// `[auth]` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthConfig {
    /// User name -> bearer token, for local development. Tokens are non-empty and distinct.
    pub dev_tokens: BTreeMap<String, Secret>,
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
    let dev_tokens = t.get(ctx, "dev_tokens", BTreeMap::new(), |ctx, key, value| {
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
    t.finish(ctx);
    AuthConfig { dev_tokens }
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
}
