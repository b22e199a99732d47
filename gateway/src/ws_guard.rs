//! Per-IP admission for new WebSocket connections, sans-I/O (time is passed in): at most
//! `limits.ws_connections_per_ip_per_min` new connections per minute from one source address, as
//! a token bucket holding a minute's worth that refills evenly. A client that reconnects after a
//! network change gets in; a script opening sockets in a loop (token guessing, session
//! exhaustion) is refused with 429 until its bucket refills. Refusing costs no allocation beyond
//! the source's bucket, and the table is bounded so spoofed or many sources cannot grow it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Sources tracked at most; the longest idle is forgotten first.
const MAX_TRACKED: usize = 16_384;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The per-IP WebSocket connection rate limiter.
#[derive(Debug)]
pub struct WsGuard {
    /// Connections per minute; `None` = no limit.
    per_min: Option<u32>,
    buckets: HashMap<IpAddr, Bucket>,
    refused: u64,
}

impl WsGuard {
    /// A guard admitting `per_min` new connections per minute per source (`None`: all).
    pub fn new(per_min: Option<u32>) -> Self {
        Self {
            per_min,
            buckets: HashMap::new(),
            refused: 0,
        }
    }

    /// Whether a new connection from `source` at `now` is admitted; a refusal is counted.
    pub fn admit(&mut self, now: Instant, source: IpAddr) -> bool {
        let Some(per_min) = self.per_min else {
            return true;
        };
        let capacity = f64::from(per_min);
        let per_sec = capacity / 60.0;
        if !self.buckets.contains_key(&source) && self.buckets.len() >= MAX_TRACKED {
            self.forget_idle(now);
        }
        let bucket = self.buckets.entry(source).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            self.refused += 1;
            false
        }
    }

    /// Connections refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Drops full buckets (sources idle for a minute or more); if none is, the oldest half.
    fn forget_idle(&mut self, now: Instant) {
        let minute = Duration::from_secs(60);
        self.buckets
            .retain(|_, b| now.saturating_duration_since(b.last) < minute);
        if self.buckets.len() >= MAX_TRACKED {
            let mut ages: Vec<Instant> = self.buckets.values().map(|b| b.last).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            self.buckets.retain(|_, b| b.last > cut);
        }
    }

    /// Sources currently tracked (for tests).
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[allow(clippy::disallowed_methods)] // the origin of virtual time; never read again
    fn start() -> Instant {
        Instant::now()
    }

    #[test]
    fn a_minute_of_connections_then_refused_then_refilled() {
        let t0 = start();
        let mut g = WsGuard::new(Some(6));
        for _ in 0..6 {
            assert!(g.admit(t0, ip(1)));
        }
        assert!(!g.admit(t0, ip(1)), "the 7th within the minute is refused");
        assert!(g.admit(t0, ip(2)), "another source has its own bucket");
        assert_eq!(g.refused(), 1);
        // 6 per minute = one every 10 s.
        assert!(!g.admit(t0 + Duration::from_secs(9), ip(1)));
        assert!(g.admit(t0 + Duration::from_secs(11), ip(1)));
        assert!(!g.admit(t0 + Duration::from_secs(11), ip(1)));
        // After a quiet minute the whole burst is allowed again, not more.
        let later = t0 + Duration::from_secs(200);
        for _ in 0..6 {
            assert!(g.admit(later, ip(1)));
        }
        assert!(!g.admit(later, ip(1)));
        assert_eq!(g.refused(), 4);
    }

    #[test]
    fn no_limit_admits_everything_and_tracks_nothing() {
        let t0 = start();
        let mut g = WsGuard::new(None);
        for _ in 0..10_000 {
            assert!(g.admit(t0, ip(1)));
        }
        assert_eq!((g.refused(), g.tracked()), (0, 0));
    }

    #[test]
    fn the_table_is_bounded() {
        let t0 = start();
        let mut g = WsGuard::new(Some(1));
        for i in 0..(MAX_TRACKED as u32 + 100) {
            let at = t0 + Duration::from_millis(u64::from(i));
            assert!(g.admit(at, IpAddr::from(i.to_be_bytes())));
        }
        assert!(g.tracked() <= MAX_TRACKED);
        // The newest source is still remembered and still limited.
        let last = IpAddr::from((MAX_TRACKED as u32 + 99).to_be_bytes());
        assert!(!g.admit(t0 + Duration::from_secs(17), last));
    }
}
