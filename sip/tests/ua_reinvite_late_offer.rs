//! A re-INVITE without SDP in an inbound call (RFC 3261 §14.2, RFC 3264 §8): our 2xx carries
//! our current SDP as the offer, retransmitted until the ACK (§13.3.1.4), and the ACK's answer
//! reaches the application. Built on the `inbound-originate-gw` ladder, with Asterisk's
//! re-INVITE of `outbound-609-reinvite-from-asterisk` moved into its dialog.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::SessionEvent;
use rsip::Method;
use ua_common::{
    Harness, OFFER, capture, capture_body, header, inbound_request, response, sent_at, with_body,
};

const CALL_ID: &str = "a83f6244-62b7-4efa-a22a-b6d93e2a7b7e";
const ASTERISK_TAG: &str = "aea4c306-f28f-4674-b46f-0cf23d5951df";

/// The ladder's re-INVITE (or its ACK) moved into the inbound dialog with our `tag`.
fn moved(file: &str, tag: &str) -> String {
    capture(file)
        .replace("1-6290@127.0.0.1", CALL_ID)
        .replace("6290SIPpTag001", tag)
        .replace("b24db28b-0b07-4484-9cc0-4e93b979c6f3", ASTERISK_TAG)
}

/// RFC 3264 §8 / RFC 3261 §14.2: the 2xx offers our session as it stands (same version, so
/// unchanged), with our Contact for this user; §13.3.1.4 it is retransmitted until the ACK,
/// whose SDP is the answer the application hears of.
#[test]
fn reinvite_without_sdp_gets_our_offer_and_the_ack_answers() {
    let mut h = Harness::udp();
    h.receive(capture("inbound-originate-gw-01-ast2gw-invite-sdp.sip").as_bytes());
    let call = h.incoming();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let tag = message::to_tag(&response(&h.sent()[0])).unwrap().unwrap();
    h.receive(&inbound_request(
        "inbound-originate-gw-04-ast2gw-ack.sip",
        &tag,
    ));
    assert!(matches!(
        h.events(call.handle)[..],
        [SessionEvent::Confirmed { .. }]
    ));

    let reinvite = moved(
        "outbound-609-reinvite-from-asterisk-05-ast2gw-reinvite-sdp.sip",
        &tag,
    )
    .replace("Content-Type: application/sdp\r\n", "");
    h.receive(with_body(&reinvite, "").as_bytes());
    let ok = response(&h.sent()[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(message::cseq(&ok).unwrap(), (14953, Method::Invite));
    assert_eq!(message::to_tag(&ok).unwrap().as_deref(), Some(&*tag));
    assert_eq!(
        header(&ok, "Contact").as_deref(),
        Some("<sip:webuser@127.0.0.1:5080>")
    );
    assert_eq!(ok.body, OFFER.as_bytes(), "our session as it stands");
    assert_eq!(h.events(call.handle), vec![]);

    // No ACK yet: the 2xx goes again at T1 and 2*T1 (§13.3.1.4).
    let out = h.advance(Duration::from_millis(1500));
    let again = sent_at(&out);
    assert_eq!(again.len(), 2, "{out:?}");
    assert!(again.iter().all(|(_, m)| response(m) == ok));

    let answer =
        capture_body("outbound-609-reinvite-from-asterisk-03-ast2gw-200-ok-invite-sdp.sip");
    let ack = moved(
        "outbound-609-reinvite-from-asterisk-07-ast2gw-ack.sip",
        &tag,
    )
    .replace(
        "Content-Length:  0\r\n",
        "Content-Type: application/sdp\r\n",
    );
    h.receive(with_body(&ack, &answer).as_bytes());
    assert_eq!(h.sent(), vec![]);
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::RemoteSdp {
            sdp: answer,
            offer: false
        }]
    );
    assert!(
        sent_at(&h.advance(Duration::from_secs(10))).is_empty(),
        "the ACK stopped the 2xx"
    );

    h.receive(&inbound_request(
        "inbound-originate-gw-05-ast2gw-bye.sip",
        &tag,
    ));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert!(matches!(
        h.events(call.handle)[..],
        [SessionEvent::Ended(_)]
    ));
    h.assert_drains_to_nothing();
}
