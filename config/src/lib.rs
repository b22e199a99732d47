//! Typed configuration for webrtc-gateway.
