//! A call refused with 486 Busy Here and 503 (RFC 3261 §13.2.2.3 non-2xx final responses,
//! §17.1.1.3 the ACK the INVITE transaction sends for them), against Asterisk 22's
//! `outbound-605-busy` and `outbound-606-congestion` ladders.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent};
use rsip::Method;
use ua_common::{Harness, line, reply, request};

/// RFC 3261 §17.1.1.3: the ACK for a non-2xx final response has the INVITE's branch, R-URI and
/// CSeq number, and the response's To (with its tag); a retransmitted 486 is ACKed again by the
/// transaction without a second event; Timer D then frees everything.
#[test]
fn busy_here_ends_the_call_and_is_acked() {
    let mut h = Harness::udp();
    let invite = h.invite(5, "605");
    h.receive(&reply(
        "outbound-605-busy-02-ast2gw-100-trying-invite.sip",
        &invite,
    ));
    assert_eq!(h.sent(), vec![]);
    let busy = reply(
        "outbound-605-busy-03-ast2gw-486-busy-here-invite.sip",
        &invite,
    );
    h.receive(&busy);
    assert_eq!(
        h.events(5),
        vec![SessionEvent::Ended(EndCause {
            code: Some(486),
            reason: "busy"
        })]
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ack = request(&sent[0]);
    assert_eq!(
        line(&ack),
        ("sip:605@127.0.0.1".into(), "ACK".into(), (1, Method::Ack))
    );
    assert_eq!(
        message::top_via_branch(&ack).unwrap(),
        message::top_via_branch(&invite).unwrap()
    );
    assert_eq!(
        message::to_tag(&ack).unwrap().as_deref(),
        Some("5d730d25-39f4-4546-9eb6-85ab4d2fe3ab")
    );
    assert_eq!(
        message::from_tag(&ack).unwrap(),
        message::from_tag(&invite).unwrap()
    );
    assert_eq!(
        message::call_id(&ack).unwrap(),
        message::call_id(&invite).unwrap()
    );
    assert_eq!(
        h.ua.session_count(),
        0,
        "the session ends with the final response"
    );

    // The ACK was lost: Asterisk retransmits the 486.
    h.advance(Duration::from_millis(500));
    h.receive(&busy);
    assert_eq!(h.sent(), sent);
    assert_eq!(h.events(5), vec![]);
    assert_eq!(
        h.ua.transaction_count(),
        1,
        "Timer D keeps the INVITE transaction"
    );
    h.assert_drains_to_nothing();

    // The handle is free again.
    let again = h.invite(5, "605");
    assert_ne!(
        message::call_id(&again).unwrap(),
        message::call_id(&invite).unwrap()
    );
}

/// RFC 3261 §21.5.4: Asterisk's congestion answer (503) ends the call with that code.
#[test]
fn service_unavailable_ends_the_call() {
    let mut h = Harness::udp();
    let invite = h.invite(6, "606");
    h.receive(&reply(
        "outbound-606-congestion-02-ast2gw-100-trying-invite.sip",
        &invite,
    ));
    h.receive(&reply(
        "outbound-606-congestion-03-ast2gw-503-service-unavailable-invite.sip",
        &invite,
    ));
    assert_eq!(
        h.events(6),
        vec![SessionEvent::Ended(EndCause {
            code: Some(503),
            reason: "service_unavailable"
        })]
    );
    let ack = request(&h.sent()[0]);
    assert_eq!(ack.method, Method::Ack);
    h.assert_drains_to_nothing();
}
