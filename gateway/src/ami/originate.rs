//! Click-to-call: `POST /api/v1/originate` becomes an AMI `Originate` (Async) that rings the user on
//! the gateway first (`ami.originate_channel`), then dials the number in `ami.originate_context`. The
//! request is checked and the action built here without I/O; [`run`] waits for the
//! `OriginateResponse` and hands it to Odoo as `res_model.res_method(result, pass_back)`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gateway_ami::{Action, AmiClient, AmiError};
use gateway_config::Config;
use gateway_odoo::Policy;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::join::ORIGINATE_VARIABLE;
use crate::app::App;
use crate::call::inbound::ORIGINATE_HEADER;
use crate::report::MethodCall;

/// Extra time, beyond `ami.originate_timeout`, allowed for the OriginateResponse.
const RESPONSE_MARGIN: Duration = Duration::from_secs(15);

/// The body of `POST /api/v1/originate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginateRequest {
    /// The gateway user to ring first.
    pub user: String,
    /// The number Asterisk dials once the user answers.
    pub number: String,
    /// The `[[ami.servers]]` name; the first server when absent.
    pub server: Option<String>,
    /// `CallerID` of the Originate, e.g. `"Odoo" <5000>`.
    pub caller_id: Option<String>,
    /// Further channel variables, `{"NAME": "value"}`.
    #[serde(default)]
    pub variables: BTreeMap<String, Value>,
    /// Odoo model receiving the OriginateResponse (with `res_method`).
    pub res_model: Option<String>,
    /// Its method, called as `res_method(result, pass_back)`.
    pub res_method: Option<String>,
    /// Passed back to `res_method` untouched.
    pub pass_back: Option<Value>,
}

/// Why a click-to-call request is refused (HTTP 400, or 404 for an unknown user).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginateError {
    /// A field is missing, malformed or not allowed.
    #[error("{0}")]
    Invalid(String),
    /// The gateway does not know this user.
    #[error("unknown user {0:?}")]
    UnknownUser(String),
}

/// Where the result goes in Odoo.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    /// `res_model`.
    pub model: String,
    /// `res_method`.
    pub method: String,
    /// `pass_back` (`null` when absent).
    pub pass_back: Value,
}

/// A checked request: the action to send and where its result goes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The Originate action (ActionID = originate id).
    pub action: Action,
    /// The Odoo callback, if asked for.
    pub callback: Option<Callback>,
}

/// Checks `req` against the configuration and builds the Originate with id `id`.
/// `user_known` says whether the gateway knows the user (a dev token, `sip.users`, a connected device,
/// or any user when JWTs are accepted).
pub fn plan(
    config: &Config,
    req: &OriginateRequest,
    id: &str,
    user_known: bool,
    odoo: bool,
) -> Result<Plan, OriginateError> {
    let invalid = |m: String| Err(OriginateError::Invalid(m));
    let user = req.user.trim();
    if user.is_empty() || user.len() > 64 || !user.bytes().all(is_user_byte) {
        return invalid(format!(
            "\"user\" must be 1 to 64 letters, digits or ._@+-, got {:?}",
            req.user
        ));
    }
    if !user_known {
        return Err(OriginateError::UnknownUser(user.to_owned()));
    }
    if req.number.is_empty() || !config.sip.is_allowed_number(&req.number) {
        return invalid(format!(
            "\"number\" {:?} is not allowed by sip.allowed_numbers",
            req.number
        ));
    }
    let sip_user = config
        .sip
        .users
        .get(user)
        .map_or(user, |u| u.username.as_str());
    let timeout_ms = config.ami.originate_timeout.as_millis().to_string();
    let mut action = Action::new("Originate")
        .header("ActionID", id)
        .header("Channel", config.ami.originate_channel_for(sip_user))
        .header("Exten", req.number.as_str())
        .header("Context", config.ami.originate_context.as_str())
        .header("Priority", "1")
        .header("Timeout", timeout_ms)
        .header("Async", "true");
    if let Some(cid) = &req.caller_id {
        action = action.header("CallerID", cid.as_str());
    }
    action = action
        .header(
            "Variable",
            format!("PJSIP_HEADER(add,{ORIGINATE_HEADER})={id}"),
        )
        .header("Variable", format!("{ORIGINATE_VARIABLE}={id}"));
    for (name, value) in &req.variables {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_(),-".contains(&b))
        {
            return invalid(format!("variable name {name:?} is not allowed"));
        }
        if name.eq_ignore_ascii_case(ORIGINATE_VARIABLE) || name.contains(ORIGINATE_HEADER) {
            return invalid(format!("variable {name:?} is set by the gateway"));
        }
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return invalid(format!("variable {name:?} must be a string or a number")),
        };
        action = action.header("Variable", format!("{name}={value}"));
    }
    // CR or LF anywhere would inject AMI headers or a second action.
    if let Err(e) = action.validate() {
        return invalid(e.to_string());
    }
    let callback = match (&req.res_model, &req.res_method) {
        (None, None) => None,
        (Some(model), Some(method)) => {
            if !is_model(model) || !is_public_method(method) {
                return invalid(format!(
                    "res_model {model:?} / res_method {method:?} must be an Odoo model and a public method"
                ));
            }
            if !odoo {
                return invalid("res_model needs [odoo] in the gateway configuration".into());
            }
            Some(Callback {
                model: model.clone(),
                method: method.clone(),
                pass_back: req.pass_back.clone().unwrap_or(Value::Null),
            })
        }
        _ => return invalid("res_model and res_method go together".into()),
    };
    let wait = config.ami.originate_timeout + RESPONSE_MARGIN;
    Ok(Plan {
        action: action.timeout(wait),
        callback,
    })
}

