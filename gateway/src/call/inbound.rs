//! Inbound calls (Asterisk -> browsers): the router that decides who an INVITE is for, and the
//! call task that rings every device of the user, lets the first `accept` win, and drives the media.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use gateway_sip::sdp::{self, AudioCodec, BrowserOffer, MediaLine, RtpMap, SipSdp};
use gateway_sip::ua::{EndCause, IncomingCall, RegistrationState, SessionEvent};
use rand::Rng;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bridge::DtmfSetup;
use super::features::InCall;
use super::media::{MediaEvent, MediaPlan, MediaSession, browser_te, parse_sip_sdp};
use super::ringing::{RingAction, Ringer};
use super::{CallControl, CallEvent, ended_message, no_video_warning};
use crate::app::App;
use crate::hub::Device;
use crate::report::{CallReport, Direction, Kind};
use crate::signaling::messages::{
    CallState, CallType, ErrorCode, RegistrationStatus, ServerMessage,
};
use crate::sip_driver::{SipAppEvent, SipCommand};

/// Consumes the SIP driver's application events: inbound calls, registration states, proxy status.
pub async fn route(app: Arc<App>, mut events: mpsc::UnboundedReceiver<SipAppEvent>) {
    while let Some(ev) = events.recv().await {
        match ev {
            SipAppEvent::Incoming { call, events } => on_incoming(&app, call, events),
            SipAppEvent::Registration { user, state } => on_registration(&app, &user, state),
            SipAppEvent::ProxyStatus { reachable, code } => {
                if reachable != app.proxy_reachable() {
                    tracing::info!(reachable, ?code, "SIP proxy status changed");
                }
                app.set_proxy_reachable(reachable);
            }
        }
    }
}

fn on_registration(app: &App, user: &str, state: RegistrationState) {
    let (status, reason) = match state {
        RegistrationState::Registered { expires } => {
            tracing::info!(%user, expires_s = expires.as_secs(), "registered");
            (RegistrationStatus::Registered, None)
        }
        RegistrationState::Unregistered => (RegistrationStatus::Unregistered, None),
        RegistrationState::Failed {
            code,
            reason,
            retry_in,
        } => {
            let hint = registration_hint(code);
            tracing::warn!(%user, ?code, %reason, retry_s = retry_in.as_secs(), hint, "registration failed");
            let text = match code {
                Some(c) => format!("{c} {reason}; retrying in {}s. {hint}", retry_in.as_secs()),
                None => format!("{reason}; retrying in {}s. {hint}", retry_in.as_secs()),
            };
            (RegistrationStatus::Failed, Some(text))
        }
    };
    app.hub.registration(user, status, reason);
}

/// What to check when Asterisk refuses a registration (issue: endpoint identification).
pub fn registration_hint(code: Option<u16>) -> &'static str {
    match code {
        Some(404) => {
            "Asterisk found no AOR for this user: if the gateway's address is also identified as a \
             trunk endpoint, set endpoint_identifier_order = username,ip in pjsip.conf [global] \
             (see docs/asterisk.md), and check the user's aor exists"
        }
        Some(401) => {
            "check [sip.users.<user>] username and password against the PJSIP auth section"
        }
        Some(403) => {
            "Asterisk's registrar refused the contact: check the user's aor max_contacts (0 by default) \
             and remove_existing (see docs/asterisk.md)"
        }
        None => "Asterisk did not answer: check sip.proxy and that Asterisk listens there",
        _ => "see the Asterisk log for why the REGISTER was refused",
    }
}

/// Whether `ip` may send us INVITEs: the configured trunk sources, else the proxy's address.
/// Nothing else reaches a user (no open relay toward the phone network, either way).
fn allowed_source(app: &App, ip: IpAddr) -> bool {
    app.config.sip.is_trunk_source(ip, &[app.proxy_addr.ip()])
}

