//! Framing of SIP messages on a stream transport (RFC 3261 §18.3): Content-Length is mandatory.

/// Length of the first complete message at the start of `buf`, after skipping keep-alive CRLFs
/// (RFC 5626 §3.5.1): returns `(skip, len)` where `skip` leading bytes are CRLF padding, or `None`
/// when more bytes are needed. A header block without Content-Length counts as a bodiless message.
pub fn next_message(buf: &[u8], max_len: usize) -> Result<Option<(usize, usize)>, FramingError> {
    let skip = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    let rest = &buf[skip..];
    let Some(end) = find(rest, b"\r\n\r\n") else {
        if rest.len() > max_len {
            return Err(FramingError::TooLarge);
        }
        return Ok(None);
    };
    let head = &rest[..end];
    let mut body_len: Option<usize> = None;
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]);
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            let value = String::from_utf8_lossy(&line[colon + 1..]);
            let len: usize = value
                .trim()
                .parse()
                .map_err(|_| FramingError::BadContentLength)?;
            // Two different lengths leave the stream unframeable (RFC 4475 §3.3.9).
            if body_len.is_some_and(|b| b != len) {
                return Err(FramingError::BadContentLength);
            }
            body_len = Some(len);
        }
    }
    let total = end + 4 + body_len.unwrap_or(0);
    if total > max_len {
        return Err(FramingError::TooLarge);
    }
    if rest.len() < total {
        return Ok(None);
    }
    Ok(Some((skip, total)))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Stream framing failures: the connection cannot be resynchronised and must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// Content-Length is not a number.
    #[error("invalid Content-Length on a stream transport")]
    BadContentLength,
    /// The message exceeds the size limit.
    #[error("SIP message larger than the limit")]
    TooLarge,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a SIP/2.0\r\nl: 4\r\n\r\nabcdBYE";

    #[test]
    fn frames_at_every_split() {
        for cut in 0..MSG.len() {
            let r = next_message(&MSG[..cut], 1 << 16).unwrap();
            let expect_len = MSG.len() - 3;
            if cut >= expect_len {
                assert_eq!(r, Some((0, expect_len)));
            } else {
                assert_eq!(r, None, "cut {cut}");
            }
        }
    }

    #[test]
    fn skips_keepalives_and_limits_size() {
        let mut b = b"\r\n\r\n".to_vec();
        b.extend_from_slice(MSG);
        assert_eq!(next_message(&b, 1 << 16).unwrap(), Some((4, MSG.len() - 3)));
        assert_eq!(next_message(&b, 10), Err(FramingError::TooLarge));
        assert_eq!(
            next_message(b"X\r\nContent-Length: x\r\n\r\n", 100),
            Err(FramingError::BadContentLength)
        );
        assert_eq!(
            next_message(b"X\r\nl: 1\r\nContent-Length: 2\r\n\r\nab", 100),
            Err(FramingError::BadContentLength)
        );
    }
}
