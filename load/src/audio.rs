//! The audio the simulated browsers send: 20 ms frames of a 1 kHz tone, encoded once at start
//! (G.711 µ-law, or Opus with libopus through `gateway-media`), replayed in a loop.

use gateway_media::g711::encode_ulaw;
use gateway_media::opus::{MAX_PACKET_BYTES, OpusEncoder};

use crate::args::Codec;
use crate::probe::STAMP_LEN;

/// Samples of a 20 ms frame at 8 kHz.
const FRAME_SAMPLES: usize = 160;
/// Distinct frames in the loop (one second of tone).
const FRAMES: usize = 50;

/// Pre-encoded frames and the RTP parameters they go with.
#[derive(Debug, Clone)]
pub struct Frames {
    frames: Vec<Vec<u8>>,
    /// Payload type offered for the codec.
    pub pt: u8,
    /// RTP timestamp ticks per frame.
    pub ticks: u32,
}

impl Frames {
    /// Encodes one second of tone in `codec`. Each frame has room for the probe stamp: the last
    /// [`STAMP_LEN`] bytes of a G.711 frame are overwritten, and Opus frames get them appended
    /// (a decoder ignores trailing bytes of a SILK frame, so a transcoding gateway still decodes).
    pub fn new(codec: Codec) -> Result<Frames, gateway_media::Error> {
        let pcm: Vec<i16> = (0..FRAME_SAMPLES * FRAMES)
            .map(|i| {
                (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()) as i16
            })
            .collect();
        let mut frames = Vec::with_capacity(FRAMES);
        match codec {
            Codec::Pcmu => {
                for chunk in pcm.chunks(FRAME_SAMPLES) {
                    let mut out = vec![0u8; FRAME_SAMPLES];
                    encode_ulaw(chunk, &mut out);
                    frames.push(out);
                }
                Ok(Frames {
                    frames,
                    pt: 0,
                    ticks: 160,
                })
            }
            Codec::Opus => {
                let mut enc = OpusEncoder::new(8000)?;
                let mut buf = [0u8; MAX_PACKET_BYTES];
                for chunk in pcm.chunks(FRAME_SAMPLES) {
                    let n = enc.encode(chunk, &mut buf)?;
                    let mut out = buf[..n].to_vec();
                    out.extend_from_slice(&[0u8; STAMP_LEN]);
                    frames.push(out);
                }
                Ok(Frames {
                    frames,
                    pt: 111,
                    ticks: 960,
                })
            }
        }
    }

    /// The `i`-th frame of the loop.
    pub fn get(&self, i: u64) -> &[u8] {
        &self.frames[(i % self.frames.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway_media::transcode::OpusToG711;

    #[test]
    fn pcmu_frames_are_20_ms() {
        let f = Frames::new(Codec::Pcmu).unwrap();
        assert_eq!((f.pt, f.ticks, f.get(0).len()), (0, 160, 160));
        assert_eq!(f.get(0), f.get(FRAMES as u64));
    }

    #[test]
    fn stamped_opus_frames_still_decode() {
        let f = Frames::new(Codec::Opus).unwrap();
        assert_eq!((f.pt, f.ticks), (111, 960));
        let mut dec = OpusToG711::new(gateway_media::G711Law::Ulaw).unwrap();
        let mut out = [0u8; 960];
        for i in 0..FRAMES as u64 {
            let mut frame = f.get(i).to_vec();
            crate::probe::stamp(&mut frame, 7, 123_456);
            assert_eq!(dec.transcode(&frame, &mut out).unwrap(), 160, "frame {i}");
        }
    }
}
