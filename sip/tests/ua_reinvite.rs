//! Asterisk re-INVITEs an answered call (RFC 3261 §14.2 UAS behaviour for a re-INVITE,
//! §13.3.1.4 the 2xx, RFC 6026 §7.1 the Accepted server transaction), with Asterisk 22's
//! `outbound-609-reinvite-from-asterisk` ladder.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent};
use rsip::Method;
use ua_common::{Harness, OFFER, header, in_dialog_request, reply, response, vias};

/// RFC 3261 §14.2: the re-INVITE is answered 200 with our (unchanged) SDP, our Contact and the
/// dialog's tags; the call stays up; a retransmitted re-INVITE gets the 200 again (our 200 was
/// lost, §13.3.1.4); Asterisk's ACK and later BYE end the exchange normally.
#[test]
fn reinvite_from_asterisk_is_answered_and_the_call_stays_up() {
    let mut h = Harness::udp();
    let invite = h.invite(51, "609");
    h.receive(&reply(
        "outbound-609-reinvite-from-asterisk-02-ast2gw-100-trying-invite.sip",
        &invite,
    ));
    h.receive(&reply(
        "outbound-609-reinvite-from-asterisk-03-ast2gw-200-ok-invite-sdp.sip",
        &invite,
    ));
    assert!(matches!(h.events(51)[..], [SessionEvent::Answered { .. }]));
    assert_eq!(h.sent().len(), 1, "the ACK");
    h.advance(Duration::from_secs(2));

    let reinvite = in_dialog_request(
        "outbound-609-reinvite-from-asterisk-05-ast2gw-reinvite-sdp.sip",
        &invite,
    );
    h.receive(&reinvite);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ok = response(&sent[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(
        vias(&ok),
        vec![
            "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPj1e978a37-6677-4c1e-93ca-22f006120d0c"
        ]
    );
    assert_eq!(message::cseq(&ok).unwrap(), (14953, Method::Invite));
    assert_eq!(
        message::call_id(&ok).unwrap(),
        message::call_id(&invite).unwrap()
    );
    assert_eq!(
        message::to_tag(&ok).unwrap(),
        message::from_tag(&invite).unwrap()
    );
    assert_eq!(
        message::from_tag(&ok).unwrap().as_deref(),
        Some("b24db28b-0b07-4484-9cc0-4e93b979c6f3")
    );
    assert_eq!(
        header(&ok, "Contact").as_deref(),
        Some("<sip:gwtest@127.0.0.1:5080>")
    );
    assert_eq!(
        header(&ok, "Content-Type").as_deref(),
        Some("application/sdp")
    );
    assert_eq!(ok.body, OFFER.as_bytes());
    assert_eq!(h.events(51), vec![], "a re-INVITE does not end the call");

    // Our 200 was lost: Asterisk retransmits the re-INVITE and must get the 200 again.
    h.advance(Duration::from_millis(500));
    h.receive(&reinvite);
    assert_eq!(h.sent(), sent);

    h.receive(&in_dialog_request(
        "outbound-609-reinvite-from-asterisk-07-ast2gw-ack.sip",
        &invite,
    ));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(51), vec![]);
    assert_eq!(h.ua.session_count(), 1);

    // Long after (Timer L is over), the call is still up and Asterisk hangs up.
    assert_eq!(h.advance(Duration::from_secs(60)), vec![]);
    assert_eq!(h.ua.session_count(), 1);
    assert_eq!(h.ua.transaction_count(), 0);
    h.receive(&in_dialog_request(
        "outbound-609-reinvite-from-asterisk-08-ast2gw-bye.sip",
        &invite,
    ));
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    let bye_ok = response(&sent[0]);
    assert_eq!(bye_ok.status_code.code(), 200);
    assert_eq!(message::cseq(&bye_ok).unwrap(), (14954, Method::Bye));
    assert_eq!(
        h.events(51),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "remote_hangup"
        })]
    );
    h.assert_drains_to_nothing();
}
