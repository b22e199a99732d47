//! The Odoo `/jsonrpc` wire format without I/O: encode a call, decode (and type) the answer.
//!
//! Shapes come from the Odoo 18 captures in `tests/data/` (see its README): errors arrive with HTTP 200,
//! a method returning `None` has no `result` key, a session error has `"id": null`, and an invalid JSON
//! body gets HTTP 400 with a `text/html` body.

use serde::Serialize;
use serde_json::Value;

use crate::error::OdooError;

/// `{"jsonrpc": "2.0", "method": "call", "params": {...}, "id": n}` — what `/jsonrpc` expects.
#[derive(Debug, Serialize)]
struct Call<'a> {
    jsonrpc: &'static str,
    method: &'static str,
    params: Params<'a>,
    id: u64,
}

#[derive(Debug, Serialize)]
struct Params<'a> {
    service: &'a str,
    method: &'a str,
    args: &'a [Value],
}

/// Encodes a `/jsonrpc` call of `service.method(*args)` with request id `id`.
pub fn encode_call(id: u64, service: &str, method: &str, args: &[Value]) -> Vec<u8> {
    let call = Call {
        jsonrpc: "2.0",
        method: "call",
        params: Params {
            service,
            method,
            args,
        },
        id,
    };
    // Serializing a struct of strings and `Value`s into memory cannot fail.
    serde_json::to_vec(&call).unwrap_or_default()
}

/// Decodes the answer to request `id`: the `result` (`Null` when Odoo omitted it) or a typed error.
pub fn decode_response(status: u16, body: &[u8], id: u64) -> Result<Value, OdooError> {
    if (500..600).contains(&status) {
        return Err(OdooError::Http5xx { status });
    }
    if status != 200 {
        return Err(OdooError::InvalidResponse {
            reason: format!("HTTP {status}: {}", snippet(body)),
        });
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| OdooError::InvalidResponse {
        reason: format!("body is not JSON ({e}): {}", snippet(body)),
    })?;
    let Value::Object(mut object) = value else {
        return Err(OdooError::InvalidResponse {
            reason: "body is not a JSON object".into(),
        });
    };
    if let Some(error) = object.get("error") {
        // Odoo answers session errors with `"id": null`, so errors are typed whatever their id.
        return Err(OdooError::from_rpc_error(error));
    }
    match object.get("id") {
        Some(Value::Number(n)) if n.as_u64() == Some(id) => {}
        other => {
            return Err(OdooError::InvalidResponse {
                reason: format!("response id {other:?} does not match request id {id}"),
            });
        }
    }
    Ok(object.remove("result").unwrap_or(Value::Null))
}

/// At most 120 characters of a body, for error messages (never contains our secrets: it is Odoo's answer).
fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(120).collect()
}

/// Serializes like Python's `json.dumps` (what Odoo uses): `", "` and `": "` separators, UTF-8 kept.
pub fn to_odoo_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    // Writing into a Vec fails only for maps with non-string keys, which callers never build.
    match value.serialize(&mut ser) {
        Ok(()) => out,
        Err(_) => b"null".to_vec(),
    }
}

/// A serde_json formatter with Python's default separators.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn call_is_encoded_as_odoo_expects() {
        let body = encode_call(
            7,
            "common",
            "login",
            &[json!("gw"), json!("admin"), json!("x")],
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"jsonrpc": "2.0", "method": "call",
                   "params": {"service": "common", "method": "login", "args": ["gw", "admin", "x"]}, "id": 7})
        );
    }

    #[test]
    fn missing_result_is_null() {
        assert_eq!(
            decode_response(200, br#"{"jsonrpc": "2.0", "id": 102}"#, 102),
            Ok(Value::Null)
        );
    }

    #[test]
    fn mismatched_id_is_invalid() {
        let r = decode_response(200, br#"{"jsonrpc": "2.0", "id": 3, "result": 1}"#, 4);
        assert!(matches!(r, Err(OdooError::InvalidResponse { .. })));
    }

    #[test]
    fn status_503_is_retryable() {
        let r = decode_response(503, b"<html>Service Unavailable</html>", 1);
        assert_eq!(r, Err(OdooError::Http5xx { status: 503 }));
        assert!(r.unwrap_err().is_retryable());
    }

    #[test]
    fn python_separators() {
        let bytes = to_odoo_json(&json!({"a": [1, 2], "b": {"c": null}}));
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"a": [1, 2], "b": {"c": null}}"#
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics(status in 0u16..700, body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_response(status, &body, 1);
        }

        #[test]
        fn decode_never_panics_on_json_like(body in r#"\{"(id|error|result|jsonrpc)": ?(null|1|"x"|\{\}|\[\]|\{"data": 1\})\}"#) {
            let _ = decode_response(200, body.as_bytes(), 1);
        }
    }
}
