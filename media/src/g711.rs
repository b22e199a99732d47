//! ITU-T G.711 μ-law and A-law companding.
//!
//! Encoding follows the ITU-T G.191 (STL) reference `ulaw_compress`/`alaw_compress`, with the segment
//! search replaced by a leading-zero count. Decoding reads 256-entry tables computed at compile time
//! from the G.191 `ulaw_expand`/`alaw_expand` formulas. Input samples are 16-bit linear PCM; μ-law uses
//! the top 14 bits and A-law the top 13, as G.711 specifies.

/// The two G.711 companding laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711Law {
    /// μ-law (PCMU, RTP payload type 0).
    Ulaw,
    /// A-law (PCMA, RTP payload type 8).
    Alaw,
}

impl G711Law {
    /// Encodes `pcm` into `out`; returns the number of bytes written (the shorter of the two lengths).
    pub fn encode(self, pcm: &[i16], out: &mut [u8]) -> usize {
        match self {
            G711Law::Ulaw => encode_ulaw(pcm, out),
            G711Law::Alaw => encode_alaw(pcm, out),
        }
    }

    /// Decodes `codes` into `out`; returns the number of samples written (the shorter of the two lengths).
    pub fn decode(self, codes: &[u8], out: &mut [i16]) -> usize {
        match self {
            G711Law::Ulaw => decode_ulaw(codes, out),
            G711Law::Alaw => decode_alaw(codes, out),
        }
    }

    /// The code of a zero sample, for filling silence.
    pub const fn silence(self) -> u8 {
        match self {
            G711Law::Ulaw => 0xFF,
            G711Law::Alaw => 0xD5,
        }
    }
}

/// G.191 `ulaw_expand` for one code, evaluated at compile time to build [`ULAW_TO_LINEAR`].
const fn ulaw_expand(code: u8) -> i16 {
    let inverted = !code;
    let exponent = ((inverted >> 4) & 0x07) as i32;
    let mantissa = (inverted & 0x0F) as i32;
    let step = 4 << (exponent + 1);
    let magnitude = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
    if code < 0x80 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// G.191 `alaw_expand` for one code, evaluated at compile time to build [`ALAW_TO_LINEAR`].
const fn alaw_expand(code: u8) -> i16 {
    let ix = code ^ 0x55;
    let exponent = ((ix & 0x7F) >> 4) as i32;
    let mut mantissa = (ix & 0x0F) as i32;
    if exponent > 0 {
        mantissa += 16;
    }
    mantissa = (mantissa << 4) + 0x08;
    if exponent > 1 {
        mantissa <<= exponent - 1;
    }
    if ix > 127 {
        mantissa as i16
    } else {
        -mantissa as i16
    }
}

const fn build_table(law: G711Law) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = match law {
            G711Law::Ulaw => ulaw_expand(i as u8),
            G711Law::Alaw => alaw_expand(i as u8),
        };
        i += 1;
    }
    table
}

/// μ-law code -> 16-bit linear sample.
pub static ULAW_TO_LINEAR: [i16; 256] = build_table(G711Law::Ulaw);
/// A-law code -> 16-bit linear sample.
pub static ALAW_TO_LINEAR: [i16; 256] = build_table(G711Law::Alaw);

/// Encodes one 16-bit sample as μ-law.
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    let x = i32::from(sample);
    // G.191 takes the one's complement of negative inputs, so -1 encodes like 0 (as "negative zero").
    let magnitude = if x < 0 { (!x) >> 2 } else { x >> 2 } + 33;
    let magnitude = magnitude.min(0x1FFF) as u32;
    // Segment 1..=8: one more than the bit length of magnitude >> 6.
    let segment = 33 - (magnitude >> 6).leading_zeros();
    let high = 8 - segment;
    let low = 0x0F - ((magnitude >> segment) & 0x0F);
    let code = ((high << 4) | low) as u8;
    if x >= 0 { code | 0x80 } else { code }
}

/// Decodes one μ-law code.
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TO_LINEAR[usize::from(code)]
}

/// Encodes one 16-bit sample as A-law.
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    let x = i32::from(sample);
    let magnitude = (if x < 0 { !x } else { x } >> 4) as u32;
    let segmented = if magnitude > 15 {
        // magnitude is 16..=2047: exponent 1..=7 from the position of the top bit.
        let exponent = (31 - magnitude.leading_zeros()) - 3;
        (exponent << 4) | ((magnitude >> (exponent - 1)) & 0x0F)
    } else {
        magnitude
    };
    let signed = if x >= 0 { segmented | 0x80 } else { segmented };
    (signed as u8) ^ 0x55
}

/// Decodes one A-law code.
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TO_LINEAR[usize::from(code)]
}

/// μ-law encodes `pcm` into `out`; returns the number of bytes written (the shorter length).
pub fn encode_ulaw(pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    for (o, &s) in out[..n].iter_mut().zip(&pcm[..n]) {
        *o = ulaw_encode(s);
    }
    n
}

