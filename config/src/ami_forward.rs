//! `[[ami.forward]]`: which AMI events are delivered to which Odoo model methods, under which
//! header conditions, and with which delivery policy (the seed's `asterisk_plus.event` records).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use toml::Value;

use crate::duration::{format_duration, parse_duration};
use crate::pattern::Pattern;
use crate::raw::{Ctx, Table, array, kind, parsed, string, table};
use crate::sip::checked_string;

/// One forwarding rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRule {
    /// AMI event name, e.g. `Cdr` (the `Event:` header).
    pub event: String,
    /// Only events from this `[[ami.servers]]` name; `None` = from every server.
    pub server: Option<String>,
    /// Odoo model whose method receives the event, e.g. `asterisk_calls.call`.
    pub model: String,
    /// Method called with the event's headers (a public method: no leading `_`).
    pub method: String,
    /// Whether a stale event is still worth delivering.
    pub policy: DeliveryPolicy,
    /// Header name -> condition; every one must hold (`where = { Disposition = "ANSWERED" }`).
    /// Header names are compared without regard to case by [`ForwardRule::conditions_hold`].
    pub conditions: BTreeMap<String, Condition>,
}

impl ForwardRule {
    /// Whether every condition holds; `header` looks a header up by name, ignoring case
    /// (`Uniqueid` and `UniqueID` are the same header). A missing header fails its condition.
    pub fn conditions_hold<'a>(&self, header: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.conditions
            .iter()
            .all(|(name, condition)| header(name).is_some_and(|v| condition.matches(v)))
    }
}

/// How an event is kept while Odoo cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryPolicy {
    /// Kept until delivered, however long that takes (CDRs, lifecycle, callbacks).
    Durable,
    /// Dropped when older than this (presence-like events); written `"ttl:60s"`.
    Ttl(Duration),
}

impl fmt::Display for DeliveryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Durable => f.write_str("durable"),
            Self::Ttl(ttl) => write!(f, "ttl:{}", format_duration(*ttl)),
        }
    }
}

impl FromStr for DeliveryPolicy {
    type Err = String;

    /// `durable` or `ttl:<duration>` with a duration greater than zero.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "durable" {
            return Ok(Self::Durable);
        }
        match text.strip_prefix("ttl:").map(parse_duration) {
            Some(Ok(ttl)) if !ttl.is_zero() => Ok(Self::Ttl(ttl)),
            _ => Err(format!(
                "expected \"durable\" or \"ttl:<duration>\" like \"ttl:60s\", got {text:?}"
            )),
        }
    }
}

/// A test on one header's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The value equals this text exactly.
    Exact(String),
    /// The value matches this regular expression somewhere (anchor with `^`/`$`); written `"re:..."`.
    Regex(Pattern),
}

impl Condition {
    /// Whether `value` satisfies the condition.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(expected) => value == expected,
            Self::Regex(pattern) => pattern.is_match(value),
        }
    }
}

impl FromStr for Condition {
    type Err = String;

    /// `re:<regex>` is a regular expression; anything else is an exact value.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.strip_prefix("re:") {
            Some("") => Err("expected a regular expression after \"re:\"".to_owned()),
            Some(regex) => Pattern::new(regex).map(Self::Regex),
            None => Ok(Self::Exact(text.to_owned())),
        }
    }
}

/// `ami.forward`; `servers` holds the valid server names, or `None` when `ami.servers` had errors
/// (then a rule's `server` is not checked against them).
pub(crate) fn rules(
    ctx: &mut Ctx,
    key: &str,
    value: Value,
    servers: Option<&[&str]>,
) -> Option<Vec<ForwardRule>> {
    let items = array(ctx, key, value)?;
    let count = items.len();
    let rules: Vec<ForwardRule> = items
        .into_iter()
        .filter_map(|(key, item)| rule(ctx, &key, item, servers))
        .collect();
    (rules.len() == count).then_some(rules)
}

fn rule(ctx: &mut Ctx, key: &str, value: Value, servers: Option<&[&str]>) -> Option<ForwardRule> {
    let mut t = Table::new(key, table(ctx, key, value)?);
    let event = t.get(ctx, "event", None, |ctx, key, v| {
        checked_string(ctx, key, v, is_event_name, "an AMI event name like \"Cdr\"").map(Some)
    });
    let server = t.get(ctx, "server", None, |ctx, key, v| {
        let name = string(ctx, key, v)?;
        match servers {
            Some(names) if !names.contains(&name.as_str()) => {
                ctx.error(
                    key,
                    format!("{name:?} is not the name of any of ami.servers"),
                );
                None
            }
            _ => Some(Some(name)),
        }
    });
    let model = t.get(ctx, "model", None, |ctx, key, v| {
        checked_string(
            ctx,
            key,
            v,
            is_model_name,
            "an Odoo model name like \"asterisk_calls.call\"",
        )
        .map(Some)
    });
    let method = t.get(ctx, "method", None, |ctx, key, v| {
        checked_string(
            ctx,
            key,
            v,
            is_public_method,
            "a public method name like \"create_cdr\" (no leading '_')",
        )
        .map(Some)
    });
    let policy = t.get(ctx, "policy", DeliveryPolicy::Durable, |ctx, key, v| {
        parsed(ctx, key, v, DeliveryPolicy::from_str)
    });
    let conditions = t.get(ctx, "where", BTreeMap::new(), conditions);
    let fields_valid = !ctx.errors_under(key);
    for (field, present) in [
        ("event", event.is_some()),
        ("model", model.is_some()),
        ("method", method.is_some()),
    ] {
        let field_key = t.path_of(field);
        if !present && !ctx.has_error(&field_key) {
            ctx.error(
                &field_key,
                "missing: each forwarding rule needs event, model and method",
            );
        }
    }
    t.finish(ctx);
    if !fields_valid {
        return None;
    }
    Some(ForwardRule {
        event: event?,
        server,
        model: model?,
        method: method?,
        policy,
        conditions,
    })
}

