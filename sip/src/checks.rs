//! Syntax checks rsip leaves out, run on the canonical header block (see `normalize`):
//! single-valued headers appear once (RFC 3261 §7.3.1, §20; RFC 4475 §3.3.8, §3.3.9), no empty
//! parameters (RFC 4475 §3.1.2.1), balanced quotes and token-only unquoted display names
//! (§25.1 `display-name`; RFC 4475 §3.1.2.6, §3.1.2.15), a URI with `?` enclosed in `<>`
//! (§20.10; RFC 4475 §3.1.2.13), and Max-Forwards within 0-255 (§25.1; RFC 4475 §3.1.2.4).

use crate::Error;
use crate::normalize::{find, logical_lines, name_value, split_unquoted};

/// The long name of a header, compact forms expanded (§7.3.3), lowercase.
pub(crate) fn long_name(name: &[u8]) -> String {
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    let long = match lower.as_str() {
        "i" => "call-id",
        "m" => "contact",
        "e" => "content-encoding",
        "l" => "content-length",
        "c" => "content-type",
        "f" => "from",
        "s" => "subject",
        "k" => "supported",
        "t" => "to",
        "v" => "via",
        _ => return lower,
    };
    long.to_owned()
}

const SINGLE: [(&str, &str); 7] = [
    ("from", "From"),
    ("to", "To"),
    ("call-id", "Call-ID"),
    ("cseq", "CSeq"),
    ("max-forwards", "Max-Forwards"),
    ("content-length", "Content-Length"),
    ("content-type", "Content-Type"),
];

fn bad(header: &'static str, reason: &str) -> Error {
    Error::InvalidHeader {
        header,
        reason: reason.to_owned(),
    }
}

