//! Shared driver for the `ua_*` scenario tests: a [`UserAgent`] with a seeded RNG in virtual
//! time, and a simulated Asterisk 22 that answers with the real captures of
//! `tests/data/asterisk22/`, re-keyed to the identifiers of the request the UA actually sent.
//!
//! The UA is configured like the SIPp endpoint of the captures (`"Gateway Test"
//! <sip:gwtest@127.0.0.1:5080>`, Asterisk at 127.0.0.1:5060), so a capture only needs its
//! Call-ID, the gateway's tag, the Via branch and the CSeq swapped for ours. Everything else —
//! ports dropped from From/To, `Content-Length:  0`, a stateless 401 whose To-tag is the Via
//! branch, `Contact: <sip:127.0.0.1:5060>` — stays byte for byte as Asterisk sent it.

#![allow(dead_code)] // each test file uses a different part of the helper
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gateway_sip::message;
use gateway_sip::transaction::TimerConfig;
use gateway_sip::ua::{
    IncomingCall, RegisterParams, RegistrationState, SessionEvent, Transport, UaConfig, UaEvent,
    UserAgent,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsip::headers::UntypedHeader;
use rsip::{Header, Request, Response, SipMessage};

/// Where the gateway listens in the captures (the SIPp endpoint `gateway`).
pub(crate) const LOCAL: &str = "127.0.0.1:5080";
/// Asterisk in the captures.
pub(crate) const ASTERISK: &str = "127.0.0.1:5060";
/// The password the tests configure (the captures do not record alice's).
pub(crate) const PASSWORD: &str = "s3cret-for-tests";

/// The SDP offer the UA sends: the G.711 offer of `outbound-600-ulaw-01`.
pub(crate) const OFFER: &str = "v=0\r\no=gwtest 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n";

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The configuration matching the captures: user `gwtest` on 127.0.0.1:5080.
pub(crate) fn config(transport: Transport) -> UaConfig {
    config_for("gwtest", LOCAL, transport)
}

/// A configuration for `username` listening on `local`.
pub(crate) fn config_for(username: &str, local: &str, transport: Transport) -> UaConfig {
    UaConfig {
        local: addr(local),
        transport,
        proxy: addr(ASTERISK),
        domain: "127.0.0.1".into(),
        username: username.into(),
        password: PASSWORD.into(),
        display_name: Some("Gateway Test".into()),
        user_agent: "webrtc-gateway-test".into(),
        timers: TimerConfig::default(),
    }
}

#[allow(clippy::disallowed_methods)] // the origin of virtual time; never read again
fn t0() -> Instant {
    Instant::now()
}

/// Reads a capture of `tests/data/asterisk22/`.
pub(crate) fn capture(name: &str) -> String {
    let path = format!(
        "{}/tests/data/asterisk22/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Something the UA produced while time advanced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Output {
    /// A message put on the wire (always to Asterisk in these tests).
    Sent(SipMessage),
    /// An event for the application.
    Event(UaEvent),
}

/// A user agent in virtual time.
pub(crate) struct Harness {
    pub(crate) ua: UserAgent<ChaCha20Rng>,
    pub(crate) t0: Instant,
    pub(crate) now: Instant,
    pub(crate) transport: Transport,
}

impl Harness {
    /// The UA over UDP with the capture configuration and seed 7.
    pub(crate) fn udp() -> Self {
        Self::new(config(Transport::Udp))
    }

    pub(crate) fn new(cfg: UaConfig) -> Self {
        let t0 = t0();
        let transport = cfg.transport;
        Self {
            ua: UserAgent::new(cfg, ChaCha20Rng::seed_from_u64(7)),
            t0,
            now: t0,
            transport,
        }
    }

    /// Time since the start of the test.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Calls `number` with [`OFFER`]; returns the INVITE the UA put on the wire.
    pub(crate) fn invite(&mut self, handle: u64, number: &str) -> Request {
        self.ua.invite(self.now, handle, number, OFFER).unwrap();
        let sent = self.sent();
        assert_eq!(sent.len(), 1, "one INVITE on the wire: {sent:?}");
        request(&sent[0])
    }

    /// Drains every transmit; each must go to Asterisk over the configured transport.
    pub(crate) fn sent(&mut self) -> Vec<SipMessage> {
        std::iter::from_fn(|| self.ua.poll_transmit())
            .map(|t| {
                assert_eq!(t.dest, addr(ASTERISK));
                assert_eq!(t.transport, self.transport);
                message::parse(&t.data).unwrap_or_else(|e| {
                    panic!("the UA sent an unparseable message ({e}):\n{:?}", t.data)
                })
            })
            .collect()
    }

    /// Drains every event, all of which must be session events for `handle`.
    pub(crate) fn events(&mut self, handle: u64) -> Vec<SessionEvent> {
        std::iter::from_fn(|| self.ua.poll_event())
            .map(|e| match e {
                UaEvent::Session { handle: h, event } if h == handle => event,
                other => panic!("expected an event of session {handle}, got {other:?}"),
            })
            .collect()
    }

    /// Drains every transmit as text, as it would go on the wire (each to Asterisk).
    pub(crate) fn sent_text(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.ua.poll_transmit())
            .map(|t| {
                assert_eq!(t.dest, addr(ASTERISK));
                String::from_utf8(t.data.to_vec()).unwrap()
            })
            .collect()
    }

    /// Drains every event, whatever it is.
    pub(crate) fn all_events(&mut self) -> Vec<UaEvent> {
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }

    /// Drains the events, which must be exactly one inbound call offer.
    pub(crate) fn incoming(&mut self) -> IncomingCall {
        match &self.all_events()[..] {
            [UaEvent::Incoming(call)] => call.clone(),
            other => panic!("expected one Incoming event, got {other:?}"),
        }
    }

    /// Drains the events, all of which must be registration states of `user`.
    pub(crate) fn registration_states(&mut self, user: &str) -> Vec<RegistrationState> {
        self.all_events()
            .into_iter()
            .map(|e| match e {
                UaEvent::Registration { user: u, state } if u == user => state,
                other => panic!("expected a registration state of {user}, got {other:?}"),
            })
            .collect()
    }

    /// Asterisk sends `bytes` to the UA.
    pub(crate) fn receive(&mut self, bytes: &[u8]) {
        self.ua
            .handle_message(self.now, addr(ASTERISK), self.transport, bytes);
    }

    /// Advances virtual time to `t0 + at`, firing every deadline on the way in order, and
    /// returns what the UA produced with the time it was produced.
    pub(crate) fn advance_to(&mut self, at: Duration) -> Vec<(Duration, Output)> {
        let end = self.t0 + at;
        let mut out = Vec::new();
        while let Some(deadline) = self.ua.poll_timeout() {
            if deadline > end {
                break;
            }
            assert!(deadline >= self.now, "a deadline in the past");
            self.now = deadline;
            self.ua.handle_timeout(deadline);
            let at = self.elapsed();
            out.extend(self.sent().into_iter().map(|m| (at, Output::Sent(m))));
            out.extend(std::iter::from_fn(|| self.ua.poll_event()).map(|e| (at, Output::Event(e))));
        }
        self.now = end.max(self.now);
        out
    }

    /// Advances by `d`; see [`Self::advance_to`].
    pub(crate) fn advance(&mut self, d: Duration) -> Vec<(Duration, Output)> {
        let at = self.elapsed() + d;
        self.advance_to(at)
    }

    /// Lets every transaction timer (D, K, L, M, ...) run out, checking that nothing more is
    /// sent or reported, and that no session, transaction or deadline is left.
    pub(crate) fn assert_drains_to_nothing(&mut self) {
        let late = self.advance(Duration::from_secs(64));
        assert_eq!(late, vec![], "nothing may happen while timers run out");
        assert_eq!(self.ua.session_count(), 0, "session leaked");
        assert_eq!(self.ua.transaction_count(), 0, "transaction leaked");
        assert_eq!(self.ua.poll_timeout(), None, "a deadline is left");
    }
}

pub(crate) fn request(msg: &SipMessage) -> Request {
    match msg {
        SipMessage::Request(r) => r.clone(),
        SipMessage::Response(r) => panic!("expected a request, got {r}"),
    }
}

pub(crate) fn response(msg: &SipMessage) -> Response {
    match msg {
        SipMessage::Response(r) => r.clone(),
        SipMessage::Request(r) => panic!("expected a response, got {r}"),
    }
}

/// Asterisk's reply to `ours` as captured in `file`: the capture with its Via branch, Call-ID,
/// gateway From-tag and CSeq number replaced by those of `ours`.
pub(crate) fn reply(file: &str, ours: &Request) -> Vec<u8> {
    reply_from(&capture(file), ours)
}

/// [`reply`] for a capture already read (and possibly edited by the test).
pub(crate) fn reply_from(text: &str, ours: &Request) -> Vec<u8> {
    let captured = message::parse(text.as_bytes()).unwrap();
    assert!(
        matches!(captured, SipMessage::Response(_)),
        "not a response: {text}"
    );
    let (seq, method) = message::cseq(&captured).unwrap();
    let (our_seq, _) = message::cseq(ours).unwrap();
    let text = text
        .replace(
            &message::top_via_branch(&captured).unwrap(),
            &message::top_via_branch(ours).unwrap(),
        )
        .replace(
            &format!("CSeq: {seq} {method}"),
            &format!("CSeq: {our_seq} {method}"),
        );
    rekey(
        &text,
        message::call_id(&captured).unwrap(),
        &message::from_tag(&captured).unwrap().unwrap(),
        ours,
    )
}

/// A request Asterisk sent in the captured dialog (`file`), moved into the dialog `invite`
/// opened: Call-ID and the gateway's tag (the To-tag of Asterisk's request) replaced.
pub(crate) fn in_dialog_request(file: &str, invite: &Request) -> Vec<u8> {
    let text = capture(file);
    let captured = message::parse(text.as_bytes()).unwrap();
    assert!(
        matches!(captured, SipMessage::Request(_)),
        "{file} is not a request"
    );
    rekey(
        &text,
        message::call_id(&captured).unwrap(),
        &message::to_tag(&captured).unwrap().unwrap(),
        invite,
    )
}

fn rekey(text: &str, call_id: &str, gw_tag: &str, ours: &Request) -> Vec<u8> {
    text.replace(call_id, message::call_id(ours).unwrap())
        .replace(gw_tag, &message::from_tag(ours).unwrap().unwrap())
        .into_bytes()
}

/// The value of the first header named `name` (case-insensitive), for headers rsip keeps
/// untyped or that a test wants as text.
pub(crate) fn header(msg: &impl rsip::message::HasHeaders, name: &str) -> Option<String> {
    msg.headers().iter().find_map(|h| {
        let text = h.to_string();
        let (n, v) = text.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// Every Via header value of `msg`.
pub(crate) fn vias(msg: &impl rsip::message::HasHeaders) -> Vec<String> {
    msg.headers()
        .iter()
        .filter_map(|h| match h {
            Header::Via(v) => Some(v.value().to_owned()),
            _ => None,
        })
        .collect()
}

/// The Request-URI, the method and the CSeq of a request, for compact assertions.
pub(crate) fn line(req: &Request) -> (String, String, (u32, rsip::Method)) {
    (
        req.uri.to_string(),
        req.method.to_string(),
        message::cseq(req).unwrap(),
    )
}

/// A request Asterisk sent in an inbound dialog (`file`), moved into our dialog: the To-tag
/// the captured peer chose replaced by `our_tag`.
pub(crate) fn inbound_request(file: &str, our_tag: &str) -> Vec<u8> {
    let text = capture(file);
    let captured = message::parse(text.as_bytes()).unwrap();
    assert!(
        matches!(captured, SipMessage::Request(_)),
        "{file} is not a request"
    );
    match message::to_tag(&captured).unwrap() {
        Some(tag) => text.replace(&tag, our_tag).into_bytes(),
        None => text.into_bytes(),
    }
}

/// The SDP body of a captured message.
pub(crate) fn capture_body(file: &str) -> String {
    let msg = message::parse(capture(file).as_bytes()).unwrap();
    String::from_utf8(message::body(&msg).to_vec()).unwrap()
}

/// The messages among `out` (what [`Harness::advance`] returned), with their times.
pub(crate) fn sent_at(out: &[(Duration, Output)]) -> Vec<(Duration, SipMessage)> {
    out.iter()
        .filter_map(|(at, o)| match o {
            Output::Sent(m) => Some((*at, m.clone())),
            Output::Event(_) => None,
        })
        .collect()
}

/// The events among `out`, with their times.
pub(crate) fn events_at(out: &[(Duration, Output)]) -> Vec<(Duration, UaEvent)> {
    out.iter()
        .filter_map(|(at, o)| match o {
            Output::Event(e) => Some((*at, e.clone())),
            Output::Sent(_) => None,
        })
        .collect()
}

/// Where alice registers from in the captures (`register-alice*`).
pub(crate) const ALICE: &str = "127.0.0.1:5071";

/// A UA listening where alice did, so Asterisk's REGISTER responses match byte for byte.
pub(crate) fn alice_harness() -> Harness {
    Harness::new(config_for("gwtest", ALICE, Transport::Udp))
}

/// alice's registration parameters with [`PASSWORD`].
pub(crate) fn alice_params(expires_secs: u64) -> RegisterParams {
    RegisterParams {
        username: "alice".into(),
        password: PASSWORD.into(),
        expires: Duration::from_secs(expires_secs),
    }
}

/// The one REGISTER among `sent`.
pub(crate) fn one_register(sent: &[SipMessage]) -> Request {
    assert_eq!(sent.len(), 1, "{sent:?}");
    let req = request(&sent[0]);
    assert_eq!(req.method, rsip::Method::Register);
    req
}

/// The CSeq number of a request.
pub(crate) fn message_cseq(req: &Request) -> u32 {
    message::cseq(req).unwrap().0
}

/// `text` (one SIP message) with its body replaced by `body` and Content-Length to match.
pub(crate) fn with_body(text: &str, body: &str) -> String {
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    let head: String = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("content-length"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    format!("{head}Content-Length: {}\r\n\r\n{body}", body.len())
}

/// Asterisk's answer of `outbound-609-reinvite-from-asterisk-03` (its session version 2353687639).
pub(crate) const ASTERISK_609_SDP: &str = "v=0\r\no=- 53655765 2353687639 IN IP4 127.0.0.1\r\n\
s=Asterisk\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20076 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=maxptime:140\r\na=sendrecv\r\n";

/// An outbound call to 609 answered as in `outbound-609-reinvite-from-asterisk` (INVITE, 100,
/// 200, our ACK), with the sent messages and events drained; returns our INVITE.
pub(crate) fn answered_609(h: &mut Harness, handle: u64) -> Request {
    let invite = h.invite(handle, "609");
    h.receive(&reply(
        "outbound-609-reinvite-from-asterisk-02-ast2gw-100-trying-invite.sip",
        &invite,
    ));
    h.receive(&reply(
        "outbound-609-reinvite-from-asterisk-03-ast2gw-200-ok-invite-sdp.sip",
        &invite,
    ));
    assert!(matches!(
        h.events(handle)[..],
        [SessionEvent::Answered { .. }]
    ));
    assert_eq!(h.sent().len(), 1, "the ACK");
    invite
}

/// Asterisk's re-INVITE of `outbound-609-reinvite-from-asterisk-05`, moved into the dialog
/// `invite` opened as its `n`-th (CSeq 14953 + n, a branch of its own), offering `sdp`.
pub(crate) fn asterisk_reinvite(invite: &Request, n: u32, sdp: &str) -> Vec<u8> {
    let text = String::from_utf8(in_dialog_request(
        "outbound-609-reinvite-from-asterisk-05-ast2gw-reinvite-sdp.sip",
        invite,
    ))
    .unwrap();
    let text = text
        .replace("CSeq: 14953 INVITE", &format!("CSeq: {} INVITE", 14953 + n))
        .replace(
            "z9hG4bKPj1e978a37-6677-4c1e-93ca-22f006120d0c",
            &format!("z9hG4bKPjreinvite{n}"),
        );
    with_body(&text, sdp).into_bytes()
}

/// Asterisk's ACK of `outbound-609-reinvite-from-asterisk-07` for [`asterisk_reinvite`] `n`.
pub(crate) fn asterisk_reinvite_ack(invite: &Request, n: u32) -> Vec<u8> {
    let text = String::from_utf8(in_dialog_request(
        "outbound-609-reinvite-from-asterisk-07-ast2gw-ack.sip",
        invite,
    ))
    .unwrap();
    text.replace("CSeq: 14953 ACK", &format!("CSeq: {} ACK", 14953 + n))
        .replace(
            "z9hG4bKPje8c911a6-e2da-48b6-848d-f9d527026604",
            &format!("z9hG4bKPjack{n}"),
        )
        .into_bytes()
}

/// Asterisk's BYE of `outbound-609-reinvite-from-asterisk-08` in the dialog `invite` opened.
pub(crate) fn asterisk_609_bye(invite: &Request, cseq: u32) -> Vec<u8> {
    let text = String::from_utf8(in_dialog_request(
        "outbound-609-reinvite-from-asterisk-08-ast2gw-bye.sip",
        invite,
    ))
    .unwrap();
    text.replace("CSeq: 14954 BYE", &format!("CSeq: {cseq} BYE"))
        .into_bytes()
}

/// Asterisk's BYE of the ladder turned into an in-dialog INFO with `content_type` and `body`
/// (RFC 6086 §4): DTMF relay, RFC 5168 media control.
pub(crate) fn asterisk_info(
    invite: &Request,
    cseq: u32,
    content_type: &str,
    body: &str,
) -> Vec<u8> {
    let bye = String::from_utf8(asterisk_609_bye(invite, cseq)).unwrap();
    let info = bye
        .replace("BYE sip:", "INFO sip:")
        .replace(&format!("CSeq: {cseq} BYE"), &format!("CSeq: {cseq} INFO"))
        .replace("z9hG4bKPj25b854b8", &format!("z9hG4bKPjinfo{cseq}"))
        .replace(
            "Reason: Q.850;cause=16\r\n",
            &format!("Content-Type: {content_type}\r\n"),
        );
    with_body(&info, body).into_bytes()
}

/// Asterisk's ACK for our non-2xx final response to [`asterisk_reinvite`] `n` (same branch,
/// §17.1.1.3).
pub(crate) fn asterisk_reinvite_tx_ack(invite: &Request, n: u32) -> Vec<u8> {
    String::from_utf8(asterisk_reinvite(invite, n, ""))
        .unwrap()
        .replace("INVITE sip:", "ACK sip:")
        .replace(
            &format!("CSeq: {} INVITE", 14953 + n),
            &format!("CSeq: {} ACK", 14953 + n),
        )
        .into_bytes()
}
