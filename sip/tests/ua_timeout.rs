//! An INVITE nobody answers (RFC 3261 §17.1.1.2: Timer A retransmits over UDP, Timer B ends
//! the transaction at 64*T1; §8.1.3.1: a transaction timeout is treated as a 408).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::ua::{EndCause, SessionEvent, Transport, UaEvent};
use rsip::SipMessage;
use ua_common::{Harness, Output, config};

fn timeout() -> SessionEvent {
    SessionEvent::Ended(EndCause {
        code: Some(408),
        reason: "timeout",
    })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// RFC 3261 §17.1.1.2: over UDP the INVITE goes out again at 0.5, 1.5, 3.5, 7.5, 15.5 and
/// 31.5 s (Timer A doubling from T1, no cap), byte for byte; at 32 s Timer B gives up and the
/// application hears 408.
#[test]
fn udp_invite_is_retransmitted_then_times_out_with_408() {
    let mut h = Harness::udp();
    let invite = SipMessage::Request(h.invite(31, "600"));
    let out = h.advance(Duration::from_secs(40));
    let resent: Vec<Duration> = out
        .iter()
        .filter_map(|(at, o)| match o {
            Output::Sent(m) => {
                assert_eq!(*m, invite, "a retransmission is the same INVITE");
                Some(*at)
            }
            Output::Event(_) => None,
        })
        .collect();
    assert_eq!(
        resent,
        vec![
            ms(500),
            ms(1500),
            ms(3500),
            ms(7500),
            ms(15_500),
            ms(31_500)
        ]
    );
    let events: Vec<(Duration, UaEvent)> = out
        .into_iter()
        .filter_map(|(at, o)| match o {
            Output::Event(e) => Some((at, e)),
            Output::Sent(_) => None,
        })
        .collect();
    assert_eq!(
        events,
        vec![(
            ms(32_000),
            UaEvent::Session {
                handle: 31,
                event: timeout()
            }
        )]
    );
    assert_eq!(h.ua.session_count(), 0);
    h.assert_drains_to_nothing();
}

/// RFC 3261 §17.1.1.2: over a reliable transport Timer A is not armed — no retransmission —
/// but Timer B still ends the call with 408 at 64*T1.
#[test]
fn tcp_invite_is_not_retransmitted_and_times_out_with_408() {
    let mut h = Harness::new(config(Transport::Tcp));
    let invite = h.invite(32, "600");
    assert!(
        ua_common::vias(&invite)[0].starts_with("SIP/2.0/TCP "),
        "{invite}"
    );
    assert_eq!(
        ua_common::header(&invite, "Contact").as_deref(),
        Some("<sip:gwtest@127.0.0.1:5080;transport=tcp>")
    );
    let out = h.advance(Duration::from_secs(40));
    assert_eq!(
        out,
        vec![(
            ms(32_000),
            Output::Event(UaEvent::Session {
                handle: 32,
                event: timeout()
            })
        )]
    );
    h.assert_drains_to_nothing();
}

/// RFC 3261 §17.1.1.2: a provisional response stops Timer A and Timer B — the call may ring
/// for longer than 32 s (ending it is the application's business).
#[test]
fn ringing_call_does_not_time_out() {
    let mut h = Harness::udp();
    let invite = h.invite(33, "607");
    h.receive(&ua_common::reply(
        "outbound-607-cancel-03-ast2gw-180-ringing-invite.sip",
        &invite,
    ));
    assert_eq!(h.events(33).len(), 1);
    assert_eq!(h.advance(Duration::from_secs(120)), vec![]);
    assert_eq!(h.ua.session_count(), 1);
    assert_eq!(h.ua.transaction_count(), 1);
}
