//! Event forwarding: every AMI event matching a rule (`[[ami.forward]]`, or Odoo's `webrtc.ami.rule`
//! loaded at start) becomes a durable call `model.method(event)` (OdooPBX's `asterisk_plus.event`),
//! grouped by the call's `Linkedid` so one call's events arrive in order.
//!
//! Keys are `<server>:<Uniqueid or ActionID>:<Event>:<seq>`, `seq` counting the calls made for that
//! (server, id, event name) since start; an event with neither id uses a per-run id instead, so a
//! restart never reuses a key still waiting in the outbox.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use gateway_ami::Message;
use gateway_config::{Condition, DeliveryPolicy, ForwardRule, Pattern};
use gateway_odoo::{Health, OdooClient, Policy};
use serde_json::{Map, Value};

use super::Ami;
use crate::report::MethodCall;

/// The addon's rule model and its loader (docs/odoo.md, "AMI event rules").
pub const RULE_MODEL: &str = "webrtc.ami.rule";
/// `webrtc.ami.rule.gateway_rules()`.
pub const RULE_METHOD: &str = "gateway_rules";
/// Counters kept at most before they are reset (ids of finished calls are never seen again).
const MAX_COUNTERS: usize = 100_000;

/// One forwarding rule, from the configuration or from Odoo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The AMI event name (`Event:` header), compared exactly.
    pub event: String,
    /// Only events of this server; `None` = every server.
    pub server: Option<String>,
    /// Target model.
    pub model: String,
    /// Target method, called as `method(event)`.
    pub method: String,
    /// Durable or TTL.
    pub policy: DeliveryPolicy,
    /// Header -> condition (header names ignore case); all must hold.
    pub conditions: BTreeMap<String, Condition>,
}

impl Rule {
    /// A `[[ami.forward]]` rule.
    pub fn from_config(rule: &ForwardRule) -> Self {
        Self {
            event: rule.event.clone(),
            server: rule.server.clone(),
            model: rule.model.clone(),
            method: rule.method.clone(),
            policy: rule.policy,
            conditions: rule.conditions.clone(),
        }
    }

    /// A rule as `webrtc.ami.rule.gateway_rules()` returns it; its regular expressions match the
    /// whole header value, as the addon documents.
    pub fn from_odoo(value: &Value) -> Result<Self, String> {
        let text = |key: &str| -> Result<String, String> {
            match value.get(key).and_then(Value::as_str) {
                Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                _ => Err(format!("rule without {key:?}: {value}")),
            }
        };
        let event = text("event")?;
        let model = text("model")?;
        let method = text("method")?;
        if method.starts_with('_') {
            return Err(format!("private method {method:?}"));
        }
        let server = value
            .get("server")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let policy = match value.get("policy").and_then(Value::as_str) {
            Some("ttl") => {
                let secs = value
                    .get("ttl_seconds")
                    .and_then(Value::as_u64)
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("ttl rule without a positive ttl_seconds: {value}"))?;
                DeliveryPolicy::Ttl(Duration::from_secs(secs))
            }
            _ => DeliveryPolicy::Durable,
        };
        let mut conditions = BTreeMap::new();
        if let Some(map) = value.get("conditions").and_then(Value::as_object) {
            for (header, expected) in map {
                let expected = match expected {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let condition = match expected.strip_prefix("re:") {
                    Some(regex) => Condition::Regex(Pattern::whole(regex)?),
                    None => Condition::Exact(expected),
                };
                conditions.insert(header.clone(), condition);
            }
        }
        Ok(Self {
            event,
            server,
            model,
            method,
            policy,
            conditions,
        })
    }

    /// Whether `event` from `server` is for this rule.
    pub fn matches(&self, server: &str, event: &Message) -> bool {
        event.event() == Some(self.event.as_str())
            && self.server.as_deref().is_none_or(|s| s == server)
            && self
                .conditions
                .iter()
                .all(|(name, c)| event.get(name).is_some_and(|v| c.matches(v)))
    }
}

/// The rules in force and the key counters.
pub struct Forwarder {
    config_rules: Vec<Rule>,
    odoo_rules: RwLock<Vec<Rule>>,
    counters: Mutex<HashMap<(String, String, String), u64>>,
    run: String,
}

