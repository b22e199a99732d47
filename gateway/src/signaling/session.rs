//! One authenticated WebSocket session: routes client messages to call tasks and their events back.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use gateway_sip::sdp::{self, BrowserOffer, SdpError};
use rand::Rng;
use tokio::sync::mpsc;

use super::messages::{ClientMessage, ErrorCode, ServerMessage, parse_client_message};
use crate::app::App;
use crate::call::{self, CallControl, CallEvent, CallRequest};

/// Largest text frame accepted from a client.
pub const MAX_FRAME: usize = 256 * 1024;

struct Calls {
    by_id: HashMap<String, mpsc::UnboundedSender<CallControl>>,
    by_ref: HashMap<String, String>,
}

impl Calls {
    fn find(
        &self,
        call_id: Option<&str>,
        reference: Option<&str>,
    ) -> Option<&mpsc::UnboundedSender<CallControl>> {
        let id = match (call_id, reference) {
            (Some(id), _) => id,
            (None, Some(r)) => self.by_ref.get(r)?.as_str(),
            (None, None) => return None,
        };
        self.by_id.get(id)
    }
}

/// Runs a session for `user` until the socket closes; hangs up its calls when it does.
pub async fn run(app: Arc<App>, user: String, mut socket: WebSocket) {
    let session_id = random_id();
    let span = tracing::info_span!("session", %session_id, %user);
    tracing::info!(parent: &span, "session opened");
    let (tx, mut rx) = mpsc::unbounded_channel::<CallEvent>();
    let mut calls = Calls {
        by_id: HashMap::new(),
        by_ref: HashMap::new(),
    };

    let ice_servers: Vec<serde_json::Value> = app
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
    let hello = ServerMessage::Hello {
        user: user.clone(),
        session_id: session_id.clone(),
        ice_servers,
    };
    if send(&mut socket, &hello).await.is_err() {
        return;
    }

    loop {
        tokio::select! {
            frame = socket.recv() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        let e = error(None, ErrorCode::BadRequest, "binary frames are not part of the protocol");
                        if send(&mut socket, &e).await.is_err() { break; }
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                };
                if text.len() > MAX_FRAME {
                    let e = error(None, ErrorCode::BadRequest, "frame too large");
                    if send(&mut socket, &e).await.is_err() { break; }
                    continue;
                }
                let reply = match parse_client_message(text.as_str()) {
                    Ok(msg) => handle(&app, &user, &mut calls, &tx, msg),
                    Err(e) => Some(e),
                };
                if let Some(reply) = reply && send(&mut socket, &reply).await.is_err() {
                    break;
                }
            }
            ev = rx.recv() => match ev {
                Some(CallEvent::ToClient(m)) => {
                    if send(&mut socket, &m).await.is_err() { break; }
                }
                Some(CallEvent::Finished(call_id)) => {
                    calls.by_id.remove(&call_id);
                    calls.by_ref.retain(|_, id| *id != call_id);
                }
                None => break,
            }
        }
    }
    for (_, c) in calls.by_id.drain() {
        let _ = c.send(CallControl::Hangup);
    }
    tracing::info!(parent: &span, "session closed");
}

fn handle(
    app: &Arc<App>,
    user: &str,
    calls: &mut Calls,
    tx: &mpsc::UnboundedSender<CallEvent>,
    msg: ClientMessage,
) -> Option<ServerMessage> {
    match msg {
        ClientMessage::Call {
            reference,
            to,
            sdp,
            call_type: _,
        } => {
            if calls.by_ref.contains_key(&reference) {
                return Some(error(
                    Some(reference),
                    ErrorCode::BadRequest,
                    "ref already in use",
                ));
            }
            if to.is_empty()
                || to.len() > 64
                || !to
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+*#.-_".contains(&b))
            {
                return Some(error(
                    Some(reference),
                    ErrorCode::InvalidNumber,
                    "the number may hold only 0-9 A-Z a-z + * # . - _ (1 to 64)",
                ));
            }
            let offer = match BrowserOffer::parse(&sdp) {
                Ok(o) => o,
                Err(e) => return Some(error(Some(reference), ErrorCode::BadSdp, &e.to_string())),
            };
            let sip_codecs = match sdp::sip_offer_codecs(&offer, &sip_order(app)) {
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
            calls.by_id.insert(call_id.clone(), ctl_tx);
            calls.by_ref.insert(reference.clone(), call_id.clone());
            let req = CallRequest {
                call_id,
                reference,
                user: user.to_owned(),
                number: to,
                offer_sdp: sdp,
                offer,
                sip_codecs,
            };
            tokio::spawn(call::run(app.clone(), req, tx.clone(), ctl_rx));
            None
        }
        ClientMessage::Ice {
            call_id,
            reference,
            candidate,
        } => match calls.find(call_id.as_deref(), reference.as_deref()) {
            Some(c) => {
                let _ = c.send(CallControl::Ice(candidate));
                None
            }
            None => Some(error(reference, ErrorCode::UnknownCall, "no such call")),
        },
        ClientMessage::Hangup { call_id, reference } => {
            match calls.find(call_id.as_deref(), reference.as_deref()) {
                Some(c) => {
                    let _ = c.send(CallControl::Hangup);
                    None
                }
                None => Some(error(reference, ErrorCode::UnknownCall, "no such call")),
            }
        }
    }
}

fn sip_order(app: &App) -> Vec<sdp::AudioCodec> {
    app.config
        .media
        .sip_codecs
        .iter()
        .map(|c| match c {
            gateway_config::AudioCodec::Opus => sdp::AudioCodec::Opus,
            gateway_config::AudioCodec::Pcmu => sdp::AudioCodec::Pcmu,
            gateway_config::AudioCodec::Pcma => sdp::AudioCodec::Pcma,
        })
        .collect()
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

/// A random identifier (16 hex chars).
pub fn random_id() -> String {
    format!("{:016x}", rand::thread_rng().r#gen::<u64>())
}
