//! The INVITE client transaction (RFC 3261 §17.1.1, Figure 5; RFC 6026 §7.2), in virtual time,
//! driven with real Asterisk 22 captures.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gateway_sip::message::{self, cancel_for, response_for};
use gateway_sip::transaction::{
    ClientInvite, ClientInviteState, ClientNonInvite, ClientNonInviteState, TimerConfig,
    TransactionKey, TxInput, TxOutput,
};
use rsip::{Method, Response, SipMessage};

mod tx_common;
use tx_common::{ms, req, resp, t0};

fn drain(tx: &mut ClientInvite) -> Vec<TxOutput> {
    std::iter::from_fn(|| tx.poll_output()).collect()
}

fn response_in(input: Response) -> TxInput {
    TxInput::Message(input.into())
}

/// RFC 3261 §17.1.1.2: over UDP Timer A fires at T1, 2*T1, 4*T1, ... with no cap, Timer B ends
/// the transaction at 64*T1 with a timeout. Asterisk's own retransmissions of this INVITE
/// (captures 04–08) came at +0.5, +1, +2, +4, +8 s. `poll_timeout` is always the earliest timer.
#[test]
fn timer_a_doubles_until_timer_b_times_out() {
    let now = t0();
    let invite = req("outbound-999-loops-to-gw-unanswered-603-03-ast2gw-invite-sdp.sip");
    let retrans =
        req("outbound-999-loops-to-gw-unanswered-603-04-ast2gw-invite-sdp-retrans-of-03.sip");
    assert_eq!(invite, retrans);
    let mut tx = ClientInvite::new(now, invite.clone(), false, TimerConfig::default());
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::Transmit(invite.clone().into())]
    );
    assert_eq!(tx.state(), ClientInviteState::Calling);

    let mut sent_at = Vec::new();
    while let Some(deadline) = tx.poll_timeout() {
        tx.handle_timeout(deadline);
        for out in drain(&mut tx) {
            match out {
                TxOutput::Transmit(msg) => {
                    assert_eq!(msg, SipMessage::Request(invite.clone()));
                    sent_at.push(deadline - now);
                }
                TxOutput::Timeout => assert_eq!(deadline - now, ms(32_000)),
                TxOutput::Terminated => assert!(tx.is_terminated()),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let expected: Vec<Duration> = [500, 1500, 3500, 7500, 15_500, 31_500].map(ms).to_vec();
    assert_eq!(sent_at, expected);
    assert_eq!(tx.state(), ClientInviteState::Terminated);
}

/// §17.1.1.2: poll_timeout is the earlier of A and B, and nothing fires before its deadline.
#[test]
fn poll_timeout_is_the_earliest_timer() {
    let now = t0();
    let invite = req("outbound-605-busy-01-gw2ast-invite-sdp.sip");
    let config = TimerConfig {
        t1: ms(100),
        ..TimerConfig::default()
    };
    let mut tx = ClientInvite::new(now, invite, false, config);
    drain(&mut tx);
    assert_eq!(tx.poll_timeout(), Some(now + ms(100)));
    tx.handle_timeout(now + ms(99));
    assert!(drain(&mut tx).is_empty());
    // Call late, after A (100 ms) and before B (6.4 s): A fires once, re-armed 200 ms later.
    tx.handle_timeout(now + ms(1000));
    assert_eq!(drain(&mut tx).len(), 1);
    assert_eq!(tx.poll_timeout(), Some(now + ms(1200)));
    let mut late = now + ms(6300);
    tx.handle_timeout(late);
    drain(&mut tx);
    assert_eq!(
        tx.poll_timeout(),
        Some(now + ms(6400)),
        "B is earlier than the next A"
    );
    late += ms(100);
    tx.handle_timeout(late);
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::Timeout, TxOutput::Terminated]
    );
    assert_eq!(tx.poll_timeout(), None);
}

