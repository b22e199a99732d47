//! The client side of one INVITE session (RFC 3261 §13, §15): INVITE with digest retry, CANCEL,
//! ACK for 2xx, BYE both ways. Sans-I/O: it receives the transaction layer's results and returns
//! actions for the user agent to carry out.

use std::time::Instant;

use rsip::{Request, Response};

use super::mid_call::MidCall;
use crate::dialog::Dialog;
use crate::message;

/// Why a session ended, as reported to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndCause {
    /// The SIP status code behind the end, when there is one.
    pub code: Option<u16>,
    /// A short machine-readable reason.
    pub reason: &'static str,
}

impl EndCause {
    /// The cause for a final non-2xx response code.
    pub fn from_code(code: u16) -> Self {
        let reason = match code {
            404 | 484 | 604 => "not_found",
            408 => "timeout",
            480 => "unavailable",
            486 | 600 => "busy",
            487 => "cancelled",
            401 | 403 | 407 => "forbidden",
            488 | 606 => "not_acceptable",
            503 => "service_unavailable",
            603 => "declined",
            c if c >= 500 => "server_error",
            _ => "rejected",
        };
        Self {
            code: Some(code),
            reason,
        }
    }
}

/// What the session reports to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A provisional response (180, 183), with its SDP if it carried one.
    Provisional {
        /// Status code.
        code: u16,
        /// SDP body, if any.
        sdp: Option<String>,
    },
    /// The call was answered (2xx), with the answer SDP.
    Answered {
        /// SDP body, if any.
        sdp: Option<String>,
    },
    /// The session is over for the application.
    Ended(EndCause),
    /// Inbound calls: the ACK for our 2xx arrived (§13.3.1.4), with its SDP: the answer to
    /// the offer our 2xx made for a late-offer INVITE.
    Confirmed {
        /// SDP body of the ACK, if any.
        sdp: Option<String>,
    },
    /// The peer changed the session: its new SDP (a re-INVITE/UPDATE offer, already answered
    /// from our state, or the answer to our re-INVITE).
    RemoteSdp {
        /// The peer's SDP.
        sdp: String,
        /// It is an offer (we answered it), not an answer to ours.
        offer: bool,
    },
    /// Our re-INVITE was refused with this code; the previous session state stays.
    ReinviteFailed {
        /// Its status code.
        code: u16,
    },
    /// A DTMF digit from SIP INFO (`application/dtmf-relay`).
    InfoDtmf {
        /// 0-9, *, #, A-D.
        digit: char,
        /// Its duration, when given.
        duration_ms: Option<u32>,
    },
    /// The peer asks for a video keyframe: SIP INFO `application/media_control+xml` with
    /// `picture_fast_update` (RFC 5168 §7.1), already answered 200.
    PictureFastUpdate,
}

/// Where the session stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// INVITE sent, no provisional response back yet.
    Calling,
    /// A provisional response (100 included) arrived: CANCEL is now allowed (§9.1).
    Proceeding,
    /// 2xx received and ACKed.
    Confirmed(Dialog),
    /// CANCEL sent; waiting for the INVITE's final response.
    Cancelling,
    /// BYE sent; waiting for its response.
    Terminating,
    /// Nothing more to do.
    Done,
}

/// One client INVITE session.
#[derive(Debug)]
pub(crate) struct UacSession {
    /// The application's handle.
    pub(crate) handle: u64,
    /// The INVITE currently in flight (the latest, after an auth retry).
    pub(crate) invite: Request,
    /// The local SDP offer.
    pub(crate) local_sdp: String,
    /// Phase.
    pub(crate) phase: Phase,
    /// Whether a digest retry was already made.
    pub(crate) auth_tried: bool,
    /// The application asked to hang up before a provisional response arrived.
    pub(crate) hangup_pending: bool,
    /// When a sent CANCEL stops waiting for the INVITE's final response: 64*T1 after it
    /// (§9.1); set by the user agent, which owns the clock.
    pub(crate) cancel_deadline: Option<Instant>,
    /// The application has been told the session ended: later events are not reported.
    pub(crate) reported_end: bool,
    /// The ACK sent for the 2xx as it went on the wire, re-sent unchanged (same branch) when
    /// the 2xx is retransmitted (§13.2.2.4).
    pub(crate) ack: Option<Request>,
    /// Our display name.
    pub(crate) display: Option<String>,
    /// Mid-call state once the dialog is confirmed (our offer is its first local SDP).
    pub(crate) mid: MidCall,
}

