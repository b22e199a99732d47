//! Asterisk cancels an inbound call that rings unanswered (RFC 3261 §9.2 UAS processing of
//! CANCEL), against Asterisk 22's `inbound-originate-gw-noanswer-cancel` ladder.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent, UaError};
use rsip::Method;
use ua_common::{Harness, OFFER, capture, inbound_request, response, vias};

const INVITE: &str = "inbound-originate-gw-noanswer-cancel-01-ast2gw-invite-sdp.sip";
const CANCEL: &str = "inbound-originate-gw-noanswer-cancel-03-ast2gw-cancel.sip";
const ACK: &str = "inbound-originate-gw-noanswer-cancel-06-ast2gw-ack.sip";
const VIA: &str =
    "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPj29d598a7-9d37-4895-94b2-3132b8ea565d";

/// §9.2: the CANCEL matching the ringing INVITE's transaction gets 200 (with the To-tag of our
/// 180), then the INVITE gets 487 Request Terminated, which Asterisk ACKs; the application
/// hears `cancelled` (487) and can no longer answer.
#[test]
fn cancel_of_a_ringing_call_gets_200_then_487() {
    let mut h = Harness::udp();
    h.receive(capture(INVITE).as_bytes());
    let call = h.incoming();
    assert_eq!(call.from_user, "5000");
    assert_eq!(call.from_display.as_deref(), Some("Odoo Click2Call"));
    h.ua.ring(h.now, call.handle);
    let tag = message::to_tag(&response(&h.sent()[0])).unwrap().unwrap();

    h.receive(capture(CANCEL).as_bytes());
    let text = h.sent_text();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(text[0].starts_with("SIP/2.0 200 OK\r\n"), "{}", text[0]);
    assert!(
        text[1].starts_with("SIP/2.0 487 Request Terminated\r\n"),
        "{}",
        text[1]
    );
    let sent: Vec<_> = text
        .iter()
        .map(|t| message::parse(t.as_bytes()).unwrap())
        .collect();
    let cancel_ok = response(&sent[0]);
    assert_eq!(cancel_ok.status_code.code(), 200);
    assert_eq!(message::cseq(&cancel_ok).unwrap(), (28077, Method::Cancel));
    assert_eq!(vias(&cancel_ok), vec![VIA]);
    assert_eq!(message::to_tag(&cancel_ok).unwrap().as_deref(), Some(&*tag));
    let terminated = response(&sent[1]);
    assert_eq!(terminated.status_code.code(), 487);
    assert_eq!(message::cseq(&terminated).unwrap(), (28077, Method::Invite));
    assert_eq!(
        message::to_tag(&terminated).unwrap().as_deref(),
        Some(&*tag)
    );
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Ended(EndCause {
            code: Some(487),
            reason: "cancelled"
        })]
    );
    assert_eq!(h.ua.session_count(), 0);
    assert_eq!(
        h.ua.answer(h.now, call.handle, OFFER),
        Err(UaError::UnknownHandle(call.handle))
    );

    // A retransmitted CANCEL gets its 200 again, from the transaction.
    h.receive(capture(CANCEL).as_bytes());
    assert_eq!(h.sent(), vec![sent[0].clone()]);
    h.receive(&inbound_request(ACK, &tag));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.ua.poll_event(), None);
    h.assert_drains_to_nothing();
}

/// §9.2: a CANCEL after our final response has no effect on the call, but is still answered
/// 200: the answered call goes on.
#[test]
fn cancel_after_answer_changes_nothing() {
    let mut h = Harness::udp();
    h.receive(capture(INVITE).as_bytes());
    let call = h.incoming();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let ok = response(&h.sent()[0]);
    let tag = message::to_tag(&ok).unwrap().unwrap();
    h.receive(capture(CANCEL).as_bytes());
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(response(&sent[0]).status_code.code(), 200);
    assert_eq!(
        message::cseq(&response(&sent[0])).unwrap().1,
        Method::Cancel
    );
    assert_eq!(h.events(call.handle), vec![]);
    assert_eq!(h.ua.session_count(), 1);
    h.receive(&inbound_request(ACK, &tag));
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Confirmed { sdp: None }]
    );
    h.ua.hangup(h.now, call.handle);
    let bye = ua_common::request(&h.sent()[0]);
    assert_eq!(bye.method, Method::Bye);
    h.receive(&ua_common::reply(
        "outbound-600-ulaw-06-ast2gw-200-ok-bye.sip",
        &bye,
    ));
    let _ = h.events(call.handle);
    h.assert_drains_to_nothing();
}
