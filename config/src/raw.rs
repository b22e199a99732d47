//! Reading the merged TOML tree key by key, recording every problem instead of stopping at the first.
//!
//! Each section builder takes its keys out of a [`Table`] with a converter; whatever is left over is an
//! unknown key. A key that is absent takes its default; a key that is invalid records an error and also
//! takes its default so the remaining keys are still checked.

use std::fmt::Display;

use toml::Value;

use crate::env::EnvOrigins;
use crate::{ConfigError, Secret};

/// The error list plus what is needed to word errors: which keys came from the environment.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    errors: Vec<ConfigError>,
    env: EnvOrigins,
}

impl Ctx {
    pub(crate) fn new(errors: Vec<ConfigError>, env: EnvOrigins) -> Self {
        Self { errors, env }
    }

    /// Records a problem with `key`, naming the environment variable that set it, if one did.
    pub(crate) fn error(&mut self, key: &str, message: impl Into<String>) {
        let mut message = message.into();
        if let Some(var) = self.env.var_for(key) {
            message.push_str(&format!(" (set by {var})"));
        }
        self.errors.push(ConfigError::new(key, message));
    }

    /// Whether a problem was recorded for exactly `key` (so a dependent check can stay quiet).
    pub(crate) fn has_error(&self, key: &str) -> bool {
        self.errors.iter().any(|e| e.key == key)
    }

    /// Whether a problem was recorded for `key` or any key inside it (`key.x`, `key[0]`).
    pub(crate) fn errors_under(&self, key: &str) -> bool {
        self.errors.iter().any(|e| {
            e.key
                .strip_prefix(key)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    pub(crate) fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }
}

/// A TOML table being consumed by a section builder.
#[derive(Debug)]
pub(crate) struct Table {
    path: String,
    entries: toml::Table,
    known: Vec<&'static str>,
}

impl Table {
    pub(crate) fn new(path: impl Into<String>, entries: toml::Table) -> Self {
        Self {
            path: path.into(),
            entries,
            known: Vec::new(),
        }
    }

    /// Full key path of `key` inside this table.
    pub(crate) fn path_of(&self, key: &str) -> String {
        join_key(&self.path, key)
    }

    /// Reads `key` with `convert`: `default` when absent, or when invalid (then an error is recorded).
    pub(crate) fn get<T>(
        &mut self,
        ctx: &mut Ctx,
        key: &'static str,
        default: T,
        convert: impl FnOnce(&mut Ctx, &str, Value) -> Option<T>,
    ) -> T {
        self.known.push(key);
        match self.entries.remove(key) {
            None => default,
            Some(value) => convert(ctx, &self.path_of(key), value).unwrap_or(default),
        }
    }

    /// Takes the sub-table `key` (empty when absent or not a table; the latter is an error).
    pub(crate) fn table(&mut self, ctx: &mut Ctx, key: &'static str) -> Table {
        let path = self.path_of(key);
        let entries = self.get(ctx, key, toml::Table::new(), table);
        Table::new(path, entries)
    }

    /// Takes every remaining entry: for tables whose keys are data (user names), not schema.
    pub(crate) fn drain(&mut self) -> Vec<(String, String, Value)> {
        std::mem::take(&mut self.entries)
            .into_iter()
            .map(|(key, value)| (self.path_of(&key), key, value))
            .collect()
    }

    /// Reports every key no builder asked for.
    pub(crate) fn finish(self, ctx: &mut Ctx) {
        for key in self.entries.keys() {
            let message = match closest(key, &self.known) {
                Some(known) => format!(
                    "unknown key (did you mean \"{}\"?)",
                    join_key(&self.path, known)
                ),
                None => "unknown key".to_owned(),
            };
            ctx.error(&self.path_of(key), message);
        }
    }
}

/// `parent.key`, quoting `key` the TOML way when it is not a bare key.
pub(crate) fn join_key(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// The known key within edit distance 2 of a typo, if exactly one is closest.
fn closest<'a>(typo: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(typo, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// How a value is shown in an error: type and, for scalars, the value.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("string {s:?}"),
        Value::Integer(i) => format!("integer {i}"),
        Value::Float(f) => format!("float {f}"),
        Value::Boolean(b) => format!("boolean {b}"),
        Value::Datetime(d) => format!("datetime {d}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Table(_) => "a table".to_owned(),
    }
}

/// The type of a value only, for secrets.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Integer(_) => "integer",
        Value::Float(_) => "float",
        Value::Boolean(_) => "boolean",
        Value::Datetime(_) => "datetime",
        Value::Array(_) => "array",
        Value::Table(_) => "table",
    }
}

