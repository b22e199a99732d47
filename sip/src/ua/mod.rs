//! The gateway's SIP user agent core, sans-I/O: one value serves every call and every user's
//! registration over one listening address. It owns the transactions (RFC 3261 §17), the
//! client INVITE sessions (outbound calls), the server INVITE sessions (inbound calls), the
//! registrations (§10) and the OPTIONS keepalive, routes each received message to its
//! transaction or session, and answers out-of-dialog OPTIONS. Confirmed calls take mid-call
//! changes both ways: re-INVITE, UPDATE, INFO and RFC 4028 session refreshes.
//!
//! Shape (STYLE.md §2): `handle_*` with the time, then drain `poll_transmit`, `poll_event`, and sleep
//! until `poll_timeout`.

mod build;
mod in_dialog;
mod inbound;
mod keepalive;
mod mid_call;
mod outbound;
mod refuse;
mod register;
mod reinvite;
mod sdp_answer;
mod session_timer;
mod uac;
mod uas;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use rand::RngCore;
use rsip::headers::UntypedHeader;
use rsip::{Method, Request, Response, SipMessage};

use crate::message;
use crate::registration::Registration;
pub use crate::registration::{RegisterParams, RegistrationState};
use crate::transaction::{
    AnyTransaction, ClientInvite, ClientNonInvite, Role, ServerInvite, ServerNonInvite,
    TimerConfig, TransactionKey, TxInput, TxOutput,
};
use build::allow;
use uac::UacSession;
pub use uac::{EndCause, SessionEvent};
use uas::UasSession;

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

/// Requests larger than this go over TCP even toward a UDP proxy (RFC 3261 §18.1.1: within
/// 200 bytes of a 1500-byte path MTU).
pub const UDP_SIZE_LIMIT: usize = 1300;

/// RFC 3261 §18.1.1: a request over [`UDP_SIZE_LIMIT`] meant for UDP goes over TCP, its top
/// Via saying so; a request whose top Via already says TCP (a CANCEL or ACK copying the Via
/// of such an INVITE) follows it, so a transaction never changes transport.
fn fit_transport(mut req: Request, transport: Transport) -> (Request, Transport) {
    if transport != Transport::Udp {
        return (req, transport);
    }
    let via_says_tcp = message::top_via(&req).is_ok_and(|v| v.transport == rsip::Transport::Tcp);
    if via_says_tcp {
        return (req, Transport::Tcp);
    }
    if message::to_bytes(&SipMessage::Request(req.clone())).len() <= UDP_SIZE_LIMIT {
        return (req, transport);
    }
    for header in req.headers.iter_mut() {
        if let rsip::Header::Via(via) = header {
            let value = via.value().replacen("SIP/2.0/UDP", "SIP/2.0/TCP", 1);
            *via = rsip::headers::Via::new(value);
            break;
        }
    }
    (req, Transport::Tcp)
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

/// An event for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UaEvent {
    /// Events of a session (outbound or inbound).
    Session {
        /// The session's handle: given to [`UserAgent::invite`], or from [`IncomingCall`].
        handle: u64,
        /// What happened.
        event: SessionEvent,
    },
    /// A new out-of-dialog INVITE. The UA has created the server transaction (100 Trying goes
    /// out by itself); the application answers with ring/answer/reject.
    Incoming(IncomingCall),
    /// Registration state of a user (per [`UserAgent::register`] key).
    Registration {
        /// The key given to [`UserAgent::register`].
        user: String,
        /// The new state.
        state: RegistrationState,
    },
    /// Result of an OPTIONS keepalive to the proxy.
    ProxyStatus {
        /// Any response arrived.
        reachable: bool,
        /// Its status code.
        code: Option<u16>,
    },
}

