//! One authenticated WebSocket session (a device): routes client messages to call tasks and their
//! events back, joins the user's devices in the hub (which starts the user's SIP registration).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use gateway_sip::sdp::{self, BrowserOffer, SdpError};
use rand::Rng;
use tokio::sync::mpsc;

use super::messages::{CallType, ClientMessage, ErrorCode, ServerMessage, parse_client_message};
use crate::app::App;
use crate::call::{self, CallControl, CallEvent, CallRequest};
use crate::hub::{self, Device};

/// The calls this session placed (outbound) or was rung for (inbound).
#[derive(Default)]
struct Calls {
    /// Outbound calls placed here: call id -> control.
    own: HashMap<String, mpsc::UnboundedSender<CallControl>>,
    /// Client references of outbound calls.
    by_ref: HashMap<String, String>,
    /// Inbound calls that rang this device.
    inbound: HashSet<String>,
}

struct Session {
    app: Arc<App>,
    user: String,
    session_id: String,
    tx: mpsc::UnboundedSender<CallEvent>,
    calls: Calls,
}

/// Runs a session for `user` until the socket closes; hangs up its calls when it does.
pub async fn run(app: Arc<App>, user: String, mut socket: WebSocket) {
    let session_id = random_id();
    let (tx, mut rx) = mpsc::unbounded_channel::<CallEvent>();
    tracing::info!(%session_id, %user, "session opened");
    app.metrics.ws_session(1);

    let mut ice_servers: Vec<serde_json::Value> = app
        .config
        .webrtc
        .ice_servers
        .iter()
        .map(|s| {
            let mut v = serde_json::json!({ "urls": s.urls });
            if let Some(u) = &s.username {
                v["username"] = u.clone().into();
            }
            if let Some(c) = &s.credential {
                v["credential"] = c.expose().into();
            }
            v
        })
        .collect();
    if let Some(turn) = &app.config.webrtc.turn {
        ice_servers.push(crate::turn::ice_server(turn, &user, unix_now()));
    }
    let hello = ServerMessage::Hello {
        user: user.clone(),
        session_id: session_id.clone(),
        ice_servers,
    };
    if send(&mut socket, &hello).await.is_err() {
        app.metrics.ws_session(-1);
        return;
    }
    let (registration, first) = app.hub.join(
        &user,
        Device {
            session_id: session_id.clone(),
            tx: tx.clone(),
        },
    );
    if first {
        hub::on_first_device(&app, &user);
    }
    if let Some(reg) = registration {
        let _ = send(&mut socket, &reg).await;
    }

    let mut s = Session {
        app,
        user,
        session_id,
        tx,
        calls: Calls::default(),
    };
    let mut socket = Some(socket);
    while let Some(ws) = socket.take() {
        match s.serve(ws, &mut rx).await {
            Exit::Closed => {}
            Exit::Lost => socket = s.wait_for_resume(&mut rx).await,
            Exit::Handoff(target, ws) => {
                // This connection resumes an older session: the socket moves there, and this
                // session (which has no calls) just leaves.
                let _ = target.send(*ws);
                s.app.metrics.ws_session(-1);
                if let Some(generation) = s.app.hub.leave(&s.user, &s.session_id) {
                    hub::on_last_device(s.app.clone(), s.user.clone(), generation);
                }
                return;
            }
        }
    }
    s.close();
}

/// How a socket's service ended.
enum Exit {
    /// The client closed the socket cleanly (a Close frame): its calls end now.
    Closed,
    /// The connection was lost (no Close frame): calls wait for `resume`.
    Lost,
    /// The client asked to resume another session of the same user.
    Handoff(mpsc::UnboundedSender<WebSocket>, Box<WebSocket>),
}

/// Most messages kept for a detached session; past that the oldest are dropped.
const MAX_BUFFERED: usize = 256;

