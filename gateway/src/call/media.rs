//! A call's media: its sockets (bound from the RTP port range), the codec plan, and — once both SDPs
//! are known — the WebRTC leg and the bridge. [`MediaSession`] is the part of a call task that moves
//! packets; outbound and inbound calls both drive it.

use std::net::SocketAddr;
use std::time::Duration;

use gateway_media::quality::{CodecImpairment, LegQuality, OneWayDetector, Side};
use gateway_media::rtp::RtpFields;
use gateway_media::{Codec, G711Law, PortLease, ReceiveStats};
use gateway_sip::sdp::{self, AudioCodec, NoVideo, OfferedCodec, SipSdp, VideoCodec, VideoPlan};
use rand::Rng;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::bridge::{Bridge, BridgeMode, DtmfError, DtmfSetup, LegIds};
use super::rtcp_leg::RtcpLeg;
use super::sip_peer::{Accepted, SipPeer, SipSource};
use super::stun;
use super::video::{self, StreamIds, VideoPath, VideoSockets};
use crate::app::App;
use crate::metrics::{KeyframeFrom, LegCounts};
use crate::signaling::messages::IceCandidate;
use crate::webrtc::{BrowserCodec, BrowserVideo, LegEvent, LegParams, WebrtcLeg};

/// How long the answer may wait for the STUN server's reply before it goes out with host
/// candidates only.
pub(crate) const STUN_WAIT: Duration = Duration::from_millis(500);
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// How often a call's housekeeping runs when nothing else wakes it.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(1);

/// The sockets of one call; the leases return the ports when the call ends.
pub(crate) struct Sockets {
    pub(crate) webrtc: UdpSocket,
    pub(crate) webrtc_addr: SocketAddr,
    pub(crate) rtp: UdpSocket,
    pub(crate) rtcp: UdpSocket,
    _leases: Vec<PortLease>,
}

/// The media of a call whose two SDPs are known.
pub(crate) struct Media {
    pub(crate) leg: WebrtcLeg,
    pub(crate) bridge: Bridge,
    /// Where the SIP side's audio goes and comes from.
    pub(crate) peer: SipPeer,
    /// The call's video, when both sides have a codec in common (issue 10).
    pub(crate) video: Option<VideoPath>,
}

/// Which codec each leg uses, and where the SIP side's media goes.
#[derive(Debug, Clone)]
pub(crate) struct MediaPlan {
    /// The browser's codec, as it offered it (payload type, fmtp).
    pub(crate) browser: OfferedCodec,
    /// Its kind.
    pub(crate) browser_kind: AudioCodec,
    /// The SIP side's codec.
    pub(crate) sip_codec: AudioCodec,
    /// Its payload type on the SIP side.
    pub(crate) sip_pt: u8,
    /// SIP-side RTP destination.
    pub(crate) sip_remote: SocketAddr,
    /// SIP-side RTCP destination.
    pub(crate) sip_rtcp_remote: SocketAddr,
    /// Telephone-event on each leg (RFC 4733).
    pub(crate) dtmf: DtmfSetup,
    /// The video stream, if both sides have video and a codec in common.
    pub(crate) video: Option<VideoPlan>,
    /// Why a video call goes on without video (the client is told), `None` otherwise.
    pub(crate) no_video: Option<NoVideo>,
}

/// The browser's telephone-event at the clock rate of its audio codec (Chromium offers 8000 and
/// 48000; RFC 4733 §2.1 ties the event clock to the audio's).
pub(crate) fn browser_te(offer: &sdp::BrowserOffer, codec: &OfferedCodec) -> Option<(u8, u32)> {
    offer
        .audio()
        .telephone_events
        .iter()
        .copied()
        .find(|(_, rate)| *rate == codec.clock_rate)
}

/// The SIP side's SDP, refused when a line is over `max_line` bytes (`limits.max_sdp_line`).
pub(crate) fn parse_sip_sdp(text: &str, max_line: usize) -> Result<SipSdp, String> {
    super::check_sdp_lines(text, max_line)?;
    SipSdp::parse(text).map_err(|e| e.to_string())
}

impl MediaPlan {
    /// The plan for an outbound call, from the SIP side's answer to our offer.
    /// `video_offered` is what our INVITE's video line listed (empty: no video offered).
    pub(crate) fn from_sip_answer(
        browser_offer: &sdp::BrowserOffer,
        offered: &[AudioCodec],
        video_offered: &[VideoCodec],
        sip_answer: &str,
        max_line: usize,
    ) -> Result<Self, String> {
        let answer = parse_sip_sdp(sip_answer, max_line)?;
        let (video, no_video) = if video_offered.is_empty() {
            (None, None)
        } else {
            match sdp::choose_video_answer(browser_offer, &answer, video_offered) {
                Ok(v) => (Some(v), None),
                Err(why) => (None, Some(why)),
            }
        };
        let neg = sdp::choose_answer_codec(&answer, offered).map_err(|e| e.to_string())?;
        let (browser_kind, browser) = sdp::browser_codec_for(browser_offer, neg.sip_codec)
            .ok_or_else(|| "the browser offered no codec for the SIP side's choice".to_owned())?;
        Ok(Self {
            dtmf: DtmfSetup {
                browser: browser_te(browser_offer, &browser),
                sip: neg.telephone_event,
            },
            browser,
            browser_kind,
            sip_codec: neg.sip_codec,
            sip_pt: neg.sip_pt,
            sip_remote: neg.remote_addr,
            sip_rtcp_remote: neg.remote_rtcp,
            video,
            no_video,
        })
    }