/// `where`: header name -> exact value or `re:` regular expression; names unique ignoring case.
fn conditions(ctx: &mut Ctx, key: &str, value: Value) -> Option<BTreeMap<String, Condition>> {
    let mut headers = match value {
        Value::Table(entries) => Table::new(key, entries),
        other => {
            ctx.error(
                key,
                format!(
                    "expected a table like {{ Disposition = \"ANSWERED\" }}, got {}",
                    kind(&other)
                ),
            );
            return None;
        }
    };
    let mut conditions: BTreeMap<String, Condition> = BTreeMap::new();
    // Every valid header name seen, conditions that failed to parse included.
    let mut seen: Vec<String> = Vec::new();
    let mut valid = true;
    for (header_key, name, value) in headers.drain() {
        if !is_header_name(&name) {
            ctx.error(
                &header_key,
                format!("expected an AMI header name like \"Disposition\", got {name:?}"),
            );
            valid = false;
            continue;
        }
        if let Some(first) = seen.iter().find(|k| k.eq_ignore_ascii_case(&name)) {
            ctx.error(
                &header_key,
                format!("header {first:?} already has a condition (names ignore case)"),
            );
            valid = false;
            continue;
        }
        seen.push(name.clone());
        match parsed(ctx, &header_key, value, Condition::from_str) {
            Some(condition) => {
                conditions.insert(name, condition);
            }
            None => valid = false,
        }
    }
    headers.finish(ctx);
    valid.then_some(conditions)
}

