//! The INVITE server transaction: RFC 3261 §17.2.1 (Figure 7) with RFC 6026's Accepted state.

use std::time::{Duration, Instant};

use rsip::{Method, Request, Response};

use super::machine::{Core, Machine, Transaction};
use super::{TRYING_DELAY, Timer, TxOutput, class};
use crate::message::response_for;

/// The state of an INVITE server transaction, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    /// INVITE passed to the TU; provisional responses may have been sent.
    Proceeding,
    /// A 300–699 was sent; Timer G retransmits it until the ACK or Timer H.
    Completed,
    /// The ACK arrived; absorbing ACK retransmissions until Timer I.
    Confirmed,
    /// A 2xx was sent (RFC 6026); the TU retransmits it, ACKs go to the TU, until Timer L.
    Accepted,
    /// Over.
    Terminated,
}

/// An INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1). `new` queues
/// `ToTu(invite)` and arms the 200 ms timer after which 100 Trying is sent unless the TU
/// responded (§17.2.1).
pub type ServerInvite = Transaction<State>;

/// The INVITE server transaction's states, each with its own data.
#[derive(Debug)]
pub enum State {
    /// See [`ServerInviteState::Proceeding`].
    Proceeding(Proceeding),
    /// See [`ServerInviteState::Completed`].
    Completed(Completed),
    /// See [`ServerInviteState::Confirmed`].
    Confirmed,
    /// See [`ServerInviteState::Accepted`].
    Accepted,
    /// See [`ServerInviteState::Terminated`].
    Terminated,
}

/// Proceeding remembers the last provisional response, resent on each INVITE retransmission.
#[derive(Debug)]
pub struct Proceeding {
    last_provisional: Option<Response>,
}

/// Completed carries the final response and the next Timer G interval: min(2^n * T1, T2).
#[derive(Debug)]
pub struct Completed {
    response: Response,
    retransmit_interval: Duration,
}

impl Machine for State {
    type Name = ServerInviteState;
    const IS_SERVER: bool = true;
    const TERMINATED: Self = State::Terminated;
    const LABEL: &'static str = "server INVITE";

    /// Queues `ToTu(invite)` and arms the 200 ms timer after which 100 Trying is sent unless
    /// the TU responded (§17.2.1).
    fn start(core: &mut Core, now: Instant) -> Self {
        core.pass_to_tu(core.request.clone());
        core.arm(Timer::Trying, now, TRYING_DELAY);
        State::Proceeding(Proceeding {
            last_provisional: None,
        })
    }

    fn on_tu_response(self, core: &mut Core, now: Instant, resp: Response) -> Self {
        match (self, class(&resp)) {
            (State::Proceeding(_), 1) => {
                core.timers.stop(Timer::Trying);
                core.transmit(resp.clone());
                State::Proceeding(Proceeding {
                    last_provisional: Some(resp),
                })
            }
            (State::Proceeding(_) | State::Accepted, 2) => {
                // RFC 6026 §7.1: the TU's 2xx and its retransmissions pass straight through.
                core.timers.stop(Timer::Trying);
                core.transmit(resp);
                if core.timers.get(Timer::L).is_none() {
                    core.arm(Timer::L, now, core.config.transaction_timeout());
                }
                State::Accepted
            }
            (State::Proceeding(_), 3..=6) => {
                core.timers.stop(Timer::Trying);
                core.transmit(resp.clone());
                if !core.reliable {
                    core.arm(Timer::G, now, core.config.t1);
                }
                core.arm(Timer::H, now, core.config.transaction_timeout());
                State::Completed(Completed {
                    response: resp,
                    retransmit_interval: core.config.t1,
                })
            }
            (state, _) => {
                core.tu_response_dropped(&resp);
                state
            }
        }
    }

    fn on_request(self, core: &mut Core, now: Instant, req: Request) -> Self {
        match (self, req.method) {
            (State::Proceeding(proceeding), Method::Invite) => {
                if let Some(resp) = &proceeding.last_provisional {
                    core.transmit(resp.clone());
                }
                State::Proceeding(proceeding)
            }
            (State::Completed(completed), Method::Invite) => {
                core.transmit(completed.response.clone());
                State::Completed(completed)
            }
            (State::Completed(_), Method::Ack) => {
                // §17.2.1: the ACK for a non-2xx ends the transaction; it is not passed up.
                core.timers.stop_all();
                if core.reliable {
                    core.terminate();
                    State::Terminated
                } else {
                    core.arm(Timer::I, now, core.config.t4);
                    State::Confirmed
                }
            }
            (State::Accepted, Method::Ack) => {
                core.pass_to_tu(req);
                State::Accepted
            }
            (state, method) => {
                tracing::trace!(branch = core.branch(), %method, "request absorbed");
                state
            }
        }
    }

    fn on_timer(self, core: &mut Core, now: Instant, timer: Timer) -> Self {
        match (self, timer) {
            (
                State::Proceeding(Proceeding {
                    last_provisional: None,
                }),
                Timer::Trying,
            ) => {
                let trying = response_for(&core.request, 100, None, None);
                core.transmit(trying.clone());
                State::Proceeding(Proceeding {
                    last_provisional: Some(trying),
                })
            }
            (State::Completed(completed), Timer::G) => {
                core.transmit(completed.response.clone());
                let retransmit_interval = (completed.retransmit_interval * 2).min(core.config.t2);
                core.arm(Timer::G, now, retransmit_interval);
                State::Completed(Completed {
                    retransmit_interval,
                    ..completed
                })
            }
            (State::Completed(_), Timer::H) => {
                core.push(TxOutput::Timeout);
                core.terminate();
                State::Terminated
            }
            (State::Confirmed, Timer::I) | (State::Accepted, Timer::L) => {
                core.terminate();
                State::Terminated
            }
            (state, _) => state,
        }
    }

    fn name(&self) -> ServerInviteState {
        match self {
            State::Proceeding(_) => ServerInviteState::Proceeding,
            State::Completed(_) => ServerInviteState::Completed,
            State::Confirmed => ServerInviteState::Confirmed,
            State::Accepted => ServerInviteState::Accepted,
            State::Terminated => ServerInviteState::Terminated,
        }
    }
}
