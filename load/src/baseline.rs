//! The baseline: RTT of a plain UDP echo (no gateway, no SRTP), measured by a flow like the calls'
//! (one stamped packet every 20 ms), in the same process and at the same time as the calls, so it
//! carries the same scheduling delays. The gateway's added one-way latency is half the difference.

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use crate::call::us_since;
use crate::probe::{Probe, STAMP_LEN, stamp};

/// A UDP echo on 127.0.0.1 in its own thread; stops when dropped.
pub struct Echo {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    /// Binds an ephemeral port and starts echoing.
    pub fn start() -> std::io::Result<Echo> {
        let sock = StdUdpSocket::bind("127.0.0.1:0")?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        let addr = sock.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(&buf[..n], from);
                }
            }
        });
        Ok(Echo {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends a stamped 172-byte packet (an RTP header's worth plus 160 bytes) to `echo` every 20 ms
/// from `start` to `end`, and returns the round trips.
pub async fn measure(
    echo: SocketAddr,
    epoch: Instant,
    start: Instant,
    end: Instant,
) -> std::io::Result<Probe> {
    let sock = UdpSocket::bind("127.0.0.1:0").await?;
    let mut probe = Probe::default();
    let mut next = start;
    let mut buf = [0u8; 2048];
    let mut packet = [0u8; 12 + 160];
    tokio::time::sleep_until(start).await;
    while Instant::now() < end + Duration::from_millis(200) {
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                let (n, _) = r?;
                let now_us = us_since(epoch, Instant::now());
                if n >= STAMP_LEN {
                    probe.on_receive(now_us, 0, &buf[..n]);
                }
            }
            _ = tokio::time::sleep_until(next) => {
                let now = Instant::now();
                if now < end {
                    let now_us = us_since(epoch, now);
                    let seq = probe.on_send(now_us);
                    stamp(&mut packet, seq, now_us);
                    let _ = sock.send_to(&packet, echo).await;
                }
                next += Duration::from_millis(20);
            }
        }
    }
    Ok(probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_echo_returns_every_probe() {
        let echo = Echo::start().unwrap();
        let epoch = Instant::now();
        let p = measure(
            echo.addr(),
            epoch,
            epoch,
            epoch + Duration::from_millis(200),
        )
        .await
        .unwrap();
        assert!(p.sent() >= 9, "sent {}", p.sent());
        assert_eq!(p.received(), p.sent());
        assert!(p.rtts_us.iter().all(|&us| us < 100_000), "{:?}", p.rtts_us);
    }
}
