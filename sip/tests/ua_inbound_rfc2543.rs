//! An inbound INVITE from an RFC 2543 peer (RFC 4475 §3.4.1 `inv2543`: no Via branch, no From
//! tag, no Contact, no Max-Forwards, no Content-Length) is offered like any other. Its server
//! transaction is matched by the RFC 2543 rules of RFC 3261 §17.2.3 (retransmissions, the ACK
//! by the To tag of our final response), and its dialog has a null remote tag (§12.1.1) and
//! the From URI as remote target, where RFC 2543 sent the BYE without a Contact.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent};
use rsip::Method;
use ua_common::{Harness, OFFER, header, line, request, response, sent_at, vias};

const CALLER: &str = "sip:+13035551111@ift.client.example.net;user=phone";

fn inv2543() -> Vec<u8> {
    let path = format!(
        "{}/tests/data/rfc4475/inv2543.dat",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap()
}

/// The ACK the RFC 2543 caller sends for our final response with To tag `tag`: the INVITE's
/// Request-URI, top Via, From, Call-ID and CSeq number (RFC 3261 §17.1.1.3).
fn ack(tag: &str) -> Vec<u8> {
    format!(
        "ACK sip:UserB@example.com SIP/2.0\r\nVia: SIP/2.0/UDP iftgw.example.com\r\n\
         From: <{CALLER}>\r\nTo: sip:+16505552222@ss1.example.net;user=phone;tag={tag}\r\n\
         Call-ID: inv2543.1717@ift.client.example.com\r\nCSeq: 56 ACK\r\n\r\n"
    )
    .into_bytes()
}

/// §17.2.3 / §17.2.1: rejected with 486; a retransmitted INVITE gets the 486 again and is not
/// offered twice; an ACK with another To tag is not ours, so Timer G goes on; the ACK with our
/// tag ends the retransmissions.
#[test]
fn rejected_invite_is_matched_by_rfc2543_rules() {
    let mut h = Harness::udp();
    h.receive(&inv2543());
    let call = h.incoming();
    assert_eq!(call.from_user, "+13035551111");
    assert_eq!(call.to_user, "UserB");
    assert!(call.sdp.is_some());
    h.ua.reject(h.now, call.handle, 486);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let busy = response(&sent[0]);
    assert_eq!(busy.status_code.code(), 486);
    assert_eq!(vias(&busy), vec!["SIP/2.0/UDP iftgw.example.com"]);
    assert_eq!(message::from_tag(&busy).unwrap(), None);
    let tag = message::to_tag(&busy).unwrap().unwrap();
    h.events(call.handle);

    h.receive(&inv2543());
    assert_eq!(h.sent(), vec![sent[0].clone()], "the 486 again");
    assert_eq!(h.ua.poll_event(), None, "not offered twice");
    assert_eq!(h.ua.transaction_count(), 1);

    h.receive(&ack("someone-else"));
    assert_eq!(h.sent(), vec![]);
    let out = h.advance(Duration::from_millis(500));
    assert_eq!(sent_at(&out).len(), 1, "Timer G still runs: {out:?}");

    h.receive(&ack(&tag));
    assert_eq!(h.sent(), vec![]);
    h.assert_drains_to_nothing();
}

/// §13.3.1.4: answered; the ACK (same top Via as the INVITE) confirms the call; our BYE goes
/// to the From URI with a To without tag (the caller's null tag) and the Record-Route as Route.
#[test]
fn answered_invite_is_confirmed_and_hung_up() {
    let mut h = Harness::udp();
    h.receive(&inv2543());
    let call = h.incoming();
    h.ua.answer(h.now, call.handle, OFFER).unwrap();
    let sent = h.sent();
    let ok = response(&sent[0]);
    assert_eq!(ok.status_code.code(), 200);
    let tag = message::to_tag(&ok).unwrap().unwrap();
    h.receive(&ack(&tag));
    assert_eq!(h.sent(), vec![], "the ACK stops the 2xx retransmissions");
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Confirmed { sdp: None }]
    );

    h.ua.hangup(h.now, call.handle);
    assert_eq!(
        h.events(call.handle),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "normal_clearing"
        })]
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let bye = request(&sent[0]);
    assert_eq!(line(&bye), (CALLER.into(), "BYE".into(), (1, Method::Bye)));
    assert_eq!(header(&bye, "To").as_deref(), Some(&*format!("<{CALLER}>")));
    assert_eq!(message::from_tag(&bye).unwrap().as_deref(), Some(&*tag));
    assert_eq!(
        header(&bye, "Route").as_deref(),
        Some("<sip:UserB@example.com;maddr=ss1.example.com>")
    );
    let bye_ok = message::response_for(&bye, 200, None, None);
    h.receive(&message::to_bytes(&bye_ok.into()));
    assert_eq!(h.sent(), vec![]);
    h.assert_drains_to_nothing();
}
