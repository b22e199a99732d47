//! The gateway hangs up an answered inbound call (RFC 3261 §15.1.1 BYE from the UAS side of the
//! dialog, §12.2.1.1 requests within a dialog), against Asterisk 22's `inbound-originate-gw`
//! ladder.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent};
use rsip::Method;
use ua_common::{Harness, OFFER, capture, header, inbound_request, line, reply, request, response};

const INVITE: &str = "inbound-originate-gw-01-ast2gw-invite-sdp.sip";
const ACK: &str = "inbound-originate-gw-04-ast2gw-ack.sip";
const BYE_OK: &str = "outbound-600-ulaw-06-ast2gw-200-ok-bye.sip";
const ASTERISK_TAG: &str = "aea4c306-f28f-4674-b46f-0cf23d5951df";

fn normal_clearing() -> SessionEvent {
    SessionEvent::Ended(EndCause {
        code: None,
        reason: "normal_clearing",
    })
}

/// Answers `invite` and returns our To-tag (no ACK yet).
fn answer(h: &mut Harness, invite: &str) -> (u64, String) {
    h.receive(invite.as_bytes());
    let call = h.incoming();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let tag = message::to_tag(&response(&h.sent()[0])).unwrap().unwrap();
    (call.handle, tag)
}

/// §12.2.1.1 / §15.1.1: our BYE goes to the INVITE's Contact with our To-tag as From-tag,
/// Asterisk's From (and tag) as To, the INVITE's Call-ID and our first CSeq; the application
/// hears `normal_clearing` at once; Asterisk's 200 frees the call.
#[test]
fn hangup_after_ack_sends_bye() {
    let mut h = Harness::udp();
    let (handle, tag) = answer(&mut h, &capture(INVITE));
    h.receive(&inbound_request(ACK, &tag));
    assert_eq!(
        h.events(handle),
        vec![SessionEvent::Confirmed { sdp: None }]
    );
    h.ua.hangup(h.now, handle);
    assert_eq!(h.events(handle), vec![normal_clearing()]);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let bye = request(&sent[0]);
    assert_eq!(
        line(&bye),
        (
            "sip:asterisk@127.0.0.1:5060".into(),
            "BYE".into(),
            (1, Method::Bye)
        )
    );
    assert_eq!(
        header(&bye, "From").as_deref(),
        Some(&*format!("<sip:webuser@127.0.0.1>;tag={tag}"))
    );
    assert_eq!(
        message::to_tag(&bye).unwrap().as_deref(),
        Some(ASTERISK_TAG)
    );
    assert!(
        header(&bye, "To").unwrap().contains("<sip:5000@127.0.0.1>"),
        "{bye}"
    );
    assert_eq!(
        message::call_id(&bye).unwrap(),
        "a83f6244-62b7-4efa-a22a-b6d93e2a7b7e"
    );
    assert!(header(&bye, "Route").is_none());
    h.ua.hangup(h.now, handle);
    assert_eq!(h.sent(), vec![], "one BYE");

    h.receive(&reply(BYE_OK, &bye));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(handle), vec![]);
    assert_eq!(h.ua.session_count(), 0);
    h.assert_drains_to_nothing();
}

/// §15: a UAS must not send BYE before the ACK of its 2xx: a hangup between the 200 and the
/// ACK is reported at once, and the BYE leaves when the ACK arrives (no `Confirmed` then).
#[test]
fn hangup_before_ack_waits_for_it() {
    let mut h = Harness::udp();
    let (handle, tag) = answer(&mut h, &capture(INVITE));
    h.ua.hangup(h.now, handle);
    assert_eq!(h.events(handle), vec![normal_clearing()]);
    assert_eq!(h.sent(), vec![], "no BYE before the ACK");
    h.receive(&inbound_request(ACK, &tag));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let bye = request(&sent[0]);
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(h.events(handle), vec![]);
    h.receive(&reply(BYE_OK, &bye));
    h.assert_drains_to_nothing();
}

/// §12.1.1: the UAS's route set is the INVITE's Record-Route in order, and §12.2.1.1 puts it
/// in Route headers of our BYE (loose routing: the Request-URI stays the remote target).
#[test]
fn bye_follows_the_record_route_in_order() {
    let mut h = Harness::udp();
    let invite = capture(INVITE).replace(
        "Contact: <sip:asterisk@127.0.0.1:5060>\r\n",
        "Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\r\n\
         Record-Route: <sip:p3.example;lr>\r\nContact: <sip:asterisk@127.0.0.1:5060>\r\n",
    );
    let (handle, tag) = answer(&mut h, &invite);
    h.receive(&inbound_request(ACK, &tag));
    h.ua.hangup(h.now, handle);
    let bye = request(&h.sent()[0]);
    let routes: Vec<String> = bye
        .headers
        .iter()
        .filter_map(|hd| match hd {
            rsip::Header::Route(r) => Some(rsip::headers::UntypedHeader::value(r).to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        routes,
        vec![
            "<sip:p1.example;lr>",
            "<sip:p2.example;lr>",
            "<sip:p3.example;lr>"
        ]
    );
    assert_eq!(bye.uri.to_string(), "sip:asterisk@127.0.0.1:5060");
    h.receive(&reply(BYE_OK, &bye));
    let _ = h.events(handle);
    h.assert_drains_to_nothing();
}

/// §14.2: a re-INVITE in the inbound dialog is answered 200 with our SDP; the call goes on.
#[test]
fn reinvite_in_inbound_dialog_gets_our_sdp() {
    let mut h = Harness::udp();
    let (handle, tag) = answer(&mut h, &capture(INVITE));
    h.receive(&inbound_request(ACK, &tag));
    let _ = h.events(handle);
    let reinvite = capture(INVITE)
        .replace(
            "To: <sip:webuser@127.0.0.1>",
            &format!("To: <sip:webuser@127.0.0.1>;tag={tag}"),
        )
        .replace("CSeq: 1413 INVITE", "CSeq: 1414 INVITE")
        .replace("z9hG4bKPj", "z9hG4bKPjre");
    h.receive(reinvite.as_bytes());
    let ok = response(&h.sent()[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(message::cseq(&ok).unwrap(), (1414, Method::Invite));
    assert_eq!(ok.body, OFFER.as_bytes());
    assert_eq!(h.events(handle), vec![]);
    assert_eq!(h.ua.session_count(), 1);
    h.ua.hangup(h.now, handle);
    let bye = request(&h.sent()[0]);
    assert_eq!(message::cseq(&bye).unwrap(), (1, Method::Bye));
    h.receive(&reply(BYE_OK, &bye));
    assert_eq!(h.events(handle), vec![normal_clearing()]);
    h.assert_drains_to_nothing();
}
