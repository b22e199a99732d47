//! In-call features from the browser's side (issue 4): the in-call test client
//! (`tests/data/client_incall.js`), messages sent for the current call, and waits that look only
//! at what the browser received after a given point (a call's second `connected`, for instance).

pub(crate) mod phone;
pub(crate) mod relay;
pub(crate) mod rfc4733;

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::data_file;
use super::rig::{AudioStats, CallOptions, CallRig, RigOptions, audio_stats};
use super::sipp::Sipp;
use super::sipp_log::LoggedMessage;

/// Starts a [`CallRig`] with `scenario` and `options`, with the in-call client injected.
pub(crate) async fn start(scenario: &str, options: &RigOptions) -> Result<CallRig> {
    let rig = CallRig::start_with(scenario, options).await?;
    inject_client(&rig).await?;
    Ok(rig)
}

/// Injects `tests/data/client_incall.js` after client.js (call after [`CallRig::start_with`]).
pub(crate) async fn inject_client(rig: &CallRig) -> Result<()> {
    let script = data_file("client_incall.js")?;
    rig.browser.eval(&script, vec![]).await?;
    let ready = rig
        .browser
        .eval(
            "return typeof window.__gw.insertDtmf === 'function';",
            vec![],
        )
        .await?;
    if ready != Value::Bool(true) {
        bail!("tests/data/client_incall.js did not extend window.__gw");
    }
    Ok(())
}

/// Places the default call from a page whose signaling WebSocket is `ws_url` (e.g. through a
/// [`relay::TcpRelay`]), and waits for the answer and `connected`; returns the call id.
pub(crate) async fn call_and_connect_via(
    rig: &CallRig,
    ws_url: &str,
    test: &str,
) -> Result<String> {
    let opts = json!({
        "wsUrl": ws_url,
        "to": "600",
        "ref": "c1",
        "callType": "audio",
        "trickle": true,
        "codecs": [],
    });
    rig.browser
        .eval("return window.__gw.start(arguments[0]);", vec![opts])
        .await
        .context("placing the call from the browser")?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup(test).await;
    answer["call_id"]
        .as_str()
        .map(str::to_owned)
        .context("answer without call_id")
}

/// Places the default call (PCMU passthrough where the SIP side answers PCMU) and waits for the
/// answer and `connected`; returns the call id.
pub(crate) async fn call_and_connect(rig: &CallRig, test: &str) -> Result<String> {
    rig.place_call(&CallOptions::default()).await?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup(test).await;
    answer["call_id"]
        .as_str()
        .map(str::to_owned)
        .context("answer without call_id")
}

/// Sends `{type, call_id: <current call>, ...extra}` from the browser.
pub(crate) async fn send_call_message(rig: &CallRig, kind: &str, extra: Value) -> Result<Value> {
    rig.browser
        .eval(
            "return window.__gw.callMessage(arguments[0], arguments[1]);",
            vec![json!(kind), extra],
        )
        .await
        .with_context(|| format!("sending {kind} from the browser"))
}

/// How many server messages the browser has received so far (a mark for [`wait_after`]).
pub(crate) async fn mark(rig: &CallRig) -> Result<usize> {
    Ok(rig.messages().await?.len())
}

