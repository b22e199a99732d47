//! Odoo JSON-RPC client and durable outbox.
