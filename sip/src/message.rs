//! Helpers over rsip: parsing with the RFC 3261 checks rsip leaves out, accessors that never
//! panic, builders for the responses, ACKs and CANCELs the transaction layer needs, and
//! identifiers drawn from an injected RNG.

use bytes::Bytes;
use rand::{Rng, RngCore, distributions::Alphanumeric};
use rsip::headers::{ToTypedHeader, UntypedHeader};
use rsip::message::HeadersExt;
use rsip::{Header, Headers, Method, Request, Response, SipMessage, StatusCode};

use crate::Error;

/// The RFC 3261 §8.1.1.7 magic cookie that starts every compliant branch.
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// Parses one SIP message (one datagram or one framed stream message) and checks it.
///
/// Beyond rsip: a status code must be three digits from 100 to 699 (§25.1), compact header
/// names (§7.3.3) are expanded, comma-joined Via values are split (not at a comma inside a
/// quoted string or `<...>`), Via/From/To/Call-ID/CSeq must be present and parse (§8.1.1), a
/// request's CSeq method must equal its method, and a Content-Length larger than the body is
/// rejected while extra bytes are dropped (§18.3). Before rsip sees them, folded lines are unfolded and the whitespace
/// §7.3.1 allows around separators is removed; values with CR/LF/NUL, repeated single-valued
/// headers, empty parameters and unbalanced quotes are refused (RFC 4475 §3.1.2, §3.3.8).
pub fn parse(bytes: &[u8]) -> Result<SipMessage, Error> {
    let canonical = crate::normalize::canonical(bytes)?;
    crate::checks::header_block(&canonical)?;
    let mut msg =
        SipMessage::try_from(canonical.as_slice()).map_err(|e| Error::Parse(e.to_string()))?;
    let headers = std::mem::take(rsip::message::HasHeaders::headers_mut(&mut msg));
    *rsip::message::HasHeaders::headers_mut(&mut msg) = normalize(headers);
    validate(&mut msg)?;
    Ok(msg)
}

/// Serializes a message for the wire, keeping a binary body byte for byte.
pub fn to_bytes(msg: &SipMessage) -> Bytes {
    let (head, body) = match msg {
        SipMessage::Request(r) => (
            format!("{} {} {}\r\n{}\r\n", r.method, r.uri, r.version, r.headers),
            &r.body,
        ),
        SipMessage::Response(r) => (
            format!("{} {}\r\n{}\r\n", r.version, r.status_code, r.headers),
            &r.body,
        ),
    };
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    Bytes::from(out)
}

fn normalize(headers: Headers) -> Headers {
    let mut out = Vec::new();
    for header in headers {
        let header = match header {
            Header::Other(name, value) => expand_compact(name, value),
            other => other,
        };
        match header {
            // §7.3.1: one Via per value; a comma in a quoted via-extension value or in
            // `<...>` separates nothing (§25.1).
            Header::Via(via) if via.value().contains(',') => out.extend(
                crate::normalize::split_comma_list(via.value())
                    .into_iter()
                    .map(|v| Header::Via(rsip::headers::Via::new(v))),
            ),
            other => out.push(other),
        }
    }
    out.into()
}

fn expand_compact(name: String, value: String) -> Header {
    use rsip::headers as h;
    match name.to_ascii_lowercase().as_str() {
        "i" => Header::CallId(h::CallId::new(value)),
        "m" => Header::Contact(h::Contact::new(value)),
        "e" => Header::ContentEncoding(h::ContentEncoding::new(value)),
        "l" => Header::ContentLength(h::ContentLength::new(value)),
        "c" => Header::ContentType(h::ContentType::new(value)),
        "f" => Header::From(h::From::new(value)),
        "s" => Header::Subject(h::Subject::new(value)),
        "k" => Header::Supported(h::Supported::new(value)),
        "t" => Header::To(h::To::new(value)),
        "v" => Header::Via(h::Via::new(value)),
        _ => Header::Other(name, value),
    }
}

fn invalid(header: &'static str, e: impl std::fmt::Display) -> Error {
    Error::InvalidHeader {
        header,
        reason: e.to_string(),
    }
}

