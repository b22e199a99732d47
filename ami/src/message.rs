//! One AMI message: ordered headers (keys may repeat) and, for legacy `Response: Follows`, a raw body.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// The end marker of a pre-Asterisk-14 `Response: Follows` command output.
pub const END_COMMAND: &str = "--END COMMAND--";

/// Header keys whose values are never shown in logs or `Debug` output.
const SECRET_KEYS: [&str; 2] = ["Secret", "Key"];

/// What a message is, decided by its first header (an `OriginateResponse` event also has a `Response:` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `Response: ...` first: the answer to an action.
    Response,
    /// `Event: ...` first.
    Event,
    /// `Action: ...` first: what a client sends.
    Action,
    /// Anything else (kept, never dropped silently).
    Other,
}

/// An AMI message. Header order and repeated keys (`Output:`, `ChanVariable:`, `Variable:`) are kept.
///
/// Values are kept verbatim except for the single space after the colon: `Value:   minrx` gives
/// `"  minrx"`, `AccountCode: ` gives `""`. Key lookup ignores ASCII case (`Uniqueid` = `UniqueID`).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Message {
    headers: Vec<(String, String)>,
    body: Option<String>,
}

impl Message {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    /// A message from ordered pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            headers: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            body: None,
        }
    }

    /// Appends a header (after the existing ones, even if the key repeats).
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.headers.push((key.into(), value.into()));
    }

    /// Builder form of [`Message::push`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.push(key, value);
        self
    }

    /// Replaces the first value of `key` (ASCII case-insensitive), or appends the header.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        match self
            .headers
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some((_, v)) => *v = value.into(),
            None => self.headers.push((key.to_owned(), value.into())),
        }
    }

    /// Sets the raw legacy `Response: Follows` body (the text before `--END COMMAND--`).
    pub fn set_body(&mut self, body: Option<String>) {
        self.body = body;
    }

    /// All headers in wire order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The raw legacy command output, if this was a `Response: Follows` message.
    pub fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }

    /// The first value of `key` (ASCII case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key` in order (ASCII case-insensitive).
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` has the value `value` (both compared ignoring ASCII case).
    pub fn is(&self, key: &str, value: &str) -> bool {
        self.get(key).is_some_and(|v| v.eq_ignore_ascii_case(value))
    }

    /// The kind, from the first header.
    pub fn kind(&self) -> MessageKind {
        match self.headers.first() {
            Some((k, _)) if k.eq_ignore_ascii_case("Response") => MessageKind::Response,
            Some((k, _)) if k.eq_ignore_ascii_case("Event") => MessageKind::Event,
            Some((k, _)) if k.eq_ignore_ascii_case("Action") => MessageKind::Action,
            _ => MessageKind::Other,
        }
    }

    /// The `ActionID` header.
    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }

    /// The event name, when this is an event.
    pub fn event(&self) -> Option<&str> {
        match self.kind() {
            MessageKind::Event => self.headers.first().map(|(_, v)| v.as_str()),
            _ => None,
        }
    }

    /// The response status (`Success`, `Error`, `Follows`, `Goodbye`), when this is a response.
    pub fn response(&self) -> Option<&str> {
        match self.kind() {
            MessageKind::Response => self.headers.first().map(|(_, v)| v.as_str()),
            _ => None,
        }
    }

    /// True for a legacy `Response: Follows` message (which carries a raw body).
    pub fn is_follows(&self) -> bool {
        self.response()
            .is_some_and(|r| r.eq_ignore_ascii_case("Follows"))
    }

    /// Command output lines: every `Output:` header (Asterisk 14+), or the legacy body split into lines.
    pub fn output_lines(&self) -> Vec<String> {
        match &self.body {
            Some(body) => body.lines().map(str::to_owned).collect(),
            None => self.get_all("Output").map(str::to_owned).collect(),
        }
    }

    /// The wire form: `Key: Value\r\n` per header, the legacy body and end marker if any, then `\r\n`.
    ///
    /// The caller guarantees keys and values hold no CR/LF (parsed messages never do; actions are checked
    /// by [`crate::Action::encode`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * (self.headers.len() + 1));
        for (k, v) in &self.headers {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(body) = &self.body {
            out.extend_from_slice(body.as_bytes());
            out.extend_from_slice(END_COMMAND.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// True when `key` is a secret whose value must never be shown.
pub(crate) fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(key))
}

/// Writes headers as a debug list, with `Secret`/`Key` values redacted when `redact` is set.
pub(crate) fn fmt_headers(
    f: &mut std::fmt::Formatter<'_>,
    headers: &[(String, String)],
    redact: bool,
) -> std::fmt::Result {
    let mut list = f.debug_list();
    for (k, v) in headers {
        if redact && is_secret_key(k) {
            list.entry(&format_args!("{k}: <redacted>"));
        } else {
            list.entry(&format_args!("{k}: {v:?}"));
        }
    }
    list.finish()
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")?;
        // Only actions (a Login seen by the test server) carry our secrets; events keep e.g. `Key:` of DBGet.
        fmt_headers(f, &self.headers, self.kind() == MessageKind::Action)?;
        if let Some(body) = &self.body {
            write!(f, " body={body:?}")?;
        }
        Ok(())
    }
}

/// JSON view: an object in wire order; a repeated key becomes an array of its values; a legacy body
/// becomes `"Output": [lines]` like Asterisk 14+. `Secret`/`Key` of an action are redacted.
impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut keys: Vec<&str> = Vec::new();
        for (k, _) in &self.headers {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        let body_lines = self.body.as_ref().map(|b| b.lines().collect::<Vec<_>>());
        let redact = self.kind() == MessageKind::Action;
        let mut map = serializer.serialize_map(None)?;
        for key in keys {
            let values: Vec<&str> = self
                .headers
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(k, v)| {
                    if redact && is_secret_key(k) {
                        "<redacted>"
                    } else {
                        v.as_str()
                    }
                })
                .collect();
            if key == "Output"
                && let Some(lines) = &body_lines
            {
                let all: Vec<&str> = values
                    .iter()
                    .copied()
                    .chain(lines.iter().copied())
                    .collect();
                map.serialize_entry(key, &all)?;
            } else if let [one] = values.as_slice() {
                map.serialize_entry(key, one)?;
            } else {
                map.serialize_entry(key, &values)?;
            }
        }
        if let Some(lines) = &body_lines
            && !self.headers.iter().any(|(k, _)| k == "Output")
        {
            map.serialize_entry("Output", lines)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_keeps_repeats_in_order() {
        let m = Message::from_pairs([
            ("Event", "Hangup"),
            ("UniqueID", "1.1"),
            ("ChanVariable", "A=1"),
            ("ChanVariable", "B=2"),
        ]);
        assert_eq!(m.kind(), MessageKind::Event);
        assert_eq!(m.event(), Some("Hangup"));
        assert_eq!(m.get("Uniqueid"), Some("1.1"));
        assert_eq!(
            m.get_all("chanvariable").collect::<Vec<_>>(),
            ["A=1", "B=2"]
        );
    }

    #[test]
    fn originate_response_event_is_an_event_not_a_response() {
        let m = Message::from_pairs([("Event", "OriginateResponse"), ("Response", "Failure")]);
        assert_eq!(m.kind(), MessageKind::Event);
        assert_eq!(m.response(), None);
    }

    #[test]
    fn json_keeps_order_groups_repeats_and_redacts() {
        let m = Message::from_pairs([
            ("Action", "Login"),
            ("Secret", "s3cret"),
            ("Variable", "A=1"),
            ("Variable", "B=2"),
        ]);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"Action":"Login","Secret":"<redacted>","Variable":["A=1","B=2"]}"#
        );
        assert!(!format!("{m:?}").contains("s3cret"));
        let db = Message::from_pairs([("Event", "DBGetResponse"), ("Key", "cidname")]);
        assert!(
            serde_json::to_string(&db).unwrap().contains("cidname"),
            "event data is not redacted"
        );
    }

    #[test]
    fn legacy_body_becomes_output_lines() {
        let mut m = Message::from_pairs([("Response", "Follows"), ("Privilege", "Command")]);
        m.set_body(Some("line 1\nline 2\n".into()));
        assert_eq!(m.output_lines(), ["line 1", "line 2"]);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.ends_with(r#""Output":["line 1","line 2"]}"#), "{json}");
    }
}
