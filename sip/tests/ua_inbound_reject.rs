//! Inbound calls refused by the application (RFC 3261 §13.3.1.3 final non-2xx responses,
//! §17.2.1 the INVITE server transaction retransmits them with Timer G and absorbs the ACK),
//! against Asterisk 22's `inbound-originate-gw-busy-486` ladder.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent, UaError};
use rsip::Method;
use ua_common::{Harness, OFFER, capture, inbound_request, response, sent_at, vias};

const INVITE: &str = "inbound-originate-gw-busy-486-01-ast2gw-invite-sdp.sip";
const ACK: &str = "inbound-originate-gw-busy-486-03-ast2gw-ack.sip";

/// Rejects the captured INVITE with `code`; returns the response and its To-tag.
/// Also returns the status line as sent.
fn reject(h: &mut Harness, code: u16) -> (rsip::Response, String, String) {
    h.receive(capture(INVITE).as_bytes());
    let call = h.incoming();
    h.ua.reject(h.now, call.handle, code);
    let text = h.sent_text();
    assert_eq!(text.len(), 1, "{text:?}");
    let resp = response(&message::parse(text[0].as_bytes()).unwrap());
    let line = text[0].lines().next().unwrap().to_owned();
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Ended(EndCause::from_code(
            resp.status_code.code()
        ))]
    );
    assert_eq!(h.ua.session_count(), 0, "the session is gone at once");
    assert_eq!(
        h.ua.answer(h.now, call.handle, OFFER),
        Err(UaError::UnknownHandle(call.handle))
    );
    let tag = message::to_tag(&resp).unwrap().unwrap();
    (resp, tag, line)
}

/// §13.3.1.3 / §17.2.1: 486 Busy Here with our To-tag and the INVITE's Via and CSeq, sent again
/// by Timer G until Asterisk's ACK, which is absorbed (nothing sent, no event).
#[test]
fn busy_486_is_retransmitted_until_acked() {
    let mut h = Harness::udp();
    let (busy, tag, line) = reject(&mut h, 486);
    assert_eq!(busy.status_code.code(), 486);
    assert_eq!(line, "SIP/2.0 486 Busy Here");
    assert_eq!(
        vias(&busy),
        vec![
            "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPja99a656a-32d6-487d-af3e-779145479200"
        ]
    );
    assert_eq!(message::cseq(&busy).unwrap(), (29107, Method::Invite));
    // Asterisk's ACK was lost once: Timer G sends the 486 again after T1.
    let out = h.advance(Duration::from_millis(500));
    let resent = sent_at(&out);
    assert_eq!(resent.len(), 1, "{out:?}");
    assert_eq!(response(&resent[0].1).status_code.code(), 486);
    h.receive(&inbound_request(ACK, &tag));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.ua.poll_event(), None);
    h.assert_drains_to_nothing();
}

/// §13.3.1.3: 603 Decline, ACKed at once; the application hears `declined`.
#[test]
fn decline_603_is_acked() {
    let mut h = Harness::udp();
    let (decline, tag, line) = reject(&mut h, 603);
    assert_eq!(decline.status_code.code(), 603);
    assert_eq!(line, "SIP/2.0 603 Decline");
    h.receive(&inbound_request(ACK, &tag));
    assert_eq!(h.sent(), vec![]);
    h.assert_drains_to_nothing();
}

/// The application hanging up before answering refuses with 480 Temporarily Unavailable;
/// a second reject or a ring for the gone call sends nothing.
#[test]
fn hangup_before_answer_sends_480() {
    let mut h = Harness::udp();
    h.receive(capture(INVITE).as_bytes());
    let call = h.incoming();
    h.ua.ring(h.now, call.handle);
    assert_eq!(response(&h.sent()[0]).status_code.code(), 180);
    h.ua.hangup(h.now, call.handle);
    let text = h.sent_text();
    assert_eq!(text.len(), 1, "{text:?}");
    assert!(
        text[0].starts_with("SIP/2.0 480 Temporarily Unavailable\r\n"),
        "{}",
        text[0]
    );
    let refusal = response(&message::parse(text[0].as_bytes()).unwrap());
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "normal_clearing"
        })]
    );
    h.ua.reject(h.now, call.handle, 486);
    h.ua.ring(h.now, call.handle);
    assert_eq!(h.sent(), vec![]);
    let tag = message::to_tag(&refusal).unwrap().unwrap();
    h.receive(&inbound_request(ACK, &tag));
    assert_eq!(h.sent(), vec![]);
    h.assert_drains_to_nothing();
}

/// A code that is not a final error (a 2xx, a 1xx) cannot reject: 480 goes out instead.
#[test]
fn reject_with_a_non_error_code_sends_480() {
    let mut h = Harness::udp();
    let (resp, tag, _) = reject(&mut h, 200);
    assert_eq!(resp.status_code.code(), 480);
    h.receive(&inbound_request(ACK, &tag));
    h.assert_drains_to_nothing();
}
