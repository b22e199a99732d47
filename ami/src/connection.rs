//! The tokio driver: one task per AMI server owns the socket, runs a [`Session`] per TCP connection, and
//! reconnects with jittered backoff after any loss. [`AmiClient`] is the cheap, cloneable handle.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::action::{Action, Completion};
use crate::backoff::Backoff;
use crate::client::{ActionResult, Output, Session};
use crate::config::AmiConfig;
use crate::error::AmiError;
use crate::message::Message;

/// The connection state of one AMI server, as seen by [`AmiClient::state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Connecting or logging in.
    Connecting,
    /// Logged in; actions are accepted.
    Connected {
        /// The banner, e.g. `Asterisk Call Manager/11.0.0`.
        banner: String,
    },
    /// Waiting to reconnect; actions fail at once.
    Disconnected {
        /// Why the last connection ended (or could not be made).
        reason: String,
    },
    /// The client was shut down.
    Closed,
}

type Reply = oneshot::Sender<Result<ActionResult, AmiError>>;

enum Command {
    Action { action: Action, reply: Reply },
    Shutdown,
}

/// A handle to one AMI server connection. Clone it freely; the connection task stops when
/// [`AmiClient::shutdown`] is called or every handle is dropped.
#[derive(Debug, Clone)]
pub struct AmiClient {
    name: Arc<str>,
    action_timeout: Duration,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Arc<Message>>,
    state: watch::Receiver<ConnState>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Action { action, .. } => write!(f, "Action({action:?})"),
            Self::Shutdown => f.write_str("Shutdown"),
        }
    }
}

impl AmiClient {
    /// Starts the connection task (on the current tokio runtime) and returns at once.
    pub fn spawn(config: AmiConfig) -> Self {
        let (commands, rx) = mpsc::channel(256);
        let (events, _) = broadcast::channel(config.event_buffer.max(1));
        let (state_tx, state) = watch::channel(ConnState::Connecting);
        let client = Self {
            name: config.name.as_str().into(),
            action_timeout: config.action_timeout,
            commands,
            events: events.clone(),
            state,
        };
        tokio::spawn(
            Driver {
                config,
                commands: rx,
                events,
                state: state_tx,
            }
            .run(),
        );
        client
    }

    /// The server name from the configuration.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs an action and waits for its complete reply (response plus list events). A `Response: Error`
    /// is still `Ok` (see [`ActionResult::is_success`]). Fails at once when not connected.
    pub async fn action(&self, action: Action) -> Result<ActionResult, AmiError> {
        match &*self.state.borrow() {
            ConnState::Connected { .. } => {}
            ConnState::Connecting => return Err(self.not_connected("connecting")),
            ConnState::Disconnected { reason } => return Err(self.not_connected(reason)),
            ConnState::Closed => return Err(AmiError::Closed),
        }
        let limit =
            action.timeout_override().unwrap_or(self.action_timeout) + Duration::from_secs(1);
        let name = action.name().to_owned();
        let (reply, rx) = oneshot::channel();
        let call = async {
            self.commands
                .send(Command::Action { action, reply })
                .await
                .map_err(|_| AmiError::Closed)?;
            rx.await.map_err(|_| AmiError::Closed)?
        };
        // The session enforces the action timeout; this outer guard only covers a stuck driver.
        match tokio::time::timeout(limit, call).await {
            Ok(result) => result,
            Err(_) => Err(AmiError::Timeout {
                server: self.name.to_string(),
                action: name,
                after: limit,
            }),
        }
    }

    /// Runs an action given as a JSON object (`{"Action": "CoreShowChannels"}`).
    pub async fn action_json(&self, json: &Value) -> Result<ActionResult, AmiError> {
        self.action(Action::from_json(json)?).await
    }

