//! One simulated browser call: a WebSocket session, an `rtc` peer connection on a 127.0.0.1 UDP
//! socket (the offerer, as a browser is), 20 ms audio packets out, echoes back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_OPUS, MIME_TYPE_PCMU, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use serde_json::{Value, json};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

use crate::args::Codec;
use crate::audio::Frames;
use crate::probe::{Probe, stamp};
use crate::report::CallResult;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Packet interval of the audio.
const PTIME: Duration = Duration::from_millis(20);
/// Longest a call may take from `call` to `connected`.
const SETUP_LIMIT: Duration = Duration::from_secs(20);
/// Time left for echoes in flight after the last packet is sent.
const DRAIN: Duration = Duration::from_millis(300);
/// Longest wait for `ended` after `hangup`.
const HANGUP_LIMIT: Duration = Duration::from_secs(3);

/// Why a call failed; the text is what the summary counts.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The WebSocket could not be opened.
    #[error("websocket connect: {0}")]
    Connect(String),
    /// The WebSocket closed before the call ended.
    #[error("websocket closed during the call")]
    Closed,
    /// The gateway sent `error`.
    #[error("gateway error {0}")]
    Refused(String),
    /// The call ended before the hangup.
    #[error("ended early: {0}")]
    Ended(String),
    /// The WebRTC stack failed.
    #[error("webrtc: {0}")]
    Webrtc(String),
    /// A step did not happen in time.
    #[error("timeout waiting for {0}")]
    Timeout(&'static str),
    /// A local socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

fn webrtc<E: std::fmt::Display>(e: E) -> CallError {
    CallError::Webrtc(e.to_string())
}

/// What one call does, and when.
#[derive(Debug, Clone)]
pub struct CallSpec {
    /// `ws://127.0.0.1:<port>/ws?token=...`.
    pub url: String,
    /// Number dialled.
    pub number: String,
    /// Codec offered.
    pub codec: Codec,
    /// The audio to send.
    pub frames: Arc<Frames>,
    /// Time zero of the run (stamps are µs since it).
    pub epoch: Instant,
    /// When to stop sending audio.
    pub media: MediaWindow,
    /// Pace of the client's ICE connectivity checks.
    pub ice_check_interval: Duration,
}

/// When a call stops sending audio and hangs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaWindow {
    /// At this instant, whenever the call connected (every call up together for a hold).
    Until(Instant),
    /// This long after the gateway's `connected` (churn: each call on its own clock).
    For(Duration),
}

/// Runs one call to its end; never fails: failures are in the result.
pub async fn run(spec: CallSpec) -> CallResult {
    let mut result = CallResult::default();
    let mut probe = Probe::default();
    if let Err(e) = drive(&spec, &mut result, &mut probe).await {
        result.error = Some(e.to_string());
    }
    result.sent = probe.sent();
    result.received = probe.received();
    result.duplicates = probe.duplicates();
    result.matching = probe.matching;
    result.rtts_us = std::mem::take(&mut probe.rtts_us);
    result
}

struct Client {
    pc: RTCPeerConnection,
    sender: RTCRtpSenderId,
    ssrc: u32,
    sock: UdpSocket,
    local: SocketAddr,
}

async fn drive(spec: &CallSpec, r: &mut CallResult, probe: &mut Probe) -> Result<(), CallError> {
    // TCP_NODELAY on: Nagle's algorithm would add ~40 ms to the setup we measure.
    let connect = connect_async_with_config(spec.url.as_str(), None, true);
    let (mut ws, _) = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| CallError::Timeout("the websocket"))?
        .map_err(|e| CallError::Connect(e.to_string()))?;
    wait_hello(&mut ws).await?;

    let mut c = Client::new(spec, Instant::now()).await?;
    let offer = c.pc.create_offer(None).map_err(webrtc)?;
    c.pc.set_local_description(Instant::now().into_std(), offer)
        .map_err(webrtc)?;
    let sdp =
        c.pc.local_description()
            .ok_or_else(|| CallError::Webrtc("no local description".into()))?
            .sdp;
    let t_call = Instant::now();
    send_json(
        &mut ws,
        json!({"type": "call", "ref": "load", "to": spec.number, "sdp": sdp}),
    )
    .await?;

    let call_id = c.run_media(spec, &mut ws, t_call, r, probe).await;
    // Hang up whatever happened, so the gateway's side ends too.
    let hangup = match &call_id {
        Ok(Some(id)) => json!({"type": "hangup", "call_id": id}),
        _ => json!({"type": "hangup", "ref": "load"}),
    };
    let failed = call_id.is_err();
    let sent = send_json(&mut ws, hangup).await;
    if !failed && sent.is_ok() && !wait_ended(&mut ws).await {
        r.no_ended_after_hangup = true;
    }
    let _ = c.pc.close();
    c.flush().await;
    let _ = ws.close(None).await;
    call_id.map(|_| ())
}

