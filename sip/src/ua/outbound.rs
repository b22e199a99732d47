//! Outbound calls: the user agent's side of the client INVITE sessions of [`super::uac`] —
//! starting them, carrying out their actions, digest retries (§22.2) and forgetting them.

use std::time::Instant;

use rand::RngCore;
use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt;
use rsip::{Method, Response, SipMessage};

use super::mid_call::MidCall;
use super::sdp_answer::wish_of;
use super::uac::{Action, OutRequest, Phase, UacSession};
use super::{EndCause, Owner, SessionEvent, UaError, UaEvent, UserAgent};
use crate::auth::{Challenge, Credentials};
use crate::message;
use crate::transaction::TransactionKey;

impl<R: RngCore> UserAgent<R> {
    /// Starts a call to `number` at the configured domain, offering `sdp`.
    pub fn invite(
        &mut self,
        now: Instant,
        handle: u64,
        number: &str,
        sdp: &str,
    ) -> Result<String, UaError> {
        if self.handles.contains_key(&handle) {
            return Err(UaError::DuplicateHandle(handle));
        }
        if number.is_empty()
            || !number
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+*#.-_".contains(&b))
        {
            return Err(UaError::InvalidNumber(number.to_owned()));
        }
        let call_id = message::new_call_id(&mut self.rng, &self.cfg.local.ip().to_string());
        let tag = message::new_tag(&mut self.rng);
        let uri = format!("sip:{number}@{}", self.cfg.domain);
        let from_uri = format!("sip:{}@{}", self.cfg.username, self.cfg.domain);
        let from = match &self.cfg.display_name {
            Some(d) => format!("\"{d}\" <{from_uri}>;tag={tag}"),
            None => format!("<{from_uri}>;tag={tag}"),
        };
        let out = OutRequest {
            method: "INVITE",
            uri: uri.clone(),
            from,
            to: format!("<{uri}>"),
            call_id: call_id.clone(),
            cseq: 1,
            routes: Vec::new(),
        };
        let invite = self
            .build(&out, self.cfg.transport, &[], Some(sdp))
            .map_err(|e| UaError::Build(e.to_string()))?;
        let session = UacSession {
            handle,
            invite: invite.clone(),
            local_sdp: sdp.to_owned(),
            phase: Phase::Calling,
            auth_tried: false,
            hangup_pending: false,
            cancel_deadline: None,
            reported_end: false,
            ack: None,
            display: self.cfg.display_name.clone(),
            mid: MidCall::new(Some(sdp.to_owned()), None, wish_of(sdp)),
        };
        self.sessions.insert(call_id.clone(), session);
        self.handles.insert(handle, call_id.clone());
        self.send_outbound(now, invite, &call_id);
        tracing::info!(handle, sip_call_id = %call_id, "INVITE sent");
        Ok(call_id)
    }

    fn send_outbound(&mut self, now: Instant, req: rsip::Request, call_id: &str) {
        let (proxy, transport) = (self.cfg.proxy, self.cfg.transport);
        self.start_client_tx(now, req, Owner::Call(call_id.to_owned()), proxy, transport);
    }

