//! One connection of the test server: the Asterisk side of the protocol, answering as the captures show.

use std::sync::Arc;
use std::time::Duration;

use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::broadcast::error::RecvError;

use super::transcripts::{self, Capture};
use super::{Control, Dialect, Inner, OriginatePlan};
use crate::decoder::Decoder;
use crate::frame::Frame;
use crate::message::Message;

/// The challenge sent for MD5 logins (panoramisk login_md5.yaml).
const CHALLENGE: &str = "145769581";
/// `Ping` timestamps start at the one captured in asterisk22/03.
const PING_EPOCH_MICROS: u128 = 1_795_220_405_511_845;

/// The bytes of `msg` in `dialect` (legacy Asterisk wrote LF only).
pub(crate) fn wire(dialect: Dialect, msg: &Message) -> Vec<u8> {
    let bytes = msg.to_bytes();
    match dialect {
        Dialect::Asterisk22 => bytes,
        Dialect::Legacy => String::from_utf8_lossy(&bytes)
            .replace("\r\n", "\n")
            .into_bytes(),
    }
}

enum Flow {
    Continue,
    Close,
}

struct Conn {
    inner: Arc<Inner>,
    wr: OwnedWriteHalf,
    dialect: Dialect,
    logged_in: bool,
    events: bool,
}

pub(crate) async fn run(inner: Arc<Inner>, socket: TcpStream) {
    let _ = socket.set_nodelay(true);
    let (mut rd, wr) = socket.into_split();
    let mut control = inner.control.subscribe();
    let dialect = inner.state().dialect;
    let mut conn = Conn {
        inner,
        wr,
        dialect,
        logged_in: false,
        events: false,
    };
    let banner = match dialect {
        Dialect::Asterisk22 => "Asterisk Call Manager/11.0.0\r\n",
        Dialect::Legacy => "Asterisk Call Manager/1.3\n",
    };
    if conn.write(banner.as_bytes()).await.is_err() {
        return;
    }
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 8192];
    loop {
        tokio::select! {
            read = rd.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                decoder.feed(&buf[..n]);
                while let Some(frame) = decoder.next_frame() {
                    let Ok(Frame::Message(action)) = frame else { continue };
                    if let Ok(Flow::Close) | Err(_) = conn.on_action(action).await {
                        return;
                    }
                }
            }
            ctl = control.recv() => {
                let silent = conn.inner.state().unresponsive;
                let done = match ctl {
                    Ok(Control::Event(ev)) if conn.logged_in && conn.events && !silent => {
                        conn.write(&wire(dialect, &ev)).await.is_err()
                    }
                    Ok(Control::Raw(bytes)) if !silent => conn.write(&bytes).await.is_err(),
                    Ok(Control::CloseAfter(bytes)) => {
                        let _ = conn.write(&bytes).await;
                        true
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => false,
                    Err(RecvError::Closed) => true,
                };
                if done {
                    return;
                }
            }
        }
    }
}

impl Conn {
    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.inner.state().trickle {
            for b in bytes {
                self.wr.write_all(std::slice::from_ref(b)).await?;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(())
        } else {
            self.wr.write_all(bytes).await
        }
    }

    async fn send(&mut self, msg: &Message) -> std::io::Result<()> {
        let bytes = wire(self.dialect, msg);
        self.write(&bytes).await
    }

