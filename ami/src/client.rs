//! The sans-I/O core of one AMI connection: banner, login (plain or MD5), ActionID correlation, event
//! lists, `Ping` liveness, timeouts. It is told the time and the bytes; it never reads a clock or a socket.
//!
//! Drive it with `handle_*`, then drain [`Session::poll_output`] and sleep until [`Session::poll_timeout`].

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use serde::Serialize;

use crate::action::{Action, Completion};
use crate::config::AmiConfig;
use crate::decoder::Decoder;
use crate::error::AmiError;
use crate::frame::Frame;
use crate::message::{Message, MessageKind};

/// The complete reply to an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionResult {
    /// The ActionID used on the wire.
    pub action_id: String,
    /// The `Response:` message.
    pub response: Message,
    /// The list events (`EventList`), or the awaited event (`OriginateResponse`), in arrival order.
    pub events: Vec<Message>,
}

impl ActionResult {
    /// True unless Asterisk answered `Response: Error` (or `Failure`).
    pub fn is_success(&self) -> bool {
        !matches!(self.response.response(), Some(r) if r.eq_ignore_ascii_case("Error") || r.eq_ignore_ascii_case("Failure"))
    }
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed the TCP connection.
    Eof,
    /// A socket error.
    Io(String),
    /// Login refused (`Message:` of the error).
    LoginFailed(String),
    /// No banner/login reply in time.
    LoginTimeout,
    /// `Event: Shutdown`: Asterisk is stopping or restarting.
    Shutdown,
    /// A `Ping` went unanswered: half-open TCP or a hung Asterisk.
    PingTimeout,
    /// We logged off.
    Logoff,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Eof => f.write_str("connection closed by Asterisk"),
            Self::Io(e) => write!(f, "socket error: {e}"),
            Self::LoginFailed(m) => write!(f, "login failed: {m}"),
            Self::LoginTimeout => f.write_str("no banner or login reply in time"),
            Self::Shutdown => f.write_str("Asterisk is shutting down"),
            Self::PingTimeout => f.write_str("ping timed out"),
            Self::Logoff => f.write_str("logged off"),
        }
    }
}

/// What the core asks its driver to do. `Debug` shows only the length of transmitted bytes (a Login
/// carries the secret).
#[derive(Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes to the socket.
    Transmit(Vec<u8>),
    /// An event for subscribers (list items of our own actions are not repeated here).
    Event(Message),
    /// The action the driver tagged with `token` is done.
    Completed {
        /// The driver's tag.
        token: u64,
        /// The reply or why there is none.
        result: Result<ActionResult, AmiError>,
    },
    /// Login accepted; actions may be sent.
    LoggedIn {
        /// The banner line.
        banner: String,
    },
    /// The session is over; close the socket (and reconnect). Always the last output.
    Closed(CloseReason),
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transmit(bytes) => write!(f, "Transmit({} bytes)", bytes.len()),
            Self::Event(m) => f.debug_tuple("Event").field(m).finish(),
            Self::Completed { token, result } => f
                .debug_struct("Completed")
                .field("token", token)
                .field("result", result)
                .finish(),
            Self::LoggedIn { banner } => {
                f.debug_struct("LoggedIn").field("banner", banner).finish()
            }
            Self::Closed(reason) => f.debug_tuple("Closed").field(reason).finish(),
        }
    }
}

/// Connection phases; each holds what it waits for.
#[derive(Debug)]
enum State {
    AwaitBanner {
        deadline: Instant,
    },
    AwaitChallenge {
        action_id: String,
        deadline: Instant,
    },
    AwaitLogin {
        action_id: String,
        deadline: Instant,
    },
    Ready,
    Closed,
}

#[derive(Debug)]
struct Pending {
    token: u64,
    name: String,
    timeout: Duration,
    deadline: Instant,
    completion: Completion,
    response: Option<Message>,
    events: Vec<Message>,
    in_list: bool,
}

#[derive(Debug)]
struct Ping {
    action_id: String,
    deadline: Instant,
}

