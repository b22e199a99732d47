//! Per-IP admission for the SIP listener, sans-I/O (time is passed in): a token bucket of
//! `sip.rate_limit_per_ip` requests per second (burst: two seconds' worth) drops a source's
//! excess requests silently, and a source that keeps sending well over the rate is blocked for
//! `sip.block_for`: every datagram from it is dropped. "Well over" is a second bucket that
//! fills by one per dropped request and drains at the rate: it overflows (at the burst size)
//! only while a source sends more than twice the rate. Scanners (friendly-scanner, sipvicious)
//! send exactly such bursts. Responses are never throttled, only dropped while blocked.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What to do with one received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it on.
    Accept,
    /// Over the rate: drop it silently.
    Throttle,
    /// The source is blocked: drop it silently.
    Block,
}

/// Counters for the metrics endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardStats {
    /// Requests dropped for exceeding the rate.
    pub throttled: u64,
    /// Datagrams dropped because their source was blocked.
    pub dropped_blocked: u64,
    /// Blocks started.
    pub blocks: u64,
    /// Requests refused with 403 because their source is not a trunk (counted by the driver).
    pub forbidden: u64,
}

/// Sources tracked at most; idle ones are forgotten first, so spoofed addresses cannot grow
/// the table without bound.
const MAX_TRACKED: usize = 16_384;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
    /// Dropped requests, draining at the rate.
    penalty: f64,
    blocked_until: Option<Instant>,
}

/// The per-IP rate limiter and block list.
#[derive(Debug)]
pub struct SipGuard {
    /// Requests per second; `None` = no limit.
    rate: Option<u32>,
    block_for: Option<Duration>,
    buckets: HashMap<IpAddr, Bucket>,
    stats: GuardStats,
}