impl Session {
    /// Serves the socket until it closes or is handed over.
    async fn serve(
        &mut self,
        mut socket: WebSocket,
        rx: &mut mpsc::UnboundedReceiver<CallEvent>,
    ) -> Exit {
        loop {
            tokio::select! {
                frame = socket.recv() => {
                    let text = match frame {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Binary(_))) => {
                            let e = error(None, ErrorCode::BadRequest, "binary frames are not part of the protocol");
                            if send(&mut socket, &e).await.is_err() { return Exit::Lost; }
                            continue;
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        // 1000 (normal) and 1001 (going away: the page unloads, and a new page
                        // cannot take over the old peer connection) end the calls now; any other
                        // ending keeps them up for `resume`.
                        Some(Ok(Message::Close(Some(frame)))) if matches!(frame.code, 1000 | 1001) => {
                            return Exit::Closed;
                        }
                        Some(Ok(Message::Close(_))) => return Exit::Lost,
                        None | Some(Err(_)) => return Exit::Lost,
                    };
                    let reply = if text.len() > self.app.config.limits.max_json_frame {
                        Some(error(None, ErrorCode::BadRequest, "frame too large"))
                    } else {
                        match parse_client_message(text.as_str()) {
                            Ok(ClientMessage::Resume { session_id }) => match self.resume_target(&session_id) {
                                Ok(target) => return Exit::Handoff(target, Box::new(socket)),
                                Err(e) => Some(e),
                            },
                            Ok(msg) => self.handle(msg),
                            Err(e) => Some(e),
                        }
                    };
                    if let Some(reply) = reply && send(&mut socket, &reply).await.is_err() {
                        return Exit::Lost;
                    }
                }
                ev = rx.recv() => match ev {
                    Some(CallEvent::ToClient(m)) => {
                        self.track(&m);
                        if send(&mut socket, &m).await.is_err() { return Exit::Lost; }
                    }
                    Some(CallEvent::Finished(call_id)) => self.finished(&call_id),
                    None => return Exit::Closed,
                }
            }
        }
    }

    fn track(&mut self, m: &ServerMessage) {
        if let ServerMessage::Incoming { call_id, .. } = m {
            self.calls.inbound.insert(call_id.clone());
        }
    }

    fn finished(&mut self, call_id: &str) {
        self.calls.own.remove(call_id);
        self.calls.inbound.remove(call_id);
        self.calls.by_ref.retain(|_, id| id != call_id);
    }

    fn has_calls(&self) -> bool {
        !self.calls.own.is_empty() || !self.calls.inbound.is_empty()
    }

    /// The detached session `old` of the same user, if this fresh session may take it over.
    fn resume_target(&self, old: &str) -> Result<mpsc::UnboundedSender<WebSocket>, ServerMessage> {
        if self.has_calls() {
            return Err(error(
                None,
                ErrorCode::BadRequest,
                "resume is only allowed on a new connection",
            ));
        }
        self.app
            .hub
            .adopt(old, &self.user)
            .ok_or_else(|| error(None, ErrorCode::UnknownCall, "no such session to resume"))
    }

    /// The socket dropped: keeps the calls up for the resume grace period, buffering what the
    /// client should see; returns the new socket if the client resumed in time.
    async fn wait_for_resume(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<CallEvent>,
    ) -> Option<WebSocket> {
        let grace = self.app.config.http.resume_grace?;
        if !self.has_calls() {
            return None;
        }
        tracing::info!(session_id = %self.session_id, user = %self.user, grace_s = grace.as_secs(), "socket dropped; session kept for resume");
        let (adopt_tx, mut adopt_rx) = mpsc::unbounded_channel();
        self.app.hub.detach(&self.session_id, &self.user, adopt_tx);
        let mut buffered: std::collections::VecDeque<ServerMessage> =
            std::collections::VecDeque::new();
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                ws = adopt_rx.recv() => {
                    let mut ws = ws?;
                    tracing::info!(session_id = %self.session_id, "session resumed");
                    let resumed = ServerMessage::Resumed {
                        session_id: self.session_id.clone(),
                        calls: self.calls.own.keys().chain(self.calls.inbound.iter()).cloned().collect(),
                    };
                    if send(&mut ws, &resumed).await.is_err() {
                        return None;
                    }
                    for m in buffered {
                        if send(&mut ws, &m).await.is_err() {
                            return None;
                        }
                    }
                    return Some(ws);
                }
                ev = rx.recv() => match ev {
                    Some(CallEvent::ToClient(m)) => {
                        self.track(&m);
                        if buffered.len() == MAX_BUFFERED {
                            buffered.pop_front();
                        }
                        buffered.push_back(m);
                    }
                    Some(CallEvent::Finished(call_id)) => {
                        self.finished(&call_id);
                        if !self.has_calls() {
                            self.app.hub.undetach(&self.session_id);
                            return None;
                        }
                    }
                    None => break,
                },
                _ = &mut deadline => break,
            }
        }
        self.app.hub.undetach(&self.session_id);
        tracing::info!(session_id = %self.session_id, "resume grace over; ending the session's calls");
        None
    }
}

