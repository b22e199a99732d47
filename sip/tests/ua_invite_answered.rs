//! An outbound call answered and hung up by the gateway (RFC 3261 §13.2.1 INVITE, §13.2.2.4
//! ACK for 2xx, §15.1.1 BYE), against Asterisk 22's `outbound-600-ulaw` ladder plus the 180 of
//! `outbound-607-cancel`.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{EndCause, SessionEvent};
use rsip::Method;
use ua_common::{Harness, OFFER, Output, header, line, reply, request, response, vias};

/// RFC 3261 §8.1.1 / §13.2.1: the INVITE carries the R-URI, a Via with a magic-cookie branch
/// and `rport` (RFC 3581), a From tag, a Contact and the SDP offer; §13.2.2.4: each 2xx
/// (first and retransmitted) is ACKed to the 2xx's Contact with its To-tag and the INVITE's
/// CSeq number; §15.1.1: BYE goes in the dialog with the next CSeq.
#[test]
fn invite_ringing_answered_acked_and_hung_up() {
    let mut h = Harness::udp();
    let invite = h.invite(1, "600");
    let (uri, method, cseq) = line(&invite);
    assert_eq!(uri, "sip:600@127.0.0.1");
    assert_eq!(method, "INVITE");
    assert_eq!(cseq, (1, Method::Invite));
    let via = vias(&invite);
    assert_eq!(via.len(), 1);
    assert!(via[0].starts_with("SIP/2.0/UDP 127.0.0.1:5080;"), "{via:?}");
    assert!(via[0].contains(";rport"), "{via:?}");
    let branch = message::top_via_branch(&invite).unwrap();
    assert!(
        branch.starts_with("z9hG4bK") && branch.len() > 7 + 8,
        "{branch}"
    );
    let from_tag = message::from_tag(&invite).unwrap().unwrap();
    assert!(!from_tag.is_empty());
    assert!(
        header(&invite, "From")
            .unwrap()
            .starts_with("\"Gateway Test\" <sip:gwtest@127.0.0.1>")
    );
    assert_eq!(message::to_tag(&invite).unwrap(), None);
    assert_eq!(
        header(&invite, "Contact").as_deref(),
        Some("<sip:gwtest@127.0.0.1:5080>")
    );
    assert_eq!(
        header(&invite, "Content-Type").as_deref(),
        Some("application/sdp")
    );
    assert_eq!(invite.body, OFFER.as_bytes());
    assert_eq!(h.ua.session_count(), 1);
    assert_eq!(h.ua.transaction_count(), 1);

    h.receive(&reply(
        "outbound-600-ulaw-02-ast2gw-100-trying-invite.sip",
        &invite,
    ));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(1), vec![]);

    let ringing = reply(
        "outbound-607-cancel-03-ast2gw-180-ringing-invite.sip",
        &invite,
    );
    h.receive(&ringing);
    assert_eq!(h.sent(), vec![]);
    assert_eq!(
        h.events(1),
        vec![SessionEvent::Provisional {
            code: 180,
            sdp: None
        }]
    );

    let ok = reply("outbound-600-ulaw-03-ast2gw-200-ok-invite-sdp.sip", &invite);
    let ok_parsed = response(&message::parse(&ok).unwrap());
    let answer = String::from_utf8(ok_parsed.body.clone()).unwrap();
    assert!(answer.contains("m=audio 20078 RTP/AVP 0 101"));
    h.receive(&ok);
    assert_eq!(
        h.events(1),
        vec![SessionEvent::Answered { sdp: Some(answer) }]
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ack = request(&sent[0]);
    assert_eq!(
        line(&ack),
        ("sip:127.0.0.1:5060".into(), "ACK".into(), (1, Method::Ack))
    );
    let remote_tag = message::to_tag(&ok_parsed).unwrap().unwrap();
    assert_eq!(remote_tag, "3047cfcd-9027-4406-b6cb-a3c631047f09");
    assert_eq!(
        message::to_tag(&ack).unwrap().as_deref(),
        Some(&*remote_tag)
    );
    assert_eq!(
        message::from_tag(&ack).unwrap().as_deref(),
        Some(&*from_tag)
    );
    assert_eq!(
        message::call_id(&ack).unwrap(),
        message::call_id(&invite).unwrap()
    );
    assert_ne!(
        message::top_via_branch(&ack).unwrap(),
        branch,
        "§17.1.1.3: a 2xx ACK is its own transaction"
    );
    assert!(ack.body.is_empty());

    // Our ACK was lost: Asterisk retransmits the 200 and gets the same ACK again (§13.2.2.4).
    h.advance(Duration::from_millis(500));
    h.receive(&ok);
    assert_eq!(h.sent(), vec![sent[0].clone()]);
    assert_eq!(
        h.events(1),
        vec![],
        "a retransmitted 200 is not a second answer"
    );

    h.ua.hangup(h.now, 1);
    assert_eq!(
        h.events(1),
        vec![SessionEvent::Ended(EndCause {
            code: None,
            reason: "normal_clearing"
        })]
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let bye = request(&sent[0]);
    assert_eq!(
        line(&bye),
        ("sip:127.0.0.1:5060".into(), "BYE".into(), (2, Method::Bye))
    );
    assert_eq!(
        message::to_tag(&bye).unwrap().as_deref(),
        Some(&*remote_tag)
    );
    assert_eq!(
        message::from_tag(&bye).unwrap().as_deref(),
        Some(&*from_tag)
    );
    assert_eq!(
        message::call_id(&bye).unwrap(),
        message::call_id(&invite).unwrap()
    );
    let bye_branch = message::top_via_branch(&bye).unwrap();
    assert_ne!(bye_branch, branch);
    assert_ne!(bye_branch, message::top_via_branch(&ack).unwrap());

    h.receive(&reply("outbound-600-ulaw-06-ast2gw-200-ok-bye.sip", &bye));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(1), vec![], "the end was already reported");
    assert_eq!(
        h.ua.session_count(),
        0,
        "the session ends with the BYE's 200"
    );
    // The INVITE transaction waits out Timer M, the BYE transaction Timer K.
    assert!(h.ua.transaction_count() > 0);
    h.assert_drains_to_nothing();
}

