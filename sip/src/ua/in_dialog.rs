//! The peer's requests inside a confirmed dialog (outbound or inbound call), other than BYE:
//! re-INVITE (RFC 3261 §14.2), UPDATE (RFC 3311 §5.2) and INFO (RFC 6086 §4.2; legacy
//! `application/dtmf-relay`, RFC 5168 `picture_fast_update`), answered from the gateway's own
//! state; the ACK of our 2xx to a re-INVITE (§13.3.1.4); and what both mid-call directions
//! share: reaching a session's dialog, and ending a dialog that failed mid-call.

use std::net::SocketAddr;
use std::time::Instant;

use rand::RngCore;
use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt;
use rsip::{Method, Request, Response, SipMessage};

use super::build::set_body;
use super::mid_call::{Answering, MidCall, OfferState, parse_dtmf_relay};
use super::sdp_answer::{self, OurVideo, Unanswerable};
use super::uac::{Phase, body_text, build_in_dialog};
use super::uas::UasPhase;
use super::{EndCause, SessionEvent, Transport, UaEvent, UserAgent};
use crate::dialog::{Dialog, header_uri};
use crate::media_control::is_picture_fast_update;
use crate::message;

/// A confirmed session's dialog and mid-call state, with where its requests go.
pub(super) struct Leg<'a> {
    /// The application's handle.
    pub(super) handle: u64,
    /// The dialog.
    pub(super) dialog: &'a mut Dialog,
    /// Its mid-call state.
    pub(super) mid: &'a mut MidCall,
    /// Where our requests go.
    pub(super) dest: SocketAddr,
    /// Over which transport.
    pub(super) transport: Transport,
    /// The user part of our Contact.
    pub(super) user: String,
    /// We generated the Call-ID (outbound call): §14.1 glare delays depend on it.
    pub(super) owns_call_id: bool,
}

