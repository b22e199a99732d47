//! RFC 4475 (SIP torture test messages), all 49, through `message::parse` and the user agent.
//! Valid messages parse with the values the RFC points at; invalid ones get the response the
//! RFC asks for (400, 416, 420, 505, ...) when the request can be answered, or are ignored;
//! nothing panics and no transaction or session outlives its timers.
//!
//! §3.1.1.1 `wsinv`, §3.1.1.7 `longreq` and §3.4.1 `inv2543` have no RFC 3261 branch in their
//! top Via: their server transactions are matched by the RFC 2543 rules of RFC 3261 §17.2.3,
//! and they are processed like any valid request: `wsinv` carries a To tag of no dialog of ours
//! (481, §12.2.2), `longreq` and `inv2543` (no From tag, no Contact) are offered. §3.3.1
//! `insuf` lacks From, To and Call-ID but has an RFC 3261 branch and a CSeq, which is all the
//! sender needs to match a response (§17.1.3): it gets a 400 carrying its Via and CSeq.
//!
//! Known deviations (each pinned below so a change is noticed):
//! - §3.1.1.2 `intmeth`: the To display name carries a raw NUL (legal as a quoted-pair); we
//!   refuse to echo NUL, so the request is ignored.
//! - §3.1.1.3-5, §3.1.1.9: rsip reads a user part holding `%` escapes as part of the host;
//!   the URI is kept byte for byte (and `;` in a user part is re-escaped as `%3B`), but
//!   `auth.user` is empty for such URIs.
//! - §3.1.1.12: rsip replaces an unknown reason phrase with the standard one.
//! - §3.1.2.12 `baddate`: the Date header is ignored and the INVITE is offered to the
//!   application (the RFC allows either).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod ua_common;

use std::time::{Duration, Instant};

use gateway_sip::message;
use gateway_sip::ua::{Transport, UaEvent, UserAgent};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsip::headers::{ToTypedHeader, UntypedHeader};
use rsip::message::HeadersExt;
use rsip::{Header, SipMessage};

/// What the user agent does with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Answers with this status code.
    Answer(u16),
    /// Offers the INVITE to the application.
    Offered,
    /// Sends nothing.
    Ignored,
}
use Outcome::*;

/// (file, RFC 4475 section, parses, outcome over UDP)
const TABLE: [(&str, &str, bool, Outcome); 49] = [
    ("wsinv", "3.1.1.1", true, Answer(481)),
    ("intmeth", "3.1.1.2", false, Ignored),
    ("esc01", "3.1.1.3", true, Offered),
    ("escnull", "3.1.1.4", true, Answer(405)),
    ("esc02", "3.1.1.5", false, Answer(501)),
    ("lwsdisp", "3.1.1.6", true, Answer(200)),
    ("longreq", "3.1.1.7", true, Offered),
    ("dblreq", "3.1.1.8", true, Answer(405)),
    ("semiuri", "3.1.1.9", true, Answer(200)),
    ("transports", "3.1.1.10", true, Answer(200)),
    ("mpart01", "3.1.1.11", true, Answer(405)),
    ("unreason", "3.1.1.12", true, Ignored),
    ("noreason", "3.1.1.13", true, Ignored),
    ("badinv01", "3.1.2.1", false, Answer(400)),
    ("clerr", "3.1.2.2", false, Answer(400)),
    ("ncl", "3.1.2.3", false, Answer(400)),
    ("scalar02", "3.1.2.4", false, Answer(400)),
    ("scalarlg", "3.1.2.5", false, Ignored),
    ("quotbal", "3.1.2.6", false, Answer(400)),
    ("ltgtruri", "3.1.2.7", false, Answer(400)),
    ("lwsruri", "3.1.2.8", false, Answer(400)),
    ("lwsstart", "3.1.2.9", false, Answer(400)),
    ("trws", "3.1.2.10", false, Answer(400)),
    ("escruri", "3.1.2.11", false, Answer(400)),
    ("baddate", "3.1.2.12", true, Offered),
    ("regbadct", "3.1.2.13", false, Answer(400)),
    ("badaspec", "3.1.2.14", false, Answer(400)),
    ("baddn", "3.1.2.15", false, Answer(400)),
    ("badvers", "3.1.2.16", false, Answer(505)),
    ("mismatch01", "3.1.2.17", false, Answer(400)),
    ("mismatch02", "3.1.2.18", false, Answer(400)),
    ("bigcode", "3.1.2.19", false, Ignored),
    ("badbranch", "3.2.1", true, Answer(200)),
    ("insuf", "3.3.1", false, Answer(400)),
    ("unkscm", "3.3.2", false, Answer(416)),
    ("novelsc", "3.3.3", true, Answer(416)),
    ("unksm2", "3.3.4", true, Answer(405)),
    ("bext01", "3.3.5", true, Answer(420)),
    ("invut", "3.3.6", true, Answer(415)),
    ("regaut01", "3.3.7", true, Answer(405)),
    ("multi01", "3.3.8", false, Answer(400)),
    ("mcl01", "3.3.9", false, Answer(400)),
    ("bcast", "3.3.10", true, Ignored),
    ("zeromf", "3.3.11", true, Answer(200)),
    ("cparam01", "3.3.12", true, Answer(405)),
    ("cparam02", "3.3.13", true, Answer(405)),
    ("regescrt", "3.3.14", true, Answer(405)),
    ("sdp01", "3.3.15", true, Answer(406)),
    ("inv2543", "3.4.1", true, Offered),
];

