//! In-call features shared by outbound and inbound calls once answered: hold and unhold
//! (re-INVITE with `a=sendonly`/`sendrecv`), DTMF both ways (RFC 4733 or SIP INFO), following the
//! phone's media changes (re-INVITE/UPDATE), and the quality report.

use gateway_sip::sdp::{self, AudioCodec, Direction, SipSdp};
use gateway_sip::ua::SessionEvent;

use super::media::MediaSession;
use crate::app::App;
use crate::call::bridge::DtmfError;
use crate::signaling::messages::{CallState, ServerMessage};
use crate::sip_driver::SipCommand;

/// Length of a DTMF digit sent as SIP INFO.
const INFO_DIGIT_MS: u32 = 160;

/// What a feature produced for the client.
pub(crate) type Replies = Vec<ServerMessage>;

/// The in-call state of one call's SIP session.
pub(crate) struct InCall {
    call_id: String,
    handle: u64,
    /// Our current SIP-side SDP; re-INVITEs for hold are built from it.
    local: SipSdp,
    /// Codecs we offered toward SIP (outbound) or the one we answered with (inbound).
    codecs: Vec<AudioCodec>,
    held: bool,
    /// Our video line once the call's video codec is settled (one format): what `local.video`
    /// returns to when the phone adds video back after removing it (RFC 3264 §8.4).
    video: Option<sdp::VideoLine>,
}

impl InCall {
    /// The in-call state over our SIP-side SDP.
    pub(crate) fn new(call_id: &str, handle: u64, local: SipSdp, codecs: Vec<AudioCodec>) -> Self {
        Self {
            call_id: call_id.to_owned(),
            handle,
            local,
            codecs,
            held: false,
            video: None,
        }
    }

    /// The call's video relays `codec`: our later offers list that format alone, so the phone
    /// cannot move the call to a codec the browser's leg does not have (no video transcoding).
    pub(crate) fn video_settled(&mut self, codec: sdp::VideoCodec) {
        if let Some(line) = self.local.video.as_mut().filter(|v| v.is_active()) {
            line.formats.retain(|f| f.video_codec() == Some(codec));
            if line.formats.is_empty() {
                self.local.video = self.local.video.as_ref().map(sdp::VideoLine::rejected);
                return;
            }
            self.video = Some(line.clone());
        }
    }

    fn state(&self, state: CallState) -> ServerMessage {
        ServerMessage::State {
            call_id: self.call_id.clone(),
            reference: None,
            state,
            sip_code: None,
            reason: None,
            stats: None,
        }
    }

    fn error(&self, message: String) -> ServerMessage {
        ServerMessage::Error {
            reference: Some(self.call_id.clone()),
            code: crate::signaling::messages::ErrorCode::BadRequest,
            message,
        }
    }

    /// Client hold/unhold: a re-INVITE with `a=sendonly` or back to `a=sendrecv` (RFC 3264 §8.4).
    pub(crate) fn set_hold(
        &mut self,
        app: &App,
        media: &mut MediaSession,
        hold: bool,
        answered: bool,
    ) -> Replies {
        if !answered {
            return vec![self.error("the call is not answered yet".into())];
        }
        if self.held == hold {
            return Vec::new();
        }
        let direction = if hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        if let Some(audio) = self.local.audio.as_mut() {
            audio.direction = direction;
        }
        if let Some(video) = self.local.video.as_mut().filter(|v| v.is_active()) {
            video.direction = direction;
        }
        self.local.session_version += 1;
        let _ = app.sip.send(SipCommand::Reinvite {
            handle: self.handle,
            sdp: self.local.to_string(),
        });
        self.held = hold;
        media.set_local_hold(hold);
        vec![self.state(if hold {
            CallState::Held
        } else {
            CallState::Connected
        })]
    }

    /// Client digits: RFC 4733 toward SIP when negotiated, else one SIP INFO per digit.
    pub(crate) fn send_digits(&self, app: &App, media: &mut MediaSession, digits: &str) -> Replies {
        match media.send_digits(digits) {
            Ok(()) => Vec::new(),
            Err(DtmfError::NoTelephoneEvent) => {
                for digit in digits.chars() {
                    let _ = app.sip.send(SipCommand::InfoDtmf {
                        handle: self.handle,
                        digit,
                        duration_ms: INFO_DIGIT_MS,
                    });
                }
                Vec::new()
            }
            Err(e) => vec![self.error(e.to_string())],
        }
    }

    /// The browser pressed a digit the SIP side cannot take as RFC 4733: SIP INFO.
    pub(crate) fn browser_digit(&self, app: &App, digit: char) {
        let _ = app.sip.send(SipCommand::InfoDtmf {
            handle: self.handle,
            digit,
            duration_ms: INFO_DIGIT_MS,
        });
    }

