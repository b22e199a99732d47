//! The gateway's SIP user agent core, sans-I/O: one value serves every call over one listening
//! address. It owns the transactions (RFC 3261 §17) and the client INVITE sessions, routes each
//! received message to its transaction or session, and answers out-of-dialog OPTIONS.
//!
//! Shape (STYLE.md §2): `handle_*` with the time, then drain `poll_transmit`, `poll_event`, and sleep
//! until `poll_timeout`.

mod uac;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use rand::RngCore;
use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt;
use rsip::{Method, Request, Response, SipMessage};

use crate::auth::{Challenge, Credentials};
use crate::message;
use crate::transaction::{
    AnyTransaction, ClientInvite, ClientNonInvite, Role, ServerInvite, ServerNonInvite,
    TimerConfig, TransactionKey, TxInput, TxOutput,
};
use uac::{Action, OutRequest, Phase, UacSession};
pub use uac::{EndCause, SessionEvent};

/// A transport toward a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Datagrams; transactions retransmit.
    Udp,
    /// A stream; no retransmissions.
    Tcp,
}

impl Transport {
    fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
    fn reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }
}

/// Static settings of the user agent.
#[derive(Debug, Clone)]
pub struct UaConfig {
    /// The address we listen on (Via sent-by and Contact).
    pub local: SocketAddr,
    /// Transport toward the proxy.
    pub transport: Transport,
    /// Where every request goes (Asterisk).
    pub proxy: SocketAddr,
    /// Request-URI host for dialled numbers.
    pub domain: String,
    /// From user, and digest username.
    pub username: String,
    /// Digest password.
    pub password: String,
    /// From display name.
    pub display_name: Option<String>,
    /// User-Agent header.
    pub user_agent: String,
    /// RFC 3261 timers.
    pub timers: TimerConfig,
}

/// One datagram (or stream message) to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub dest: SocketAddr,
    /// Transport to use.
    pub transport: Transport,
    /// The serialized message.
    pub data: Bytes,
}

/// An event for the application, about the session with this handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaEvent {
    /// The application's handle given to [`UserAgent::invite`].
    pub handle: u64,
    /// What happened.
    pub event: SessionEvent,
}

/// Errors of user agent commands.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UaError {
    /// The handle is already in use.
    #[error("call handle {0} is already in use")]
    DuplicateHandle(u64),
    /// The dialled user part contains characters that cannot go in a SIP URI.
    #[error("invalid number {0:?}")]
    InvalidNumber(String),
    /// The request could not be built.
    #[error("could not build the request: {0}")]
    Build(String),
}

struct TxEntry {
    /// Any of the four §17 machines; its key tells which.
    tx: Box<dyn AnyTransaction>,
    /// Where this transaction's messages go.
    dest: SocketAddr,
    transport: Transport,
    /// The Call-ID of the session this transaction belongs to, if any.
    call_id: Option<String>,
    /// Server INVITE transactions: the 2xx we sent. The Accepted state absorbs a retransmitted
    /// INVITE, so the TU sends the 2xx again itself (§13.3.1.4, RFC 6026 §7.1).
    answer: Option<Response>,
}

/// The user agent core.
pub struct UserAgent<R: RngCore> {
    cfg: UaConfig,
    rng: R,
    txs: HashMap<TransactionKey, TxEntry>,
    sessions: HashMap<String, UacSession>,
    handles: HashMap<u64, String>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<UaEvent>,
}

impl<R: RngCore> UserAgent<R> {
    /// A user agent with its settings and a random source (seeded in tests).
    pub fn new(cfg: UaConfig, rng: R) -> Self {
        Self {
            cfg,
            rng,
            txs: HashMap::new(),
            sessions: HashMap::new(),
            handles: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Number of sessions still held (including ones finishing their SIP exchange).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Number of live transactions.
    pub fn transaction_count(&self) -> usize {
        self.txs.len()
    }

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
            .build(&out, None, Some(sdp))
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
        };
        self.sessions.insert(call_id.clone(), session);
        self.handles.insert(handle, call_id.clone());
        self.start_client_tx(now, invite, Some(call_id.clone()));
        tracing::info!(handle, sip_call_id = %call_id, "INVITE sent");
        Ok(call_id)
    }

