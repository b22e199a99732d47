//! The phone's media, played by the test: a UDP socket that a SIPp scenario names as its RTP
//! address (`-key rtp_port N`), recording every RTP packet the gateway sends there. It either
//! echoes the audio back (like SIPp's `-rtp_echo`) or sends a stream of its own: PCMU 1 kHz tone
//! every 20 ms, into which RFC 4733 events are inserted on request (SIPp 3.6.1 cannot send DTMF).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::rfc4733::{Event, ReceivedEvent, Rtp, code_for_digit, events};
use crate::support::ports::loopback;
use crate::support::sipp::Sipp;

/// PCMU's static payload type (RFC 3551 table 4).
pub(crate) const PCMU_PT: u8 = 0;
/// Samples (and timestamp units) in 20 ms at 8 kHz.
const FRAME: u32 = 160;
/// Volume of the events sent, in -dBm0.
const EVENT_VOLUME: u8 = 10;
/// End packets sent for each event (RFC 4733 section 2.5.1.4 recommends three).
const END_PACKETS: u32 = 3;

/// What the phone does with the socket besides recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhoneMode {
    /// Sends every audio packet back to where it came from (events are not echoed).
    Echo,
    /// Sends its own PCMU tone to the target given by [`PhoneMedia::send_to`], and events.
    Tone,
}

/// Everything the socket received.
type Received = Vec<(Instant, SocketAddr, Rtp)>;

enum Command {
    Target(SocketAddr),
    Digit { code: u8, duration_ms: u32 },
}

/// A test-owned RTP endpoint on 127.0.0.1; its task stops on drop.
pub(crate) struct PhoneMedia {
    addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

impl PhoneMedia {
    /// Binds a UDP port of 127.0.0.1 and starts the phone in `mode`; `te_pt` is the
    /// telephone-event payload type of its SDP.
    pub(crate) async fn bind(mode: PhoneMode, te_pt: u8) -> Result<PhoneMedia> {
        let socket = UdpSocket::bind(loopback(0))
            .await
            .context("binding the phone's RTP port")?;
        let addr = socket.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let (commands, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(socket, mode, te_pt, received.clone(), rx));
        Ok(PhoneMedia {
            addr,
            received,
            commands,
            task,
        })
    }

    /// The phone's RTP port (for `-key rtp_port`).
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Where [`PhoneMode::Tone`] sends its stream from now on.
    pub(crate) fn send_to(&self, target: SocketAddr) -> Result<()> {
        self.commands
            .send(Command::Target(target))
            .map_err(|_| anyhow::anyhow!("the phone's task has stopped"))
    }

    /// Queues one RFC 4733 event for `digit` lasting `duration_ms`, then three end packets.
    pub(crate) fn send_digit(&self, digit: char, duration_ms: u32) -> Result<()> {
        let code = code_for_digit(digit).with_context(|| format!("{digit:?} is no DTMF digit"))?;
        self.commands
            .send(Command::Digit { code, duration_ms })
            .map_err(|_| anyhow::anyhow!("the phone's task has stopped"))
    }