fn on_incoming(app: &Arc<App>, call: IncomingCall, events: mpsc::UnboundedReceiver<SessionEvent>) {
    let reject = |code: u16| {
        let _ = app.sip.send(SipCommand::Reject {
            handle: call.handle,
            code,
        });
    };
    if !allowed_source(app, call.source.ip()) {
        tracing::warn!(source = %call.source, to = %call.to_user, "INVITE from a source that is not Asterisk: 403");
        reject(403);
        return;
    }
    let registered = app
        .config
        .sip
        .user_for_sip_user(&call.to_user)
        .map(|(name, _)| name.to_owned())
        .or_else(|| {
            app.odoo_users
                .as_ref()
                .and_then(|u| u.user_for_sip_username(&call.to_user))
        });
    let user = match registered {
        Some(u) => u,
        None if app.config.sip.trunk => call.to_user.clone(),
        None => {
            tracing::info!(to = %call.to_user, "INVITE for an unknown user: 404");
            reject(404);
            return;
        }
    };
    if app.is_draining() {
        tracing::info!(%user, "INVITE while shutting down: 503");
        reject(503);
        return;
    }
    if app.hub.user_calls(&user) >= app.config.sip.max_calls_per_user as usize {
        tracing::info!(%user, "INVITE for a user at sip.max_calls_per_user: 486");
        reject(486);
        return;
    }
    let devices = app.hub.devices(&user);
    if devices.is_empty() {
        tracing::info!(%user, "INVITE for a user with no device connected: 480");
        reject(480);
        return;
    }
    let app = app.clone();
    tokio::spawn(async move { Inbound::run(app, user, call, devices, events).await });
}

struct Inbound {
    app: Arc<App>,
    call_id: String,
    user: String,
    call: IncomingCall,
    started: Instant,
    /// Every device the call rang, by session id.
    devices: HashMap<String, Device>,
    /// Who still rings and who answered.
    ringer: Ringer,
    /// Late offer: the browser's offer kept until the ACK brings the SIP answer.
    late: Option<(String, BrowserOffer, Vec<AudioCodec>)>,
    confirmed: bool,
    /// Hold, DTMF, media changes, once we have answered.
    in_call: Option<InCall>,
    /// Lifecycle reports to Odoo.
    report: CallReport,
    connected_at: Option<Instant>,
    connected_sent: bool,
    hung_up: bool,
    end_reason: Option<&'static str>,
}

type End = (Option<u16>, String);

impl Inbound {
    async fn run(
        app: Arc<App>,
        user: String,
        call: IncomingCall,
        devices: Vec<Device>,
        mut sip_rx: mpsc::UnboundedReceiver<SessionEvent>,
    ) {
        let call_id = crate::signaling::session::random_id();
        // Asterisk offers video (issue 10): the call rings as a video call and binds the SIP
        // side's video ports; whether video flows depends on the answering browser's offer.
        let video = call
            .sdp
            .as_deref()
            .and_then(|s| parse_sip_sdp(s, app.config.limits.max_sdp_line).ok())
            .and_then(|s| s.video)
            .is_some_and(|v| v.is_active() && !v.video_codecs().is_empty());
        let mut media = match MediaSession::bind(&app, &call_id, video).await {
            Ok(m) => m,
            Err(why) => {
                tracing::warn!(%call_id, %why, "no media ports for the inbound call: 503");
                let _ = app.sip.send(SipCommand::Reject {
                    handle: call.handle,
                    code: 503,
                });
                return;
            }
        };
        media.start_stun(&app).await;
        let (ctl_tx, mut control) = mpsc::unbounded_channel();
        app.hub.add_user_call(&user, &call_id, ctl_tx);
        app.metrics.call_started(true);
        let _ = app.sip.send(SipCommand::Ring {
            handle: call.handle,
        });
        let incoming = ServerMessage::Incoming {
            call_id: call_id.clone(),
            from: call.from_user.clone(),
            from_name: call.from_display.clone(),
            call_type: if video {
                CallType::Video
            } else {
                CallType::Audio
            },
            origin: origin(&call).to_owned(),
        };
        for d in &devices {
            let _ = d.tx.send(CallEvent::ToClient(incoming.clone()));
        }
        tracing::info!(
            %call_id, %user, from = %call.from_user, devices = devices.len(),
            sip_call_id = %call.sip_call_id, "inbound call ringing"
        );
        let mut report = match &app.reporter {
            Some(r) => r.call(
                &call_id,
                Direction::Inbound,
                &user,
                &call.from_user,
                if video { "video" } else { "audio" },
            ),
            None => CallReport::disabled(),
        };
        let mut f = serde_json::Map::new();
        f.insert("sip_call_id".into(), call.sip_call_id.clone().into());
        report.event(Kind::Initiating, f);
        // AMI (issue 6): Asterisk's Uniqueid/Linkedid join this call by originate id or Call-ID.
        app.ami_call_started(&call_id, originate_id(&call), &call.sip_call_id);
        let mut f = serde_json::Map::new();
        f.insert("sip_code".into(), 180.into());
        report.event(Kind::Ringing, f);
        let mut task = Inbound {
            report,
            connected_at: None,
            ringer: Ringer::new(devices.iter().map(|d| d.session_id.clone())),
            devices: devices
                .into_iter()
                .map(|d| (d.session_id.clone(), d))
                .collect(),
            app,
            call_id,
            user,
            call,
            started: Instant::now(),
            late: None,
            confirmed: false,
            in_call: None,
            connected_sent: false,
            hung_up: false,
            end_reason: None,
        };
        let end = task.run_loop(&mut media, &mut sip_rx, &mut control).await;
        let stats = media.quality();
        let video_codec = media.video_codec();
        media.close();
        task.finish(end, stats, video_codec).await;
    }

