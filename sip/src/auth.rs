//! HTTP digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).
//!
//! Works on header *values* (`WWW-Authenticate`, `Proxy-Authenticate`, `Authorization`,
//! `Proxy-Authorization`) as plain strings; the caller supplies the cnonce so tests are
//! deterministic.
//!
//! `auth-int` (RFC 7616 §3.4.3) is supported through [`authorize_with_body`]: it is used only when
//! the challenge does not offer `auth` and the caller passes the request body. [`authorize`]
//! never answers with `auth-int`.

use std::collections::HashMap;
use std::fmt;

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// Why a digest challenge could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The header value does not start with the `Digest` scheme.
    #[error("authentication scheme is not Digest")]
    NotDigest,
    /// The parameter list is malformed at byte offset `at`.
    #[error("malformed digest parameters at offset {at}")]
    Syntax {
        /// Byte offset in the header value.
        at: usize,
    },
    /// A required parameter is absent.
    #[error("digest challenge lacks the {0} parameter")]
    Missing(&'static str),
    /// The `algorithm` parameter names an algorithm we do not implement.
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
}

/// The digest hash algorithm (RFC 7616 §3.3, RFC 8760 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// MD5, the default when the parameter is absent.
    #[default]
    Md5,
    /// MD5 with session key (`MD5-sess`).
    Md5Sess,
    /// SHA-256.
    Sha256,
    /// SHA-256 with session key (`SHA-256-sess`).
    Sha256Sess,
}

impl Algorithm {
    /// Parses an `algorithm` token, case-insensitively.
    pub fn parse(token: &str) -> Result<Self, AuthError> {
        match token.to_ascii_uppercase().as_str() {
            "MD5" => Ok(Self::Md5),
            "MD5-SESS" => Ok(Self::Md5Sess),
            "SHA-256" => Ok(Self::Sha256),
            "SHA-256-SESS" => Ok(Self::Sha256Sess),
            _ => Err(AuthError::UnsupportedAlgorithm(token.to_owned())),
        }
    }

    /// The token as written in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    fn hash(self, data: &[u8]) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hex::encode(Md5::digest(data)),
            Self::Sha256 | Self::Sha256Sess => hex::encode(Sha256::digest(data)),
        }
    }
}

/// A quality-of-protection option offered by the server (RFC 7616 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    /// Authentication only.
    Auth,
    /// Authentication with integrity protection of the body.
    AuthInt,
}

impl Qop {
    /// The token as written in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::AuthInt => "auth-int",
        }
    }
}

/// A parsed `WWW-Authenticate` / `Proxy-Authenticate` Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Protection space.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque value to echo back unchanged.
    pub opaque: Option<String>,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Offered qop options (unknown tokens are ignored, RFC 7616 §3.3); empty means RFC 2069 mode.
    pub qop: Vec<Qop>,
    /// `stale=true`: the nonce expired but the credentials were good.
    pub stale: bool,
    /// The `domain` parameter, verbatim.
    pub domain: Option<String>,
}

