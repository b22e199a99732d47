//! The OPTIONS keepalive toward the proxy (RFC 3261 §11.1): any response means Asterisk is
//! up; a transaction timeout means it is not.

use std::time::Instant;

use rand::RngCore;
use rsip::Response;

use super::uac::OutRequest;
use super::{Owner, UaEvent, UserAgent};
use crate::message;

impl<R: RngCore> UserAgent<R> {
    /// Sends an OPTIONS to the proxy; its outcome comes as [`UaEvent::ProxyStatus`].
    pub fn options_ping(&mut self, now: Instant) {
        let call_id = message::new_call_id(&mut self.rng, &self.cfg.local.ip().to_string());
        let tag = message::new_tag(&mut self.rng);
        let uri = format!("sip:{}", self.cfg.domain);
        let out = OutRequest {
            method: "OPTIONS",
            uri: uri.clone(),
            from: format!("<sip:{}@{}>;tag={tag}", self.cfg.username, self.cfg.domain),
            to: format!("<{uri}>"),
            call_id,
            cseq: 1,
            routes: Vec::new(),
        };
        let (proxy, transport) = (self.cfg.proxy, self.cfg.transport);
        let extra = [
            ("Contact", self.contact()),
            ("Accept", "application/sdp".to_owned()),
        ];
        match self.build(&out, transport, &extra, None) {
            Ok(req) => self.start_client_tx(now, req, Owner::Keepalive, proxy, transport),
            Err(e) => tracing::warn!(error = %e, "could not build OPTIONS"),
        }
    }

    /// A response to a keepalive: Asterisk is there, whatever it says.
    pub(super) fn keepalive_response(&mut self, resp: &Response) {
        let code = resp.status_code.code();
        if code >= 200 {
            tracing::trace!(code, "OPTIONS keepalive answered");
            self.events.push_back(UaEvent::ProxyStatus {
                reachable: true,
                code: Some(code),
            });
        }
    }

    /// A keepalive got no response (Timer F) or could not be sent.
    pub(super) fn keepalive_failure(&mut self) {
        tracing::warn!(proxy = %self.cfg.proxy, "OPTIONS keepalive unanswered");
        self.events.push_back(UaEvent::ProxyStatus {
            reachable: false,
            code: None,
        });
    }
}