/// A string. A scalar set from the environment counts as its text (`PASSWORD=1234` stays "1234").
pub(crate) fn string(ctx: &mut Ctx, key: &str, value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        other => match ctx.env.raw(key) {
            Some(raw) if !matches!(other, Value::Array(_) | Value::Table(_)) => {
                Some(raw.to_owned())
            }
            _ => {
                ctx.error(key, format!("expected a string, got {}", describe(&other)));
                None
            }
        },
    }
}

/// `true` or `false`.
pub(crate) fn boolean(ctx: &mut Ctx, key: &str, value: Value) -> Option<bool> {
    match value {
        Value::Boolean(b) => Some(b),
        other => {
            ctx.error(
                key,
                format!("expected true or false, got {}", describe(&other)),
            );
            None
        }
    }
}

/// A TOML integer within `range` (inclusive), converted to `T`.
pub(crate) fn integer_in<T: TryFrom<i64>>(
    ctx: &mut Ctx,
    key: &str,
    value: Value,
    range: std::ops::RangeInclusive<i64>,
) -> Option<T> {
    let expected = format!("an integer from {} to {}", range.start(), range.end());
    match value {
        Value::Integer(i) if range.contains(&i) => match T::try_from(i) {
            Ok(v) => Some(v),
            Err(_) => {
                ctx.error(key, format!("expected {expected}, got {i}"));
                None
            }
        },
        Value::Integer(i) => {
            ctx.error(key, format!("expected {expected}, got {i}"));
            None
        }
        other => {
            ctx.error(
                key,
                format!("expected {expected}, got {}", describe(&other)),
            );
            None
        }
    }
}

/// A secret string; an error names the type only, never the value.
pub(crate) fn secret(ctx: &mut Ctx, key: &str, value: Value) -> Option<Secret> {
    match value {
        Value::String(s) => Some(Secret::new(s)),
        other => match ctx.env.raw(key) {
            Some(raw) if !matches!(other, Value::Array(_) | Value::Table(_)) => {
                Some(Secret::new(raw))
            }
            _ => {
                ctx.error(key, format!("expected a string, got {}", kind(&other)));
                None
            }
        },
    }
}

/// A string turned into `T` by `parse`, whose error message is the whole message.
pub(crate) fn parsed<T, E: Display>(
    ctx: &mut Ctx,
    key: &str,
    value: Value,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Option<T> {
    let text = string(ctx, key, value)?;
    match parse(&text) {
        Ok(parsed) => Some(parsed),
        Err(e) => {
            ctx.error(key, e.to_string());
            None
        }
    }
}

/// An array; each element comes with its key path (`key[i]`).
pub(crate) fn array(ctx: &mut Ctx, key: &str, value: Value) -> Option<Vec<(String, Value)>> {
    match value {
        Value::Array(items) => Some(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| (format!("{key}[{i}]"), item))
                .collect(),
        ),
        other => {
            ctx.error(key, format!("expected an array, got {}", describe(&other)));
            None
        }
    }
}

