//! Ports on 127.0.0.1 for the programs under test.
//!
//! Single ports come from the kernel (bind port 0, read it, release it). RTP ranges must be free
//! as a block and distinct between tests running at the same time, so they come from a
//! per-process counter offset by the pid, in 20000-32767: below Linux's ephemeral range
//! (32768-60999), so a port the kernel hands out for `bind(:0)` never lands inside a range.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};

use anyhow::{Context, Result, bail};

/// First port of the RTP area.
const RTP_AREA_START: u16 = 20_000;
/// Number of ports in each RTP block.
pub(crate) const RTP_BLOCK_LEN: u16 = 20;
/// Number of blocks in the RTP area (20000..32760).
const RTP_BLOCKS: u16 = 638;

static NEXT_BLOCK: AtomicU16 = AtomicU16::new(0);

/// 127.0.0.1 with `port`.
pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_tcp_port() -> Result<u16> {
    let listener = TcpListener::bind(loopback(0)).context("binding a TCP port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_udp_port() -> Result<u16> {
    let socket = UdpSocket::bind(loopback(0)).context("binding a UDP port on 127.0.0.1")?;
    Ok(socket.local_addr()?.port())
}

/// A port on 127.0.0.1 that was free a moment ago for both UDP and TCP.
pub(crate) fn free_udp_tcp_port() -> Result<u16> {
    for _ in 0..50 {
        let socket = UdpSocket::bind(loopback(0)).context("binding a UDP port on 127.0.0.1")?;
        let port = socket.local_addr()?.port();
        if TcpListener::bind(loopback(port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no port of 127.0.0.1 free for both UDP and TCP in 50 tries")
}

/// A block of [`RTP_BLOCK_LEN`] consecutive UDP ports, all free now: `(first, last)` inclusive.
pub(crate) fn rtp_block() -> Result<(u16, u16)> {
    let offset = u16::try_from(std::process::id() % u32::from(RTP_BLOCKS))
        .context("pid offset below RTP_BLOCKS fits u16")?;
    for _ in 0..RTP_BLOCKS {
        let n = NEXT_BLOCK.fetch_add(1, Ordering::Relaxed);
        let block = (offset + n % RTP_BLOCKS) % RTP_BLOCKS;
        let first = RTP_AREA_START + block * RTP_BLOCK_LEN;
        let last = first + RTP_BLOCK_LEN - 1;
        if (first..=last).all(|port| UdpSocket::bind(loopback(port)).is_ok()) {
            return Ok((first, last));
        }
    }
    bail!("no free block of {RTP_BLOCK_LEN} UDP ports in {RTP_AREA_START}-32767 on 127.0.0.1")
}
