//! Prometheus metrics (`GET /metrics`, text exposition format 0.0.4).
//!
//! Counters are plain atomics. The media path never touches them per packet: each call sums its
//! packets locally and adds them here once a second and when it ends.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Upper bounds (seconds) of the call setup histogram buckets.
const SETUP_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// A leg's packet counters, as one call accumulates them between flushes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LegCounts {
    /// Packets received on the leg.
    pub packets_in: u64,
    /// Bytes received on the leg.
    pub bytes_in: u64,
    /// Packets sent on the leg.
    pub packets_out: u64,
    /// Bytes sent on the leg.
    pub bytes_out: u64,
}

#[derive(Default)]
struct LegTotals {
    packets_in: AtomicU64,
    bytes_in: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
}

impl LegTotals {
    fn add(&self, c: LegCounts) {
        self.packets_in.fetch_add(c.packets_in, Ordering::Relaxed);
        self.bytes_in.fetch_add(c.bytes_in, Ordering::Relaxed);
        self.packets_out.fetch_add(c.packets_out, Ordering::Relaxed);
        self.bytes_out.fetch_add(c.bytes_out, Ordering::Relaxed);
    }
}

/// What the per-IP guards refused (issue 8): written by the SIP driver and the `/ws` handler.
#[derive(Debug, Default)]
pub struct GuardCounters {
    /// SIP requests dropped for exceeding `sip.rate_limit_per_ip`.
    pub sip_throttled: AtomicU64,
    /// SIP datagrams dropped because their source was blocked.
    pub sip_dropped_blocked: AtomicU64,
    /// SIP sources blocked (blocks started).
    pub sip_blocks: AtomicU64,
    /// SIP requests refused with 403 (not from a trunk address).
    pub sip_forbidden: AtomicU64,
    /// WebSocket handshakes refused by `limits.ws_connections_per_ip_per_min`.
    pub ws_rate_refused: AtomicU64,
}

/// The gateway's metrics.
#[derive(Default)]
pub struct Metrics {
    /// Refusals of the per-IP guards (shared with the SIP driver).
    pub guard: std::sync::Arc<GuardCounters>,
    calls_active_outbound: AtomicI64,
    calls_active_inbound: AtomicI64,
    transcoding_active: AtomicI64,
    ws_sessions: AtomicI64,
    /// (direction, outcome) -> count; touched once per call end.
    calls_total: Mutex<Vec<((&'static str, String), u64)>>,
    setup_buckets: [AtomicU64; SETUP_BUCKETS.len()],
    setup_count: AtomicU64,
    setup_sum_us: AtomicU64,
    webrtc: LegTotals,
    sip: LegTotals,
    rtp_lost: AtomicU64,
    /// Video packets (issue 10), apart from the audio counters above.
    video_webrtc: LegTotals,
    video_sip: LegTotals,
    video_active: AtomicI64,
    /// Keyframe requests by who asked: the browser, the SIP side, the gateway itself.
    keyframes: [AtomicU64; 3],
}

/// Who asked for a keyframe (PLI, FIR or SIP INFO `picture_fast_update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyframeFrom {
    /// The browser asked (relayed to the SIP side).
    Browser,
    /// The SIP side asked (relayed to the browser).
    Sip,
    /// The gateway asked on its own (video start, ICE restart).
    Gateway,
}

impl KeyframeFrom {
    const ALL: [Self; 3] = [Self::Browser, Self::Sip, Self::Gateway];

    fn label(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::Sip => "sip",
            Self::Gateway => "gateway",
        }
    }
}

impl Metrics {
    /// A call started (`inbound` or `outbound`).
    pub fn call_started(&self, inbound: bool) {
        self.active(inbound).fetch_add(1, Ordering::Relaxed);
    }

    /// A call ended with this outcome (the `ended` reason).
    pub fn call_ended(&self, inbound: bool, outcome: &str) {
        self.active(inbound).fetch_sub(1, Ordering::Relaxed);
        let direction = if inbound { "inbound" } else { "outbound" };
        let mut totals = self.calls_total.lock().unwrap_or_else(|p| p.into_inner());
        match totals
            .iter_mut()
            .find(|((d, o), _)| *d == direction && o == outcome)
        {
            Some((_, n)) => *n += 1,
            None => totals.push(((direction, outcome.to_owned()), 1)),
        }
    }

    fn active(&self, inbound: bool) -> &AtomicI64 {
        if inbound {
            &self.calls_active_inbound
        } else {
            &self.calls_active_outbound
        }
    }

