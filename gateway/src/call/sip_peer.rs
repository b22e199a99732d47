//! Where one SIP-side media stream (audio or video) sends to and takes packets from: the SDP's
//! RTP and RTCP addresses, then symmetric RTP (RFC 4961): the first packet from a trusted source
//! fixes where media comes from and goes to, and later packets from elsewhere are RTP bleed.

use std::net::{IpAddr, SocketAddr};

/// The sources a SIP-side stream may latch onto besides the SDP's address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SipSource<'a> {
    /// Asterisk's signalling address (NAT, multi-homing).
    pub(crate) proxy_ip: IpAddr,
    /// `sip.trunk_sources`.
    pub(crate) trusted: &'a [gateway_config::IpRange],
}

impl SipSource<'_> {
    /// Whether `ip` is Asterisk's or a trunk source's.
    fn contains(&self, ip: IpAddr) -> bool {
        ip == self.proxy_ip || self.trusted.iter().any(|r| r.contains(ip))
    }
}

/// What [`SipPeer::accept`] made of a packet's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// From the latched source.
    Yes,
    /// The first packet, from a trusted source other than the SDP's address: media now goes
    /// there (the SDP's address was `sdp`).
    Moved {
        /// The address the SDP gave.
        sdp: SocketAddr,
    },
    /// Not our peer (unknown before latching, another source after).
    No,
}

/// One SIP-side stream's peer addresses and latch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SipPeer {
    rtp: SocketAddr,
    rtcp: SocketAddr,
    latched: Option<SocketAddr>,
}

impl SipPeer {
    /// The peer the SDP names (RTP, and RTCP: `a=rtcp` or RTP + 1).
    pub(crate) fn new(rtp: SocketAddr, rtcp: SocketAddr) -> Self {
        Self {
            rtp,
            rtcp,
            latched: None,
        }
    }

    /// Where RTP goes.
    pub(crate) fn rtp(&self) -> SocketAddr {
        self.rtp
    }

    /// Where RTCP goes.
    pub(crate) fn rtcp(&self) -> SocketAddr {
        self.rtcp
    }

    /// A new SDP from the peer (final answer after early media, re-INVITE): a new RTP address
    /// starts over, unlatched.
    pub(crate) fn retarget(&mut self, rtp: SocketAddr, rtcp: SocketAddr) {
        if rtp != self.rtp {
            *self = Self::new(rtp, rtcp);
        }
    }

    /// Whether an RTP packet from `from` is the peer's; the first one from a trusted source
    /// latches (and moves RTP and RTCP to its address).
    pub(crate) fn accept(&mut self, from: SocketAddr, source: &SipSource<'_>) -> Accepted {
        match self.latched {
            Some(l) if l == from => Accepted::Yes,
            Some(_) => Accepted::No,
            None if from.ip() != self.rtp.ip() && !source.contains(from.ip()) => Accepted::No,
            None => {
                self.latched = Some(from);
                if from == self.rtp {
                    return Accepted::Yes;
                }
                let sdp = self.rtp;
                self.rtcp = SocketAddr::new(from.ip(), self.rtcp.port());
                self.rtp = from;
                Accepted::Moved { sdp }
            }
        }
    }

    /// Whether RTCP from `from` may be the peer's: its RTCP address, its latched source's, or a
    /// trusted source.
    pub(crate) fn knows(&self, from: SocketAddr, source: &SipSource<'_>) -> bool {
        from.ip() == self.rtcp.ip()
            || self.latched.is_some_and(|l| l.ip() == from.ip())
            || source.contains(from.ip())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// RFC 4961: the first packet from the SDP's address or a trusted one latches; after that
    /// only that source counts (RTP bleed is refused); a new SDP address starts over.
    #[test]
    fn latches_once_and_refuses_bleed() {
        let trunk: Vec<gateway_config::IpRange> = vec!["198.51.100.0/24".parse().unwrap()];
        let source = SipSource {
            proxy_ip: "192.0.2.1".parse().unwrap(),
            trusted: &trunk,
        };
        let mut p = SipPeer::new(addr("192.0.2.9:4000"), addr("192.0.2.9:4001"));
        assert_eq!(p.accept(addr("203.0.113.5:4000"), &source), Accepted::No);
        assert_eq!(
            p.accept(addr("198.51.100.7:5000"), &source),
            Accepted::Moved {
                sdp: addr("192.0.2.9:4000")
            }
        );
        assert_eq!(
            (p.rtp(), p.rtcp()),
            (addr("198.51.100.7:5000"), addr("198.51.100.7:4001"))
        );
        assert_eq!(p.accept(addr("198.51.100.7:5000"), &source), Accepted::Yes);
        assert_eq!(p.accept(addr("192.0.2.9:4000"), &source), Accepted::No);
        assert!(p.knows(addr("198.51.100.7:9"), &source));
        assert!(!p.knows(addr("203.0.113.5:4001"), &source));

        p.retarget(addr("192.0.2.9:6000"), addr("192.0.2.9:6001"));
        assert_eq!(p.accept(addr("192.0.2.9:6000"), &source), Accepted::Yes);
        // The same address again keeps the latch.
        p.retarget(addr("192.0.2.9:6000"), addr("192.0.2.9:6001"));
        assert_eq!(p.accept(addr("198.51.100.7:5000"), &source), Accepted::No);
    }
}
