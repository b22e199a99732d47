//! Gateway orchestration.
