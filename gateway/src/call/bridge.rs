//! The per-call media bridge between the browser leg (decrypted RTP) and the SIP leg (plain RTP).
//! Sans-I/O: packets in, packets out, into caller-provided buffers.
//!
//! Passthrough when both legs use the same codec (SSRC/seq/timestamp/PT rewrite only), Opus <-> G.711
//! transcoding at 8 kHz in 20 ms frames otherwise.

use gateway_media::dtmf::{DigitsError, EventPacket};
use gateway_media::rtp::{self, RtpFields, RtpHeader};
use gateway_media::{
    DtmfGenerator, DtmfRelay, G711Law, G711ToOpus, OpusToG711, Packetizer, StreamRewriter,
};

/// How the two legs are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeMode {
    /// Same codec on both legs.
    Passthrough,
    /// Opus toward the browser, G.711 with this law toward SIP.
    Transcode(G711Law),
}

/// Per-leg identity the bridge writes.
#[derive(Debug, Clone, Copy)]
pub struct LegIds {
    /// Our SSRC on that leg.
    pub ssrc: u32,
    /// The payload type of the audio codec on that leg.
    pub pt: u8,
    /// First sequence number we use.
    pub seq: u16,
    /// First timestamp we use.
    pub ts: u32,
}

enum Direction {
    Passthrough(StreamRewriter),
    OpusToG711 {
        codec: Box<OpusToG711>,
        out: Packetizer,
    },
    G711ToOpus {
        codec: Box<G711ToOpus>,
        out: Packetizer,
    },
}

/// The telephone-event (RFC 4733) payload type and clock rate negotiated on each leg.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DtmfSetup {
    /// The browser leg's telephone-event, if its answer carries one.
    pub browser: Option<(u8, u32)>,
    /// The SIP leg's telephone-event, if Asterisk negotiated one.
    pub sip: Option<(u8, u32)>,
}

/// Why digits from the client cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum DtmfError {
    /// The SIP side negotiated no telephone-event: use SIP INFO instead.
    #[error("the SIP side negotiated no telephone-event")]
    NoTelephoneEvent,
    /// A character is not a DTMF digit, or too many are queued.
    #[error(transparent)]
    Digits(#[from] DigitsError),
}

/// The bridge of one call.
pub struct Bridge {
    mode: BridgeMode,
    browser_pt: u8,
    sip_pt: u8,
    sip_rate: u32,
    to_sip: Direction,
    to_browser: Direction,
    dtmf: DtmfSetup,
    /// Browser events toward SIP (relay) or only detected (when SIP has none: SIP INFO).
    dtmf_to_sip: Option<DtmfRelay>,
    /// Phone events toward the browser, and detected for the client's `dtmf` message.
    dtmf_to_browser: Option<DtmfRelay>,
    /// Digits the client asked to send, as RFC 4733 packets toward SIP.
    generator: Option<DtmfGenerator>,
    /// When the generator started playing (ms), to resume the audio timeline after it.
    generating_since: Option<u64>,
    browser_digits: Vec<char>,
    phone_digits: Vec<char>,
    scratch: Vec<u8>,
}

/// Opus frames are 20 ms: 960 ticks of the 48 kHz RTP clock.
const OPUS_FRAME_TICKS: u32 = 960;

