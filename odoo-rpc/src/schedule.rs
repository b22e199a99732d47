//! When to try Odoo again, and what to tell `/healthz`: the delivery task's sans-I/O core.
//!
//! Retryable failures (Odoo unreachable, 5xx, timeouts) back off exponentially with jitter from
//! `min_backoff` to `max_backoff`. Failures no retry can fix (access denied, missing model) are
//! retried only every `blocked_retry`, so a wrong API key never turns into a retry storm.

use std::fmt;
use std::time::Duration;

use rand::Rng;

use crate::error::OdooError;

/// Delivery tuning.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Events per RPC (one `execute_kw` per target per batch).
    pub batch_size: usize,
    /// First retry delay while Odoo is unreachable.
    pub min_backoff: Duration,
    /// Cap of the retry delay while Odoo is unreachable.
    pub max_backoff: Duration,
    /// Retry delay after a failure that needs a human (access denied, missing model).
    pub blocked_retry: Duration,
    /// Longest idle wait without a `wake()` before looking at the outbox again.
    pub idle_poll: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            batch_size: 200,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            blocked_retry: Duration::from_secs(300),
            idle_poll: Duration::from_secs(30),
        }
    }
}

/// The Odoo link as `/healthz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Nothing delivered or failed yet.
    Starting,
    /// The last delivery succeeded.
    Ok,
    /// Odoo is unreachable or failing transiently; retrying with backoff.
    Unreachable,
    /// The credentials are refused (wrong login, password or API key, or not in the gateway group).
    AccessDenied,
    /// The target model does not exist: the addon is not installed.
    ModelMissing,
    /// The target method does not exist: the addon is outdated.
    MethodMissing,
    /// The configured database does not exist.
    DatabaseMissing,
    /// Odoo rejected the data (validation or another server error).
    Rejected,
}

impl Health {
    /// The snake_case name used in `/healthz`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Ok => "ok",
            Self::Unreachable => "unreachable",
            Self::AccessDenied => "access_denied",
            Self::ModelMissing => "model_missing",
            Self::MethodMissing => "method_missing",
            Self::DatabaseMissing => "database_missing",
            Self::Rejected => "rejected",
        }
    }

    /// Whether a human must fix Odoo or the configuration (retries are slow meanwhile).
    pub fn is_blocked(self) -> bool {
        !matches!(self, Self::Starting | Self::Ok | Self::Unreachable)
    }

    /// The health an error leads to.
    pub fn from_error(error: &OdooError) -> Self {
        match error {
            e if e.is_retryable() => Self::Unreachable,
            OdooError::AccessDenied | OdooError::LoginRefused | OdooError::AccessError { .. } => {
                Self::AccessDenied
            }
            OdooError::ModelNotFound { .. } => Self::ModelMissing,
            OdooError::MethodNotFound { .. } => Self::MethodMissing,
            OdooError::DatabaseNotFound { .. } => Self::DatabaseMissing,
            _ => Self::Rejected,
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do after a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Wait this long before the next attempt.
    pub delay: Duration,
    /// The health changed with this failure (log it once, loudly).
    pub health_changed: bool,
}

/// Consecutive failures and the resulting health.
#[derive(Debug, Clone)]
pub struct Schedule {
    config: DeliveryConfig,
    failures: u32,
    health: Health,
}

impl Schedule {
    /// A schedule that has seen nothing yet.
    pub fn new(config: DeliveryConfig) -> Self {
        Self {
            config,
            failures: 0,
            health: Health::Starting,
        }
    }

    /// The current health.
    pub fn health(&self) -> Health {
        self.health
    }

    /// A delivery succeeded; returns whether the health changed.
    pub fn on_success(&mut self) -> bool {
        self.failures = 0;
        let changed = self.health != Health::Ok;
        self.health = Health::Ok;
        changed
    }

    /// A delivery failed with `error`; returns when to try again.
    pub fn on_error(&mut self, error: &OdooError, rng: &mut impl Rng) -> Retry {
        let health = Health::from_error(error);
        let health_changed = health != self.health;
        self.health = health;
        let delay = if health.is_blocked() {
            self.config.blocked_retry
        } else {
            self.failures = self.failures.saturating_add(1);
            let exponent = self.failures.saturating_sub(1).min(30);
            let ceiling = self
                .config
                .min_backoff
                .saturating_mul(1u32 << exponent)
                .min(self.config.max_backoff);
            // "Equal jitter": half fixed, half random, so retries from many gateways spread out.
            ceiling.mul_f64(rng.gen_range(0.5..=1.0))
        };
        Retry {
            delay,
            health_changed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn unreachable() -> OdooError {
        OdooError::ConnectionRefused {
            message: "refused".into(),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let mut s = Schedule::new(DeliveryConfig::default());
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..10)
            .map(|_| s.on_error(&unreachable(), &mut rng).delay)
            .collect();
        for (i, d) in delays.iter().enumerate() {
            let ceiling = Duration::from_secs(1 << i.min(6)).min(Duration::from_secs(60));
            assert!(
                *d <= ceiling && *d >= ceiling / 2,
                "attempt {i}: {d:?} vs {ceiling:?}"
            );
        }
        assert_eq!(s.health(), Health::Unreachable);
        assert!(s.on_success());
        assert!(s.on_error(&unreachable(), &mut rng).delay <= Duration::from_secs(1));
    }

    /// A wrong API key for one hour of virtual time costs 13 attempts, not thousands.
    #[test]
    fn access_denied_is_retried_slowly_and_reported_once() {
        let mut s = Schedule::new(DeliveryConfig::default());
        let mut rng = StdRng::seed_from_u64(1);
        let (mut now, mut attempts, mut reports) = (Duration::ZERO, 0, 0);
        while now <= Duration::from_secs(3600) {
            let retry = s.on_error(&OdooError::LoginRefused, &mut rng);
            attempts += 1;
            reports += usize::from(retry.health_changed);
            now += retry.delay;
        }
        assert_eq!((attempts, reports), (13, 1));
        assert_eq!(s.health().as_str(), "access_denied");
    }

    #[test]
    fn errors_map_to_health() {
        let cases = [
            (
                OdooError::ModelNotFound {
                    model: "webrtc.session".into(),
                },
                "model_missing",
            ),
            (
                OdooError::MethodNotFound {
                    method: "m.x".into(),
                },
                "method_missing",
            ),
            (
                OdooError::DatabaseNotFound {
                    database: "x".into(),
                },
                "database_missing",
            ),
            (
                OdooError::AccessError {
                    message: "group".into(),
                },
                "access_denied",
            ),
            (
                OdooError::Validation {
                    message: "bad".into(),
                },
                "rejected",
            ),
            (OdooError::Http5xx { status: 502 }, "unreachable"),
            (OdooError::Timeout, "unreachable"),
        ];
        for (error, name) in cases {
            assert_eq!(Health::from_error(&error).as_str(), name, "{error}");
        }
    }
}
