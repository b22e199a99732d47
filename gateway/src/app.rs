//! State shared by every task of a running gateway.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use gateway_config::Config;
use gateway_media::{PortAllocator, PortRange};
use gateway_sip::sdp::AudioCodec;
use tokio::sync::mpsc;

use crate::hub::Hub;
use crate::sip_driver::SipCommand;

/// The running gateway's shared state (read-only after start, apart from counters and the hub).
pub struct App {
    /// The validated configuration.
    pub config: Config,
    /// RTP port pairs.
    pub ports: PortAllocator,
    /// Commands to the SIP driver.
    pub sip: mpsc::UnboundedSender<SipCommand>,
    /// The resolved SIP proxy (Asterisk).
    pub proxy_addr: SocketAddr,
    /// Users, devices and addressable calls.
    pub hub: Hub,
    /// Lifecycle reports to Odoo (`None` without `[odoo]`); set at start.
    pub reporter: Option<crate::report::Reporter>,
    /// SIP accounts from Odoo (`[odoo] users_from_odoo`); set at start.
    pub odoo_users: Option<Arc<crate::odoo_users::OdooUsers>>,
    /// The AMI clients (`None` without `[[ami.servers]]`); set at start.
    pub ami: Option<Arc<crate::ami::Ami>>,
    /// Prometheus metrics.
    pub metrics: crate::metrics::Metrics,
    /// Set on SIGTERM: no new calls; calls in progress finish (graceful shutdown).
    pub draining: std::sync::atomic::AtomicBool,
    /// Per-IP rate of new WebSocket connections (`limits.ws_connections_per_ip_per_min`).
    pub ws_guard: std::sync::Mutex<crate::ws_guard::WsGuard>,
    next_handle: AtomicU64,
    /// 0 unknown, 1 reachable, 2 unreachable (OPTIONS keepalive).
    proxy_status: AtomicU8,
}

impl App {
    /// Shared state over a configuration and the SIP driver's command channel.
    pub fn new(
        config: Config,
        sip: mpsc::UnboundedSender<SipCommand>,
        proxy_addr: SocketAddr,
    ) -> Result<Self, String> {
        let range = PortRange::new(config.media.rtp_ports.start, config.media.rtp_ports.end)
            .map_err(|e| format!("media.rtp_ports: {e}"))?;
        let ws_guard = crate::ws_guard::WsGuard::new(config.limits.ws_connections_per_ip_per_min);
        Ok(Self {
            ports: PortAllocator::new(range),
            config,
            sip,
            proxy_addr,
            hub: Hub::default(),
            reporter: None,
            odoo_users: None,
            ami: None,
            metrics: crate::metrics::Metrics::default(),
            draining: std::sync::atomic::AtomicBool::new(false),
            ws_guard: std::sync::Mutex::new(ws_guard),
            next_handle: AtomicU64::new(1),
            proxy_status: AtomicU8::new(0),
        })
    }

    /// Whether the gateway is shutting down (no new calls).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// A fresh handle for an outbound SIP session.
    pub fn next_handle(&self) -> u64 {
        self.next_handle.fetch_add(1, Ordering::Relaxed)
    }

    /// The SIP codecs in configured offer order.
    pub fn sip_codec_order(&self) -> Vec<AudioCodec> {
        self.config
            .media
            .sip_codecs
            .iter()
            .map(|c| match c {
                gateway_config::AudioCodec::Opus => AudioCodec::Opus,
                gateway_config::AudioCodec::Pcmu => AudioCodec::Pcmu,
                gateway_config::AudioCodec::Pcma => AudioCodec::Pcma,
            })
            .collect()
    }

    /// The video codecs in configured offer order (`media.video_codecs`).
    pub fn video_codec_order(&self) -> Vec<gateway_sip::sdp::VideoCodec> {
        self.config
            .media
            .video_codecs
            .iter()
            .map(|c| match c {
                gateway_config::VideoCodec::Vp8 => gateway_sip::sdp::VideoCodec::Vp8,
                gateway_config::VideoCodec::H264 => gateway_sip::sdp::VideoCodec::H264,
            })
            .collect()
    }

    /// Records the OPTIONS keepalive result.
    pub fn set_proxy_reachable(&self, reachable: bool) {
        self.proxy_status
            .store(if reachable { 1 } else { 2 }, Ordering::Relaxed);
    }

    /// Whether the proxy answered the last OPTIONS (`true` while unknown).
    pub fn proxy_reachable(&self) -> bool {
        self.proxy_status.load(Ordering::Relaxed) != 2
    }

    /// "reachable", "unreachable" or "unknown".
    pub fn proxy_status(&self) -> &'static str {
        match self.proxy_status.load(Ordering::Relaxed) {
            1 => "reachable",
            2 => "unreachable",
            _ => "unknown",
        }
    }

    /// A bridged call started: lets AMI join Asterisk's ids to it (no-op without AMI).
    pub fn ami_call_started(&self, call_id: &str, originate_id: Option<&str>, sip_call_id: &str) {
        if let Some(ami) = &self.ami {
            ami.call_started(self, call_id, originate_id, sip_call_id);
        }
    }

    /// The Odoo link's health for `/healthz`, or `None` without `[odoo]`.
    pub fn odoo_health(&self) -> Option<&'static str> {
        self.reporter.as_ref().map(crate::report::Reporter::health)
    }
}
