//! The test tone Chromium sends as its microphone (`--use-file-for-fake-audio-capture`, looped).

use std::path::Path;

use anyhow::{Context, Result};

/// Sample rate of the tone file.
pub(crate) const TONE_RATE: u32 = 48_000;

/// Writes a mono 16-bit PCM WAV of a `freq_hz` sine at `dbfs` (peak) lasting `seconds`.
pub(crate) fn write_tone_wav(path: &Path, freq_hz: f64, dbfs: f64, seconds: u32) -> Result<()> {
    let samples = TONE_RATE * seconds;
    let data_len = samples * 2;
    let peak = 10f64.powf(dbfs / 20.0) * f64::from(i16::MAX);
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk length
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&TONE_RATE.to_le_bytes());
    wav.extend_from_slice(&(TONE_RATE * 2).to_le_bytes()); // byte rate
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..samples {
        let t = f64::from(n) / f64::from(TONE_RATE);
        // |value| <= peak < i16::MAX, so the cast cannot saturate.
        let value = (peak * (2.0 * std::f64::consts::PI * freq_hz * t).sin()).round() as i16;
        wav.extend_from_slice(&value.to_le_bytes());
    }
    std::fs::write(path, wav).with_context(|| format!("writing {}", path.display()))
}
