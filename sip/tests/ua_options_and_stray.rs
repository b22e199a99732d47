//! Requests and bytes that belong to no call of ours (RFC 3261 §11.2 OPTIONS, §8.2.6 responses
//! of a UAS, §12.2.2 481 for an unknown dialog, §9.2 CANCEL of an unknown transaction), and
//! input from the network that must never panic (STYLE.md §3).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use ua_common::{Harness, capture, header, response, vias};

/// RFC 3261 §11.2: Asterisk's qualify OPTIONS gets 200 with Allow (and Accept) sent back to
/// where it came from, with its Via, Call-ID, CSeq and From, and a To-tag added (§8.2.6.2);
/// a retransmission gets the same 200.
#[test]
fn out_of_dialog_options_gets_200_with_allow() {
    let mut h = Harness::udp();
    let options = capture("register-alice-05-ast2alice-options.sip");
    h.receive(options.as_bytes());
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ok = response(&sent[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(
        header(&ok, "Allow").as_deref(),
        Some("INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO")
    );
    assert_eq!(header(&ok, "Accept").as_deref(), Some("application/sdp"));
    assert_eq!(
        vias(&ok),
        vec![
            "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPjc236fdff-2476-4322-aac8-5f8f7dad9a09"
        ]
    );
    assert_eq!(
        message::call_id(&ok).unwrap(),
        "0ef30552-894d-4cf3-920c-47d3283b0006"
    );
    assert_eq!(message::cseq(&ok).unwrap(), (54366, rsip::Method::Options));
    assert_eq!(
        message::from_tag(&ok).unwrap().as_deref(),
        Some("ac54a703-4f11-4584-9848-25813978fa2a")
    );
    assert!(message::to_tag(&ok).unwrap().is_some(), "§8.2.6.2 To-tag");
    assert_eq!(h.ua.session_count(), 0);

    h.advance(Duration::from_millis(500));
    h.receive(options.as_bytes());
    assert_eq!(h.sent(), sent);
    assert_eq!(h.ua.poll_event(), None);
    h.assert_drains_to_nothing();
}

/// RFC 3261 §8.2.6 / §17.2.1: an INVITE the application refuses (the gateway's answer when
/// no user can take it) gets a final response with a To-tag, which Asterisk ACKs; the session
/// is gone at once, and the server transaction after Timer I.
#[test]
fn inbound_invite_is_refused_and_acked() {
    let mut h = Harness::udp();
    let invite = capture("inbound-originate-gw-busy-486-01-ast2gw-invite-sdp.sip");
    h.receive(invite.as_bytes());
    assert_eq!(h.sent(), vec![], "the application decides first");
    let call = h.incoming();
    h.ua.reject(h.now, call.handle, 480);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let refusal = response(&sent[0]);
    assert_eq!(refusal.status_code.code(), 480);
    assert_eq!(
        message::cseq(&refusal).unwrap(),
        (29107, rsip::Method::Invite)
    );
    let tag = message::to_tag(&refusal).unwrap().unwrap();
    assert_eq!(h.ua.session_count(), 0);
    let _ = h.events(call.handle);

    // The retransmitted INVITE gets the 480 again.
    h.receive(invite.as_bytes());
    assert_eq!(h.sent(), sent);

    let ack =
        capture("inbound-originate-gw-busy-486-03-ast2gw-ack.sip").replace("9768SIPpTag011", &tag);
    h.receive(ack.as_bytes());
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.ua.poll_event(), None);
    h.assert_drains_to_nothing();
}

/// STYLE.md §3 / RFC 3261 §18.3: garbage and truncated messages are dropped (nothing sent, no
/// event, no state, no panic); a request whose body is shorter than its Content-Length gets a
/// stateless 400 (RFC 4475 §3.1.2.2).
#[test]
fn garbage_and_truncated_messages_are_dropped() {
    let mut h = Harness::udp();
    let bye = capture("outbound-601-playback-bye-05-ast2gw-bye.sip");
    let invite = capture("inbound-originate-gw-01-ast2gw-invite-sdp.sip");
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\r\n\r\n".to_vec(),
        b"garbage".to_vec(),
        vec![0xff, 0x00, 0xfe, 0x80, 0x0d, 0x0a],
        bye.as_bytes()[..bye.len() / 2].to_vec(),
        invite.replace("branch=z9hG4bKPj", "branch=").into_bytes()[..60].to_vec(),
    ];
    for bytes in inputs {
        h.receive(&bytes);
        assert_eq!(h.sent(), vec![], "{:?}", String::from_utf8_lossy(&bytes));
        assert_eq!(h.ua.poll_event(), None);
        assert_eq!(h.ua.transaction_count(), 0);
        assert_eq!(h.ua.session_count(), 0);
    }
    // RFC 4475 §3.1.2.2: a body shorter than Content-Length is answered 400, statelessly.
    h.receive(&invite.as_bytes()[..invite.len() - 40]);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(response(&sent[0]).status_code.code(), 400);
    assert_eq!(h.ua.transaction_count(), 0);
    assert_eq!(h.ua.poll_event(), None);
    // Every prefix of a real message, too.
    for cut in 0..invite.len() {
        h.receive(&invite.as_bytes()[..cut]);
        let _ = h.sent();
    }
    assert_eq!(h.ua.poll_event(), None);
}

