//! The test server's `/jsonrpc` dispatch: Odoo 18's services, check order and error shapes.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Inner, MethodCall};
use crate::jsonrpc::to_odoo_json;

/// The model the gateway reports to, and its one public method.
const MODEL: &str = "webrtc.session";
const REPORT: &str = "gateway_report";
/// Users that exist in the captured database besides the configured one (OdooBot, admin).
const OTHER_USERS: [i64; 2] = [1, 2];

#[derive(Serialize)]
struct Success<'a, T: Serialize> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: T,
}

#[derive(Serialize)]
struct Failure<'a> {
    jsonrpc: &'static str,
    id: &'a Value,
    error: ErrorObject,
}

#[derive(Serialize)]
struct ErrorObject {
    code: i64,
    message: &'static str,
    data: ErrorData,
}

#[derive(Serialize)]
struct ErrorData {
    name: String,
    debug: String,
    message: String,
    arguments: Vec<Value>,
    context: Map<String, Value>,
}

/// `common.version` as captured (key order matters: Odoo does not sort keys).
#[derive(Serialize)]
struct Version {
    server_version: &'static str,
    server_version_info: (u8, u8, u8, &'static str, u8, &'static str),
    server_serie: &'static str,
    protocol_version: u8,
}

/// A Python exception: its qualified name, message and args.
struct PyError {
    name: &'static str,
    message: String,
    arguments: Vec<Value>,
}

impl PyError {
    fn new(name: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            name,
            arguments: vec![Value::from(message.as_str())],
            message,
        }
    }
}

/// Answers one parsed JSON-RPC request with the exact bytes Odoo would send.
pub(super) fn dispatch(inner: &mut Inner, request: &Value) -> Vec<u8> {
    let null = Value::Null;
    let id = request.get("id").unwrap_or(&null);
    match route(inner, request) {
        Ok(result) => to_odoo_json(&Success {
            jsonrpc: "2.0",
            id,
            result,
        }),
        Err(e) => {
            let short = e.name.strip_prefix("builtins.").unwrap_or(e.name);
            let error = ErrorObject {
                code: 200,
                message: "Odoo Server Error",
                data: ErrorData {
                    name: e.name.to_owned(),
                    debug: format!(
                        "Traceback (most recent call last):\n  File \"gateway-odoo test server\"\n{short}: {}\n",
                        e.message
                    ),
                    message: e.message,
                    arguments: e.arguments,
                    context: Map::new(),
                },
            };
            to_odoo_json(&Failure {
                jsonrpc: "2.0",
                id,
                error,
            })
        }
    }
}

/// A result as Odoo serializes it (the version needs its own key order).
#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Json(Value),
    Version(Version),
}

fn route(inner: &mut Inner, request: &Value) -> Result<Answer, PyError> {
    let Some(params) = request.get("params").and_then(Value::as_object) else {
        return Err(PyError::new(
            "builtins.TypeError",
            "cannot convert dictionary update sequence element #0 to a sequence",
        ));
    };
    let field = |name: &'static str| {
        params.get(name).ok_or_else(|| {
            PyError::new(
                "builtins.TypeError",
                format!("RPC.jsonrpc() missing 1 required positional argument: '{name}'"),
            )
        })
    };
    let service = field("service")?.as_str().unwrap_or_default().to_owned();
    let method = field("method")?.as_str().unwrap_or_default().to_owned();
    let args = field("args")?;
    let counted = format!("{service}.{method}");
    *inner.calls.entry(counted).or_default() += 1;
    match service.as_str() {
        "common" => common(inner, &method, args),
        "object" => {
            let Some(args) = args.as_array() else {
                return Err(PyError {
                    name: "builtins.KeyError",
                    message: "0".into(),
                    arguments: vec![Value::from(0)],
                });
            };
            object(inner, &method, args)
        }
        other => Err(PyError::new("builtins.KeyError", other)),
    }
}

fn common(inner: &Inner, method: &str, args: &Value) -> Result<Answer, PyError> {
    let args = args.as_array().map(Vec::as_slice).unwrap_or_default();
    let names: &[&str] = match method {
        "version" => {
            return Ok(Answer::Version(Version {
                server_version: "18.0",
                server_version_info: (18, 0, 0, "final", 0, ""),
                server_serie: "18.0",
                protocol_version: 1,
            }));
        }
        "login" => &["db", "login", "password"],
        "authenticate" => &["db", "login", "password", "user_agent_env"],
        other => {
            return Err(PyError::new(
                "builtins.Exception",
                format!("Method not found: {other}"),
            ));
        }
    };
    missing_arguments(&format!("exp_{method}"), names, args.len())?;
    let c = &inner.credentials;
    check_database(inner, &args[0])?;
    let ok =
        args[1].as_str() == Some(c.login.as_str()) && args[2].as_str() == Some(c.secret.as_str());
    Ok(Answer::Json(if ok {
        Value::from(c.uid)
    } else {
        Value::Bool(false)
    }))
}