fn validate(msg: &mut SipMessage) -> Result<(), Error> {
    top_via(msg)?;
    let from = msg
        .from_header()
        .map_err(|_| Error::MissingHeader("From"))?;
    if is_sip_uri(from.value()) {
        from.typed().map_err(|e| invalid("From", e))?;
    }
    let to = msg.to_header().map_err(|_| Error::MissingHeader("To"))?;
    if is_sip_uri(to.value()) {
        to.typed().map_err(|e| invalid("To", e))?;
    }
    if call_id(msg)?.is_empty() {
        return Err(invalid("Call-ID", "empty"));
    }
    let (_, cseq_method) = cseq(msg)?;
    if let SipMessage::Request(req) = msg
        && req.method != cseq_method
    {
        return Err(invalid(
            "CSeq",
            format!("method {cseq_method} in a {} request", req.method),
        ));
    }
    let declared = rsip::header_opt!(
        rsip::message::HasHeaders::headers(msg).iter(),
        Header::ContentLength
    )
    .map(|cl| {
        cl.value()
            .trim()
            .parse::<usize>()
            .map_err(|e| invalid("Content-Length", e))
    })
    .transpose()?;
    if let Some(declared) = declared {
        let body = msg.body_mut();
        if declared > body.len() {
            return Err(Error::BodyTooShort {
                declared,
                actual: body.len(),
            });
        }
        body.truncate(declared);
    }
    Ok(())
}

/// Whether a From/To value holds a `sip:` or `sips:` URI. Other schemes are legal there
/// (RFC 4475 §3.3.4) but rsip cannot type them, so they are kept as text.
pub(crate) fn is_sip_uri(value: &str) -> bool {
    let uri = value.split_once('<').map_or(value, |(_, rest)| rest);
    let uri = uri.trim_start().to_ascii_lowercase();
    uri.starts_with("sip:") || uri.starts_with("sips:")
}

/// The top Via, parsed.
pub fn top_via(msg: &impl HeadersExt) -> Result<rsip::typed::Via, Error> {
    msg.via_header()
        .map_err(|_| Error::MissingHeader("Via"))?
        .typed()
        .map_err(|e| invalid("Via", e))
}

/// The branch parameter of the top Via (§8.1.1.7), whatever its form.
pub fn top_via_branch(msg: &impl HeadersExt) -> Result<String, Error> {
    top_via(msg)?
        .branch()
        .map(|b| b.to_string())
        .ok_or(Error::NoRfc3261Branch)
}

/// The method of a request, or the CSeq method of a response.
pub fn method(msg: &SipMessage) -> Result<Method, Error> {
    match msg {
        SipMessage::Request(req) => Ok(req.method),
        SipMessage::Response(_) => cseq(msg).map(|(_, m)| m),
    }
}

/// The CSeq sequence number and method.
pub fn cseq(msg: &impl HeadersExt) -> Result<(u32, Method), Error> {
    let typed = msg
        .cseq_header()
        .map_err(|_| Error::MissingHeader("CSeq"))?
        .typed()
        .map_err(|e| invalid("CSeq", e))?;
    Ok((typed.seq, typed.method))
}

/// The Call-ID value.
pub fn call_id(msg: &impl HeadersExt) -> Result<&str, Error> {
    Ok(msg
        .call_id_header()
        .map_err(|_| Error::MissingHeader("Call-ID"))?
        .value()
        .trim())
}

/// The From tag, if any.
pub fn from_tag(msg: &impl HeadersExt) -> Result<Option<String>, Error> {
    let from = msg
        .from_header()
        .map_err(|_| Error::MissingHeader("From"))?;
    Ok(from
        .tag()
        .map_err(|e| invalid("From", e))?
        .map(|t| t.to_string()))
}

/// The To tag, if any.
pub fn to_tag(msg: &impl HeadersExt) -> Result<Option<String>, Error> {
    let to = msg.to_header().map_err(|_| Error::MissingHeader("To"))?;
    Ok(to
        .tag()
        .map_err(|e| invalid("To", e))?
        .map(|t| t.to_string()))
}

