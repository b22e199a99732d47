//! Typed Odoo errors: from the JSON-RPC `error` object (always HTTP 200) and from the transport.

use serde_json::Value;

/// Everything that can go wrong with one Odoo JSON-RPC call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OdooError {
    /// `common.login`/`authenticate` answered `false`: wrong login, password or API key.
    #[error("Odoo refused the login (wrong login, password or API key)")]
    LoginRefused,
    /// `odoo.exceptions.AccessDenied`: the credentials were refused on a call.
    #[error("Odoo access denied")]
    AccessDenied,
    /// `odoo.exceptions.AccessError`: authenticated, but not allowed (group, record rule, private method).
    #[error("Odoo access error: {message}")]
    AccessError {
        /// Odoo's message.
        message: String,
    },
    /// `odoo.exceptions.ValidationError`: the server rejected the data (constraint, missing field).
    #[error("Odoo validation error: {message}")]
    Validation {
        /// Odoo's message.
        message: String,
    },
    /// `odoo.exceptions.UserError` "Object X doesn't exist": the model (addon) is not installed.
    #[error("Odoo model {model} does not exist (is the addon installed?)")]
    ModelNotFound {
        /// The missing model, e.g. `webrtc.session`.
        model: String,
    },
    /// `odoo.exceptions.UserError` other than a missing model.
    #[error("Odoo user error: {message}")]
    UserError {
        /// Odoo's message.
        message: String,
    },
    /// `odoo.exceptions.MissingError`: a record (or the uid's user) does not exist.
    #[error("Odoo missing record: {message}")]
    MissingRecord {
        /// Odoo's message.
        message: String,
    },
    /// `builtins.AttributeError` "The method 'model.method' does not exist".
    #[error("Odoo method {method} does not exist (is the addon up to date?)")]
    MethodNotFound {
        /// `model.method` as Odoo names it.
        method: String,
    },
    /// `psycopg2.OperationalError` `database "X" does not exist`.
    #[error("Odoo database {database} does not exist")]
    DatabaseNotFound {
        /// The database name from the libpq message.
        database: String,
    },
    /// Another `psycopg2.OperationalError`: Odoo cannot reach PostgreSQL (transient).
    #[error("Odoo database unavailable: {message}")]
    DatabaseUnavailable {
        /// The libpq message.
        message: String,
    },
    /// `odoo.http.SessionExpiredException` (error code 100, `"id": null`).
    #[error("Odoo session expired")]
    SessionExpired,
    /// Any other server exception.
    #[error("Odoo error {name}: {message}")]
    Other {
        /// `error.data.name`, the Python exception path.
        name: String,
        /// `error.data.message`.
        message: String,
    },
    /// No answer within the configured timeout.
    #[error("Odoo did not answer within the timeout")]
    Timeout,
    /// The TCP connection could not be established.
    #[error("cannot connect to Odoo: {message}")]
    ConnectionRefused {
        /// The transport's reason.
        message: String,
    },
    /// The connection broke during the exchange.
    #[error("Odoo connection failed: {message}")]
    Transport {
        /// The transport's reason.
        message: String,
    },
    /// HTTP 5xx (a proxy in front of Odoo, or Odoo restarting).
    #[error("Odoo answered HTTP {status}")]
    Http5xx {
        /// The HTTP status code.
        status: u16,
    },
    /// A body that is not a JSON-RPC response (or a non-200, non-5xx status such as 400 "Invalid JSON data").
    #[error("invalid response from Odoo: {reason}")]
    InvalidResponse {
        /// What was wrong.
        reason: String,
    },
}

impl OdooError {
    /// Whether retrying the same call later can succeed without anyone changing Odoo or the configuration.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Timeout
                | Self::ConnectionRefused { .. }
                | Self::Transport { .. }
                | Self::Http5xx { .. }
                | Self::DatabaseUnavailable { .. }
        )
    }

    /// Whether the credentials were refused (the client then logs in again, once).
    pub fn is_access_denied(&self) -> bool {
        matches!(self, Self::AccessDenied | Self::LoginRefused)
    }

    /// Types a JSON-RPC `error` object (`{"code", "message", "data": {"name", "message", ...}}`).
    pub fn from_rpc_error(error: &Value) -> Self {
        let code = error.get("code").and_then(Value::as_i64);
        let data = error.get("data");
        let name = data
            .and_then(|d| d.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let message = data
            .and_then(|d| d.get("message"))
            .and_then(Value::as_str)
            .or_else(|| error.get("message").and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned();
        if code == Some(100) || name == "odoo.http.SessionExpiredException" {
            return Self::SessionExpired;
        }
        match name {
            "odoo.exceptions.AccessDenied" => Self::AccessDenied,
            "odoo.exceptions.AccessError" => Self::AccessError { message },
            "odoo.exceptions.ValidationError" => Self::Validation { message },
            "odoo.exceptions.MissingError" => Self::MissingRecord { message },
            "odoo.exceptions.UserError" => match between(&message, "Object ", " doesn't exist") {
                Some(model) => Self::ModelNotFound { model },
                None => Self::UserError { message },
            },
            "builtins.AttributeError" => {
                match between(&message, "The method '", "' does not exist") {
                    Some(method) => Self::MethodNotFound { method },
                    None => Self::Other {
                        name: name.to_owned(),
                        message,
                    },
                }
            }
            "psycopg2.OperationalError" => {
                match between(&message, "database \"", "\" does not exist") {
                    Some(database) => Self::DatabaseNotFound { database },
                    None => Self::DatabaseUnavailable { message },
                }
            }
            _ => Self::Other {
                name: name.to_owned(),
                message,
            },
        }
    }
}

/// The text between `prefix` and the next `suffix`, when both are present and it is non-empty.
fn between(text: &str, prefix: &str, suffix: &str) -> Option<String> {
    let start = text.find(prefix)? + prefix.len();
    let rest = text.get(start..)?;
    let end = rest.find(suffix)?;
    let inner = rest.get(..end)?;
    (!inner.is_empty()).then(|| inner.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(name: &str, message: &str) -> Value {
        json!({"code": 200, "message": "Odoo Server Error", "data": {"name": name, "message": message}})
    }

    #[test]
    fn user_error_that_is_not_a_missing_model_stays_user_error() {
        let e = OdooError::from_rpc_error(&err("odoo.exceptions.UserError", "You cannot do that"));
        assert_eq!(
            e,
            OdooError::UserError {
                message: "You cannot do that".into()
            }
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn operational_error_without_missing_database_is_retryable() {
        let e = OdooError::from_rpc_error(&err(
            "psycopg2.OperationalError",
            "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused",
        ));
        assert!(matches!(e, OdooError::DatabaseUnavailable { .. }));
        assert!(e.is_retryable());
    }

    #[test]
    fn error_without_data_is_other() {
        let e = OdooError::from_rpc_error(&json!({"code": 200, "message": "boom"}));
        assert_eq!(
            e,
            OdooError::Other {
                name: String::new(),
                message: "boom".into()
            }
        );
    }

    #[test]
    fn between_needs_both_ends() {
        assert_eq!(
            between("Object a.b doesn't exist", "Object ", " doesn't exist"),
            Some("a.b".into())
        );
        assert_eq!(
            between("Object  doesn't exist", "Object ", " doesn't exist"),
            None
        );
        assert_eq!(between("Object a.b", "Object ", " doesn't exist"), None);
    }
}
