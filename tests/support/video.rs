//! Video in the end-to-end tests (issue 10): what the browser's `getStats()` and its `<video>`
//! elements show (tests/data/client.js), the media sections of an SDP, and a UDP video echo that
//! plays the SIP side's video port with its RTCP port recorded, whose echo a test can switch off.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::browser::Browser;
use super::ports::{loopback, rtp_block};
use super::rig::{CallRig, RigOptions};
use super::sipp::SippOptions;

/// A frame whose mean luma (0-255) is above this is not black. Chromium's fake camera measures
/// about 82 (640x480, every pixel non-black); a black frame measures 0.
pub(crate) const MIN_MEAN_LUMA: f64 = 40.0;
/// ... and at least this share of its pixels are brighter than luma 24 (the fake camera: nearly 1).
pub(crate) const MIN_NON_BLACK_SHARE: f64 = 0.5;

/// Video RTP statistics from the browser's `getStats()` (`window.__gw.inboundVideo()`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VideoStats {
    /// `inbound-rtp.packetsReceived`.
    pub(crate) packets_received: u64,
    /// `inbound-rtp.packetsLost` (may be negative with duplicates, RFC 3550 section 6.4.1).
    pub(crate) packets_lost: i64,
    /// `inbound-rtp.framesReceived`.
    pub(crate) frames_received: u64,
    /// `inbound-rtp.framesDecoded`.
    pub(crate) frames_decoded: u64,
    /// `inbound-rtp.keyFramesDecoded`.
    pub(crate) key_frames_decoded: u64,
    /// `inbound-rtp.frameWidth` x `frameHeight` of the last decoded frame.
    pub(crate) frame_size: (u64, u64),
    /// PLIs (RFC 4585 section 6.3.1) the browser sent about this stream.
    pub(crate) pli_count: u64,
    /// FIRs (RFC 5104 section 4.3.1) the browser sent about this stream.
    pub(crate) fir_count: u64,
    /// Generic NACKs (RFC 4585 section 6.2.1) the browser sent about this stream.
    pub(crate) nack_count: u64,
    /// The codec report's mimeType, e.g. `video/VP8`.
    pub(crate) mime_type: Option<String>,
}

impl VideoStats {
    /// Keyframe requests (PLI + FIR) the browser sent.
    pub(crate) fn keyframe_requests(&self) -> u64 {
        self.pli_count + self.fir_count
    }
}

/// One frame of a `<video>` element, measured (`window.__gw.videoFrame(name)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame {
    /// The element had a frame to draw.
    pub(crate) ready: bool,
    /// Width x height in pixels.
    pub(crate) size: (u64, u64),
    /// Mean luma, 0-255 (BT.601 weights).
    pub(crate) mean_luma: f64,
    /// Share of pixels with luma above 24.
    pub(crate) non_black_share: f64,
}

impl Frame {
    /// A frame with a picture in it, not a black one.
    pub(crate) fn is_picture(&self) -> bool {
        self.ready && self.mean_luma > MIN_MEAN_LUMA && self.non_black_share > MIN_NON_BLACK_SHARE
    }
}

/// The browser's received-video statistics now.
pub(crate) async fn inbound_video(browser: &Browser) -> Result<VideoStats> {
    let s = browser
        .eval("return window.__gw.inboundVideo();", vec![])
        .await?;
    video_stats(&s)
}

/// Parses what `window.__gw.inboundVideo()` (or `deviceInboundVideo`) returned.
pub(crate) fn video_stats(s: &Value) -> Result<VideoStats> {
    let n = |field: &str| s[field].as_u64().with_context(|| format!("{field} in {s}"));
    Ok(VideoStats {
        packets_received: n("packetsReceived")?,
        packets_lost: s["packetsLost"].as_i64().context("packetsLost")?,
        frames_received: n("framesReceived")?,
        frames_decoded: n("framesDecoded")?,
        key_frames_decoded: n("keyFramesDecoded")?,
        frame_size: (n("frameWidth")?, n("frameHeight")?),
        pli_count: n("pliCount")?,
        fir_count: n("firCount")?,
        nack_count: n("nackCount")?,
        mime_type: s["mimeType"].as_str().map(str::to_owned),
    })
}

