//! Who is connected: each user's devices (signaling sessions), the calls any device may address
//! by `call_id`, and each user's SIP registration, started with the first device and ended a
//! grace period after the last one leaves (so a page reload keeps the registration).
//!
//! A mutex guards the maps; it is taken per signaling event, never per media packet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use crate::call::{CallControl, CallEvent};
use crate::signaling::messages::{RegistrationStatus, ServerMessage};
use crate::sip_driver::SipCommand;

/// A device: one signaling session of a user.
#[derive(Clone)]
pub struct Device {
    /// The session's id.
    pub session_id: String,
    /// Where messages for the session go.
    pub tx: mpsc::UnboundedSender<CallEvent>,
}

#[derive(Default)]
struct UserEntry {
    devices: Vec<Device>,
    /// Bumped on every join/leave, so a stale grace timer does not unregister a user who came back.
    generation: u64,
    registration: Option<ServerMessage>,
}

/// A session whose WebSocket dropped, waiting to be resumed: its user, and where a new socket goes.
type Detached = (String, mpsc::UnboundedSender<axum::extract::ws::WebSocket>);

#[derive(Default)]
struct State {
    users: HashMap<String, UserEntry>,
    calls: HashMap<String, mpsc::UnboundedSender<CallControl>>,
    /// The user each call belongs to (for `sip.max_calls_per_user`).
    call_users: HashMap<String, String>,
    detached: HashMap<String, Detached>,
}

/// The registry of users, devices and addressable calls.
#[derive(Default)]
pub struct Hub {
    state: Mutex<State>,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock is a bug elsewhere; the maps stay usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a device; returns the user's last known registration state (to send after `hello`)
    /// and whether it is the user's first device.
    pub fn join(&self, user: &str, device: Device) -> (Option<ServerMessage>, bool) {
        let mut s = self.lock();
        let entry = s.users.entry(user.to_owned()).or_default();
        let first = entry.devices.is_empty();
        entry.devices.push(device);
        entry.generation += 1;
        (entry.registration.clone(), first)
    }

    /// Removes a device; returns the generation to check after the grace period when it was the
    /// user's last device.
    pub fn leave(&self, user: &str, session_id: &str) -> Option<u64> {
        let mut s = self.lock();
        let entry = s.users.get_mut(user)?;
        entry.devices.retain(|d| d.session_id != session_id);
        entry.generation += 1;
        entry.devices.is_empty().then_some(entry.generation)
    }

    /// Whether the user still has no device and nothing changed since `generation`.
    pub fn still_gone(&self, user: &str, generation: u64) -> bool {
        let mut s = self.lock();
        let gone = s
            .users
            .get(user)
            .is_some_and(|e| e.devices.is_empty() && e.generation == generation);
        if gone {
            s.users.remove(user);
        }
        gone
    }

    /// The user's connected devices.
    pub fn devices(&self, user: &str) -> Vec<Device> {
        self.lock()
            .users
            .get(user)
            .map(|e| e.devices.clone())
            .unwrap_or_default()
    }

    /// Records and broadcasts a registration state to the user's devices.
    pub fn registration(&self, user: &str, state: RegistrationStatus, reason: Option<String>) {
        let msg = ServerMessage::Registration { state, reason };
        let mut s = self.lock();
        if let Some(entry) = s.users.get_mut(user) {
            for d in &entry.devices {
                let _ = d.tx.send(CallEvent::ToClient(msg.clone()));
            }
            entry.registration = Some(msg);
        }
    }

    /// Offers a session whose socket dropped for resumption.
    pub fn detach(
        &self,
        session_id: &str,
        user: &str,
        adopt: mpsc::UnboundedSender<axum::extract::ws::WebSocket>,
    ) {
        self.lock()
            .detached
            .insert(session_id.to_owned(), (user.to_owned(), adopt));
    }

    /// Withdraws a detached session (resumed, or its grace period ended).
    pub fn undetach(&self, session_id: &str) {
        self.lock().detached.remove(session_id);
    }

    /// Where to hand a new socket to resume `session_id`, if it is detached and belongs to `user`.
    pub fn adopt(
        &self,
        session_id: &str,
        user: &str,
    ) -> Option<mpsc::UnboundedSender<axum::extract::ws::WebSocket>> {
        let mut s = self.lock();
        match s.detached.get(session_id) {
            Some((owner, _)) if owner == user => s.detached.remove(session_id).map(|d| d.1),
            _ => None,
        }
    }

    /// Makes a call addressable by its id from any session.
    pub fn add_call(&self, call_id: &str, control: mpsc::UnboundedSender<CallControl>) {
        self.lock().calls.insert(call_id.to_owned(), control);
    }

    /// Calls in progress (every direction).
    pub fn call_count(&self) -> usize {
        self.lock().calls.len()
    }

    /// The control channels of every call in progress.
    pub fn all_calls(&self) -> Vec<mpsc::UnboundedSender<CallControl>> {
        self.lock().calls.values().cloned().collect()
    }

    /// Users whose last registration state is `registered`.
    pub fn registered_count(&self) -> usize {
        self.lock()
            .users
            .values()
            .filter(|u| {
                matches!(
                    u.registration,
                    Some(ServerMessage::Registration {
                        state: RegistrationStatus::Registered,
                        ..
                    })
                )
            })
            .count()
    }

    /// Makes a call of `user` addressable and counted against the user's limit.
    pub fn add_user_call(
        &self,
        user: &str,
        call_id: &str,
        control: mpsc::UnboundedSender<CallControl>,
    ) {
        let mut s = self.lock();
        s.calls.insert(call_id.to_owned(), control);
        s.call_users.insert(call_id.to_owned(), user.to_owned());
    }