impl Bridge {
    /// Creates the bridge; fails only if libopus cannot create its coder.
    pub fn new(
        mode: BridgeMode,
        browser: LegIds,
        sip: LegIds,
        dtmf: DtmfSetup,
    ) -> Result<Self, gateway_media::Error> {
        let sip_rate = match mode {
            BridgeMode::Transcode(_) => 8000,
            BridgeMode::Passthrough => dtmf.sip.map_or(8000, |t| t.1),
        };
        let (to_sip, to_browser) = match mode {
            BridgeMode::Passthrough => (
                Direction::Passthrough(StreamRewriter::new(sip.ssrc, sip.seq, sip.ts)),
                Direction::Passthrough(StreamRewriter::new(browser.ssrc, browser.seq, browser.ts)),
            ),
            BridgeMode::Transcode(law) => (
                Direction::OpusToG711 {
                    codec: Box::new(OpusToG711::new(law)?),
                    out: Packetizer::new(sip.pt, sip.ssrc, sip.seq, sip.ts),
                },
                Direction::G711ToOpus {
                    codec: Box::new(G711ToOpus::new(law)?),
                    out: Packetizer::new(browser.pt, browser.ssrc, browser.seq, browser.ts),
                },
            ),
        };
        // Browser events: relayed when SIP has telephone-event, else only detected (-> SIP INFO).
        let dtmf_to_sip = match (dtmf.browser, dtmf.sip) {
            (Some((_, in_rate)), Some((pt, out_rate))) => {
                Some(DtmfRelay::new(in_rate, out_rate, pt)?)
            }
            (Some((_, in_rate)), None) => Some(DtmfRelay::new(in_rate, in_rate, 0)?),
            _ => None,
        };
        let dtmf_to_browser = match (dtmf.sip, dtmf.browser) {
            (Some((_, in_rate)), Some((pt, out_rate))) => {
                Some(DtmfRelay::new(in_rate, out_rate, pt)?)
            }
            (Some((_, in_rate)), None) => Some(DtmfRelay::new(in_rate, in_rate, 0)?),
            _ => None,
        };
        let generator = match dtmf.sip {
            Some((pt, rate)) => Some(DtmfGenerator::new(rate, pt)?),
            None => None,
        };
        Ok(Self {
            mode,
            browser_pt: browser.pt,
            sip_pt: sip.pt,
            sip_rate,
            to_sip,
            to_browser,
            dtmf,
            dtmf_to_sip,
            dtmf_to_browser,
            generator,
            generating_since: None,
            browser_digits: Vec::new(),
            phone_digits: Vec::new(),
            scratch: vec![0u8; 4096],
        })
    }

    /// The SIP side changed its payload type for the same codec (re-INVITE), or its telephone-event.
    pub fn set_sip_pt(
        &mut self,
        pt: u8,
        te: Option<(u8, u32)>,
    ) -> Result<(), gateway_media::Error> {
        self.sip_pt = pt;
        if let (Some((te_pt, rate)), Some(relay)) = (te, self.dtmf_to_sip.as_mut())
            && self.dtmf.sip.is_some()
        {
            relay.set_output(rate, te_pt)?;
        }
        if let Some((te_pt, rate)) = te
            && self.dtmf.sip.is_some()
            && self.dtmf.sip != te
        {
            self.dtmf.sip = te;
            // The digit generator writes the telephone-event payload type into every packet.
            self.generator = Some(DtmfGenerator::new(rate, te_pt)?);
        }
        self.set_transcoded_sip_pt(pt);
        Ok(())
    }

    /// Transcoded audio toward SIP is numbered by a packetizer that carries its own payload type.
    fn set_transcoded_sip_pt(&mut self, pt: u8) {
        if let Direction::OpusToG711 { out, .. } = &mut self.to_sip {
            out.pt = pt;
        }
    }

    /// The SIP side moved to the other G.711 law while the browser stays on Opus (transcoding
    /// only): new coders, same packet numbering, so the phone sees one continuous stream.
    pub fn set_sip_law(&mut self, law: G711Law, pt: u8) -> Result<(), gateway_media::Error> {
        if let Direction::OpusToG711 { codec, .. } = &mut self.to_sip {
            **codec = OpusToG711::new(law)?;
        }
        if let Direction::G711ToOpus { codec, .. } = &mut self.to_browser {
            **codec = G711ToOpus::new(law)?;
        }
        self.mode = BridgeMode::Transcode(law);
        self.sip_pt = pt;
        self.set_transcoded_sip_pt(pt);
        Ok(())
    }

    /// Queues digits from the client as RFC 4733 packets toward SIP.
    pub fn send_digits(&mut self, digits: &str) -> Result<(), DtmfError> {
        let g = self.generator.as_mut().ok_or(DtmfError::NoTelephoneEvent)?;
        g.push_digits(digits)?;
        Ok(())
    }

    /// When the next generated DTMF packet is due (ms on the caller's clock).
    pub fn next_dtmf_due(&self) -> Option<u64> {
        self.generator.as_ref().and_then(DtmfGenerator::next_due)
    }

