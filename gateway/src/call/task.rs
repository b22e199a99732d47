//! The call task's event loop: SIP session events, client control, the three media sockets and
//! the timers (WebRTC stack deadline, RTCP interval, RTP inactivity, STUN).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gateway_media::rtp::RtpFields;
use gateway_sip::sdp::{self, SipSdp};
use gateway_sip::ua::{EndCause, SessionEvent};
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::media::{Media, Sockets, bind_sockets, setup_media};
use super::rtcp_leg::RtcpLeg;
use super::{CallControl, CallEvent, CallRequest, stun};
use crate::app::App;
use crate::signaling::messages::{CallState, ErrorCode, IceCandidate, ServerMessage};
use crate::sip_driver::SipCommand;
use crate::webrtc::LegEvent;

/// How long the first SDP answer may wait for the STUN server's reply before the answer goes
/// out with host candidates only.
const STUN_WAIT: Duration = Duration::from_millis(500);
const RTCP_INTERVAL: Duration = Duration::from_secs(5);

/// Where a pending STUN Binding stands.
enum Srflx {
    /// No STUN server configured, or given up.
    None,
    /// Request sent at `sent`, awaiting the response with this transaction id.
    Pending {
        tid: [u8; 12],
        sent: Instant,
        url: String,
    },
    /// The mapped address.
    Known(SocketAddr, String),
}

struct CallTask {
    app: Arc<App>,
    req: CallRequest,
    to_session: mpsc::UnboundedSender<CallEvent>,
    sockets: Sockets,
    handle: u64,
    started: Instant,
    media: Option<Media>,
    /// SDP answer from SIP waiting for the STUN reply (at most `STUN_WAIT`).
    deferred_answer: Option<(String, Option<u16>)>,
    pending_ice: Vec<Option<IceCandidate>>,
    srflx: Srflx,
    sip_answered: bool,
    connected_sent: bool,
    hung_up: bool,
    /// Our own reason for ending, reported instead of the user agent's (e.g. `rtp_timeout`).
    end_reason: Option<&'static str>,
    last_rx_sip: Instant,
    last_rx_browser: Instant,
    rtcp: RtcpLeg,
    rtcp_due: Instant,
    out: Vec<u8>,
}

/// Why the loop stopped: the SIP code and reason reported in `ended`.
type End = (Option<u16>, String);