    fn mode(&self) -> Result<BridgeMode, String> {
        if self.browser_kind == self.sip_codec {
            return Ok(BridgeMode::Passthrough);
        }
        match self.sip_codec {
            AudioCodec::Pcmu => Ok(BridgeMode::Transcode(G711Law::Ulaw)),
            AudioCodec::Pcma => Ok(BridgeMode::Transcode(G711Law::Alaw)),
            AudioCodec::Opus => Err("no transcoding path to Opus".into()),
        }
    }
}

/// Where a STUN Binding for the server-reflexive candidate stands.
enum Srflx {
    /// No STUN server configured, or given up.
    None,
    /// Request sent at `sent`, awaiting the response with this transaction id.
    Pending {
        tid: [u8; 12],
        sent: Instant,
        url: String,
    },
    /// The mapped address and the server's URL.
    Known(SocketAddr, String),
}

/// Something the media session reports to its call task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaEvent {
    /// ICE and DTLS with the browser are up.
    Connected,
    /// The WebRTC leg failed or closed.
    Failed,
    /// No RTP for longer than `rtp_timeout` on a leg.
    RtpTimeout,
    /// The STUN wait is over (answered or given up): an answer may go out now.
    StunSettled,
    /// The phone sent a DTMF digit (RFC 4733).
    PhoneDigit(char),
    /// The browser sent a DTMF digit the SIP side cannot take as RFC 4733: send it as SIP INFO.
    BrowserDigit(char),
    /// Audio arrives from one side only (since this many ms).
    OneWay(Side, u64),
    /// Ask the SIP side for a keyframe with SIP INFO `picture_fast_update` (RFC 5168).
    PictureFastUpdate,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The packet-moving part of a call: sockets, STUN, the WebRTC leg, the bridge, RTCP, timeouts.
pub(crate) struct MediaSession {
    sockets: Sockets,
    /// The SIP side's video sockets, bound for a video call.
    video_io: Option<VideoSockets>,
    media: Option<Media>,
    srflx: Srflx,
    pending_ice: Vec<Option<IceCandidate>>,
    /// Whether RTP inactivity counts (set once the SIP side has answered).
    pub(crate) timeout_armed: bool,
    rtp_timeout: Duration,
    last_rx_sip: Instant,
    last_rx_browser: Instant,
    rtcp: RtcpLeg,
    rtcp_due: Instant,
    /// The once-a-second housekeeping (metrics flush, one-way and RTP timeout checks), on a fixed
    /// grid so the call's timer deadline stays put from packet to packet.
    housekeeping_due: Instant,
    /// The call's one timer, kept across steps: re-armed only when the deadline changes, so a
    /// packet costs no timer-wheel insertion and removal (issue 9).
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// Where `timer` is armed.
    timer_at: Instant,
    /// A keyframe request toward the SIP side is to go as SIP INFO too (see `keyframes`).
    info_pending: bool,
    /// Receive buffers, one per socket: the three receives wait at the same time.
    buf_webrtc: Vec<u8>,
    buf_rtp: Vec<u8>,
    buf_rtcp: Vec<u8>,
    out: Vec<u8>,
    call_id: String,
    /// Origin of the millisecond clock the DTMF generator runs on.
    epoch: Instant,
    /// The codecs in use, once built: (browser, SIP).
    codecs: Option<(AudioCodec, AudioCodec)>,
    /// The phone put us on hold: no RTP expected from it, none sent to it.
    remote_hold: bool,
    /// The browser put the call on hold: no RTP expected from the phone.
    local_hold: bool,
    /// What the gateway receives from the browser, for the quality report.
    browser_rx: ReceiveStats,
    /// Packets received per leg since the last one-way check.
    rx_count: (u32, u32),
    one_way: OneWayDetector,
    last_check: Instant,
    /// Packet counts since the last flush into the gateway's metrics: (webrtc, sip).
    counts: (LegCounts, LegCounts),
    app: std::sync::Arc<App>,
    /// Addresses that may source the SIP side's RTP besides the SDP's: Asterisk's own.
    trusted: Vec<gateway_config::IpRange>,
    proxy_ip: std::net::IpAddr,
}

