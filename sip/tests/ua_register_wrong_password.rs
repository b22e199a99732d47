//! A user's password is wrong (RFC 3261 §22.2; Asterisk 22 answers the credentials with a
//! second 401 carrying the same nonce, never 403), against the `register-alice-wrong-password`
//! ladder.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::RegistrationState;
use rsip::Method;
use ua_common::{alice_harness, alice_params, header, one_register, reply, sent_at};

const CHALLENGE: &str = "register-alice-wrong-password-02-ast2alice-401-unauthorized-register.sip";
const REFUSED: &str = "register-alice-wrong-password-04-ast2alice-401-unauthorized-register.sip";

/// §22.2: a second 401 with the nonce we answered (not `stale`) is not retried: the user hears
/// `Failed { 401, "authentication failed" }` with the RFC 5626 §4.5 first backoff (30–60 s);
/// nothing is sent until then; the retry starts over with a bare REGISTER in the same Call-ID.
#[test]
fn second_401_with_same_nonce_fails_and_backs_off() {
    let mut h = alice_harness();
    h.ua.register(h.now, "alice", alice_params(120));
    let first = one_register(&h.sent());
    h.receive(&reply(CHALLENGE, &first));
    let authed = one_register(&h.sent());
    assert!(header(&authed, "Authorization").is_some());
    h.receive(&reply(REFUSED, &authed));
    assert_eq!(
        h.sent(),
        vec![],
        "no third attempt with the same credentials"
    );
    let retry_in = match &h.registration_states("alice")[..] {
        [
            RegistrationState::Failed {
                code: Some(401),
                reason,
                retry_in,
            },
        ] => {
            assert_eq!(reason, "authentication failed");
            *retry_in
        }
        other => panic!("{other:?}"),
    };
    assert!(
        (Duration::from_secs(30)..=Duration::from_secs(60)).contains(&retry_in),
        "{retry_in:?}"
    );

    let failed_at = h.elapsed();
    let out = h.advance(retry_in);
    let sent = sent_at(&out);
    assert_eq!(sent.len(), 1, "{out:?}");
    assert_eq!(sent[0].0, failed_at + retry_in);
    let retry = ua_common::request(&sent[0].1);
    assert_eq!(message::cseq(&retry).unwrap(), (3, Method::Register));
    assert_eq!(
        message::call_id(&retry).unwrap(),
        message::call_id(&first).unwrap()
    );
    assert_eq!(
        header(&retry, "Authorization"),
        None,
        "the refused challenge is forgotten"
    );

    // The same refusal again: the next wait doubles (60–120 s).
    h.receive(&reply(CHALLENGE, &retry));
    let authed = one_register(&h.sent());
    h.receive(&reply(REFUSED, &authed));
    match &h.registration_states("alice")[..] {
        [RegistrationState::Failed { retry_in, .. }] => assert!(
            (Duration::from_secs(60)..=Duration::from_secs(120)).contains(retry_in),
            "{retry_in:?}"
        ),
        other => panic!("{other:?}"),
    }

    // Giving up while waiting sends nothing: there is no binding to remove.
    h.ua.unregister(h.now, "alice");
    assert_eq!(h.sent(), vec![]);
    assert_eq!(
        h.registration_states("alice"),
        vec![RegistrationState::Unregistered]
    );
    h.assert_drains_to_nothing();
}
