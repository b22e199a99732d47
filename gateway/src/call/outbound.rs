//! An outbound call (browser -> Asterisk): follows the SIP client session and drives the media.
//!
//! The browser's `answer` goes out once the SIP side answered with SDP (183 or 200), so the
//! browser leg can use the codec Asterisk chose (passthrough) or Opus (transcoding).

use std::sync::Arc;

use gateway_sip::sdp::{self, SipSdp};
use gateway_sip::ua::{EndCause, SessionEvent};
use rand::Rng;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::features::InCall;
use super::media::{MediaEvent, MediaPlan, MediaSession};
use super::{CallControl, CallEvent, CallRequest, ended_message, no_video_warning};
use crate::app::App;
use crate::report::{CallReport, Direction, Kind};
use crate::signaling::messages::{CallState, ErrorCode, ServerMessage};
use crate::sip_driver::SipCommand;

/// Why the call ended: the SIP code and reason reported in `ended`.
type End = (Option<u16>, String);

struct Outbound {
    app: Arc<App>,
    req: CallRequest,
    to_session: mpsc::UnboundedSender<CallEvent>,
    handle: u64,
    started: Instant,
    /// SDP answer from SIP waiting for the STUN reply, with the 183 code if it was early media.
    deferred_answer: Option<(String, Option<u16>)>,
    sip_answered: bool,
    connected_sent: bool,
    hung_up: bool,
    /// Our own reason for ending, reported instead of the user agent's (e.g. `rtp_timeout`).
    end_reason: Option<&'static str>,
    /// Hold, DTMF, media changes.
    in_call: InCall,
    /// Lifecycle reports to Odoo.
    report: CallReport,
    sip_call_id: tokio::sync::oneshot::Receiver<String>,
    sip_call_id_known: Option<String>,
    ringing_reported: bool,
    connected_at: Option<Instant>,
    /// For the built-in echo destination: the call's own session channel, standing in for SIP.
    echo: Option<mpsc::UnboundedSender<SessionEvent>>,
    /// The video codecs our INVITE offered (empty: no video offered).
    video_offered: Vec<sdp::VideoCodec>,
}

