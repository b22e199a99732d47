//! The shell the four §17 machines share: [`Transaction`] owns a state enum and the [`Core`]
//! (identity, timers, output queue), and does what every machine does alike — a transport
//! error ends the transaction (§17.1.4, §17.2.4), timers fire in deadline order, outputs are
//! queued, transitions are logged. Each machine file supplies only its states and transitions,
//! through the sealed [`Machine`] trait.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use rsip::{Method, Request, Response, SipMessage};

use super::{Role, Timer, TimerConfig, TimerTable, TransactionKey, TxInput, TxOutput};
use crate::message;

/// The state enum of one §17 machine: variants hold their own data, and each transition
/// consumes the current state and returns the next. [`Transaction`] calls the transitions only
/// before the final state, and handles [`TxInput::TransportError`] alike for every machine.
/// Sealed: this module is private.
pub trait Machine: Sized + Debug + Send {
    /// The machine's public state names, without data.
    type Name: Copy + Eq + Debug;
    /// Whether the machine is a server transaction (keyed with the Via sent-by, §17.2.3).
    const IS_SERVER: bool;
    /// The final state.
    const TERMINATED: Self;
    /// How logs name the machine, e.g. "client INVITE".
    const LABEL: &'static str;

    /// The first state, after queueing the first outputs and arming the first timers.
    fn start(core: &mut Core, now: Instant) -> Self;

    /// The next state after a response matched to this transaction (client transactions).
    fn on_response(self, core: &mut Core, _now: Instant, resp: Response) -> Self {
        let code = resp.status_code.code();
        tracing::trace!(
            branch = core.branch(),
            code,
            "{} ignores a response",
            Self::LABEL
        );
        self
    }

    /// The next state after a request matched to this transaction: a retransmission, or an
    /// ACK (server transactions).
    fn on_request(self, core: &mut Core, _now: Instant, req: Request) -> Self {
        let method = req.method;
        tracing::trace!(branch = core.branch(), %method, "{} ignores a request", Self::LABEL);
        self
    }

    /// The next state after the TU gave a response to send (server transactions).
    fn on_tu_response(self, core: &mut Core, _now: Instant, resp: Response) -> Self {
        let code = resp.status_code.code();
        tracing::trace!(
            branch = core.branch(),
            code,
            "{} ignores a TU response",
            Self::LABEL
        );
        self
    }

    /// The next state after `timer` fired; it was disarmed first.
    fn on_timer(self, core: &mut Core, now: Instant, timer: Timer) -> Self;

    /// The state's public name.
    fn name(&self) -> Self::Name;
}

/// An RFC 3261 §17 transaction: one of [`super::ClientInvite`], [`super::ClientNonInvite`],
/// [`super::ServerInvite`] or [`super::ServerNonInvite`].
#[derive(Debug)]
pub struct Transaction<S> {
    core: Core,
    state: S,
}

impl<S: Machine> Transaction<S> {
    /// Starts the transaction for `request`: a client queues it for the wire, a server hands it
    /// to the TU; each type's documentation lists the timers it arms.
    pub fn new(now: Instant, request: Request, reliable: bool, timers: TimerConfig) -> Self {
        let mut core = Core::new(request, S::IS_SERVER, reliable, timers);
        let state = S::start(&mut core, now);
        Self { core, state }
    }

    /// Feeds a matched message, a TU response (servers) or a transport error.
    pub fn handle_input(&mut self, now: Instant, input: TxInput) {
        if self.is_terminated() {
            return;
        }
        let before = self.state();
        let state = std::mem::replace(&mut self.state, S::TERMINATED);
        self.state = match input {
            TxInput::TransportError => {
                self.core.push(TxOutput::TransportError);
                self.core.terminate();
                S::TERMINATED
            }
            TxInput::Message(SipMessage::Response(resp)) => {
                state.on_response(&mut self.core, now, resp)
            }
            TxInput::Message(SipMessage::Request(req)) => {
                state.on_request(&mut self.core, now, req)
            }
            TxInput::FromTu(resp) => state.on_tu_response(&mut self.core, now, resp),
        };
        self.log_transition(before);
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let before = self.state();
        // One pass per timer at most: a handler re-arming with a zero interval cannot spin.
        for _ in 0..Timer::VALUES.len() {
            let Some(timer) = self.core.take_expired(now) else {
                break;
            };
            let state = std::mem::replace(&mut self.state, S::TERMINATED);
            self.state = state.on_timer(&mut self.core, now, timer);
        }
        self.log_transition(before);
    }

    /// The next queued output.
    pub fn poll_output(&mut self) -> Option<TxOutput> {
        self.core.out.pop_front()
    }

    /// When [`Self::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.timers.next_expiry()
    }

    /// The current state.
    pub fn state(&self) -> S::Name {
        self.state.name()
    }

    /// The key messages are matched on (§17.1.3, §17.2.3); CANCELs find a server INVITE
    /// through [`TransactionKey::cancelled_invite`].
    pub fn key(&self) -> &TransactionKey {
        &self.core.key
    }

    /// The request that started this transaction.
    pub fn request(&self) -> &Request {
        &self.core.request
    }

    /// Whether `req`, found under one of its [`TransactionKey::lookup_keys`], belongs to this
    /// transaction (§17.2.3). Always with an RFC 3261 branch; an ACK to a transaction keyed by
    /// the RFC 2543 rules must carry the To tag of the final response the transaction sent, so
    /// an ACK for another response (a proxy that forwarded two) is not taken for ours.
    pub fn matches(&self, req: &Request) -> bool {
        if self.core.key.rfc2543.is_none() || req.method != Method::Ack {
            return true;
        }
        let ack_tag = message::to_tag(req).ok().flatten();
        ack_tag.is_some() && ack_tag == self.core.final_to_tag
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state() == S::TERMINATED.name()
    }

    fn log_transition(&self, before: S::Name) {
        let after = self.state();
        if before != after {
            tracing::debug!(
                branch = self.core.branch(),
                ?before,
                ?after,
                "{} transaction",
                S::LABEL
            );
        }
    }
}

