//! The AMI HTTP API (issue 6, docs/ami.md) against the Asterisk 22-like AMI test server: any action
//! returns its response and event list (Ping -> Pong as in asterisk22/03, CoreShowChannels as in
//! asterisk22/06), CLI commands return their output lines (asterisk22/04, 04c), and every failure is
//! a JSON error with the right status: no API key 401 (RFC 6750 section 3), unknown server 404, a
//! server that is down 503 at once (never a hang).

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use support::ami::{API_KEY, post, request, start_pbx, wait_ami_state, with_ami};
use support::gateway::{Gateway, GatewayOptions};
use support::ports::{free_tcp_port, free_udp_port, loopback};

/// Action, list action, command, and the error statuses, on one gateway with a live and a dead server.
#[tokio::test]
async fn actions_commands_and_errors_over_http() {
    let pbx = start_pbx().await.unwrap_or_else(|e| panic!("{e:#}"));
    pbx.set_active_call(true);
    // Nothing listens there: the "down" server never logs in.
    let down = loopback(free_tcp_port().unwrap_or_else(|e| panic!("{e:#}")));
    let options = with_ami(
        GatewayOptions::default().options_interval("0s"),
        &[("pbx", pbx.addr()), ("down", down)],
    );
    let gateway = Gateway::start_with(
        free_udp_port().unwrap_or_else(|e| panic!("{e:#}")),
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = scenario(&gateway).await {
        panic!("{e:#}");
    }
}

async fn scenario(gateway: &Gateway) -> Result<()> {
    wait_ami_state(gateway, "pbx", "connected", Duration::from_secs(10)).await?;

    let (status, body) = post(
        gateway,
        "/api/v1/ami/pbx/action",
        &json!({"Action": "Ping"}),
    )
    .await?;
    ensure!(status == 200, "Ping answered {status}: {body}");
    ensure!(
        body["response"]["Response"] == "Success" && body["response"]["Ping"] == "Pong",
        "Ping should give Pong: {body}"
    );
    ensure!(body["events"] == json!([]), "Ping has no events: {body}");

    let (status, body) = post(
        gateway,
        "/api/v1/ami/pbx/action",
        &json!({"Action": "CoreShowChannels"}),
    )
    .await?;
    ensure!(status == 200, "CoreShowChannels answered {status}: {body}");
    let events = body["events"].as_array().context("events")?;
    let channels: Vec<&Value> = events
        .iter()
        .filter(|e| e["Event"] == "CoreShowChannel")
        .collect();
    ensure!(
        body["response"]["EventList"] == "start" && channels.len() == 2,
        "the list should hold the two channels of asterisk22/06: {body}"
    );
    ensure!(
        events
            .last()
            .is_some_and(|e| e["Event"] == "CoreShowChannelsComplete"),
        "the list ends with CoreShowChannelsComplete: {body}"
    );

    let (status, body) = post(
        gateway,
        "/api/v1/ami/pbx/command",
        &json!({"command": "core show version"}),
    )
    .await?;
    ensure!(status == 200, "the command answered {status}: {body}");
    ensure!(
        body["output"][0]
            .as_str()
            .is_some_and(|l| l.starts_with("Asterisk 22.10.1 built by")),
        "the output of core show version (asterisk22/04): {body}"
    );
    let (status, body) = post(
        gateway,
        "/api/v1/ami/pbx/command",
        &json!({"command": "foo bar baz"}),
    )
    .await?;
    ensure!(
        status == 422
            && body["output"][0]
                .as_str()
                .is_some_and(|l| l.starts_with("No such command 'foo bar baz'")),
        "an unknown CLI command is an error carrying Asterisk's output (asterisk22/04c): {status} {body}"
    );

    // No key, a wrong key: 401 with a JSON error; the action never reaches Asterisk.
    let ping = json!({"Action": "Ping"}).to_string();
    for key in [None, Some("not-the-key-0123456789")] {
        let (status, body) =
            request(gateway, "POST", "/api/v1/ami/pbx/action", key, Some(&ping)).await?;
        ensure!(
            status == 401 && body["error"].is_string(),
            "key {key:?} should be refused with 401: {status} {body}"
        );
    }
    let (status, _) = request(
        gateway,
        "POST",
        "/api/v1/ami/pbx/action",
        Some(API_KEY),
        Some(&ping),
    )
    .await?;
    ensure!(status == 200, "the right key is accepted");

    let (status, body) = post(
        gateway,
        "/api/v1/ami/nosuch/action",
        &json!({"Action": "Ping"}),
    )
    .await?;
    ensure!(
        status == 404 && body["error"].as_str().is_some_and(|e| e.contains("nosuch")),
        "unknown server: {status} {body}"
    );

    let started = tokio::time::Instant::now();
    let (status, body) = post(
        gateway,
        "/api/v1/ami/down/action",
        &json!({"Action": "Ping"}),
    )
    .await?;
    let took = started.elapsed();
    ensure!(
        status == 503
            && body["error"]
                .as_str()
                .is_some_and(|e| e.contains("not connected")),
        "a server that is down answers 503: {status} {body}"
    );
    ensure!(
        took < Duration::from_secs(1),
        "the 503 should come at once, took {took:?}"
    );

    for (path, bad) in [
        (
            "/api/v1/ami/pbx/action",
            "{\"Action\": \"Login\", \"Username\": \"x\"}",
        ),
        ("/api/v1/ami/pbx/action", "[1, 2]"),
        (
            "/api/v1/ami/pbx/action",
            "{\"Action\": \"Ping\", \"X\": \"a\\r\\nAction: Logoff\"}",
        ),
        (
            "/api/v1/ami/pbx/command",
            "{\"cmd\": \"core show version\"}",
        ),
        (
            "/api/v1/originate",
            "{\"user\": \"alice\", \"number\": \"600\\r\\n\"}",
        ),
    ] {
        let (status, body) = request(gateway, "POST", path, Some(API_KEY), Some(bad)).await?;
        ensure!(
            status == 400 && body["error"].is_string(),
            "{bad} should be refused with 400: {status} {body}"
        );
    }
    let (status, body) = post(
        gateway,
        "/api/v1/originate",
        &json!({"user": "mallory", "number": "600"}),
    )
    .await?;
    ensure!(
        status == 404,
        "an unknown user cannot be rung: {status} {body}"
    );
    let (status, body) = post(
        gateway,
        "/api/v1/originate",
        &json!({"user": "alice", "number": "600", "server": "down"}),
    )
    .await?;
    ensure!(
        status == 503,
        "click-to-call through a server that is down: {status} {body}"
    );

    let (status, body) =
        request(gateway, "GET", "/api/v1/ami/servers", Some(API_KEY), None).await?;
    ensure!(
        status == 200 && body["pbx"] == "connected" && body["down"] != "connected",
        "server states: {status} {body}"
    );
    Ok(())
}
