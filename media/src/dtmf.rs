//! RFC 4733 telephone events (DTMF): the payload, a relay between legs, and a generator.
//!
//! ```text
//!  0                   1                   2                   3
//! |     event     |E|R| volume    |          duration             |   (RFC 4733 §2.3)
//! ```
//!
//! - [`TelephoneEvent`]: the 4-byte payload.
//! - [`DtmfRelay`]: forwards one leg's events to the other, remapping the payload type, rescaling
//!   durations between clock rates and placing each event on the output stream's timeline; it also
//!   detects each digit once, when it ends.
//! - [`DtmfGenerator`]: turns a digit string from the client into event packets, driven by time.
//!
//! Both produce an [`EventPacket`] (payload type, marker, timestamp and payload); the caller numbers
//! it with the sequence number and SSRC of the audio stream it belongs to (RFC 4733 §2.1: events
//! share the audio stream's SSRC and sequence space). Nothing here allocates per packet.

use std::collections::VecDeque;

use crate::rtp::RtpFields;
use crate::{Error, Result};

/// Length of one telephone-event payload.
pub const EVENT_LEN: usize = 4;
/// Event codes 0-15 are the DTMF digits, in this order (RFC 4733 §3.2, Table 7).
const DIGITS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];
/// Largest value of the 16-bit duration field.
const MAX_DURATION: u64 = 0xFFFF;

/// The digit for a DTMF event code (0-15), `None` for other events (e.g. 16, flash).
pub fn digit_for_event(event: u8) -> Option<char> {
    DIGITS.get(usize::from(event)).copied()
}

/// The event code for a DTMF digit (`0-9 * # A-D`, letters in either case).
pub fn event_for_digit(digit: char) -> Option<u8> {
    let d = digit.to_ascii_uppercase();
    DIGITS.iter().position(|&c| c == d).map(|i| i as u8)
}

/// One telephone-event payload (RFC 4733 §2.3). The R bit is ignored on parse and written as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TelephoneEvent {
    /// Event code (0-15: DTMF digits, RFC 4733 §3.2).
    pub event: u8,
    /// E bit: this packet reports the end of the event.
    pub end: bool,
    /// Power level in -dBm0 (6 bits, 0-63).
    pub volume: u8,
    /// Duration so far, in RTP timestamp units, counted from the event's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event of a payload; bytes after the first four are ignored.
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent> {
        let b = payload.first_chunk::<EVENT_LEN>().ok_or(Error::Truncated {
            needed: EVENT_LEN,
            len: payload.len(),
        })?;
        Ok(Self::from_bytes(b))
    }

    /// The event in a 4-byte payload.
    pub fn from_bytes(b: &[u8; EVENT_LEN]) -> TelephoneEvent {
        TelephoneEvent {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        }
    }

    /// The payload bytes (volume masked to 6 bits, R bit 0).
    pub fn to_bytes(&self) -> [u8; EVENT_LEN] {
        let d = self.duration.to_be_bytes();
        let e = if self.end { 0x80 } else { 0 };
        [self.event, e | (self.volume & 0x3F), d[0], d[1]]
    }

    /// Writes the payload into `out`; returns 4.
    pub fn write(&self, out: &mut [u8]) -> Result<usize> {
        let len = out.len();
        let dst = out
            .first_chunk_mut::<EVENT_LEN>()
            .ok_or(Error::BufferTooSmall {
                needed: EVENT_LEN,
                len,
            })?;
        *dst = self.to_bytes();
        Ok(EVENT_LEN)
    }

    /// The DTMF digit of this event, `None` for non-DTMF events.
    pub fn digit(&self) -> Option<char> {
        digit_for_event(self.event)
    }
}

/// An event packet to send: everything but the sequence number and SSRC of its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// Payload type of telephone-event on the output leg.
    pub pt: u8,
    /// Marker bit: set on the first packet of an event (RFC 4733 §2.5.1.3).
    pub marker: bool,
    /// The event's timestamp on the output stream (the same for all its packets).
    pub ts: u32,
    /// The telephone-event payload.
    pub payload: [u8; EVENT_LEN],
}

