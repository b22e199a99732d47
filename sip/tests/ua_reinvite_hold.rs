//! Our re-INVITEs (RFC 3261 §14.1): hold (`a=sendonly`) and resume, checked against the
//! `outbound-600-hold-reinvite` ladder of Asterisk 22 (same CSeqs, same SDPs, Asterisk's
//! answers); a refusal (488) that leaves the call up; and glare (491 both ways, §14.1/§14.2).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use gateway_sip::ua::{SessionEvent, UaError};
use rsip::{Method, Request};
use ua_common::{
    Harness, OFFER, Output, asterisk_reinvite, capture, capture_body, line, reply, reply_from,
    request, response, sent_at,
};

const HOLD_200: &str = "outbound-600-hold-reinvite-06-ast2gw-200-ok-invite-sdp.sip";
const RESUME_200: &str = "outbound-600-hold-reinvite-09-ast2gw-200-ok-invite-sdp.sip";

/// A call to 600 answered as in the ladder; returns our INVITE.
fn answered(h: &mut Harness, handle: u64) -> Request {
    let invite = h.invite(handle, "600");
    h.receive(&reply(
        "outbound-600-hold-reinvite-02-ast2gw-100-trying-invite.sip",
        &invite,
    ));
    h.receive(&reply(
        "outbound-600-hold-reinvite-03-ast2gw-200-ok-invite-sdp.sip",
        &invite,
    ));
    assert!(matches!(
        h.events(handle)[..],
        [SessionEvent::Answered { .. }]
    ));
    assert_eq!(h.sent().len(), 1, "the ACK");
    invite
}

/// Our re-INVITE after `reinvite`: the one message sent.
fn sent_reinvite(h: &mut Harness) -> Request {
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    request(&sent[0])
}

/// Asterisk's answer to `ours` made from the hold 200 with another status and no body.
fn refusal(ours: &Request, status: &str) -> Vec<u8> {
    let text: String = capture(HOLD_200)
        .replace("SIP/2.0 200 OK", status)
        .split_inclusive("\r\n")
        .filter(|l| !l.starts_with("Content-Type"))
        .collect();
    reply_from(&ua_common::with_body(&text, ""), ours)
}

/// The dialog's identity in an in-dialog request of ours: tags, Call-ID, R-URI (the 2xx's
/// Contact, §12.1.2).
fn assert_in_dialog(req: &Request, invite: &Request, cseq: u32, method: Method) {
    assert_eq!(
        line(req),
        (
            "sip:127.0.0.1:5060".into(),
            method.to_string(),
            (cseq, method)
        )
    );
    assert_eq!(
        message::call_id(req).unwrap(),
        message::call_id(invite).unwrap()
    );
    assert_eq!(
        message::from_tag(req).unwrap(),
        message::from_tag(invite).unwrap()
    );
    assert_eq!(
        message::to_tag(req).unwrap().as_deref(),
        Some("fcd34301-ccab-4634-ba19-bcd1642e1496")
    );
}

