//! The non-INVITE server transaction: RFC 3261 §17.2.2 (Figure 8).

use std::time::Instant;

use rsip::{Request, Response, SipMessage};

use super::{Core, Timer, TimerConfig, TransactionKey, TxInput, TxOutput, class};

/// The state of a non-INVITE server transaction, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    /// Request passed to the TU, nothing sent yet; retransmissions are absorbed.
    Trying,
    /// A provisional response was sent; retransmissions get it again.
    Proceeding,
    /// A final response was sent; retransmissions get it again until Timer J.
    Completed,
    /// Over.
    Terminated,
}

#[derive(Debug)]
enum State {
    Trying,
    /// The last provisional response sent.
    Proceeding(Response),
    /// The final response sent.
    Completed(Response),
    Terminated,
}

/// A non-INVITE server transaction (RFC 3261 §17.2.2).
#[derive(Debug)]
pub struct ServerNonInvite {
    core: Core,
    state: State,
}

impl ServerNonInvite {
    /// Starts the transaction for a received request: queues `ToTu(request)`.
    pub fn new(_now: Instant, request: Request, reliable: bool, timers: TimerConfig) -> Self {
        let mut core = Core::new(request, true, reliable, timers);
        core.pass_to_tu(core.request.clone());
        Self {
            core,
            state: State::Trying,
        }
    }

    /// Feeds a matched retransmission, a TU response, or a transport error.
    pub fn handle_input(&mut self, now: Instant, input: TxInput) {
        let before = self.state();
        let state = std::mem::replace(&mut self.state, State::Terminated);
        self.state = match (state, input) {
            (State::Terminated, _) => State::Terminated,
            (_, TxInput::TransportError) => {
                self.core.push(TxOutput::TransportError);
                self.core.terminate();
                State::Terminated
            }
            (state, TxInput::FromTu(resp)) => state.on_tu_response(&mut self.core, now, resp),
            (state, TxInput::Message(SipMessage::Request(_))) => {
                state.on_retransmission(&mut self.core)
            }
            (state, TxInput::Message(other)) => {
                tracing::trace!(
                    branch = self.core.branch(),
                    ?other,
                    "server non-INVITE ignores a response"
                );
                state
            }
        };
        self.log_transition(before);
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let before = self.state();
        for _ in 0..Timer::VALUES.len() {
            let Some(timer) = self.core.take_expired(now) else {
                break;
            };
            if timer == Timer::J && matches!(self.state, State::Completed(_)) {
                self.core.terminate();
                self.state = State::Terminated;
            }
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
    pub fn state(&self) -> ServerNonInviteState {
        match self.state {
            State::Trying => ServerNonInviteState::Trying,
            State::Proceeding(_) => ServerNonInviteState::Proceeding,
            State::Completed(_) => ServerNonInviteState::Completed,
            State::Terminated => ServerNonInviteState::Terminated,
        }
    }

    /// The key retransmissions match.
    pub fn key(&self) -> &TransactionKey {
        &self.core.key
    }

    /// The request that created this transaction.
    pub fn request(&self) -> &Request {
        &self.core.request
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Terminated)
    }

    fn log_transition(&self, before: ServerNonInviteState) {
        let after = self.state();
        if before != after {
            tracing::debug!(
                branch = self.core.branch(),
                ?before,
                ?after,
                "server non-INVITE transaction"
            );
        }
    }
}

impl State {
    fn on_tu_response(self, core: &mut Core, now: Instant, resp: Response) -> State {
        match (self, class(&resp)) {
            (State::Trying | State::Proceeding(_), 1) => {
                core.transmit(resp.clone());
                State::Proceeding(resp)
            }
            (State::Trying | State::Proceeding(_), 2..=6) => {
                core.transmit(resp.clone());
                if core.reliable {
                    core.terminate();
                    State::Terminated
                } else {
                    core.arm(Timer::J, now, core.config.transaction_timeout());
                    State::Completed(resp)
                }
            }
            (state, _) => {
                tracing::warn!(
                    branch = core.branch(),
                    code = resp.status_code.code(),
                    "TU response dropped"
                );
                state
            }
        }
    }

    fn on_retransmission(self, core: &mut Core) -> State {
        match &self {
            State::Proceeding(resp) | State::Completed(resp) => core.transmit(resp.clone()),
            State::Trying | State::Terminated => {}
        }
        self
    }
}
