//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7; RFC 6026 §7.1), in virtual time,
//! driven with the INVITEs, ACKs and CANCELs Asterisk 22 sent to the gateway.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use gateway_sip::message::{self, response_for};
use gateway_sip::transaction::{
    ServerInvite, ServerInviteState, ServerNonInvite, ServerNonInviteState, TimerConfig,
    TransactionKey, TxInput, TxOutput,
};
use rsip::{Request, SipMessage};

mod tx_common;
use tx_common::{ms, req, resp, t0};

fn drain(tx: &mut ServerInvite) -> Vec<TxOutput> {
    std::iter::from_fn(|| tx.poll_output()).collect()
}

fn request_in(input: Request) -> TxInput {
    TxInput::Message(input.into())
}

const BUSY_INVITE: &str = "inbound-originate-gw-busy-486-01-ast2gw-invite-sdp.sip";
const BUSY_486: &str = "inbound-originate-gw-busy-486-02-gw2ast-486-busy-here-invite.sip";
const BUSY_ACK: &str = "inbound-originate-gw-busy-486-03-ast2gw-ack.sip";

/// Creates the transaction and checks the INVITE is handed to the TU and nothing is sent.
fn started(now: Instant, name: &str, reliable: bool) -> ServerInvite {
    let invite = req(name);
    let mut tx = ServerInvite::new(now, invite.clone(), reliable, TimerConfig::default());
    assert_eq!(drain(&mut tx), vec![TxOutput::ToTu(invite.into())]);
    assert_eq!(tx.state(), ServerInviteState::Proceeding);
    tx
}

/// §17.2.1: if the TU has not answered within 200 ms the transaction sends 100 Trying itself,
/// and resends it on a retransmitted INVITE.
#[test]
fn automatic_100_trying_after_200ms() {
    let now = t0();
    let invite = req(BUSY_INVITE);
    let mut tx = started(now, BUSY_INVITE, false);
    assert_eq!(tx.poll_timeout(), Some(now + ms(200)));
    tx.handle_input(now + ms(100), request_in(invite.clone()));
    assert!(
        drain(&mut tx).is_empty(),
        "retransmission absorbed, nothing to resend yet"
    );
    tx.handle_timeout(now + ms(200));
    let out = drain(&mut tx);
    let [TxOutput::Transmit(SipMessage::Response(trying))] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(trying.status_code.code(), 100);
    assert_eq!(
        message::top_via_branch(trying).unwrap(),
        message::top_via_branch(&invite).unwrap()
    );
    assert_eq!(
        message::cseq(trying).unwrap(),
        message::cseq(&invite).unwrap()
    );
    assert_eq!(message::to_tag(trying).unwrap(), None);
    tx.handle_input(now + ms(600), request_in(invite));
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::Transmit(trying.clone().into())]
    );
    assert_eq!(tx.poll_timeout(), None);
}

/// §17.2.1: a provisional response from the TU within 200 ms replaces 100 Trying and is what
/// a retransmitted INVITE gets back (the gateway's 180, inbound-originate-gw-02).
#[test]
fn tu_provisional_is_resent_on_retransmission() {
    let now = t0();
    let name = "inbound-originate-gw-01-ast2gw-invite-sdp.sip";
    let mut tx = started(now, name, false);
    let ringing = resp("inbound-originate-gw-02-gw2ast-180-ringing-invite.sip");
    tx.handle_input(now + ms(50), TxInput::FromTu(ringing.clone()));
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::Transmit(ringing.clone().into())]
    );
    assert_eq!(tx.poll_timeout(), None, "no 100 Trying any more");
    tx.handle_input(now + ms(500), request_in(req(name)));
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(ringing.into())]);
}

