//! Wall-clock time for the outbox, injected so tests control staleness and retry times.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A source of wall-clock time (outbox timestamps must survive restarts, so they cannot be monotonic).
pub trait WallClock: Send + Sync + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The system's clock: the one place in this crate that reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The driver's injected clock; cores receive its readings.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self(Mutex::new(start))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        match self.0.lock() {
            Ok(mut t) => *t += by,
            Err(poisoned) => *poisoned.into_inner() += by,
        }
    }
}

impl WallClock for ManualClock {
    fn now(&self) -> SystemTime {
        match self.0.lock() {
            Ok(t) => *t,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}
