//! Direct method calls to Odoo, `model.method(*args)`, one RPC each, kept in a durable outbox file of
//! their own (`calls.sqlite3` beside the report outbox).
//!
//! Two kinds of delivery take their own positional arguments instead of a batch of envelopes, so they
//! cannot share `gateway-odoo`'s batch delivery: click-to-call callbacks
//! (`res_model.res_method(result, pass_back)`, OdooPBX's callback pattern) and forwarded AMI events
//! (`model.method(event)`, OdooPBX's `asterisk_plus.event`). Delivery is at least once, in enqueue
//! order per group; the key goes in the context (`gateway_event_key`) so a method can skip a repeat.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gateway_odoo::{
    DeliveryConfig, Event, Health, OdooClient, Outbox, OutboxError, PendingEvent, Policy, Schedule,
    WallClock,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

/// The file name of the calls outbox inside the data directory.
pub const CALLS_FILE: &str = "calls.sqlite3";
/// Calls read from the outbox per round.
const BATCH: usize = 50;
/// The `kind` column of the calls outbox.
const KIND: &str = "call";

/// One method call to make in Odoo.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// Unique key; a key already waiting in the outbox is not enqueued twice.
    pub key: String,
    /// Ordering group: calls of one group are made in enqueue order (a call's Linkedid, an originate id).
    pub group: String,
    /// The model, e.g. `asterisk_calls.call`.
    pub model: String,
    /// The public method, e.g. `create_cdr`.
    pub method: String,
    /// The positional arguments.
    pub args: Vec<Value>,
    /// Extra context keys (the key is added as `gateway_event_key`).
    pub context: Map<String, Value>,
    /// Whether a stale call is still worth making.
    pub policy: Policy,
}

impl MethodCall {
    /// The outbox row of this call, created at `at`.
    pub(crate) fn into_event(self, at: SystemTime) -> Event {
        let mut context = self.context;
        context.insert("gateway_event_key".into(), self.key.clone().into());
        Event {
            key: self.key,
            group: self.group,
            kind: KIND.to_owned(),
            policy: self.policy,
            model: self.model,
            method: self.method,
            payload: json!({"args": self.args, "context": context}),
            created_at: at,
        }
    }
}

/// Positional and keyword arguments of a stored call.
fn arguments(payload: &Value) -> (Vec<Value>, Map<String, Value>) {
    let args = payload
        .get("args")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut kwargs = Map::new();
    if let Some(context) = payload.get("context").filter(|c| c.is_object()) {
        kwargs.insert("context".into(), context.clone());
    }
    (args, kwargs)
}

/// Starts the delivery task of the calls outbox; notify the returned handle after each commit.
pub(crate) fn spawn(
    outbox: Arc<Outbox>,
    client: Arc<OdooClient>,
    config: DeliveryConfig,
    clock: Arc<dyn WallClock>,
) -> Arc<Notify> {
    let wake = Arc::new(Notify::new());
    let driver = Driver {
        outbox,
        client,
        schedule: Schedule::new(config.clone()),
        config,
        clock,
        wake: wake.clone(),
        rng: StdRng::from_entropy(),
    };
    tokio::spawn(driver.run());
    wake
}

struct Driver {
    outbox: Arc<Outbox>,
    client: Arc<OdooClient>,
    schedule: Schedule,
    config: DeliveryConfig,
    clock: Arc<dyn WallClock>,
    wake: Arc<Notify>,
    rng: StdRng,
}

impl Driver {
    async fn run(mut self) {
        loop {
            let now = self.clock.now();
            let outbox = self.outbox.clone();
            let batch = match blocking(move || outbox.pending_batch(BATCH, now)).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the calls outbox");
                    tokio::time::sleep(self.config.min_backoff).await;
                    continue;
                }
            };
            if batch.is_empty() {
                let wait = self.idle_wait().await;
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = self.wake.notified() => {}
                }
                continue;
            }
            if let Some(delay) = self.round(batch).await {
                // Odoo is unreachable: every call would fail the same way; wake-ups must not storm it.
                tokio::time::sleep(delay).await;
            }
        }
    }

    /// Makes the calls of a batch in order; `Some(delay)` when Odoo is unreachable.
    async fn round(&mut self, batch: Vec<PendingEvent>) -> Option<Duration> {
        let mut held: HashSet<String> = HashSet::new();
        for pending in batch {
            let e = pending.event;
            if held.contains(&e.group) {
                continue;
            }
            let (args, kwargs) = arguments(&e.payload);
            match self
                .client
                .execute_kw(&e.model, &e.method, args, kwargs)
                .await
            {
                Ok(_) => {
                    tracing::debug!(key = %e.key, model = %e.model, method = %e.method, "Odoo method called");
                    if self.schedule.on_success() {
                        tracing::info!("Odoo method calls are working");
                    }
                    let outbox = self.outbox.clone();
                    let keys = vec![e.key];
                    if let Err(err) = blocking(move || outbox.mark_delivered(&keys)).await {
                        // Made but not recorded: it will be made again (at least once).
                        tracing::error!(error = %err, "cannot record a delivered call");
                    }
                }
                Err(error) => {
                    let retry = self.schedule.on_error(&error, &mut self.rng);
                    let health = Health::from_error(&error);
                    tracing::warn!(key = %e.key, model = %e.model, method = %e.method, %error,
                        %health, retry_in = ?retry.delay, "Odoo method call failed");
                    let retry_at = self.clock.now() + retry.delay;
                    let outbox = self.outbox.clone();
                    let keys = vec![e.key];
                    if let Err(err) = blocking(move || outbox.mark_failed(&keys, retry_at)).await {
                        tracing::error!(error = %err, "cannot record a failed call");
                    }
                    if health == Health::Unreachable {
                        return Some(retry.delay);
                    }
                    // Only this call's group waits (a missing method must not stop other rules).
                    held.insert(e.group);
                }
            }
        }
        None
    }

    async fn idle_wait(&self) -> Duration {
        let outbox = self.outbox.clone();
        let now = self.clock.now();
        let next = blocking(move || outbox.next_due(now)).await.ok().flatten();
        next.and_then(|due| due.duration_since(now).ok())
            .unwrap_or(self.config.idle_poll)
            .min(self.config.idle_poll)
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
    use std::time::UNIX_EPOCH;

    #[test]
    fn a_call_is_stored_with_its_arguments_and_key_in_the_context() {
        let call = MethodCall {
            key: "originate:o-1".into(),
            group: "originate:o-1".into(),
            model: "crm.phonecall".into(),
            method: "originate_call_response".into(),
            args: vec![json!({"Response": "Success"}), json!({"uid": 2})],
            context: Map::new(),
            policy: Policy::Durable,
        };
        let event = call.into_event(UNIX_EPOCH);
        assert_eq!(event.kind, "call");
        let (args, kwargs) = arguments(&event.payload);
        assert_eq!(
            args,
            vec![json!({"Response": "Success"}), json!({"uid": 2})]
        );
        assert_eq!(
            Value::Object(kwargs),
            json!({"context": {"gateway_event_key": "originate:o-1"}})
        );
        assert_eq!(arguments(&json!({})), (Vec::new(), Map::new()));
    }
}
