//! Property tests of the signaling API v1 client frames (docs/signaling.md): any client message,
//! printed as JSON the way a browser may write it (any key order, optional keys left out or
//! `null`, any string content), parses back to the same message (`parse(print(x)) == x`); any
//! text, valid JSON of the wrong shape or a mutated valid frame is refused with a `bad_request`
//! error that echoes a readable `ref`, and never panics.
//!
//! Cases come from a seeded ChaCha20 generator (the gateway crate has no proptest), so every run
//! checks the same cases and a failure names the case that broke.

use gateway::signaling::messages::{
    CallType, ClientMessage, ErrorCode, IceCandidate, RejectReason, ServerMessage,
    parse_client_message,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{Map, Value, json};

const CASES: usize = 4096;

/// Any string, including quotes, backslashes, control characters and non-ASCII.
fn text(rng: &mut ChaCha20Rng) -> String {
    const POOL: &[char] = &[
        'a', 'Z', '0', '9', ' ', '"', '\\', '/', '\n', '\r', '\t', '\u{0}', '\u{1f}', 'é', '€',
        '😀', '{', '}', '[', ']', ':', ',', '=', '+', '#', '*',
    ];
    (0..rng.gen_range(0..12))
        .map(|_| *POOL.choose(rng).unwrap_or(&'a'))
        .collect()
}

fn opt_text(rng: &mut ChaCha20Rng) -> Option<String> {
    rng.r#gen::<bool>().then(|| text(rng))
}

fn candidate(rng: &mut ChaCha20Rng) -> IceCandidate {
    IceCandidate {
        candidate: text(rng),
        sdp_mid: opt_text(rng),
        sdp_mline_index: rng.r#gen::<bool>().then(|| rng.r#gen()),
        username_fragment: opt_text(rng),
    }
}

fn message(rng: &mut ChaCha20Rng) -> ClientMessage {
    match rng.gen_range(0..10) {
        0 => ClientMessage::Call {
            reference: text(rng),
            to: text(rng),
            sdp: text(rng),
            call_type: if rng.r#gen() {
                CallType::Audio
            } else {
                CallType::Video
            },
        },
        1 => ClientMessage::Ice {
            call_id: opt_text(rng),
            reference: opt_text(rng),
            candidate: rng.r#gen::<bool>().then(|| candidate(rng)),
        },
        2 => ClientMessage::Accept {
            call_id: text(rng),
            sdp: text(rng),
        },
        3 => ClientMessage::Reject {
            call_id: text(rng),
            reason: if rng.r#gen() {
                RejectReason::Busy
            } else {
                RejectReason::Decline
            },
        },
        4 => ClientMessage::Offer {
            call_id: text(rng),
            sdp: text(rng),
        },
        5 => ClientMessage::Hold { call_id: text(rng) },
        6 => ClientMessage::Unhold { call_id: text(rng) },
        7 => ClientMessage::Dtmf {
            call_id: text(rng),
            digits: text(rng),
        },
        8 => ClientMessage::Resume {
            session_id: text(rng),
        },
        _ => ClientMessage::Hangup {
            call_id: opt_text(rng),
            reference: opt_text(rng),
        },
    }
}

/// An optional key: left out or `null` when `None` (both mean "absent" in the API).
fn put_opt(rng: &mut ChaCha20Rng, m: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    match v {
        Some(s) => {
            m.insert(key.into(), json!(s));
        }
        None if rng.r#gen() => {
            m.insert(key.into(), Value::Null);
        }
        None => {}
    }
}

/// Prints `msg` as a browser may: the documented keys, defaults sometimes written and sometimes
/// left out, in a random key order.
fn print(rng: &mut ChaCha20Rng, msg: &ClientMessage) -> String {
    let mut m = Map::new();
    let kind = match msg {
        ClientMessage::Call {
            reference,
            to,
            sdp,
            call_type,
        } => {
            m.insert("ref".into(), json!(reference));
            m.insert("to".into(), json!(to));
            m.insert("sdp".into(), json!(sdp));
            if *call_type == CallType::Video || rng.r#gen() {
                m.insert(
                    "call_type".into(),
                    serde_json::to_value(call_type).unwrap_or_default(),
                );
            }
            "call"
        }
        ClientMessage::Ice {
            call_id,
            reference,
            candidate,
        } => {
            put_opt(rng, &mut m, "call_id", call_id);
            put_opt(rng, &mut m, "ref", reference);
            let c = candidate
                .as_ref()
                .map_or(Value::Null, |c| serde_json::to_value(c).unwrap_or_default());
            m.insert("candidate".into(), c);
            "ice"
        }
        ClientMessage::Accept { call_id, sdp } => {
            m.insert("call_id".into(), json!(call_id));
            m.insert("sdp".into(), json!(sdp));
            "accept"
        }
        ClientMessage::Reject { call_id, reason } => {
            m.insert("call_id".into(), json!(call_id));
            if *reason == RejectReason::Decline || rng.r#gen() {
                m.insert(
                    "reason".into(),
                    serde_json::to_value(reason).unwrap_or_default(),
                );
            }
            "reject"
        }
        ClientMessage::Offer { call_id, sdp } => {
            m.insert("call_id".into(), json!(call_id));
            m.insert("sdp".into(), json!(sdp));
            "offer"
        }
        ClientMessage::Hold { call_id } => {
            m.insert("call_id".into(), json!(call_id));
            "hold"
        }
        ClientMessage::Unhold { call_id } => {
            m.insert("call_id".into(), json!(call_id));
            "unhold"
        }
        ClientMessage::Dtmf { call_id, digits } => {
            m.insert("call_id".into(), json!(call_id));
            m.insert("digits".into(), json!(digits));
            "dtmf"
        }
        ClientMessage::Resume { session_id } => {
            m.insert("session_id".into(), json!(session_id));
            "resume"
        }
        ClientMessage::Hangup { call_id, reference } => {
            put_opt(rng, &mut m, "call_id", call_id);
            put_opt(rng, &mut m, "ref", reference);
            "hangup"
        }
    };
    m.insert("type".into(), json!(kind));
    let mut pairs: Vec<(String, Value)> = m.into_iter().collect();
    pairs.shuffle(rng);
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{}", json!(k), v))
        .collect();
    let sep = if rng.r#gen() { "," } else { " ,\n " };
    format!("{{{}}}", body.join(sep))
}

