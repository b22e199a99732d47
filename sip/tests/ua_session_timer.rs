//! RFC 4028 session timers when the peer names a refresher: we refresh at half the interval
//! (§10) with UPDATE when the peer allows it (RFC 3311) or a re-INVITE with our unchanged SDP;
//! as the other side we end the call with BYE when no refresh came by
//! `interval - min(32, interval/3)` (§10). Built on the `outbound-609-update-from-asterisk`
//! answer and the `inbound-originate-gw` INVITE with their Session-Expires edited.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent, UaEvent};
use rsip::Method;
use ua_common::{
    Harness, OFFER, Output, capture, events_at, header, inbound_request, line, reply_from, request,
    response, sent_at,
};

const OK_609: &str = "outbound-609-update-from-asterisk-03-ast2gw-200-ok-invite-sdp.sip";

/// Answers our INVITE with the ladder's 200 carrying `Session-Expires: 1800;refresher=uac`,
/// with or without UPDATE in its Allow.
fn answered_with_timer(h: &mut Harness, handle: u64, allow_update: bool) -> rsip::Request {
    let invite = h.invite(handle, "609");
    let mut ok = capture(OK_609).replace(
        "Supported: 100rel, timer, replaces, norefersub\r\n",
        "Supported: 100rel, timer, replaces, norefersub\r\nSession-Expires: 1800;refresher=uac\r\n",
    );
    if !allow_update {
        ok = ok.replace("CANCEL, UPDATE, PRACK", "CANCEL, PRACK");
    }
    h.receive(&reply_from(&ok, &invite));
    assert!(matches!(
        h.events(handle)[..],
        [SessionEvent::Answered { .. }]
    ));
    assert_eq!(h.sent().len(), 1, "the ACK");
    invite
}

/// The one request among what `advance` produced.
fn one_request(out: &[(Duration, Output)]) -> (Duration, rsip::Request) {
    let sent = sent_at(out);
    assert_eq!(sent.len(), 1, "{out:?}");
    (sent[0].0, request(&sent[0].1))
}

