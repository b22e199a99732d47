//! The Asterisk Manager Interface in the gateway (issue 6, docs/ami.md): one [`AmiClient`] per
//! `[[ami.servers]]`, the HTTP API ([`api`]), click-to-call ([`originate`]), event forwarding to Odoo
//! ([`forward`]), joining Asterisk's ids to the gateway's calls ([`join`]) and the command line
//! ([`cli`]).

pub mod api;
pub mod cli;
pub mod forward;
pub mod join;
pub mod originate;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gateway_ami::{AmiClient, ConnState, Message};
use gateway_config::{AmiServer, Config};
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use crate::app::App;

/// The gateway's reconnect ceiling: an Asterisk back from a restart is used again within 5 s.
pub const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// The client configuration of one `[[ami.servers]]` entry; `max_line` is `limits.max_ami_line`.
pub fn client_config(server: &AmiServer, max_line: usize) -> gateway_ami::AmiConfig {
    let mut config = gateway_ami::AmiConfig::new(
        server.name.as_str(),
        server.address.as_str(),
        server.username.as_str(),
        gateway_ami::Secret::new(server.secret.expose()),
    );
    config.md5 = server.md5;
    config.ping_interval = server.ping_interval;
    config.reconnect_max = RECONNECT_MAX;
    // `limits.max_ami_line`: a longer line drops the connection (the client then reconnects).
    config.limits.max_line_len = max_line;
    config
}

/// The AMI state `/healthz` and the API show: `connected`, `connecting`, `disconnected` or `closed`.
pub fn state_name(state: &ConnState) -> &'static str {
    match state {
        ConnState::Connected { .. } => "connected",
        ConnState::Connecting => "connecting",
        ConnState::Disconnected { .. } => "disconnected",
        ConnState::Closed => "closed",
    }
}

/// One server's event subscription, taken before its client could log in (no event is missed).
pub struct EventFeed {
    server: String,
    events: broadcast::Receiver<Arc<Message>>,
}

/// Every AMI client of the gateway, and what the AMI tasks share.
pub struct Ami {
    clients: Vec<AmiClient>,
    joiner: Mutex<join::Joiner>,
    forwarder: forward::Forwarder,
    lost_events: AtomicU64,
}

impl Ami {
    /// Spawns one client per `[[ami.servers]]` (they connect in the background); `None` without servers.
    pub fn start(config: &Config) -> Option<(Arc<Ami>, Vec<EventFeed>)> {
        if config.ami.servers.is_empty() {
            return None;
        }
        let mut clients = Vec::new();
        let mut feeds = Vec::new();
        for server in &config.ami.servers {
            let client = AmiClient::spawn(client_config(server, config.limits.max_ami_line));
            feeds.push(EventFeed {
                server: server.name.clone(),
                events: client.events(),
            });
            tracing::info!(server = %server.name, address = %server.address, "AMI client started");
            clients.push(client);
        }
        let ami = Ami {
            clients,
            joiner: Mutex::new(join::Joiner::default()),
            forwarder: forward::Forwarder::new(&config.ami.forward),
            lost_events: AtomicU64::new(0),
        };
        Some((Arc::new(ami), feeds))
    }

    /// The client of server `name`, or the first configured server when `name` is `None`.
    pub fn client(&self, name: Option<&str>) -> Option<&AmiClient> {
        match name {
            Some(name) => self.clients.iter().find(|c| c.name() == name),
            None => self.clients.first(),
        }
    }

    /// Every client, in configuration order.
    pub fn clients(&self) -> &[AmiClient] {
        &self.clients
    }

    /// `{server: state}` for `/healthz`.
    pub fn states(&self) -> Map<String, Value> {
        self.clients
            .iter()
            .map(|c| (c.name().to_owned(), state_name(&c.state().borrow()).into()))
            .collect()
    }

    /// Events the gateway failed to process because it fell behind (since start).
    pub fn lost_events(&self) -> u64 {
        self.lost_events.load(Ordering::Relaxed)
    }

    /// The forwarding rules in force.
    pub fn forwarder(&self) -> &forward::Forwarder {
        &self.forwarder
    }

    fn joiner(&self) -> MutexGuard<'_, join::Joiner> {
        // The joiner's maps stay consistent whatever a panicking holder did.
        self.joiner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A call the gateway bridges started: remember its ids for joining (see [`join`]).
    pub fn call_started(
        &self,
        app: &App,
        call_id: &str,
        originate_id: Option<&str>,
        sip_call_id: &str,
    ) {
        let joins = self
            .joiner()
            .call_started(call_id, originate_id, sip_call_id);
        send_joins(app, joins);
    }

    /// A click-to-call's OriginateResponse named the channel's Uniqueid.
    pub(crate) fn originate_answered(&self, app: &App, originate_id: &str, uniqueid: &str) {
        let joins = self.joiner().originate_response(originate_id, uniqueid);
        send_joins(app, joins);
    }
}

/// Starts the task that forwards and joins each server's events, and loads Odoo's rules.
pub fn spawn_tasks(app: Arc<App>, feeds: Vec<EventFeed>) {
    if let (Some(ami), Some(reporter)) = (&app.ami, &app.reporter) {
        forward::load_odoo_rules(ami.clone(), reporter.client());
    }
    for feed in feeds {
        tokio::spawn(event_task(app.clone(), feed));
    }
}

async fn event_task(app: Arc<App>, mut feed: EventFeed) {
    let Some(ami) = app.ami.clone() else { return };
    loop {
        match feed.events.recv().await {
            Ok(event) => on_event(&app, &ami, &feed.server, &event),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                let total = ami.lost_events.fetch_add(n, Ordering::Relaxed) + n;
                tracing::error!(server = %feed.server, lost = n, total,
                    "AMI events lost: the gateway fell behind the event stream; forwarded events are missing");
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
    tracing::debug!(server = %feed.server, "AMI event task stopped");
}

fn on_event(app: &App, ami: &Ami, server: &str, event: &Message) {
    let joins = ami.joiner().event(event);
    send_joins(app, joins);
    if let Some(reporter) = &app.reporter {
        for call in ami.forwarder.calls(server, event) {
            reporter.callback(call);
        }
    }
}

fn send_joins(app: &App, joins: Vec<join::Join>) {
    let Some(reporter) = &app.reporter else {
        return;
    };
    for j in joins {
        tracing::info!(call_id = %j.call_id, uniqueid = %j.uniqueid, linkedid = ?j.linkedid, "Asterisk ids joined to the call");
        let mut fields = Map::new();
        fields.insert("uniqueid".into(), j.uniqueid.clone().into());
        if let Some(linkedid) = &j.linkedid {
            fields.insert("linkedid".into(), linkedid.clone().into());
        }
        reporter.update(&j.call_id, &format!("ami:{}", j.seq), fields);
    }
}