/// The status code of a response; `None` for a request.
pub fn status_code(msg: &SipMessage) -> Option<u16> {
    match msg {
        SipMessage::Response(r) => Some(r.status_code.code()),
        SipMessage::Request(_) => None,
    }
}

/// The message body (Content-Length already enforced by [`parse`]).
pub fn body(msg: &SipMessage) -> &[u8] {
    msg.body()
}

fn headers_of<'a>(
    req: &'a Request,
    pick: fn(&Header) -> bool,
) -> impl Iterator<Item = Header> + 'a {
    req.headers.iter().filter(move |h| pick(h)).cloned()
}

fn first_of(req: &Request, pick: fn(&Header) -> bool) -> Option<Header> {
    headers_of(req, pick).next()
}

fn max_forwards_of(req: &Request) -> Header {
    first_of(req, |h| matches!(h, Header::MaxForwards(_)))
        .unwrap_or_else(|| Header::MaxForwards(70u32.into()))
}

fn cseq_with(req: &Request, method: Method) -> Option<Header> {
    let (seq, _) = cseq(req).ok()?;
    Some(Header::CSeq(rsip::typed::CSeq { seq, method }.into()))
}

/// Builds a response to `req` per RFC 3261 §8.2.6: all Vias, From, To (with `to_tag` added
/// when given and the To has none), Call-ID, CSeq, and `Content-Length: 0`.
pub fn response_for(
    req: &Request,
    code: u16,
    reason: Option<&str>,
    to_tag: Option<&str>,
) -> Response {
    let mut headers: Vec<Header> = Vec::new();
    for header in req.headers.iter() {
        match header {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                headers.push(header.clone())
            }
            Header::To(to) => {
                let mut to = to.clone();
                if let Some(tag) = to_tag
                    && matches!(to.tag(), Ok(None))
                {
                    // A To that does not parse is copied unchanged rather than dropped.
                    let _ = to.mut_tag(rsip::param::Tag::new(tag));
                }
                headers.push(Header::To(to));
            }
            _ => {}
        }
    }
    headers.push(Header::ContentLength(0u32.into()));
    let status_code = match reason {
        Some(reason) => StatusCode::Other(code, reason.to_owned()),
        None => StatusCode::from(code),
    };
    Response {
        status_code,
        version: rsip::Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    }
}

/// Builds the ACK for a non-2xx final response inside the INVITE client transaction
/// (RFC 3261 §17.1.1.3): same Request-URI, the INVITE's top Via only, its From, the response's
/// To, Call-ID, CSeq number with method ACK, and the INVITE's Route headers.
pub fn ack_for_non_2xx(invite: &Request, resp: &Response) -> Request {
    let mut headers: Vec<Header> = Vec::new();
    headers.extend(first_of(invite, |h| matches!(h, Header::Via(_))));
    headers.push(max_forwards_of(invite));
    headers.extend(first_of(invite, |h| matches!(h, Header::From(_))));
    let to = resp
        .headers
        .iter()
        .find(|h| matches!(h, Header::To(_)))
        .cloned();
    headers.extend(to.or_else(|| first_of(invite, |h| matches!(h, Header::To(_)))));
    headers.extend(first_of(invite, |h| matches!(h, Header::CallId(_))));
    headers.extend(cseq_with(invite, Method::Ack));
    headers.extend(headers_of(invite, |h| matches!(h, Header::Route(_))));
    headers.push(Header::ContentLength(0u32.into()));
    request(Method::Ack, invite, headers)
}

/// Builds a CANCEL for `invite` (RFC 3261 §9.1): same Request-URI, top Via, From, To,
/// Call-ID, CSeq number with method CANCEL, and the INVITE's Route headers.
pub fn cancel_for(invite: &Request) -> Request {
    let mut headers: Vec<Header> = Vec::new();
    headers.extend(first_of(invite, |h| matches!(h, Header::Via(_))));
    headers.push(max_forwards_of(invite));
    headers.extend(first_of(invite, |h| matches!(h, Header::From(_))));
    headers.extend(first_of(invite, |h| matches!(h, Header::To(_))));
    headers.extend(first_of(invite, |h| matches!(h, Header::CallId(_))));
    headers.extend(cseq_with(invite, Method::Cancel));
    headers.extend(headers_of(invite, |h| matches!(h, Header::Route(_))));
    headers.push(Header::ContentLength(0u32.into()));
    request(Method::Cancel, invite, headers)
}