/// §17.1.1.2: over a reliable transport there is no Timer A, only B.
#[test]
fn reliable_transport_never_retransmits() {
    let now = t0();
    let invite = req("outbound-605-busy-01-gw2ast-invite-sdp.sip");
    let mut tx = ClientInvite::new(now, invite, true, TimerConfig::default());
    assert_eq!(drain(&mut tx).len(), 1);
    assert_eq!(tx.poll_timeout(), Some(now + ms(32_000)));
    tx.handle_timeout(now + ms(31_999));
    assert!(drain(&mut tx).is_empty());
    tx.handle_timeout(now + ms(32_000));
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::Timeout, TxOutput::Terminated]
    );
}

/// §17.1.1.2–3: 100 then 486 (Asterisk `Busy()`): provisional goes up and stops A and B, the
/// 486 goes up and is ACKed like SIPp did (capture 04); a retransmitted 486 is ACKed again
/// without reaching the TU; Timer D (32 s over UDP) ends the transaction.
#[test]
fn provisional_then_486_is_acked_and_timer_d_absorbs_retransmissions() {
    let now = t0();
    let invite = req("outbound-605-busy-01-gw2ast-invite-sdp.sip");
    let trying = resp("outbound-605-busy-02-ast2gw-100-trying-invite.sip");
    let busy = resp("outbound-605-busy-03-ast2gw-486-busy-here-invite.sip");
    let real_ack = req("outbound-605-busy-04-gw2ast-ack.sip");
    let mut tx = ClientInvite::new(now, invite.clone(), false, TimerConfig::default());
    drain(&mut tx);

    tx.handle_input(now + ms(10), response_in(trying.clone()));
    assert_eq!(drain(&mut tx), vec![TxOutput::ToTu(trying.into())]);
    assert_eq!(tx.state(), ClientInviteState::Proceeding);
    assert_eq!(
        tx.poll_timeout(),
        None,
        "no retransmission or timeout in Proceeding"
    );

    let at = now + ms(2000);
    tx.handle_input(at, response_in(busy.clone()));
    let out = drain(&mut tx);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0], TxOutput::ToTu(busy.clone().into()));
    let TxOutput::Transmit(SipMessage::Request(ack)) = &out[1] else {
        panic!("{:?}", out[1])
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, real_ack.uri);
    assert_eq!(
        message::cseq(ack).unwrap(),
        message::cseq(&real_ack).unwrap()
    );
    assert_eq!(
        message::to_tag(ack).unwrap(),
        message::to_tag(&real_ack).unwrap()
    );
    assert_eq!(
        message::from_tag(ack).unwrap(),
        message::from_tag(&real_ack).unwrap()
    );
    assert_eq!(
        message::top_via_branch(ack).unwrap(),
        message::top_via_branch(&invite).unwrap()
    );
    assert_eq!(tx.state(), ClientInviteState::Completed);
    assert_eq!(tx.poll_timeout(), Some(at + ms(32_000)));

    tx.handle_input(at + ms(500), response_in(busy));
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(ack.clone().into())]);
    tx.handle_timeout(at + ms(31_999));
    assert!(drain(&mut tx).is_empty());
    tx.handle_timeout(at + ms(32_000));
    assert_eq!(drain(&mut tx), vec![TxOutput::Terminated]);
}

/// §17.1.1.2: Timer D is zero over a reliable transport: the 404 is ACKed and the transaction
/// ends at once. A 404 with no 100 before it is real Asterisk behaviour (outbound-123).
#[test]
fn timer_d_is_zero_over_reliable_transport() {
    let now = t0();
    let invite = req("outbound-123-not-found-01-gw2ast-invite-sdp.sip");
    let not_found = resp("outbound-123-not-found-02-ast2gw-404-not-found-invite.sip");
    let mut tx = ClientInvite::new(now, invite, true, TimerConfig::default());
    drain(&mut tx);
    tx.handle_input(now, response_in(not_found.clone()));
    let out = drain(&mut tx);
    assert_eq!(out.len(), 3);
    assert_eq!(out[0], TxOutput::ToTu(not_found.into()));
    assert!(
        matches!(&out[1], TxOutput::Transmit(SipMessage::Request(r)) if r.method == Method::Ack)
    );
    assert_eq!(out[2], TxOutput::Terminated);
    assert_eq!(tx.poll_timeout(), None);
}