fn assert_bad_request(text: &str, reply: &ServerMessage) {
    match reply {
        ServerMessage::Error { code, .. } => {
            assert_eq!(*code, ErrorCode::BadRequest, "{text:?}");
        }
        other => panic!("{text:?} answered with {other:?}"),
    }
    assert!(
        serde_json::to_string(reply).is_ok(),
        "the reply to {text:?} does not serialize"
    );
}

/// docs/signaling.md: every client message, printed in any key order with optional keys left
/// out or `null`, parses back to itself.
#[test]
fn parse_of_print_is_identity() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x516);
    for case in 0..CASES {
        let msg = message(&mut rng);
        let frame = print(&mut rng, &msg);
        match parse_client_message(&frame) {
            Ok(parsed) => assert_eq!(parsed, msg, "case {case}: {frame}"),
            Err(e) => panic!("case {case}: {frame} refused: {e:?}"),
        }
    }
}

/// docs/signaling.md ("errors"): a frame that does not parse is answered `bad_request`, with
/// the frame's `ref` when it has a readable one.
#[test]
fn refused_frames_echo_a_readable_ref() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x517);
    for case in 0..CASES {
        let reference = text(&mut rng);
        let kind = ["call", "ice", "nonsense", "hangup", ""]
            .choose(&mut rng)
            .copied();
        // An unknown key: the API denies unknown fields.
        let frame = json!({"type": kind, "ref": reference, "x-unknown": 1}).to_string();
        match parse_client_message(&frame) {
            Ok(m) => panic!("case {case}: {frame} accepted as {m:?}"),
            Err(reply) => {
                assert_bad_request(&frame, &reply);
                match reply {
                    ServerMessage::Error { reference: r, .. } => {
                        assert_eq!(
                            r.as_deref(),
                            Some(reference.as_str()),
                            "case {case}: {frame}"
                        );
                    }
                    other => panic!("case {case}: {other:?}"),
                }
            }
        }
    }
}

/// No text makes the parser panic: random characters, random JSON values of the wrong shape,
/// and valid frames with one character changed, inserted or removed.
#[test]
fn never_panics_on_arbitrary_text() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x518);
    for _ in 0..CASES {
        let junk = text(&mut rng);
        if let Err(reply) = parse_client_message(&junk) {
            assert_bad_request(&junk, &reply);
        }

        let shapes = [
            json!(null),
            json!([1, "call"]),
            json!({"type": 7}),
            json!({"type": "call", "ref": 1, "to": [], "sdp": {}}),
            json!({"type": "ice", "candidate": {"candidate": 5, "sdpMLineIndex": -1}}),
            json!({"type": "ice", "candidate": {"candidate": "c", "sdpMLineIndex": 70000}}),
            json!({"type": "reject", "call_id": "x", "reason": "maybe"}),
            json!({"type": "call", "ref": "r", "to": "1", "sdp": "v=0", "call_type": "fax"}),
        ];
        let shape = shapes
            .choose(&mut rng)
            .cloned()
            .unwrap_or_default()
            .to_string();
        if let Err(reply) = parse_client_message(&shape) {
            assert_bad_request(&shape, &reply);
        }

        let msg = message(&mut rng);
        let mut chars: Vec<char> = print(&mut rng, &msg).chars().collect();
        let at = rng.gen_range(0..chars.len());
        match rng.gen_range(0..3) {
            0 => chars[at] = text(&mut rng).chars().next().unwrap_or('"'),
            1 => chars.insert(
                at,
                *['"', '{', '}', ',', ':', '\\']
                    .choose(&mut rng)
                    .unwrap_or(&'"'),
            ),
            _ => {
                chars.remove(at);
            }
        }
        let mutated: String = chars.into_iter().collect();
        if let Err(reply) = parse_client_message(&mutated) {
            assert_bad_request(&mutated, &reply);
        }
    }
}
