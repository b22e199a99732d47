//! Inbound calls: the user agent's side of the server INVITE sessions of [`super::uas`] — the
//! INVITE offered to the application, 180/2xx/final responses (§13.3.1), the 2xx retransmitted
//! until the ACK (§13.3.1.4), CANCEL (§9.2) and BYE both ways (§15).

use std::net::SocketAddr;
use std::time::Instant;

use rand::RngCore;
use rsip::headers::UntypedHeader;
use rsip::{Request, SipMessage};

use super::build::{allow, set_body};
use super::mid_call::MidCall;
use super::sdp_answer::{Wish, wish_of};
use super::session_timer::{Refresher, SessionExpires, SessionTimer};
use super::uac::{allows_update, body_text, build_in_dialog};
use super::uas::{self, UasPhase, UasSession};
use super::{
    EndCause, INBOUND_HANDLE_BASE, IncomingCall, Owner, SessionEvent, Transport, UaError, UaEvent,
    UserAgent,
};
use crate::dialog::Dialog;
use crate::message;
use crate::registration::reason_phrase;
use crate::transaction::{TransactionKey, TxInput};

impl<R: RngCore> UserAgent<R> {
    /// Sends 180 Ringing (with our To-tag and Contact) for an inbound call still offered.
    pub fn ring(&mut self, now: Instant, handle: u64) {
        let Some(call_id) = self.inbound_call(handle) else {
            return;
        };
        let Some(s) = self.inbound.get_mut(&call_id) else {
            return;
        };
        if !matches!(s.phase, UasPhase::Offered { rang: false }) {
            return;
        }
        s.phase = UasPhase::Offered { rang: true };
        let mut ringing = message::response_for(&s.invite, 180, None, Some(&s.dialog.local_tag));
        let (key, user, transport) = (s.tx_key.clone(), s.contact_user.clone(), s.transport);
        ringing
            .headers
            .push(rsip::Header::Contact(rsip::headers::Contact::new(
                self.contact_for(&user, transport),
            )));
        self.feed(now, &key, TxInput::FromTu(ringing));
    }

    /// Answers an inbound call with 200 OK carrying `sdp` (the answer to the INVITE's offer,
    /// or our offer when the INVITE had none); the session is confirmed by the ACK
    /// ([`SessionEvent::Confirmed`]).
    pub fn answer(&mut self, now: Instant, handle: u64, sdp: &str) -> Result<(), UaError> {
        let call_id = self
            .inbound_call(handle)
            .ok_or(UaError::UnknownHandle(handle))?;
        let t1 = self.cfg.timers.t1;
        let give_up_at = now + self.cfg.timers.transaction_timeout();
        let contact = {
            let s = self
                .inbound
                .get(&call_id)
                .ok_or(UaError::UnknownHandle(handle))?;
            if !matches!(s.phase, UasPhase::Offered { .. }) {
                return Err(UaError::NotOffered(handle));
            }
            self.contact_for(&s.contact_user, s.transport)
        };
        let Some(s) = self.inbound.get_mut(&call_id) else {
            return Err(UaError::UnknownHandle(handle));
        };
        let mut ok = message::response_for(&s.invite, 200, None, Some(&s.dialog.local_tag));
        ok.headers
            .push(rsip::Header::Contact(rsip::headers::Contact::new(contact)));
        ok.headers.push(allow());
        ok.headers
            .push(rsip::Header::ContentType(rsip::headers::ContentType::new(
                "application/sdp",
            )));
        set_body(&mut ok.headers, &mut ok.body, sdp.as_bytes().to_vec());
        s.local_sdp = Some(sdp.to_owned());
        let offer = body_text(&s.invite.body);
        let wish = if offer.is_some() {
            Wish::BOTH
        } else {
            wish_of(sdp)
        };
        s.mid = MidCall::new(Some(sdp.to_owned()), offer, wish);
        s.mid.peer_allows_update = allows_update(&s.invite.headers);
        // RFC 4028 §9: the INVITE names who refreshes; we watch or refresh from our 2xx on.
        s.mid.timer = SessionExpires::from_headers(&s.invite.headers).and_then(|se| {
            let we_refresh = se.refresher? == Refresher::Uas;
            Some(SessionTimer::started(now, se.interval, we_refresh))
        });
        s.phase = UasPhase::Answered {
            ok: ok.clone(),
            interval: t1,
            resend_at: (!s.transport.reliable()).then_some(now + t1),
            give_up_at,
        };
        let (key, peer, transport) = (s.tx_key.clone(), s.peer, s.transport);
        tracing::info!(handle, sip_call_id = %call_id, "inbound call answered");
        match self.txs.get_mut(&key) {
            Some(entry) => {
                entry.answer = Some(ok.clone());
                self.feed(now, &key, TxInput::FromTu(ok));
            }
            None => self.queue(peer, transport, SipMessage::Response(ok)),
        }
        Ok(())
    }

