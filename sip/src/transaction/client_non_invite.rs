//! The non-INVITE client transaction: RFC 3261 §17.1.2 (Figure 6).

use std::time::{Duration, Instant};

use rsip::{Request, Response, SipMessage};

use super::{Core, Timer, TimerConfig, TransactionKey, TxInput, TxOutput, class};

/// The state of a non-INVITE client transaction, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    /// Request sent, no response yet; Timer E retransmits with doubling intervals up to T2.
    Trying,
    /// A provisional response arrived; Timer E retransmits every T2.
    Proceeding,
    /// A final response arrived; absorbing retransmissions until Timer K.
    Completed,
    /// Over.
    Terminated,
}

#[derive(Debug)]
enum State {
    Trying(Trying),
    Proceeding,
    Completed,
    Terminated,
}

/// Trying carries the next Timer E interval: min(2^n * T1, T2) (§17.1.2.2).
#[derive(Debug)]
struct Trying {
    retransmit_interval: Duration,
}

/// A non-INVITE client transaction (RFC 3261 §17.1.2).
#[derive(Debug)]
pub struct ClientNonInvite {
    core: Core,
    state: State,
}

impl ClientNonInvite {
    /// Starts the transaction: queues the request and arms Timer E (unreliable only) and Timer F.
    pub fn new(now: Instant, request: Request, reliable: bool, timers: TimerConfig) -> Self {
        let mut core = Core::new(request, false, reliable, timers);
        core.transmit(core.request.clone());
        if !reliable {
            core.arm(Timer::E, now, timers.t1);
        }
        core.arm(Timer::F, now, timers.transaction_timeout());
        let state = State::Trying(Trying {
            retransmit_interval: timers.t1,
        });
        Self { core, state }
    }

    /// Feeds a matched response or a transport error.
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
            (state, TxInput::Message(SipMessage::Response(resp))) => {
                state.on_response(&mut self.core, now, resp)
            }
            (state, other) => {
                tracing::trace!(
                    branch = self.core.branch(),
                    ?other,
                    "client non-INVITE ignores input"
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
            let state = std::mem::replace(&mut self.state, State::Terminated);
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
    pub fn state(&self) -> ClientNonInviteState {
        match self.state {
            State::Trying(_) => ClientNonInviteState::Trying,
            State::Proceeding => ClientNonInviteState::Proceeding,
            State::Completed => ClientNonInviteState::Completed,
            State::Terminated => ClientNonInviteState::Terminated,
        }
    }

    /// The key responses are matched on.
    pub fn key(&self) -> &TransactionKey {
        &self.core.key
    }

    /// The request this transaction sends.
    pub fn request(&self) -> &Request {
        &self.core.request
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Terminated)
    }

    fn log_transition(&self, before: ClientNonInviteState) {
        let after = self.state();
        if before != after {
            tracing::debug!(
                branch = self.core.branch(),
                ?before,
                ?after,
                "client non-INVITE transaction"
            );
        }
    }
}

impl State {
    fn on_response(self, core: &mut Core, now: Instant, resp: Response) -> State {
        match (self, class(&resp)) {
            (State::Trying(_) | State::Proceeding, 1) => {
                core.pass_to_tu(resp);
                State::Proceeding
            }
            (State::Trying(_) | State::Proceeding, 2..=6) => {
                core.timers.stop_all();
                core.pass_to_tu(resp);
                if core.reliable {
                    core.terminate();
                    State::Terminated
                } else {
                    core.arm(Timer::K, now, core.config.t4);
                    State::Completed
                }
            }
            (state, _) => {
                tracing::trace!(
                    branch = core.branch(),
                    code = resp.status_code.code(),
                    "response absorbed"
                );
                state
            }
        }
    }

    fn on_timer(self, core: &mut Core, now: Instant, timer: Timer) -> State {
        match (self, timer) {
            (State::Trying(trying), Timer::E) => {
                core.transmit(core.request.clone());
                let retransmit_interval = (trying.retransmit_interval * 2).min(core.config.t2);
                core.arm(Timer::E, now, retransmit_interval);
                State::Trying(Trying {
                    retransmit_interval,
                })
            }
            (State::Proceeding, Timer::E) => {
                core.transmit(core.request.clone());
                core.arm(Timer::E, now, core.config.t2);
                State::Proceeding
            }
            (State::Trying(_) | State::Proceeding, Timer::F) => {
                core.push(TxOutput::Timeout);
                core.terminate();
                State::Terminated
            }
            (State::Completed, Timer::K) => {
                core.terminate();
                State::Terminated
            }
            (state, _) => state,
        }
    }
}