/// RFC 3261 §14.1, RFC 3264 §8.4: hold then resume. Each re-INVITE has the next CSeq, the
/// dialog's tags, the remote target as R-URI and the SDP the ladder shows (version + 1 each
/// time); each 2xx gets an ACK with the re-INVITE's CSeq, and its SDP comes to the
/// application as the answer.
#[test]
fn hold_and_resume_by_reinvite() {
    let mut h = Harness::udp();
    let invite = answered(&mut h, 81);
    let hold = OFFER.replace("a=sendrecv", "a=sendonly");
    h.ua.reinvite(h.now, 81, &hold).unwrap();
    let reinvite = sent_reinvite(&mut h);
    assert_in_dialog(&reinvite, &invite, 2, Method::Invite);
    assert_eq!(
        std::str::from_utf8(&reinvite.body).unwrap(),
        capture_body("outbound-600-hold-reinvite-05-gw2ast-reinvite-sdp.sip")
    );
    h.receive(&reply(HOLD_200, &reinvite));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "the ACK: {sent:?}");
    let ack = request(&sent[0]);
    assert_in_dialog(&ack, &invite, 2, Method::Ack);
    assert_eq!(
        h.events(81),
        vec![SessionEvent::RemoteSdp {
            sdp: capture_body(HOLD_200),
            offer: false
        }]
    );
    // The 2xx retransmitted: the same ACK again (§13.2.2.4).
    h.advance(Duration::from_millis(500));
    h.receive(&reply(HOLD_200, &reinvite));
    assert_eq!(h.sent(), vec![rsip::SipMessage::Request(ack)]);

    h.ua.reinvite(h.now, 81, OFFER).unwrap();
    let resume = sent_reinvite(&mut h);
    assert_in_dialog(&resume, &invite, 3, Method::Invite);
    assert_eq!(
        std::str::from_utf8(&resume.body).unwrap(),
        capture_body("outbound-600-hold-reinvite-08-gw2ast-reinvite-sdp.sip")
    );
    h.receive(&reply(RESUME_200, &resume));
    assert_in_dialog(&request(&h.sent()[0]), &invite, 3, Method::Ack);
    assert_eq!(
        h.events(81),
        vec![SessionEvent::RemoteSdp {
            sdp: capture_body(RESUME_200),
            offer: false
        }]
    );

    h.ua.hangup(h.now, 81);
    let bye = sent_reinvite(&mut h);
    assert_in_dialog(&bye, &invite, 4, Method::Bye);
    h.receive(&reply(
        "outbound-600-hold-reinvite-12-ast2gw-200-ok-bye.sip",
        &bye,
    ));
    assert!(matches!(h.events(81)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();
}

/// RFC 3261 §14.1: a re-INVITE refused with 488 is reported and changes nothing: the call
/// stays up, and the next answer we give still uses the SDP of before. No re-INVITE before the
/// call is up.
#[test]
fn refused_reinvite_keeps_the_call() {
    let mut h = Harness::udp();
    assert_eq!(
        h.ua.reinvite(h.now, 82, OFFER),
        Err(UaError::UnknownHandle(82))
    );
    let invite = answered(&mut h, 82);
    h.ua.reinvite(h.now, 82, &OFFER.replace("a=sendrecv", "a=inactive"))
        .unwrap();
    let reinvite = sent_reinvite(&mut h);
    h.receive(&refusal(&reinvite, "SIP/2.0 488 Not Acceptable Here"));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "the transaction's ACK: {sent:?}");
    assert_eq!(line(&request(&sent[0])).2, (2, Method::Ack));
    assert_eq!(
        h.events(82),
        vec![SessionEvent::ReinviteFailed { code: 488 }]
    );
    assert_eq!(h.ua.session_count(), 1);

    // Asterisk's next offer is answered from the session of before: sendrecv, version kept.
    h.receive(&asterisk_reinvite(
        &invite,
        0,
        &capture_body(HOLD_200.replace("06", "03").as_str()),
    ));
    let ok = response(&h.sent()[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(ok.body, OFFER.as_bytes());
    let _ = h.events(82);
    h.ua.hangup(h.now, 82);
    let bye = sent_reinvite(&mut h);
    h.receive(&reply(
        "outbound-600-hold-reinvite-12-ast2gw-200-ok-bye.sip",
        &bye,
    ));
    let _ = h.events(82);
    h.assert_drains_to_nothing();
}

/// RFC 3261 §14.2: Asterisk's re-INVITE crossing ours gets 491; §14.1: our re-INVITE refused
/// with 491 is sent again (next CSeq, same SDP) after 2.1–4 s, since we chose the Call-ID.
#[test]
fn glare_is_resolved_by_retrying() {
    let mut h = Harness::udp();
    let invite = answered(&mut h, 83);
    let hold = OFFER.replace("a=sendrecv", "a=sendonly");
    h.ua.reinvite(h.now, 83, &hold).unwrap();
    let first = sent_reinvite(&mut h);

    h.receive(&asterisk_reinvite(&invite, 0, &capture_body(RESUME_200)));
    let theirs = response(&h.sent()[0]);
    assert_eq!(theirs.status_code.code(), 491);
    assert_eq!(h.events(83), vec![]);
    h.receive(&ua_common::asterisk_reinvite_tx_ack(&invite, 0));
    assert_eq!(h.sent(), vec![]);

    h.receive(&refusal(&first, "SIP/2.0 491 Request Pending"));
    assert_eq!(line(&request(&h.sent()[0])).2, (2, Method::Ack));
    assert_eq!(h.events(83), vec![], "a 491 is retried, not reported");

    let out = h.advance(Duration::from_secs(5));
    let sent = sent_at(&out);
    let mut retries: Vec<_> = sent
        .iter()
        .filter(|(_, m)| matches!(m, rsip::SipMessage::Request(r) if r.method == Method::Invite))
        .collect();
    // Timer A may retransmit the retry within the window: one new request only.
    retries.dedup_by_key(|(_, m)| message::cseq(&request(m)).unwrap().0);
    assert_eq!(retries.len(), 1, "{out:?}");
    let (at, retry) = retries[0];
    let retry = request(retry);
    assert!(
        (Duration::from_millis(2100)..=Duration::from_millis(4000)).contains(at),
        "retried at {at:?}"
    );
    assert_eq!(line(&retry).2, (3, Method::Invite));
    assert_eq!(retry.body, first.body);
    // The retry's Timer A retransmissions may follow within the window; answer it now.
    h.receive(&reply(HOLD_200, &retry));
    assert_eq!(line(&request(&h.sent()[0])).2, (3, Method::Ack));
    assert!(matches!(
        h.events(83)[..],
        [SessionEvent::RemoteSdp { offer: false, .. }]
    ));
    assert!(out.iter().all(|(_, o)| !matches!(o, Output::Event(_))));

    h.ua.hangup(h.now, 83);
    let bye = sent_reinvite(&mut h);
    h.receive(&reply(
        "outbound-600-hold-reinvite-12-ast2gw-200-ok-bye.sip",
        &bye,
    ));
    let _ = h.events(83);
    h.assert_drains_to_nothing();
}