impl Client {
    async fn new(spec: &CallSpec, now: Instant) -> Result<Client, CallError> {
        let sock = UdpSocket::bind("127.0.0.1:0").await?;
        let local = sock.local_addr()?;
        let (mime, clock_rate, channels, fmtp) = match spec.codec {
            Codec::Pcmu => (MIME_TYPE_PCMU, 8000, 1, ""),
            Codec::Opus => (MIME_TYPE_OPUS, 48000, 2, "minptime=10;useinbandfec=1"),
        };
        let codec = RTCRtpCodec {
            mime_type: mime.to_owned(),
            clock_rate,
            channels,
            sdp_fmtp_line: fmtp.to_owned(),
            rtcp_feedback: vec![],
        };
        let mut media = MediaEngine::default();
        media
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: codec.clone(),
                    payload_type: spec.frames.pt,
                },
                RtpCodecKind::Audio,
            )
            .map_err(webrtc)?;
        // No interceptors (RTCP reports, NACK): the client stays cheaper than the gateway.
        // The `rtc` default paces checks at 200 ms, and the first check waits for that tick;
        // a browser checks at once, so the client does too (else setup would measure the pacing).
        let attempts = (1400 / spec.ice_check_interval.as_millis().max(1)).clamp(7, 200) as u16;
        let settings = SettingEngineBuilder::new()
            .with_ice_connection_attempts(Some(spec.ice_check_interval), Some(attempts))
            .build();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(settings)
            .with_media_engine(media)
            .build(now.into_std())
            .map_err(webrtc)?;
        let ssrc = rand::random::<u32>();
        let track = MediaStreamTrack::new(
            "load".to_owned(),
            "load-audio".to_owned(),
            "audio".to_owned(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        );
        let sender = pc.add_track(track).map_err(webrtc)?;
        let host = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: local.ip().to_string(),
                port: local.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .map_err(webrtc)?;
        pc.add_local_candidate(RTCIceCandidate::from(&host).to_json().map_err(webrtc)?)
            .map_err(webrtc)?;
        pc.add_local_candidate(RTCIceCandidateInit::default())
            .map_err(webrtc)?;
        Ok(Client {
            pc,
            sender,
            ssrc,
            sock,
            local,
        })
    }

    /// Sends what the peer connection has queued.
    async fn flush(&mut self) {
        while let Some(m) = self.pc.poll_write() {
            let _ = self.sock.send_to(&m.message, m.transport.peer_addr).await;
        }
    }

    /// From `call` to the end of the hold: returns the gateway's call id.
    async fn run_media(
        &mut self,
        spec: &CallSpec,
        ws: &mut Ws,
        t_call: Instant,
        r: &mut CallResult,
        probe: &mut Probe,
    ) -> Result<Option<String>, CallError> {
        let mut buf = vec![0u8; 2048];
        let mut call_id = None;
        let mut next_send: Option<Instant> = None;
        let mut rtp_seq: u16 = rand::random();
        let mut rtp_ts: u32 = rand::random();
        // Known from the start for a hold; from `connected` on for churn.
        let mut media_end = match spec.media {
            MediaWindow::Until(t) => Some(t),
            MediaWindow::For(_) => None,
        };
        let elapsed_ms = |t: Instant| t.duration_since(t_call).as_secs_f64() * 1000.0;
        loop {
            self.flush().await;
            while let Some(ev) = self.pc.poll_event() {
                if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = ev {
                    match state {
                        RTCPeerConnectionState::Connected if r.ice_dtls_ms.is_none() => {
                            r.ice_dtls_ms = Some(elapsed_ms(Instant::now()));
                        }
                        RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                            return Err(CallError::Webrtc(format!("connection {state}")));
                        }
                        _ => {}
                    }
                }
            }
            let now = Instant::now();
            if r.connected_ms.is_none() && now > t_call + SETUP_LIMIT {
                return Err(CallError::Timeout("connected"));
            }
            let stop_at = media_end.map(|t| t + DRAIN);
            if stop_at.is_some_and(|t| now >= t) {
                return Ok(call_id);
            }
            // Media starts at the gateway's `connected`: both of its legs are up.
            if r.connected_ms.is_some() && next_send.is_none() {
                next_send = Some(now);
                if let MediaWindow::For(d) = spec.media {
                    media_end = Some(now + d);
                }
            }
            let sending = |t: Instant| media_end.is_some_and(|end| t < end);
            // Churn, not connected yet: wake up for the setup limit.
            let mut deadline = stop_at.unwrap_or(t_call + SETUP_LIMIT);
            if let Some(t) = self.pc.poll_timeout() {
                deadline = deadline.min(Instant::from_std(t));
            }
            if let Some(t) = next_send.filter(|_| sending(now)) {
                deadline = deadline.min(t);
            }
            tokio::select! {
                rx = self.sock.recv_from(&mut buf) => {
                    let (n, from) = rx?;
                    let now = Instant::now();
                    self.on_datagram(now, from, &buf[..n]);
                    let now_us = us_since(spec.epoch, now);
                    while let Some(TaggedRTCMessage { message, .. }) = self.pc.poll_read() {
                        if let RTCMessage::RtpPacket(_, p) = message {
                            probe.on_receive(now_us, p.header.sequence_number, &p.payload);
                        }
                    }
                }
                msg = ws.next() => {
                    let msg = match msg {
                        Some(Ok(m)) => m,
                        _ => return Err(CallError::Closed),
                    };
                    if let Some(id) = self.on_signal(&msg, t_call, r)? {
                        call_id = Some(id);
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let now = Instant::now();
                    let _ = self.pc.handle_timeout(now.into_std());
                    // Send what is due; after a stall, at most 3 packets at once.
                    let mut burst = 0;
                    while let Some(due) = next_send.filter(|t| *t <= now && sending(now)) {
                        if burst < 3 {
                            self.send_audio(spec, probe, now, rtp_seq, rtp_ts);
                            rtp_seq = rtp_seq.wrapping_add(1);
                            rtp_ts = rtp_ts.wrapping_add(spec.frames.ticks);
                            burst += 1;
                        }
                        next_send = Some(due + PTIME);
                    }
                }
            }
        }
    }

    fn on_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let msg = TaggedBytesMut {
            now: now.into_std(),
            transport: TransportContext {
                local_addr: self.local,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(data),
        };
        let _ = self.pc.handle_read(msg);
    }

    /// Handles one signaling frame; returns the call id when it is learnt.
    fn on_signal(
        &mut self,
        msg: &Message,
        t_call: Instant,
        r: &mut CallResult,
    ) -> Result<Option<String>, CallError> {
        let Message::Text(text) = msg else {
            return match msg {
                Message::Close(_) => Err(CallError::Closed),
                _ => Ok(None),
            };
        };
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let ms = Instant::now().duration_since(t_call).as_secs_f64() * 1000.0;
        let id = v["call_id"].as_str().map(str::to_owned);
        match v["type"].as_str() {
            Some("answer") => {
                r.answer_ms = Some(ms);
                let sdp = v["sdp"].as_str().unwrap_or_default().to_owned();
                let answer = RTCSessionDescription::answer(sdp).map_err(webrtc)?;
                self.pc
                    .set_remote_description(Instant::now().into_std(), answer)
                    .map_err(webrtc)?;
            }
            Some("state") => match v["state"].as_str() {
                Some("connected") if r.connected_ms.is_none() => r.connected_ms = Some(ms),
                Some("ended") => {
                    let reason = v["reason"].as_str().unwrap_or("?").to_owned();
                    return Err(CallError::Ended(reason));
                }
                _ => {}
            },
            Some("ice") => {
                if let Some(cand) = v["candidate"]["candidate"].as_str()
                    && !cand.is_empty()
                {
                    let init = RTCIceCandidateInit {
                        candidate: cand.to_owned(),
                        sdp_mid: v["candidate"]["sdpMid"].as_str().map(str::to_owned),
                        ..Default::default()
                    };
                    self.pc.add_remote_candidate(init).map_err(webrtc)?;
                }
            }
            Some("error") => {
                let code = v["code"].as_str().unwrap_or("?").to_owned();
                return Err(CallError::Refused(code));
            }
            _ => {}
        }
        Ok(id)
    }

    fn send_audio(&mut self, spec: &CallSpec, probe: &mut Probe, now: Instant, seq: u16, ts: u32) {
        let now_us = us_since(spec.epoch, now);
        let index = probe.on_send(now_us);
        let mut payload = BytesMut::from(spec.frames.get(u64::from(index)));
        stamp(&mut payload, index, now_us);
        let packet = rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                marker: index == 0,
                payload_type: spec.frames.pt,
                sequence_number: seq,
                timestamp: ts,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: payload.freeze(),
        };
        if let Some(mut sender) = self.pc.rtp_sender(self.sender) {
            let _ = sender.write_rtp(now.into_std(), packet);
        }
    }
}

