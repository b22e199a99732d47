//! The test tone Chromium sends as its microphone (`--use-file-for-fake-audio-capture`, looped).

use std::path::Path;

use anyhow::{Context, Result, bail};

/// Sample rate of the tone file.
pub(crate) const TONE_RATE: u32 = 48_000;

/// Writes a mono 16-bit PCM WAV of a `freq_hz` sine at `dbfs` (peak) lasting `seconds`.
pub(crate) fn write_tone_wav(path: &Path, freq_hz: f64, dbfs: f64, seconds: u32) -> Result<()> {
    write_tone_wav_at(path, TONE_RATE, freq_hz, dbfs, seconds)
}

/// Like [`write_tone_wav`], at sample rate `rate` (e.g. 8000 for a G.711 peer's source).
pub(crate) fn write_tone_wav_at(
    path: &Path,
    rate: u32,
    freq_hz: f64,
    dbfs: f64,
    seconds: u32,
) -> Result<()> {
    let samples = rate * seconds;
    let data_len = samples * 2;
    let peak = 10f64.powf(dbfs / 20.0) * f64::from(i16::MAX);
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk length
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes()); // byte rate
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..samples {
        let t = f64::from(n) / f64::from(rate);
        // |value| <= peak < i16::MAX, so the cast cannot saturate.
        let value = (peak * (2.0 * std::f64::consts::PI * freq_hz * t).sin()).round() as i16;
        wav.extend_from_slice(&value.to_le_bytes());
    }
    std::fs::write(path, wav).with_context(|| format!("writing {}", path.display()))
}

/// A mono 16-bit PCM WAV file's sample rate and samples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wav {
    /// Samples per second.
    pub(crate) rate: u32,
    /// The samples, first channel only.
    pub(crate) samples: Vec<i16>,
}

impl Wav {
    /// Reads a 16-bit PCM WAV (RIFF chunks in any order; other channels than the first dropped).
    pub(crate) fn read(path: &Path) -> Result<Wav> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            bail!("{} is not a RIFF/WAVE file", path.display());
        }
        let (mut rate, mut channels, mut bits, mut data) = (None, 1usize, 0u16, None);
        let mut at = 12;
        while at + 8 <= bytes.len() {
            let id = &bytes[at..at + 4];
            let len =
                u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
            let body_start = at + 8;
            // A writer killed mid-file leaves the data length too large: take what is there.
            let body_end = body_start.saturating_add(len as usize).min(bytes.len());
            let body = &bytes[body_start..body_end];
            if id == b"fmt " && body.len() >= 16 {
                channels = usize::from(u16::from_le_bytes([body[2], body[3]]).max(1));
                rate = Some(u32::from_le_bytes([body[4], body[5], body[6], body[7]]));
                bits = u16::from_le_bytes([body[14], body[15]]);
            } else if id == b"data" {
                data = Some(body);
            }
            at = body_end + (body_end - body_start) % 2;
        }
        let rate = rate.with_context(|| format!("{}: no fmt chunk", path.display()))?;
        let data = data.with_context(|| format!("{}: no data chunk", path.display()))?;
        if bits != 16 {
            bail!("{}: {bits}-bit samples, want 16", path.display());
        }
        let samples = data
            .chunks_exact(2 * channels)
            .map(|frame| i16::from_le_bytes([frame[0], frame[1]]))
            .collect();
        Ok(Wav { rate, samples })
    }

    /// Root mean square of the samples, full scale = 1.0 (0 when empty).
    pub(crate) fn rms(&self) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let sum: f64 = self
            .samples
            .iter()
            .map(|&s| (f64::from(s) / 32768.0).powi(2))
            .sum();
        (sum / self.samples.len() as f64).sqrt()
    }

    /// Seconds of audio.
    pub(crate) fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate)
    }

    /// The share (0..=1) of the signal's power at `freq_hz`: Goertzel over 50 ms blocks (a
    /// 20 Hz wide bin, robust to the phase jumps of packet loss concealment and jitter buffers),
    /// summed, against the total power.
    pub(crate) fn tone_share(&self, freq_hz: f64) -> f64 {
        let block = usize::try_from(self.rate / 20).unwrap_or(1).max(1);
        let w = 2.0 * std::f64::consts::PI * freq_hz / f64::from(self.rate);
        let coeff = 2.0 * w.cos();
        let (mut at_freq, mut total) = (0.0f64, 0.0f64);
        for chunk in self.samples.chunks_exact(block) {
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for &sample in chunk {
                let x = f64::from(sample) / 32768.0;
                total += x * x;
                let s0 = x + coeff * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            // |X(f)|^2 of a sine of amplitude A over n samples is (A n / 2)^2 and its energy
            // A^2 n / 2: the energy at f is 2 |X|^2 / n.
            let magnitude = s1 * s1 + s2 * s2 - coeff * s1 * s2;
            at_freq += 2.0 * magnitude / block as f64;
        }
        if total == 0.0 { 0.0 } else { at_freq / total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_tone_reads_back_with_its_level_and_frequency() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tone.wav");
        write_tone_wav_at(&path, 8000, 1000.0, -6.0, 1).expect("write");
        let wav = Wav::read(&path).expect("read");
        assert_eq!((wav.rate, wav.samples.len()), (8000, 8000));
        // A sine of peak 0.5 has an RMS of 0.5 / sqrt(2).
        assert!((wav.rms() - 0.354).abs() < 0.01, "rms {}", wav.rms());
        assert!(
            wav.tone_share(1000.0) > 0.9,
            "share {}",
            wav.tone_share(1000.0)
        );
        assert!(
            wav.tone_share(440.0) < 0.05,
            "share {}",
            wav.tone_share(440.0)
        );
    }
}
