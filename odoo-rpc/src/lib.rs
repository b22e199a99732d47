//! Odoo as the gateway's system of record: a JSON-RPC client with typed errors, a durable SQLite
//! outbox, and the task that delivers the outbox to Odoo in batches.
//!
//! Depends on nothing else in the workspace. With the `test-server` feature, [`test_server`] is an
//! Odoo 18 `/jsonrpc` double answering like the captures in `tests/data/`.

pub mod clock;
pub mod delivery;
pub mod error;
pub mod jsonrpc;
pub mod outbox;
pub mod rpc;
pub mod schedule;
#[cfg(feature = "test-server")]
pub mod test_server;

pub use clock::{ManualClock, SystemClock, WallClock};
pub use delivery::{DeliveryCounters, DeliveryHandle};
pub use error::OdooError;
pub use outbox::{Event, Outbox, OutboxError, OutboxStats, PendingEvent, Policy};
pub use rpc::{OdooClient, OdooConfig, Secret};
pub use schedule::{DeliveryConfig, Health, Schedule};