impl EventPacket {
    /// RTP header fields for this packet, numbered `seq` in the stream `ssrc`.
    pub fn fields(&self, seq: u16, ssrc: u32) -> RtpFields {
        RtpFields {
            pt: self.pt,
            marker: self.marker,
            seq,
            ts: self.ts,
            ssrc,
        }
    }

    /// The payload, parsed back.
    pub fn event(&self) -> TelephoneEvent {
        TelephoneEvent::from_bytes(&self.payload)
    }
}

/// A digit seen by [`DtmfRelay`], reported once per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    /// The digit (`0-9 * # A-D`).
    pub digit: char,
    /// How long the key was held, in milliseconds.
    pub duration_ms: u32,
    /// `true` if the sender's end packet was seen; `false` if the event was closed because a new
    /// event or later audio arrived while all its end packets were lost.
    pub ended: bool,
}

/// `ticks` at clock `from` expressed at clock `to`, rounded to the nearest tick.
fn rescale(ticks: u64, from: u32, to: u32) -> u64 {
    (ticks * u64::from(to) + u64::from(from) / 2) / u64::from(from)
}

fn check_rate(rate: u32) -> Result<u32> {
    if rate == 0 {
        return Err(Error::OutOfRange(
            "telephone-event clock rate must not be 0",
        ));
    }
    Ok(rate)
}

/// The event currently being relayed.
#[derive(Debug, Clone, Copy)]
struct Relayed {
    event: u8,
    /// Input timestamp of the event's first segment, and of the current segment.
    in_start: u32,
    in_segment: u32,
    /// Output timestamp the event was anchored at.
    out_start: u32,
    /// Latest duration seen in the current segment (input ticks).
    segment_duration: u16,
    /// Whether its end packet was seen, and whether it was reported.
    ended: bool,
    reported: bool,
    /// Whether a packet of this event has been sent (the first one carries the marker).
    sent: bool,
}

impl Relayed {
    /// Input ticks from the event's start to the end of what has been reported so far.
    fn in_total(&self) -> u64 {
        u64::from(self.in_segment.wrapping_sub(self.in_start)) + u64::from(self.segment_duration)
    }
}

/// Events [`DtmfRelay`] holds until the caller takes them.
const DETECTED_CAPACITY: usize = 4;
/// Audio this much later than an open event's reported end closes it (its end packets were lost).
const LOST_END_MS: u64 = 250;

/// Relays RFC 4733 events from one leg to the other (e.g. Chromium's 126/8000 or 110/48000 to
/// Asterisk's 101/8000) and detects the digits.
///
/// Each event is anchored on the output stream at `out_ts_now` of its first packet, so it lines up
/// with the audio the other side receives whatever the input's timestamp base; all its packets keep
/// that timestamp (RFC 4733 §2.5.1.3). A new input timestamp starts a new event, except a segment of
/// a long event (§2.5.1.3, the same event continuing where the previous segment ended). Durations are
/// rescaled to the output clock; an output duration beyond 16 bits is split into segments. Repeated
/// end packets (§2.5.1.4) are all relayed; digits are reported once, when the event ends.
#[derive(Debug, Clone)]
pub struct DtmfRelay {
    in_rate: u32,
    out_rate: u32,
    out_pt: u8,
    current: Option<Relayed>,
    /// The previous event, so a late repeat of its end packet still gets its timestamp.
    previous: Option<Relayed>,
    detected: [Option<DtmfEvent>; DETECTED_CAPACITY],
}

impl DtmfRelay {
    /// A relay from events at clock `in_rate` to events at clock `out_rate` with payload type `out_pt`.
    pub fn new(in_rate: u32, out_rate: u32, out_pt: u8) -> Result<Self> {
        Ok(Self {
            in_rate: check_rate(in_rate)?,
            out_rate: check_rate(out_rate)?,
            out_pt: out_pt & 0x7F,
            current: None,
            previous: None,
            detected: [None; DETECTED_CAPACITY],
        })
    }