impl Session {
    /// The control channel of a call this session may address.
    fn find(
        &self,
        call_id: Option<&str>,
        reference: Option<&str>,
    ) -> Option<mpsc::UnboundedSender<CallControl>> {
        let id = match (call_id, reference) {
            (Some(id), _) => id,
            (None, Some(r)) => self.calls.by_ref.get(r)?.as_str(),
            (None, None) => return None,
        };
        if let Some(c) = self.calls.own.get(id) {
            return Some(c.clone());
        }
        self.calls
            .inbound
            .contains(id)
            .then(|| self.app.hub.call(id))
            .flatten()
    }

    fn route(
        &self,
        call_id: Option<&str>,
        reference: Option<String>,
        control: CallControl,
    ) -> Option<ServerMessage> {
        match self.find(call_id, reference.as_deref()) {
            Some(c) => {
                let _ = c.send(control);
                None
            }
            None => Some(error(reference, ErrorCode::UnknownCall, "no such call")),
        }
    }

    fn handle(&mut self, msg: ClientMessage) -> Option<ServerMessage> {
        if let Some(refused) = self.overlong_sdp_line(&msg) {
            return Some(refused);
        }
        match msg {
            ClientMessage::Call {
                reference,
                to,
                sdp,
                call_type,
            } => self.place_call(reference, to, sdp, call_type == CallType::Video),
            ClientMessage::Ice {
                call_id,
                reference,
                candidate,
            } => self.route(call_id.as_deref(), reference, CallControl::Ice(candidate)),
            ClientMessage::Hangup { call_id, reference } => {
                let control = CallControl::Hangup {
                    session_id: self.session_id.clone(),
                };
                self.route(call_id.as_deref(), reference, control)
            }
            ClientMessage::Accept { call_id, sdp } => {
                let control = CallControl::Accept {
                    session_id: self.session_id.clone(),
                    sdp,
                };
                self.route(Some(&call_id), None, control)
            }
            ClientMessage::Offer { call_id, sdp } => {
                let control = CallControl::Offer {
                    session_id: self.session_id.clone(),
                    sdp,
                };
                self.route(Some(&call_id), None, control)
            }
            ClientMessage::Hold { call_id } => self.route(Some(&call_id), None, CallControl::Hold),
            ClientMessage::Unhold { call_id } => {
                self.route(Some(&call_id), None, CallControl::Unhold)
            }
            ClientMessage::Dtmf { call_id, digits } => {
                if digits.is_empty()
                    || digits.len() > 64
                    || !digits.chars().all(|c| "0123456789*#ABCDabcd".contains(c))
                {
                    return Some(error(
                        None,
                        ErrorCode::BadRequest,
                        "digits may hold only 0-9 * # A-D (1 to 64)",
                    ));
                }
                self.route(Some(&call_id), None, CallControl::Dtmf(digits))
            }
            ClientMessage::Resume { .. } => Some(error(
                None,
                ErrorCode::BadRequest,
                "resume must be the first message of a new connection",
            )),
            ClientMessage::Reject { call_id, reason } => {
                let control = CallControl::Reject {
                    session_id: self.session_id.clone(),
                    reason,
                };
                self.route(Some(&call_id), None, control)
            }
        }
    }

    /// An `error` when an SDP of `msg` has a line over `limits.max_sdp_line` bytes.
    fn overlong_sdp_line(&self, msg: &ClientMessage) -> Option<ServerMessage> {
        let (reference, sdp) = match msg {
            ClientMessage::Call { reference, sdp, .. } => (Some(reference.clone()), sdp),
            ClientMessage::Accept { sdp, .. } | ClientMessage::Offer { sdp, .. } => (None, sdp),
            _ => return None,
        };
        crate::call::check_sdp_lines(sdp, self.app.config.limits.max_sdp_line)
            .err()
            .map(|why| error(reference, ErrorCode::BadSdp, &why))
    }

