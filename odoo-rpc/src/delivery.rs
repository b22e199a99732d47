//! The delivery task: drains the outbox to Odoo in batches, one `execute_kw` per batch and target.
//!
//! Each target method receives one positional argument, the list of event envelopes
//! `{"key", "group", "kind", "created_at" (Unix seconds), "payload"}` in outbox order; for lifecycle
//! reports that is `webrtc.session.gateway_report(events)`, which returns the keys it holds. One RPC is
//! in flight at a time (ordering per group), bounded by the client's timeout; `enqueue` never waits for it.

use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::clock::WallClock;
use crate::error::OdooError;
use crate::outbox::{Outbox, OutboxError, OutboxStats, PendingEvent};
use crate::rpc::OdooClient;
use crate::schedule::{DeliveryConfig, Health, Schedule};

/// Counters for `/metrics`: the outbox's persistent counts plus this process's RPCs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounters {
    /// The outbox counts as of the last delivery round.
    pub outbox: OutboxStats,
    /// `execute_kw` batches sent by this process (successful or not).
    pub batches: u64,
}

struct Shared {
    wake: Notify,
    stop: Notify,
    health: watch::Sender<Health>,
    counters: Mutex<DeliveryCounters>,
}

/// A running delivery task.
pub struct DeliveryHandle {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl DeliveryHandle {
    /// Starts draining `outbox` to Odoo through `client`.
    pub fn spawn(
        outbox: Arc<Outbox>,
        client: Arc<OdooClient>,
        config: DeliveryConfig,
        clock: Arc<dyn WallClock>,
    ) -> Self {
        let shared = Arc::new(Shared {
            wake: Notify::new(),
            stop: Notify::new(),
            health: watch::Sender::new(Health::Starting),
            counters: Mutex::new(DeliveryCounters::default()),
        });
        let task = Driver {
            outbox,
            client,
            schedule: Schedule::new(config.clone()),
            config,
            clock,
            shared: shared.clone(),
            rng: StdRng::from_entropy(),
        };
        Self {
            task: tokio::spawn(task.run()),
            shared,
        }
    }

    /// Asks for prompt delivery (call after `enqueue`); never shortens a backoff.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// The Odoo link's health for `/healthz`.
    pub fn health(&self) -> Health {
        *self.shared.health.borrow()
    }

    /// A receiver that sees every health change.
    pub fn subscribe_health(&self) -> watch::Receiver<Health> {
        self.shared.health.subscribe()
    }

    /// Counters as of the last delivery round.
    pub fn counters(&self) -> DeliveryCounters {
        match self.shared.counters.lock() {
            Ok(c) => *c,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Stops after the RPC in flight (if any) and waits for the task to end.
    pub async fn shutdown(self) {
        self.shared.stop.notify_one();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "odoo delivery task panicked");
        }
    }
}

struct Driver {
    outbox: Arc<Outbox>,
    client: Arc<OdooClient>,
    config: DeliveryConfig,
    schedule: Schedule,
    clock: Arc<dyn WallClock>,
    shared: Arc<Shared>,
    rng: StdRng,
}

/// How a delivery round ended.
enum Round {
    /// Delivered something (or nothing was due): look again at once.
    Progress,
    /// Nothing due: wait for a wake-up or the next due time.
    Idle,
    /// Wait this long before trying again.
    Hold(std::time::Duration),
}

impl Driver {
    async fn run(mut self) {
        loop {
            let round = self.round().await;
            self.refresh_counters().await;
            let wait = match round {
                Round::Progress => continue,
                Round::Hold(delay) => {
                    // A backoff ignores wake-ups: enqueues must not turn into a retry storm.
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = self.shared.stop.notified() => return,
                    }
                    continue;
                }
                Round::Idle => self.idle_wait().await,
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.shared.wake.notified() => {}
                () = self.shared.stop.notified() => return,
            }
        }
    }

    /// How long to sleep when nothing is due: until the earliest retry, at most `idle_poll`.
    async fn idle_wait(&self) -> std::time::Duration {
        let outbox = self.outbox.clone();
        let now = self.clock.now();
        let next = blocking(move || outbox.next_due(now)).await.ok().flatten();
        next.and_then(|due| due.duration_since(now).ok())
            .unwrap_or(self.config.idle_poll)
            .min(self.config.idle_poll)
    }

