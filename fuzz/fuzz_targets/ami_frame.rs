//! The AMI decoder (banner, messages, legacy `Follows` output, resync after faults): never panics,
//! and the frames do not depend on how TCP cut the bytes (fed whole == fed byte by byte). Every
//! decoded message prints to bytes that decode to the same message.
#![no_main]

use gateway_ami::{Decoder, Frame, FrameError, Limits};
use libfuzzer_sys::fuzz_target;

fn decode<'a>(
    limits: Limits,
    chunks: impl Iterator<Item = &'a [u8]>,
) -> Vec<Result<Frame, FrameError>> {
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

fuzz_target!(|data: &[u8]| {
    let Some((&sel, wire)) = data.split_first() else {
        return;
    };
    // Small limits half the time, so the limit and resync paths are reached with small inputs.
    let limits = if sel & 1 == 0 {
        Limits::default()
    } else {
        Limits {
            max_line_len: 64,
            max_headers: 8,
            max_message_len: 512,
        }
    };
    let whole = decode(limits, std::iter::once(wire));
    let bytes = decode(limits, wire.chunks(1));
    assert!(
        whole == bytes,
        "fed whole and fed byte by byte disagree:\nwhole: {whole:?}\nbytes: {bytes:?}"
    );
    for frame in &whole {
        let Ok(Frame::Message(msg)) = frame else {
            continue;
        };
        let printed = msg.to_bytes();
        let again = decode(Limits::default(), std::iter::once(&printed[..]));
        match &again[..] {
            [Ok(Frame::Message(m))] => assert!(
                m == msg,
                "print/decode changed the message:\n{msg:?}\n{m:?}\nprinted: {:?}",
                String::from_utf8_lossy(&printed)
            ),
            other => panic!(
                "a decoded message printed to {:?}, which decodes to {other:?}",
                String::from_utf8_lossy(&printed)
            ),
        }
    }
});
