//! `webrtc-gateway outbox status`: an outbox file's backlog, counters and oldest pending event,
//! read beside a running gateway (SQLite WAL lets a reader in while the gateway writes).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway_odoo::outbox::OUTBOX_FILE;
use gateway_odoo::{Outbox, OutboxError, OutboxStats};
use rusqlite::{Connection, OpenFlags};

/// What `outbox status` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxStatus {
    /// The outbox file.
    pub path: PathBuf,
    /// Backlog and counters.
    pub stats: OutboxStats,
    /// How long the oldest undelivered event has waited, if any.
    pub oldest_pending_age: Option<Duration>,
}

impl fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(f, "outbox: {}", self.path.display())?;
        writeln!(f, "backlog: {}", s.backlog)?;
        writeln!(f, "delivered: {}", s.delivered)?;
        writeln!(f, "failed: {}", s.failed)?;
        writeln!(f, "dropped: {}", s.dropped)?;
        match self.oldest_pending_age {
            Some(age) => writeln!(f, "oldest pending: {:.1} s ago", age.as_secs_f64()),
            None => writeln!(f, "oldest pending: none"),
        }
    }
}

/// Why the status cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// No outbox file in the data directory (the gateway never ran with `[odoo]` there).
    #[error("no outbox at {path} (has the gateway run with [odoo] and this storage.data_dir?)")]
    Missing {
        /// The expected file.
        path: PathBuf,
    },
    /// The outbox could not be read.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The oldest-event query failed.
    #[error("outbox database {path}: {source}")]
    Sqlite {
        /// The outbox file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
}

/// Reads the outbox of `data_dir` as of `now`; never creates one.
pub fn outbox_status(data_dir: &Path, now: SystemTime) -> Result<OutboxStatus, StatusError> {
    let path = data_dir.join(OUTBOX_FILE);
    if !path.is_file() {
        return Err(StatusError::Missing { path });
    }
    let stats = Outbox::open_file(&path)?.stats()?;
    let sql = |source| StatusError::Sqlite {
        path: path.clone(),
        source,
    };
    // The outbox API has no "oldest" query; `created_at_ms` is its column of the event time.
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql)?;
    let oldest: Option<i64> = conn
        .query_row("SELECT MIN(created_at_ms) FROM events", [], |r| r.get(0))
        .map_err(sql)?;
    let oldest_pending_age = oldest.map(|ms| {
        let created = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
        now.duration_since(created).unwrap_or(Duration::ZERO)
    });
    Ok(OutboxStatus {
        path,
        stats,
        oldest_pending_age,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway_odoo::{Event, Policy};

    fn event(key: &str, at: SystemTime) -> Event {
        Event {
            key: key.into(),
            group: "c1".into(),
            kind: "ringing".into(),
            policy: Policy::Durable,
            model: "webrtc.session".into(),
            method: "gateway_report".into(),
            payload: serde_json::json!({}),
            created_at: at,
        }
    }

    /// A missing file is reported and not created; an existing one gives counts and the oldest age.
    #[test]
    fn status_counts_and_oldest_age() {
        let dir = tempfile::tempdir().unwrap();
        let e = outbox_status(dir.path(), UNIX_EPOCH).unwrap_err();
        assert!(matches!(e, StatusError::Missing { .. }), "{e}");
        assert!(!dir.path().join(OUTBOX_FILE).exists());

        let t0 = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let outbox = Outbox::open(dir.path()).unwrap();
        outbox
            .enqueue_all(&[
                event("c1:0", t0),
                event("c1:1", t0 + Duration::from_secs(5)),
            ])
            .unwrap();
        outbox.mark_delivered(&["c1:0".into()]).unwrap();
        let status = outbox_status(dir.path(), t0 + Duration::from_secs(65)).unwrap();
        assert_eq!(status.stats.backlog, 1);
        assert_eq!(status.stats.delivered, 1);
        assert_eq!(status.oldest_pending_age, Some(Duration::from_secs(60)));
        let text = status.to_string();
        assert!(text.contains("backlog: 1\n"), "{text}");
        assert!(text.contains("oldest pending: 60.0 s ago"), "{text}");

        outbox.mark_delivered(&["c1:1".into()]).unwrap();
        let status = outbox_status(dir.path(), t0).unwrap();
        assert_eq!(status.oldest_pending_age, None);
        assert!(status.to_string().contains("oldest pending: none"));
    }
}
