//! Opus <-> G.711 transcoding, one struct per direction, for calls where the browser offers Opus and
//! the SIP side only PCMU/PCMA.
//!
//! Both directions work at 8 kHz: libopus resamples internally, so no resampler is needed. Buffers are
//! allocated once at construction; `transcode`, `conceal`, `push` and `pop_frame` never allocate.

use std::collections::VecDeque;

use crate::g711::G711Law;
use crate::opus::{OpusDecoder, OpusEncoder};
use crate::{Error, Result};

/// Sample rate of the G.711 side and of the transcoding path.
pub const PCM_RATE: u32 = 8_000;
/// Samples in one 20 ms frame at [`PCM_RATE`].
pub const FRAME_SAMPLES: usize = 160;
/// RTP ticks of one 20 ms Opus frame (48 kHz RTP clock, RFC 7587 §4.1).
pub const OPUS_TICKS_PER_FRAME: u32 = 960;
/// Most samples [`G711ToOpus`] buffers (1 s); older samples are dropped beyond this.
pub const MAX_BUFFERED_SAMPLES: usize = PCM_RATE as usize;

/// Browser -> phone: decodes Opus at 8 kHz and re-encodes it as G.711.
#[derive(Debug)]
pub struct OpusToG711 {
    decoder: OpusDecoder,
    law: G711Law,
    pcm: Vec<i16>,
}

impl OpusToG711 {
    /// Creates a transcoder producing `law` codes.
    pub fn new(law: G711Law) -> Result<Self> {
        let decoder = OpusDecoder::new(PCM_RATE)?;
        let pcm = vec![0; decoder.max_frame_samples()];
        Ok(Self { decoder, law, pcm })
    }

    /// The G.711 law produced.
    pub fn law(&self) -> G711Law {
        self.law
    }

    /// Transcodes one Opus payload into `out`; returns the G.711 bytes written (160 per 20 ms).
    ///
    /// Checks that `out` is large enough before decoding, so a too-small buffer leaves the decoder
    /// state untouched.
    pub fn transcode(&mut self, opus_payload: &[u8], out: &mut [u8]) -> Result<usize> {
        let needed = self.decoder.samples_in(opus_payload)?;
        if needed > out.len() {
            return Err(Error::BufferTooSmall {
                needed,
                len: out.len(),
            });
        }
        let n = self.decoder.decode(opus_payload, &mut self.pcm)?;
        Ok(self.law.encode(&self.pcm[..n], out))
    }

    /// Produces G.711 for one lost Opus packet (libopus concealment); returns the bytes written.
    pub fn conceal(&mut self, out: &mut [u8]) -> Result<usize> {
        let limit = out.len().min(self.pcm.len());
        let n = self.decoder.decode_loss(&mut self.pcm[..limit])?;
        Ok(self.law.encode(&self.pcm[..n], out))
    }
}

/// Phone -> browser: buffers G.711 samples and emits one 20 ms Opus frame per 160 samples.
///
/// G.711 senders may use 10, 20 or 30 ms packets; the buffer re-frames them to 20 ms.
#[derive(Debug)]
pub struct G711ToOpus {
    encoder: OpusEncoder,
    law: G711Law,
    pending: VecDeque<i16>,
    frame: [i16; FRAME_SAMPLES],
}

impl G711ToOpus {
    /// Creates a transcoder reading `law` codes.
    pub fn new(law: G711Law) -> Result<Self> {
        Ok(Self {
            encoder: OpusEncoder::new(PCM_RATE)?,
            law,
            pending: VecDeque::with_capacity(MAX_BUFFERED_SAMPLES),
            frame: [0; FRAME_SAMPLES],
        })
    }

    /// The G.711 law read.
    pub fn law(&self) -> G711Law {
        self.law
    }

