//! HS256 JSON Web Tokens on `/ws` (RFC 7519), as the Odoo addon issues them
//! (`odoo/mobile_webrtc/lib/jwt_hs256.py`): a compact JWS (RFC 7515 §7.1) whose header says
//! `"alg": "HS256"` (RFC 7518 §3.2), keyed with the UTF-8 bytes of `[auth] token_secret`.
//!
//! Sans-I/O: [`verify`] is told the time. The signature is checked before the claims are read, and
//! compared in constant time; `alg: none` and every other algorithm are refused (RFC 8725 §3.1).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The longest token accepted (the addon's are ~250 bytes).
const MAX_TOKEN_LEN: usize = 4096;
/// The longest `login` accepted (Odoo's `res.users.login` is a Char without size; 255 is plenty).
const MAX_LOGIN_LEN: usize = 255;

/// What a valid token says (RFC 7519 §4 registered claims plus the addon's own).
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// `sub`: the Odoo user id, as a string.
    pub sub: Option<String>,
    /// `login`: the Odoo login, the gateway's user name.
    pub login: String,
    /// `extension`: the user's extension, if any.
    pub extension: Option<String>,
    /// `exp`: expiry, Unix seconds.
    pub exp: f64,
}

/// Why a token is refused. Never carries the token or the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url segments of JSON objects, or too long.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not `HS256` (`none` included), or it lists critical extensions.
    #[error("unsupported algorithm or header")]
    UnsupportedAlgorithm,
    /// The HMAC does not match: another secret, or altered.
    #[error("bad signature")]
    BadSignature,
    /// No numeric `exp` (tokens must expire).
    #[error("no exp claim")]
    MissingExp,
    /// `exp` is past, beyond the leeway.
    #[error("expired")]
    Expired,
    /// `nbf` or `iat` lies in the future, beyond the leeway.
    #[error("not valid yet")]
    NotYetValid,
    /// No usable `login` claim.
    #[error("no valid login claim")]
    MissingLogin,
}

/// Checks `token` against `secret` at `now`, tolerating `leeway` of clock skew on `exp`, `nbf`, `iat`.
pub fn verify(
    token: &str,
    secret: &[u8],
    leeway: Duration,
    now: SystemTime,
) -> Result<Claims, TokenError> {
    let claims = verify_signature(token, secret)?;
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let leeway = leeway.as_secs_f64();
    let time = |name: &str| -> Result<Option<f64>, TokenError> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(TokenError::Malformed("a time claim is not a number")),
        }
    };
    let exp = time("exp")?.ok_or(TokenError::MissingExp)?;
    if exp + leeway <= now {
        return Err(TokenError::Expired);
    }
    for name in ["nbf", "iat"] {
        if time(name)?.is_some_and(|t| t > now + leeway) {
            return Err(TokenError::NotYetValid);
        }
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let login = text("login")
        .filter(|l| !l.is_empty() && l.len() <= MAX_LOGIN_LEN && !l.chars().any(char::is_control))
        .ok_or(TokenError::MissingLogin)?;
    Ok(Claims {
        sub: text("sub"),
        login,
        extension: text("extension"),
        exp,
    })
}

