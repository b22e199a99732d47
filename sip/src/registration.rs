//! The REGISTER client of one user (RFC 3261 §10.2), sans-I/O: it says which REGISTER to send
//! and when, digests challenges (§22.2), refreshes before the granted expiry runs out (§10.2.4),
//! retries failures with the RFC 5626 §4.5 backoff, and unregisters (§10.2.2).
//!
//! The user agent owns the transactions: it turns each [`RegisterRequest`] into a message, runs
//! it in a client non-INVITE transaction and feeds back the final response
//! ([`Registration::on_response`]) or the transaction's failure
//! ([`Registration::on_transaction_failure`]). Between requests the registration sleeps until
//! [`Registration::poll_timeout`].

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use rand::{Rng, RngCore};
use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Response};

use crate::auth::{self, Challenge, Credentials};
use crate::dialog::header_uri;
use crate::message;

mod headers;

pub(crate) use headers::reason_phrase;
use headers::{challenge_of, expires_param, header_value, reason_of, split_list, uri_key};

/// RFC 5626 §4.5 base-time when no flow works.
pub const BACKOFF_BASE: Duration = Duration::from_secs(30);
/// RFC 5626 §4.5 max-time.
pub const BACKOFF_MAX: Duration = Duration::from_secs(1800);
/// Challenges answered in a row before the credentials are declared wrong: the bare request's
/// challenge, and one more for a nonce that went stale (or changed) in between.
const MAX_CHALLENGES: u32 = 3;

/// What a user registers with.
#[derive(Clone, PartialEq, Eq)]
pub struct RegisterParams {
    /// The SIP username: the user part of the AOR and Contact, and the digest username.
    pub username: String,
    /// The digest password (never logged).
    pub password: String,
    /// The expiry to ask for.
    pub expires: Duration,
}

impl fmt::Debug for RegisterParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisterParams")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

/// The registration state of a user, as reported to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    /// The registrar accepted our binding for this long.
    Registered {
        /// The granted expiry (Contact `;expires=`, else `Expires`, else what we asked).
        expires: Duration,
    },
    /// The last attempt failed; the next one starts after `retry_in`.
    Failed {
        /// The final response code, `None` for a timeout or transport failure.
        code: Option<u16>,
        /// The reason phrase, or what went wrong.
        reason: String,
        /// When the next attempt starts, from now.
        retry_in: Duration,
    },
    /// No binding any more; the registration is forgotten.
    Unregistered,
}

/// A REGISTER for the user agent to complete (Via, Max-Forwards, User-Agent) and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    /// Request-URI: `sip:<domain>`.
    pub uri: String,
    /// From header value (the AOR with our tag).
    pub from: String,
    /// To header value (the AOR).
    pub to: String,
    /// Call-ID, the same for the registration's life (§10.2).
    pub call_id: String,
    /// CSeq number, one more for every request (§10.2).
    pub cseq: u32,
    /// Contact header value.
    pub contact: String,
    /// Expires header value in seconds (0 to unregister).
    pub expires: u32,
    /// `Authorization` or `Proxy-Authorization`, with its value.
    pub authorization: Option<(&'static str, String)>,
}

/// An output of the registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationOutput {
    /// Send this REGISTER in a new client transaction.
    Send(RegisterRequest),
    /// Tell the application.
    State(RegistrationState),
}

/// Where the binding lives: the registrar's domain and our address for the Contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The registrar's domain (Request-URI and AOR host).
    pub domain: String,
    /// Our `ip:port`, the Contact's host part.
    pub local: String,
    /// Whether the Contact gets `;transport=tcp`.
    pub tcp: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The REGISTER with `self.cseq` is in flight; `unregister` when it asks Expires 0.
    Pending { unregister: bool },
    /// Bound; refresh at that time.
    Registered { refresh_at: Instant },
    /// Failed; try again at that time.
    Backoff { retry_at: Instant },
    /// Unregistered: nothing more to do.
    Done,
}

