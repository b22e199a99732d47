//! Actions: what a client asks Asterisk to do, built in code or from a JSON object, serialized with an
//! ActionID. `Debug` redacts `Secret` and `Key`.

use std::time::Duration;

use serde_json::Value;

use crate::frame::is_valid_key;
use crate::message::{Message, fmt_headers};

/// Why an action could not be built or sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The JSON was not an object.
    #[error("an AMI action must be a JSON object")]
    NotAnObject,
    /// No `Action` key.
    #[error("the AMI action has no \"Action\" key")]
    MissingAction,
    /// A JSON value that cannot be a header value (object, nested array, null).
    #[error("unsupported JSON value for AMI key {key:?}")]
    UnsupportedValue {
        /// The offending key.
        key: String,
    },
    /// A key that is not a token (empty, whitespace, colon, control character).
    #[error("invalid AMI key {key:?}")]
    InvalidKey {
        /// The offending key.
        key: String,
    },
    /// A value with CR or LF (would inject headers or actions).
    #[error("AMI value for key {key:?} contains CR or LF")]
    InvalidValue {
        /// The key whose value is invalid.
        key: String,
    },
}

/// How the reply to an action ends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Completion {
    /// The response, plus the event list if the response announces one (`EventList: start`, or a Message
    /// ending in "will follow"): events with the same ActionID until `EventList: Complete` / `...Complete`.
    #[default]
    Auto,
    /// After a successful response, wait for this event carrying the same ActionID
    /// (`OriginateResponse` after an `Async: true` Originate).
    UntilEvent(String),
}

/// An AMI action: its headers in order (the `Action:` header is first), and how to wait for it.
#[derive(Clone, PartialEq, Eq)]
pub struct Action {
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    completion: Completion,
}

impl Action {
    /// A new action named `name` (`Ping`, `Originate`, ...).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            headers: vec![("Action".into(), name.into())],
            timeout: None,
            completion: Completion::Auto,
        }
    }

    /// Adds a header (repeats allowed: `Variable`).
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// Overrides the client's action timeout for this action.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets how the reply ends.
    pub fn completion(mut self, completion: Completion) -> Self {
        self.completion = completion;
        self
    }

    /// From ordered pairs; one key must be `Action` (any case), it is moved first.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ActionError> {
        let mut headers: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let idx = headers
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case("Action"))
            .ok_or(ActionError::MissingAction)?;
        let action = headers.remove(idx);
        headers.insert(0, action);
        let action = Self {
            headers,
            timeout: None,
            completion: Completion::Auto,
        };
        action.validate()?;
        Ok(action)
    }

    /// From a JSON object: strings, numbers and booleans become values; an array repeats its key
    /// (`{"Variable": ["A=1", "B=2"]}` gives two `Variable:` headers). Key order is kept when the
    /// caller's `serde_json` map keeps it; `Action` always goes first.
    pub fn from_json(value: &Value) -> Result<Self, ActionError> {
        let obj = value.as_object().ok_or(ActionError::NotAnObject)?;
        let mut pairs = Vec::with_capacity(obj.len());
        for (key, v) in obj {
            match v {
                Value::Array(items) => {
                    for item in items {
                        pairs.push((key.clone(), scalar(key, item)?));
                    }
                }
                other => pairs.push((key.clone(), scalar(key, other)?)),
            }
        }
        Self::from_pairs(pairs)
    }

    /// The action name (`Originate`).
    pub fn name(&self) -> &str {
        self.headers
            .first()
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// The first value of `key` (ASCII case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The headers in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The per-action timeout, if set.
    pub fn timeout_override(&self) -> Option<Duration> {
        self.timeout
    }

    /// How the reply ends.
    pub fn completion_mode(&self) -> &Completion {
        &self.completion
    }

    /// The ActionID set by the caller, if any.
    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }

    /// Checks every key is a token and no value holds CR/LF.
    pub fn validate(&self) -> Result<(), ActionError> {
        for (k, v) in &self.headers {
            if !is_valid_key(k.as_bytes()) {
                return Err(ActionError::InvalidKey { key: k.clone() });
            }
            if v.contains(['\r', '\n']) {
                return Err(ActionError::InvalidValue { key: k.clone() });
            }
        }
        Ok(())
    }

    /// The wire bytes with `action_id` as the ActionID (second header; a caller's ActionID is replaced).
    pub fn encode(&self, action_id: &str) -> Result<Vec<u8>, ActionError> {
        self.validate()?;
        if action_id.contains(['\r', '\n']) {
            return Err(ActionError::InvalidValue {
                key: "ActionID".into(),
            });
        }
        let mut msg = Message::new();
        let mut headers = self.headers.iter();
        if let Some((k, v)) = headers.next() {
            msg.push(k.clone(), v.clone());
        }
        msg.push("ActionID", action_id);
        for (k, v) in headers.filter(|(k, _)| !k.eq_ignore_ascii_case("ActionID")) {
            msg.push(k.clone(), v.clone());
        }
        Ok(msg.to_bytes())
    }
}

