//! The WebRTC leg of a call: a thin wrapper over the sans-I/O `rtc` peer connection.
//!
//! The gateway is always the answerer. The peer connection is built only once the SIP side has
//! chosen its codec, so the answer to the browser can carry the same codec (passthrough) or Opus
//! (transcoding). Like the `rtc` core it wraps, this type does no I/O and reads no clock.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::peer_connection::certificate::{CertificateParams, RTCCertificate};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_PCMA, MIME_TYPE_PCMU, MIME_TYPE_TELEPHONE_EVENT,
    MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, CandidateServerReflexiveConfig, RTCIceCandidate,
    RTCIceCandidateInit,
};
use rtc::rtcp::payload_feedbacks::full_intra_request::{FirEntry, FullIntraRequest};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

use crate::signaling::messages::IceCandidate;

/// Errors of the WebRTC leg.
#[derive(Debug, thiserror::Error)]
pub enum WebrtcError {
    /// The browser's offer was refused by the WebRTC stack.
    #[error("the offer was not accepted: {0}")]
    Offer(String),
    /// A candidate could not be used.
    #[error("bad ICE candidate: {0}")]
    Candidate(String),
    /// Any other failure of the WebRTC stack.
    #[error("webrtc: {0}")]
    Stack(String),
}

fn stack<E: std::fmt::Display>(e: E) -> WebrtcError {
    WebrtcError::Stack(e.to_string())
}

/// The browser-side codec the answer carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserCodec {
    /// The payload type the browser offered for it.
    pub pt: u8,
    /// "opus", "PCMU" or "PCMA".
    pub name: String,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Channels as written in the offer's rtpmap.
    pub channels: u16,
    /// The offer's fmtp line for it, if any.
    pub fmtp: Option<String>,
}

impl BrowserCodec {
    fn mime(&self) -> String {
        match self.name.to_ascii_lowercase().as_str() {
            "opus" => MIME_TYPE_OPUS.to_owned(),
            "pcmu" => MIME_TYPE_PCMU.to_owned(),
            "pcma" => MIME_TYPE_PCMA.to_owned(),
            _ => format!("audio/{}", self.name),
        }
    }
}

/// The browser-side video codec the answer carries (issue 10): the one format both legs share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserVideo {
    /// The payload type the browser offered for it.
    pub pt: u8,
    /// VP8 or H.264.
    pub h264: bool,
    /// The fmtp to register and answer with (H.264: the browser's profile and mode).
    pub fmtp: Option<String>,
    /// The browser offered `ccm fir`.
    pub fir: bool,
    /// The browser offered `nack pli`.
    pub pli: bool,
    /// The browser offered `goog-remb`: the gateway tells it the bitrate cap with REMB.
    pub remb: bool,
    /// SSRC of the gateway's outgoing video toward the browser.
    pub ssrc: u32,
    /// `media.max_video_kbps`: written as `b=AS` in the answer's video section.
    pub max_kbps: u32,
}

/// The offer without the audio telephone-event payload types whose clock rate `drop(rate)` picks:
/// their `m=` format entries and their rtpmap/fmtp/rtcp-fb lines.
pub fn strip_telephone_events(sdp: &str, drop: impl Fn(u32) -> bool) -> String {
    let mut gone: Vec<String> = Vec::new();
    for line in sdp.lines() {
        if let Some(rest) = line.strip_prefix("a=rtpmap:")
            && let Some((pt, enc)) = rest.split_once(' ')
            && let Some(rate) = enc.strip_prefix("telephone-event/")
            && rate.trim().parse::<u32>().is_ok_and(&drop)
        {
            gone.push(pt.to_owned());
        }
    }
    if gone.is_empty() {
        return sdp.to_owned();
    }
    let is_gone_attr = |line: &str| {
        ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"].iter().any(|p| {
            line.strip_prefix(p)
                .and_then(|r| r.split(' ').next())
                .is_some_and(|pt| gone.iter().any(|g| g == pt))
        })
    };
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.lines() {
        if is_gone_attr(line) {
            continue;
        }
        if line.starts_with("m=audio ") {
            let kept: Vec<&str> = line
                .split(' ')
                .enumerate()
                .filter(|(i, f)| *i < 3 || !gone.iter().any(|g| g == f))
                .map(|(_, f)| f)
                .collect();
            out.push_str(&kept.join(" "));
        } else {
            out.push_str(line);
        }
        out.push_str("\r\n");
    }
    out
}

/// What the leg reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEvent {
    /// ICE and DTLS are up: media can flow.
    Connected,
    /// The connection failed or closed.
    Failed,
}

/// How many ICE-validated remote addresses a leg remembers: enough for every pair a browser checks
/// (host, reflexive, relayed, on each interface), an ICE restart and TURN; the oldest goes first.
const MAX_VALIDATED: usize = 16;

/// SRTP and SRTCP anti-replay windows, in packets (RFC 3711 §3.3.2 asks for at least 64). Set here
/// rather than left to the `rtc` default, so replay protection cannot silently change with it.
const SRTP_REPLAY_WINDOW: usize = 256;
/// The SRTCP anti-replay window, in packets: RTCP comes ~50 times less often than RTP.
const SRTCP_REPLAY_WINDOW: usize = 128;

/// Pace of the gateway's own ICE connectivity checks, and how many it sends per pair (together
/// 1.4 s, `rtc`'s default budget). `rtc`'s default pace of 200 ms made the first check of a pair
/// wait for a tick, and so a call's connection with it: the browser does not wait like that.
const ICE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);
/// Connectivity checks per candidate pair (70 x 20 ms = 1.4 s).
const ICE_MAX_CHECKS: u16 = 70;

