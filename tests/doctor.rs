//! `webrtc-gateway doctor --config FILE` (issue 7, point 7) against real peers on 127.0.0.1:
//! SIPp answering OPTIONS as Asterisk (RFC 3261 §11), the AMI and Odoo test servers, coturn for
//! STUN (RFC 8489 §6) and TURN Allocate with REST credentials (RFC 5766 §6), and a self-signed
//! certificate. The exit code is the number of failed checks.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use gateway_odoo::test_server::{Credentials, TestServer};
use support::ami::{AMI_SECRET, AMI_USER, start_pbx};
use support::coturn::Coturn;
use support::ports::{free_tcp_port, free_udp_port, free_udp_tcp_port, rtp_block};
use support::sipp::{Scenario, Sipp};
use support::tls::SelfSigned;

const TURN_SECRET: &str = "doctor-test-turn-secret";
/// The Odoo API key (distinct from the login, so that a leak would show).
const ODOO_KEY: &str = "doctor-test-odoo-api-key";

/// What a doctor configuration points at; `None` leaves that section out (a "skip" line).
#[derive(Default)]
struct Peers {
    proxy_port: u16,
    ami: Option<(std::net::SocketAddr, &'static str)>,
    odoo_url: Option<String>,
    coturn: Option<(u16, &'static str)>,
    tls: Option<(PathBuf, PathBuf)>,
}

fn write_config(dir: &Path, peers: &Peers) -> Result<PathBuf> {
    let (first, last) = rtp_block()?;
    let mut text = format!(
        "[http]\nlisten = \"127.0.0.1:{http}\"\n",
        http = free_tcp_port()?
    );
    if let Some((cert, key)) = &peers.tls {
        text.push_str(&format!(
            "tls_cert = {:?}\ntls_key = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        ));
    }
    if let Some((port, secret)) = peers.coturn {
        text.push_str(&format!(
            "\n[webrtc]\nice_servers = [{{ urls = [\"stun:127.0.0.1:{port}\"] }}]\n\
             turn = {{ urls = [\"turn:127.0.0.1:{port}?transport=udp\"], secret = \"{secret}\", ttl = \"1h\" }}\n"
        ));
    }
    text.push_str(&format!(
        "\n[sip]\nlisten = \"127.0.0.1:{sip}\"\nproxy = \"sip:127.0.0.1:{proxy}\"\ndomain = \"127.0.0.1\"\n\
         username = \"gateway\"\npassword = \"secret\"\n\n[media]\nrtp_ports = \"{first}-{last}\"\n\n\
         [storage]\ndata_dir = {data:?}\n",
        sip = free_udp_tcp_port()?,
        proxy = peers.proxy_port,
        data = dir.join("data").display().to_string(),
    ));
    if let Some((addr, secret)) = peers.ami {
        text.push_str(&format!(
            "\n[[ami.servers]]\nname = \"pbx\"\naddress = \"{addr}\"\nusername = \"{AMI_USER}\"\nsecret = \"{secret}\"\n"
        ));
    }
    if let Some(url) = &peers.odoo_url {
        let c = Credentials::default();
        text.push_str(&format!(
            "\n[odoo]\nurl = {url:?}\ndatabase = {:?}\nlogin = {:?}\napi_key = {:?}\nusers_from_odoo = false\n",
            c.database, c.login, ODOO_KEY
        ));
    }
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Runs `doctor --config path`: (exit code, stdout).
async fn doctor(path: &Path) -> Result<(i32, String)> {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_webrtc-gateway"))
            .arg("doctor")
            .arg("--config")
            .arg(path)
            .env("NO_COLOR", "1")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .context("doctor ran for more than 60 s")??;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    eprintln!(
        "----- doctor output -----\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.code().unwrap_or(-1), stdout))
}

/// The line of check `name` (its name starts after the status column).
fn line<'a>(out: &'a str, name: &str) -> Result<&'a str> {
    out.lines()
        .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(name)))
        .with_context(|| format!("no {name} line in:\n{out}"))
}

/// Every peer up and configured: every line `ok`, exit code 0.
#[tokio::test]
async fn all_green_against_the_test_peers() {
    let dir = tempfile::tempdir().unwrap();
    let sipp = Sipp::uas(Scenario::File("uas_options_200.xml"))
        .await
        .unwrap();
    let pbx = start_pbx().await.unwrap();
    let odoo = TestServer::start(Credentials {
        secret: ODOO_KEY.to_owned(),
        ..Credentials::default()
    })
    .await
    .unwrap();
    odoo.accept_method("webrtc.session", "search_count", serde_json::json!(0));
    let coturn = Coturn::start(TURN_SECRET).await.unwrap();
    let cert = SelfSigned::write(dir.path(), 365).unwrap();
    let peers = Peers {
        proxy_port: sipp.port(),
        ami: Some((pbx.addr(), AMI_SECRET)),
        odoo_url: Some(odoo.url()),
        coturn: Some((coturn.port(), TURN_SECRET)),
        tls: Some((cert.cert.clone(), cert.key.clone())),
    };
    let config = write_config(dir.path(), &peers).unwrap();
    let (code, out) = doctor(&config).await.unwrap();
    let check = || -> Result<()> {
        for name in [
            "config",
            "http.listen",
            "sip.listen/udp",
            "sip.listen/tcp",
            "media.rtp_ports",
            "sip.proxy",
            "ami.pbx",
            "odoo",
            "stun stun:127.0.0.1",
            "turn turn:127.0.0.1",
            "http.tls",
        ] {
            let l = line(&out, name)?;
            ensure!(l.starts_with("ok "), "{name} is not ok: {l}");
        }
        ensure!(line(&out, "sip.proxy")?.contains("200 OK"), "{out}");
        ensure!(
            line(&out, "stun")?.contains("public address is 127.0.0.1"),
            "{out}"
        );
        ensure!(
            line(&out, "turn")?.contains("relay address 127.0.0.1:"),
            "{out}"
        );
        ensure!(code == 0, "exit code {code}, want 0:\n{out}");
        ensure!(out.ends_with("all checks passed\n"), "{out}");
        ensure!(
            [TURN_SECRET, ODOO_KEY, AMI_SECRET]
                .iter()
                .all(|s| !out.contains(s)),
            "a secret leaked"
        );
        Ok(())
    };
    if let Err(e) = check() {
        panic!(
            "{e:#}\n===== coturn log =====\n{}",
            support::tail(&coturn.log(), 8192)
        );
    }
}

/// Asterisk stopped (nothing on the proxy port): the `sip.proxy` line fails and says why, the
/// unconfigured peers are skipped, and the exit code counts the one failure.
#[tokio::test]
async fn asterisk_stopped_is_named_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let peers = Peers {
        proxy_port: free_udp_port().unwrap(),
        ..Peers::default()
    };
    let config = write_config(dir.path(), &peers).unwrap();
    let (code, out) = doctor(&config).await.unwrap();
    let sip = line(&out, "sip.proxy").unwrap();
    assert!(sip.starts_with("FAIL"), "{out}");
    assert!(
        sip.contains("connection refused") || sip.contains("no answer"),
        "the SIP line must say what failed: {sip}"
    );
    assert!(sip.contains("-- fix: start Asterisk"), "{sip}");
    for skipped in ["ami", "odoo", "stun", "turn", "http.tls"] {
        assert!(line(&out, skipped).unwrap().starts_with("skip"), "{out}");
    }
    assert_eq!(code, 1, "{out}");
    assert!(out.ends_with("1 check failed\n"), "{out}");
}

/// Each broken peer is its own failure: a wrong AMI secret, a TURN secret coturn does not share
/// (401 on the authenticated Allocate) and a certificate expiring in 10 days give exit code 3.
#[tokio::test]
async fn each_failure_counts_in_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let sipp = Sipp::uas(Scenario::File("uas_options_200.xml"))
        .await
        .unwrap();
    let pbx = start_pbx().await.unwrap();
    let coturn = Coturn::start(TURN_SECRET).await.unwrap();
    let cert = SelfSigned::write(dir.path(), 10).unwrap();
    let peers = Peers {
        proxy_port: sipp.port(),
        ami: Some((pbx.addr(), "not-the-secret")),
        odoo_url: None,
        coturn: Some((coturn.port(), "another-secret")),
        tls: Some((cert.cert.clone(), cert.key.clone())),
    };
    let config = write_config(dir.path(), &peers).unwrap();
    let (code, out) = doctor(&config).await.unwrap();
    assert!(line(&out, "sip.proxy").unwrap().starts_with("ok"), "{out}");
    assert!(line(&out, "ami.pbx").unwrap().starts_with("FAIL"), "{out}");
    let turn = line(&out, "turn").unwrap();
    assert!(
        turn.starts_with("FAIL") && turn.contains("static-auth-secret"),
        "{turn}"
    );
    let tls = line(&out, "http.tls").unwrap();
    assert!(
        tls.starts_with("FAIL") && tls.contains("expires in"),
        "{tls}"
    );
    assert_eq!(code, 3, "{out}");
}