fn object(inner: &mut Inner, method: &str, args: &[Value]) -> Result<Answer, PyError> {
    if method != "execute_kw" {
        return Err(PyError::new(
            "builtins.Exception",
            format!("Method not found: {method}"),
        ));
    }
    missing_arguments(
        "execute_kw",
        &["db", "uid", "passwd", "model", "method", "args"],
        args.len(),
    )?;
    check_database(inner, &args[0])?;
    let c = &inner.credentials;
    let uid = args[1].as_i64().unwrap_or_default();
    if uid != c.uid && !OTHER_USERS.contains(&uid) {
        return Err(PyError::new(
            "odoo.exceptions.MissingError",
            format!(
                "Record does not exist or has been deleted.\n(Record: res.users({uid},), User: {uid})"
            ),
        ));
    }
    if uid != c.uid || args[2].as_str() != Some(c.secret.as_str()) {
        return Err(PyError::new(
            "odoo.exceptions.AccessDenied",
            "Access Denied",
        ));
    }
    let model = args[3].as_str().unwrap_or_default();
    let name = args[4].as_str().unwrap_or_default();
    if let Some(result) = inner
        .extra_methods
        .get(&(model.to_owned(), name.to_owned()))
        .cloned()
    {
        inner.method_calls.push(MethodCall {
            model: model.to_owned(),
            method: name.to_owned(),
            args: args[5].as_array().cloned().unwrap_or_default(),
            kwargs: args
                .get(6)
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
        });
        return Ok(Answer::Json(result));
    }
    if model != MODEL || !inner.model_installed {
        return Err(PyError::new(
            "odoo.exceptions.UserError",
            format!("Object {model} doesn't exist"),
        ));
    }
    if name.starts_with('_') {
        return Err(PyError::new(
            "odoo.exceptions.AccessError",
            format!("Private methods (such as '{model}.{name}') cannot be called remotely."),
        ));
    }
    if name != REPORT {
        return Err(PyError::new(
            "builtins.AttributeError",
            format!("The method '{model}.{name}' does not exist"),
        ));
    }
    let events = args[5].get(0).and_then(Value::as_array);
    gateway_report(inner, events).map(Answer::Json)
}

/// Applies a batch in order, once per key; returns every key of the batch (new or already known).
fn gateway_report(inner: &mut Inner, events: Option<&Vec<Value>>) -> Result<Value, PyError> {
    let invalid = || {
        PyError::new(
            "odoo.exceptions.ValidationError",
            "gateway_report expects a list of events, each with a \"key\"",
        )
    };
    let events = events.ok_or_else(invalid)?;
    let mut keys = Vec::with_capacity(events.len());
    for event in events {
        let key = event
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(invalid)?;
        keys.push(key.to_owned());
    }
    for (event, key) in events.iter().zip(&keys) {
        if inner.seen.insert(key.clone()) {
            inner.applied.push(event.clone());
        } else {
            inner.duplicates += 1;
        }
    }
    Ok(Value::from(keys))
}

fn check_database(inner: &Inner, db: &Value) -> Result<(), PyError> {
    let db = db.as_str().unwrap_or_default();
    if db == inner.credentials.database {
        return Ok(());
    }
    Err(PyError::new(
        "psycopg2.OperationalError",
        format!(
            "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"{db}\" does not exist\n"
        ),
    ))
}

/// Python's "f() missing 2 required positional arguments: 'a' and 'b'".
fn missing_arguments(function: &str, names: &[&str], given: usize) -> Result<(), PyError> {
    let Some(missing) = names.get(given..).filter(|m| !m.is_empty()) else {
        return Ok(());
    };
    let quoted: Vec<String> = missing.iter().map(|n| format!("'{n}'")).collect();
    let list = match quoted.as_slice() {
        [one] => one.clone(),
        [init @ .., last] if init.len() == 1 => format!("{} and {last}", init[0]),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
        [] => String::new(),
    };
    let plural = if missing.len() == 1 {
        "argument"
    } else {
        "arguments"
    };
    Err(PyError::new(
        "builtins.TypeError",
        format!(
            "{function}() missing {} required positional {plural}: {list}",
            missing.len()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_missing_argument_messages() {
        let msg = |n| {
            missing_arguments("exp_login", &["db", "login", "password"], n)
                .err()
                .map(|e| e.message)
        };
        assert_eq!(
            msg(2).as_deref(),
            Some("exp_login() missing 1 required positional argument: 'password'")
        );
        assert_eq!(
            msg(1).as_deref(),
            Some("exp_login() missing 2 required positional arguments: 'login' and 'password'")
        );
        assert_eq!(
            msg(0).as_deref(),
            Some(
                "exp_login() missing 3 required positional arguments: 'db', 'login', and 'password'"
            )
        );
        assert_eq!(msg(3), None);
    }
}
