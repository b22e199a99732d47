//! The server side of one INVITE session (RFC 3261 §13.3, §15): where an inbound call stands,
//! the 2xx retransmission schedule (§13.3.1.4), and what the INVITE says about the caller.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsip::Request;
use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt;

use super::Transport;
use super::mid_call::MidCall;
use crate::dialog::{Dialog, header_uri};
use crate::message;
use crate::transaction::TransactionKey;

/// Where an inbound call stands.
#[derive(Debug)]
pub(crate) enum UasPhase {
    /// Waiting for the application to ring, answer or reject.
    Offered {
        /// 180 sent.
        rang: bool,
    },
    /// 2xx sent; retransmitted until the ACK (§13.3.1.4).
    Answered {
        /// The 2xx, sent again unchanged.
        ok: rsip::Response,
        /// Next retransmission interval: T1 doubling up to T2.
        interval: Duration,
        /// When to retransmit next (`None` over a reliable transport).
        resend_at: Option<Instant>,
        /// 64*T1 after the 2xx: no ACK by then ends the session with BYE.
        give_up_at: Instant,
    },
    /// The ACK arrived.
    Confirmed,
    /// Our BYE is in flight.
    Terminating,
    /// Nothing more to do.
    Done,
}

/// One inbound INVITE session.
#[derive(Debug)]
pub(crate) struct UasSession {
    /// The handle the UA gave it.
    pub(crate) handle: u64,
    /// The INVITE that opened it.
    pub(crate) invite: Request,
    /// Its server transaction.
    pub(crate) tx_key: TransactionKey,
    /// Where the INVITE came from: responses and our in-dialog requests go there.
    pub(crate) peer: SocketAddr,
    /// The transport it came over.
    pub(crate) transport: Transport,
    /// The dialog our To-tag opens (§12.1.1).
    pub(crate) dialog: Dialog,
    /// The user part of our Contact: the Request-URI user.
    pub(crate) contact_user: String,
    /// Our SDP (the answer, or the offer for a late-offer INVITE).
    pub(crate) local_sdp: Option<String>,
    /// Phase.
    pub(crate) phase: UasPhase,
    /// The application hung up before the ACK: BYE once it arrives (§15).
    pub(crate) hangup_pending: bool,
    /// The application has been told the session ended.
    pub(crate) reported_end: bool,
    /// Mid-call state, filled in when we answer.
    pub(crate) mid: MidCall,
}

impl UasSession {
    /// The next time the session must act: a 2xx retransmission or the ACK deadline.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            UasPhase::Answered {
                resend_at,
                give_up_at,
                ..
            } => Some(resend_at.map_or(*give_up_at, |r| r.min(*give_up_at))),
            _ => None,
        }
    }

    /// Whether `req` is in this session's dialog: its To-tag is ours (§12.2.2).
    fn in_dialog(&self, req: &Request) -> bool {
        message::to_tag(req).ok().flatten().as_deref() == Some(self.dialog.local_tag.as_str())
    }

    /// Whether `bye` ends this dialog: answered (ACKed or not) or our BYE in flight.
    pub(crate) fn accepts_bye(&self, bye: &Request) -> bool {
        matches!(
            self.phase,
            UasPhase::Answered { .. } | UasPhase::Confirmed | UasPhase::Terminating
        ) && self.in_dialog(bye)
    }

    /// Whether `invite` is a re-INVITE in the confirmed dialog (§14.2).
    pub(crate) fn accepts_reinvite(&self, invite: &Request) -> bool {
        matches!(self.phase, UasPhase::Confirmed) && self.in_dialog(invite)
    }

    /// Whether `ack` acknowledges our 2xx: in the dialog, with the INVITE's CSeq number.
    pub(crate) fn acks_our_2xx(&self, ack: &Request) -> bool {
        let invite_seq = message::cseq(&self.invite).ok().map(|(n, _)| n);
        let ack_seq = message::cseq(ack).ok().map(|(n, _)| n);
        matches!(self.phase, UasPhase::Answered { .. })
            && self.in_dialog(ack)
            && invite_seq.is_some()
            && invite_seq == ack_seq
    }

    /// Whether the session can be forgotten.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.phase, UasPhase::Done)
    }
}

/// The user part of a SIP URI, percent-decoded ("" when the URI has none).
pub(crate) fn uri_user(uri: &str) -> String {
    let rest = uri.split_once(':').map_or(uri, |(_, r)| r);
    let Some((userinfo, _)) = rest.split_once('@') else {
        return String::new();
    };
    let user = userinfo.split(':').next().unwrap_or_default();
    percent_decode(user)
}

/// The display name of a From/To value, unquoted and unescaped.
pub(crate) fn display_name(value: &str) -> Option<String> {
    let before = value.split('<').next()?.trim();
    if !value.contains('<') || before.is_empty() {
        return None;
    }
    let name = match before.strip_prefix('"') {
        Some(quoted) => {
            let mut out = String::new();
            let mut chars = quoted.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            out
        }
        None => before.to_owned(),
    };
    (!name.is_empty()).then_some(name)
}

/// The caller, callee and offer of a new INVITE.
pub(crate) struct Parties {
    pub(crate) from_user: String,
    pub(crate) from_display: Option<String>,
    pub(crate) to_user: String,
    pub(crate) sdp: Option<String>,
}

/// Reads who calls whom from an INVITE.
pub(crate) fn parties(invite: &Request) -> Parties {
    let from = invite
        .from_header()
        .map(|h| h.value().to_owned())
        .unwrap_or_default();
    let to_user = match uri_user(&invite.uri.to_string()) {
        user if !user.is_empty() => user,
        _ => invite
            .to_header()
            .ok()
            .and_then(|h| header_uri(h.value()))
            .map(|u| uri_user(&u))
            .unwrap_or_default(),
    };
    Parties {
        from_user: header_uri(&from).map(|u| uri_user(&u)).unwrap_or_default(),
        from_display: display_name(&from),
        to_user,
        sdp: super::uac::body_text(&invite.body),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_users() {
        assert_eq!(uri_user("sip:webuser@127.0.0.1:5080"), "webuser");
        assert_eq!(uri_user("sip:%2B1555%201234@h"), "+1555 1234");
        assert_eq!(uri_user("sips:bob:secret@h;transport=tcp"), "bob");
        assert_eq!(uri_user("sip:127.0.0.1:5080"), "");
        assert_eq!(uri_user("sip:50%@h"), "50%");
    }

    #[test]
    fn display_names() {
        assert_eq!(
            display_name("\"Odoo Click2Call\" <sip:5000@127.0.0.1>;tag=x").as_deref(),
            Some("Odoo Click2Call")
        );
        assert_eq!(
            display_name("\"A \\\"B\\\"\" <sip:a@b>").as_deref(),
            Some("A \"B\"")
        );
        assert_eq!(display_name("Bob <sip:b@h>").as_deref(), Some("Bob"));
        assert_eq!(display_name("<sip:b@h>;tag=1"), None);
        assert_eq!(display_name("sip:b@h;tag=1"), None);
    }
}