/// The DTLS certificate of every peer connection of this process (RFC 8827 §6.5 allows one per
/// origin; browsers keep one per origin too). `rtc` otherwise generates a fresh ECDSA P-256 key and
/// self-signed certificate per peer connection: CPU and memory spent on every call's setup for
/// nothing, since the browser checks only that the certificate matches the `a=fingerprint` of our
/// answer. Made at the first call; valid far beyond any process lifetime (rcgen's default).
fn dtls_certificate() -> Result<RTCCertificate, WebrtcError> {
    static CERTIFICATE: std::sync::OnceLock<RTCCertificate> = std::sync::OnceLock::new();
    if let Some(c) = CERTIFICATE.get() {
        return Ok(c.clone());
    }
    let provider = rtc::crypto::default_provider().map_err(stack)?;
    let params = CertificateParams::new(vec!["webrtc-gateway".to_owned()]).map_err(stack)?;
    let made = RTCCertificate::generate(
        provider.crypto(),
        rtc::crypto::SignatureScheme::EcdsaP256Sha256,
        params,
    )
    .map_err(stack)?;
    // Two first calls at once: one certificate wins and both use it.
    Ok(CERTIFICATE.get_or_init(|| made).clone())
}

/// One browser peer connection, answering the browser's offer.
pub struct WebrtcLeg {
    pc: RTCPeerConnection,
    sender: RTCRtpSenderId,
    ssrc: u32,
    /// The video sender, its codec and the browser's video SSRC once seen (issue 10).
    video: Option<VideoSend>,
    /// A PLI or FIR from the browser for our video arrived since the last
    /// [`Self::take_keyframe_request`].
    keyframe_requested: bool,
    /// The telephone-event clock rate answered, so a renegotiation keeps the same one.
    te_rate: Option<u32>,
    candidates: CandidatePolicy,
    local_addr: SocketAddr,
    connected: bool,
    /// Remote addresses whose STUN Binding requests carried our ICE password, least recently
    /// validated first: the only sources DTLS and SRTP are taken from.
    validated: Vec<SocketAddr>,
    /// Non-STUN datagrams dropped because their source was not in `validated`.
    dropped_unvalidated: u64,
    /// Where datagrams handed to `rtc` are copied (it takes owned buffers): one allocation
    /// serves many packets, and is reused once `rtc` has dropped them (issue 9).
    rx_pool: BytesMut,
    /// The same for RTP payloads toward the browser.
    tx_pool: BytesMut,
}

/// The size of a leg's buffer pools ([`pooled`]): a few dozen packets.
const POOL_CHUNK: usize = 4 * 1024;

/// `data` as an owned buffer carved from `pool` instead of a fresh allocation per packet: the
/// pool is refilled (`reserve`) only when exhausted, and then reuses its allocation if every
/// buffer carved from it was dropped.
fn pooled(pool: &mut BytesMut, data: &[u8]) -> BytesMut {
    if pool.capacity() - pool.len() < data.len() {
        pool.reserve(POOL_CHUNK.max(data.len()));
    }
    pool.extend_from_slice(data);
    pool.split()
}

/// Parameters to build a leg.
pub struct LegParams<'a> {
    /// The browser's SDP offer.
    pub offer_sdp: &'a str,
    /// The single audio codec to answer with.
    pub codec: &'a BrowserCodec,
    /// The socket the leg's media arrives on.
    pub local_addr: SocketAddr,
    /// The address to advertise in the host candidate (public IP for 1:1 NAT, else the bound IP).
    pub advertised: SocketAddr,
    /// A server-reflexive address learnt from the STUN server, and that server's URL.
    pub srflx: Option<(SocketAddr, String)>,
    /// The browser's telephone-event (payload type, clock rate) to accept and send, if any.
    pub telephone_event: Option<(u8, u32)>,
    /// SSRC of the gateway's outgoing audio toward the browser.
    pub ssrc: u32,
    /// Which remote candidates to try.
    pub candidates: CandidatePolicy,
    /// The video codec to answer with; `None` rejects any video m-line (port 0).
    pub video: Option<BrowserVideo>,
}

/// The video half of a leg.
struct VideoSend {
    sender: RTCRtpSenderId,
    params: BrowserVideo,
    /// The browser's video SSRC, learnt from its first video packet: keyframe requests and
    /// REMB name it.
    remote_ssrc: Option<u32>,
    /// RFC 5104 §4.3.1.2: the FIR sequence number grows with every new request.
    fir_seq: u8,
}

