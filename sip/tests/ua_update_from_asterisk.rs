//! Asterisk's UPDATE in an answered call (RFC 3311 §5.2), with Asterisk 22's
//! `outbound-609-update-from-asterisk` ladder: since UPDATE is in our Allow, Asterisk sends an
//! UPDATE without SDP (a session refresh, RFC 4028 §7.4), which gets 200 without SDP; an UPDATE
//! with an offer is answered from our state like a re-INVITE.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::message;
use gateway_sip::sdp::{Direction, SipSdp};
use gateway_sip::ua::SessionEvent;
use rsip::Method;
use ua_common::{Harness, header, in_dialog_request, reply, response, vias, with_body};

/// RFC 3311 §5.2: 200 to the UPDATE, with our Contact and no body; nothing for the
/// application; RFC 3311 §5.1 / RFC 3264 §8: an UPDATE offering hold gets our recvonly answer.
#[test]
fn update_without_sdp_refreshes_and_update_with_sdp_is_answered() {
    let mut h = Harness::udp();
    let invite = h.invite(71, "609");
    let allow = ua_common::header(&invite, "Allow").unwrap();
    assert!(
        allow.contains("UPDATE") && allow.contains("INFO"),
        "{allow}"
    );
    h.receive(&reply(
        "outbound-609-update-from-asterisk-02-ast2gw-100-trying-invite.sip",
        &invite,
    ));
    h.receive(&reply(
        "outbound-609-update-from-asterisk-03-ast2gw-200-ok-invite-sdp.sip",
        &invite,
    ));
    assert!(matches!(h.events(71)[..], [SessionEvent::Answered { .. }]));
    assert_eq!(h.sent().len(), 1, "the ACK");

    let update = in_dialog_request(
        "outbound-609-update-from-asterisk-05-ast2gw-update.sip",
        &invite,
    );
    h.receive(&update);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ok = response(&sent[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(message::cseq(&ok).unwrap(), (32496, Method::Update));
    assert_eq!(
        vias(&ok),
        vec![
            "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPj39151124-5881-4373-8299-7699903c5f41"
        ]
    );
    assert_eq!(
        message::to_tag(&ok).unwrap(),
        message::from_tag(&invite).unwrap()
    );
    assert_eq!(
        header(&ok, "Contact").as_deref(),
        Some("<sip:gwtest@127.0.0.1:5080>")
    );
    assert!(ok.body.is_empty());
    assert_eq!(h.events(71), vec![]);

    // An UPDATE carrying an offer (hold) in the same dialog.
    let sdp = ua_common::capture_body(
        "outbound-609-update-from-asterisk-03-ast2gw-200-ok-invite-sdp.sip",
    )
    .replace("2353687639", "2353687640")
    .replace("a=sendrecv", "a=sendonly");
    let text = String::from_utf8(update)
        .unwrap()
        .replace("CSeq: 32496 UPDATE", "CSeq: 32497 UPDATE")
        .replace("z9hG4bKPj39151124", "z9hG4bKPjsecond00")
        .replace(
            "Content-Length:  0\r\n",
            "Content-Type: application/sdp\r\n",
        );
    h.receive(with_body(&text, &sdp).as_bytes());
    let ok = response(&h.sent()[0]);
    assert_eq!(ok.status_code.code(), 200);
    let ours = SipSdp::parse(std::str::from_utf8(&ok.body).unwrap()).unwrap();
    assert_eq!(ours.audio.unwrap().direction, Direction::RecvOnly);
    assert_eq!(
        h.events(71),
        vec![SessionEvent::RemoteSdp { sdp, offer: true }]
    );

    let bye = String::from_utf8(in_dialog_request(
        "outbound-609-update-from-asterisk-07-ast2gw-bye.sip",
        &invite,
    ))
    .unwrap()
    .replace("CSeq: 32497 BYE", "CSeq: 32498 BYE");
    h.receive(bye.as_bytes());
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert!(matches!(h.events(71)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();
}
