//! Header rewriting for the RTP bridge: one continuous output stream whatever the input does.
//!
//! A SIP peer may change SSRC mid-call (re-INVITE, forking, a PBX swapping its media source) or
//! restart its sequence numbers. A WebRTC receiver would treat that as a new stream or as massive loss,
//! so [`StreamRewriter`] maps every input onto a fixed output SSRC with continuous sequence numbers and
//! timestamps, while keeping the input's own gaps and reordering visible (RFC 3550 §5.1, §8.2).

use crate::rtp::RtpFields;

/// A forward sequence jump larger than this is a restart, not loss (RFC 3550 A.1 `MAX_DROPOUT`).
pub const MAX_DROPOUT: u16 = 3000;
/// A backward jump larger than this is a restart, not reordering (RFC 3550 A.1 `MAX_MISORDER`).
pub const MAX_MISORDER: u16 = 100;
/// Largest timestamp step taken as one packet's duration: 120 ms at 48 kHz (RFC 6716 §3.2.5).
/// Larger steps between consecutive packets are silence, not a frame size.
pub const MAX_FRAME_TICKS: u32 = 5760;

/// Maps input payload types to output payload types; unmapped types are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtMap {
    map: [u8; 128],
}

const UNMAPPED: u8 = 0xFF;

impl Default for PtMap {
    fn default() -> Self {
        Self::new()
    }
}

impl PtMap {
    /// An empty map (every payload type is dropped).
    pub const fn new() -> Self {
        Self {
            map: [UNMAPPED; 128],
        }
    }

    /// Maps input `from` to output `to` (both 7-bit; higher bits are ignored).
    pub fn insert(&mut self, from: u8, to: u8) {
        self.map[usize::from(from & 0x7F)] = to & 0x7F;
    }

    /// Stops forwarding input `from`.
    pub fn remove(&mut self, from: u8) {
        self.map[usize::from(from & 0x7F)] = UNMAPPED;
    }

    /// The output payload type for input `from`, `None` to drop the packet.
    #[inline]
    pub fn get(&self, from: u8) -> Option<u8> {
        match self.map[usize::from(from & 0x7F)] {
            UNMAPPED => None,
            pt => Some(pt),
        }
    }
}

/// The input source currently being forwarded.
#[derive(Debug, Clone, Copy)]
struct Source {
    ssrc: u32,
    seq_offset: u16,
    ts_offset: u32,
    highest_seq: u16,
    highest_ts: u32,
    /// Timestamp step between the last two consecutive packets, if one looked like a frame.
    frame_ticks: Option<u32>,
}

/// Rewrites (ssrc, seq, ts) of any number of successive input streams onto one output stream.
#[derive(Debug, Clone)]
pub struct StreamRewriter {
    out_ssrc: u32,
    source: Option<Source>,
    /// Output seq/ts of the newest packet sent (or the values the first packet will get, minus one).
    out_seq: u16,
    out_ts: u32,
    default_gap: u32,
    /// Set after an inserted packet: the next input packet is re-anchored after it.
    reanchor: bool,
    /// Set the marker bit on a discontinuity (RFC 3551 §4.1, audio); video keeps the input's,
    /// since there it marks the last packet of a frame (RFC 3551 §4.1, RFC 7741 §4.1).
    mark_discontinuity: bool,
}

impl StreamRewriter {
    /// Creates a rewriter whose first output packet gets `initial_seq` and `initial_ts`.
    ///
    /// The gap left on a source change defaults to 160 ticks (20 ms at 8 kHz) until a frame size has
    /// been seen; see [`Self::with_default_gap`].
    pub fn new(out_ssrc: u32, initial_seq: u16, initial_ts: u32) -> Self {
        Self {
            out_ssrc,
            source: None,
            out_seq: initial_seq.wrapping_sub(1),
            out_ts: initial_ts,
            default_gap: 160,
            reanchor: false,
            mark_discontinuity: true,
        }
    }

    /// Keeps the input's marker bit on discontinuities too (video: the marker ends a frame).
    pub fn with_marker_passthrough(mut self) -> Self {
        self.mark_discontinuity = false;
        self
    }