    /// Media events that are in-call features: digits both ways, one-way audio.
    pub(crate) fn on_media(&self, app: &App, ev: super::media::MediaEvent) -> Replies {
        use super::media::MediaEvent;
        match ev {
            MediaEvent::PhoneDigit(d) => vec![self.phone_digit(d)],
            MediaEvent::BrowserDigit(d) => {
                self.browser_digit(app, d);
                Vec::new()
            }
            MediaEvent::PictureFastUpdate => {
                let _ = app.sip.send(SipCommand::PictureFastUpdate {
                    handle: self.handle,
                });
                Vec::new()
            }
            MediaEvent::OneWay(side, ms) => {
                let from = match side {
                    gateway_media::quality::Side::Webrtc => "the browser",
                    gateway_media::quality::Side::Sip => "the phone",
                };
                tracing::warn!(call_id = %self.call_id, from, silent_ms = ms, "one-way audio");
                vec![ServerMessage::Warning {
                    call_id: self.call_id.clone(),
                    code: "one_way_audio".to_owned(),
                    message: format!(
                        "audio arrives only from {from} (the other side sent nothing for {} s): check NAT, firewall or TURN",
                        ms / 1000
                    ),
                }]
            }
            _ => Vec::new(),
        }
    }

    /// A digit from the phone, for the client.
    pub(crate) fn phone_digit(&self, digit: char) -> ServerMessage {
        ServerMessage::Dtmf {
            call_id: self.call_id.clone(),
            digit,
        }
    }

    /// The call goes on without video: our later offers keep the video m-line rejected (port
    /// 0; RFC 3264 §8: an m-line is never removed from a session).
    pub(crate) fn video_rejected(&mut self) {
        if let Some(v) = self.local.video.as_ref() {
            self.local.video = Some(sdp::VideoLine::rejected(v));
        }
    }

    /// In-dialog SIP events: the phone's media changes, our re-INVITE failing, INFO digits.
    pub(crate) fn on_sip(&mut self, media: &mut MediaSession, ev: &SessionEvent) -> Replies {
        match ev {
            SessionEvent::RemoteSdp { sdp, .. } => self.follow(media, sdp),
            SessionEvent::ReinviteFailed { code } => {
                // The previous state stays: undo our local view of the hold.
                self.held = !self.held;
                media.set_local_hold(self.held);
                let direction = if self.held {
                    Direction::SendOnly
                } else {
                    Direction::SendRecv
                };
                if let Some(audio) = self.local.audio.as_mut() {
                    audio.direction = direction;
                }
                if let Some(video) = self.local.video.as_mut().filter(|v| v.is_active()) {
                    video.direction = direction;
                }
                vec![
                    self.error(format!("the phone refused the change ({code})")),
                    self.state(if self.held {
                        CallState::Held
                    } else {
                        CallState::Connected
                    }),
                ]
            }
            SessionEvent::InfoDtmf { digit, .. } => vec![self.phone_digit(*digit)],
            SessionEvent::PictureFastUpdate => {
                media.sip_keyframe_request();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Follows the phone's new SDP: address/port, payload type, and hold from its side.
    fn follow(&mut self, media: &mut MediaSession, remote: &str) -> Replies {
        let parsed = match super::media::parse_sip_sdp(remote, media.max_sdp_line()) {
            Ok(p) => p,
            Err(why) => {
                tracing::warn!(call_id = %self.call_id, %why, "the phone's new SDP is not followed");
                return Vec::new();
            }
        };
        let Ok(neg) = sdp::choose_answer_codec(&parsed, &self.codecs) else {
            tracing::warn!(call_id = %self.call_id, "the phone's new SDP has none of our codecs");
            return Vec::new();
        };
        media.retarget(neg.remote_addr, neg.remote_rtcp);
        media.follow_video(&parsed);
        // Our next offer (hold) shows video as the phone left it: removed stays removed, and
        // added back is our settled line again, in the direction we last offered.
        if let Some(ours) = &self.video {
            let active = parsed.video.as_ref().is_some_and(|v| v.is_active());
            let direction = self
                .local
                .audio
                .as_ref()
                .map_or(Direction::SendRecv, |a| a.direction);
            self.local.video = Some(if active {
                sdp::VideoLine {
                    direction,
                    ..ours.clone()
                }
            } else {
                sdp::VideoLine::rejected(ours)
            });
        }
        if let Err(e) = media.follow_codec(neg.sip_codec, neg.sip_pt, neg.telephone_event) {
            tracing::warn!(call_id = %self.call_id, error = %e, "cannot follow the phone's codec change");
        }
        let remote_holds = matches!(neg.direction, Direction::SendOnly | Direction::Inactive);
        media.set_remote_hold(remote_holds);
        tracing::info!(call_id = %self.call_id, remote = %neg.remote_addr, codec = ?neg.sip_codec, remote_holds, "following the phone's new SDP");
        if remote_holds {
            vec![self.state(CallState::Held)]
        } else if !self.held {
            vec![self.state(CallState::Connected)]
        } else {
            Vec::new()
        }
    }
}
