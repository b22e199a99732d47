//! SIP without I/O.