    /// The input stopped being forwarded for a while (e.g. the stream was removed or put on
    /// hold): the next packet continues the output one sequence number after the last one
    /// sent, at the timestamp gap given to [`Self::rewrite_with_gap`], instead of carrying the
    /// input's own jump across the pause, which a receiver would count as loss.
    pub fn resume(&mut self) {
        self.reanchor = true;
    }

    /// Seq and timestamp of the newest output packet.
    pub fn last_out(&self) -> (u16, u32) {
        (self.out_seq, self.out_ts)
    }

    /// A packet the caller inserts into the output stream (e.g. generated DTMF, RFC 4733): it takes
    /// the next sequence number and the timestamp `ts`. The input stream is re-anchored after it at
    /// its next packet (use [`Self::rewrite_with_gap`] with the media time that passed), so the
    /// receiver sees one gapless sequence.
    pub fn insert(&mut self, pt: u8, ts: u32, marker: bool) -> RtpFields {
        self.out_seq = self.out_seq.wrapping_add(1);
        self.out_ts = ts;
        self.reanchor = true;
        RtpFields {
            pt,
            marker,
            seq: self.out_seq,
            ts,
            ssrc: self.out_ssrc,
        }
    }

    /// Sets the timestamp gap used on a source change before any frame size is known (e.g. 960 for
    /// Opus at 20 ms).
    pub fn with_default_gap(mut self, ticks: u32) -> Self {
        self.default_gap = ticks;
        self
    }

    /// The output SSRC.
    pub fn out_ssrc(&self) -> u32 {
        self.out_ssrc
    }

    /// Rewrites one packet; on a source change the timestamp advances by one frame of the old source.
    pub fn rewrite(&mut self, input: RtpFields) -> RtpFields {
        let gap = self
            .source
            .and_then(|s| s.frame_ticks)
            .unwrap_or(self.default_gap);
        self.rewrite_with_gap(input, gap)
    }

    /// Rewrites one packet; on a source change the output timestamp advances by `ts_gap` (the media
    /// time the caller estimates has elapsed since the last packet sent).
    pub fn rewrite_with_gap(&mut self, input: RtpFields, ts_gap: u32) -> RtpFields {
        let mut marker = input.marker;
        if std::mem::take(&mut self.reanchor) {
            let frame_ticks = self.source.and_then(|s| s.frame_ticks);
            let src = self.anchor(input, ts_gap, frame_ticks);
            self.source = Some(src);
            self.out_seq = input.seq.wrapping_add(src.seq_offset);
            self.out_ts = input.ts.wrapping_add(src.ts_offset);
            return RtpFields {
                pt: input.pt,
                marker: marker || self.mark_discontinuity,
                seq: self.out_seq,
                ts: self.out_ts,
                ssrc: self.out_ssrc,
            };
        }
        let src = match self.source {
            Some(mut src) if src.ssrc == input.ssrc => {
                let ahead = input.seq.wrapping_sub(src.highest_seq);
                if ahead == 0 || ahead >= 0u16.wrapping_sub(MAX_MISORDER) {
                    // Duplicate or reordered: same mapping, the newest packet stays the reference.
                    src
                } else if ahead < MAX_DROPOUT {
                    let step = input.ts.wrapping_sub(src.highest_ts);
                    if ahead == 1 && step > 0 && step <= MAX_FRAME_TICKS {
                        src.frame_ticks = Some(step);
                    }
                    src.highest_seq = input.seq;
                    src.highest_ts = input.ts;
                    src
                } else {
                    marker |= self.mark_discontinuity;
                    self.anchor(input, ts_gap, src.frame_ticks)
                }
            }
            Some(old) => {
                // RFC 3551 §4.1: the marker flags a discontinuity so the receiver resyncs its playout.
                marker |= self.mark_discontinuity;
                // Same codec on the new source most likely: keep the frame size seen so far.
                self.anchor(input, ts_gap, old.frame_ticks)
            }
            None => self.anchor(input, 0, None),
        };
        self.source = Some(src);
        let seq = input.seq.wrapping_add(src.seq_offset);
        let ts = input.ts.wrapping_add(src.ts_offset);
        if seq.wrapping_sub(self.out_seq).wrapping_sub(1) < MAX_DROPOUT {
            self.out_seq = seq;
            self.out_ts = ts;
        }
        RtpFields {
            pt: input.pt,
            marker,
            seq,
            ts,
            ssrc: self.out_ssrc,
        }
    }