    fn place_call(
        &mut self,
        reference: String,
        to: String,
        sdp: String,
        video: bool,
    ) -> Option<ServerMessage> {
        if self.app.is_draining() {
            return Some(error(
                Some(reference),
                ErrorCode::Unavailable,
                "the gateway is shutting down",
            ));
        }
        if self.calls.by_ref.contains_key(&reference) {
            return Some(error(
                Some(reference),
                ErrorCode::BadRequest,
                "ref already in use",
            ));
        }
        let is_echo = self.app.config.media.echo_number.as_deref() == Some(to.as_str());
        if !is_echo && !self.app.config.sip.is_allowed_number(&to) {
            return Some(error(
                Some(reference),
                ErrorCode::InvalidNumber,
                "the number does not match sip.allowed_numbers",
            ));
        }
        let limit = self.app.config.sip.max_calls_per_user as usize;
        if self.app.hub.user_calls(&self.user) >= limit {
            return Some(error(
                Some(reference),
                ErrorCode::Unavailable,
                &format!("at most {limit} calls per user (sip.max_calls_per_user)"),
            ));
        }
        let offer = match BrowserOffer::parse(&sdp) {
            Ok(o) => o,
            Err(e) => return Some(error(Some(reference), ErrorCode::BadSdp, &e.to_string())),
        };
        let sip_codecs = match sdp::sip_offer_codecs(&offer, &self.app.sip_codec_order()) {
            Ok(c) => c,
            Err(SdpError::NoCommonCodec) => {
                return Some(error(
                    Some(reference),
                    ErrorCode::NoCommonCodec,
                    "the offer has no Opus, PCMU or PCMA audio",
                ));
            }
            Err(e) => return Some(error(Some(reference), ErrorCode::BadSdp, &e.to_string())),
        };
        let call_id = random_id();
        tracing::info!(%call_id, %reference, number = %to, "call requested");
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        self.app
            .hub
            .add_user_call(&self.user, &call_id, ctl_tx.clone());
        self.calls.own.insert(call_id.clone(), ctl_tx);
        self.calls.by_ref.insert(reference.clone(), call_id.clone());
        let req = CallRequest {
            call_id,
            reference,
            user: self.user.clone(),
            number: to,
            offer_sdp: sdp,
            offer,
            sip_codecs,
            video,
        };
        tokio::spawn(call::run(self.app.clone(), req, self.tx.clone(), ctl_rx));
        None
    }

    /// The socket closed: hang up our outbound calls, stop ringing here, leave the hub.
    fn close(self) {
        for (_, c) in self.calls.own {
            let _ = c.send(CallControl::DeviceGone(self.session_id.clone()));
        }
        for id in &self.calls.inbound {
            if let Some(c) = self.app.hub.call(id) {
                let _ = c.send(CallControl::DeviceGone(self.session_id.clone()));
            }
        }
        if let Some(generation) = self.app.hub.leave(&self.user, &self.session_id) {
            hub::on_last_device(self.app.clone(), self.user.clone(), generation);
        }
        tracing::info!(session_id = %self.session_id, user = %self.user, "session closed");
        self.app.metrics.ws_session(-1);
    }
}

fn error(reference: Option<String>, code: ErrorCode, message: &str) -> ServerMessage {
    ServerMessage::Error {
        reference,
        code,
        message: message.to_owned(),
    }
}

async fn send(socket: &mut WebSocket, msg: &ServerMessage) -> Result<(), axum::Error> {
    let text = serde_json::to_string(msg).unwrap_or_else(|_| "{}".to_owned());
    socket.send(Message::Text(text.into())).await
}

/// The wall clock in Unix seconds, for TURN credential expiry. Drivers may read the clock.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A random identifier (16 hex chars).
pub fn random_id() -> String {
    format!("{:016x}", rand::thread_rng().r#gen::<u64>())
}