/// What the user agent must do after a session step.
#[derive(Debug)]
pub(crate) enum Action {
    /// Report to the application.
    Report(SessionEvent),
    /// Send a CANCEL for the current INVITE (new client transaction).
    SendCancel(Request),
    /// Send this ACK for a 2xx outside any transaction; the user agent keeps what it sent in
    /// [`UacSession::ack`].
    SendAck(OutRequest),
    /// Send the stored ACK again: the 2xx was retransmitted.
    ResendAck,
    /// Send a request in the dialog (new client transaction): BYE.
    SendInDialog(OutRequest),
    /// Retry the INVITE with credentials for this challenge response.
    RetryWithAuth(Response),
}

impl UacSession {
    /// Handles a response to the INVITE (from the transaction, or a stray 2xx retransmission).
    pub(crate) fn on_invite_response(&mut self, resp: Response) -> Vec<Action> {
        let code = resp.status_code.code();
        let mut out = Vec::new();
        match code {
            100..=199 => {
                // Any provisional response, 100 included, allows a CANCEL (§9.1).
                if matches!(self.phase, Phase::Calling) {
                    self.phase = Phase::Proceeding;
                    if self.hangup_pending {
                        self.phase = Phase::Cancelling;
                        out.push(Action::SendCancel(message::cancel_for(&self.invite)));
                        return out;
                    }
                }
                if code > 100 && matches!(self.phase, Phase::Proceeding) {
                    let sdp = body_text(&resp.body);
                    out.push(Action::Report(SessionEvent::Provisional { code, sdp }));
                }
            }
            200..=299 => {
                if let Phase::Confirmed(_) | Phase::Terminating | Phase::Done = self.phase {
                    // A retransmitted 2xx: our ACK was lost (RFC 3261 §13.2.2.4).
                    if self.ack.is_some() {
                        out.push(Action::ResendAck);
                    }
                    return out;
                }
                let dialog = match Dialog::from_uac_2xx(&self.invite, &resp, self.display.clone()) {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(error = %e, "2xx without a usable dialog; ending the call");
                        self.phase = Phase::Done;
                        self.end(
                            EndCause {
                                code: Some(code),
                                reason: "protocol_error",
                            },
                            &mut out,
                        );
                        return out;
                    }
                };
                let cseq = message::cseq(&self.invite)
                    .map(|c| c.0)
                    .unwrap_or(dialog.local_cseq);
                out.push(Action::SendAck(build_ack(&dialog, cseq)));
                if self.hangup_pending || matches!(self.phase, Phase::Cancelling) {
                    // The 2xx crossed our CANCEL (or hangup): confirm, then end with BYE (§15).
                    let mut dialog = dialog;
                    let bye = build_in_dialog(&mut dialog, "BYE");
                    self.phase = Phase::Terminating;
                    out.push(Action::SendInDialog(bye));
                } else {
                    self.phase = Phase::Confirmed(dialog);
                    let sdp = body_text(&resp.body);
                    // A 2xx without SDP (the answer came in a reliable 18x) settles nothing.
                    if let Some(answer) = sdp.as_deref() {
                        self.mid.settle_video(Some(answer), true);
                    }
                    self.mid.remote = sdp.clone();
                    self.mid.peer_allows_update = allows_update(&resp.headers);
                    out.push(Action::Report(SessionEvent::Answered { sdp }));
                }
            }
            401 | 407 if !self.auth_tried && !self.hangup_pending && self.phase_is_early() => {
                self.auth_tried = true;
                out.push(Action::RetryWithAuth(resp));
            }
            _ => {
                self.phase = Phase::Done;
                self.end(EndCause::from_code(code), &mut out);
            }
        }
        out
    }

    fn phase_is_early(&self) -> bool {
        matches!(self.phase, Phase::Calling | Phase::Proceeding)
    }

    /// The INVITE transaction timed out (timer B) or its transport failed.
    pub(crate) fn on_invite_failure(&mut self, code: u16) -> Vec<Action> {
        if let Phase::Calling | Phase::Proceeding | Phase::Cancelling = self.phase {
            self.phase = Phase::Done;
            let mut out = Vec::new();
            self.end(EndCause::from_code(code), &mut out);
            return out;
        }
        Vec::new()
    }

    /// The application hangs up.
    pub(crate) fn hangup(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        match &mut self.phase {
            Phase::Calling => {
                // CANCEL must wait for a provisional response (§9.1).
                self.hangup_pending = true;
                self.end(
                    EndCause {
                        code: None,
                        reason: "cancelled",
                    },
                    &mut out,
                );
            }
            Phase::Proceeding => {
                self.hangup_pending = true;
                self.phase = Phase::Cancelling;
                out.push(Action::SendCancel(message::cancel_for(&self.invite)));
                self.end(
                    EndCause {
                        code: None,
                        reason: "cancelled",
                    },
                    &mut out,
                );
            }
            Phase::Confirmed(dialog) => {
                let bye = build_in_dialog(dialog, "BYE");
                self.phase = Phase::Terminating;
                out.push(Action::SendInDialog(bye));
                self.end(
                    EndCause {
                        code: None,
                        reason: "normal_clearing",
                    },
                    &mut out,
                );
            }
            Phase::Cancelling | Phase::Terminating | Phase::Done => {}
        }
        out
    }

    /// The peer sent BYE in our dialog.
    pub(crate) fn on_remote_bye(&mut self) -> Vec<Action> {
        self.phase = Phase::Done;
        let mut out = Vec::new();
        self.end(
            EndCause {
                code: None,
                reason: "remote_hangup",
            },
            &mut out,
        );
        out
    }

    /// Whether `bye` ends this session's dialog: the dialog is up (or our own BYE is in
    /// flight) and the request's To-tag is our tag (§12.2.2).
    pub(crate) fn accepts_bye(&self, bye: &Request) -> bool {
        matches!(self.phase, Phase::Confirmed(_) | Phase::Terminating) && self.is_ours(bye)
    }

    /// Whether `invite` is a re-INVITE in this session's confirmed dialog (§14.2).
    pub(crate) fn accepts_reinvite(&self, invite: &Request) -> bool {
        matches!(self.phase, Phase::Confirmed(_)) && self.is_ours(invite)
    }

    /// The request's To-tag is our From-tag (§12.2.2).
    fn is_ours(&self, req: &Request) -> bool {
        let ours = message::from_tag(&self.invite).ok().flatten();
        ours.is_some() && message::to_tag(req).ok().flatten() == ours
    }

    /// The BYE we sent got its final response (or timed out): nothing more to wait for.
    pub(crate) fn on_bye_done(&mut self) {
        self.phase = Phase::Done;
    }

    /// Reports the end once: later causes (a 487 after our CANCEL, timer B) are not news.
    fn end(&mut self, cause: EndCause, out: &mut Vec<Action>) {
        if !self.reported_end {
            self.reported_end = true;
            out.push(Action::Report(SessionEvent::Ended(cause)));
        }
    }

    /// When the INVITE of a cancelled session stops waiting for its final response.
    pub(crate) fn cancel_expired_at(&self) -> Option<Instant> {
        match self.phase {
            Phase::Cancelling => self.cancel_deadline,
            _ => None,
        }
    }

    /// Whether the session can be forgotten.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }
}