/// Runs every check on the header block of `canonical` (start line excluded).
pub(crate) fn header_block(canonical: &[u8]) -> Result<(), Error> {
    let head = match find(canonical, b"\r\n\r\n") {
        Some(end) => &canonical[..end],
        None => canonical,
    };
    let lines = logical_lines(head);
    if let Some(start) = lines.first() {
        start_line(start)?;
    }
    let mut seen = [0usize; SINGLE.len()];
    for line in lines.iter().skip(1) {
        let Some((name, value)) = name_value(line) else {
            continue;
        };
        let name = long_name(name);
        if let Some(i) = SINGLE.iter().position(|(n, _)| *n == name) {
            seen[i] += 1;
            if seen[i] > 1 {
                return Err(bad(SINGLE[i].1, "appears more than once"));
            }
        }
        match name.as_str() {
            "via" => {
                for part in split_outside(value, b',') {
                    no_empty_params("Via", part)?;
                }
            }
            "from" => name_addr("From", value)?,
            "to" => name_addr("To", value)?,
            "contact" if value != b"*" => {
                for part in split_outside(value, b',') {
                    name_addr("Contact", part)?;
                }
            }
            "max-forwards" => {
                let ok = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<u32>().ok())
                    .is_some_and(|v| v <= 255);
                if !ok {
                    return Err(bad("Max-Forwards", "not an integer from 0 to 255"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// §7.1: `Method SP Request-URI SP SIP-Version`, one SP each, the URI bare (RFC 4475
/// §3.1.2.7-10); a status line is checked by [`status_code`].
fn start_line(line: &[u8]) -> Result<(), Error> {
    if line.starts_with(b"SIP/") {
        return status_code(line);
    }
    let parts: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
    let ok = parts.len() == 3
        && parts.iter().all(|p| !p.is_empty())
        && !parts[1]
            .iter()
            .any(|b| matches!(b, b'<' | b'>' | b'"' | b'\t'));
    if ok {
        Ok(())
    } else {
        Err(Error::Parse(
            "request line is not Method SP Request-URI SP SIP-Version".to_owned(),
        ))
    }
}

/// §7.2, §25.1: `Status-Code = 3DIGIT`, from 100 to 699 (§21). rsip reads any three bytes
/// Rust's integer parser takes, so `SIP/2.0 +00 OK` became status 0, printed as
/// `SIP/2.0 0 OK`, which no parser reads back. The rest of the line is left to rsip.
fn status_code(line: &[u8]) -> Result<(), Error> {
    // rsip allows spaces and tabs after the version; §25.1 one SP.
    let after_version = line
        .iter()
        .position(|b| *b == b' ')
        .map_or(&[][..], |i| &line[i..]);
    let rest = match after_version
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
    {
        Some(i) => &after_version[i..],
        None => &[][..],
    };
    let code = &rest[..rest.iter().position(|b| *b == b' ').unwrap_or(rest.len())];
    let ok = matches!(code, [b'1'..=b'6', b'0'..=b'9', b'0'..=b'9']);
    if ok {
        return Ok(());
    }
    let shown = String::from_utf8_lossy(&code[..code.len().min(32)]).into_owned();
    Err(Error::InvalidStatusCode(shown))
}

fn split_outside(value: &[u8], sep: u8) -> Vec<&[u8]> {
    split_unquoted(value, sep).unwrap_or_else(|| vec![value])
}

fn no_empty_params(header: &'static str, value: &[u8]) -> Result<(), Error> {
    let parts =
        split_unquoted(value, b';').ok_or_else(|| bad(header, "unterminated quoted string"))?;
    if parts.iter().skip(1).any(|p| p.is_empty()) || parts.first().is_some_and(|p| p.is_empty()) {
        return Err(bad(header, "empty parameter"));
    }
    Ok(())
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// A From, To or Contact value: `name-addr` or `addr-spec`, each with parameters.
fn name_addr(header: &'static str, value: &[u8]) -> Result<(), Error> {
    no_empty_params(header, value)?;
    match value.iter().position(|b| *b == b'<') {
        Some(open) => {
            let display = crate::normalize::trim(&value[..open]);
            let quoted = display.first() == Some(&b'"');
            if !quoted && !display.iter().all(|&b| is_token_char(b) || b == b' ') {
                return Err(bad(header, "display name is neither a token nor quoted"));
            }
        }
        None => {
            // §20.10: a URI with a comma, question mark or semicolon must be in <>; the
            // semicolons of an addr-spec are header parameters, the rest is an error.
            let uri = split_outside(value, b';')[0];
            if uri.iter().any(|b| matches!(b, b'?' | b',' | b' ' | b'"')) {
                return Err(bad(header, "URI with '?', ',' or spaces outside <>"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(headers: &str) -> Result<(), Error> {
        header_block(format!("OPTIONS sip:a@b SIP/2.0\r\n{headers}\r\n\r\n").as_bytes())
    }

    /// RFC 4475 §3.1.2.1, §3.1.2.6, §3.1.2.13, §3.1.2.15, §3.3.8 in isolation.
    #[test]
    fn each_rule() {
        assert!(check("Via: SIP/2.0/UDP h;branch=z9hG4bK1,SIP/2.0/UDP g").is_ok());
        assert!(check("Via: SIP/2.0/UDP 192.0.2.15;;,;,,").is_err());
        assert!(check("Contact: \"Joe\" <sip:joe@example.org>;;;;").is_err());
        assert!(check("To: \"Mr. J. User <sip:j.user@example.com>").is_err());
        assert!(check("From: Bell, Alexander <sip:a@b>;tag=43").is_err());
        assert!(check("From: token1~` token2'+_ <sip:a@b>;tag=43").is_ok());
        assert!(check("From: caller<sip:caller@example.com>;tag=323").is_ok());
        assert!(check("Contact: sip:user@example.com?Route=%3Csip:x%3E").is_err());
        assert!(check("m: <sip:user@example.com?Route=%3Csip:x%3E>").is_ok());
        assert!(check("Contact: *").is_ok());
        assert!(check("To: a\r\nt: b").is_err());
        assert!(check("Max-Forwards: 300").is_err());
        assert!(check("Max-Forwards: 0068").is_ok());
        assert!(check("l: 1\r\nContent-Length: 1").is_err());
        for line in [
            "INVITE <sip:a@b> SIP/2.0",
            "INVITE  sip:a@b SIP/2.0",
            "OPTIONS sip:a SIP/2.0 ",
        ] {
            assert!(
                header_block(format!("{line}\r\nl: 0\r\n\r\n").as_bytes()).is_err(),
                "{line}"
            );
        }
    }
}