fn is_event_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Odoo model names: lower-case dotted identifiers (`res.partner`, `asterisk_plus.event`).
fn is_model_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// Odoo refuses RPC calls to methods whose name starts with `_` (private methods).
fn is_public_method(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    const SERVER: &str = "[[ami.servers]]\nname = \"pbx\"\naddress = \"127.0.0.1:5038\"\n\
                          username = \"gw\"\nsecret = \"s\"\n";
    const ODOO: &str = "[odoo]\nurl = \"http://odoo:8069\"\ndatabase = \"d\"\nlogin = \"l\"\n\
                        api_key = \"k\"\n";

    fn rules(toml: &str) -> Vec<ForwardRule> {
        Config::from_toml_str(&format!("{SERVER}{ODOO}{toml}"), [])
            .expect("valid")
            .ami
            .forward
    }

    fn rule_errors(toml: &str) -> String {
        Config::from_toml_str(&format!("{SERVER}{ODOO}{toml}"), [])
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn rules_are_read_in_order() {
        let r = rules(
            r#"
            [[ami.forward]]
            event = "Cdr"
            model = "asterisk_calls.call"
            method = "create_cdr"
            where = { Disposition = "ANSWERED", Channel = "re:^PJSIP/" }
            [[ami.forward]]
            event = "PeerStatus"
            server = "pbx"
            model = "asterisk_plus.peer"
            method = "update_status"
            policy = "ttl:60s"
            "#,
        );
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].event, "Cdr");
        assert_eq!(r[0].server, None);
        assert_eq!(r[0].model, "asterisk_calls.call");
        assert_eq!(r[0].method, "create_cdr");
        assert_eq!(r[0].policy, DeliveryPolicy::Durable);
        assert_eq!(
            r[0].conditions["Disposition"],
            Condition::Exact("ANSWERED".to_owned())
        );
        assert!(matches!(r[0].conditions["Channel"], Condition::Regex(_)));
        assert_eq!(r[1].server.as_deref(), Some("pbx"));
        assert_eq!(r[1].policy, DeliveryPolicy::Ttl(Duration::from_secs(60)));
        assert!(r[1].conditions.is_empty());
    }

    #[test]
    fn conditions_hold_on_matching_headers_only() {
        let r = &rules(
            "[[ami.forward]]\nevent = \"Cdr\"\nmodel = \"m\"\nmethod = \"f\"\n\
             where = { Disposition = \"ANSWERED\", Channel = \"re:^PJSIP/\" }",
        )[0];
        let headers = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| *v)
            }
        };
        assert!(r.conditions_hold(headers(&[
            ("disposition", "ANSWERED"),
            ("Channel", "PJSIP/1001-00000001")
        ])));
        assert!(!r.conditions_hold(headers(&[
            ("Disposition", "NO ANSWER"),
            ("Channel", "PJSIP/1001-00000001")
        ])));
        assert!(!r.conditions_hold(headers(&[
            ("Disposition", "ANSWERED"),
            ("Channel", "SIP/PJSIP/x")
        ])));
        assert!(!r.conditions_hold(headers(&[("Disposition", "ANSWERED")])));
        assert!(Condition::Exact(String::new()).matches(""));
        assert!(!Condition::Exact("ANSWERED".to_owned()).matches("answered"));
    }

    #[test]
    fn policies_parse_and_print() {
        assert_eq!("durable".parse(), Ok(DeliveryPolicy::Durable));
        assert_eq!(
            "ttl:5m".parse(),
            Ok(DeliveryPolicy::Ttl(Duration::from_secs(300)))
        );
        assert_eq!(
            DeliveryPolicy::Ttl(Duration::from_secs(60)).to_string(),
            "ttl:1m"
        );
        assert_eq!(DeliveryPolicy::Durable.to_string(), "durable");
        for bad in ["Durable", "ttl", "ttl:", "ttl:0s", "ttl = 60s", "60s"] {
            assert_eq!(
                bad.parse::<DeliveryPolicy>(),
                Err(format!(
                    "expected \"durable\" or \"ttl:<duration>\" like \"ttl:60s\", got {bad:?}"
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn rule_rules() {
        let text = rule_errors(
            r#"
            [[ami.forward]]
            event = "Cdr Event"
            server = "other"
            model = "Asterisk.Call"
            method = "_private"
            policy = "forever"
            [[ami.forward]]
            event = "Cdr"
            [[ami.forward]]
            event = "Cdr"
            model = "m"
            method = "f"
            where = { Channel = "re:(", "Bad Name" = "x", channel = "y", Disposition = 5, Empty = "re:" }
            [[ami.forward]]
            event = "Cdr"
            model = "m"
            method = "f"
            where = "Disposition=ANSWERED"
            "#,
        );
        assert_eq!(
            text,
            "ami.forward[0].event: expected an AMI event name like \"Cdr\", got \"Cdr Event\"\n\
             ami.forward[0].server: \"other\" is not the name of any of ami.servers\n\
             ami.forward[0].model: expected an Odoo model name like \"asterisk_calls.call\", got \"Asterisk.Call\"\n\
             ami.forward[0].method: expected a public method name like \"create_cdr\" (no leading '_'), got \"_private\"\n\
             ami.forward[0].policy: expected \"durable\" or \"ttl:<duration>\" like \"ttl:60s\", got \"forever\"\n\
             ami.forward[1].model: missing: each forwarding rule needs event, model and method\n\
             ami.forward[1].method: missing: each forwarding rule needs event, model and method\n\
             ami.forward[2].where.\"Bad Name\": expected an AMI header name like \"Disposition\", got \"Bad Name\"\n\
             ami.forward[2].where.Channel: invalid regular expression \"(\": unclosed group\n\
             ami.forward[2].where.Disposition: expected a string, got integer 5\n\
             ami.forward[2].where.Empty: expected a regular expression after \"re:\"\n\
             ami.forward[2].where.channel: header \"Channel\" already has a condition (names ignore case)\n\
             ami.forward[3].where: expected a table like { Disposition = \"ANSWERED\" }, got string"
        );
    }

    #[test]
    fn rules_need_odoo_and_servers() {
        let rule = "[[ami.forward]]\nevent = \"Cdr\"\nmodel = \"m\"\nmethod = \"f\"\n";
        let e = Config::from_toml_str(rule, []).expect_err("invalid");
        assert_eq!(
            e.to_string(),
            "ami.forward: rules deliver events to Odoo, but odoo.url is empty\n\
             ami.forward: rules need ami.servers to take events from"
        );
        // A server that failed to load is reported once, not again through the rule naming it.
        let e = Config::from_toml_str(
            &format!("{ODOO}[[ami.servers]]\nname = \"pbx\"\n{rule}server = \"pbx\"\n"),
            [],
        )
        .expect_err("invalid");
        assert!(
            e.errors
                .iter()
                .all(|e| e.key.starts_with("ami.servers[0].")),
            "{e}"
        );
    }

    #[test]
    fn rules_from_the_environment() {
        let vars = [
            (
                "WEBRTC_GATEWAY__AMI__FORWARD",
                "[{ event = \"Cdr\", model = \"m\", method = \"f\" }]",
            ),
            ("WEBRTC_GATEWAY__AMI__FORWARD__0__POLICY", "ttl:30s"),
            (
                "WEBRTC_GATEWAY__AMI__FORWARD__0__WHERE__DISPOSITION",
                "ANSWERED",
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let c = Config::from_toml_str(&format!("{SERVER}{ODOO}"), vars).expect("valid");
        let r = &c.ami.forward[0];
        assert_eq!(r.policy, DeliveryPolicy::Ttl(Duration::from_secs(30)));
        // Variable names are lower-cased; header names compare without case.
        assert_eq!(
            r.conditions["disposition"],
            Condition::Exact("ANSWERED".to_owned())
        );
    }
}
