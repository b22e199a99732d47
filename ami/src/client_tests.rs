//! Unit tests of the sans-I/O session, fed the real Asterisk 22 transcripts with the time passed in.

use std::time::{Duration, Instant};

use super::*;

#[allow(clippy::disallowed_methods)] // the origin of virtual time; never read again
fn t0() -> Instant {
    Instant::now()
}

fn config(events: &str) -> AmiConfig {
    let mut c = AmiConfig::new("pbx", "127.0.0.1:5038", "odoo", "odoo-secret");
    c.events = events.into();
    c
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn drain(s: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn transmitted(outs: &[Output]) -> Vec<u8> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Transmit(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn completed(outs: &[Output]) -> Vec<(u64, Result<ActionResult, AmiError>)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Completed { token, result } => Some((*token, result.clone())),
            _ => None,
        })
        .collect()
}

/// The length of the banner plus login response at the start of a `.ami` capture.
fn login_part(ami: &[u8]) -> usize {
    let first = ami.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    first + 4
}

/// A session logged in with the first bytes of `capture`; returns it and the rest of the capture.
fn logged_in(capture: &str, events: &str, now: Instant) -> (Session, Vec<u8>) {
    let ami = data(capture);
    let mut s = Session::new(&config(events), now, "login");
    let n = login_part(&ami);
    s.handle_bytes(now, &ami[..n]);
    let outs = drain(&mut s);
    assert!(
        outs.iter().any(|o| matches!(o, Output::LoggedIn { .. })),
        "{outs:?}"
    );
    (s, ami[n..].to_vec())
}

/// asterisk22/01-login-success: the Login we send is byte-for-byte the captured one.
#[test]
fn login_bytes_match_the_capture() {
    let now = t0();
    let mut s = Session::new(&config("off"), now, "login");
    s.handle_bytes(now, b"Asterisk Call Manager/11.0.0\r\n");
    let sent = data("asterisk22/01-login-success.sent");
    let login = transmitted(&drain(&mut s));
    assert_eq!(login, sent[..login.len()]);
    s.handle_bytes(
        now,
        b"Response: Success\r\nActionID: login-1\r\nMessage: Authentication accepted\r\n\r\n",
    );
    assert_eq!(
        drain(&mut s),
        [Output::LoggedIn {
            banner: "Asterisk Call Manager/11.0.0".into()
        }]
    );
    assert!(s.is_ready());
}

/// asterisk22/02-login-failure: `Response: Error` ends the session with the reason.
#[test]
fn login_refused_closes() {
    let now = t0();
    let mut s = Session::new(&config("off"), now, "login");
    s.handle_bytes(now, &data("asterisk22/02-login-failure.ami"));
    let outs = drain(&mut s);
    assert_eq!(
        outs.last(),
        Some(&Output::Closed(CloseReason::LoginFailed(
            "Authentication failed".into()
        )))
    );
}

/// panoramisk login_md5: Challenge, then `Key` = md5(challenge + secret) (RFC 1321 vector "abc").
#[test]
fn md5_login_sends_the_digest() {
    let now = t0();
    let mut c = config("on");
    c.md5 = true;
    c.secret = "bc".into();
    let mut s = Session::new(&c, now, "m");
    s.handle_bytes(now, b"Asterisk Call Manager/7.0.3\r\n");
    let challenge = String::from_utf8(transmitted(&drain(&mut s))).unwrap();
    assert_eq!(
        challenge,
        "Action: Challenge\r\nActionID: m-1\r\nAuthType: MD5\r\n\r\n"
    );
    s.handle_bytes(
        now,
        b"Response: Success\r\nActionID: m-1\r\nChallenge: a\r\n\r\n",
    );
    let login = String::from_utf8(transmitted(&drain(&mut s))).unwrap();
    assert!(
        login.contains("Key: 900150983cd24fb0d6963f7d28e17f72\r\n"),
        "{login}"
    );
    assert!(!login.contains("Secret"));
}

/// asterisk22/05b: actions before login fail at once with a clear error.
#[test]
fn action_before_login_fails_fast() {
    let now = t0();
    let mut s = Session::new(&config("off"), now, "x");
    s.send_action(now, 9, Action::new("Ping"));
    let outs = completed(&drain(&mut s));
    assert!(matches!(&outs[0], (9, Err(AmiError::NotConnected { .. }))));
}