/// Whether an Allow header among `headers` lists UPDATE (RFC 3311 §5.1).
pub(crate) fn allows_update(headers: &rsip::Headers) -> bool {
    headers.iter().any(|h| match h {
        rsip::Header::Allow(a) => rsip::headers::UntypedHeader::value(a)
            .split(',')
            .any(|m| m.trim().eq_ignore_ascii_case("UPDATE")),
        _ => false,
    })
}

pub(crate) fn body_text(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        None
    } else {
        Some(String::from_utf8_lossy(body).into_owned())
    }
}

/// A request the user agent must complete (Via, Max-Forwards, Contact, User-Agent) and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutRequest {
    /// Method name.
    pub(crate) method: &'static str,
    /// Request-URI.
    pub(crate) uri: String,
    /// From header value.
    pub(crate) from: String,
    /// To header value.
    pub(crate) to: String,
    /// Call-ID.
    pub(crate) call_id: String,
    /// CSeq number.
    pub(crate) cseq: u32,
    /// Route header values.
    pub(crate) routes: Vec<String>,
}

/// The ACK for a 2xx: a new transaction-less request to the remote target (§13.2.2.4), with the
/// INVITE's CSeq number `cseq`.
pub(crate) fn build_ack(dialog: &Dialog, cseq: u32) -> OutRequest {
    out_request(dialog, "ACK", cseq)
}

/// A new in-dialog request with the next CSeq (§12.2.1.1).
pub(crate) fn build_in_dialog(dialog: &mut Dialog, method: &'static str) -> OutRequest {
    dialog.local_cseq += 1;
    out_request(dialog, method, dialog.local_cseq)
}

fn out_request(dialog: &Dialog, method: &'static str, cseq: u32) -> OutRequest {
    OutRequest {
        method,
        uri: dialog.remote_target.clone(),
        from: dialog.from_value(),
        to: dialog.to_value(),
        call_id: dialog.call_id.clone(),
        cseq,
        routes: dialog.routes().to_vec(),
    }
}