    /// Refuses an inbound call still offered with a final response (`code` 300–699; anything
    /// else becomes 480). The transaction retransmits it and absorbs the ACK; the session ends.
    pub fn reject(&mut self, now: Instant, handle: u64, code: u16) {
        let code = if (300..=699).contains(&code) {
            code
        } else {
            tracing::warn!(handle, code, "not a final error code; rejecting with 480");
            480
        };
        let Some(call_id) = self.inbound_call(handle) else {
            return;
        };
        if !self
            .inbound
            .get(&call_id)
            .is_some_and(|s| matches!(s.phase, UasPhase::Offered { .. }))
        {
            return;
        }
        tracing::info!(handle, sip_call_id = %call_id, code, "inbound call rejected");
        self.final_response(now, &call_id, code);
        self.end_inbound(&call_id, EndCause::from_code(code));
    }

    /// The handle's Call-ID, when the handle is an inbound call's.
    fn inbound_call(&self, handle: u64) -> Option<String> {
        self.handles
            .get(&handle)
            .filter(|c| self.inbound.contains_key(*c))
            .cloned()
    }

    /// A new out-of-dialog INVITE (its server transaction exists): offer it to the application.
    pub(super) fn on_new_invite(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        from: SocketAddr,
        transport: Transport,
        req: Request,
    ) {
        let tag = message::new_tag(&mut self.rng);
        let call_id = message::call_id(&req).unwrap_or_default().to_owned();
        if self.inbound.contains_key(&call_id) || self.sessions.contains_key(&call_id) {
            // §8.2.2.2: the same call reaching us again on another branch.
            let resp = message::response_for(&req, 482, Some("Loop Detected"), Some(&tag));
            self.feed(now, key, TxInput::FromTu(resp));
            return;
        }
        let dialog = match Dialog::from_uas_invite(&req, &tag) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(%from, error = %e, "INVITE cannot open a dialog");
                let reason = format!("Bad Request ({e})");
                let resp = message::response_for(&req, 400, Some(&reason), Some(&tag));
                self.feed(now, key, TxInput::FromTu(resp));
                return;
            }
        };
        let parties = uas::parties(&req);
        // Extension headers (X-...) let Asterisk tell us about a call, e.g. a click-to-call's
        // originate id set with PJSIP_HEADER(add,X-WebRTC-Originate).
        let extra_headers: Vec<(String, String)> = req
            .headers
            .iter()
            .filter_map(|h| match h {
                rsip::Header::Other(name, value)
                    if name.len() > 2 && name[..2].eq_ignore_ascii_case("x-") =>
                {
                    Some((name.clone(), value.trim().to_owned()))
                }
                _ => None,
            })
            .collect();
        let handle = self.allocate_inbound_handle();
        if let Some(entry) = self.txs.get_mut(key) {
            entry.owner = Owner::Call(call_id.clone());
        }
        let contact_user = if parties.to_user.is_empty() {
            self.cfg.username.clone()
        } else {
            parties.to_user.clone()
        };
        self.inbound.insert(
            call_id.clone(),
            UasSession {
                handle,
                invite: req,
                tx_key: key.clone(),
                peer: from,
                transport,
                dialog,
                contact_user,
                local_sdp: None,
                phase: UasPhase::Offered { rang: false },
                hangup_pending: false,
                reported_end: false,
                mid: MidCall::new(None, None, Wish::BOTH),
            },
        );
        self.handles.insert(handle, call_id.clone());
        tracing::info!(handle, sip_call_id = %call_id, %from, to = %parties.to_user, "inbound INVITE");
        self.events.push_back(UaEvent::Incoming(IncomingCall {
            handle,
            sip_call_id: call_id,
            from_user: parties.from_user,
            from_display: parties.from_display,
            to_user: parties.to_user,
            source: from,
            sdp: parties.sdp,
            extra_headers,
        }));
    }

    fn allocate_inbound_handle(&mut self) -> u64 {
        loop {
            let handle = self.next_inbound;
            self.next_inbound = self
                .next_inbound
                .checked_add(1)
                .unwrap_or(INBOUND_HANDLE_BASE);
            if !self.handles.contains_key(&handle) {
                return handle;
            }
        }
    }

    /// A CANCEL (its server transaction exists): 200 if it matches an INVITE transaction
    /// (§9.2), then 487 for that INVITE if it is still unanswered; 481 otherwise.
    pub(super) fn on_cancel(&mut self, now: Instant, key: &TransactionKey, cancel: &Request) {
        let owner = key
            .cancelled_invite()
            .and_then(|k| self.txs.get(&k))
            .map(|e| e.owner.clone());
        let Some(owner) = owner else {
            let tag = message::new_tag(&mut self.rng);
            let resp = message::response_for(cancel, 481, None, Some(&tag));
            self.feed(now, key, TxInput::FromTu(resp));
            return;
        };
        let session = match &owner {
            Owner::Call(c) => self.inbound.get(c).map(|s| (c.clone(), s)),
            _ => None,
        };
        // §9.2: the 200 to the CANCEL carries the To-tag of our responses to the INVITE.
        let tag = match &session {
            Some((_, s)) => s.dialog.local_tag.clone(),
            None => message::new_tag(&mut self.rng),
        };
        let offered = session
            .as_ref()
            .filter(|(_, s)| matches!(s.phase, UasPhase::Offered { .. }))
            .map(|(c, _)| c.clone());
        let ok = message::response_for(cancel, 200, None, Some(&tag));
        self.feed(now, key, TxInput::FromTu(ok));
        if let Some(call_id) = offered {
            tracing::info!(sip_call_id = %call_id, "inbound call cancelled");
            self.final_response(now, &call_id, 487);
            self.end_inbound(
                &call_id,
                EndCause {
                    code: Some(487),
                    reason: "cancelled",
                },
            );
        }
    }

    /// An ACK outside any transaction, or passed up by one: the ACK for our 2xx confirms the
    /// inbound session (§13.3.1.4); any other is absorbed.
    pub(super) fn on_ack(&mut self, now: Instant, ack: &Request) {
        let Ok(call_id) = message::call_id(ack) else {
            return;
        };
        let call_id = call_id.to_owned();
        if self.mid_call_ack(&call_id, ack) {
            return;
        }
        let Some(s) = self.inbound.get_mut(&call_id) else {
            tracing::trace!(sip_call_id = %call_id, "ACK for no inbound call absorbed");
            return;
        };
        if !s.acks_our_2xx(ack) {
            return;
        }
        s.phase = UasPhase::Confirmed;
        if let Some(sdp) = body_text(&ack.body) {
            s.mid.remote = Some(sdp);
        }
        tracing::debug!(sip_call_id = %call_id, "inbound call confirmed by ACK");
        if !s.reported_end {
            let event = SessionEvent::Confirmed {
                sdp: body_text(&ack.body),
            };
            self.events.push_back(UaEvent::Session {
                handle: s.handle,
                event,
            });
        }
        if s.hangup_pending {
            self.send_inbound_bye(now, &call_id);
        }
    }

    /// Asterisk's BYE in an inbound dialog (already answered 200 by the caller).
    pub(super) fn inbound_remote_bye(&mut self, call_id: &str) {
        self.end_inbound(
            call_id,
            EndCause {
                code: None,
                reason: "remote_hangup",
            },
        );
    }

    /// The application hangs up an inbound call: 480 before the answer; BYE once the ACK is
    /// in (at once, or when it arrives: §15 forbids a BYE before it).
    pub(super) fn hangup_inbound(&mut self, now: Instant, call_id: &str) {
        let cause = EndCause {
            code: None,
            reason: "normal_clearing",
        };
        let Some(s) = self.inbound.get_mut(call_id) else {
            return;
        };
        match s.phase {
            UasPhase::Offered { .. } => {
                self.final_response(now, call_id, 480);
                self.end_inbound(call_id, cause);
            }
            UasPhase::Answered { .. } => {
                s.hangup_pending = true;
                self.report_end(call_id, cause);
            }
            UasPhase::Confirmed => {
                self.send_inbound_bye(now, call_id);
                self.report_end(call_id, cause);
            }
            UasPhase::Terminating | UasPhase::Done => {}
        }
    }

    /// Retransmits unacknowledged 2xx responses (T1 doubling up to T2) and gives up at 64*T1
    /// with a BYE (§13.3.1.4).
    pub(super) fn inbound_timeouts(&mut self, now: Instant) {
        let t2 = self.cfg.timers.t2;
        let due: Vec<String> = self
            .inbound
            .iter()
            .filter(|(_, s)| s.deadline().is_some_and(|t| t <= now))
            .map(|(c, _)| c.clone())
            .collect();
        for call_id in due {
            let Some(s) = self.inbound.get_mut(&call_id) else {
                continue;
            };
            let UasPhase::Answered {
                ok,
                interval,
                resend_at,
                give_up_at,
            } = &mut s.phase
            else {
                continue;
            };
            if *give_up_at <= now {
                tracing::warn!(sip_call_id = %call_id, "no ACK for our 2xx; ending the call");
                self.report_end(
                    &call_id,
                    EndCause {
                        code: None,
                        reason: "no_ack",
                    },
                );
                self.send_inbound_bye(now, &call_id);
            } else if resend_at.is_some_and(|t| t <= now) {
                *interval = (*interval * 2).min(t2);
                *resend_at = Some(now + *interval);
                let (ok, peer, transport) = (ok.clone(), s.peer, s.transport);
                self.queue(peer, transport, SipMessage::Response(ok));
            }
        }
    }

    /// Our BYE of an inbound dialog got its final response or failed: the session is over.
    pub(super) fn inbound_bye_done(&mut self, call_id: &str) {
        if let Some(s) = self.inbound.get_mut(call_id) {
            s.phase = UasPhase::Done;
        }
        self.forget_inbound(call_id);
    }

    /// BYE in the dialog, from the UAS side: our To-tag as From-tag, to the INVITE's Contact,
    /// through its Record-Route (§12.2.1.1).
    pub(super) fn send_inbound_bye(&mut self, now: Instant, call_id: &str) {
        let Some(s) = self.inbound.get_mut(call_id) else {
            return;
        };
        let out = build_in_dialog(&mut s.dialog, "BYE");
        s.phase = UasPhase::Terminating;
        let (peer, transport) = (s.peer, s.transport);
        match self.build(&out, transport, &[], None) {
            Ok(bye) => {
                self.start_client_tx(now, bye, Owner::Call(call_id.to_owned()), peer, transport)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not build BYE");
                self.inbound_bye_done(call_id);
            }
        }
    }

    /// Sends a final non-2xx response to the INVITE through its transaction.
    fn final_response(&mut self, now: Instant, call_id: &str, code: u16) {
        let Some(s) = self.inbound.get(call_id) else {
            return;
        };
        let reason = reason_phrase(&rsip::StatusCode::from(code));
        let resp = message::response_for(&s.invite, code, Some(&reason), Some(&s.dialog.local_tag));
        let key = s.tx_key.clone();
        self.feed(now, &key, TxInput::FromTu(resp));
    }

    /// Tells the application once that the session ended.
    pub(super) fn report_end(&mut self, call_id: &str, cause: EndCause) {
        if let Some(s) = self.inbound.get_mut(call_id)
            && !s.reported_end
        {
            s.reported_end = true;
            self.events.push_back(UaEvent::Session {
                handle: s.handle,
                event: SessionEvent::Ended(cause),
            });
        }
    }

    /// Reports the end and forgets the session: nothing more goes on in its dialog.
    fn end_inbound(&mut self, call_id: &str, cause: EndCause) {
        self.report_end(call_id, cause);
        if let Some(s) = self.inbound.get_mut(call_id) {
            s.phase = UasPhase::Done;
        }
        self.forget_inbound(call_id);
    }

    fn forget_inbound(&mut self, call_id: &str) {
        if self.inbound.get(call_id).is_some_and(UasSession::is_done)
            && let Some(s) = self.inbound.remove(call_id)
        {
            self.handles.remove(&s.handle);
        }
    }
}
