//! Phone audio through both transcoders (G.711 -> Opus -> G.711) keeps its level and its pitch.
//!
//! This is the path of a call where the browser only has Opus and Asterisk only PCMU/PCMA:
//! the phone's G.711 is re-encoded as Opus (RFC 7587) and the browser's Opus is decoded back to
//! G.711 (ITU-T G.711), both at 8 kHz.

use gateway_media::g711::{G711Law, decode_alaw, decode_ulaw, encode_ulaw};
use gateway_media::opus::MAX_PACKET_BYTES;
use gateway_media::transcode::{FRAME_SAMPLES, G711ToOpus, OpusToG711, PCM_RATE};

const RATE: f64 = PCM_RATE as f64;

fn sine(freq: f64, amplitude: f64, samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|i| (amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / RATE).sin()) as i16)
        .collect()
}

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len() as f64).sqrt()
}

/// Power of `freq` in `pcm` (Goertzel algorithm), normalised by length.
fn goertzel(pcm: &[i16], freq: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / RATE).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in pcm {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (pcm.len() as f64).powi(2)
}

/// Runs `input` (μ-law packets of the given sizes, cycling) through G711ToOpus then OpusToG711
/// (A-law out), returning the decoded output and the number of Opus frames produced.
fn round_trip(input: &[i16], packet_sizes: &[usize]) -> gateway_media::Result<(Vec<i16>, usize)> {
    let mut to_opus = G711ToOpus::new(G711Law::Ulaw)?;
    let mut to_g711 = OpusToG711::new(G711Law::Alaw)?;
    let mut ulaw = vec![0u8; input.len()];
    encode_ulaw(input, &mut ulaw);

    let mut opus = [0u8; MAX_PACKET_BYTES];
    let mut alaw = [0u8; 960];
    let mut pcm = [0i16; 960];
    let mut output = Vec::with_capacity(input.len());
    let mut frames = 0;
    let mut offset = 0;
    for &size in packet_sizes.iter().cycle() {
        if offset >= ulaw.len() {
            break;
        }
        let end = (offset + size).min(ulaw.len());
        assert_eq!(to_opus.push(&ulaw[offset..end]), 0, "nothing dropped");
        offset = end;
        while let Some(n) = to_opus.pop_frame(&mut opus)? {
            frames += 1;
            let m = to_g711.transcode(&opus[..n], &mut alaw)?;
            assert_eq!(
                m, FRAME_SAMPLES,
                "one 20 ms Opus frame gives 160 G.711 bytes"
            );
            let k = decode_alaw(&alaw[..m], &mut pcm);
            output.extend_from_slice(&pcm[..k]);
        }
    }
    Ok((output, frames))
}

/// A 1 kHz tone at -12 dBFS survives G.711 -> Opus (24 kbit/s) -> G.711 with its level within
/// 1.5 dB and 1 kHz still the dominant frequency, once the codec delay has passed.
#[test]
fn sine_keeps_level_and_pitch_through_both_transcoders() {
    let input = sine(1000.0, 8000.0, 2 * PCM_RATE as usize);
    // The phone sends 20 ms packets.
    let (output, frames) = round_trip(&input, &[160]).unwrap();
    assert_eq!(frames, 100);
    assert_eq!(output.len(), input.len());

    // Skip 200 ms: encoder lookahead, decoder delay and the encoder's start-up.
    let settled = &output[1600..];
    let mut reference = vec![0i16; input.len()];
    let mut ulaw = vec![0u8; input.len()];
    encode_ulaw(&input, &mut ulaw);
    decode_ulaw(&ulaw, &mut reference);
    let level_db = 20.0 * (rms(settled) / rms(&reference[1600..])).log10();
    assert!(level_db.abs() < 1.5, "level changed by {level_db:.2} dB");

    let (best, _) = (2..78)
        .map(|k| f64::from(k) * 50.0)
        .map(|f| (f, goertzel(settled, f)))
        .fold((0.0, 0.0), |acc, x| if x.1 > acc.1 { x } else { acc });
    assert_eq!(best, 1000.0, "dominant frequency");
    let tone = goertzel(settled, 1000.0);
    for other in [300.0, 500.0, 2000.0, 3000.0] {
        assert!(
            tone > 1000.0 * goertzel(settled, other),
            "1 kHz should be 30 dB above {other} Hz"
        );
    }
}

/// G.711 packets of 10 and 30 ms are re-framed to 20 ms Opus frames without losing samples.
#[test]
fn mixed_packet_sizes_are_reframed_without_loss() {
    let input = sine(1000.0, 8000.0, PCM_RATE as usize);
    let (output, frames) = round_trip(&input, &[80, 240, 80, 160]).unwrap();
    assert_eq!(frames, 50);
    assert_eq!(output.len(), input.len());
    let settled = &output[1600..];
    assert!(rms(settled) > 0.7 * rms(&input[1600..]));
}

/// A lost Opus packet is concealed with a full frame of G.711 (RFC 6716 §4.4 PLC), so the phone
/// side keeps its 20 ms packet clock; the concealed audio continues the tone rather than a click.
#[test]
fn lost_opus_packet_is_concealed_as_a_full_frame() {
    let input = sine(1000.0, 8000.0, 40 * FRAME_SAMPLES);
    let mut to_opus = G711ToOpus::new(G711Law::Ulaw).unwrap();
    let mut to_g711 = OpusToG711::new(G711Law::Ulaw).unwrap();
    let mut ulaw = vec![0u8; input.len()];
    encode_ulaw(&input, &mut ulaw);
    to_opus.push(&ulaw);
    let mut opus = [0u8; MAX_PACKET_BYTES];
    let mut out = [0u8; 960];
    let mut pcm = [0i16; 960];
    for i in 0..40 {
        let n = to_opus.pop_frame(&mut opus).unwrap().unwrap();
        let m = if i == 30 {
            to_g711.conceal(&mut out).unwrap()
        } else {
            to_g711.transcode(&opus[..n], &mut out).unwrap()
        };
        assert_eq!(m, FRAME_SAMPLES, "frame {i}");
        if i == 30 {
            decode_ulaw(&out[..m], &mut pcm);
            assert!(rms(&pcm[..m]) > 1000.0, "concealment is not silence");
        }
    }
    assert_eq!(to_opus.pop_frame(&mut opus).unwrap(), None);
}
