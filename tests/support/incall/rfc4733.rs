//! RTP packets as a test sees them on the wire, and RFC 4733 telephone-events read from them and
//! written into them.

use anyhow::{Result, bail};
use tokio::time::Instant;

/// One RTP packet (RFC 3550 section 5.1), header fields and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rtp {
    /// Payload type.
    pub(crate) pt: u8,
    /// Marker bit.
    pub(crate) marker: bool,
    /// Sequence number.
    pub(crate) seq: u16,
    /// Timestamp.
    pub(crate) ts: u32,
    /// Synchronization source.
    pub(crate) ssrc: u32,
    /// The payload (after CSRCs and the header extension).
    pub(crate) payload: Vec<u8>,
}

impl Rtp {
    /// Parses an RTP packet; `None` for anything else (RTCP, STUN, short or version != 2).
    pub(crate) fn parse(data: &[u8]) -> Option<Rtp> {
        let header = data.first_chunk::<12>()?;
        if header[0] >> 6 != 2 || (200..=207).contains(&header[1]) {
            return None;
        }
        let csrcs = usize::from(header[0] & 0x0f);
        let mut start = 12 + 4 * csrcs;
        if header[0] & 0x10 != 0 {
            let ext = data.get(start..start + 4)?;
            start += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        }
        let mut end = data.len();
        if header[0] & 0x20 != 0 {
            end = end.checked_sub(usize::from(*data.last()?))?;
        }
        Some(Rtp {
            pt: header[1] & 0x7f,
            marker: header[1] & 0x80 != 0,
            seq: u16::from_be_bytes([header[2], header[3]]),
            ts: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
            ssrc: u32::from_be_bytes([header[8], header[9], header[10], header[11]]),
            payload: data.get(start..end)?.to_vec(),
        })
    }

    /// The packet's bytes (no CSRC, no extension, no padding).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.payload.len());
        out.push(0x80);
        out.push(self.pt | if self.marker { 0x80 } else { 0 });
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ts.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }
}

/// The 4-byte telephone-event payload (RFC 4733 section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    /// Event code: 0-9, 10 = `*`, 11 = `#`, 12-15 = A-D.
    pub(crate) code: u8,
    /// The E bit: the event has ended.
    pub(crate) end: bool,
    /// Volume in -dBm0 (0-63).
    pub(crate) volume: u8,
    /// Duration so far, in timestamp units.
    pub(crate) duration: u16,
}

impl Event {
    /// Reads the payload; fails on fewer than 4 bytes.
    pub(crate) fn parse(payload: &[u8]) -> Result<Event> {
        let Some(b) = payload.first_chunk::<4>() else {
            bail!("telephone-event payload of {} bytes, want 4", payload.len());
        };
        Ok(Event {
            code: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3f,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The payload's bytes (R bit clear).
    pub(crate) fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.code,
            if self.end { 0x80 } else { 0 } | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// The event code of a DTMF digit (RFC 4733 section 3.2, table 7).
pub(crate) fn code_for_digit(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => u8::try_from(digit.to_digit(10)?).ok(),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(12 + (digit as u8 - b'A')),
        _ => None,
    }
}

/// The digit of an event code.
pub(crate) fn digit_for_code(code: u8) -> Option<char> {
    "0123456789*#ABCD".chars().nth(usize::from(code))
}

/// Every packet of one event as received: RFC 4733 section 2.5.1 keeps one RTP timestamp (the
/// event's start) for all of them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReceivedEvent {
    /// The digit.
    pub(crate) digit: Option<char>,
    /// The RTP timestamp shared by its packets.
    pub(crate) ts: u32,
    /// Packets in all, end packets included.
    pub(crate) packets: usize,
    /// Packets with the E bit.
    pub(crate) end_packets: usize,
    /// The first packet carried the marker bit (section 2.5.1.1).
    pub(crate) marker_first: bool,
    /// The largest duration seen, in timestamp units.
    pub(crate) duration: u16,
    /// The duration never decreased from one packet to the next.
    pub(crate) monotonic: bool,
    /// Milliseconds from the first packet of the capture to this event's first packet.
    pub(crate) first_at_ms: f64,
}

impl ReceivedEvent {
    /// Its duration in milliseconds at `clock_rate`.
    pub(crate) fn duration_ms(&self, clock_rate: u32) -> f64 {
        f64::from(self.duration) * 1000.0 / f64::from(clock_rate)
    }
}

/// Groups the packets of payload type `pt` into events by RTP timestamp, in arrival order.
pub(crate) fn events(packets: &[(Instant, Rtp)], pt: u8) -> Result<Vec<ReceivedEvent>> {
    let origin = packets.first().map(|(at, _)| *at);
    let mut out: Vec<ReceivedEvent> = Vec::new();
    for (at, rtp) in packets.iter().filter(|(_, p)| p.pt == pt) {
        let ev = Event::parse(&rtp.payload)?;
        let first_at_ms = origin.map_or(0.0, |o| at.duration_since(o).as_secs_f64() * 1000.0);
        match out.iter_mut().find(|e| e.ts == rtp.ts) {
            Some(e) => {
                e.packets += 1;
                e.end_packets += usize::from(ev.end);
                e.monotonic &= ev.duration >= e.duration;
                e.duration = e.duration.max(ev.duration);
                if digit_for_code(ev.code) != e.digit {
                    bail!(
                        "event code changed within timestamp {}: {:?} then {}",
                        rtp.ts,
                        e.digit,
                        ev.code
                    );
                }
            }
            None => out.push(ReceivedEvent {
                digit: digit_for_code(ev.code),
                ts: rtp.ts,
                packets: 1,
                end_packets: usize::from(ev.end),
                marker_first: rtp.marker,
                duration: ev.duration,
                monotonic: true,
                first_at_ms,
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4733 section 2.3 layout, and an RTP packet round trip.
    #[test]
    fn event_and_packet_round_trip() {
        let ev = Event {
            code: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(ev.to_bytes(), [11, 0x8a, 0x03, 0x20]);
        assert_eq!(Event::parse(&ev.to_bytes()).expect("parse"), ev);
        let rtp = Rtp {
            pt: 101,
            marker: true,
            seq: 7,
            ts: 160,
            ssrc: 0x1234_5678,
            payload: ev.to_bytes().to_vec(),
        };
        assert_eq!(Rtp::parse(&rtp.to_bytes()), Some(rtp));
        assert_eq!(code_for_digit('#'), Some(11));
        assert_eq!(code_for_digit('D'), Some(15));
        assert_eq!(digit_for_code(10), Some('*'));
    }
}
