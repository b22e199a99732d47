//! Our 2xx to an inbound INVITE is never acknowledged (RFC 3261 §13.3.1.4): retransmitted with
//! T1 doubling up to T2, and at 64*T1 the session is ended with a BYE.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent, UaEvent};
use rsip::Method;
use ua_common::{Harness, OFFER, capture, events_at, line, reply, request, response, sent_at};

const INVITE: &str = "inbound-dial-9webuser-gw-03-ast2gw-invite-sdp.sip";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// §13.3.1.4: the 200 goes out at 0 and again at 0.5, 1.5, 3.5, 7.5 s, then every T2 (4 s)
/// until 64*T1 = 32 s; then `no_ack` is reported and a BYE (first CSeq of our side of the
/// dialog, to the INVITE's Contact) ends the dialog; its 200 frees everything.
#[test]
fn unacknowledged_200_is_retransmitted_then_bye_at_64_t1() {
    let mut h = Harness::udp();
    h.receive(capture(INVITE).as_bytes());
    let call = h.incoming();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let ok = h.sent();
    assert_eq!(ok.len(), 1);
    let tag = message::to_tag(&response(&ok[0])).unwrap().unwrap();

    let out = h.advance(Duration::from_secs(32));
    let sent = sent_at(&out);
    let (resent, rest): (Vec<_>, Vec<_>) = sent.into_iter().partition(|(_, m)| *m == ok[0]);
    let times: Vec<Duration> = resent.iter().map(|(at, _)| *at).collect();
    assert_eq!(
        times,
        vec![
            ms(500),
            ms(1500),
            ms(3500),
            ms(7500),
            ms(11_500),
            ms(15_500),
            ms(19_500),
            ms(23_500),
            ms(27_500),
            ms(31_500)
        ]
    );
    assert_eq!(rest.len(), 1, "one BYE: {rest:?}");
    assert_eq!(rest[0].0, ms(32_000));
    let bye = request(&rest[0].1);
    assert_eq!(
        line(&bye),
        (
            "sip:asterisk@127.0.0.1:5060".into(),
            "BYE".into(),
            (1, Method::Bye)
        )
    );
    assert_eq!(message::from_tag(&bye).unwrap().as_deref(), Some(&*tag));
    assert_eq!(
        message::to_tag(&bye).unwrap().as_deref(),
        Some("f2a7baad-7f94-4ee0-9638-62da505b6696")
    );
    assert_eq!(
        events_at(&out),
        vec![(
            ms(32_000),
            UaEvent::Session {
                handle: call.handle,
                event: SessionEvent::Ended(EndCause {
                    code: None,
                    reason: "no_ack"
                })
            }
        )]
    );
    assert_eq!(h.ua.session_count(), 1, "until the BYE is answered");
    h.receive(&reply("outbound-600-ulaw-06-ast2gw-200-ok-bye.sip", &bye));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.ua.session_count(), 0);
    h.assert_drains_to_nothing();
}

/// Over TCP the 200 is not retransmitted (§13.3.1.4 applies to unreliable transports), but
/// the ACK is still awaited for 64*T1; a BYE that gets no answer times out and frees the call.
#[test]
fn tcp_200_is_sent_once_and_unanswered_bye_times_out() {
    let mut h = Harness::new(ua_common::config(gateway_sip::ua::Transport::Tcp));
    h.ua.handle_message(
        h.now,
        ua_common::addr(ua_common::ASTERISK),
        gateway_sip::ua::Transport::Tcp,
        capture(INVITE)
            .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
            .as_bytes(),
    );
    let call = h.incoming();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    assert_eq!(h.sent().len(), 1);
    let out = h.advance(Duration::from_secs(40));
    let sent = sent_at(&out);
    assert_eq!(sent.len(), 1, "only the BYE: {sent:?}");
    assert_eq!(sent[0].0, ms(32_000));
    assert!(ua_common::vias(&request(&sent[0].1))[0].starts_with("SIP/2.0/TCP "));
    assert_eq!(events_at(&out).len(), 1);
    let out = h.advance(Duration::from_secs(40));
    assert_eq!(out, vec![], "the BYE's Timer F ends it quietly");
    assert_eq!(h.ua.session_count(), 0);
    h.assert_drains_to_nothing();
}
