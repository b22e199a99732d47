//! Property test of the user agent core on hostile datagrams (RFC 3261 §18.2 and §18.3: a UA
//! takes whatever arrives on its port): arbitrary bytes, and Asterisk 22's captured messages
//! re-keyed into a live call and then mutated (a byte changed, a cut, a line duplicated), never
//! make it panic, and never leave a transaction or timer behind once time runs out (RFC 3261 §17
//! timers all end). Everything it sends parses, except a stateless error response to a request
//! that did not parse itself: RFC 3261 §8.2.6.2 copies From, To, Call-ID, CSeq and Via into it,
//! malformed or not (e.g. a From whose `;` before `tag` became `\x01`).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::Duration;

use gateway_sip::message;
use proptest::prelude::*;
use ua_common::{Harness, capture, in_dialog_request, reply};

/// Asterisk's responses to an outbound INVITE, from the captured outbound flows.
const RESPONSES: &[&str] = &[
    "outbound-600-ulaw-02-ast2gw-100-trying-invite.sip",
    "outbound-600-ulaw-03-ast2gw-200-ok-invite-sdp.sip",
    "outbound-605-busy-03-ast2gw-486-busy-here-invite.sip",
    "outbound-608-early-media-03-ast2gw-183-session-progress-invite-sdp.sip",
];

/// The 200 OK that confirms the dialog, and the BYE Asterisk sends in it (`outbound-601-playback-bye`).
const ANSWER: &str = "outbound-601-playback-bye-03-ast2gw-200-ok-invite-sdp.sip";
const BYE: &str = "outbound-601-playback-bye-05-ast2gw-bye.sip";

/// Changes `msg` one way: a byte replaced, a cut, or a line duplicated.
fn mutate(msg: &[u8], edit: u8, at: prop::sample::Index, byte: u8) -> Vec<u8> {
    let mut out = msg.to_vec();
    if out.is_empty() {
        return out;
    }
    let i = at.index(out.len());
    match edit {
        0 => out[i] = byte,
        1 => out.truncate(i),
        _ => {
            let start = out[..i]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let end = out[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(out.len(), |p| i + p + 1);
            let line = out[start..end].to_vec();
            out.splice(start..start, line);
        }
    }
    out
}

/// Feeds `input` to the UA and drains what it sends: each message parses, or is an error
/// response to an `input` that does not parse (its copied headers are the input's).
fn feed(h: &mut Harness, input: &[u8]) -> Result<(), TestCaseError> {
    h.receive(input);
    while let Some(t) = h.ua.poll_transmit() {
        if let Err(e) = message::parse(&t.data) {
            let text = String::from_utf8_lossy(&t.data);
            let is_error = text.starts_with("SIP/2.0 4") || text.starts_with("SIP/2.0 5");
            prop_assert!(
                is_error && message::parse(input).is_err(),
                "the UA sent an unparseable message ({e}):\n{text}"
            );
        }
    }
    h.all_events();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes, with and without a call in progress: no panic, only parseable output
    /// (the harness parses every transmit), and nothing left once timers run out.
    #[test]
    fn arbitrary_datagrams(datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6), call: bool) {
        let mut h = Harness::udp();
        if call {
            h.invite(1, "600");
        }
        for d in &datagrams {
            feed(&mut h, d)?;
        }
        h.ua.hangup(h.now, 1);
        h.advance(Duration::from_secs(600));
        prop_assert_eq!(h.ua.transaction_count(), 0);
        prop_assert_eq!(h.ua.poll_timeout(), None);
    }

    /// A mutated Asterisk response to our INVITE, then a mutated in-dialog request: no panic,
    /// only parseable output, and no transaction or timer left after hangup and timeout.
    #[test]
    fn mutated_captures_in_a_live_call(
        resp in any::<prop::sample::Index>(),
        edit in 0u8..3,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        second_edit in 0u8..3,
        second_at in any::<prop::sample::Index>(),
    ) {
        let mut h = Harness::udp();
        let invite = h.invite(1, "600");
        let response: &str = RESPONSES[resp.index(RESPONSES.len())];
        let answer = reply(response, &invite);
        feed(&mut h, &mutate(&answer, edit, at, byte))?;
        // The unmutated 200 OK confirms the dialog, so the next mutation hits in-dialog handling.
        feed(&mut h, &reply(ANSWER, &invite))?;
        let bye = in_dialog_request(BYE, &invite);
        feed(&mut h, &mutate(&bye, second_edit, second_at, byte))?;
        h.ua.hangup(h.now, 1);
        h.sent();
        h.advance(Duration::from_secs(600));
        h.all_events();
        prop_assert_eq!(h.ua.transaction_count(), 0);
        prop_assert_eq!(h.ua.poll_timeout(), None);
    }

    /// A mutated out-of-dialog INVITE from Asterisk (inbound call): no panic, and the call, if
    /// offered, can be rejected and cleaned up.
    #[test]
    fn mutated_inbound_invite(edit in 0u8..3, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let invite = capture("inbound-originate-gw-01-ast2gw-invite-sdp.sip");
        let mut h = Harness::udp();
        let input = mutate(invite.as_bytes(), edit, at, byte);
        h.receive(&input);
        while let Some(t) = h.ua.poll_transmit() {
            prop_assert!(
                message::parse(&t.data).is_ok() || message::parse(&input).is_err(),
                "the UA sent an unparseable message:\n{}",
                String::from_utf8_lossy(&t.data)
            );
        }
        let calls: Vec<u64> = h
            .all_events()
            .into_iter()
            .filter_map(|e| match e {
                gateway_sip::ua::UaEvent::Incoming(c) => Some(c.handle),
                _ => None,
            })
            .collect();
        for handle in calls {
            h.ua.reject(h.now, handle, 486);
            h.sent();
        }
        h.advance(Duration::from_secs(600));
        prop_assert_eq!(h.ua.transaction_count(), 0);
        prop_assert_eq!(h.ua.poll_timeout(), None);
    }
}