fn is_user_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._@+-".contains(&b)
}

fn is_model(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

fn is_public_method(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The result object handed to `res_method`: the OriginateResponse's headers (or Asterisk's error
/// response, or the gateway's own error as `{"Response": "Error", "Message": ...}`).
pub fn result_object(id: &str, outcome: &Result<gateway_ami::ActionResult, AmiError>) -> Value {
    match outcome {
        Ok(result) => {
            let message = if result.is_success() {
                result.events.first().unwrap_or(&result.response)
            } else {
                &result.response
            };
            serde_json::to_value(message).unwrap_or(Value::Null)
        }
        Err(e) => {
            let mut m = Map::new();
            m.insert("Response".into(), "Error".into());
            m.insert("ActionID".into(), id.into());
            m.insert("Message".into(), e.to_string().into());
            Value::Object(m)
        }
    }
}

/// Sends the Originate and delivers its outcome (runs as its own task).
pub async fn run(app: Arc<App>, client: AmiClient, id: String, plan: Plan) {
    let outcome = client.originate(plan.action).await;
    let result = result_object(&id, &outcome);
    let response = result
        .get("Response")
        .and_then(Value::as_str)
        .unwrap_or("?");
    tracing::info!(originate_id = %id, server = %client.name(), %response,
        reason = ?result.get("Reason"), "click-to-call OriginateResponse");
    if let (Some(ami), Some(uniqueid)) = (&app.ami, result.get("Uniqueid").and_then(Value::as_str))
    {
        ami.originate_answered(&app, &id, uniqueid);
    }
    let (Some(callback), Some(reporter)) = (plan.callback, &app.reporter) else {
        return;
    };
    let mut context = Map::new();
    context.insert("originate_id".into(), id.as_str().into());
    reporter.callback(MethodCall {
        key: format!("originate:{id}"),
        group: format!("originate:{id}"),
        model: callback.model,
        method: callback.method,
        args: vec![result, callback.pass_back],
        context,
        policy: Policy::Durable,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway_ami::{ActionResult, Message};
    use serde_json::json;

    fn config() -> Config {
        Config::from_toml_str(
            "[ami]\noriginate_context = \"from-gateway\"\noriginate_timeout = \"20s\"\n\
             [sip.users.bob]\nusername = \"1002\"\npassword = \"p\"\n",
            [],
        )
        .unwrap()
    }

    fn req(body: Value) -> OriginateRequest {
        serde_json::from_value(body).unwrap()
    }

    /// The Originate rings the user's channel, dials the number, and carries the originate id twice.
    #[test]
    fn the_originate_action_carries_the_id() {
        let r = req(
            json!({"user": "alice", "number": "600", "caller_id": "\"Odoo\" <5000>",
            "variables": {"CRM_LEAD": 42}}),
        );
        let p = plan(&config(), &r, "o-1", true, false).unwrap();
        let h: Vec<(String, String)> = p.action.headers().to_vec();
        let get = |k: &str| -> Vec<&str> {
            h.iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(get("Action"), ["Originate"]);
        assert_eq!(get("ActionID"), ["o-1"]);
        assert_eq!(get("Channel"), ["PJSIP/alice@gateway"]);
        assert_eq!(get("Exten"), ["600"]);
        assert_eq!(get("Context"), ["from-gateway"]);
        assert_eq!(get("Priority"), ["1"]);
        assert_eq!(get("Timeout"), ["20000"]);
        assert_eq!(get("Async"), ["true"]);
        assert_eq!(get("CallerID"), ["\"Odoo\" <5000>"]);
        assert_eq!(
            get("Variable"),
            [
                "PJSIP_HEADER(add,X-WebRTC-Originate)=o-1",
                "WEBRTC_ORIGINATE=o-1",
                "CRM_LEAD=42"
            ]
        );
        assert!(p.callback.is_none());
        let bob = plan(
            &config(),
            &req(json!({"user": "bob", "number": "600"})),
            "o-2",
            true,
            false,
        )
        .unwrap();
        assert_eq!(bob.action.get("Channel"), Some("PJSIP/1002@gateway"));
    }

    /// Bad input never reaches Asterisk: CR/LF, unknown users, numbers outside the dial plan.
    #[test]
    fn bad_requests_are_refused() {
        let c = config();
        let refused =
            |body: Value, known: bool, odoo: bool| plan(&c, &req(body), "o", known, odoo).err();
        assert!(matches!(
            refused(
                json!({"user": "alice", "number": "600\r\nAction: Hangup"}),
                true,
                false
            ),
            Some(OriginateError::Invalid(_))
        ));
        assert!(matches!(
            refused(
                json!({"user": "alice", "number": "600", "caller_id": "x\ny"}),
                true,
                false
            ),
            Some(OriginateError::Invalid(_))
        ));
        assert!(matches!(
            refused(json!({"user": "a b", "number": "600"}), true, false),
            Some(OriginateError::Invalid(_))
        ));
        assert_eq!(
            refused(json!({"user": "carol", "number": "600"}), false, false),
            Some(OriginateError::UnknownUser("carol".into()))
        );
        assert!(
            refused(
                json!({"user": "alice", "number": "600", "variables": {"A=B": "1"}}),
                true,
                false
            )
            .is_some()
        );
        assert!(
            refused(
                json!({"user": "alice", "number": "600", "variables": {"WEBRTC_ORIGINATE": "x"}}),
                true,
                false
            )
            .is_some()
        );
        assert!(
            refused(
                json!({"user": "alice", "number": "600", "res_model": "m"}),
                true,
                true
            )
            .is_some()
        );
        assert!(
            refused(
                json!({"user": "alice", "number": "600", "res_model": "m", "res_method": "f"}),
                true,
                false
            )
            .is_some()
        );
        assert!(
            refused(
                json!({"user": "alice", "number": "600", "res_model": "m", "res_method": "_f"}),
                true,
                true
            )
            .is_some()
        );
        let ok = plan(
            &c,
            &req(
                json!({"user": "alice", "number": "600", "res_model": "crm.lead",
            "res_method": "originate_call_response", "pass_back": {"uid": 2}}),
            ),
            "o",
            true,
            true,
        )
        .unwrap();
        assert_eq!(ok.callback.unwrap().pass_back, json!({"uid": 2}));
    }

    /// The result is the OriginateResponse's headers; an error becomes `Response: Error`.
    #[test]
    fn result_objects() {
        let response = Message::new()
            .with("Response", "Success")
            .with("ActionID", "o-1");
        let event = Message::new()
            .with("Event", "OriginateResponse")
            .with("Response", "Failure")
            .with("Reason", "0")
            .with("Uniqueid", "<unknown>");
        let ok = ActionResult {
            action_id: "o-1".into(),
            response,
            events: vec![event],
        };
        let v = result_object("o-1", &Ok(ok));
        assert_eq!(
            (v["Event"].as_str(), v["Reason"].as_str()),
            (Some("OriginateResponse"), Some("0"))
        );
        let err = result_object("o-1", &Err(AmiError::Closed));
        assert_eq!(err["Response"], "Error");
        assert_eq!(err["ActionID"], "o-1");
    }
}
