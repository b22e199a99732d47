//! Media without I/O.
