//! `webrtc.turn`: a TURN server with a shared secret, from which every client gets time-limited
//! credentials (the TURN REST API, coturn `use-auth-secret`).

use std::time::Duration;

use toml::Value;

use crate::Secret;
use crate::duration::{format_duration, parse_duration};
use crate::raw::{Ctx, Table, array, parsed, secret, string, table};

/// Default `webrtc.turn.ttl`.
pub const DEFAULT_TURN_TTL: Duration = Duration::from_secs(3600);
/// Shortest `webrtc.turn.ttl`.
pub const MIN_TURN_TTL: Duration = Duration::from_secs(60);
/// Longest `webrtc.turn.ttl`.
pub const MAX_TURN_TTL: Duration = Duration::from_secs(24 * 3600);

/// `webrtc.turn`: the TURN server clients are given credentials for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnConfig {
    /// `turn:` or `turns:` URLs of the server; never empty.
    pub urls: Vec<String>,
    /// The secret shared with the TURN server (coturn `static-auth-secret`); never empty.
    pub secret: Secret,
    /// How long handed-out credentials stay valid (the `expiry` in the `expiry:user` user name).
    pub ttl: Duration,
}

/// The `turn` table; `None` when anything in it is invalid (already reported).
pub(crate) fn turn(ctx: &mut Ctx, key: &str, value: Value) -> Option<TurnConfig> {
    let mut t = Table::new(key, table(ctx, key, value)?);
    let urls_key = t.path_of("urls");
    let urls = t.get(ctx, "urls", None, |ctx, key, value| {
        let items = array(ctx, key, value)?;
        if items.is_empty() {
            ctx.error(key, "expected at least one URL");
            return None;
        }
        let count = items.len();
        let urls: Vec<String> = items
            .into_iter()
            .filter_map(|(key, item)| turn_url(ctx, &key, item))
            .collect();
        (urls.len() == count).then_some(Some(urls))
    });
    if urls.is_none() && !ctx.errors_under(&urls_key) {
        ctx.error(
            &urls_key,
            "missing (the TURN server needs urls = [\"turn:host:3478\"])",
        );
    }
    let secret_key = t.path_of("secret");
    let secret = t.get(ctx, "secret", None, |ctx, key, value| {
        secret(ctx, key, value).map(Some)
    });
    let secret = match secret {
        Some(s) if s.is_empty() => {
            ctx.error(&secret_key, "must not be empty");
            None
        }
        None if !ctx.has_error(&secret_key) => {
            ctx.error(
                &secret_key,
                "missing (the secret shared with the TURN server, coturn static-auth-secret)",
            );
            None
        }
        other => other,
    };
    let ttl_key = t.path_of("ttl");
    let ttl = t.get(ctx, "ttl", DEFAULT_TURN_TTL, |ctx, key, value| {
        parsed(ctx, key, value, |text| {
            let ttl = parse_duration(text).map_err(|e| e.to_string())?;
            if (MIN_TURN_TTL..=MAX_TURN_TTL).contains(&ttl) {
                Ok(ttl)
            } else {
                Err(format!(
                    "must be between {} and {}, got {text:?}",
                    format_duration(MIN_TURN_TTL),
                    format_duration(MAX_TURN_TTL)
                ))
            }
        })
    });
    t.finish(ctx);
    let (Some(urls), Some(secret), false) = (urls, secret, ctx.has_error(&ttl_key)) else {
        return None;
    };
    Some(TurnConfig { urls, secret, ttl })
}