    /// Starts mapping `input` so it follows the last output packet by one seq and `ts_gap` ticks.
    fn anchor(&self, input: RtpFields, ts_gap: u32, frame_ticks: Option<u32>) -> Source {
        let seq = self.out_seq.wrapping_add(1);
        let ts = self.out_ts.wrapping_add(ts_gap);
        Source {
            ssrc: input.ssrc,
            seq_offset: seq.wrapping_sub(input.seq),
            ts_offset: ts.wrapping_sub(input.ts),
            highest_seq: input.seq,
            highest_ts: input.ts,
            frame_ticks,
        }
    }
}

/// Numbers a generated stream (e.g. transcoder output): consecutive seqs, timestamps by duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packetizer {
    /// Payload type written into every packet.
    pub pt: u8,
    /// SSRC of the stream.
    pub ssrc: u32,
    /// Sequence number of the next packet.
    pub seq: u16,
    /// Timestamp of the next packet.
    pub ts: u32,
}

impl Packetizer {
    /// Creates a packetizer whose first packet has `seq` and `ts`.
    pub fn new(pt: u8, ssrc: u32, seq: u16, ts: u32) -> Self {
        Self { pt, ssrc, seq, ts }
    }

    /// Fields for the next packet, which carries `samples_in_rtp_clock` ticks of media.
    pub fn next(&mut self, samples_in_rtp_clock: u32, marker: bool) -> RtpFields {
        let fields = RtpFields {
            pt: self.pt,
            marker,
            seq: self.seq,
            ts: self.ts,
            ssrc: self.ssrc,
        };
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(samples_in_rtp_clock);
        fields
    }

    /// Advances the timestamp over media that is not sent (silence, DTX), keeping seqs contiguous.
    pub fn skip(&mut self, ticks: u32) {
        self.ts = self.ts.wrapping_add(ticks);
    }
}

#[cfg(test)]
mod insert_tests {
    use super::*;

    fn f(seq: u16, ts: u32) -> RtpFields {
        RtpFields {
            pt: 0,
            marker: false,
            seq,
            ts,
            ssrc: 7,
        }
    }

