//! Time-limited TURN credentials for clients (the "TURN REST API" scheme coturn implements with
//! `use-auth-secret`): user name `<expiry unix time>:<user>`, password
//! `base64(HMAC-SHA1(secret, user name))`. The TURN server recomputes it from the shared secret.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The username and credential for `user`, valid until `expiry` (Unix seconds).
pub fn credentials(secret: &[u8], user: &str, expiry: u64) -> (String, String) {
    let username = format!("{expiry}:{user}");
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return (username, String::new()),
    };
    mac.update(username.as_bytes());
    let credential = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, credential)
}

/// The `ice_servers` entry for a client: the TURN URLs with fresh credentials.
pub fn ice_server(
    turn: &gateway_config::TurnConfig,
    user: &str,
    now_unix: u64,
) -> serde_json::Value {
    let expiry = now_unix + turn.ttl.as_secs();
    let (username, credential) = credentials(turn.secret.expose().as_bytes(), user, expiry);
    serde_json::json!({ "urls": turn.urls, "username": username, "credential": credential })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value coturn (and Python's `hmac`) computes for the same secret and user name:
    /// `base64(hmac.new(b"coturn-secret", b"1700000000:alice", sha1).digest())`.
    #[test]
    fn matches_the_coturn_rest_scheme() {
        let (u, c) = credentials(b"coturn-secret", "alice", 1_700_000_000);
        assert_eq!(u, "1700000000:alice");
        assert_eq!(c, "xDhekumuF8MOMl2uq3DuHW5R3Es=");
    }

    /// RFC 2202 §3, test case 2 (HMAC-SHA1 key "Jefe"), as a check of the primitive.
    #[test]
    fn hmac_sha1_rfc2202_vector() {
        let mut mac = Hmac::<Sha1>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex_of(&mac.finalize().into_bytes()),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