fn turn_url(ctx: &mut Ctx, key: &str, value: Value) -> Option<String> {
    let url = string(ctx, key, value)?;
    let scheme_ok = ["turn:", "turns:"]
        .iter()
        .any(|s| url.starts_with(s) && url.len() > s.len());
    if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        ctx.error(
            key,
            format!("expected a URL starting with turn: or turns:, got {url:?}"),
        );
        return None;
    }
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn turn_of(toml: &str) -> Option<TurnConfig> {
        Config::from_toml_str(toml, []).expect("valid").webrtc.turn
    }

    fn errors(toml: &str) -> String {
        Config::from_toml_str(toml, [])
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn turn_is_off_by_default_and_read_when_set() {
        assert_eq!(Config::default().webrtc.turn, None);
        let t = turn_of(
            "[webrtc]\nturn = { urls = [\"turn:turn.example.org:3478?transport=udp\", \"turns:turn.example.org:5349\"], secret = \"coturn-shared\" }",
        )
        .expect("turn set");
        assert_eq!(t.urls.len(), 2);
        assert_eq!(t.secret.expose(), "coturn-shared");
        assert_eq!(t.ttl, Duration::from_secs(3600));
        let t = turn_of("[webrtc.turn]\nurls = [\"turn:t\"]\nsecret = \"s\"\nttl = \"24h\"")
            .expect("turn set");
        assert_eq!(t.ttl, Duration::from_secs(86_400));
        let t = turn_of("[webrtc.turn]\nurls = [\"turn:t\"]\nsecret = \"s\"\nttl = \"1m\"")
            .expect("turn set");
        assert_eq!(t.ttl, Duration::from_secs(60));
    }

    #[test]
    fn turn_rules() {
        let cases = [
            (
                "turn = { urls = [\"stun:s\"], secret = \"s\" }",
                "webrtc.turn.urls[0]: expected a URL starting with turn: or turns:, got \"stun:s\"",
            ),
            (
                "turn = { urls = [], secret = \"s\" }",
                "webrtc.turn.urls: expected at least one URL",
            ),
            (
                "turn = { secret = \"s\" }",
                "webrtc.turn.urls: missing (the TURN server needs urls = [\"turn:host:3478\"])",
            ),
            (
                "turn = { urls = [\"turn:t\"] }",
                "webrtc.turn.secret: missing (the secret shared with the TURN server, coturn static-auth-secret)",
            ),
            (
                "turn = { urls = [\"turn:t\"], secret = \"\" }",
                "webrtc.turn.secret: must not be empty",
            ),
            (
                "turn = { urls = [\"turn:t\"], secret = \"s\", ttl = \"59s\" }",
                "webrtc.turn.ttl: must be between 1m and 24h, got \"59s\"",
            ),
            (
                "turn = { urls = [\"turn:t\"], secret = \"s\", ttl = \"25h\" }",
                "webrtc.turn.ttl: must be between 1m and 24h, got \"25h\"",
            ),
            (
                "turn = { urls = [\"turn:t\"], secret = \"s\", username = \"u\" }",
                "webrtc.turn.username: unknown key",
            ),
            (
                "turn = \"turn:t\"",
                "webrtc.turn: expected a table, got string \"turn:t\"",
            ),
        ];
        for (toml, expected) in cases {
            assert_eq!(errors(&format!("[webrtc]\n{toml}")), expected, "{toml}");
        }
    }

    #[test]
    fn the_secret_never_shows_and_comes_from_the_environment() {
        let vars = [
            (
                "WEBRTC_GATEWAY__WEBRTC__TURN__URLS".to_owned(),
                "[\"turn:127.0.0.1:3478\"]".to_owned(),
            ),
            (
                "WEBRTC_GATEWAY__WEBRTC__TURN__SECRET".to_owned(),
                "31415926535".to_owned(),
            ),
            (
                "WEBRTC_GATEWAY__WEBRTC__TURN__TTL".to_owned(),
                "2h".to_owned(),
            ),
        ];
        let c = Config::from_toml_str("", vars).expect("valid");
        let t = c.webrtc.turn.as_ref().expect("turn set");
        assert_eq!(t.secret.expose(), "31415926535");
        assert_eq!(t.ttl, Duration::from_secs(7200));
        assert!(!format!("{c:?}").contains("31415926535"));
        let e = errors("[webrtc]\nturn = { urls = [\"turn:t\"], secret = 27182818 }");
        assert_eq!(e, "webrtc.turn.secret: expected a string, got integer");
    }
}
