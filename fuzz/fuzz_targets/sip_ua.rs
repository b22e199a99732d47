//! The SIP user agent core (RFC 3261 transactions and dialogs, RFC 3262-free INVITE handling,
//! REGISTER, OPTIONS, re-INVITE, UPDATE, INFO, session timers) fed arbitrary datagrams between
//! application commands and time steps, with a seeded RNG. It must never panic, never loop on a
//! timer, and everything it puts on the wire must parse as SIP, except a stateless error
//! response to a datagram that did not parse itself: RFC 3261 §8.2.6.2 copies Via, From, To,
//! Call-ID and CSeq into it as received (e.g. the `SIP/7.0` Via of RFC 4475 §3.3.14 in the 505).
//!
//! Input: one setup byte, then operations. A datagram operation carries a two-byte length and the
//! bytes; `$branch$`, `$callid$`, `$tag$` and `$cseq$` in them become the values of the last request
//! the UA sent, and `$totag$` the To-tag of its last response, so replayed Asterisk captures land in
//! the UA's real transactions and dialogs.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gateway_sip::message;
use gateway_sip::transaction::TimerConfig;
use gateway_sip::ua::{RegisterParams, Transport, UaConfig, UaEvent, UserAgent};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsip::SipMessage;
use webrtc_gateway_fuzz::Ops;

const OFFER: &str = "v=0\r\no=gwtest 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n";

/// Identifiers of the UA's last request and response, for the placeholders.
#[derive(Default)]
struct Last {
    branch: String,
    call_id: String,
    tag: String,
    cseq: String,
    to_tag: String,
}

struct Run {
    ua: UserAgent<ChaCha20Rng>,
    now: Instant,
    transport: Transport,
    last: Last,
    incoming: Vec<u64>,
    /// Whether the datagram being answered parses (true between datagrams).
    input_parses: bool,
}

impl Run {
    /// Drains what the UA produced: every transmit must parse.
    fn drain(&mut self) {
        while let Some(t) = self.ua.poll_transmit() {
            let msg = match message::parse(&t.data) {
                Ok(m) => m,
                Err(e) => {
                    let text = String::from_utf8_lossy(&t.data);
                    let is_error = text.starts_with("SIP/2.0 4") || text.starts_with("SIP/2.0 5");
                    assert!(
                        is_error && !self.input_parses,
                        "the UA sent an unparseable message ({e}):\n{text}"
                    );
                    continue;
                }
            };
            match &msg {
                SipMessage::Request(_) => {
                    self.last.branch = message::top_via_branch(&msg).unwrap_or_default();
                    self.last.call_id = message::call_id(&msg).unwrap_or_default().to_owned();
                    self.last.tag = message::from_tag(&msg).ok().flatten().unwrap_or_default();
                    self.last.cseq = message::cseq(&msg)
                        .map(|c| c.0.to_string())
                        .unwrap_or_default();
                }
                SipMessage::Response(_) => {
                    if let Ok(Some(tag)) = message::to_tag(&msg) {
                        self.last.to_tag = tag;
                    }
                }
            }
        }
        while let Some(e) = self.ua.poll_event() {
            if let UaEvent::Incoming(call) = e {
                self.incoming.push(call.handle);
            }
        }
    }

    /// Advances virtual time by `d`, firing every deadline on the way in order.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        let mut fired = 0u32;
        while let Some(deadline) = self.ua.poll_timeout() {
            if deadline > end {
                break;
            }
            self.now = self.now.max(deadline);
            self.ua.handle_timeout(self.now);
            self.drain();
            fired += 1;
            assert!(
                fired < 100_000,
                "timer livelock: a deadline keeps firing without moving"
            );
        }
        self.now = end;
    }

    fn substitute(&self, data: &[u8]) -> Vec<u8> {
        let Ok(text) = std::str::from_utf8(data) else {
            return data.to_vec();
        };
        if !text.contains('$') {
            return data.to_vec();
        }
        text.replace("$branch$", &self.last.branch)
            .replace("$callid$", &self.last.call_id)
            .replace("$totag$", &self.last.to_tag)
            .replace("$tag$", &self.last.tag)
            .replace("$cseq$", &self.last.cseq)
            .into_bytes()
    }
}

