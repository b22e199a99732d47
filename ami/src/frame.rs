//! Sans-I/O AMI framing (the mini-redis `Frame::parse(&mut Cursor<&[u8]>)` shape).
//!
//! The wire format: a banner line `Asterisk Call Manager/x.y.z` once, then messages made of `Key: Value`
//! lines ended by CRLF (or a bare LF, seen in older captures), each message ended by an empty line.
//! A legacy (pre-Asterisk-14) `Response: Follows` message carries `Privilege:`/`ActionID:` headers, then raw
//! CLI output up to a line ending in `--END COMMAND--`; blank lines inside that output do not end it.
//!
//! Decisions (documented in `docs/ami.md` by the lead):
//! - Values: exactly one space after the colon is dropped; everything else is kept verbatim.
//! - A key is 1+ bytes with no whitespace, control characters or colon; a line that is not `Key: Value`
//!   between messages is garbage and skipped; inside a message it is skipped too (both logged).
//! - Limits ([`Limits`]) bound a line, the header count and a message; exceeding one is a [`FrameError`]
//!   and [`crate::Decoder`] then drops bytes up to the next empty line (resync) and goes on.

use std::io::Cursor;

use crate::message::{END_COMMAND, Message};

/// The prefix of the banner Asterisk sends right after accepting the TCP connection.
pub const BANNER_PREFIX: &str = "Asterisk Call Manager";

/// Size limits that keep a hostile or broken peer from making the decoder buffer without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line, without its line ending.
    pub max_line_len: usize,
    /// Most headers in one message (`Command` output has one `Output:` header per CLI line).
    pub max_headers: usize,
    /// Longest message in bytes, legacy body included.
    pub max_message_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line_len: 32 * 1024,
            max_headers: 65_536,
            max_message_len: 8 * 1024 * 1024,
        }
    }
}

/// A complete unit read from the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The greeting line, e.g. `Asterisk Call Manager/11.0.0`.
    Banner(String),
    /// A response, event, or action.
    Message(Message),
}

/// What one parse step consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A banner or a message.
    Frame(Frame),
    /// An empty line between messages (normal: `--END COMMAND--\r\n\r\n`, stray LFs).
    Blank,
    /// A line between messages that is not a header (skipped by the decoder, with a log).
    Garbage(String),
}

/// Why bytes could not be framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// More bytes are needed.
    #[error("incomplete frame")]
    Incomplete,
    /// A line exceeded [`Limits::max_line_len`].
    #[error("AMI line longer than {limit} bytes")]
    LineTooLong {
        /// The limit that was exceeded.
        limit: usize,
        /// The ActionID, when it was read before the fault.
        action_id: Option<String>,
    },
    /// A message exceeded [`Limits::max_headers`].
    #[error("AMI message with more than {limit} headers")]
    TooManyHeaders {
        /// The limit that was exceeded.
        limit: usize,
        /// The ActionID, when it was read before the fault.
        action_id: Option<String>,
    },
    /// A message exceeded [`Limits::max_message_len`].
    #[error("AMI message longer than {limit} bytes")]
    MessageTooLong {
        /// The limit that was exceeded.
        limit: usize,
        /// The ActionID, when it was read before the fault.
        action_id: Option<String>,
    },
}

impl FrameError {
    /// The ActionID of the message that was dropped, if known.
    pub fn action_id(&self) -> Option<&str> {
        match self {
            Self::Incomplete => None,
            Self::LineTooLong { action_id, .. }
            | Self::TooManyHeaders { action_id, .. }
            | Self::MessageTooLong { action_id, .. } => action_id.as_deref(),
        }
    }

    fn with_action_id(self, msg: &Message) -> Self {
        let id = msg.action_id().map(str::to_owned);
        match self {
            Self::Incomplete => Self::Incomplete,
            Self::LineTooLong { limit, .. } => Self::LineTooLong {
                limit,
                action_id: id,
            },
            Self::TooManyHeaders { limit, .. } => Self::TooManyHeaders {
                limit,
                action_id: id,
            },
            Self::MessageTooLong { limit, .. } => Self::MessageTooLong {
                limit,
                action_id: id,
            },
        }
    }
}

/// Headers that may precede the raw body of a legacy `Response: Follows`.
const FOLLOWS_HEADERS: [&str; 3] = ["Privilege", "ActionID", "Message"];

