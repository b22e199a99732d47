//! DTMF over SIP INFO (`application/dtmf-relay`, the legacy body Asterisk and phones use; RFC
//! 6086 §4.2 for INFO in a dialog) both ways in an answered call of the
//! `outbound-609-reinvite-from-asterisk` ladder.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::message;
use gateway_sip::ua::{SessionEvent, UaError};
use rsip::Method;
use ua_common::{
    Harness, answered_609, asterisk_609_bye, asterisk_info, capture, header, line, reply_from,
    request, response,
};

/// RFC 6086 §4.2: INFO in the dialog gets 200; a dtmf-relay body is reported as its digit and
/// duration; another body is accepted silently (no Info-Package in legacy INFO, so no 469).
#[test]
fn info_dtmf_from_asterisk_is_reported() {
    let mut h = Harness::udp();
    let invite = answered_609(&mut h, 91);
    h.receive(&asterisk_info(
        &invite,
        14954,
        "application/dtmf-relay",
        "Signal=5\r\nDuration=160\r\n",
    ));
    let ok = response(&h.sent()[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(message::cseq(&ok).unwrap(), (14954, Method::Info));
    assert_eq!(
        h.events(91),
        vec![SessionEvent::InfoDtmf {
            digit: '5',
            duration_ms: Some(160)
        }]
    );
    h.receive(&asterisk_info(
        &invite,
        14955,
        "application/x-custom",
        "hello",
    ));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert_eq!(h.events(91), vec![]);

    h.receive(&asterisk_609_bye(&invite, 14956));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert!(matches!(h.events(91)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();
}

/// RFC 6086 §4.1: our INFO goes in the dialog (next CSeq, tags, remote target) with the
/// dtmf-relay body; its 200 ends the transaction; a non-digit is refused before anything is
/// sent.
#[test]
fn info_dtmf_to_asterisk() {
    let mut h = Harness::udp();
    let invite = answered_609(&mut h, 92);
    assert_eq!(
        h.ua.send_info_dtmf(h.now, 92, 'x', 160),
        Err(UaError::InvalidDigit('x'))
    );
    h.ua.send_info_dtmf(h.now, 92, '#', 250).unwrap();
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let info = request(&sent[0]);
    assert_eq!(
        line(&info),
        (
            "sip:127.0.0.1:5060".into(),
            "INFO".into(),
            (2, Method::Info)
        )
    );
    assert_eq!(
        message::from_tag(&info).unwrap(),
        message::from_tag(&invite).unwrap()
    );
    assert_eq!(
        message::to_tag(&info).unwrap().as_deref(),
        Some("b24db28b-0b07-4484-9cc0-4e93b979c6f3")
    );
    assert_eq!(
        header(&info, "Content-Type").as_deref(),
        Some("application/dtmf-relay")
    );
    assert_eq!(info.body, b"Signal=#\r\nDuration=250\r\n");
    // Asterisk's 200 to an in-dialog request of ours (the ladder's 200 to a BYE, as INFO).
    let ok =
        capture("outbound-600-hold-reinvite-12-ast2gw-200-ok-bye.sip").replace(" BYE", " INFO");
    h.receive(&reply_from(&ok, &info));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(92), vec![]);

    h.receive(&asterisk_609_bye(&invite, 14954));
    let _ = h.sent();
    assert!(matches!(h.events(92)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();
}
