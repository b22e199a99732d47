//! An INVITE without SDP (RFC 3261 §13.3.1.4: the 2xx then carries our offer, and the answer
//! comes in the ACK; RFC 3264 §4), built from Asterisk 22's `inbound-originate-gw` ladder with
//! the offer moved from the INVITE to the ACK.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent};
use ua_common::{Harness, OFFER, capture, capture_body, header, inbound_request, response};

const INVITE: &str = "inbound-originate-gw-01-ast2gw-invite-sdp.sip";
const ACK: &str = "inbound-originate-gw-04-ast2gw-ack.sip";
const BYE: &str = "inbound-originate-gw-05-ast2gw-bye.sip";

/// The captured INVITE without its body: a late offer.
fn late_offer_invite() -> String {
    let invite = capture(INVITE);
    let (head, body) = invite.split_once("\r\n\r\n").unwrap();
    assert!(!body.is_empty());
    let head: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.starts_with("Content-Type:") && !l.starts_with("Content-Length:"))
        .collect();
    format!("{}\r\nContent-Length: 0\r\n\r\n", head.join("\r\n"))
}

/// The captured ACK carrying Asterisk's answer (the SDP it offered in the capture).
fn ack_with_answer(tag: &str, sdp: &str) -> Vec<u8> {
    let ack = String::from_utf8(inbound_request(ACK, tag)).unwrap();
    let head = ack
        .split_once("\r\n\r\n")
        .unwrap()
        .0
        .split("\r\n")
        .filter(|l| !l.starts_with("Content-Length:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    format!(
        "{head}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

/// §13.3.1.4 / RFC 3264 §4: the Incoming event says there is no offer; the 200 carries the
/// SDP the application gives (our offer); the ACK's SDP is reported with `Confirmed`.
#[test]
fn late_offer_is_answered_in_the_ack() {
    let mut h = Harness::udp();
    h.receive(late_offer_invite().as_bytes());
    let call = h.incoming();
    assert_eq!(call.sdp, None);
    h.ua.ring(h.now, call.handle);
    let tag = message::to_tag(&response(&h.sent()[0])).unwrap().unwrap();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let ok = response(&h.sent()[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(
        header(&ok, "Content-Type").as_deref(),
        Some("application/sdp")
    );
    assert_eq!(ok.body, OFFER.as_bytes());

    let answer = capture_body(INVITE);
    h.receive(&ack_with_answer(&tag, &answer));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Confirmed { sdp: Some(answer) }]
    );

    h.receive(&inbound_request(BYE, &tag));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "remote_hangup"
        })]
    );
    h.assert_drains_to_nothing();
}

/// An ACK outside our dialog (another To-tag) or for another CSeq does not confirm the call:
/// the 200 keeps being retransmitted.
#[test]
fn foreign_ack_does_not_confirm() {
    let mut h = Harness::udp();
    h.receive(late_offer_invite().as_bytes());
    let call = h.incoming();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let ok = h.sent();
    let tag = message::to_tag(&response(&ok[0])).unwrap().unwrap();
    h.receive(&inbound_request(ACK, "someone-else"));
    let wrong_cseq = String::from_utf8(inbound_request(ACK, &tag))
        .unwrap()
        .replace("CSeq: 1413 ACK", "CSeq: 1414 ACK");
    assert_ne!(wrong_cseq.as_bytes(), &inbound_request(ACK, &tag)[..]);
    h.receive(wrong_cseq.as_bytes());
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(call.handle), vec![]);
    let out = h.advance(std::time::Duration::from_millis(500));
    assert_eq!(ua_common::sent_at(&out).len(), 1, "still retransmitting");
    h.receive(&inbound_request(ACK, &tag));
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Confirmed { sdp: None }]
    );
    h.receive(&inbound_request(BYE, &tag));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    let _ = h.events(call.handle);
    h.assert_drains_to_nothing();
}