/// The last challenge, answered again (with the next nonce count) on every request.
#[derive(Debug, Clone)]
struct Cached {
    challenge: Challenge,
    proxy: bool,
    nc: u32,
}

/// The REGISTER client of one user.
#[derive(Debug)]
pub struct Registration {
    params: RegisterParams,
    binding: Binding,
    call_id: String,
    from_tag: String,
    cseq: u32,
    phase: Phase,
    challenge: Option<Cached>,
    /// The nonce the in-flight request answered, if it carried credentials.
    sent_nonce: Option<String>,
    /// Challenges received in a row.
    challenges: u32,
    /// Consecutive failures, for the backoff.
    failures: u32,
    /// What to send once the in-flight REGISTER completes (`Some(true)`: unregister): §10.2
    /// forbids a new REGISTER before the previous one's final response or timeout.
    next: Option<bool>,
    /// The last `Registered` reported, so refreshes granting the same expiry stay quiet.
    reported: Option<Duration>,
    out: VecDeque<RegistrationOutput>,
}

impl Registration {
    /// Starts registering: the first REGISTER is queued at once.
    pub fn new(rng: &mut impl RngCore, binding: Binding, params: RegisterParams) -> Self {
        let host = binding.local.rsplit_once(':').map_or("", |(h, _)| h);
        let call_id = message::new_call_id(rng, host);
        let from_tag = message::new_tag(rng);
        let mut reg = Self {
            params,
            binding,
            call_id,
            from_tag,
            cseq: 0,
            phase: Phase::Done,
            challenge: None,
            sent_nonce: None,
            challenges: 0,
            failures: 0,
            next: None,
            reported: None,
            out: VecDeque::new(),
        };
        reg.send(rng, false);
        reg
    }

    /// New parameters: re-registers when they changed (or when unregistering) — at once, or
    /// after the REGISTER in flight; otherwise nothing happens.
    pub fn update(&mut self, rng: &mut impl RngCore, params: RegisterParams) {
        let changed = params != self.params;
        if changed {
            if params.username != self.params.username || params.password != self.params.password {
                self.challenge = None;
            }
            self.params = params;
            self.failures = 0;
            self.reported = None;
        }
        match self.phase {
            // A queued unregister is called off too.
            Phase::Pending { unregister: false } => self.next = changed.then_some(false),
            Phase::Pending { unregister: true } => self.next = Some(false),
            Phase::Done => self.send(rng, false),
            Phase::Registered { .. } | Phase::Backoff { .. } if changed => self.send(rng, false),
            Phase::Registered { .. } | Phase::Backoff { .. } => {}
        }
    }

    /// Removes the binding (Expires 0) — at once, or after the REGISTER in flight; without a
    /// binding, reports `Unregistered` at once.
    pub fn unregister(&mut self, rng: &mut impl RngCore) {
        match self.phase {
            Phase::Pending { unregister: false } => self.next = Some(true),
            Phase::Pending { unregister: true } => self.next = None,
            Phase::Registered { .. } => self.send(rng, true),
            Phase::Backoff { .. } | Phase::Done => self.finish(),
        }
    }

    /// The in-flight REGISTER completed while another was queued: send that one, keeping a
    /// fresh challenge for it.
    fn send_next(&mut self, rng: &mut impl RngCore, resp: Option<&Response>, unregister: bool) {
        if let Some(resp) = resp
            && let Some((challenge, proxy)) = challenge_of(resp)
        {
            self.challenge = Some(Cached {
                challenge,
                proxy,
                nc: 0,
            });
        }
        self.challenges = 0;
        self.send(rng, unregister);
    }