impl Challenge {
    /// Parses a challenge header value such as `Digest realm="asterisk",nonce="…",qop="auth"`.
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let params = digest_params(value)?;
        let mut map: HashMap<String, String> = HashMap::new();
        for (name, val) in params {
            // The first occurrence wins; a duplicate is a server bug we tolerate.
            map.entry(name).or_insert(val);
        }
        let realm = map.remove("realm").ok_or(AuthError::Missing("realm"))?;
        let nonce = map.remove("nonce").ok_or(AuthError::Missing("nonce"))?;
        let algorithm = match map.get("algorithm") {
            Some(a) => Algorithm::parse(a.trim())?,
            None => Algorithm::Md5,
        };
        let qop = map
            .get("qop")
            .map(|list| {
                list.split(',')
                    .filter_map(|t| match t.trim().to_ascii_lowercase().as_str() {
                        "auth" => Some(Qop::Auth),
                        "auth-int" => Some(Qop::AuthInt),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let stale = map
            .get("stale")
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("true"));
        Ok(Self {
            realm,
            nonce,
            opaque: map.remove("opaque"),
            algorithm,
            qop,
            stale,
            domain: map.remove("domain"),
        })
    }
}

/// A username and password; `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The digest username.
    pub username: String,
    /// The password (never logged).
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Splits a Digest header value (challenge or credentials) into lower-cased parameter names and
/// unescaped values, in order. Tolerates extra spaces and empty list elements (RFC 7230 §7).
pub fn digest_params(value: &str) -> Result<Vec<(String, String)>, AuthError> {
    let s = value.trim_start();
    let offset = value.len() - s.len();
    let scheme_end = s
        .find(|c: char| c.is_ascii_whitespace() || c == ',')
        .unwrap_or(s.len());
    if !s[..scheme_end].eq_ignore_ascii_case("digest") {
        return Err(AuthError::NotDigest);
    }
    let mut chars = s[scheme_end..].char_indices().peekable();
    let base = offset + scheme_end;
    let mut out = Vec::new();
    loop {
        while chars
            .next_if(|(_, c)| c.is_ascii_whitespace() || *c == ',')
            .is_some()
        {}
        let Some(&(start, _)) = chars.peek() else {
            return Ok(out);
        };
        let mut name = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| is_token_char(*c)) {
            name.push(c.to_ascii_lowercase());
        }
        while chars.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
        if name.is_empty() || chars.next_if(|(_, c)| *c == '=').is_none() {
            return Err(AuthError::Syntax { at: base + start });
        }
        while chars.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
        let mut val = String::new();
        if chars.next_if(|(_, c)| *c == '"').is_some() {
            loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c)) => val.push(c),
                        None => return Err(AuthError::Syntax { at: value.len() }),
                    },
                    Some((_, c)) => val.push(c),
                    None => return Err(AuthError::Syntax { at: value.len() }),
                }
            }
        } else {
            // Lenient: servers put `/` or `:` in unquoted nonces; take everything up to a separator.
            while let Some((_, c)) =
                chars.next_if(|(_, c)| !c.is_ascii_whitespace() && *c != ',' && *c != '"')
            {
                val.push(c);
            }
            if val.is_empty() {
                return Err(AuthError::Syntax { at: base + start });
            }
        }
        while chars.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
        match chars.peek() {
            None | Some((_, ',')) => out.push((name, val)),
            Some(&(at, _)) => return Err(AuthError::Syntax { at: base + at }),
        }
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// Builds the `Authorization` / `Proxy-Authorization` value answering `ch` (qop `auth` when
/// offered, RFC 2069 style when no qop is offered; never `auth-int`).
pub fn authorize(
    ch: &Challenge,
    creds: &Credentials,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> String {
    authorize_with_body(ch, creds, method, uri, cnonce, nc, None)
}

/// Like [`authorize`], and answers with `auth-int` over `body` when the challenge offers
/// `auth-int` but not `auth` and a body is given (RFC 7616 §3.4.3).
pub fn authorize_with_body(
    ch: &Challenge,
    creds: &Credentials,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
    body: Option<&[u8]>,
) -> String {
    let qop = if ch.qop.contains(&Qop::Auth) {
        Some(Qop::Auth)
    } else if ch.qop.contains(&Qop::AuthInt) {
        body.map(|_| Qop::AuthInt)
    } else {
        None
    };
    let alg = ch.algorithm;
    let nc_hex = format!("{nc:08x}");
    let mut ha1 =
        alg.hash(format!("{}:{}:{}", creds.username, ch.realm, creds.password).as_bytes());
    if alg.is_session() {
        ha1 = alg.hash(format!("{ha1}:{}:{cnonce}", ch.nonce).as_bytes());
    }
    let ha2 = match (qop, body) {
        (Some(Qop::AuthInt), Some(b)) => {
            alg.hash(format!("{method}:{uri}:{}", alg.hash(b)).as_bytes())
        }
        _ => alg.hash(format!("{method}:{uri}").as_bytes()),
    };
    let response = match qop {
        Some(q) => alg
            .hash(format!("{ha1}:{}:{nc_hex}:{cnonce}:{}:{ha2}", ch.nonce, q.as_str()).as_bytes()),
        None => alg.hash(format!("{ha1}:{}:{ha2}", ch.nonce).as_bytes()),
    };

    let mut out = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\", algorithm={}",
        quote(&creds.username),
        quote(&ch.realm),
        quote(&ch.nonce),
        quote(uri),
        alg.as_str(),
    );
    if qop.is_some() || alg.is_session() {
        out.push_str(&format!(", cnonce={}", quote(cnonce)));
    }
    if let Some(opaque) = &ch.opaque {
        out.push_str(&format!(", opaque={}", quote(opaque)));
    }
    if let Some(q) = qop {
        out.push_str(&format!(", qop={}, nc={nc_hex}", q.as_str()));
    }
    out
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// Remembers the last challenge per realm and counts nonce uses, so a retry or a refresh
/// (e.g. a REGISTER refresh) can be authorized without a new 401/407.
#[derive(Debug, Default)]
pub struct DigestClient {
    challenges: HashMap<String, (Challenge, u32)>,
}

impl DigestClient {
    /// Creates an empty client.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a challenge from a 401/407 and returns its realm; a new nonce restarts `nc` at 1.
    pub fn on_challenge(&mut self, value: &str) -> Result<String, AuthError> {
        let ch = Challenge::parse(value)?;
        let realm = ch.realm.clone();
        self.challenges.insert(realm.clone(), (ch, 0));
        Ok(realm)
    }

    /// Builds the header value for the next request in `realm`, incrementing `nc`;
    /// `None` if no challenge for that realm was seen.
    pub fn authorization(
        &mut self,
        realm: &str,
        creds: &Credentials,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> Option<String> {
        let (ch, nc) = self.challenges.get_mut(realm)?;
        *nc = nc.wrapping_add(1);
        Some(authorize(ch, creds, method, uri, cnonce, *nc))
    }

    /// Forgets the challenge for `realm` (e.g. after a second 401 with `stale=false`).
    pub fn forget(&mut self, realm: &str) {
        self.challenges.remove(realm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mufasa(password: &str) -> Credentials {
        Credentials {
            username: "Mufasa".into(),
            password: password.into(),
        }
    }

    /// RFC 2617 §3.5: the worked example (MD5, qop=auth).
    #[test]
    fn rfc2617_example() {
        let ch = Challenge::parse(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert_eq!(ch.qop, vec![Qop::Auth, Qop::AuthInt]);
        let h = authorize(
            &ch,
            &mufasa("Circle Of Life"),
            "GET",
            "/dir/index.html",
            "0a4f113b",
            1,
        );
        assert!(
            h.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
            "{h}"
        );
        assert!(h.contains("qop=auth, nc=00000001"), "{h}");
    }

    /// RFC 7616 §3.4.6: parameters in any order, odd spacing, token or quoted values.
    #[test]
    fn tolerant_syntax() {
        let ch = Challenge::parse(
            " digest  ,nonce = abc/def ,, realm=\"a \\\"q\\\" b\" , stale=TRUE, algorithm=sha-256-SESS,qop=auth-int, domain=\"sip:x sip:y\",",
        )
        .unwrap();
        assert_eq!(ch.realm, "a \"q\" b");
        assert_eq!(ch.nonce, "abc/def");
        assert!(ch.stale);
        assert_eq!(ch.algorithm, Algorithm::Sha256Sess);
        assert_eq!(ch.qop, vec![Qop::AuthInt]);
        assert_eq!(ch.domain.as_deref(), Some("sip:x sip:y"));
        assert_eq!(ch.opaque, None);
    }

    /// RFC 7616 §3.3: realm and nonce are required; unknown algorithms are refused.
    #[test]
    fn rejects_bad_challenges() {
        assert_eq!(
            Challenge::parse("Basic realm=\"x\""),
            Err(AuthError::NotDigest)
        );
        assert_eq!(
            Challenge::parse("Digest nonce=\"n\""),
            Err(AuthError::Missing("realm"))
        );
        assert_eq!(
            Challenge::parse("Digest realm=\"r\""),
            Err(AuthError::Missing("nonce"))
        );
        assert!(matches!(
            Challenge::parse("Digest realm=r, nonce=n, algorithm=SHA-512-256"),
            Err(AuthError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            Challenge::parse("Digest realm=\"r"),
            Err(AuthError::Syntax { .. })
        ));
        assert!(matches!(
            Challenge::parse("Digest realm r"),
            Err(AuthError::Syntax { .. })
        ));
    }

    /// RFC 2069 (RFC 2617 §3.2.2.1): no qop offered -> response = H(HA1:nonce:HA2), no cnonce/nc.
    #[test]
    fn legacy_response_without_qop() {
        let ch = Challenge::parse("Digest realm=\"r\", nonce=\"n\"").unwrap();
        let h = authorize(&ch, &mufasa("pw"), "REGISTER", "sip:example.com", "c", 1);
        let ha1 = format!("{:x}", Md5::digest(b"Mufasa:r:pw"));
        let ha2 = format!("{:x}", Md5::digest(b"REGISTER:sip:example.com"));
        let resp = format!("{:x}", Md5::digest(format!("{ha1}:n:{ha2}").as_bytes()));
        assert!(h.contains(&format!("response=\"{resp}\"")), "{h}");
        assert!(
            !h.contains("cnonce") && !h.contains("qop") && !h.contains("nc="),
            "{h}"
        );
    }

    /// RFC 7616 §3.4.3: auth-int only when `auth` is not offered and a body is supplied.
    #[test]
    fn auth_int_hashes_the_body() {
        let ch = Challenge::parse("Digest realm=r, nonce=n, qop=\"auth-int\"").unwrap();
        let creds = mufasa("pw");
        let with = authorize_with_body(&ch, &creds, "INVITE", "sip:a", "c", 1, Some(b"v=0\r\n"));
        let ha1 = format!("{:x}", Md5::digest(b"Mufasa:r:pw"));
        let hb = format!("{:x}", Md5::digest(b"v=0\r\n"));
        let ha2 = format!("{:x}", Md5::digest(format!("INVITE:sip:a:{hb}").as_bytes()));
        let resp = format!(
            "{:x}",
            Md5::digest(format!("{ha1}:n:00000001:c:auth-int:{ha2}").as_bytes())
        );
        assert!(with.contains(&format!("response=\"{resp}\"")), "{with}");
        assert!(with.contains("qop=auth-int"), "{with}");
        let without = authorize(&ch, &creds, "INVITE", "sip:a", "c", 1);
        assert!(!without.contains("qop"), "{without}");
    }

    /// The password never appears in Debug output (STYLE.md §4).
    #[test]
    fn debug_redacts_password() {
        let dbg = format!("{:?}", mufasa("Circle of Life"));
        assert!(dbg.contains("Mufasa") && !dbg.contains("Circle"), "{dbg}");
    }

    /// RFC 7616 §3.4.5: nc counts requests under one nonce; a new challenge restarts it.
    #[test]
    fn client_counts_nonce_uses() {
        let mut c = DigestClient::new();
        let creds = mufasa("pw");
        assert_eq!(c.authorization("r", &creds, "REGISTER", "sip:x", "c"), None);
        let realm = c
            .on_challenge("Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"")
            .unwrap();
        let first = c
            .authorization(&realm, &creds, "REGISTER", "sip:x", "c")
            .unwrap();
        let second = c
            .authorization(&realm, &creds, "REGISTER", "sip:x", "c")
            .unwrap();
        assert!(first.ends_with("nc=00000001") && second.ends_with("nc=00000002"));
        c.on_challenge("Digest realm=\"r\", nonce=\"n2\", qop=\"auth\"")
            .unwrap();
        let third = c
            .authorization("r", &creds, "REGISTER", "sip:x", "c")
            .unwrap();
        assert!(third.contains("nonce=\"n2\"") && third.ends_with("nc=00000001"));
        c.forget("r");
        assert_eq!(c.authorization("r", &creds, "REGISTER", "sip:x", "c"), None);
    }

    proptest! {
        /// Network input never panics the parser (STYLE.md §5).
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Challenge::parse(&s);
            let _ = Challenge::parse(&format!("Digest {s}"));
        }

        /// Quoted values survive escaping: what `authorize` writes, `digest_params` reads back.
        #[test]
        fn quoted_values_round_trip(user in "[ -~]{0,20}", realm in "[ -~]{1,20}") {
            let ch = Challenge { realm: realm.clone(), nonce: "n".into(), opaque: None,
                algorithm: Algorithm::Md5, qop: vec![Qop::Auth], stale: false, domain: None };
            let creds = Credentials { username: user.clone(), password: "p".into() };
            let params = digest_params(&authorize(&ch, &creds, "INVITE", "sip:a", "c", 7)).unwrap();
            let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            prop_assert_eq!(get("username"), Some(user));
            prop_assert_eq!(get("realm"), Some(realm));
            prop_assert_eq!(get("nc"), Some("00000007".to_owned()));
        }
    }
}
