//! The SIP driver: the one task that owns the SIP sockets (UDP, and TCP connections) and the
//! sans-I/O user agent core. It selects over datagrams, stream messages, the core's deadline and
//! commands from call tasks. Every received message first passes the per-IP [`sip_guard`] and
//! the source policy: requests from anyone but the trunk (Asterisk) get 403 here and never
//! reach the user agent.

#[path = "sip_guard.rs"]
pub mod sip_guard;

use std::collections::HashMap;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use gateway_config::{Config, SipTransport};
use gateway_sip::framing;
use gateway_sip::transaction::TimerConfig;
use gateway_sip::ua::{
    IncomingCall, RegisterParams, RegistrationState, SessionEvent, Transport, UaConfig, UaEvent,
    UserAgent,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

use sip_guard::{GuardStats, SipGuard, Verdict};

use crate::metrics::GuardCounters;

/// Largest SIP message accepted (UDP datagram or framed stream message).
pub const MAX_SIP_MESSAGE: usize = 64 * 1024;

/// Commands from call tasks.
#[derive(Debug)]
pub enum SipCommand {
    /// Start an INVITE session; its events go to `events`.
    Invite {
        /// The call's handle in the user agent.
        handle: u64,
        /// The number to dial.
        number: String,
        /// Our SDP offer.
        sdp: String,
        /// Where the session's events go.
        events: mpsc::UnboundedSender<SessionEvent>,
        /// Receives the SIP Call-ID the user agent chose (for reports joining the ids).
        sip_call_id: tokio::sync::oneshot::Sender<String>,
    },
    /// Hang up (CANCEL or BYE for outbound; 480 or BYE for inbound).
    Hangup {
        /// The call's handle.
        handle: u64,
    },
    /// Ring an inbound call (180).
    Ring {
        /// The inbound call's handle.
        handle: u64,
    },
    /// Answer an inbound call (200 with SDP).
    Answer {
        /// The inbound call's handle.
        handle: u64,
        /// Our SDP (answer, or offer when the INVITE had none).
        sdp: String,
    },
    /// Refuse an inbound call with a final response.
    Reject {
        /// The inbound call's handle.
        handle: u64,
        /// 403, 404, 480, 486, 603...
        code: u16,
    },
    /// Register a user with Asterisk (start, or update the credentials).
    Register {
        /// The gateway user.
        user: String,
        /// SIP auth and contact user name.
        username: String,
        /// SIP password.
        password: String,
        /// Expiry to ask for.
        expires: std::time::Duration,
    },
    /// Remove a user's registration.
    Unregister {
        /// The gateway user.
        user: String,
    },
    /// Re-INVITE a connected call with a new offer (hold, unhold, media change); the outcome
    /// comes as `SessionEvent::RemoteSdp` or `SessionEvent::ReinviteFailed`.
    Reinvite {
        /// The call's handle.
        handle: u64,
        /// Our new SDP offer.
        sdp: String,
    },
    /// Send one DTMF digit as SIP INFO (`application/dtmf-relay`) in a connected call.
    InfoDtmf {
        /// The call's handle.
        handle: u64,
        /// 0-9, *, #, A-D.
        digit: char,
        /// Tone duration.
        duration_ms: u32,
    },
    /// Ask the SIP side for a video keyframe with SIP INFO `picture_fast_update` (RFC 5168).
    PictureFastUpdate {
        /// The call's handle.
        handle: u64,
    },
}

/// What the SIP driver tells the rest of the gateway, apart from session events.
#[derive(Debug)]
pub enum SipAppEvent {
    /// A new inbound call; its session events arrive on `events`.
    Incoming {
        /// The INVITE's details.
        call: IncomingCall,
        /// The call's session events.
        events: mpsc::UnboundedReceiver<SessionEvent>,
    },
    /// A user's registration state changed.
    Registration {
        /// The gateway user.
        user: String,
        /// The new state.
        state: RegistrationState,
    },
    /// Result of an OPTIONS keepalive to Asterisk.
    ProxyStatus {
        /// Whether it answered.
        reachable: bool,
        /// Its status code.
        code: Option<u16>,
    },
}

/// The bound SIP sockets, bound before the driver starts so bind errors stop the gateway at once.
pub struct SipSockets {
    udp: UdpSocket,
    tcp: TcpListener,
    local: SocketAddr,
}

impl SipSockets {
    /// Binds UDP and TCP on the configured listen address.
    pub async fn bind(config: &Config) -> std::io::Result<Self> {
        let udp = UdpSocket::bind(config.sip.listen).await?;
        let local = udp.local_addr()?;
        let tcp = TcpListener::bind(local).await?;
        Ok(Self { udp, tcp, local })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// Resolves the configured proxy to a socket address.
pub async fn resolve_proxy(config: &Config) -> std::io::Result<SocketAddr> {
    let host = config.sip.proxy.host.as_str();
    let port = config.sip.proxy.port;
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{host} does not resolve")))
}

/// What the driver does with a received message before the user agent sees it.
enum Admission {
    /// Hand it to the user agent.
    Pass,
    /// Drop it silently (throttled, blocked, or a stranger's response).
    Drop,
    /// Answer this (a 403 to a stranger's request) and stop there.
    Refuse(Bytes),
}

/// Issue 8: the rate limit first (so a flood costs no parsing), then the source policy.
fn admit(
    guard: &mut SipGuard,
    counters: &GuardCounters,
    config: &Config,
    proxy: SocketAddr,
    from: SocketAddr,
    data: &[u8],
) -> Admission {
    let admission = admit_one(guard, config, proxy, from, data);
    if !matches!(admission, Admission::Pass) {
        publish(guard.stats(), counters);
    }
    admission
}

/// Copies the guard's counters to the metrics (only after a refusal, so never per call packet).
fn publish(stats: GuardStats, counters: &GuardCounters) {
    use std::sync::atomic::Ordering::Relaxed;
    counters.sip_throttled.store(stats.throttled, Relaxed);
    counters
        .sip_dropped_blocked
        .store(stats.dropped_blocked, Relaxed);
    counters.sip_blocks.store(stats.blocks, Relaxed);
    counters.sip_forbidden.store(stats.forbidden, Relaxed);
}

fn admit_one(
    guard: &mut SipGuard,
    config: &Config,
    proxy: SocketAddr,
    from: SocketAddr,
    data: &[u8],
) -> Admission {
    let is_request = !data.starts_with(b"SIP/");
    if guard.check(Instant::now().into_std(), from.ip(), is_request) != Verdict::Accept {
        tracing::trace!(%from, "SIP message dropped by the rate limit");
        return Admission::Drop;
    }
    if config.sip.is_trunk_source(from.ip(), &[proxy.ip()]) {
        return Admission::Pass;
    }
    if !is_request {
        return Admission::Drop;
    }
    guard.count_forbidden();
    match gateway_sip::salvage::refuse(data, 403) {
        Some(resp) => {
            tracing::debug!(%from, "SIP request from a non-trunk source refused");
            Admission::Refuse(resp)
        }
        None => Admission::Drop,
    }
}

enum StreamEvent {
    Message(SocketAddr, Bytes),
    Closed(SocketAddr),
}

/// Runs the SIP driver until the command channel closes.
pub async fn run(
    config: Config,
    sockets: SipSockets,
    proxy: SocketAddr,
    mut commands: mpsc::UnboundedReceiver<SipCommand>,
    app_events: mpsc::UnboundedSender<SipAppEvent>,
    counters: std::sync::Arc<GuardCounters>,
) {
    let transport = match config.sip.proxy.transport.unwrap_or(config.sip.transport) {
        SipTransport::Udp => Transport::Udp,
        SipTransport::Tcp => Transport::Tcp,
    };
    let ua_config = UaConfig {
        local: sockets.local,
        transport,
        proxy,
        domain: config.sip.domain.clone(),
        username: config.sip.username.clone(),
        password: config.sip.password.expose().to_owned(),
        display_name: config.sip.display_name.clone(),
        user_agent: config.sip.user_agent.clone(),
        timers: TimerConfig {
            t1: config.sip.timers.t1,
            t2: config.sip.timers.t2,
            t4: config.sip.timers.t4,
        },
    };
    let mut ua = UserAgent::new(ua_config, ChaCha20Rng::from_entropy());
    let mut sessions: HashMap<u64, mpsc::UnboundedSender<SessionEvent>> = HashMap::new();
    let mut streams: HashMap<SocketAddr, mpsc::UnboundedSender<Bytes>> = HashMap::new();
    let (stream_tx, mut stream_rx) = mpsc::unbounded_channel::<StreamEvent>();
    let max_message = config.limits.max_sip_message;
    // One byte more than the limit, so an oversized datagram is seen and dropped.
    let mut buf = vec![0u8; max_message + 1];
    let mut guard = SipGuard::new(config.sip.rate_limit_per_ip, config.sip.block_for);
    // OPTIONS keepalive toward Asterisk; the first one after one interval, not at start-up.
    let options_enabled = config.sip.options_interval.is_some();
    let period = config
        .sip
        .options_interval
        .unwrap_or(std::time::Duration::from_secs(3600));
    let mut options_tick = tokio::time::interval_at(Instant::now() + period, period);
    options_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(listen = %sockets.local, %proxy, ?transport, "SIP driver started");

    loop {
        // Carry out what the core produced.
        // Events first: answering one (a reject) queues messages sent just below.
        while let Some(ev) = ua.poll_event() {
            match ev {
                UaEvent::Session { handle, event } => {
                    let ended = matches!(event, SessionEvent::Ended(_));
                    if let Some(tx) = sessions.get(&handle) {
                        let _ = tx.send(event);
                    }
                    if ended {
                        sessions.remove(&handle);
                    }
                }
                UaEvent::Incoming(call) => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let handle = call.handle;
                    sessions.insert(handle, tx);
                    if app_events
                        .send(SipAppEvent::Incoming { call, events: rx })
                        .is_err()
                    {
                        ua.reject(Instant::now().into_std(), handle, 503);
                    }
                }
                UaEvent::Registration { user, state } => {
                    let _ = app_events.send(SipAppEvent::Registration { user, state });
                }
                UaEvent::ProxyStatus { reachable, code } => {
                    let _ = app_events.send(SipAppEvent::ProxyStatus { reachable, code });
                }
            }
        }
        while let Some(t) = ua.poll_transmit() {
            match t.transport {
                Transport::Udp => {
                    if let Err(e) = sockets.udp.send_to(&t.data, t.dest).await {
                        tracing::debug!(dest = %t.dest, error = %e, "SIP UDP send failed");
                    }
                }
                Transport::Tcp => {
                    let writer = match streams.get(&t.dest) {
                        Some(w) if !w.is_closed() => Some(w.clone()),
                        _ => connect(t.dest, &stream_tx, max_message).await.inspect(|w| {
                            streams.insert(t.dest, w.clone());
                        }),
                    };
                    match writer {
                        Some(w) => {
                            let _ = w.send(t.data);
                        }
                        None => tracing::warn!(dest = %t.dest, "SIP TCP connection failed"),
                    }
                }
            }
        }
        let deadline = ua.poll_timeout().map(Instant::from_std);
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };

        tokio::select! {
            r = sockets.udp.recv_from(&mut buf) => match r {
                Ok((n, from)) if n > max_message => {
                    tracing::debug!(%from, bytes = n, "oversized SIP datagram dropped");
                }
                Ok((n, from)) => {
                    tracing::trace!(%from, bytes = n, "sip in (udp)");
                    match admit(&mut guard, &counters, &config, proxy, from, &buf[..n]) {
                        Admission::Pass => ua.handle_message(Instant::now().into_std(), from, Transport::Udp, &buf[..n]),
                        Admission::Drop => {}
                        Admission::Refuse(data) => {
                            if let Err(e) = sockets.udp.send_to(&data, from).await {
                                tracing::debug!(%from, error = %e, "SIP UDP send failed");
                            }
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "SIP UDP receive error"),
            },
            r = sockets.tcp.accept() => match r {
                Ok((stream, from)) => {
                    let w = spawn_stream(stream, from, stream_tx.clone(), max_message);
                    streams.insert(from, w);
                }
                Err(e) => tracing::debug!(error = %e, "SIP TCP accept error"),
            },
            Some(ev) = stream_rx.recv() => match ev {
                StreamEvent::Message(from, data) => match admit(&mut guard, &counters, &config, proxy, from, &data) {
                    Admission::Pass => ua.handle_message(Instant::now().into_std(), from, Transport::Tcp, &data),
                    Admission::Drop => {}
                    Admission::Refuse(data) => {
                        if let Some(w) = streams.get(&from) {
                            let _ = w.send(data);
                        }
                    }
                },
                StreamEvent::Closed(from) => { streams.remove(&from); }
            },
            c = commands.recv() => match c {
                Some(SipCommand::Invite { handle, number, sdp, events, sip_call_id }) => {
                    match ua.invite(Instant::now().into_std(), handle, &number, &sdp) {
                        Ok(id) => {
                            let _ = sip_call_id.send(id);
                            sessions.insert(handle, events);
                        }
                        Err(e) => {
                            tracing::warn!(handle, error = %e, "INVITE not sent");
                            let _ = events.send(SessionEvent::Ended(gateway_sip::ua::EndCause { code: None, reason: "invalid_number" }));
                        }
                    }
                }
                Some(SipCommand::Hangup { handle }) => ua.hangup(Instant::now().into_std(), handle),
                Some(SipCommand::Ring { handle }) => ua.ring(Instant::now().into_std(), handle),
                Some(SipCommand::Answer { handle, sdp }) => {
                    if let Err(e) = ua.answer(Instant::now().into_std(), handle, &sdp) {
                        tracing::warn!(handle, error = %e, "answer not sent");
                    }
                }
                Some(SipCommand::Reject { handle, code }) => ua.reject(Instant::now().into_std(), handle, code),
                Some(SipCommand::Register { user, username, password, expires }) => {
                    ua.register(Instant::now().into_std(), &user, RegisterParams { username, password, expires });
                }
                Some(SipCommand::Unregister { user }) => ua.unregister(Instant::now().into_std(), &user),
                Some(SipCommand::Reinvite { handle, sdp }) => {
                    if let Err(e) = ua.reinvite(Instant::now().into_std(), handle, &sdp) {
                        tracing::warn!(handle, error = %e, "re-INVITE not sent");
                    }
                }
                Some(SipCommand::InfoDtmf { handle, digit, duration_ms }) => {
                    if let Err(e) = ua.send_info_dtmf(Instant::now().into_std(), handle, digit, duration_ms) {
                        tracing::warn!(handle, error = %e, "INFO DTMF not sent");
                    }
                }
                Some(SipCommand::PictureFastUpdate { handle }) => {
                    if let Err(e) = ua.send_picture_fast_update(Instant::now().into_std(), handle) {
                        tracing::debug!(handle, error = %e, "INFO picture_fast_update not sent");
                    }
                }
                None => break,
            },
            _ = options_tick.tick(), if options_enabled => ua.options_ping(Instant::now().into_std()),
            _ = sleep => ua.handle_timeout(Instant::now().into_std()),
        }
    }
}

async fn connect(
    dest: SocketAddr,
    events: &mpsc::UnboundedSender<StreamEvent>,
    max_message: usize,
) -> Option<mpsc::UnboundedSender<Bytes>> {
    let stream =
        match tokio::time::timeout(std::time::Duration::from_secs(2), TcpStream::connect(dest))
            .await
        {
            Ok(Ok(s)) => s,
            _ => return None,
        };
    Some(spawn_stream(stream, dest, events.clone(), max_message))
}

/// Spawns the reader and writer of one SIP TCP connection; returns the writer's channel.
fn spawn_stream(
    stream: TcpStream,
    peer: SocketAddr,
    events: mpsc::UnboundedSender<StreamEvent>,
    max_message: usize,
) -> mpsc::UnboundedSender<Bytes> {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    tokio::spawn(async move {
        while let Some(data) = rx.recv().await {
            if wr.write_all(&data).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut buf = BytesMut::with_capacity(8192);
        loop {
            match rd.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            loop {
                match framing::next_message(&buf, max_message) {
                    Ok(Some((skip, len))) => {
                        let _ = buf.split_to(skip);
                        let msg = buf.split_to(len).freeze();
                        if events.send(StreamEvent::Message(peer, msg)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "SIP stream framing error; closing");
                        let _ = events.send(StreamEvent::Closed(peer));
                        return;
                    }
                }
            }
        }
        let _ = events.send(StreamEvent::Closed(peer));
    });
    tx
}
