//! An inbound call rung, answered and hung up by Asterisk (RFC 3261 §13.3.1 UAS processing of
//! an INVITE, §13.3.1.4 the 2xx retransmitted until the ACK, §15.1.2 BYE), against Asterisk
//! 22's `inbound-dial-9webuser-gw` ladder: `9webuser` dialled, Asterisk calls the gateway.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, INBOUND_HANDLE_BASE, SessionEvent, UaEvent};
use rsip::{Method, SipMessage};
use ua_common::{
    Harness, OFFER, Output, addr, capture, capture_body, header, inbound_request, response,
    sent_at, vias,
};

const INVITE: &str = "inbound-dial-9webuser-gw-03-ast2gw-invite-sdp.sip";
const ACK: &str = "inbound-dial-9webuser-gw-07-ast2gw-ack.sip";
const BYE: &str = "inbound-dial-9webuser-gw-12-ast2gw-bye.sip";
const VIA: &str =
    "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPjee54105f-fa1b-4cc2-af91-700ac054f1c1";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// §8.2.6 / §13.3.1: the INVITE is offered to the application with the caller, the callee
/// (Request-URI user) and the offer; 100 Trying goes out by itself after 200 ms (§17.2.1);
/// 180 and 200 carry our To-tag and Contact, the 200 our SDP and Allow; the 200 is
/// retransmitted at T1, 2T1, 4T1 until the ACK (§13.3.1.4), which confirms the session; the
/// BYE of Asterisk is answered 200 and ends it.
#[test]
fn inbound_call_rung_answered_confirmed_and_ended_by_asterisk() {
    let mut h = Harness::udp();
    h.receive(capture(INVITE).as_bytes());
    assert_eq!(h.sent(), vec![]);
    let call = h.incoming();
    assert!(call.handle >= INBOUND_HANDLE_BASE, "{call:?}");
    assert_eq!(call.sip_call_id, "ac5eb61b-ec6b-427d-8115-f4899d95959e");
    assert_eq!(call.from_user, "gwtest");
    assert_eq!(call.from_display.as_deref(), Some("Gateway Test"));
    assert_eq!(call.to_user, "webuser");
    assert_eq!(call.source, addr("127.0.0.1:5060"));
    assert_eq!(call.sdp.as_deref(), Some(&*capture_body(INVITE)));
    assert_eq!(h.ua.session_count(), 1);

    let out = h.advance(ms(200));
    let trying = sent_at(&out);
    assert_eq!(trying.len(), 1, "{out:?}");
    assert_eq!(response(&trying[0].1).status_code.code(), 100);

    h.ua.ring(h.now, call.handle);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ringing = response(&sent[0]);
    assert_eq!(ringing.status_code.code(), 180);
    assert_eq!(vias(&ringing), vec![VIA]);
    assert_eq!(message::cseq(&ringing).unwrap(), (24553, Method::Invite));
    let tag = message::to_tag(&ringing).unwrap().unwrap();
    assert_eq!(
        header(&ringing, "Contact").as_deref(),
        Some("<sip:webuser@127.0.0.1:5080>")
    );
    h.ua.ring(h.now, call.handle);
    assert_eq!(h.sent(), vec![], "one 180 is enough");

    h.advance(ms(2000));
    let answered_at = h.elapsed();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ok = response(&sent[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(vias(&ok), vec![VIA]);
    assert_eq!(message::to_tag(&ok).unwrap().as_deref(), Some(&*tag));
    assert_eq!(
        message::from_tag(&ok).unwrap().as_deref(),
        Some("f2a7baad-7f94-4ee0-9638-62da505b6696")
    );
    assert_eq!(
        header(&ok, "Contact").as_deref(),
        Some("<sip:webuser@127.0.0.1:5080>")
    );
    assert_eq!(
        header(&ok, "Allow").as_deref(),
        Some("INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO")
    );
    assert_eq!(
        header(&ok, "Content-Type").as_deref(),
        Some("application/sdp")
    );
    assert_eq!(ok.body, OFFER.as_bytes());
    assert_eq!(
        h.ua.answer(h.now, call.handle, OFFER),
        Err(gateway_sip::ua::UaError::NotOffered(call.handle))
    );

    // No ACK yet: the UA retransmits the 200 itself (the transaction leaves it to the TU).
    let out = h.advance(answered_at + ms(3600));
    let resent: Vec<Duration> = sent_at(&out)
        .into_iter()
        .map(|(at, m)| {
            assert_eq!(m, sent[0]);
            at - answered_at
        })
        .collect();
    assert_eq!(resent, vec![ms(500), ms(1500), ms(3500)]);
    // A retransmitted INVITE gets the 200 too (§13.3.1.4).
    h.receive(capture(INVITE).as_bytes());
    assert_eq!(h.sent(), vec![sent[0].clone()]);

    h.receive(&inbound_request(ACK, &tag));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Confirmed { sdp: None }]
    );
    assert_eq!(
        h.advance(Duration::from_secs(10)),
        vec![],
        "the ACK stops the retransmissions"
    );
    h.receive(&inbound_request(ACK, &tag));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(call.handle), vec![], "a repeated ACK is not news");

    h.receive(&inbound_request(BYE, &tag));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let bye_ok = response(&sent[0]);
    assert_eq!(bye_ok.status_code.code(), 200);
    assert_eq!(message::cseq(&bye_ok).unwrap(), (24554, Method::Bye));
    assert_eq!(message::to_tag(&bye_ok).unwrap().as_deref(), Some(&*tag));
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "remote_hangup"
        })]
    );
    assert_eq!(h.ua.session_count(), 0);
    h.ua.hangup(h.now, call.handle);
    assert_eq!(h.sent(), vec![], "nothing left to hang up");
    h.assert_drains_to_nothing();
}

