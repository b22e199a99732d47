//! Our requests inside a confirmed dialog: re-INVITE (RFC 3261 §14.1; hold, unhold, new offer),
//! its ACK and the §14.1 glare retry after 491, INFO DTMF and RFC 5168 keyframe requests, and
//! the RFC 4028 session refresh (UPDATE without SDP when the peer allows it, else a re-INVITE
//! with our current SDP); the responses to them; and every mid-call deadline.

use std::time::{Duration, Instant};

use rand::{Rng, RngCore};
use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt;
use rsip::{Method, Response, SipMessage};

use super::mid_call::{OfferState, OurOffer, Purpose, dtmf_relay_body};
use super::sdp_answer::{next_version, wish_of};
use super::session_timer::{Refresher, SessionExpires, SessionTimer};
use super::uac::{Phase, body_text, build_ack, build_in_dialog};
use super::{Owner, SessionEvent, UaError, UaEvent, UserAgent};
use crate::dialog::header_uri;
use crate::media_control::{MEDIA_CONTROL_CONTENT_TYPE, picture_fast_update_body};
use crate::message;

impl<R: RngCore> UserAgent<R> {
    /// Sends a re-INVITE in the call's dialog offering `sdp` (hold: `a=sendonly`, unhold:
    /// `a=sendrecv`, or a new offer); its session version is raised past the last one we sent
    /// if needed (RFC 3264 §8). The answer comes as [`SessionEvent::RemoteSdp`], a refusal as
    /// [`SessionEvent::ReinviteFailed`]. While one is in flight the newest `sdp` waits for it.
    pub fn reinvite(&mut self, now: Instant, handle: u64, sdp: &str) -> Result<(), UaError> {
        let call_id = self.confirmed_call(handle)?;
        let Some(leg) = self.leg(&call_id) else {
            return Err(UaError::NotConfirmed(handle));
        };
        if leg.mid.ours.is_some() {
            leg.mid.queued = Some(sdp.to_owned());
            return Ok(());
        }
        self.send_reinvite(now, &call_id, sdp.to_owned(), Purpose::App);
        Ok(())
    }

    /// Sends SIP INFO `application/dtmf-relay` (`Signal=5`, `Duration=160`) in the call's
    /// dialog, for a peer that negotiated no telephone-event.
    pub fn send_info_dtmf(
        &mut self,
        now: Instant,
        handle: u64,
        digit: char,
        duration_ms: u32,
    ) -> Result<(), UaError> {
        let body = dtmf_relay_body(digit, duration_ms).ok_or(UaError::InvalidDigit(digit))?;
        let call_id = self.confirmed_call(handle)?;
        self.send_in_dialog(
            now,
            &call_id,
            "INFO",
            &[],
            Some(("application/dtmf-relay", &body)),
        )
    }

    /// Asks the peer for a video keyframe: SIP INFO `application/media_control+xml` with
    /// `picture_fast_update` (RFC 5168 §7.1) in the call's dialog, as Asterisk's chan_pjsip
    /// accepts it. Like [`Self::send_info_dtmf`], a 408/481 to it ends the call; any other
    /// refusal is ignored.
    pub fn send_picture_fast_update(&mut self, now: Instant, handle: u64) -> Result<(), UaError> {
        let call_id = self.confirmed_call(handle)?;
        self.send_in_dialog(
            now,
            &call_id,
            "INFO",
            &[],
            Some((MEDIA_CONTROL_CONTENT_TYPE, picture_fast_update_body())),
        )
    }

    /// The Call-ID of the handle's confirmed session.
    fn confirmed_call(&mut self, handle: u64) -> Result<String, UaError> {
        let call_id = self
            .handles
            .get(&handle)
            .cloned()
            .ok_or(UaError::UnknownHandle(handle))?;
        match self.leg(&call_id) {
            Some(_) => Ok(call_id),
            None => Err(UaError::NotConfirmed(handle)),
        }
    }

    /// Builds and sends a request in the dialog (new client transaction, next CSeq).
    fn send_in_dialog(
        &mut self,
        now: Instant,
        call_id: &str,
        method: &'static str,
        extra: &[(&str, String)],
        body: Option<(&str, &str)>,
    ) -> Result<(), UaError> {
        let Some(leg) = self.leg(call_id) else {
            return Err(UaError::Build("the dialog is not confirmed".into()));
        };
        let out = build_in_dialog(leg.dialog, method);
        let (dest, transport, user) = (leg.dest, leg.transport, leg.user);
        let req = self
            .build_as(&out, transport, extra, body, &user)
            .map_err(|e| UaError::Build(e.to_string()))?;
        let owner = Owner::InDialog(call_id.to_owned());
        self.start_client_tx(now, req, owner, dest, transport);
        Ok(())
    }

