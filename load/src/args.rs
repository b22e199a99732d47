//! The command line: what to call, how many calls, how fast, for how long. Only 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Why the command line cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgsError {
    /// `--url` is not `ws://127.0.0.1:<port>/...`.
    #[error(
        "--url must be ws://127.0.0.1:<port>/<path> (the load generator only runs on loopback): {0}"
    )]
    Url(String),
    /// `--rate` is not `R/s` or `R` with R > 0.
    #[error("--rate must be calls per second, e.g. 20/s: {0}")]
    Rate(String),
    /// A duration is not `<n>ms`, `<n>s` or `<n>m`.
    #[error("bad duration {0:?}: expected e.g. 500ms, 30s or 2m")]
    Duration(String),
    /// `--calls` is 0.
    #[error("--calls must be at least 1")]
    NoCalls,
    /// An address is not on 127.0.0.1.
    #[error("{0} is not a 127.0.0.1 address")]
    NotLoopback(String),
    /// `--rtp-ports` is not `START-END` with START <= END.
    #[error("--rtp-ports must be START-END, e.g. 20000-29999: {0}")]
    PortRange(String),
    /// A churn-mode option without `--call-duration`, or a zero duration or interval.
    #[error("{0}")]
    Churn(&'static str),
}

/// The audio codec the simulated browsers offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Codec {
    /// Opus 48 kHz (pre-encoded 20 ms frames of a 1 kHz tone).
    Opus,
    /// G.711 µ-law 8 kHz.
    Pcmu,
}

/// `webrtc-gateway-load`: N concurrent WebRTC calls through the gateway to an echo.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// Signaling WebSocket of the gateway, e.g. ws://127.0.0.1:8080/ws.
    #[arg(long)]
    pub url: String,
    /// Token(s) of `/ws?token=`; calls are spread over them (repeat for more than
    /// `sip.max_calls_per_user` calls).
    #[arg(long = "token", required = true)]
    pub tokens: Vec<String>,
    /// Number of calls.
    #[arg(long, default_value_t = 10)]
    pub calls: u32,
    /// Ramp-up rate: new calls per second, e.g. 20/s.
    #[arg(long, default_value = "20/s")]
    pub rate: String,
    /// How long every call stays up together once the ramp is over, e.g. 30s.
    #[arg(long, default_value = "30s")]
    pub hold: String,
    /// The number to call: `echo` (the gateway's built-in echo) or an extension answered by an RTP
    /// echo (SIPp `-rtp_echo`).
    #[arg(long, default_value = "echo")]
    pub number: String,
    /// The only codec the simulated browsers offer.
    #[arg(long, value_enum, default_value_t = Codec::Pcmu)]
    pub codec: Codec,
    /// A plain UDP echo to measure the baseline RTT against (SIPp's media port, e.g.
    /// 127.0.0.1:6000); default: an echo thread inside the generator.
    #[arg(long)]
    pub baseline: Option<String>,
    /// The gateway's process id: report its CPU over the hold, its memory and its open files.
    #[arg(long)]
    pub gateway_pid: Option<u32>,
    /// Pace of each client's ICE connectivity checks (the `rtc` default is 200ms).
    #[arg(long, default_value = "10ms")]
    pub ice_check_interval: String,
    /// Worker threads of the generator (1 = a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Churn (soak) mode: each call sends audio for this long after it connects, then hangs up,
    /// on its own; calls start at `--rate` until `--calls` have started (`--hold` is unused).
    #[arg(long)]
    pub call_duration: Option<String>,
    /// Churn mode: how often the gateway is sampled (RSS, open files, threads, `/metrics`).
    #[arg(long, default_value = "10s")]
    pub sample_interval: String,
    /// Churn mode: the gateway's `media.rtp_ports` (e.g. 20000-29999), to check after the run
    /// that every port free before is free again.
    #[arg(long)]
    pub rtp_ports: Option<String>,
    /// Print a human table to stderr as well as the JSON line on stdout.
    #[arg(long)]
    pub pretty: bool,
}