impl SipGuard {
    /// A guard allowing `rate` requests per second per IP (`None`: unlimited), blocking
    /// sustained offenders for `block_for` (`None`: throttle only).
    pub fn new(rate: Option<u32>, block_for: Option<Duration>) -> Self {
        Self {
            rate: rate.filter(|r| *r > 0),
            block_for,
            buckets: HashMap::new(),
            stats: GuardStats::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> GuardStats {
        self.stats
    }

    /// Counts a request refused with 403 (the driver's decision, kept with the other counters).
    pub fn count_forbidden(&mut self) {
        self.stats.forbidden += 1;
    }

    fn burst(rate: u32) -> f64 {
        f64::from(rate) * 2.0
    }

    /// Decides on one message from `source` received at `now`.
    pub fn check(&mut self, now: Instant, source: IpAddr, is_request: bool) -> Verdict {
        let Some(rate) = self.rate else {
            return Verdict::Accept;
        };
        let burst = Self::burst(rate);
        if !self.buckets.contains_key(&source) && self.buckets.len() >= MAX_TRACKED {
            self.forget_idle(now);
        }
        let bucket = self.buckets.entry(source).or_insert(Bucket {
            tokens: burst,
            last: now,
            penalty: 0.0,
            blocked_until: None,
        });
        if let Some(until) = bucket.blocked_until {
            if now < until {
                self.stats.dropped_blocked += 1;
                return Verdict::Block;
            }
            bucket.blocked_until = None;
            bucket.penalty = 0.0;
            bucket.tokens = burst;
            bucket.last = now;
            tracing::info!(%source, "SIP source unblocked");
        }
        if !is_request {
            return Verdict::Accept;
        }
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        let refill = elapsed * f64::from(rate);
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.penalty = (bucket.penalty - refill).max(0.0);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Verdict::Accept;
        }
        bucket.penalty += 1.0;
        self.stats.throttled += 1;
        if let Some(block_for) = self.block_for
            && bucket.penalty >= burst
        {
            bucket.blocked_until = Some(now + block_for);
            self.stats.blocks += 1;
            tracing::warn!(
                %source,
                rate,
                block_secs = block_for.as_secs(),
                "SIP source exceeds the request rate; blocked"
            );
            return Verdict::Block;
        }
        Verdict::Throttle
    }

    /// Drops sources that are not blocked and whose bucket has refilled.
    fn forget_idle(&mut self, now: Instant) {
        let Some(rate) = self.rate else { return };
        let refill = Duration::from_secs_f64(Self::burst(rate) / f64::from(rate));
        self.buckets.retain(|_, b| {
            b.blocked_until.is_some_and(|u| u > now)
                || now.saturating_duration_since(b.last) < refill
        });
    }

    /// Sources currently tracked (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[allow(clippy::disallowed_methods)] // the origin of virtual time; never read again
    fn t0() -> Instant {
        Instant::now()
    }

    /// Within the rate everything passes; a steady source at the rate is never throttled.
    #[test]
    fn steady_source_at_the_rate_passes() {
        let mut g = SipGuard::new(Some(10), Some(Duration::from_secs(60)));
        let start = t0();
        for i in 0..1000u64 {
            let now = start + Duration::from_millis(100 * i);
            assert_eq!(g.check(now, ip("192.0.2.1"), true), Verdict::Accept, "{i}");
        }
        assert_eq!(g.stats(), GuardStats::default());
    }

    /// A burst beyond two seconds' worth is throttled, then blocked once; the block drops
    /// responses too, other sources are untouched, and it ends after `block_for`.
    #[test]
    fn scanner_burst_is_throttled_then_blocked_once() {
        let mut g = SipGuard::new(Some(10), Some(Duration::from_secs(60)));
        let now = t0();
        let scanner = ip("198.51.100.7");
        let verdicts: Vec<Verdict> = (0..100).map(|_| g.check(now, scanner, true)).collect();
        assert!(verdicts[..20].iter().all(|v| *v == Verdict::Accept));
        assert!(verdicts[20..39].iter().all(|v| *v == Verdict::Throttle));
        assert_eq!(verdicts[39], Verdict::Block);
        assert!(verdicts[40..].iter().all(|v| *v == Verdict::Block));
        assert_eq!(g.check(now, scanner, false), Verdict::Block);
        assert_eq!(g.check(now, ip("192.0.2.1"), true), Verdict::Accept);
        let s = g.stats();
        assert_eq!((s.throttled, s.blocks, s.dropped_blocked), (20, 1, 61));
        let later = now + Duration::from_secs(59);
        assert_eq!(g.check(later, scanner, true), Verdict::Block);
        let after = now + Duration::from_secs(60);
        assert_eq!(g.check(after, scanner, true), Verdict::Accept);
        assert_eq!(g.stats().blocks, 1);
    }

    /// A scanner at 40 times the rate is blocked within a fraction of a second even though
    /// tokens trickle back in between; a source at 1.5 times the rate is only throttled.
    #[test]
    fn sustained_excess_blocks_mild_excess_throttles() {
        let start = t0();
        let mut g = SipGuard::new(Some(20), Some(Duration::from_secs(60)));
        let scanner = ip("127.0.0.2");
        let blocked_at = (0..800u64)
            .map(|i| (i, start + Duration::from_micros(1250 * i)))
            .find(|(_, now)| g.check(*now, scanner, true) == Verdict::Block)
            .map(|(i, _)| i);
        assert!(blocked_at.is_some_and(|i| i < 100), "{blocked_at:?}");
        assert_eq!(g.stats().blocks, 1);

        let mut g = SipGuard::new(Some(20), Some(Duration::from_secs(60)));
        let verdicts: Vec<Verdict> = (0..3000u64)
            .map(|i| g.check(start + Duration::from_micros(33_333 * i), scanner, true))
            .collect();
        assert!(verdicts.contains(&Verdict::Throttle));
        assert!(!verdicts.contains(&Verdict::Block));
    }

    /// Responses are never throttled, even from a source whose bucket is empty.
    #[test]
    fn responses_are_not_throttled() {
        let mut g = SipGuard::new(Some(1), None);
        let now = t0();
        let proxy = ip("127.0.0.1");
        assert_eq!(g.check(now, proxy, true), Verdict::Accept);
        assert_eq!(g.check(now, proxy, true), Verdict::Accept);
        assert_eq!(g.check(now, proxy, true), Verdict::Throttle);
        for _ in 0..100 {
            assert_eq!(g.check(now, proxy, false), Verdict::Accept);
        }
        // `block_for = 0s`: throttled forever, never blocked.
        for _ in 0..100 {
            assert_eq!(g.check(now, proxy, true), Verdict::Throttle);
        }
        assert_eq!(g.stats().blocks, 0);
        assert_eq!(
            g.check(now + Duration::from_secs(1), proxy, true),
            Verdict::Accept
        );
    }

    /// `rate_limit_per_ip = 0` disables the guard.
    #[test]
    fn no_limit_accepts_everything() {
        let mut g = SipGuard::new(None, Some(Duration::from_secs(60)));
        let now = t0();
        for _ in 0..10_000 {
            assert_eq!(g.check(now, ip("192.0.2.9"), true), Verdict::Accept);
        }
        assert_eq!(g.tracked(), 0);
    }

    /// Spoofed sources cannot grow the table past its bound once they go idle.
    #[test]
    fn idle_sources_are_forgotten() {
        let mut g = SipGuard::new(Some(5), Some(Duration::from_secs(60)));
        let now = t0();
        for i in 0..MAX_TRACKED as u32 {
            g.check(now, IpAddr::from(i.to_be_bytes()), true);
        }
        assert_eq!(g.tracked(), MAX_TRACKED);
        g.check(now + Duration::from_secs(3), ip("203.0.113.1"), true);
        assert_eq!(g.tracked(), 1);
    }
}