/// RFC 4028 §10 / §7.4: refresher=uac on our call: an UPDATE without SDP at 900 s, naming the
/// interval and us as refresher; its 200 starts the next half interval.
#[test]
fn we_refresh_with_update_at_half_the_interval() {
    let mut h = Harness::udp();
    let invite = answered_with_timer(&mut h, 101, true);
    assert_eq!(h.advance(Duration::from_secs(899)), vec![]);
    let (at, update) = one_request(&h.advance(Duration::from_secs(1)));
    assert_eq!(at, Duration::from_secs(900));
    assert_eq!(line(&update).1, "UPDATE");
    assert_eq!(line(&update).2, (2, Method::Update));
    assert_eq!(
        message::to_tag(&update).unwrap().as_deref(),
        Some("38e5b60c-923b-4db1-8470-20e64580363b")
    );
    assert_eq!(
        message::from_tag(&update).unwrap(),
        message::from_tag(&invite).unwrap()
    );
    assert_eq!(
        header(&update, "Session-Expires").as_deref(),
        Some("1800;refresher=uac")
    );
    assert_eq!(
        header(&update, "Contact").as_deref(),
        Some("<sip:gwtest@127.0.0.1:5080>")
    );
    assert!(update.body.is_empty());
    let ok =
        capture("outbound-600-hold-reinvite-12-ast2gw-200-ok-bye.sip").replace(" BYE", " UPDATE");
    h.advance(Duration::from_millis(20));
    h.receive(&reply_from(&ok, &update));
    assert_eq!(h.events(101), vec![]);
    let (at, second) = one_request(&h.advance(Duration::from_secs(900)));
    assert_eq!(at, Duration::from_millis(1_800_020));
    assert_eq!(line(&second).2, (3, Method::Update));
    h.receive(&reply_from(&ok, &second));

    h.ua.hangup(h.now, 101);
    let bye = request(&h.sent()[0]);
    h.receive(&reply_from(
        &capture("outbound-600-hold-reinvite-12-ast2gw-200-ok-bye.sip"),
        &bye,
    ));
    assert!(matches!(h.events(101)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();
}

/// RFC 4028 §7.4: without UPDATE in the peer's Allow the refresh is a re-INVITE offering our
/// session unchanged (same SDP, same version, RFC 3264 §8); its answer is no news.
#[test]
fn we_refresh_with_reinvite_without_update() {
    let mut h = Harness::udp();
    answered_with_timer(&mut h, 102, false);
    let (at, reinvite) = one_request(&h.advance(Duration::from_secs(900)));
    assert_eq!(at, Duration::from_secs(900));
    assert_eq!(line(&reinvite).2, (2, Method::Invite));
    assert_eq!(reinvite.body, OFFER.as_bytes());
    h.receive(&reply_from(&capture(OK_609), &reinvite));
    assert_eq!(line(&request(&h.sent()[0])).2, (2, Method::Ack));
    assert_eq!(h.events(102), vec![], "the same answer again is not news");

    h.ua.hangup(h.now, 102);
    let bye = request(&h.sent()[0]);
    h.receive(&reply_from(
        &capture("outbound-600-hold-reinvite-12-ast2gw-200-ok-bye.sip"),
        &bye,
    ));
    let _ = h.events(102);
    h.assert_drains_to_nothing();
}

/// RFC 4028 §10: Asterisk's INVITE names itself (uac) refresher for 90 s: a refresh (its
/// UPDATE) restarts the wait; with none for 90 - 30 s we send BYE and the call ends with
/// `session_timer_expired`.
#[test]
fn no_refresh_from_the_refresher_ends_the_call() {
    let mut h = Harness::udp();
    let invite = capture("inbound-originate-gw-01-ast2gw-invite-sdp.sip")
        .replace("Session-Expires: 1800", "Session-Expires: 90;refresher=uac");
    h.receive(invite.as_bytes());
    let call = h.incoming();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let ok = response(&h.sent()[0]);
    let tag = message::to_tag(&ok).unwrap().unwrap();
    h.receive(&inbound_request(
        "inbound-originate-gw-04-ast2gw-ack.sip",
        &tag,
    ));
    assert!(matches!(
        h.events(call.handle)[..],
        [SessionEvent::Confirmed { .. }]
    ));

    // Asterisk refreshes at 45 s with an UPDATE (the one of the 609 ladder, in this dialog).
    assert_eq!(h.advance(Duration::from_secs(45)), vec![]);
    let update = capture("outbound-609-update-from-asterisk-05-ast2gw-update.sip")
        .replace("1-10057@127.0.0.1", "a83f6244-62b7-4efa-a22a-b6d93e2a7b7e")
        .replace("10057SIPpTag001", &tag)
        .replace(
            "38e5b60c-923b-4db1-8470-20e64580363b",
            "aea4c306-f28f-4674-b46f-0cf23d5951df",
        );
    h.receive(update.as_bytes());
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);

    // Then nothing: 60 s after that refresh, BYE.
    assert!(sent_at(&h.advance(Duration::from_secs(59))).is_empty());
    let out = h.advance(Duration::from_secs(1));
    let (at, bye) = one_request(&out);
    assert_eq!(at, Duration::from_secs(105));
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(message::from_tag(&bye).unwrap().as_deref(), Some(&*tag));
    assert_eq!(
        events_at(&out),
        vec![(
            Duration::from_secs(105),
            UaEvent::Session {
                handle: call.handle,
                event: SessionEvent::Ended(EndCause {
                    code: None,
                    reason: "session_timer_expired"
                })
            }
        )]
    );
    h.receive(&reply_from(
        &capture("outbound-600-hold-reinvite-12-ast2gw-200-ok-bye.sip"),
        &bye,
    ));
    assert_eq!(h.ua.poll_event(), None);
    h.assert_drains_to_nothing();
}