    async fn round(&mut self) -> Round {
        let now = self.clock.now();
        let outbox = self.outbox.clone();
        let limit = self.config.batch_size.max(1);
        let batch = match blocking(move || outbox.pending_batch(limit, now)).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                return Round::Hold(self.config.min_backoff);
            }
        };
        // One RPC per round; other targets in the batch go in the next rounds, at once.
        let Some((model, method, events)) = first_target(batch) else {
            return Round::Idle;
        };
        let keys: Vec<String> = events.iter().map(|p| p.event.key.clone()).collect();
        let envelopes: Vec<Value> = events.iter().map(envelope).collect();
        let started = Instant::now();
        let result = self
            .client
            .execute_kw(
                &model,
                &method,
                vec![Value::Array(envelopes)],
                Default::default(),
            )
            .await;
        self.bump_batches();
        match result {
            Ok(result) => {
                tracing::debug!(model, method, events = keys.len(), elapsed = ?started.elapsed(), "delivered to Odoo");
                check_applied(&keys, &result);
                if self.schedule.on_success() {
                    tracing::info!("Odoo delivery is working");
                    self.shared.health.send_replace(Health::Ok);
                }
                let outbox = self.outbox.clone();
                if let Err(e) = blocking(move || outbox.mark_delivered(&keys)).await {
                    // Delivered but not recorded: they will be sent again and Odoo ignores known keys.
                    tracing::error!(error = %e, "cannot record delivered events");
                    return Round::Hold(self.config.min_backoff);
                }
                Round::Progress
            }
            Err(error) => self.failed(&model, &method, keys, &error).await,
        }
    }

    async fn failed(
        &mut self,
        model: &str,
        method: &str,
        keys: Vec<String>,
        error: &OdooError,
    ) -> Round {
        let retry = self.schedule.on_error(error, &mut self.rng);
        let health = self.schedule.health();
        if retry.health_changed {
            self.shared.health.send_replace(health);
            if health.is_blocked() {
                tracing::error!(%health, %error, model, method, retry_in = ?retry.delay,
                    "Odoo refuses the gateway's reports; fix Odoo or the [odoo] settings");
            } else {
                tracing::warn!(%error, "Odoo is unreachable; reports wait in the outbox");
            }
        } else if health.is_blocked() {
            // A reminder at the slow retry pace (every `blocked_retry`), not per event.
            tracing::warn!(%health, %error, retry_in = ?retry.delay, "Odoo still refuses the gateway's reports");
        } else {
            tracing::debug!(%error, retry_in = ?retry.delay, "Odoo delivery failed again");
        }
        let retry_at = self.clock.now() + retry.delay;
        let outbox = self.outbox.clone();
        if let Err(e) = blocking(move || outbox.mark_failed(&keys, retry_at)).await {
            tracing::error!(error = %e, "cannot record a failed delivery");
        }
        Round::Hold(retry.delay)
    }

    fn bump_batches(&self) {
        match self.shared.counters.lock() {
            Ok(mut c) => c.batches += 1,
            Err(poisoned) => poisoned.into_inner().batches += 1,
        }
    }

    async fn refresh_counters(&self) {
        let outbox = self.outbox.clone();
        if let Ok(stats) = blocking(move || outbox.stats()).await {
            match self.shared.counters.lock() {
                Ok(mut c) => c.outbox = stats,
                Err(poisoned) => poisoned.into_inner().outbox = stats,
            }
        }
    }
}

/// The events of a batch for its first (model, method), in order, leaving out any event whose group
/// has an earlier event for another target (it must wait for that one). The rest go in later rounds.
fn first_target(batch: Vec<PendingEvent>) -> Option<(String, String, Vec<PendingEvent>)> {
    let first = batch.first()?;
    let (model, method) = (first.event.model.clone(), first.event.method.clone());
    let mut held_groups: Vec<String> = Vec::new();
    let mut chunk = Vec::new();
    for pending in batch {
        let e = &pending.event;
        let same_target = e.model == model && e.method == method;
        if same_target && !held_groups.contains(&e.group) {
            chunk.push(pending);
        } else if !same_target && !held_groups.contains(&e.group) {
            held_groups.push(e.group.clone());
        }
    }
    Some((model, method, chunk))
}

/// The JSON sent to Odoo for one event.
fn envelope(pending: &PendingEvent) -> Value {
    let e = &pending.event;
    let created = e
        .created_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as f64 / 1000.0)
        .unwrap_or(0.0);
    json!({"key": e.key, "group": e.group, "kind": e.kind, "created_at": created, "payload": e.payload})
}

/// Warns when Odoo's answer does not list every key sent (the call succeeded, so they are not resent).
fn check_applied(keys: &[String], result: &Value) {
    if let Value::Array(applied) = result {
        let missing = keys
            .iter()
            .filter(|k| !applied.iter().any(|a| a.as_str() == Some(k.as_str())))
            .count();
        if missing > 0 {
            tracing::warn!(
                missing,
                sent = keys.len(),
                "Odoo did not confirm every event key"
            );
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, OutboxError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) => Err(OutboxError::Blocking {
            message: join.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{Event, Policy};

    fn pending(key: &str, group: &str, method: &str) -> PendingEvent {
        PendingEvent {
            event: Event {
                key: key.into(),
                group: group.into(),
                kind: "k".into(),
                policy: Policy::Durable,
                model: "webrtc.session".into(),
                method: method.into(),
                payload: json!({}),
                created_at: UNIX_EPOCH,
            },
            attempts: 0,
        }
    }

    #[test]
    fn a_group_waits_behind_its_event_for_another_target() {
        let batch = vec![
            pending("a1", "a", "gateway_report"),
            pending("b1", "b", "other"),
            pending("a2", "a", "gateway_report"),
            pending("b2", "b", "gateway_report"),
            pending("c1", "c", "gateway_report"),
        ];
        let (_, method, chunk) = first_target(batch).unwrap();
        let keys: Vec<&str> = chunk.iter().map(|p| p.event.key.as_str()).collect();
        assert_eq!(
            (method.as_str(), keys),
            ("gateway_report", vec!["a1", "a2", "c1"])
        );
        assert!(first_target(Vec::new()).is_none());
    }

    #[test]
    fn envelope_carries_key_group_kind_time_and_payload() {
        let mut p = pending("k", "g", "gateway_report");
        p.event.created_at = UNIX_EPOCH + std::time::Duration::from_millis(1_790_000_000_250);
        let e = envelope(&p);
        assert_eq!(
            e,
            json!({"key": "k", "group": "g", "kind": "k", "created_at": 1_790_000_000.25, "payload": {}})
        );
    }
}