    async fn on_action(&mut self, action: Message) -> std::io::Result<Flow> {
        let silent = {
            let mut state = self.inner.state();
            state.actions.push(action.clone());
            state.unresponsive
        };
        let _ = self.inner.actions_tx.send(Arc::new(action.clone()));
        if silent {
            return Ok(Flow::Continue);
        }
        let id = action.action_id().map(str::to_owned);
        let reply = |status: &str| {
            let mut m = Message::new().with("Response", status);
            if let Some(id) = &id {
                m.push("ActionID", id.clone());
            }
            m
        };
        let name = action
            .get("Action")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if name.is_empty() {
            self.send(&reply("Error").with("Message", "Missing action in request"))
                .await?;
            return Ok(Flow::Continue);
        }
        if !self.logged_in && !matches!(name.as_str(), "login" | "challenge" | "logoff") {
            self.send(&reply("Error").with("Message", "Permission denied"))
                .await?;
            return Ok(Flow::Continue);
        }
        match name.as_str() {
            "login" => return self.login(&action, reply("Success"), reply("Error")).await,
            "challenge" => {
                self.send(&reply("Success").with("Challenge", CHALLENGE))
                    .await?
            }
            "logoff" => {
                self.send(&reply("Goodbye").with("Message", "Thanks for all the fish."))
                    .await?;
                return Ok(Flow::Close);
            }
            "ping" => {
                let micros = PING_EPOCH_MICROS + self.inner.started.elapsed().as_micros();
                let ts = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
                self.send(&reply("Success").with("Ping", "Pong").with("Timestamp", ts))
                    .await?;
            }
            "command" => {
                self.command(&action, reply("Success"), reply("Error"))
                    .await?
            }
            "coreshowchannels" => {
                self.core_show_channels(id.as_deref(), reply("Success"))
                    .await?
            }
            "hangup" => {
                self.send(&reply("Success").with("Message", "Channel Hungup"))
                    .await?
            }
            "originate" => {
                self.originate(action, reply("Success"), reply("Error"))
                    .await?
            }
            _ => {
                let original = action.get("Action").unwrap_or_default();
                let text = format!(
                    "Invalid/unknown command: {original}. Use Action: ListCommands to show available commands."
                );
                self.send(&reply("Error").with("Message", text)).await?;
            }
        }
        Ok(Flow::Continue)
    }

    /// asterisk22/01, 02, 07: accepted (+ FullyBooted, SuccessfulAuth with events on), or ~1 s, Error, close.
    async fn login(
        &mut self,
        action: &Message,
        ok: Message,
        err: Message,
    ) -> std::io::Result<Flow> {
        let (accepted, delay) = {
            let state = self.inner.state();
            let user_ok = action.get("Username") == Some(state.username.as_str());
            let secret_ok = match action.get("AuthType") {
                Some(t) if t.eq_ignore_ascii_case("MD5") => {
                    let key = hex::encode(Md5::digest(format!("{CHALLENGE}{}", state.secret)));
                    action
                        .get("Key")
                        .is_some_and(|k| k.eq_ignore_ascii_case(&key))
                }
                _ => action.get("Secret") == Some(state.secret.as_str()),
            };
            (
                user_ok && secret_ok && !state.refuse_login,
                state.login_fail_delay,
            )
        };
        if !accepted {
            tokio::time::sleep(delay).await;
            self.send(&err.with("Message", "Authentication failed"))
                .await?;
            return Ok(Flow::Close);
        }
        self.logged_in = true;
        self.events = !action.is("Events", "off");
        self.send(&ok.with("Message", "Authentication accepted"))
            .await?;
        if self.events {
            for ev in transcripts::login_events() {
                self.send(&ev).await?;
            }
        }
        Ok(Flow::Continue)
    }

    /// asterisk22/04, 04b, 04c (`Output:` per line; unknown = Error); legacy: `Follows` ... `--END COMMAND--`.
    async fn command(
        &mut self,
        action: &Message,
        ok: Message,
        err: Message,
    ) -> std::io::Result<()> {
        let command = action.get("Command").unwrap_or_default().to_owned();
        let lines = self.inner.state().commands.get(&command).cloned();
        let (found, lines) = match lines {
            Some(lines) => (true, lines),
            None => {
                let words: Vec<&str> = command.split_whitespace().collect();
                let help = words[..words.len().saturating_sub(1)].join(" ");
                let line = format!(
                    "No such command '{command}' (type 'core show help {help}' for other possible commands)"
                );
                (false, vec![line])
            }
        };
        match self.dialect {
            Dialect::Asterisk22 => {
                let mut m = if found { ok } else { err }.with("Message", "Command output follows");
                for line in lines {
                    m.push("Output", line);
                }
                self.send(&m).await
            }
            Dialect::Legacy => {
                let mut m = Message::new()
                    .with("Response", "Follows")
                    .with("Privilege", "Command");
                if let Some(id) = action.action_id() {
                    m.push("ActionID", id);
                }
                m.set_body(Some(lines.iter().map(|l| format!("{l}\n")).collect()));
                self.send(&m).await
            }
        }
    }