/// §17.2.1: a 486 is retransmitted by Timer G (T1 doubling, capped at T2) and on each INVITE
/// retransmission; Asterisk's ACK (busy-486-03) matches the transaction, moves it to Confirmed
/// without reaching the TU, and Timer I = T4 ends it.
#[test]
fn busy_486_timer_g_then_ack_then_timer_i() {
    let now = t0();
    let mut tx = started(now, BUSY_INVITE, false);
    let busy = resp(BUSY_486);
    tx.handle_input(now + ms(10), TxInput::FromTu(busy.clone()));
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::Transmit(busy.clone().into())]
    );
    assert_eq!(tx.state(), ServerInviteState::Completed);

    let mut sent = Vec::new();
    for _ in 0..4 {
        let deadline = tx.poll_timeout().unwrap();
        tx.handle_timeout(deadline);
        assert_eq!(
            drain(&mut tx),
            vec![TxOutput::Transmit(busy.clone().into())]
        );
        sent.push(deadline - now);
    }
    assert_eq!(sent, [510, 1510, 3510, 7510].map(ms).to_vec());
    tx.handle_input(now + ms(8000), request_in(req(BUSY_INVITE)));
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(busy.into())]);

    let ack = req(BUSY_ACK);
    assert_eq!(TransactionKey::for_request(&ack, true).unwrap(), *tx.key());
    let at = now + ms(9000);
    tx.handle_input(at, request_in(ack.clone()));
    assert!(
        drain(&mut tx).is_empty(),
        "the ACK of a non-2xx stays in the transaction"
    );
    assert_eq!(tx.state(), ServerInviteState::Confirmed);
    assert_eq!(
        tx.poll_timeout(),
        Some(at + ms(5000)),
        "G and H stopped, I = T4"
    );
    tx.handle_input(at + ms(1), request_in(ack));
    assert!(drain(&mut tx).is_empty());
    tx.handle_timeout(at + ms(5000));
    assert_eq!(drain(&mut tx), vec![TxOutput::Terminated]);
}

/// §17.2.1: without an ACK, G keeps retransmitting (4 s apart once capped) until Timer H =
/// 64*T1 times out.
#[test]
fn timer_h_times_out_without_ack() {
    let now = t0();
    let mut tx = started(now, BUSY_INVITE, false);
    tx.handle_input(now, TxInput::FromTu(resp(BUSY_486)));
    drain(&mut tx);
    let mut sent = Vec::new();
    let mut timed_out = None;
    while let Some(deadline) = tx.poll_timeout() {
        tx.handle_timeout(deadline);
        for out in drain(&mut tx) {
            match out {
                TxOutput::Transmit(_) => sent.push(deadline - now),
                TxOutput::Timeout => timed_out = Some(deadline - now),
                TxOutput::Terminated => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let expected: Vec<Duration> = [
        500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]
    .map(ms)
    .to_vec();
    assert_eq!(sent, expected);
    assert_eq!(timed_out, Some(ms(32_000)));
}

/// §17.2.1: over a reliable transport there is no Timer G and Timer I is zero; H still runs.
#[test]
fn reliable_transport_no_timer_g_and_timer_i_zero() {
    let now = t0();
    let mut tx = started(now, BUSY_INVITE, true);
    tx.handle_input(now + ms(10), TxInput::FromTu(resp(BUSY_486)));
    drain(&mut tx);
    assert_eq!(
        tx.poll_timeout(),
        Some(now + ms(10) + ms(32_000)),
        "only Timer H"
    );
    tx.handle_input(now + ms(20), request_in(req(BUSY_ACK)));
    assert_eq!(drain(&mut tx), vec![TxOutput::Terminated]);
    assert!(tx.is_terminated());
}

/// RFC 6026 §7.1: the TU's 2xx moves to Accepted; retransmitted INVITEs are absorbed, the TU's
/// own 2xx retransmissions are sent, an ACK that matches goes to the TU, Timer L ends it.
#[test]
fn ok_moves_to_accepted_until_timer_l() {
    let now = t0();
    let name = "inbound-originate-gw-01-ast2gw-invite-sdp.sip";
    let mut tx = started(now, name, false);
    let ok = resp("inbound-originate-gw-03-gw2ast-200-ok-invite-sdp.sip");
    let at = now + ms(300);
    tx.handle_timeout(now + ms(200));
    drain(&mut tx);
    tx.handle_input(at, TxInput::FromTu(ok.clone()));
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(ok.clone().into())]);
    assert_eq!(tx.state(), ServerInviteState::Accepted);
    assert_eq!(tx.poll_timeout(), Some(at + ms(32_000)));
    tx.handle_input(at + ms(400), request_in(req(name)));
    assert!(drain(&mut tx).is_empty());
    tx.handle_input(at + ms(500), TxInput::FromTu(ok.clone()));
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(ok.into())]);
    assert_eq!(
        tx.poll_timeout(),
        Some(at + ms(32_000)),
        "L is not restarted"
    );
    let mut ack = req("inbound-originate-gw-04-ast2gw-ack.sip");
    // The captured ACK for the 2xx has its own branch (§13.2.2.4) and so matches no
    // transaction; give it the INVITE's branch to exercise RFC 6026's Accepted handling.
    assert_ne!(TransactionKey::for_request(&ack, true).unwrap(), *tx.key());
    ack.headers = response_for(&req(name), 200, None, None)
        .headers
        .into_iter()
        .filter(|h| matches!(h, rsip::Header::Via(_)))
        .chain(
            ack.headers
                .into_iter()
                .filter(|h| !matches!(h, rsip::Header::Via(_))),
        )
        .collect::<Vec<_>>()
        .into();
    assert_eq!(TransactionKey::for_request(&ack, true).unwrap(), *tx.key());
    tx.handle_input(at + ms(600), request_in(ack.clone()));
    assert_eq!(drain(&mut tx), vec![TxOutput::ToTu(ack.into())]);
    tx.handle_timeout(at + ms(32_000));
    assert_eq!(drain(&mut tx), vec![TxOutput::Terminated]);
}