    /// Follows a renegotiation of the output leg (re-INVITE): new payload type and clock rate.
    pub fn set_output(&mut self, out_rate: u32, out_pt: u8) -> Result<()> {
        self.out_rate = check_rate(out_rate)?;
        self.out_pt = out_pt & 0x7F;
        Ok(())
    }

    /// Relays one input event packet; `out_ts_now` is the output stream's current timestamp (its
    /// packetizer's or rewriter's). `None` for a payload that does not parse or a stale packet.
    pub fn relay(
        &mut self,
        input: RtpFields,
        payload: &[u8],
        out_ts_now: u32,
    ) -> Option<EventPacket> {
        let ev = TelephoneEvent::parse(payload).ok()?;
        let mut cur = match self.current {
            Some(cur) if cur.in_segment == input.ts => cur,
            Some(cur) if (input.ts.wrapping_sub(cur.in_segment) as i32) < 0 => {
                // Older than the current event: a late repeat of the previous event's end, or stale.
                let prev = self.previous.filter(|p| p.in_segment == input.ts)?;
                return Some(self.packet(prev, ev, false));
            }
            Some(cur) if self.continues(&cur, &ev, input.ts) => Relayed {
                in_segment: input.ts,
                segment_duration: 0,
                ..cur
            },
            other => {
                if let Some(old) = other {
                    self.close_unreported(old);
                    self.previous = Some(old);
                }
                Relayed {
                    event: ev.event,
                    in_start: input.ts,
                    in_segment: input.ts,
                    out_start: out_ts_now,
                    segment_duration: 0,
                    ended: false,
                    reported: false,
                    sent: false,
                }
            }
        };
        if ev.duration > cur.segment_duration {
            cur.segment_duration = ev.duration;
        }
        if ev.end && !cur.ended {
            cur.ended = true;
            if !cur.reported {
                cur.reported = true;
                self.report(&cur, true);
            }
        }
        let marker = !cur.sent;
        cur.sent = true;
        self.current = Some(cur);
        Some(self.packet(cur, ev, marker))
    }

    /// Tells the relay that audio with input timestamp `in_ts` arrived on the input leg: an open
    /// event whose end packets were all lost is closed (and reported) once audio is well past it.
    pub fn on_audio(&mut self, in_ts: u32) {
        let Some(mut cur) = self.current else { return };
        if cur.reported {
            return;
        }
        let past = in_ts.wrapping_sub(cur.in_start);
        if (past as i32) < 0 {
            return;
        }
        let margin = rescale(LOST_END_MS, 1000, self.in_rate);
        if u64::from(past) > cur.in_total() + margin {
            cur.reported = true;
            self.report(&cur, false);
            self.current = Some(cur);
        }
    }

    /// The next detected digit, oldest first.
    pub fn take_detected(&mut self) -> Option<DtmfEvent> {
        let first = self.detected[0].take();
        self.detected.rotate_left(1);
        first
    }

    /// Output timestamp just past the latest event (start plus its duration so far), so the caller can
    /// move its audio timestamps beyond it when audio resumes.
    pub fn out_end_ts(&self) -> Option<u32> {
        self.current.map(|c| {
            let total = rescale(c.in_total(), self.in_rate, self.out_rate);
            c.out_start.wrapping_add(total as u32)
        })
    }

    /// Whether a segment starting at `in_ts` continues the long event `cur` (RFC 4733 §2.5.1.3): same
    /// event, not ended, its previous segment had filled most of the 16-bit duration, and the new
    /// segment starts where that one ended (one second of slack for a lost update).
    fn continues(&self, cur: &Relayed, ev: &TelephoneEvent, in_ts: u32) -> bool {
        let step = u64::from(in_ts.wrapping_sub(cur.in_segment));
        let duration = u64::from(cur.segment_duration);
        !cur.ended
            && ev.event == cur.event
            && duration >= MAX_DURATION / 2
            && step >= duration
            && step <= duration + u64::from(self.in_rate)
    }

