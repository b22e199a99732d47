//! The durable outbox: every report is committed to an SQLite file before `enqueue` returns.
//!
//! Durability: WAL journal with `synchronous=FULL`, so a committed event survives `kill -9` of the
//! gateway and also an OS crash or power loss. Times are wall-clock (they must survive a restart) and
//! are passed in by the caller. Delivered events are deleted; counters live in the same file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

/// The file name of the outbox inside the data directory.
pub const OUTBOX_FILE: &str = "outbox.sqlite3";

/// What may happen to an event that cannot be delivered for a long time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Never dropped (lifecycle, CDR, callbacks).
    Durable,
    /// Dropped once older than this (presence-like events).
    Ttl(Duration),
}

/// One report to deliver to Odoo.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unique key, e.g. `<call_id>:<seq>:<kind>`; Odoo applies a key once.
    pub key: String,
    /// Ordering group (the call id / Asterisk Linkedid): delivered in enqueue order within a group.
    pub group: String,
    /// The kind, e.g. `ringing`.
    pub kind: String,
    /// Drop policy.
    pub policy: Policy,
    /// Target model, e.g. `webrtc.session`.
    pub model: String,
    /// Target method, e.g. `gateway_report`.
    pub method: String,
    /// The event's data.
    pub payload: Value,
    /// When the event happened.
    pub created_at: SystemTime,
}

/// An event waiting in the outbox, with its delivery bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    /// The event as enqueued.
    pub event: Event,
    /// Delivery attempts so far.
    pub attempts: u32,
}

/// Counts for `outbox status` and `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Events not yet delivered.
    pub backlog: u64,
    /// Events delivered since the file was created.
    pub delivered: u64,
    /// Failed delivery attempts (per event) since the file was created.
    pub failed: u64,
    /// Stale TTL events dropped since the file was created.
    pub dropped: u64,
}

