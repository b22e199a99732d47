//! The INVITE server transaction: RFC 3261 §17.2.1 (Figure 7) with RFC 6026's Accepted state.

use std::time::{Duration, Instant};

use rsip::{Method, Request, Response, SipMessage};

use super::{Core, TRYING_DELAY, Timer, TimerConfig, TransactionKey, TxInput, TxOutput, class};
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

#[derive(Debug)]
enum State {
    Proceeding(Proceeding),
    Completed(Completed),
    Confirmed,
    Accepted,
    Terminated,
}

/// Proceeding remembers the last provisional response, resent on each INVITE retransmission.
#[derive(Debug)]
struct Proceeding {
    last_provisional: Option<Response>,
}

/// Completed carries the final response and the next Timer G interval: min(2^n * T1, T2).
#[derive(Debug)]
struct Completed {
    response: Response,
    retransmit_interval: Duration,
}

/// An INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1).
#[derive(Debug)]
pub struct ServerInvite {
    core: Core,
    state: State,
}

impl ServerInvite {
    /// Starts the transaction for a received INVITE: queues `ToTu(invite)` and arms the 200 ms
    /// timer after which 100 Trying is sent unless the TU responded (§17.2.1).
    pub fn new(now: Instant, request: Request, reliable: bool, timers: TimerConfig) -> Self {
        let mut core = Core::new(request, true, reliable, timers);
        core.pass_to_tu(core.request.clone());
        core.arm(Timer::Trying, now, TRYING_DELAY);
        let state = State::Proceeding(Proceeding {
            last_provisional: None,
        });
        Self { core, state }
    }

    /// Feeds a matched INVITE retransmission or ACK, a TU response, or a transport error.
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
            (state, TxInput::Message(SipMessage::Request(req))) => {
                state.on_request(&mut self.core, now, req)
            }
            (state, TxInput::Message(other)) => {
                tracing::trace!(
                    branch = self.core.branch(),
                    ?other,
                    "server INVITE ignores a response"
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
    pub fn state(&self) -> ServerInviteState {
        match self.state {
            State::Proceeding(_) => ServerInviteState::Proceeding,
            State::Completed(_) => ServerInviteState::Completed,
            State::Confirmed => ServerInviteState::Confirmed,
            State::Accepted => ServerInviteState::Accepted,
            State::Terminated => ServerInviteState::Terminated,
        }
    }

    /// The key retransmissions, ACKs (and CANCELs, via [`TransactionKey::cancelled_invite`]) match.
    pub fn key(&self) -> &TransactionKey {
        &self.core.key
    }

    /// The INVITE that created this transaction.
    pub fn request(&self) -> &Request {
        &self.core.request
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Terminated)
    }

    fn log_transition(&self, before: ServerInviteState) {
        let after = self.state();
        if before != after {
            tracing::debug!(
                branch = self.core.branch(),
                ?before,
                ?after,
                "server INVITE transaction"
            );
        }
    }
}

impl State {
    fn on_tu_response(self, core: &mut Core, now: Instant, resp: Response) -> State {
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
                tracing::warn!(
                    branch = core.branch(),
                    code = resp.status_code.code(),
                    "TU response dropped"
                );
                state
            }
        }
    }

    fn on_request(self, core: &mut Core, now: Instant, req: Request) -> State {
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

    fn on_timer(self, core: &mut Core, now: Instant, timer: Timer) -> State {
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
}
