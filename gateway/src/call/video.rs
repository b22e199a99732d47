//! A call's video (issue 10): the SIP side's video sockets, forwarding both ways with SSRC,
//! sequence number, timestamp and payload-type rewriting (no transcoding), keyframe requests
//! relayed between the legs (PLI, FIR, SIP INFO `picture_fast_update`) or made by the gateway
//! itself (video start, ICE restart), and the bitrate cap told to the browser (REMB).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use gateway_media::rtp::{RtpFields, RtpHeader, write_header};
use gateway_media::{PortLease, ReceiveStats, StreamRewriter, feedback};
use gateway_sip::sdp::{Direction, RtcpFeedback, VideoLine, VideoPlan};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::sip_peer::{Accepted, SipPeer, SipSource};
use crate::metrics::LegCounts;
use crate::webrtc::WebrtcLeg;

/// The shortest time between two keyframe requests toward one side: a burst of PLIs (a browser
/// asks on every undecodable frame) must not become a burst of keyframes, which cost bandwidth
/// and cause the very loss they repair.
pub(crate) const KEYFRAME_MIN_INTERVAL: Duration = Duration::from_millis(300);
/// When the gateway asks both sides for a keyframe after video starts (ICE connected) or an
/// ICE restart: at once, and once more in case the first request or keyframe was lost.
pub(crate) const KEYFRAME_START: [Duration; 2] = [Duration::ZERO, Duration::from_secs(1)];
/// How soon a keyframe request that could not go out is tried again.
pub(crate) const KEYFRAME_RETRY: Duration = Duration::from_millis(50);
/// How many times (each [`KEYFRAME_RETRY`] apart) before giving that request up.
pub(crate) const KEYFRAME_RETRIES: u32 = 40;
/// How often the browser is told the bitrate cap (REMB).
const REMB_INTERVAL: Duration = Duration::from_secs(1);
/// A video frame at 30 frames/s in the 90 kHz RTP clock: the timestamp step on a source change.
const FRAME_TICKS: u32 = 3000;

/// The SIP side's video RTP/RTCP sockets of a call; the lease returns the ports at the end.
pub(crate) struct VideoSockets {
    pub(crate) rtp: UdpSocket,
    pub(crate) rtcp: UdpSocket,
    pub(crate) buf_rtp: Vec<u8>,
    pub(crate) buf_rtcp: Vec<u8>,
    pub(crate) _lease: PortLease,
}

impl VideoSockets {
    /// The SIP-side video RTP port (for our SDP).
    pub(crate) fn rtp_port(&self) -> u16 {
        self.rtp.local_addr().map(|a| a.port()).unwrap_or(0)
    }
}