    /// Every RTP packet received so far, with its arrival time and source.
    pub(crate) fn received(&self) -> Received {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// How many RTP packets of payload type `pt` arrived so far, and from where the last came.
    pub(crate) fn count(&self, pt: u8) -> (usize, Option<SocketAddr>) {
        let received = self.received();
        let of_pt: Vec<_> = received.iter().filter(|(_, _, p)| p.pt == pt).collect();
        (of_pt.len(), of_pt.last().map(|(_, from, _)| *from))
    }

    /// Waits until at least `n` packets of payload type `pt` arrived, within `timeout`.
    pub(crate) async fn wait_packets(&self, pt: u8, n: usize, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let (count, _) = self.count(pt);
            if count >= n {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "the phone's RTP port {} got {count} packets of PT {pt} in {timeout:?}, want {n}",
                    self.addr
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The telephone-events of payload type `pt` received so far.
    pub(crate) fn events(&self, pt: u8) -> Result<Vec<ReceivedEvent>> {
        let packets: Vec<(Instant, Rtp)> = self
            .received()
            .into_iter()
            .map(|(at, _, rtp)| (at, rtp))
            .collect();
        events(&packets, pt)
    }

    /// Waits until `n` events of payload type `pt` have each received an end packet, plus
    /// `settle` for their retransmitted end packets, within `timeout`.
    pub(crate) async fn wait_events(
        &self,
        pt: u8,
        n: usize,
        settle: Duration,
        timeout: Duration,
    ) -> Result<Vec<ReceivedEvent>> {
        let deadline = Instant::now() + timeout;
        loop {
            let events = self.events(pt)?;
            if events.iter().filter(|e| e.end_packets > 0).count() >= n {
                tokio::time::sleep(settle).await;
                return self.events(pt);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} ended events of PT {pt} at the phone within {timeout:?}, want {n}: {events:#?}",
                    events.iter().filter(|e| e.end_packets > 0).count()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PhoneMedia {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An event being sent: its start timestamp, length and how far it got.
struct Sending {
    code: u8,
    start_ts: u32,
    total: u32,
    sent: u32,
    ends_sent: u32,
    first: bool,
}

/// The phone's task: receive and record, echo or send its own stream every 20 ms.
async fn run(
    socket: UdpSocket,
    mode: PhoneMode,
    te_pt: u8,
    received: Arc<Mutex<Received>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut buf = vec![0u8; 2048];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let tone = tone_frame();
    let ssrc = 0x5eed_4733u32;
    let (mut seq, mut clock) = (4000u16, 80_000u32);
    let mut target = None;
    let mut queue: std::collections::VecDeque<(u8, u32)> = std::collections::VecDeque::new();
    let mut sending: Option<Sending> = None;
    loop {
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                let Some(rtp) = Rtp::parse(&buf[..n]) else { continue };
                let echo = mode == PhoneMode::Echo && rtp.pt != te_pt;
                if let Ok(mut r) = received.lock() {
                    r.push((Instant::now(), from, rtp));
                }
                if echo {
                    let _ = socket.send_to(&buf[..n], from).await;
                }
            }
            c = commands.recv() => match c {
                Some(Command::Target(t)) => target = Some(t),
                Some(Command::Digit { code, duration_ms }) => queue.push_back((code, duration_ms)),
                None => return,
            },
            _ = tick.tick(), if mode == PhoneMode::Tone => {
                let Some(to) = target else { continue };
                if sending.is_none()
                    && let Some((code, ms)) = queue.pop_front()
                {
                    sending = Some(Sending {
                        code,
                        start_ts: clock,
                        total: (ms * 8).max(FRAME),
                        sent: 0,
                        ends_sent: 0,
                        first: true,
                    });
                }
                let packet = match sending.as_mut() {
                    Some(s) => {
                        s.sent = (s.sent + FRAME).min(s.total);
                        let end = s.sent >= s.total;
                        if end {
                            s.ends_sent += 1;
                        }
                        let rtp = Rtp {
                            pt: te_pt,
                            marker: s.first,
                            seq,
                            ts: s.start_ts,
                            ssrc,
                            payload: Event {
                                code: s.code,
                                end,
                                volume: EVENT_VOLUME,
                                duration: u16::try_from(s.sent).unwrap_or(u16::MAX),
                            }
                            .to_bytes()
                            .to_vec(),
                        };
                        s.first = false;
                        if s.ends_sent >= END_PACKETS {
                            sending = None;
                        }
                        rtp
                    }
                    None => Rtp {
                        pt: PCMU_PT,
                        marker: false,
                        seq,
                        ts: clock,
                        ssrc,
                        payload: tone.clone(),
                    },
                };
                let _ = socket.send_to(&packet.to_bytes(), to).await;
                seq = seq.wrapping_add(1);
                clock = clock.wrapping_add(FRAME);
            }
        }
    }
}

/// 20 ms of a 1 kHz tone at -6 dBFS, PCMU (8 samples per period: every frame is the same).
fn tone_frame() -> Vec<u8> {
    (0..FRAME)
        .map(|n| {
            let t = f64::from(n) / 8000.0;
            let sample = 0.5 * 32767.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin();
            ulaw(sample.round() as i16)
        })
        .collect()
}

/// G.711 mu-law of a linear sample (ITU-T G.711, with the usual bias of 0x84).
fn ulaw(sample: i16) -> u8 {
    let (sign, magnitude) = if sample < 0 {
        (0x80u8, (-i32::from(sample)).min(32635))
    } else {
        (0, i32::from(sample).min(32635))
    };
    let biased = magnitude + 0x84;
    let exponent = (31 - biased.leading_zeros()).saturating_sub(7).min(7);
    let mantissa = (biased >> (exponent + 3)) & 0x0f;
    !(sign | (exponent as u8) << 4 | mantissa as u8)
}

/// The gateway's SIP-side RTP address, from the `c=` and `m=audio` lines of the INVITE SIPp
/// received (RFC 4566 section 5.7 and 5.14).
pub(crate) fn gateway_rtp_addr(sipp: &Sipp) -> Result<SocketAddr> {
    let invite = sipp
        .logged()
        .into_iter()
        .find(|m| !m.sent && m.is_request("INVITE"))
        .context("SIPp received no INVITE")?;
    let line = |prefix: &str| {
        invite
            .text
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::to_owned))
    };
    let ip: IpAddr = line("c=IN IP4 ")
        .context("no c=IN IP4 line in the INVITE")?
        .trim()
        .parse()?;
    let port: u16 = line("m=audio ")
        .and_then(|rest| rest.split_whitespace().next().map(str::to_owned))
        .context("no m=audio line in the INVITE")?
        .parse()?;
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// G.711 table values: silence, the extremes.
    #[test]
    fn ulaw_matches_g711() {
        assert_eq!(ulaw(0), 0xff);
        assert_eq!(ulaw(i16::MAX), 0x80);
        assert_eq!(ulaw(-i16::MAX), 0x00);
        assert_eq!(ulaw(-1), 0x7f);
    }
}
