//! Requests a UAS must refuse before looking at their method (RFC 3261 §8.2.2, §8.2.3):
//! a Request-URI scheme we do not serve (416, §8.2.2.1), an extension in `Require` we do not
//! support (420 with `Unsupported`, §8.2.2.3), and for an INVITE a body we cannot read (415
//! with `Accept`, §8.2.3) or an `Accept` that rules out SDP (406, RFC 4475 §3.3.15).

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request};

/// Extensions (option tags) the UA implements: RFC 4028 session timers.
const SUPPORTED: [&str; 1] = ["timer"];

fn header_values<'a>(req: &'a Request, name: &'a str) -> impl Iterator<Item = String> + 'a {
    req.headers.iter().filter_map(move |h| match h {
        Header::Require(v) if name == "require" => Some(v.value().to_owned()),
        Header::Accept(v) if name == "accept" => Some(v.value().to_owned()),
        Header::ContentType(v) if name == "content-type" => Some(v.value().to_owned()),
        Header::Other(n, v) if n.eq_ignore_ascii_case(name) => Some(v.clone()),
        _ => None,
    })
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The refusal for `req`, if any: its status code and the header that explains it.
pub(super) fn refusal(req: &Request) -> Option<(u16, Option<Header>)> {
    if matches!(req.method, Method::Ack | Method::Cancel) {
        return None;
    }
    if !matches!(req.uri.scheme, Some(rsip::Scheme::Sip | rsip::Scheme::Sips)) {
        return Some((416, None));
    }
    let unsupported: Vec<String> = header_values(req, "require")
        .flat_map(|v| {
            v.split(',')
                .map(|t| t.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty() && !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(t)))
        .collect();
    if !unsupported.is_empty() {
        let header = rsip::headers::Unsupported::new(unsupported.join(", "));
        return Some((420, Some(Header::Unsupported(header))));
    }
    if req.method != Method::Invite {
        return None;
    }
    let content_type = header_values(req, "content-type").next();
    if !req.body.is_empty() && content_type.is_none_or(|c| media_type(&c) != "application/sdp") {
        let header = rsip::headers::Accept::new("application/sdp");
        return Some((415, Some(Header::Accept(header))));
    }
    let accepts: Vec<String> = header_values(req, "accept")
        .flat_map(|v| v.split(',').map(media_type).collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .collect();
    let sdp_ok = accepts
        .iter()
        .any(|t| matches!(t.as_str(), "application/sdp" | "application/*" | "*/*"));
    if !accepts.is_empty() && !sdp_ok {
        return Some((406, None));
    }
    None
}