    /// The output packet for `ev`, a packet of the relayed event `r`.
    fn packet(&self, r: Relayed, ev: TelephoneEvent, marker: bool) -> EventPacket {
        let in_offset = u64::from(r.in_segment.wrapping_sub(r.in_start));
        let total = rescale(
            in_offset + u64::from(ev.duration),
            self.in_rate,
            self.out_rate,
        );
        // A duration too long for 16 bits continues in a new segment at start + k * 0xFFFF.
        let segment = total.saturating_sub(1) / MAX_DURATION;
        let duration = (total - segment * MAX_DURATION) as u16;
        let out = TelephoneEvent {
            event: ev.event,
            end: ev.end,
            volume: ev.volume,
            duration,
        };
        EventPacket {
            pt: self.out_pt,
            marker,
            ts: r.out_start.wrapping_add((segment * MAX_DURATION) as u32),
            payload: out.to_bytes(),
        }
    }

    fn close_unreported(&mut self, old: Relayed) {
        if !old.reported {
            self.report(&old, false);
        }
    }

    fn report(&mut self, r: &Relayed, ended: bool) {
        let Some(digit) = digit_for_event(r.event) else {
            return;
        };
        let duration_ms = rescale(r.in_total(), self.in_rate, 1000).min(u64::from(u32::MAX)) as u32;
        let event = DtmfEvent {
            digit,
            duration_ms,
            ended,
        };
        match self.detected.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(event),
            None => {
                // The caller is not draining: drop the oldest.
                self.detected.rotate_left(1);
                self.detected[DETECTED_CAPACITY - 1] = Some(event);
            }
        }
    }
}

/// A digit string the generator refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigitsError {
    /// A character that is neither a DTMF digit nor `,`.
    #[error("not a DTMF digit: {0:?}")]
    InvalidDigit(char),
    /// More digits than [`MAX_QUEUED_DIGITS`] would be waiting.
    #[error("too many DTMF digits queued (at most {MAX_QUEUED_DIGITS})")]
    TooMany,
}

/// Most digits (and pauses) [`DtmfGenerator`] queues.
pub const MAX_QUEUED_DIGITS: usize = 64;
/// Default tone length (as RTCDTMFSender's default duration).
pub const DEFAULT_TONE_MS: u32 = 100;
/// Default gap between tones.
pub const DEFAULT_GAP_MS: u32 = 50;
/// Interval between the packets of one event.
pub const PACKET_INTERVAL_MS: u32 = 20;
/// Pause for `,` in a digit string (as RTCDTMFSender).
pub const COMMA_PAUSE_MS: u64 = 2000;
/// Volume written into generated events, in -dBm0.
pub const DEFAULT_VOLUME: u8 = 10;
/// Times the final packet of an event is sent (RFC 4733 §2.5.1.4).
const END_PACKETS: u32 = 3;
const PAUSE: u8 = 0xFF;

/// A tone being sent.
#[derive(Debug, Clone, Copy)]
struct Tone {
    event: u8,
    start_ms: u64,
    ts: u32,
    /// Index of the next packet; packet `i` is due at `start + i * interval`.
    next: u32,
}

/// Generates RFC 4733 packets for digits typed by the client.
///
/// Per digit: a packet every 20 ms with the same timestamp and a growing duration (the first with
/// the marker), each covering the 20 ms that start with it; the packet whose duration reaches the
/// tone length carries the E bit and is sent three times, 20 ms apart (RFC 4733 §2.5.1.4); the next
/// digit starts a gap after the tone ends, and never before the last end packet has gone. A `,`
/// pauses two seconds. Updates that fall due while the caller was late are merged into the latest
/// one; the three end packets are always sent.
///
/// Audio: while [`Self::is_sending`] is true the caller should suppress the audio packets of the
/// stream (keep advancing its timestamps, send nothing), as Asterisk and WebRTC senders do, so the
/// far end does not play the tone on top of the audio (RFC 4733 §2.5.1.2 leaves this choice to the
/// sender).
#[derive(Debug, Clone)]
pub struct DtmfGenerator {
    clock_rate: u32,
    pt: u8,
    tone_ms: u32,
    gap_ms: u32,
    queue: VecDeque<u8>,
    tone: Option<Tone>,
    /// Earliest time the next queued item may start.
    ready_ms: u64,
}