fn bytes(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/data/rfc4475/{name}.dat",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parsed(name: &str) -> SipMessage {
    message::parse(&bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn request(name: &str) -> rsip::Request {
    rsip::Request::try_from(parsed(name)).unwrap()
}

#[allow(clippy::disallowed_methods)] // the origin of virtual time; never read again
fn t0() -> Instant {
    Instant::now()
}

/// Feeds `data` to a fresh UA, returns what it sent and did, then runs every timer out.
fn run(name: &str, transport: Transport) -> (Vec<Vec<u8>>, Outcome) {
    let mut ua = UserAgent::new(
        ua_common::config(transport),
        ChaCha20Rng::seed_from_u64(4475),
    );
    let now = t0();
    let peer = ua_common::addr("192.0.2.1:5060");
    ua.handle_message(now, peer, transport, &bytes(name));
    let sent: Vec<Vec<u8>> = std::iter::from_fn(|| ua.poll_transmit())
        .map(|t| {
            assert_eq!(t.dest, peer, "{name}: answered where it came from");
            t.data.to_vec()
        })
        .collect();
    let mut outcome = match sent.first() {
        Some(data) => Answer(String::from_utf8_lossy(&data[8..11]).parse().unwrap()),
        None => Ignored,
    };
    while let Some(ev) = ua.poll_event() {
        if let UaEvent::Incoming(call) = ev {
            outcome = Offered;
            ua.reject(now, call.handle, 480);
        }
    }
    // §17.2.1 / §17.2.2: every transaction ends once its timers have run (64*T1 at most).
    let mut at = now;
    for _ in 0..1000 {
        let Some(next) = ua.poll_timeout() else { break };
        at = next.max(at);
        ua.handle_timeout(at);
        while ua.poll_transmit().is_some() {}
    }
    assert!(
        at <= now + Duration::from_secs(64),
        "{name}: timers ran past 64*T1"
    );
    assert_eq!(ua.poll_timeout(), None, "{name}: a deadline is left");
    assert_eq!(ua.transaction_count(), 0, "{name}: stuck transaction");
    assert_eq!(ua.session_count(), 0, "{name}: stuck session");
    (sent, outcome)
}

/// RFC 4475 §3: every message, over UDP and TCP, gets the outcome of the table; every answer
/// echoes the request's Call-ID and CSeq and is a single, well-formed response head.
#[test]
fn every_torture_message_gets_its_outcome() {
    let index = std::fs::read_to_string(format!(
        "{}/tests/data/rfc4475/INDEX.tsv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert_eq!(
        index.lines().count() - 1,
        TABLE.len(),
        "INDEX.tsv lists all 49"
    );
    for (name, section, parses, expected) in TABLE {
        assert!(
            index.contains(&format!("{name}.dat\t{section}\t")),
            "{name} is §{section}"
        );
        assert_eq!(
            message::parse(&bytes(name)).is_ok(),
            parses,
            "{name} (§{section}): {:?}",
            message::parse(&bytes(name)).err()
        );
        for transport in [Transport::Udp, Transport::Tcp] {
            let (sent, outcome) = run(name, transport);
            assert_eq!(outcome, expected, "{name} (§{section}) over {transport:?}");
            assert!(sent.len() <= 1, "{name}: {} responses", sent.len());
            if let Some(data) = sent.first() {
                let text = String::from_utf8_lossy(data);
                assert!(text.contains("Content-Length: 0\r\n"), "{name}: {text}");
                assert_eq!(
                    text.find("\r\n\r\n"),
                    Some(text.len() - 4),
                    "{name}: {text}"
                );
                assert!(!text.contains('\0'), "{name}: NUL echoed");
                let echoed = |prefix: &str| {
                    text.lines()
                        .find_map(|l| l.strip_prefix(prefix))
                        .map(str::to_owned)
                };
                let request = String::from_utf8_lossy(&bytes(name)).into_owned();
                // §8.2.6.2: what identifies the request is copied; `insuf` has no Call-ID.
                match echoed("Call-ID: ") {
                    Some(call_id) => {
                        assert!(request.contains(&call_id), "{name}: Call-ID {call_id}")
                    }
                    None => assert_eq!(name, "insuf", "{name}: no Call-ID in {text}"),
                }
                let cseq = echoed("CSeq: ").unwrap_or_else(|| panic!("{name}: no CSeq in {text}"));
                assert!(
                    request.contains(cseq.split(' ').next().unwrap()),
                    "{name}: CSeq {cseq}"
                );
                assert!(echoed("Via: ").is_some(), "{name}: no Via in {text}");
            }
        }
    }
}

fn other(msg: &impl rsip::message::HasHeaders, name: &str) -> Vec<String> {
    msg.headers()
        .iter()
        .filter_map(|h| match h {
            Header::Other(n, v) if n.eq_ignore_ascii_case(name) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

/// §3.1.1.1: folding, LWS around every separator, compact and mixed-case names.
#[test]
fn wsinv_values() {
    let req = request("wsinv");
    assert_eq!(
        req.uri.to_string(),
        "sip:vivekg@chair-dnrc.example.com;unknownparam"
    );
    assert_eq!(
        message::to_tag(&req).unwrap().as_deref(),
        Some("1918181833n")
    );
    assert_eq!(message::from_tag(&req).unwrap().as_deref(), Some("98asjd8"));
    let from = req.from_header().unwrap().typed().unwrap();
    // rsip keeps the quotes; the quoted-pairs `\\` and `\"` are intact.
    assert_eq!(
        from.display_name.as_deref(),
        Some("\"J Rosenberg \\\\\\\"\"")
    );
    assert_eq!(message::cseq(&req).unwrap(), (9, rsip::Method::Invite));
    assert_eq!(message::call_id(&req).unwrap(), "wsinv.ndaksdj@192.0.2.1");
    let vias: Vec<String> = req
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Via(v) => Some(v.value().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        vias,
        [
            "SIP/2.0/UDP 192.0.2.2;branch=390skdjuw",
            "SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8",
            "SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK30239"
        ]
    );
    assert_eq!(
        other(&req, "NewFangledHeader"),
        ["newfangled value continued newfangled value"]
    );
    assert_eq!(other(&req, "UnknownHeaderWithUnusualValue"), [";;,,;;,;"]);
    let contact = req.contact_header().unwrap().value().to_owned();
    assert!(
        contact.ends_with(";newparam=newvalue;secondparam;q=0.33"),
        "{contact}"
    );
    assert!(contact.starts_with("\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com>"));
    assert_eq!(message::body(&parsed("wsinv")).len(), 150);
}

/// §3.1.1.3, §3.1.1.4, §3.1.1.9: `%` escapes and `;` in user parts are kept as written
/// (they compare equal to their unescaped form, §19.1.4); `%00` is not a NUL.
#[test]
fn escaped_uris() {
    // rsip reads a user part holding `%` escapes as part of the host (not handled: see the
    // module doc), so the URIs are checked as written, which is what a response echoes.
    let esc01 = request("esc01");
    assert_eq!(
        esc01.uri.to_string(),
        "sip:sips%3Auser%40example.com@example.net"
    );
    let contact = esc01.contact_header().unwrap().value().to_owned();
    assert_eq!(
        contact,
        "<sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>"
    );
    let to = esc01.to_header().unwrap().typed().unwrap();
    assert_eq!(to.uri.to_string(), "sip:%75se%72@example.com");
    let from = esc01.from_header().unwrap().typed().unwrap();
    assert_eq!(from.uri.to_string(), "sip:I%20have%20spaces@example.net");
    let escnull = request("escnull");
    let to = escnull.to_header().unwrap().typed().unwrap();
    assert_eq!(to.uri.to_string(), "sip:null-%00-null@example.com");
    assert!(!message::to_bytes(&escnull.into()).contains(&0));
    let semiuri = request("semiuri");
    assert_eq!(
        semiuri.uri.to_string(),
        "sip:user%3Bpar=u%40example.net@example.com"
    );
    let text = String::from_utf8(message::to_bytes(&semiuri.into()).to_vec()).unwrap();
    assert!(
        text.contains(
            "Accept: application/sdp, application/pkcs7-mime, multipart/mixed, \
             multipart/signed, message/sip, message/sipfrag\r\n"
        ),
        "{text}"
    );
}

/// §3.1.1.6, §3.1.1.7, §3.1.1.8, §3.1.1.10: no LWS before `<`, long values, the second
/// request of a datagram ignored (§18.3), unknown transports in Via.
#[test]
fn unusual_forms() {
    let lwsdisp = request("lwsdisp");
    let from = lwsdisp.from_header().unwrap().typed().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("caller"));
    let longreq = request("longreq");
    let vias = longreq
        .headers
        .iter()
        .filter(|h| matches!(h, Header::Via(_)))
        .count();
    assert_eq!(vias, 34);
    assert!(message::from_tag(&longreq).unwrap().unwrap().len() > 150);
    let dblreq = parsed("dblreq");
    assert_eq!(message::method(&dblreq).unwrap(), rsip::Method::Register);
    assert!(message::body(&dblreq).is_empty());
    assert_eq!(
        message::call_id(&dblreq).unwrap(),
        "dblreq.0ha0isndaksdj99sdfafnl3lk233412"
    );
    let transports: Vec<String> = request("transports")
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Via(v) => v
                .value()
                .split('/')
                .nth(2)
                .map(|t| t[..t.find(' ').unwrap()].to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

/// §3.1.1.11-13: a binary multipart body kept byte for byte; unusual and empty reason phrases.
#[test]
fn bodies_and_reason_phrases() {
    let mpart = parsed("mpart01");
    assert_eq!(message::body(&mpart).len(), 553);
    assert!(message::body(&mpart).starts_with(b"--7a9cbec02ceef655\r\n"));
    let raw = bytes("mpart01");
    assert!(raw.ends_with(message::body(&mpart)));
    let SipMessage::Response(unreason) = parsed("unreason") else {
        panic!()
    };
    assert_eq!(unreason.status_code.code(), 200);
    // rsip keeps the code but not this reason phrase (not handled: it is never echoed).
    assert_ne!(
        unreason.status_code.to_string(),
        "200 = 2**3 * 5**2 \u{043d}\u{043e} \u{0441}\u{0442}\u{043e} \u{0434}\u{0435}\u{0432}\u{044f}\u{043d}\u{043e}\u{0441}\u{0442}\u{043e} \u{0434}\u{0435}\u{0432}\u{044f}\u{0442}\u{044c} - \u{043f}\u{0440}\u{043e}\u{0441}\u{0442}\u{043e}\u{0435}"
    );
    assert_eq!(message::status_code(&parsed("noreason")), Some(100));
}

/// §3.3.4, §3.3.12-14: unknown schemes in From/To/Contact, Contact parameters and an
/// escaped header in a Contact URI parse.
#[test]
fn application_layer_values() {
    let unksm2 = request("unksm2");
    assert_eq!(unksm2.to_header().unwrap().value(), "isbn:2983792873");
    assert_eq!(
        unksm2.from_header().unwrap().value(),
        "<http://www.example.com>;tag=3234233"
    );
    assert_eq!(
        unksm2.contact_header().unwrap().value(),
        "<name:John_Smith>"
    );
    assert_eq!(
        request("cparam01").contact_header().unwrap().value(),
        "sip:+19725552222@gw1.example.net;unknownparam"
    );
    assert_eq!(
        request("cparam02").contact_header().unwrap().value(),
        "<sip:+19725552222@gw1.example.net;unknownparam>"
    );
    assert_eq!(
        request("regescrt").contact_header().unwrap().value(),
        "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>"
    );
    assert_eq!(
        request("zeromf")
            .headers
            .iter()
            .find_map(|h| match h {
                Header::MaxForwards(m) => Some(m.value().to_owned()),
                _ => None,
            })
            .as_deref(),
        Some("0")
    );
}

/// §3.3.5, §3.3.6: 420 lists the unsupported option tags (§8.2.2.3); 415 says what we accept.
#[test]
fn refusals_explain_themselves() {
    let (sent, _) = run("bext01", Transport::Udp);
    let text = String::from_utf8(sent[0].clone()).unwrap();
    assert!(
        text.contains("Unsupported: nothingSupportsThis, nothingSupportsThisEither\r\n"),
        "{text}"
    );
    let (sent, _) = run("invut", Transport::Udp);
    let text = String::from_utf8(sent[0].clone()).unwrap();
    assert!(text.contains("Accept: application/sdp\r\n"), "{text}");
    let (sent, _) = run("mismatch01", Transport::Udp);
    let text = String::from_utf8(sent[0].clone()).unwrap();
    assert!(text.contains("CSeq: 8 INVITE\r\n"), "{text}");
}
