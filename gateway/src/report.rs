//! Lifecycle reports to Odoo: every call's `initiating` .. `ended` events, committed to the durable
//! outbox by one writer thread and delivered by `gateway-odoo`'s delivery task.
//!
//! A call task holds a [`CallReport`]; `event` never blocks (it hands the event to the writer over a
//! channel). The writer commits whatever has queued up in one transaction, so the events of many
//! calls share one disk sync (group commit), then acks `flush` waiters and wakes the delivery task.
//! Events go to `webrtc.session.gateway_report` in the outbox envelope form of docs/odoo.md: key
//! `<call_id>:<seq>`, group = the call id, payload `{seq, call_id, at, ...}`.
//!
//! Besides lifecycle reports: `update` events joining Asterisk's ids to a call ([`Reporter::update`]),
//! and direct method calls ([`Reporter::callback`]: click-to-call callbacks and forwarded AMI events),
//! which go through their own outbox file and delivery task (`calls`).

pub mod calls;
mod status;

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway_odoo::{
    DeliveryConfig, DeliveryHandle, Event, Health, OdooClient, Outbox, OutboxStats, Policy,
    SystemClock, WallClock,
};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

pub use calls::{CALLS_FILE, MethodCall};
pub use status::{OutboxStatus, StatusError, outbox_status};

/// The Odoo model lifecycle reports go to.
pub const MODEL: &str = "webrtc.session";
/// Its method (docs/odoo.md: applies a batch in order, idempotent by key).
pub const METHOD: &str = "gateway_report";
/// Most events committed in one transaction.
const MAX_GROUP: usize = 1000;
/// Commit attempts before a group is given up (the disk is failing).
const COMMIT_ATTEMPTS: u32 = 5;

/// A lifecycle state of a call, as `webrtc.session` knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The call was placed (outbound) or offered (inbound).
    Initiating,
    /// The phone (or the browser, inbound) is ringing.
    Ringing,
    /// Answered; media is being set up.
    Connecting,
    /// Media flows both ways: billing starts.
    Connected,
    /// The call is over.
    Ended,
}

impl Kind {
    /// The `kind` value of docs/odoo.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initiating => "initiating",
            Self::Ringing => "ringing",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Ended => "ended",
        }
    }
}

/// Who called whom, seen from the WebRTC user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The browser called a phone.
    Outbound,
    /// A phone called the browser.
    Inbound,
}

impl Direction {
    /// The `direction` value of docs/odoo.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outbound => "outbound",
            Self::Inbound => "inbound",
        }
    }
}

/// What the writer thread receives.
enum Msg {
    Event(Box<Event>),
    /// A direct method call, for the calls outbox.
    Call(Box<Event>),
    Flush(oneshot::Sender<()>),
}

struct Inner {
    tx: std_mpsc::Sender<Msg>,
    outbox: Arc<Outbox>,
    calls: Arc<Outbox>,
    delivery: Arc<DeliveryHandle>,
    client: Arc<OdooClient>,
    clock: Arc<dyn WallClock>,
    /// The start-up login's outcome, shown until the delivery task has tried for itself.
    probe: Arc<Mutex<Option<Health>>>,
}

/// The gateway's reporter: the outbox writer thread and the delivery task. Cheap to clone.
#[derive(Clone)]
pub struct Reporter {
    inner: Arc<Inner>,
}

impl Reporter {
    /// Opens the outbox under `[storage] data_dir` and, when `[odoo]` is set, starts delivery.
    /// `None` when there is no `[odoo]` (nothing is recorded then). Needs a Tokio runtime.
    pub fn start(config: &gateway_config::Config) -> anyhow::Result<Option<Reporter>> {
        let Some(odoo) = &config.odoo else {
            return Ok(None);
        };
        let client = OdooClient::new(gateway_odoo::OdooConfig {
            url: odoo.url.clone(),
            database: odoo.database.clone(),
            login: odoo.login.clone(),
            secret: gateway_odoo::Secret::new(odoo.credential.secret().expose()),
            timeout: odoo.timeout,
        })
        .map_err(|e| anyhow::anyhow!("odoo.url: {e}"))?;
        let outbox = Outbox::open(&config.storage.data_dir)
            .map_err(|e| anyhow::anyhow!("storage.data_dir: {e}"))?;
        let delivery = DeliveryConfig {
            batch_size: odoo.batch_size,
            ..DeliveryConfig::default()
        };
        let reporter = Self::with_parts(
            Arc::new(outbox),
            Arc::new(client),
            delivery,
            Arc::new(SystemClock),
        )?;
        reporter.probe_login();
        Ok(Some(reporter))
    }

