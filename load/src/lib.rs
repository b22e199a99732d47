//! The load generator of webrtc-gateway (issue 9): N concurrent WebRTC clients (sans-I/O `rtc`
//! peer connections on 127.0.0.1) call an echo through the gateway, send stamped 20 ms audio
//! packets and measure setup time, loss, echo RTT against a plain UDP baseline, and the gateway's
//! CPU, memory and open files. With `--call-duration` the calls churn (a soak): each call lasts
//! that long on its own and the gateway is sampled over time for leaks. See docs/performance.md.

pub mod args;
pub mod audio;
pub mod baseline;
pub mod call;
pub mod churn;
pub mod gateway_metrics;
pub mod probe;
pub mod procfs;
pub mod report;
pub mod run;
pub mod soak;
