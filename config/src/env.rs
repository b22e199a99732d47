//! Environment overrides: `WEBRTC_GATEWAY__<SECTION>__<KEY>=value`, merged over the file's TOML tree.

use std::collections::BTreeMap;

use toml::Value;

use crate::raw::join_key;
use crate::{ConfigError, Secret};

/// Variables starting with this (in any case) are overrides; everything else is ignored.
pub const ENV_PREFIX: &str = "WEBRTC_GATEWAY__";

/// The environment variable that set a key, and its text before TOML parsing
/// (held as a [`Secret`] because the key may be a password).
#[derive(Debug, Clone)]
struct EnvOrigin {
    var: String,
    raw: Secret,
}

/// Which keys were set from the environment, for wording errors and keeping string values verbatim.
#[derive(Debug, Default)]
pub(crate) struct EnvOrigins {
    by_key: BTreeMap<String, EnvOrigin>,
}

impl EnvOrigins {
    /// The unparsed text of the variable that set exactly `key`.
    pub(crate) fn raw(&self, key: &str) -> Option<&str> {
        self.by_key.get(key).map(|o| o.raw.expose())
    }

    /// The variable that set `key` or a table containing it.
    pub(crate) fn var_for(&self, key: &str) -> Option<&str> {
        self.by_key
            .iter()
            .filter(|(set, _)| {
                key.strip_prefix(set.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .max_by_key(|(set, _)| set.len())
            .map(|(_, origin)| origin.var.as_str())
    }
}

/// Parses a variable's value as a TOML value (number, boolean, array, inline table, quoted string),
/// or takes it as a plain string when it is not one.
fn parse_value(raw: &str) -> Value {
    match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut table) if table.len() == 1 => table
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_owned())),
        _ => Value::String(raw.to_owned()),
    }
}

/// Merges the overrides in `env` into `root`. Shorter paths go first, so a whole table set from one
/// variable can still receive single entries from others.
pub(crate) fn apply(
    root: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
    errors: &mut Vec<ConfigError>,
) -> EnvOrigins {
    let mut overrides: Vec<(Vec<String>, String, String)> = Vec::new();
    for (var, raw) in env {
        let Some(rest) = strip_prefix(&var) else {
            continue;
        };
        let segments: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if segments.iter().any(String::is_empty) {
            errors.push(ConfigError::new(
                var.as_str(),
                "empty key in environment variable name (expected WEBRTC_GATEWAY__<SECTION>__<KEY>)",
            ));
            continue;
        }
        overrides.push((segments, var, raw));
    }
    overrides.sort_by(|a, b| (a.0.len(), &a.1).cmp(&(b.0.len(), &b.1)));

    let mut origins = EnvOrigins::default();
    for (segments, var, raw) in overrides {
        let key = key_of(root, &segments);
        if let Some(first) = origins.by_key.get(&key) {
            errors.push(ConfigError::new(
                key.as_str(),
                format!("set by both {} and {var}", first.var),
            ));
            continue;
        }
        match set(root, &segments, parse_value(&raw)) {
            Ok(()) => {
                origins.by_key.insert(
                    key,
                    EnvOrigin {
                        var,
                        raw: Secret::new(raw),
                    },
                );
            }
            Err(SetError::NotATable(path)) => errors.push(ConfigError::new(
                path,
                format!("is not a table, so {var} cannot set a key inside it"),
            )),
            Err(SetError::NoSuchIndex { array, len }) => errors.push(ConfigError::new(
                array,
                format!(
                    "has {len} entries, so {var} names one that does not exist \
                     (set the whole array from one variable first)"
                ),
            )),
        }
    }
    origins
}

fn strip_prefix(var: &str) -> Option<&str> {
    let head = var.get(..ENV_PREFIX.len())?;
    head.eq_ignore_ascii_case(ENV_PREFIX)
        .then(|| &var[ENV_PREFIX.len()..])
}

/// Why an override could not be placed in the tree.
#[derive(Debug, PartialEq)]
enum SetError {
    /// A value that is neither a table nor an array is in the way (its key path).
    NotATable(String),
    /// A numeric segment indexes past the end of an existing array.
    NoSuchIndex { array: String, len: usize },
}

/// The index a segment names inside an array: digits only.
fn index_of(segment: &str) -> Option<usize> {
    segment
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| segment.parse().ok())
        .flatten()
}

