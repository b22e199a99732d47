//! A best-effort answer to a request that [`crate::message::parse`] refused (RFC 3261 §8.2,
//! §21.4.1; RFC 4475 §3): when the start line says "request" and a Via can be read, the sender
//! gets a final response built from the raw header lines (Via, From, To, Call-ID, CSeq), so it
//! stops retransmitting instead of timing out. From, To or Call-ID may be missing (RFC 4475
//! §3.3.1) when the top Via has an RFC 3261 branch: the sender's client transaction matches
//! the response on that branch and the CSeq method alone (§17.1.3). Responses, ACKs, requests
//! without Via or CSeq, requests missing From, To or Call-ID without such a branch, and
//! requests whose echoed values carry CR, LF or NUL (header injection) are ignored.

use bytes::Bytes;

use crate::normalize::{find, logical_lines, name_value, trim};

/// The answer to an unparseable request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvaged {
    /// Status code: 400, or 416/501/505 when the fault is an unknown scheme, method or version.
    pub code: u16,
    /// The serialized response.
    pub response: Bytes,
}

const KNOWN_METHODS: [&str; 14] = [
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
];

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// The response for bytes that did not parse, or `None` when nothing should be sent.
/// `to_tag` is added to a To without a tag (§8.2.6.2).
pub fn reply(bytes: &[u8], to_tag: &str) -> Option<Salvaged> {
    let head = match find(bytes, b"\r\n\r\n") {
        Some(end) => &bytes[..end],
        None => bytes,
    };
    let lines = logical_lines(head);
    let start = std::str::from_utf8(lines.first()?).ok()?;
    let mut parts = start.split(' ');
    let (method, uri, version) = (parts.next()?, parts.next(), parts.next_back());
    if method.starts_with("SIP/") || method == "ACK" || !is_token(method) {
        // A response, an ACK (never answered, §17.2.3), or not SIP at all.
        return None;
    }
    let mut vias: Vec<&[u8]> = Vec::new();
    let mut single: [Option<&[u8]>; 4] = [None; 4];
    const NAMES: [&str; 4] = ["From", "To", "Call-ID", "CSeq"];
    for line in lines.iter().skip(1) {
        let Some((name, value)) = name_value(line) else {
            continue;
        };
        let name = crate::checks::long_name(name);
        if name == "via" {
            vias.push(value);
        } else if let Some(i) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(&name)) {
            single[i].get_or_insert(value);
        }
    }
    let echoed = vias.iter().chain(single.iter().flatten());
    // Without Via and CSeq a response cannot be matched to its request at all; without From,
    // To or Call-ID only by an RFC 3261 client transaction (§17.1.3, §8.2.6.2).
    let matchable = single[3].is_some()
        && (single.iter().all(Option::is_some)
            || top_via(&vias).is_some_and(|v| has_rfc3261_branch(&v)));
    if vias.is_empty()
        || !matchable
        || echoed
            .clone()
            .any(|v| v.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)))
    {
        return None;
    }
    let cseq_method = single[3]
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.split_whitespace().nth(1));
    let scheme = uri
        .and_then(|u| u.split_once(':'))
        .map(|(s, _)| s.to_ascii_lowercase());
    let (code, reason) = if version.is_some_and(|v| v.starts_with("SIP/") && v != "SIP/2.0")
        && start.split(' ').count() == 3
    {
        (505, "Version Not Supported")
    } else if cseq_method.is_some_and(|m| m != method) {
        (400, "Bad Request")
    } else if start.split(' ').count() == 3
        && scheme
            .as_deref()
            .is_some_and(|s| !matches!(s, "sip" | "sips" | "tel") && is_token(s))
    {
        (416, "Unsupported URI Scheme")
    } else if !KNOWN_METHODS.contains(&method) && cseq_method == Some(method) {
        (501, "Not Implemented")
    } else {
        (400, "Bad Request")
    };
    // What we echo must be readable by the sender (a Via or CSeq cut short is not).
    if !echo_is_sound(&vias, &single, method) {
        return None;
    }
    let mut out = format!("SIP/2.0 {code} {reason}\r\n").into_bytes();
    for via in vias {
        push(&mut out, "Via", via);
    }
    for (name, value) in NAMES.iter().zip(single) {
        let Some(value) = value else { continue };
        push(&mut out, name, value);
        if *name == "To" && !has_tag(value) {
            out.extend_from_slice(format!(";tag={to_tag}").as_bytes());
        }
    }
    out.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    Some(Salvaged {
        code,
        response: Bytes::from(out),
    })
}

