//! Digest authentication of the INVITE (RFC 3261 §22.2 and §8.1.3.5, RFC 2617 §3.2.2), against
//! Asterisk 22's `invite-alice-digest-auth` ladder: a stateless 401 whose To-tag is the Via
//! branch, the ACK for it, and the retried INVITE that Asterisk answers.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::auth::digest_params;
use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent, Transport};
use md5::{Digest, Md5};
use rsip::{Method, Request};
use ua_common::{Harness, OFFER, PASSWORD, config_for, header, line, reply, request};

const CHALLENGE_401: &str = "invite-alice-digest-auth-02-ast2alice-401-unauthorized-invite.sip";

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

fn alice() -> Harness {
    Harness::new(config_for("alice", "127.0.0.1:5072", Transport::Udp))
}

/// The 407 variant of the captured 401: Asterisk challenges with 401, so a proxy challenge is
/// the same response with the proxy's status and header names (RFC 3261 §22.3).
fn as_407(bytes: Vec<u8>) -> Vec<u8> {
    String::from_utf8(bytes)
        .unwrap()
        .replace(
            "SIP/2.0 401 Unauthorized",
            "SIP/2.0 407 Proxy Authentication Required",
        )
        .replace("WWW-Authenticate:", "Proxy-Authenticate:")
        .into_bytes()
}

/// Checks `retry` against the first INVITE and returns its credentials header's parameters after
/// recomputing `response` independently (RFC 2617 §3.2.2.1, MD5 with qop=auth).
fn check_retry(first: &Request, retry: &Request, header_name: &str) -> Vec<(String, String)> {
    assert_eq!(
        line(retry),
        (
            "sip:600@127.0.0.1".into(),
            "INVITE".into(),
            (2, Method::Invite)
        )
    );
    assert_eq!(
        message::call_id(retry).unwrap(),
        message::call_id(first).unwrap()
    );
    assert_eq!(
        message::from_tag(retry).unwrap(),
        message::from_tag(first).unwrap()
    );
    assert_eq!(message::to_tag(retry).unwrap(), None);
    assert_ne!(
        message::top_via_branch(retry).unwrap(),
        message::top_via_branch(first).unwrap(),
        "§8.1.3.5: the retry is a new transaction"
    );
    assert_eq!(retry.body, OFFER.as_bytes());
    let value = header(retry, header_name).unwrap_or_else(|| panic!("no {header_name}: {retry}"));
    let params = digest_params(&value).unwrap();
    let p = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {value}"))
    };
    assert_eq!(p("username"), "alice");
    assert_eq!(p("realm"), "asterisk");
    assert_eq!(p("nonce"), "1795220314/7d562099e0402960f008f95f1d8d13d7");
    assert_eq!(p("opaque"), "6c6e4be46250e470");
    assert_eq!(
        p("uri"),
        "sip:600@127.0.0.1",
        "the digest-uri is the Request-URI"
    );
    assert_eq!(p("qop"), "auth");
    assert_eq!(p("nc"), "00000001");
    assert!(p("algorithm").eq_ignore_ascii_case("MD5"));
    let cnonce = p("cnonce");
    assert!(!cnonce.is_empty());
    let ha1 = md5_hex(&format!("alice:asterisk:{PASSWORD}"));
    let ha2 = md5_hex(&format!("INVITE:{}", p("uri")));
    let expected = md5_hex(&format!(
        "{ha1}:{}:{}:{cnonce}:auth:{ha2}",
        p("nonce"),
        p("nc")
    ));
    assert_eq!(p("response"), expected);
    params
}

