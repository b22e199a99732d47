//! An AMI server for tests that answers like Asterisk 22, byte for byte (replies and events come from the
//! captures in `tests/data/asterisk22/`, with the client's ActionIDs substituted), and that tests can
//! script: inject events, send garbage, cut connections (also mid-event), refuse logins, go silent
//! (half-open TCP), shut down like `core stop gracefully`, stop and restart on the same port, count the
//! actions received, and run a hook on every Originate.

mod session;
mod transcripts;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub use transcripts::Capture;

use crate::message::Message;

/// What a simulated Originate does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginatePlan {
    /// Replay [`Capture::OriginateAnswered`].
    Answered,
    /// Replay [`Capture::OriginateFailed`] (and `Originate failed` for a synchronous Originate).
    Failed,
    /// Replay [`Capture::OriginateNoAnswer`].
    NoAnswer,
    /// Replay [`Capture::OriginateBusy`].
    Busy,
    /// Send these events (any `ActionID` header is replaced by the Originate's).
    Events(Vec<Message>),
}

/// The future an Originate hook returns.
pub type PlanFuture = Pin<Box<dyn Future<Output = OriginatePlan> + Send>>;

/// Called with each Originate action; decides (possibly after driving SIPp) what Asterisk reports.
pub type OriginateHook = Arc<dyn Fn(Message) -> PlanFuture + Send + Sync>;

/// How the server talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Asterisk 22: banner `Asterisk Call Manager/11.0.0`, CRLF, `Output:` lines for commands.
    Asterisk22,
    /// Asterisk 1.8-13 as in the panoramisk captures: banner `Asterisk Call Manager/1.3`, LF only,
    /// `Response: Follows` ... `--END COMMAND--`.
    Legacy,
}

/// Messages pushed to live sessions.
#[derive(Debug, Clone)]
pub(crate) enum Control {
    /// An event for logged-in sessions with events on.
    Event(Arc<Message>),
    /// Bytes for every session, as is.
    Raw(Arc<Vec<u8>>),
    /// Write these bytes, then close the socket.
    CloseAfter(Arc<Vec<u8>>),
}

pub(crate) struct State {
    pub(crate) username: String,
    pub(crate) secret: String,
    pub(crate) dialect: Dialect,
    pub(crate) refuse_login: bool,
    pub(crate) login_fail_delay: Duration,
    pub(crate) unresponsive: bool,
    pub(crate) trickle: bool,
    pub(crate) active_call: bool,
    pub(crate) commands: HashMap<String, Vec<String>>,
    pub(crate) originate: Option<OriginateHook>,
    pub(crate) actions: Vec<Message>,
    pub(crate) connections: u64,
}

pub(crate) struct Inner {
    pub(crate) state: Mutex<State>,
    pub(crate) control: broadcast::Sender<Control>,
    pub(crate) actions_tx: broadcast::Sender<Arc<Message>>,
    pub(crate) started: tokio::time::Instant,
    listener: Mutex<Option<JoinHandle<()>>>,
    addr: SocketAddr,
}

impl Inner {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock already failed; keep serving the others.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A scriptable Asterisk-like AMI server on 127.0.0.1. Dropping it stops it.
#[derive(Clone)]
pub struct TestServer {
    inner: Arc<Inner>,
}

impl TestServer {
    /// Starts an Asterisk 22 server on a free port, accepting `username`/`secret`.
    pub async fn start(username: &str, secret: &str) -> std::io::Result<Self> {
        Self::start_with(username, secret, Dialect::Asterisk22).await
    }

    /// Starts a server speaking `dialect`.
    pub async fn start_with(
        username: &str,
        secret: &str,
        dialect: Dialect,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let commands = match dialect {
            Dialect::Asterisk22 => transcripts::command_outputs().into_iter().collect(),
            Dialect::Legacy => [(
                "core show channels".to_owned(),
                transcripts::legacy_core_show_channels(),
            )]
            .into(),
        };
        let state = State {
            username: username.into(),
            secret: secret.into(),
            dialect,
            refuse_login: false,
            login_fail_delay: Duration::from_secs(1),
            unresponsive: false,
            trickle: false,
            active_call: false,
            commands,
            originate: None,
            actions: Vec::new(),
            connections: 0,
        };
        let inner = Arc::new(Inner {
            state: Mutex::new(state),
            control: broadcast::channel(1024).0,
            actions_tx: broadcast::channel(1024).0,
            started: tokio::time::Instant::now(),
            listener: Mutex::new(None),
            addr,
        });
        let server = Self { inner };
        server.serve(listener);
        Ok(server)
    }

