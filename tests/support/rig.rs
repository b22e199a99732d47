//! A browser call through the gateway to SIPp: the pieces one browser e2e test needs, and the
//! helpers that read what the browser saw.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::browser::Browser;
use super::gateway::{ALICE_TOKEN, Gateway, GatewayOptions};
use super::sipp::{Scenario, Sipp, SippOptions};

/// How the browser places its call.
#[derive(Debug, Clone)]
pub(crate) struct CallOptions {
    /// The number dialled.
    pub(crate) to: &'static str,
    /// Trickle ICE (candidates in `ice` messages) or all candidates inside the offer.
    pub(crate) trickle: bool,
    /// Codec preferences as mime types (e.g. `audio/opus`); empty = Chromium's default offer.
    pub(crate) codecs: Vec<&'static str>,
    /// A video call (issue 10): the fake camera is sent too and `call_type` is `video`.
    pub(crate) video: bool,
    /// Video codec preferences as mime types (e.g. `video/H264`); empty = Chromium's default.
    pub(crate) video_codecs: Vec<&'static str>,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            to: "600",
            trickle: true,
            codecs: Vec::new(),
            video: false,
            video_codecs: Vec::new(),
        }
    }
}

/// Audio RTP statistics from the browser's `getStats()`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AudioStats {
    /// `inbound-rtp.packetsReceived`.
    pub(crate) packets_received: u64,
    /// `inbound-rtp.totalAudioEnergy`.
    pub(crate) total_audio_energy: f64,
    /// `inbound-rtp.audioLevel`.
    pub(crate) audio_level: f64,
    /// The codec report's mimeType, e.g. `audio/PCMU`.
    pub(crate) mime_type: Option<String>,
}

/// Call setup as the browser measured it, from sending `call`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SetupFigures {
    /// Milliseconds until the `answer` message.
    pub(crate) to_answer_ms: Option<f64>,
    /// Milliseconds until `state: connected`.
    pub(crate) to_connected_ms: Option<f64>,
}

/// How [`CallRig::start_with`] configures the gateway and runs SIPp.
#[derive(Debug, Clone, Default)]
pub(crate) struct RigOptions {
    /// Configuration keys of the gateway.
    pub(crate) gateway: GatewayOptions,
    /// How SIPp runs its scenario.
    pub(crate) sipp: SippOptions,
}

/// Chromium + SIPp (as Asterisk) + the gateway between them.
pub(crate) struct CallRig {
    /// The browser, with the test client loaded from the gateway's origin.
    pub(crate) browser: Browser,
    /// SIPp running the UAS scenario.
    pub(crate) sipp: Sipp,
    /// The gateway, whose SIP proxy is SIPp.
    pub(crate) gateway: Gateway,
}

impl CallRig {
    /// Starts everything: the browser (waiting for this binary's turn), SIPp with `scenario`
    /// from tests/data/sipp, the gateway, and loads the client into a gateway page.
    pub(crate) async fn start(scenario: &str) -> Result<CallRig> {
        Self::start_with(scenario, &RigOptions::default()).await
    }

    /// Starts everything like [`CallRig::start`], with the gateway and SIPp set up by `options`.
    pub(crate) async fn start_with(scenario: &str, options: &RigOptions) -> Result<CallRig> {
        let browser = Browser::launch().await?;
        let sipp = Sipp::spawn_with(Scenario::File(scenario), &options.sipp).await?;
        let gateway = Gateway::start_with(sipp.port(), &options.gateway).await?;
        browser
            .open(&format!("{}/healthz", gateway.base_url()))
            .await
            .context("opening the gateway's /healthz page")?;
        Ok(CallRig {
            browser,
            sipp,
            gateway,
        })
    }

    /// Connects the signaling WebSocket as alice and sends `call`; returns the offer sent.
    pub(crate) async fn place_call(&self, options: &CallOptions) -> Result<String> {
        let opts = json!({
            "wsUrl": self.gateway.ws_url(Some(ALICE_TOKEN)),
            "to": options.to,
            "ref": "c1",
            "callType": if options.video { "video" } else { "audio" },
            "trickle": options.trickle,
            "codecs": options.codecs,
            "video": options.video,
            "videoCodecs": options.video_codecs,
        });
        let started = self
            .browser
            .eval("return window.__gw.start(arguments[0]);", vec![opts])
            .await
            .context("placing the call from the browser")?;
        Ok(started["offer"].as_str().unwrap_or_default().to_owned())
    }

    /// Every server message the browser received so far, in order.
    pub(crate) async fn messages(&self) -> Result<Vec<Value>> {
        let events = self
            .browser
            .eval("return window.__gw.events;", vec![])
            .await?;
        Ok(events
            .as_array()
            .map(|events| events.iter().map(|e| e["msg"].clone()).collect())
            .unwrap_or_default())
    }