    /// The final response to the REGISTER with CSeq `cseq` (older requests' are ignored).
    pub fn on_response(&mut self, now: Instant, rng: &mut impl RngCore, resp: &Response) {
        let Phase::Pending { unregister } = self.phase else {
            return;
        };
        if message::cseq(resp).ok() != Some((self.cseq, Method::Register)) {
            return;
        }
        let code = resp.status_code.code();
        if code >= 200
            && let Some(next) = self.next.take()
        {
            return self.send_next(rng, Some(resp), next);
        }
        match code {
            100..=199 => {}
            200..=299 if unregister => self.finish(),
            200..=299 => {
                let granted = self.granted(resp);
                self.failures = 0;
                self.challenges = 0;
                // Refresh at 80 % of the granted time, and never in a busy loop.
                let refresh = (granted * 4 / 5).max(Duration::from_secs(1));
                self.phase = Phase::Registered {
                    refresh_at: now + refresh,
                };
                tracing::debug!(username = %self.params.username, ?granted, "registered");
                if self.reported != Some(granted) {
                    self.reported = Some(granted);
                    self.out
                        .push_back(RegistrationOutput::State(RegistrationState::Registered {
                            expires: granted,
                        }));
                }
            }
            401 | 407 => self.on_challenge(now, rng, resp, unregister),
            423 => {
                let min = header_value(resp, |h| match h {
                    Header::MinExpires(v) => Some(v.value().to_owned()),
                    _ => None,
                })
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
                match min {
                    // §10.2.8: ask again with at least Min-Expires.
                    Some(min) if !unregister && min > self.params.expires => {
                        self.params.expires = min;
                        self.send(rng, false);
                    }
                    _ => self.fail(now, rng, Some(code), reason_of(resp)),
                }
            }
            _ => self.fail(now, rng, Some(code), reason_of(resp)),
        }
    }

    /// The REGISTER with CSeq `cseq` got no final response (Timer F) or its transport failed.
    pub fn on_transaction_failure(
        &mut self,
        now: Instant,
        rng: &mut impl RngCore,
        cseq: u32,
        reason: &str,
    ) {
        if cseq != self.cseq || !matches!(self.phase, Phase::Pending { .. }) {
            return;
        }
        match self.next.take() {
            Some(next) => self.send_next(rng, None, next),
            None => self.fail(now, rng, None, reason.to_owned()),
        }
    }