    /// Runs a CLI command and returns its output lines (Asterisk 14+ `Output:` headers or the legacy
    /// `Follows` body). An unknown command is [`AmiError::ActionFailed`] carrying Asterisk's output.
    pub async fn command(&self, command: &str) -> Result<Vec<String>, AmiError> {
        let result = self
            .action(Action::new("Command").header("Command", command))
            .await?;
        let output = result.response.output_lines();
        if result.is_success() {
            Ok(output)
        } else {
            let message = result
                .response
                .get("Message")
                .unwrap_or_default()
                .to_owned();
            Err(AmiError::ActionFailed {
                action: "Command".into(),
                message,
                output,
            })
        }
    }

    /// Sends an `Async: true` Originate and waits for its `OriginateResponse` (in `events[0]`). Give the
    /// action a timeout longer than the ring time. If Asterisk refuses the Originate outright, the result
    /// holds just that error response.
    pub async fn originate(&self, action: Action) -> Result<ActionResult, AmiError> {
        let action = if action.get("Async").is_some() {
            action
        } else {
            action.header("Async", "true")
        };
        self.action(action.completion(Completion::UntilEvent("OriginateResponse".into())))
            .await
    }

    /// A new subscription to every event of this server, in arrival order.
    pub fn events(&self) -> broadcast::Receiver<Arc<Message>> {
        self.events.subscribe()
    }

    /// The connection state, updated on every change.
    pub fn state(&self) -> watch::Receiver<ConnState> {
        self.state.clone()
    }

    /// Waits until logged in, at most `limit`.
    pub async fn wait_connected(&self, limit: Duration) -> Result<(), AmiError> {
        let mut state = self.state.clone();
        let wait = state.wait_for(|s| matches!(s, ConnState::Connected { .. } | ConnState::Closed));
        match tokio::time::timeout(limit, wait).await {
            Ok(Ok(s)) if matches!(*s, ConnState::Connected { .. }) => Ok(()),
            Ok(_) => Err(AmiError::Closed),
            Err(_) => {
                let reason = match &*self.state.borrow() {
                    ConnState::Disconnected { reason } => reason.clone(),
                    _ => "connecting".into(),
                };
                Err(self.not_connected(&reason))
            }
        }
    }

    /// Logs off and stops the connection task; pending and later actions fail.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }

    fn not_connected(&self, reason: &str) -> AmiError {
        AmiError::NotConnected {
            server: self.name.to_string(),
            reason: reason.to_owned(),
        }
    }
}

/// How one connection ended.
enum Ended {
    Lost(String),
    Stop,
}

struct Driver {
    config: AmiConfig,
    commands: mpsc::Receiver<Command>,
    events: broadcast::Sender<Arc<Message>>,
    state: watch::Sender<ConnState>,
}

impl Driver {
    async fn run(mut self) {
        let mut backoff = Backoff::new(
            self.config.reconnect_min,
            self.config.reconnect_max,
            rand::random(),
        );
        let mut connection = 0u64;
        loop {
            connection += 1;
            self.state.send_replace(ConnState::Connecting);
            let reason = match self.connection(connection, &mut backoff).await {
                Ended::Stop => break,
                Ended::Lost(reason) => reason,
            };
            let delay = backoff.next_delay();
            tracing::warn!(server = %self.config.name, %reason, ?delay, "AMI disconnected; reconnecting");
            self.state.send_replace(ConnState::Disconnected {
                reason: reason.clone(),
            });
            if !self.wait_failing_fast(delay, &reason).await {
                break;
            }
        }
        self.state.send_replace(ConnState::Closed);
        tracing::info!(server = %self.config.name, "AMI client stopped");
    }

