//! A user unregisters (RFC 3261 §10.2.2: REGISTER with Expires 0 for our Contact), against
//! Asterisk 22's `register-alice` ladder (messages 07–10: the unREGISTER is challenged with a
//! new nonce, answered, and accepted with `Expires: 0`).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::auth::digest_params;
use gateway_sip::message;
use gateway_sip::ua::RegistrationState;
use rsip::{Method, Request};
use ua_common::{Harness, alice_harness, alice_params, header, one_register, reply};

fn registered(h: &mut Harness) -> Request {
    h.ua.register(h.now, "alice", alice_params(120));
    let first = one_register(&h.sent());
    h.receive(&reply(
        "register-alice-02-ast2alice-401-unauthorized-register.sip",
        &first,
    ));
    let authed = one_register(&h.sent());
    h.receive(&reply(
        "register-alice-04-ast2alice-200-ok-register.sip",
        &authed,
    ));
    assert!(matches!(
        h.registration_states("alice")[..],
        [RegistrationState::Registered { .. }]
    ));
    first
}

fn nonce(req: &Request) -> String {
    digest_params(&header(req, "Authorization").unwrap())
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "nonce")
        .unwrap()
        .1
}

/// §10.2.2: `Expires: 0` and `;expires=0` on our Contact, same Call-ID, next CSeq; the
/// challenge with a new nonce is answered (§22.2); Asterisk's 200 ends the registration:
/// `Unregistered`, and the user is forgotten.
#[test]
fn unregister_sends_expires_zero_and_forgets_the_user() {
    let mut h = alice_harness();
    let first = registered(&mut h);
    h.ua.unregister(h.now, "alice");
    let unregister = one_register(&h.sent());
    assert_eq!(message::cseq(&unregister).unwrap(), (3, Method::Register));
    assert_eq!(
        message::call_id(&unregister).unwrap(),
        message::call_id(&first).unwrap()
    );
    assert_eq!(header(&unregister, "Expires").as_deref(), Some("0"));
    assert_eq!(
        header(&unregister, "Contact").as_deref(),
        Some("<sip:alice@127.0.0.1:5071>;expires=0")
    );
    h.ua.unregister(h.now, "alice");
    assert_eq!(h.sent(), vec![], "already unregistering");

    h.receive(&reply(
        "register-alice-08-ast2alice-401-unauthorized-register.sip",
        &unregister,
    ));
    let authed = one_register(&h.sent());
    assert_eq!(message::cseq(&authed).unwrap(), (4, Method::Register));
    assert_eq!(header(&authed, "Expires").as_deref(), Some("0"));
    assert_eq!(
        nonce(&authed),
        "1795220312/95cd2294dae1daa40b57bfc63bc66b54"
    );
    assert_eq!(h.all_events(), vec![]);

    h.receive(&reply(
        "register-alice-10-ast2alice-200-ok-register.sip",
        &authed,
    ));
    assert_eq!(
        h.registration_states("alice"),
        vec![RegistrationState::Unregistered]
    );
    assert_eq!(h.ua.registration_count(), 0);
    h.ua.unregister(h.now, "alice");
    assert_eq!(h.sent(), vec![], "an unknown user has nothing to remove");
    assert_eq!(h.all_events(), vec![]);
    h.assert_drains_to_nothing();
}

/// §10.2: unregistering while the first REGISTER is unanswered waits for its final response
/// (no new REGISTER before it), then sends Expires 0 answering that response's challenge;
/// registering again afterwards starts a new registration.
#[test]
fn unregister_while_registering_and_register_again() {
    let mut h = alice_harness();
    h.ua.register(h.now, "alice", alice_params(120));
    let first = one_register(&h.sent());
    h.ua.unregister(h.now, "alice");
    assert_eq!(
        h.sent(),
        vec![],
        "not before the first REGISTER's final response"
    );
    h.receive(&reply(
        "register-alice-02-ast2alice-401-unauthorized-register.sip",
        &first,
    ));
    let unregister = one_register(&h.sent());
    assert_eq!(message::cseq(&unregister).unwrap(), (2, Method::Register));
    assert_eq!(header(&unregister, "Expires").as_deref(), Some("0"));
    assert_eq!(
        nonce(&unregister),
        "1795220308/12c36b628aee11b009706bbe39b9bd8b"
    );
    assert_eq!(h.all_events(), vec![]);
    h.receive(&reply(
        "register-alice-10-ast2alice-200-ok-register.sip",
        &unregister,
    ));
    assert_eq!(
        h.registration_states("alice"),
        vec![RegistrationState::Unregistered]
    );

    h.ua.register(h.now, "alice", alice_params(120));
    let again = one_register(&h.sent());
    assert_eq!(message::cseq(&again).unwrap(), (1, Method::Register));
    assert_ne!(
        message::call_id(&again).unwrap(),
        message::call_id(&first).unwrap(),
        "a new registration"
    );
    assert_eq!(h.ua.registration_count(), 1);
    h.ua.unregister(h.now, "alice");
    assert_eq!(h.sent(), vec![]);
    // A final response that is not a challenge: the unregister goes out bare.
    h.receive(&reply(
        "register-alice-10-ast2alice-200-ok-register.sip",
        &again,
    ));
    let unregister = one_register(&h.sent());
    assert_eq!(message::cseq(&unregister).unwrap(), (2, Method::Register));
    assert_eq!(header(&unregister, "Authorization"), None);
    h.receive(&reply(
        "register-alice-10-ast2alice-200-ok-register.sip",
        &unregister,
    ));
    assert_eq!(
        h.registration_states("alice"),
        vec![RegistrationState::Unregistered]
    );
    h.assert_drains_to_nothing();
}

/// An unREGISTER nobody answers still ends the registration after Timer F: the binding
/// will expire at the registrar anyway.
#[test]
fn unanswered_unregister_still_ends() {
    let mut h = alice_harness();
    registered(&mut h);
    h.ua.unregister(h.now, "alice");
    let _ = one_register(&h.sent());
    let out = h.advance(std::time::Duration::from_secs(32));
    let states: Vec<_> = ua_common::events_at(&out)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        states,
        vec![gateway_sip::ua::UaEvent::Registration {
            user: "alice".into(),
            state: RegistrationState::Unregistered
        }]
    );
    h.assert_drains_to_nothing();
}