impl WebrtcLeg {
    /// Builds the peer connection, applies the offer and returns the leg with its SDP answer.
    pub fn answer(now: Instant, params: LegParams<'_>) -> Result<(Self, String), WebrtcError> {
        let mut media_engine = MediaEngine::default();
        let codec = RTCRtpCodec {
            mime_type: params.codec.mime(),
            clock_rate: params.codec.clock_rate,
            channels: params.codec.channels,
            sdp_fmtp_line: params.codec.fmtp.clone().unwrap_or_default(),
            rtcp_feedback: vec![],
        };
        media_engine
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: codec.clone(),
                    payload_type: params.codec.pt,
                },
                RtpCodecKind::Audio,
            )
            .map_err(stack)?;
        if let Some((pt, rate)) = params.telephone_event {
            media_engine
                .register_codec(
                    RTCRtpCodecParameters {
                        rtp_codec: RTCRtpCodec {
                            mime_type: MIME_TYPE_TELEPHONE_EVENT.to_owned(),
                            clock_rate: rate,
                            channels: 1,
                            sdp_fmtp_line: "0-15".to_owned(),
                            rtcp_feedback: vec![],
                        },
                        payload_type: pt,
                    },
                    RtpCodecKind::Audio,
                )
                .map_err(stack)?;
        }
        let video_codec = params.video.as_ref().map(video_rtc_codec);
        if let (Some(v), Some(codec)) = (&params.video, &video_codec) {
            media_engine
                .register_codec(
                    RTCRtpCodecParameters {
                        rtp_codec: codec.clone(),
                        payload_type: v.pt,
                    },
                    RtpCodecKind::Video,
                )
                .map_err(stack)?;
        }
        // Audio needs only the RTCP reports (issue 9: NACK and transport-cc feedback serve no
        // audio codec here). Video adds NACK (generator and responder: the browser repairs loss
        // on its hop), transport-cc toward the browser's send-side estimate (`rtc` negotiates it
        // for the call's audio too then), and the MID/RID header extensions BUNDLE
        // demultiplexes with.
        let mut registry = configure_rtcp_reports(Registry::new());
        if let Some(v) = &params.video {
            registry = registry.with(KEYFRAME_SLOT, KeyframeRequests::new(v.ssrc));
            registry = nack(registry, &mut media_engine);
            configure_simulcast_extension_headers(&mut media_engine).map_err(stack)?;
            registry = configure_twcc_receiver_only(registry, &mut media_engine).map_err(stack)?;
        }
        // The DTLS certificate is checked against the offer's `a=fingerprint` because this never
        // calls `with_disable_certificate_fingerprint_verification` (issue 8, media safety).
        let setting_engine = SettingEngineBuilder::new()
            .with_srtp_replay_protection_window(SRTP_REPLAY_WINDOW)
            .with_srtcp_replay_protection_window(SRTCP_REPLAY_WINDOW)
            .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_CHECKS))
            .build();
        let configuration = RTCConfigurationBuilder::new()
            .with_certificates(vec![dtls_certificate()?])
            .build();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(configuration)
            .with_media_engine(media_engine)
            .with_setting_engine(setting_engine)
            .with_interceptor_registry(registry)
            .build(now)
            .map_err(stack)?;

        // The stack matches codecs by MIME type and fmtp only; Chromium's two telephone-events
        // (126/8000 and 110/48000) share an fmtp, so keep only the one at our codec's rate.
        let offer_sdp = match params.telephone_event {
            Some((_, rate)) => strip_telephone_events(params.offer_sdp, |r| r != rate),
            None => params.offer_sdp.to_owned(),
        };
        let offer_sdp = without_simulcast(&params.candidates.filter_sdp(&offer_sdp));
        let offer = RTCSessionDescription::offer(offer_sdp)
            .map_err(|e| WebrtcError::Offer(e.to_string()))?;
        pc.set_remote_description(now, offer)
            .map_err(|e| WebrtcError::Offer(e.to_string()))?;

        let track = MediaStreamTrack::new(
            "webrtc-gateway".to_owned(),
            "webrtc-gateway-audio".to_owned(),
            "audio".to_owned(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(params.ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        );
        let sender = pc.add_track(track).map_err(stack)?;
        let video = match (&params.video, video_codec) {
            (Some(v), Some(codec)) => {
                let track = MediaStreamTrack::new(
                    "webrtc-gateway".to_owned(),
                    "webrtc-gateway-video".to_owned(),
                    "video".to_owned(),
                    RtpCodecKind::Video,
                    vec![RTCRtpEncodingParameters {
                        rtp_coding_parameters: RTCRtpCodingParameters {
                            ssrc: Some(v.ssrc),
                            ..Default::default()
                        },
                        codec,
                        ..Default::default()
                    }],
                );
                Some(VideoSend {
                    sender: pc.add_track(track).map_err(stack)?,
                    params: v.clone(),
                    remote_ssrc: None,
                    fir_seq: 0,
                })
            }
            _ => None,
        };

        let host = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: params.advertised.ip().to_string(),
                port: params.advertised.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .map_err(stack)?;
        let init = RTCIceCandidate::from(&host).to_json().map_err(stack)?;
        pc.add_local_candidate(init).map_err(stack)?;
        if let Some((mapped, url)) = &params.srflx
            && *mapped != params.advertised
        {
            let srflx = CandidateServerReflexiveConfig {
                base_config: CandidateConfig {
                    network: "udp".to_owned(),
                    address: mapped.ip().to_string(),
                    port: mapped.port(),
                    component: 1,
                    ..Default::default()
                },
                rel_addr: params.local_addr.ip().to_string(),
                rel_port: params.local_addr.port(),
                url: Some(url.clone()),
            }
            .new_candidate_server_reflexive()
            .map_err(stack)?;
            let mut init = RTCIceCandidate::from(&srflx).to_json().map_err(stack)?;
            init.url = Some(url.clone());
            pc.add_local_candidate(init).map_err(stack)?;
        }
        // End of gathering: every candidate the gateway has is known up front.
        pc.add_local_candidate(RTCIceCandidateInit::default())
            .map_err(stack)?;

        let answer = pc.create_answer(None).map_err(stack)?;
        pc.set_local_description(now, answer).map_err(stack)?;
        let sdp = pc
            .local_description()
            .map(|d| d.sdp)
            .ok_or_else(|| WebrtcError::Stack("no local description after answer".into()))?;
        let sdp = match &video {
            Some(v) => with_video_bandwidth(&sdp, v.params.max_kbps),
            None => sdp,
        };
        Ok((
            Self {
                pc,
                sender,
                ssrc: params.ssrc,
                video,
                keyframe_requested: false,
                te_rate: params.telephone_event.map(|t| t.1),
                candidates: params.candidates.clone(),
                local_addr: params.local_addr,
                connected: false,
                validated: Vec::with_capacity(MAX_VALIDATED),
                dropped_unvalidated: 0,
                rx_pool: BytesMut::with_capacity(POOL_CHUNK),
                tx_pool: BytesMut::with_capacity(POOL_CHUNK),
            },
            sdp,
        ))
    }

    /// Answers a new offer from the browser on the same connection (ICE restart after a network
    /// change, RFC 8445 §9): the media keeps its SSRCs, codecs and sockets; only ICE starts over.
    pub fn renegotiate(&mut self, now: Instant, offer_sdp: &str) -> Result<String, WebrtcError> {
        let offer_sdp = match self.te_rate {
            Some(rate) => strip_telephone_events(offer_sdp, |r| r != rate),
            None => offer_sdp.to_owned(),
        };
        let offer_sdp = without_simulcast(&self.candidates.filter_sdp(&offer_sdp));
        let offer = RTCSessionDescription::offer(offer_sdp)
            .map_err(|e| WebrtcError::Offer(e.to_string()))?;
        self.pc
            .set_remote_description(now, offer)
            .map_err(|e| WebrtcError::Offer(e.to_string()))?;
        let answer = self.pc.create_answer(None).map_err(stack)?;
        self.pc.set_local_description(now, answer).map_err(stack)?;
        let sdp = self
            .pc
            .local_description()
            .map(|d| d.sdp)
            .ok_or_else(|| WebrtcError::Stack("no local description after answer".into()))?;
        Ok(match &self.video {
            Some(v) => with_video_bandwidth(&sdp, v.params.max_kbps),
            None => sdp,
        })
    }

    /// Adds a trickled remote candidate (`None` = end of candidates).
    pub fn add_remote_candidate(&mut self, c: Option<IceCandidate>) -> Result<(), WebrtcError> {
        let Some(c) = c else {
            return Ok(());
        };
        if c.candidate.trim().is_empty() {
            return Ok(());
        }
        if !self.candidates.allows(&c.candidate) {
            tracing::debug!("remote candidate refused by policy");
            return Ok(());
        }
        self.pc
            .add_remote_candidate(RTCIceCandidateInit {
                candidate: c.candidate,
                sdp_mid: c.sdp_mid,
                sdp_mline_index: c.sdp_mline_index,
                username_fragment: c.username_fragment,
                ..Default::default()
            })
            .map_err(|e| WebrtcError::Candidate(e.to_string()))
    }

    /// Feeds one datagram received on the leg's socket.
    ///
    /// Once any candidate pair is selected, `rtc` hands every non-STUN datagram to DTLS and SRTP
    /// whatever its source, so DTLS and media are taken only from addresses ICE validated (issue 8,
    /// media safety). STUN always goes through: `rtc` checks its MESSAGE-INTEGRITY itself.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        // RFC 7983 §7: a first byte of 0..=3 is STUN; anything else is DTLS, RTP/RTCP or junk.
        let stun = matches!(data.first(), Some(0..=3));
        // Searched from the back: the pair in use is re-validated by every consent check.
        if !stun && !self.validated.iter().rev().any(|a| *a == from) {
            self.dropped_unvalidated += 1;
            tracing::trace!(%from, "datagram from an address ICE has not validated dropped");
            return;
        }
        let msg = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: self.local_addr,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: pooled(&mut self.rx_pool, data),
        };
        if let Err(e) = self.pc.handle_read(msg) {
            tracing::trace!(error = %e, %from, "webrtc datagram rejected");
        }
    }

    /// The next datagram to send, with its destination.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, BytesMut)> {
        let m = self.pc.poll_write()?;
        let dest = m.transport.peer_addr;
        // `rtc` answers a Binding request with success only once its USERNAME and
        // MESSAGE-INTEGRITY (our ICE password) checked out: the request's source is validated.
        if is_binding_success(&m.message) {
            self.validate(dest);
        }
        Some((dest, m.message))
    }

    /// Records `addr` as the most recently validated remote address.
    fn validate(&mut self, addr: SocketAddr) {
        if let Some(i) = self.validated.iter().position(|a| *a == addr) {
            self.validated.remove(i);
        } else {
            if self.validated.len() == MAX_VALIDATED {
                let oldest = self.validated.remove(0);
                tracing::debug!(%oldest, "ICE-validated address forgotten");
            }
            tracing::debug!(%addr, "remote address validated by ICE");
        }
        self.validated.push(addr);
    }

    /// How many non-STUN datagrams were dropped because their source was not ICE-validated.
    pub fn dropped_unvalidated(&self) -> u64 {
        self.dropped_unvalidated
    }

    /// The next state change worth telling the driver about.
    pub fn poll_event(&mut self) -> Option<LegEvent> {
        while let Some(ev) = self.pc.poll_event() {
            match ev {
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                    tracing::debug!(%state, "webrtc connection state");
                    match state {
                        RTCPeerConnectionState::Connected if !self.connected => {
                            self.connected = true;
                            return Some(LegEvent::Connected);
                        }
                        RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                            return Some(LegEvent::Failed);
                        }
                        _ => {}
                    }
                }
                RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                    tracing::debug!(track = %init.track_id, "browser audio track open");
                }
                _ => {}
            }
        }
        None
    }

    /// The next RTP packet received from the browser (already decrypted), audio or video (tell
    /// them apart by payload type). RTCP read on the way is looked at for keyframe requests.
    pub fn poll_rtp(&mut self) -> Option<rtc::rtp::Packet> {
        while let Some(TaggedRTCMessage { message, .. }) = self.pc.poll_read() {
            match message {
                RTCMessage::RtpPacket(_, packet) => {
                    if let Some(v) = self.video.as_mut()
                        && packet.header.payload_type == v.params.pt
                    {
                        v.remote_ssrc = Some(packet.header.ssrc);
                    }
                    return Some(packet);
                }
                RTCMessage::RtcpPacket(_, packets) => self.on_rtcp(&packets),
                _ => {}
            }
        }
        None
    }

    /// Notes a PLI or FIR (RFC 4585 §6.3.1, RFC 5104 §4.3.1) about our video.
    fn on_rtcp(&mut self, packets: &[Box<dyn rtc::rtcp::Packet>]) {
        let Some(v) = &self.video else {
            return;
        };
        if asks_keyframe(packets, v.params.ssrc) {
            tracing::trace!("keyframe request from the browser");
            self.keyframe_requested = true;
        }
    }

    /// Whether the browser asked for a keyframe of our video since the last call.
    pub fn take_keyframe_request(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_requested)
    }

    /// The browser's video payload type, if the call has video.
    pub fn video_pt(&self) -> Option<u8> {
        self.video.as_ref().map(|v| v.params.pt)
    }

    /// Sends one video RTP packet to the browser with the leg's video SSRC and payload type.
    pub fn send_video_rtp(
        &mut self,
        now: Instant,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: &[u8],
    ) {
        let Some(v) = &self.video else {
            return;
        };
        let payload = pooled(&mut self.tx_pool, payload).freeze();
        let packet = rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                marker,
                payload_type: v.params.pt,
                sequence_number: seq,
                timestamp: ts,
                ssrc: v.params.ssrc,
                ..Default::default()
            },
            payload,
        };
        if let Some(mut sender) = self.pc.rtp_sender(v.sender)
            && let Err(e) = sender.write_rtp(now, packet)
        {
            tracing::trace!(error = %e, "video rtp to browser dropped");
        }
    }

    /// Asks the browser for a keyframe of its video: PLI, or FIR when only that was offered.
    /// Returns false while the browser's video SSRC is unknown (nothing received yet).
    pub fn request_keyframe(&mut self, now: Instant) -> bool {
        let Some(v) = self.video.as_mut() else {
            return false;
        };
        let Some(media_ssrc) = v.remote_ssrc else {
            return false;
        };
        let packet: Box<dyn rtc::rtcp::Packet> = if v.params.pli || !v.params.fir {
            Box::new(PictureLossIndication {
                sender_ssrc: v.params.ssrc,
                media_ssrc,
            })
        } else {
            v.fir_seq = v.fir_seq.wrapping_add(1);
            Box::new(FullIntraRequest {
                sender_ssrc: v.params.ssrc,
                media_ssrc: 0,
                fir: vec![FirEntry {
                    ssrc: media_ssrc,
                    sequence_number: v.fir_seq,
                }],
            })
        };
        let sender = v.sender;
        self.write_rtcp(now, sender, vec![packet])
    }

    /// Tells the browser the most it may send (REMB, draft-alvestrand-rmcat-remb §2), when it
    /// offered `goog-remb` and its video SSRC is known.
    pub fn send_remb(&mut self, now: Instant, bps: u64) -> bool {
        let Some(v) = &self.video else {
            return false;
        };
        let (Some(media_ssrc), true) = (v.remote_ssrc, v.params.remb) else {
            return false;
        };
        let packet = Box::new(ReceiverEstimatedMaximumBitrate {
            sender_ssrc: v.params.ssrc,
            bitrate: bps as f32,
            ssrcs: vec![media_ssrc],
        });
        let sender = v.sender;
        self.write_rtcp(now, sender, vec![packet])
    }

    fn write_rtcp(
        &mut self,
        now: Instant,
        sender: RTCRtpSenderId,
        packets: Vec<Box<dyn rtc::rtcp::Packet>>,
    ) -> bool {
        match self
            .pc
            .rtp_sender(sender)
            .map(|mut s| s.write_rtcp(now, packets))
        {
            Some(Ok(())) => true,
            Some(Err(e)) => {
                tracing::trace!(error = %e, "rtcp to browser dropped");
                false
            }
            None => false,
        }
    }

    /// Sends one RTP packet to the browser with the leg's SSRC and payload type `pt` (the audio
    /// codec's, or telephone-event's).
    pub fn send_rtp(
        &mut self,
        now: Instant,
        pt: u8,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: &[u8],
    ) {
        let payload = pooled(&mut self.tx_pool, payload).freeze();
        let packet = rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                marker,
                payload_type: pt,
                sequence_number: seq,
                timestamp: ts,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload,
        };
        if let Some(mut sender) = self.pc.rtp_sender(self.sender)
            && let Err(e) = sender.write_rtp(now, packet)
        {
            tracing::trace!(error = %e, "rtp to browser dropped");
        }
    }

    /// Whether ICE and DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The next deadline of the WebRTC stack.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.pc.poll_timeout()
    }

    /// Tells the stack a deadline passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Err(e) = self.pc.handle_timeout(now) {
            tracing::trace!(error = %e, "webrtc timeout handling");
        }
    }

    /// Closes the peer connection (sends DTLS close_notify).
    pub fn close(&mut self) {
        if let Err(e) = self.pc.close() {
            tracing::trace!(error = %e, "webrtc close");
        }
    }
}