    /// Inserted packets take the next sequence numbers; the input resumes right after them.
    #[test]
    fn inserted_packets_keep_the_sequence_gapless() {
        let mut rw = StreamRewriter::new(1, 100, 1000);
        assert_eq!(rw.rewrite(f(10, 0)).seq, 100);
        assert_eq!(rw.rewrite(f(11, 160)).seq, 101);
        let (_, ts) = rw.last_out();
        let e1 = rw.insert(101, ts + 160, true);
        let e2 = rw.insert(101, ts + 160, false);
        assert_eq!((e1.seq, e2.seq), (102, 103));
        assert_eq!(e2.ts, 1000 + 320);
        // The browser kept numbering its own packets meanwhile (12..=20 were dropped).
        let back = rw.rewrite_with_gap(f(21, 1760), 800);
        assert_eq!(back.seq, 104);
        assert_eq!(back.ts, 1000 + 320 + 800);
        assert!(back.marker);
        assert_eq!(rw.rewrite(f(22, 1920)).seq, 105);
        assert_eq!(rw.rewrite(f(22, 1920)).ts, 1000 + 320 + 800 + 160);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pkt(ssrc: u32, seq: u16, ts: u32) -> RtpFields {
        RtpFields {
            pt: 0,
            marker: false,
            seq,
            ts,
            ssrc,
        }
    }

    fn seq_ts(f: RtpFields) -> (u16, u32) {
        (f.seq, f.ts)
    }

    #[test]
    fn one_stream_is_shifted_onto_the_output_numbering() {
        let mut r = StreamRewriter::new(0xAAAA, 1000, 50_000);
        let out = r.rewrite(pkt(7, 30_000, 9_000_000));
        assert_eq!(out.ssrc, 0xAAAA);
        assert!(!out.marker);
        assert_eq!(seq_ts(out), (1000, 50_000));
        assert_eq!(seq_ts(r.rewrite(pkt(7, 30_001, 9_000_160))), (1001, 50_160));
    }

    /// RFC 3550 §5.1: loss stays visible as a seq gap, and reordering keeps its order.
    #[test]
    fn loss_and_reordering_are_preserved() {
        let mut r = StreamRewriter::new(1, 0, 0);
        r.rewrite(pkt(7, 10, 1600));
        assert_eq!(seq_ts(r.rewrite(pkt(7, 13, 2080))), (3, 480));
        assert_eq!(seq_ts(r.rewrite(pkt(7, 12, 1920))), (2, 320));
        assert_eq!(seq_ts(r.rewrite(pkt(7, 13, 2080))), (3, 480));
        assert_eq!(seq_ts(r.rewrite(pkt(7, 14, 2240))), (4, 640));
    }

    /// RFC 3550 §8.2: a new SSRC (re-INVITE, forking) continues the output at last + 1 and
    /// last ts + one frame, with the marker set.
    #[test]
    fn ssrc_change_continues_the_output_stream() {
        let mut r = StreamRewriter::new(1, 500, 8_000);
        r.rewrite(pkt(7, 10, 1600));
        r.rewrite(pkt(7, 11, 1760));
        let out = r.rewrite(pkt(99, 40_000, 123));
        assert!(out.marker);
        assert_eq!(out.ssrc, 1);
        assert_eq!(seq_ts(out), (502, 8_320));
        let next = r.rewrite(pkt(99, 40_001, 283));
        assert!(!next.marker);
        assert_eq!(seq_ts(next), (503, 8_480));
        // The caller may know better how much time passed.
        let out = r.rewrite_with_gap(pkt(7, 1, 0), 8_000);
        assert_eq!(seq_ts(out), (504, 16_480));
    }

    #[test]
    fn default_gap_applies_until_a_frame_is_seen() {
        let mut r = StreamRewriter::new(1, 0, 0).with_default_gap(960);
        r.rewrite(pkt(7, 10, 0));
        assert_eq!(seq_ts(r.rewrite(pkt(8, 0, 0))), (1, 960));
        // Consecutive packets 1920 ticks apart: 40 ms Opus frames.
        r.rewrite(pkt(8, 1, 1920));
        assert_eq!(seq_ts(r.rewrite(pkt(9, 0, 0))), (3, 960 + 1920 + 1920));
        // A silence jump (larger than any frame) does not count as a frame size.
        r.rewrite(pkt(9, 1, 100_000));
        assert_eq!(seq_ts(r.rewrite(pkt(10, 0, 0))), (5, 4800 + 100_000 + 1920));
    }

    /// RFC 3550 A.1: a jump beyond MAX_DROPOUT in the same SSRC is a restart; output stays continuous.
    #[test]
    fn sender_restart_in_the_same_ssrc_is_a_new_source() {
        let mut r = StreamRewriter::new(1, 100, 0);
        r.rewrite(pkt(7, 20_000, 0));
        r.rewrite(pkt(7, 20_001, 160));
        let out = r.rewrite(pkt(7, 3, 77));
        assert!(out.marker);
        assert_eq!(seq_ts(out), (102, 320));
        assert_eq!(seq_ts(r.rewrite(pkt(7, 4, 237))), (103, 480));
        // Backward by more than MAX_MISORDER is also a restart.
        assert_eq!(r.rewrite(pkt(7, 60_000, 0)).seq, 104);
    }

    #[test]
    fn wraps_sequence_and_timestamp() {
        let mut r = StreamRewriter::new(1, 65_534, u32::MAX - 159);
        assert_eq!(
            seq_ts(r.rewrite(pkt(7, 65_535, 0))),
            (65_534, u32::MAX - 159)
        );
        assert_eq!(seq_ts(r.rewrite(pkt(7, 0, 160))), (65_535, 0));
        assert_eq!(seq_ts(r.rewrite(pkt(7, 1, 320))), (0, 160));
        // Reordered across the wrap.
        assert_eq!(
            seq_ts(r.rewrite(pkt(7, 65_535, 0))),
            (65_534, u32::MAX - 159)
        );
        assert_eq!(seq_ts(r.rewrite(pkt(8, 5, 5))), (1, 320));
    }

    #[test]
    fn pt_map_drops_unmapped_types() {
        let mut m = PtMap::new();
        assert_eq!(m.get(0), None);
        m.insert(111, 96);
        m.insert(0, 0);
        assert_eq!(m.get(111), Some(96));
        assert_eq!(m.get(0), Some(0));
        assert_eq!(m.get(0x80 | 111), Some(96));
        m.remove(111);
        assert_eq!(m.get(111), None);
        assert_eq!(PtMap::default(), PtMap::new());
    }

    #[test]
    fn packetizer_counts_seq_and_media_time() {
        let mut p = Packetizer::new(111, 5, 65_535, u32::MAX - 959);
        let a = p.next(960, true);
        assert_eq!(
            (a.pt, a.ssrc, a.marker, a.seq, a.ts),
            (111, 5, true, 65_535, u32::MAX - 959)
        );
        p.skip(1920);
        let b = p.next(960, false);
        assert_eq!((b.seq, b.ts), (0, 1920));
        assert_eq!((p.seq, p.ts), (1, 2880));
    }

    proptest! {
        /// Whatever the input does (gaps, source changes), the output keeps one SSRC and its seq
        /// advances by the input's gap within a source and by exactly one across a change.
        #[test]
        fn output_is_one_continuous_stream(
            start_seq: u16, start_ts: u32,
            steps in proptest::collection::vec((1u16..50, any::<bool>(), 1u32..2000), 1..200),
        ) {
            let mut r = StreamRewriter::new(0x5EED, start_seq, start_ts);
            let (mut ssrc, mut seq, mut ts) = (1u32, 1000u16, 0u32);
            let mut prev = r.rewrite(pkt(ssrc, seq, ts));
            prop_assert_eq!(seq_ts(prev), (start_seq, start_ts));
            for (gap, switch, ticks) in steps {
                if switch {
                    ssrc += 1;
                    seq = seq.wrapping_mul(31).wrapping_add(gap);
                    ts = ts.wrapping_mul(17);
                } else {
                    seq = seq.wrapping_add(gap);
                    ts = ts.wrapping_add(ticks);
                }
                let out = r.rewrite(pkt(ssrc, seq, ts));
                prop_assert_eq!(out.ssrc, 0x5EED);
                let expected_step = if switch { 1 } else { gap };
                prop_assert_eq!(out.seq.wrapping_sub(prev.seq), expected_step);
                if !switch {
                    prop_assert_eq!(out.ts.wrapping_sub(prev.ts), ticks);
                }
                prop_assert_eq!(out.marker, switch);
                prev = out;
            }
        }
    }

    /// A video stream paused (removed, then re-added): the output continues one sequence number
    /// after the last packet sent, timestamps advance by the gap given, and the marker stays the
    /// input's (it ends a video frame).
    #[test]
    fn resume_after_a_pause_leaves_no_gap() {
        let mut r = StreamRewriter::new(9, 1000, 50_000).with_marker_passthrough();
        let f = |seq: u16, ts: u32, marker: bool| RtpFields {
            pt: 96,
            marker,
            seq,
            ts,
            ssrc: 7,
        };
        assert_eq!(r.rewrite(f(10, 0, false)).seq, 1000);
        assert_eq!(r.rewrite(f(11, 3000, true)).seq, 1001);
        // 400 packets (5 s) not forwarded, then resumed.
        r.resume();
        let out = r.rewrite_with_gap(f(412, 453_000, false), 450_000);
        assert_eq!(
            (out.seq, out.ts, out.marker),
            (1002, 50_000 + 3000 + 450_000, false)
        );
        let out = r.rewrite(f(413, 453_000, true));
        assert_eq!((out.seq, out.marker), (1003, true));
        // Without passthrough (audio) the resumed packet is marked.
        let mut a = StreamRewriter::new(9, 0, 0);
        a.rewrite(f(1, 0, false));
        a.resume();
        assert!(a.rewrite_with_gap(f(300, 48_000, false), 48_000).marker);
    }
}