#[allow(clippy::disallowed_methods)] // the origin of virtual time; never read again
fn t0() -> Instant {
    Instant::now()
}

fn addr(s: &str) -> SocketAddr {
    s.parse()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 5060)))
}

fuzz_target!(|data: &[u8]| {
    let mut ops = Ops::new(data);
    let setup = ops.byte().unwrap_or(0);
    let transport = if setup & 1 != 0 {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let proxy = addr("127.0.0.1:5060");
    let cfg = UaConfig {
        local: addr("127.0.0.1:5080"),
        transport,
        proxy,
        domain: "127.0.0.1".into(),
        username: "gwtest".into(),
        password: "s3cret-for-tests".into(),
        display_name: Some("Gateway Test".into()),
        user_agent: "webrtc-gateway-fuzz".into(),
        timers: TimerConfig::default(),
    };
    let mut run = Run {
        ua: UserAgent::new(cfg, ChaCha20Rng::seed_from_u64(7)),
        now: t0(),
        transport,
        last: Last::default(),
        incoming: Vec::new(),
        input_parses: true,
    };
    if setup & 2 != 0 {
        let _ = run.ua.invite(run.now, 1, "600", OFFER);
    }
    if setup & 4 != 0 {
        let params = RegisterParams {
            username: "alice".into(),
            password: "s3cret-for-tests".into(),
            expires: Duration::from_secs(120),
        };
        run.ua.register(run.now, "alice", params);
    }
    if setup & 8 != 0 {
        run.ua.options_ping(run.now);
    }
    run.drain();
    while let Some(op) = ops.byte() {
        match op % 8 {
            0..=3 => {
                let bytes = run.substitute(ops.chunk16());
                let from = if op & 0x40 != 0 {
                    addr("192.0.2.9:5060")
                } else {
                    proxy
                };
                let transport = if op & 0x80 != 0 {
                    Transport::Tcp
                } else {
                    run.transport
                };
                run.input_parses = message::parse(&bytes).is_ok();
                run.ua.handle_message(run.now, from, transport, &bytes);
                run.drain();
                run.input_parses = true;
            }
            4 => {
                let step = ops.byte().unwrap_or(1);
                run.advance(Duration::from_millis(u64::from(step) * 250));
            }
            5 => {
                let Some(&handle) = run.incoming.last() else {
                    continue;
                };
                match op >> 4 {
                    0..=3 => run.ua.ring(run.now, handle),
                    4..=9 => {
                        let _ = run.ua.answer(run.now, handle, OFFER);
                    }
                    _ => run
                        .ua
                        .reject(run.now, handle, 400 + u16::from(ops.byte().unwrap_or(86))),
                }
            }
            6 => {
                let handle = match (op >> 4 & 1, run.incoming.last()) {
                    (1, Some(&h)) => h,
                    _ => 1,
                };
                run.ua.hangup(run.now, handle);
            }
            _ => {
                let handle = match (op >> 4 & 1, run.incoming.last()) {
                    (1, Some(&h)) => h,
                    _ => 1,
                };
                match op >> 5 {
                    0 | 1 => {
                        let _ = run.ua.reinvite(run.now, handle, OFFER);
                    }
                    2 | 3 => {
                        let digit = char::from(ops.byte().unwrap_or(b'5'));
                        let _ = run.ua.send_info_dtmf(run.now, handle, digit, 160);
                    }
                    4 => run.ua.unregister(run.now, "alice"),
                    5 => run.ua.options_ping(run.now),
                    _ => {
                        let n = ops.chunk8();
                        let number = String::from_utf8_lossy(n);
                        let _ = run.ua.invite(run.now, 2 + u64::from(op), &number, OFFER);
                    }
                }
            }
        }
        run.drain();
    }
    // Time runs out: every transaction and timer must end by itself.
    run.advance(Duration::from_secs(600));
});