/// asterisk22/06: `EventList: start` ... two CoreShowChannel ... `EventList: Complete` is one result,
/// and the list items are not broadcast as events.
#[test]
fn event_list_is_collected() {
    let now = t0();
    let (mut s, rest) = logged_in("asterisk22/06-coreshowchannels-active-call.ami", "off", now);
    s.send_action(
        now,
        1,
        Action::new("CoreShowChannels").header("ActionID", "csc-1"),
    );
    let sent = transmitted(&drain(&mut s));
    assert!(
        data("asterisk22/06-coreshowchannels-active-call.sent")
            .windows(sent.len())
            .any(|w| w == sent)
    );
    s.handle_bytes(now, &rest);
    let outs = drain(&mut s);
    assert!(!outs.iter().any(|o| matches!(o, Output::Event(_))));
    let (token, result) = completed(&outs).remove(0);
    let result = result.unwrap();
    assert_eq!(token, 1);
    let names: Vec<_> = result.events.iter().map(|e| e.event().unwrap()).collect();
    assert_eq!(
        names,
        [
            "CoreShowChannel",
            "CoreShowChannel",
            "CoreShowChannelsComplete"
        ]
    );
    assert_eq!(
        result.events[1].get("UniqueID"),
        Some("asterisk-testpeer-1795220425.20")
    );
}

/// asterisk22/04b and 04c: `Output:` lines in order (empty ones kept); an unknown CLI command is an Error
/// that still completes at once.
#[test]
fn command_output_lines() {
    let now = t0();
    let (mut s, rest) = logged_in(
        "asterisk22/04b-command-multiline-pjsip-show-endpoints.ami",
        "off",
        now,
    );
    s.send_action(
        now,
        1,
        Action::new("Command")
            .header("ActionID", "cmd-2")
            .header("Command", "pjsip show endpoints"),
    );
    s.handle_bytes(now, &rest);
    let result = completed(&drain(&mut s)).remove(0).1.unwrap();
    let lines = result.response.output_lines();
    assert_eq!(lines.len(), 37);
    assert_eq!(lines[0], "");
    assert_eq!(lines[35], "Objects found: 4");

    let (mut s, rest) = logged_in("asterisk22/04c-command-unknown-cli-command.ami", "off", now);
    s.send_action(
        now,
        1,
        Action::new("Command")
            .header("ActionID", "cmd-3")
            .header("Command", "foo bar baz"),
    );
    s.handle_bytes(now, &rest);
    let result = completed(&drain(&mut s)).remove(0).1.unwrap();
    assert!(!result.is_success());
    assert!(result.response.output_lines()[0].starts_with("No such command 'foo bar baz'"));
}

/// asterisk22/07: Originate (Async) completes on `OriginateResponse` with the same ActionID; every
/// event, the OriginateResponse too, is also delivered to subscribers in order.
#[test]
fn originate_waits_for_originate_response() {
    let now = t0();
    let (mut s, rest) = logged_in("asterisk22/07-originate-success-gateway.ami", "on", now);
    let action = Action::new("Originate")
        .header("ActionID", "orig-1")
        .header("Async", "true")
        .completion(Completion::UntilEvent("OriginateResponse".into()));
    s.send_action(now, 3, action);
    s.handle_bytes(now, &rest);
    let outs = drain(&mut s);
    let result = completed(&outs).remove(0).1.unwrap();
    assert_eq!(
        result.response.get("Message"),
        Some("Originate successfully queued")
    );
    assert_eq!(result.events[0].event(), Some("OriginateResponse"));
    assert_eq!(result.events[0].get("Reason"), Some("4"));
    let events: Vec<_> = outs
        .iter()
        .filter_map(|o| {
            if let Output::Event(e) = o {
                e.event()
            } else {
                None
            }
        })
        .collect();
    assert_eq!(events.first(), Some(&"FullyBooted"));
    assert!(events.contains(&"OriginateResponse") && events.last() == Some(&"Cdr"));
}