impl DtmfGenerator {
    /// A generator for telephone-event at `clock_rate` with payload type `pt`.
    pub fn new(clock_rate: u32, pt: u8) -> Result<Self> {
        Ok(Self {
            clock_rate: check_rate(clock_rate)?,
            pt: pt & 0x7F,
            tone_ms: DEFAULT_TONE_MS,
            gap_ms: DEFAULT_GAP_MS,
            queue: VecDeque::with_capacity(MAX_QUEUED_DIGITS),
            tone: None,
            ready_ms: 0,
        })
    }

    /// Sets the tone length (40 ms up to what the 16-bit duration holds) and the gap (at least 30 ms),
    /// the bounds RTCDTMFSender uses.
    pub fn with_timing(mut self, tone_ms: u32, gap_ms: u32) -> Self {
        let max_tone = (MAX_DURATION * 1000 / u64::from(self.clock_rate)) as u32;
        self.tone_ms = tone_ms.clamp(40, max_tone.max(40));
        self.gap_ms = gap_ms.max(30);
        self
    }

    /// Queues `digits` (`0-9 * # A-D a-d`, `,` for a pause); nothing is queued if one is invalid.
    pub fn push_digits(&mut self, digits: &str) -> std::result::Result<(), DigitsError> {
        let mut count = 0;
        for c in digits.chars() {
            if c != ',' && event_for_digit(c).is_none() {
                return Err(DigitsError::InvalidDigit(c));
            }
            count += 1;
        }
        if self.queue.len() + count > MAX_QUEUED_DIGITS {
            return Err(DigitsError::TooMany);
        }
        self.queue
            .extend(digits.chars().map(|c| event_for_digit(c).unwrap_or(PAUSE)));
        Ok(())
    }

    /// Drops the queued digits; a tone being sent still ends properly.
    pub fn clear(&mut self) {
        self.queue.clear();
    }

    /// Whether a tone is being sent (the caller suppresses audio meanwhile).
    pub fn is_sending(&self) -> bool {
        self.tone.is_some()
    }

    /// When [`Self::poll`] next has something to do, `None` when idle.
    pub fn next_due(&self) -> Option<u64> {
        match self.tone {
            Some(t) => Some(self.due(&t, t.next)),
            None if self.queue.is_empty() => None,
            None => Some(self.ready_ms),
        }
    }

    /// The packet due at `now_ms`, if any; `out_ts_now` is the output stream's current timestamp,
    /// which becomes the timestamp of a tone that starts now. Call until it returns `None`.
    pub fn poll(&mut self, now_ms: u64, out_ts_now: u32) -> Option<EventPacket> {
        if self.tone.is_none() {
            self.start_next(now_ms, out_ts_now)?;
        }
        let mut tone = self.tone?;
        let first_end = self.tone_packets() - 1;
        let last = first_end + END_PACKETS - 1;
        if now_ms < self.due(&tone, tone.next) {
            return None;
        }
        // Late caller: skip superseded updates, but never past the first end packet.
        let mut index = tone.next;
        while index < first_end && self.due(&tone, index + 1) <= now_ms {
            index += 1;
        }
        let end = index >= first_end;
        let tone_ticks = rescale(u64::from(self.tone_ms), 1000, self.clock_rate);
        let elapsed = rescale(
            u64::from((index + 1) * PACKET_INTERVAL_MS),
            1000,
            self.clock_rate,
        );
        let event = TelephoneEvent {
            event: tone.event,
            end,
            volume: DEFAULT_VOLUME,
            duration: elapsed.min(tone_ticks).min(MAX_DURATION) as u16,
        };
        let packet = EventPacket {
            pt: self.pt,
            marker: tone.next == 0,
            ts: tone.ts,
            payload: event.to_bytes(),
        };
        tone.next = index + 1;
        if index >= last {
            let tone_end = tone.start_ms + u64::from(self.tone_ms) + u64::from(self.gap_ms);
            self.ready_ms = tone_end.max(self.due(&tone, tone.next));
            self.tone = None;
        } else {
            self.tone = Some(tone);
        }
        Some(packet)
    }