/// Runs an outbound call to its end.
pub(super) async fn run(
    app: Arc<App>,
    req: CallRequest,
    to_session: mpsc::UnboundedSender<CallEvent>,
    mut control: mpsc::UnboundedReceiver<CallControl>,
) {
    let wants_video = req.video && req.offer.video().is_some();
    let mut media = match MediaSession::bind(&app, &req.call_id, wants_video).await {
        Ok(m) => m,
        Err(why) => {
            tracing::warn!(call_id = %req.call_id, %why, "no media ports for the call");
            let _ = to_session.send(CallEvent::ToClient(ServerMessage::Error {
                reference: Some(req.reference.clone()),
                code: ErrorCode::Unavailable,
                message: format!("no media resources: {why}"),
            }));
            let _ = to_session.send(CallEvent::ToClient(ended_message(
                &req.call_id,
                Some(&req.reference),
                Some(503),
                "no_media_ports",
            )));
            let _ = to_session.send(CallEvent::Finished(req.call_id.clone()));
            app.hub.remove_call(&req.call_id);
            return;
        }
    };
    let (session_id, session_version) = {
        let mut rng = rand::thread_rng();
        (rng.gen_range(1..1u64 << 48), rng.gen_range(1..1u64 << 48))
    };
    // A video call offers video toward SIP in `media.video_codecs` order, limited to what the
    // browser offered; without a codec in common the call goes on with audio (issue 10).
    let (video_line, mut no_video) = match (req.video, media.sip_video_port()) {
        (false, _) => (None, None),
        (true, None) => (None, Some(sdp::NoVideo::NotOffered)),
        (true, Some(port)) => {
            match sdp::sip_video_offer(&req.offer, &app.video_codec_order(), port) {
                Ok(line) => (Some(line), None),
                Err(why) => (None, Some(why)),
            }
        }
    };
    let video_offered: Vec<sdp::VideoCodec> = video_line
        .as_ref()
        .map(|l| l.video_codecs().into_iter().map(|(c, _)| c).collect())
        .unwrap_or_default();
    let local = SipSdp {
        session_id,
        session_version,
        origin_user: "-".to_owned(),
        addr: app.config.media.ip,
        audio: Some(sdp::MediaLine::offer(media.sip_rtp_port(), &req.sip_codecs)),
        video: video_line,
    };
    let local_sdp = local.to_string();
    media.start_stun(&app).await;

    let handle = app.next_handle();
    let (sip_tx, mut sip_rx) = mpsc::unbounded_channel();
    let (id_tx, id_rx) = tokio::sync::oneshot::channel();
    let mut report = match &app.reporter {
        Some(r) => r.call(
            &req.call_id,
            Direction::Outbound,
            &req.user,
            &req.number,
            if req.video { "video" } else { "audio" },
        ),
        None => CallReport::disabled(),
    };
    report.event(Kind::Initiating, serde_json::Map::new());
    let mut call = Outbound {
        report,
        sip_call_id: id_rx,
        sip_call_id_known: None,
        ringing_reported: false,
        connected_at: None,
        echo: None,
        video_offered,
        handle,
        started: Instant::now(),
        deferred_answer: None,
        sip_answered: false,
        connected_sent: false,
        hung_up: false,
        end_reason: None,
        in_call: InCall::new(&req.call_id, handle, local, req.sip_codecs.clone()),
        app,
        req,
        to_session,
    };
    let is_echo = call.app.config.media.echo_number.as_deref() == Some(call.req.number.as_str());
    let sent = if is_echo {
        // The built-in echo test destination: no SIP at all. The "phone" answers with our own
        // SIP-side RTP socket, so media loops through the whole path (SRTP, bridge, and
        // transcoding when the first configured SIP codec differs from the browser's).
        let codec = call.req.sip_codecs[..1].to_vec();
        let answer = SipSdp {
            session_id: session_id ^ 1,
            session_version: 1,
            origin_user: "echo".to_owned(),
            addr: call.app.config.media.ip,
            audio: Some(sdp::MediaLine::offer(media.sip_rtp_port(), &codec)),
            video: None,
        };
        tracing::info!(call_id = %call.req.call_id, codec = ?codec[0], "echo test call");
        let _ = sip_tx.send(SessionEvent::Answered {
            sdp: Some(answer.to_string()),
        });
        call.echo = Some(sip_tx);
        drop(local_sdp);
        drop(id_tx);
        Ok(())
    } else {
        call.app.sip.send(SipCommand::Invite {
            handle,
            number: call.req.number.clone(),
            sdp: local_sdp,
            events: sip_tx,
            sip_call_id: id_tx,
        })
    };
    if let Some(why) = no_video.take() {
        call.no_video(why);
    }
    call.app.metrics.call_started(false);
    let end = if sent.is_err() {
        (Some(503), "sip_unavailable".to_owned())
    } else {
        tracing::info!(call_id = %call.req.call_id, number = %call.req.number, "call started");
        call.run_loop(&mut media, &mut sip_rx, &mut control).await
    };
    let stats = media.quality();
    let video_codec = media.video_codec();
    media.close();
    let (code, reason) = end;
    tracing::info!(call_id = %call.req.call_id, sip_code = ?code, %reason, %stats, "call ended");
    let mut fields = serde_json::Map::new();
    fields.insert("reason".into(), reason.clone().into());
    if let Some(c) = code {
        fields.insert("sip_code".into(), c.into());
    }
    let duration = call.connected_at.map_or(0.0, |t| {
        (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
    });
    fields.insert("duration".into(), duration.into());
    if let Some(c) = video_codec {
        fields.insert("video_codec".into(), c.encoding_name().into());
    }
    if !stats.is_null() {
        fields.insert("stats".into(), stats.clone());
    }
    call.report.event(Kind::Ended, fields);
    let mut ended = ended_message(&call.req.call_id, Some(&call.req.reference), code, &reason);
    if let ServerMessage::State { stats: s, .. } = &mut ended
        && !stats.is_null()
    {
        *s = Some(stats);
    }
    call.send(ended);
    call.report.flush().await;
    call.app.metrics.call_ended(false, &reason);
    call.app.hub.remove_call(&call.req.call_id);
    let _ = call
        .to_session
        .send(CallEvent::Finished(call.req.call_id.clone()));
}

impl Outbound {
    fn send(&self, m: ServerMessage) {
        let _ = self.to_session.send(CallEvent::ToClient(m));
    }

    /// Tells the client its video call goes on with audio only, and why.
    fn no_video(&self, why: sdp::NoVideo) {
        tracing::info!(call_id = %self.req.call_id, %why, "video call without video");
        self.send(no_video_warning(&self.req.call_id, why));
    }

    fn state(&self, state: CallState, sip_code: Option<u16>) {
        self.send(ServerMessage::State {
            call_id: self.req.call_id.clone(),
            reference: Some(self.req.reference.clone()),
            state,
            sip_code,
            reason: None,
            stats: None,
        });
    }

    fn hangup(&mut self) {
        if !self.hung_up {
            self.hung_up = true;
            match &self.echo {
                Some(echo) => {
                    let _ = echo.send(SessionEvent::Ended(EndCause {
                        code: None,
                        reason: "normal_clearing",
                    }));
                }
                None => {
                    let _ = self.app.sip.send(SipCommand::Hangup {
                        handle: self.handle,
                    });
                }
            }
        }
    }

    async fn run_loop(
        &mut self,
        media: &mut MediaSession,
        sip_rx: &mut mpsc::UnboundedReceiver<SessionEvent>,
        control: &mut mpsc::UnboundedReceiver<CallControl>,
    ) -> End {
        loop {
            tokio::select! {
                ev = sip_rx.recv() => match ev {
                    Some(ev) => if let Some(end) = self.on_sip(media, ev) { return end },
                    None => return (Some(503), "sip_unavailable".to_owned()),
                },
                c = control.recv() => match c {
                    Some(CallControl::Ice(cand)) => {
                        if let Err(e) = media.add_ice(cand) {
                            self.send(ServerMessage::Error {
                                reference: Some(self.req.reference.clone()),
                                code: ErrorCode::BadRequest,
                                message: e,
                            });
                        }
                    }
                    Some(CallControl::Hangup { .. } | CallControl::DeviceGone(_)) | None => self.hangup(),
                    Some(CallControl::Accept { .. } | CallControl::Reject { .. }) => {}
                    Some(CallControl::Offer { sdp, .. }) => {
                        let reply = match media.renegotiate(&sdp) {
                            Ok(answer) => ServerMessage::Answer {
                                reference: Some(self.req.reference.clone()),
                                call_id: self.req.call_id.clone(),
                                sdp: answer,
                            },
                            Err(e) => ServerMessage::Error {
                                reference: Some(self.req.reference.clone()),
                                code: ErrorCode::BadSdp,
                                message: e,
                            },
                        };
                        self.send(reply);
                    }
                    Some(CallControl::Hold) => self.hold(media, true),
                    Some(CallControl::Unhold) => self.hold(media, false),
                    Some(CallControl::Dtmf(digits)) => {
                        for r in self.in_call.send_digits(&self.app, media, &digits) {
                            self.send(r);
                        }
                    }
                },
                ev = media.step() => match ev {
                    Some(MediaEvent::Connected) => self.maybe_connected(media),
                    Some(MediaEvent::Failed) => {
                        tracing::warn!(call_id = %self.req.call_id, "webrtc leg failed");
                        self.end_reason = Some("webrtc_failed");
                        self.hangup();
                    }
                    Some(MediaEvent::RtpTimeout) => {
                        // The user agent sends BYE and reports the end; the reason reported is ours.
                        self.end_reason = Some("rtp_timeout");
                        self.hangup();
                    }
                    Some(MediaEvent::StunSettled) => self.answer_deferred(media),
                    Some(other) => {
                        for r in self.in_call.on_media(&self.app, other) {
                            self.send(r);
                        }
                    }
                    None => {}
                },
            }
        }
    }

    fn hold(&mut self, media: &mut MediaSession, hold: bool) {
        for r in self
            .in_call
            .set_hold(&self.app, media, hold, self.sip_answered)
        {
            self.send(r);
        }
    }

    fn maybe_connected(&mut self, media: &MediaSession) {
        if self.sip_answered && media.is_connected() && !self.connected_sent {
            self.connected_sent = true;
            tracing::info!(
                call_id = %self.req.call_id,
                setup_ms = self.started.elapsed().as_secs_f64() * 1000.0,
                "call connected"
            );
            self.state(CallState::Connected, Some(200));
            self.connected_at = Some(Instant::now());
            self.app.metrics.setup(self.started.elapsed().as_secs_f64());
            let mut f = serde_json::Map::new();
            f.insert("sip_code".into(), 200.into());
            self.report.event(Kind::Connected, f);
        }
    }

    /// The SIP Call-ID, once the user agent has chosen it. The first time it is known, AMI may
    /// join Asterisk's Uniqueid/Linkedid to this call through it.
    fn sip_call_id(&mut self) -> Option<String> {
        if let Ok(id) = self.sip_call_id.try_recv() {
            self.app.ami_call_started(&self.req.call_id, None, &id);
            self.sip_call_id_known = Some(id);
        }
        self.sip_call_id_known.clone()
    }

    /// Builds the media from the first SIP answer, unless the STUN reply is still expected.
    fn offer_answer(
        &mut self,
        media: &mut MediaSession,
        sdp: String,
        early_code: Option<u16>,
    ) -> Result<(), String> {
        if media.stun_pending() {
            self.deferred_answer = Some((sdp, early_code));
            return Ok(());
        }
        let plan = MediaPlan::from_sip_answer(
            &self.req.offer,
            &self.req.sip_codecs,
            &self.video_offered,
            &sdp,
            self.app.config.limits.max_sdp_line,
        )?;
        let answer = media.build(&self.app, &self.req.offer_sdp, &plan)?;
        if let Some(why) = media.no_video(&plan) {
            self.no_video(why);
            self.in_call.video_rejected();
        }
        if let Some(codec) = media.video_codec() {
            self.in_call.video_settled(codec);
        }
        self.send(ServerMessage::Answer {
            reference: Some(self.req.reference.clone()),
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
        self.maybe_connected(media);
        Ok(())
    }

    fn answer_deferred(&mut self, media: &mut MediaSession) {
        let Some((sdp, early)) = self.deferred_answer.take() else {
            return;
        };
        if let Err(why) = self.offer_answer(media, sdp, early) {
            self.unusable_answer(&why, early.is_none());
        }
    }

    fn unusable_answer(&mut self, why: &str, is_final: bool) {
        tracing::warn!(call_id = %self.req.call_id, %why, "SIP answer unusable");
        if is_final {
            self.end_reason = Some("media_negotiation_failed");
            self.hangup();
            self.send(ServerMessage::Error {
                reference: Some(self.req.reference.clone()),
                code: ErrorCode::BadSdp,
                message: format!("the phone side answered with unusable media: {why}"),
            });
        }
    }

    fn on_sip(&mut self, media: &mut MediaSession, ev: SessionEvent) -> Option<End> {
        let have_media = media.has_media() || self.deferred_answer.is_some();
        let _ = self.sip_call_id();
        if let SessionEvent::Provisional { code, .. } = &ev
            && *code >= 180
            && !self.ringing_reported
        {
            self.ringing_reported = true;
            let mut f = serde_json::Map::new();
            f.insert("sip_code".into(), (*code).into());
            if let Some(id) = self.sip_call_id() {
                f.insert("sip_call_id".into(), id.into());
            }
            self.report.event(Kind::Ringing, f);
        }
        if let SessionEvent::Answered { .. } = &ev {
            let mut f = serde_json::Map::new();
            if !self.ringing_reported
                && let Some(id) = self.sip_call_id()
            {
                f.insert("sip_call_id".into(), id.into());
            }
            self.report.event(Kind::Connecting, f);
        }
        match ev {
            SessionEvent::Provisional { code, sdp } => match sdp {
                Some(sdp) if !have_media => {
                    if let Err(why) = self.offer_answer(media, sdp, Some(code)) {
                        tracing::debug!(%why, "early media SDP unusable; waiting for the answer");
                        self.state(CallState::Ringing, Some(code));
                    }
                }
                _ if !have_media => self.state(CallState::Ringing, Some(code)),
                _ => {}
            },
            SessionEvent::Answered { sdp } => {
                self.sip_answered = true;
                media.arm_timeout();
                tracing::info!(
                    call_id = %self.req.call_id,
                    sip_answer_ms = self.started.elapsed().as_secs_f64() * 1000.0,
                    "SIP answered"
                );
                match sdp {
                    Some(sdp) if !have_media => {
                        if let Err(why) = self.offer_answer(media, sdp, None) {
                            self.unusable_answer(&why, true);
                        }
                    }
                    None if !have_media => self.unusable_answer("2xx without SDP", true),
                    // The final answer may move the media after early media (forking).
                    Some(sdp) => {
                        if let Ok(plan) = MediaPlan::from_sip_answer(
                            &self.req.offer,
                            &self.req.sip_codecs,
                            &self.video_offered,
                            &sdp,
                            self.app.config.limits.max_sdp_line,
                        ) {
                            media.retarget(plan.sip_remote, plan.sip_rtcp_remote);
                        }
                        if let Ok(answer) =
                            super::media::parse_sip_sdp(&sdp, self.app.config.limits.max_sdp_line)
                        {
                            media.follow_video(&answer);
                        }
                    }
                    None => {}
                }
                self.maybe_connected(media);
            }
            SessionEvent::Confirmed { .. } => {}
            ev @ (SessionEvent::RemoteSdp { .. }
            | SessionEvent::ReinviteFailed { .. }
            | SessionEvent::InfoDtmf { .. }
            | SessionEvent::PictureFastUpdate) => {
                for r in self.in_call.on_sip(media, &ev) {
                    self.send(r);
                }
            }
            SessionEvent::Ended(EndCause { code, reason }) => {
                return Some(match self.end_reason {
                    Some(ours) => (None, ours.to_owned()),
                    None => (code, reason.to_owned()),
                });
            }
        }
        None
    }
}
