//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6), in virtual time, driven
//! with real Asterisk 22 captures (OPTIONS, REGISTER).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use gateway_sip::message::response_for;
use gateway_sip::transaction::{
    ClientNonInvite, ClientNonInviteState, TimerConfig, TransactionKey, TxInput, TxOutput,
};
use rsip::{Request, Response};

mod tx_common;
use tx_common::{ms, req, resp, t0};

fn drain(tx: &mut ClientNonInvite) -> Vec<TxOutput> {
    std::iter::from_fn(|| tx.poll_output()).collect()
}

fn response_in(input: Response) -> TxInput {
    TxInput::Message(input.into())
}

fn options() -> Request {
    req("options-from-gw-01-gw2ast-options.sip")
}

/// Runs every timer to the end and returns when each retransmission happened (relative to
/// `start`) and when the timeout fired.
fn run_to_end(tx: &mut ClientNonInvite, start: Instant) -> (Vec<Duration>, Option<Duration>) {
    let mut sent = Vec::new();
    let mut timeout = None;
    while let Some(deadline) = tx.poll_timeout() {
        tx.handle_timeout(deadline);
        for out in drain(tx) {
            match out {
                TxOutput::Transmit(_) => sent.push(deadline - start),
                TxOutput::Timeout => timeout = Some(deadline - start),
                TxOutput::Terminated => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    (sent, timeout)
}

/// §17.1.2.2: Timer E fires at T1, then doubles up to T2 (500, 1000, 2000, 4000, 4000, ... ms),
/// and Timer F = 64*T1 times out.
#[test]
fn timer_e_doubles_capped_at_t2_until_timer_f() {
    let now = t0();
    let mut tx = ClientNonInvite::new(now, options(), false, TimerConfig::default());
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(options().into())]);
    assert_eq!(tx.state(), ClientNonInviteState::Trying);
    assert_eq!(tx.poll_timeout(), Some(now + ms(500)));
    let (sent, timeout) = run_to_end(&mut tx, now);
    let expected: Vec<Duration> = [
        500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]
    .map(ms)
    .to_vec();
    assert_eq!(sent, expected);
    assert_eq!(timeout, Some(ms(32_000)));
    assert!(tx.is_terminated());
}

/// §17.1.2.2: in Proceeding the request is retransmitted every T2, and Timer F still applies.
#[test]
fn proceeding_retransmits_every_t2_and_timer_f_still_fires() {
    let now = t0();
    let mut tx = ClientNonInvite::new(now, options(), false, TimerConfig::default());
    drain(&mut tx);
    let trying = response_for(&options(), 100, None, None);
    tx.handle_input(now + ms(200), response_in(trying.clone()));
    assert_eq!(drain(&mut tx), vec![TxOutput::ToTu(trying.into())]);
    assert_eq!(tx.state(), ClientNonInviteState::Proceeding);
    let (sent, timeout) = run_to_end(&mut tx, now);
    let expected: Vec<Duration> = [500, 4500, 8500, 12_500, 16_500, 20_500, 24_500, 28_500]
        .map(ms)
        .to_vec();
    assert_eq!(sent, expected);
    assert_eq!(timeout, Some(ms(32_000)));
}

/// §17.1.2.2: a final response (Asterisk's 200 to OPTIONS) goes to the TU; retransmissions are
/// absorbed during Timer K = T4; then the transaction ends.
#[test]
fn final_response_completes_and_timer_k_absorbs_retransmissions() {
    let now = t0();
    let ok = resp("options-from-gw-02-ast2gw-200-ok-options.sip");
    let mut tx = ClientNonInvite::new(now, options(), false, TimerConfig::default());
    drain(&mut tx);
    assert_eq!(TransactionKey::for_response(&ok).unwrap(), *tx.key());
    let at = now + ms(3);
    tx.handle_input(at, response_in(ok.clone()));
    assert_eq!(drain(&mut tx), vec![TxOutput::ToTu(ok.clone().into())]);
    assert_eq!(tx.state(), ClientNonInviteState::Completed);
    assert_eq!(
        tx.poll_timeout(),
        Some(at + ms(5000)),
        "E and F are stopped, K = T4"
    );
    tx.handle_input(at + ms(100), response_in(ok));
    assert!(drain(&mut tx).is_empty());
    tx.handle_timeout(at + ms(5000));
    assert_eq!(drain(&mut tx), vec![TxOutput::Terminated]);
}

/// §17.1.2.2: the 401 challenge to REGISTER (register-alice-02) is a final response for the TU.
#[test]
fn register_401_goes_to_the_tu() {
    let now = t0();
    let register = req("register-alice-01-alice2ast-register.sip");
    let challenge = resp("register-alice-02-ast2alice-401-unauthorized-register.sip");
    let mut tx = ClientNonInvite::new(now, register, false, TimerConfig::default());
    drain(&mut tx);
    tx.handle_input(now + ms(2), response_in(challenge.clone()));
    assert_eq!(drain(&mut tx), vec![TxOutput::ToTu(challenge.into())]);
    assert_eq!(tx.state(), ClientNonInviteState::Completed);
}

/// §17.1.2.2: over a reliable transport there is no Timer E and Timer K is zero.
#[test]
fn reliable_transport_no_retransmission_and_timer_k_zero() {
    let now = t0();
    let ok = resp("options-from-gw-02-ast2gw-200-ok-options.sip");
    let mut tx = ClientNonInvite::new(now, options(), true, TimerConfig::default());
    drain(&mut tx);
    assert_eq!(tx.poll_timeout(), Some(now + ms(32_000)), "only Timer F");
    tx.handle_input(now + ms(1), response_in(ok.clone()));
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::ToTu(ok.into()), TxOutput::Terminated]
    );
    assert_eq!(tx.poll_timeout(), None);
}

/// §17.1.2.2: a reliable transport still times out with Timer F.
#[test]
fn reliable_transport_timer_f() {
    let now = t0();
    let mut tx = ClientNonInvite::new(now, options(), true, TimerConfig::default());
    drain(&mut tx);
    let (sent, timeout) = run_to_end(&mut tx, now);
    assert!(sent.is_empty());
    assert_eq!(timeout, Some(ms(32_000)));
}

/// §17.1.4: a transport error terminates the transaction and informs the TU.
#[test]
fn transport_error_terminates() {
    let now = t0();
    let mut tx = ClientNonInvite::new(now, options(), false, TimerConfig::default());
    drain(&mut tx);
    tx.handle_input(now, TxInput::TransportError);
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::TransportError, TxOutput::Terminated]
    );
    assert_eq!(tx.poll_timeout(), None);
}

/// §17.1.3: a response with the same branch but another CSeq method does not match.
#[test]
fn response_for_another_method_does_not_match() {
    let now = t0();
    let tx = ClientNonInvite::new(now, options(), false, TimerConfig::default());
    let mut other = resp("options-from-gw-02-ast2gw-200-ok-options.sip");
    for h in other.headers.iter_mut() {
        if let rsip::Header::CSeq(cseq) = h {
            *cseq = rsip::typed::CSeq {
                seq: 1,
                method: rsip::Method::Invite,
            }
            .into();
        }
    }
    assert_ne!(TransactionKey::for_response(&other).unwrap(), *tx.key());
}
