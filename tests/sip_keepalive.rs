//! The gateway's OPTIONS keepalive toward Asterisk (issue 3, point 4): `/healthz` reports the
//! proxy `reachable` while Asterisk answers OPTIONS, and `unreachable` once one goes unanswered
//! (timer F, RFC 3261 §17.1.2.2; T1 is shortened so F = 64*T1 is 3.2 s).

mod support;

use std::time::Duration;

use anyhow::{Context, Result, bail};
use support::gateway::{Gateway, GatewayOptions};
use support::ports::free_udp_port;
use support::sipp::{Scenario, Sipp};

async fn proxy_status(gw: &Gateway) -> Result<String> {
    let (code, body) = gw.get("/healthz").await?;
    if code != 200 {
        bail!("/healthz answered {code}");
    }
    let v: serde_json::Value = serde_json::from_str(&body).context("healthz JSON")?;
    Ok(v["sip"]["proxy"].as_str().unwrap_or_default().to_owned())
}

async fn wait_status(gw: &Gateway, want: &str, within: Duration) -> Result<Duration> {
    let start = tokio::time::Instant::now();
    loop {
        let status = proxy_status(gw).await?;
        if status == want {
            return Ok(start.elapsed());
        }
        if start.elapsed() > within {
            bail!("/healthz still says proxy {status:?} after {within:?}, want {want:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn options() -> GatewayOptions {
    GatewayOptions::default()
        .options_interval("1s")
        .config_key("sip.t1", "\"50ms\"")
        .config_key("sip.t2", "\"200ms\"")
}

/// Asterisk answers: the proxy is reported reachable, and SIPp saw our OPTIONS.
#[tokio::test]
async fn answered_options_report_the_proxy_reachable() {
    let sipp = Sipp::uas(Scenario::File("uas_options_200.xml"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let gw = Gateway::start_with(sipp.port(), &options())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(proxy_status(&gw).await.unwrap(), "unknown");
    let took = wait_status(&gw, "reachable", Duration::from_secs(5)).await;
    if let Err(e) = &took {
        gw.dump();
        panic!("{e:#}");
    }
    eprintln!("[sip_keepalive] reachable after {:?}", took.unwrap());
}

/// Nobody answers at the proxy address: unreachable after the first OPTIONS times out.
#[tokio::test]
async fn unanswered_options_report_the_proxy_unreachable() {
    let silent = free_udp_port().unwrap();
    let gw = Gateway::start_with(silent, &options())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let took = wait_status(&gw, "unreachable", Duration::from_secs(10)).await;
    if let Err(e) = &took {
        gw.dump();
        panic!("{e:#}");
    }
    eprintln!("[sip_keepalive] unreachable after {:?}", took.unwrap());
}
