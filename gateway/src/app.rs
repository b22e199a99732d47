//! State shared by every task of a running gateway.

use std::sync::atomic::{AtomicU64, Ordering};

use gateway_config::Config;
use gateway_media::{PortAllocator, PortRange};
use tokio::sync::mpsc;

use crate::sip_driver::SipCommand;

/// The running gateway's shared state (read-only after start, apart from counters).
pub struct App {
    /// The validated configuration.
    pub config: Config,
    /// RTP port pairs.
    pub ports: PortAllocator,
    /// Commands to the SIP driver.
    pub sip: mpsc::UnboundedSender<SipCommand>,
    next_handle: AtomicU64,
}

impl App {
    /// Shared state over a configuration and the SIP driver's command channel.
    pub fn new(config: Config, sip: mpsc::UnboundedSender<SipCommand>) -> Result<Self, String> {
        let range = PortRange::new(config.media.rtp_ports.start, config.media.rtp_ports.end)
            .map_err(|e| format!("media.rtp_ports: {e}"))?;
        Ok(Self {
            ports: PortAllocator::new(range),
            config,
            sip,
            next_handle: AtomicU64::new(1),
        })
    }

    /// A fresh handle for a SIP session.
    pub fn next_handle(&self) -> u64 {
        self.next_handle.fetch_add(1, Ordering::Relaxed)
    }
}