    /// Destroys the INVITE transactions of sessions whose CANCEL got no final response for the
    /// INVITE within 64*T1 (§9.1); the application was told of the end at the hangup.
    pub(super) fn expire_cancels(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.cancel_expired_at().is_some_and(|t| t <= now))
            .map(|(c, _)| c.clone())
            .collect();
        for call_id in expired {
            if let Some(s) = self.sessions.get_mut(&call_id) {
                tracing::debug!(sip_call_id = %call_id, "no final response after CANCEL; giving up");
                s.phase = Phase::Done;
                if let Ok(key) = TransactionKey::for_request(&s.invite, false) {
                    self.txs.remove(&key);
                }
            }
            self.forget_if_done(&call_id);
        }
    }

    /// A final or provisional response from one of an outbound session's client transactions.
    pub(super) fn outbound_response(
        &mut self,
        now: Instant,
        call_id: &str,
        is_invite: bool,
        resp: Response,
    ) {
        let Some(session) = self.sessions.get_mut(call_id) else {
            return;
        };
        if is_invite {
            let answered = (resp.status_code.code() / 100 == 2).then(|| resp.clone());
            let actions = session.on_invite_response(resp);
            self.apply(now, call_id, actions);
            if let Some(ok) = answered {
                self.start_outbound_timer(now, call_id, &ok);
            }
        } else if message::cseq(&resp).is_ok_and(|(_, m)| m == Method::Bye)
            && resp.status_code.code() >= 200
        {
            session.on_bye_done();
            self.forget_if_done(call_id);
        }
    }

    /// One of an outbound session's client transactions timed out or failed (`code` 408/503).
    pub(super) fn outbound_failure(
        &mut self,
        now: Instant,
        call_id: &str,
        is_invite: bool,
        code: u16,
    ) {
        let Some(session) = self.sessions.get_mut(call_id) else {
            return;
        };
        if is_invite {
            let actions = session.on_invite_failure(code);
            self.apply(now, call_id, actions);
        } else if matches!(session.phase, Phase::Terminating) {
            session.on_bye_done();
        }
        self.forget_if_done(call_id);
    }

    pub(super) fn apply(&mut self, now: Instant, call_id: &str, actions: Vec<Action>) {
        let (proxy, transport) = (self.cfg.proxy, self.cfg.transport);
        for action in actions {
            match action {
                Action::Report(event) => {
                    if let Some(s) = self.sessions.get(call_id) {
                        self.events.push_back(UaEvent::Session {
                            handle: s.handle,
                            event,
                        });
                    }
                }
                Action::SendCancel(cancel) => {
                    if let Some(s) = self.sessions.get_mut(call_id) {
                        s.cancel_deadline = Some(now + self.cfg.timers.transaction_timeout());
                    }
                    self.send_outbound(now, cancel, call_id)
                }
                Action::SendAck(ack) => match self.build(&ack, transport, &[], None) {
                    Ok(req) => {
                        if let Some(s) = self.sessions.get_mut(call_id) {
                            s.ack = Some(req.clone());
                        }
                        self.queue(proxy, transport, SipMessage::Request(req))
                    }
                    Err(e) => tracing::warn!(error = %e, "could not build ACK"),
                },
                Action::ResendAck => {
                    if let Some(ack) = self.sessions.get(call_id).and_then(|s| s.ack.clone()) {
                        self.queue(proxy, transport, SipMessage::Request(ack));
                    }
                }
                Action::SendInDialog(out) => match self.build(&out, transport, &[], None) {
                    Ok(req) => self.send_outbound(now, req, call_id),
                    Err(e) => tracing::warn!(error = %e, "could not build in-dialog request"),
                },
                Action::RetryWithAuth(challenge) => self.retry_with_auth(now, call_id, &challenge),
            }
        }
        self.forget_if_done(call_id);
    }

    fn retry_with_auth(&mut self, now: Instant, call_id: &str, resp: &Response) {
        let proxy = resp.status_code.code() == 407;
        let value = resp.headers.iter().find_map(|h| match (h, proxy) {
            (rsip::Header::WwwAuthenticate(v), false) => Some(v.value().to_owned()),
            (rsip::Header::ProxyAuthenticate(v), true) => Some(v.value().to_owned()),
            _ => None,
        });
        let challenge = value.as_deref().map(Challenge::parse);
        let Some(Ok(challenge)) = challenge else {
            tracing::warn!(sip_call_id = call_id, "401/407 without a usable challenge");
            self.end_session(call_id, EndCause::from_code(resp.status_code.code()));
            return;
        };
        let Some(session) = self.sessions.get(call_id) else {
            return;
        };
        let old = session.invite.clone();
        let sdp = session.local_sdp.clone();
        let (cseq, _) = message::cseq(&old).unwrap_or((1, Method::Invite));
        let out = OutRequest {
            method: "INVITE",
            uri: old.uri.to_string(),
            from: old
                .from_header()
                .map(|h| h.value().to_owned())
                .unwrap_or_default(),
            to: old
                .to_header()
                .map(|h| h.value().to_owned())
                .unwrap_or_default(),
            call_id: call_id.to_owned(),
            cseq: cseq + 1,
            routes: Vec::new(),
        };
        let creds = Credentials {
            username: self.cfg.username.clone(),
            password: self.cfg.password.clone(),
        };
        let mut cnonce = [0u8; 8];
        self.rng.fill_bytes(&mut cnonce);
        let cnonce = hex::encode(cnonce);
        let header_value =
            crate::auth::authorize(&challenge, &creds, "INVITE", &out.uri, &cnonce, 1);
        let name = if proxy {
            "Proxy-Authorization"
        } else {
            "Authorization"
        };
        let transport = self.cfg.transport;
        match self.build(&out, transport, &[(name, header_value)], Some(&sdp)) {
            Ok(invite) => {
                if let Some(s) = self.sessions.get_mut(call_id) {
                    s.invite = invite.clone();
                    s.phase = Phase::Calling;
                }
                tracing::debug!(sip_call_id = call_id, "INVITE retried with credentials");
                self.send_outbound(now, invite, call_id);
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not build the authenticated INVITE");
                self.end_session(call_id, EndCause::from_code(resp.status_code.code()));
            }
        }
    }

    fn end_session(&mut self, call_id: &str, cause: EndCause) {
        if let Some(s) = self.sessions.get_mut(call_id) {
            s.phase = Phase::Done;
            if !s.reported_end {
                s.reported_end = true;
                self.events.push_back(UaEvent::Session {
                    handle: s.handle,
                    event: SessionEvent::Ended(cause),
                });
            }
        }
        self.forget_if_done(call_id);
    }

    pub(super) fn forget_if_done(&mut self, call_id: &str) {
        if self.sessions.get(call_id).is_some_and(UacSession::is_done)
            && let Some(s) = self.sessions.remove(call_id)
        {
            self.handles.remove(&s.handle);
        }
    }
}