    /// The application hangs up the call with this handle (CANCEL or BYE as the state requires).
    pub fn hangup(&mut self, now: Instant, handle: u64) {
        let Some(call_id) = self.handles.get(&handle).cloned() else {
            return;
        };
        let actions = match self.sessions.get_mut(&call_id) {
            Some(s) => s.hangup(),
            None => return,
        };
        self.apply(now, &call_id, actions);
    }

    /// Feeds one received message (a datagram, or one framed stream message).
    pub fn handle_message(
        &mut self,
        now: Instant,
        from: SocketAddr,
        transport: Transport,
        data: &[u8],
    ) {
        let msg = match message::parse(data) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%from, error = %e, "unparseable SIP message dropped");
                // Without a parsed Via there is nowhere safe to answer (RFC 3261 §18.2.2), so an
                // unparseable message is dropped; RFC 4475 handling refines this later.
                return;
            }
        };
        match msg {
            SipMessage::Response(resp) => self.on_response(now, resp),
            SipMessage::Request(req) => self.on_request(now, from, transport, req),
        }
    }

    /// Tells the core that time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<TransactionKey> = self
            .txs
            .iter()
            .filter(|(_, e)| e.tx.poll_timeout().is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            if let Some(entry) = self.txs.get_mut(&key) {
                entry.tx.handle_timeout(now);
            }
            self.drain_tx(now, &key);
        }
        self.expire_cancels(now);
    }

    /// Destroys the INVITE transactions of sessions whose CANCEL got no final response for the
    /// INVITE within 64*T1 (§9.1); the application was told of the end at the hangup.
    fn expire_cancels(&mut self, now: Instant) {
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

    /// The next message to put on the wire.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<UaEvent> {
        self.events.pop_front()
    }

    /// The earliest deadline of any transaction.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let txs = self.txs.values().filter_map(|e| e.tx.poll_timeout());
        let cancels = self
            .sessions
            .values()
            .filter_map(UacSession::cancel_expired_at);
        txs.chain(cancels).min()
    }

    fn on_response(&mut self, now: Instant, resp: Response) {
        let key = match TransactionKey::for_response(&resp) {
            Ok(k) => k,
            Err(e) => {
                tracing::debug!(error = %e, "response without a usable Via dropped");
                return;
            }
        };
        if self.txs.contains_key(&key) {
            self.feed(now, &key, TxInput::Message(SipMessage::Response(resp)));
            return;
        }
        // No transaction: a retransmitted 2xx to an INVITE whose transaction has ended.
        let is_invite_2xx = resp.status_code.code() / 100 == 2
            && message::cseq(&resp).is_ok_and(|(_, m)| m == Method::Invite);
        let call_id = message::call_id(&resp).map(str::to_owned);
        if let (true, Ok(call_id)) = (is_invite_2xx, call_id)
            && let Some(s) = self.sessions.get_mut(&call_id)
        {
            let actions = s.on_invite_response(resp);
            self.apply(now, &call_id, actions);
            return;
        }
        tracing::debug!("stray response dropped");
    }

    fn on_request(&mut self, now: Instant, from: SocketAddr, transport: Transport, req: Request) {
        let key = match TransactionKey::for_request(&req, true) {
            Ok(k) => k,
            Err(e) => {
                tracing::debug!(error = %e, "request without a usable Via");
                let resp = message::response_for(&req, 400, Some("Bad Via"), None);
                self.queue(from, transport, SipMessage::Response(resp));
                return;
            }
        };
        if let Some(entry) = self.txs.get(&key) {
            // A retransmission, or the ACK for a non-2xx final response.
            let answer = entry
                .answer
                .clone()
                .filter(|_| req.method == Method::Invite);
            self.feed(now, &key, TxInput::Message(SipMessage::Request(req)));
            if let Some(answer) = answer {
                self.feed(now, &key, TxInput::FromTu(answer));
            }
            return;
        }
        if req.method == Method::Ack {
            // ACK for a 2xx we sent: nothing to do (we never send 2xx to INVITE yet except re-INVITE).
            return;
        }
        let call_id = message::call_id(&req).ok().map(str::to_owned);
        let reliable = transport.reliable();
        let timers = self.cfg.timers;
        let tx: Box<dyn AnyTransaction> = if req.method == Method::Invite {
            Box::new(ServerInvite::new(now, req.clone(), reliable, timers))
        } else {
            Box::new(ServerNonInvite::new(now, req.clone(), reliable, timers))
        };
        self.txs.insert(
            key.clone(),
            TxEntry {
                tx,
                dest: from,
                transport,
                call_id: call_id.clone(),
                answer: None,
            },
        );
        let session = call_id.as_ref().and_then(|c| self.sessions.get(c));
        let known = session.is_some_and(|s| s.accepts_reinvite(&req));
        // Our own BYE may be in flight (Terminating): the peer's BYE is still in the dialog.
        let bye_in_dialog = session.is_some_and(|s| s.accepts_bye(&req));
        // §8.2.6.2: a response to a request without a To-tag gets ours (in-dialog requests
        // keep theirs: `response_for` never replaces a tag).
        let tag = message::new_tag(&mut self.rng);
        let response = match req.method {
            Method::Options => {
                let mut r = message::response_for(&req, 200, None, Some(&tag));
                r.headers.push(allow());
                r.headers
                    .push(rsip::Header::Accept(rsip::headers::Accept::new(
                        "application/sdp",
                    )));
                r
            }
            Method::Bye if bye_in_dialog => {
                let call_id = call_id.clone().unwrap_or_default();
                let resp = message::response_for(&req, 200, None, Some(&tag));
                if let Some(s) = self.sessions.get_mut(&call_id) {
                    let actions = s.on_remote_bye();
                    self.apply(now, &call_id, actions);
                }
                resp
            }
            Method::Invite if known => {
                // A re-INVITE: answer from our own state (our offer is still our view of the media).
                let call_id = call_id.clone().unwrap_or_default();
                let sdp = self
                    .sessions
                    .get(&call_id)
                    .map(|s| s.local_sdp.clone())
                    .unwrap_or_default();
                let mut r = message::response_for(&req, 200, None, Some(&tag));
                let contact = self.contact();
                r.headers
                    .push(rsip::Header::Contact(rsip::headers::Contact::new(contact)));
                r.headers
                    .push(rsip::Header::ContentType(rsip::headers::ContentType::new(
                        "application/sdp",
                    )));
                set_body(&mut r.headers, &mut r.body, sdp.into_bytes());
                r
            }
            Method::Cancel => message::response_for(&req, 481, None, Some(&tag)),
            // §15.1.2: a BYE outside any dialog of ours; §12.2.2: an in-dialog INVITE too.
            Method::Bye => message::response_for(&req, 481, None, Some(&tag)),
            Method::Invite if message::to_tag(&req).ok().flatten().is_some() => {
                message::response_for(&req, 481, None, Some(&tag))
            }
            Method::Invite => {
                // Inbound calls come with a later issue; refuse cleanly for now.
                message::response_for(&req, 480, Some("Temporarily Unavailable"), Some(&tag))
            }
            _ => {
                // §8.2.1: a 405 lists what we do allow.
                let mut r = message::response_for(&req, 405, None, Some(&tag));
                r.headers.push(allow());
                r
            }
        };
        if req.method == Method::Invite
            && response.status_code.code() / 100 == 2
            && let Some(entry) = self.txs.get_mut(&key)
        {
            entry.answer = Some(response.clone());
        }
        self.feed(now, &key, TxInput::FromTu(response));
    }

    fn contact(&self) -> String {
        let t = match self.cfg.transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
        };
        format!("<sip:{}@{}{t}>", self.cfg.username, self.cfg.local)
    }

    /// Turns a request spec into a full request with Via, Contact and the common headers.
    fn build(
        &mut self,
        out: &OutRequest,
        extra: Option<(&str, String)>,
        sdp: Option<&str>,
    ) -> Result<Request, crate::Error> {
        let branch = message::new_branch(&mut self.rng);
        let mut text = format!(
            "{} {} SIP/2.0\r\nVia: SIP/2.0/{} {};branch={branch};rport\r\nMax-Forwards: 70\r\n",
            out.method,
            out.uri,
            self.cfg.transport.via_name(),
            self.cfg.local
        );
        for r in &out.routes {
            text.push_str(&format!("Route: {r}\r\n"));
        }
        text.push_str(&format!(
            "From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} {}\r\n",
            out.from, out.to, out.call_id, out.cseq, out.method
        ));
        if out.method == "INVITE" {
            text.push_str(&format!(
                "Contact: {}\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n",
                self.contact()
            ));
        }
        text.push_str(&format!("User-Agent: {}\r\n", self.cfg.user_agent));
        if let Some((name, value)) = extra {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        match sdp {
            Some(body) => text.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => text.push_str("Content-Length: 0\r\n\r\n"),
        }
        match message::parse(text.as_bytes())? {
            SipMessage::Request(r) => Ok(r),
            SipMessage::Response(_) => Err(crate::Error::Parse("built a response".into())),
        }
    }

    fn start_client_tx(&mut self, now: Instant, req: Request, call_id: Option<String>) {
        let reliable = self.cfg.transport.reliable();
        let timers = self.cfg.timers;
        let key = match TransactionKey::for_request(&req, false) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "cannot key a request we built");
                return;
            }
        };
        let tx: Box<dyn AnyTransaction> = if req.method == Method::Invite {
            Box::new(ClientInvite::new(now, req, reliable, timers))
        } else {
            Box::new(ClientNonInvite::new(now, req, reliable, timers))
        };
        self.txs.insert(
            key.clone(),
            TxEntry {
                tx,
                dest: self.cfg.proxy,
                transport: self.cfg.transport,
                call_id,
                answer: None,
            },
        );
        self.drain_tx(now, &key);
    }

    fn feed(&mut self, now: Instant, key: &TransactionKey, input: TxInput) {
        if let Some(entry) = self.txs.get_mut(key) {
            entry.tx.handle_input(now, input);
        }
        self.drain_tx(now, key);
    }

    /// Carries out everything a transaction produced. Its messages go on the wire before the
    /// TU acts on its results, so the ACK of a 401 precedes the retried INVITE as in the
    /// Asterisk ladders (§17.1.1.3 hands the ACK to the transport at once).
    fn drain_tx(&mut self, now: Instant, key: &TransactionKey) {
        let Some(entry) = self.txs.get_mut(key) else {
            return;
        };
        let outputs: Vec<TxOutput> = std::iter::from_fn(|| entry.tx.poll_output()).collect();
        let (dest, transport, call_id) = (entry.dest, entry.transport, entry.call_id.clone());
        let tx_key = entry.tx.key();
        let is_client = tx_key.role == Role::Client;
        let is_invite = is_client && tx_key.method == Method::Invite;
        let (transmits, results): (Vec<TxOutput>, Vec<TxOutput>) = outputs
            .into_iter()
            .partition(|o| matches!(o, TxOutput::Transmit(_)));
        for output in transmits.into_iter().chain(results) {
            match output {
                TxOutput::Transmit(msg) => self.queue(dest, transport, msg),
                TxOutput::ToTu(SipMessage::Response(resp)) if is_client => {
                    if let Some(call_id) = &call_id {
                        self.client_response(now, call_id, is_invite, resp);
                    }
                }
                TxOutput::ToTu(_) => {}
                TxOutput::Timeout | TxOutput::TransportError if is_client => {
                    if let Some(call_id) = &call_id {
                        let code = if matches!(output, TxOutput::Timeout) {
                            408
                        } else {
                            503
                        };
                        self.client_failure(now, call_id, is_invite, code);
                    }
                }
                TxOutput::Timeout | TxOutput::TransportError => {}
                TxOutput::Terminated => {
                    self.txs.remove(key);
                }
            }
        }
    }

    fn client_response(&mut self, now: Instant, call_id: &str, is_invite: bool, resp: Response) {
        let Some(session) = self.sessions.get_mut(call_id) else {
            return;
        };
        if is_invite {
            let actions = session.on_invite_response(resp);
            self.apply(now, call_id, actions);
        } else if message::cseq(&resp).is_ok_and(|(_, m)| m == Method::Bye)
            && resp.status_code.code() >= 200
        {
            session.on_bye_done();
            self.forget_if_done(call_id);
        }
    }

    fn client_failure(&mut self, now: Instant, call_id: &str, is_invite: bool, code: u16) {
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

    fn apply(&mut self, now: Instant, call_id: &str, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Report(event) => {
                    if let Some(s) = self.sessions.get(call_id) {
                        self.events.push_back(UaEvent {
                            handle: s.handle,
                            event,
                        });
                    }
                }
                Action::SendCancel(cancel) => {
                    if let Some(s) = self.sessions.get_mut(call_id) {
                        s.cancel_deadline = Some(now + self.cfg.timers.transaction_timeout());
                    }
                    self.start_client_tx(now, cancel, Some(call_id.to_owned()))
                }
                Action::SendAck(ack) => match self.build(&ack, None, None) {
                    Ok(req) => {
                        if let Some(s) = self.sessions.get_mut(call_id) {
                            s.ack = Some(req.clone());
                        }
                        self.queue(self.cfg.proxy, self.cfg.transport, SipMessage::Request(req))
                    }
                    Err(e) => tracing::warn!(error = %e, "could not build ACK"),
                },
                Action::ResendAck => {
                    if let Some(ack) = self.sessions.get(call_id).and_then(|s| s.ack.clone()) {
                        self.queue(self.cfg.proxy, self.cfg.transport, SipMessage::Request(ack));
                    }
                }
                Action::SendInDialog(out) => match self.build(&out, None, None) {
                    Ok(req) => self.start_client_tx(now, req, Some(call_id.to_owned())),
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
        match self.build(&out, Some((name, header_value)), Some(&sdp)) {
            Ok(invite) => {
                if let Some(s) = self.sessions.get_mut(call_id) {
                    s.invite = invite.clone();
                    s.phase = Phase::Calling;
                }
                tracing::debug!(sip_call_id = call_id, "INVITE retried with credentials");
                self.start_client_tx(now, invite, Some(call_id.to_owned()));
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
                self.events.push_back(UaEvent {
                    handle: s.handle,
                    event: SessionEvent::Ended(cause),
                });
            }
        }
        self.forget_if_done(call_id);
    }

    fn forget_if_done(&mut self, call_id: &str) {
        if self.sessions.get(call_id).is_some_and(UacSession::is_done) {
            // Keep routing the INVITE's retransmitted 2xx? Only while its transaction lives.
            if let Some(s) = self.sessions.remove(call_id) {
                self.handles.remove(&s.handle);
            }
        }
    }

    fn queue(&mut self, dest: SocketAddr, transport: Transport, msg: SipMessage) {
        let data = message::to_bytes(&msg);
        tracing::trace!(%dest, bytes = data.len(), "sip out");
        self.transmits.push_back(Transmit {
            dest,
            transport,
            data,
        });
    }
}

/// The methods we handle (§20.5), for OPTIONS and 405 responses.
fn allow() -> rsip::Header {
    rsip::Header::Allow(rsip::headers::Allow::new(
        "INVITE, ACK, CANCEL, BYE, OPTIONS",
    ))
}

fn set_body(headers: &mut rsip::Headers, body: &mut Vec<u8>, new: Vec<u8>) {
    headers.retain(|h| !matches!(h, rsip::Header::ContentLength(_)));
    headers.push(rsip::Header::ContentLength(
        rsip::headers::ContentLength::new(new.len().to_string()),
    ));
    *body = new;
}