    /// A call's setup time (request to connected).
    pub fn setup(&self, seconds: f64) {
        for (i, bound) in SETUP_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.setup_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.setup_count.fetch_add(1, Ordering::Relaxed);
        self.setup_sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// A transcoding bridge started (`+1`) or ended (`-1`).
    pub fn transcoding(&self, delta: i64) {
        self.transcoding_active.fetch_add(delta, Ordering::Relaxed);
    }

    /// A WebSocket session opened (`+1`) or closed (`-1`).
    pub fn ws_session(&self, delta: i64) {
        self.ws_sessions.fetch_add(delta, Ordering::Relaxed);
    }

    /// Open WebSocket sessions now.
    pub fn ws_sessions_now(&self) -> i64 {
        self.ws_sessions.load(Ordering::Relaxed)
    }

    /// Adds one call's packet counts since its last flush.
    pub fn media(&self, webrtc: LegCounts, sip: LegCounts, lost: u64) {
        self.webrtc.add(webrtc);
        self.sip.add(sip);
        self.rtp_lost.fetch_add(lost, Ordering::Relaxed);
    }

    /// Adds one video call's packet counts since its last flush.
    pub fn video(&self, webrtc: LegCounts, sip: LegCounts) {
        self.video_webrtc.add(webrtc);
        self.video_sip.add(sip);
    }

    /// A video stream started (`+1`) or ended (`-1`).
    pub fn video_active(&self, delta: i64) {
        self.video_active.fetch_add(delta, Ordering::Relaxed);
    }

    /// A keyframe request, counted by who asked.
    pub fn keyframe_request(&self, from: KeyframeFrom) {
        self.keyframe_requests(from, 1);
    }

    /// `n` keyframe requests from the same side.
    pub fn keyframe_requests(&self, from: KeyframeFrom, n: u64) {
        self.keyframes[from as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// The exposition text; `extra` appends gauges owned elsewhere (registrations, AMI, outbox).
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let mut out = String::with_capacity(4096);
        let g = |v: &AtomicI64| v.load(Ordering::Relaxed);
        let c = |v: &AtomicU64| v.load(Ordering::Relaxed);
        gauge(
            &mut out,
            "webrtc_gateway_calls_active",
            "Calls in progress.",
            &[
                (
                    "direction=\"outbound\"",
                    g(&self.calls_active_outbound) as f64,
                ),
                (
                    "direction=\"inbound\"",
                    g(&self.calls_active_inbound) as f64,
                ),
            ],
        );
        let totals: Vec<(String, f64)> = self
            .calls_total
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|((d, o), n)| {
                (
                    format!("direction=\"{d}\",outcome=\"{}\"", escape(o)),
                    *n as f64,
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "# HELP webrtc_gateway_calls_total Calls ended, by direction and outcome."
        );
        let _ = writeln!(out, "# TYPE webrtc_gateway_calls_total counter");
        for (labels, v) in &totals {
            let _ = writeln!(out, "webrtc_gateway_calls_total{{{labels}}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP webrtc_gateway_call_setup_seconds Time from the call request to connected."
        );
        let _ = writeln!(out, "# TYPE webrtc_gateway_call_setup_seconds histogram");
        for (i, bound) in SETUP_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "webrtc_gateway_call_setup_seconds_bucket{{le=\"{bound}\"}} {}",
                c(&self.setup_buckets[i])
            );
        }
        let count = c(&self.setup_count);
        let _ = writeln!(
            out,
            "webrtc_gateway_call_setup_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "webrtc_gateway_call_setup_seconds_sum {}",
            c(&self.setup_sum_us) as f64 / 1e6
        );
        let _ = writeln!(out, "webrtc_gateway_call_setup_seconds_count {count}");
        // One HELP/TYPE per family, then its series (exposition format: a family is contiguous).
        type Field = fn(&LegTotals) -> &AtomicU64;
        type Legs<'a> = [(&'a str, &'a LegTotals); 2];
        let families: [(&str, &str, Legs<'_>, Field); 6] = [
            (
                "rtp_packets_received_total",
                "RTP packets received, by leg.",
                [("webrtc", &self.webrtc), ("sip", &self.sip)],
                |t| &t.packets_in,
            ),
            (
                "rtp_bytes_received_total",
                "RTP bytes received, by leg.",
                [("webrtc", &self.webrtc), ("sip", &self.sip)],
                |t| &t.bytes_in,
            ),
            (
                "rtp_packets_sent_total",
                "RTP packets sent, by leg.",
                [("webrtc", &self.webrtc), ("sip", &self.sip)],
                |t| &t.packets_out,
            ),
            (
                "rtp_bytes_sent_total",
                "RTP bytes sent, by leg.",
                [("webrtc", &self.webrtc), ("sip", &self.sip)],
                |t| &t.bytes_out,
            ),
            (
                "video_packets_received_total",
                "Video RTP packets received, by leg.",
                [("webrtc", &self.video_webrtc), ("sip", &self.video_sip)],
                |t| &t.packets_in,
            ),
            (
                "video_packets_sent_total",
                "Video RTP packets sent, by leg.",
                [("webrtc", &self.video_webrtc), ("sip", &self.video_sip)],
                |t| &t.packets_out,
            ),
        ];
        for (name, help, legs, field) in families {
            let _ = writeln!(out, "# HELP webrtc_gateway_{name} {help}");
            let _ = writeln!(out, "# TYPE webrtc_gateway_{name} counter");
            for (leg, t) in legs {
                let _ = writeln!(
                    out,
                    "webrtc_gateway_{name}{{leg=\"{leg}\"}} {}",
                    c(field(t))
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP webrtc_gateway_keyframe_requests_total Video keyframe requests, by who asked."
        );
        let _ = writeln!(out, "# TYPE webrtc_gateway_keyframe_requests_total counter");
        for from in KeyframeFrom::ALL {
            let _ = writeln!(
                out,
                "webrtc_gateway_keyframe_requests_total{{from=\"{}\"}} {}",
                from.label(),
                c(&self.keyframes[from as usize])
            );
        }
        gauge(
            &mut out,
            "webrtc_gateway_video_calls",
            "Calls relaying video.",
            &[("", g(&self.video_active) as f64)],
        );
        let _ = writeln!(
            out,
            "# HELP webrtc_gateway_rtp_lost_total RTP packets lost (sequence gaps), all legs."
        );
        let _ = writeln!(out, "# TYPE webrtc_gateway_rtp_lost_total counter");
        let _ = writeln!(out, "webrtc_gateway_rtp_lost_total {}", c(&self.rtp_lost));
        gauge(
            &mut out,
            "webrtc_gateway_transcoding_calls",
            "Calls transcoding Opus <-> G.711.",
            &[("", g(&self.transcoding_active) as f64)],
        );
        gauge(
            &mut out,
            "webrtc_gateway_ws_sessions",
            "Open WebSocket sessions.",
            &[("", g(&self.ws_sessions) as f64)],
        );
        let guard = &self.guard;
        for (name, help, v) in [
            (
                "sip_throttled_total",
                "SIP requests dropped by the per-IP rate limit.",
                &guard.sip_throttled,
            ),
            (
                "sip_blocked_dropped_total",
                "SIP datagrams dropped from blocked sources.",
                &guard.sip_dropped_blocked,
            ),
            (
                "sip_blocks_total",
                "SIP sources blocked for exceeding the rate.",
                &guard.sip_blocks,
            ),
            (
                "sip_forbidden_total",
                "SIP requests refused with 403 (not from a trunk address).",
                &guard.sip_forbidden,
            ),
            (
                "ws_rate_refused_total",
                "WebSocket handshakes refused by the per-IP connection rate.",
                &guard.ws_rate_refused,
            ),
        ] {
            let _ = writeln!(out, "# HELP webrtc_gateway_{name} {help}");
            let _ = writeln!(out, "# TYPE webrtc_gateway_{name} counter");
            let _ = writeln!(out, "webrtc_gateway_{name} {}", c(v));
        }
        for (name, help, v) in extra {
            gauge(&mut out, name, help, &[("", *v)]);
        }
        out
    }
}

fn gauge(out: &mut String, name: &str, help: &str, values: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, v) in values {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {v}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
}

/// Label values escape `\`, `"` and newlines (exposition format).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_gauges() {
        let m = Metrics::default();
        m.call_started(false);
        m.call_started(true);
        m.call_ended(true, "busy");
        m.setup(0.02);
        m.media(
            LegCounts {
                packets_in: 10,
                bytes_in: 1600,
                packets_out: 9,
                bytes_out: 1440,
            },
            LegCounts::default(),
            2,
        );
        let text = m.render(&[("webrtc_gateway_registrations", "Registered users.", 3.0)]);
        assert!(text.contains("webrtc_gateway_calls_active{direction=\"outbound\"} 1"));
        assert!(text.contains("webrtc_gateway_calls_active{direction=\"inbound\"} 0"));
        assert!(
            text.contains("webrtc_gateway_calls_total{direction=\"inbound\",outcome=\"busy\"} 1")
        );
        assert!(text.contains("webrtc_gateway_call_setup_seconds_bucket{le=\"0.01\"} 0"));
        assert!(text.contains("webrtc_gateway_call_setup_seconds_bucket{le=\"0.025\"} 1"));
        assert!(text.contains("webrtc_gateway_call_setup_seconds_count 1"));
        assert!(text.contains("webrtc_gateway_rtp_packets_received_total{leg=\"webrtc\"} 10"));
        assert!(text.contains("webrtc_gateway_rtp_lost_total 2"));
        assert!(text.contains("webrtc_gateway_registrations 3"));
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
    /// Text exposition format 0.0.4: one HELP and TYPE per family, and a family's series
    /// together (strict parsers such as `promtool check metrics` refuse anything else).
    #[test]
    fn each_family_is_contiguous_with_one_help() {
        let m = Metrics::default();
        m.keyframe_request(KeyframeFrom::Browser);
        m.video(LegCounts::default(), LegCounts::default());
        let text = m.render(&[("webrtc_gateway_registrations", "Registered users.", 3.0)]);
        let mut seen: Vec<String> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap_or_default().to_owned();
                assert!(!seen.contains(&name), "TYPE {name} twice:\n{text}");
                seen.push(name);
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let series = line.split(['{', ' ']).next().unwrap_or_default();
            let family = seen.last().cloned().unwrap_or_default();
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| series.strip_suffix(s))
                .filter(|b| *b == family)
                .unwrap_or(series);
            assert_eq!(base, family, "{series} outside its family:\n{text}");
        }
        assert!(text.contains("webrtc_gateway_keyframe_requests_total{from=\"browser\"} 1"));
    }
}