    /// asterisk22/06 and 06b.
    async fn core_show_channels(&mut self, id: Option<&str>, ok: Message) -> std::io::Result<()> {
        self.send(
            &ok.with("EventList", "start")
                .with("Message", "Channels will follow"),
        )
        .await?;
        let channels = if self.inner.state().active_call {
            transcripts::active_call_channels()
        } else {
            Vec::new()
        };
        let count = channels.len();
        for mut ch in channels {
            match id {
                Some(id) => ch.set("ActionID", id),
                None => {
                    ch = Message::from_pairs(
                        ch.headers()
                            .iter()
                            .filter(|(k, _)| k != "ActionID")
                            .cloned(),
                    )
                }
            }
            self.send(&ch).await?;
        }
        let mut done = Message::new().with("Event", "CoreShowChannelsComplete");
        if let Some(id) = id {
            done.push("ActionID", id);
        }
        self.send(
            &done
                .with("EventList", "Complete")
                .with("ListItems", count.to_string()),
        )
        .await
    }

    /// asterisk22/07-10: Async: queued, then the plan's events (OriginateResponse with our ActionID) to
    /// event sessions; sync (08b): the outcome is the response.
    async fn originate(
        &mut self,
        action: Message,
        ok: Message,
        err: Message,
    ) -> std::io::Result<()> {
        let hook = self.inner.state().originate.clone();
        let id = action.action_id().map(str::to_owned);
        let is_async =
            action.is("Async", "true") || action.is("Async", "yes") || action.is("Async", "1");
        let plan = async move {
            match hook {
                Some(hook) => hook(action).await,
                None => OriginatePlan::Answered,
            }
        };
        if is_async {
            self.send(&ok.with("Message", "Originate successfully queued"))
                .await?;
            let inner = Arc::clone(&self.inner);
            tokio::spawn(async move {
                let plan = plan.await;
                for ev in plan_events(&plan, id.as_deref()) {
                    let _ = inner.control.send(Control::Event(Arc::new(ev)));
                }
            });
            return Ok(());
        }
        let plan = plan.await;
        if plan == OriginatePlan::Answered {
            self.send(&ok.with("Message", "Originate successfully queued"))
                .await?;
            for ev in plan_events(&plan, id.as_deref())
                .into_iter()
                .filter(|e| e.event() != Some("OriginateResponse"))
            {
                let _ = self.inner.control.send(Control::Event(Arc::new(ev)));
            }
            Ok(())
        } else {
            self.send(&err.with("Message", "Originate failed")).await
        }
    }
}

/// The events a plan replays, with the Originate's ActionID substituted.
fn plan_events(plan: &OriginatePlan, id: Option<&str>) -> Vec<Message> {
    let mut events = match plan {
        OriginatePlan::Answered => Capture::OriginateAnswered.events(),
        OriginatePlan::Failed => Capture::OriginateFailed.events(),
        OriginatePlan::NoAnswer => Capture::OriginateNoAnswer.events(),
        OriginatePlan::Busy => Capture::OriginateBusy.events(),
        OriginatePlan::Events(events) => events.clone(),
    };
    for ev in &mut events {
        if ev.action_id().is_some() {
            ev.set("ActionID", id.unwrap_or_default());
        }
    }
    events
}
