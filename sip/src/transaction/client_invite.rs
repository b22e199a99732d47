//! The INVITE client transaction: RFC 3261 §17.1.1 (Figure 5) with RFC 6026's Accepted state.

use std::time::{Duration, Instant};

use rsip::{Request, Response};

use super::machine::{Core, Machine, Transaction};
use super::{TIMER_D_UNRELIABLE, Timer, TxOutput, class};
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

/// An INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2). `new` queues the INVITE and
/// arms Timer A (unreliable only) and Timer B.
pub type ClientInvite = Transaction<State>;

/// The INVITE client transaction's states, each with its own data.
#[derive(Debug)]
pub enum State {
    /// See [`ClientInviteState::Calling`].
    Calling(Calling),
    /// See [`ClientInviteState::Proceeding`].
    Proceeding,
    /// See [`ClientInviteState::Completed`].
    Completed(Completed),
    /// See [`ClientInviteState::Accepted`].
    Accepted,
    /// See [`ClientInviteState::Terminated`].
    Terminated,
}

/// Calling carries the next Timer A interval (doubles, no cap: §17.1.1.2).
#[derive(Debug)]
pub struct Calling {
    retransmit_interval: Duration,
}

/// Completed carries the ACK to resend on each retransmitted final response.
#[derive(Debug)]
pub struct Completed {
    ack: Request,
}

impl Machine for State {
    type Name = ClientInviteState;
    const IS_SERVER: bool = false;
    const TERMINATED: Self = State::Terminated;
    const LABEL: &'static str = "client INVITE";

    /// Queues the INVITE and arms Timer A (unreliable only) and Timer B.
    fn start(core: &mut Core, now: Instant) -> Self {
        core.send_request(now, Timer::A, Timer::B);
        State::Calling(Calling {
            retransmit_interval: core.config.t1,
        })
    }

    fn on_response(self, core: &mut Core, now: Instant, resp: Response) -> Self {
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
                core.absorbed(&resp);
                state
            }
        }
    }

    fn on_timer(self, core: &mut Core, now: Instant, timer: Timer) -> Self {
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

    fn name(&self) -> ClientInviteState {
        match self {
            State::Calling(_) => ClientInviteState::Calling,
            State::Proceeding => ClientInviteState::Proceeding,
            State::Completed(_) => ClientInviteState::Completed,
            State::Accepted => ClientInviteState::Accepted,
            State::Terminated => ClientInviteState::Terminated,
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