/// A call offered to us: the INVITE's identity, for the application to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCall {
    /// The handle the UA assigned (at or above [`INBOUND_HANDLE_BASE`]).
    pub handle: u64,
    /// The INVITE's Call-ID.
    pub sip_call_id: String,
    /// User part of the From URI, unescaped (e.g. "+15551234").
    pub from_user: String,
    /// From display name, unquoted.
    pub from_display: Option<String>,
    /// User part of the Request-URI (the registered contact's user, or the trunk user); the
    /// To URI's when the Request-URI has none.
    pub to_user: String,
    /// Where the INVITE came from (for trunk-mode source checks).
    pub source: SocketAddr,
    /// The SDP offer; `None` for a late offer.
    pub sdp: Option<String>,
    /// The INVITE's extension headers (`X-...`), name as written and trimmed value.
    pub extra_headers: Vec<(String, String)>,
}

/// Handles of inbound calls start here, apart from the application's outbound handles.
pub const INBOUND_HANDLE_BASE: u64 = 1 << 62;

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
    /// No call has this handle (any more).
    #[error("no call with handle {0}")]
    UnknownHandle(u64),
    /// The inbound call is no longer waiting for an answer.
    #[error("call {0} cannot be answered in its state")]
    NotOffered(u64),
    /// The call has no confirmed dialog (not answered yet, or ending).
    #[error("call {0} is not connected")]
    NotConfirmed(u64),
    /// Not a DTMF digit (0-9, *, #, A-D).
    #[error("{0:?} is not a DTMF digit")]
    InvalidDigit(char),
}

/// Who a transaction's results go to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    /// No one: answers that need no follow-up (OPTIONS, 405, 481, ...).
    Nobody,
    /// The session (outbound or inbound) with this Call-ID.
    Call(String),
    /// A mid-call request of ours (re-INVITE, UPDATE, INFO) in the dialog with this Call-ID.
    InDialog(String),
    /// The registration of this user, for its REGISTER with this CSeq.
    Registration { user: String, cseq: u32 },
    /// An OPTIONS keepalive to the proxy.
    Keepalive,
}

struct TxEntry {
    /// Any of the four §17 machines; its key tells which.
    tx: Box<dyn AnyTransaction>,
    /// Where this transaction's messages go.
    dest: SocketAddr,
    transport: Transport,
    /// Who hears of its results.
    owner: Owner,
    /// Server INVITE transactions: the 2xx we sent. The Accepted state absorbs a retransmitted
    /// INVITE, so the TU sends the 2xx again itself (§13.3.1.4, RFC 6026 §7.1).
    answer: Option<Response>,
}

/// The user agent core.
pub struct UserAgent<R: RngCore> {
    cfg: UaConfig,
    rng: R,
    txs: HashMap<TransactionKey, TxEntry>,
    /// Outbound sessions by Call-ID.
    sessions: HashMap<String, UacSession>,
    /// Inbound sessions by Call-ID.
    inbound: HashMap<String, UasSession>,
    handles: HashMap<u64, String>,
    registrations: HashMap<String, Registration>,
    next_inbound: u64,
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
            inbound: HashMap::new(),
            handles: HashMap::new(),
            registrations: HashMap::new(),
            next_inbound: INBOUND_HANDLE_BASE,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Number of sessions still held, outbound and inbound (including ones finishing their
    /// SIP exchange).
    pub fn session_count(&self) -> usize {
        self.sessions.len() + self.inbound.len()
    }

    /// Number of live transactions.
    pub fn transaction_count(&self) -> usize {
        self.txs.len()
    }

    /// Number of users with a registration (registered, registering, retrying, unregistering).
    pub fn registration_count(&self) -> usize {
        self.registrations.len()
    }

    /// The application hangs up the call with this handle: CANCEL or BYE for an outbound
    /// call; 480 or BYE for an inbound one.
    pub fn hangup(&mut self, now: Instant, handle: u64) {
        let Some(call_id) = self.handles.get(&handle).cloned() else {
            return;
        };
        if self.inbound.contains_key(&call_id) {
            self.hangup_inbound(now, &call_id);
            return;
        }
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
                // RFC 3261 §8.2 / RFC 4475 §3: a request whose Via can still be read is answered
                // (400, or 416/501/505), statelessly; anything else is dropped.
                let tag = message::new_tag(&mut self.rng);
                match crate::salvage::reply(data, &tag) {
                    Some(s) => {
                        tracing::debug!(%from, error = %e, code = s.code, "unparseable SIP request refused");
                        self.transmits.push_back(Transmit {
                            dest: from,
                            transport,
                            data: s.response,
                        });
                    }
                    None => tracing::debug!(%from, error = %e, "unparseable SIP message dropped"),
                }
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
        self.inbound_timeouts(now);
        self.mid_call_timeouts(now);
        self.registration_timeouts(now);
    }

    /// The next message to put on the wire.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<UaEvent> {
        self.events.pop_front()
    }