fn scalar(key: &str, v: &Value) -> Result<String, ActionError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ActionError::UnsupportedValue {
            key: key.to_owned(),
        }),
    }
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Action")?;
        fmt_headers(f, &self.headers, true)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// asterisk22/07-originate-success-gateway.sent: the exact bytes of the captured Originate.
    #[test]
    fn originate_encodes_like_the_capture() {
        let sent = include_str!("../tests/data/asterisk22/07-originate-success-gateway.sent");
        let action = Action::new("Originate")
            .header("Channel", "PJSIP/webuser@gateway")
            .header("Application", "Wait")
            .header("Data", "3")
            .header("Timeout", "20000")
            .header("CallerID", "\"Odoo Click2Call\" <5000>")
            .header("Variable", "GW_TEST=1")
            .header("Async", "true");
        let bytes = action.encode("orig-1").unwrap();
        assert!(sent.contains(std::str::from_utf8(&bytes).unwrap()));
    }

    #[test]
    fn json_arrays_repeat_keys_and_scalars_stringify() {
        let a = Action::from_json(&json!({"Action": "Originate", "Variable": ["A=1", "B=2"], "Async": true, "Timeout": 30000}))
            .unwrap();
        assert_eq!(a.name(), "Originate");
        let wire = String::from_utf8(a.encode("7").unwrap()).unwrap();
        assert!(wire.starts_with("Action: Originate\r\nActionID: 7\r\n"));
        assert!(wire.contains("Variable: A=1\r\nVariable: B=2\r\n"));
        assert!(wire.contains("Async: true\r\n") && wire.contains("Timeout: 30000\r\n"));
        assert!(wire.ends_with("\r\n\r\n"));
    }

    #[test]
    fn json_faults() {
        assert_eq!(
            Action::from_json(&json!([1])),
            Err(ActionError::NotAnObject)
        );
        assert_eq!(
            Action::from_json(&json!({"Channel": "x"})),
            Err(ActionError::MissingAction)
        );
        assert!(matches!(
            Action::from_json(&json!({"Action": "Ping", "X": {"a": 1}})),
            Err(ActionError::UnsupportedValue { .. })
        ));
        assert!(matches!(
            Action::from_json(&json!({"Action": "Ping", "X": "a\r\nAction: Hangup"})),
            Err(ActionError::InvalidValue { .. })
        ));
        assert!(matches!(
            Action::from_json(&json!({"Action": "Ping", "Bad Key": "a"})),
            Err(ActionError::InvalidKey { .. })
        ));
    }

    #[test]
    fn debug_redacts_secrets() {
        let a = Action::new("Login")
            .header("Username", "odoo")
            .header("Secret", "odoo-secret")
            .header("Key", "abc");
        let dbg = format!("{a:?}");
        assert!(
            !dbg.contains("odoo-secret") && !dbg.contains("abc"),
            "{dbg}"
        );
        assert!(dbg.contains("odoo"));
    }
}