/// The browser's sent-video statistics now, as `window.__gw.outboundVideo()` returns them.
pub(crate) async fn outbound_video(browser: &Browser) -> Result<Value> {
    browser
        .eval("return window.__gw.outboundVideo();", vec![])
        .await
}

/// Measures the current frame of the browser's `<video>` element `name` (`local` or `remote`).
pub(crate) async fn frame(browser: &Browser, name: &str) -> Result<Frame> {
    let f = browser
        .eval(
            "return window.__gw.videoFrame(arguments[0]);",
            vec![Value::from(name)],
        )
        .await?;
    Ok(Frame {
        ready: f["ready"].as_bool().context("ready")?,
        size: (
            f["width"].as_u64().context("width")?,
            f["height"].as_u64().context("height")?,
        ),
        mean_luma: f["meanLuma"].as_f64().context("meanLuma")?,
        non_black_share: f["nonBlackShare"].as_f64().context("nonBlackShare")?,
    })
}

/// Polls until the browser has decoded more than `min` received video frames, within `timeout`.
pub(crate) async fn wait_frames_decoded(
    browser: &Browser,
    min: u64,
    timeout: Duration,
) -> Result<VideoStats> {
    let deadline = Instant::now() + timeout;
    loop {
        let stats = inbound_video(browser).await?;
        if stats.frames_decoded > min {
            return Ok(stats);
        }
        if Instant::now() >= deadline {
            let outbound = outbound_video(browser).await?;
            bail!(
                "the browser decoded {} received video frames (wanted more than {min}) within {timeout:?}: inbound {stats:?}, outbound {outbound}",
                stats.frames_decoded
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls until `<video>` element `name` shows a picture (not black, see [`Frame::is_picture`]),
/// within `timeout`.
pub(crate) async fn wait_picture(
    browser: &Browser,
    name: &str,
    timeout: Duration,
) -> Result<Frame> {
    let deadline = Instant::now() + timeout;
    loop {
        let measured = frame(browser, name).await?;
        if measured.is_picture() {
            return Ok(measured);
        }
        if Instant::now() >= deadline {
            bail!(
                "the {name} <video> showed no picture within {timeout:?} (want mean luma > {MIN_MEAN_LUMA} and non-black share > {MIN_NON_BLACK_SHARE}), last frame: {measured:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One `m=` section of an SDP: its `m=` line and the lines after it, up to the next `m=`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MediaSection {
    /// The `m=` line, e.g. `m=video 4000 RTP/AVP 100 99`.
    pub(crate) m_line: String,
    /// Its other lines (`c=`, `a=`, ...), in order.
    pub(crate) lines: Vec<String>,
}

impl MediaSection {
    /// The media type: `audio`, `video`, ...
    pub(crate) fn kind(&self) -> &str {
        self.m_field(0).unwrap_or_default()
    }

    /// The port of the `m=` line (0 = the stream is declined, RFC 3264 section 6).
    pub(crate) fn port(&self) -> Option<u16> {
        self.m_field(1).and_then(|p| p.parse().ok())
    }

    /// The payload types of the `m=` line, in order.
    pub(crate) fn formats(&self) -> Vec<&str> {
        self.m_line.split_whitespace().skip(3).collect()
    }

    /// The payload types whose `a=rtpmap` names `encoding` (e.g. `VP8`, case-insensitive).
    pub(crate) fn payload_types_of(&self, encoding: &str) -> Vec<String> {
        self.attributes("rtpmap")
            .filter_map(|value| {
                let (pt, rest) = value.split_once(' ')?;
                let name = rest.split('/').next()?;
                name.eq_ignore_ascii_case(encoding).then(|| pt.to_owned())
            })
            .collect()
    }

    /// The values of every `a=<name>:` attribute.
    pub(crate) fn attributes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines.iter().filter_map(move |line| {
            line.strip_prefix("a=")?
                .strip_prefix(name)?
                .strip_prefix(':')
                .map(str::trim)
        })
    }

    fn m_field(&self, index: usize) -> Option<&str> {
        self.m_line
            .strip_prefix("m=")
            .and_then(|rest| rest.split_whitespace().nth(index))
    }
}

/// The media sections of `sdp`, in order.
pub(crate) fn media_sections(sdp: &str) -> Vec<MediaSection> {
    let mut sections: Vec<MediaSection> = Vec::new();
    for line in sdp.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        if line.starts_with("m=") {
            sections.push(MediaSection {
                m_line: line.to_owned(),
                lines: Vec::new(),
            });
        } else if let Some(section) = sections.last_mut() {
            section.lines.push(line.to_owned());
        }
    }
    sections
}

/// The first media section of `kind` in `sdp`, or an error quoting the SDP.
pub(crate) fn section(sdp: &str, kind: &str, whose: &str) -> Result<MediaSection> {
    media_sections(sdp)
        .into_iter()
        .find(|s| s.kind() == kind)
        .with_context(|| format!("{whose} has no m={kind} section:\n{sdp}"))
}

/// The body of a SIP message as SIPp logged it: the lines after the first empty one.
pub(crate) fn sip_body(message: &str) -> String {
    message
        .lines()
        .skip_while(|l| !l.trim().is_empty())
        .skip(1)
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A compound RTCP packet asking for a keyframe the way a SIP phone does (RFC 5104 section
/// 4.3.1): an empty RR from `sender` (RFC 3550 section 6.1: a compound starts with SR or RR), then
/// a FIR (PT 206, FMT 4) whose one FCI entry names `target` with sequence number `seq`.
pub(crate) fn rr_fir(sender: u32, target: u32, seq: u8) -> Vec<u8> {
    let mut packet = Vec::with_capacity(28);
    // RR: V=2, RC=0, PT=201, length 1 (two words in all), sender SSRC.
    packet.extend_from_slice(&[0x80, 201, 0, 1]);
    packet.extend_from_slice(&sender.to_be_bytes());
    // FIR: V=2, FMT=4, PT=206, length 4; sender SSRC, media source SSRC 0 (unused, RFC 5104
    // section 4.3.1.2), then the FCI: target SSRC, seq nr, 3 reserved bytes.
    packet.extend_from_slice(&[0x84, 206, 0, 4]);
    packet.extend_from_slice(&sender.to_be_bytes());
    packet.extend_from_slice(&0u32.to_be_bytes());
    packet.extend_from_slice(&target.to_be_bytes());
    packet.extend_from_slice(&[seq, 0, 0, 0]);
    packet
}

/// The value of one series (`name{labels}`) in the Prometheus text of `/metrics`.
pub(crate) fn metric(text: &str, series: &str) -> Result<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .with_context(|| format!("no {series} in /metrics:\n{text}"))
}

/// One datagram the echo's RTCP port received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// When it arrived.
    pub(crate) at: Instant,
    /// Who sent it.
    pub(crate) from: SocketAddr,
    /// The datagram.
    pub(crate) data: Vec<u8>,
}

#[derive(Debug, Default)]
struct EchoState {
    /// Echo what arrives (else drop it).
    echoing: AtomicBool,
    echoed: AtomicU64,
    dropped: AtomicU64,
    /// RTP SSRCs seen on the RTP port, in order of first sight.
    ssrcs: Mutex<Vec<u32>>,
    rtcp: Mutex<Vec<Received>>,
    /// Sequence numbers on the RTP port: see [`SeqJumps`].
    seq: Mutex<SeqJumps>,
}

/// The forward sequence-number jumps of the RTP arriving at the echo (one SSRC after another).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeqJumps {
    /// SSRC and sequence number of the newest packet.
    last: Option<(u32, u16)>,
    /// The largest forward step between two packets of one SSRC (1 = no gap).
    pub(crate) largest: u16,
    /// Sequence numbers skipped in all (RFC 3550 A.1: the receiver counts them as lost).
    pub(crate) skipped: u64,
}

impl SeqJumps {
    fn on_packet(&mut self, ssrc: u32, seq: u16) {
        if let Some((last_ssrc, last_seq)) = self.last
            && last_ssrc == ssrc
        {
            let step = seq.wrapping_sub(last_seq);
            // Reordered or duplicated packets (a "negative" step) are not jumps.
            if step == 0 || step >= 0x8000 {
                return;
            }
            self.largest = self.largest.max(step);
            self.skipped += u64::from(step - 1);
        }
        self.last = Some((ssrc, seq));
    }
}

/// The SIP side's video media in a test's own hands: a UDP socket on 127.0.0.1 that sends every
/// datagram back to its sender (as SIPp's `-rtp_echo` does, RFC 3550 RTP untouched) unless told
/// to drop them, and the next port (RTP port + 1, the RTCP port of RFC 3550 section 11 when the
/// SDP has no `a=rtcp`) recording every datagram that arrives. Stops on drop.
pub(crate) struct VideoEcho {
    rtp_port: u16,
    state: Arc<EchoState>,
    tasks: Vec<JoinHandle<()>>,
}

/// Places a video call from the rig's browser and waits until it is connected; the gateway's
/// answer must accept video (Asterisk took a codec). Returns that answer's SDP.
pub(crate) async fn call_with_video(rig: &CallRig) -> Result<String> {
    rig.place_call(&super::rig::CallOptions {
        video: true,
        ..super::rig::CallOptions::default()
    })
    .await?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    let sdp = answer["sdp"].as_str().unwrap_or_default().to_owned();
    if section(&sdp, "video", "the gateway's answer to the browser")?
        .port()
        .is_none_or(|p| p == 0)
    {
        bail!(
            "Asterisk took a video codec, so the answer to the browser should accept video:\n{sdp}"
        );
    }
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    Ok(sdp)
}

/// Chromium, the gateway, and SIPp running `scenario` with its `[vport]` (Asterisk's video port)
/// at a fresh [`VideoEcho`]; `more` are further SIPp arguments (e.g. `-d 3000`). Panics, with the
/// reason, when something does not start: it is a test's setup.
pub(crate) async fn echo_rig(scenario: &str, more: &[&str]) -> (VideoEcho, CallRig) {
    let echo = VideoEcho::start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let mut extra = vec![
        "-key".to_owned(),
        "vport".to_owned(),
        echo.rtp_port().to_string(),
    ];
    extra.extend(more.iter().map(|a| (*a).to_owned()));
    let options = RigOptions {
        sipp: SippOptions {
            extra,
            ..SippOptions::default()
        },
        ..RigOptions::default()
    };
    let rig = CallRig::start_with(scenario, &options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    (echo, rig)
}

impl VideoEcho {
    /// What the echo saw, for a failure report.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{} echoed, {} dropped, SSRCs {:08x?}",
            self.echoed(),
            self.dropped(),
            self.ssrcs()
        )
    }

    /// Binds two adjacent ports of a fresh RTP block and starts echoing.
    pub(crate) async fn start() -> Result<VideoEcho> {
        let (first, _) = rtp_block()?;
        let rtp = UdpSocket::bind(loopback(first))
            .await
            .with_context(|| format!("binding the video echo's RTP port {first}"))?;
        let rtcp = UdpSocket::bind(loopback(first + 1))
            .await
            .with_context(|| format!("binding the video echo's RTCP port {}", first + 1))?;
        let state = Arc::new(EchoState {
            echoing: AtomicBool::new(true),
            ..EchoState::default()
        });
        let echo = tokio::spawn(echo_loop(rtp, Arc::clone(&state)));
        let record = tokio::spawn(record_loop(rtcp, Arc::clone(&state)));
        Ok(VideoEcho {
            rtp_port: first,
            state,
            tasks: vec![echo, record],
        })
    }

    /// The RTP port (the SIP answer's `m=video` port); RTCP is this + 1.
    pub(crate) fn rtp_port(&self) -> u16 {
        self.rtp_port
    }

    /// Echo datagrams (`true`) or drop them (`false`) from now on.
    pub(crate) fn set_echo(&self, echo: bool) {
        self.state.echoing.store(echo, Ordering::SeqCst);
    }

    /// Datagrams echoed so far.
    pub(crate) fn echoed(&self) -> u64 {
        self.state.echoed.load(Ordering::SeqCst)
    }

    /// Datagrams dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.state.dropped.load(Ordering::SeqCst)
    }

    /// The RTP SSRCs that arrived, in order of first sight.
    pub(crate) fn ssrcs(&self) -> Vec<u32> {
        self.state
            .ssrcs
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Datagrams that arrived at the RTP port so far, echoed or dropped.
    pub(crate) fn received(&self) -> u64 {
        self.echoed() + self.dropped()
    }

    /// The sequence-number jumps of the RTP that arrived so far.
    pub(crate) fn seq_jumps(&self) -> SeqJumps {
        self.state.seq.lock().map(|j| *j).unwrap_or_default()
    }

    /// Every datagram the RTCP port received so far.
    pub(crate) fn rtcp(&self) -> Vec<Received> {
        self.state
            .rtcp
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }
}

impl Drop for VideoEcho {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn echo_loop(socket: UdpSocket, state: Arc<EchoState>) {
    let mut buf = vec![0u8; 2048];
    while let Ok((n, from)) = socket.recv_from(&mut buf).await {
        let packet = &buf[..n];
        if let Some(ssrc) = packet.get(8..12)
            && let Ok(mut ssrcs) = state.ssrcs.lock()
        {
            let ssrc = u32::from_be_bytes([ssrc[0], ssrc[1], ssrc[2], ssrc[3]]);
            if !ssrcs.contains(&ssrc) {
                ssrcs.push(ssrc);
            }
            if let Some(seq) = packet.get(2..4)
                && let Ok(mut jumps) = state.seq.lock()
            {
                jumps.on_packet(ssrc, u16::from_be_bytes([seq[0], seq[1]]));
            }
        }
        if state.echoing.load(Ordering::SeqCst) {
            // A full socket buffer loses a packet, as the network would.
            let _ = socket.send_to(packet, from).await;
            state.echoed.fetch_add(1, Ordering::SeqCst);
        } else {
            state.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn record_loop(socket: UdpSocket, state: Arc<EchoState>) {
    let mut buf = vec![0u8; 2048];
    while let Ok((n, from)) = socket.recv_from(&mut buf).await {
        let received = Received {
            at: Instant::now(),
            from,
            data: buf[..n].to_vec(),
        };
        if let Ok(mut rtcp) = state.rtcp.lock() {
            rtcp.push(received);
        }
    }
}

/// The RTCP port of a media section: its `a=rtcp` (RFC 3605), else the RTP port + 1 (RFC 3550
/// section 11).
pub(crate) fn rtcp_port(section: &MediaSection) -> Result<u16> {
    if let Some(rtcp) = section.attributes("rtcp").next() {
        return rtcp
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("unparsable a=rtcp:{rtcp} in {}", section.m_line));
    }
    section
        .port()
        .filter(|p| *p != 0)
        .with_context(|| format!("no active port in {}", section.m_line))?
        .checked_add(1)
        .context("RTP port 65535 has no RTCP port after it")
}

/// The direction attribute of a media section, `a=sendrecv` when it has none (RFC 3264 section
/// 5.1; the tests' SDPs put no direction at session level).
pub(crate) fn section_direction(section: &MediaSection) -> &str {
    section
        .lines
        .iter()
        .map(String::as_str)
        .find(|l| ["a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"].contains(l))
        .unwrap_or("a=sendrecv")
}

/// Keyframe requests (PLI + FIR) a video sender received, from what
/// [`outbound_video`] (or `Device::outbound_video`) returned.
pub(crate) fn keyframe_requests_received(outbound: &Value) -> Result<u64> {
    let n = |field: &str| {
        outbound[field]
            .as_u64()
            .with_context(|| format!("{field} in {outbound}"))
    };
    Ok(n("pliCount")? + n("firCount")?)
}