    /// A reporter over an opened outbox and client, with an injected wall clock (tests).
    pub fn with_parts(
        outbox: Arc<Outbox>,
        client: Arc<OdooClient>,
        delivery: DeliveryConfig,
        clock: Arc<dyn WallClock>,
    ) -> anyhow::Result<Reporter> {
        tracing::info!(outbox = %outbox.path().display(), "Odoo reports go through the outbox");
        let calls_path = outbox.path().with_file_name(CALLS_FILE);
        let calls = Arc::new(
            Outbox::open_file(&calls_path).map_err(|e| anyhow::anyhow!("storage.data_dir: {e}"))?,
        );
        let calls_wake = calls::spawn(
            calls.clone(),
            client.clone(),
            delivery.clone(),
            clock.clone(),
        );
        let delivery = Arc::new(DeliveryHandle::spawn(
            outbox.clone(),
            client.clone(),
            delivery,
            clock.clone(),
        ));
        let (tx, rx) = std_mpsc::channel();
        let wake = delivery.clone();
        let written = outbox.clone();
        let calls_written = calls.clone();
        std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || {
                writer(
                    &Targets {
                        reports: &written,
                        calls: &calls_written,
                    },
                    &rx,
                    &wake,
                    &calls_wake,
                )
            })
            .map_err(|e| anyhow::anyhow!("cannot start the outbox writer thread: {e}"))?;
        Ok(Reporter {
            inner: Arc::new(Inner {
                tx,
                outbox,
                calls,
                delivery,
                client,
                clock,
                probe: Arc::new(Mutex::new(None)),
            }),
        })
    }

    /// Logs in once at start, so a wrong key shows in the log and `/healthz` before any call.
    fn probe_login(&self) {
        let client = self.inner.client.clone();
        let probe = self.inner.probe.clone();
        tokio::spawn(async move {
            let health = match client.login().await {
                Ok(_) => Health::Ok,
                Err(e) => {
                    let health = Health::from_error(&e);
                    if health.is_blocked() {
                        tracing::error!(%health, error = %e,
                            "Odoo refuses the gateway's login; fix the [odoo] settings or Odoo");
                    } else {
                        tracing::warn!(error = %e, "Odoo is unreachable at start; reports wait in the outbox");
                    }
                    health
                }
            };
            *lock(&probe) = Some(health);
        });
    }

    /// The reports of one call; the first event carries `direction`, `user`, `remote`, `call_type`.
    pub fn call(
        &self,
        call_id: &str,
        direction: Direction,
        user: &str,
        remote: &str,
        call_type: &str,
    ) -> CallReport {
        let mut first = Map::new();
        first.insert("direction".into(), direction.as_str().into());
        first.insert("user".into(), user.into());
        first.insert("remote".into(), remote.into());
        first.insert("call_type".into(), call_type.into());
        CallReport {
            inner: Some(CallInner {
                tx: self.inner.tx.clone(),
                clock: self.inner.clock.clone(),
                call_id: call_id.to_owned(),
                seq: 0,
                first: Some(first),
            }),
        }
    }

    /// The Odoo link's health for `/healthz` (`ok`, `unreachable`, `access_denied`, ...).
    pub fn health(&self) -> &'static str {
        let delivery = self.inner.delivery.health();
        let health = match *lock(&self.inner.probe) {
            Some(probe) if delivery == Health::Starting => probe,
            _ => delivery,
        };
        health.as_str()
    }

    /// Outbox backlog and counters, read from the file now (blocks on SQLite for a moment: call it
    /// from `spawn_blocking` in async code); those of the delivery task's last round if that fails.
    pub fn stats(&self) -> OutboxStats {
        match self.inner.outbox.stats() {
            Ok(stats) => stats,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox counters");
                self.inner.delivery.counters().outbox
            }
        }
    }

    /// The Odoo client (shared with the SIP credentials lookup).
    pub fn client(&self) -> Arc<OdooClient> {
        self.inner.client.clone()
    }

    /// Queues a direct method call, `model.method(*args)`, without waiting (durable, at least once).
    pub fn callback(&self, call: MethodCall) {
        let key = call.key.clone();
        let event = call.into_event(self.inner.clock.now());
        tracing::debug!(%key, model = %event.model, method = %event.method, "method call queued");
        if self.inner.tx.send(Msg::Call(Box::new(event))).is_err() {
            tracing::error!(%key, "outbox writer is gone; method call lost");
        }
    }

    /// Queues an `update` event for call `call_id` (values only, no state change; docs/odoo.md), with
    /// key `<call_id>:<suffix>`. Its `seq` is 0: Odoo then only fills fields that are still empty,
    /// which is what ids learnt later (Asterisk's `uniqueid`, `linkedid`) need.
    pub fn update(&self, call_id: &str, suffix: &str, fields: Map<String, Value>) {
        let now = self.inner.clock.now();
        let mut payload = without_nulls(fields);
        payload.insert("seq".into(), 0.into());
        payload.insert("call_id".into(), call_id.into());
        payload.insert("at".into(), rfc3339_millis(now).into());
        let event = Event {
            key: format!("{call_id}:{suffix}"),
            group: call_id.to_owned(),
            kind: "update".to_owned(),
            policy: Policy::Durable,
            model: MODEL.to_owned(),
            method: METHOD.to_owned(),
            payload: Value::Object(payload),
            created_at: now,
        };
        tracing::debug!(%call_id, key = %event.key, "update queued");
        if self.inner.tx.send(Msg::Event(Box::new(event))).is_err() {
            tracing::error!(%call_id, "outbox writer is gone; update lost");
        }
    }

    /// Backlog and counters of the calls outbox (blocks on SQLite: use `spawn_blocking`).
    pub fn calls_stats(&self) -> Option<OutboxStats> {
        match self.inner.calls.stats() {
            Ok(stats) => Some(stats),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the calls outbox counters");
                None
            }
        }
    }

    /// Waits until everything handed to the writer so far is committed.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

