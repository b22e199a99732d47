//! A CANCEL that crosses the 200 OK (RFC 3261 §9.1, §15: "the UAC ... MUST send a BYE" once
//! a 2xx arrives for a cancelled INVITE), with Asterisk 22's `outbound-607-cancel` and
//! `outbound-600-ulaw` responses.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent};
use rsip::{Method, Request};
use ua_common::{Harness, line, reply, request};

const RINGING: &str = "outbound-607-cancel-03-ast2gw-180-ringing-invite.sip";
const CANCEL_OK: &str = "outbound-607-cancel-05-ast2gw-200-ok-cancel.sip";
const ANSWER: &str = "outbound-600-ulaw-03-ast2gw-200-ok-invite-sdp.sip";
const BYE_OK: &str = "outbound-600-ulaw-06-ast2gw-200-ok-bye.sip";

/// The 2xx is ACKed (§13.2.2.4) and the dialog it created is ended with BYE (§15), and the
/// application, which already has its `Ended`, hears nothing more.
fn ack_then_bye(h: &mut Harness, handle: u64, invite: &Request) -> (Request, Request) {
    let ok = reply(ANSWER, invite);
    h.receive(&ok);
    assert_eq!(h.events(handle), vec![], "no Answered after the hangup");
    let sent = h.sent();
    assert_eq!(sent.len(), 2, "ACK then BYE: {sent:?}");
    let ack = request(&sent[0]);
    let bye = request(&sent[1]);
    assert_eq!(
        line(&ack),
        ("sip:127.0.0.1:5060".into(), "ACK".into(), (1, Method::Ack))
    );
    assert_eq!(
        line(&bye),
        ("sip:127.0.0.1:5060".into(), "BYE".into(), (2, Method::Bye))
    );
    let tag = Some("3047cfcd-9027-4406-b6cb-a3c631047f09".to_owned());
    assert_eq!(message::to_tag(&ack).unwrap(), tag);
    assert_eq!(message::to_tag(&bye).unwrap(), tag);
    assert_eq!(
        message::call_id(&bye).unwrap(),
        message::call_id(invite).unwrap()
    );

    // The 200 is retransmitted (our ACK was lost): the same ACK again, no second BYE.
    h.receive(&ok);
    assert_eq!(h.sent(), vec![sent[0].clone()]);
    (ack, bye)
}

/// RFC 3261 §9.1 / §15: hangup while ringing sends CANCEL, but Asterisk had already answered.
#[test]
fn cancel_crossing_200_is_followed_by_ack_and_bye() {
    let mut h = Harness::udp();
    let invite = h.invite(11, "607");
    h.receive(&reply(RINGING, &invite));
    let _ = h.events(11);
    h.ua.hangup(h.now, 11);
    assert_eq!(
        h.events(11),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "cancelled"
        })]
    );
    let cancel = request(&h.sent()[0]);
    assert_eq!(cancel.method, Method::Cancel);

    let (_, bye) = ack_then_bye(&mut h, 11, &invite);
    // Asterisk's answer to the CANCEL arrives late; nothing to do.
    h.receive(&reply(CANCEL_OK, &cancel));
    assert_eq!(h.sent(), vec![]);
    h.receive(&reply(BYE_OK, &bye));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(11), vec![]);
    assert_eq!(h.ua.session_count(), 0);
    h.assert_drains_to_nothing();
}

/// RFC 3261 §15: a hangup before any response (CANCEL not yet allowed) followed by a 200 also
/// ends with ACK and BYE.
#[test]
fn hangup_before_any_response_then_200_is_followed_by_ack_and_bye() {
    let mut h = Harness::udp();
    let invite = h.invite(12, "600");
    h.ua.hangup(h.now, 12);
    assert_eq!(h.events(12).len(), 1);
    assert_eq!(h.sent(), vec![]);
    let (_, bye) = ack_then_bye(&mut h, 12, &invite);
    h.receive(&reply(BYE_OK, &bye));
    assert_eq!(h.events(12), vec![]);
    h.assert_drains_to_nothing();
}
