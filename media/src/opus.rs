//! Safe wrappers around libopus for mono voice, configured for the gateway.
//!
//! The decode rate (8 kHz for the G.711 bridge) is independent of the RTP clock, which RFC 7587 §4.1
//! fixes at 48000 for Opus: a 20 ms frame is 160 samples here but 960 RTP ticks on the wire.

use crate::{Error, Result};

/// Largest Opus packet duration (RFC 6716 §3.2.5: 120 ms).
pub const MAX_PACKET_MS: usize = 120;
/// A buffer of this many bytes holds any single Opus packet (RFC 6716 §3.4 R3: 1275 per frame).
pub const MAX_PACKET_BYTES: usize = 1500;
/// Target bitrate of [`OpusEncoder`] in bits per second.
pub const ENCODER_BITRATE: i32 = 24_000;
/// Encoder complexity (0..=10) chosen to leave CPU for many calls on a small machine.
pub const ENCODER_COMPLEXITY: i32 = 5;

/// Mono Opus decoder.
pub struct OpusDecoder {
    inner: ::opus::Decoder,
    sample_rate: u32,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("sample_rate", &self.sample_rate)
            .finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// Creates a decoder producing mono PCM at `sample_rate` (8000, 12000, 16000, 24000 or 48000).
    pub fn new(sample_rate: u32) -> Result<Self> {
        let inner = ::opus::Decoder::new(sample_rate, ::opus::Channels::Mono)?;
        Ok(Self { inner, sample_rate })
    }

    /// Decode rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Samples needed to hold the longest possible packet at this rate.
    pub fn max_frame_samples(&self) -> usize {
        self.sample_rate as usize * MAX_PACKET_MS / 1000
    }

    /// Samples `payload` will decode to, without decoding it (parses the TOC byte only).
    pub fn samples_in(&self, payload: &[u8]) -> Result<usize> {
        if payload.is_empty() {
            return Err(Error::EmptyPayload);
        }
        Ok(::opus::packet::get_nb_samples(payload, self.sample_rate)?)
    }

    /// Decodes one RTP payload into `out`; returns the number of samples written.
    ///
    /// `out` must hold the whole packet ([`Self::samples_in`]), otherwise libopus reports
    /// `BufferTooSmall`. An empty payload is an error: use [`Self::decode_loss`] for a lost packet.
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize> {
        if payload.is_empty() {
            return Err(Error::EmptyPayload);
        }
        Ok(self.inner.decode(payload, out, false)?)
    }

    /// Conceals one lost packet (packet loss concealment) into `out`; returns the samples written.
    ///
    /// Produces as much audio as the last packet carried (20 ms before the first one), limited to
    /// `out`, rounded down to the 2.5 ms granularity libopus requires.
    pub fn decode_loss(&mut self, out: &mut [i16]) -> Result<usize> {
        let last = self.inner.get_last_packet_duration()? as usize;
        let frame = if last == 0 {
            self.sample_rate as usize / 50
        } else {
            last
        };
        let granule = self.sample_rate as usize / 400;
        let len = frame.min(out.len()) / granule * granule;
        if len == 0 {
            return Err(Error::BufferTooSmall {
                needed: granule,
                len: out.len(),
            });
        }
        Ok(self.inner.decode(&[], &mut out[..len], false)?)
    }

    /// Resets the decoder state (e.g. when the sender's stream restarts).
    pub fn reset(&mut self) -> Result<()> {
        Ok(self.inner.reset_state()?)
    }
}

/// Mono Opus encoder for voice: VOIP application, complexity 5, 24 kbit/s, no in-band FEC.
pub struct OpusEncoder {
    inner: ::opus::Encoder,
    sample_rate: u32,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("sample_rate", &self.sample_rate)
            .finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// Creates an encoder taking mono PCM at `sample_rate` (8000, 12000, 16000, 24000 or 48000).
    pub fn new(sample_rate: u32) -> Result<Self> {
        let mut inner = ::opus::Encoder::new(
            sample_rate,
            ::opus::Channels::Mono,
            ::opus::Application::Voip,
        )?;
        inner.set_complexity(ENCODER_COMPLEXITY)?;
        inner.set_bitrate(::opus::Bitrate::Bits(ENCODER_BITRATE))?;
        inner.set_inband_fec(false)?;
        Ok(Self { inner, sample_rate })
    }