struct CallInner {
    tx: std_mpsc::Sender<Msg>,
    clock: Arc<dyn WallClock>,
    call_id: String,
    seq: u32,
    first: Option<Map<String, Value>>,
}

/// The lifecycle reports of one call. Every method is a no-op when reporting is off.
pub struct CallReport {
    inner: Option<CallInner>,
}

impl CallReport {
    /// A report that records nothing (no `[odoo]`).
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    /// Hands the event to the outbox writer without waiting; keys are `<call_id>:<seq>`.
    pub fn event(&mut self, kind: Kind, fields: Map<String, Value>) {
        let Some(call) = &mut self.inner else {
            return;
        };
        let now = call.clock.now();
        let mut payload = call.first.take().unwrap_or_default();
        payload.extend(without_nulls(fields));
        payload.insert("seq".into(), call.seq.into());
        payload.insert("call_id".into(), call.call_id.as_str().into());
        payload.insert("at".into(), rfc3339_millis(now).into());
        let event = Event {
            key: format!("{}:{}", call.call_id, call.seq),
            group: call.call_id.clone(),
            kind: kind.as_str().to_owned(),
            policy: Policy::Durable,
            model: MODEL.to_owned(),
            method: METHOD.to_owned(),
            payload: Value::Object(payload),
            created_at: now,
        };
        tracing::debug!(call_id = %call.call_id, key = %event.key, kind = kind.as_str(), "report queued");
        call.seq += 1;
        if call.tx.send(Msg::Event(Box::new(event))).is_err() {
            tracing::error!(call_id = %call.call_id, kind = kind.as_str(), "outbox writer is gone; report lost");
        }
    }

    /// Waits until every event of this call handed over so far is committed to disk.
    pub async fn flush(&self) {
        let Some(call) = &self.inner else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        if call.tx.send(Msg::Flush(tx)).is_ok() {
            // An error means the writer ended; it already logged why.
            let _ = rx.await;
        }
    }
}

/// `fields` without `null`s, also inside `stats` legs: the addon refuses a whole event whose
/// `stats.<leg>.<metric>` is not a number (docs/odoo.md), and a missing metric is simply unknown.
fn without_nulls(fields: Map<String, Value>) -> Map<String, Value> {
    fields
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, mut v)| {
            if k == "stats"
                && let Value::Object(legs) = &mut v
            {
                for leg in legs.values_mut() {
                    if let Value::Object(metrics) = leg {
                        metrics.retain(|_, m| !m.is_null());
                    }
                }
            }
            (k, v)
        })
        .collect()
}

/// The two outbox files the writer commits to.
struct Targets<'a> {
    reports: &'a Outbox,
    calls: &'a Outbox,
}

