//! Reading a registrar's responses: the Digest challenge, the granted expiry of our Contact
//! (RFC 3261 §10.2.4), and a readable reason phrase.

use rsip::headers::UntypedHeader;
use rsip::{Header, Response};

use crate::auth::Challenge;

/// The first usable Digest challenge of a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate),
/// and whether it is a proxy's.
pub(super) fn challenge_of(resp: &Response) -> Option<(Challenge, bool)> {
    let proxy = match resp.status_code.code() {
        401 => false,
        407 => true,
        _ => return None,
    };
    resp.headers
        .iter()
        .filter_map(|h| match (h, proxy) {
            (Header::WwwAuthenticate(v), false) => Some(v.value()),
            (Header::ProxyAuthenticate(v), true) => Some(v.value()),
            _ => None,
        })
        .find_map(|v| Challenge::parse(v).ok())
        .map(|c| (c, proxy))
}

pub(super) fn header_value(
    resp: &Response,
    pick: impl Fn(&Header) -> Option<String>,
) -> Option<String> {
    resp.headers.iter().find_map(pick)
}

pub(super) fn reason_of(resp: &Response) -> String {
    reason_phrase(&resp.status_code)
}

/// A readable reason phrase: rsip keeps the phrase only for codes it does not know, and names
/// the known ones in CamelCase ("NotFound"), which this spaces out ("Not Found").
pub(crate) fn reason_phrase(status: &rsip::StatusCode) -> String {
    if let rsip::StatusCode::Other(_, reason) = status {
        return reason.clone();
    }
    let text = status.to_string();
    let name = text.split_once(' ').map_or("", |(_, n)| n);
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_ascii_lowercase();
        out.push(c);
    }
    out
}

/// `user@host:port` of a SIP URI, lowercased: how a registrar's Contact is matched to ours
/// (it may drop parameters such as `transport`).
pub(super) fn uri_key(uri: &str) -> String {
    let rest = uri.split_once(':').map_or(uri, |(_, r)| r);
    rest.split([';', '?'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The `expires` parameter after the URI of one Contact value.
pub(super) fn expires_param(contact: &str) -> Option<u64> {
    let params = match contact.rfind('>') {
        Some(i) => &contact[i + 1..],
        None => contact.split_once(';').map_or("", |(_, p)| p),
    };
    params.split(';').find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("expires")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// Splits a comma-separated header list, ignoring commas inside `<...>` and quotes.
pub(super) fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0u32, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                out.push(value[start..i].trim().to_owned());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim().to_owned());
    out.retain(|s| !s.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(reason_phrase(&rsip::StatusCode::from(486)), "Busy Here");
        assert_eq!(reason_phrase(&rsip::StatusCode::from(200)), "OK");
        assert_eq!(
            reason_phrase(&rsip::StatusCode::Other(499, "Odd Thing".into())),
            "Odd Thing"
        );
        assert_eq!(
            split_list("\"a, b\" <sip:a@b>;expires=3, <sip:c@d;x=1,2>"),
            vec!["\"a, b\" <sip:a@b>;expires=3", "<sip:c@d;x=1,2>"]
        );
        assert_eq!(expires_param("<sip:a@b>;Expires=7;q=1"), Some(7));
        assert_eq!(expires_param("sip:a@b;expires=9"), Some(9));
        assert_eq!(expires_param("<sip:a@b;expires=9>"), None);
        assert_eq!(uri_key("sip:Alice@H:1;transport=UDP"), "alice@h:1");
    }
}