impl Frame {
    /// Parses one step from `src`. On success the cursor is past the consumed bytes; on
    /// [`FrameError::Incomplete`] nothing is consumed (the position is unspecified, start again later).
    pub fn parse(src: &mut Cursor<&[u8]>, limits: &Limits) -> Result<Parsed, FrameError> {
        let start = src.position() as usize;
        let first = next_line(src, limits)?;
        if first.is_empty() {
            return Ok(Parsed::Blank);
        }
        if first.starts_with(BANNER_PREFIX.as_bytes()) {
            return Ok(Parsed::Frame(Frame::Banner(lossy(first))));
        }
        let Some((key, value)) = split_header(first) else {
            return Ok(Parsed::Garbage(lossy(first)));
        };
        let mut msg = Message::new();
        msg.push(key, value);
        let follows = msg.is_follows();
        loop {
            let line_start = src.position() as usize;
            if line_start - start > limits.max_message_len {
                return Err(FrameError::MessageTooLong {
                    limit: limits.max_message_len,
                    action_id: None,
                }
                .with_action_id(&msg));
            }
            let line = next_line(src, limits).map_err(|e| e.with_action_id(&msg))?;
            if follows {
                match split_header(line) {
                    Some((k, v)) if FOLLOWS_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(&k)) => {
                        msg.push(k, v);
                        continue;
                    }
                    _ => {
                        src.set_position(line_start as u64);
                        let body =
                            legacy_body(src, start, limits).map_err(|e| e.with_action_id(&msg))?;
                        msg.set_body(Some(body));
                        return Ok(Parsed::Frame(Frame::Message(msg)));
                    }
                }
            }
            if line.is_empty() {
                return Ok(Parsed::Frame(Frame::Message(msg)));
            }
            match split_header(line) {
                Some((k, v)) => {
                    if msg.headers().len() >= limits.max_headers {
                        return Err(FrameError::TooManyHeaders {
                            limit: limits.max_headers,
                            action_id: None,
                        }
                        .with_action_id(&msg));
                    }
                    msg.push(k, v);
                }
                None => {
                    tracing::warn!(line = %lossy(line), "skipping an AMI line that is not a header")
                }
            }
        }
    }
}

/// Reads raw legacy command output up to (not including) `--END COMMAND--`; consumes the marker line.
fn legacy_body(
    src: &mut Cursor<&[u8]>,
    frame_start: usize,
    limits: &Limits,
) -> Result<String, FrameError> {
    let body_start = src.position() as usize;
    loop {
        let line_start = src.position() as usize;
        if line_start - frame_start > limits.max_message_len {
            return Err(FrameError::MessageTooLong {
                limit: limits.max_message_len,
                action_id: None,
            });
        }
        let line = next_line(src, limits)?;
        if line.ends_with(END_COMMAND.as_bytes()) {
            let end = line_start + line.len() - END_COMMAND.len();
            let all: &[u8] = src.get_ref();
            let body = all.get(body_start..end).unwrap_or_default();
            return Ok(lossy(body));
        }
    }
}

/// The next line without its `\n` or `\r\n`; the cursor moves past the line ending.
fn next_line<'a>(src: &mut Cursor<&'a [u8]>, limits: &Limits) -> Result<&'a [u8], FrameError> {
    let all: &'a [u8] = src.get_ref();
    let start = (src.position() as usize).min(all.len());
    let rest = &all[start..];
    match rest.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let line = rest[..i].strip_suffix(b"\r").unwrap_or(&rest[..i]);
            if line.len() > limits.max_line_len {
                return Err(FrameError::LineTooLong {
                    limit: limits.max_line_len,
                    action_id: None,
                });
            }
            src.set_position((start + i + 1) as u64);
            Ok(line)
        }
        // +1: the last byte may be the `\r` of a CRLF whose `\n` has not arrived yet.
        None if rest.len() > limits.max_line_len + 1 => Err(FrameError::LineTooLong {
            limit: limits.max_line_len,
            action_id: None,
        }),
        None => Err(FrameError::Incomplete),
    }
}

/// Splits `Key: Value`; drops exactly one space after the colon. `None` if the key is not a token.
fn split_header(line: &[u8]) -> Option<(String, String)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let key = &line[..colon];
    if !is_valid_key(key) {
        return None;
    }
    let value = &line[colon + 1..];
    let value = value.strip_prefix(b" ").unwrap_or(value);
    Some((lossy(key), lossy(value)))
}