/// RFC 3261 §12.2.2: a BYE (with a To-tag) for a dialog we do not have gets 481, and §9.2 a
/// CANCEL matching no INVITE transaction gets 481 too.
#[test]
fn bye_and_cancel_for_unknown_calls_get_481() {
    let mut h = Harness::udp();
    let bye = capture("outbound-601-playback-bye-05-ast2gw-bye.sip");
    h.receive(bye.as_bytes());
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let resp = response(&sent[0]);
    assert_eq!(resp.status_code.code(), 481);
    assert_eq!(message::cseq(&resp).unwrap(), (27960, rsip::Method::Bye));
    assert_eq!(message::call_id(&resp).unwrap(), "1-6603@127.0.0.1");

    let cancel = capture("inbound-originate-gw-noanswer-cancel-03-ast2gw-cancel.sip");
    h.receive(cancel.as_bytes());
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(response(&sent[0]).status_code.code(), 481);
    assert_eq!(h.ua.poll_event(), None);
    assert_eq!(h.ua.session_count(), 0);
    h.assert_drains_to_nothing();
}

/// A BYE for a Call-ID we know but with a To-tag that is not ours is not our dialog (§12.2.2):
/// 481, and the call stays up.
#[test]
fn bye_with_foreign_tag_does_not_end_our_call() {
    let mut h = Harness::udp();
    let invite = h.invite(41, "601");
    h.receive(&ua_common::reply(
        "outbound-601-playback-bye-03-ast2gw-200-ok-invite-sdp.sip",
        &invite,
    ));
    let _ = h.sent();
    let _ = h.events(41);
    let bye = String::from_utf8(ua_common::in_dialog_request(
        "outbound-601-playback-bye-05-ast2gw-bye.sip",
        &invite,
    ))
    .unwrap();
    let our_tag = message::from_tag(&invite).unwrap().unwrap();
    h.receive(bye.replace(&our_tag, "someone-else").as_bytes());
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(response(&sent[0]).status_code.code(), 481);
    assert_eq!(h.events(41), vec![]);
    assert_eq!(h.ua.session_count(), 1);
}

/// RFC 3261 §8.2.1 / §20.5: a method we do not handle (MESSAGE, outside any call) gets 405
/// listing what we allow; §12.2.2: Asterisk's UPDATE of `outbound-609-update-from-asterisk` for a
/// dialog we do not have gets 481; §15.1.2: a BYE matching no dialog gets 481 even without a To-tag.
#[test]
fn unsupported_method_gets_405_with_allow_and_tagless_bye_481() {
    let mut h = Harness::udp();
    h.receive(capture("outbound-609-update-from-asterisk-05-ast2gw-update.sip").as_bytes());
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(response(&sent[0]).status_code.code(), 481);
    let message = capture("register-alice-05-ast2alice-options.sip")
        .replacen("OPTIONS sip:", "MESSAGE sip:", 1)
        .replace(" OPTIONS\r\n", " MESSAGE\r\n");
    h.receive(message.as_bytes());
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let resp = response(&sent[0]);
    assert_eq!(resp.status_code.code(), 405);
    assert_eq!(
        header(&resp, "Allow").as_deref(),
        Some("INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO")
    );

    let bye =
        capture("outbound-601-playback-bye-05-ast2gw-bye.sip").replace(";tag=6603SIPpTag001", "");
    h.receive(bye.as_bytes());
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(response(&sent[0]).status_code.code(), 481);
    assert_eq!(h.ua.poll_event(), None);
    h.assert_drains_to_nothing();
}