/// The validated plan of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The WebSocket URL (on 127.0.0.1).
    pub url: String,
    /// Tokens, used round-robin.
    pub tokens: Vec<String>,
    /// Number of calls.
    pub calls: u32,
    /// Calls per second during the ramp.
    pub rate: f64,
    /// Time everything is up together after the ramp.
    pub hold: Duration,
    /// Number dialled.
    pub number: String,
    /// Codec offered.
    pub codec: Codec,
    /// Plain UDP echo of the baseline, if external.
    pub baseline: Option<SocketAddr>,
    /// The gateway process to observe.
    pub gateway_pid: Option<u32>,
    /// Pace of the clients' ICE checks.
    pub ice_check_interval: Duration,
    /// The gateway's HTTP listener (`/metrics`), the authority of `url`.
    pub http_addr: SocketAddr,
    /// Churn mode, if `--call-duration` was given.
    pub churn: Option<Churn>,
}

/// Churn (soak) mode: calls come and go independently.
#[derive(Debug, Clone, PartialEq)]
pub struct Churn {
    /// How long each call sends audio after it connects.
    pub call_duration: Duration,
    /// Gateway sampling period.
    pub sample_interval: Duration,
    /// The gateway's RTP port range, inclusive, if known.
    pub rtp_ports: Option<(u16, u16)>,
}

impl Plan {
    /// Checks the arguments.
    pub fn from_args(a: &Args) -> Result<Plan, ArgsError> {
        if a.calls == 0 {
            return Err(ArgsError::NoCalls);
        }
        let http_addr = check_url(&a.url)?;
        let baseline = match &a.baseline {
            Some(s) => Some(loopback_addr(s)?),
            None => None,
        };
        Ok(Plan {
            url: a.url.clone(),
            tokens: a.tokens.clone(),
            calls: a.calls,
            rate: parse_rate(&a.rate)?,
            hold: parse_duration(&a.hold)?,
            number: a.number.clone(),
            codec: a.codec,
            baseline,
            gateway_pid: a.gateway_pid,
            ice_check_interval: parse_duration(&a.ice_check_interval)?,
            http_addr,
            churn: churn(a)?,
        })
    }

    /// How long the ramp lasts: the last call starts this long after the first.
    pub fn ramp(&self) -> Duration {
        Duration::from_secs_f64(f64::from(self.calls.saturating_sub(1)) / self.rate)
    }

    /// When call `i` (from 0) starts, after the run's start.
    pub fn start_offset(&self, i: u32) -> Duration {
        Duration::from_secs_f64(f64::from(i) / self.rate)
    }
}

fn churn(a: &Args) -> Result<Option<Churn>, ArgsError> {
    let Some(d) = &a.call_duration else {
        if a.rtp_ports.is_some() {
            return Err(ArgsError::Churn("--rtp-ports needs --call-duration"));
        }
        return Ok(None);
    };
    let call_duration = parse_duration(d)?;
    let sample_interval = parse_duration(&a.sample_interval)?;
    if call_duration.is_zero() || sample_interval.is_zero() {
        return Err(ArgsError::Churn(
            "--call-duration and --sample-interval must be > 0",
        ));
    }
    let rtp_ports = match &a.rtp_ports {
        Some(r) => Some(parse_port_range(r)?),
        None => None,
    };
    Ok(Some(Churn {
        call_duration,
        sample_interval,
        rtp_ports,
    }))
}

/// `20000-29999` -> `(20000, 29999)`.
pub fn parse_port_range(s: &str) -> Result<(u16, u16), ArgsError> {
    let bad = || ArgsError::PortRange(s.to_owned());
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let first: u16 = a.trim().parse().map_err(|_| bad())?;
    let last: u16 = b.trim().parse().map_err(|_| bad())?;
    if first == 0 || first > last {
        return Err(bad());
    }
    Ok((first, last))
}

