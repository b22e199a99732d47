//! Helpers shared by the fuzz targets: a reader that turns the fuzzer's bytes into a sequence of
//! operations, so one input drives a stateful core (the SIP user agent, the RTP bridge, the AMI
//! decoder) through many steps. Running out of bytes ends the sequence; nothing here panics.

/// Reads operations from fuzzer input, front to back.
pub struct Ops<'a> {
    data: &'a [u8],
}

impl<'a> Ops<'a> {
    /// A reader over the whole input.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// One byte, or `None` at the end.
    pub fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    /// A big-endian u16, or `None` when fewer than two bytes remain.
    pub fn u16(&mut self) -> Option<u16> {
        let hi = self.byte()?;
        let lo = self.byte()?;
        Some(u16::from_be_bytes([hi, lo]))
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A chunk prefixed by a one-byte length.
    pub fn chunk8(&mut self) -> &'a [u8] {
        let n = self.byte().map_or(0, usize::from);
        self.take(n)
    }

    /// A chunk prefixed by a big-endian two-byte length.
    pub fn chunk16(&mut self) -> &'a [u8] {
        let n = self.u16().map_or(0, usize::from);
        self.take(n)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }
}