impl Forwarder {
    /// Forwards with the configured rules (Odoo's are added by [`Forwarder::set_odoo_rules`]).
    pub fn new(rules: &[ForwardRule]) -> Self {
        Self {
            config_rules: rules.iter().map(Rule::from_config).collect(),
            odoo_rules: RwLock::new(Vec::new()),
            counters: Mutex::new(HashMap::new()),
            run: format!("run-{}", crate::signaling::session::random_id()),
        }
    }

    /// Replaces the rules loaded from Odoo.
    pub fn set_odoo_rules(&self, rules: Vec<Rule>) {
        *self.odoo_rules.write().unwrap_or_else(|p| p.into_inner()) = rules;
    }

    /// How many rules are in force (configuration + Odoo).
    pub fn rule_count(&self) -> usize {
        self.config_rules.len() + self.odoo_rules.read().map_or(0, |r| r.len())
    }

    /// The calls to make for `event` from `server`: one per matching rule, configuration rules first.
    pub fn calls(&self, server: &str, event: &Message) -> Vec<MethodCall> {
        let odoo = self.odoo_rules.read().unwrap_or_else(|p| p.into_inner());
        let matching: Vec<&Rule> = self
            .config_rules
            .iter()
            .chain(odoo.iter())
            .filter(|r| r.matches(server, event))
            .collect();
        if matching.is_empty() {
            return Vec::new();
        }
        let name = event.event().unwrap_or_default();
        let id = event
            .get("Uniqueid")
            .or_else(|| event.action_id())
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .unwrap_or(&self.run);
        let group_id = event
            .get("Linkedid")
            .or_else(|| event.get("Uniqueid"))
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .unwrap_or(name);
        let payload = serde_json::to_value(event).unwrap_or(Value::Null);
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        if counters.len() >= MAX_COUNTERS {
            counters.clear();
        }
        let counter = counters
            .entry((server.to_owned(), id.to_owned(), name.to_owned()))
            .or_default();
        matching
            .into_iter()
            .map(|rule| {
                let seq = *counter;
                *counter += 1;
                let mut context = Map::new();
                context.insert("ami_server".into(), server.into());
                MethodCall {
                    key: format!("{server}:{id}:{name}:{seq}"),
                    group: format!("{server}:{group_id}"),
                    model: rule.model.clone(),
                    method: rule.method.clone(),
                    args: vec![payload.clone()],
                    context,
                    policy: match rule.policy {
                        DeliveryPolicy::Durable => Policy::Durable,
                        DeliveryPolicy::Ttl(ttl) => Policy::Ttl(ttl),
                    },
                }
            })
            .collect()
    }
}