fn request(method: Method, like: &Request, headers: Vec<Header>) -> Request {
    Request {
        method,
        uri: like.uri.clone(),
        version: like.version.clone(),
        headers: headers.into(),
        body: Vec::new(),
    }
}

fn random_token(rng: &mut impl RngCore, len: usize) -> String {
    (0..len)
        .map(|_| char::from(rng.sample(Alphanumeric)))
        .collect()
}

/// A new RFC 3261 branch: the magic cookie followed by 16 random alphanumerics.
pub fn new_branch(rng: &mut impl RngCore) -> String {
    format!("{BRANCH_MAGIC_COOKIE}{}", random_token(rng, 16))
}

/// A new From/To tag of 16 random alphanumerics (§19.3 asks for at least 32 random bits).
pub fn new_tag(rng: &mut impl RngCore) -> String {
    random_token(rng, 16)
}

/// A new Call-ID, `<24 random alphanumerics>@<host>` (§8.1.1.4).
pub fn new_call_id(rng: &mut impl RngCore, host: &str) -> String {
    format!("{}@{host}", random_token(rng, 24))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/data/asterisk22/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn request(name: &str) -> Request {
        match parse(&fixture(name)).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("{name} is a response"),
        }
    }

    fn response(name: &str) -> Response {
        match parse(&fixture(name)).unwrap() {
            SipMessage::Response(r) => r,
            SipMessage::Request(_) => panic!("{name} is a request"),
        }
    }

    /// Every real Asterisk 22 capture parses, and its key fields are readable.
    #[test]
    fn parses_every_asterisk22_capture() {
        let dir = format!("{}/tests/data/asterisk22", env!("CARGO_MANIFEST_DIR"));
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("sip") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let msg = parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                top_via_branch(&msg)
                    .unwrap()
                    .starts_with(BRANCH_MAGIC_COOKIE)
            );
            assert!(!call_id(&msg).unwrap().is_empty());
            assert!(from_tag(&msg).unwrap().is_some(), "{}", path.display());
            method(&msg).unwrap();
            cseq(&msg).unwrap();
            count += 1;
        }
        assert!(count >= 190, "only {count} captures found in {dir}");
    }

    /// Asterisk pads `Content-Length:  0` and drops ports from From/To (fixture README).
    #[test]
    fn asterisk_100_trying_fields() {
        let msg = parse(&fixture(
            "outbound-607-cancel-02-ast2gw-100-trying-invite.sip",
        ))
        .unwrap();
        assert_eq!(status_code(&msg), Some(100));
        assert_eq!(method(&msg).unwrap(), Method::Invite);
        assert_eq!(cseq(&msg).unwrap(), (1, Method::Invite));
        assert_eq!(call_id(&msg).unwrap(), "1-6235@127.0.0.1");
        assert_eq!(top_via_branch(&msg).unwrap(), "z9hG4bK-6235-1-0");
        assert_eq!(from_tag(&msg).unwrap().as_deref(), Some("6235SIPpTag001"));
        assert_eq!(to_tag(&msg).unwrap(), None);
        assert!(body(&msg).is_empty());
    }

    /// A stateless 401 from Asterisk carries a To-tag equal to the request's Via branch.
    #[test]
    fn stateless_401_to_tag_equals_branch() {
        let msg = parse(&fixture(
            "invite-unknown-caller-02-ast2unknown-401-unauthorized-invite.sip",
        ))
        .unwrap();
        assert_eq!(status_code(&msg), Some(401));
        assert_eq!(to_tag(&msg).unwrap(), Some(top_via_branch(&msg).unwrap()));
    }

    /// The SDP body is cut at Content-Length and kept byte for byte (RFC 3261 §18.3, §20.14).
    #[test]
    fn invite_with_sdp_body() {
        let bytes = fixture("outbound-607-cancel-01-gw2ast-invite-sdp.sip");
        let msg = parse(&bytes).unwrap();
        assert_eq!(method(&msg).unwrap(), Method::Invite);
        assert_eq!(body(&msg).len(), 210);
        assert!(body(&msg).starts_with(b"v=0\r\n"));
        assert_eq!(status_code(&msg), None);
        let again = parse(&to_bytes(&msg)).unwrap();
        assert_eq!(again, msg);
    }

    /// RFC 3261 §18.3: a Content-Length larger than the datagram's body is an error.
    #[test]
    fn content_length_larger_than_body_is_rejected() {
        let text =
            String::from_utf8(fixture("outbound-607-cancel-01-gw2ast-invite-sdp.sip")).unwrap();
        let bad = text.replace("Content-Length:   210", "Content-Length: 400");
        assert_eq!(
            parse(bad.as_bytes()),
            Err(Error::BodyTooShort {
                declared: 400,
                actual: 210
            })
        );
        let short = text.replace("Content-Length:   210", "Content-Length: 5");
        assert_eq!(
            body(&parse(short.as_bytes()).unwrap()),
            b"v=0\r\n".as_slice()
        );
    }

    /// RFC 3261 §8.1.1: each mandatory header missing gives a clear error.
    #[test]
    fn missing_mandatory_headers_are_rejected() {
        let text = String::from_utf8(fixture("outbound-607-cancel-04-gw2ast-cancel.sip")).unwrap();
        for (prefix, name) in [
            ("Via:", "Via"),
            ("From:", "From"),
            ("To:", "To"),
            ("Call-ID:", "Call-ID"),
            ("CSeq:", "CSeq"),
        ] {
            let without: String = text
                .split_inclusive("\r\n")
                .filter(|line| !line.starts_with(prefix))
                .collect();
            assert_eq!(
                parse(without.as_bytes()),
                Err(Error::MissingHeader(name)),
                "{name}"
            );
        }
        assert!(matches!(parse(b"garbage"), Err(Error::Parse(_))));
    }

    /// RFC 3261 §7.3.3 compact forms and §7.3.1 comma-joined Vias are normalized.
    #[test]
    fn compact_forms_and_joined_vias() {
        let raw = "OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h1:5060;branch=z9hG4bKa, SIP/2.0/UDP h2;branch=z9hG4bKb\r\n\
                   f: <sip:x@y>;tag=1\r\nt: <sip:a@b>\r\ni: cid\r\nCSeq: 2 OPTIONS\r\nl: 0\r\n\r\n";
        let msg = parse(raw.as_bytes()).unwrap();
        assert_eq!(top_via_branch(&msg).unwrap(), "z9hG4bKa");
        let vias = rsip::message::HasHeaders::headers(&msg)
            .iter()
            .filter(|h| matches!(h, Header::Via(_)))
            .count();
        assert_eq!(vias, 2);
        assert_eq!(call_id(&msg).unwrap(), "cid");
        let mismatched = raw.replace("2 OPTIONS", "2 INVITE");
        assert!(matches!(
            parse(mismatched.as_bytes()),
            Err(Error::InvalidHeader { header: "CSeq", .. })
        ));
    }

    /// RFC 3261 §8.2.6: a response copies Via(s), From, To (+tag), Call-ID, CSeq.
    #[test]
    fn response_for_copies_headers_and_adds_tag() {
        let invite = request("inbound-originate-gw-noanswer-cancel-01-ast2gw-invite-sdp.sip");
        let resp = response_for(&invite, 180, None, Some("gwtag1"));
        let msg = SipMessage::Response(resp.clone());
        assert_eq!(status_code(&msg), Some(180));
        assert_eq!(
            top_via_branch(&msg).unwrap(),
            top_via_branch(&invite).unwrap()
        );
        assert_eq!(call_id(&msg).unwrap(), call_id(&invite).unwrap());
        assert_eq!(cseq(&msg).unwrap(), cseq(&invite).unwrap());
        assert_eq!(from_tag(&msg).unwrap(), from_tag(&invite).unwrap());
        assert_eq!(to_tag(&msg).unwrap().as_deref(), Some("gwtag1"));
        let reparsed = parse(&to_bytes(&msg)).unwrap();
        assert_eq!(reparsed, msg);
        let text = String::from_utf8(to_bytes(&msg).to_vec()).unwrap();
        assert!(text.starts_with("SIP/2.0 180 Ringing\r\n"), "{text}");
        assert!(text.contains("Content-Length: 0\r\n"), "{text}");

        let custom = response_for(&invite, 487, Some("Request Terminated"), None);
        assert_eq!(to_tag(&custom).unwrap(), None);
        let text = String::from_utf8(to_bytes(&custom.into()).to_vec()).unwrap();
        assert!(
            text.starts_with("SIP/2.0 487 Request Terminated\r\n"),
            "{text}"
        );
    }

    /// An existing To tag is never replaced (§8.2.6.2).
    #[test]
    fn response_for_keeps_existing_to_tag() {
        let bye = request("outbound-601-playback-bye-05-ast2gw-bye.sip");
        let existing = to_tag(&bye).unwrap();
        assert!(existing.is_some());
        assert_eq!(
            to_tag(&response_for(&bye, 200, None, Some("other"))).unwrap(),
            existing
        );
    }

    /// RFC 3261 §17.1.1.3, checked against the ACK SIPp sent after Asterisk's 487.
    #[test]
    fn ack_for_487_matches_capture() {
        let invite = request("outbound-607-cancel-01-gw2ast-invite-sdp.sip");
        let resp = response("outbound-607-cancel-06-ast2gw-487-request-terminated-invite.sip");
        let ack = ack_for_non_2xx(&invite, &resp);
        let real = request("outbound-607-cancel-07-gw2ast-ack.sip");
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri, real.uri);
        assert_eq!(cseq(&ack).unwrap(), (1, Method::Ack));
        assert_eq!(call_id(&ack).unwrap(), call_id(&real).unwrap());
        assert_eq!(from_tag(&ack).unwrap(), from_tag(&real).unwrap());
        assert_eq!(to_tag(&ack).unwrap(), to_tag(&real).unwrap());
        assert_eq!(
            top_via_branch(&ack).unwrap(),
            top_via_branch(&real).unwrap()
        );
        assert!(parse(&to_bytes(&ack.into())).is_ok());
    }

    /// RFC 3261 §17.1.1.3 / §9.1: only the top Via, and every Route, are copied.
    #[test]
    fn ack_and_cancel_copy_top_via_and_routes() {
        let raw = "INVITE sip:600@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
                   Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\nRoute: <sip:p1;lr>\r\nRoute: <sip:p2;lr>\r\n\
                   From: <sip:gw@x>;tag=f\r\nTo: <sip:600@y>\r\nCall-ID: c\r\nCSeq: 7 INVITE\r\n\
                   Max-Forwards: 69\r\nContent-Length: 0\r\n\r\n";
        let SipMessage::Request(invite) = parse(raw.as_bytes()).unwrap() else {
            panic!()
        };
        let resp = response_for(&invite, 486, None, Some("t"));
        for (req, m) in [
            (ack_for_non_2xx(&invite, &resp), Method::Ack),
            (cancel_for(&invite), Method::Cancel),
        ] {
            let count = |pick: fn(&Header) -> bool| req.headers.iter().filter(|h| pick(h)).count();
            assert_eq!(count(|h| matches!(h, Header::Via(_))), 1);
            assert_eq!(count(|h| matches!(h, Header::Route(_))), 2);
            assert_eq!(top_via_branch(&req).unwrap(), "z9hG4bK1");
            assert_eq!(cseq(&req).unwrap(), (7, m));
            assert_eq!(req.uri, invite.uri);
            assert!(
                req.headers
                    .iter()
                    .any(|h| matches!(h, Header::MaxForwards(v) if v.value() == "69"))
            );
        }
        assert_eq!(
            to_tag(&ack_for_non_2xx(&invite, &resp)).unwrap().as_deref(),
            Some("t")
        );
        assert_eq!(to_tag(&cancel_for(&invite)).unwrap(), None);
    }

    /// The CANCEL we build matches the one SIPp sent for the same INVITE (§9.1).
    #[test]
    fn cancel_matches_capture() {
        let invite = request("outbound-607-cancel-01-gw2ast-invite-sdp.sip");
        let cancel = cancel_for(&invite);
        let real = request("outbound-607-cancel-04-gw2ast-cancel.sip");
        assert_eq!(cancel.method, Method::Cancel);
        assert_eq!(cancel.uri, real.uri);
        assert_eq!(cseq(&cancel).unwrap(), cseq(&real).unwrap());
        assert_eq!(
            top_via_branch(&cancel).unwrap(),
            top_via_branch(&real).unwrap()
        );
        assert_eq!(from_tag(&cancel).unwrap(), from_tag(&real).unwrap());
        assert_eq!(to_tag(&cancel).unwrap(), None);
    }

    /// Identifiers come from the injected RNG: same seed, same bytes.
    #[test]
    fn identifiers_are_seeded() {
        let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut b = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let branch = new_branch(&mut a);
        assert!(branch.starts_with("z9hG4bK") && branch.len() >= 7 + 16);
        assert_eq!(branch, new_branch(&mut b));
        assert_eq!(new_tag(&mut a), new_tag(&mut b));
        let cid = new_call_id(&mut a, "gw.example");
        assert!(cid.ends_with("@gw.example"));
        assert_eq!(cid, new_call_id(&mut b, "gw.example"));
        assert_ne!(new_branch(&mut a), branch);
    }

    proptest::proptest! {
        /// STYLE.md §5: the parser never panics on arbitrary bytes.
        #[test]
        fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse(&bytes);
        }

        /// Mutating one byte of a real capture never panics either (reaches deeper parser states).
        #[test]
        fn parse_never_panics_on_mutated_capture(pos in 0usize..1024, byte in proptest::num::u8::ANY, cut in 0usize..1024) {
            let mut bytes = fixture("outbound-607-cancel-01-gw2ast-invite-sdp.sip");
            let pos = pos % bytes.len();
            bytes[pos] = byte;
            bytes.truncate(cut.max(pos + 1));
            let _ = parse(&bytes);
        }
    }
}