    fn to_device(&self, d: &Device, m: ServerMessage) {
        let _ = d.tx.send(CallEvent::ToClient(m));
    }

    fn answering(&self) -> Option<&Device> {
        self.ringer.answered_by().and_then(|s| self.devices.get(s))
    }

    fn to_answering(&self, replies: Vec<ServerMessage>) {
        if let Some(d) = self.answering() {
            for r in replies {
                self.to_device(d, r);
            }
        }
    }

    fn state(&self, state: CallState, sip_code: Option<u16>) {
        if let Some(d) = self.answering() {
            self.to_device(
                d,
                ServerMessage::State {
                    call_id: self.call_id.clone(),
                    reference: None,
                    state,
                    sip_code,
                    reason: None,
                    stats: None,
                },
            );
        }
    }

    /// Tells one device the call is over for it.
    fn stop_device(&self, session_id: &str, code: Option<u16>, reason: &str) {
        if let Some(d) = self.devices.get(session_id) {
            self.to_device(d, ended_message(&self.call_id, None, code, reason));
            let _ = d.tx.send(CallEvent::Finished(self.call_id.clone()));
        }
    }

    /// Carries out the ringer's decisions; returns the end when the call is refused.
    fn apply(&mut self, actions: Vec<RingAction>) -> Option<End> {
        let mut end = None;
        for a in actions {
            match a {
                RingAction::StopRinging { session_id, reason } => {
                    self.stop_device(&session_id, None, reason)
                }
                RingAction::Refuse { code, reason } => {
                    let _ = self.app.sip.send(SipCommand::Reject {
                        handle: self.call.handle,
                        code,
                    });
                    end = Some((Some(code), reason.to_owned()));
                }
                RingAction::Hangup => self.hangup(),
            }
        }
        end
    }