/// RFC 6026 §7.2: a 2xx goes to the TU and moves to Accepted; retransmitted 2xx also go to the
/// TU (which sends the ACK, §13.2.2.4); Timer M = 64*T1 ends the transaction. No ACK is sent
/// by the transaction.
#[test]
fn ok_moves_to_accepted_and_timer_m_ends_it() {
    let now = t0();
    let invite = req("outbound-600-ulaw-01-gw2ast-invite-sdp.sip");
    let trying = resp("outbound-600-ulaw-02-ast2gw-100-trying-invite.sip");
    let ok = resp("outbound-600-ulaw-03-ast2gw-200-ok-invite-sdp.sip");
    let mut tx = ClientInvite::new(now, invite, false, TimerConfig::default());
    drain(&mut tx);
    tx.handle_input(now + ms(5), response_in(trying));
    drain(&mut tx);
    let at = now + ms(800);
    tx.handle_input(at, response_in(ok.clone()));
    assert_eq!(drain(&mut tx), vec![TxOutput::ToTu(ok.clone().into())]);
    assert_eq!(tx.state(), ClientInviteState::Accepted);
    assert_eq!(tx.poll_timeout(), Some(at + ms(32_000)));
    tx.handle_input(at + ms(500), response_in(ok.clone()));
    assert_eq!(drain(&mut tx), vec![TxOutput::ToTu(ok.into())]);
    tx.handle_timeout(at + ms(32_000));
    assert_eq!(drain(&mut tx), vec![TxOutput::Terminated]);
}

/// §17.1.4: a transport error terminates the transaction and informs the TU.
#[test]
fn transport_error_terminates() {
    let now = t0();
    let invite = req("outbound-600-ulaw-01-gw2ast-invite-sdp.sip");
    let mut tx = ClientInvite::new(now, invite, false, TimerConfig::default());
    drain(&mut tx);
    tx.handle_input(now + ms(1), TxInput::TransportError);
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::TransportError, TxOutput::Terminated]
    );
    assert!(tx.is_terminated());
    assert_eq!(tx.poll_timeout(), None);
    tx.handle_input(now + ms(2), TxInput::TransportError);
    assert!(
        drain(&mut tx).is_empty(),
        "a terminated transaction stays silent"
    );
}

/// Routes a response to whichever client transaction its key (§17.1.3) names.
enum Client {
    Invite(ClientInvite),
    NonInvite(ClientNonInvite),
}

fn route(txs: &mut HashMap<TransactionKey, Client>, now: Instant, resp: Response) -> Vec<TxOutput> {
    let key = TransactionKey::for_response(&resp).unwrap();
    match txs.get_mut(&key).expect("response matches a transaction") {
        Client::Invite(tx) => {
            tx.handle_input(now, response_in(resp));
            std::iter::from_fn(|| tx.poll_output()).collect()
        }
        Client::NonInvite(tx) => {
            tx.handle_input(now, response_in(resp));
            std::iter::from_fn(|| tx.poll_output()).collect()
        }
    }
}

