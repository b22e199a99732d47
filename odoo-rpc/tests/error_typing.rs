//! Every captured Odoo 18 `/jsonrpc` and `/web` answer decodes to the right result or typed error
//! (tests/data/README.md: errors with HTTP 200, `id: null` on session expiry, no `result` for None,
//! HTTP 400 text/html for invalid JSON).
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use gateway_odoo::OdooError;
use gateway_odoo::jsonrpc::decode_response;
use serde_json::{Value, json};

fn capture(name: &str) -> (u16, Vec<u8>, u64) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let meta: Value =
        serde_json::from_slice(&std::fs::read(format!("{dir}/{name}.json")).unwrap()).unwrap();
    let body = std::fs::read(format!("{dir}/raw/{name}.body")).unwrap();
    let status = meta["http_status"].as_u64().unwrap() as u16;
    // The request id; the invalid-JSON case has no parsed request (its answer has no id either).
    let id = meta["request"]["id"].as_u64().unwrap_or(0);
    (status, body, id)
}

fn decode(name: &str) -> Result<Value, OdooError> {
    let (status, body, id) = capture(name);
    decode_response(status, &body, id)
}

fn other(name: &str, message: &str) -> OdooError {
    OdooError::Other {
        name: name.into(),
        message: message.into(),
    }
}

#[test]
fn successes_and_false_logins() {
    assert_eq!(decode("common-login-ok"), Ok(json!(2)));
    assert_eq!(decode("common-login-apikey-ok"), Ok(json!(2)));
    assert_eq!(decode("common-authenticate-ok"), Ok(json!(2)));
    for refused in [
        "common-login-wrong-password",
        "common-login-unknown-user",
        "common-authenticate-wrong-password",
    ] {
        assert_eq!(decode(refused), Ok(json!(false)), "{refused}");
    }
    assert_eq!(decode("common-version-ok").unwrap()["server_serie"], "18.0");
    assert_eq!(
        decode("jsonrpc-malformed-method-not-call").unwrap()["server_version"],
        "18.0"
    );
    assert_eq!(
        decode("object-execute_kw-read-missing-record"),
        Ok(json!([]))
    );
    assert_eq!(
        decode("object-execute_kw-search_read-discuss.channel-ok").unwrap()[0]["name"],
        "general"
    );
    assert_eq!(
        decode("object-execute_kw-search_read-discuss.channel-apikey-ok").unwrap()[1]["id"],
        2
    );
    assert_eq!(
        decode("web-dataset-call_kw-search_read-session-ok").unwrap()[0]["id"],
        1
    );
    assert_eq!(decode("web-session-authenticate-ok").unwrap()["uid"], 2);
    assert_eq!(decode("web-session-get_session_info-ok").unwrap()["uid"], 2);
}

#[test]
fn a_method_returning_none_has_no_result_key() {
    assert_eq!(decode("web-session-destroy-ok"), Ok(Value::Null));
}

#[test]
fn credential_and_permission_errors() {
    for name in [
        "object-execute_kw-wrong-password",
        "web-session-authenticate-wrong-password",
        "web-session-authenticate-apikey-refused",
    ] {
        let e = decode(name).unwrap_err();
        assert_eq!(e, OdooError::AccessDenied, "{name}");
        assert!(!e.is_retryable() && e.is_access_denied());
    }
    assert_eq!(
        decode("object-execute_kw-private-method"),
        Err(OdooError::AccessError {
            message: "Private methods (such as 'discuss.channel._compute_display_name') cannot be called remotely."
                .into()
        })
    );
    assert_eq!(
        decode("web-session-authenticate-db-not-found"),
        Err(OdooError::AccessError {
            message: "Database not found.".into()
        })
    );
    assert_eq!(
        decode("object-execute_kw-wrong-uid"),
        Err(OdooError::MissingRecord {
            message:
                "Record does not exist or has been deleted.\n(Record: res.users(9999,), User: 9999)"
                    .into()
        })
    );
}

#[test]
fn missing_model_method_and_database() {
    let model = decode("object-execute_kw-model-not-found").unwrap_err();
    assert_eq!(
        model,
        OdooError::ModelNotFound {
            model: "webrtc.session".into()
        }
    );
    assert!(!model.is_retryable());
    assert_eq!(
        decode("object-execute_kw-method-not-found"),
        Err(OdooError::MethodNotFound {
            method: "discuss.channel.no_such_method".into()
        })
    );
    for name in [
        "common-login-db-not-found",
        "object-execute_kw-db-not-found",
    ] {
        let e = decode(name).unwrap_err();
        assert_eq!(
            e,
            OdooError::DatabaseNotFound {
                database: "nosuchdb".into()
            },
            "{name}"
        );
        assert!(!e.is_retryable());
    }
}

#[test]
fn validation_and_other_server_errors() {
    for name in [
        "object-execute_kw-create-missing-required-field",
        "object-execute_kw-create-missing-required-field-res.users",
    ] {
        let e = decode(name).unwrap_err();
        assert!(
            matches!(&e, OdooError::Validation { message } if message.contains("a mandatory field is not set")),
            "{name}: {e:?}"
        );
        assert!(!e.is_retryable());
    }
    let cases = [
        (
            "object-execute_kw-bad-domain",
            "builtins.ValueError",
            "Invalid field discuss.channel.no_such_field in leaf ('no_such_field', '=', 1)",
        ),
        (
            "object-execute_kw-write-missing-record",
            "builtins.IndexError",
            "list index out of range",
        ),
        (
            "jsonrpc-malformed-params-args-not-list",
            "builtins.KeyError",
            "0",
        ),
        (
            "jsonrpc-malformed-params-is-list",
            "builtins.TypeError",
            "cannot convert dictionary update sequence element #0 to a sequence",
        ),
        (
            "jsonrpc-malformed-params-missing-service",
            "builtins.TypeError",
            "RPC.jsonrpc() missing 1 required positional argument: 'service'",
        ),
        (
            "jsonrpc-malformed-params-unknown-method",
            "builtins.Exception",
            "Method not found: nosuchmethod",
        ),
        (
            "jsonrpc-malformed-params-unknown-service",
            "builtins.KeyError",
            "nosuchservice",
        ),
        (
            "jsonrpc-malformed-params-wrong-arg-count",
            "builtins.TypeError",
            "exp_login() missing 1 required positional argument: 'password'",
        ),
    ];
    for (file, name, message) in cases {
        assert_eq!(decode(file), Err(other(name, message)), "{file}");
    }
}

#[test]
fn session_expired_has_a_null_id_and_is_still_typed() {
    for name in [
        "web-dataset-call_kw-no-session",
        "web-session-get_session_info-after-destroy",
    ] {
        let (status, body, id) = capture(name);
        assert!(String::from_utf8_lossy(&body).contains("\"id\": null"));
        assert_eq!(
            decode_response(status, &body, id),
            Err(OdooError::SessionExpired),
            "{name}"
        );
    }
}

#[test]
fn invalid_json_gets_http_400_text_which_is_an_invalid_response() {
    let (status, body, _) = capture("jsonrpc-malformed-body-invalid-json");
    assert_eq!((status, body.as_slice()), (400, &b"Invalid JSON data"[..]));
    let e = decode_response(status, &body, 1).unwrap_err();
    assert!(
        matches!(&e, OdooError::InvalidResponse { reason } if reason.contains("Invalid JSON data")),
        "{e:?}"
    );
    assert!(!e.is_retryable());
}