pub(super) async fn run(
    app: Arc<App>,
    req: CallRequest,
    to_session: mpsc::UnboundedSender<CallEvent>,
    mut control: mpsc::UnboundedReceiver<CallControl>,
) {
    let call_id = req.call_id.clone();
    let sockets = match bind_sockets(&app).await {
        Ok(s) => s,
        Err(why) => {
            tracing::warn!(%call_id, %why, "no media ports for the call");
            let _ = to_session.send(CallEvent::ToClient(ServerMessage::Error {
                reference: Some(req.reference.clone()),
                code: ErrorCode::Unavailable,
                message: format!("no media resources: {why}"),
            }));
            let _ = to_session.send(CallEvent::ToClient(ended(
                &req,
                Some(503),
                "no_media_ports",
            )));
            let _ = to_session.send(CallEvent::Finished(call_id));
            return;
        }
    };
    let mut rng = rand::rngs::StdRng::from_entropy();
    let local_sdp = SipSdp {
        session_id: rng.gen_range(1..1u64 << 48),
        session_version: rng.gen_range(1..1u64 << 48),
        origin_user: "-".to_owned(),
        addr: app.config.media.ip,
        audio: Some(sdp::MediaLine::offer(
            sockets.rtp.local_addr().map(|a| a.port()).unwrap_or(0),
            &req.sip_codecs,
        )),
    }
    .to_string();

    let handle = app.next_handle();
    let (sip_tx, mut sip_rx) = mpsc::unbounded_channel();
    let mut task = CallTask {
        rtcp: RtcpLeg::new(rng.r#gen(), rng.r#gen()),
        app,
        to_session,
        sockets,
        handle,
        started: Instant::now(),
        media: None,
        deferred_answer: None,
        pending_ice: Vec::new(),
        srflx: Srflx::None,
        sip_answered: false,
        connected_sent: false,
        hung_up: false,
        end_reason: None,
        last_rx_sip: Instant::now(),
        last_rx_browser: Instant::now(),
        rtcp_due: Instant::now() + RTCP_INTERVAL,
        out: vec![0u8; 2048],
        req,
    };
    task.start_stun(&mut rng).await;
    let sent = task.app.sip.send(SipCommand::Invite {
        handle,
        number: task.req.number.clone(),
        sdp: local_sdp,
        events: sip_tx,
    });
    let end = if sent.is_err() {
        (Some(503), "sip_unavailable".to_owned())
    } else {
        tracing::info!(call_id = %task.req.call_id, number = %task.req.number, "call started");
        task.run_loop(&mut sip_rx, &mut control).await
    };
    task.finish(end).await;
}

fn ended(req: &CallRequest, sip_code: Option<u16>, reason: &str) -> ServerMessage {
    ServerMessage::State {
        call_id: req.call_id.clone(),
        reference: Some(req.reference.clone()),
        state: CallState::Ended,
        sip_code,
        reason: Some(reason.to_owned()),
    }
}

impl CallTask {
    fn send(&self, m: ServerMessage) {
        let _ = self.to_session.send(CallEvent::ToClient(m));
    }

    fn state(&self, state: CallState, sip_code: Option<u16>) {
        self.send(ServerMessage::State {
            call_id: self.req.call_id.clone(),
            reference: Some(self.req.reference.clone()),
            state,
            sip_code,
            reason: None,
        });
    }

    fn hangup(&mut self) {
        if !self.hung_up {
            self.hung_up = true;
            let _ = self.app.sip.send(SipCommand::Hangup {
                handle: self.handle,
            });
        }
    }

    /// Sends a STUN Binding request to the first STUN server, if one is configured.
    async fn start_stun(&mut self, rng: &mut impl Rng) {
        let Some(url) = self
            .app
            .config
            .webrtc
            .ice_servers
            .iter()
            .flat_map(|s| s.urls.iter())
            .find(|u| u.starts_with("stun:"))
            .cloned()
        else {
            return;
        };
        let hostport = url.trim_start_matches("stun:");
        let hostport = hostport.split('?').next().unwrap_or(hostport);
        let target = if hostport.contains(':') {
            hostport.to_owned()
        } else {
            format!("{hostport}:3478")
        };
        let Ok(Some(dest)) = tokio::net::lookup_host(target.as_str())
            .await
            .map(|mut it| it.next())
        else {
            tracing::warn!(%url, "STUN server does not resolve; host candidates only");
            return;
        };
        let tid: [u8; 12] = rng.r#gen();
        if self
            .sockets
            .webrtc
            .send_to(&stun::binding_request(tid), dest)
            .await
            .is_ok()
        {
            self.srflx = Srflx::Pending {
                tid,
                sent: Instant::now(),
                url,
            };
        }
    }

    async fn run_loop(
        &mut self,
        sip_rx: &mut mpsc::UnboundedReceiver<SessionEvent>,
        control: &mut mpsc::UnboundedReceiver<CallControl>,
    ) -> End {
        let mut buf = vec![0u8; 2048];
        let mut buf2 = vec![0u8; 2048];
        let mut buf3 = vec![0u8; 2048];
        loop {
            self.drain_leg().await;
            if let Some(end) = self.check_deferred_answer() {
                return end;
            }
            let mut deadline = self.rtcp_due.min(Instant::now() + Duration::from_secs(1));
            if let Some(t) = self.media.as_mut().and_then(|m| m.leg.poll_timeout()) {
                deadline = deadline.min(Instant::from_std(t));
            }
            if let Srflx::Pending { sent, .. } = self.srflx {
                deadline = deadline.min(sent + STUN_WAIT);
            }
            tokio::select! {
                ev = sip_rx.recv() => match ev {
                    Some(ev) => if let Some(end) = self.on_sip(ev) { return end },
                    None => return (Some(503), "sip_unavailable".to_owned()),
                },
                c = control.recv() => match c {
                    Some(CallControl::Ice(cand)) => self.on_ice(cand),
                    Some(CallControl::Hangup) | None => self.hangup(),
                },
                r = self.sockets.webrtc.recv_from(&mut buf) => {
                    if let Ok((n, from)) = r {
                        self.on_webrtc_datagram(from, &buf[..n]);
                    }
                }
                r = self.sockets.rtp.recv_from(&mut buf2) => {
                    if let Ok((n, from)) = r {
                        self.on_sip_rtp(from, &buf2[..n]);
                    }
                }
                r = self.sockets.rtcp.recv_from(&mut buf3) => {
                    if let Ok((n, _)) = r {
                        self.rtcp.on_rtcp(&buf3[..n], Instant::now());
                    }
                }
                _ = tokio::time::sleep_until(deadline) => self.on_tick().await,
            }
        }
    }

    /// Sends what the WebRTC leg produced and forwards the browser's RTP to the SIP side.
    async fn drain_leg(&mut self) {
        let Some(m) = self.media.as_mut() else {
            return;
        };
        while let Some((dest, data)) = m.leg.poll_transmit() {
            let _ = self.sockets.webrtc.send_to(&data, dest).await;
        }
        let mut connected = false;
        let mut failed = false;
        while let Some(ev) = m.leg.poll_event() {
            match ev {
                LegEvent::Connected => connected = true,
                LegEvent::Failed => failed = true,
            }
        }
        while let Some(pkt) = m.leg.poll_rtp() {
            self.last_rx_browser = Instant::now();
            let f = RtpFields {
                pt: pkt.header.payload_type,
                marker: pkt.header.marker,
                seq: pkt.header.sequence_number,
                ts: pkt.header.timestamp,
                ssrc: pkt.header.ssrc,
            };
            let n = m.bridge.browser_to_sip(f, &pkt.payload, &mut self.out);
            if n > 0 {
                self.rtcp.on_sent(&self.out[..n]);
                let _ = self.sockets.rtp.send_to(&self.out[..n], m.sip_remote).await;
            }
        }
        if connected {
            tracing::debug!(call_id = %self.req.call_id, "webrtc leg connected");
            self.last_rx_browser = Instant::now();
            self.maybe_connected();
        }
        if failed {
            tracing::warn!(call_id = %self.req.call_id, "webrtc leg failed");
            self.hangup();
        }
    }

    fn maybe_connected(&mut self) {
        let leg_up = self.media.as_ref().is_some_and(|m| m.leg.is_connected());
        if self.sip_answered && leg_up && !self.connected_sent {
            self.connected_sent = true;
            tracing::info!(
                call_id = %self.req.call_id,
                setup_ms = self.started.elapsed().as_secs_f64() * 1000.0,
                "call connected"
            );
            self.state(CallState::Connected, Some(200));
        }
    }

    /// Builds the media from the first SIP answer, unless the STUN reply is still expected.
    fn offer_answer(&mut self, sdp: String, early_code: Option<u16>) -> Result<(), String> {
        if matches!(self.srflx, Srflx::Pending { .. }) {
            self.deferred_answer = Some((sdp, early_code));
            return Ok(());
        }
        let srflx = match &self.srflx {
            Srflx::Known(a, url) => Some((*a, url.clone())),
            _ => None,
        };
        let (media, answer) = setup_media(&self.app, &self.req, &self.sockets, &sdp, srflx)?;
        self.media = Some(media);
        if let Some(m) = self.media.as_mut() {
            for c in self.pending_ice.drain(..) {
                if let Err(e) = m.leg.add_remote_candidate(c) {
                    tracing::debug!(error = %e, "buffered candidate refused");
                }
            }
        }
        self.send(ServerMessage::Answer {
            reference: self.req.reference.clone(),
            call_id: self.req.call_id.clone(),
            sdp: answer,
        });
        tracing::info!(
            call_id = %self.req.call_id,
            answer_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            "answer sent to the browser"
        );
        if let Some(code) = early_code {
            self.state(CallState::EarlyMedia, Some(code));
        }
        self.maybe_connected();
        Ok(())
    }

    fn check_deferred_answer(&mut self) -> Option<End> {
        if matches!(self.srflx, Srflx::Pending { .. }) {
            return None;
        }
        let (sdp, early) = self.deferred_answer.take()?;
        if let Err(why) = self.offer_answer(sdp, early) {
            return self.unusable_answer(&why, early.is_none());
        }
        None
    }

    fn unusable_answer(&mut self, why: &str, is_final: bool) -> Option<End> {
        tracing::warn!(call_id = %self.req.call_id, %why, "SIP answer unusable");
        if is_final {
            self.hangup();
            self.send(ServerMessage::Error {
                reference: Some(self.req.reference.clone()),
                code: ErrorCode::BadSdp,
                message: format!("the phone side answered with unusable media: {why}"),
            });
        }
        None
    }

    fn on_sip(&mut self, ev: SessionEvent) -> Option<End> {
        match ev {
            SessionEvent::Provisional { code, sdp } => {
                let have_media = self.media.is_some() || self.deferred_answer.is_some();
                match sdp {
                    Some(sdp) if !have_media => {
                        if let Err(why) = self.offer_answer(sdp, Some(code)) {
                            tracing::debug!(%why, "early media SDP unusable; waiting for the answer");
                            self.state(CallState::Ringing, Some(code));
                        }
                    }
                    _ if !have_media => self.state(CallState::Ringing, Some(code)),
                    _ => {}
                }
                None
            }
            SessionEvent::Answered { sdp } => {
                self.sip_answered = true;
                self.last_rx_sip = Instant::now();
                tracing::info!(
                    call_id = %self.req.call_id,
                    sip_answer_ms = self.started.elapsed().as_secs_f64() * 1000.0,
                    "SIP answered"
                );
                let have_media = self.media.is_some() || self.deferred_answer.is_some();
                match sdp {
                    Some(sdp) if !have_media => {
                        if let Err(why) = self.offer_answer(sdp, None) {
                            return self.unusable_answer(&why, true);
                        }
                    }
                    None if !have_media => {
                        return self.unusable_answer("2xx without SDP", true);
                    }
                    Some(sdp) => self.follow_final_answer(&sdp),
                    None => {}
                }
                self.maybe_connected();
                None
            }
            SessionEvent::Ended(EndCause { code, reason }) => match self.end_reason {
                Some(ours) => Some((None, ours.to_owned())),
                None => Some((code, reason.to_owned())),
            },
        }
    }

    /// The final answer may move the media after early media (forking): follow its address.
    fn follow_final_answer(&mut self, sdp: &str) {
        if let Some(m) = self.media.as_mut()
            && let Ok(answer) = SipSdp::parse(sdp)
            && let Ok(neg) = sdp::choose_answer_codec(&answer, &self.req.sip_codecs)
        {
            m.sip_remote = neg.remote_addr;
            m.sip_rtcp_remote = neg.remote_rtcp;
        }
    }

    fn on_ice(&mut self, cand: Option<IceCandidate>) {
        match self.media.as_mut() {
            Some(m) => {
                if let Err(e) = m.leg.add_remote_candidate(cand) {
                    self.send(ServerMessage::Error {
                        reference: Some(self.req.reference.clone()),
                        code: ErrorCode::BadRequest,
                        message: e.to_string(),
                    });
                }
            }
            None => self.pending_ice.push(cand),
        }
    }

    fn on_webrtc_datagram(&mut self, from: SocketAddr, data: &[u8]) {
        if let Srflx::Pending { tid, url, .. } = &self.srflx
            && stun::is_stun(data)
            && let Some(mapped) = stun::parse_binding_response(data, tid)
        {
            tracing::debug!(call_id = %self.req.call_id, %mapped, "server-reflexive address learnt");
            self.srflx = Srflx::Known(mapped, url.clone());
            return;
        }
        if let Some(m) = self.media.as_mut() {
            m.leg.handle_datagram(Instant::now().into_std(), from, data);
        }
    }

    fn on_sip_rtp(&mut self, from: SocketAddr, data: &[u8]) {
        let Some(m) = self.media.as_mut() else {
            return;
        };
        if from.ip() != m.sip_remote.ip() {
            return;
        }
        let now = Instant::now();
        self.last_rx_sip = now;
        self.rtcp.on_received(data, now);
        let now = now.into_std();
        let Media { leg, bridge, .. } = m;
        bridge.sip_to_browser(data, |f, payload| {
            leg.send_rtp(now, f.seq, f.ts, f.marker, Bytes::copy_from_slice(payload));
        });
    }

    async fn on_tick(&mut self) {
        let now = Instant::now();
        if let Srflx::Pending { sent, .. } = self.srflx
            && now >= sent + STUN_WAIT
        {
            tracing::warn!(call_id = %self.req.call_id, "no STUN reply; host candidates only");
            self.srflx = Srflx::None;
        }
        let rtcp_due = now >= self.rtcp_due;
        if rtcp_due {
            self.rtcp_due = now + RTCP_INTERVAL;
        }
        let Some(m) = self.media.as_mut() else {
            return;
        };
        m.leg.handle_timeout(now.into_std());
        if rtcp_due {
            let n = self.rtcp.write_report(&mut self.out, now);
            if n > 0 {
                let _ = self
                    .sockets
                    .rtcp
                    .send_to(&self.out[..n], m.sip_rtcp_remote)
                    .await;
            }
        }
        let idle = now.duration_since(self.last_rx_sip.min(self.last_rx_browser));
        if self.sip_answered && !self.hung_up && idle > self.app.config.media.rtp_timeout {
            tracing::warn!(call_id = %self.req.call_id, idle_ms = idle.as_millis() as u64, "RTP timeout");
            // The user agent sends BYE and reports the end; the reason reported is ours.
            self.end_reason = Some("rtp_timeout");
            self.hangup();
        }
    }

    async fn finish(mut self, end: End) {
        if let Some(m) = self.media.as_mut() {
            m.leg.close();
            while let Some((dest, data)) = m.leg.poll_transmit() {
                let _ = self.sockets.webrtc.send_to(&data, dest).await;
            }
        }
        let (code, reason) = end;
        tracing::info!(call_id = %self.req.call_id, sip_code = ?code, %reason, "call ended");
        self.send(ended(&self.req, code, &reason));
        let _ = self
            .to_session
            .send(CallEvent::Finished(self.req.call_id.clone()));
    }
}
