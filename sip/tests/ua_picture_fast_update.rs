//! Video keyframe requests over SIP INFO (RFC 5168 `picture_fast_update` in
//! `application/media_control+xml`, what Asterisk's chan_pjsip sends and accepts; RFC 6086 §4
//! for INFO in a dialog) both ways in an answered call of the
//! `outbound-609-reinvite-from-asterisk` ladder.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use gateway_sip::media_control::{MEDIA_CONTROL_CONTENT_TYPE, picture_fast_update_body};
use gateway_sip::message;
use gateway_sip::ua::{SessionEvent, UaError};
use rsip::Method;
use ua_common::{
    Harness, answered_609, asterisk_609_bye, asterisk_info, capture, header, line, reply_from,
    request, response,
};

/// The body chan_pjsip writes (`transmit_info_with_vidupdate`): RFC 5168 §7.1, indented.
const ASTERISK_VIDUPDATE: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\r\n \
    <media_control>\r\n  <vc_primitive>\r\n   <to_encoder>\r\n    <picture_fast_update/>\r\n   \
    </to_encoder>\r\n  </vc_primitive>\r\n </media_control>\r\n";

/// RFC 5168 §7.1 / RFC 6086 §4.2: the peer's fast update request gets 200 and is reported;
/// an RFC 5168 §7.2 error report and a malformed body get 200 and nothing else.
#[test]
fn picture_fast_update_from_asterisk_is_reported() {
    let mut h = Harness::udp();
    let invite = answered_609(&mut h, 93);
    h.receive(&asterisk_info(
        &invite,
        14954,
        "application/media_control+xml",
        ASTERISK_VIDUPDATE,
    ));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ok = response(&sent[0]);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(message::cseq(&ok).unwrap(), (14954, Method::Info));
    assert_eq!(h.events(93), vec![SessionEvent::PictureFastUpdate]);

    h.receive(&asterisk_info(
        &invite,
        14955,
        "Application/Media_Control+XML; charset=UTF-8",
        picture_fast_update_body(),
    ));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert_eq!(h.events(93), vec![SessionEvent::PictureFastUpdate]);

    let error = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\r\n<media_control>\r\n  \
        <general_error>\r\n  Unknown command\r\n  </general_error>\r\n</media_control>\r\n";
    for (cseq, body) in [(14956, error), (14957, "<media_control><vc_primitive>")] {
        h.receive(&asterisk_info(
            &invite,
            cseq,
            MEDIA_CONTROL_CONTENT_TYPE,
            body,
        ));
        assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
        assert_eq!(h.events(93), vec![]);
    }

    h.receive(&asterisk_609_bye(&invite, 14958));
    assert_eq!(response(&h.sent()[0]).status_code.code(), 200);
    assert!(matches!(h.events(93)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();
}

/// RFC 6086 §4.1 / RFC 5168 §7.1: our fast update request goes in the dialog (next CSeq, tags,
/// remote target) as `application/media_control+xml`; its 200 ends the transaction. A call
/// without a confirmed dialog refuses it before anything is sent.
#[test]
fn picture_fast_update_to_asterisk() {
    let mut early = Harness::udp();
    assert_eq!(
        early.ua.send_picture_fast_update(early.now, 94),
        Err(UaError::UnknownHandle(94))
    );
    early.invite(94, "609");
    assert_eq!(
        early.ua.send_picture_fast_update(early.now, 94),
        Err(UaError::NotConfirmed(94))
    );
    assert_eq!(early.sent(), vec![]);

    let mut h = Harness::udp();
    let invite = answered_609(&mut h, 94);
    h.ua.send_picture_fast_update(h.now, 94).unwrap();
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
        Some("application/media_control+xml")
    );
    assert_eq!(info.body, picture_fast_update_body().as_bytes());
    assert_eq!(
        std::str::from_utf8(&info.body).unwrap(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?><media_control><vc_primitive><to_encoder>\
         <picture_fast_update/></to_encoder></vc_primitive></media_control>"
    );
    // Asterisk's 200 to an in-dialog request of ours (the ladder's 200 to a BYE, as INFO).
    let ok =
        capture("outbound-600-hold-reinvite-12-ast2gw-200-ok-bye.sip").replace(" BYE", " INFO");
    h.receive(&reply_from(&ok, &info));
    assert_eq!(h.sent(), vec![]);
    assert_eq!(h.events(94), vec![]);

    h.receive(&asterisk_609_bye(&invite, 14954));
    let _ = h.sent();
    assert!(matches!(h.events(94)[..], [SessionEvent::Ended(_)]));
    h.assert_drains_to_nothing();
}