/// A stateless final response with `code` to the request in `bytes` (a source we do not
/// serve, a policy refusal), or `None` for a response, an ACK, or bytes that do not parse and
/// cannot be salvaged.
pub fn refuse(bytes: &[u8], code: u16) -> Option<Bytes> {
    match crate::message::parse(bytes) {
        Ok(rsip::SipMessage::Request(req)) if req.method != rsip::Method::Ack => {
            let resp = crate::message::response_for(&req, code, None, None);
            Some(crate::message::to_bytes(&resp.into()))
        }
        Ok(_) => None,
        Err(_) => reply(bytes, "refused").map(|s| {
            // Same headers, our code: replace the status line.
            let text = &s.response[..];
            let rest = text
                .iter()
                .position(|b| *b == b'\n')
                .map_or(&[][..], |i| &text[i + 1..]);
            let status = rsip::StatusCode::from(code);
            let mut out = format!("SIP/2.0 {status}\r\n").into_bytes();
            out.extend_from_slice(rest);
            Bytes::from(out)
        }),
    }
}

fn text(v: Option<&[u8]>) -> Option<&str> {
    v.and_then(|v| std::str::from_utf8(v).ok())
}

/// The top Via, typed; one of another SIP version (RFC 4475 §3.1.2.16) is read as 2.0, since
/// it still routes the 505.
fn top_via(vias: &[&[u8]]) -> Option<rsip::typed::Via> {
    use rsip::headers::{ToTypedHeader, UntypedHeader};
    let first = std::str::from_utf8(vias.first()?).ok()?;
    let v = *crate::normalize::split_comma_list(first).first()?;
    let v2 = match v.get(..4).zip(v.get(7..)) {
        Some((p, rest)) if p.eq_ignore_ascii_case("SIP/") => format!("SIP/2.0{rest}"),
        _ => v.to_owned(),
    };
    rsip::headers::Via::new(v2).typed().ok()
}

fn has_rfc3261_branch(via: &rsip::typed::Via) -> bool {
    via.branch().is_some_and(|b| {
        b.to_string()
            .starts_with(crate::message::BRANCH_MAGIC_COOKIE)
    })
}

fn echo_is_sound(vias: &[&[u8]], single: &[Option<&[u8]>; 4], method: &str) -> bool {
    use rsip::headers::{ToTypedHeader, UntypedHeader};
    let top_via = top_via(vias).is_some();
    // Absent From, To or Call-ID were allowed by the caller; present ones must be readable.
    let name_addr_ok = |raw: Option<&[u8]>, typed: fn(&str) -> bool| {
        // A name-addr whose <...> is complete is echoed even if rsip cannot type it (RFC
        // 4475 §3.1.2.14); one cut short is not.
        let closed = |v: &str| v.find('<').is_some_and(|i| v[i..].contains('>'));
        raw.is_none()
            || text(raw).is_some_and(|v| !crate::message::is_sip_uri(v) || typed(v) || closed(v))
    };
    let from = name_addr_ok(single[0], |v| rsip::headers::From::new(v).typed().is_ok());
    let to = name_addr_ok(single[1], |v| rsip::headers::To::new(v).typed().is_ok());
    let call_id = single[2].is_none() || text(single[2]).is_some_and(|v| !v.trim().is_empty());
    let cseq = text(single[3]).is_some_and(|v| {
        let mut it = v.split_whitespace();
        // An overlarge number is echoed as received (RFC 4475 §3.1.2.4).
        let seq_ok = it
            .next()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let m = it.next().unwrap_or_default();
        seq_ok && it.next().is_none() && (KNOWN_METHODS.contains(&m) || m == method)
    });
    top_via && from && to && call_id && cseq
}

fn push(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    if out.ends_with(b"\r\n") {
        out.extend_from_slice(name.as_bytes());
    } else {
        out.extend_from_slice(format!("\r\n{name}").as_bytes());
    }
    out.extend_from_slice(b": ");
    out.extend_from_slice(trim(value));
}

