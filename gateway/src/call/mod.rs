//! One outbound call: the task that owns both media legs and follows the SIP session.
//!
//! The task holds the browser's peer connection (sans-I/O `rtc`), the WebRTC UDP socket, the SIP-side
//! RTP/RTCP sockets and the bridge, so a packet crosses the gateway without a channel hop or a lock.
//! SIP signalling lives in the SIP driver's user agent; this task receives its session events.

pub mod bridge;
mod rtcp_leg;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gateway_media::rtp::RtpFields;
use gateway_media::{G711Law, PortLease};
use gateway_sip::sdp::{self, AudioCodec, BrowserOffer, SipSdp};
use gateway_sip::ua::{EndCause, SessionEvent};
use rand::Rng;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::app::App;
use crate::signaling::messages::{CallState, ErrorCode, IceCandidate, ServerMessage};
use crate::sip_driver::SipCommand;
use crate::webrtc::{BrowserCodec, LegEvent, LegParams, WebrtcLeg};
use bridge::{Bridge, BridgeMode, LegIds};
use rtcp_leg::RtcpLeg;

/// What a call task tells its signaling session.
#[derive(Debug)]
pub enum CallEvent {
    /// A message for the client.
    ToClient(ServerMessage),
    /// The call is over and its task has finished.
    Finished(String),
}

/// What a session tells its call task.
#[derive(Debug)]
pub enum CallControl {
    /// A trickled candidate from the browser.
    Ice(Option<IceCandidate>),
    /// The client hangs up (or went away).
    Hangup,
}

/// Everything needed to start a call.
pub struct CallRequest {
    /// The gateway's call id.
    pub call_id: String,
    /// The client's reference.
    pub reference: String,
    /// The authenticated user placing the call.
    pub user: String,
    /// The dialled number.
    pub number: String,
    /// The browser's offer, as received.
    pub offer_sdp: String,
    /// The parsed offer.
    pub offer: BrowserOffer,
    /// Codecs to offer toward SIP, in order.
    pub sip_codecs: Vec<AudioCodec>,
}

struct Sockets {
    webrtc: UdpSocket,
    webrtc_addr: SocketAddr,
    rtp: UdpSocket,
    rtcp: UdpSocket,
    _leases: Vec<PortLease>,
}

struct Media {
    leg: WebrtcLeg,
    bridge: Bridge,
    sip_remote: SocketAddr,
    sip_rtcp_remote: SocketAddr,
}