/// RFC 3261 §9.1 and §17.1.3, Asterisk flow outbound-607: CANCEL sent while the INVITE is
/// Proceeding is its own non-INVITE transaction with the same branch; the 200 (CANCEL) ends
/// that one, the 487 (INVITE) is ACKed by the INVITE transaction.
#[test]
fn cancel_while_proceeding_gets_200_and_the_invite_487() {
    let now = t0();
    let invite = req("outbound-607-cancel-01-gw2ast-invite-sdp.sip");
    let mut txs = HashMap::new();
    let itx = ClientInvite::new(now, invite.clone(), false, TimerConfig::default());
    let invite_key = itx.key().clone();
    txs.insert(invite_key.clone(), Client::Invite(itx));

    let ringing = resp("outbound-607-cancel-03-ast2gw-180-ringing-invite.sip");
    route(
        &mut txs,
        now,
        resp("outbound-607-cancel-02-ast2gw-100-trying-invite.sip"),
    );
    assert_eq!(
        route(&mut txs, now + ms(50), ringing.clone()),
        vec![TxOutput::ToTu(ringing.into())]
    );

    let cancel = cancel_for(&invite);
    let mut ctx = ClientNonInvite::new(
        now + ms(2000),
        cancel.clone(),
        false,
        TimerConfig::default(),
    );
    assert_eq!(ctx.poll_output(), Some(TxOutput::Transmit(cancel.into())));
    let cancel_key = ctx.key().clone();
    assert_ne!(cancel_key, invite_key);
    assert_eq!(cancel_key.branch, invite_key.branch);
    txs.insert(cancel_key.clone(), Client::NonInvite(ctx));

    let ok_cancel = resp("outbound-607-cancel-05-ast2gw-200-ok-cancel.sip");
    assert_eq!(
        route(&mut txs, now + ms(2001), ok_cancel.clone()),
        vec![TxOutput::ToTu(ok_cancel.into())]
    );
    let terminated = resp("outbound-607-cancel-06-ast2gw-487-request-terminated-invite.sip");
    let out = route(&mut txs, now + ms(2002), terminated.clone());
    assert_eq!(out[0], TxOutput::ToTu(terminated.into()));
    assert!(
        matches!(&out[1], TxOutput::Transmit(SipMessage::Request(r)) if r.method == Method::Ack)
    );

    let Some(Client::Invite(itx)) = txs.get(&invite_key) else {
        panic!()
    };
    assert_eq!(itx.state(), ClientInviteState::Completed);
    let Some(Client::NonInvite(ctx)) = txs.get(&cancel_key) else {
        panic!()
    };
    assert_eq!(ctx.state(), ClientNonInviteState::Completed);
}

/// RFC 3261 §9.1 / §15: a 200 OK to the INVITE crossing our CANCEL still reaches the TU and
/// the INVITE transaction goes to Accepted (the TU must ACK then BYE); the CANCEL's own 200
/// completes the CANCEL transaction independently.
#[test]
fn ok_crossing_cancel_is_accepted() {
    let now = t0();
    let invite = req("outbound-607-cancel-01-gw2ast-invite-sdp.sip");
    let mut itx = ClientInvite::new(now, invite.clone(), false, TimerConfig::default());
    drain(&mut itx);
    itx.handle_input(
        now,
        response_in(resp("outbound-607-cancel-03-ast2gw-180-ringing-invite.sip")),
    );
    drain(&mut itx);
    let cancel = cancel_for(&invite);
    let mut ctx =
        ClientNonInvite::new(now + ms(100), cancel.clone(), false, TimerConfig::default());
    ctx.poll_output();

    let ok = response_for(
        &invite,
        200,
        None,
        Some("c170777c-db86-4b00-a326-7b5fb8c9e3a0"),
    );
    assert_eq!(TransactionKey::for_response(&ok).unwrap(), *itx.key());
    itx.handle_input(now + ms(101), response_in(ok.clone()));
    assert_eq!(drain(&mut itx), vec![TxOutput::ToTu(ok.into())]);
    assert_eq!(itx.state(), ClientInviteState::Accepted);

    let ok_cancel = response_for(
        &cancel,
        200,
        None,
        Some("c170777c-db86-4b00-a326-7b5fb8c9e3a0"),
    );
    assert_eq!(
        TransactionKey::for_response(&ok_cancel).unwrap(),
        *ctx.key()
    );
    ctx.handle_input(now + ms(102), response_in(ok_cancel));
    assert_eq!(ctx.state(), ClientNonInviteState::Completed);
}
