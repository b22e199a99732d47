//! `/ws` accepts the Odoo addon's HS256 JWTs (RFC 7519) when `[auth] token_secret` is set: the
//! user is the token's `login`. A bad signature, an expired token, a token signed with another
//! secret and `alg: none` (RFC 8725 §3.1) are closed with 4401; dev tokens keep working.
//! The tokens are made by the addon's own encoder, `odoo/mobile_webrtc/lib/jwt_hs256.py`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use support::gateway::{ALICE_TOKEN, Gateway, GatewayOptions};
use support::ws::{WsClient, WsEvent};
use tokio::net::UdpSocket;

/// `[auth] token_secret` of the gateway under test (the addon's `mobile_webrtc.token_secret`).
const SECRET: &str = "e2e-token-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
/// The addon's token lifetime.
const TTL: u64 = 300;

/// Runs the addon's encoder: `jwt_hs256.encode(claims, secret)`, or an `alg: none` token.
fn addon_token(claims: &Value, secret: &str, alg_none: bool) -> Result<String> {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("odoo/mobile_webrtc/lib");
    let script = "import json, sys\n\
        sys.path.insert(0, sys.argv[1])\n\
        import jwt_hs256 as j\n\
        claims = json.loads(sys.argv[2])\n\
        if sys.argv[4] == 'none':\n\
        \x20   print(j.b64url_encode(j._dump({'alg': 'none', 'typ': 'JWT'})) + '.' + j.b64url_encode(j._dump(claims)) + '.')\n\
        else:\n\
        \x20   print(j.encode(claims, sys.argv[3]))\n";
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&lib)
        .arg(claims.to_string())
        .arg(secret)
        .arg(if alg_none { "none" } else { "hs256" })
        .output()
        .context("running python3 (apt-get install python3)")?;
    ensure!(
        output.status.success(),
        "the addon's encoder failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// Claims like `res.users.webrtc_gateway_token()`'s, issued `age` seconds ago.
fn claims(login: &str, age: u64) -> Value {
    // The test reads the wall clock: the tokens' times are compared with the gateway's.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let iat = now - age;
    json!({"sub": "7", "login": login, "extension": "1001", "iat": iat, "exp": iat + TTL})
}

async fn expect_hello(url: &str, user: &str) -> Result<()> {
    let mut ws = WsClient::connect(url).await?;
    let hello = ws.expect_hello().await?;
    ensure!(hello["user"] == user, "hello should name {user}: {hello}");
    Ok(())
}

async fn expect_4401(url: &str) -> Result<()> {
    let mut ws = WsClient::connect(url).await?;
    match ws.next_event(Duration::from_secs(10)).await? {
        WsEvent::Closed(Some(4401), _) => Ok(()),
        other => bail!("expected close code 4401 and nothing else, got {other:?}"),
    }
}

/// A valid addon token names its `login`; every forged, stale or foreign token gets 4401.
#[tokio::test]
async fn addon_tokens_open_ws_and_bad_ones_get_4401() {
    let observer = UdpSocket::bind("127.0.0.1:0").await.expect("UDP socket");
    let options = GatewayOptions::default().config_key("auth.token_secret", &format!("{SECRET:?}"));
    let gateway = Gateway::start_with(observer.local_addr().expect("bound").port(), &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = scenario(&gateway).await {
        panic!("{e:#}");
    }
}

async fn scenario(gateway: &Gateway) -> Result<()> {
    let url = |token: &str| gateway.ws_url(Some(token));
    let valid = addon_token(&claims("zoë@example.com", 0), SECRET, false)?;
    expect_hello(&url(&valid), "zoë@example.com")
        .await
        .context("valid token")?;
    expect_hello(&url(ALICE_TOKEN), "alice")
        .await
        .context("dev token")?;

    // The signature's first character changed: its first 6 bits differ.
    let (input, signature) = valid.rsplit_once('.').context("three segments")?;
    let first = if signature.starts_with('A') { "B" } else { "A" };
    let bad_signature = format!("{input}.{first}{}", &signature[1..]);
    let expired = addon_token(&claims("zoë@example.com", TTL + 120), SECRET, false)?;
    let other_secret = addon_token(
        &claims("zoë@example.com", 0),
        "another-secret-of-at-least-32-bytes-long",
        false,
    )?;
    let alg_none = addon_token(&claims("mallory", 0), SECRET, true)?;
    for (what, token) in [
        ("bad signature", bad_signature.as_str()),
        ("expired", &expired),
        ("other secret", &other_secret),
        ("alg none", &alg_none),
        ("garbage", "not.a.jwt"),
    ] {
        expect_4401(&url(token)).await.context(what)?;
    }
    let log = gateway.log();
    ensure!(
        !log.contains(&valid) && !log.contains(SECRET),
        "tokens and the secret must never be logged"
    );
    Ok(())
}