/// Outbox failures (disk, corruption).
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// SQLite failed.
    #[error("outbox database {path}: {source}")]
    Sqlite {
        /// The outbox file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A stored payload is not JSON (the file was edited or corrupted).
    #[error("outbox event {key} has a corrupt payload: {source}")]
    CorruptPayload {
        /// The event key.
        key: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The blocking task running an outbox operation failed (panicked or was cancelled).
    #[error("outbox operation failed: {message}")]
    Blocking {
        /// The task's failure.
        message: String,
    },
    /// Cannot create the data directory.
    #[error("cannot create outbox directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The SQLite outbox. Methods block on disk I/O; call them from `spawn_blocking` in async code.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    grp TEXT NOT NULL,
    kind TEXT NOT NULL,
    ttl_ms INTEGER,
    model TEXT NOT NULL,
    method TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_grp_seq ON events(grp, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('delivered', 0), ('failed', 0), ('dropped', 0);
";

impl Outbox {
    /// Opens (or creates) `<data_dir>/outbox.sqlite3`.
    pub fn open(data_dir: &Path) -> Result<Self, OutboxError> {
        std::fs::create_dir_all(data_dir).map_err(|source| OutboxError::Directory {
            path: data_dir.to_owned(),
            source,
        })?;
        Self::open_file(&data_dir.join(OUTBOX_FILE))
    }

    /// Opens (or creates) the outbox at this exact file path.
    pub fn open_file(path: &Path) -> Result<Self, OutboxError> {
        let sql = |source| OutboxError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        Ok(Self {
            path: path.to_owned(),
            conn: Mutex::new(conn),
        })
    }

    /// The outbox file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits one event to disk; a key already waiting is left as it is.
    pub fn enqueue(&self, event: &Event) -> Result<(), OutboxError> {
        self.enqueue_all(std::slice::from_ref(event))
    }

    /// Commits several events in one transaction (one disk sync), in order.
    pub fn enqueue_all(&self, events: &[Event]) -> Result<(), OutboxError> {
        self.with_tx(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO events
                 (key, grp, kind, ttl_ms, model, method, payload, created_at_ms, next_attempt_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            )?;
            for e in events {
                let ttl = match e.policy {
                    Policy::Durable => None,
                    Policy::Ttl(ttl) => Some(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
                };
                insert.execute(params![
                    e.key,
                    e.group,
                    e.kind,
                    ttl,
                    e.model,
                    e.method,
                    e.payload.to_string(),
                    unix_ms(e.created_at)
                ])?;
            }
            Ok(())
        })
    }

    /// Up to `limit` events due at `now`, in enqueue order, never an event whose group has an earlier
    /// event still waiting for a retry. Drops stale TTL events first.
    pub fn pending_batch(
        &self,
        limit: usize,
        now: SystemTime,
    ) -> Result<Vec<PendingEvent>, OutboxError> {
        let now_ms = unix_ms(now);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.with_tx(|tx| {
            let dropped = tx.execute(
                "DELETE FROM events WHERE ttl_ms IS NOT NULL AND created_at_ms + ttl_ms < ?1",
                params![now_ms],
            )?;
            if dropped > 0 {
                bump(tx, "dropped", dropped)?;
                tracing::debug!(dropped, "dropped stale outbox events");
            }
            let mut select = tx.prepare_cached(
                "SELECT key, grp, kind, ttl_ms, model, method, payload, created_at_ms, attempts
                 FROM events e
                 WHERE e.next_attempt_ms <= ?1
                   AND NOT EXISTS (SELECT 1 FROM events p
                                   WHERE p.grp = e.grp AND p.seq < e.seq AND p.next_attempt_ms > ?1)
                 ORDER BY e.seq LIMIT ?2",
            )?;
            let rows = select
                .query_map(params![now_ms, limit], |r| {
                    Ok(Row {
                        key: r.get(0)?,
                        group: r.get(1)?,
                        kind: r.get(2)?,
                        ttl_ms: r.get(3)?,
                        model: r.get(4)?,
                        method: r.get(5)?,
                        payload: r.get(6)?,
                        created_at_ms: r.get(7)?,
                        attempts: r.get(8)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter().map(Row::into_pending).collect()
    }

    /// Removes delivered events (one transaction).
    pub fn mark_delivered(&self, keys: &[String]) -> Result<(), OutboxError> {
        self.with_tx(|tx| {
            let mut delete = tx.prepare_cached("DELETE FROM events WHERE key = ?1")?;
            let mut removed = 0;
            for key in keys {
                removed += delete.execute(params![key])?;
            }
            bump(tx, "delivered", removed)
        })
    }

    /// Records a failed attempt for these events and holds them (and their groups) until `retry_at`.
    pub fn mark_failed(&self, keys: &[String], retry_at: SystemTime) -> Result<(), OutboxError> {
        let retry_ms = unix_ms(retry_at);
        self.with_tx(|tx| {
            let mut update = tx.prepare_cached(
                "UPDATE events SET attempts = attempts + 1, next_attempt_ms = ?2 WHERE key = ?1",
            )?;
            let mut failed = 0;
            for key in keys {
                failed += update.execute(params![key, retry_ms])?;
            }
            bump(tx, "failed", failed)
        })
    }

    /// The earliest retry time after `now` of an undelivered event (held events and their groups
    /// become deliverable then), if any.
    pub fn next_due(&self, now: SystemTime) -> Result<Option<SystemTime>, OutboxError> {
        let now_ms = unix_ms(now);
        let ms: Option<i64> = self.with_conn(|c| {
            c.query_row(
                "SELECT MIN(next_attempt_ms) FROM events WHERE next_attempt_ms > ?1",
                [now_ms],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
        })?;
        Ok(ms.map(from_unix_ms))
    }

    /// Backlog and counters.
    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        self.with_conn(|c| {
            let backlog: i64 = c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
            let counter = |name: &str| -> rusqlite::Result<i64> {
                c.query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
            };
            Ok(OutboxStats {
                backlog: to_u64(backlog),
                delivered: to_u64(counter("delivered")?),
                failed: to_u64(counter("failed")?),
                dropped: to_u64(counter("dropped")?),
            })
        })
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, OutboxError> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll back).
        let conn = match self.conn.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&conn).map_err(|source| OutboxError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    fn with_tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, OutboxError> {
        let mut conn = match self.conn.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let run = |conn: &mut Connection| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        };
        run(&mut conn).map_err(|source| OutboxError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }
}

/// A row as stored.
struct Row {
    key: String,
    group: String,
    kind: String,
    ttl_ms: Option<i64>,
    model: String,
    method: String,
    payload: String,
    created_at_ms: i64,
    attempts: i64,
}

impl Row {
    fn into_pending(self) -> Result<PendingEvent, OutboxError> {
        let payload =
            serde_json::from_str(&self.payload).map_err(|source| OutboxError::CorruptPayload {
                key: self.key.clone(),
                source,
            })?;
        let policy = match self.ttl_ms {
            None => Policy::Durable,
            Some(ms) => Policy::Ttl(Duration::from_millis(to_u64(ms))),
        };
        Ok(PendingEvent {
            event: Event {
                key: self.key,
                group: self.group,
                kind: self.kind,
                policy,
                model: self.model,
                method: self.method,
                payload,
                created_at: from_unix_ms(self.created_at_ms),
            },
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
        })
    }
}

fn bump(tx: &rusqlite::Transaction<'_>, name: &str, by: usize) -> rusqlite::Result<()> {
    if by > 0 {
        let by = i64::try_from(by).unwrap_or(i64::MAX);
        tx.execute(
            "UPDATE counters SET value = value + ?2 WHERE name = ?1",
            params![name, by],
        )?;
    }
    Ok(())
}

/// Milliseconds since the Unix epoch (0 before it, saturating far in the future).
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn from_unix_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(to_u64(ms))
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn event(key: &str, group: &str, t: u64) -> Event {
        Event {
            key: key.into(),
            group: group.into(),
            kind: "ringing".into(),
            policy: Policy::Durable,
            model: "webrtc.session".into(),
            method: "gateway_report".into(),
            payload: json!({"k": key}),
            created_at: at(t),
        }
    }

    fn keys(batch: &[PendingEvent]) -> Vec<&str> {
        batch.iter().map(|p| p.event.key.as_str()).collect()
    }

    #[test]
    fn a_failed_head_holds_back_its_group_only() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        for (k, g) in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b")] {
            outbox.enqueue(&event(k, g, 0)).unwrap();
        }
        assert_eq!(
            keys(&outbox.pending_batch(10, at(1)).unwrap()),
            ["a1", "b1", "a2", "b2"]
        );
        outbox.mark_failed(&["a1".into()], at(60)).unwrap();
        assert_eq!(
            keys(&outbox.pending_batch(10, at(2)).unwrap()),
            ["b1", "b2"]
        );
        let later = outbox.pending_batch(10, at(60)).unwrap();
        assert_eq!(keys(&later), ["a1", "b1", "a2", "b2"]);
        assert_eq!(later[0].attempts, 1);
        assert_eq!(outbox.next_due(at(2)).unwrap(), Some(at(60)));
        assert_eq!(outbox.next_due(at(60)).unwrap(), None);
    }

    #[test]
    fn duplicate_key_is_ignored_and_delivery_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        outbox.enqueue(&event("x", "g", 0)).unwrap();
        outbox.enqueue(&event("x", "g", 5)).unwrap();
        let batch = outbox.pending_batch(10, at(10)).unwrap();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].event, event("x", "g", 0));
        outbox
            .mark_delivered(&["x".into(), "unknown".into()])
            .unwrap();
        let stats = outbox.stats().unwrap();
        assert_eq!(
            stats,
            OutboxStats {
                backlog: 0,
                delivered: 1,
                failed: 0,
                dropped: 0
            }
        );
        assert_eq!(outbox.next_due(at(0)).unwrap(), None);
    }

    #[test]
    fn limit_is_respected_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        let events: Vec<_> = (0..5).map(|i| event(&format!("k{i}"), "g", 0)).collect();
        outbox.enqueue_all(&events).unwrap();
        assert_eq!(keys(&outbox.pending_batch(2, at(0)).unwrap()), ["k0", "k1"]);
    }
}
