//! Server-reflexive address discovery for the WebRTC leg: one STUN Binding request (RFC 8489 §6)
//! sent from the call's WebRTC socket to the configured STUN server. Sans-I/O: build and parse bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const MAGIC_COOKIE: u32 = 0x2112_A442;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const XOR_MAPPED_ADDRESS: u16 = 0x0020;
const MAPPED_ADDRESS: u16 = 0x0001;

/// A 20-byte Binding request with the given transaction id (no attributes).
pub fn binding_request(transaction_id: [u8; 12]) -> [u8; 20] {
    let mut m = [0u8; 20];
    m[0..2].copy_from_slice(&BINDING_REQUEST.to_be_bytes());
    m[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m[8..20].copy_from_slice(&transaction_id);
    m
}

/// Whether `data` looks like a STUN message (RFC 8489 §6: two zero bits, magic cookie).
pub fn is_stun(data: &[u8]) -> bool {
    data.len() >= 20 && data[0] & 0xC0 == 0 && data[4..8] == MAGIC_COOKIE.to_be_bytes()
}

/// The mapped address of a Binding success response to `transaction_id`, if `data` is one.
pub fn parse_binding_response(data: &[u8], transaction_id: &[u8; 12]) -> Option<SocketAddr> {
    if !is_stun(data) || u16::from_be_bytes([data[0], data[1]]) != BINDING_SUCCESS {
        return None;
    }
    if &data[8..20] != transaction_id {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let body = data.get(20..20 + len)?;
    let mut plain = None;
    let mut off = 0;
    while off + 4 <= body.len() {
        let t = u16::from_be_bytes([body[off], body[off + 1]]);
        let l = usize::from(u16::from_be_bytes([body[off + 2], body[off + 3]]));
        let value = body.get(off + 4..off + 4 + l)?;
        match t {
            XOR_MAPPED_ADDRESS => return address(value, Some(&data[4..20])),
            MAPPED_ADDRESS => plain = address(value, None),
            _ => {}
        }
        off += 4 + l.div_ceil(4) * 4;
    }
    plain
}

/// Decodes a (XOR-)MAPPED-ADDRESS value; `xor` holds the cookie and transaction id.
fn address(v: &[u8], xor: Option<&[u8]>) -> Option<SocketAddr> {
    if v.len() < 4 {
        return None;
    }
    let family = v[1];
    let mut port = u16::from_be_bytes([v[2], v[3]]);
    let mask = |i: usize| xor.map_or(0, |x| x[i]);
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    let ip = match family {
        0x01 => {
            let a = v.get(4..8)?;
            IpAddr::V4(Ipv4Addr::new(
                a[0] ^ mask(0),
                a[1] ^ mask(1),
                a[2] ^ mask(2),
                a[3] ^ mask(3),
            ))
        }
        0x02 => {
            let a = v.get(4..20)?;
            let mut b = [0u8; 16];
            for (i, byte) in b.iter_mut().enumerate() {
                *byte = a[i] ^ mask(i);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5769 §2.2: the sample IPv4 response maps to 192.0.2.1:32853.
    #[test]
    fn rfc5769_ipv4_response() {
        let data = include_bytes!("../../tests/data/stun/2.2-sample-ipv4-response.bin");
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&data[8..20]);
        assert_eq!(
            parse_binding_response(data, &tid),
            Some("192.0.2.1:32853".parse().unwrap())
        );
        // Another transaction's response is not ours.
        assert_eq!(parse_binding_response(data, &[0u8; 12]), None);
    }

    /// RFC 5769 §2.3: the sample IPv6 response maps to [2001:db8:1234:5678:11:2233:4455:6677]:32853.
    #[test]
    fn rfc5769_ipv6_response() {
        let data = include_bytes!("../../tests/data/stun/2.3-sample-ipv6-response.bin");
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&data[8..20]);
        assert_eq!(
            parse_binding_response(data, &tid),
            Some(
                "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                    .parse()
                    .unwrap()
            )
        );
    }

    #[test]
    fn request_is_stun_and_garbage_is_not() {
        let r = binding_request([7; 12]);
        assert!(is_stun(&r));
        assert_eq!(parse_binding_response(&r, &[7; 12]), None);
        assert!(!is_stun(&[0x80, 0, 0, 0]));
        for n in 0..40 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37) as u8).collect();
            let _ = parse_binding_response(&junk, &[0; 12]);
        }
    }
}
