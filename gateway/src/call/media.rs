//! The call's media resources: its sockets (bound from the RTP port range) and, once the SIP side
//! has answered, the WebRTC leg and the bridge built from both SDPs.

use std::net::SocketAddr;

use gateway_media::{G711Law, PortLease};
use gateway_sip::sdp::{self, AudioCodec, SipSdp};
use rand::Rng;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::CallRequest;
use super::bridge::{Bridge, BridgeMode, LegIds};
use crate::app::App;
use crate::webrtc::{BrowserCodec, LegParams, WebrtcLeg};

/// The sockets of one call; the leases return the ports when the call ends.
pub(crate) struct Sockets {
    pub(crate) webrtc: UdpSocket,
    pub(crate) webrtc_addr: SocketAddr,
    pub(crate) rtp: UdpSocket,
    pub(crate) rtcp: UdpSocket,
    _leases: Vec<PortLease>,
}

/// The media of a call whose SIP side has answered.
pub(crate) struct Media {
    pub(crate) leg: WebrtcLeg,
    pub(crate) bridge: Bridge,
    pub(crate) sip_remote: SocketAddr,
    pub(crate) sip_rtcp_remote: SocketAddr,
}

/// Builds the WebRTC leg and the bridge from the SIP side's answer.
pub(crate) fn setup_media(
    app: &App,
    req: &CallRequest,
    sockets: &Sockets,
    sip_answer: &str,
    srflx: Option<(SocketAddr, String)>,
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
            srflx,
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
pub(crate) async fn bind_sockets(app: &App) -> Result<Sockets, String> {
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
