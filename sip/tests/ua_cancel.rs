//! Hanging up a call that has not been answered: CANCEL (RFC 3261 §9.1), against Asterisk 22's
//! `outbound-607-cancel` ladder (100, 180, CANCEL, 200 for CANCEL, 487, ACK).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent};
use rsip::{Method, Request};
use ua_common::{Harness, Output, line, reply, request};

const TRYING: &str = "outbound-607-cancel-02-ast2gw-100-trying-invite.sip";
const RINGING: &str = "outbound-607-cancel-03-ast2gw-180-ringing-invite.sip";
const CANCEL_OK: &str = "outbound-607-cancel-05-ast2gw-200-ok-cancel.sip";
const TERMINATED: &str = "outbound-607-cancel-06-ast2gw-487-request-terminated-invite.sip";

fn cancelled() -> SessionEvent {
    SessionEvent::Ended(EndCause {
        code: None,
        reason: "cancelled",
    })
}

/// RFC 3261 §9.1: the CANCEL has the INVITE's Request-URI, top Via (same branch), From, To
/// (no tag), Call-ID and CSeq number, with method CANCEL.
fn assert_cancels(cancel: &Request, invite: &Request) {
    assert_eq!(
        line(cancel),
        (
            "sip:607@127.0.0.1".into(),
            "CANCEL".into(),
            (1, Method::Cancel)
        )
    );
    assert_eq!(
        message::top_via_branch(cancel).unwrap(),
        message::top_via_branch(invite).unwrap()
    );
    assert_eq!(
        message::call_id(cancel).unwrap(),
        message::call_id(invite).unwrap()
    );
    assert_eq!(
        message::from_tag(cancel).unwrap(),
        message::from_tag(invite).unwrap()
    );
    assert_eq!(message::to_tag(cancel).unwrap(), None);
}

/// Asterisk confirms the CANCEL and ends the INVITE with 487, which the INVITE transaction ACKs
/// (§17.1.1.3); no second end is reported, and Timers D and K then free everything.
fn finish_cancel(h: &mut Harness, handle: u64, invite: &Request, cancel: &Request) {
    h.receive(&reply(CANCEL_OK, cancel));
    assert_eq!(h.sent(), vec![]);
    h.receive(&reply(TERMINATED, invite));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ack = request(&sent[0]);
    assert_eq!(
        line(&ack),
        ("sip:607@127.0.0.1".into(), "ACK".into(), (1, Method::Ack))
    );
    assert_eq!(
        message::top_via_branch(&ack).unwrap(),
        message::top_via_branch(invite).unwrap()
    );
    assert_eq!(
        message::to_tag(&ack).unwrap().as_deref(),
        Some("c170777c-db86-4b00-a326-7b5fb8c9e3a0")
    );
    assert_eq!(
        h.events(handle),
        vec![],
        "the end was reported at the hangup"
    );
    assert_eq!(h.ua.session_count(), 0);
    h.assert_drains_to_nothing();
}

/// RFC 3261 §9.1: after a 180 the hangup sends CANCEL at once and reports the end at once.
#[test]
fn hangup_while_ringing_sends_cancel() {
    let mut h = Harness::udp();
    let invite = h.invite(7, "607");
    h.receive(&reply(TRYING, &invite));
    h.receive(&reply(RINGING, &invite));
    assert!(matches!(
        h.events(7)[..],
        [SessionEvent::Provisional { code: 180, .. }]
    ));
    h.advance(Duration::from_secs(3));
    h.ua.hangup(h.now, 7);
    assert_eq!(h.events(7), vec![cancelled()]);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let cancel = request(&sent[0]);
    assert_cancels(&cancel, &invite);
    // A second hangup changes nothing.
    h.ua.hangup(h.now, 7);
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(7), vec![]);
    finish_cancel(&mut h, 7, &invite, &cancel);
}

/// RFC 3261 §9.1: "a CANCEL request SHOULD NOT be sent to cancel an INVITE until a provisional
/// response is received" — 100 Trying is one, so after it the hangup cancels at once.
#[test]
fn hangup_after_100_trying_sends_cancel() {
    let mut h = Harness::udp();
    let invite = h.invite(7, "607");
    h.receive(&reply(TRYING, &invite));
    assert_eq!(h.events(7), vec![], "100 is not reported");
    h.ua.hangup(h.now, 7);
    assert_eq!(h.events(7), vec![cancelled()]);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let cancel = request(&sent[0]);
    assert_cancels(&cancel, &invite);
    // The 180 that was already on its way is neither reported nor cancelled twice.
    h.receive(&reply(RINGING, &invite));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(7), vec![]);
    finish_cancel(&mut h, 7, &invite, &cancel);
}

/// RFC 3261 §9.1: with no response yet the CANCEL must wait; the end is reported at once and
/// the CANCEL leaves with the first provisional response, be it a 100 or a 180 (no Provisional
/// event after the hangup).
#[test]
fn hangup_before_any_response_cancels_on_first_provisional() {
    for first in [TRYING, RINGING] {
        let mut h = Harness::udp();
        let invite = h.invite(7, "607");
        h.ua.hangup(h.now, 7);
        assert_eq!(h.events(7), vec![cancelled()]);
        assert_eq!(h.sent(), vec![], "no CANCEL before a provisional response");
        h.receive(&reply(first, &invite));
        let sent = h.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        let cancel = request(&sent[0]);
        assert_cancels(&cancel, &invite);
        assert_eq!(h.events(7), vec![]);
        finish_cancel(&mut h, 7, &invite, &cancel);
    }
}

/// RFC 3261 §17.1.1.2: a hung-up INVITE that never gets any response is not left hanging:
/// Timer B ends its transaction at 64*T1 and the session goes with it, with no second event.
#[test]
fn hangup_with_no_response_ever_is_cleaned_up_by_timer_b() {
    let mut h = Harness::udp();
    let invite = h.invite(7, "607");
    h.ua.hangup(h.now, 7);
    assert_eq!(h.events(7), vec![cancelled()]);
    let out = h.advance(Duration::from_secs(40));
    assert!(
        out.iter().all(
            |(at, o)| matches!(o, Output::Sent(m) if *m == invite.clone().into())
                && *at < Duration::from_secs(32)
        ),
        "only INVITE retransmissions: {out:?}"
    );
    assert_eq!(h.ua.session_count(), 0);
    h.assert_drains_to_nothing();
}

/// RFC 3261 §9.1: "If there is no final response for the original request in 64*T1 seconds
/// ... the client SHOULD then consider the original transaction cancelled and SHOULD destroy
/// the client transaction handling the original request."
#[test]
fn cancelled_invite_without_final_response_is_destroyed_after_64_t1() {
    let mut h = Harness::udp();
    let invite = h.invite(7, "607");
    h.receive(&reply(RINGING, &invite));
    let _ = h.events(7);
    h.advance(Duration::from_secs(1));
    h.ua.hangup(h.now, 7);
    let cancel = request(&h.sent()[0]);
    h.receive(&reply(CANCEL_OK, &cancel));
    assert_eq!(h.events(7), vec![cancelled()]);
    let out = h.advance(Duration::from_secs(31));
    assert_eq!(out, vec![]);
    assert_eq!(h.ua.session_count(), 1, "still waiting for the 487");
    let out = h.advance(Duration::from_secs(2));
    assert_eq!(out, vec![], "giving up is silent");
    assert_eq!(h.ua.session_count(), 0);
    h.assert_drains_to_nothing();
    // A late 487 finds nothing and is dropped without a reply.
    h.receive(&reply(TERMINATED, &invite));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.ua.transaction_count(), 0);
}