    /// Input rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Samples in one 20 ms frame at this rate (160 at 8 kHz).
    pub fn frame_samples(&self) -> usize {
        self.sample_rate as usize / 50
    }

    /// Encodes one frame (2.5, 5, 10, 20, 40 or 60 ms of `pcm`) into `out`; returns the bytes written.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize> {
        Ok(self.inner.encode(pcm, out)?)
    }

    /// Encoder lookahead (algorithmic delay) in samples at the input rate.
    pub fn lookahead(&mut self) -> Result<usize> {
        let samples = self.inner.get_lookahead()?;
        usize::try_from(samples).map_err(|_| Error::OutOfRange("negative opus lookahead"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: f64, n: usize, amp: f64) -> Vec<i16> {
        (0..n)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / rate).sin()) as i16)
            .collect()
    }

    /// RFC 6716 §3.1: the TOC byte gives the frame duration; a 20 ms frame is 160 samples at 8 kHz.
    #[test]
    fn encode_then_decode_twenty_ms() {
        let mut enc = OpusEncoder::new(8000).unwrap();
        let mut dec = OpusDecoder::new(8000).unwrap();
        assert_eq!(enc.frame_samples(), 160);
        let pcm = sine(440.0, 8000.0, 160, 8000.0);
        let mut packet = [0u8; MAX_PACKET_BYTES];
        let mut out = [0i16; 960];
        for _ in 0..5 {
            let n = enc.encode(&pcm, &mut packet).unwrap();
            assert!(
                n > 0 && n < 200,
                "24 kbit/s for 20 ms is ~60 bytes, got {n}"
            );
            assert_eq!(dec.samples_in(&packet[..n]).unwrap(), 160);
            assert_eq!(dec.decode(&packet[..n], &mut out).unwrap(), 160);
        }
        assert!(out[..160].iter().any(|&s| s.unsigned_abs() > 1000));
    }

    #[test]
    fn loss_concealment_repeats_the_last_duration() {
        let mut enc = OpusEncoder::new(8000).unwrap();
        let mut dec = OpusDecoder::new(8000).unwrap();
        let mut out = [0i16; 960];
        // Before any packet, PLC produces 20 ms.
        assert_eq!(dec.decode_loss(&mut out).unwrap(), 160);
        let mut packet = [0u8; MAX_PACKET_BYTES];
        let pcm = sine(300.0, 8000.0, 80, 5000.0);
        let n = enc.encode(&pcm, &mut packet).unwrap();
        assert_eq!(dec.decode(&packet[..n], &mut out).unwrap(), 80);
        assert_eq!(dec.decode_loss(&mut out).unwrap(), 80);
        // Limited by the output buffer, at 2.5 ms (20 samples) granularity.
        assert_eq!(dec.decode_loss(&mut out[..50]).unwrap(), 40);
        assert!(matches!(
            dec.decode_loss(&mut out[..10]),
            Err(Error::BufferTooSmall { .. })
        ));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let mut dec = OpusDecoder::new(8000).unwrap();
        let mut out = [0i16; 960];
        assert_eq!(dec.decode(&[], &mut out), Err(Error::EmptyPayload));
        // TOC code 3 with a zero frame count is invalid (RFC 6716 §3.2.5, R5).
        assert!(matches!(
            dec.decode(&[0x03, 0x00], &mut out),
            Err(Error::Opus { .. })
        ));
        // A 20 ms packet does not fit 10 samples.
        let mut enc = OpusEncoder::new(8000).unwrap();
        let mut packet = [0u8; MAX_PACKET_BYTES];
        let n = enc.encode(&[0i16; 160], &mut packet).unwrap();
        assert!(dec.decode(&packet[..n], &mut out[..10]).is_err());
        assert!(OpusDecoder::new(44_100).is_err());
        assert!(enc.encode(&[0i16; 100], &mut packet).is_err());
        assert!(enc.lookahead().unwrap() > 0);
    }
}