fn has_tag(value: &[u8]) -> bool {
    let lower = value.to_ascii_lowercase();
    let after_uri = match lower.iter().rposition(|b| *b == b'>') {
        Some(i) => &lower[i..],
        None => &lower[..],
    };
    find(after_uri, b";tag=").is_some() || find(after_uri, b";tag =").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &Salvaged) -> String {
        String::from_utf8(s.response.to_vec()).unwrap()
    }

    /// RFC 3261 §8.2.6.1: Via(s), From, To (+tag), Call-ID and CSeq are copied.
    #[test]
    fn copies_the_routing_headers() {
        let raw = b"INVITE <sip:u@e> SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
                    Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\nTo: <sip:u@e>\r\nf: <sip:c@e>;tag=9\r\n\
                    Call-ID: x\r\nCSeq: 1 INVITE\r\n\r\n";
        let s = reply(raw, "t1").unwrap();
        assert_eq!(s.code, 400);
        assert_eq!(
            text(&s),
            "SIP/2.0 400 Bad Request\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
             Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\nFrom: <sip:c@e>;tag=9\r\nTo: <sip:u@e>;tag=t1\r\n\
             Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        );
        assert!(crate::message::parse(&s.response).is_ok());
    }

    /// Nothing goes back for a response, an ACK, a message without Via, or injected bytes.
    #[test]
    fn ignores_what_cannot_be_answered() {
        assert_eq!(
            reply(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a\r\n\r\n", "t"),
            None
        );
        assert_eq!(
            reply(b"ACK sip:a SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n\r\n", "t"),
            None
        );
        assert_eq!(reply(b"INVITE sip:a SIP/2.0\r\nTo: a\r\n\r\n", "t"), None);
        // From, To and Call-ID missing, and no RFC 3261 branch to match the answer on.
        assert_eq!(
            reply(
                b"INVITE sip:a SIP/2.0\r\nCSeq: 1 INVITE\r\nVia: SIP/2.0/UDP a\r\n\r\n",
                "t"
            ),
            None
        );
        // A CSeq is needed in any case (§17.1.3 matches on its method).
        assert_eq!(
            reply(
                b"INVITE sip:a SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\r\n",
                "t"
            ),
            None
        );
        assert_eq!(
            reply(
                b"INVITE sip:a SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nTo: a\0b\r\n\r\n",
                "t"
            ),
            None
        );
        assert_eq!(reply(b"\xff\xfe", "t"), None);
        assert_eq!(reply(b"", "t"), None);
    }

    /// RFC 4475 §3.3.1: From, To and Call-ID missing; with an RFC 3261 branch the sender
    /// matches a 400 on the branch and CSeq method (§17.1.3), so it gets one, carrying what
    /// the request had.
    #[test]
    fn answers_a_request_missing_from_to_call_id_by_its_branch() {
        let raw = b"INVITE sip:user@example.com SIP/2.0\r\nCSeq: 193942 INVITE\r\n\
                    Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n\
                    Content-Type: application/sdp\r\nl: 0\r\n\r\n";
        let s = reply(raw, "t").unwrap();
        assert_eq!(s.code, 400);
        assert_eq!(
            text(&s),
            "SIP/2.0 400 Bad Request\r\nVia: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n\
             CSeq: 193942 INVITE\r\nContent-Length: 0\r\n\r\n"
        );
        let with_to = String::from_utf8(raw.to_vec())
            .unwrap()
            .replace("l: 0", "To: <sip:user@example.com>\r\nl: 0");
        let s = reply(with_to.as_bytes(), "t").unwrap();
        assert!(
            text(&s).contains("\r\nTo: <sip:user@example.com>;tag=t\r\nCSeq: 193942 INVITE\r\n"),
            "{}",
            text(&s)
        );
        // A To that is there but cut short is still not echoed.
        let bad_to = with_to.replace("<sip:user@example.com>", "<sip:user@example.com");
        assert_eq!(reply(bad_to.as_bytes(), "t"), None);
    }

    /// The code names the fault when it is clear (RFC 3261 §21.4.19, §21.5.2, §21.5.6).
    #[test]
    fn picks_the_code() {
        let with = |start: &str, cseq: &str| {
            let raw = format!(
                "{start}\r\nVia: SIP/2.0/UDP a\r\nCSeq: {cseq}\r\nTo: <sip:a@b>\r\n\
                 From: <sip:c@d>;tag=1\r\nCall-ID: c\r\n\r\n"
            );
            reply(raw.as_bytes(), "t").map(|s| s.code)
        };
        assert_eq!(with("OPTIONS sip:a SIP/7.0", "1 OPTIONS"), Some(505));
        assert_eq!(with("OPTIONS nobody:x SIP/2.0", "1 OPTIONS"), Some(416));
        assert_eq!(with("FOO sip:a SIP/2.0", "1 FOO"), Some(501));
        assert_eq!(with("FOO sip:a SIP/2.0", "1 INVITE"), Some(400));
        assert_eq!(with("OPTIONS  sip:a SIP/2.0", "1 OPTIONS"), Some(400));
    }

    /// A policy refusal (403 to a stranger) for a parsed and for a salvaged request; never
    /// for an ACK or a response.
    #[test]
    fn refuse_builds_a_final_response() {
        let ok = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
                   From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let r = refuse(ok, 403).unwrap();
        assert!(r.starts_with(b"SIP/2.0 403 Forbidden\r\n"));
        assert!(crate::message::parse(&r).is_ok());
        let bad = String::from_utf8(ok.to_vec())
            .unwrap()
            .replace("OPTIONS sip", "OPTIONS  sip");
        let r = refuse(bad.as_bytes(), 403).unwrap();
        assert!(r.starts_with(b"SIP/2.0 403 Forbidden\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"));
        let ack = String::from_utf8(ok.to_vec())
            .unwrap()
            .replace("OPTIONS", "ACK");
        assert_eq!(refuse(ack.as_bytes(), 403), None);
        assert_eq!(refuse(b"SIP/2.0 200 OK\r\n\r\n", 403), None);
    }
}