    fn serve(&self, listener: TcpListener) {
        // Weak: the listener must not keep the server alive once every handle is gone.
        let weak = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let Some(inner) = weak.upgrade() else { break };
                inner.state().connections += 1;
                tokio::spawn(session::run(inner, socket));
            }
        });
        let old = self
            .inner
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .replace(task);
        if let Some(old) = old {
            old.abort();
        }
    }

    /// The listening address (stable across [`TestServer::restart`]).
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Stops listening and closes every connection (Asterisk killed).
    pub fn stop(&self) {
        if let Some(task) = self
            .inner
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
        self.cut_connections();
    }

    /// Listens again on the same port (Asterisk restarted).
    pub async fn restart(&self) -> std::io::Result<()> {
        let listener = TcpListener::bind(self.inner.addr).await?;
        self.serve(listener);
        Ok(())
    }

    /// Closes every connection now (TCP FIN), the listener stays up.
    pub fn cut_connections(&self) {
        let _ = self
            .inner
            .control
            .send(Control::CloseAfter(Arc::new(Vec::new())));
    }

    /// Sends the first half of a captured event, then closes every connection.
    pub fn cut_mid_event(&self) {
        let event = self.wire(&Capture::CallTo600.events()[0]);
        let half = event[..event.len() / 2].to_vec();
        let _ = self.inner.control.send(Control::CloseAfter(Arc::new(half)));
    }

    /// `core stop gracefully` (asterisk22/12): `Event: Shutdown` to sessions with events on, the sockets
    /// close about 0.1 s later, and the server stops listening.
    pub async fn shutdown_asterisk(&self) {
        if let Some(task) = self
            .inner
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
        self.inject_event(transcripts::shutdown_event());
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.cut_connections();
    }

    /// Sends an event to every logged-in session with events on.
    pub fn inject_event(&self, event: Message) {
        let _ = self.inner.control.send(Control::Event(Arc::new(event)));
    }

    /// Replays a captured event sequence to every logged-in session with events on.
    pub fn inject_capture(&self, capture: Capture) {
        for event in capture.events() {
            self.inject_event(event);
        }
    }

    /// Sends raw bytes (garbage, a partial frame, a 100 KB line) to every session.
    pub fn send_raw(&self, bytes: impl Into<Vec<u8>>) {
        let _ = self
            .inner
            .control
            .send(Control::Raw(Arc::new(bytes.into())));
    }

    /// Refuse (or accept again) every login, as with a wrong secret: ~1 s delay, `Response: Error`, close.
    pub fn set_refuse_login(&self, refuse: bool) {
        self.inner.state().refuse_login = refuse;
    }

    /// The delay before a failed login's reply (Asterisk: about 1 s).
    pub fn set_login_fail_delay(&self, delay: Duration) {
        self.inner.state().login_fail_delay = delay;
    }

    /// Read and ignore everything, answer nothing, keep the TCP connection open (a half-open peer).
    pub fn set_unresponsive(&self, silent: bool) {
        self.inner.state().unresponsive = silent;
    }

    /// Write replies one byte per TCP segment.
    pub fn set_trickle(&self, trickle: bool) {
        self.inner.state().trickle = trickle;
    }

    /// `CoreShowChannels` lists the bridged call of asterisk22/06 (otherwise none, as in 06b).
    pub fn set_active_call(&self, active: bool) {
        self.inner.state().active_call = active;
    }

    /// The output of a CLI command (`Command` action).
    pub fn set_command_output(&self, command: &str, lines: Vec<String>) {
        self.inner
            .state()
            .commands
            .insert(command.to_owned(), lines);
    }

    /// Runs `hook` for every Originate; its plan decides the events (default: [`OriginatePlan::Answered`]).
    pub fn on_originate<F, Fut>(&self, hook: F)
    where
        F: Fn(Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = OriginatePlan> + Send + 'static,
    {
        let hook: OriginateHook = Arc::new(move |m| Box::pin(hook(m)));
        self.inner.state().originate = Some(hook);
    }

    /// Every action received so far, in order (Login included; its secret as sent).
    pub fn actions_received(&self) -> Vec<Message> {
        self.inner.state().actions.clone()
    }

    /// How many actions named `name` (case-insensitive) were received.
    pub fn action_count(&self, name: &str) -> usize {
        self.inner
            .state()
            .actions
            .iter()
            .filter(|a| {
                a.get("Action")
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .count()
    }

    /// A live feed of actions as they arrive (to wait for one without polling).
    pub fn actions(&self) -> broadcast::Receiver<Arc<Message>> {
        self.inner.actions_tx.subscribe()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.inner.state().connections
    }

    fn wire(&self, msg: &Message) -> Vec<u8> {
        session::wire(self.inner.state().dialect, msg)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.listener.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}
