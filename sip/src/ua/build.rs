//! Building the requests the user agent sends: Via, Max-Forwards, Contact and the common
//! headers around a request spec, and the headers every response of ours shares.

use rand::RngCore;
use rsip::headers::UntypedHeader;
use rsip::{Request, SipMessage};

use super::uac::OutRequest;
use super::{Transport, UserAgent};
use crate::message;

impl<R: RngCore> UserAgent<R> {
    /// Our Contact with the configured user and transport.
    pub(super) fn contact(&self) -> String {
        self.contact_for(&self.cfg.username, self.cfg.transport)
    }

    /// Our Contact for `user` over `transport` (§8.1.1.8).
    pub(super) fn contact_for(&self, user: &str, transport: Transport) -> String {
        let t = match transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
        };
        if user.is_empty() {
            format!("<sip:{}{t}>", self.cfg.local)
        } else {
            format!("<sip:{user}@{}{t}>", self.cfg.local)
        }
    }

    /// Turns a request spec into a full request with a new Via branch, Max-Forwards,
    /// User-Agent, the `extra` headers and an SDP body; INVITEs get our Contact and Allow.
    pub(super) fn build(
        &mut self,
        out: &OutRequest,
        transport: Transport,
        extra: &[(&str, String)],
        sdp: Option<&str>,
    ) -> Result<Request, crate::Error> {
        let user = self.cfg.username.clone();
        let body = sdp.map(|s| ("application/sdp", s));
        self.build_as(out, transport, extra, body, &user)
    }

    /// [`Self::build`] with any body (content type, text) and `user` in our Contact, which
    /// INVITE and UPDATE carry (RFC 3261 §8.1.1.8, RFC 3311 §5.1).
    pub(super) fn build_as(
        &mut self,
        out: &OutRequest,
        transport: Transport,
        extra: &[(&str, String)],
        body: Option<(&str, &str)>,
        user: &str,
    ) -> Result<Request, crate::Error> {
        let branch = message::new_branch(&mut self.rng);
        let mut text = format!(
            "{} {} SIP/2.0\r\nVia: SIP/2.0/{} {};branch={branch};rport\r\nMax-Forwards: 70\r\n",
            out.method,
            out.uri,
            transport.via_name(),
            self.cfg.local
        );
        for r in &out.routes {
            text.push_str(&format!("Route: {r}\r\n"));
        }
        text.push_str(&format!(
            "From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} {}\r\n",
            out.from, out.to, out.call_id, out.cseq, out.method
        ));
        if out.method == "INVITE" || out.method == "UPDATE" {
            text.push_str(&format!(
                "Contact: {}\r\nAllow: {ALLOW}\r\n",
                self.contact_for(user, transport)
            ));
        }
        text.push_str(&format!("User-Agent: {}\r\n", self.cfg.user_agent));
        for (name, value) in extra {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        match body {
            Some((content_type, body)) => text.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => text.push_str("Content-Length: 0\r\n\r\n"),
        }
        match message::parse(text.as_bytes())? {
            SipMessage::Request(r) => Ok(r),
            SipMessage::Response(_) => Err(crate::Error::Parse("built a response".into())),
        }
    }
}

/// The methods we handle (§20.5).
pub(super) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO";

/// The Allow header, for OPTIONS, 405 and 2xx-to-INVITE responses.
pub(super) fn allow() -> rsip::Header {
    rsip::Header::Allow(rsip::headers::Allow::new(ALLOW))
}

/// Replaces a message body and its Content-Length.
pub(super) fn set_body(headers: &mut rsip::Headers, body: &mut Vec<u8>, new: Vec<u8>) {
    headers.retain(|h| !matches!(h, rsip::Header::ContentLength(_)));
    headers.push(rsip::Header::ContentLength(
        rsip::headers::ContentLength::new(new.len().to_string()),
    ));
    *body = new;
}