    /// Starts the next queued tone if it may start at `now_ms`, handling pauses on the way.
    fn start_next(&mut self, now_ms: u64, out_ts_now: u32) -> Option<()> {
        while now_ms >= self.ready_ms {
            let event = self.queue.pop_front()?;
            if event == PAUSE {
                self.ready_ms = self.ready_ms.max(now_ms) + COMMA_PAUSE_MS;
                continue;
            }
            self.tone = Some(Tone {
                event,
                start_ms: now_ms,
                ts: out_ts_now,
                next: 0,
            });
            return Some(());
        }
        None
    }

    /// Packets until the duration reaches the tone length (the last of them is the first end).
    fn tone_packets(&self) -> u32 {
        self.tone_ms.div_ceil(PACKET_INTERVAL_MS)
    }

    fn due(&self, tone: &Tone, index: u32) -> u64 {
        tone.start_ms + u64::from(index) * u64::from(PACKET_INTERVAL_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 4733 §3.2 Table 7: events 0-15 are 0-9, *, #, A-D.
    #[test]
    fn digits_map_to_event_codes() {
        for (i, c) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(event_for_digit(c), Some(i as u8));
            assert_eq!(digit_for_event(i as u8), Some(c));
        }
        assert_eq!(event_for_digit('d'), Some(15));
        assert_eq!(event_for_digit('E'), None);
        assert_eq!(event_for_digit(','), None);
        assert_eq!(digit_for_event(16), None);
    }

    /// RFC 4733 §2.3: event, E, R (ignored), 6-bit volume, 16-bit duration in network order.
    #[test]
    fn payload_layout() {
        let ev = TelephoneEvent::parse(&[11, 0xC0 | 10, 0x03, 0x20]).unwrap();
        assert_eq!(
            ev,
            TelephoneEvent {
                event: 11,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(ev.digit(), Some('#'));
        assert_eq!(ev.to_bytes(), [11, 0x80 | 10, 0x03, 0x20]);
        let mut buf = [0u8; 6];
        assert_eq!(ev.write(&mut buf), Ok(4));
        assert!(ev.write(&mut [0u8; 3]).is_err());
        assert!(TelephoneEvent::parse(&[1, 2, 3]).is_err());
    }

    #[test]
    fn zero_clock_rates_are_refused() {
        assert!(DtmfRelay::new(0, 8000, 101).is_err());
        assert!(DtmfRelay::new(8000, 0, 101).is_err());
        assert!(DtmfGenerator::new(0, 101).is_err());
        let mut relay = DtmfRelay::new(8000, 8000, 101).unwrap();
        assert!(relay.set_output(0, 101).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Ok(ev) = TelephoneEvent::parse(&bytes) {
                prop_assert_eq!(&ev.to_bytes()[..], &[bytes[0], bytes[1] & 0xBF, bytes[2], bytes[3]][..]);
            }
        }

        #[test]
        fn write_then_parse_round_trips(event: u8, end: bool, volume in 0u8..64, duration: u16) {
            let ev = TelephoneEvent { event, end, volume, duration };
            prop_assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
        }

        /// Arbitrary packets in any order never panic the relay.
        #[test]
        fn relay_never_panics(
            packets in proptest::collection::vec((any::<u32>(), proptest::collection::vec(any::<u8>(), 0..6), any::<u32>()), 0..40),
        ) {
            let mut relay = DtmfRelay::new(48_000, 8_000, 101).unwrap();
            for (ts, payload, out_ts) in packets {
                let input = RtpFields { pt: 110, ts, ..RtpFields::default() };
                let _ = relay.relay(input, &payload, out_ts);
                relay.on_audio(ts.wrapping_add(out_ts));
                let _ = relay.take_detected();
            }
        }
    }
}
