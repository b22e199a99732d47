//! The OPTIONS keepalive to Asterisk (RFC 3261 §11.1), against Asterisk 22's `options-from-gw`
//! ladder: any response means the proxy is reachable; Timer F (§17.1.2.2) means it is not.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::UaEvent;
use rsip::Method;
use ua_common::{Harness, events_at, header, line, reply, request, sent_at};

const OK: &str = "options-from-gw-02-ast2gw-200-ok-options.sip";

fn ping(h: &mut Harness) -> rsip::Request {
    h.ua.options_ping(h.now);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    request(&sent[0])
}

/// §11.1: OPTIONS to `sip:<domain>` with From (our user and a tag), To, Contact and
/// `Accept: application/sdp`, as the captured SIPp ping; Asterisk's 200 reports the proxy
/// reachable; each ping is a new Call-ID.
#[test]
fn answered_ping_reports_reachable() {
    let mut h = Harness::udp();
    let options = ping(&mut h);
    assert_eq!(
        line(&options),
        (
            "sip:127.0.0.1".into(),
            "OPTIONS".into(),
            (1, Method::Options)
        )
    );
    assert!(
        header(&options, "From")
            .unwrap()
            .starts_with("<sip:gwtest@127.0.0.1>;tag=")
    );
    assert_eq!(header(&options, "To").as_deref(), Some("<sip:127.0.0.1>"));
    assert_eq!(
        header(&options, "Contact").as_deref(),
        Some("<sip:gwtest@127.0.0.1:5080>")
    );
    assert_eq!(
        header(&options, "Accept").as_deref(),
        Some("application/sdp")
    );
    h.receive(&reply(OK, &options));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(
        h.all_events(),
        vec![UaEvent::ProxyStatus {
            reachable: true,
            code: Some(200)
        }]
    );
    // A retransmitted 200 is absorbed by the transaction.
    h.receive(&reply(OK, &options));
    assert_eq!(h.all_events(), vec![]);

    let second = ping(&mut h);
    assert_ne!(
        message::call_id(&second).unwrap(),
        message::call_id(&options).unwrap()
    );
    // Any final response, even a refusal, proves Asterisk is there.
    let refused = ua_common::capture(OK).replace("SIP/2.0 200 OK", "SIP/2.0 404 Not Found");
    h.receive(&ua_common::reply_from(&refused, &second));
    assert_eq!(
        h.all_events(),
        vec![UaEvent::ProxyStatus {
            reachable: true,
            code: Some(404)
        }]
    );
    h.assert_drains_to_nothing();
}

/// §17.1.2.2: an unanswered OPTIONS is retransmitted by Timer E and given up at Timer F
/// (64*T1): the proxy is reported unreachable, once.
#[test]
fn unanswered_ping_reports_unreachable() {
    let mut h = Harness::udp();
    let options = ping(&mut h);
    let out = h.advance(Duration::from_secs(40));
    let resent = sent_at(&out);
    assert!(resent.len() >= 5, "{out:?}");
    assert!(resent.iter().all(|(_, m)| request(m) == options));
    assert_eq!(
        events_at(&out),
        vec![(
            Duration::from_secs(32),
            UaEvent::ProxyStatus {
                reachable: false,
                code: None
            }
        )]
    );
    h.assert_drains_to_nothing();
}
