//! A device of a gateway user inside the test page: its own signaling WebSocket (and, once it
//! accepts an inbound call, its own RTCPeerConnection), driven through `window.__gw.devices`
//! of tests/data/client.js. Two devices in one page are two devices to the gateway.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::browser::Browser;
use super::rig::{AudioStats, audio_stats};
use super::video::{VideoStats, video_stats};

/// How often a wait polls the page.
const POLL: Duration = Duration::from_millis(50);

/// One signaling session of the page.
pub(crate) struct Device<'b> {
    browser: &'b Browser,
    name: String,
}

impl<'b> Device<'b> {
    /// Opens device `name`'s WebSocket to `ws_url` and waits for `hello`.
    pub(crate) async fn connect(browser: &'b Browser, name: &str, ws_url: &str) -> Result<Self> {
        browser
            .eval(
                "return window.__gw.openDevice(arguments[0], arguments[1]);",
                vec![json!(name), json!(ws_url)],
            )
            .await
            .with_context(|| format!("connecting device {name}"))?;
        Ok(Device {
            browser,
            name: name.to_owned(),
        })
    }

    /// The device's name in the page.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Every server message with its receive times: `{at, wall, msg}`.
    pub(crate) async fn events(&self) -> Result<Vec<Value>> {
        let events = self
            .browser
            .eval(
                "const d = window.__gw.devices[arguments[0]]; return d ? d.events : [];",
                vec![json!(self.name)],
            )
            .await?;
        Ok(events.as_array().cloned().unwrap_or_default())
    }

    /// Every server message, in order.
    pub(crate) async fn messages(&self) -> Result<Vec<Value>> {
        Ok(self
            .events()
            .await?
            .into_iter()
            .map(|e| e["msg"].clone())
            .collect())
    }

