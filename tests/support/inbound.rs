//! Calls toward the gateway: headless Chromium with the test client loaded from the gateway's
//! origin (its devices log in as alice), the gateway, and SIPp playing Asterisk: optionally as the
//! registrar the gateway REGISTERs to (its `sip.proxy`), and as callers sending INVITEs to the
//! gateway's SIP port.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use tokio::sync::Mutex;

use super::browser::Browser;
use super::device::Device;
use super::gateway::{ALICE_TOKEN, Gateway, GatewayOptions};
use super::ports::free_udp_port;
use super::sipp::{Scenario, Sipp, SippOptions};
use super::sipp_log::{LoggedMessage, utc_ms};

/// Chromium + the gateway + SIPp registrar and callers.
pub(crate) struct InboundRig {
    /// The browser, with the test client loaded from the gateway's origin.
    pub(crate) browser: Browser,
    /// The gateway.
    pub(crate) gateway: Gateway,
    registrar: Mutex<Option<Sipp>>,
    callers: Mutex<Vec<Sipp>>,
}

/// How long ringing took after the INVITE, measured at each end.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RingingFigures {
    /// SIPp: INVITE sent -> 180 received, on SIPp's clock (its log timestamps are good to ~1 ms).
    pub(crate) invite_to_180_at_sipp_ms: Option<f64>,
    /// The gateway: INVITE received (log "sip in", with `gateway::sip_driver=trace`; else
    /// parsed, log "inbound INVITE") -> `incoming` handed to every device's session (log
    /// "inbound call ringing"), on the gateway's clock.
    pub(crate) in_gateway_ms: Option<f64>,
    /// Whether the start is the datagram's arrival (else the parsed INVITE).
    pub(crate) from_datagram: bool,
    /// INVITE received at the gateway -> `incoming` received in each device's page (the
    /// gateway's log clock against the page's `performance.timeOrigin + now()`, both the system
    /// clock).
    pub(crate) to_devices_ms: Vec<Option<f64>>,
}

impl std::fmt::Display for RingingFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let devices: Vec<String> = self.to_devices_ms.iter().map(|d| ms(*d)).collect();
        let start = if self.from_datagram {
            "INVITE datagram in"
        } else {
            "INVITE parsed"
        };
        write!(
            f,
            "INVITE -> 180 at SIPp {} ms (SIPp's coarse clock); {start} -> incoming sent, in the gateway {} ms; {start} at the gateway -> incoming in the page: {} ms",
            ms(self.invite_to_180_at_sipp_ms),
            ms(self.in_gateway_ms),
            devices.join(" / ")
        )
    }
}

/// One SIPp caller of the rig (an index into its callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller(usize);

impl InboundRig {
    /// Starts the browser (waiting for this binary's turn) and a gateway configured by `options`
    /// whose `sip.proxy` is a port of 127.0.0.1 nobody answers on (the callers' address,
    /// 127.0.0.1, is then the proxy's: the trunk source).
    pub(crate) async fn start(options: &GatewayOptions) -> Result<InboundRig> {
        let browser = Browser::launch().await?;
        let gateway = Gateway::start_with(free_udp_port()?, options).await?;
        Self::open(browser, gateway, None).await
    }

    /// Starts SIPp as the registrar with `scenario` (tests/data/sipp), then the browser and a
    /// gateway configured by `options` whose `sip.proxy` is that SIPp.
    pub(crate) async fn start_with_registrar(
        scenario: &str,
        options: &GatewayOptions,
    ) -> Result<InboundRig> {
        let browser = Browser::launch().await?;
        let registrar = Sipp::spawn_with(
            Scenario::File(scenario),
            &SippOptions {
                rtp_echo: false,
                ..SippOptions::default()
            },
        )
        .await?;
        let gateway = Gateway::start_with(registrar.port(), options).await?;
        Self::open(browser, gateway, Some(registrar)).await
    }

    async fn open(
        browser: Browser,
        gateway: Gateway,
        registrar: Option<Sipp>,
    ) -> Result<InboundRig> {
        browser
            .open(&format!("{}/healthz", gateway.base_url()))
            .await
            .context("opening the gateway's /healthz page")?;
        Ok(InboundRig {
            browser,
            gateway,
            registrar: Mutex::new(registrar),
            callers: Mutex::new(Vec::new()),
        })
    }