/// Receives on a video socket into its buffer, or waits forever when the call has none.
pub(crate) async fn recv(
    io: Option<(&UdpSocket, &mut Vec<u8>)>,
) -> std::io::Result<(usize, SocketAddr)> {
    match io {
        Some((sock, buf)) => sock.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// Keyframe requests toward one side: wanted, and when the last one went out.
#[derive(Debug, Default, Clone, Copy)]
struct Toward {
    wanted: bool,
    last: Option<Instant>,
}

impl Toward {
    fn due(&self, now: Instant) -> bool {
        self.wanted && self.last.is_none_or(|l| now >= l + KEYFRAME_MIN_INTERVAL)
    }

    fn deadline(&self, now: Instant) -> Option<Instant> {
        if !self.wanted {
            return None;
        }
        Some(self.last.map_or(now, |l| l + KEYFRAME_MIN_INTERVAL))
    }
}

/// When keyframe requests go out, toward each side (sans-I/O: it is given the time).
#[derive(Debug, Default)]
pub(crate) struct KeyframePacer {
    to_sip: Toward,
    to_browser: Toward,
    /// The gateway's own requests still to come (both sides), earliest first.
    scheduled: Vec<Instant>,
    /// Retries of the request toward the browser while its video SSRC is unknown.
    browser_retries: u32,
}

/// What is due now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyframesDue {
    /// Ask the SIP side for a keyframe.
    pub(crate) to_sip: bool,
    /// Ask the browser for a keyframe.
    pub(crate) to_browser: bool,
    /// How many of the gateway's own scheduled requests came due.
    pub(crate) own: u32,
}

impl KeyframePacer {
    /// Video (re)starts: the gateway asks both sides at [`KEYFRAME_START`] from `now`.
    pub(crate) fn start(&mut self, now: Instant) {
        self.scheduled = KEYFRAME_START.iter().map(|d| now + *d).collect();
        self.browser_retries = 0;
    }

    /// The browser asked for a keyframe of the video it receives: the SIP side is asked.
    pub(crate) fn browser_asked(&mut self) {
        self.to_sip.wanted = true;
    }

    /// The SIP side asked for a keyframe (or starts receiving again): the browser is asked.
    pub(crate) fn sip_asked(&mut self) {
        self.to_browser.wanted = true;
        self.browser_retries = 0;
    }

    /// The requests due at `now`; each one reported is taken as sent.
    pub(crate) fn poll(&mut self, now: Instant) -> KeyframesDue {
        let before = self.scheduled.len();
        self.scheduled.retain(|t| *t > now);
        let own = (before - self.scheduled.len()) as u32;
        if own > 0 {
            self.to_sip.wanted = true;
            self.to_browser.wanted = true;
        }
        let mut due = KeyframesDue {
            own,
            ..KeyframesDue::default()
        };
        for (side, flag) in [
            (&mut self.to_sip, &mut due.to_sip),
            (&mut self.to_browser, &mut due.to_browser),
        ] {
            if side.due(now) {
                *side = Toward {
                    wanted: false,
                    last: Some(now),
                };
                *flag = true;
            }
        }
        due
    }

    /// A request toward the browser could not go out at `now` (its video SSRC is unknown until
    /// its first video packet): it is tried again [`KEYFRAME_RETRY`] later, up to
    /// [`KEYFRAME_RETRIES`] times (a browser that sends no video never gets one; the next
    /// request starts over).
    pub(crate) fn browser_retry(&mut self, now: Instant) {
        if self.browser_retries >= KEYFRAME_RETRIES {
            return;
        }
        self.browser_retries += 1;
        self.to_browser = Toward {
            wanted: true,
            last: Some(now + KEYFRAME_RETRY - KEYFRAME_MIN_INTERVAL),
        };
    }

    /// The next time something may come due, as seen at `now`.
    pub(crate) fn next_deadline(&self, now: Instant) -> Option<Instant> {
        [
            self.scheduled.first().copied(),
            self.to_sip.deadline(now),
            self.to_browser.deadline(now),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// One call's video stream across the gateway.
pub(crate) struct VideoPath {
    plan: VideoPlan,
    /// Where the SIP side's video goes and comes from (its own latch, RFC 4961).
    peer: SipPeer,
    to_sip: StreamRewriter,
    to_browser: StreamRewriter,
    /// The SIP side's video SSRC, once seen: PLI and FIR name it.
    sip_peer_ssrc: Option<u32>,
    fir_seq: u8,
    pub(crate) pacer: KeyframePacer,
    remb_due: Option<Instant>,
    max_bps: u64,
    browser_rx: ReceiveStats,
    sip_rx: ReceiveStats,
    /// Packets since the last flush into the metrics: (webrtc, sip).
    pub(crate) counts: (LegCounts, LegCounts),
    epoch: Instant,
    /// The SIP side removed video (re-INVITE with port 0): nothing flows either way.
    removed: bool,
    /// The call's CNAME, in our RTCP toward the SIP side.
    cname: [u8; 16],
    /// Since when the browser's video is not forwarded to the SIP side (video removed, SIP side
    /// not receiving): the stream resumes without a sequence gap (see [`StreamRewriter::resume`]).
    sip_paused: Option<Instant>,
    /// The same toward the browser.
    browser_paused: Option<Instant>,
}

/// Whether the compound RTCP `data` holds a PLI (RFC 4585 §6.3.1) or FIR (RFC 5104 §4.3.1)
/// about the stream `ssrc`.
fn asks_keyframe_of(data: &[u8], ssrc: u32) -> bool {
    let Ok(packets) = gateway_media::rtcp::parse_compound(data) else {
        return false;
    };
    packets
        .into_iter()
        .any(|p| match feedback::parse_feedback(&p) {
            Some(feedback::Feedback::Pli { media_ssrc, .. }) => media_ssrc == ssrc,
            Some(feedback::Feedback::Fir { .. }) => {
                feedback::fir_entries(&p).is_some_and(|mut e| e.any(|e| e.ssrc == ssrc))
            }
            _ => false,
        })
}

/// The media time between `since` and `now` in the 90 kHz video clock.
fn ticks_since(since: Instant, now: Instant) -> u32 {
    (now.duration_since(since).as_secs_f64() * 90_000.0) as u64 as u32
}

/// The identifiers of one direction of a video stream: the SSRC written, and the first
/// sequence number and timestamp (random, RFC 3550 §5.1), chosen by the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamIds {
    pub(crate) ssrc: u32,
    pub(crate) seq: u16,
    pub(crate) ts: u32,
}

impl VideoPath {
    /// The video path of `plan`, sending to the SIP side with `to_sip`, and toward the browser
    /// with `to_browser` (its SSRC the leg's video SSRC), in the call's RTCP `cname`.
    pub(crate) fn new(
        plan: VideoPlan,
        to_sip: StreamIds,
        to_browser: StreamIds,
        max_kbps: u32,
        cname: [u8; 16],
        now: Instant,
    ) -> Self {
        Self {
            peer: SipPeer::new(plan.remote_addr, plan.remote_rtcp),
            plan,
            to_sip: StreamRewriter::new(to_sip.ssrc, to_sip.seq, to_sip.ts)
                .with_default_gap(FRAME_TICKS)
                .with_marker_passthrough(),
            to_browser: StreamRewriter::new(to_browser.ssrc, to_browser.seq, to_browser.ts)
                .with_default_gap(FRAME_TICKS)
                .with_marker_passthrough(),
            cname,
            sip_paused: None,
            browser_paused: None,
            sip_peer_ssrc: None,
            fir_seq: 0,
            pacer: KeyframePacer::default(),
            remb_due: None,
            max_bps: u64::from(max_kbps) * 1000,
            browser_rx: ReceiveStats::new(),
            sip_rx: ReceiveStats::new(),
            counts: (LegCounts::default(), LegCounts::default()),
            epoch: now,
            removed: false,
        }
    }

    /// The codec relayed.
    pub(crate) fn plan(&self) -> &VideoPlan {
        &self.plan
    }

    /// Video starts flowing (ICE connected) or the browser's path changed (ICE restart): the
    /// gateway asks both sides for a keyframe, and tells the browser the bitrate cap.
    pub(crate) fn start(&mut self, now: Instant) {
        self.pacer.start(now);
        self.remb_due = Some(now);
    }

    /// Follows the SIP side's video line after a re-INVITE or UPDATE (RFC 3264 §8.4): none, or
    /// port 0, or without our codec = video removed; back again = video resumes, from a
    /// keyframe. `session_addr` is the SDP's address ([`gateway_sip::sdp::SipSdp::addr`]).
    pub(crate) fn follow(&mut self, line: Option<&VideoLine>, session_addr: IpAddr, now: Instant) {
        let codec = self.plan.codec;
        let usable = line.filter(|l| l.is_active()).and_then(|l| {
            let f = l.formats.iter().find(|f| f.video_codec() == Some(codec))?;
            let addr = l.addr.unwrap_or(session_addr);
            let rtcp = l.rtcp_port.or_else(|| l.port.checked_add(1))?;
            Some((
                l,
                f,
                SocketAddr::new(addr, l.port),
                SocketAddr::new(addr, rtcp),
            ))
        });
        let Some((l, f, rtp, rtcp)) = usable else {
            self.removed = true;
            self.sip_paused.get_or_insert(now);
            self.browser_paused.get_or_insert(now);
            return;
        };
        let was_removed = std::mem::take(&mut self.removed);
        self.peer.retarget(rtp, rtcp);
        self.plan.sip_pt = f.pt;
        self.plan.sip_feedback = f.feedback();
        // `c=0.0.0.0` is the legacy hold (RFC 3264 §8.4): the phone receives nothing, and may
        // still send (as in `plan_inbound_video` / `choose_video_answer`).
        self.plan.direction = match (rtp.ip().is_unspecified(), l.direction) {
            (false, d) => d,
            (true, Direction::SendRecv | Direction::SendOnly) => Direction::SendOnly,
            (true, Direction::RecvOnly | Direction::Inactive) => Direction::Inactive,
        };
        if was_removed {
            self.pacer.start(now);
        }
    }

    /// Whether video flows (the SIP side did not remove it).
    pub(crate) fn is_active(&self) -> bool {
        !self.removed
    }

    fn sip_receives(&self) -> bool {
        !self.removed
            && matches!(
                self.plan.direction,
                Direction::SendRecv | Direction::RecvOnly
            )
    }

    /// A video packet from the browser: written into `out` for the SIP side; returns its
    /// length and destination, or `None` when it does not go out.
    /// `held`: the phone holds the call (legacy hold or `sendonly`), nothing goes to it.
    pub(crate) fn browser_to_sip(
        &mut self,
        now: Instant,
        pkt: &rtc::rtp::Packet,
        out: &mut [u8],
        held: bool,
    ) -> Option<(usize, SocketAddr)> {
        self.counts.0.packets_in += 1;
        self.counts.0.bytes_in += pkt.payload.len() as u64;
        let arrival = self.clock(now);
        self.browser_rx.on_packet(
            pkt.header.sequence_number,
            pkt.header.timestamp,
            arrival,
            pkt.payload.len(),
        );
        if held || !self.sip_receives() {
            self.sip_paused.get_or_insert(now);
            return None;
        }
        let input = RtpFields {
            pt: pkt.header.payload_type,
            marker: pkt.header.marker,
            seq: pkt.header.sequence_number,
            ts: pkt.header.timestamp,
            ssrc: pkt.header.ssrc,
        };
        let mut f = match self.sip_paused.take() {
            Some(since) => {
                // The phone's decoder starts again mid-stream: it needs a keyframe (the
                // continuous sequence numbers hide the pause from it).
                self.pacer.sip_asked();
                self.to_sip.resume();
                self.to_sip.rewrite_with_gap(input, ticks_since(since, now))
            }
            None => self.to_sip.rewrite(input),
        };
        f.pt = self.plan.sip_pt;
        let n = write_header(out, &f).ok()?;
        let end = n + pkt.payload.len();
        out.get_mut(n..end)?.copy_from_slice(&pkt.payload);
        self.counts.1.packets_out += 1;
        self.counts.1.bytes_out += end as u64;
        Some((end, self.peer.rtp()))
    }

    /// A datagram on the SIP side's video RTP socket: forwarded to the browser when it comes
    /// from the latched source (the SDP's address or Asterisk's, first packet) with our payload
    /// type.
    pub(crate) fn sip_to_browser(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
        source: &SipSource<'_>,
        leg: &mut WebrtcLeg,
    ) {
        if self.removed || self.peer.accept(from, source) == Accepted::No {
            return;
        }
        let Ok(h) = RtpHeader::parse(data) else {
            return;
        };
        if h.pt != self.plan.sip_pt {
            return;
        }
        let payload = h.payload(data);
        self.counts.1.packets_in += 1;
        self.counts.1.bytes_in += data.len() as u64;
        let arrival = self.clock(now);
        self.sip_rx
            .on_packet(h.seq, h.timestamp, arrival, payload.len());
        self.sip_peer_ssrc = Some(h.ssrc);
        if !matches!(
            self.plan.direction,
            Direction::SendRecv | Direction::SendOnly
        ) {
            self.browser_paused.get_or_insert(now);
            return;
        }
        let f = match self.browser_paused.take() {
            Some(since) => {
                self.pacer.browser_asked();
                self.to_browser.resume();
                self.to_browser
                    .rewrite_with_gap(h.fields(), ticks_since(since, now))
            }
            None => self.to_browser.rewrite(h.fields()),
        };
        self.counts.0.packets_out += 1;
        self.counts.0.bytes_out += payload.len() as u64;
        leg.send_video_rtp(now.into_std(), f.seq, f.ts, f.marker, payload);
    }

    /// RTCP from `from` on the SIP side's video RTCP port: a PLI or FIR about our video asks
    /// the browser for a keyframe. Only from the SIP side's address (or Asterisk's, or a trunk
    /// source), and only naming the SSRC we send with: anyone else could make the browser send
    /// keyframes at will.
    pub(crate) fn on_sip_rtcp(
        &mut self,
        from: SocketAddr,
        data: &[u8],
        source: &SipSource<'_>,
    ) -> bool {
        if self.removed
            || !self.peer.knows(from, source)
            || !asks_keyframe_of(data, self.to_sip.out_ssrc())
        {
            return false;
        }
        self.pacer.sip_asked();
        true
    }

    /// Writes the keyframe request toward the SIP side (an empty RR then FIR, or PLI when the SIP
    /// side listed `nack pli`; RFC 4585 §3.1, RFC 5104 §4.3.1) into `out`; returns its length
    /// and destination.
    pub(crate) fn sip_keyframe_request(&mut self, out: &mut [u8]) -> Option<(usize, SocketAddr)> {
        if self.removed {
            return None;
        }
        let ours = self.to_sip.out_ssrc();
        let media = self.sip_peer_ssrc.unwrap_or(0);
        let n = match self.plan.sip_keyframe_request() {
            RtcpFeedback::NackPli => feedback::write_rr_with(out, ours, &self.cname, |b| {
                feedback::write_pli(b, ours, media)
            }),
            _ => {
                self.fir_seq = self.fir_seq.wrapping_add(1);
                let seq = self.fir_seq;
                feedback::write_rr_with(out, ours, &self.cname, |b| {
                    feedback::write_fir(b, ours, media, seq)
                })
            }
        }
        .ok()?;
        Some((n, self.peer.rtcp()))
    }

    /// Whether a keyframe request toward the SIP side also goes as SIP INFO
    /// `picture_fast_update` (RFC 5168): when its SDP listed no RTCP keyframe feedback, it may
    /// know only that.
    pub(crate) fn sip_wants_info(&self) -> bool {
        !self.removed
            && !self
                .plan
                .sip_feedback
                .iter()
                .any(|f| matches!(f, RtcpFeedback::CcmFir | RtcpFeedback::NackPli))
    }

    /// Sends the REMB due at `now` to the browser.
    pub(crate) fn remb(&mut self, now: Instant, leg: &mut WebrtcLeg) {
        if let Some(due) = self.remb_due
            && now >= due
        {
            leg.send_remb(now.into_std(), self.max_bps);
            self.remb_due = Some(now + REMB_INTERVAL);
        }
    }

    /// The next deadline of the video path.
    pub(crate) fn next_deadline(&self, now: Instant) -> Option<Instant> {
        [self.pacer.next_deadline(now), self.remb_due]
            .into_iter()
            .flatten()
            .min()
    }

    /// Video statistics per leg for `ended` and the Odoo report: `(video_webrtc, video_sip)`,
    /// what the gateway received from each side (loss as a fraction like the audio legs').
    pub(crate) fn stats(&self) -> (serde_json::Value, serde_json::Value) {
        let leg = |rx: &ReceiveStats| {
            let lost = rx.lost().max(0);
            let expected = i64::from(rx.expected()).max(1);
            let loss = (lost as f64 / expected as f64).min(1.0);
            serde_json::json!({
                "packets_received": rx.packets(),
                "packets_lost": lost,
                "loss": (loss * 10_000.0).round() / 10_000.0,
                "loss_pct": (loss * 10_000.0).round() / 100.0,
                "jitter_ms": (f64::from(rx.jitter()) / 90.0 * 100.0).round() / 100.0,
                "bytes_received": rx.bytes(),
            })
        };
        (leg(&self.browser_rx), leg(&self.sip_rx))
    }

    /// Packets lost on both legs so far.
    pub(crate) fn lost(&self) -> u64 {
        (self.browser_rx.lost().max(0) + self.sip_rx.lost().max(0)) as u64
    }

    /// The 90 kHz arrival clock for jitter.
    fn clock(&self, now: Instant) -> u32 {
        ticks_since(self.epoch, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gateway asks at start and 1 s later; a burst of requests is paced.
    #[tokio::test(start_paused = true)]
    async fn pacer_start_and_bursts() {
        let mut p = KeyframePacer::default();
        let t0 = Instant::now();
        assert_eq!(p.poll(t0), KeyframesDue::default());
        assert_eq!(p.next_deadline(t0), None);
        p.start(t0);
        let due = p.poll(t0);
        assert!(due.to_sip && due.to_browser);
        assert_eq!(due.own, 1);
        assert_eq!(p.next_deadline(t0), Some(t0 + Duration::from_secs(1)));
        // A browser PLI 100 ms later waits for the 300 ms spacing.
        p.browser_asked();
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(p.poll(t1), KeyframesDue::default());
        assert_eq!(p.next_deadline(t0), Some(t0 + KEYFRAME_MIN_INTERVAL));
        let due = p.poll(t0 + KEYFRAME_MIN_INTERVAL);
        assert!(due.to_sip && !due.to_browser);
        // Many requests in one window make one request.
        for _ in 0..10 {
            p.sip_asked();
        }
        let due = p.poll(t0 + Duration::from_millis(400));
        assert!(due.to_browser && !due.to_sip);
        assert_eq!(
            p.poll(t0 + Duration::from_millis(500)),
            KeyframesDue::default()
        );
        // The second scheduled request.
        let due = p.poll(t0 + Duration::from_secs(1));
        assert!(due.to_sip && due.to_browser);
        assert_eq!(due.own, 1);
        assert_eq!(p.next_deadline(t0), None);
    }

    /// A request toward a browser whose SSRC is unknown is retried 50 ms later, not at once
    /// (which would spin the call task until the browser's first video packet).
    #[tokio::test(start_paused = true)]
    async fn pacer_retry() {
        let mut p = KeyframePacer::default();
        let t0 = Instant::now();
        p.sip_asked();
        assert!(p.poll(t0).to_browser);
        p.browser_retry(t0);
        assert_eq!(p.next_deadline(t0), Some(t0 + KEYFRAME_RETRY));
        assert!(!p.poll(t0 + Duration::from_millis(20)).to_browser);
        assert!(p.poll(t0 + KEYFRAME_RETRY).to_browser);
    }

    /// A browser that never sends video (no SSRC to name) is asked for 2 s, not for the whole
    /// call; a new request starts over.
    #[tokio::test(start_paused = true)]
    async fn pacer_gives_up_retrying() {
        let mut p = KeyframePacer::default();
        let mut now = Instant::now();
        p.sip_asked();
        let mut tries = 0;
        while let Some(at) = p.next_deadline(now) {
            now = at.max(now);
            if p.poll(now).to_browser {
                tries += 1;
                p.browser_retry(now);
            }
            assert!(tries <= 100, "still retrying");
        }
        assert_eq!(tries, 1 + KEYFRAME_RETRIES);
        p.sip_asked();
        assert!(p.poll(now + KEYFRAME_MIN_INTERVAL).to_browser);
    }

    /// Only a PLI or FIR naming our SSRC asks for a keyframe (RFC 4585 §6.3.1, RFC 5104 §4.3.1).
    #[test]
    fn keyframe_requests_must_name_our_stream() {
        let mut buf = [0u8; 128];
        let cname = [b'x'; 16];
        let pli = |target| {
            let mut b = [0u8; 128];
            let n =
                feedback::write_rr_with(&mut b, 9, &cname, |o| feedback::write_pli(o, 9, target))
                    .unwrap();
            b[..n].to_vec()
        };
        assert!(asks_keyframe_of(&pli(7), 7));
        assert!(!asks_keyframe_of(&pli(8), 7));
        let n = feedback::write_rr_with(&mut buf, 9, &cname, |o| feedback::write_fir(o, 9, 7, 3))
            .unwrap();
        assert!(asks_keyframe_of(&buf[..n], 7));
        assert!(!asks_keyframe_of(&buf[..n], 8));
        assert!(!asks_keyframe_of(b"\x80\xc9\x00\x01junk", 7));
        assert!(!asks_keyframe_of(&[], 7));
    }

    const SIP_HEAD: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

    fn sip(video: &str) -> gateway_sip::sdp::SipSdp {
        gateway_sip::sdp::SipSdp::parse(&format!("{SIP_HEAD}{video}")).unwrap()
    }

    /// A VP8 call: Chromium's offer, Asterisk answering VP8 at 100 on port 20002.
    fn path(now: Instant) -> VideoPath {
        let offer = gateway_sip::sdp::BrowserOffer::parse(include_str!(
            "../../../tests/data/sdp/chromium156-audio-video.sdp"
        ))
        .unwrap();
        let answer = sip("m=video 20002 RTP/AVP 100\r\na=rtpmap:100 VP8/90000\r\n");
        let plan = gateway_sip::sdp::choose_video_answer(
            &offer,
            &answer,
            &[gateway_sip::sdp::VideoCodec::Vp8],
        )
        .unwrap();
        let ids = |ssrc| StreamIds {
            ssrc,
            seq: 1000,
            ts: 5000,
        };
        VideoPath::new(plan, ids(11), ids(22), 1500, [b'c'; 16], now)
    }

    fn browser_packet(seq: u16, ts: u32) -> rtc::rtp::Packet {
        rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                payload_type: 96,
                sequence_number: seq,
                timestamp: ts,
                ssrc: 0xB0B,
                ..Default::default()
            },
            payload: bytes::Bytes::from_static(&[1, 2, 3]),
        }
    }

    /// RFC 3264 §8.4 as the video path follows it: removed (port 0), back on the same codec
    /// (forwarding resumes one sequence number after the last packet, the phone is asked for
    /// a keyframe), legacy hold (`c=0.0.0.0`: the phone stops receiving), a codec we do not
    /// relay (removed).
    #[tokio::test(start_paused = true)]
    async fn follows_the_phone_and_resumes_without_a_gap() {
        let t0 = Instant::now();
        let mut v = path(t0);
        let mut out = [0u8; 64];
        let (n, dest) = v
            .browser_to_sip(t0, &browser_packet(7, 90), &mut out, false)
            .unwrap();
        assert_eq!(dest, "127.0.0.1:20002".parse::<SocketAddr>().unwrap());
        let first = RtpHeader::parse(&out[..n]).unwrap();
        assert_eq!((first.pt, first.ssrc, first.seq), (100, 11, 1000));

        let removed = sip("m=video 0 RTP/AVP 100\r\n");
        v.follow(removed.video.as_ref(), removed.addr, t0);
        assert!(!v.is_active());
        assert!(
            v.browser_to_sip(t0, &browser_packet(8, 180), &mut out, false)
                .is_none()
        );
        // 300 packets later video is back: no gap toward the phone, and a keyframe is asked.
        let back = sip("m=video 20002 RTP/AVP 100\r\na=rtpmap:100 VP8/90000\r\n");
        let t1 = t0 + Duration::from_secs(5);
        v.follow(back.video.as_ref(), back.addr, t1);
        assert!(v.is_active());
        let due = v.pacer.poll(t1);
        assert!(
            due.to_sip && due.to_browser,
            "re-added video starts from keyframes"
        );
        let (n, _) = v
            .browser_to_sip(t1, &browser_packet(308, 27_000), &mut out, false)
            .unwrap();
        assert_eq!(RtpHeader::parse(&out[..n]).unwrap().seq, 1001);

        let hold =
            sip("m=video 20002 RTP/AVP 100\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:100 VP8/90000\r\n");
        v.follow(hold.video.as_ref(), hold.addr, t1);
        assert!(
            v.browser_to_sip(t1, &browser_packet(309, 27_090), &mut out, false)
                .is_none()
        );
        assert_eq!(v.plan().direction, Direction::SendOnly);

        let h264 = sip("m=video 20002 RTP/AVP 99\r\na=rtpmap:99 H264/90000\r\n\
            a=fmtp:99 packetization-mode=1;profile-level-id=42e01f\r\n");
        v.follow(h264.video.as_ref(), h264.addr, t1);
        assert!(
            !v.is_active(),
            "a codec the browser's leg does not have stops video"
        );
    }
}
