//! Per-user registration: the user agent runs each user's [`Registration`] (RFC 3261 §10.2),
//! turning its REGISTER specs into client transactions and its states into events.

use std::time::Instant;

use rand::RngCore;
use rsip::Response;

use super::uac::OutRequest;
use super::{Owner, RegisterParams, UaEvent, UserAgent};
use crate::registration::{Binding, Registration, RegistrationOutput};

impl<R: RngCore> UserAgent<R> {
    /// Starts registering `user`, or updates its parameters (a no-op when unchanged).
    pub fn register(&mut self, now: Instant, user: &str, params: RegisterParams) {
        match self.registrations.get_mut(user) {
            Some(reg) => reg.update(&mut self.rng, params),
            None => {
                let binding = Binding {
                    domain: self.cfg.domain.clone(),
                    local: self.cfg.local.to_string(),
                    tcp: self.cfg.transport.reliable(),
                };
                let reg = Registration::new(&mut self.rng, binding, params);
                tracing::info!(user, sip_call_id = reg.call_id(), "registering");
                self.registrations.insert(user.to_owned(), reg);
            }
        }
        self.drain_registration(now, user);
    }

    /// Removes `user`'s binding (REGISTER with Expires 0), then reports `Unregistered` and
    /// forgets the user.
    pub fn unregister(&mut self, now: Instant, user: &str) {
        if let Some(reg) = self.registrations.get_mut(user) {
            tracing::info!(user, "unregistering");
            reg.unregister(&mut self.rng);
        }
        self.drain_registration(now, user);
    }

    /// Refreshes and retries that are due.
    pub(super) fn registration_timeouts(&mut self, now: Instant) {
        let due: Vec<String> = self
            .registrations
            .iter()
            .filter(|(_, r)| r.poll_timeout().is_some_and(|t| t <= now))
            .map(|(u, _)| u.clone())
            .collect();
        for user in due {
            if let Some(reg) = self.registrations.get_mut(&user) {
                reg.handle_timeout(now, &mut self.rng);
            }
            self.drain_registration(now, &user);
        }
    }

    /// A response to one of `user`'s REGISTERs.
    pub(super) fn registration_response(&mut self, now: Instant, user: &str, resp: &Response) {
        if resp.status_code.code() < 200 {
            return;
        }
        if let Some(reg) = self.registrations.get_mut(user) {
            reg.on_response(now, &mut self.rng, resp);
        }
        self.drain_registration(now, user);
    }

    /// One of `user`'s REGISTERs timed out or could not be sent.
    pub(super) fn registration_failure(
        &mut self,
        now: Instant,
        user: &str,
        cseq: u32,
        reason: &str,
    ) {
        if let Some(reg) = self.registrations.get_mut(user) {
            reg.on_transaction_failure(now, &mut self.rng, cseq, reason);
        }
        self.drain_registration(now, user);
    }

    /// Sends what the registration asks for, reports its states, and forgets it when done.
    fn drain_registration(&mut self, now: Instant, user: &str) {
        let (proxy, transport) = (self.cfg.proxy, self.cfg.transport);
        while let Some(output) = self
            .registrations
            .get_mut(user)
            .and_then(Registration::poll_output)
        {
            match output {
                RegistrationOutput::Send(r) => {
                    let out = OutRequest {
                        method: "REGISTER",
                        uri: r.uri,
                        from: r.from,
                        to: r.to,
                        call_id: r.call_id,
                        cseq: r.cseq,
                        routes: Vec::new(),
                    };
                    let mut extra =
                        vec![("Contact", r.contact), ("Expires", r.expires.to_string())];
                    extra.extend(r.authorization);
                    match self.build(&out, transport, &extra, None) {
                        Ok(req) => {
                            let owner = Owner::Registration {
                                user: user.to_owned(),
                                cseq: r.cseq,
                            };
                            self.start_client_tx(now, req, owner, proxy, transport);
                        }
                        Err(e) => {
                            tracing::warn!(user, error = %e, "could not build REGISTER");
                            if let Some(reg) = self.registrations.get_mut(user) {
                                reg.on_transaction_failure(
                                    now,
                                    &mut self.rng,
                                    r.cseq,
                                    "build error",
                                );
                            }
                        }
                    }
                }
                RegistrationOutput::State(state) => {
                    tracing::info!(user, ?state, "registration state");
                    self.events.push_back(UaEvent::Registration {
                        user: user.to_owned(),
                        state,
                    });
                }
            }
        }
        if self
            .registrations
            .get(user)
            .is_some_and(Registration::is_done)
        {
            self.registrations.remove(user);
        }
    }
}