async fn send_json(ws: &mut Ws, v: Value) -> Result<(), CallError> {
    ws.send(Message::text(v.to_string()))
        .await
        .map_err(|_| CallError::Closed)
}

async fn wait_hello(ws: &mut Ws) -> Result<(), CallError> {
    let wait = async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = &m
                && serde_json::from_str::<Value>(t).is_ok_and(|v| v["type"] == "hello")
            {
                return Ok(());
            }
            if let Message::Close(frame) = m {
                let why = frame.map_or_else(String::new, |f| format!("{} {}", f.code, f.reason));
                return Err(CallError::Connect(format!("closed before hello: {why}")));
            }
        }
        Err(CallError::Closed)
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .map_err(|_| CallError::Timeout("hello"))?
}

/// Whether the gateway said `ended` within [`HANGUP_LIMIT`] of the hangup.
async fn wait_ended(ws: &mut Ws) -> bool {
    let wait = async {
        while let Some(Ok(m)) = ws.next().await {
            match m {
                Message::Text(t)
                    if serde_json::from_str::<Value>(&t).is_ok_and(|v| v["state"] == "ended") =>
                {
                    return true;
                }
                Message::Close(_) => return false,
                // Pings and other frames: keep waiting.
                _ => {}
            }
        }
        false
    };
    tokio::time::timeout(HANGUP_LIMIT, wait)
        .await
        .unwrap_or(false)
}

/// µs from `epoch` to `t`.
pub fn us_since(epoch: Instant, t: Instant) -> u64 {
    t.duration_since(epoch).as_micros() as u64
}
