//! RFC 3261 §17 transactions without I/O: one state machine per figure (5–8, with the RFC 6026
//! "Accepted" states), a timer table, and the matching rules of §17.1.3 and §17.2.3 (including
//! the RFC 2543 rules for requests whose top Via has no `z9hG4bK` branch).
//!
//! Every machine is a [`Transaction`] over its own state enum, so all have the same shape:
//! `new(now, request, reliable, timers)`, then `handle_input(now, input)` /
//! `handle_timeout(now)`, and the caller drains `poll_output()` and sleeps until
//! `poll_timeout()`. A machine never reads a clock.
//!
//! Choices where the RFCs leave room:
//! - Server transactions hand the request that created them to the TU as their first output
//!   (`ToTu`); retransmissions are absorbed.
//! - The INVITE server transaction sends `100 Trying` by itself if the TU has not sent any
//!   response 200 ms after the INVITE arrived (§17.2.1, [`Timer::Trying`]).
//! - 2xx handling follows RFC 6026: the client INVITE transaction enters Accepted and passes
//!   every 2xx (retransmissions and forks) to the TU until Timer M; the TU sends the ACK.
//!   The server INVITE transaction enters Accepted, sends each 2xx the TU gives it (the TU
//!   retransmits 2xx per §13.3.1.4), passes a matching ACK to the TU and ends at Timer L.
//! - "Zero" timers on reliable transports (D, I, J, K) are not armed: the machine terminates
//!   at once, after queueing its other outputs.
//! - RFC 2543 matching (§17.2.3) compares the Request-URI as printed and the top Via in a
//!   canonical form ([`Rfc2543Id`]) rather than by every §19.1.4 / §20.42 rule: a
//!   retransmission repeats both byte for byte.

mod client_invite;
mod client_non_invite;
mod machine;
mod server_invite;
mod server_non_invite;
pub mod timers;

use std::hash::{Hash, Hasher};
use std::time::Duration;

use rsip::{Method, Request, Response, SipMessage};

pub use client_invite::{ClientInvite, ClientInviteState};
pub use client_non_invite::{ClientNonInvite, ClientNonInviteState};
pub(crate) use machine::AnyTransaction;
pub use machine::Transaction;
pub use server_invite::{ServerInvite, ServerInviteState};
pub use server_non_invite::{ServerNonInvite, ServerNonInviteState};
pub use timers::{Timer, TimerTable};

use crate::Error;
use crate::message::{self, BRANCH_MAGIC_COOKIE};

/// The base timer values of RFC 3261 §17.1.1.1 / Table 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate (default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses (default 4 s).
    pub t2: Duration,
    /// Maximum duration a message stays in the network (default 5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64*T1: Timers B, F, H, J, L and M.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// Timer D on unreliable transports: "at least 32 seconds" (§17.1.1.2).
pub const TIMER_D_UNRELIABLE: Duration = Duration::from_secs(32);

/// How long the INVITE server transaction waits for the TU before sending 100 Trying (§17.2.1).
pub const TRYING_DELAY: Duration = Duration::from_millis(200);

/// An input to a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxInput {
    /// A message from the network already matched to this transaction by its [`TransactionKey`].
    Message(SipMessage),
    /// Server transactions: the response the TU wants sent.
    FromTu(Response),
    /// The transport failed to send this transaction's last message (§17.1.4, §17.2.4).
    TransportError,
}

/// An output of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOutput {
    /// Put this message on the wire to the transaction's peer.
    Transmit(SipMessage),
    /// For the TU: a response (client) or the request / an ACK (server).
    ToTu(SipMessage),
    /// Timer B, F or H fired: the peer never completed the transaction.
    Timeout,
    /// The transport reported a failure; the transaction terminates.
    TransportError,
    /// The transaction is over and can be dropped; always the last output.
    Terminated,
}

/// Which side of a transaction a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the request.
    Client,
    /// We received the request.
    Server,
}

/// What identifies a transaction (§17.1.3, §17.2.3): the top Via branch, the method (ACK counts
/// as INVITE; CANCEL is its own transaction), and for server transactions the Via sent-by; for
/// a request without an RFC 3261 branch, the RFC 2543 identity in [`Rfc2543Id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionKey {
    /// Client or server transaction.
    pub role: Role,
    /// The top Via branch, including the magic cookie; for an RFC 2543 request, whatever
    /// branch it has (often none: empty).
    pub branch: String,
    /// The top Via sent-by (host lowercased, port as written); `None` for client transactions,
    /// which §17.1.3 matches on branch and method only.
    pub sent_by: Option<String>,
    /// The request method, with ACK folded into INVITE.
    pub method: Method,
    /// Server transactions of requests whose top Via has no `z9hG4bK` branch: what §17.2.3
    /// matches them on instead. `None` with an RFC 3261 branch.
    pub rfc2543: Option<Rfc2543Id>,
}