/// RFC 3261 §22.2 / §17.1.1.3: the 401 is ACKed (To-tag = the branch, as Asterisk sends it
/// statelessly), the INVITE is retried once with credentials, and the 200 answers the call.
#[test]
fn invite_401_retried_with_credentials_then_answered() {
    let mut h = alice();
    let first = h.invite(3, "600");
    let challenge = reply(CHALLENGE_401, &first);
    h.receive(&challenge);
    assert_eq!(
        h.events(3),
        vec![],
        "a challenge is not the end of the call"
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 2, "ACK for the 401, then the retry: {sent:?}");
    let ack = request(&sent[0]);
    assert_eq!(
        line(&ack),
        ("sip:600@127.0.0.1".into(), "ACK".into(), (1, Method::Ack))
    );
    let branch = message::top_via_branch(&first).unwrap();
    assert_eq!(message::top_via_branch(&ack).unwrap(), branch);
    assert_eq!(message::to_tag(&ack).unwrap(), Some(branch));
    let retry = request(&sent[1]);
    check_retry(&first, &retry, "Authorization");
    assert!(header(&retry, "Proxy-Authorization").is_none());

    // A retransmitted 401 is absorbed by the first transaction (ACKed again), not retried.
    h.receive(&challenge);
    assert_eq!(h.sent(), vec![sent[0].clone()]);

    h.receive(&reply(
        "invite-alice-digest-auth-05-ast2alice-100-trying-invite.sip",
        &retry,
    ));
    let ok = reply(
        "invite-alice-digest-auth-06-ast2alice-200-ok-invite-sdp.sip",
        &retry,
    );
    h.receive(&ok);
    let events = h.events(3);
    assert!(
        matches!(&events[..], [SessionEvent::Answered { sdp: Some(s) }] if s.contains("m=audio 20044")),
        "{events:?}"
    );
    let ack = request(&h.sent()[0]);
    assert_eq!(
        line(&ack),
        ("sip:127.0.0.1:5060".into(), "ACK".into(), (2, Method::Ack))
    );

    h.ua.hangup(h.now, 3);
    let bye = request(&h.sent()[0]);
    assert_eq!(message::cseq(&bye).unwrap(), (3, Method::Bye));
    h.receive(&reply(
        "invite-alice-digest-auth-09-ast2alice-200-ok-bye.sip",
        &bye,
    ));
    let _ = h.events(3);
    h.assert_drains_to_nothing();
}

/// RFC 3261 §22.2: credentials Asterisk rejects again end the call with 401 instead of
/// looping (compare `register-alice-wrong-password`).
#[test]
fn second_401_ends_the_call() {
    let mut h = alice();
    let first = h.invite(3, "600");
    h.receive(&reply(CHALLENGE_401, &first));
    let retry = request(&h.sent()[1]);
    h.receive(&reply(CHALLENGE_401, &retry));
    assert_eq!(
        h.events(3),
        vec![SessionEvent::Ended(EndCause {
            code: Some(401),
            reason: "forbidden"
        })]
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "only the ACK, no third INVITE: {sent:?}");
    let ack = request(&sent[0]);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(
        message::top_via_branch(&ack).unwrap(),
        message::top_via_branch(&retry).unwrap()
    );
    assert_eq!(message::cseq(&ack).unwrap(), (2, Method::Ack));
    h.assert_drains_to_nothing();
}

/// RFC 3261 §22.3: a 407 gets `Proxy-Authorization` with the same digest computation.
#[test]
fn invite_407_retried_with_proxy_authorization() {
    let mut h = alice();
    let first = h.invite(8, "600");
    h.receive(&as_407(reply(CHALLENGE_401, &first)));
    let sent = h.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(request(&sent[0]).method, Method::Ack);
    let retry = request(&sent[1]);
    check_retry(&first, &retry, "Proxy-Authorization");
    assert!(header(&retry, "Authorization").is_none());
    h.receive(&reply(
        "invite-alice-digest-auth-06-ast2alice-200-ok-invite-sdp.sip",
        &retry,
    ));
    assert!(matches!(h.events(8)[..], [SessionEvent::Answered { .. }]));
}

/// RFC 3261 §22.2: a 401 without a usable challenge ends the call with its code.
#[test]
fn unusable_challenge_ends_the_call() {
    let mut h = alice();
    let first = h.invite(2, "600");
    let bytes = String::from_utf8(reply(CHALLENGE_401, &first))
        .unwrap()
        .replace("WWW-Authenticate: Digest", "WWW-Authenticate: Basic")
        .into_bytes();
    h.receive(&bytes);
    assert_eq!(
        h.events(2),
        vec![SessionEvent::Ended(EndCause {
            code: Some(401),
            reason: "forbidden"
        })]
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(request(&sent[0]).method, Method::Ack);
    h.assert_drains_to_nothing();
}