    /// The next generated DTMF packet toward SIP, written into `out`; 0 when none is due.
    pub fn poll_dtmf(&mut self, now_ms: u64, out: &mut [u8]) -> usize {
        let Some(g) = self.generator.as_mut() else {
            return 0;
        };
        let out_ts_now = match &self.to_sip {
            Direction::Passthrough(rw) => {
                let (_, ts) = rw.last_out();
                let since = self.generating_since.unwrap_or(now_ms);
                ts.wrapping_add(ticks(now_ms.saturating_sub(since), self.sip_rate))
            }
            Direction::OpusToG711 { out, .. } => out.ts,
            Direction::G711ToOpus { .. } => return 0,
        };
        let Some(ev) = g.poll(now_ms, out_ts_now) else {
            return 0;
        };
        self.generating_since.get_or_insert(now_ms);
        let f = self.number_for_sip(&ev);
        write_packet(&f, &ev.payload, out)
    }

    /// Numbers an event packet on the SIP leg's stream.
    fn number_for_sip(&mut self, ev: &EventPacket) -> RtpFields {
        match &mut self.to_sip {
            Direction::Passthrough(rw) => rw.insert(ev.pt, ev.ts, ev.marker),
            Direction::OpusToG711 { out, .. } | Direction::G711ToOpus { out, .. } => {
                let mut f = out.next(0, ev.marker);
                f.ts = ev.ts;
                f.pt = ev.pt;
                f
            }
        }
    }

    /// A digit the phone sent (RFC 4733), once per digit, for the client's `dtmf` message.
    pub fn take_phone_digit(&mut self) -> Option<char> {
        (!self.phone_digits.is_empty()).then(|| self.phone_digits.remove(0))
    }

    /// A digit the browser sent while SIP has no telephone-event: the caller sends it as SIP INFO.
    pub fn take_browser_digit(&mut self) -> Option<char> {
        (!self.browser_digits.is_empty()).then(|| self.browser_digits.remove(0))
    }

    /// A browser telephone-event packet toward SIP.
    fn browser_event_to_sip(&mut self, input: RtpFields, payload: &[u8], out: &mut [u8]) -> usize {
        let sip_has_te = self.dtmf.sip.is_some();
        let out_ts_now = match &self.to_sip {
            Direction::Passthrough(rw) => rw.last_out().1,
            Direction::OpusToG711 { out, .. } | Direction::G711ToOpus { out, .. } => out.ts,
        };
        let Some(relay) = self.dtmf_to_sip.as_mut() else {
            return 0;
        };
        let ev = relay.relay(input, payload, out_ts_now);
        if let Some(d) = relay.take_detected()
            && !sip_has_te
        {
            self.browser_digits.push(d.digit);
        }
        let Some(ev) = ev.filter(|_| sip_has_te) else {
            return 0;
        };
        let f = match &mut self.to_sip {
            // Same clock on both legs: the browser's own numbering carries over.
            Direction::Passthrough(rw) => {
                let mut f = rw.rewrite(input);
                f.pt = ev.pt;
                f.ts = ev.ts;
                f.marker = ev.marker;
                f
            }
            _ => self.number_for_sip(&ev),
        };
        write_packet(&f, &ev.payload, out)
    }

    /// The bridge's mode.
    pub fn mode(&self) -> BridgeMode {
        self.mode
    }

    /// A browser packet (already decrypted) to the SIP leg: writes a complete RTP packet into
    /// `out` and returns its length, or 0 when nothing is to be sent (other payload types, or a
    /// packet the transcoder could not decode).
    pub fn browser_to_sip(
        &mut self,
        now_ms: u64,
        input: RtpFields,
        payload: &[u8],
        out: &mut [u8],
    ) -> usize {
        if self.dtmf.browser.is_some_and(|(pt, _)| pt == input.pt) {
            return self.browser_event_to_sip(input, payload, out);
        }
        if input.pt != self.browser_pt {
            return 0;
        }
        // RFC 4733 §2.5.1.2: no audio while a generated event plays; the timeline goes on.
        if self
            .generator
            .as_ref()
            .is_some_and(DtmfGenerator::is_sending)
        {
            if let Direction::OpusToG711 { out, .. } = &mut self.to_sip {
                out.skip(160);
            }
            return 0;
        }
        let resume_gap = self
            .generating_since
            .take()
            .map(|since| ticks(now_ms.saturating_sub(since), self.sip_rate));
        match &mut self.to_sip {
            Direction::Passthrough(rw) => {
                let mut f = match resume_gap {
                    Some(gap) => rw.rewrite_with_gap(input, gap),
                    None => rw.rewrite(input),
                };
                f.pt = self.sip_pt;
                write_packet(&f, payload, out)
            }
            Direction::OpusToG711 { codec, out: pkt } => {
                let n = match codec.transcode(payload, &mut self.scratch) {
                    Ok(n) => n,
                    Err(_) => return 0,
                };
                if n == 0 {
                    return 0;
                }
                let f = pkt.next(n as u32, false);
                write_packet(&f, &self.scratch[..n], out)
            }
            Direction::G711ToOpus { .. } => 0,
        }
    }