impl<R: RngCore> UserAgent<R> {
    /// The confirmed session with this Call-ID, outbound or inbound.
    pub(super) fn leg(&mut self, call_id: &str) -> Option<Leg<'_>> {
        let (proxy, transport) = (self.cfg.proxy, self.cfg.transport);
        let user = self.cfg.username.clone();
        if let Some(s) = self.sessions.get_mut(call_id) {
            let Phase::Confirmed(dialog) = &mut s.phase else {
                return None;
            };
            return Some(Leg {
                handle: s.handle,
                dialog,
                mid: &mut s.mid,
                dest: proxy,
                transport,
                user,
                owns_call_id: true,
            });
        }
        let s = self.inbound.get_mut(call_id)?;
        if !matches!(s.phase, UasPhase::Confirmed) {
            return None;
        }
        Some(Leg {
            handle: s.handle,
            dialog: &mut s.dialog,
            mid: &mut s.mid,
            dest: s.peer,
            transport: s.transport,
            user: s.contact_user.clone(),
            owns_call_id: false,
        })
    }

    /// The response to a re-INVITE, UPDATE or INFO in the confirmed dialog of `call_id`
    /// (the caller checked the To-tag); `None` if the session is not confirmed.
    pub(super) fn in_dialog_request(
        &mut self,
        now: Instant,
        req: &Request,
        call_id: &str,
    ) -> Option<Response> {
        let (t1, reliable) = (self.cfg.timers.t1, self.cfg.transport.reliable());
        let give_up_at = now + self.cfg.timers.transaction_timeout();
        let (user, transport) = self.leg(call_id).map(|l| (l.user, l.transport))?;
        let contact = self.contact_for(&user, transport);
        let leg = self.leg(call_id)?;
        let reliable = reliable || leg.transport.reliable();
        let mut events = Vec::new();
        // §12.2.2: a target refresh request replaces the remote target.
        if req.method != Method::Info
            && let Some(uri) = req
                .contact_header()
                .ok()
                .and_then(|c| header_uri(c.value()))
        {
            leg.dialog.remote_target = uri;
        }
        let offer_pending = matches!(
            leg.mid.ours,
            Some(super::mid_call::OurOffer {
                state: OfferState::InFlight(_),
                ..
            })
        );
        let resp = match req.method {
            // §14.2 / RFC 3311 §5.2: their offer crossed ours.
            Method::Invite | Method::Update if offer_pending => {
                tracing::debug!(sip_call_id = call_id, "offer glare: 491");
                message::response_for(req, 491, Some("Request Pending"), None)
            }
            Method::Invite | Method::Update => {
                let offer = body_text(&req.body);
                let body = match &offer {
                    Some(offer) => answer_offer(leg.mid, offer, &mut events),
                    None if req.method == Method::Invite => Ok(Some(sdp_answer::offer_from(
                        leg.mid.local.as_deref().unwrap_or_default(),
                        leg.mid.wish,
                    ))),
                    // RFC 4028 §7.4 / RFC 3311: an UPDATE without SDP only refreshes the session.
                    None => Ok(None),
                };
                match body {
                    Err(code) => message::response_for(req, code, None, None),
                    Ok(body) => {
                        let mut ok = message::response_for(req, 200, None, None);
                        ok.headers
                            .push(rsip::Header::Contact(rsip::headers::Contact::new(contact)));
                        if req.method == Method::Invite {
                            ok.headers.push(super::build::allow());
                        }
                        if let Some(body) = body {
                            ok.headers.push(rsip::Header::ContentType(
                                rsip::headers::ContentType::new("application/sdp"),
                            ));
                            leg.mid.local = Some(body.clone());
                            set_body(&mut ok.headers, &mut ok.body, body.into_bytes());
                        }
                        if let Some(timer) = leg.mid.timer.as_mut() {
                            timer.refreshed(now);
                        }
                        if super::uac::allows_update(&req.headers) {
                            leg.mid.peer_allows_update = true;
                        }
                        if req.method == Method::Invite {
                            leg.mid.answering = Some(Answering {
                                cseq: message::cseq(req).map(|c| c.0).unwrap_or_default(),
                                ok: ok.clone(),
                                interval: t1,
                                resend_at: (!reliable).then_some(now + t1),
                                give_up_at,
                                late_offer: offer.is_none(),
                            });
                        }
                        ok
                    }
                }
            }
            Method::Info => {
                let content_type = req
                    .headers
                    .iter()
                    .find_map(|h| match h {
                        rsip::Header::ContentType(c) => Some(c.value().to_ascii_lowercase()),
                        _ => None,
                    })
                    .unwrap_or_default();
                let text = String::from_utf8_lossy(&req.body);
                // RFC 6086 would refuse an unknown Info-Package with 469; the legacy INFO DTMF
                // of Asterisk and phones names none, nor does RFC 5168, so every INFO is
                // accepted.
                if content_type.starts_with("application/dtmf")
                    && let Some((digit, duration_ms)) = parse_dtmf_relay(&text)
                {
                    events.push(SessionEvent::InfoDtmf { digit, duration_ms });
                } else if is_picture_fast_update(&content_type, &req.body) {
                    events.push(SessionEvent::PictureFastUpdate);
                }
                message::response_for(req, 200, None, None)
            }
            _ => message::response_for(req, 405, None, None),
        };
        let handle = leg.handle;
        for event in events {
            self.events.push_back(UaEvent::Session { handle, event });
        }
        Some(resp)
    }

    /// An ACK for our 2xx to a re-INVITE: ends its retransmissions; for a re-INVITE without SDP
    /// it carries the answer to our offer. Returns whether it was one.
    pub(super) fn mid_call_ack(&mut self, call_id: &str, ack: &Request) -> bool {
        let Some(leg) = self.leg(call_id) else {
            return false;
        };
        let seq = message::cseq(ack).map(|c| c.0).ok();
        let ours = leg.dialog.local_tag.clone();
        let in_dialog = message::to_tag(ack).ok().flatten().as_deref() == Some(ours.as_str());
        let Some(answering) = leg.mid.answering.as_ref() else {
            return false;
        };
        if !in_dialog || seq != Some(answering.cseq) {
            return false;
        }
        let late_offer = answering.late_offer;
        leg.mid.answering = None;
        let handle = leg.handle;
        if let (true, Some(sdp)) = (late_offer, body_text(&ack.body)) {
            leg.mid.remote = Some(sdp.clone());
            self.events.push_back(UaEvent::Session {
                handle,
                event: SessionEvent::RemoteSdp { sdp, offer: false },
            });
        }
        true
    }

    /// Retransmits our 2xx to a re-INVITE (T1 doubling up to T2) and gives up at 64*T1 with a
    /// BYE (§13.3.1.4, §14.2).
    pub(super) fn answering_timeouts(&mut self, now: Instant, call_id: &str) {
        let t2 = self.cfg.timers.t2;
        let Some(leg) = self.leg(call_id) else {
            return;
        };
        let (dest, transport) = (leg.dest, leg.transport);
        let Some(a) = leg.mid.answering.as_mut() else {
            return;
        };
        if a.give_up_at <= now {
            leg.mid.answering = None;
            tracing::warn!(sip_call_id = call_id, "no ACK for our 2xx to a re-INVITE");
            self.end_dialog(now, call_id, "no_ack");
        } else if a.resend_at.is_some_and(|t| t <= now) {
            a.interval = (a.interval * 2).min(t2);
            a.resend_at = Some(now + a.interval);
            let ok = a.ok.clone();
            self.queue(dest, transport, SipMessage::Response(ok));
        }
    }

    /// Ends a confirmed dialog that failed mid-call (our re-INVITE got 408/481, no refresh
    /// came, no ACK came): BYE, and [`SessionEvent::Ended`] with `reason`.
    pub(super) fn end_dialog(&mut self, now: Instant, call_id: &str, reason: &'static str) {
        let cause = EndCause { code: None, reason };
        if let Some(leg) = self.leg(call_id) {
            leg.mid.clear_deadlines();
        }
        if self.inbound.contains_key(call_id) {
            self.report_end(call_id, cause);
            self.send_inbound_bye(now, call_id);
            return;
        }
        let Some(s) = self.sessions.get_mut(call_id) else {
            return;
        };
        let Phase::Confirmed(dialog) = &mut s.phase else {
            return;
        };
        let bye = build_in_dialog(dialog, "BYE");
        s.phase = Phase::Terminating;
        let mut actions = vec![super::uac::Action::SendInDialog(bye)];
        if !s.reported_end {
            s.reported_end = true;
            actions.push(super::uac::Action::Report(SessionEvent::Ended(cause)));
        }
        self.apply(now, call_id, actions);
    }
}

/// Our answer to the peer's offer, or the error code (488) when we have none; reports the new
/// remote SDP when it changed anything (RFC 3264 §8).
fn answer_offer(
    mid: &mut MidCall,
    offer: &str,
    events: &mut Vec<SessionEvent>,
) -> Result<Option<String>, u16> {
    let local = mid.local.clone().unwrap_or_default();
    let video = OurVideo {
        line: mid.video.as_ref(),
        current: mid.current_video_codec(),
    };
    match sdp_answer::answer_with_video(&local, offer, mid.current_codec(), mid.wish, video) {
        Ok(answer) => {
            if mid.remote_changed(offer) {
                events.push(SessionEvent::RemoteSdp {
                    sdp: offer.to_owned(),
                    offer: true,
                });
            }
            mid.remote = Some(offer.to_owned());
            Ok(Some(answer))
        }
        Err(why) => {
            tracing::info!(?why, "mid-call offer refused with 488");
            if let Unanswerable::Sdp(e) = why {
                tracing::debug!(error = %e, "unusable mid-call SDP");
            }
            Err(488)
        }
    }
}
