//! Server transactions of RFC 2543 peers (RFC 3261 §17.2.3): when the top Via has no
//! `z9hG4bK` branch, a request matches the transaction whose request had the same Request-URI,
//! To tag, From tag, Call-ID, CSeq and top Via; an ACK matches the INVITE's transaction on all
//! but the To tag, which must be the one of the final response the transaction sent. Driven
//! with the INVITE of RFC 4475 §3.4.1 (`inv2543`: no branch, no From tag).

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use gateway_sip::message::{self, response_for};
use gateway_sip::transaction::{
    ServerInvite, ServerInviteState, TimerConfig, TransactionKey, TxInput, TxOutput,
};
use rsip::{Method, Request};

mod tx_common;
use tx_common::{ms, t0};

fn inv2543() -> String {
    let path = format!(
        "{}/tests/data/rfc4475/inv2543.dat",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap()
}

fn request(text: &str) -> Request {
    Request::try_from(message::parse(text.as_bytes()).unwrap()).unwrap()
}

fn key(req: &Request) -> TransactionKey {
    TransactionKey::for_request(req, true).unwrap()
}

/// The ACK an RFC 2543 UAC sends for a final response with To tag `tag` (§17.1.1.3: same
/// Request-URI, top Via, From, Call-ID and CSeq number as the INVITE; the response's To).
fn ack(tag: &str) -> Request {
    request(&format!(
        "ACK sip:UserB@example.com SIP/2.0\r\nVia: SIP/2.0/UDP iftgw.example.com\r\n\
         From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n\
         To: sip:+16505552222@ss1.example.net;user=phone;tag={tag}\r\n\
         Call-ID: inv2543.1717@ift.client.example.com\r\nCSeq: 56 ACK\r\n\r\n"
    ))
}

fn drain(tx: &mut ServerInvite) -> Vec<TxOutput> {
    std::iter::from_fn(|| tx.poll_output()).collect()
}

/// §17.2.3: the INVITE gets an RFC 2543 key (no branch to key on), a client key is still
/// refused (we never send such a request), and every part of the identity counts.
#[test]
fn rfc2543_request_is_keyed_by_its_identity() {
    let invite = request(&inv2543());
    let k = key(&invite);
    let id = k.rfc2543.clone().unwrap();
    assert_eq!(k.method, Method::Invite);
    assert_eq!(k.branch, "");
    assert_eq!(id.request_uri, "sip:UserB@example.com");
    assert_eq!((id.from_tag, id.to_tag), (None, None));
    assert_eq!(id.call_id, "inv2543.1717@ift.client.example.com");
    assert_eq!(id.cseq, 56);
    assert_eq!(
        TransactionKey::for_request(&invite, false),
        Err(gateway_sip::Error::NoRfc3261Branch)
    );
    // The retransmission is the same transaction; so is a top Via written differently but
    // equal by §20.42 (parameter order, case of the host and of parameter names).
    assert_eq!(key(&request(&inv2543())), k);
    let with_params = |via: &str| {
        key(&request(&inv2543().replace(
            "Via: SIP/2.0/UDP iftgw.example.com",
            &format!("Via: {via}"),
        )))
    };
    assert_eq!(
        with_params("SIP/2.0/UDP iftgw.example.com;received=192.0.2.1;ttl=3"),
        with_params("SIP/2.0/UDP IFTGW.example.com;TTL=3;received=192.0.2.1")
    );
    // Any difference is another transaction.
    for (from, to) in [
        (
            "Via: SIP/2.0/UDP iftgw.example.com",
            "Via: SIP/2.0/UDP iftgw.example.com:5070",
        ),
        (
            "Via: SIP/2.0/UDP iftgw.example.com",
            "Via: SIP/2.0/TCP iftgw.example.com",
        ),
        (
            "INVITE sip:UserB@example.com",
            "INVITE sip:UserC@example.com",
        ),
        ("CSeq: 56 INVITE", "CSeq: 57 INVITE"),
        ("Call-ID: inv2543.1717", "Call-ID: inv2543.1718"),
        (";user=phone>", ";user=phone>;tag=f1"),
        (
            "ss1.example.net;user=phone",
            "ss1.example.net;user=phone;tag=t1",
        ),
    ] {
        let other = inv2543().replacen(from, to, 1);
        assert_ne!(key(&request(&other)), k, "{to}");
    }
    // An RFC 3261 request never shares a key with an RFC 2543 one.
    let rfc3261 = inv2543().replace("iftgw.example.com", "iftgw.example.com;branch=z9hG4bK1");
    assert_eq!(key(&request(&rfc3261)).rfc2543, None);
}

/// §17.2.3 ACK rule: the ACK for a non-2xx is looked up without its To tag (the INVITE had
/// none) and belongs to the transaction only with the To tag of the final response sent; it
/// then ends the retransmissions (§17.2.1, Confirmed). A CANCEL finds the INVITE (§9.2).
#[test]
fn ack_matches_by_the_to_tag_of_the_final_response() {
    let now = t0();
    let invite = request(&inv2543());
    let mut tx = ServerInvite::new(now, invite.clone(), false, TimerConfig::default());
    assert_eq!(drain(&mut tx), vec![TxOutput::ToTu(invite.clone().into())]);
    // Before a final response, no ACK belongs to the transaction.
    assert!(!tx.matches(&ack("t1")));
    let busy = response_for(&invite, 486, None, Some("t1"));
    tx.handle_input(now + ms(10), TxInput::FromTu(busy.clone()));
    assert_eq!(
        drain(&mut tx),
        vec![TxOutput::Transmit(busy.clone().into())]
    );
    assert_eq!(tx.state(), ServerInviteState::Completed);

    let good = ack("t1");
    let keys = key(&good).lookup_keys(&good);
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], *tx.key());
    assert_eq!(keys[1], *tx.key());
    assert!(tx.matches(&good));
    // An ACK for another response (another To tag) is not ours.
    let other = ack("t2");
    assert_eq!(key(&other).lookup_keys(&other)[1], *tx.key());
    assert!(!tx.matches(&other));
    // Retransmissions of the INVITE are matched and answered again.
    let again = request(&inv2543());
    assert_eq!(key(&again).lookup_keys(&again), vec![tx.key().clone()]);
    assert!(tx.matches(&again));
    tx.handle_input(now + ms(20), TxInput::Message(again.into()));
    assert_eq!(drain(&mut tx), vec![TxOutput::Transmit(busy.into())]);
    tx.handle_input(now + ms(30), TxInput::Message(good.into()));
    assert!(drain(&mut tx).is_empty());
    assert_eq!(tx.state(), ServerInviteState::Confirmed);

    let cancel = request(
        &inv2543()
            .replace("INVITE sip:", "CANCEL sip:")
            .replace("56 INVITE", "56 CANCEL"),
    );
    assert_eq!(key(&cancel).cancelled_invite().as_ref(), Some(tx.key()));
}

/// §17.2.3 for a re-INVITE (the To tag already set): the ACK is found under its own key.
#[test]
fn ack_to_a_reinvite_matches_under_its_own_key() {
    let now = t0();
    let text = inv2543().replace(
        "ss1.example.net;user=phone",
        "ss1.example.net;user=phone;tag=t1",
    );
    let reinvite = request(&text);
    let mut tx = ServerInvite::new(now, reinvite.clone(), true, TimerConfig::default());
    drain(&mut tx);
    tx.handle_input(
        now,
        TxInput::FromTu(response_for(&reinvite, 488, None, Some("ignored"))),
    );
    drain(&mut tx);
    let good = ack("t1");
    assert_eq!(key(&good).lookup_keys(&good)[0], *tx.key());
    assert!(tx.matches(&good));
    tx.handle_input(now + ms(1), TxInput::Message(good.into()));
    assert_eq!(drain(&mut tx), vec![TxOutput::Terminated]);
}