/// Checks `ws://127.0.0.1:<port>/...`; returns `127.0.0.1:<port>`.
fn check_url(url: &str) -> Result<SocketAddr, ArgsError> {
    let bad = || ArgsError::Url(url.to_owned());
    let rest = url.strip_prefix("ws://").ok_or_else(bad)?;
    let authority = rest.split('/').next().ok_or_else(bad)?;
    let addr: SocketAddr = authority.parse().map_err(|_| bad())?;
    if addr.ip() != IpAddr::V4(Ipv4Addr::LOCALHOST) {
        return Err(bad());
    }
    Ok(addr)
}

fn loopback_addr(s: &str) -> Result<SocketAddr, ArgsError> {
    match s.parse::<SocketAddr>() {
        Ok(a) if a.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST) => Ok(a),
        _ => Err(ArgsError::NotLoopback(s.to_owned())),
    }
}

/// `20/s` or `20` (calls per second), > 0.
pub fn parse_rate(s: &str) -> Result<f64, ArgsError> {
    let n = s.strip_suffix("/s").unwrap_or(s);
    match n.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(ArgsError::Rate(s.to_owned())),
    }
}

/// `500ms`, `30s`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, ArgsError> {
    let bad = || ArgsError::Duration(s.to_owned());
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        return Err(bad());
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Duration::from_secs_f64(v * scale)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec![
            "webrtc-gateway-load",
            "--url",
            "ws://127.0.0.1:8080/ws",
            "--token",
            "alice-token",
        ];
        v.extend_from_slice(extra);
        Args::parse_from(v)
    }

    #[test]
    fn a_full_command_line_becomes_a_plan() {
        let p = Plan::from_args(&args(&[
            "--calls", "5", "--rate", "2/s", "--hold", "3s", "--codec", "opus",
        ]))
        .unwrap();
        assert_eq!(p.calls, 5);
        assert_eq!(p.rate, 2.0);
        assert_eq!(p.hold, Duration::from_secs(3));
        assert_eq!(p.codec, Codec::Opus);
        assert_eq!(p.ramp(), Duration::from_secs(2));
        assert_eq!(p.start_offset(3), Duration::from_millis(1500));
        assert_eq!(p.http_addr, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
        assert_eq!(p.churn, None);
    }

    #[test]
    fn call_duration_turns_on_churn_mode() {
        let p = Plan::from_args(&args(&[
            "--calls",
            "600",
            "--rate",
            "10/s",
            "--call-duration",
            "30s",
            "--rtp-ports",
            "20000-29999",
        ]))
        .unwrap();
        assert_eq!(
            p.churn,
            Some(Churn {
                call_duration: Duration::from_secs(30),
                sample_interval: Duration::from_secs(10),
                rtp_ports: Some((20000, 29999)),
            })
        );
        assert!(matches!(
            Plan::from_args(&args(&["--call-duration", "0s"])),
            Err(ArgsError::Churn(_))
        ));
        assert!(matches!(
            Plan::from_args(&args(&["--rtp-ports", "20000-29999"])),
            Err(ArgsError::Churn(_))
        ));
        assert!(parse_port_range("30000-20000").is_err());
        assert!(parse_port_range("20000").is_err());
    }

    #[test]
    fn only_loopback_is_accepted() {
        for url in [
            "ws://10.0.0.1:8080/ws",
            "wss://127.0.0.1:8080/ws",
            "ws://localhost:8080/ws",
            "http://127.0.0.1:8080/ws",
        ] {
            let mut a = args(&[]);
            a.url = url.to_owned();
            assert_eq!(
                Plan::from_args(&a),
                Err(ArgsError::Url(url.to_owned())),
                "{url}"
            );
        }
        let a = args(&["--baseline", "192.168.1.2:6000"]);
        assert!(matches!(
            Plan::from_args(&a),
            Err(ArgsError::NotLoopback(_))
        ));
    }

    #[test]
    fn rates_and_durations_parse_or_are_refused() {
        assert_eq!(parse_rate("20/s"), Ok(20.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("-1s").is_err());
        assert_eq!(
            Plan::from_args(&args(&["--calls", "0"])),
            Err(ArgsError::NoCalls)
        );
    }
}
