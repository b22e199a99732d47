//! RFC 7616 §3.9.1 and RFC 2617 §3.5 worked examples, through the public API.

use gateway_sip::auth::{Algorithm, Challenge, Credentials, Qop, authorize, digest_params};

const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

fn mufasa(password: &str) -> Credentials {
    Credentials {
        username: "Mufasa".into(),
        password: password.into(),
    }
}

fn param(header: &str, name: &str) -> Option<String> {
    digest_params(header)
        .expect("authorize writes parseable parameters")
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// RFC 7616 §3.9.1: the server offers SHA-256 and MD5; both responses match the RFC.
#[test]
fn rfc7616_md5_and_sha256_responses() {
    let cases = [
        ("MD5", Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
        (
            "SHA-256",
            Algorithm::Sha256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ];
    for (token, algorithm, expected) in cases {
        let value = format!(
            "Digest\r\n realm=\"http-auth@example.org\",\r\n qop=\"auth, auth-int\",\r\n \
             algorithm={token},\r\n nonce=\"{NONCE}\",\r\n opaque=\"{OPAQUE}\""
        );
        let ch = Challenge::parse(&value).unwrap();
        assert_eq!(ch.algorithm, algorithm);
        assert_eq!(ch.qop, vec![Qop::Auth, Qop::AuthInt]);
        assert_eq!(ch.realm, "http-auth@example.org");
        let header = authorize(
            &ch,
            &mufasa("Circle of Life"),
            "GET",
            "/dir/index.html",
            CNONCE,
            1,
        );
        assert_eq!(
            param(&header, "response").as_deref(),
            Some(expected),
            "{header}"
        );
        assert_eq!(param(&header, "algorithm").as_deref(), Some(token));
        assert_eq!(param(&header, "qop").as_deref(), Some("auth"));
        assert_eq!(param(&header, "nc").as_deref(), Some("00000001"));
        assert_eq!(param(&header, "cnonce").as_deref(), Some(CNONCE));
        assert_eq!(param(&header, "opaque").as_deref(), Some(OPAQUE));
        assert_eq!(param(&header, "uri").as_deref(), Some("/dir/index.html"));
        assert_eq!(param(&header, "username").as_deref(), Some("Mufasa"));
    }
}

/// RFC 7616 §3.9.1: a wrong password gives a different response (the check is not vacuous).
#[test]
fn rfc7616_wrong_password_differs() {
    let ch = Challenge::parse(&format!(
        "Digest realm=\"http-auth@example.org\", qop=\"auth\", nonce=\"{NONCE}\""
    ))
    .unwrap();
    let header = authorize(
        &ch,
        &mufasa("circle of life"),
        "GET",
        "/dir/index.html",
        CNONCE,
        1,
    );
    assert_ne!(
        param(&header, "response").as_deref(),
        Some("8ca523f5e9506fed4657c9700eebdbec")
    );
}

/// RFC 2617 §3.5: the classic example (MD5 by default, opaque echoed).
#[test]
fn rfc2617_example() {
    let ch = Challenge::parse(
        "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
    )
    .unwrap();
    assert_eq!(ch.algorithm, Algorithm::Md5);
    let header = authorize(
        &ch,
        &mufasa("Circle Of Life"),
        "GET",
        "/dir/index.html",
        "0a4f113b",
        1,
    );
    assert_eq!(
        param(&header, "response").as_deref(),
        Some("6629fae49393a05397450978507c4ef1")
    );
    assert_eq!(
        param(&header, "opaque").as_deref(),
        Some("5ccc069c403ebaf9f0171e9517f40e41")
    );
}