    /// Refreshes or retries when their time has come.
    pub fn handle_timeout(&mut self, now: Instant, rng: &mut impl RngCore) {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.send(rng, false);
        }
    }

    /// When [`Self::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Registered { refresh_at } => Some(refresh_at),
            Phase::Backoff { retry_at } => Some(retry_at),
            Phase::Pending { .. } | Phase::Done => None,
        }
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<RegistrationOutput> {
        self.out.pop_front()
    }

    /// Unregistered and every output drained: the registration can be dropped.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done && self.out.is_empty()
    }

    /// The Call-ID kept for the registration's life.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    fn on_challenge(
        &mut self,
        now: Instant,
        rng: &mut impl RngCore,
        resp: &Response,
        unregister: bool,
    ) {
        let code = resp.status_code.code();
        let Some((challenge, proxy)) = challenge_of(resp) else {
            tracing::warn!(username = %self.params.username, code, "REGISTER challenge without a usable Digest");
            return self.fail(now, rng, Some(code), "unusable challenge".into());
        };
        self.challenges += 1;
        // Asterisk answers wrong credentials with a 401 carrying the same nonce (never 403).
        let same_nonce = self.sent_nonce.as_deref() == Some(challenge.nonce.as_str());
        if (same_nonce && !challenge.stale) || self.challenges > MAX_CHALLENGES {
            tracing::warn!(username = %self.params.username, "REGISTER credentials refused");
            return self.fail(now, rng, Some(code), "authentication failed".into());
        }
        self.challenge = Some(Cached {
            challenge,
            proxy,
            nc: 0,
        });
        self.send(rng, unregister);
    }

    /// The granted expiry: our Contact's `;expires=`, else `Expires`, else what we asked
    /// (§10.2.4).
    fn granted(&self, resp: &Response) -> Duration {
        let ours = uri_key(&self.contact_uri());
        let from_contact = resp
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Contact(c) => Some(c.value().to_owned()),
                _ => None,
            })
            .flat_map(|v| split_list(&v))
            .find(|c| header_uri(c).is_some_and(|u| uri_key(&u) == ours))
            .and_then(|c| expires_param(&c));
        let from_header = || {
            header_value(resp, |h| match h {
                Header::Expires(v) => Some(v.value().to_owned()),
                _ => None,
            })
            .and_then(|v| v.trim().parse::<u64>().ok())
        };
        // §20.19: delta-seconds stop at 2^32-1; a larger value must not overflow the clock.
        from_contact
            .or_else(from_header)
            .map_or(self.params.expires, Duration::from_secs)
            .min(Duration::from_secs(u64::from(u32::MAX)))
    }

    fn fail(&mut self, now: Instant, rng: &mut impl RngCore, code: Option<u16>, reason: String) {
        if self.phase == (Phase::Pending { unregister: true }) {
            tracing::debug!(username = %self.params.username, ?code, %reason, "unREGISTER failed; forgetting the binding");
            return self.finish();
        }
        self.challenge = None;
        self.challenges = 0;
        self.reported = None;
        self.failures = self.failures.saturating_add(1);
        let retry_in = backoff(self.failures, rng);
        self.phase = Phase::Backoff {
            retry_at: now + retry_in,
        };
        tracing::debug!(username = %self.params.username, ?code, %reason, ?retry_in, "REGISTER failed");
        self.out
            .push_back(RegistrationOutput::State(RegistrationState::Failed {
                code,
                reason,
                retry_in,
            }));
    }

    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.out
            .push_back(RegistrationOutput::State(RegistrationState::Unregistered));
    }

    fn contact_uri(&self) -> String {
        let transport = if self.binding.tcp {
            ";transport=tcp"
        } else {
            ""
        };
        format!(
            "sip:{}@{}{transport}",
            self.params.username, self.binding.local
        )
    }

    fn send(&mut self, rng: &mut impl RngCore, unregister: bool) {
        self.cseq = self.cseq.wrapping_add(1);
        self.phase = Phase::Pending { unregister };
        let uri = format!("sip:{}", self.binding.domain);
        let aor = format!("<sip:{}@{}>", self.params.username, self.binding.domain);
        let creds = Credentials {
            username: self.params.username.clone(),
            password: self.params.password.clone(),
        };
        self.sent_nonce = None;
        let authorization = match &mut self.challenge {
            Some(cached) => {
                cached.nc = cached.nc.wrapping_add(1);
                let mut cnonce = [0u8; 8];
                rng.fill_bytes(&mut cnonce);
                let value = auth::authorize(
                    &cached.challenge,
                    &creds,
                    "REGISTER",
                    &uri,
                    &hex::encode(cnonce),
                    cached.nc,
                );
                self.sent_nonce = Some(cached.challenge.nonce.clone());
                let name = if cached.proxy {
                    "Proxy-Authorization"
                } else {
                    "Authorization"
                };
                Some((name, value))
            }
            None => None,
        };
        let (expires, contact) = if unregister {
            (0, format!("<{}>;expires=0", self.contact_uri()))
        } else {
            let secs = u32::try_from(self.params.expires.as_secs()).unwrap_or(u32::MAX);
            (secs, format!("<{}>", self.contact_uri()))
        };
        self.out
            .push_back(RegistrationOutput::Send(RegisterRequest {
                uri,
                from: format!("{aor};tag={}", self.from_tag),
                to: aor,
                call_id: self.call_id.clone(),
                cseq: self.cseq,
                contact,
                expires,
                authorization,
            }));
    }
}