    /// A SIP-leg RTP packet to the browser: calls `emit(fields, payload)` for each packet to send
    /// (none for foreign payload types, several when a long G.711 packet yields several Opus frames).
    pub fn sip_to_browser(&mut self, packet: &[u8], mut emit: impl FnMut(RtpFields, &[u8])) {
        let Ok(header) = RtpHeader::parse(packet) else {
            return;
        };
        let input = header.fields();
        let payload = header.payload(packet);
        if self.dtmf.sip.is_some_and(|(pt, _)| pt == input.pt) {
            self.sip_event_to_browser(input, payload, &mut emit);
            return;
        }
        if input.pt != self.sip_pt {
            return;
        }
        if let Some(relay) = self.dtmf_to_browser.as_mut() {
            relay.on_audio(input.ts);
            if let Some(d) = relay.take_detected() {
                self.phone_digits.push(d.digit);
            }
        }
        match &mut self.to_browser {
            Direction::Passthrough(rw) => {
                let mut f = rw.rewrite(input);
                f.pt = self.browser_pt;
                emit(f, payload);
            }
            Direction::G711ToOpus { codec, out: pkt } => {
                codec.push(payload);
                while let Ok(Some(n)) = codec.pop_frame(&mut self.scratch) {
                    let f = pkt.next(OPUS_FRAME_TICKS, false);
                    emit(f, &self.scratch[..n]);
                }
            }
            Direction::OpusToG711 { .. } => {}
        }
    }
}

impl Bridge {
    /// A phone telephone-event packet toward the browser, and its digit for the client.
    fn sip_event_to_browser(
        &mut self,
        input: RtpFields,
        payload: &[u8],
        emit: &mut impl FnMut(RtpFields, &[u8]),
    ) {
        let browser_has_te = self.dtmf.browser.is_some();
        let out_ts_now = match &self.to_browser {
            Direction::Passthrough(rw) => rw.last_out().1,
            Direction::OpusToG711 { out, .. } | Direction::G711ToOpus { out, .. } => out.ts,
        };
        let Some(relay) = self.dtmf_to_browser.as_mut() else {
            return;
        };
        let ev = relay.relay(input, payload, out_ts_now);
        if let Some(d) = relay.take_detected() {
            self.phone_digits.push(d.digit);
        }
        let Some(ev) = ev.filter(|_| browser_has_te) else {
            return;
        };
        let f = match &mut self.to_browser {
            Direction::Passthrough(rw) => {
                let mut f = rw.rewrite(input);
                f.pt = ev.pt;
                f.ts = ev.ts;
                f.marker = ev.marker;
                f
            }
            Direction::OpusToG711 { out, .. } | Direction::G711ToOpus { out, .. } => {
                let mut f = out.next(0, ev.marker);
                f.ts = ev.ts;
                f.pt = ev.pt;
                f
            }
        };
        emit(f, &ev.payload);
    }
}

/// Milliseconds in RTP clock ticks.
fn ticks(ms: u64, rate: u32) -> u32 {
    (ms * u64::from(rate) / 1000) as u32
}