/// One logged-in (or logging-in) AMI connection, without I/O.
#[derive(Debug)]
pub struct Session {
    server: String,
    username: String,
    secret: crate::config::Secret,
    md5: bool,
    events: String,
    ping_interval: Option<Duration>,
    ping_timeout: Duration,
    action_timeout: Duration,
    state: State,
    banner: String,
    decoder: Decoder,
    id_prefix: String,
    next_id: u64,
    pending: HashMap<String, Pending>,
    next_ping: Option<Instant>,
    ping: Option<Ping>,
    out: VecDeque<Output>,
    /// `Output::Closed` was emitted (it is emitted once).
    closed: bool,
}

impl Session {
    /// A session for a freshly connected socket. `id_prefix` makes ActionIDs unique across connections.
    pub fn new(config: &AmiConfig, now: Instant, id_prefix: impl Into<String>) -> Self {
        Self {
            server: config.name.clone(),
            username: config.username.clone(),
            secret: config.secret.clone(),
            md5: config.md5,
            events: config.events.clone(),
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            action_timeout: config.action_timeout,
            state: State::AwaitBanner {
                deadline: now + config.connect_timeout,
            },
            banner: String::new(),
            decoder: Decoder::new(config.limits),
            id_prefix: id_prefix.into(),
            next_id: 0,
            pending: HashMap::new(),
            next_ping: None,
            ping: None,
            out: VecDeque::new(),
            closed: false,
        }
    }