/// Ping liveness: a Ping every interval; a missing Pong within the timeout closes the session.
#[test]
fn ping_and_ping_timeout() {
    let t0 = t0();
    let (mut s, _) = logged_in("asterisk22/03-ping.ami", "off", t0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    s.handle_timeout(t0 + Duration::from_secs(10));
    let ping = String::from_utf8(transmitted(&drain(&mut s))).unwrap();
    assert_eq!(ping, "Action: Ping\r\nActionID: login-2\r\n\r\n");
    s.handle_bytes(t0 + Duration::from_secs(11), b"Response: Success\r\nActionID: login-2\r\nPing: Pong\r\nTimestamp: 1795220405.511845\r\n\r\n");
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(21)));
    s.handle_timeout(t0 + Duration::from_secs(21));
    drain(&mut s);
    s.handle_timeout(t0 + Duration::from_secs(25));
    assert!(drain(&mut s).is_empty(), "still within the ping timeout");
    s.handle_timeout(t0 + Duration::from_secs(26));
    assert_eq!(drain(&mut s), [Output::Closed(CloseReason::PingTimeout)]);
}

#[test]
fn action_timeout() {
    let t0 = t0();
    let (mut s, _) = logged_in("asterisk22/03-ping.ami", "off", t0);
    s.send_action(t0, 4, Action::new("Ping").timeout(Duration::from_secs(2)));
    drain(&mut s);
    s.handle_timeout(t0 + Duration::from_secs(2));
    assert!(matches!(
        &completed(&drain(&mut s))[0],
        (4, Err(AmiError::Timeout { .. }))
    ));
}

/// asterisk22/12: `Event: Shutdown` is delivered, then the session closes and pending actions fail.
#[test]
fn shutdown_event_closes() {
    let t0 = t0();
    let (mut s, rest) = logged_in("asterisk22/12-shutdown-graceful-events-on.ami", "on", t0);
    s.send_action(t0, 5, Action::new("Ping"));
    s.handle_bytes(t0, &rest);
    let outs = drain(&mut s);
    assert!(matches!(
        &completed(&outs)[0],
        (5, Err(AmiError::Disconnected { .. }))
    ));
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Event(e) if e.event() == Some("Shutdown")))
    );
    assert_eq!(outs.last(), Some(&Output::Closed(CloseReason::Shutdown)));
}

#[test]
fn eof_fails_pending_once() {
    let t0 = t0();
    let (mut s, _) = logged_in("asterisk22/03-ping.ami", "off", t0);
    s.send_action(t0, 6, Action::new("Ping"));
    drain(&mut s);
    s.handle_eof(t0);
    s.handle_io_error(t0, "again".into());
    let outs = drain(&mut s);
    assert_eq!(outs.len(), 2, "{outs:?}");
    assert!(matches!(
        &outs[0],
        Output::Completed {
            token: 6,
            result: Err(AmiError::Disconnected { .. })
        }
    ));
}

/// A reply dropped by the framing limits fails its action at once (not after the timeout).
#[test]
fn oversized_reply_fails_its_action() {
    let t0 = t0();
    let (mut s, _) = logged_in("asterisk22/03-ping.ami", "off", t0);
    s.send_action(
        t0,
        7,
        Action::new("Command")
            .header("ActionID", "big")
            .header("Command", "x"),
    );
    drain(&mut s);
    let mut reply = b"Response: Success\r\nActionID: big\r\nOutput: ".to_vec();
    reply.extend(std::iter::repeat_n(b'x', 100 * 1024));
    s.handle_bytes(t0, &reply);
    assert!(matches!(
        &completed(&drain(&mut s))[0],
        (7, Err(AmiError::Framing(_)))
    ));
    s.handle_bytes(t0, b"\r\n\r\nEvent: Next\r\n\r\n");
    assert!(matches!(&drain(&mut s)[..], [Output::Event(e)] if e.event() == Some("Next")));
}

#[test]
fn duplicate_action_id_is_refused() {
    let t0 = t0();
    let (mut s, _) = logged_in("asterisk22/03-ping.ami", "off", t0);
    s.send_action(t0, 1, Action::new("Ping").header("ActionID", "same"));
    s.send_action(t0, 2, Action::new("Ping").header("ActionID", "same"));
    assert!(matches!(
        &completed(&drain(&mut s))[0],
        (2, Err(AmiError::DuplicateActionId(_)))
    ));
}
