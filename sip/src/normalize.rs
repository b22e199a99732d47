//! Pre-normalisation of received bytes before rsip tokenizes them. RFC 3261 §7.3.1 allows
//! folded header lines, whitespace before a header's colon, and linear whitespace around the
//! `/`, `;`, `=` and `,` separators of Via and around `;` and `=` of name-addr parameters
//! (RFC 4475 §3.1.1.1); rsip's tokenizer accepts none of it. Header values carrying CR, LF or
//! NUL are refused here, since a response would echo them (header injection).

use crate::Error;

/// The header block and body of a message, the header block rewritten to the canonical form
/// rsip reads. Bytes after the first empty line are the body, untouched.
pub(crate) fn canonical(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    // §7: the empty line after the headers is mandatory, even without a body (RFC 4475
    // §3.1.2.15 leaves it out).
    let Some(end) = find(bytes, b"\r\n\r\n") else {
        return Err(Error::Parse(
            "no empty line after the header fields".to_owned(),
        ));
    };
    let (head, body) = (&bytes[..end], &bytes[end + 4..]);
    let lines = logical_lines(head);
    let mut out = Vec::with_capacity(bytes.len());
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            out.extend_from_slice(&escape_user_semicolons(line));
        } else {
            out.extend_from_slice(b"\r\n");
            header_line(line, &mut out)?;
        }
    }
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

/// A `;` in the user part of a `sip:` Request-URI is legal (RFC 4475 §3.1.1.9) but rsip
/// reads it as the start of URI parameters; `%3B` is the same user (§19.1.4).
fn escape_user_semicolons(line: &[u8]) -> Vec<u8> {
    let mut parts = line.splitn(3, |b| *b == b' ');
    let (Some(method), Some(uri), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return line.to_vec();
    };
    let lower = uri.to_ascii_lowercase();
    let scheme_len = if lower.starts_with(b"sip:") {
        4
    } else if lower.starts_with(b"sips:") {
        5
    } else {
        return line.to_vec();
    };
    let Some(at) = uri.iter().position(|b| *b == b'@') else {
        return line.to_vec();
    };
    let mut out = Vec::with_capacity(line.len() + 8);
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(&uri[..scheme_len]);
    for &b in &uri[scheme_len..at] {
        if b == b';' {
            out.extend_from_slice(b"%3B");
        } else {
            out.push(b);
        }
    }
    out.extend_from_slice(&uri[at..]);
    out.push(b' ');
    out.extend_from_slice(version);
    out
}

/// Splits a header block on CRLF and joins continuation lines (starting with SP or HT) to the
/// line before with one space (§7.3.1: folding is equivalent to a single SP).
pub(crate) fn logical_lines(head: &[u8]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for raw in split(head, b"\r\n") {
        match lines.last_mut() {
            Some(last) if is_continuation(raw) => {
                let trimmed = trim(raw);
                if !trimmed.is_empty() {
                    last.push(b' ');
                    last.extend_from_slice(trimmed);
                }
            }
            _ => lines.push(raw.to_vec()),
        }
    }
    lines
}

fn is_continuation(raw: &[u8]) -> bool {
    matches!(raw.first(), Some(b' ' | b'\t'))
}

/// Name and trimmed value of one logical header line; `None` without a colon.
pub(crate) fn name_value(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|b| *b == b':')?;
    Some((trim(&line[..colon]), trim(&line[colon + 1..])))
}

fn header_line(line: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let Some((name, value)) = name_value(line) else {
        // Not a header; rsip reports it.
        out.extend_from_slice(line);
        return Ok(());
    };
    if value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(Error::InvalidHeader {
            header: "header value",
            reason: format!(
                "{} carries CR, LF or NUL",
                String::from_utf8_lossy(name).trim()
            ),
        });
    }
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    let lower = name.to_ascii_lowercase();
    match lower.as_slice() {
        b"via" | b"v" => out.extend(squeeze(value, b"/;=,")),
        b"from" | b"f" | b"to" | b"t" | b"contact" | b"m" | b"route" | b"record-route" => {
            out.extend(squeeze(value, b";="))
        }
        _ => out.extend_from_slice(value),
    }
    Ok(())
}

/// Drops whitespace next to any of `seps` and collapses other runs of whitespace to one SP,
/// outside quoted strings and `<...>`.
fn squeeze(value: &[u8], seps: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(value.len());
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    let mut pending_space = false;
    for &b in value {
        if quoted {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => {}
            }
            continue;
        }
        if angle {
            out.push(b);
            angle = b != b'>';
            continue;
        }
        if b == b' ' || b == b'\t' {
            pending_space = true;
            continue;
        }
        let sep = seps.contains(&b);
        if pending_space && !sep && !out.last().is_some_and(|l| seps.contains(l)) {
            out.push(b' ');
        }
        pending_space = false;
        out.push(b);
        quoted = b == b'"';
        angle = b == b'<';
    }
    out
}

