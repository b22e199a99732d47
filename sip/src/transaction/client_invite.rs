//! The INVITE client transaction: RFC 3261 §17.1.1 (Figure 5) with RFC 6026's Accepted state.

use std::time::{Duration, Instant};

use rsip::{Request, Response, SipMessage};

use super::{
    Core, TIMER_D_UNRELIABLE, Timer, TimerConfig, TransactionKey, TxInput, TxOutput, class,
};
use crate::message::ack_for_non_2xx;

/// The state of an INVITE client transaction, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    /// INVITE sent, no response yet; Timer A retransmits on unreliable transports.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A 300–699 arrived and was ACKed; waiting out Timer D for retransmissions.
    Completed,
    /// A 2xx arrived (RFC 6026); further 2xx go to the TU until Timer M.
    Accepted,
    /// Over.
    Terminated,
}

#[derive(Debug)]
enum State {
    Calling(Calling),
    Proceeding,
    Completed(Completed),
    Accepted,
    Terminated,
}

/// Calling carries the next Timer A interval (doubles, no cap: §17.1.1.2).
#[derive(Debug)]
struct Calling {
    retransmit_interval: Duration,
}

/// Completed carries the ACK to resend on each retransmitted final response.
#[derive(Debug)]
struct Completed {
    ack: Request,
}

/// An INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2).
#[derive(Debug)]
pub struct ClientInvite {
    core: Core,
    state: State,
}

impl ClientInvite {
    /// Starts the transaction: queues the INVITE and arms Timer A (unreliable only) and Timer B.
    pub fn new(now: Instant, request: Request, reliable: bool, timers: TimerConfig) -> Self {
        let mut core = Core::new(request, false, reliable, timers);
        core.transmit(core.request.clone());
        if !reliable {
            core.arm(Timer::A, now, timers.t1);
        }
        core.arm(Timer::B, now, timers.transaction_timeout());
        let state = State::Calling(Calling {
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
                    "client INVITE ignores input"
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
    pub fn state(&self) -> ClientInviteState {
        match self.state {
            State::Calling(_) => ClientInviteState::Calling,
            State::Proceeding => ClientInviteState::Proceeding,
            State::Completed(_) => ClientInviteState::Completed,
            State::Accepted => ClientInviteState::Accepted,
            State::Terminated => ClientInviteState::Terminated,
        }
    }

    /// The key responses are matched on.
    pub fn key(&self) -> &TransactionKey {
        &self.core.key
    }

    /// The INVITE this transaction sends.
    pub fn request(&self) -> &Request {
        &self.core.request
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Terminated)
    }

    fn log_transition(&self, before: ClientInviteState) {
        let after = self.state();
        if before != after {
            tracing::debug!(
                branch = self.core.branch(),
                ?before,
                ?after,
                "client INVITE transaction"
            );
        }
    }
}

impl State {
    fn on_response(self, core: &mut Core, now: Instant, resp: Response) -> State {
        match (self, class(&resp)) {
            (State::Calling(_) | State::Proceeding, 1) => {
                core.timers.stop(Timer::A);
                core.timers.stop(Timer::B);
                core.pass_to_tu(resp);
                State::Proceeding
            }
            (State::Calling(_) | State::Proceeding, 2) => accept(core, now, resp),
            (State::Calling(_) | State::Proceeding, 3..=6) => complete(core, now, resp),
            (State::Completed(completed), 3..=6) => {
                // §17.1.1.2: a retransmitted final response is ACKed again, not passed up.
                core.transmit(completed.ack.clone());
                State::Completed(completed)
            }
            (State::Accepted, 2) => {
                // RFC 6026 §7.2: retransmitted 2xx and forked 2xx go to the TU, which ACKs.
                core.pass_to_tu(resp);
                State::Accepted
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
            (State::Calling(calling), Timer::A) => {
                core.transmit(core.request.clone());
                let retransmit_interval = calling.retransmit_interval * 2;
                core.arm(Timer::A, now, retransmit_interval);
                State::Calling(Calling {
                    retransmit_interval,
                })
            }
            (State::Calling(_), Timer::B) => {
                core.push(TxOutput::Timeout);
                core.terminate();
                State::Terminated
            }
            (State::Completed(_), Timer::D) | (State::Accepted, Timer::M) => {
                core.terminate();
                State::Terminated
            }
            (state, _) => state,
        }
    }
}

fn accept(core: &mut Core, now: Instant, resp: Response) -> State {
    core.timers.stop_all();
    core.pass_to_tu(resp);
    core.arm(Timer::M, now, core.config.transaction_timeout());
    State::Accepted
}

fn complete(core: &mut Core, now: Instant, resp: Response) -> State {
    core.timers.stop_all();
    let ack = ack_for_non_2xx(&core.request, &resp);
    core.pass_to_tu(resp);
    core.transmit(ack.clone());
    if core.reliable {
        core.terminate();
        State::Terminated
    } else {
        core.arm(Timer::D, now, TIMER_D_UNRELIABLE);
        State::Completed(Completed { ack })
    }
}
