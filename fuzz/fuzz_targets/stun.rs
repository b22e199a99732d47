//! STUN Binding responses (RFC 8489 §6, §14.1, §14.2) read by the gateway's srflx discovery:
//! never panics on any datagram, with the input's own transaction id or another one.
#![no_main]

use gateway::call::stun::{binding_request, is_stun, parse_binding_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = is_stun(data);
    // The transaction id the datagram carries, so the attribute walk is reached.
    let mut tid = [0u8; 12];
    if let Some(t) = data.get(8..20) {
        tid.copy_from_slice(t);
    }
    let _ = parse_binding_response(data, &tid);
    let _ = parse_binding_response(data, &[0u8; 12]);
    let req = binding_request(tid);
    assert!(is_stun(&req), "our own Binding request is not STUN");
    assert_eq!(
        parse_binding_response(&req, &tid),
        None,
        "a request taken for a response"
    );
});