/// RFC 3261 §17.2.1: an application that takes its time gets 100 Trying sent for it, once;
/// the call then waits for the application as long as it takes (no timer ends it).
#[test]
fn slow_application_gets_one_100_trying_and_no_timeout() {
    let mut h = Harness::udp();
    h.receive(capture(INVITE).as_bytes());
    let call = h.incoming();
    let out = h.advance(Duration::from_secs(120));
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(matches!(
        &out[0],
        (at, Output::Sent(SipMessage::Response(r))) if *at == ms(200) && r.status_code.code() == 100
    ));
    // The retransmitted INVITE gets the 100 again (§17.2.1).
    h.receive(capture(INVITE).as_bytes());
    assert_eq!(response(&h.sent()[0]).status_code.code(), 100);
    assert_eq!(h.ua.session_count(), 1);
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let tag = message::to_tag(&response(&h.sent()[0])).unwrap().unwrap();
    h.receive(&inbound_request(ACK, &tag));
    assert!(matches!(
        &h.all_events()[..],
        [UaEvent::Session {
            event: SessionEvent::Confirmed { sdp: None },
            ..
        }]
    ));
    h.receive(&inbound_request(BYE, &tag));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    let _ = h.events(call.handle);
    h.assert_drains_to_nothing();
}

/// Asterisk's INVITE to a REGISTERED contact (`inbound-dial-700-alice`): the Request-URI is the
/// Contact alice registered, so its user is the callee.
#[test]
fn invite_to_a_registered_contact_names_its_user() {
    let mut h = Harness::new(ua_common::config_for(
        "gwtest",
        "127.0.0.1:5071",
        gateway_sip::ua::Transport::Udp,
    ));
    h.receive(capture("inbound-dial-700-alice-09-ast2alice-invite-sdp.sip").as_bytes());
    let call = h.incoming();
    assert_eq!(call.to_user, "alice");
    assert_eq!(call.from_user, "gwtest");
    h.ua.ring(h.now, call.handle);
    let ringing = response(&h.sent()[0]);
    assert_eq!(
        header(&ringing, "Contact").as_deref(),
        Some("<sip:alice@127.0.0.1:5071>")
    );
    let tag = message::to_tag(&ringing).unwrap().unwrap();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let _ = h.sent();
    h.receive(&inbound_request(
        "inbound-dial-700-alice-13-ast2alice-ack.sip",
        &tag,
    ));
    h.receive(&inbound_request(
        "inbound-dial-700-alice-18-ast2alice-bye.sip",
        &tag,
    ));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert_eq!(
        h.events(call.handle),
        vec![
            SessionEvent::Confirmed { sdp: None },
            SessionEvent::Ended(EndCause {
                code: None,
                reason: "remote_hangup"
            })
        ]
    );
    h.assert_drains_to_nothing();
}