/// μ-law decodes `codes` into `out`; returns the number of samples written (the shorter length).
pub fn decode_ulaw(codes: &[u8], out: &mut [i16]) -> usize {
    let n = codes.len().min(out.len());
    for (o, &c) in out[..n].iter_mut().zip(&codes[..n]) {
        *o = ulaw_decode(c);
    }
    n
}

/// A-law encodes `pcm` into `out`; returns the number of bytes written (the shorter length).
pub fn encode_alaw(pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    for (o, &s) in out[..n].iter_mut().zip(&pcm[..n]) {
        *o = alaw_encode(s);
    }
    n
}

/// A-law decodes `codes` into `out`; returns the number of samples written (the shorter length).
pub fn decode_alaw(codes: &[u8], out: &mut [i16]) -> usize {
    let n = codes.len().min(out.len());
    for (o, &c) in out[..n].iter_mut().zip(&codes[..n]) {
        *o = alaw_decode(c);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// G.711 Table 2a (μ-law): code 0xFF is +0, 0x7F is -0, 0x80/0x00 are the ±8031 extremes
    /// (×4 = ±32124 in 16-bit), and the segment edges of the first segment.
    #[test]
    fn ulaw_known_values() {
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80) / 4, 8031);
        // Decision value 1 (14-bit) -> code 0xFE decodes to 2 (14-bit) = 8.
        assert_eq!(ulaw_decode(0xFE), 8);
        assert_eq!(ulaw_decode(0xF0), 120);
        assert_eq!(ulaw_decode(0xEF), 132);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-1), 0x7F);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_encode(32124), 0x80);
        assert_eq!(ulaw_encode(-32124), 0x00);
    }

    /// G.711 Table 1a (A-law): 0xD5 is the smallest positive step (+1 in 12-bit = +8), 0x55 its
    /// negative, 0xAA/0x2A the ±4032 extremes (×8 = ±32256).
    #[test]
    fn alaw_known_values() {
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_decode(0xAA) / 8, 4032);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        // Segment boundary: 256 (16-bit) is magnitude 16, the first value of segment 1.
        assert_eq!(alaw_encode(255), (0x80 | 0x0F) ^ 0x55);
        assert_eq!(alaw_encode(256), (0x80 | 0x10) ^ 0x55);
    }

    /// Re-encoding a decoded code gives the same code (except μ-law -0, which becomes +0).
    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            let u = ulaw_decode(code);
            assert_eq!(ulaw_decode(ulaw_encode(u)), u, "ulaw {code:#04x}");
            if code != 0x7F {
                assert_eq!(ulaw_encode(u), code, "ulaw {code:#04x}");
            }
            let a = alaw_decode(code);
            assert_eq!(alaw_decode(alaw_encode(a)), a, "alaw {code:#04x}");
            assert_eq!(alaw_encode(a), code, "alaw {code:#04x}");
        }
    }

    /// Companding is monotonic: a larger input never decodes to a smaller output.
    #[test]
    fn encode_decode_is_monotonic() {
        let mut prev_u = i16::MIN;
        let mut prev_a = i16::MIN;
        for s in i16::MIN..=i16::MAX {
            let u = ulaw_decode(ulaw_encode(s));
            let a = alaw_decode(alaw_encode(s));
            assert!(u >= prev_u, "ulaw not monotonic at {s}");
            assert!(a >= prev_a, "alaw not monotonic at {s}");
            prev_u = u;
            prev_a = a;
        }
    }

    /// Quantisation error stays within half a step of the largest segment (G.711 §3/§4 step sizes).
    #[test]
    fn quantisation_error_is_bounded() {
        for s in -32124..=32124i16 {
            let eu = (i32::from(ulaw_decode(ulaw_encode(s))) - i32::from(s)).abs();
            assert!(eu <= 512 + 4, "ulaw error {eu} at {s}");
        }
        for s in -32256..=32256i16 {
            let ea = (i32::from(alaw_decode(alaw_encode(s))) - i32::from(s)).abs();
            assert!(ea <= 512 + 8, "alaw error {ea} at {s}");
        }
    }

    #[test]
    fn slice_versions_stop_at_the_shorter_buffer() {
        let pcm = [0i16, 1000, -1000, 30000];
        let mut codes = [0u8; 3];
        assert_eq!(G711Law::Ulaw.encode(&pcm, &mut codes), 3);
        assert_eq!(codes[0], 0xFF);
        let mut back = [0i16; 8];
        assert_eq!(G711Law::Ulaw.decode(&codes, &mut back), 3);
        assert_eq!(back[1], ulaw_decode(ulaw_encode(1000)));
        assert_eq!(G711Law::Alaw.encode(&pcm, &mut codes), 3);
        assert_eq!(codes[0], G711Law::Alaw.silence());
        assert_eq!(G711Law::Alaw.decode(&codes, &mut back), 3);
        assert_eq!(back[2], alaw_decode(alaw_encode(-1000)));
    }
}
