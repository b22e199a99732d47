//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8), in virtual time, driven
//! with the BYE and OPTIONS Asterisk 22 sent.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use std::time::Instant;

use gateway_sip::message::{self, response_for};
use gateway_sip::transaction::{
    ServerNonInvite, ServerNonInviteState, TimerConfig, TransactionKey, TxInput, TxOutput,
};
use rsip::{Request, Response};

mod tx_common;
use tx_common::{ms, req, resp, t0};

fn drain(tx: &mut ServerNonInvite) -> Vec<TxOutput> {
    std::iter::from_fn(|| tx.poll_output()).collect()
}

fn bye() -> Request {
    req("inbound-originate-gw-05-ast2gw-bye.sip")
}

fn ok_bye() -> Response {
    resp("inbound-originate-gw-06-gw2ast-200-ok-bye.sip")
}

fn started(now: Instant, request: Request, reliable: bool) -> ServerNonInvite {
    let mut tx = ServerNonInvite::new(now, request.clone(), reliable, TimerConfig::default());
    assert_eq!(drain(&mut tx), vec![TxOutput::ToTu(request.into())]);
    assert_eq!(tx.state(), ServerNonInviteState::Trying);
    assert_eq!(tx.poll_timeout(), None);
    tx
}

/// §17.2.2: the request goes to the TU once; a retransmission in Trying is absorbed; the TU's
/// final response is sent and resent on each retransmission until Timer J = 64*T1.
#[test]
fn final_response_resent_on_retransmission_until_timer_j() {
    let now = t0();
    let mut tx = started(now, bye(), false);
    assert_eq!(
        TransactionKey::for_request(&bye(), true).unwrap(),
        *tx.key()
    );
    tx.handle_input(now + ms(500), TxInput::Message(bye().into()));
    assert!(drain(&mut tx).is_empty());
    let at = now + ms(600);
    tx.handle_input(at, TxInput::FromTu(ok_bye()));
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(ok_bye().into())]);
    assert_eq!(tx.state(), ServerNonInviteState::Completed);
    assert_eq!(tx.poll_timeout(), Some(at + ms(32_000)));
    tx.handle_input(at + ms(1000), TxInput::Message(bye().into()));
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(ok_bye().into())]);
    tx.handle_input(
        at + ms(1001),
        TxInput::FromTu(response_for(&bye(), 500, None, None)),
    );
    assert!(
        drain(&mut tx).is_empty(),
        "a second final response is dropped"
    );
    tx.handle_timeout(at + ms(31_999));
    assert!(drain(&mut tx).is_empty());
    tx.handle_timeout(at + ms(32_000));
    assert_eq!(drain(&mut tx), vec![TxOutput::Terminated]);
    assert!(tx.is_terminated());
}

/// §17.2.2: in Proceeding a retransmission gets the last provisional response.
#[test]
fn provisional_resent_in_proceeding() {
    let now = t0();
    let options = req("register-alice-05-ast2alice-options.sip");
    let mut tx = started(now, options.clone(), false);
    let trying = response_for(&options, 100, None, None);
    tx.handle_input(now, TxInput::FromTu(trying.clone()));
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::Transmit(trying.clone().into())]
    );
    assert_eq!(tx.state(), ServerNonInviteState::Proceeding);
    tx.handle_input(now + ms(500), TxInput::Message(options.clone().into()));
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(trying.into())]);
    let ok = resp("register-alice-06-alice2ast-200-ok-options.sip");
    tx.handle_input(now + ms(600), TxInput::FromTu(ok.clone()));
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(ok.into())]);
    assert_eq!(tx.state(), ServerNonInviteState::Completed);
}

/// §17.2.2: Timer J is zero over a reliable transport.
#[test]
fn timer_j_is_zero_over_reliable_transport() {
    let now = t0();
    let mut tx = started(now, bye(), true);
    tx.handle_input(now, TxInput::FromTu(ok_bye()));
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::Transmit(ok_bye().into()), TxOutput::Terminated]
    );
    assert_eq!(tx.poll_timeout(), None);
}

/// §17.2.4: a transport error terminates the transaction and informs the TU.
#[test]
fn transport_error_terminates() {
    let now = t0();
    let mut tx = started(now, bye(), false);
    tx.handle_input(now, TxInput::FromTu(ok_bye()));
    drain(&mut tx);
    tx.handle_input(now + ms(1), TxInput::TransportError);
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::TransportError, TxOutput::Terminated]
    );
    assert_eq!(tx.poll_timeout(), None);
    tx.handle_input(now + ms(2), TxInput::Message(bye().into()));
    assert!(drain(&mut tx).is_empty());
}

/// §17.2.3: a request without an RFC 3261 branch is keyed by the RFC 2543 rules (see
/// `transaction_server_rfc2543.rs`), never like the RFC 3261 request it resembles; we never
/// send one (no client key).
#[test]
fn rfc2543_branch_gets_an_rfc2543_key() {
    let text = String::from_utf8(message::to_bytes(&bye().into()).to_vec()).unwrap();
    let old = text.replacen("branch=z9hG4bK", "branch=", 1);
    let old = Request::try_from(message::parse(old.as_bytes()).unwrap()).unwrap();
    let key = TransactionKey::for_request(&old, true).unwrap();
    assert!(key.rfc2543.is_some());
    assert_eq!(
        TransactionKey::for_request(&old, false),
        Err(gateway_sip::Error::NoRfc3261Branch)
    );
    let tx = ServerNonInvite::new(t0(), old, false, TimerConfig::default());
    assert_eq!(*tx.key(), key);
    assert_ne!(
        *tx.key(),
        TransactionKey::for_request(&bye(), true).unwrap()
    );
}
