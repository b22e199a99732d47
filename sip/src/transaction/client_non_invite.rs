//! The non-INVITE client transaction: RFC 3261 §17.1.2 (Figure 6).

use std::time::{Duration, Instant};

use rsip::Response;

use super::machine::{Core, Machine, Transaction};
use super::{Timer, TxOutput, class};

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

/// A non-INVITE client transaction (RFC 3261 §17.1.2). `new` queues the request and arms
/// Timer E (unreliable only) and Timer F.
pub type ClientNonInvite = Transaction<State>;

/// The non-INVITE client transaction's states, each with its own data.
#[derive(Debug)]
pub enum State {
    /// See [`ClientNonInviteState::Trying`].
    Trying(Trying),
    /// See [`ClientNonInviteState::Proceeding`].
    Proceeding,
    /// See [`ClientNonInviteState::Completed`].
    Completed,
    /// See [`ClientNonInviteState::Terminated`].
    Terminated,
}

/// Trying carries the next Timer E interval: min(2^n * T1, T2) (§17.1.2.2).
#[derive(Debug)]
pub struct Trying {
    retransmit_interval: Duration,
}

impl Machine for State {
    type Name = ClientNonInviteState;
    const IS_SERVER: bool = false;
    const TERMINATED: Self = State::Terminated;
    const LABEL: &'static str = "client non-INVITE";

    /// Queues the request and arms Timer E (unreliable only) and Timer F.
    fn start(core: &mut Core, now: Instant) -> Self {
        core.send_request(now, Timer::E, Timer::F);
        State::Trying(Trying {
            retransmit_interval: core.config.t1,
        })
    }

    fn on_response(self, core: &mut Core, now: Instant, resp: Response) -> Self {
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
                core.absorbed(&resp);
                state
            }
        }
    }

    fn on_timer(self, core: &mut Core, now: Instant, timer: Timer) -> Self {
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

    fn name(&self) -> ClientNonInviteState {
        match self {
            State::Trying(_) => ClientNonInviteState::Trying,
            State::Proceeding => ClientNonInviteState::Proceeding,
            State::Completed => ClientNonInviteState::Completed,
            State::Terminated => ClientNonInviteState::Terminated,
        }
    }
}