/// Byte offsets of every `sep` outside quoted strings (with their `\` escapes) and `<...>`
/// (§7.3.1, §25.1: a comma inside either does not separate values); `None` when a quoted
/// string or `<` is left open.
fn separators(value: &[u8], sep: u8) -> Option<Vec<usize>> {
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    let mut at = Vec::new();
    for (i, &b) in value.iter().enumerate() {
        if quoted {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => {}
            }
        } else if angle {
            angle = b != b'>';
        } else if b == b'"' {
            quoted = true;
        } else if b == b'<' {
            angle = true;
        } else if b == sep {
            at.push(i);
        }
    }
    (!quoted && !angle).then_some(at)
}

/// Splits on `sep` outside quoted strings and `<...>`; `None` for an unterminated quote or `<`.
pub(crate) fn split_unquoted(value: &[u8], sep: u8) -> Option<Vec<&[u8]>> {
    let at = separators(value, sep)?;
    let mut parts = Vec::with_capacity(at.len() + 1);
    let mut start = 0;
    for i in at {
        parts.push(&value[start..i]);
        start = i + 1;
    }
    parts.push(&value[start..]);
    Some(parts)
}

/// The values of a comma-joined header (§7.3.1), trimmed, empty ones dropped; commas inside
/// a quoted string or `<...>` do not split. A value with an unterminated quote or `<` is
/// returned whole.
pub(crate) fn split_comma_list(value: &str) -> Vec<&str> {
    let Some(at) = separators(value.as_bytes(), b',') else {
        return Some(value.trim())
            .filter(|v| !v.is_empty())
            .into_iter()
            .collect();
    };
    let mut parts = Vec::with_capacity(at.len() + 1);
    let mut start = 0;
    // `,` is ASCII, so every offset is a char boundary.
    for i in at.into_iter().chain([value.len()]) {
        parts.push(value[start..i].trim());
        start = i + 1;
    }
    parts.retain(|p| !p.is_empty());
    parts
}

pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(s: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match find(r, sep) {
            Some(i) => {
                rest = Some(&r[i + sep.len()..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        String::from_utf8(canonical(s.as_bytes()).unwrap()).unwrap()
    }

    /// RFC 3261 §7.3.1: folding, space before the colon, LWS around separators (RFC 4475 §3.1.1.1).
    #[test]
    fn unfolds_and_squeezes() {
        let out = canon(
            "INVITE sip:a@b SIP/2.0\r\nTO :\r\n sip:v@c ;   tag    = 19n\r\n\
             Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390\r\n\
             cseq: 0009\r\n  INVITE\r\nm:\"Quoted ; = \\\"\" <sip:j@e ;x> ; q = 0.33\r\n\r\nbody \r\n x",
        );
        assert_eq!(
            out,
            "INVITE sip:a@b SIP/2.0\r\nTO: sip:v@c;tag=19n\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=390\r\n\
             cseq: 0009 INVITE\r\nm: \"Quoted ; = \\\"\" <sip:j@e ;x>;q=0.33\r\n\r\nbody \r\n x"
        );
    }

    /// RFC 3261 §7.3.1, §25.1: a comma inside a quoted string (escapes included) or `<...>`
    /// separates nothing; an unterminated one leaves the value whole.
    #[test]
    fn comma_lists_split_outside_quotes_and_brackets() {
        assert_eq!(
            split_comma_list(r#"a;x="1,\",2" , <sip:b,c@d>;y ,, e"#),
            [r#"a;x="1,\",2""#, "<sip:b,c@d>;y", "e"]
        );
        assert_eq!(split_comma_list(r#"a;x="1,2"#), [r#"a;x="1,2"#]);
        assert_eq!(split_comma_list("<sip:a,b"), ["<sip:a,b"]);
        assert_eq!(split_comma_list(" , "), Vec::<&str>::new());
        assert_eq!(split_comma_list("  "), Vec::<&str>::new());
        assert_eq!(
            split_unquoted(b"a;b=\"x;y\";c", b';'),
            Some(vec![&b"a"[..], b"b=\"x;y\"", b"c"])
        );
        assert_eq!(split_unquoted(b"a;b=\"x", b';'), None);
    }

    /// Header injection: a NUL or bare LF in a value is refused.
    #[test]
    fn control_bytes_in_values_are_refused() {
        assert!(canonical(b"OPTIONS sip:a SIP/2.0\r\nTo: a\0b\r\n\r\n").is_err());
        assert!(canonical(b"OPTIONS sip:a SIP/2.0\r\nTo: a\nX: b\r\n\r\n").is_err());
        assert!(canonical(b"OPTIONS sip:a SIP/2.0\r\nTo: a\tb\r\n\r\n").is_ok());
        assert!(canonical(b"OPTIONS sip:a SIP/2.0\r\nl: 0\r\n").is_err());
    }
}
