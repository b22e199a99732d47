//! A user registers (RFC 3261 §10.2 REGISTER, §22.2 digest answer to a 401, §10.2.4 refresh
//! before the granted expiry), against Asterisk 22's `register-alice` ladder.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::collections::HashMap;
use std::time::Duration;

use gateway_sip::auth::digest_params;
use gateway_sip::message;
use gateway_sip::ua::RegistrationState;
use md5::{Digest, Md5};
use rsip::{Method, Request};
use ua_common::{
    PASSWORD, alice_harness, alice_params, capture, header, line, one_register, reply, reply_from,
    request, sent_at,
};

const CHALLENGE: &str = "register-alice-02-ast2alice-401-unauthorized-register.sip";
const OK: &str = "register-alice-04-ast2alice-200-ok-register.sip";
const NONCE: &str = "1795220308/12c36b628aee11b009706bbe39b9bd8b";

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// The Authorization parameters of `req`.
fn authorization(req: &Request) -> HashMap<String, String> {
    digest_params(&header(req, "Authorization").expect("Authorization"))
        .unwrap()
        .into_iter()
        .collect()
}

fn registered(secs: u64) -> RegistrationState {
    RegistrationState::Registered {
        expires: Duration::from_secs(secs),
    }
}

/// §10.2: the first REGISTER goes to `sip:<domain>` with the AOR in From and To, our Contact
/// and the asked Expires; §22.2 / RFC 2617 §3.2.2: the 401 is answered with the same Call-ID,
/// CSeq 2 and a digest the test recomputes (MD5, qop=auth, uri = Request-URI); the 200 granting
/// `Expires: 60` reports Registered(60 s); §10.2.4: the refresh leaves at 80 % of it (48 s),
/// same Call-ID, CSeq 3, answering the cached challenge with the next nonce count.
#[test]
fn challenge_registered_and_refreshed_before_expiry() {
    let mut h = alice_harness();
    h.ua.register(h.now, "alice", alice_params(120));
    let first = one_register(&h.sent());
    assert_eq!(
        line(&first),
        (
            "sip:127.0.0.1".into(),
            "REGISTER".into(),
            (1, Method::Register)
        )
    );
    assert_eq!(
        header(&first, "To").as_deref(),
        Some("<sip:alice@127.0.0.1>")
    );
    let from_tag = message::from_tag(&first).unwrap().unwrap();
    assert!(
        header(&first, "From")
            .unwrap()
            .starts_with("<sip:alice@127.0.0.1>;tag=")
    );
    assert_eq!(
        header(&first, "Contact").as_deref(),
        Some("<sip:alice@127.0.0.1:5071>")
    );
    assert_eq!(header(&first, "Expires").as_deref(), Some("120"));
    assert_eq!(header(&first, "Authorization"), None);
    let call_id = message::call_id(&first).unwrap().to_owned();
    assert_eq!(h.ua.registration_count(), 1);

    h.receive(&reply(CHALLENGE, &first));
    let authed = one_register(&h.sent());
    assert_eq!(message::cseq(&authed).unwrap(), (2, Method::Register));
    assert_eq!(message::call_id(&authed).unwrap(), call_id);
    assert_eq!(
        message::from_tag(&authed).unwrap().as_deref(),
        Some(&*from_tag)
    );
    assert_ne!(
        message::top_via_branch(&authed).unwrap(),
        message::top_via_branch(&first).unwrap()
    );
    let auth = authorization(&authed);
    assert_eq!(auth["username"], "alice");
    assert_eq!(auth["realm"], "asterisk");
    assert_eq!(auth["nonce"], NONCE);
    assert_eq!(auth["uri"], "sip:127.0.0.1");
    assert_eq!(auth["qop"], "auth");
    assert_eq!(auth["nc"], "00000001");
    assert_eq!(auth["opaque"], "395e833954f8d7b8");
    assert_eq!(auth["algorithm"], "MD5");
    let ha1 = md5_hex(&format!("alice:asterisk:{PASSWORD}"));
    let ha2 = md5_hex("REGISTER:sip:127.0.0.1");
    let expected = md5_hex(&format!(
        "{ha1}:{NONCE}:00000001:{}:auth:{ha2}",
        auth["cnonce"]
    ));
    assert_eq!(auth["response"], expected);
    assert_eq!(h.all_events(), vec![]);

    // The registrar of the CI scenario grants 60 s.
    let ok = capture(OK)
        .replace(";expires=119", ";expires=60")
        .replace("Expires: 120", "Expires: 60");
    h.receive(&reply_from(&ok, &authed));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.registration_states("alice"), vec![registered(60)]);

    assert_eq!(h.advance(Duration::from_millis(47_999)), vec![]);
    let out = h.advance(Duration::from_millis(1));
    assert_eq!(out.len(), 1, "{out:?}");
    let sent: Vec<_> = sent_at(&out).into_iter().map(|(_, m)| m).collect();
    let refresh = one_register(&sent);
    assert_eq!(message::cseq(&refresh).unwrap(), (3, Method::Register));
    assert_eq!(message::call_id(&refresh).unwrap(), call_id);
    let auth = authorization(&refresh);
    assert_eq!(
        (auth["nonce"].as_str(), auth["nc"].as_str()),
        (NONCE, "00000002")
    );
    h.receive(&reply_from(&ok, &refresh));
    assert_eq!(h.all_events(), vec![], "the same grant again is not news");
    let refreshed_at = h.elapsed();
    let out = h.advance(Duration::from_secs(48));
    let next: Vec<Duration> = sent_at(&out)
        .iter()
        .map(|(at, _)| *at - refreshed_at)
        .collect();
    assert_eq!(
        next,
        vec![Duration::from_secs(48)],
        "the next refresh, 48 s later"
    );
    let refresh = one_register(
        &sent_at(&out)
            .into_iter()
            .map(|(_, m)| m)
            .collect::<Vec<_>>(),
    );
    h.receive(&reply_from(&ok, &refresh));

    // Leave nothing behind: unregister (Asterisk accepts the cached credentials).
    h.ua.unregister(h.now, "alice");
    let unregister = one_register(&h.sent());
    h.receive(&reply(
        "register-alice-10-ast2alice-200-ok-register.sip",
        &unregister,
    ));
    assert_eq!(
        h.registration_states("alice"),
        vec![RegistrationState::Unregistered]
    );
    assert_eq!(h.ua.registration_count(), 0);
    h.assert_drains_to_nothing();
}

