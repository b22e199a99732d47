//! No secret reaches the log at any level (issue 8 point 7, docs/STYLE "Never log a secret"): the
//! gateway runs at `log.level = "trace"` with every kind of secret set to a value found nowhere
//! else, a browser places a real call through SIPp, which challenges the INVITE (401, RFC 3261
//! section 22.2), so ICE (RFC 8445) and DTLS-SRTP (RFC 5764) are negotiated for real and audio
//! flows; an AMI action goes through the HTTP API with its key, a second WebSocket opens with an
//! HS256 JWT, Odoo receives the call's reports; then the call is hung up. None of the secrets,
//! nor the credentials derived from them on the wire, may appear in the gateway's log.
//!
//! Not covered from the outside: the SRTP master keys and salts. They are exported from the DTLS
//! handshake (RFC 5764 section 4.2) inside the `rtc` stack and never leave it, so the test cannot
//! learn them; the gateway's own code never touches keying material (no `export_keying_material`,
//! no SRTP context: grep gateway/src, sip/src, media/src), rtc-dtls 0.21 logs no key and
//! rtc-srtp 0.21 logs nothing, and `a=crypto:` (SDES) is never used.
//! ICE user fragments are not checked: they travel in the clear in every STUN USERNAME (RFC 8445
//! section 7.2.2) and identify, rather than authenticate, a session.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use gateway_ami::test_server::TestServer as AmiServer;
use gateway_odoo::test_server::{Credentials, TestServer as OdooServer};
use serde_json::{Value, json};
use support::ami::{AMI_USER, request, wait_ami_state};
use support::gateway::GatewayOptions;
use support::odoo::with_odoo;
use support::ports::free_udp_port;
use support::rig::{CallRig, RigOptions};
use support::sipp::SippOptions;
use support::ws::WsClient;

/// `sip.password`, checked by SIPp's `<verifyauth>` (`-key auth_password`).
const SIP_PASSWORD: &str = "sip-pw-Vq7mZ3kR8xTe";
/// `auth.dev_tokens.alice`: the browser's `/ws?token=`.
const DEV_TOKEN: &str = "dev-token-Jf4tWn9cLp2sHa";
/// `auth.token_secret` (at least 32 bytes): the HS256 key of the JWT of the second WebSocket.
const TOKEN_SECRET: &str = "jwt-key-Kd3vLq8sWz5nXc7bMh2jPf9tRg4yUe6";
/// `http.api_keys`: the bearer of the AMI action.
const API_KEY: &str = "api-key-Hx6pRb2qNz8yTm4c";
/// `ami.servers[0].secret`, sent in the AMI Login.
const AMI_SECRET: &str = "ami-secret-Ty5kMd8qZr3wBn";
/// `odoo.api_key`, sent in every JSON-RPC call to Odoo.
const ODOO_API_KEY: &str = "odoo-key-Pn4xCv7jLs2hGq";
/// `webrtc.turn.secret`, from which the `hello` TURN credentials are derived.
const TURN_SECRET: &str = "turn-secret-Wb9fGk3tQm6dZy";
/// `webrtc.ice_servers[0].credential`, handed to the browser in `hello`.
const ICE_CREDENTIAL: &str = "ice-cred-Ds2yHn7vXp4rLk";

/// The whole call at trace level, human log format; no secret in the log.
#[tokio::test]
async fn no_secret_of_a_full_call_reaches_the_trace_log() {
    full_call_at_trace("text").await;
}

/// The same in the JSON log format, whose strings escape what the text format writes raw.
#[tokio::test]
async fn no_secret_of_a_full_call_reaches_the_json_trace_log() {
    full_call_at_trace("json").await;
}