/// RFC 3261 §13.2.2.4 / RFC 6026 §7.2: a 2xx retransmitted after the INVITE transaction is
/// gone (after Timer M) is still ACKed while the dialog lives.
#[test]
fn late_retransmitted_200_is_acked_after_timer_m() {
    let mut h = Harness::udp();
    let invite = h.invite(9, "600");
    let ok = reply("outbound-600-ulaw-03-ast2gw-200-ok-invite-sdp.sip", &invite);
    h.receive(&ok);
    let first_ack = h.sent();
    assert_eq!(first_ack.len(), 1);
    assert!(matches!(h.events(9)[..], [SessionEvent::Answered { .. }]));
    let quiet = h.advance(Duration::from_secs(40));
    assert_eq!(quiet, vec![]);
    assert_eq!(
        h.ua.transaction_count(),
        0,
        "Timer M ended the INVITE transaction"
    );
    assert_eq!(h.ua.session_count(), 1);
    h.receive(&ok);
    assert_eq!(h.sent(), first_ack);
    assert_eq!(h.events(9), vec![]);

    h.ua.hangup(h.now, 9);
    let bye = request(&h.sent()[0]);
    h.receive(&reply("outbound-600-ulaw-06-ast2gw-200-ok-bye.sip", &bye));
    let _ = h.events(9);
    h.assert_drains_to_nothing();
}

/// RFC 3261 §17.1.2.2: a BYE that gets no answer is retransmitted by Timer E and gives up at
/// Timer F; the session is then forgotten, with no second end reported.
#[test]
fn unanswered_bye_times_out_and_frees_the_session() {
    let mut h = Harness::udp();
    let invite = h.invite(4, "600");
    h.receive(&reply(
        "outbound-600-ulaw-03-ast2gw-200-ok-invite-sdp.sip",
        &invite,
    ));
    let _ = h.sent();
    h.ua.hangup(h.now, 4);
    let bye = h.sent();
    assert_eq!(bye.len(), 1);
    assert_eq!(h.events(4).len(), 2, "Answered, then Ended");
    let out = h.advance(Duration::from_secs(33));
    let resent: Vec<_> = out
        .iter()
        .filter(|(_, o)| matches!(o, Output::Sent(m) if *m == bye[0]))
        .collect();
    assert!(resent.len() >= 5, "Timer E retransmits the BYE: {out:?}");
    assert!(
        out.iter().all(|(_, o)| matches!(o, Output::Sent(_))),
        "no event after the end: {out:?}"
    );
    assert_eq!(h.ua.session_count(), 0);
    h.assert_drains_to_nothing();
}