/// The key path `segments` name in `root` as the builders spell it: a numeric segment below an
/// existing array is an index (`ami.servers[0].secret`), anything else a table key.
fn key_of(root: &toml::Table, segments: &[String]) -> String {
    let mut path = String::new();
    let mut table = Some(root);
    let mut rest = segments;
    while let Some((segment, after)) = rest.split_first() {
        path = join_key(&path, segment);
        rest = after;
        let value = table.and_then(|t| t.get(segment));
        let index = rest.first().and_then(|next| index_of(next));
        table = match (value, index) {
            (Some(Value::Array(items)), Some(i)) => {
                path = format!("{path}[{i}]");
                rest = &rest[1..];
                items.get(i).and_then(Value::as_table)
            }
            (value, _) => value.and_then(Value::as_table),
        };
    }
    path
}

/// Sets `segments` in `root`, creating tables on the way. A numeric segment below an existing array
/// indexes it (an override such as `..._AMI__SERVERS__0__SECRET` reaches into `[[ami.servers]]`).
fn set(root: &mut toml::Table, segments: &[String], value: Value) -> Result<(), SetError> {
    set_in(root, segments, value, String::new())
}

fn set_in(
    table: &mut toml::Table,
    segments: &[String],
    value: Value,
    path: String,
) -> Result<(), SetError> {
    let Some((segment, rest)) = segments.split_first() else {
        return Ok(());
    };
    if rest.is_empty() {
        table.insert(segment.clone(), value);
        return Ok(());
    }
    let path = join_key(&path, segment);
    let entry = table
        .entry(segment.clone())
        .or_insert_with(|| Value::Table(toml::Table::new()));
    match entry {
        Value::Table(t) => set_in(t, rest, value, path),
        Value::Array(items) => {
            let (index, after) = match rest.split_first() {
                Some((next, after)) => match index_of(next) {
                    Some(i) => (i, after),
                    None => return Err(SetError::NotATable(path)),
                },
                None => return Err(SetError::NotATable(path)),
            };
            let len = items.len();
            let Some(item) = items.get_mut(index) else {
                return Err(SetError::NoSuchIndex { array: path, len });
            };
            let path = format!("{path}[{index}]");
            if after.is_empty() {
                *item = value;
                return Ok(());
            }
            match item {
                Value::Table(t) => set_in(t, after, value, path),
                _ => Err(SetError::NotATable(path)),
            }
        }
        _ => Err(SetError::NotATable(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn merged(file: &str, env: &[(&str, &str)]) -> (toml::Table, Vec<ConfigError>, EnvOrigins) {
        let mut root: toml::Table = file.parse().expect("test TOML");
        let mut errors = Vec::new();
        let origins = apply(&mut root, vars(env), &mut errors);
        (root, errors, origins)
    }

    #[test]
    fn values_parse_as_toml_or_stay_strings() {
        assert_eq!(parse_value("42"), Value::Integer(42));
        assert_eq!(parse_value("true"), Value::Boolean(true));
        assert_eq!(
            parse_value("[\"pcmu\"]"),
            Value::Array(vec![Value::String("pcmu".into())])
        );
        assert_eq!(parse_value("\"quoted\""), Value::String("quoted".into()));
        assert_eq!(
            parse_value("127.0.0.1:8080"),
            Value::String("127.0.0.1:8080".into())
        );
        assert_eq!(parse_value(""), Value::String(String::new()));
        assert!(matches!(parse_value("{ bob = \"x\" }"), Value::Table(_)));
        // A value cannot smuggle in extra keys.
        assert_eq!(
            parse_value("1\nother = 2"),
            Value::String("1\nother = 2".into())
        );
    }

    #[test]
    fn overrides_win_and_other_variables_are_ignored() {
        let (root, errors, origins) = merged(
            "[sip]\nlisten = \"127.0.0.1:5080\"",
            &[
                ("WEBRTC_GATEWAY__SIP__LISTEN", "0.0.0.0:5080"),
                ("webrtc_gateway__Log__Level", "debug"),
                ("HOME", "/root"),
                ("WEBRTC_GATEWAY_SIP_LISTEN", "ignored: single underscores"),
            ],
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(root["sip"]["listen"].as_str(), Some("0.0.0.0:5080"));
        assert_eq!(root["log"]["level"].as_str(), Some("debug"));
        assert_eq!(root.len(), 2);
        assert_eq!(origins.raw("sip.listen"), Some("0.0.0.0:5080"));
        assert_eq!(
            origins.var_for("sip.listen"),
            Some("WEBRTC_GATEWAY__SIP__LISTEN")
        );
        assert_eq!(origins.var_for("sip.listener"), None);
    }

    #[test]
    fn map_entries_merge_into_a_table_set_as_a_whole() {
        let (root, errors, origins) = merged(
            "",
            &[
                ("WEBRTC_GATEWAY__AUTH__DEV_TOKENS__BOB", "bob-token"),
                ("WEBRTC_GATEWAY__AUTH__DEV_TOKENS", "{ alice = \"a\" }"),
            ],
        );
        assert!(errors.is_empty(), "{errors:?}");
        let tokens = root["auth"]["dev_tokens"].as_table().expect("table");
        assert_eq!(tokens["alice"].as_str(), Some("a"));
        assert_eq!(tokens["bob"].as_str(), Some("bob-token"));
        assert_eq!(
            origins.var_for("auth.dev_tokens.alice"),
            Some("WEBRTC_GATEWAY__AUTH__DEV_TOKENS")
        );
    }

    #[test]
    fn malformed_names_and_collisions_are_errors() {
        let (_, errors, _) = merged(
            "sip = 5",
            &[
                ("WEBRTC_GATEWAY__SIP____LISTEN", "x"),
                ("WEBRTC_GATEWAY__", "x"),
                ("WEBRTC_GATEWAY__SIP__LISTEN", "x"),
                ("WEBRTC_GATEWAY__LOG__LEVEL", "a"),
                ("webrtc_gateway__log__level", "b"),
            ],
        );
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "WEBRTC_GATEWAY__SIP____LISTEN",
                "WEBRTC_GATEWAY__",
                "sip",
                "log.level"
            ]
        );
        assert_eq!(
            errors[3].message,
            "set by both WEBRTC_GATEWAY__LOG__LEVEL and webrtc_gateway__log__level"
        );
    }

    #[test]
    fn numeric_segments_index_existing_arrays() {
        let (root, errors, origins) = merged(
            "[[ami.servers]]\nname = \"a\"\n[[ami.servers]]\nname = \"b\"",
            &[
                ("WEBRTC_GATEWAY__AMI__SERVERS__1__SECRET", "12345"),
                ("WEBRTC_GATEWAY__AMI__SERVERS__0__NAME", "pbx"),
            ],
        );
        assert!(errors.is_empty(), "{errors:?}");
        let servers = root["ami"]["servers"].as_array().expect("array");
        assert_eq!(servers[0]["name"].as_str(), Some("pbx"));
        assert_eq!(servers[1]["secret"].as_integer(), Some(12345));
        assert_eq!(origins.raw("ami.servers[1].secret"), Some("12345"));
        assert_eq!(
            origins.var_for("ami.servers[0].name"),
            Some("WEBRTC_GATEWAY__AMI__SERVERS__0__NAME")
        );
    }

    #[test]
    fn an_array_set_whole_can_then_be_indexed() {
        let (root, errors, origins) = merged(
            "",
            &[
                ("WEBRTC_GATEWAY__AMI__SERVERS__0__SECRET", "s3cret"),
                ("WEBRTC_GATEWAY__AMI__SERVERS", "[{ name = \"pbx\" }]"),
                ("WEBRTC_GATEWAY__HTTP__API_KEYS", "[\"a\", \"b\"]"),
                ("WEBRTC_GATEWAY__HTTP__API_KEYS__1", "c"),
            ],
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(root["ami"]["servers"][0]["secret"].as_str(), Some("s3cret"));
        assert_eq!(root["ami"]["servers"][0]["name"].as_str(), Some("pbx"));
        assert_eq!(root["http"]["api_keys"][1].as_str(), Some("c"));
        assert_eq!(origins.raw("http.api_keys[1]"), Some("c"));
    }

    #[test]
    fn indexing_errors() {
        let (_, errors, _) = merged(
            "[[ami.servers]]\nname = \"a\"\n[http]\napi_keys = [\"k\"]",
            &[
                ("WEBRTC_GATEWAY__AMI__SERVERS__1__SECRET", "x"),
                ("WEBRTC_GATEWAY__AMI__SERVERS__NAME", "x"),
                ("WEBRTC_GATEWAY__HTTP__API_KEYS__0__X", "x"),
            ],
        );
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "ami.servers: is not a table, so WEBRTC_GATEWAY__AMI__SERVERS__NAME cannot set a key inside it",
                "ami.servers: has 1 entries, so WEBRTC_GATEWAY__AMI__SERVERS__1__SECRET names one that \
                 does not exist (set the whole array from one variable first)",
                "http.api_keys[0]: is not a table, so WEBRTC_GATEWAY__HTTP__API_KEYS__0__X cannot set a key inside it",
            ]
        );
        // Without an array in the way, a numeric segment is an ordinary table key.
        let (root, errors, _) = merged("", &[("WEBRTC_GATEWAY__AUTH__DEV_TOKENS__0", "t")]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(root["auth"]["dev_tokens"]["0"].as_str(), Some("t"));
    }
}