fn write_packet(f: &RtpFields, payload: &[u8], out: &mut [u8]) -> usize {
    let Ok(h) = rtp::write_header(out, f) else {
        return 0;
    };
    let end = h + payload.len();
    if end > out.len() {
        return 0;
    }
    out[h..end].copy_from_slice(payload);
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ssrc: u32, pt: u8) -> LegIds {
        LegIds {
            ssrc,
            pt,
            seq: 1000,
            ts: 5000,
        }
    }

    fn sip_packet(seq: u16, ts: u32, ssrc: u32, pt: u8, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; 12 + payload.len()];
        let f = RtpFields {
            pt,
            marker: false,
            seq,
            ts,
            ssrc,
        };
        let n = write_packet(&f, payload, &mut buf);
        buf.truncate(n);
        buf
    }

    /// Passthrough rewrites SSRC, sequence, timestamp and PT, and keeps the payload intact.
    #[test]
    fn passthrough_rewrites_both_ways() {
        let mut b = Bridge::new(
            BridgeMode::Passthrough,
            ids(0xB0B, 0),
            ids(0x51b, 0),
            DtmfSetup::default(),
        )
        .unwrap();
        let mut out = [0u8; 1500];
        let payload = [0x55u8; 160];
        let input = RtpFields {
            pt: 0,
            marker: true,
            seq: 40000,
            ts: 123,
            ssrc: 0xdead,
        };
        let n = b.browser_to_sip(0, input, &payload, &mut out);
        let h = RtpHeader::parse(&out[..n]).unwrap();
        assert_eq!((h.ssrc, h.seq, h.pt), (0x51b, 1000, 0));
        assert_eq!(h.payload(&out[..n]), &payload[..]);
        let n2 = b.browser_to_sip(
            0,
            RtpFields {
                seq: 40001,
                ts: 283,
                ..input
            },
            &payload,
            &mut out,
        );
        let h2 = RtpHeader::parse(&out[..n2]).unwrap();
        assert_eq!(h2.seq, 1001);
        assert_eq!(h2.timestamp.wrapping_sub(h.timestamp), 160);

        let mut seen = Vec::new();
        b.sip_to_browser(&sip_packet(7, 9, 0xfeed, 0, &payload), |f, p| {
            seen.push((f, p.len()))
        });
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (seen[0].0.ssrc, seen[0].0.seq, seen[0].0.pt),
            (0xB0B, 1000, 0)
        );
        // Other payload types (e.g. comfort noise, PT 13) are not forwarded.
        b.sip_to_browser(&sip_packet(8, 169, 0xfeed, 13, &[1]), |_, _| {
            panic!("forwarded CN")
        });
        assert_eq!(
            b.browser_to_sip(0, RtpFields { pt: 126, ..input }, &payload, &mut out),
            0
        );
    }

    /// Transcoding: G.711 from SIP becomes Opus frames for the browser (960 ticks each), and Opus
    /// from the browser becomes 160-byte G.711 packets.
    #[test]
    fn transcoding_both_ways() {
        let mut b = Bridge::new(
            BridgeMode::Transcode(G711Law::Ulaw),
            ids(1, 111),
            ids(2, 0),
            DtmfSetup::default(),
        )
        .unwrap();
        let mut frames = Vec::new();
        for i in 0..3u16 {
            let pkt = sip_packet(i, u32::from(i) * 160, 9, 0, &[0xFFu8; 160]);
            b.sip_to_browser(&pkt, |f, p| frames.push((f, p.to_vec())));
        }
        assert_eq!(frames.len(), 3);
        assert!(frames.iter().all(|(f, _)| f.pt == 111 && f.ssrc == 1));
        assert_eq!(frames[1].0.ts.wrapping_sub(frames[0].0.ts), 960);

        let mut out = [0u8; 1500];
        let input = RtpFields {
            pt: 111,
            marker: false,
            seq: 1,
            ts: 0,
            ssrc: 77,
        };
        let n = b.browser_to_sip(0, input, &frames[0].1, &mut out);
        assert_eq!(n, 12 + 160);
        let h = RtpHeader::parse(&out[..n]).unwrap();
        assert_eq!((h.pt, h.ssrc), (0, 2));
    }

    fn te_payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
        gateway_media::TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    fn dtmf_bridge() -> Bridge {
        Bridge::new(
            BridgeMode::Passthrough,
            ids(0xB0B, 0),
            ids(0x51b, 0),
            DtmfSetup {
                browser: Some((126, 8000)),
                sip: Some((101, 8000)),
            },
        )
        .unwrap()
    }

    /// RFC 4733: the browser's telephone-event (126/8000) reaches the SIP side at Asterisk's 101,
    /// in the same sequence space as the audio.
    #[test]
    fn browser_dtmf_is_relayed_with_the_sip_payload_type() {
        let mut b = dtmf_bridge();
        let mut out = [0u8; 1500];
        let audio = RtpFields {
            pt: 0,
            marker: false,
            seq: 10,
            ts: 1600,
            ssrc: 9,
        };
        b.browser_to_sip(0, audio, &[0x55; 160], &mut out);
        let ev = RtpFields {
            pt: 126,
            marker: true,
            seq: 11,
            ts: 1760,
            ssrc: 9,
        };
        let n = b.browser_to_sip(0, ev, &te_payload(5, false, 160), &mut out);
        let h = RtpHeader::parse(&out[..n]).unwrap();
        assert_eq!((h.pt, h.seq, h.marker), (101, 1001, true));
        let p = gateway_media::TelephoneEvent::parse(h.payload(&out[..n])).unwrap();
        assert_eq!((p.event, p.duration), (5, 160));
    }

    /// Phone digits are relayed to the browser's telephone-event and reported once each.
    #[test]
    fn phone_dtmf_reaches_the_browser_and_is_reported_once() {
        let mut b = dtmf_bridge();
        let mut sent = Vec::new();
        b.sip_to_browser(&sip_packet(1, 160, 7, 0, &[0xFF; 160]), |f, _| {
            sent.push(f.pt)
        });
        for (i, (end, dur)) in [
            (false, 160u16),
            (false, 320),
            (true, 480),
            (true, 480),
            (true, 480),
        ]
        .into_iter()
        .enumerate()
        {
            let pkt = sip_packet(2 + i as u16, 320, 7, 101, &te_payload(11, end, dur));
            b.sip_to_browser(&pkt, |f, _| sent.push(f.pt));
        }
        assert_eq!(sent, vec![0, 126, 126, 126, 126, 126]);
        assert_eq!(b.take_phone_digit(), Some('#'));
        assert_eq!(b.take_phone_digit(), None);
    }

    /// Client digits become RFC 4733 packets inserted in the SIP stream: consecutive sequence
    /// numbers, audio suppressed while they play, and the audio resumes right after.
    #[test]
    fn generated_digits_are_inserted_into_the_sip_stream() {
        let mut b = dtmf_bridge();
        let mut out = [0u8; 1500];
        let audio = |seq: u16| RtpFields {
            pt: 0,
            marker: false,
            seq,
            ts: u32::from(seq) * 160,
            ssrc: 9,
        };
        b.browser_to_sip(0, audio(1), &[0x55; 160], &mut out);
        b.send_digits("1").unwrap();
        let mut seqs = Vec::new();
        let mut now = 0;
        while let Some(due) = b.next_dtmf_due() {
            now = due;
            let n = b.poll_dtmf(now, &mut out);
            if n > 0 {
                let h = RtpHeader::parse(&out[..n]).unwrap();
                assert_eq!(h.pt, 101);
                seqs.push(h.seq);
                // Browser audio is not forwarded while the event plays.
                if b.next_dtmf_due().is_some() {
                    let a = audio(2 + seqs.len() as u16);
                    assert_eq!(b.browser_to_sip(now, a, &[0x55; 160], &mut out), 0);
                }
            }
        }
        assert!(seqs.len() >= 7, "{seqs:?}");
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        let n = b.browser_to_sip(now + 20, audio(40), &[0x55; 160], &mut out);
        let h = RtpHeader::parse(&out[..n]).unwrap();
        assert_eq!((h.pt, h.seq), (0, seqs[seqs.len() - 1] + 1));
        assert!(b.send_digits("x").is_err());
    }

    /// Found by the `rtp_bridge` fuzz target: after a re-INVITE changes the SIP side's payload
    /// types, transcoded audio and generated digits must carry the new ones.
    #[test]
    fn payload_type_changes_reach_transcoded_audio_and_generated_digits() {
        let mut b = Bridge::new(
            BridgeMode::Transcode(G711Law::Alaw),
            ids(1, 111),
            ids(2, 8),
            DtmfSetup {
                browser: Some((110, 48000)),
                sip: Some((101, 8000)),
            },
        )
        .unwrap();
        b.set_sip_law(G711Law::Ulaw, 0).unwrap();
        b.set_sip_pt(0, Some((96, 8000))).unwrap();
        let mut frames = Vec::new();
        b.sip_to_browser(&sip_packet(1, 0, 9, 0, &[0xFFu8; 160]), |_, p| {
            frames.push(p.to_vec())
        });
        let mut out = [0u8; 1500];
        let input = RtpFields {
            pt: 111,
            marker: false,
            seq: 1,
            ts: 0,
            ssrc: 77,
        };
        let n = b.browser_to_sip(0, input, &frames[0], &mut out);
        assert_eq!(RtpHeader::parse(&out[..n]).unwrap().pt, 0);
        b.send_digits("5").unwrap();
        let due = b.next_dtmf_due().unwrap();
        let n = b.poll_dtmf(due, &mut out);
        assert_eq!(RtpHeader::parse(&out[..n]).unwrap().pt, 96);
    }
}