    fn hangup(&mut self) {
        if !self.hung_up {
            self.hung_up = true;
            let _ = self.app.sip.send(SipCommand::Hangup {
                handle: self.call.handle,
            });
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
                    Some(SessionEvent::Ended(EndCause { code, reason })) => {
                        return match self.end_reason {
                            Some(ours) => (None, ours.to_owned()),
                            None => (code, reason.to_owned()),
                        };
                    }
                    Some(SessionEvent::Confirmed { sdp }) => self.on_confirmed(media, sdp),
                    Some(ev @ (SessionEvent::RemoteSdp { .. }
                    | SessionEvent::ReinviteFailed { .. }
                    | SessionEvent::InfoDtmf { .. }
                    | SessionEvent::PictureFastUpdate)) => {
                        let replies = self.in_call.as_mut().map(|c| c.on_sip(media, &ev)).unwrap_or_default();
                        self.to_answering(replies);
                    }
                    Some(_) => {}
                    None => return (Some(503), "sip_unavailable".to_owned()),
                },
                c = control.recv() => match c {
                    Some(c) => if let Some(end) = self.on_control(media, c) { return end },
                    None => return (None, "gateway_shutdown".to_owned()),
                },
                ev = media.step() => match ev {
                    Some(MediaEvent::Connected) => self.maybe_connected(media),
                    Some(MediaEvent::Failed) => {
                        self.end_reason = Some("webrtc_failed");
                        self.hangup();
                    }
                    Some(MediaEvent::RtpTimeout) => {
                        self.end_reason = Some("rtp_timeout");
                        self.hangup();
                    }
                    Some(MediaEvent::StunSettled) | None => {}
                    Some(other) => {
                        let replies = self.in_call.as_ref().map(|c| c.on_media(&self.app, other)).unwrap_or_default();
                        self.to_answering(replies);
                    }
                },
            }
        }
    }

    fn on_control(&mut self, media: &mut MediaSession, c: CallControl) -> Option<End> {
        match c {
            CallControl::Accept { session_id, sdp } => self.on_accept(media, &session_id, sdp),
            CallControl::Reject { session_id, reason } => {
                let actions = self.ringer.reject(&session_id, reason);
                self.apply(actions)
            }
            CallControl::DeviceGone(session_id) | CallControl::Hangup { session_id } => {
                let actions = self.ringer.leave(&session_id);
                self.apply(actions)
            }
            CallControl::Offer { session_id, sdp } => {
                if let Some(d) = self.answering().filter(|d| d.session_id == session_id) {
                    let reply = match media.renegotiate(&sdp) {
                        Ok(answer) => ServerMessage::Answer {
                            reference: None,
                            call_id: self.call_id.clone(),
                            sdp: answer,
                        },
                        Err(e) => ServerMessage::Error {
                            reference: None,
                            code: ErrorCode::BadSdp,
                            message: e,
                        },
                    };
                    self.to_device(d, reply);
                }
                None
            }
            CallControl::Hold | CallControl::Unhold => {
                let hold = matches!(c, CallControl::Hold);
                let confirmed = self.confirmed;
                let replies = match self.in_call.as_mut() {
                    Some(ic) => ic.set_hold(&self.app, media, hold, confirmed),
                    None => Vec::new(),
                };
                self.to_answering(replies);
                None
            }
            CallControl::Dtmf(digits) => {
                let replies = match self.in_call.as_ref() {
                    Some(ic) => ic.send_digits(&self.app, media, &digits),
                    None => Vec::new(),
                };
                self.to_answering(replies);
                None
            }
            CallControl::Ice(cand) => {
                if let Err(e) = media.add_ice(cand) {
                    tracing::debug!(call_id = %self.call_id, error = %e, "candidate refused");
                }
                None
            }
        }
    }

    fn on_accept(
        &mut self,
        media: &mut MediaSession,
        session_id: &str,
        sdp: String,
    ) -> Option<End> {
        if !self.ringer.may_accept(session_id) {
            return None;
        }
        let device = self.devices.get(session_id).cloned()?;
        let offer = match BrowserOffer::parse(&sdp) {
            Ok(o) => o,
            Err(e) => {
                self.to_device(
                    &device,
                    ServerMessage::Error {
                        reference: None,
                        code: ErrorCode::BadSdp,
                        message: e.to_string(),
                    },
                );
                return None;
            }
        };
        let order = self.app.sip_codec_order();
        let max_sdp_line = self.app.config.limits.max_sdp_line;
        let sip_answer = match self
            .call
            .sdp
            .as_deref()
            .map(|s| parse_sip_sdp(s, max_sdp_line))
        {
            Some(Ok(sip_offer)) => match plan_inbound(
                &offer,
                &sip_offer,
                media.sip_rtp_port(),
                media.sip_video_port(),
                self.app.config.media.ip,
            ) {
                Ok((plan, mut sip_answer)) => match media.build(&self.app, &sdp, &plan) {
                    Ok(answer) => {
                        let no_video = media.no_video(&plan);
                        // The WebRTC leg may refuse the codec (see `MediaSession::build`): then
                        // our 200 declines video too, rather than take a stream nobody plays.
                        if no_video.is_some() {
                            sip_answer.video =
                                sip_answer.video.as_ref().map(sdp::VideoLine::rejected);
                        }
                        // A device that answered without video chose so: nothing to tell it.
                        if let Some(why @ (sdp::NoVideo::NoCommonCodec | sdp::NoVideo::Unusable)) =
                            no_video
                        {
                            tracing::info!(call_id = %self.call_id, %why, "inbound video call without video");
                            self.to_device(&device, no_video_warning(&self.call_id, why));
                        }
                        self.to_device(
                            &device,
                            ServerMessage::Answer {
                                reference: None,
                                call_id: self.call_id.clone(),
                                sdp: answer,
                            },
                        );
                        (sip_answer, vec![plan.sip_codec])
                    }
                    Err(why) => return self.accept_failed(&device, &why),
                },
                Err(why) => return self.accept_failed(&device, &why),
            },
            Some(Err(e)) => return self.accept_failed(&device, &format!("Asterisk's offer: {e}")),
            None => {
                // Late offer (RFC 3261 §13.2.1): our 200 carries the offer; the ACK brings the answer.
                let codecs = match sdp::sip_offer_codecs(&offer, &order) {
                    Ok(c) => c,
                    Err(e) => return self.accept_failed(&device, &e.to_string()),
                };
                let ours = local_sdp(
                    self.app.config.media.ip,
                    MediaLine::offer(media.sip_rtp_port(), &codecs),
                );
                self.late = Some((sdp, offer, codecs.clone()));
                (ours, codecs)
            }
        };
        let (sip_answer, codecs) = sip_answer;
        let mut in_call = InCall::new(&self.call_id, self.call.handle, sip_answer.clone(), codecs);
        if let Some(codec) = media.video_codec() {
            in_call.video_settled(codec);
        }
        self.in_call = Some(in_call);
        // First answer wins: every other device stops ringing.
        let actions = self.ringer.accept(session_id);
        self.apply(actions);
        let _ = self.app.sip.send(SipCommand::Answer {
            handle: self.call.handle,
            sdp: sip_answer.to_string(),
        });
        tracing::info!(call_id = %self.call_id, user = %self.user, session = %session_id,
            accept_ms = self.started.elapsed().as_secs_f64() * 1000.0, "inbound call accepted");
        self.report.event(Kind::Connecting, serde_json::Map::new());
        None
    }

    fn accept_failed(&mut self, device: &Device, why: &str) -> Option<End> {
        tracing::warn!(call_id = %self.call_id, %why, "accept failed");
        self.to_device(
            device,
            ServerMessage::Error {
                reference: None,
                code: ErrorCode::NoCommonCodec,
                message: format!("cannot bridge this call: {why}"),
            },
        );
        None
    }

    fn on_confirmed(&mut self, media: &mut MediaSession, sdp: Option<String>) {
        self.confirmed = true;
        media.arm_timeout();
        let max_sdp_line = self.app.config.limits.max_sdp_line;
        if let Some((offer_sdp, offer, codecs)) = self.late.take() {
            let result = sdp
                .as_deref()
                .ok_or_else(|| "the ACK carried no SDP answer".to_owned())
                .and_then(|answer| {
                    MediaPlan::from_sip_answer(&offer, &codecs, &[], answer, max_sdp_line)
                })
                .and_then(|plan| media.build(&self.app, &offer_sdp, &plan));
            match result {
                Ok(answer) => {
                    if let Some(d) = self.answering() {
                        self.to_device(
                            d,
                            ServerMessage::Answer {
                                reference: None,
                                call_id: self.call_id.clone(),
                                sdp: answer,
                            },
                        );
                    }
                }
                Err(why) => {
                    tracing::warn!(call_id = %self.call_id, %why, "late-offer answer unusable");
                    self.end_reason = Some("media_negotiation_failed");
                    self.hangup();
                }
            }
        }
        self.maybe_connected(media);
    }

    fn maybe_connected(&mut self, media: &MediaSession) {
        if self.confirmed && media.is_connected() && !self.connected_sent {
            self.connected_sent = true;
            tracing::info!(call_id = %self.call_id, setup_ms = self.started.elapsed().as_secs_f64() * 1000.0, "inbound call connected");
            self.state(CallState::Connected, Some(200));
            self.connected_at = Some(Instant::now());
            self.app.metrics.setup(self.started.elapsed().as_secs_f64());
            let mut f = serde_json::Map::new();
            f.insert("sip_code".into(), 200.into());
            self.report.event(Kind::Connected, f);
        }
    }

    async fn finish(
        mut self,
        end: End,
        stats: serde_json::Value,
        video_codec: Option<sdp::VideoCodec>,
    ) {
        self.app.hub.remove_call(&self.call_id);
        let (code, reason) = end;
        tracing::info!(call_id = %self.call_id, sip_code = ?code, %reason, "inbound call ended");
        for id in self.ringer.end() {
            self.stop_device(&id, code, &reason);
        }
        let mut fields = serde_json::Map::new();
        fields.insert("reason".into(), reason.clone().into());
        if let Some(c) = code {
            fields.insert("sip_code".into(), c.into());
        }
        let duration = self.connected_at.map_or(0.0, |t| {
            (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
        });
        fields.insert("duration".into(), duration.into());
        if let Some(c) = video_codec {
            fields.insert("video_codec".into(), c.encoding_name().into());
        }
        if !stats.is_null() {
            fields.insert("stats".into(), stats.clone());
        }
        self.report.event(Kind::Ended, fields);
        if let Some(d) = self.answering() {
            let mut ended = ended_message(&self.call_id, None, code, &reason);
            if let ServerMessage::State { stats: s, .. } = &mut ended
                && !stats.is_null()
            {
                *s = Some(stats);
            }
            self.to_device(d, ended);
            let _ = d.tx.send(CallEvent::Finished(self.call_id.clone()));
        }
        self.report.flush().await;
        self.app.metrics.call_ended(true, &reason);
    }
}

