//! A buffering decoder over [`Frame::parse`]: feed bytes as they arrive, take frames out, resync after
//! a framing fault.
//!
//! Resync: after a [`FrameError`] (a 100 KB line, too many headers, an endless message) the decoder drops
//! bytes up to and including the next empty line, so only the faulty message is lost and the connection
//! stays up. The error carries the message's ActionID when it was read before the fault, so the client can
//! fail that one action at once instead of waiting for its timeout.

use std::io::Cursor;

use crate::frame::{Frame, FrameError, Limits, Parsed};

/// Incremental AMI decoder (sans-I/O).
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    pos: usize,
    limits: Limits,
    /// Whether new bytes may complete a frame (avoids re-parsing on every byte of a long message).
    ready: bool,
    /// `Some(after_newline)` while dropping a faulty message up to the next empty line.
    discarding: Option<bool>,
    garbage_lines: u64,
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Appends bytes read from the socket.
    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let data = match self.discarding {
            Some(_) => self.discard(data),
            None => data,
        };
        self.buf.extend_from_slice(data);
        if data.contains(&b'\n') || self.buf.len() > self.limits.max_line_len {
            self.ready = true;
        }
    }

    /// The next complete frame; `None` when more bytes are needed. An `Err` is not fatal: the faulty
    /// message was dropped and decoding goes on with the next call.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        while self.ready {
            let rest = &self.buf[self.pos..];
            let mut cur = Cursor::new(rest);
            match Frame::parse(&mut cur, &self.limits) {
                Ok(parsed) => {
                    self.pos += cur.position() as usize;
                    match parsed {
                        Parsed::Frame(frame) => return Some(Ok(frame)),
                        Parsed::Blank => {}
                        Parsed::Garbage(line) => {
                            self.garbage_lines += 1;
                            tracing::warn!(line = %line.escape_debug(), "skipping AMI garbage between messages");
                        }
                    }
                }
                Err(FrameError::Incomplete) => self.ready = false,
                Err(err) => {
                    tracing::warn!(error = %err, action_id = ?err.action_id(), "dropping a faulty AMI message");
                    let rest = std::mem::take(&mut self.buf).split_off(self.pos);
                    self.pos = 0;
                    self.discarding = Some(false);
                    let kept = self.discard(&rest).to_vec();
                    self.buf = kept;
                    self.ready = !self.buf.is_empty();
                    return Some(Err(err));
                }
            }
        }
        None
    }

    /// Drops bytes up to and including an empty line; returns what follows it.
    fn discard<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        let mut after_newline = self.discarding.unwrap_or(false);
        for (i, &b) in data.iter().enumerate() {
            match b {
                b'\n' if after_newline => {
                    self.discarding = None;
                    return &data[i + 1..];
                }
                b'\n' => after_newline = true,
                b'\r' => {}
                _ => after_newline = false,
            }
        }
        self.discarding = Some(after_newline);
        &[]
    }

    /// How many garbage lines were skipped between messages so far.
    pub fn garbage_lines(&self) -> u64 {
        self.garbage_lines
    }

    /// Bytes buffered and not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    use super::*;
    use crate::message::Message;

    fn decode(chunks: &[&[u8]]) -> (Vec<Result<Frame, FrameError>>, u64) {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c);
            while let Some(f) = d.next_frame() {
                out.push(f);
            }
        }
        (out, d.garbage_lines())
    }

    fn fixtures(dir: &str) -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(dir);
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.retain(|p| p.extension().is_some_and(|e| e != "md"));
        files.sort();
        assert!(!files.is_empty());
        files
    }

    fn messages(frames: &[Result<Frame, FrameError>]) -> Vec<&Message> {
        frames
            .iter()
            .filter_map(|f| match f {
                Ok(Frame::Message(m)) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// Every real capture decodes with no error and no garbage, one message per `\r\n\r\n`, and splitting
    /// the same bytes into 1-byte reads gives the same frames.
    #[test]
    fn every_capture_decodes_whole_and_byte_by_byte() {
        for dir in ["asterisk22", "pyfreepbx-asterisk16-pjsip", "synthetic"] {
            for path in fixtures(dir) {
                let bytes = std::fs::read(&path).unwrap();
                let (whole, garbage) = decode(&[&bytes]);
                assert_eq!(garbage, 0, "{path:?}");
                assert!(whole.iter().all(Result::is_ok), "{path:?}");
                let blank_lines = bytes.windows(4).filter(|w| w == b"\r\n\r\n").count()
                    + bytes.windows(2).filter(|w| w == b"\n\n").count();
                assert_eq!(messages(&whole).len(), blank_lines, "{path:?}");
                if path.extension().is_some_and(|e| e == "ami") {
                    assert_eq!(
                        whole[0],
                        Ok(Frame::Banner("Asterisk Call Manager/11.0.0".into())),
                        "{path:?}"
                    );
                }
                let singles: Vec<&[u8]> = bytes.chunks(1).collect();
                assert_eq!(decode(&singles).0, whole, "{path:?}");
            }
        }
    }

    /// The panoramisk captures (LF endings, legacy `Follows`, several banners) decode without error,
    /// identically whole and byte by byte.
    #[test]
    fn legacy_captures_decode_whole_and_byte_by_byte() {
        for path in fixtures("panoramisk-fixtures") {
            let bytes = std::fs::read(&path).unwrap();
            let (whole, _) = decode(&[&bytes]);
            assert!(whole.iter().all(Result::is_ok), "{path:?}");
            assert!(!messages(&whole).is_empty(), "{path:?}");
            let singles: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(decode(&singles).0, whole, "{path:?}");
        }
    }

    #[test]
    fn legacy_command_output_body() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/panoramisk-fixtures/rasterisk_command.yaml");
        let (frames, _) = decode(&[&std::fs::read(path).unwrap()]);
        let m = messages(&frames)
            .into_iter()
            .find(|m| m.is_follows())
            .unwrap();
        assert_eq!(m.action_id(), Some("generated_id"));
        assert_eq!(
            m.output_lines()[1..],
            ["0 active channels", "0 active calls", "2 calls processed"]
        );
    }

    /// Split at every possible boundary into two reads: same frames.
    #[test]
    fn every_two_way_split_of_a_capture() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/asterisk22/06-coreshowchannels-active-call.ami");
        let bytes = std::fs::read(path).unwrap();
        let whole = decode(&[&bytes]).0;
        for i in 0..=bytes.len() {
            assert_eq!(decode(&[&bytes[..i], &bytes[i..]]).0, whole, "split at {i}");
        }
    }

    /// A 100 KB header line: one error (with the ActionID), the next message still decodes.
    #[test]
    fn huge_line_drops_only_its_message() {
        let mut raw = b"Response: Success\r\nActionID: big\r\nOutput: ".to_vec();
        raw.extend(std::iter::repeat_n(b'x', 100 * 1024));
        raw.extend_from_slice(b"\r\nOutput: y\r\n\r\nEvent: After\r\n\r\n");
        for chunk in [raw.len(), 4096, 1] {
            let chunks: Vec<&[u8]> = raw.chunks(chunk).collect();
            let (frames, _) = decode(&chunks);
            assert!(
                matches!(&frames[0], Err(FrameError::LineTooLong { action_id: Some(id), .. }) if id == "big")
            );
            assert_eq!(messages(&frames).len(), 1, "chunk {chunk}");
            assert_eq!(messages(&frames)[0].event(), Some("After"));
        }
    }

    #[test]
    fn garbage_between_frames_is_skipped() {
        let (frames, garbage) =
            decode(&[b"Event: A\r\n\r\n\x00\xffjunk\r\nmore junk\r\n\r\nEvent: B\r\n\r\n"]);
        let names: Vec<_> = messages(&frames)
            .iter()
            .map(|m| m.event().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["A", "B"]);
        assert_eq!(garbage, 2);
    }

    fn key() -> impl Strategy<Value = String> {
        "[A-Za-z][A-Za-z0-9_()-]{0,12}"
    }

    fn value() -> impl Strategy<Value = String> {
        "[^\r\n]{0,40}"
    }

    fn message() -> impl Strategy<Value = Message> {
        (
            key(),
            value(),
            prop::collection::vec((key(), value()), 0..8),
        )
            .prop_map(|(k, v, rest)| {
                // A plain first header; `Response: Follows` is the legacy form, tested with its body below.
                let first = if k.eq_ignore_ascii_case("Response") {
                    "Event".to_owned()
                } else {
                    k
                };
                Message::from_pairs(std::iter::once((first, v)).chain(rest))
            })
    }

    fn follows() -> impl Strategy<Value = Message> {
        (prop::collection::vec("[^\r\n]{0,30}", 0..5), any::<bool>()).prop_map(
            |(lines, newline)| {
                let lines: Vec<String> = lines
                    .into_iter()
                    .filter(|l| !l.contains("--END COMMAND--"))
                    .collect();
                let mut body = lines
                    .iter()
                    .map(|l| format!("  {l}"))
                    .collect::<Vec<_>>()
                    .join("\n");
                if newline && !body.is_empty() {
                    body.push('\n');
                }
                let mut m = Message::from_pairs([
                    ("Response", "Follows"),
                    ("Privilege", "Command"),
                    ("ActionID", "x"),
                ]);
                m.set_body(Some(body));
                m
            },
        )
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048), chunk in 1usize..64) {
            let limits = Limits { max_line_len: 64, max_headers: 8, max_message_len: 512 };
            let mut d = Decoder::new(limits);
            for c in bytes.chunks(chunk) {
                d.feed(c);
                while d.next_frame().is_some() {}
            }
        }

        #[test]
        fn parse_of_print_is_identity(msgs in prop::collection::vec(prop_oneof![message(), follows()], 1..6)) {
            let wire: Vec<u8> = msgs.iter().flat_map(Message::to_bytes).collect();
            let (frames, garbage) = decode(&[&wire]);
            prop_assert_eq!(garbage, 0);
            let got: Vec<Message> = messages(&frames).into_iter().cloned().collect();
            prop_assert_eq!(got, msgs.clone());
            let singles: Vec<&[u8]> = wire.chunks(1).collect();
            prop_assert_eq!(decode(&singles).0, frames);
        }
    }
}