    /// The user's calls in progress.
    pub fn user_calls(&self, user: &str) -> usize {
        self.lock()
            .call_users
            .values()
            .filter(|u| *u == user)
            .count()
    }

    /// Forgets a call.
    pub fn remove_call(&self, call_id: &str) {
        let mut s = self.lock();
        s.calls.remove(call_id);
        s.call_users.remove(call_id);
    }

    /// The control channel of a call.
    pub fn call(&self, call_id: &str) -> Option<mpsc::UnboundedSender<CallControl>> {
        self.lock().calls.get(call_id).cloned()
    }
}

/// Starts the user's registration when `first` and the user has SIP credentials.
pub fn on_first_device(app: &crate::app::App, user: &str) {
    // `[odoo] users_from_odoo`: the account comes from Odoo (issue 5), fetched in a task.
    if let Some(users) = &app.odoo_users {
        users.register(&app.sip, user, app.config.sip.register_expires);
        return;
    }
    if let Some(sip_user) = app.config.sip.users.get(user) {
        let _ = app.sip.send(SipCommand::Register {
            user: user.to_owned(),
            username: sip_user.username.clone(),
            password: sip_user.password.expose().to_owned(),
            expires: app.config.sip.register_expires,
        });
    }
}

/// After the user's last device left: unregister once the grace period passed with no return.
pub fn on_last_device(app: Arc<crate::app::App>, user: String, generation: u64) {
    if !app.config.sip.users.contains_key(&user) && app.odoo_users.is_none() {
        app.hub.still_gone(&user, generation);
        return;
    }
    let grace = app.config.sip.unregister_grace;
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        if app.hub.still_gone(&user, generation) {
            tracing::info!(%user, "last device gone for the grace period: unregistering");
            let _ = app.sip.send(SipCommand::Unregister { user });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str) -> (Device, mpsc::UnboundedReceiver<CallEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Device {
                session_id: id.into(),
                tx,
            },
            rx,
        )
    }

    #[test]
    fn first_and_last_device_and_stale_grace() {
        let hub = Hub::default();
        let (a, _ra) = device("a");
        let (b, _rb) = device("b");
        assert!(hub.join("alice", a).1);
        assert!(!hub.join("alice", b).1);
        assert_eq!(hub.leave("alice", "a"), None);
        let g = hub.leave("alice", "b").unwrap();
        // The user came back during the grace period: the old timer must not unregister.
        let (c, _rc) = device("c");
        assert!(hub.join("alice", c).1);
        assert!(!hub.still_gone("alice", g));
        let g2 = hub.leave("alice", "c").unwrap();
        assert!(hub.still_gone("alice", g2));
        assert!(hub.devices("alice").is_empty());
    }

    fn app_with_alice() -> (Arc<crate::app::App>, mpsc::UnboundedReceiver<SipCommand>) {
        let config = gateway_config::Config::from_toml_str(
            "[sip]\nunregister_grace = \"30s\"\n[sip.users.alice]\npassword = \"pw\"\n",
            Vec::<(String, String)>::new(),
        )
        .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let proxy = "127.0.0.1:5060".parse().unwrap();
        (
            Arc::new(crate::app::App::new(config, tx, proxy).unwrap()),
            rx,
        )
    }

    /// The first device registers the user; the last one leaving unregisters after the grace
    /// period, unless a device comes back in time (a page reload).
    #[tokio::test(start_paused = true)]
    async fn unregister_waits_for_the_grace_period() {
        let (app, mut sip) = app_with_alice();
        let (a, _ra) = device("a");
        assert!(app.hub.join("alice", a).1);
        on_first_device(&app, "alice");
        assert!(matches!(sip.try_recv(), Ok(SipCommand::Register { user, .. }) if user == "alice"));

        // A reload: gone, back within the grace period -> no unREGISTER.
        let g = app.hub.leave("alice", "a").unwrap();
        on_last_device(app.clone(), "alice".into(), g);
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        let (b, _rb) = device("b");
        app.hub.join("alice", b);
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        assert!(sip.try_recv().is_err(), "a reload must not unregister");

        // Really gone: nothing at 29 s, unREGISTER after 30 s.
        let g = app.hub.leave("alice", "b").unwrap();
        on_last_device(app.clone(), "alice".into(), g);
        tokio::time::sleep(std::time::Duration::from_secs(29)).await;
        assert!(sip.try_recv().is_err());
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert!(matches!(sip.try_recv(), Ok(SipCommand::Unregister { user }) if user == "alice"));
    }

    /// Users without SIP credentials are never registered.
    #[tokio::test(start_paused = true)]
    async fn users_without_credentials_do_not_register() {
        let (app, mut sip) = app_with_alice();
        on_first_device(&app, "bob");
        assert!(sip.try_recv().is_err());
    }

    #[test]
    fn registration_is_broadcast_and_remembered() {
        let hub = Hub::default();
        let (a, mut ra) = device("a");
        hub.join("alice", a);
        hub.registration("alice", RegistrationStatus::Registered, None);
        assert!(matches!(
            ra.try_recv(),
            Ok(CallEvent::ToClient(ServerMessage::Registration { .. }))
        ));
        let (b, _rb) = device("b");
        let (last, _) = hub.join("alice", b);
        assert!(matches!(last, Some(ServerMessage::Registration { .. })));
    }
}