/// The RFC 2543 identity of a request (RFC 3261 §17.2.3): an INVITE matches the transaction
/// whose INVITE had the same Request-URI, To tag, From tag, Call-ID, CSeq and top Via; any
/// other request likewise, CSeq method included (the key's `method`); an ACK matches on all but
/// the To tag, which must be the one of the final response the transaction sent
/// ([`TransactionKey::lookup_keys`], [`Transaction::matches`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rfc2543Id {
    /// The Request-URI as rsip prints it (a retransmission repeats it byte for byte).
    pub request_uri: String,
    /// The To tag, if any.
    pub to_tag: Option<String>,
    /// The From tag, if any: RFC 2543 did not require one.
    pub from_tag: Option<String>,
    /// The Call-ID.
    pub call_id: String,
    /// The CSeq number.
    pub cseq: u32,
    /// The top Via, canonical: sent-protocol, sent-by and the sorted parameters, lowercased
    /// but for quoted values (equal Vias, §20.42 and §7.3.1, give equal strings).
    pub top_via: String,
}

impl Rfc2543Id {
    fn of(req: &Request, via: &rsip::typed::Via) -> Result<Self, Error> {
        let mut params: Vec<String> = via
            .params
            .iter()
            .map(|p| {
                let p = p.to_string();
                if p.contains('"') {
                    p
                } else {
                    p.to_ascii_lowercase()
                }
            })
            .collect();
        params.sort();
        let protocol = format!("{}/{}", via.version, via.transport).to_ascii_lowercase();
        // A From or To of another scheme (RFC 4475 §3.3.4) may have no readable tag: none,
        // the same for the request and its retransmissions.
        Ok(Self {
            request_uri: req.uri.to_string(),
            to_tag: message::to_tag(req).ok().flatten(),
            from_tag: message::from_tag(req).ok().flatten(),
            call_id: message::call_id(req)?.to_owned(),
            cseq: message::cseq(req)?.0,
            top_via: format!("{protocol} {}{}", sent_by(via), params.concat()),
        })
    }
}

impl Hash for TransactionKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // rsip's Method has no Hash; its wire name is equivalent for equality.
        self.role.hash(state);
        self.branch.hash(state);
        self.sent_by.hash(state);
        self.method.to_string().hash(state);
        self.rfc2543.hash(state);
    }
}

impl TransactionKey {
    /// The key of the transaction `req` belongs to, as client (`is_server == false`, the
    /// request we send) or server (a request we received). A client request needs an RFC 3261
    /// branch; a received request without one is keyed by the RFC 2543 rules of §17.2.3.
    pub fn for_request(req: &Request, is_server: bool) -> Result<Self, Error> {
        let via = message::top_via(req)?;
        let branch = via.branch().map(|b| b.to_string()).unwrap_or_default();
        let rfc3261 = branch.starts_with(BRANCH_MAGIC_COOKIE);
        let method = match req.method {
            Method::Ack => Method::Invite,
            other => other,
        };
        if !is_server {
            if !rfc3261 {
                return Err(Error::NoRfc3261Branch);
            }
            return Ok(Self {
                role: Role::Client,
                branch,
                sent_by: None,
                method,
                rfc2543: None,
            });
        }
        let rfc2543 = if rfc3261 {
            None
        } else {
            Some(Rfc2543Id::of(req, &via)?)
        };
        Ok(Self {
            role: Role::Server,
            branch,
            sent_by: Some(sent_by(&via)),
            method,
            rfc2543,
        })
    }

    /// The keys under which the server transaction of `req` (whose own key is `self`) is
    /// looked up, in order (§17.2.3). Only an RFC 2543 ACK has two: the INVITE it acknowledges
    /// may have had no To tag, our final response having added the one the ACK carries;
    /// [`Transaction::matches`] then checks that tag.
    pub fn lookup_keys(&self, req: &Request) -> Vec<Self> {
        let mut keys = vec![self.clone()];
        if req.method == Method::Ack
            && let Some(id) = self.rfc2543.as_ref().filter(|id| id.to_tag.is_some())
        {
            keys.push(Self {
                rfc2543: Some(Rfc2543Id {
                    to_tag: None,
                    ..id.clone()
                }),
                ..self.clone()
            });
        }
        keys
    }

    /// The key of the client transaction a received response belongs to (§17.1.3): top Via
    /// branch and CSeq method.
    pub fn for_response(resp: &Response) -> Result<Self, Error> {
        let branch = message::top_via_branch(resp)?;
        let (_, method) = message::cseq(resp)?;
        Ok(Self {
            role: Role::Client,
            branch,
            sent_by: None,
            method,
            rfc2543: None,
        })
    }

    /// For a CANCEL's key, the key of the INVITE transaction it cancels (§9.2: the §17.2.3
    /// rules with the method taken as INVITE; with an RFC 2543 key too).
    pub fn cancelled_invite(&self) -> Option<Self> {
        (self.method == Method::Cancel).then(|| Self {
            method: Method::Invite,
            ..self.clone()
        })
    }
}

fn sent_by(via: &rsip::typed::Via) -> String {
    let hp = &via.uri.host_with_port;
    let host = hp.host.to_string().to_ascii_lowercase();
    match &hp.port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// The status class of a response: 1 for 1xx, 2 for 2xx, ... (0 or 7+ for nonsense codes).
fn class(resp: &Response) -> u16 {
    resp.status_code.code() / 100
}