/// Polls the browser's messages from index `from` on until one satisfies `wanted`, within
/// `timeout`; returns its index (the mark just past it is `index + 1`) and the message. Fails
/// at once on an `error` or an `ended` (from `from` on) that `wanted` rejects,
/// and on any `__ws_closed` (the test client records an unexpected close of its WebSocket so).
pub(crate) async fn wait_after(
    rig: &CallRig,
    from: usize,
    what: &str,
    timeout: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Result<(usize, Value)> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let messages = rig.messages().await?;
        let recent = messages.get(from..).unwrap_or_default();
        if let Some(at) = recent.iter().position(&wanted) {
            return Ok((from + at, recent[at].clone()));
        }
        if let Some(fatal) = recent
            .iter()
            .find(|m| m["type"] == "error" || m["type"] == "__ws_closed" || m["state"] == "ended")
        {
            bail!(
                "waiting for {what}, the browser got {fatal}; messages since the mark: {recent:#?}"
            );
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("no {what} within {timeout:?}; messages since the mark: {recent:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for `{"type":"state","state": state}` received after mark `from`.
pub(crate) async fn wait_state_after(
    rig: &CallRig,
    from: usize,
    state: &str,
    timeout: Duration,
) -> Result<(usize, Value)> {
    wait_after(rig, from, &format!("state {state}"), timeout, |m| {
        m["type"] == "state" && m["state"] == state
    })
    .await
}

/// Polls until the received audio energy has grown by more than `growth` over `base`, within
/// `timeout`; returns the stats then and how long it took.
pub(crate) async fn wait_energy_growth(
    rig: &CallRig,
    base: &AudioStats,
    growth: f64,
    timeout: Duration,
) -> Result<(AudioStats, Duration)> {
    let started = tokio::time::Instant::now();
    loop {
        let stats = inbound(rig).await?;
        if stats.total_audio_energy > base.total_audio_energy + growth {
            return Ok((stats, started.elapsed()));
        }
        if started.elapsed() >= timeout {
            bail!(
                "the received audio energy did not grow by {growth} within {timeout:?}: from {base:?} to {stats:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The browser's received-audio statistics now.
pub(crate) async fn inbound(rig: &CallRig) -> Result<AudioStats> {
    audio_stats(
        &rig.browser
            .eval("return window.__gw.inboundAudio();", vec![])
            .await?,
    )
}

/// The browser's ICE ufrags and connection states (`window.__gw.iceState()`).
pub(crate) async fn ice_state(rig: &CallRig) -> Result<Value> {
    rig.browser
        .eval("return window.__gw.iceState();", vec![])
        .await
}

/// Hangs up from the browser, waits for `ended` and for SIPp to complete its scenario.
pub(crate) async fn hang_up(rig: &mut CallRig) -> Result<Value> {
    rig.hangup().await?;
    let ended = rig.wait_state("ended", Duration::from_secs(10)).await?;
    rig.sipp.expect_success(Duration::from_secs(10)).await?;
    Ok(ended)
}

/// The `n`-th message (1-based) of SIPp's log that satisfies `wanted`, within `timeout`, as text.
pub(crate) async fn wait_sipp_message(
    sipp: &Sipp,
    n: usize,
    timeout: Duration,
    wanted: impl Fn(&LoggedMessage) -> bool,
) -> Result<String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let found: Vec<String> = sipp
            .logged()
            .into_iter()
            .filter(&wanted)
            .map(|m| m.text)
            .collect();
        if let Some(message) = found.get(n.saturating_sub(1)) {
            return Ok(message.clone());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "SIPp logged {} such messages within {timeout:?}, want {n}",
                found.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The SDP direction attribute of a SIP message (`a=sendrecv` when none, RFC 3264 section 5.1).
pub(crate) fn direction(message: &str) -> &str {
    message
        .lines()
        .map(str::trim)
        .find(|l| ["a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"].contains(l))
        .unwrap_or("a=sendrecv")
}

/// What [`restart_ice`] saw: the gateway's answer, the ICE state before and after, and how long
/// the answer and the reconnection took from `restartIce()`.
pub(crate) struct RestartedIce {
    /// The gateway's `answer` message.
    pub(crate) answer: Value,
    /// `ice_state` before the restart.
    pub(crate) old: Value,
    /// `ice_state` once connected again.
    pub(crate) new: Value,
    /// From `restartIce()` to the answer.
    pub(crate) answered: Duration,
    /// From `restartIce()` to ICE connected again with the new credentials.
    pub(crate) reconnected: Duration,
}

/// An ICE restart from the browser (RFC 8839 section 4.4.1.1.1): `restartIce()`, its new offer
/// sent as `offer`, the gateway's answer applied; waits until ICE is connected again with the
/// gateway's new credentials.
pub(crate) async fn restart_ice(rig: &CallRig) -> Result<RestartedIce> {
    let old = ice_state(rig).await?;
    let before = mark(rig).await?;
    let started = tokio::time::Instant::now();
    let ufrags = rig
        .browser
        .eval("return window.__gw.restartIce();", vec![])
        .await?;
    if ufrags["before"] == ufrags["after"] {
        bail!("restartIce() should give the browser's offer a new ufrag: {ufrags}");
    }
    let (_, answer) = wait_after(
        rig,
        before,
        "answer to the new offer",
        Duration::from_secs(10),
        |m| m["type"] == "answer",
    )
    .await?;
    let answered = started.elapsed();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = ice_state(rig).await?;
        let restarted = now["remoteUfrag"] != old["remoteUfrag"]
            && now["signalingState"] == "stable"
            && (now["iceConnectionState"] == "connected"
                || now["iceConnectionState"] == "completed");
        if restarted {
            return Ok(RestartedIce {
                answer,
                old,
                new: now,
                answered,
                reconnected: started.elapsed(),
            });
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "10 s after the new offer, no restarted ICE session: before {old}, now {now}; the gateway's answer: {answer}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
