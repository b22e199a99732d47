//! Registration failures are retried with the RFC 5626 §4.5 backoff: wait-time =
//! min(1800 s, 30 s * 2^consecutive-failures), then a random 50–100 % of it from the injected
//! RNG; a success resets the count. The timeout is RFC 3261 §17.1.2.2 Timer F; the 503 is
//! the status line Asterisk 22 sent in `outbound-606-congestion`, on its REGISTER 401.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::ua::{RegistrationState, UaEvent};
use ua_common::{
    Harness, alice_harness, alice_params, capture, events_at, one_register, reply, reply_from,
    request, sent_at,
};

/// Asterisk's 503 status line on its REGISTER response (the 401 without its challenge).
fn unavailable() -> String {
    let status = capture("outbound-606-congestion-03-ast2gw-503-service-unavailable-invite.sip");
    let status_line = status.lines().next().unwrap().to_owned();
    let challenge = capture("register-alice-02-ast2alice-401-unauthorized-register.sip");
    let www = challenge
        .split_inclusive("\r\n")
        .find(|l| l.starts_with("WWW-Authenticate:"))
        .unwrap();
    challenge
        .replace(www, "")
        .replace("SIP/2.0 401 Unauthorized", &status_line)
}

fn failed(h: &mut Harness) -> (Option<u16>, String, Duration) {
    failure(&h.registration_states("alice"))
}

fn failure(states: &[RegistrationState]) -> (Option<u16>, String, Duration) {
    match states {
        [
            RegistrationState::Failed {
                code,
                reason,
                retry_in,
            },
        ] => (*code, reason.clone(), *retry_in),
        other => panic!("{other:?}"),
    }
}

/// Runs a timeout, then eight 503s, then a success, then one more 503; returns every
/// `retry_in` reported.
fn run() -> Vec<Duration> {
    let mut h = alice_harness();
    h.ua.register(h.now, "alice", alice_params(120));
    let mut register = one_register(&h.sent());
    // Timer F: no answer at all for 64*T1.
    let out = h.advance(Duration::from_secs(32));
    assert!(sent_at(&out).len() >= 5, "Timer E retransmits: {out:?}");
    let states: Vec<RegistrationState> = events_at(&out)
        .into_iter()
        .map(|(_, e)| match e {
            UaEvent::Registration { state, .. } => state,
            other => panic!("{other:?}"),
        })
        .collect();
    let (code, reason, first) = failure(&states);
    assert_eq!((code, reason.as_str()), (None, "timeout"));
    let mut waits = vec![first];
    for _ in 0..8 {
        let out = h.advance(*waits.last().unwrap());
        let sent = sent_at(&out);
        let next = request(&sent.last().unwrap().1);
        assert!(
            ua_common::message_cseq(&next) > ua_common::message_cseq(&register),
            "a new REGISTER"
        );
        register = next;
        h.receive(&reply_from(&unavailable(), &register));
        let (code, reason, wait) = failed(&mut h);
        assert_eq!((code, reason.as_str()), (Some(503), "Service Unavailable"));
        waits.push(wait);
    }
    // A success resets the count: the next failure waits 30–60 s again.
    let out = h.advance(*waits.last().unwrap());
    register = request(&sent_at(&out).last().unwrap().1);
    h.receive(&reply(
        "register-alice-04-ast2alice-200-ok-register.sip",
        &register,
    ));
    assert!(matches!(
        h.registration_states("alice")[..],
        [RegistrationState::Registered { .. }]
    ));
    let out = h.advance(Duration::from_millis(95_200));
    register = request(&sent_at(&out).last().unwrap().1);
    h.receive(&reply_from(&unavailable(), &register));
    waits.push(failed(&mut h).2);
    h.ua.unregister(h.now, "alice");
    assert_eq!(
        h.registration_states("alice"),
        vec![RegistrationState::Unregistered]
    );
    h.assert_drains_to_nothing();
    waits
}

/// RFC 5626 §4.5: each consecutive failure doubles the upper bound (60, 120, 240, 480, 960 s)
/// until the 1800 s cap; the wait is between half the bound and the bound; after a success the
/// first bound applies again. The same seed gives the same waits.
#[test]
fn retry_waits_double_cap_and_reset() {
    let waits = run();
    assert_eq!(waits.len(), 10);
    let bounds: Vec<u64> = [1u32, 2, 3, 4, 5, 6, 7, 8, 9, 1]
        .iter()
        .map(|n| (30u64 << n).min(1800))
        .collect();
    for (wait, bound) in waits.iter().zip(&bounds) {
        assert!(
            *wait >= Duration::from_secs(bound / 2) && *wait <= Duration::from_secs(*bound),
            "{wait:?} not within [{}, {bound}] s: {waits:?}",
            bound / 2
        );
    }
    assert!(waits[6..9].iter().all(|w| *w >= Duration::from_secs(900)));
    assert_eq!(run(), waits, "deterministic with the seeded RNG");
}