/// §17.2.4: a transport error terminates the transaction and informs the TU.
#[test]
fn transport_error_terminates() {
    let now = t0();
    let mut tx = started(now, BUSY_INVITE, false);
    tx.handle_input(now, TxInput::FromTu(resp(BUSY_486)));
    drain(&mut tx);
    tx.handle_input(now + ms(1), TxInput::TransportError);
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::TransportError, TxOutput::Terminated]
    );
    assert_eq!(tx.poll_timeout(), None);
}

/// RFC 3261 §9.2, Asterisk flow inbound-originate-gw-noanswer-cancel: the CANCEL is its own
/// non-INVITE server transaction whose key names the ringing INVITE's; the TU answers the
/// CANCEL 200 and the INVITE 487, and Asterisk's ACK confirms the INVITE transaction.
#[test]
fn cancel_while_ringing_gets_200_and_the_invite_487() {
    let now = t0();
    let flow = "inbound-originate-gw-noanswer-cancel";
    let mut itx = started(now, &format!("{flow}-01-ast2gw-invite-sdp.sip"), false);
    let ringing = resp(&format!("{flow}-02-gw2ast-180-ringing-invite.sip"));
    itx.handle_input(now + ms(20), TxInput::FromTu(ringing));
    drain(&mut itx);

    let cancel = req(&format!("{flow}-03-ast2gw-cancel.sip"));
    let cancel_key = TransactionKey::for_request(&cancel, true).unwrap();
    assert_ne!(cancel_key, *itx.key());
    assert_eq!(cancel_key.cancelled_invite().as_ref(), Some(itx.key()));
    let mut ctx = ServerNonInvite::new(
        now + ms(5000),
        cancel.clone(),
        false,
        TimerConfig::default(),
    );
    assert_eq!(ctx.poll_output(), Some(TxOutput::ToTu(cancel.into())));

    let ok_cancel = resp(&format!("{flow}-04-gw2ast-200-ok-cancel.sip"));
    ctx.handle_input(now + ms(5001), TxInput::FromTu(ok_cancel.clone()));
    assert_eq!(
        ctx.poll_output(),
        Some(TxOutput::Transmit(ok_cancel.into()))
    );
    assert_eq!(ctx.state(), ServerNonInviteState::Completed);

    let terminated = resp(&format!(
        "{flow}-05-gw2ast-487-request-terminated-invite.sip"
    ));
    itx.handle_input(now + ms(5002), TxInput::FromTu(terminated.clone()));
    assert_eq!(drain(&mut itx), vec![TxOutput::Transmit(terminated.into())]);
    let ack = req(&format!("{flow}-06-ast2gw-ack.sip"));
    assert_eq!(TransactionKey::for_request(&ack, true).unwrap(), *itx.key());
    itx.handle_input(now + ms(5003), request_in(ack));
    assert_eq!(itx.state(), ServerInviteState::Confirmed);
}

/// §17.2.3: the same branch from another sent-by is another transaction.
#[test]
fn sent_by_is_part_of_the_server_key() {
    let invite = req(BUSY_INVITE);
    let key = TransactionKey::for_request(&invite, true).unwrap();
    assert_eq!(key.sent_by.as_deref(), Some("127.0.0.1:5060"));
    let text = String::from_utf8(message::to_bytes(&invite.into()).to_vec()).unwrap();
    let moved = text.replacen("127.0.0.1:5060;rport", "127.0.0.2:5060;rport", 1);
    let moved = Request::try_from(message::parse(moved.as_bytes()).unwrap()).unwrap();
    let other = TransactionKey::for_request(&moved, true).unwrap();
    assert_eq!(other.branch, key.branch);
    assert_ne!(other, key);
}