/// RFC 5626 §4.5: wait-time = min(max-time, base-time * 2^consecutive-failures), then a random
/// value between 50 % and 100 % of it.
pub fn backoff(failures: u32, rng: &mut impl RngCore) -> Duration {
    let factor = 1u64 << failures.min(16);
    let ceiling = BACKOFF_BASE
        .saturating_mul(u32::try_from(factor).unwrap_or(u32::MAX))
        .min(BACKOFF_MAX);
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rng.gen_range(ms / 2..=ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use rsip::SipMessage;

    const CHALLENGE: &str = "Digest realm=\"asterisk\",nonce=\"1795220308/12c36b628aee11b009706bbe39b9bd8b\",opaque=\"395e833954f8d7b8\",algorithm=MD5,qop=\"auth\"";

    fn params(expires: u64) -> RegisterParams {
        RegisterParams {
            username: "alice".into(),
            password: "pw".into(),
            expires: Duration::from_secs(expires),
        }
    }

    fn binding() -> Binding {
        Binding {
            domain: "example.test".into(),
            local: "127.0.0.1:5080".into(),
            tcp: false,
        }
    }

    #[allow(clippy::disallowed_methods)] // the origin of virtual time in a test
    fn t0() -> Instant {
        Instant::now()
    }

    fn setup() -> (Registration, ChaCha20Rng, RegisterRequest) {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut reg = Registration::new(&mut rng, binding(), params(120));
        let req = sent(&mut reg);
        (reg, rng, req)
    }

    fn sent(reg: &mut Registration) -> RegisterRequest {
        match reg.poll_output() {
            Some(RegistrationOutput::Send(r)) => r,
            other => panic!("expected a REGISTER, got {other:?}"),
        }
    }

    fn state(reg: &mut Registration) -> RegistrationState {
        match reg.poll_output() {
            Some(RegistrationOutput::State(s)) => s,
            other => panic!("expected a state, got {other:?}"),
        }
    }

    /// A response to `req` with the given status line and extra header lines.
    fn resp(req: &RegisterRequest, status: &str, extra: &str) -> Response {
        let text = format!(
            "SIP/2.0 {status}\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKx\r\nFrom: {}\r\n\
             To: {};tag=t\r\nCall-ID: {}\r\nCSeq: {} REGISTER\r\n{extra}Content-Length: 0\r\n\r\n",
            req.from, req.to, req.call_id, req.cseq
        );
        match message::parse(text.as_bytes()).unwrap() {
            SipMessage::Response(r) => r,
            SipMessage::Request(_) => unreachable!(),
        }
    }

    fn challenge(req: &RegisterRequest, value: &str) -> Response {
        resp(
            req,
            "401 Unauthorized",
            &format!("WWW-Authenticate: {value}\r\n"),
        )
    }

    /// RFC 3261 §10.2: the first REGISTER is bare, to `sip:<domain>` with the AOR in From/To.
    #[test]
    fn first_register_is_bare() {
        let (reg, _, req) = setup();
        assert_eq!(req.uri, "sip:example.test");
        assert_eq!(req.to, "<sip:alice@example.test>");
        assert!(req.from.starts_with("<sip:alice@example.test>;tag="));
        assert!(req.call_id.ends_with("@127.0.0.1"));
        assert_eq!(req.cseq, 1);
        assert_eq!(req.contact, "<sip:alice@127.0.0.1:5080>");
        assert_eq!(req.expires, 120);
        assert_eq!(req.authorization, None);
        assert_eq!(reg.poll_timeout(), None);
    }

    /// RFC 3261 §22.2: a 401 is answered with credentials for method REGISTER and the R-URI,
    /// same Call-ID, next CSeq; later requests reuse the challenge with the next nonce count.
    #[test]
    fn challenge_then_registered_then_refresh() {
        let (mut reg, mut rng, req) = setup();
        let now = t0();
        reg.on_response(now, &mut rng, &challenge(&req, CHALLENGE));
        let authed = sent(&mut reg);
        assert_eq!((authed.cseq, &authed.call_id), (2, &req.call_id));
        let (name, value) = authed.authorization.clone().unwrap();
        assert_eq!(name, "Authorization");
        assert!(value.contains("uri=\"sip:example.test\""), "{value}");
        assert!(value.contains("nc=00000001"), "{value}");
        reg.on_response(
            now,
            &mut rng,
            &resp(
                &authed,
                "200 OK",
                "Contact: <sip:bob@10.0.0.1:5060>;expires=30, <sip:alice@127.0.0.1:5080>;expires=119\r\nExpires: 120\r\n",
            ),
        );
        assert_eq!(
            state(&mut reg),
            RegistrationState::Registered {
                expires: Duration::from_secs(119)
            }
        );
        let refresh_at = now + Duration::from_millis(95_200);
        assert_eq!(reg.poll_timeout(), Some(refresh_at));
        reg.handle_timeout(refresh_at - Duration::from_millis(1), &mut rng);
        assert_eq!(reg.poll_output(), None);
        reg.handle_timeout(refresh_at, &mut rng);
        let refresh = sent(&mut reg);
        assert_eq!((refresh.cseq, &refresh.call_id), (3, &req.call_id));
        assert!(
            refresh
                .authorization
                .clone()
                .unwrap()
                .1
                .contains("nc=00000002"),
            "the cached challenge is reused"
        );
        // The same grant again is not news.
        reg.on_response(
            refresh_at,
            &mut rng,
            &resp(
                &refresh,
                "200 OK",
                "Contact: <sip:alice@127.0.0.1:5080>;expires=119\r\n",
            ),
        );
        assert_eq!(reg.poll_output(), None);
    }

    /// A registrar granting an absurd expiry cannot overflow the clock (STYLE.md §3).
    #[test]
    fn huge_expiry_is_capped() {
        let (mut reg, mut rng, req) = setup();
        let now = t0();
        reg.on_response(
            now,
            &mut rng,
            &resp(&req, "200 OK", "Expires: 18446744073709551615\r\n"),
        );
        let cap = Duration::from_secs(u64::from(u32::MAX));
        assert_eq!(
            state(&mut reg),
            RegistrationState::Registered { expires: cap }
        );
        assert_eq!(reg.poll_timeout(), Some(now + cap * 4 / 5));
    }

    /// RFC 3261 §10.2.4: without our Contact in the 200 the Expires header counts, and
    /// without either what we asked for.
    #[test]
    fn granted_expiry_fallbacks() {
        let (mut reg, mut rng, req) = setup();
        reg.on_response(t0(), &mut rng, &resp(&req, "200 OK", "Expires: 60\r\n"));
        assert_eq!(
            state(&mut reg),
            RegistrationState::Registered {
                expires: Duration::from_secs(60)
            }
        );
        let (mut reg, mut rng, req) = setup();
        reg.on_response(t0(), &mut rng, &resp(&req, "200 OK", ""));
        assert_eq!(
            state(&mut reg),
            RegistrationState::Registered {
                expires: Duration::from_secs(120)
            }
        );
    }

    /// A second challenge with the nonce we answered (not stale) means wrong credentials; a
    /// stale one is answered again (RFC 7616 §3.3).
    #[test]
    fn same_nonce_fails_stale_nonce_retries() {
        let (mut reg, mut rng, req) = setup();
        let now = t0();
        reg.on_response(now, &mut rng, &challenge(&req, CHALLENGE));
        let authed = sent(&mut reg);
        let stale = format!("{CHALLENGE},stale=true");
        reg.on_response(now, &mut rng, &challenge(&authed, &stale));
        let again = sent(&mut reg);
        assert_eq!(again.cseq, 3);
        reg.on_response(now, &mut rng, &challenge(&again, CHALLENGE));
        match state(&mut reg) {
            RegistrationState::Failed {
                code: Some(401),
                reason,
                retry_in,
            } => {
                assert_eq!(reason, "authentication failed");
                assert!(retry_in >= Duration::from_secs(30) && retry_in <= Duration::from_secs(60));
                assert_eq!(reg.poll_timeout(), Some(now + retry_in));
                // The retry starts bare: the refused challenge is forgotten.
                reg.handle_timeout(now + retry_in, &mut rng);
                assert_eq!(sent(&mut reg).authorization, None);
            }
            other => panic!("{other:?}"),
        }
    }

    /// A 401 without a usable Digest challenge, a 404, a timeout: failures with their cause.
    #[test]
    fn failures_report_their_cause() {
        let (mut reg, mut rng, req) = setup();
        reg.on_response(t0(), &mut rng, &resp(&req, "401 Unauthorized", ""));
        assert!(matches!(
            state(&mut reg),
            RegistrationState::Failed { code: Some(401), reason, .. } if reason == "unusable challenge"
        ));
        let (mut reg, mut rng, req) = setup();
        reg.on_response(t0(), &mut rng, &resp(&req, "404 Not Found", ""));
        assert!(matches!(
            state(&mut reg),
            RegistrationState::Failed { code: Some(404), reason, .. } if reason == "Not Found"
        ));
        let (mut reg, mut rng, req) = setup();
        reg.on_transaction_failure(t0(), &mut rng, req.cseq + 1, "timeout");
        assert_eq!(reg.poll_output(), None, "another request's failure");
        reg.on_transaction_failure(t0(), &mut rng, req.cseq, "timeout");
        assert!(matches!(
            state(&mut reg),
            RegistrationState::Failed { code: None, reason, .. } if reason == "timeout"
        ));
    }

    /// Responses to an older REGISTER (another CSeq) and provisional responses change nothing.
    #[test]
    fn stale_and_provisional_responses_are_ignored() {
        let (mut reg, mut rng, req) = setup();
        let mut old = req.clone();
        old.cseq = 0;
        reg.on_response(t0(), &mut rng, &resp(&old, "200 OK", ""));
        reg.on_response(t0(), &mut rng, &resp(&req, "100 Trying", ""));
        assert_eq!(reg.poll_output(), None);
        assert_eq!(reg.poll_timeout(), None);
    }

    /// RFC 3261 §10.2.8: 423 with Min-Expires is retried with that expiry; without a larger
    /// Min-Expires it is a failure.
    #[test]
    fn interval_too_brief_is_retried_with_min_expires() {
        let (mut reg, mut rng, req) = setup();
        reg.on_response(
            t0(),
            &mut rng,
            &resp(&req, "423 Interval Too Brief", "Min-Expires: 600\r\n"),
        );
        let again = sent(&mut reg);
        assert_eq!((again.cseq, again.expires), (2, 600));
        reg.on_response(
            t0(),
            &mut rng,
            &resp(&again, "423 Interval Too Brief", "Min-Expires: 600\r\n"),
        );
        assert!(matches!(
            state(&mut reg),
            RegistrationState::Failed {
                code: Some(423),
                ..
            }
        ));
    }

    /// RFC 5626 §4.5: upper bound min(1800, 30 * 2^n), lower bound half of it.
    #[test]
    fn backoff_doubles_and_caps() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for n in 1..=10u32 {
            let ceiling = (30u64 << n).min(1800);
            for _ in 0..20 {
                let d = backoff(n, &mut rng);
                assert!(
                    d >= Duration::from_secs(ceiling / 2) && d <= Duration::from_secs(ceiling),
                    "{n}: {d:?}"
                );
            }
        }
        assert!(backoff(u32::MAX, &mut rng) <= BACKOFF_MAX);
    }

    /// RFC 3261 §10.2.2: unregistering sends Expires 0 (and `;expires=0` on the Contact); its
    /// response, whatever it is, ends the registration.
    #[test]
    fn unregister_sends_expires_zero_then_done() {
        for status in ["200 OK", "500 Server Internal Error"] {
            let (mut reg, mut rng, req) = setup();
            reg.on_response(t0(), &mut rng, &resp(&req, "200 OK", ""));
            let _ = state(&mut reg);
            reg.unregister(&mut rng);
            let unreg = sent(&mut reg);
            assert_eq!((unreg.cseq, unreg.expires), (2, 0));
            assert_eq!(unreg.contact, "<sip:alice@127.0.0.1:5080>;expires=0");
            reg.unregister(&mut rng);
            assert_eq!(reg.poll_output(), None, "already unregistering");
            reg.on_response(t0(), &mut rng, &resp(&unreg, status, ""));
            assert_eq!(state(&mut reg), RegistrationState::Unregistered);
            assert!(reg.is_done());
            assert_eq!(reg.poll_timeout(), None);
        }
    }

    /// Unregistering while waiting to retry sends nothing: there is no binding.
    #[test]
    fn unregister_during_backoff_is_immediate() {
        let (mut reg, mut rng, req) = setup();
        reg.on_transaction_failure(t0(), &mut rng, req.cseq, "timeout");
        let _ = state(&mut reg);
        reg.unregister(&mut rng);
        assert_eq!(state(&mut reg), RegistrationState::Unregistered);
        assert!(reg.is_done());
    }

    /// `update` with the same parameters changes nothing; new ones re-register at once (and
    /// new credentials drop the cached challenge); after an unregister it registers again.
    #[test]
    fn update_is_idempotent() {
        let (mut reg, mut rng, req) = setup();
        reg.update(&mut rng, params(120));
        assert_eq!(reg.poll_output(), None);
        reg.on_response(t0(), &mut rng, &challenge(&req, CHALLENGE));
        let _ = sent(&mut reg);
        let mut new = params(120);
        new.password = "other".into();
        reg.update(&mut rng, new.clone());
        assert_eq!(
            reg.poll_output(),
            None,
            "§10.2: not before the REGISTER in flight ends"
        );
        reg.on_transaction_failure(t0(), &mut rng, 2, "timeout");
        let again = sent(&mut reg);
        assert_eq!((again.cseq, again.authorization.clone()), (3, None));
        reg.on_response(t0(), &mut rng, &resp(&again, "200 OK", ""));
        let _ = state(&mut reg);
        reg.unregister(&mut rng);
        let unreg = sent(&mut reg);
        assert_eq!(unreg.expires, 0);
        reg.update(&mut rng, new);
        assert_eq!(reg.poll_output(), None);
        reg.on_response(t0(), &mut rng, &resp(&unreg, "200 OK", ""));
        assert_eq!(
            sent(&mut reg).expires,
            120,
            "registered again after the unregister"
        );
    }

    /// §10.2: an unregister asked while a REGISTER is in flight waits for its final response,
    /// and answers that response's challenge; a register asked meanwhile calls it off.
    #[test]
    fn unregister_waits_for_the_request_in_flight() {
        let (mut reg, mut rng, req) = setup();
        reg.unregister(&mut rng);
        assert_eq!(reg.poll_output(), None);
        reg.on_response(t0(), &mut rng, &challenge(&req, CHALLENGE));
        let unreg = sent(&mut reg);
        assert_eq!((unreg.cseq, unreg.expires), (2, 0));
        assert!(unreg.authorization.is_some());
        reg.on_response(t0(), &mut rng, &resp(&unreg, "200 OK", ""));
        assert_eq!(state(&mut reg), RegistrationState::Unregistered);

        let (mut reg, mut rng, req) = setup();
        reg.unregister(&mut rng);
        reg.update(&mut rng, params(120));
        reg.on_response(t0(), &mut rng, &resp(&req, "200 OK", ""));
        assert!(matches!(
            state(&mut reg),
            RegistrationState::Registered { .. }
        ));
        assert_eq!(reg.poll_output(), None);
    }

    /// A TCP binding's Contact says so (RFC 3261 §19.1.1).
    #[test]
    fn tcp_contact() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut b = binding();
        b.tcp = true;
        let mut reg = Registration::new(&mut rng, b, params(60));
        assert_eq!(
            sent(&mut reg).contact,
            "<sip:alice@127.0.0.1:5080;transport=tcp>"
        );
    }
}