/// Runs the call with `log.format = format`; then no secret in the log, and the log is the full
/// story.
async fn full_call_at_trace(format: &str) {
    let odoo = OdooServer::start(Credentials {
        secret: ODOO_API_KEY.to_owned(),
        ..Credentials::default()
    })
    .await
    .unwrap_or_else(|e| panic!("starting the Odoo test server: {e:#}"));
    let pbx = AmiServer::start(AMI_USER, AMI_SECRET)
        .await
        .unwrap_or_else(|e| panic!("starting the AMI test server: {e:#}"));
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("data dir: {e:#}"));
    // The TURN servers of `hello` point where nothing listens: Chromium's allocations fail at
    // once and the call connects over the loopback host candidates.
    let no_turn = free_udp_port().unwrap_or_else(|e| panic!("{e:#}"));
    let options = RigOptions {
        gateway: gateway_options(&odoo, pbx.addr(), data.path(), no_turn)
            .config_key("log.format", &format!("{format:?}")),
        sipp: SippOptions {
            extra: vec![
                "-key".to_owned(),
                "auth_password".to_owned(),
                SIP_PASSWORD.to_owned(),
            ],
            ..SippOptions::default()
        },
    };
    let mut rig = CallRig::start_with("uas_auth_401_keyed.xml", &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = scenario(&mut rig, &odoo).await;
    rig.finish(outcome).await;
}

/// Every secret of the configuration set to its distinctive value, at `trace`.
fn gateway_options(
    odoo: &OdooServer,
    ami: SocketAddr,
    data: &Path,
    no_turn: u16,
) -> GatewayOptions {
    let quoted = |text: &str| format!("{text:?}");
    let options = GatewayOptions::default()
        .log_level("trace")
        .config_key("sip.password", &quoted(SIP_PASSWORD))
        .config_key("auth.dev_tokens.alice", &quoted(DEV_TOKEN))
        .config_key("auth.token_secret", &quoted(TOKEN_SECRET))
        .config_key("http.api_keys", &format!("[{}]", quoted(API_KEY)))
        .config_key(
            "ami.servers",
            &format!(
                "[{{ name = \"pbx\", address = \"{ami}\", username = \"{AMI_USER}\", \
                 secret = \"{AMI_SECRET}\", ping_interval = \"1s\" }}]"
            ),
        )
        .config_key(
            "webrtc.turn",
            &format!("{{ urls = [\"turn:127.0.0.1:{no_turn}\"], secret = \"{TURN_SECRET}\" }}"),
        )
        .config_key(
            "webrtc.ice_servers",
            &format!(
                "[{{ urls = [\"turn:127.0.0.1:{no_turn}?transport=udp\"], username = \"gw\", \
                 credential = \"{ICE_CREDENTIAL}\" }}]"
            ),
        );
    with_odoo(options, &odoo.url(), ODOO_API_KEY, data)
}

async fn scenario(rig: &mut CallRig, odoo: &OdooServer) -> Result<()> {
    let ws_url = rig.gateway.ws_url(Some(DEV_TOKEN));
    let started = rig
        .browser
        .eval(
            "return window.__gw.start(arguments[0]);",
            vec![json!({
                "wsUrl": ws_url, "to": "600", "ref": "c1", "callType": "audio",
                "trickle": true, "codecs": [],
            })],
        )
        .await
        .context("placing the call from the browser")?;
    let offer = started["offer"].as_str().context("no offer")?.to_owned();
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    // Audio back from SIPp's echo: ICE, DTLS and SRTP all ran.
    rig.wait_inbound_energy(0.01, Duration::from_secs(15))
        .await?;

    wait_ami_state(&rig.gateway, "pbx", "connected", Duration::from_secs(10)).await?;
    let ping = json!({"Action": "Ping"}).to_string();
    let (status, body) = request(
        &rig.gateway,
        "POST",
        "/api/v1/ami/pbx/action",
        Some(API_KEY),
        Some(&ping),
    )
    .await?;
    ensure!(status == 200, "the AMI Ping answered {status}: {body}");

    let jwt = jwt_for("alice")?;
    let mut ws = WsClient::connect(&rig.gateway.ws_url(Some(&jwt))).await?;
    let hello = ws.expect_hello().await?;
    ensure!(
        hello["user"] == "alice",
        "the JWT should name alice: {hello}"
    );
    drop(ws);

    rig.hangup().await?;
    rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await?;
    wait_reported_end(odoo, Duration::from_secs(15)).await?;

    let secrets = collect_secrets(rig, &offer, &answer, &jwt, &ws_url).await?;
    let log = rig.gateway.log();
    expect_full_story(&log, &rig.sipp.messages())?;
    let leaks: Vec<String> = secrets
        .iter()
        .filter_map(|(what, value)| leak(&log, what, value))
        .collect();
    ensure!(
        leaks.is_empty(),
        "secrets in the gateway's trace log:\n{}",
        leaks.join("\n")
    );
    eprintln!(
        "[secrets_in_logs] {} secrets checked against {} log lines ({} bytes)",
        secrets.len(),
        log.lines().count(),
        log.len()
    );
    Ok(())
}