    /// Polls the browser's messages until one satisfies `wanted`, within `timeout`. Fails at
    /// once on an `error`, an `ended` or a closed WebSocket that `wanted` does not accept.
    pub(crate) async fn wait_message(
        &self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages().await?;
            if let Some(found) = messages.iter().find(|m| wanted(m)) {
                return Ok(found.clone());
            }
            if let Some(fatal) = messages.iter().find(|m| {
                m["type"] == "error" || m["type"] == "__ws_closed" || m["state"] == "ended"
            }) {
                bail!("waiting for {what}, the browser got {fatal}; all messages: {messages:#?}");
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("no {what} within {timeout:?}; the browser got: {messages:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for `{"type":"state","state": state}`.
    pub(crate) async fn wait_state(&self, state: &str, timeout: Duration) -> Result<Value> {
        self.wait_message(&format!("state {state}"), timeout, |m| {
            m["type"] == "state" && m["state"] == state
        })
        .await
    }

    /// Waits for the `answer` to the call.
    pub(crate) async fn wait_answer(&self, timeout: Duration) -> Result<Value> {
        let answer = self
            .wait_message("answer", timeout, |m| m["type"] == "answer")
            .await?;
        if answer["ref"] != "c1" || !answer["call_id"].is_string() || !answer["sdp"].is_string() {
            bail!("malformed answer (want ref c1, a call_id and an sdp): {answer}");
        }
        Ok(answer)
    }

    /// Sends `hangup` from the browser (by call_id once known, else by ref).
    pub(crate) async fn hangup(&self) -> Result<Value> {
        self.browser
            .eval("return window.__gw.hangup();", vec![])
            .await
    }

    /// The browser's received-audio statistics now.
    pub(crate) async fn inbound_audio(&self) -> Result<AudioStats> {
        let s = self
            .browser
            .eval("return window.__gw.inboundAudio();", vec![])
            .await?;
        audio_stats(&s)
    }

    /// Polls until the received audio's energy exceeds `min_energy`, within `timeout`.
    pub(crate) async fn wait_inbound_energy(
        &self,
        min_energy: f64,
        timeout: Duration,
    ) -> Result<AudioStats> {
        wait_energy(&self.browser, min_energy, timeout).await
    }

    /// Milliseconds from sending `call` to the first server message satisfying `wanted`, as the
    /// browser measured them (`None` if no such message yet).
    pub(crate) async fn message_at(&self, wanted: impl Fn(&Value) -> bool) -> Result<Option<f64>> {
        let state = self.browser.client_state().await?;
        let Some(sent) = state["timing"]["callSentAt"].as_f64() else {
            return Ok(None);
        };
        Ok(state["events"]
            .as_array()
            .and_then(|events| events.iter().find(|e| wanted(&e["msg"])))
            .and_then(|e| e["at"].as_f64())
            .map(|at| at - sent))
    }

    /// The browser's RTCP-derived statistics now (`window.__gw.rtcpStats()`).
    pub(crate) async fn rtcp_stats(&self) -> Result<Value> {
        self.browser
            .eval("return window.__gw.rtcpStats();", vec![])
            .await
    }

    /// Call setup times measured in the browser.
    pub(crate) async fn setup_figures(&self) -> Result<SetupFigures> {
        let state = self.browser.client_state().await?;
        let sent = state["timing"]["callSentAt"].as_f64();
        let at = |wanted: &dyn Fn(&Value) -> bool| -> Option<f64> {
            let sent = sent?;
            state["events"]
                .as_array()?
                .iter()
                .find(|e| wanted(&e["msg"]))
                .and_then(|e| e["at"].as_f64())
                .map(|at| at - sent)
        };
        Ok(SetupFigures {
            to_answer_ms: at(&|m| m["type"] == "answer"),
            to_connected_ms: at(&|m| m["type"] == "state" && m["state"] == "connected"),
        })
    }

    /// Prints the call setup figures (eprintln, shown with --nocapture or on failure).
    pub(crate) async fn report_setup(&self, test: &str) {
        match self.setup_figures().await {
            Ok(f) => eprintln!(
                "[{test}] call setup: call -> answer {} ms, call -> connected {} ms",
                ms(f.to_answer_ms),
                ms(f.to_connected_ms)
            ),
            Err(e) => eprintln!("[{test}] call setup figures unavailable: {e:#}"),
        }
    }

    /// Ends the test: on success closes the browser; on failure prints what the browser, the
    /// gateway and SIPp saw, then panics with the error.
    pub(crate) async fn finish(self, outcome: Result<()>) {
        match outcome {
            Ok(()) => {
                let CallRig { browser, .. } = self;
                if let Err(e) = browser.close().await {
                    panic!("{e:#}");
                }
            }
            Err(e) => {
                self.browser.dump().await;
                // The gateway and SIPp print their logs when dropped during this panic.
                panic!("{e:#}");
            }
        }
    }
}

/// Polls `browser`'s received audio until its energy exceeds `min_energy`, within `timeout`.
pub(crate) async fn wait_energy(
    browser: &Browser,
    min_energy: f64,
    timeout: Duration,
) -> Result<AudioStats> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let stats = audio_stats(
            &browser
                .eval("return window.__gw.inboundAudio();", vec![])
                .await?,
        )?;
        if stats.total_audio_energy > min_energy {
            return Ok(stats);
        }
        if tokio::time::Instant::now() >= deadline {
            let outbound = browser
                .eval("return window.__gw.outboundAudio();", vec![])
                .await?;
            bail!(
                "received audio energy stayed at or below {min_energy} for {timeout:?}: inbound {stats:?}, outbound {outbound}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads `window.__gw.inboundAudio()`'s result.
pub(crate) fn audio_stats(s: &Value) -> Result<AudioStats> {
    Ok(AudioStats {
        packets_received: s["packetsReceived"].as_u64().context("packetsReceived")?,
        total_audio_energy: s["totalAudioEnergy"].as_f64().context("totalAudioEnergy")?,
        audio_level: s["audioLevel"].as_f64().context("audioLevel")?,
        mime_type: s["mimeType"].as_str().map(str::to_owned),
    })
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"))
}