/// Header Asterisk puts on the INVITE of a click-to-call (Originate with
/// `Variable: PJSIP_HEADER(add,X-WebRTC-Originate)=<id>`), see docs/ami.md.
pub const ORIGINATE_HEADER: &str = "X-WebRTC-Originate";

/// Where an inbound call comes from: a click-to-call the gateway originated, or a plain call.
fn origin(call: &IncomingCall) -> &'static str {
    if originate_id(call).is_some() {
        "click_to_call"
    } else {
        "sip"
    }
}

/// The click-to-call originate id carried by the INVITE, if any.
pub fn originate_id(call: &IncomingCall) -> Option<&str> {
    call.extra_headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(ORIGINATE_HEADER))
        .map(|(_, value)| value.as_str())
}

fn local_sdp(addr: IpAddr, audio: MediaLine) -> SipSdp {
    let mut rng = rand::thread_rng();
    SipSdp {
        session_id: rng.gen_range(1..1u64 << 48),
        session_version: rng.gen_range(1..1u64 << 48),
        origin_user: "-".to_owned(),
        addr,
        audio: Some(audio),
        video: None,
    }
}

/// The codec plan and our SDP answer for Asterisk's offer, given the browser's offer: a codec both
/// offered (passthrough) in Asterisk's order first, else G.711 from Asterisk with Opus in the
/// browser (transcoding). The answer keeps Asterisk's payload types (RFC 3264 §6.1). A video
/// m-line in the offer is answered on `video_port` when the browser offered its codec, else
/// rejected with port 0 (RFC 3264 §6: the answer has every m-line of the offer).
pub(crate) fn plan_inbound(
    browser: &BrowserOffer,
    sip_offer: &SipSdp,
    our_port: u16,
    video_port: Option<u16>,
    our_addr: IpAddr,
) -> Result<(MediaPlan, SipSdp), String> {
    let audio = sip_offer
        .audio
        .as_ref()
        .filter(|a| a.port != 0)
        .ok_or("Asterisk offered no audio")?;
    let offered: Vec<AudioCodec> = audio
        .codecs
        .iter()
        .filter_map(RtpMap::audio_codec)
        .collect();
    let chosen = offered
        .iter()
        .copied()
        .find(|c| browser.offers(*c))
        .or_else(|| {
            browser
                .offers(AudioCodec::Opus)
                .then(|| {
                    offered
                        .iter()
                        .copied()
                        .find(|c| matches!(c, AudioCodec::Pcmu | AudioCodec::Pcma))
                })
                .flatten()
        })
        .ok_or("no codec in common with Asterisk's offer (Opus, PCMU or PCMA)")?;
    let neg = sdp::choose_answer_codec(sip_offer, &[chosen]).map_err(|e| e.to_string())?;
    let (browser_kind, browser_codec) =
        sdp::browser_codec_for(browser, chosen).ok_or("the browser offered no usable codec")?;
    let mut line = MediaLine::offer(our_port, &[chosen]);
    if let Some(first) = line.codecs.first_mut() {
        first.pt = neg.sip_pt;
    }
    line.telephone_events = neg.telephone_event.into_iter().collect();
    let mut plan = MediaPlan {
        dtmf: DtmfSetup {
            browser: browser_te(browser, &browser_codec),
            sip: neg.telephone_event,
        },
        browser: browser_codec,
        browser_kind,
        sip_codec: chosen,
        sip_pt: neg.sip_pt,
        sip_remote: neg.remote_addr,
        sip_rtcp_remote: neg.remote_rtcp,
        video: None,
        no_video: None,
    };
    let mut ours = local_sdp(our_addr, line);
    if let Some(offered) = &sip_offer.video {
        let chosen = match video_port {
            Some(port) => sdp::plan_inbound_video(sip_offer, browser).map(|v| (port, v)),
            None => Err(sdp::NoVideo::NotOffered),
        };
        ours.video = Some(match chosen {
            Ok((port, v)) => {
                let direction = browser
                    .video()
                    .map_or(sdp::Direction::SendRecv, |b| b.direction);
                let line = sdp::VideoLine::answer(port, &v, direction);
                plan.video = Some(v);
                line
            }
            Err(why) => {
                if offered.is_active() {
                    plan.no_video = Some(why);
                }
                sdp::VideoLine::rejected(offered)
            }
        });
    }
    Ok((plan, ours))
}