/// (what, value) of every secret configured or negotiated during the call.
async fn collect_secrets(
    rig: &CallRig,
    offer: &str,
    answer: &Value,
    jwt: &str,
    ws_url: &str,
) -> Result<Vec<(String, String)>> {
    let mut secrets: Vec<(String, String)> = [
        ("sip.password", SIP_PASSWORD),
        ("auth.dev_tokens.alice", DEV_TOKEN),
        ("auth.token_secret", TOKEN_SECRET),
        ("http.api_keys", API_KEY),
        ("ami.servers.secret", AMI_SECRET),
        ("odoo.api_key", ODOO_API_KEY),
        ("webrtc.turn.secret", TURN_SECRET),
        ("webrtc.ice_servers.credential", ICE_CREDENTIAL),
    ]
    .into_iter()
    .map(|(what, value)| (what.to_owned(), value.to_owned()))
    .collect();

    let query = ws_url.split_once('?').map(|(_, q)| q).context("no query")?;
    secrets.push(("the ws URL's query".to_owned(), query.to_owned()));
    secrets.push(("the JWT".to_owned(), jwt.to_owned()));
    let signature = jwt.rsplit('.').next().context("JWT without a signature")?;
    secrets.push(("the JWT's signature".to_owned(), signature.to_owned()));

    let browser_pwd = sdp_attribute(offer, "ice-pwd").context("no a=ice-pwd in the offer")?;
    secrets.push(("the browser's a=ice-pwd".to_owned(), browser_pwd));
    let sdp = answer["sdp"].as_str().context("answer without sdp")?;
    let gateway_pwd = sdp_attribute(sdp, "ice-pwd").context("no a=ice-pwd in the answer")?;
    secrets.push(("the gateway's a=ice-pwd".to_owned(), gateway_pwd));

    let messages = rig.messages().await?;
    let hello = messages
        .iter()
        .find(|m| m["type"] == "hello")
        .context("the browser got no hello")?;
    let credentials: Vec<&str> = hello["ice_servers"]
        .as_array()
        .map(|servers| {
            servers
                .iter()
                .filter_map(|s| s["credential"].as_str())
                .collect()
        })
        .unwrap_or_default();
    ensure!(
        credentials.len() == 2,
        "hello should carry the ice_servers credential and the TURN REST one: {hello}"
    );
    for credential in credentials {
        secrets.push(("a hello TURN credential".to_owned(), credential.to_owned()));
    }

    let sip = rig.sipp.messages();
    let authorization = sip
        .lines()
        .find_map(|line| line.strip_prefix("Authorization:"))
        .map(str::trim)
        .context("SIPp received no Authorization header")?;
    let response = digest_param(authorization, "response").context("no digest response")?;
    ensure!(
        response.len() == 32,
        "an MD5 digest response: {authorization}"
    );
    secrets.push((
        "the Authorization header".to_owned(),
        authorization.to_owned(),
    ));
    secrets.push(("the digest response".to_owned(), response));
    Ok(secrets)
}

