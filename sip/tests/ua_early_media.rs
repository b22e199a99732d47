//! Early media: 183 Session Progress with SDP before the answer (RFC 3261 §13.2.2.1, RFC 3960
//! §3), with Asterisk 22's `outbound-608-early-media` ladder (100, 183, 183 again, 200, BYE).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent};
use ua_common::{Harness, in_dialog_request, reply, request, response};

/// Each 183 reaches the application with its SDP; the 200 answers; Asterisk's BYE ends it.
#[test]
fn session_progress_sdp_is_reported_then_answered() {
    let mut h = Harness::udp();
    let invite = h.invite(61, "608");
    h.receive(&reply(
        "outbound-608-early-media-02-ast2gw-100-trying-invite.sip",
        &invite,
    ));
    let progress = reply(
        "outbound-608-early-media-03-ast2gw-183-session-progress-invite-sdp.sip",
        &invite,
    );
    let early_sdp = String::from_utf8(response(&message::parse(&progress).unwrap()).body).unwrap();
    assert!(early_sdp.starts_with("v=0\r\n"));
    h.receive(&progress);
    h.receive(&reply(
        "outbound-608-early-media-04-ast2gw-183-session-progress-invite-sdp.sip",
        &invite,
    ));
    let provisional = SessionEvent::Provisional {
        code: 183,
        sdp: Some(early_sdp),
    };
    assert_eq!(h.events(61), vec![provisional.clone(), provisional]);
    assert_eq!(h.sent(), vec![], "no PRACK: 100rel was not required");

    h.receive(&reply(
        "outbound-608-early-media-05-ast2gw-200-ok-invite-sdp.sip",
        &invite,
    ));
    assert!(matches!(
        h.events(61)[..],
        [SessionEvent::Answered { sdp: Some(_) }]
    ));
    assert_eq!(request(&h.sent()[0]).method, rsip::Method::Ack);

    h.receive(&in_dialog_request(
        "outbound-608-early-media-07-ast2gw-bye.sip",
        &invite,
    ));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert_eq!(
        h.events(61),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "remote_hangup"
        })]
    );
    h.assert_drains_to_nothing();
}