/// The inputs the `sip_message` fuzz target crashed on (docs/fuzzing.md, findings 4 and 5).
#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    fn crash(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../fuzz/crashes/sip_message/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// What the `sip_message` fuzz target asserts of a message that parses: a status code from
    /// 100 to 699, printing to bytes that parse, and printing those giving the same bytes
    /// (`fuzz/fuzz_targets/sip_message.rs`).
    fn assert_print_fixpoint(name: &str, bytes: &[u8]) {
        let Ok(msg) = parse(bytes) else {
            return;
        };
        if let Some(code) = status_code(&msg) {
            assert!((100..=699).contains(&code), "{name}: status code {code}");
        }
        if let SipMessage::Request(req) = &msg {
            let resp = response_for(req, 400, Some("Bad Request"), Some("fuzz"));
            let _ = parse(&to_bytes(&resp.into()));
        }
        let printed = to_bytes(&msg);
        let reparsed = parse(&printed).unwrap_or_else(|e| {
            panic!(
                "{name}: printed to bytes that do not parse ({e}):\n{}",
                String::from_utf8_lossy(&printed)
            )
        });
        let reprinted = to_bytes(&reparsed);
        assert!(
            reprinted == printed,
            "{name}: printing is not a fixpoint:\n--- first\n{}\n--- second\n{}",
            String::from_utf8_lossy(&printed),
            String::from_utf8_lossy(&reprinted)
        );
    }

    fn vias(msg: &SipMessage) -> Vec<String> {
        rsip::message::HasHeaders::headers(msg)
            .iter()
            .filter_map(|h| match h {
                Header::Via(v) => Some(v.value().to_owned()),
                _ => None,
            })
            .collect()
    }

    /// RFC 3261 §7.2, §25.1 (`Status-Code = 3DIGIT`, 1xx to 6xx): `+00` was read as status 0
    /// and printed as `SIP/2.0 0 OK`, which does not parse (fuzz finding 5).
    #[test]
    fn status_code_must_be_three_digits_from_100_to_699() {
        assert_eq!(
            parse(&crash("crash-e3e33f90-status-plus00")),
            Err(Error::InvalidStatusCode("+00".to_owned()))
        );
        let with = |line: &str| {
            let raw = format!(
                "{line}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n\
                 To: <sip:c@d>;tag=2\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            );
            parse(raw.as_bytes()).map(|m| status_code(&m))
        };
        for bad in [
            "+00", "+99", "099", "000", "700", "999", "20", "2000", "20x", "-10",
        ] {
            assert_eq!(
                with(&format!("SIP/2.0 {bad} Reason")),
                Err(Error::InvalidStatusCode(bad.to_owned())),
                "{bad:?}"
            );
        }
        assert_eq!(
            with("SIP/2.0"),
            Err(Error::InvalidStatusCode(String::new()))
        );
        assert_eq!(with("SIP/2.0 100 Trying"), Ok(Some(100)));
        assert_eq!(with("SIP/2.0 699 Custom"), Ok(Some(699)));
        // RFC 4475 §3.1.1.13: an empty reason phrase is fine.
        assert_eq!(with("SIP/2.0 183 "), Ok(Some(183)));
        // RFC 4475 §3.1.2.19: an overlarge code now says what is wrong.
        assert_eq!(
            with("SIP/2.0 4294967301 better not break the receiver"),
            Err(Error::InvalidStatusCode("4294967301".to_owned()))
        );
    }

    /// RFC 3261 §7.3.1, §25.1: comma-joined Vias are split, but not at a comma inside a
    /// quoted via-extension value (backslash escapes included) or `<...>` (fuzz finding 4).
    #[test]
    fn via_split_respects_quotes_and_brackets() {
        let msg = parse(&crash("via-quoted-comma.sip")).unwrap();
        assert_eq!(
            vias(&msg),
            ["SIP/2.0/UDP h.example.com;branch=z9hG4bK1;x=\"a,b\""]
        );
        let raw = "OPTIONS sip:a@b SIP/2.0\r\n\
                   Via: SIP/2.0/UDP h1;branch=z9hG4bKa;x=\"q\\\",\\\\\", SIP/2.0/UDP h2;y=\"<,>\" ,\
                   SIP/2.0/UDP h3;branch=z9hG4bKc\r\n\
                   From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 2 OPTIONS\r\n\r\n";
        let msg = parse(raw.as_bytes()).unwrap();
        assert_eq!(
            vias(&msg),
            [
                "SIP/2.0/UDP h1;branch=z9hG4bKa;x=\"q\\\",\\\\\"",
                "SIP/2.0/UDP h2;y=\"<,>\"",
                "SIP/2.0/UDP h3;branch=z9hG4bKc",
            ]
        );
        let quoted = parse(&crash("crash-689386a7-via-quote-comma")).unwrap();
        assert_eq!(vias(&quoted).len(), 2, "{:?}", vias(&quoted));
        let bracket = parse(&crash("crash-4bd4020d-via-bracket-comma")).unwrap();
        assert_eq!(vias(&bracket).len(), 1, "{:?}", vias(&bracket));
        for name in [
            "via-quoted-comma.sip",
            "crash-689386a7-via-quote-comma",
            "crash-4bd4020d-via-bracket-comma",
        ] {
            let msg = parse(&crash(name)).unwrap();
            assert_eq!(parse(&to_bytes(&msg)).unwrap(), msg, "{name}");
        }
    }

    /// Every input the `sip_message` fuzz target crashed on, and its seeds, pass the target's
    /// assertions: a message that parses prints to bytes that parse, and printing is a fixpoint.
    #[test]
    fn fuzz_crash_inputs_and_seeds_print_to_a_fixpoint() {
        let mut count = 0;
        for dir in ["crashes", "seeds"] {
            let dir = format!("{}/../fuzz/{dir}/sip_message", env!("CARGO_MANIFEST_DIR"));
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                assert_print_fixpoint(&path.display().to_string(), &bytes);
                count += 1;
            }
        }
        assert!(count >= 4 + 200, "only {count} inputs");
    }
}