/// The log is at trace level and tells the whole call, so a secret had every chance to be in it.
fn expect_full_story(log: &str, sip: &str) -> Result<()> {
    let traces = log
        .lines()
        .filter(|l| l.contains(" TRACE ") || l.contains(r#""level":"TRACE""#))
        .count();
    ensure!(
        traces >= 100,
        "the log should be at trace level ({traces} TRACE lines; is RUST_LOG set?)"
    );
    for needle in [
        "INVITE sent",
        "INVITE retried with credentials",
        "sip out",
        "AMI logged in",
        "logged in to Odoo",
        "session opened",
        "call ended",
    ] {
        ensure!(log.contains(needle), "the log lacks {needle:?}");
    }
    let call_id = sip
        .lines()
        .find_map(|line| line.strip_prefix("Call-ID:"))
        .map(str::trim)
        .context("no Call-ID in SIPp's log")?;
    ensure!(
        log.contains(call_id),
        "the log should name the INVITE's Call-ID {call_id}"
    );
    Ok(())
}

/// Where `log` holds `secret`, as is or hex-encoded (tungstenite dumps frame payloads in hex):
/// a line naming the log targets and one line found, or `None`.
fn leak(log: &str, what: &str, secret: &str) -> Option<String> {
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    let mut targets: Vec<&str> = Vec::new();
    let mut example = None;
    let mut target = "";
    for line in log.lines() {
        target = line_target(line).unwrap_or(target);
        if line.contains(secret) || line.contains(hex.as_str()) {
            if !targets.contains(&target) {
                targets.push(target);
            }
            example.get_or_insert(line);
        }
    }
    let line = example?;
    let shown: String = line.chars().take(400).collect();
    Some(format!(
        "{what} ({secret}) logged by {targets:?}, e.g.: {shown}"
    ))
}

/// The target of the event a log line starts: `"target":"<target>"` of a JSON line, or
/// `<time> <LEVEL> <target>: <message>` of a text line (`None` for the further lines of a
/// multi-line text event).
fn line_target(line: &str) -> Option<&str> {
    if line.starts_with('{') {
        let rest = line.split_once(r#""target":""#)?.1;
        return rest.split_once('"').map(|(target, _)| target);
    }
    let mut fields = line.split_whitespace();
    let (time, _level, target) = (fields.next()?, fields.next()?, fields.next()?);
    (time.len() > 20 && time.as_bytes()[10] == b'T').then(|| target.trim_end_matches(':'))
}

/// The value of the first `a=<name>:` line of `sdp`.
fn sdp_attribute(sdp: &str, name: &str) -> Option<String> {
    let prefix = format!("a={name}:");
    sdp.lines()
        .find_map(|line| line.trim().strip_prefix(prefix.as_str()))
        .map(|value| value.trim().to_owned())
}

/// A parameter of a Digest credentials header, unquoted.
fn digest_param(header: &str, name: &str) -> Option<String> {
    header
        .trim_start_matches("Digest")
        .split(',')
        .filter_map(|param| param.trim().split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
}

/// Polls until Odoo has applied the call's `ended` report (every RPC carries the API key).
async fn wait_reported_end(odoo: &OdooServer, timeout: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    while !odoo.applied().iter().any(|event| event["kind"] == "ended") {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "Odoo got no ended report within {timeout:?}: {:?}",
            odoo.applied()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// An HS256 JWT for `login` signed with [`TOKEN_SECRET`] by the addon's own encoder
/// (`odoo/mobile_webrtc/lib/jwt_hs256.py`, as tests/ws_tokens.rs does).
fn jwt_for(login: &str) -> Result<String> {
    // The token's times are compared with the gateway's clock.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims =
        json!({"sub": "7", "login": login, "extension": "1001", "iat": now, "exp": now + 300});
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("odoo/mobile_webrtc/lib");
    let output = Command::new("python3")
        .arg("-c")
        .arg("import json, sys\nsys.path.insert(0, sys.argv[1])\nimport jwt_hs256\nprint(jwt_hs256.encode(json.loads(sys.argv[2]), sys.argv[3]))")
        .arg(&lib)
        .arg(claims.to_string())
        .arg(TOKEN_SECRET)
        .output()
        .context("running python3 (apt-get install python3)")?;
    ensure!(
        output.status.success(),
        "the addon's encoder failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}