    /// True once logged in (and not closed).
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready)
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let phase = match &self.state {
            State::AwaitBanner { deadline }
            | State::AwaitChallenge { deadline, .. }
            | State::AwaitLogin { deadline, .. } => Some(*deadline),
            State::Ready => None,
            State::Closed => return None,
        };
        let ping = self.ping.as_ref().map(|p| p.deadline).or(self.next_ping);
        let actions = self.pending.values().map(|p| p.deadline).min();
        [phase, ping, actions].into_iter().flatten().min()
    }

    /// Bytes read from the socket.
    pub fn handle_bytes(&mut self, now: Instant, data: &[u8]) {
        self.decoder.feed(data);
        while !matches!(self.state, State::Closed) {
            match self.decoder.next_frame() {
                None => break,
                Some(Ok(Frame::Banner(banner))) => self.on_banner(banner),
                Some(Ok(Frame::Message(msg))) => self.on_message(now, msg),
                Some(Err(err)) => {
                    if let Some(id) = err.action_id()
                        && let Some(p) = self.pending.remove(id)
                    {
                        self.out.push_back(Output::Completed {
                            token: p.token,
                            result: Err(AmiError::Framing(err)),
                        });
                    }
                }
            }
        }
    }

    /// The peer closed the connection.
    pub fn handle_eof(&mut self, _now: Instant) {
        self.close(CloseReason::Eof);
    }

    /// A socket error.
    pub fn handle_io_error(&mut self, _now: Instant, error: String) {
        self.close(CloseReason::Io(error));
    }

    /// Time passed: login deadline, ping, action timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &self.state {
            State::AwaitBanner { deadline }
            | State::AwaitChallenge { deadline, .. }
            | State::AwaitLogin { deadline, .. }
                if now >= *deadline =>
            {
                return self.close(CloseReason::LoginTimeout);
            }
            State::Closed => return,
            _ => {}
        }
        if self.ping.as_ref().is_some_and(|p| now >= p.deadline) {
            tracing::warn!(server = %self.server, "AMI ping unanswered; the connection is dead");
            return self.close(CloseReason::PingTimeout);
        }
        if self.ping.is_none() && self.next_ping.is_some_and(|t| now >= t) {
            let action_id = self.new_action_id();
            if let Ok(bytes) = Action::new("Ping").encode(&action_id) {
                self.out.push_back(Output::Transmit(bytes));
            }
            self.ping = Some(Ping {
                action_id,
                deadline: now + self.ping_timeout,
            });
            self.next_ping = None;
        }
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(p) = self.pending.remove(&id) {
                tracing::warn!(server = %self.server, action_id = %id, action = %p.name, "AMI action timed out");
                let err = AmiError::Timeout {
                    server: self.server.clone(),
                    action: p.name,
                    after: p.timeout,
                };
                self.out.push_back(Output::Completed {
                    token: p.token,
                    result: Err(err),
                });
            }
        }
    }

    /// Sends an action; its reply comes back as [`Output::Completed`] with `token`.
    pub fn send_action(&mut self, now: Instant, token: u64, action: Action) {
        if !self.is_ready() {
            let reason = match self.state {
                State::Closed => "connection closed",
                _ => "logging in",
            };
            let err = AmiError::NotConnected {
                server: self.server.clone(),
                reason: reason.into(),
            };
            return self.out.push_back(Output::Completed {
                token,
                result: Err(err),
            });
        }
        let action_id = match action.action_id() {
            Some(id)
                if self.pending.contains_key(id)
                    || self.ping.as_ref().is_some_and(|p| p.action_id == id) =>
            {
                let err = AmiError::DuplicateActionId(id.to_owned());
                return self.out.push_back(Output::Completed {
                    token,
                    result: Err(err),
                });
            }
            Some(id) => id.to_owned(),
            None => self.new_action_id(),
        };
        let bytes = match action.encode(&action_id) {
            Ok(bytes) => bytes,
            Err(e) => {
                return self.out.push_back(Output::Completed {
                    token,
                    result: Err(e.into()),
                });
            }
        };
        tracing::debug!(server = %self.server, action_id = %action_id, ?action, "AMI action");
        let timeout = action.timeout_override().unwrap_or(self.action_timeout);
        self.pending.insert(
            action_id,
            Pending {
                token,
                name: action.name().to_owned(),
                timeout,
                deadline: now + timeout,
                completion: action.completion_mode().clone(),
                response: None,
                events: Vec::new(),
                in_list: false,
            },
        );
        self.out.push_back(Output::Transmit(bytes));
    }

    /// Sends `Logoff` and ends the session (pending actions fail).
    pub fn logoff(&mut self, _now: Instant) {
        if self.is_ready() {
            let id = self.new_action_id();
            if let Ok(bytes) = Action::new("Logoff").encode(&id) {
                self.out.push_back(Output::Transmit(bytes));
            }
        }
        self.close(CloseReason::Logoff);
    }

    fn new_action_id(&mut self) -> String {
        self.next_id += 1;
        format!("{}-{}", self.id_prefix, self.next_id)
    }

    fn on_banner(&mut self, banner: String) {
        let deadline = match self.state {
            State::AwaitBanner { deadline } => deadline,
            _ => {
                return tracing::debug!(server = %self.server, %banner, "ignoring a second AMI banner");
            }
        };
        tracing::debug!(server = %self.server, %banner, "AMI banner");
        self.banner = banner;
        let action_id = self.new_action_id();
        if self.md5 {
            self.transmit(
                Action::new("Challenge").header("AuthType", "MD5"),
                &action_id,
            );
            self.state = State::AwaitChallenge {
                action_id,
                deadline,
            };
        } else {
            let login = Action::new("Login")
                .header("Username", self.username.clone())
                .header("Secret", self.secret.expose())
                .header("Events", self.events.clone());
            self.transmit(login, &action_id);
            self.state = State::AwaitLogin {
                action_id,
                deadline,
            };
        }
    }

    fn transmit(&mut self, action: Action, action_id: &str) {
        match action.encode(action_id) {
            Ok(bytes) => self.out.push_back(Output::Transmit(bytes)),
            Err(e) => tracing::warn!(server = %self.server, error = %e, "cannot encode AMI login"),
        }
    }

    fn on_message(&mut self, now: Instant, msg: Message) {
        if matches!(self.state, State::AwaitBanner { .. }) {
            tracing::warn!(server = %self.server, "AMI message before the banner; logging in anyway");
            self.on_banner(String::new());
        }
        match msg.kind() {
            MessageKind::Response => self.on_response(now, msg),
            MessageKind::Event => self.on_event(msg),
            _ => {
                tracing::debug!(server = %self.server, ?msg, "ignoring an AMI message that is neither response nor event")
            }
        }
    }

    fn on_response(&mut self, now: Instant, msg: Message) {
        let id = msg.action_id().unwrap_or_default().to_owned();
        let success = msg
            .response()
            .is_some_and(|r| r.eq_ignore_ascii_case("Success"));
        match std::mem::replace(&mut self.state, State::Closed) {
            State::AwaitChallenge {
                action_id,
                deadline,
            } if action_id == id => match msg.get("Challenge") {
                Some(challenge) if success => {
                    let key =
                        hex::encode(Md5::digest(format!("{challenge}{}", self.secret.expose())));
                    let login = Action::new("Login")
                        .header("AuthType", "MD5")
                        .header("Username", self.username.clone())
                        .header("Key", key)
                        .header("Events", self.events.clone());
                    let action_id = self.new_action_id();
                    self.transmit(login, &action_id);
                    self.state = State::AwaitLogin {
                        action_id,
                        deadline,
                    };
                }
                _ => self.close(CloseReason::LoginFailed(
                    msg.get("Message").unwrap_or("challenge refused").into(),
                )),
            },
            State::AwaitLogin { action_id, .. } if action_id == id => {
                if success {
                    tracing::info!(server = %self.server, banner = %self.banner, "AMI logged in");
                    self.state = State::Ready;
                    self.next_ping = self.ping_interval.map(|i| now + i);
                    self.out.push_back(Output::LoggedIn {
                        banner: self.banner.clone(),
                    });
                } else {
                    let reason = msg
                        .get("Message")
                        .unwrap_or("authentication failed")
                        .to_owned();
                    tracing::warn!(server = %self.server, %reason, "AMI login refused");
                    self.close(CloseReason::LoginFailed(reason));
                }
            }
            state => {
                self.state = state;
                self.on_action_response(now, id, msg);
            }
        }
    }

    fn on_action_response(&mut self, now: Instant, id: String, msg: Message) {
        if self.ping.as_ref().is_some_and(|p| p.action_id == id) {
            self.ping = None;
            self.next_ping = self.ping_interval.map(|i| now + i);
            return;
        }
        let Some(p) = self.pending.get_mut(&id) else {
            return tracing::debug!(server = %self.server, action_id = %id, "AMI response to no pending action");
        };
        if p.response.is_some() {
            return tracing::debug!(server = %self.server, action_id = %id, "second AMI response ignored");
        }
        let failed = matches!(msg.response(), Some(r) if r.eq_ignore_ascii_case("Error"));
        let announces_list = msg.is("EventList", "start")
            || msg
                .get("Message")
                .is_some_and(|m| m.to_ascii_lowercase().ends_with("will follow"));
        let wait = !failed
            && match &p.completion {
                Completion::UntilEvent(_) => true,
                Completion::Auto => announces_list,
            };
        p.in_list = announces_list && matches!(p.completion, Completion::Auto);
        p.response = Some(msg);
        if !wait {
            self.complete(&id);
        }
    }

    fn on_event(&mut self, msg: Message) {
        let is_shutdown = msg
            .event()
            .is_some_and(|e| e.eq_ignore_ascii_case("Shutdown"));
        if let Some(id) = msg.action_id().map(str::to_owned)
            && let Some(p) = self.pending.get_mut(&id)
            && p.response.is_some()
        {
            if p.in_list {
                let done = msg.is("EventList", "Complete")
                    || msg.is("EventList", "Cancelled")
                    || msg
                        .event()
                        .is_some_and(|e| e.to_ascii_lowercase().ends_with("complete"));
                p.events.push(msg);
                if done {
                    self.complete(&id);
                }
                return;
            }
            if let Completion::UntilEvent(name) = &p.completion
                && msg.event().is_some_and(|e| e.eq_ignore_ascii_case(name))
            {
                p.events.push(msg.clone());
                self.complete(&id);
            }
        }
        self.out.push_back(Output::Event(msg));
        if is_shutdown {
            self.close(CloseReason::Shutdown);
        }
    }

    fn complete(&mut self, id: &str) {
        let Some(p) = self.pending.remove(id) else {
            return;
        };
        let Some(response) = p.response else { return };
        let result = ActionResult {
            action_id: id.to_owned(),
            response,
            events: p.events,
        };
        self.out.push_back(Output::Completed {
            token: p.token,
            result: Ok(result),
        });
    }

    fn close(&mut self, reason: CloseReason) {
        self.state = State::Closed;
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        let mut pending: Vec<_> = self.pending.drain().collect();
        pending.sort_by_key(|(_, p)| p.token);
        for (_, p) in pending {
            let err = AmiError::Disconnected {
                server: self.server.clone(),
                reason: reason.to_string(),
            };
            self.out.push_back(Output::Completed {
                token: p.token,
                result: Err(err),
            });
        }
        self.ping = None;
        self.next_ping = None;
        tracing::info!(server = %self.server, %reason, "AMI session closed");
        self.out.push_back(Output::Closed(reason));
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