    /// The earliest deadline of any transaction, session or registration.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let txs = self.txs.values().filter_map(|e| e.tx.poll_timeout());
        let cancels = self
            .sessions
            .values()
            .filter_map(UacSession::cancel_expired_at);
        let inbound = self.inbound.values().filter_map(UasSession::deadline);
        let registrations = self
            .registrations
            .values()
            .filter_map(Registration::poll_timeout);
        txs.chain(cancels)
            .chain(inbound)
            .chain(registrations)
            .chain(self.mid_call_deadline())
            .min()
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
        if let (true, Ok(call_id)) = (&is_invite_2xx, &call_id)
            && self.resend_reinvite_ack(call_id, &resp)
        {
            return;
        }
        if let (true, Ok(call_id)) = (is_invite_2xx, call_id)
            && let Some(s) = self.sessions.get_mut(&call_id)
            && message::cseq(&resp).ok().map(|c| c.0) == message::cseq(&s.invite).ok().map(|c| c.0)
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
        let existing = key
            .lookup_keys(&req)
            .into_iter()
            .find(|k| self.txs.get(k).is_some_and(|e| e.tx.matches(&req)));
        if let Some(existing) = existing {
            // A retransmission, or the ACK for a non-2xx final response.
            let answer = self
                .txs
                .get(&existing)
                .and_then(|e| e.answer.clone())
                .filter(|_| req.method == Method::Invite);
            self.feed(now, &existing, TxInput::Message(SipMessage::Request(req)));
            if let Some(answer) = answer {
                self.feed(now, &existing, TxInput::FromTu(answer));
            }
            return;
        }
        if req.method == Method::Ack {
            // The ACK for a 2xx is a transaction of its own (§17.1.1.3).
            self.on_ack(now, &req);
            return;
        }
        let call_id = message::call_id(&req).ok().map(str::to_owned);
        let owner = match &call_id {
            Some(c) if self.sessions.contains_key(c) || self.inbound.contains_key(c) => {
                Owner::Call(c.clone())
            }
            _ => Owner::Nobody,
        };
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
                owner,
                answer: None,
            },
        );
        if let Some((code, header)) = refuse::refusal(&req) {
            let tag = message::new_tag(&mut self.rng);
            let mut resp = message::response_for(&req, code, None, Some(&tag));
            if let Some(h) = header {
                resp.headers.push(h);
            }
            self.feed(now, &key, TxInput::FromTu(resp));
            return;
        }
        let has_to_tag = message::to_tag(&req).ok().flatten().is_some();
        match req.method {
            Method::Invite if !has_to_tag => self.on_new_invite(now, &key, from, transport, req),
            Method::Cancel => self.on_cancel(now, &key, &req),
            _ => {
                let response = self.respond(now, &req, call_id.as_deref().unwrap_or_default());
                if req.method == Method::Invite
                    && response.status_code.code() / 100 == 2
                    && let Some(entry) = self.txs.get_mut(&key)
                {
                    entry.answer = Some(response.clone());
                }
                self.feed(now, &key, TxInput::FromTu(response));
            }
        }
    }

    /// The response to a request that is neither a new INVITE nor a CANCEL: OPTIONS, a BYE or
    /// re-INVITE in one of our dialogs, or a refusal.
    fn respond(&mut self, now: Instant, req: &Request, call_id: &str) -> Response {
        // §8.2.6.2: a response to a request without a To-tag gets ours (in-dialog requests
        // keep theirs: `response_for` never replaces a tag).
        let tag = message::new_tag(&mut self.rng);
        let outbound = self.sessions.get(call_id);
        let inbound = self.inbound.get(call_id);
        match req.method {
            Method::Options => {
                let mut r = message::response_for(req, 200, None, Some(&tag));
                r.headers.push(allow());
                r.headers
                    .push(rsip::Header::Accept(rsip::headers::Accept::new(
                        "application/sdp",
                    )));
                r
            }
            // Our own BYE may be in flight (Terminating): the peer's BYE is still in the dialog.
            Method::Bye if outbound.is_some_and(|s| s.accepts_bye(req)) => {
                let resp = message::response_for(req, 200, None, Some(&tag));
                if let Some(s) = self.sessions.get_mut(call_id) {
                    let actions = s.on_remote_bye();
                    self.apply(now, call_id, actions);
                }
                resp
            }
            Method::Bye if inbound.is_some_and(|s| s.accepts_bye(req)) => {
                self.inbound_remote_bye(call_id);
                message::response_for(req, 200, None, Some(&tag))
            }
            Method::Invite | Method::Update | Method::Info
                if outbound.is_some_and(|s| s.accepts_reinvite(req))
                    || inbound.is_some_and(|s| s.accepts_reinvite(req)) =>
            {
                // Answered from our own state (RFC 3264 §8).
                match self.in_dialog_request(now, req, call_id) {
                    Some(resp) => resp,
                    None => message::response_for(req, 481, None, Some(&tag)),
                }
            }
            // §15.1.2: a BYE outside any dialog of ours; §12.2.2: an in-dialog request too.
            Method::Bye | Method::Invite | Method::Update | Method::Info => {
                message::response_for(req, 481, None, Some(&tag))
            }
            _ => {
                // §8.2.1: a 405 lists what we do allow.
                let mut r = message::response_for(req, 405, None, Some(&tag));
                r.headers.push(allow());
                r
            }
        }
    }

    /// Starts a client transaction for `req` toward `dest`.
    fn start_client_tx(
        &mut self,
        now: Instant,
        req: Request,
        owner: Owner,
        dest: SocketAddr,
        transport: Transport,
    ) {
        let (req, transport) = fit_transport(req, transport);
        let reliable = transport.reliable();
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
                dest,
                transport,
                owner,
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
        let (dest, transport, owner) = (entry.dest, entry.transport, entry.owner.clone());
        let tx_key = entry.tx.key();
        let is_client = tx_key.role == Role::Client;
        let method = tx_key.method;
        let (transmits, results): (Vec<TxOutput>, Vec<TxOutput>) = outputs
            .into_iter()
            .partition(|o| matches!(o, TxOutput::Transmit(_)));
        for output in transmits.into_iter().chain(results) {
            match output {
                TxOutput::Transmit(msg) => self.queue(dest, transport, msg),
                TxOutput::ToTu(SipMessage::Response(resp)) if is_client => {
                    self.client_response(now, &owner, method, resp)
                }
                // The server INVITE transaction in Accepted passes up an ACK that reused the
                // INVITE's branch (RFC 6026 §7.1).
                TxOutput::ToTu(SipMessage::Request(req)) if req.method == Method::Ack => {
                    self.on_ack(now, &req)
                }
                TxOutput::ToTu(_) => {}
                TxOutput::Timeout | TxOutput::TransportError if is_client => {
                    let timeout = matches!(output, TxOutput::Timeout);
                    self.client_failure(now, &owner, method, timeout);
                }
                TxOutput::Timeout | TxOutput::TransportError => {}
                TxOutput::Terminated => {
                    self.txs.remove(key);
                }
            }
        }
    }

    fn client_response(&mut self, now: Instant, owner: &Owner, method: Method, resp: Response) {
        match owner {
            Owner::Call(call_id) if self.inbound.contains_key(call_id) => {
                if resp.status_code.code() >= 200 {
                    self.inbound_bye_done(call_id);
                }
            }
            Owner::Call(call_id) => {
                self.outbound_response(now, call_id, method == Method::Invite, resp)
            }
            Owner::InDialog(call_id) => {
                let code = resp.status_code.code();
                self.in_dialog_response(now, call_id, method, Some(resp), code);
            }
            Owner::Registration { user, .. } => self.registration_response(now, user, &resp),
            Owner::Keepalive => self.keepalive_response(&resp),
            Owner::Nobody => {}
        }
    }

    fn client_failure(&mut self, now: Instant, owner: &Owner, method: Method, timeout: bool) {
        match owner {
            Owner::Call(call_id) if self.inbound.contains_key(call_id) => {
                self.inbound_bye_done(call_id)
            }
            Owner::Call(call_id) => {
                let code = if timeout { 408 } else { 503 };
                self.outbound_failure(now, call_id, method == Method::Invite, code);
            }
            // §12.2.1.2: no answer in the dialog means the dialog is gone.
            Owner::InDialog(call_id) => self.in_dialog_response(now, call_id, method, None, 408),
            Owner::Registration { user, cseq } => {
                let reason = if timeout {
                    "timeout"
                } else {
                    "transport error"
                };
                self.registration_failure(now, user, *cseq, reason);
            }
            Owner::Keepalive => self.keepalive_failure(),
            Owner::Nobody => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::TimerConfig;
    use rand::SeedableRng;

    fn ua(display_name: &str) -> UserAgent<rand_chacha::ChaCha8Rng> {
        let cfg = UaConfig {
            local: SocketAddr::from(([127, 0, 0, 1], 5080)),
            transport: Transport::Udp,
            proxy: SocketAddr::from(([127, 0, 0, 1], 5060)),
            domain: "127.0.0.1".into(),
            username: "gwtest".into(),
            password: "pw".into(),
            display_name: Some(display_name.into()),
            user_agent: "webrtc-gateway-test".into(),
            timers: TimerConfig::default(),
        };
        UserAgent::new(cfg, rand_chacha::ChaCha8Rng::seed_from_u64(1))
    }

    #[allow(clippy::disallowed_methods)] // the origin of virtual time; never read again
    fn t0() -> Instant {
        Instant::now()
    }

    /// RFC 3261 §18.1.1: an INVITE over 1300 bytes toward a UDP proxy goes over TCP with a TCP
    /// Via, and its CANCEL follows it; a small one stays on UDP.
    #[test]
    fn large_request_goes_over_tcp() {
        let now = t0();
        let mut small = ua("Gateway");
        small.invite(now, 1, "600", "v=0\r\n").unwrap();
        let t = small.poll_transmit().unwrap();
        assert_eq!(t.transport, Transport::Udp);
        assert!(t.data.len() <= UDP_SIZE_LIMIT);

        let mut big = ua(&"x".repeat(1400));
        big.invite(now, 1, "600", "v=0\r\n").unwrap();
        let t = big.poll_transmit().unwrap();
        assert_eq!(t.transport, Transport::Tcp);
        assert!(t.data.len() > UDP_SIZE_LIMIT);
        let msg = message::parse(&t.data).unwrap();
        assert_eq!(
            message::top_via(&msg).unwrap().transport,
            rsip::Transport::Tcp
        );
        // §17.1.1.1: over TCP, Timer A does not retransmit.
        big.handle_timeout(now + std::time::Duration::from_secs(2));
        assert_eq!(big.poll_transmit(), None);
        // The CANCEL copies the INVITE's Via and takes the same transport (§9.1).
        let trying = String::from_utf8(t.data.to_vec())
            .unwrap()
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .lines()
            .filter(|l| {
                ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .fold(String::from("SIP/2.0 180 Ringing\r\n"), |acc, l| {
                acc + l + "\r\n"
            })
            + "Content-Length: 0\r\n\r\n";
        big.handle_message(now, t.dest, Transport::Tcp, trying.as_bytes());
        while big.poll_event().is_some() {}
        big.hangup(now, 1);
        let cancel = big.poll_transmit().unwrap();
        assert_eq!(cancel.transport, Transport::Tcp);
        assert!(cancel.data.starts_with(b"CANCEL "));
        let msg = message::parse(&cancel.data).unwrap();
        assert_eq!(
            message::top_via(&msg).unwrap().transport,
            rsip::Transport::Tcp
        );
    }
}