/// A key: 1+ bytes, no whitespace, control characters or colon (non-ASCII bytes allowed).
pub(crate) fn is_valid_key(key: &[u8]) -> bool {
    !key.is_empty() && key.iter().all(|&b| b > b' ' && b != b':' && b != 0x7f)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(bytes: &[u8]) -> Vec<Parsed> {
        let mut out = Vec::new();
        let mut cur = Cursor::new(bytes);
        while (cur.position() as usize) < bytes.len() {
            out.push(Frame::parse(&mut cur, &Limits::default()).expect("complete input"));
        }
        out
    }

    fn msg(p: &Parsed) -> &Message {
        match p {
            Parsed::Frame(Frame::Message(m)) => m,
            other => panic!("not a message: {other:?}"),
        }
    }

    /// asterisk22/03-ping.ami: banner with no blank line after it, then a CRLF message.
    #[test]
    fn banner_then_message() {
        let out =
            parse_all(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nPing: Pong\r\n\r\n");
        assert_eq!(
            out[0],
            Parsed::Frame(Frame::Banner("Asterisk Call Manager/11.0.0".into()))
        );
        assert_eq!(msg(&out[1]).get("ping"), Some("Pong"));
    }

    /// asterisk22/04b: `Output: ` (trailing space) is an empty value, leading spaces after it are kept.
    #[test]
    fn values_lose_only_one_space() {
        let out = parse_all(
            b"Response: Success\r\nOutput: \r\nOutput:    Aor:  x\r\nReportBlock:\r\n\r\n",
        );
        let m = msg(&out[0]);
        assert_eq!(m.get_all("Output").collect::<Vec<_>>(), ["", "   Aor:  x"]);
        assert_eq!(m.get("ReportBlock"), Some(""));
    }

    /// panoramisk rasterisk_command.yaml: legacy output, LF endings, blank line inside the body.
    #[test]
    fn legacy_follows_body_keeps_blank_lines() {
        let raw = b"Response: Follows\nPrivilege: Command\nActionID: a1\nName: x\n\n0 active calls\n--END COMMAND--\n\n";
        let out = parse_all(raw);
        let m = msg(&out[0]);
        assert_eq!(m.action_id(), Some("a1"));
        assert_eq!(m.body(), Some("Name: x\n\n0 active calls\n"));
        assert_eq!(out[1], Parsed::Blank);
    }

    /// Asterisk 1.8 appends the marker right after output that lacks a final newline.
    #[test]
    fn legacy_marker_on_the_last_output_line() {
        let out = parse_all(
            b"Response: Follows\r\nPrivilege: Command\r\nno newline--END COMMAND--\r\n\r\n",
        );
        assert_eq!(msg(&out[0]).body(), Some("no newline"));
    }

    #[test]
    fn garbage_lines_are_reported_not_parsed() {
        let out = parse_all(b"hello world\r\n\x00\x01\r\nEvent: X\r\nnot a header\r\nA: 1\r\n\r\n");
        assert_eq!(out[0], Parsed::Garbage("hello world".into()));
        assert!(matches!(out[1], Parsed::Garbage(_)));
        assert_eq!(
            msg(&out[2]).headers(),
            &[("Event".into(), "X".into()), ("A".into(), "1".into())]
        );
    }

    #[test]
    fn long_line_is_an_error_even_before_its_end_arrives() {
        let limits = Limits {
            max_line_len: 10,
            ..Limits::default()
        };
        let mut raw = b"Response: Success\r\nActionID: 7\r\nOutput: ".to_vec();
        raw.extend_from_slice(&[b'x'; 20]);
        let err = Frame::parse(
            &mut Cursor::new(&raw[..]),
            &Limits {
                max_line_len: 17,
                ..limits
            },
        );
        assert_eq!(
            err,
            Err(FrameError::LineTooLong {
                limit: 17,
                action_id: Some("7".into())
            })
        );
    }

    #[test]
    fn too_many_headers() {
        let limits = Limits {
            max_headers: 2,
            ..Limits::default()
        };
        let err = Frame::parse(
            &mut Cursor::new(&b"Event: A\r\nB: 1\r\nC: 2\r\n\r\n"[..]),
            &limits,
        );
        assert!(matches!(
            err,
            Err(FrameError::TooManyHeaders { limit: 2, .. })
        ));
    }

    #[test]
    fn incomplete_until_the_blank_line() {
        let limits = Limits::default();
        assert_eq!(
            Frame::parse(&mut Cursor::new(&b"Event: A\r\nB: 1\r\n"[..]), &limits),
            Err(FrameError::Incomplete)
        );
        assert_eq!(
            Frame::parse(&mut Cursor::new(&b"Event: A\r"[..]), &limits),
            Err(FrameError::Incomplete)
        );
    }
}