    /// Sleeps `delay` while refusing actions at once; false when asked to stop.
    async fn wait_failing_fast(&mut self, delay: Duration, reason: &str) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return true,
                cmd = self.commands.recv() => match cmd {
                    None | Some(Command::Shutdown) => return false,
                    Some(Command::Action { reply, .. }) => {
                        let err = AmiError::NotConnected { server: self.config.name.clone(), reason: reason.to_owned() };
                        let _ = reply.send(Err(err));
                    }
                },
            }
        }
    }

    async fn connection(&mut self, n: u64, backoff: &mut Backoff) -> Ended {
        let stream = match self.connect().await {
            Ok(s) => s,
            Err(ended) => return ended,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(server = %self.config.name, error = %e, "cannot set TCP_NODELAY");
        }
        let (mut rd, mut wr) = stream.into_split();
        // The prefix keeps ActionIDs unique across reconnects: a late reply to an old action never matches.
        let mut session = Session::new(&self.config, now(), format!("gw{n}"));
        let mut replies: HashMap<u64, Reply> = HashMap::new();
        let mut next_token = 0u64;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if let Some(ended) = self
                .flush(&mut session, &mut wr, &mut replies, backoff)
                .await
            {
                return ended;
            }
            let deadline = session.poll_timeout().map(Instant::from_std);
            tokio::select! {
                read = rd.read(&mut buf) => match read {
                    Ok(0) => session.handle_eof(now()),
                    Ok(n) => session.handle_bytes(now(), &buf[..n]),
                    Err(e) => session.handle_io_error(now(), e.to_string()),
                },
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Action { action, reply }) => {
                        next_token += 1;
                        replies.insert(next_token, reply);
                        session.send_action(now(), next_token, action);
                    }
                    None | Some(Command::Shutdown) => {
                        session.logoff(now());
                        let _ = self.flush(&mut session, &mut wr, &mut replies, backoff).await;
                        return Ended::Stop;
                    }
                },
                () = sleep_until(deadline) => session.handle_timeout(now()),
            }
        }
    }

    /// TCP connect within the connect timeout, refusing actions at once meanwhile.
    async fn connect(&mut self) -> Result<TcpStream, Ended> {
        let connect = tokio::time::timeout(
            self.config.connect_timeout,
            TcpStream::connect(self.config.address.as_str()),
        );
        tokio::pin!(connect);
        loop {
            tokio::select! {
                res = &mut connect => return match res {
                    Ok(Ok(s)) => Ok(s),
                    Ok(Err(e)) => Err(Ended::Lost(format!("connect to {}: {e}", self.config.address))),
                    Err(_) => Err(Ended::Lost(format!("connect to {}: timed out", self.config.address))),
                },
                cmd = self.commands.recv() => match cmd {
                    None | Some(Command::Shutdown) => return Err(Ended::Stop),
                    Some(Command::Action { reply, .. }) => {
                        let err = AmiError::NotConnected { server: self.config.name.clone(), reason: "connecting".into() };
                        let _ = reply.send(Err(err));
                    }
                },
            }
        }
    }

    /// Carries out the session's outputs; `Some` when the session closed.
    async fn flush(
        &self,
        session: &mut Session,
        wr: &mut OwnedWriteHalf,
        replies: &mut HashMap<u64, Reply>,
        backoff: &mut Backoff,
    ) -> Option<Ended> {
        let mut ended = None;
        while let Some(out) = session.poll_output() {
            match out {
                Output::Transmit(bytes) => {
                    tracing::trace!(server = %self.config.name, len = bytes.len(), "AMI write");
                    let write =
                        tokio::time::timeout(self.config.action_timeout, wr.write_all(&bytes))
                            .await;
                    match write {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => session.handle_io_error(now(), e.to_string()),
                        Err(_) => session.handle_io_error(now(), "write timed out".into()),
                    }
                }
                Output::Event(msg) => {
                    // No subscriber is fine: events are then simply not wanted.
                    let _ = self.events.send(Arc::new(msg));
                }
                Output::Completed { token, result } => {
                    if let Some(reply) = replies.remove(&token) {
                        let _ = reply.send(result);
                    }
                }
                Output::LoggedIn { banner } => {
                    backoff.reset();
                    self.state.send_replace(ConnState::Connected { banner });
                }
                Output::Closed(reason) => ended = Some(Ended::Lost(reason.to_string())),
            }
        }
        ended
    }
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