impl MediaSession {
    /// Binds the call's sockets; fails when the port range is exhausted.
    /// `video`: also bind the SIP side's video RTP/RTCP pair.
    pub(crate) async fn bind(
        app: &std::sync::Arc<App>,
        call_id: &str,
        video: bool,
    ) -> Result<Self, String> {
        let sockets = bind_sockets(app).await?;
        let video_io = if video {
            Some(bind_video(app).await?)
        } else {
            None
        };
        let mut rng = rand::thread_rng();
        Ok(Self {
            sockets,
            video_io,
            media: None,
            srflx: Srflx::None,
            pending_ice: Vec::new(),
            timeout_armed: false,
            rtp_timeout: app.config.media.rtp_timeout,
            last_rx_sip: Instant::now(),
            last_rx_browser: Instant::now(),
            rtcp: RtcpLeg::new(rng.r#gen(), rng.r#gen()),
            rtcp_due: Instant::now() + RTCP_INTERVAL,
            housekeeping_due: Instant::now() + HOUSEKEEPING_INTERVAL,
            timer: Box::pin(tokio::time::sleep_until(
                Instant::now() + HOUSEKEEPING_INTERVAL,
            )),
            timer_at: Instant::now() + HOUSEKEEPING_INTERVAL,
            info_pending: false,
            buf_webrtc: vec![0u8; 2048],
            buf_rtp: vec![0u8; 2048],
            buf_rtcp: vec![0u8; 2048],
            out: vec![0u8; 2048],
            call_id: call_id.to_owned(),
            epoch: Instant::now(),
            codecs: None,
            remote_hold: false,
            local_hold: false,
            browser_rx: ReceiveStats::new(),
            rx_count: (0, 0),
            one_way: OneWayDetector::default(),
            last_check: Instant::now(),
            counts: (LegCounts::default(), LegCounts::default()),
            app: app.clone(),
            trusted: app.config.sip.trunk_sources.clone(),
            proxy_ip: app.proxy_addr.ip(),
        })
    }

    /// The SIP-side RTP port (for our SDP).
    pub(crate) fn sip_rtp_port(&self) -> u16 {
        self.sockets.rtp.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The SIP-side video RTP port, when the call bound one.
    pub(crate) fn sip_video_port(&self) -> Option<u16> {
        self.video_io.as_ref().map(VideoSockets::rtp_port)
    }

    /// Whether the WebRTC leg exists.
    pub(crate) fn has_media(&self) -> bool {
        self.media.is_some()
    }

    /// Whether ICE and DTLS with the browser are up.
    pub(crate) fn is_connected(&self) -> bool {
        self.media.as_ref().is_some_and(|m| m.leg.is_connected())
    }

    /// Whether the STUN reply is still awaited.
    pub(crate) fn stun_pending(&self) -> bool {
        matches!(self.srflx, Srflx::Pending { .. })
    }

    /// Sends a STUN Binding request to the first STUN server, if one is configured.
    pub(crate) async fn start_stun(&mut self, app: &App) {
        let Some(url) = app
            .config
            .webrtc
            .ice_servers
            .iter()
            .flat_map(|s| s.urls.iter())
            .find(|u| u.starts_with("stun:"))
            .cloned()
        else {
            return;
        };
        let hostport = url.trim_start_matches("stun:");
        let hostport = hostport.split('?').next().unwrap_or(hostport);
        let target = if hostport.contains(':') {
            hostport.to_owned()
        } else {
            format!("{hostport}:3478")
        };
        let Ok(Some(dest)) = tokio::net::lookup_host(target.as_str())
            .await
            .map(|mut it| it.next())
        else {
            tracing::warn!(%url, "STUN server does not resolve; host candidates only");
            return;
        };
        let tid: [u8; 12] = rand::thread_rng().r#gen();
        if self
            .sockets
            .webrtc
            .try_send_to(&stun::binding_request(tid), dest)
            .is_ok()
        {
            self.srflx = Srflx::Pending {
                tid,
                sent: Instant::now(),
                url,
            };
        }
    }

    /// Builds the WebRTC leg and the bridge; returns the SDP answer for the browser.
    pub(crate) fn build(
        &mut self,
        app: &App,
        offer_sdp: &str,
        plan: &MediaPlan,
    ) -> Result<String, String> {
        let mode = plan.mode()?;
        let mut rng = rand::thread_rng();
        let browser_ssrc: u32 = rng.r#gen();
        let advertised = SocketAddr::new(
            app.config
                .webrtc
                .public_ip
                .unwrap_or(app.config.webrtc.host_ip),
            self.sockets.webrtc_addr.port(),
        );
        let codec = BrowserCodec {
            pt: plan.browser.pt,
            name: plan.browser.name.clone(),
            clock_rate: plan.browser.clock_rate,
            channels: plan.browser.channels,
            fmtp: plan.browser.fmtp.clone(),
        };
        let te = plan.dtmf.browser;
        let video_ssrc: u32 = rng.r#gen();
        let video = plan
            .video
            .as_ref()
            .filter(|_| self.video_io.is_some())
            .map(|v| BrowserVideo {
                pt: v.browser.pt,
                h264: v.codec == VideoCodec::H264,
                fmtp: v.browser_fmtp.clone(),
                fir: v.browser_feedback.contains(&sdp::RtcpFeedback::CcmFir),
                pli: v.browser_feedback.contains(&sdp::RtcpFeedback::NackPli),
                remb: v.browser.feedback.contains(&sdp::RtcpFeedback::GoogRemb),
                ssrc: video_ssrc,
                max_kbps: app.config.media.max_video_kbps,
            });
        let srflx = match &self.srflx {
            Srflx::Known(a, url) => Some((*a, url.clone())),
            _ => None,
        };
        let (mut leg, answer_sdp) = WebrtcLeg::answer(
            Instant::now().into_std(),
            LegParams {
                offer_sdp,
                codec: &codec,
                local_addr: self.sockets.webrtc_addr,
                advertised,
                srflx,
                telephone_event: te,
                candidates: crate::webrtc::CandidatePolicy {
                    deny: app.config.webrtc.deny_candidates.clone(),
                    own_ips: [Some(app.config.webrtc.host_ip), app.config.webrtc.public_ip]
                        .into_iter()
                        .flatten()
                        .collect(),
                    own_ports: (
                        app.config.media.rtp_ports.start,
                        app.config.media.rtp_ports.end,
                    ),
                },
                ssrc: browser_ssrc,
                video,
            },
        )
        .map_err(|e| e.to_string())?;
        let video = match (&plan.video, leg.video_pt()) {
            (Some(v), Some(_)) => Some(VideoPath::new(
                v.clone(),
                StreamIds {
                    ssrc: rng.r#gen(),
                    seq: rng.r#gen(),
                    ts: rng.r#gen(),
                },
                StreamIds {
                    ssrc: video_ssrc,
                    seq: rng.r#gen(),
                    ts: rng.r#gen(),
                },
                app.config.media.max_video_kbps,
                self.rtcp.cname(),
                Instant::now(),
            )),
            (Some(v), None) => {
                // The SIP side took a video codec the WebRTC stack matched to no format of the
                // browser's: the call goes on with audio, the browser's answer rejects video.
                tracing::warn!(call_id = %self.call_id, codec = ?v.codec, "video negotiated with the SIP side but refused by the WebRTC leg");
                None
            }
            _ => None,
        };
        let bridge = Bridge::new(
            mode,
            LegIds {
                ssrc: browser_ssrc,
                pt: plan.browser.pt,
                seq: rng.r#gen(),
                ts: rng.r#gen(),
            },
            LegIds {
                ssrc: rng.r#gen(),
                pt: plan.sip_pt,
                seq: rng.r#gen(),
                ts: rng.r#gen(),
            },
            plan.dtmf,
        )
        .map_err(|e| e.to_string())?;
        for c in self.pending_ice.drain(..) {
            if let Err(e) = leg.add_remote_candidate(c) {
                tracing::debug!(error = %e, "buffered candidate refused");
            }
        }
        if plan.browser_kind != plan.sip_codec {
            self.app.metrics.transcoding(1);
        }
        // Counted only once nothing can fail any more: `close` takes it back.
        if video.is_some() {
            self.app.metrics.video_active(1);
        }
        self.codecs = Some((plan.browser_kind, plan.sip_codec));
        tracing::info!(
            call_id = %self.call_id,
            sip_codec = ?plan.sip_codec,
            browser_codec = ?plan.browser_kind,
            ?mode,
            video = ?video.as_ref().map(|v| v.plan().codec),
            "media negotiated"
        );
        self.media = Some(Media {
            leg,
            bridge,
            peer: SipPeer::new(plan.sip_remote, plan.sip_rtcp_remote),
            video,
        });
        Ok(answer_sdp)
    }

    /// Answers a new browser offer on the same call (ICE restart); the SIP leg is untouched.
    pub(crate) fn renegotiate(&mut self, offer_sdp: &str) -> Result<String, String> {
        let m = self
            .media
            .as_mut()
            .ok_or("the call has no media yet: send the offer with call/accept")?;
        let answer = m
            .leg
            .renegotiate(Instant::now().into_std(), offer_sdp)
            .map_err(|e| e.to_string())?;
        // An ICE restart may have lost packets on the old path: both sides start from a
        // keyframe again.
        if let Some(v) = m.video.as_mut() {
            v.start(Instant::now());
        }
        Ok(answer)
    }

    /// The SIP side asked for a keyframe with SIP INFO `picture_fast_update` (RFC 5168).
    pub(crate) fn sip_keyframe_request(&mut self) {
        if let Some(v) = self.media.as_mut().and_then(|m| m.video.as_mut()) {
            v.pacer.sip_asked();
            self.app.metrics.keyframe_request(KeyframeFrom::Sip);
        }
    }

    /// Why a call whose `plan` was built goes on without video, if it does: the plan says so,
    /// or the WebRTC leg refused the codec the SIP side took (see [`Self::build`]).
    pub(crate) fn no_video(&self, plan: &MediaPlan) -> Option<NoVideo> {
        let refused = plan.video.is_some() && self.video_codec().is_none();
        plan.no_video.or(refused.then_some(NoVideo::NoCommonCodec))
    }

    /// The video codec relayed, if the call has video.
    pub(crate) fn video_codec(&self) -> Option<VideoCodec> {
        self.media
            .as_ref()
            .and_then(|m| m.video.as_ref())
            .map(|v| v.plan().codec)
    }

    /// Follows the SIP side's video after a re-INVITE or UPDATE.
    pub(crate) fn follow_video(&mut self, remote: &SipSdp) {
        if let Some(v) = self.media.as_mut().and_then(|m| m.video.as_mut()) {
            let was = v.is_active();
            v.follow(remote.video.as_ref(), remote.addr, Instant::now());
            if was != v.is_active() {
                tracing::info!(call_id = %self.call_id, active = v.is_active(), "SIP side video changed");
            }
        }
    }

    /// Follows a codec or payload-type change on the SIP side (re-INVITE).
    pub(crate) fn follow_codec(
        &mut self,
        codec: AudioCodec,
        pt: u8,
        te: Option<(u8, u32)>,
    ) -> Result<(), String> {
        let Some((browser, sip)) = self.codecs else {
            return Ok(());
        };
        let m = self.media.as_mut().ok_or("no media")?;
        if codec == sip {
            return m.bridge.set_sip_pt(pt, te).map_err(|e| e.to_string());
        }
        let law = match codec {
            AudioCodec::Pcmu => G711Law::Ulaw,
            AudioCodec::Pcma => G711Law::Alaw,
            AudioCodec::Opus => return Err("the phone moved to Opus while we transcode".into()),
        };
        if browser != AudioCodec::Opus {
            return Err(format!(
                "the browser uses {browser:?}; cannot follow {codec:?} without a new offer"
            ));
        }
        m.bridge.set_sip_law(law, pt).map_err(|e| e.to_string())?;
        self.codecs = Some((browser, codec));
        Ok(())
    }

    /// The phone holds (sendonly/inactive): RTP from it stops, which is neither a timeout nor
    /// one-way audio, and nothing is sent to it.
    pub(crate) fn set_remote_hold(&mut self, hold: bool) {
        self.remote_hold = hold;
        self.one_way.reset();
        self.last_rx_sip = Instant::now();
    }

    /// The browser holds the call (we offered sendonly): the phone stops sending, which is
    /// neither a timeout nor one-way audio; the browser's audio still goes out.
    pub(crate) fn set_local_hold(&mut self, hold: bool) {
        self.local_hold = hold;
        self.one_way.reset();
        self.last_rx_sip = Instant::now();
    }

    /// Per-leg quality for the client's `ended` and the Odoo report.
    pub(crate) fn quality(&self) -> serde_json::Value {
        let Some((browser, sip)) = self.codecs else {
            return serde_json::Value::Null;
        };
        let impairment = |c: AudioCodec| match c {
            AudioCodec::Opus => CodecImpairment::for_codec(Codec::Opus),
            AudioCodec::Pcmu => CodecImpairment::for_codec(Codec::Pcmu),
            AudioCodec::Pcma => CodecImpairment::for_codec(Codec::Pcma),
        };
        let mut webrtc = LegQuality::new(impairment(browser), browser.clock_rate());
        webrtc.update_receive(&self.browser_rx);
        let leg = |q: gateway_media::QualityStats| {
            serde_json::json!({
                "packets_received": q.packets_received,
                "packets_lost": q.packets_lost,
                "loss": round4(q.loss_pct / 100.0),
                "loss_pct": round2(q.loss_pct),
                "jitter_ms": round2(q.jitter_ms),
                "remote_loss_pct": q.remote_loss_pct.map(round2),
                "rtt_ms": q.rtt_ms.map(round2),
                "mos": round2(q.mos),
            })
        };
        let mut q = serde_json::json!({
            "webrtc": leg(webrtc.stats()),
            "sip": leg(self.rtcp.quality(impairment(sip))),
        });
        if let Some(v) = self.media.as_ref().and_then(|m| m.video.as_ref()) {
            let (webrtc, sip) = v.stats();
            q["video_webrtc"] = webrtc;
            q["video_sip"] = sip;
        }
        q
    }

    /// Points the SIP side's media elsewhere (a final answer after early media, a re-INVITE).
    pub(crate) fn retarget(&mut self, rtp: SocketAddr, rtcp: SocketAddr) {
        if let Some(m) = self.media.as_mut() {
            m.peer.retarget(rtp, rtcp);
        }
    }

    /// Adds a browser candidate, or keeps it until the leg exists.
    pub(crate) fn add_ice(&mut self, cand: Option<IceCandidate>) -> Result<(), String> {
        match self.media.as_mut() {
            Some(m) => m.leg.add_remote_candidate(cand).map_err(|e| e.to_string()),
            None => {
                self.pending_ice.push(cand);
                Ok(())
            }
        }
    }

    fn now_ms(&self) -> u64 {
        Instant::now().duration_since(self.epoch).as_millis() as u64
    }

    /// Queues digits from the client as RFC 4733 packets toward SIP.
    pub(crate) fn send_digits(&mut self, digits: &str) -> Result<(), DtmfError> {
        let m = self.media.as_mut().ok_or(DtmfError::NoTelephoneEvent)?;
        m.bridge.send_digits(digits)
    }

    /// `limits.max_sdp_line`, for the SDPs this call receives.
    pub(crate) fn max_sdp_line(&self) -> usize {
        self.app.config.limits.max_sdp_line
    }

    /// Starts counting RTP inactivity from now.
    pub(crate) fn arm_timeout(&mut self) {
        self.timeout_armed = true;
        self.last_rx_sip = Instant::now();
        self.last_rx_browser = Instant::now();
    }

    /// Waits for the next packet or deadline and handles it. Cancel-safe: the only await is the
    /// wait itself; all sends are non-blocking (a full socket buffer drops the packet, as a
    /// congested network would).
    pub(crate) async fn step(&mut self) -> Option<MediaEvent> {
        if let Some(ev) = self.drain() {
            return Some(ev);
        }
        let mut deadline = self.rtcp_due.min(self.housekeeping_due);
        if let Some(t) = self.media.as_mut().and_then(|m| m.leg.poll_timeout()) {
            deadline = deadline.min(Instant::from_std(t));
        }
        if let Srflx::Pending { sent, .. } = self.srflx {
            deadline = deadline.min(sent + STUN_WAIT);
        }
        if let Some(due) = self.media.as_ref().and_then(|m| m.bridge.next_dtmf_due()) {
            deadline = deadline.min(self.epoch + Duration::from_millis(due));
        }
        // Keyframe requests and REMB wait for ICE: before that nothing can go out, and a due
        // request would wake the task at once, again and again.
        if let Some(due) = self
            .media
            .as_ref()
            .filter(|m| m.leg.is_connected())
            .and_then(|m| m.video.as_ref())
            .and_then(|v| v.next_deadline(Instant::now()))
        {
            deadline = deadline.min(due);
        }
        if deadline != self.timer_at {
            self.timer.as_mut().reset(deadline);
            self.timer_at = deadline;
        }
        let (vrtp, vrtcp) = match self.video_io.as_mut() {
            Some(v) => (
                Some((&v.rtp, &mut v.buf_rtp)),
                Some((&v.rtcp, &mut v.buf_rtcp)),
            ),
            None => (None, None),
        };
        let event = tokio::select! {
            r = self.sockets.webrtc.recv_from(&mut self.buf_webrtc) => match r {
                Ok((n, from)) => self.on_webrtc_datagram(from, n),
                Err(_) => None,
            },
            r = self.sockets.rtp.recv_from(&mut self.buf_rtp) => match r {
                Ok((n, from)) => { self.on_sip_rtp(from, n); None }
                Err(_) => None,
            },
            r = self.sockets.rtcp.recv_from(&mut self.buf_rtcp) => match r {
                Ok((n, _)) => { self.rtcp.on_rtcp(&self.buf_rtcp[..n], Instant::now()); None }
                Err(_) => None,
            },
            r = video::recv(vrtp) => match r {
                Ok((n, from)) => { self.on_sip_video(from, n); None }
                Err(_) => None,
            },
            r = video::recv(vrtcp) => match r {
                Ok((n, from)) => { self.on_sip_video_rtcp(from, n); None }
                Err(_) => None,
            },
            _ = self.timer.as_mut() => self.on_tick(),
        };
        event.or_else(|| self.drain())
    }

    /// Sends what the WebRTC leg produced and forwards the browser's RTP to the SIP side.
    fn drain(&mut self) -> Option<MediaEvent> {
        let now_ms = self.now_ms();
        let m = self.media.as_mut()?;
        loop {
            let n = m.bridge.poll_dtmf(now_ms, &mut self.out);
            if n == 0 {
                break;
            }
            let _ = self.sockets.rtp.try_send_to(&self.out[..n], m.peer.rtp());
        }
        while let Some((dest, data)) = m.leg.poll_transmit() {
            let _ = self.sockets.webrtc.try_send_to(&data, dest);
        }
        let mut event = None;
        while let Some(ev) = m.leg.poll_event() {
            event = Some(match ev {
                LegEvent::Connected => {
                    self.last_rx_browser = Instant::now();
                    if let Some(v) = m.video.as_mut() {
                        v.start(Instant::now());
                    }
                    MediaEvent::Connected
                }
                LegEvent::Failed => MediaEvent::Failed,
            });
        }
        let video_pt = m.leg.video_pt();
        while let Some(pkt) = m.leg.poll_rtp() {
            if video_pt == Some(pkt.header.payload_type) {
                if let (Some(v), Some(io)) = (m.video.as_mut(), self.video_io.as_ref())
                    && let Some((n, dest)) =
                        v.browser_to_sip(Instant::now(), &pkt, &mut self.out, self.remote_hold)
                {
                    let _ = io.rtp.try_send_to(&self.out[..n], dest);
                }
                continue;
            }
            let now = Instant::now();
            self.last_rx_browser = now;
            self.rx_count.0 += 1;
            let clock = self.codecs.map_or(8000, |c| c.0.clock_rate());
            let arrival =
                (now.duration_since(self.epoch).as_secs_f64() * f64::from(clock)) as u64 as u32;
            self.counts.0.packets_in += 1;
            self.counts.0.bytes_in += pkt.payload.len() as u64;
            self.browser_rx.on_packet(
                pkt.header.sequence_number,
                pkt.header.timestamp,
                arrival,
                pkt.payload.len(),
            );
            let f = RtpFields {
                pt: pkt.header.payload_type,
                marker: pkt.header.marker,
                seq: pkt.header.sequence_number,
                ts: pkt.header.timestamp,
                ssrc: pkt.header.ssrc,
            };
            let n = m
                .bridge
                .browser_to_sip(now_ms, f, &pkt.payload, &mut self.out);
            // The phone holds (we answered recvonly, RFC 3264 §8.4): nothing goes to it.
            if n > 0 && !self.remote_hold {
                self.counts.1.packets_out += 1;
                self.counts.1.bytes_out += n as u64;
                self.rtcp.on_sent(&self.out[..n]);
                let _ = self.sockets.rtp.try_send_to(&self.out[..n], m.peer.rtp());
            }
        }
        if m.leg.take_keyframe_request()
            && let Some(v) = m.video.as_mut()
        {
            v.pacer.browser_asked();
            self.app.metrics.keyframe_request(KeyframeFrom::Browser);
            self.keyframes();
        }
        if event.is_none() && std::mem::take(&mut self.info_pending) {
            event = Some(MediaEvent::PictureFastUpdate);
        }
        let Some(m) = self.media.as_mut() else {
            return event;
        };
        if let Some(d) = m.bridge.take_phone_digit() {
            return Some(MediaEvent::PhoneDigit(d));
        }
        if let Some(d) = m.bridge.take_browser_digit() {
            return Some(MediaEvent::BrowserDigit(d));
        }
        event
    }

    fn on_webrtc_datagram(&mut self, from: SocketAddr, n: usize) -> Option<MediaEvent> {
        let data = &self.buf_webrtc[..n];
        if let Srflx::Pending { tid, url, .. } = &self.srflx
            && stun::is_stun(data)
            && let Some(mapped) = stun::parse_binding_response(data, tid)
        {
            tracing::debug!(call_id = %self.call_id, %mapped, "server-reflexive address learnt");
            self.srflx = Srflx::Known(mapped, url.clone());
            return Some(MediaEvent::StunSettled);
        }
        if let Some(m) = self.media.as_mut() {
            m.leg.handle_datagram(Instant::now().into_std(), from, data);
        }
        None
    }

    fn on_sip_rtp(&mut self, from: SocketAddr, n: usize) {
        let Some(m) = self.media.as_mut() else {
            return;
        };
        let source = SipSource {
            proxy_ip: self.proxy_ip,
            trusted: &self.trusted,
        };
        match m.peer.accept(from, &source) {
            Accepted::Yes => {}
            // Unknown before latching; RTP bleed after.
            Accepted::No => {
                tracing::trace!(call_id = %self.call_id, %from, "SIP-side RTP from another source dropped");
                return;
            }
            Accepted::Moved { sdp } => {
                tracing::info!(call_id = %self.call_id, %sdp, %from, "SIP-side RTP latched to its source");
            }
        }
        let data = &self.buf_rtp[..n];
        let now = Instant::now();
        self.last_rx_sip = now;
        self.rx_count.1 += 1;
        self.counts.1.packets_in += 1;
        self.counts.1.bytes_in += n as u64;
        self.rtcp.on_received(data, now);
        let now = now.into_std();
        let Media { leg, bridge, .. } = m;
        let sent = &mut self.counts.0;
        bridge.sip_to_browser(data, |f, payload| {
            sent.packets_out += 1;
            sent.bytes_out += payload.len() as u64;
            leg.send_rtp(now, f.pt, f.seq, f.ts, f.marker, payload);
        });
    }

    fn on_sip_video(&mut self, from: SocketAddr, n: usize) {
        let (Some(m), Some(io)) = (self.media.as_mut(), self.video_io.as_ref()) else {
            return;
        };
        let Some(v) = m.video.as_mut() else {
            return;
        };
        // The video path latches its own source; video does not count as audio activity.
        let source = SipSource {
            proxy_ip: self.proxy_ip,
            trusted: &self.trusted,
        };
        v.sip_to_browser(Instant::now(), from, &io.buf_rtp[..n], &source, &mut m.leg);
    }

    fn on_sip_video_rtcp(&mut self, from: SocketAddr, n: usize) {
        let (Some(m), Some(io)) = (self.media.as_mut(), self.video_io.as_ref()) else {
            return;
        };
        if let Some(v) = m.video.as_mut()
            && v.on_sip_rtcp(
                from,
                &io.buf_rtcp[..n],
                &SipSource {
                    proxy_ip: self.proxy_ip,
                    trusted: &self.trusted,
                },
            )
        {
            self.app.metrics.keyframe_request(KeyframeFrom::Sip);
        }
    }

    /// Sends the keyframe requests and REMB due now; a request toward a SIP side that knows
    /// only SIP INFO is kept in `info_pending` until a step can report it as
    /// [`MediaEvent::PictureFastUpdate`] (it is never lost to another event of the same step).
    fn keyframes(&mut self) {
        let now = Instant::now();
        let (Some(m), Some(io)) = (self.media.as_mut(), self.video_io.as_ref()) else {
            return;
        };
        let Some(v) = m.video.as_mut() else {
            return;
        };
        if !m.leg.is_connected() {
            return;
        }
        v.remb(now, &mut m.leg);
        let due = v.pacer.poll(now);
        self.app
            .metrics
            .keyframe_requests(KeyframeFrom::Gateway, due.own.into());
        if due.to_browser && !m.leg.request_keyframe(now.into_std()) {
            v.pacer.browser_retry(now);
        }
        if due.to_sip {
            if let Some((n, dest)) = v.sip_keyframe_request(&mut self.out) {
                let _ = io.rtcp.try_send_to(&self.out[..n], dest);
            }
            if v.sip_wants_info() {
                self.info_pending = true;
            }
        }
    }

    fn on_tick(&mut self) -> Option<MediaEvent> {
        let now = Instant::now();
        let mut event = None;
        if let Srflx::Pending { sent, .. } = self.srflx
            && now >= sent + STUN_WAIT
        {
            tracing::warn!(call_id = %self.call_id, "no STUN reply; host candidates only");
            self.srflx = Srflx::None;
            event = Some(MediaEvent::StunSettled);
        }
        if now >= self.housekeeping_due {
            self.housekeeping_due = now + HOUSEKEEPING_INTERVAL;
        }
        let rtcp_due = now >= self.rtcp_due;
        if rtcp_due {
            self.rtcp_due = now + RTCP_INTERVAL;
        }
        self.keyframes();
        let Some(m) = self.media.as_mut() else {
            return event;
        };
        m.leg.handle_timeout(now.into_std());
        if rtcp_due {
            let n = self.rtcp.write_report(&mut self.out, now);
            if n > 0 {
                let _ = self.sockets.rtcp.try_send_to(&self.out[..n], m.peer.rtcp());
            }
        }
        let since = now.duration_since(self.last_check);
        if since >= Duration::from_secs(1) {
            self.last_check = now;
            self.flush_counts();
            let (w, s) = std::mem::take(&mut self.rx_count);
            if self.timeout_armed
                && !self.remote_hold
                && !self.local_hold
                && let Some(one_way) = self.one_way.on_interval(since.as_millis() as u64, w, s)
            {
                return Some(MediaEvent::OneWay(one_way.only_from, one_way.silent_ms));
            }
        }
        let last_sip = if self.remote_hold || self.local_hold {
            now
        } else {
            self.last_rx_sip
        };
        let idle = now.duration_since(last_sip.min(self.last_rx_browser));
        if self.timeout_armed && idle > self.rtp_timeout {
            tracing::warn!(call_id = %self.call_id, idle_ms = idle.as_millis() as u64, "RTP timeout");
            self.timeout_armed = false;
            return Some(MediaEvent::RtpTimeout);
        }
        event
    }

    /// Adds the packets counted since the last flush to the gateway's metrics.
    fn flush_counts(&mut self) {
        let (w, s) = std::mem::take(&mut self.counts);
        self.app.metrics.media(w, s, 0);
        if let Some(v) = self.media.as_mut().and_then(|m| m.video.as_mut()) {
            let (w, s) = std::mem::take(&mut v.counts);
            self.app.metrics.video(w, s);
        }
    }

    /// Closes the WebRTC leg (DTLS close_notify) and lets the sockets go.
    pub(crate) fn close(mut self) {
        self.flush_counts();
        let video = self.media.as_ref().and_then(|m| m.video.as_ref());
        let lost = self.browser_rx.lost().max(0) as u64
            + self.rtcp.lost()
            + video.map_or(0, VideoPath::lost);
        if video.is_some() {
            self.app.metrics.video_active(-1);
        }
        self.app
            .metrics
            .media(LegCounts::default(), LegCounts::default(), lost);
        if matches!(self.codecs, Some((b, s)) if b != s) {
            self.app.metrics.transcoding(-1);
        }
        if let Some(m) = self.media.as_mut() {
            m.leg.close();
            while let Some((dest, data)) = m.leg.poll_transmit() {
                let _ = self.sockets.webrtc.try_send_to(&data, dest);
            }
        }
    }
}

/// Binds the SIP side's video RTP/RTCP pair on ports from the configured range.
async fn bind_video(app: &App) -> Result<VideoSockets, String> {
    for _ in 0..32 {
        let Some(lease) = app.ports.allocate() else {
            return Err("RTP port range exhausted".into());
        };
        let ip = app.config.media.ip;
        let rtp = UdpSocket::bind((ip, lease.rtp_port())).await;
        let rtcp = UdpSocket::bind((ip, lease.rtcp_port())).await;
        if let (Ok(rtp), Ok(rtcp)) = (rtp, rtcp) {
            for sock in [&rtp, &rtcp] {
                sock.writable().await.map_err(|e| e.to_string())?;
            }
            return Ok(VideoSockets {
                rtp,
                rtcp,
                // Video packets are up to ~1200 bytes; leave room for any MTU.
                buf_rtp: vec![0u8; 2048],
                buf_rtcp: vec![0u8; 2048],
                _lease: lease,
            });
        }
    }
    Err("could not bind video sockets".into())
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
    // Learn each socket's write readiness now, so the non-blocking sends of the packet path
    // (`try_send_to`) do not see a fresh socket as not writable.
    for sock in [&webrtc, &rtp, &rtcp] {
        sock.writable().await.map_err(|e| e.to_string())?;
    }
    Ok(Sockets {
        webrtc,
        webrtc_addr,
        rtp,
        rtcp,
        _leases: leases,
    })
}