/// Any transaction behind one object, for a TU that keeps all four kinds in one table.
pub(crate) trait AnyTransaction: Send {
    /// See [`Transaction::handle_input`].
    fn handle_input(&mut self, now: Instant, input: TxInput);
    /// See [`Transaction::handle_timeout`].
    fn handle_timeout(&mut self, now: Instant);
    /// See [`Transaction::poll_output`].
    fn poll_output(&mut self) -> Option<TxOutput>;
    /// See [`Transaction::poll_timeout`].
    fn poll_timeout(&self) -> Option<Instant>;
    /// See [`Transaction::key`].
    fn key(&self) -> &TransactionKey;
    /// See [`Transaction::matches`].
    fn matches(&self, req: &Request) -> bool;
}

impl<S: Machine> AnyTransaction for Transaction<S> {
    fn handle_input(&mut self, now: Instant, input: TxInput) {
        Transaction::handle_input(self, now, input);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Transaction::handle_timeout(self, now);
    }
    fn poll_output(&mut self) -> Option<TxOutput> {
        Transaction::poll_output(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Transaction::poll_timeout(self)
    }
    fn key(&self) -> &TransactionKey {
        Transaction::key(self)
    }
    fn matches(&self, req: &Request) -> bool {
        Transaction::matches(self, req)
    }
}

/// What every machine shares: identity, timers and the output queue.
#[derive(Debug)]
pub struct Core {
    pub(super) key: TransactionKey,
    pub(super) request: Request,
    pub(super) reliable: bool,
    pub(super) config: TimerConfig,
    pub(super) timers: TimerTable,
    out: VecDeque<TxOutput>,
    /// The To tag of the last final response sent (server transactions), which an RFC 2543
    /// ACK must carry (§17.2.3).
    final_to_tag: Option<String>,
}

impl Core {
    fn new(request: Request, is_server: bool, reliable: bool, config: TimerConfig) -> Self {
        // Callers key the request with `TransactionKey::for_request` before creating a
        // transaction; should one skip that, the transaction still runs under a key that
        // `for_request` can never produce, so nothing is misrouted to it.
        let key =
            TransactionKey::for_request(&request, is_server).unwrap_or_else(|_| TransactionKey {
                role: if is_server {
                    Role::Server
                } else {
                    Role::Client
                },
                branch: String::new(),
                sent_by: None,
                method: request.method,
                rfc2543: None,
            });
        Self {
            key,
            request,
            reliable,
            config,
            timers: TimerTable::default(),
            out: VecDeque::new(),
            final_to_tag: None,
        }
    }

    pub(super) fn transmit(&mut self, msg: impl Into<SipMessage>) {
        let msg = msg.into();
        if let SipMessage::Response(resp) = &msg
            && resp.status_code.code() >= 200
        {
            self.final_to_tag = message::to_tag(resp).ok().flatten();
        }
        self.out.push_back(TxOutput::Transmit(msg));
    }

    pub(super) fn pass_to_tu(&mut self, msg: impl Into<SipMessage>) {
        self.out.push_back(TxOutput::ToTu(msg.into()));
    }

    pub(super) fn push(&mut self, output: TxOutput) {
        self.out.push_back(output);
    }

    /// Stops every timer and queues [`TxOutput::Terminated`].
    pub(super) fn terminate(&mut self) {
        self.timers.stop_all();
        self.out.push_back(TxOutput::Terminated);
    }

    /// Arms `timer` at `now + after`.
    pub(super) fn arm(&mut self, timer: Timer, now: Instant, after: Duration) {
        self.timers.set(timer, now + after);
    }

    /// A client transaction's start (§17.1.1.2, §17.1.2.2): sends the request, arms
    /// `retransmit` at T1 on unreliable transports and `timeout` at 64*T1.
    pub(super) fn send_request(&mut self, now: Instant, retransmit: Timer, timeout: Timer) {
        self.transmit(self.request.clone());
        if !self.reliable {
            self.arm(retransmit, now, self.config.t1);
        }
        self.arm(timeout, now, self.config.transaction_timeout());
    }

    /// Logs a response the current state has no transition for, such as a retransmission.
    pub(super) fn absorbed(&self, resp: &Response) {
        let code = resp.status_code.code();
        tracing::trace!(branch = self.branch(), code, "response absorbed");
    }

    /// Logs a response the TU gave too late for the current state: a TU fault, not the peer's.
    pub(super) fn tu_response_dropped(&self, resp: &Response) {
        let code = resp.status_code.code();
        tracing::warn!(branch = self.branch(), code, "TU response dropped");
    }

    /// The earliest due timer, disarmed so that a handler re-arming it cannot loop forever.
    fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = self.timers.expired(now)?;
        self.timers.stop(timer);
        Some(timer)
    }

    pub(super) fn branch(&self) -> &str {
        &self.key.branch
    }
}