    /// Polls until a message satisfies `wanted`, within `timeout`. Fails at once on an `error`
    /// or a closed WebSocket that `wanted` does not accept.
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
            if let Some(fatal) = messages
                .iter()
                .find(|m| m["type"] == "error" || m["type"] == "__ws_closed")
            {
                bail!(
                    "device {}: waiting for {what}, got {fatal}; all messages: {messages:#?}",
                    self.name
                );
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "device {}: no {what} within {timeout:?}; its messages: {messages:#?}",
                    self.name
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for an `incoming` message; checks its shape (call_id, from, call_type, origin).
    pub(crate) async fn wait_incoming(&self, timeout: Duration) -> Result<Value> {
        let incoming = self
            .wait_message("incoming", timeout, |m| m["type"] == "incoming")
            .await?;
        if !incoming["call_id"].is_string()
            || !incoming["from"].is_string()
            || incoming["call_type"] != "audio"
            || !incoming["origin"].is_string()
        {
            bail!(
                "device {}: malformed incoming (want call_id, from, call_type audio, origin): {incoming}",
                self.name
            );
        }
        Ok(incoming)
    }

    /// Waits for an `incoming` message of a video call (issue 10: `call_type` `video`, the
    /// caller's INVITE offered video); checks its shape like [`Device::wait_incoming`].
    pub(crate) async fn wait_incoming_video(&self, timeout: Duration) -> Result<Value> {
        let incoming = self
            .wait_message("incoming", timeout, |m| m["type"] == "incoming")
            .await?;
        if !incoming["call_id"].is_string()
            || !incoming["from"].is_string()
            || incoming["call_type"] != "video"
            || !incoming["origin"].is_string()
        {
            bail!(
                "device {}: want an incoming video call (call_id, from, call_type video, origin): {incoming}",
                self.name
            );
        }
        Ok(incoming)
    }

    /// Waits for `{"type":"state","call_id": call_id,"state": state}`.
    pub(crate) async fn wait_state(
        &self,
        call_id: &str,
        state: &str,
        timeout: Duration,
    ) -> Result<Value> {
        self.wait_message(&format!("state {state} of {call_id}"), timeout, |m| {
            m["type"] == "state" && m["call_id"] == call_id && m["state"] == state
        })
        .await
    }

    /// Waits for the gateway's `answer` to this device's `accept` of `call_id`.
    pub(crate) async fn wait_answer(&self, call_id: &str, timeout: Duration) -> Result<Value> {
        let answer = self
            .wait_message(&format!("answer for {call_id}"), timeout, |m| {
                m["type"] == "answer" && m["call_id"] == call_id
            })
            .await?;
        if !answer["sdp"].is_string() {
            bail!("device {}: answer without sdp: {answer}", self.name);
        }
        Ok(answer)
    }

    /// Accepts `call_id`: the page's offer goes in `accept`; returns that offer.
    pub(crate) async fn accept(&self, call_id: &str, trickle: bool) -> Result<String> {
        let sent = self
            .browser
            .eval(
                "return window.__gw.acceptIncoming(arguments[0], arguments[1], {trickle: arguments[2]});",
                vec![json!(self.name), json!(call_id), json!(trickle)],
            )
            .await
            .with_context(|| format!("device {}: accepting {call_id}", self.name))?;
        Ok(sent["offer"].as_str().unwrap_or_default().to_owned())
    }

    /// Accepts `call_id` with the camera too: the page's offer (audio, then video) goes in
    /// `accept`; returns that offer. The camera shows as the page's `local` video, the received
    /// video as `remote` (see [`super::video::frame`]).
    pub(crate) async fn accept_video(&self, call_id: &str, trickle: bool) -> Result<String> {
        let sent = self
            .browser
            .eval(
                "return window.__gw.acceptIncoming(arguments[0], arguments[1], {trickle: arguments[2], video: true});",
                vec![json!(self.name), json!(call_id), json!(trickle)],
            )
            .await
            .with_context(|| format!("device {}: accepting {call_id} with video", self.name))?;
        Ok(sent["offer"].as_str().unwrap_or_default().to_owned())
    }

    /// Declines `call_id` with `reason` (`busy` or `decline`).
    pub(crate) async fn reject(&self, call_id: &str, reason: &str) -> Result<Value> {
        self.browser
            .eval(
                "return window.__gw.rejectIncoming(arguments[0], arguments[1], arguments[2]);",
                vec![json!(self.name), json!(call_id), json!(reason)],
            )
            .await
    }

    /// Sends `hangup` for `call_id`.
    pub(crate) async fn hangup(&self, call_id: &str) -> Result<Value> {
        self.browser
            .eval(
                "return window.__gw.deviceHangup(arguments[0], arguments[1]);",
                vec![json!(self.name), json!(call_id)],
            )
            .await
    }

    /// Closes the device's WebSocket (as a closed tab would) and waits until it is closed.
    pub(crate) async fn close(&self) -> Result<()> {
        self.browser
            .eval(
                "return window.__gw.closeDevice(arguments[0]);",
                vec![json!(self.name)],
            )
            .await?;
        Ok(())
    }

    /// The device's received-audio statistics now.
    pub(crate) async fn inbound_audio(&self) -> Result<AudioStats> {
        audio_stats(
            &self
                .browser
                .eval(
                    "return window.__gw.deviceInboundAudio(arguments[0]);",
                    vec![json!(self.name)],
                )
                .await?,
        )
    }

    /// Polls until the received audio's energy exceeds `min_energy`, within `timeout`.
    pub(crate) async fn wait_inbound_energy(
        &self,
        min_energy: f64,
        timeout: Duration,
    ) -> Result<AudioStats> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let stats = self.inbound_audio().await?;
            if stats.total_audio_energy > min_energy {
                return Ok(stats);
            }
            if tokio::time::Instant::now() >= deadline {
                let outbound = self
                    .browser
                    .eval(
                        "return window.__gw.deviceOutboundAudio(arguments[0]);",
                        vec![json!(self.name)],
                    )
                    .await?;
                bail!(
                    "device {}: received audio energy stayed at or below {min_energy} for {timeout:?}: inbound {stats:?}, outbound {outbound}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The device's received-video statistics now (zeros before any video).
    pub(crate) async fn inbound_video(&self) -> Result<VideoStats> {
        video_stats(
            &self
                .browser
                .eval(
                    "return window.__gw.deviceInboundVideo(arguments[0]);",
                    vec![json!(self.name)],
                )
                .await?,
        )
    }

    /// The device's sent-video statistics now, as `window.__gw.outboundVideo()` returns them
    /// (`pliCount`/`firCount`: keyframe requests the sender received).
    pub(crate) async fn outbound_video(&self) -> Result<Value> {
        self.browser
            .eval(
                "return window.__gw.deviceOutboundVideo(arguments[0]);",
                vec![json!(self.name)],
            )
            .await
    }

    /// Polls until the device has decoded more than `min` received video frames, within
    /// `timeout`.
    pub(crate) async fn wait_frames_decoded(
        &self,
        min: u64,
        timeout: Duration,
    ) -> Result<VideoStats> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let stats = self.inbound_video().await?;
            if stats.frames_decoded > min {
                return Ok(stats);
            }
            if tokio::time::Instant::now() >= deadline {
                let outbound = self.outbound_video().await?;
                bail!(
                    "device {}: decoded {} received video frames (wanted more than {min}) within {timeout:?}: inbound {stats:?}, outbound {outbound}",
                    self.name,
                    stats.frames_decoded
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// When (ms since the Unix epoch, the page's clock) the first message satisfying `wanted`
    /// arrived, if one did.
    pub(crate) async fn received_wall_ms(
        &self,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Option<f64>> {
        Ok(self
            .events()
            .await?
            .iter()
            .find(|e| wanted(&e["msg"]))
            .and_then(|e| e["wall"].as_f64()))
    }
}
