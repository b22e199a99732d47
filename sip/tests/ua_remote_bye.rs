//! Asterisk hangs up an answered call (RFC 3261 §15.1.2 UAS behaviour for BYE, §17.2.2 the
//! non-INVITE server transaction), with Asterisk 22's `outbound-601-playback-bye` ladder.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent};
use rsip::{Method, Request, SipMessage};
use ua_common::{Harness, in_dialog_request, reply, response, vias};

const ANSWER: &str = "outbound-601-playback-bye-03-ast2gw-200-ok-invite-sdp.sip";
const BYE: &str = "outbound-601-playback-bye-05-ast2gw-bye.sip";

fn answered(h: &mut Harness, handle: u64) -> Request {
    let invite = h.invite(handle, "601");
    h.receive(&reply(
        "outbound-601-playback-bye-02-ast2gw-100-trying-invite.sip",
        &invite,
    ));
    h.receive(&reply(ANSWER, &invite));
    assert!(matches!(
        h.events(handle)[..],
        [SessionEvent::Answered { .. }]
    ));
    assert_eq!(h.sent().len(), 1, "the ACK");
    invite
}

/// RFC 3261 §15.1.2 / §8.2.6.2: the 200 for Asterisk's BYE copies its Via (branch and all),
/// From, To (with our tag), Call-ID and CSeq; the application hears `remote_hangup`; a
/// retransmitted BYE is answered again by the server transaction (§17.2.2) without a second
/// event; our own late hangup sends nothing.
#[test]
fn asterisk_bye_is_answered_and_ends_the_call() {
    let mut h = Harness::udp();
    let invite = answered(&mut h, 21);
    h.advance(Duration::from_secs(5));
    let bye = in_dialog_request(BYE, &invite);
    let bye_parsed = message::parse(&bye).unwrap();
    h.receive(&bye);
    assert_eq!(
        h.events(21),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "remote_hangup"
        })]
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ok = response(&sent[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(
        vias(&ok),
        vec![
            "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPj3957fa7e-e830-4ddd-a7bb-9da77fcf52d9"
        ]
    );
    assert_eq!(message::cseq(&ok).unwrap(), (27960, Method::Bye));
    assert_eq!(
        message::call_id(&ok).unwrap(),
        message::call_id(&invite).unwrap()
    );
    assert_eq!(
        message::from_tag(&ok).unwrap().as_deref(),
        Some("856f08f2-506d-453c-abd1-d7248a2f6ab0")
    );
    assert_eq!(
        message::to_tag(&ok).unwrap(),
        message::from_tag(&invite).unwrap()
    );
    assert_eq!(h.ua.session_count(), 0);

    // Our 200 was lost: Asterisk retransmits the BYE (Timer E, 500 ms).
    h.advance(Duration::from_millis(500));
    h.receive(&bye);
    assert_eq!(h.sent(), vec![sent[0].clone()]);
    assert_eq!(h.events(21), vec![]);

    h.ua.hangup(h.now, 21);
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(21), vec![]);
    assert!(matches!(bye_parsed, SipMessage::Request(_)));
    h.assert_drains_to_nothing();
}

/// RFC 3261 §15: both sides hang up at once. Asterisk's BYE reaching us while our BYE is in
/// flight is still inside the dialog and gets 200 (not 481); the application hears one end.
#[test]
fn crossing_byes_are_both_answered() {
    let mut h = Harness::udp();
    let invite = answered(&mut h, 22);
    h.ua.hangup(h.now, 22);
    let our_bye = h.sent();
    assert_eq!(our_bye.len(), 1);
    assert_eq!(
        h.events(22),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "normal_clearing"
        })]
    );
    h.receive(&in_dialog_request(BYE, &invite));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(response(&sent[0]).status_code.code(), 200);
    assert_eq!(h.events(22), vec![]);
    // Asterisk answers our BYE too (its 200 for a BYE; the UA matches it on the branch).
    let our_bye = ua_common::request(&our_bye[0]);
    h.receive(&reply(
        "outbound-600-ulaw-06-ast2gw-200-ok-bye.sip",
        &our_bye,
    ));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(22), vec![]);
    h.assert_drains_to_nothing();
}
