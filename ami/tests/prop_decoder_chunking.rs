//! Property test of the AMI decoder against TCP segmentation: Asterisk's real streams
//! (`tests/data/asterisk22/*.ami`, Asterisk 16 event streams) and arbitrary bytes, cut into
//! arbitrary segments, decode to exactly the frames (and framing errors) the whole stream decodes
//! to, with the normal and with small limits, so a message never depends on where a read ended.

use gateway_ami::{Decoder, Frame, FrameError, Limits};
use proptest::prelude::*;

fn decode(limits: Limits, chunks: &[&[u8]]) -> Vec<Result<Frame, FrameError>> {
    let mut d = Decoder::new(limits);
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c);
        while let Some(f) = d.next_frame() {
            out.push(f);
        }
    }
    out
}

/// `data` cut at the given points (each taken modulo the length).
fn cut<'a>(data: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = points.iter().map(|p| p % (data.len() + 1)).collect();
    at.push(0);
    at.push(data.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| &data[w[0]..w[1]]).collect()
}

/// The captured streams, read once.
fn streams() -> &'static [Vec<u8>] {
    static STREAMS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    STREAMS.get_or_init(read_streams)
}

fn read_streams() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in ["asterisk22", "pyfreepbx-asterisk16-pjsip"] {
        let path = format!("{}/tests/data/{dir}", env!("CARGO_MANIFEST_DIR"));
        let entries = std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for e in entries.flatten() {
            let p = e.path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("ami" | "txt")) {
                out.push(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())));
            }
        }
    }
    out.sort();
    assert!(out.len() > 3, "the captured streams are missing");
    out
}

fn limits(small: bool) -> Limits {
    if small {
        Limits {
            max_line_len: 64,
            max_headers: 8,
            max_message_len: 512,
        }
    } else {
        Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A real Asterisk stream cut anywhere decodes as the whole stream does.
    #[test]
    fn captured_streams_decode_the_same_however_cut(
        pick in any::<prop::sample::Index>(),
        points in proptest::collection::vec(any::<usize>(), 0..40),
        small: bool,
    ) {
        let data = pick.get(streams());
        let whole = decode(limits(small), &[data]);
        prop_assert!(!whole.is_empty());
        prop_assert_eq!(decode(limits(small), &cut(data, &points)), whole);
    }

    /// Arbitrary bytes (with line endings and colons likely) cut anywhere decode as the whole.
    #[test]
    fn arbitrary_bytes_decode_the_same_however_cut(
        data in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' ')], 0..1024),
        points in proptest::collection::vec(any::<usize>(), 0..40),
        small: bool,
    ) {
        let whole = decode(limits(small), &[&data]);
        prop_assert_eq!(decode(limits(small), &cut(&data, &points)), whole);
    }
}