/// Packets of our video kept for the browser's NACKs (RFC 4585 §6.2.1): ~2.5 s at 1 Mbit/s
/// (`rtc`'s default 1024 held ~1.2 MB per video call, ten times the rest of a call).
const NACK_HISTORY: u16 = 256;

/// `rtc`'s `configure_nack` with a shorter send history ([`NACK_HISTORY`]).
fn nack(registry: Registry, media_engine: &mut MediaEngine) -> Registry {
    for parameter in ["", "pli"] {
        media_engine.register_feedback(
            RTCPFeedback {
                typ: "nack".to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    registry
        .with(
            rtc::interceptor::Slot::NackResponder,
            rtc::interceptor::NackResponderBuilder::new()
                .with_size(NACK_HISTORY)
                .build(),
        )
        .with(
            rtc::interceptor::Slot::NackGenerator,
            rtc::interceptor::NackGeneratorBuilder::new().build(),
        )
}

/// Where [`KeyframeRequests`] sits in the interceptor chain: above every built-in slot, so it
/// sees inbound RTCP after the reports and NACK interceptors took what they need.
const KEYFRAME_SLOT: rtc::interceptor::Slot = rtc::interceptor::Slot::Custom(20_000);

/// Lets the browser's keyframe requests about our video (PLI, FIR) reach the application:
/// `rtc`'s chain ends every inbound RTCP packet at its terminus unless an interceptor marks it
/// [`Attribute::DeliverToApplication`](rtc::interceptor::Attribute). Everything else passes as is.
struct KeyframeRequests {
    ours: u32,
    read: std::collections::VecDeque<rtc::interceptor::TaggedPacket>,
    write: std::collections::VecDeque<rtc::interceptor::TaggedPacket>,
}

impl KeyframeRequests {
    fn new(ours: u32) -> Self {
        Self {
            ours,
            read: Default::default(),
            write: Default::default(),
        }
    }
}

/// Whether `packets` hold a PLI or FIR (RFC 4585 §6.3.1, RFC 5104 §4.3.1) about `ours`.
fn asks_keyframe(packets: &[Box<dyn rtc::rtcp::Packet>], ours: u32) -> bool {
    packets.iter().any(|p| {
        let any = p.as_any();
        any.downcast_ref::<PictureLossIndication>()
            .is_some_and(|pli| pli.media_ssrc == ours)
            || any
                .downcast_ref::<FullIntraRequest>()
                .is_some_and(|fir| fir.fir.iter().any(|e| e.ssrc == ours))
    })
}

impl Protocol<rtc::interceptor::TaggedPacket, rtc::interceptor::TaggedPacket, ()>
    for KeyframeRequests
{
    type Rout = rtc::interceptor::TaggedPacket;
    type Wout = rtc::interceptor::TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: rtc::interceptor::TaggedPacket) -> Result<(), Self::Error> {
        if let rtc::interceptor::Packet::Rtcp(packets) = &msg.message.packet
            && asks_keyframe(packets, self.ours)
        {
            msg.message
                .add(rtc::interceptor::Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: rtc::interceptor::TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }

    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Self::Error> {
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Self::Time> {
        None
    }
}

impl rtc::interceptor::Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _info: &rtc::interceptor::StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &rtc::interceptor::StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &rtc::interceptor::StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &rtc::interceptor::StreamInfo) {}
}

/// The `rtc` codec for the browser's video format, with the feedback the gateway serves.
fn video_rtc_codec(v: &BrowserVideo) -> RTCRtpCodec {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    let mut rtcp_feedback = vec![];
    if v.fir {
        rtcp_feedback.push(fb("ccm", "fir"));
    }
    if v.remb {
        rtcp_feedback.push(fb("goog-remb", ""));
    }
    // `nack`, `nack pli` and `transport-cc` are added by the interceptors' configuration.
    RTCRtpCodec {
        mime_type: if v.h264 {
            MIME_TYPE_H264
        } else {
            MIME_TYPE_VP8
        }
        .to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: v.fmtp.clone().unwrap_or_default(),
        rtcp_feedback,
    }
}

/// The offer without simulcast (`a=simulcast`, `a=rid`; RFC 8853, RFC 8851): Asterisk takes one
/// video stream, and `rtc` would otherwise accept every layer on one payload type, which the
/// gateway would interleave into one garbled stream. Declined, the browser sends a single
/// encoding.
pub fn without_simulcast(sdp: &str) -> String {
    if !sdp.contains("a=simulcast:") && !sdp.contains("a=rid:") {
        return sdp.to_owned();
    }
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.lines() {
        if line.starts_with("a=simulcast:") || line.starts_with("a=rid:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

/// The answer with `b=AS:<kbps>` (RFC 4566 §5.8) in each active video section: browsers cap
/// what they send to it, whatever their own bandwidth estimate says.
pub fn with_video_bandwidth(sdp: &str, kbps: u32) -> String {
    let mut out = String::with_capacity(sdp.len() + 16);
    let mut in_video = false;
    for line in sdp.lines() {
        if line.starts_with("m=") {
            in_video = line.starts_with("m=video ") && !line.starts_with("m=video 0 ");
        } else if in_video && line.starts_with("b=") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
        // RFC 4566 §5: b= comes right after the media section's c= line.
        if in_video && line.starts_with("c=") {
            out.push_str(&format!("b=AS:{kbps}\r\n"));
        }
    }
    out
}

/// Whether `d` is a STUN Binding success response (RFC 8489 §5: type 0x0101, magic cookie).
fn is_binding_success(d: &[u8]) -> bool {
    d.len() >= 20 && d[..2] == [0x01, 0x01] && d[4..8] == [0x21, 0x12, 0xA4, 0x42]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 9: a packet handed to `rtc` costs no allocation once the pool is warm: buffers
    /// dropped by then are reused, so every packet lands in the pool's one allocation.
    #[test]
    fn pooled_buffers_reuse_one_allocation() {
        let mut pool = BytesMut::with_capacity(POOL_CHUNK);
        let data = [7u8; 200];
        let first = pooled(&mut pool, &data);
        let base = first.as_ptr() as usize;
        drop(first);
        for i in 0..1000 {
            let b = pooled(&mut pool, &data);
            assert_eq!(&b[..], &data[..]);
            let at = b.as_ptr() as usize;
            assert!(
                (base..base + POOL_CHUNK).contains(&at),
                "packet {i} was allocated elsewhere"
            );
        }
        // A buffer still held (e.g. in rtc's NACK history) only makes the pool move on.
        let held = pooled(&mut pool, &data);
        for _ in 0..100 {
            let _ = pooled(&mut pool, &data);
        }
        assert_eq!(&held[..], &data[..]);
    }

    /// RFC 8489 §5: only a Binding success response validates its destination.
    #[test]
    fn recognises_binding_success() {
        let mut m = [0u8; 20];
        m[..8].copy_from_slice(&[0x01, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42]);
        assert!(is_binding_success(&m));
        assert!(!is_binding_success(&m[..19]));
        m[1] = 0x11; // Binding error response
        assert!(!is_binding_success(&m));
        m[1] = 0x01;
        m[4] = 0; // no magic cookie: RFC 3489 or not STUN at all
        assert!(!is_binding_success(&m));
    }

    fn answer_video(offer: &str, video: Option<BrowserVideo>) -> String {
        #[allow(clippy::disallowed_methods)] // a test's only clock read
        let now = Instant::now();
        let codec = BrowserCodec {
            pt: 0,
            name: "PCMU".to_owned(),
            clock_rate: 8000,
            channels: 1,
            fmtp: None,
        };
        let (_, answer) = WebrtcLeg::answer(
            now,
            LegParams {
                offer_sdp: offer,
                codec: &codec,
                local_addr: "127.0.0.1:40000".parse().unwrap(),
                advertised: "127.0.0.1:40000".parse().unwrap(),
                srflx: None,
                telephone_event: None,
                ssrc: 1,
                candidates: CandidatePolicy::default(),
                video,
            },
        )
        .unwrap();
        answer
    }

    /// Chromium's VP8 (PT 96) with every feedback, as the gateway answers it.
    fn vp8() -> BrowserVideo {
        BrowserVideo {
            pt: 96,
            h264: false,
            fmtp: None,
            fir: true,
            pli: true,
            remb: true,
            ssrc: 7,
            max_kbps: 1500,
        }
    }

    fn video_section(answer: &str) -> Vec<&str> {
        answer
            .lines()
            .skip_while(|l| !l.starts_with("m=video"))
            .take_while(|l| l.starts_with("m=video") || !l.starts_with("m="))
            .collect()
    }

    /// Issue 10: the answer to Chromium's audio+video offer keeps only the codec both legs share
    /// (VP8 here, at the browser's payload type), the keyframe and bitrate feedback, and a
    /// `b=AS` cap (RFC 4566 §5.8); without a video codec the video m-line is rejected (port 0).
    #[test]
    fn answers_video_with_one_codec_and_a_cap() {
        let offer = include_str!("../../tests/data/sdp/chromium156-audio-video.sdp");
        let vp8 = vp8();
        let answer = answer_video(offer, Some(vp8));
        let v = video_section(&answer);
        assert!(
            v[0].starts_with("m=video ") && v[0].ends_with(" 96"),
            "{answer}"
        );
        assert!(!v[0].starts_with("m=video 0 "), "{answer}");
        for line in [
            "a=rtpmap:96 VP8/90000",
            "a=rtcp-fb:96 nack pli",
            "a=rtcp-fb:96 ccm fir",
            "a=rtcp-fb:96 goog-remb",
            "b=AS:1500",
        ] {
            assert!(v.contains(&line), "{line} missing:\n{answer}");
        }
        assert!(!answer.contains("H264"), "{answer}");
        assert!(v.iter().any(|l| l.starts_with("a=ssrc:7 ")), "{answer}");

        let answer = answer_video(offer, None);
        let v = video_section(&answer);
        assert!(v[0].starts_with("m=video 0 "), "{answer}");
        assert!(!v.iter().any(|l| l.starts_with("b=AS")), "{answer}");
    }

    /// A simulcast offer (three `a=rid` layers; hand-made from the Chromium capture, which has
    /// none) is answered without simulcast: the browser then sends one encoding.
    #[test]
    fn declines_simulcast() {
        let offer = include_str!("../../tests/data/sdp/chromium156-audio-video.sdp");
        let simulcast = offer.replace(
            "a=rtpmap:96 VP8/90000\r\n",
            "a=rtpmap:96 VP8/90000\r\na=rid:h send\r\na=rid:m send\r\na=rid:l send\r\n\
             a=simulcast:send h;m;l\r\n",
        );
        assert!(simulcast.contains("a=simulcast:send"));
        let vp8 = vp8();
        let answer = answer_video(&simulcast, Some(vp8));
        assert!(
            !answer.contains("a=simulcast") && !answer.contains("a=rid:"),
            "{answer}"
        );
        assert!(
            !video_section(&answer)[0].starts_with("m=video 0 "),
            "{answer}"
        );
        assert_eq!(without_simulcast(offer), offer);
    }

    /// Chromium's H.264 Constrained Baseline at PT 102 (packetization-mode=1) is answered with
    /// its own fmtp.
    #[test]
    fn answers_h264_with_the_browser_fmtp() {
        let offer = include_str!("../../tests/data/sdp/chromium156-audio-video.sdp");
        let fmtp = offer
            .lines()
            .find_map(|l| l.strip_prefix("a=fmtp:102 "))
            .unwrap()
            .to_owned();
        let h264 = BrowserVideo {
            pt: 102,
            h264: true,
            fmtp: Some(fmtp.clone()),
            fir: true,
            pli: true,
            remb: false,
            ssrc: 7,
            max_kbps: 800,
        };
        let answer = answer_video(offer, Some(h264));
        let v = video_section(&answer);
        assert!(
            v[0].ends_with(" 102") && !v[0].starts_with("m=video 0 "),
            "{answer}"
        );
        assert!(
            v.contains(&format!("a=fmtp:102 {fmtp}").as_str()),
            "{answer}"
        );
        assert!(v.contains(&"b=AS:800"), "{answer}");
        assert!(!v.iter().any(|l| l.contains("goog-remb")), "{answer}");
    }

    /// Chromium 156 offers telephone-event at 48000 (110) and 8000 (126): only the one at the
    /// chosen codec's rate stays, everywhere it appears.
    #[test]
    fn strips_the_other_telephone_event() {
        let offer = include_str!("../../tests/data/sdp/chromium156-audio.sdp");
        assert!(offer.contains("telephone-event/48000") && offer.contains("telephone-event/8000"));
        let out = strip_telephone_events(offer, |r| r != 8000);
        assert!(!out.contains("telephone-event/48000"));
        assert!(out.contains("telephone-event/8000"));
        let m = out.lines().find(|l| l.starts_with("m=audio")).unwrap();
        assert!(!m.split(' ').skip(3).any(|f| f == "110"), "{m}");
        assert!(m.split(' ').skip(3).any(|f| f == "126"), "{m}");
        assert!(!out.lines().any(|l| l.starts_with("a=fmtp:110 ")));
        assert_eq!(
            strip_telephone_events(offer, |_| false).lines().count(),
            offer.lines().count()
        );
    }
}

/// Which remote ICE candidates the gateway will try (issue 8, media safety): never the
/// unspecified, multicast, broadcast or link-local addresses, nor the gateway's own media ports,
/// nor a configured deny range; mDNS `.local` names are ignored (the gateway cannot resolve them).
#[derive(Debug, Clone, Default)]
pub struct CandidatePolicy {
    /// `[webrtc] deny_candidates`.
    pub deny: Vec<gateway_config::IpRange>,
    /// The gateway's own media addresses (host IP, public IP).
    pub own_ips: Vec<std::net::IpAddr>,
    /// The RTP port range.
    pub own_ports: (u16, u16),
}

impl CandidatePolicy {
    /// Whether a `candidate:` attribute (with or without the `a=` prefix) may be used.
    pub fn allows(&self, candidate: &str) -> bool {
        let body = candidate
            .trim()
            .trim_start_matches("a=")
            .trim_start_matches("candidate:");
        let fields: Vec<&str> = body.split_whitespace().collect();
        let (Some(addr), Some(port)) = (fields.get(4), fields.get(5)) else {
            return false;
        };
        if addr.ends_with(".local") {
            return false;
        }
        let (Ok(ip), Ok(port)) = (addr.parse::<std::net::IpAddr>(), port.parse::<u16>()) else {
            return false;
        };
        let bad_kind = match ip {
            std::net::IpAddr::V4(v4) => {
                v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() || v4.is_link_local()
            }
            std::net::IpAddr::V6(v6) => {
                v6.is_unspecified() || v6.is_multicast() || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        };
        let own =
            self.own_ips.contains(&ip) && (self.own_ports.0..=self.own_ports.1).contains(&port);
        !(bad_kind || own || port == 0 || self.deny.iter().any(|r| r.contains(ip)))
    }

    /// The offer without the candidate lines this policy refuses.
    pub fn filter_sdp(&self, sdp: &str) -> String {
        let mut out = String::with_capacity(sdp.len());
        for line in sdp.lines() {
            if line.starts_with("a=candidate:") && !self.allows(line) {
                tracing::debug!("remote candidate refused by policy");
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        out
    }
}

#[cfg(test)]
mod candidate_tests {
    use super::*;

    fn policy() -> CandidatePolicy {
        CandidatePolicy {
            deny: vec!["10.0.0.0/8".parse().unwrap()],
            own_ips: vec!["127.0.0.1".parse().unwrap()],
            own_ports: (20000, 20099),
        }
    }

    fn cand(addr: &str, port: u16) -> String {
        format!("candidate:1 1 udp 2122260223 {addr} {port} typ host generation 0")
    }

    /// Issue 8 point 5: the addresses an attacker could use to aim media at others or at us.
    #[test]
    fn refuses_dangerous_candidates() {
        let p = policy();
        assert!(p.allows(&cand("127.0.0.1", 50000)));
        assert!(p.allows(&cand("192.0.2.7", 40000)));
        for (addr, port) in [
            ("0.0.0.0", 4000),
            ("224.0.0.1", 4000),
            ("255.255.255.255", 4000),
            ("169.254.1.1", 4000),
            ("fe80::1", 4000),
            ("ff02::1", 4000),
            ("10.1.2.3", 4000),
            ("127.0.0.1", 20010),
            ("abcd-1234.local", 4000),
            ("not-an-ip", 4000),
            ("192.0.2.7", 0),
        ] {
            assert!(!p.allows(&cand(addr, port)), "{addr}:{port}");
        }
        assert!(!p.allows("candidate:garbage"));
        let sdp = format!(
            "v=0\r\na={}\r\na={}\r\n",
            cand("0.0.0.0", 1),
            cand("127.0.0.1", 50000)
        );
        let out = p.filter_sdp(&sdp);
        assert!(!out.contains("0.0.0.0") && out.contains("50000"));
    }
}
