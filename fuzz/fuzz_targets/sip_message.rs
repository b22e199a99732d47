//! SIP message parsing (RFC 3261 §7, §18.3 framing): never panics; a message that parses prints
//! to bytes that parse again, and printing is a fixpoint (`print(parse(print(m))) == print(m)`).
#![no_main]

use gateway_sip::{framing, message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Stream framing (TCP): the frame must lie inside the buffer.
    if let Ok(Some((start, end))) = framing::next_message(data, 64 * 1024) {
        assert!(start <= end && end <= data.len(), "frame {start}..{end} outside {} bytes", data.len());
        let _ = message::parse(&data[start..end]);
    }
    let Ok(msg) = message::parse(data) else {
        return;
    };
    // The accessors the transaction layer uses never panic on a parsed message.
    let _ = message::top_via_branch(&msg);
    let _ = message::method(&msg);
    let _ = message::cseq(&msg);
    let _ = message::call_id(&msg);
    let _ = message::from_tag(&msg);
    let _ = message::to_tag(&msg);
    let _ = message::status_code(&msg);
    let _ = message::body(&msg);
    if let rsip::SipMessage::Request(req) = &msg {
        let resp = message::response_for(req, 400, Some("Bad Request"), Some("fuzz"));
        let _ = message::parse(&message::to_bytes(&resp.into()));
        let _ = message::cancel_for(req);
    }
    let printed = message::to_bytes(&msg);
    let reparsed = match message::parse(&printed) {
        Ok(m) => m,
        Err(e) => panic!(
            "a parsed message printed to bytes that do not parse ({e}):\n{}",
            String::from_utf8_lossy(&printed)
        ),
    };
    let reprinted = message::to_bytes(&reparsed);
    assert!(
        reprinted == printed,
        "printing is not a fixpoint:\n--- first\n{}\n--- second\n{}",
        String::from_utf8_lossy(&printed),
        String::from_utf8_lossy(&reprinted)
    );
});