/// Loads `webrtc.ami.rule.gateway_rules()` in the background, retrying while Odoo is unreachable;
/// an Odoo without the model (the addon is not installed) leaves the configured rules alone.
pub fn load_odoo_rules(ami: Arc<Ami>, client: Arc<OdooClient>) {
    tokio::spawn(async move {
        let mut delay = Duration::from_secs(5);
        loop {
            match client
                .execute_kw(RULE_MODEL, RULE_METHOD, Vec::new(), Map::new())
                .await
            {
                Ok(Value::Array(items)) => {
                    let mut rules = Vec::new();
                    for item in &items {
                        match Rule::from_odoo(item) {
                            Ok(rule) => rules.push(rule),
                            Err(e) => tracing::warn!(error = %e, "AMI rule from Odoo ignored"),
                        }
                    }
                    tracing::info!(count = rules.len(), "AMI forwarding rules loaded from Odoo");
                    ami.forwarder.set_odoo_rules(rules);
                    return;
                }
                Ok(other) => {
                    tracing::warn!(answer = %other, "unexpected answer of webrtc.ami.rule.gateway_rules; Odoo rules ignored");
                    return;
                }
                Err(e) => {
                    let health = Health::from_error(&e);
                    if health.is_blocked() {
                        tracing::info!(error = %e, "AMI rules not loaded from Odoo; using ami.forward only");
                        return;
                    }
                    tracing::warn!(error = %e, retry_in = ?delay, "cannot load AMI rules from Odoo yet");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(300));
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cdr(disposition: &str, uniqueid: &str) -> Message {
        Message::new()
            .with("Event", "Cdr")
            .with("Privilege", "cdr,all")
            .with("Channel", "PJSIP/gateway-0000000e")
            .with("Disposition", disposition)
            .with("UniqueID", uniqueid)
    }

    fn config_rule() -> ForwardRule {
        ForwardRule {
            event: "Cdr".into(),
            server: None,
            model: "asterisk_calls.call".into(),
            method: "create_cdr".into(),
            policy: DeliveryPolicy::Durable,
            conditions: [(
                "Disposition".to_owned(),
                Condition::Exact("ANSWERED".into()),
            )]
            .into(),
        }
    }

    /// A matching Cdr becomes `create_cdr(event)` keyed by server, UniqueID (any case), name, seq.
    #[test]
    fn matching_events_become_calls_with_stable_keys() {
        let f = Forwarder::new(&[config_rule()]);
        assert!(f.calls("pbx", &cdr("NO ANSWER", "u-1")).is_empty());
        let calls = f.calls("pbx", &cdr("ANSWERED", "u-1"));
        assert_eq!(calls.len(), 1);
        let c = &calls[0];
        assert_eq!(c.key, "pbx:u-1:Cdr:0");
        assert_eq!(c.group, "pbx:u-1");
        assert_eq!(
            (c.model.as_str(), c.method.as_str()),
            ("asterisk_calls.call", "create_cdr")
        );
        assert_eq!(c.args[0]["Disposition"], "ANSWERED");
        assert_eq!(c.args[0]["UniqueID"], "u-1");
        assert_eq!(c.context["ami_server"], "pbx");
        assert_eq!(
            f.calls("pbx", &cdr("ANSWERED", "u-1"))[0].key,
            "pbx:u-1:Cdr:1"
        );
        let hangup = Message::new().with("Event", "Hangup");
        assert!(f.calls("pbx", &hangup).is_empty());
    }

    /// Odoo's rules: server filter, TTL policy, whole-value regex; two rules give two distinct keys.
    #[test]
    fn odoo_rules_add_to_the_configured_ones() {
        let f = Forwarder::new(&[config_rule()]);
        let rule = Rule::from_odoo(&json!({
            "id": 1, "name": "answered pjsip", "event": "Cdr", "source": "AMI", "server": "pbx",
            "model": "res.partner", "method": "on_cdr", "policy": "ttl", "ttl_seconds": 60,
            "conditions": {"Channel": "re:PJSIP/.*"}
        }))
        .unwrap();
        assert_eq!(rule.policy, DeliveryPolicy::Ttl(Duration::from_secs(60)));
        let partial = Rule::from_odoo(&json!({
            "event": "Cdr", "server": false, "model": "m", "method": "f",
            "conditions": {"Channel": "re:PJSIP"}
        }))
        .unwrap();
        f.set_odoo_rules(vec![rule, partial]);
        assert_eq!(f.rule_count(), 3);
        let calls = f.calls("pbx", &cdr("ANSWERED", "u-2"));
        let keys: Vec<&str> = calls.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["pbx:u-2:Cdr:0", "pbx:u-2:Cdr:1"]);
        assert_eq!(calls[1].policy, Policy::Ttl(Duration::from_secs(60)));
        assert_eq!(f.calls("other", &cdr("ANSWERED", "u-3")).len(), 1);
        assert!(Rule::from_odoo(&json!({"event": "Cdr", "model": "m", "method": "_x"})).is_err());
        assert!(Rule::from_odoo(&json!({"event": "Cdr", "model": "m"})).is_err());
    }

    /// Events without Uniqueid or ActionID use the per-run id; groups fall back to the event name.
    #[test]
    fn events_without_ids_use_the_run_id() {
        let mut rule = config_rule();
        rule.event = "PeerStatus".into();
        rule.conditions.clear();
        let f = Forwarder::new(&[rule]);
        let ev = Message::new()
            .with("Event", "PeerStatus")
            .with("Peer", "PJSIP/alice");
        let c = &f.calls("pbx", &ev)[0];
        assert_eq!(c.key, format!("pbx:{}:PeerStatus:0", f.run));
        assert_eq!(c.group, "pbx:PeerStatus");
    }
}
