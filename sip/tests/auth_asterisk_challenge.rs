//! Asterisk 22 (chan_pjsip) digest challenges and the retries it accepted (RFC 3261 §22.2).
//!
//! alice's password is not recorded in the fixtures, so the `response` of the captured retries
//! cannot be recomputed without guessing it; these tests check every other parameter of the
//! header we build against the retry Asterisk accepted with a 200 (same cnonce and nc as SIPp).

use std::fs;

use gateway_sip::auth::{Algorithm, Challenge, Credentials, Qop, authorize, digest_params};

fn header(file: &str, name: &str) -> String {
    let text = fs::read_to_string(format!(
        "{}/tests/data/auth/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture copied into tests/data/auth");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    text.split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
        .unwrap_or_else(|| panic!("{file} has no {name}"))
}

/// Parameters of a header value, minus `response` (which needs the unknown password).
fn params_without_response(value: &str) -> Vec<(String, String)> {
    let mut p: Vec<_> = digest_params(value)
        .expect("a header value we built or captured")
        .into_iter()
        .filter(|(n, _)| n != "response")
        .collect();
    p.sort();
    p
}

fn param(value: &str, name: &str) -> String {
    digest_params(value)
        .expect("a header value we built or captured")
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name} in {value}"))
}

fn alice() -> Credentials {
    Credentials {
        username: "alice".into(),
        password: "not-the-captured-password".into(),
    }
}

/// RFC 3261 §22.4 / RFC 7616 §3.3: Asterisk's 401 to an INVITE parses with every field.
#[test]
fn invite_401_challenge_parses() {
    let value = header(
        "invite-alice-digest-auth-02-ast2alice-401-unauthorized-invite.sip",
        "WWW-Authenticate",
    );
    let ch = Challenge::parse(&value).unwrap();
    assert_eq!(ch.realm, "asterisk");
    assert_eq!(ch.nonce, "1795220314/7d562099e0402960f008f95f1d8d13d7");
    assert_eq!(ch.opaque.as_deref(), Some("6c6e4be46250e470"));
    assert_eq!(ch.algorithm, Algorithm::Md5);
    assert_eq!(ch.qop, vec![Qop::Auth]);
    assert!(!ch.stale);
    assert_eq!(ch.domain, None);
}

/// RFC 3261 §22.2: the INVITE retry we build carries the same parameters as the one Asterisk
/// accepted (the request had Request-URI sip:600@…, SIPp put uri="sip:127.0.0.1:5060").
#[test]
fn invite_retry_matches_accepted_authorization() {
    let ch = Challenge::parse(&header(
        "invite-alice-digest-auth-02-ast2alice-401-unauthorized-invite.sip",
        "WWW-Authenticate",
    ))
    .unwrap();
    let accepted = header(
        "invite-alice-digest-auth-04-alice2ast-invite-sdp.sip",
        "Authorization",
    );
    let ours = authorize(&ch, &alice(), "INVITE", "sip:127.0.0.1:5060", "6b8b4567", 1);
    assert_eq!(
        params_without_response(&ours),
        params_without_response(&accepted)
    );
    let response = param(&ours, "response");
    assert!(response.len() == 32 && response.bytes().all(|b| b.is_ascii_hexdigit()));
}

/// RFC 3261 §10.2.2 / §22.2: REGISTER, and the challenged un-REGISTER, likewise.
#[test]
fn register_retries_match_accepted_authorization() {
    for (challenge, retry) in [
        (
            "register-alice-02-ast2alice-401-unauthorized-register.sip",
            "register-alice-03-alice2ast-register.sip",
        ),
        (
            "register-alice-08-ast2alice-401-unauthorized-register.sip",
            "register-alice-09-alice2ast-register.sip",
        ),
        (
            "register-alice-wrong-password-02-ast2alice-401-unauthorized-register.sip",
            "register-alice-wrong-password-03-alice2ast-register.sip",
        ),
    ] {
        let ch = Challenge::parse(&header(challenge, "WWW-Authenticate")).unwrap();
        let accepted = header(retry, "Authorization");
        // SIPp drew a new cnonce per scenario run; reuse the captured one.
        let cnonce = param(&accepted, "cnonce");
        let ours = authorize(&ch, &alice(), "REGISTER", "sip:127.0.0.1:5060", &cnonce, 1);
        assert_eq!(
            params_without_response(&ours),
            params_without_response(&accepted),
            "{retry}"
        );
    }
}

/// The wrong password produced a second 401 with a fresh opaque but the same nonce; the
/// artificial-auth 401 for an unknown caller looks like a normal challenge (README of the captures).
#[test]
fn second_401_and_unknown_caller_challenges_parse() {
    let first = Challenge::parse(&header(
        "register-alice-wrong-password-02-ast2alice-401-unauthorized-register.sip",
        "WWW-Authenticate",
    ))
    .unwrap();
    let second = Challenge::parse(&header(
        "register-alice-wrong-password-04-ast2alice-401-unauthorized-register.sip",
        "WWW-Authenticate",
    ))
    .unwrap();
    assert_eq!(first.nonce, second.nonce);
    assert_ne!(first.opaque, second.opaque);
    assert!(!second.stale);
    let unknown = Challenge::parse(&header(
        "invite-unknown-caller-02-ast2unknown-401-unauthorized-invite.sip",
        "WWW-Authenticate",
    ))
    .unwrap();
    assert_eq!(unknown.realm, "asterisk");
    assert_eq!(unknown.qop, vec![Qop::Auth]);
}
