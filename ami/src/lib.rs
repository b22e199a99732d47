//! Asterisk Manager Interface client.