    /// Samples waiting to be encoded.
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// Appends one G.711 payload; returns how many old samples were dropped to stay within 1 s.
    pub fn push(&mut self, g711_payload: &[u8]) -> usize {
        let codes = if g711_payload.len() > MAX_BUFFERED_SAMPLES {
            &g711_payload[g711_payload.len() - MAX_BUFFERED_SAMPLES..]
        } else {
            g711_payload
        };
        let skipped = g711_payload.len() - codes.len();
        let overflow = (self.pending.len() + codes.len()).saturating_sub(MAX_BUFFERED_SAMPLES);
        self.pending.drain(..overflow);
        // Within capacity by construction, so push_back never reallocates.
        match self.law {
            G711Law::Ulaw => self
                .pending
                .extend(codes.iter().map(|&c| crate::g711::ulaw_decode(c))),
            G711Law::Alaw => self
                .pending
                .extend(codes.iter().map(|&c| crate::g711::alaw_decode(c))),
        }
        overflow + skipped
    }

    /// Encodes the next 20 ms frame into `out` if 160 samples are buffered; returns its length.
    pub fn pop_frame(&mut self, out: &mut [u8]) -> Result<Option<usize>> {
        if self.pending.len() < FRAME_SAMPLES {
            return Ok(None);
        }
        for (dst, src) in self
            .frame
            .iter_mut()
            .zip(self.pending.drain(..FRAME_SAMPLES))
        {
            *dst = src;
        }
        self.encoder.encode(&self.frame, out).map(Some)
    }

    /// Drops buffered samples (e.g. after the SIP side changes source).
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opus::MAX_PACKET_BYTES;

    #[test]
    fn g711_packets_of_any_length_are_reframed_to_20ms() {
        let mut t = G711ToOpus::new(G711Law::Ulaw).unwrap();
        let mut out = [0u8; MAX_PACKET_BYTES];
        t.push(&[0xFF; 80]); // 10 ms
        assert_eq!(t.pop_frame(&mut out).unwrap(), None);
        t.push(&[0xFF; 240]); // 30 ms
        assert_eq!(t.buffered(), 320);
        assert!(t.pop_frame(&mut out).unwrap().is_some());
        assert!(t.pop_frame(&mut out).unwrap().is_some());
        assert_eq!(t.pop_frame(&mut out).unwrap(), None);
        assert_eq!(t.buffered(), 0);
    }

    #[test]
    fn buffer_is_bounded_to_one_second() {
        let mut t = G711ToOpus::new(G711Law::Alaw).unwrap();
        assert_eq!(t.push(&[0xD5; 7_900]), 0);
        assert_eq!(t.push(&[0xD5; 160]), 60);
        assert_eq!(t.buffered(), MAX_BUFFERED_SAMPLES);
        assert_eq!(t.push(&[0xD5; 9_000]), 9_000);
        assert_eq!(t.buffered(), MAX_BUFFERED_SAMPLES);
        t.clear();
        assert_eq!(t.buffered(), 0);
    }

    #[test]
    fn opus_to_g711_checks_the_output_buffer_first() {
        let mut enc = OpusEncoder::new(PCM_RATE).unwrap();
        let mut packet = [0u8; MAX_PACKET_BYTES];
        let n = enc.encode(&[0i16; 320], &mut packet).unwrap(); // 40 ms
        let mut t = OpusToG711::new(G711Law::Alaw).unwrap();
        let mut small = [0u8; 160];
        assert_eq!(
            t.transcode(&packet[..n], &mut small),
            Err(Error::BufferTooSmall {
                needed: 320,
                len: 160
            })
        );
        let mut out = [0u8; 960];
        assert_eq!(t.transcode(&packet[..n], &mut out).unwrap(), 320);
        assert!(out[..320].iter().all(|&c| alaw_is_quiet(c)));
        assert_eq!(t.conceal(&mut out).unwrap(), 320);
        assert_eq!(t.transcode(&[], &mut out), Err(Error::EmptyPayload));
    }

    fn alaw_is_quiet(code: u8) -> bool {
        crate::g711::alaw_decode(code).unsigned_abs() < 64
    }
}