/// Runs one call to its end. Never panics on peer input; every exit sends `ended` to the client.
pub async fn run(
    app: Arc<App>,
    req: CallRequest,
    to_session: mpsc::UnboundedSender<CallEvent>,
    mut control: mpsc::UnboundedReceiver<CallControl>,
) {
    let span = tracing::info_span!("call", call_id = %req.call_id, user = %req.user);
    let _guard = span.enter();
    drop(_guard);
    let call_id = req.call_id.clone();
    let send = |m: ServerMessage| {
        let _ = to_session.send(CallEvent::ToClient(m));
    };
    let ended = |sip_code: Option<u16>, reason: &str| ServerMessage::State {
        call_id: call_id.clone(),
        reference: Some(req.reference.clone()),
        state: CallState::Ended,
        sip_code,
        reason: Some(reason.to_owned()),
    };

    let sockets = match bind_sockets(&app).await {
        Ok(s) => s,
        Err(why) => {
            tracing::warn!(call_id = %call_id, %why, "no media ports for the call");
            send(ServerMessage::Error {
                reference: Some(req.reference.clone()),
                code: ErrorCode::Unavailable,
                message: format!("no media resources: {why}"),
            });
            send(ended(Some(503), "no_media_ports"));
            let _ = to_session.send(CallEvent::Finished(call_id));
            return;
        }
    };

    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_entropy();
    let local_sdp = SipSdp {
        session_id: rng.gen_range(1..1u64 << 48),
        session_version: rng.gen_range(1..1u64 << 48),
        origin_user: "-".to_owned(),
        addr: app.config.media.ip,
        audio: Some(sdp::MediaLine::offer(
            sockets.rtp.local_addr().map(|a| a.port()).unwrap_or(0),
            &req.sip_codecs,
        )),
    }
    .to_string();

    let handle = app.next_handle();
    let (sip_tx, mut sip_rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    if app
        .sip
        .send(SipCommand::Invite {
            handle,
            number: req.number.clone(),
            sdp: local_sdp,
            events: sip_tx,
        })
        .is_err()
    {
        send(ended(Some(503), "sip_unavailable"));
        let _ = to_session.send(CallEvent::Finished(call_id));
        return;
    }
    tracing::info!(call_id = %call_id, number = %req.number, "call started");

    let mut media: Option<Media> = None;
    let mut pending_ice: Vec<Option<IceCandidate>> = Vec::new();
    let mut sip_answered = false;
    let mut connected_sent = false;
    let mut hung_up = false;
    let mut last_rx_sip = Instant::now();
    let mut last_rx_browser = Instant::now();
    let mut rtcp = RtcpLeg::new(rng.r#gen());
    let mut rtcp_due = Instant::now() + Duration::from_secs(5);
    let rtp_timeout = app.config.media.rtp_timeout;
    let mut buf = vec![0u8; 2048];
    let mut buf2 = vec![0u8; 2048];
    let mut out = vec![0u8; 2048];
    let mut buf3 = vec![0u8; 2048];

    let end_reason: (Option<u16>, String) = 'call: loop {
        // Drain everything the WebRTC leg produced.
        if let Some(m) = media.as_mut() {
            while let Some((dest, data)) = m.leg.poll_transmit() {
                let _ = sockets.webrtc.send_to(&data, dest).await;
            }
            while let Some(ev) = m.leg.poll_event() {
                match ev {
                    LegEvent::Connected => {
                        tracing::debug!(call_id = %call_id, "webrtc leg connected");
                        last_rx_browser = Instant::now();
                        if sip_answered && !connected_sent {
                            connected_sent = true;
                            log_setup(&call_id, started);
                            send(state(
                                &call_id,
                                &req.reference,
                                CallState::Connected,
                                Some(200),
                            ));
                        }
                    }
                    LegEvent::Failed => {
                        app.sip.send(SipCommand::Hangup { handle }).ok();
                        hung_up = true;
                    }
                }
            }
            while let Some(pkt) = m.leg.poll_rtp() {
                last_rx_browser = Instant::now();
                let f = RtpFields {
                    pt: pkt.header.payload_type,
                    marker: pkt.header.marker,
                    seq: pkt.header.sequence_number,
                    ts: pkt.header.timestamp,
                    ssrc: pkt.header.ssrc,
                };
                let n = m.bridge.browser_to_sip(f, &pkt.payload, &mut out);
                if n > 0 {
                    rtcp.on_sent(&out[..n]);
                    let _ = sockets.rtp.send_to(&out[..n], m.sip_remote).await;
                }
            }
        }

        let mut deadline = rtcp_due.min(Instant::now() + Duration::from_secs(1));
        if let Some(t) = media.as_mut().and_then(|m| m.leg.poll_timeout()) {
            deadline = deadline.min(Instant::from_std(t));
        }

        tokio::select! {
            ev = sip_rx.recv() => match ev {
                Some(SessionEvent::Provisional { code, sdp }) => {
                    if let (Some(sdp), None) = (sdp.as_deref(), media.as_ref()) {
                        match setup_media(&app, &req, &sockets, sdp) {
                            Ok((m, answer)) => {
                                media = Some(m);
                                apply_ice(&mut media, &mut pending_ice);
                                send(ServerMessage::Answer { reference: req.reference.clone(), call_id: call_id.clone(), sdp: answer });
                                send(state(&call_id, &req.reference, CallState::EarlyMedia, Some(code)));
                            }
                            Err(why) => {
                                tracing::warn!(call_id = %call_id, %why, "early media SDP unusable; waiting for the answer");
                                send(state(&call_id, &req.reference, CallState::Ringing, Some(code)));
                            }
                        }
                    } else if media.is_none() {
                        send(state(&call_id, &req.reference, CallState::Ringing, Some(code)));
                    }
                }
                Some(SessionEvent::Answered { sdp }) => {
                    sip_answered = true;
                    tracing::info!(call_id = %call_id, elapsed_ms = started.elapsed().as_millis() as u64, "SIP answered");
                    if media.is_none() {
                        match sdp.as_deref().map(|s| setup_media(&app, &req, &sockets, s)) {
                            Some(Ok((m, answer))) => {
                                media = Some(m);
                                apply_ice(&mut media, &mut pending_ice);
                                send(ServerMessage::Answer { reference: req.reference.clone(), call_id: call_id.clone(), sdp: answer });
                            }
                            Some(Err(why)) => {
                                tracing::warn!(call_id = %call_id, %why, "answer SDP unusable; hanging up");
                                app.sip.send(SipCommand::Hangup { handle }).ok();
                                hung_up = true;
                                continue;
                            }
                            None => {
                                tracing::warn!(call_id = %call_id, "2xx without SDP; hanging up");
                                app.sip.send(SipCommand::Hangup { handle }).ok();
                                hung_up = true;
                                continue;
                            }
                        }
                    } else if let (Some(m), Some(sdp)) = (media.as_mut(), sdp.as_deref()) {
                        // The final answer may move the media (forking after early media).
                        if let Ok(answer) = SipSdp::parse(sdp) {
                            if let Ok(neg) = sdp::choose_answer_codec(&answer, &req.sip_codecs) {
                                m.sip_remote = neg.remote_addr;
                                m.sip_rtcp_remote = neg.remote_rtcp;
                            }
                        }
                    }
                    last_rx_sip = Instant::now();
                    if media.as_ref().is_some_and(|m| m.leg.is_connected()) && !connected_sent {
                        connected_sent = true;
                        log_setup(&call_id, started);
                        send(state(&call_id, &req.reference, CallState::Connected, Some(200)));
                    }
                }
                Some(SessionEvent::Ended(EndCause { code, reason })) => {
                    let reason = if hung_up && reason == "normal_clearing" && !sip_answered { "cancelled" } else { reason };
                    break 'call (code, reason.to_owned());
                }
                None => break 'call (Some(503), "sip_unavailable".to_owned()),
            },
            c = control.recv() => match c {
                Some(CallControl::Ice(cand)) => match media.as_mut() {
                    Some(m) => {
                        if let Err(e) = m.leg.add_remote_candidate(cand) {
                            send(ServerMessage::Error { reference: Some(req.reference.clone()), code: ErrorCode::BadRequest, message: e.to_string() });
                        }
                    }
                    None => pending_ice.push(cand),
                },
                Some(CallControl::Hangup) | None => {
                    if !hung_up {
                        hung_up = true;
                        app.sip.send(SipCommand::Hangup { handle }).ok();
                    }
                }
            },
            r = sockets.webrtc.recv_from(&mut buf) => {
                if let (Ok((n, from)), Some(m)) = (r, media.as_mut()) {
                    m.leg.handle_datagram(Instant::now().into_std(), from, &buf[..n]);
                }
            }
            r = sockets.rtp.recv_from(&mut buf2) => {
                if let (Ok((n, from)), Some(m)) = (r, media.as_mut()) {
                    if from.ip() == m.sip_remote.ip() {
                        last_rx_sip = Instant::now();
                        rtcp.on_received(&buf2[..n], Instant::now());
                        let now = Instant::now().into_std();
                        let Media { leg, bridge, .. } = m;
                        bridge.sip_to_browser(&buf2[..n], |f, payload| {
                            leg.send_rtp(now, f.seq, f.ts, f.marker, Bytes::copy_from_slice(payload));
                        });
                    }
                }
            }
            r = sockets.rtcp.recv_from(&mut buf3) => {
                if let Ok((n, _)) = r {
                    rtcp.on_rtcp(&buf3[..n], Instant::now());
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                let now = Instant::now();
                if let Some(m) = media.as_mut() {
                    m.leg.handle_timeout(now.into_std());
                    if now >= rtcp_due {
                        let n = rtcp.write_report(&mut out, now);
                        if n > 0 {
                            let _ = sockets.rtcp.send_to(&out[..n], m.sip_rtcp_remote).await;
                        }
                    }
                    let idle = now.duration_since(last_rx_sip.min(last_rx_browser));
                    if sip_answered && !hung_up && idle > rtp_timeout {
                        tracing::warn!(call_id = %call_id, idle_ms = idle.as_millis() as u64, "RTP timeout");
                        app.sip.send(SipCommand::Hangup { handle }).ok();
                        // The user agent reports the end at once; make the reason precise.
                        while let Some(ev) = sip_rx.recv().await {
                            if let SessionEvent::Ended(_) = ev {
                                break;
                            }
                        }
                        break 'call (None, "rtp_timeout".to_owned());
                    }
                }
                if now >= rtcp_due {
                    rtcp_due = now + Duration::from_secs(5);
                }
            }
        }
    };

    if let Some(m) = media.as_mut() {
        m.leg.close();
        while let Some((dest, data)) = m.leg.poll_transmit() {
            let _ = sockets.webrtc.send_to(&data, dest).await;
        }
    }
    tracing::info!(call_id = %call_id, sip_code = ?end_reason.0, reason = %end_reason.1, "call ended");
    send(ended(end_reason.0, &end_reason.1));
    let _ = to_session.send(CallEvent::Finished(call_id));
}

fn log_setup(call_id: &str, started: Instant) {
    tracing::info!(
        call_id,
        setup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "call connected"
    );
}

fn state(call_id: &str, reference: &str, state: CallState, sip_code: Option<u16>) -> ServerMessage {
    ServerMessage::State {
        call_id: call_id.to_owned(),
        reference: Some(reference.to_owned()),
        state,
        sip_code,
        reason: None,
    }
}

fn apply_ice(media: &mut Option<Media>, pending: &mut Vec<Option<IceCandidate>>) {
    if let Some(m) = media.as_mut() {
        for c in pending.drain(..) {
            if let Err(e) = m.leg.add_remote_candidate(c) {
                tracing::debug!(error = %e, "buffered candidate refused");
            }
        }
    }
}

/// Builds the WebRTC leg and the bridge from the SIP side's answer.
fn setup_media(
    app: &App,
    req: &CallRequest,
    sockets: &Sockets,
    sip_answer: &str,
) -> Result<(Media, String), String> {
    let answer = SipSdp::parse(sip_answer).map_err(|e| e.to_string())?;
    let neg = sdp::choose_answer_codec(&answer, &req.sip_codecs).map_err(|e| e.to_string())?;
    let (browser_kind, offered) = sdp::browser_codec_for(&req.offer, neg.sip_codec)
        .ok_or_else(|| "the browser offered no codec for the SIP side's choice".to_owned())?;
    let mode = if browser_kind == neg.sip_codec {
        BridgeMode::Passthrough
    } else {
        match neg.sip_codec {
            AudioCodec::Pcmu => BridgeMode::Transcode(G711Law::Ulaw),
            AudioCodec::Pcma => BridgeMode::Transcode(G711Law::Alaw),
            AudioCodec::Opus => return Err("no transcoding path to Opus".into()),
        }
    };
    let mut rng = rand::thread_rng();
    let browser_ssrc: u32 = rng.r#gen();
    let advertised = SocketAddr::new(
        app.config
            .webrtc
            .public_ip
            .unwrap_or(app.config.webrtc.host_ip),
        sockets.webrtc_addr.port(),
    );
    let codec = BrowserCodec {
        pt: offered.pt,
        name: offered.name.clone(),
        clock_rate: offered.clock_rate,
        channels: offered.channels,
        fmtp: offered.fmtp.clone(),
    };
    let (leg, answer_sdp) = WebrtcLeg::answer(
        Instant::now().into_std(),
        LegParams {
            offer_sdp: &req.offer_sdp,
            codec: &codec,
            local_addr: sockets.webrtc_addr,
            advertised,
            ssrc: browser_ssrc,
        },
    )
    .map_err(|e| e.to_string())?;
    let bridge = Bridge::new(
        mode,
        LegIds {
            ssrc: browser_ssrc,
            pt: offered.pt,
            seq: rng.r#gen(),
            ts: rng.r#gen(),
        },
        LegIds {
            ssrc: rng.r#gen(),
            pt: neg.sip_pt,
            seq: rng.r#gen(),
            ts: rng.r#gen(),
        },
    )
    .map_err(|e| e.to_string())?;
    tracing::info!(
        call_id = %req.call_id,
        sip_codec = ?neg.sip_codec,
        browser_codec = ?browser_kind,
        mode = ?mode,
        "media negotiated"
    );
    Ok((
        Media {
            leg,
            bridge,
            sip_remote: neg.remote_addr,
            sip_rtcp_remote: neg.remote_rtcp,
        },
        answer_sdp,
    ))
}

/// Binds the SIP-side RTP/RTCP pair and the WebRTC socket on ports from the configured range.
async fn bind_sockets(app: &App) -> Result<Sockets, String> {
    let mut leases = Vec::new();
    let media_ip = app.config.media.ip;
    let webrtc_ip = app.config.webrtc.host_ip;
    let mut rtp_pair = None;
    let mut webrtc = None;
    for _ in 0..32 {
        let Some(lease) = app.ports.allocate() else {
            return Err("RTP port range exhausted".into());
        };
        if rtp_pair.is_none() {
            let rtp = UdpSocket::bind((media_ip, lease.rtp_port())).await;
            let rtcp = UdpSocket::bind((media_ip, lease.rtcp_port())).await;
            if let (Ok(rtp), Ok(rtcp)) = (rtp, rtcp) {
                rtp_pair = Some((rtp, rtcp));
                leases.push(lease);
            }
            continue;
        }
        if let Ok(sock) = UdpSocket::bind((webrtc_ip, lease.rtp_port())).await {
            webrtc = Some(sock);
            leases.push(lease);
            break;
        }
    }
    let (Some((rtp, rtcp)), Some(webrtc)) = (rtp_pair, webrtc) else {
        return Err("could not bind media sockets".into());
    };
    let webrtc_addr = webrtc.local_addr().map_err(|e| e.to_string())?;
    Ok(Sockets {
        webrtc,
        webrtc_addr,
        rtp,
        rtcp,
        _leases: leases,
    })
}