/// The writer thread: commits queued events in groups (one transaction per file), acks flushes,
/// wakes the delivery tasks.
fn writer(
    targets: &Targets<'_>,
    rx: &std_mpsc::Receiver<Msg>,
    delivery: &DeliveryHandle,
    calls_wake: &tokio::sync::Notify,
) {
    while let Ok(first) = rx.recv() {
        let mut events = Vec::new();
        let mut calls = Vec::new();
        let mut waiters = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Event(e) => events.push(*e),
                Msg::Call(e) => calls.push(*e),
                Msg::Flush(w) => waiters.push(w),
            }
            next = (events.len() + calls.len() < MAX_GROUP)
                .then(|| rx.try_recv().ok())
                .flatten();
        }
        if !events.is_empty() {
            commit(targets.reports, &events);
        }
        if !calls.is_empty() {
            commit(targets.calls, &calls);
        }
        for w in waiters {
            let _ = w.send(());
        }
        if !events.is_empty() {
            delivery.wake();
        }
        if !calls.is_empty() {
            calls_wake.notify_one();
        }
    }
    tracing::debug!("outbox writer stopped");
}

/// One transaction for the group, retried a few times (a busy or failing disk) before giving up loudly.
fn commit(outbox: &Outbox, events: &[Event]) {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=COMMIT_ATTEMPTS {
        match outbox.enqueue_all(events) {
            Ok(()) => {
                tracing::trace!(events = events.len(), "outbox group committed");
                return;
            }
            Err(e) if attempt < COMMIT_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "outbox commit failed; retrying");
                std::thread::sleep(delay);
                delay *= 4;
            }
            Err(e) => {
                let first = events.first().map(|e| e.key.as_str()).unwrap_or_default();
                tracing::error!(error = %e, events = events.len(), first_key = first,
                    "cannot commit reports to the outbox; they are lost");
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values stay consistent whatever a panicking holder did.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `2026-11-21T10:00:04.123Z`: RFC 3339 §5.6 in UTC with milliseconds (0 before 1970).
pub fn rfc3339_millis(t: SystemTime) -> String {
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        .min(253_402_300_799_999); // 9999-12-31T23:59:59.999Z
    let ms = u64::try_from(ms).unwrap_or(0);
    let (days, in_day) = (ms / 86_400_000, ms % 86_400_000);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway_odoo::ManualClock;
    use gateway_odoo::test_server::{Credentials, TestServer};

    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_795_255_204_123)
    }

    fn client(url: &str) -> Arc<OdooClient> {
        let c = Credentials::default();
        Arc::new(
            OdooClient::new(gateway_odoo::OdooConfig {
                url: url.into(),
                database: c.database,
                login: c.login,
                secret: gateway_odoo::Secret::new(c.secret),
                timeout: Duration::from_secs(5),
            })
            .unwrap(),
        )
    }

    fn reporter(dir: &Path, url: &str) -> Reporter {
        let outbox = Arc::new(Outbox::open(dir).unwrap());
        let clock = Arc::new(ManualClock::new(t0()));
        Reporter::with_parts(outbox, client(url), DeliveryConfig::default(), clock).unwrap()
    }

    fn fields(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    async fn wait_applied(server: &TestServer, n: usize) -> Vec<Value> {
        let wait = async {
            loop {
                let applied = server.applied();
                if applied.len() >= n {
                    return applied;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .expect("events applied by the test server")
    }

    use std::path::Path;

    /// RFC 3339 §5.6 `date-time` in UTC with milliseconds, leap days and centuries included.
    #[test]
    fn rfc3339_timestamps() {
        let at = |ms: u64| rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(at(1_795_255_204_123), "2026-11-21T10:00:04.123Z");
        assert_eq!(at(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(
            rfc3339_millis(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(Kind::Connecting.as_str(), "connecting");
        assert_eq!(Direction::Inbound.as_str(), "inbound");
    }

    /// `flush` returns only once the call's events are in the outbox file (Odoo is down here).
    #[tokio::test]
    async fn flush_waits_for_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(Credentials::default()).await.unwrap();
        let url = server.url();
        server.stop().await;
        let reporter = reporter(dir.path(), &url);
        let mut report = reporter.call("gw-1", Direction::Outbound, "alice", "600", "audio");
        for kind in [Kind::Initiating, Kind::Ringing, Kind::Connecting] {
            report.event(kind, Map::new());
        }
        report.flush().await;
        let other = Outbox::open(dir.path()).unwrap();
        let pending = other
            .pending_batch(10, t0() + Duration::from_secs(3600))
            .unwrap();
        let keys: Vec<&str> = pending.iter().map(|p| p.event.key.as_str()).collect();
        assert_eq!(keys, ["gw-1:0", "gw-1:1", "gw-1:2"]);
        assert_eq!(pending[1].event.kind, "ringing");
        assert_eq!(pending[1].event.policy, Policy::Durable);
        assert_eq!(pending[1].event.created_at, t0());
        CallReport::disabled().event(Kind::Ended, Map::new());
        CallReport::disabled().flush().await;
    }

    /// Two interleaved calls reach `gateway_report` in order per call, in the envelope form of
    /// docs/odoo.md; only each call's first event names direction, user, remote and call type.
    #[tokio::test]
    async fn events_reach_odoo_in_order_with_their_fields() {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(Credentials::default()).await.unwrap();
        let reporter = reporter(dir.path(), &server.url());
        let mut a = reporter.call("gw-a", Direction::Outbound, "alice", "600", "audio");
        let mut b = reporter.call("gw-b", Direction::Inbound, "bob", "+3225", "audio");
        a.event(Kind::Initiating, Map::new());
        b.event(Kind::Initiating, fields(&[("sip_call_id", "x@h".into())]));
        a.event(Kind::Ringing, fields(&[("sip_code", 180.into())]));
        b.event(
            Kind::Ended,
            fields(&[("reason", "caller_cancel".into()), ("duration", 0.0.into())]),
        );
        a.event(
            Kind::Ended,
            fields(&[
                ("reason", "normal_clearing".into()),
                ("duration", 1.5.into()),
            ]),
        );
        a.flush().await;
        let applied = wait_applied(&server, 5).await;
        let of =
            |call: &str| -> Vec<&Value> { applied.iter().filter(|e| e["group"] == call).collect() };
        let a_events = of("gw-a");
        let kinds: Vec<&str> = a_events.iter().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(kinds, ["initiating", "ringing", "ended"]);
        let first = &a_events[0];
        assert_eq!(first["key"], "gw-a:0");
        assert_eq!(first["created_at"], 1_795_255_204.123);
        let p = &first["payload"];
        assert_eq!(
            (&p["direction"], &p["user"], &p["remote"], &p["call_type"]),
            (
                &"outbound".into(),
                &"alice".into(),
                &"600".into(),
                &"audio".into()
            )
        );
        assert_eq!((&p["seq"], &p["call_id"]), (&0.into(), &"gw-a".into()));
        assert_eq!(p["at"], "2026-11-21T10:00:04.123Z");
        let ended = &a_events[2]["payload"];
        assert_eq!(ended["seq"], 2);
        assert_eq!(ended["reason"], "normal_clearing");
        assert_eq!(ended["duration"], 1.5);
        assert!(ended.get("user").is_none(), "{ended}");
        let b_events = of("gw-b");
        assert_eq!(b_events[0]["payload"]["direction"], "inbound");
        assert_eq!(b_events[0]["payload"]["sip_call_id"], "x@h");
        assert_eq!(b_events[1]["key"], "gw-b:1");
        assert_eq!(server.duplicates(), 0);
    }

    /// `null` metrics would make the addon drop the whole `ended` event: they are left out.
    #[test]
    fn nulls_are_left_out() {
        let stats =
            serde_json::json!({"webrtc": {"mos": 4.3, "rtt_ms": null}, "sip": {"mos": 4.4}});
        let cleaned = without_nulls(fields(&[("stats", stats), ("sip_code", Value::Null)]));
        assert_eq!(
            Value::Object(cleaned),
            serde_json::json!({"stats": {"webrtc": {"mos": 4.3}, "sip": {"mos": 4.4}}})
        );
    }

    /// A wrong API key shows as `access_denied` from the start-up login, before any call.
    #[tokio::test]
    async fn wrong_key_is_access_denied_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(Credentials::default()).await.unwrap();
        let toml = format!(
            "[odoo]\nurl = \"{}\"\ndatabase = \"gw\"\nlogin = \"admin\"\napi_key = \"wrong\"\n\
             users_from_odoo = false\n[storage]\ndata_dir = {:?}\n",
            server.url(),
            dir.path().display().to_string()
        );
        let config = gateway_config::Config::from_toml_str(&toml, []).unwrap();
        let reporter = Reporter::start(&config).unwrap().expect("[odoo] is set");
        let wait = async {
            while reporter.health() != "access_denied" {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .expect("health becomes access_denied");
        assert_eq!(server.calls("common.login"), 1);
        assert!(
            Reporter::start(&gateway_config::Config::default())
                .unwrap()
                .is_none()
        );
    }
}