/// §10.2.4: the granted expiry is our Contact's `expires` parameter (Asterisk grants 119 s of
/// the 120 asked, and echoes the Contact without `transport`), even with `Expires: 120`.
#[test]
fn granted_expiry_is_our_contacts() {
    let mut h = alice_harness();
    h.ua.register(h.now, "alice", alice_params(120));
    let first = one_register(&h.sent());
    h.receive(&reply(CHALLENGE, &first));
    let authed = one_register(&h.sent());
    h.receive(&reply(OK, &authed));
    assert_eq!(h.registration_states("alice"), vec![registered(119)]);
    let out = h.advance(Duration::from_millis(95_200));
    let sent = sent_at(&out);
    assert_eq!(sent.len(), 1, "{out:?}");
    assert_eq!(sent[0].0, Duration::from_millis(95_200), "80 % of 119 s");
    let refresh = request(&sent[0].1);
    // register() again with the same parameters is a no-op.
    h.ua.register(h.now, "alice", alice_params(120));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.all_events(), vec![]);
    // New parameters register again — after the refresh in flight (§10.2).
    h.ua.register(h.now, "alice", alice_params(300));
    assert_eq!(h.sent(), vec![]);
    h.receive(&reply(OK, &refresh));
    let again = one_register(&h.sent());
    assert_eq!(message::cseq(&again).unwrap(), (4, Method::Register));
    assert_eq!(header(&again, "Expires").as_deref(), Some("300"));
    h.receive(&reply(OK, &again));
    assert_eq!(
        h.registration_states("alice"),
        vec![registered(119)],
        "new parameters: the state is reported again"
    );
    h.ua.unregister(h.now, "alice");
    let unregister = one_register(&h.sent());
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
