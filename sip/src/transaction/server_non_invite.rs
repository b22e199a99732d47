//! The non-INVITE server transaction: RFC 3261 §17.2.2 (Figure 8).

use std::time::Instant;

use rsip::{Request, Response};

use super::machine::{Core, Machine, Transaction};
use super::{Timer, class};

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

/// A non-INVITE server transaction (RFC 3261 §17.2.2). `new` queues `ToTu(request)`.
pub type ServerNonInvite = Transaction<State>;

/// The non-INVITE server transaction's states, each with its own data.
#[derive(Debug)]
pub enum State {
    /// See [`ServerNonInviteState::Trying`].
    Trying,
    /// The last provisional response sent.
    Proceeding(Response),
    /// The final response sent.
    Completed(Response),
    /// See [`ServerNonInviteState::Terminated`].
    Terminated,
}

impl Machine for State {
    type Name = ServerNonInviteState;
    const IS_SERVER: bool = true;
    const TERMINATED: Self = State::Terminated;
    const LABEL: &'static str = "server non-INVITE";

    /// Queues `ToTu(request)`; no timer runs until a final response is sent.
    fn start(core: &mut Core, _now: Instant) -> Self {
        core.pass_to_tu(core.request.clone());
        State::Trying
    }

    fn on_tu_response(self, core: &mut Core, now: Instant, resp: Response) -> Self {
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
                core.tu_response_dropped(&resp);
                state
            }
        }
    }

    /// A retransmission gets the last response sent again (§17.2.2).
    fn on_request(self, core: &mut Core, _now: Instant, _req: Request) -> Self {
        match &self {
            State::Proceeding(resp) | State::Completed(resp) => core.transmit(resp.clone()),
            State::Trying | State::Terminated => {}
        }
        self
    }

    fn on_timer(self, core: &mut Core, _now: Instant, timer: Timer) -> Self {
        match (self, timer) {
            (State::Completed(_), Timer::J) => {
                core.terminate();
                State::Terminated
            }
            (state, _) => state,
        }
    }

    fn name(&self) -> ServerNonInviteState {
        match self {
            State::Trying => ServerNonInviteState::Trying,
            State::Proceeding(_) => ServerNonInviteState::Proceeding,
            State::Completed(_) => ServerNonInviteState::Completed,
            State::Terminated => ServerNonInviteState::Terminated,
        }
    }
}
