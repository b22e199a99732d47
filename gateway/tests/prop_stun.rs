//! Property tests of the STUN Binding response reader (RFC 8489 §6, §14.1, §14.2): it never panics
//! on arbitrary or mutated datagrams, and a response written per RFC 8489 §14.2 for any address
//! reads back as that address (`parse(print(addr)) == addr`).
//!
//! Cases come from a seeded ChaCha20 generator (the gateway crate has no proptest), so every run
//! checks the same cases and a failure names the case that broke.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use gateway::call::stun::{binding_request, is_stun, parse_binding_response};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

const COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const CASES: usize = 4096;

/// A Binding success response (RFC 8489 §6.3.1) carrying `attrs`, padded to 4 bytes each (§14).
fn response(tid: &[u8; 12], attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (t, v) in attrs {
        body.extend_from_slice(&t.to_be_bytes());
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
        body.resize(body.len().div_ceil(4) * 4, 0);
    }
    let mut m = vec![0x01, 0x01];
    m.extend_from_slice(&(body.len() as u16).to_be_bytes());
    m.extend_from_slice(&COOKIE);
    m.extend_from_slice(tid);
    m.extend_from_slice(&body);
    m
}

/// The XOR-MAPPED-ADDRESS value of `addr` (RFC 8489 §14.2): port XOR the cookie's high half,
/// address XOR the cookie (IPv4) or the cookie and transaction id (IPv6).
fn xor_mapped(addr: SocketAddr, tid: &[u8; 12]) -> Vec<u8> {
    let mut mask = COOKIE.to_vec();
    mask.extend_from_slice(tid);
    let port = addr.port() ^ 0x2112;
    let (family, ip) = match addr.ip() {
        IpAddr::V4(a) => (1u8, a.octets().to_vec()),
        IpAddr::V6(a) => (2u8, a.octets().to_vec()),
    };
    let mut v = vec![0, family];
    v.extend_from_slice(&port.to_be_bytes());
    v.extend(ip.iter().zip(&mask).map(|(b, m)| b ^ m));
    v
}

/// The MAPPED-ADDRESS value of `addr` (RFC 8489 §14.1), in the clear.
fn mapped(addr: SocketAddr) -> Vec<u8> {
    let mut v = vec![0];
    match addr.ip() {
        IpAddr::V4(a) => {
            v.push(1);
            v.extend_from_slice(&addr.port().to_be_bytes());
            v.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            v.push(2);
            v.extend_from_slice(&addr.port().to_be_bytes());
            v.extend_from_slice(&a.octets());
        }
    }
    v
}

fn random_addr(rng: &mut ChaCha20Rng) -> SocketAddr {
    let ip = if rng.r#gen() {
        IpAddr::V4(Ipv4Addr::from(rng.r#gen::<u32>()))
    } else {
        IpAddr::V6(Ipv6Addr::from(rng.r#gen::<u128>()))
    };
    SocketAddr::new(ip, rng.r#gen())
}

fn random_bytes(rng: &mut ChaCha20Rng, max: usize) -> Vec<u8> {
    let mut v = vec![0u8; rng.gen_range(0..=max)];
    rng.fill_bytes(&mut v);
    v
}

/// RFC 8489 §14.2: any address written as XOR-MAPPED-ADDRESS, after unknown attributes
/// (comprehension-optional ones are skipped, §14), reads back unchanged.
#[test]
fn xor_mapped_address_round_trips() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x5707);
    for case in 0..CASES {
        let tid: [u8; 12] = rng.r#gen();
        let addr = random_addr(&mut rng);
        let mut attrs: Vec<(u16, Vec<u8>)> = (0..rng.gen_range(0..3))
            .map(|_| {
                (
                    0x8000 | rng.gen_range(0x23u16..0x7FFF),
                    random_bytes(&mut rng, 9),
                )
            })
            .collect();
        attrs.push((0x0020, xor_mapped(addr, &tid)));
        let msg = response(&tid, &attrs);
        assert!(is_stun(&msg), "case {case}: not STUN");
        assert_eq!(
            parse_binding_response(&msg, &tid),
            Some(addr),
            "case {case}: {msg:02x?}"
        );
        let other: [u8; 12] = rng.r#gen();
        if other != tid {
            assert_eq!(
                parse_binding_response(&msg, &other),
                None,
                "case {case}: another transaction's"
            );
        }
    }
}

/// RFC 8489 §14.1: a plain MAPPED-ADDRESS (RFC 3489 servers) reads back unchanged, and
/// XOR-MAPPED-ADDRESS wins when both are present.
#[test]
fn mapped_address_round_trips_and_xor_wins() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x5708);
    for case in 0..CASES {
        let tid: [u8; 12] = rng.r#gen();
        let (plain, xored) = (random_addr(&mut rng), random_addr(&mut rng));
        let msg = response(&tid, &[(0x0001, mapped(plain))]);
        assert_eq!(
            parse_binding_response(&msg, &tid),
            Some(plain),
            "case {case}"
        );
        let both = response(
            &tid,
            &[(0x0001, mapped(plain)), (0x0020, xor_mapped(xored, &tid))],
        );
        assert_eq!(
            parse_binding_response(&both, &tid),
            Some(xored),
            "case {case}"
        );
    }
}

/// No datagram makes the reader panic: random bytes, random bytes behind a valid header (so
/// the attribute walk runs on garbage, with lying lengths), and truncations of valid responses.
#[test]
fn never_panics_on_arbitrary_datagrams() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x5709);
    for _ in 0..CASES {
        let tid: [u8; 12] = rng.r#gen();
        let junk = random_bytes(&mut rng, 96);
        let _ = is_stun(&junk);
        let _ = parse_binding_response(&junk, &tid);

        let mut framed = response(&tid, &[]);
        framed.extend_from_slice(&junk);
        let claimed: u16 = if rng.r#gen() {
            junk.len() as u16
        } else {
            rng.r#gen()
        };
        framed[2..4].copy_from_slice(&claimed.to_be_bytes());
        let _ = parse_binding_response(&framed, &tid);

        let addr = random_addr(&mut rng);
        let valid = response(&tid, &[(0x0020, xor_mapped(addr, &tid))]);
        let cut = rng.gen_range(0..=valid.len());
        let _ = parse_binding_response(&valid[..cut], &tid);
        let mut flipped = valid.clone();
        let at = rng.gen_range(0..flipped.len());
        flipped[at] ^= 1 << rng.gen_range(0..8);
        let _ = parse_binding_response(&flipped, &tid);
    }
}

/// RFC 8489 §6: our own request is STUN, and never taken for a response, whatever the id.
#[test]
fn own_request_is_never_a_response() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x570A);
    for _ in 0..CASES {
        let tid: [u8; 12] = rng.r#gen();
        let req = binding_request(tid);
        assert!(is_stun(&req));
        assert_eq!(parse_binding_response(&req, &tid), None);
    }
}