    fn send_reinvite(&mut self, now: Instant, call_id: &str, sdp: String, purpose: Purpose) {
        let Some(leg) = self.leg(call_id) else {
            return;
        };
        // A refresh offers our session unchanged, same version (RFC 3264 §8, RFC 4028 §7.4).
        let sdp = match purpose {
            Purpose::App => next_version(&sdp, leg.mid.local.as_deref()),
            Purpose::Refresh => sdp,
        };
        let cseq = leg.dialog.local_cseq + 1;
        leg.mid.ours = Some(OurOffer {
            sdp: sdp.clone(),
            purpose,
            state: OfferState::InFlight(cseq),
        });
        let extra = refresh_headers(leg.mid.timer.as_ref());
        let sent = self.send_in_dialog(
            now,
            call_id,
            "INVITE",
            &extra,
            Some(("application/sdp", &sdp)),
        );
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not send the re-INVITE");
            if let Some(leg) = self.leg(call_id) {
                leg.mid.ours = None;
            }
        }
    }

    /// A final response to one of our in-dialog requests (`code` 408 for a timeout).
    pub(super) fn in_dialog_response(
        &mut self,
        now: Instant,
        call_id: &str,
        method: Method,
        resp: Option<Response>,
        code: u16,
    ) {
        if code < 200 {
            return;
        }
        if method == Method::Invite {
            self.reinvite_response(now, call_id, resp, code);
        } else if (200..300).contains(&code) && method == Method::Update {
            if let Some(timer) = self.leg(call_id).and_then(|l| l.mid.timer.as_mut()) {
                timer.refreshed(now);
            }
        } else if matches!(code, 408 | 481) {
            // §12.2.1.2: the dialog is gone.
            self.end_dialog(now, call_id, "dialog_lost");
        }
    }

    fn reinvite_response(
        &mut self,
        now: Instant,
        call_id: &str,
        resp: Option<Response>,
        code: u16,
    ) {
        // RFC 6026 §7.2: a retransmitted 2xx gets the same ACK again.
        if let Some(r) = resp.as_ref().filter(|_| (200..300).contains(&code))
            && self.resend_reinvite_ack(call_id, r)
        {
            return;
        }
        let seq = resp
            .as_ref()
            .and_then(|r| message::cseq(r).ok())
            .map(|c| c.0);
        let glare_delay = self.glare_delay(call_id);
        let Some(leg) = self.leg(call_id) else {
            return;
        };
        let handle = leg.handle;
        let Some(ours) = leg.mid.ours.clone() else {
            return;
        };
        let OfferState::InFlight(cseq) = ours.state else {
            return;
        };
        if seq.is_some_and(|s| s != cseq) {
            return;
        }
        let mut events = Vec::new();
        match (code, resp) {
            (200..=299, Some(resp)) => {
                leg.mid.ours = None;
                let ack = build_ack(leg.dialog, cseq);
                if let Some(uri) = resp
                    .contact_header()
                    .ok()
                    .and_then(|c| header_uri(c.value()))
                {
                    leg.dialog.remote_target = uri;
                }
                if ours.purpose == Purpose::App {
                    leg.mid.wish = wish_of(&ours.sdp);
                    leg.mid.set_app_local(ours.sdp);
                } else {
                    // A refresh repeats our last SDP, which may be an answer made from
                    // `mid.video` with one format: it does not replace our video line.
                    leg.mid.local = Some(ours.sdp);
                }
                if let Some(sdp) = body_text(&resp.body) {
                    leg.mid.settle_video(Some(&sdp), false);
                    if ours.purpose == Purpose::App || leg.mid.remote_changed(&sdp) {
                        events.push(SessionEvent::RemoteSdp {
                            sdp: sdp.clone(),
                            offer: false,
                        });
                    }
                    leg.mid.remote = Some(sdp);
                }
                if let Some(timer) = leg.mid.timer.as_mut() {
                    timer.refreshed(now);
                }
                let (dest, transport, user) = (leg.dest, leg.transport, leg.user);
                match self.build_as(&ack, transport, &[], None, &user) {
                    Ok(ack) => {
                        if let Some(leg) = self.leg(call_id) {
                            leg.mid.last_ack = Some((cseq, ack.clone()));
                        }
                        self.queue(dest, transport, SipMessage::Request(ack));
                    }
                    Err(e) => tracing::warn!(error = %e, "could not build the re-INVITE's ACK"),
                }
            }
            (491, _) => {
                // §14.1: glare; try again after a random delay.
                tracing::debug!(sip_call_id = call_id, ?glare_delay, "re-INVITE glare");
                leg.mid.ours = Some(OurOffer {
                    state: OfferState::RetryAt(now + glare_delay),
                    ..ours
                });
                return;
            }
            _ => {
                leg.mid.ours = None;
                if ours.purpose == Purpose::App {
                    events.push(SessionEvent::ReinviteFailed { code });
                }
            }
        }
        for event in events {
            self.events.push_back(UaEvent::Session { handle, event });
        }
        if matches!(code, 408 | 481) {
            self.end_dialog(now, call_id, "dialog_lost");
            return;
        }
        let queued = self.leg(call_id).and_then(|l| l.mid.queued.take());
        if let Some(sdp) = queued {
            self.send_reinvite(now, call_id, sdp, Purpose::App);
        }
    }

    /// §14.1: 2.1–4 s in 10 ms steps if we own the Call-ID, else 0–2 s.
    fn glare_delay(&mut self, call_id: &str) -> Duration {
        let owner = self.leg(call_id).is_some_and(|l| l.owns_call_id);
        let steps = if owner {
            self.rng.gen_range(210..=400u64)
        } else {
            self.rng.gen_range(0..=200u64)
        };
        Duration::from_millis(steps * 10)
    }

    /// A 2xx to our re-INVITE arrived after its transaction ended: our ACK was lost, send it
    /// again (§13.2.2.4). Returns whether the 2xx was one.
    pub(super) fn resend_reinvite_ack(&mut self, call_id: &str, resp: &Response) -> bool {
        let seq = message::cseq(resp).map(|c| c.0).ok();
        let Some(leg) = self.leg(call_id) else {
            return false;
        };
        let (dest, transport) = (leg.dest, leg.transport);
        match &leg.mid.last_ack {
            Some((cseq, ack)) if Some(*cseq) == seq => {
                let ack = ack.clone();
                self.queue(dest, transport, SipMessage::Request(ack));
                true
            }
            _ => false,
        }
    }

    /// Starts the RFC 4028 timer of an outbound call from the 2xx to its INVITE.
    pub(super) fn start_outbound_timer(&mut self, now: Instant, call_id: &str, resp: &Response) {
        let Some(se) = SessionExpires::from_headers(&resp.headers) else {
            return;
        };
        let Some(refresher) = se.refresher else {
            return;
        };
        if let Some(leg) = self.leg(call_id)
            && leg.mid.timer.is_none()
        {
            let we_refresh = refresher == Refresher::Uac;
            leg.mid.timer = Some(SessionTimer::started(now, se.interval, we_refresh));
        }
    }

    /// The mid-call deadlines of confirmed sessions.
    pub(super) fn mid_call_deadline(&self) -> Option<Instant> {
        let outbound = self
            .sessions
            .values()
            .filter(|s| matches!(s.phase, Phase::Confirmed(_)))
            .filter_map(|s| s.mid.deadline());
        let inbound = self
            .inbound
            .values()
            .filter(|s| matches!(s.phase, super::uas::UasPhase::Confirmed))
            .filter_map(|s| s.mid.deadline());
        outbound.chain(inbound).min()
    }

    /// Carries out every mid-call deadline due at `now`: glare retries, 2xx retransmissions,
    /// session refreshes and expiries.
    pub(super) fn mid_call_timeouts(&mut self, now: Instant) {
        let due: Vec<String> = self
            .sessions
            .iter()
            .map(|(c, s)| (c, &s.mid))
            .chain(self.inbound.iter().map(|(c, s)| (c, &s.mid)))
            .filter(|(_, m)| m.deadline().is_some_and(|t| t <= now))
            .map(|(c, _)| c.clone())
            .collect();
        for call_id in due {
            let Some(leg) = self.leg(&call_id) else {
                continue;
            };
            if let Some(OurOffer {
                state: OfferState::RetryAt(t),
                sdp,
                purpose,
            }) = leg.mid.ours.clone()
                && t <= now
            {
                leg.mid.ours = None;
                self.send_reinvite(now, &call_id, sdp, purpose);
            }
            self.answering_timeouts(now, &call_id);
            self.session_timer_due(now, &call_id);
        }
    }

    fn session_timer_due(&mut self, now: Instant, call_id: &str) {
        let Some(leg) = self.leg(call_id) else {
            return;
        };
        let Some(timer) = leg.mid.timer.as_mut() else {
            return;
        };
        if timer.deadline > now {
            return;
        }
        if !timer.we_refresh {
            tracing::info!(
                sip_call_id = call_id,
                "no session refresh came (RFC 4028 §10)"
            );
            self.end_dialog(now, call_id, "session_timer_expired");
            return;
        }
        // The next refresh is due half an interval on, unless a 2xx refreshes it sooner.
        timer.refreshed(now);
        let extra = refresh_headers(Some(&*timer));
        if leg.mid.peer_allows_update {
            if let Err(e) = self.send_in_dialog(now, call_id, "UPDATE", &extra, None) {
                tracing::warn!(error = %e, "could not send the session refresh");
            }
        } else if leg.mid.ours.is_none() {
            let sdp = leg.mid.local.clone().unwrap_or_default();
            self.send_reinvite(now, call_id, sdp, Purpose::Refresh);
        }
    }
}

/// RFC 4028 §7.4: a refresh names the interval and us (its UAC) as refresher.
fn refresh_headers(timer: Option<&SessionTimer>) -> Vec<(&'static str, String)> {
    match timer {
        Some(t) if t.we_refresh => vec![
            (
                "Session-Expires",
                format!("{};refresher=uac", t.interval.as_secs()),
            ),
            ("Supported", "timer".to_owned()),
        ],
        _ => Vec::new(),
    }
}