/// A table.
pub(crate) fn table(ctx: &mut Ctx, key: &str, value: Value) -> Option<toml::Table> {
    match value {
        Value::Table(t) => Some(t),
        other => {
            ctx.error(key, format!("expected a table, got {}", describe(&other)));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_of(text: &str) -> Table {
        Table::new("sec", text.parse::<toml::Table>().expect("test TOML"))
    }

    #[test]
    fn unknown_keys_are_reported_with_a_suggestion() {
        let mut ctx = Ctx::default();
        let mut t = table_of("lisen = 1\nzzz = 2\nlisten = \"x\"");
        assert_eq!(t.get(&mut ctx, "listen", String::new(), string), "x");
        t.finish(&mut ctx);
        let errors = ctx.into_errors();
        assert_eq!(
            errors,
            vec![
                ConfigError::new("sec.lisen", "unknown key (did you mean \"sec.listen\"?)"),
                ConfigError::new("sec.zzz", "unknown key"),
            ]
        );
    }

    #[test]
    fn absent_and_invalid_keys_take_the_default() {
        let mut ctx = Ctx::default();
        let mut t = table_of("bad = 5");
        assert_eq!(t.get(&mut ctx, "absent", "d".to_owned(), string), "d");
        assert_eq!(t.get(&mut ctx, "bad", "d".to_owned(), string), "d");
        assert!(ctx.has_error("sec.bad"));
        assert!(!ctx.has_error("sec.absent"));
        assert_eq!(
            ctx.into_errors(),
            vec![ConfigError::new(
                "sec.bad",
                "expected a string, got integer 5"
            )]
        );
    }

    #[test]
    fn booleans_are_toml_booleans_only() {
        let mut ctx = Ctx::default();
        let mut t = table_of("on = true\noff = false\nquoted = \"true\"");
        assert!(t.get(&mut ctx, "on", false, boolean));
        assert!(!t.get(&mut ctx, "off", true, boolean));
        assert!(!t.get(&mut ctx, "quoted", false, boolean));
        assert_eq!(
            ctx.into_errors(),
            vec![ConfigError::new(
                "sec.quoted",
                "expected true or false, got string \"true\""
            )]
        );
    }

    #[test]
    fn secret_type_errors_do_not_show_the_value() {
        let mut ctx = Ctx::default();
        let mut t = table_of("password = 271828");
        t.get(&mut ctx, "password", Secret::default(), secret);
        let errors = ctx.into_errors();
        assert_eq!(errors[0].message, "expected a string, got integer");
    }

    #[test]
    fn keys_that_are_not_bare_are_quoted() {
        assert_eq!(join_key("", "sip"), "sip");
        assert_eq!(join_key("auth.dev_tokens", "bob"), "auth.dev_tokens.bob");
        assert_eq!(
            join_key("auth.dev_tokens", "a.b"),
            "auth.dev_tokens.\"a.b\""
        );
        assert_eq!(join_key("a", ""), "a.\"\"");
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("lisen", "listen"), 1);
        assert_eq!(edit_distance("listen", "listen"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("t1", "t2"), 1);
        assert_eq!(closest("rtp_port", &["rtp_ports", "ip"]), Some("rtp_ports"));
        assert_eq!(closest("completely", &["ip"]), None);
    }

    #[test]
    fn integers_are_toml_integers_in_range() {
        let mut ctx = Ctx::default();
        let mut t = table_of("ok = 7\nlow = 0\nbig = 300\ntext = \"7\"");
        assert_eq!(
            t.get(&mut ctx, "ok", 1u8, |c, k, v| integer_in(c, k, v, 1..=255)),
            7
        );
        assert_eq!(
            t.get(&mut ctx, "low", 1u8, |c, k, v| integer_in(c, k, v, 1..=255)),
            1
        );
        // A range wider than the target type is still caught by the conversion.
        assert_eq!(
            t.get(&mut ctx, "big", 1u8, |c, k, v| integer_in(
                c,
                k,
                v,
                0..=1000
            )),
            1
        );
        assert_eq!(
            t.get(&mut ctx, "text", 1u8, |c, k, v| integer_in(
                c,
                k,
                v,
                1..=255
            )),
            1
        );
        assert_eq!(
            ctx.into_errors(),
            vec![
                ConfigError::new("sec.low", "expected an integer from 1 to 255, got 0"),
                ConfigError::new("sec.big", "expected an integer from 0 to 1000, got 300"),
                ConfigError::new(
                    "sec.text",
                    "expected an integer from 1 to 255, got string \"7\""
                ),
            ]
        );
    }

    #[test]
    fn errors_under_a_key_include_its_fields_and_elements_only() {
        let mut ctx = Ctx::default();
        ctx.error("ami.servers[1].name", "x");
        assert!(ctx.errors_under("ami.servers"));
        assert!(ctx.errors_under("ami.servers[1]"));
        assert!(ctx.errors_under("ami.servers[1].name"));
        assert!(!ctx.errors_under("ami.servers[10]"));
        assert!(!ctx.errors_under("ami.server"));
        assert!(!ctx.errors_under("ami.servers[0]"));
    }
}