    /// Connects a device of the page as alice and waits for its `hello`.
    pub(crate) async fn device(&self, name: &str) -> Result<Device<'_>> {
        Device::connect(&self.browser, name, &self.gateway.ws_url(Some(ALICE_TOKEN))).await
    }

    /// Starts SIPp with the UAC `scenario`, calling `sip:<to_user>@127.0.0.1:<gateway SIP port>`
    /// (`-s to_user`), set up by `options` (echoing RTP unless told not to).
    pub(crate) async fn call(
        &self,
        scenario: &str,
        to_user: &str,
        options: &SippOptions,
    ) -> Result<Caller> {
        let mut options = options.clone();
        let mut extra = vec![
            format!("127.0.0.1:{}", self.gateway.sip_port()),
            "-s".to_owned(),
            to_user.to_owned(),
        ];
        extra.append(&mut options.extra);
        options.extra = extra;
        let sipp = Sipp::spawn_with(Scenario::File(scenario), &options).await?;
        let mut callers = self.callers.lock().await;
        callers.push(sipp);
        Ok(Caller(callers.len() - 1))
    }

    /// Waits at most `timeout` for `caller` to exit 0 (its scenario completed as written).
    pub(crate) async fn caller_success(&self, caller: Caller, timeout: Duration) -> Result<()> {
        let mut callers = self.callers.lock().await;
        let sipp = callers
            .get_mut(caller.0)
            .ok_or_else(|| anyhow!("no caller {caller:?}"))?;
        sipp.expect_success(timeout).await
    }

    /// The SIP messages `caller` sent and received so far, with their times.
    pub(crate) async fn caller_log(&self, caller: Caller) -> Vec<LoggedMessage> {
        self.callers
            .lock()
            .await
            .get(caller.0)
            .map(Sipp::logged)
            .unwrap_or_default()
    }

    /// Waits at most `timeout` for the registrar to exit 0.
    pub(crate) async fn registrar_success(&self, timeout: Duration) -> Result<()> {
        let mut registrar = self.registrar.lock().await;
        registrar
            .as_mut()
            .context("this rig runs no registrar")?
            .expect_success(timeout)
            .await
    }

    /// The SIP messages the registrar sent and received so far, with their times.
    pub(crate) async fn registrar_log(&self) -> Vec<LoggedMessage> {
        self.registrar
            .lock()
            .await
            .as_ref()
            .map(Sipp::logged)
            .unwrap_or_default()
    }

    /// How long `caller`'s INVITE took to ring `devices`, measured at each end (for the first
    /// inbound call of the gateway).
    pub(crate) async fn ringing_figures(
        &self,
        caller: Caller,
        devices: &[&Device<'_>],
    ) -> Result<RingingFigures> {
        let log = self.caller_log(caller).await;
        let gateway_log = self.gateway.log();
        let lines: Vec<&str> = gateway_log.lines().collect();
        let time = |line: &str| line.split_whitespace().next().and_then(utc_ms);
        let parsed_at = lines.iter().position(|l| l.contains("inbound INVITE"));
        let parsed = parsed_at.and_then(|i| time(lines[i]));
        // With `gateway::sip_driver=trace` the driver logs each datagram as it arrives.
        let datagram = parsed_at
            .and_then(|i| lines[..i].iter().rev().find(|l| l.contains("sip in (")))
            .and_then(|l| time(l));
        let received = datagram.or(parsed);
        let ringing = lines
            .iter()
            .find(|l| l.contains("inbound call ringing"))
            .and_then(|l| time(l));
        let mut to_devices = Vec::new();
        for device in devices {
            let at = device.received_wall_ms(|m| m["type"] == "incoming").await?;
            to_devices.push(at.zip(received).map(|(at, received)| at - received));
        }
        Ok(RingingFigures {
            invite_to_180_at_sipp_ms: invite_to_response_ms(&log, 180),
            in_gateway_ms: ringing.zip(received).map(|(r, i)| r - i),
            from_datagram: datagram.is_some(),
            to_devices_ms: to_devices,
        })
    }

    /// Ends the test: on success closes the browser; on failure prints what the browser's
    /// devices saw, then panics with the error (the gateway and the SIPps print their logs as
    /// they are dropped during the panic).
    pub(crate) async fn finish(self, outcome: Result<()>) {
        match outcome {
            Ok(()) => {
                let InboundRig { browser, .. } = self;
                if let Err(e) = browser.close().await {
                    panic!("{e:#}");
                }
            }
            Err(e) => {
                let devices = match self
                    .browser
                    .eval("return window.__gw.devicesState();", vec![])
                    .await
                {
                    Ok(state) => serde_json::to_string_pretty(&state).unwrap_or_default(),
                    Err(e) => format!("<unavailable: {e}>"),
                };
                eprintln!("===== browser devices =====\n{devices}\n===== end of devices =====");
                self.browser.dump().await;
                panic!("{e:#}");
            }
        }
    }
}

/// The first message in `log` that `wanted` accepts.
pub(crate) fn first(
    log: &[LoggedMessage],
    wanted: impl Fn(&LoggedMessage) -> bool,
) -> Option<&LoggedMessage> {
    log.iter().find(|m| wanted(m))
}

/// When SIPp sent the (first) INVITE of `log`: ms since the Unix epoch.
pub(crate) fn invite_sent_at(log: &[LoggedMessage]) -> Option<f64> {
    first(log, |m| m.sent && m.is_request("INVITE")).map(|m| m.at_unix_ms)
}

/// Milliseconds from SIPp sending the INVITE of `log` to the first received response `code`.
pub(crate) fn invite_to_response_ms(log: &[LoggedMessage], code: u16) -> Option<f64> {
    let sent = invite_sent_at(log)?;
    first(log, |m| !m.sent && m.is_response(code, Some("INVITE"))).map(|m| m.at_unix_ms - sent)
}

/// `value` as whole milliseconds, or `-`.
pub(crate) fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}