/// The claims of an HS256 compact JWS whose signature matches `key` (no time checks).
fn verify_signature(token: &str, key: &[u8]) -> Result<Map<String, Value>, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed("too long"));
    }
    let Some((input, signature)) = token.rsplit_once('.') else {
        return Err(TokenError::Malformed("not three segments"));
    };
    let Some((header, payload)) = input.split_once('.').filter(|(_, p)| !p.contains('.')) else {
        return Err(TokenError::Malformed("not three segments"));
    };
    let header = object(header)?;
    // RFC 7515 §4.1.11: critical extensions we do not understand make the token invalid.
    if header.get("alg").and_then(Value::as_str) != Some("HS256") || header.contains_key("crit") {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed("signature is not base64url"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| TokenError::BadSignature)?;
    // RFC 7515 §5.2 step 8: the MAC covers the ASCII `<header>.<payload>` as received.
    mac.update(input.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    object(payload)
}

/// A base64url segment holding a JSON object.
fn object(segment: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed("segment is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(TokenError::Malformed("segment is not a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[auth] token_secret` of the fixtures made by the addon's encoder (tests/data/jwt/README.md).
    const SECRET: &str = "gw-test-secret-0123456789-abcdefghijklmnop";
    const ZOE: &str = include_str!("../tests/data/jwt/odoo_zoe.jwt");
    const ADMIN: &str = include_str!("../tests/data/jwt/odoo_admin_no_extension.jwt");
    /// The fixtures' `iat`; `exp` is 300 s later.
    const IAT: u64 = 1_795_255_200;
    const LEEWAY: Duration = Duration::from_secs(30);

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn sign(header: &str, claims: &str, key: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// RFC 7515 appendix A.1: the HS256 example JWS verifies with its key, and not once altered.
    #[test]
    fn rfc7515_a1_vector() {
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
            .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
            .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let key = URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let claims = verify_signature(token, &key).unwrap();
        assert_eq!(claims["iss"], "joe");
        assert_eq!(claims["exp"], 1_300_819_380);
        // Valid signature and time, but no `login`: not a gateway token.
        assert_eq!(
            verify(token, &key, LEEWAY, at(1_300_819_000)),
            Err(TokenError::MissingLogin)
        );
        assert_eq!(
            verify(token, &key, Duration::ZERO, at(1_300_819_380)),
            Err(TokenError::Expired)
        );
        let altered = token.replace("dBjft", "dBjfu");
        assert_eq!(
            verify_signature(&altered, &key),
            Err(TokenError::BadSignature)
        );
    }

    /// Tokens made by the addon's `jwt_hs256.encode` (sorted keys, `\u` escapes) verify.
    #[test]
    fn addon_tokens_verify() {
        let claims = verify(ZOE.trim(), SECRET.as_bytes(), LEEWAY, at(IAT + 10)).unwrap();
        assert_eq!(
            claims,
            Claims {
                sub: Some("7".into()),
                login: "zoë@example.com".into(),
                extension: Some("1001".into()),
                exp: (IAT + 300) as f64,
            }
        );
        let admin = verify(ADMIN.trim(), SECRET.as_bytes(), LEEWAY, at(IAT)).unwrap();
        assert_eq!((admin.login.as_str(), admin.extension), ("admin", None));
    }

    /// RFC 7519 §4.1.4: `exp` with the configured leeway (and nbf/iat not in the future).
    #[test]
    fn expiry_and_leeway() {
        let key = SECRET.as_bytes();
        let zoe = ZOE.trim();
        assert!(verify(zoe, key, LEEWAY, at(IAT + 300 + 29)).is_ok());
        assert_eq!(
            verify(zoe, key, LEEWAY, at(IAT + 300 + 30)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(zoe, key, Duration::ZERO, at(IAT + 300)),
            Err(TokenError::Expired)
        );
        // Issued 31 s in the future with a leeway of 30 s.
        assert_eq!(
            verify(zoe, key, LEEWAY, at(IAT - 31)),
            Err(TokenError::NotYetValid)
        );
        let header = r#"{"alg":"HS256","typ":"JWT"}"#;
        let nbf = sign(header, r#"{"login":"a","exp":2000,"nbf":1500}"#, key);
        assert_eq!(
            verify(&nbf, key, LEEWAY, at(1400)),
            Err(TokenError::NotYetValid)
        );
        assert!(verify(&nbf, key, LEEWAY, at(1480)).is_ok());
        let no_exp = sign(header, r#"{"login":"a"}"#, key);
        assert_eq!(
            verify(&no_exp, key, LEEWAY, at(0)),
            Err(TokenError::MissingExp)
        );
        let text_exp = sign(header, r#"{"login":"a","exp":"2000"}"#, key);
        assert!(matches!(
            verify(&text_exp, key, LEEWAY, at(0)),
            Err(TokenError::Malformed(_))
        ));
    }

    /// RFC 8725 §3.1: `alg` none, other algorithms and unknown `crit` are refused; another
    /// secret and altered claims fail the signature.
    #[test]
    fn refused_tokens() {
        let key = SECRET.as_bytes();
        let claims = r#"{"login":"mallory","exp":9999999999}"#;
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        );
        assert_eq!(
            verify(&none, key, LEEWAY, at(IAT)),
            Err(TokenError::UnsupportedAlgorithm)
        );
        for header in [
            r#"{"alg":"HS512"}"#,
            r#"{"alg":"hs256"}"#,
            r#"{"typ":"JWT"}"#,
            r#"{"alg":"HS256","crit":["exp"]}"#,
        ] {
            assert_eq!(
                verify(&sign(header, claims, key), key, LEEWAY, at(IAT)),
                Err(TokenError::UnsupportedAlgorithm),
                "{header}"
            );
        }
        let other = sign(
            r#"{"alg":"HS256"}"#,
            claims,
            b"another-secret-of-at-least-32-bytes!",
        );
        assert_eq!(
            verify(&other, key, LEEWAY, at(IAT)),
            Err(TokenError::BadSignature)
        );
        // Swap in other claims under the addon's signature.
        let zoe: Vec<&str> = ZOE.trim().split('.').collect();
        let forged = format!("{}.{}.{}", zoe[0], URL_SAFE_NO_PAD.encode(claims), zoe[2]);
        assert_eq!(
            verify(&forged, key, LEEWAY, at(IAT)),
            Err(TokenError::BadSignature)
        );
        for garbage in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.",
            "eyJhbGciOiJIUzI1NiJ9.e30.===",
            &"a".repeat(5000),
        ] {
            assert!(
                matches!(
                    verify(garbage, key, LEEWAY, at(IAT)),
                    Err(TokenError::Malformed(_))
                ),
                "{garbage:.20}"
            );
        }
        let empty_login = sign(
            r#"{"alg":"HS256"}"#,
            r#"{"login":"","exp":9999999999}"#,
            key,
        );
        assert_eq!(
            verify(&empty_login, key, LEEWAY, at(IAT)),
            Err(TokenError::MissingLogin)
        );
    }
}
